"""`save` / `load`: nested dicts, lists and tuples of arrays and plain values in one `.npz`.

The file holds one array per leaf (keys from the leaf's path, e.g. `state.0.exp_avg`) and a
JSON record of the structure under `__structure__`; nothing is pickled, so loading a file never
runs code. Writes are atomic (see `minigrad.atomic_write`): a temporary file in the same
directory, fsync, `os.replace`; symlinks are written through and permissions kept.
"""

from __future__ import annotations

import json
import os
import sys
import zipfile
import zlib
from collections import OrderedDict
from typing import Any

import numpy as np

from minigrad.atomic_write import write_atomically
from minigrad.tensor import Tensor

PathLike = str | os.PathLike
_STRUCTURE = "__structure__"
_FORMAT = "minigrad.save"
_VERSION = 1
_PLAIN = (type(None), bool, int, float, str)
_ZIP_MAGIC = b"PK\x03\x04"


def save(obj: Any, path: PathLike) -> None:
    """Write `obj` ((ordered) dicts with str/int keys, lists, tuples, arrays, Tensors, numbers,
    strings, bools, None) to `path` as `.npz`, replacing any old file only once complete.

    Raises:
        TypeError: a value or dict key of another type (its place in `obj` is named), or a
            path that is not a str or os.PathLike.
        ValueError: an object (dtype=object) array, which cannot be stored without pickle; a
            container that contains itself; nesting deeper than Python's recursion limit.
    """
    _check_path("save", path)
    arrays: dict[str, np.ndarray] = {}
    try:
        root = _encode(obj, "", arrays, set())
    except RecursionError:
        raise ValueError("save: the object is nested too deeply to store (over Python's "
                         f"recursion limit of {sys.getrecursionlimit()} levels)") from None
    record = json.dumps({"format": _FORMAT, "version": _VERSION, "root": root})
    arrays[_STRUCTURE] = np.frombuffer(record.encode("utf-8"), dtype=np.uint8)
    write_atomically(path, lambda file: _write_npz(file, arrays))


def load(path: PathLike) -> Any:
    """Read what `save` wrote: dicts, lists, tuples, NumPy arrays and plain values.

    Tensors come back as NumPy arrays, so `model.load_state_dict(load(path))` works.

    Raises:
        ValueError: the file is truncated, corrupt, not written by `save`, or holds an object
            array (the message names the path).
    """
    _check_path("load", path)
    path = os.fspath(path)
    with open(path, "rb") as file:
        start = file.read(len(_ZIP_MAGIC))
        if start != _ZIP_MAGIC:
            raise ValueError(f"load: {path} is not a readable minigrad file: it starts with "
                             f"{start!r}, not with the {_ZIP_MAGIC!r} of the .npz archive "
                             "minigrad.save writes (another kind of file, or cut short?)")
        file.seek(0)
        try:
            arrays = _read_arrays(file)
            record = json.loads(bytes(arrays.pop(_STRUCTURE)).decode("utf-8"))
            if not isinstance(record, dict) or record.get("format") != _FORMAT:
                raise ValueError("no minigrad structure record")
            if record.get("version") != _VERSION:
                raise ValueError(f"format version {record.get('version')!r}, this minigrad "
                                 f"reads version {_VERSION}")
            return _decode(record["root"], arrays)
        except (ValueError, KeyError, TypeError, IndexError, EOFError, OSError, RecursionError,
                zipfile.BadZipFile, zlib.error) as error:
            raise ValueError(f"load: {path} is not a readable minigrad file "
                             f"(truncated or corrupt?): {error}") from error


def _check_path(function: str, path: Any) -> None:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{function}: path must be a str or os.PathLike, "
                        f"got {type(path).__name__} {path!r}"[:200])


def _encode(obj: Any, where: str, arrays: dict[str, np.ndarray], open_ids: set[int]) -> Any:
    """The JSON node for `obj`; its arrays go into `arrays` under fresh keys. `open_ids` are
    the containers being encoded around `obj` (one met again contains itself)."""
    if isinstance(obj, Tensor):
        obj = obj.data
    if isinstance(obj, (np.ndarray, np.generic)):
        return _encode_array(obj, where, arrays)
    if isinstance(obj, _PLAIN):
        if isinstance(obj, int) and not isinstance(obj, bool):
            return {"int": str(obj)}  # exact for any size, kept apart from floats
        return {"value": obj}
    if isinstance(obj, (dict, list, tuple)):
        if id(obj) in open_ids:
            raise ValueError(f"save: '{_place(where)}' contains itself (a reference cycle), "
                             "which cannot be stored")
        open_ids.add(id(obj))
        node = _encode_container(obj, where, arrays, open_ids)
        open_ids.discard(id(obj))
        return node
    hint = "; save its state_dict()" if callable(getattr(obj, "state_dict", None)) else ""
    raise TypeError(f"save: cannot store {type(obj).__name__} at '{_place(where)}'; "
                    f"use dicts, lists, tuples, arrays, Tensors, numbers, strings or None{hint}")


def _encode_container(obj: dict | list | tuple, where: str, arrays: dict[str, np.ndarray],
                      open_ids: set[int]) -> dict[str, Any]:
    if isinstance(obj, dict):
        kind = "ordered_dict" if isinstance(obj, OrderedDict) else "dict"
        return {kind: [[_check_key(k, where), _encode(v, f"{where}.{k}", arrays, open_ids)]
                       for k, v in obj.items()]}
    kind = "list" if isinstance(obj, list) else "tuple"
    return {kind: [_encode(v, f"{where}.{i}", arrays, open_ids) for i, v in enumerate(obj)]}


def _encode_array(array: np.ndarray | np.generic, where: str,
                  arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    if array.dtype.hasobject:
        raise ValueError(f"save: '{_place(where)}' is an object array (dtype={array.dtype}), "
                         "which cannot be stored without pickle")
    key = _place(where)
    while key in arrays or key == _STRUCTURE:
        key += "_"
    arrays[key] = np.asarray(array)
    return {"array" if isinstance(array, np.ndarray) else "scalar": key}


def _place(where: str) -> str:
    """A leaf's dotted path for messages and array keys (`state.0.exp_avg`)."""
    return where.lstrip(".") or "<root>"


def _check_key(key: Any, where: str) -> str | int:
    if isinstance(key, (bool, np.bool_)) or not isinstance(key, (str, int, np.integer)):
        raise TypeError(f"save: dict keys must be str or int, got {type(key).__name__} "
                        f"{key!r} in '{_place(where)}'")
    return key if isinstance(key, str) else int(key)


def _write_npz(file: Any, arrays: dict[str, np.ndarray]) -> None:
    """The layout `np.savez` writes, without its keyword arguments clashing with our keys."""
    with zipfile.ZipFile(file, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for key, array in arrays.items():
            with zf.open(key + ".npy", mode="w", force_zip64=True) as member:
                np.lib.format.write_array(member, array, allow_pickle=False)


def _read_arrays(file: Any) -> dict[str, np.ndarray]:
    """Every array of the archive, read (and CRC-checked) now rather than lazily."""
    archive = np.load(file, allow_pickle=False)
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ValueError("a single .npy array, not an .npz archive")
    with archive:
        arrays = {}
        for name in archive.files:
            try:
                arrays[name] = archive[name]
            except ValueError as error:
                if "allow_pickle" not in str(error):
                    raise
                # NumPy's message suggests allow_pickle; minigrad never unpickles a file
                raise ValueError(f"'{name}' is an object (pickled) array, which minigrad "
                                 "never loads: unpickling can run code") from None
        return arrays


def _decode(node: Any, arrays: dict[str, np.ndarray]) -> Any:
    if not isinstance(node, dict) or len(node) != 1:
        raise ValueError(f"malformed structure node {node!r}")
    ((kind, body),) = node.items()
    if kind == "array":
        return arrays[body]
    if kind == "scalar":
        return arrays[body][()]
    if kind == "int":
        return int(body)
    if kind == "value":
        if not isinstance(body, _PLAIN):
            raise ValueError(f"malformed plain value {body!r}")
        return body
    if kind in ("dict", "ordered_dict"):
        items = {_checked_key(k): _decode(v, arrays) for k, v in body}
        return items if kind == "dict" else OrderedDict(items)
    if kind in ("list", "tuple"):
        elements = [_decode(v, arrays) for v in body]
        return elements if kind == "list" else tuple(elements)
    raise ValueError(f"unknown structure node kind {kind!r}")


def _checked_key(key: Any) -> str | int:
    if isinstance(key, bool) or not isinstance(key, (str, int)):
        raise ValueError(f"malformed dict key {key!r}")
    return key
