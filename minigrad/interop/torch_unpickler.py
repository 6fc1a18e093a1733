"""A pickle reader that builds a torch state dict from NumPy arrays and runs nothing else.

A pickle is a small program: its GLOBAL opcodes name any importable callable and REDUCE calls
it, so loading an untrusted `.pth` with `pickle` can run `os.system`. This unpickler resolves
each global through an allow-list of what a plain state dict needs and maps every allowed name
to a NumPy stand-in (torch is never imported); any other name raises `UnsafeCheckpointError`
the moment it is read, before any call. Storages arrive through `persistent_load`.
"""

from __future__ import annotations

import io
import pickle
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from minigrad.interop.torch_storage import (
    STORAGE_KINDS,
    TORCH_DTYPES,
    CheckpointFormatError,
    Storage,
    StorageKind,
    reinterpret,
    tensor_from_storage,
)


class UnsafeCheckpointError(pickle.UnpicklingError, ValueError):
    """A checkpoint's pickle names a global outside the state-dict allow-list.

    Raised before that global is called. It is both a `pickle.UnpicklingError` and a
    `ValueError`, so either `except` clause catches it.
    """


class StorageRecord(NamedTuple):
    """A persistent id: `('storage', kind, key, location, numel[, view])`; `view` is legacy."""

    kind: StorageKind
    key: str
    numel: int
    view: tuple[str, int, int] | None


StorageLoader = Callable[[StorageRecord], Storage]


def _int_tuple(value: Any, what: str) -> tuple[int, ...]:
    if not isinstance(value, tuple) or not all(type(v) is int for v in value):
        raise CheckpointFormatError(f"tensor {what} {value!r} is not a tuple of ints")
    return value


def _tensor(storage: Any, offset: Any, size: Any, stride: Any) -> np.ndarray:
    if not isinstance(storage, Storage) or type(offset) is not int:
        raise CheckpointFormatError(f"a tensor needs a storage and an int offset, got "
                                    f"{type(storage).__name__} and {offset!r}")
    return tensor_from_storage(storage, offset, _int_tuple(size, "size"),
                               _int_tuple(stride, "stride"))


def _apply_metadata(array: np.ndarray, metadata: Any) -> np.ndarray:
    """torch's lazy conjugate and negative views: the storage holds the un-flipped values."""
    if not metadata:
        return array
    if not isinstance(metadata, dict) or not set(metadata) <= {"conj", "neg"}:
        raise CheckpointFormatError(f"unknown tensor metadata {metadata!r}")
    if not array.flags.writeable and (metadata.get("conj") or metadata.get("neg")):
        # flipping an overlapping (expanded) view in place would materialise it
        raise CheckpointFormatError(f"an expanded tensor of shape {array.shape} with lazy "
                                    f"conj/neg metadata is not supported")
    # in place: `array` is a fresh copy, and a 0-d array must not become a scalar
    if metadata.get("conj"):
        np.conjugate(array, out=array)
    if metadata.get("neg"):
        np.negative(array, out=array)
    return array


def rebuild_tensor(storage: Any, offset: Any, size: Any, stride: Any) -> np.ndarray:
    """torch's oldest form, still accepted; the v2 and v3 forms below add flags and a dtype."""
    return _tensor(storage, offset, size, stride)


def rebuild_tensor_v2(storage: Any, offset: Any, size: Any, stride: Any, requires_grad: Any = False,
                      backward_hooks: Any = None, metadata: Any = None) -> np.ndarray:
    """Typed storages (all dtypes torch had before 2.1); requires_grad and hooks are dropped."""
    return _apply_metadata(_tensor(storage, offset, size, stride), metadata)


def rebuild_tensor_v3(storage: Any, offset: Any, size: Any, stride: Any, requires_grad: Any,
                      backward_hooks: Any, dtype: Any, metadata: Any = None) -> np.ndarray:
    """Untyped (byte) storages plus a dtype: how torch saves uint16, uint32 and uint64."""
    if not isinstance(storage, Storage) or not isinstance(dtype, np.dtype):
        raise CheckpointFormatError(f"_rebuild_tensor_v3 needs a storage and a dtype, "
                                    f"got {dtype!r}")
    return rebuild_tensor_v2(reinterpret(storage, dtype), offset, size, stride, metadata=metadata)


def rebuild_parameter(data: Any, requires_grad: Any, backward_hooks: Any,
                      state: Any = None) -> Any:
    """A Parameter is its data here; hooks and Python attributes are dropped."""
    return data


def latin1_bytes(text: Any, encoding: Any = "latin1") -> bytes:
    """Protocol 2 pickles `bytes` as `_codecs.encode(text, 'latin1')`; nothing else is allowed."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise CheckpointFormatError(f"_codecs.encode is only allowed as ('...', 'latin1'), "
                                    f"got {encoding!r}")
    return text.encode("latin1")


class Allowed:
    """An allow-listed callable, immutable: a BUILD opcode sets attributes on whatever is on
    the stack, and on a plain function it could rewrite `__defaults__` for every later load."""

    __slots__ = ("fn",)
    fn: Callable[..., Any]

    def __init__(self, fn: Callable[..., Any]) -> None:
        object.__setattr__(self, "fn", fn)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{self.fn.__name__} is read-only")

    def __call__(self, *args: Any) -> Any:
        return self.fn(*args)


TENSOR_REBUILDERS: dict[str, Callable[..., Any]] = {
    "torch._utils._rebuild_tensor": rebuild_tensor,
    "torch._utils._rebuild_tensor_v2": rebuild_tensor_v2,
    "torch._utils._rebuild_tensor_v3": rebuild_tensor_v3,
    "torch._utils._rebuild_parameter": rebuild_parameter,
    "torch._utils._rebuild_parameter_with_state": rebuild_parameter,
}


def _allowed_globals() -> dict[str, Any]:
    # OrderedDict and tuple are C types and StorageKind has frozen slots: BUILD cannot alter
    # them; NumPy ignores __setstate__ on its built-in dtypes.
    table: dict[str, Any] = {name: Allowed(fn) for name, fn in TENSOR_REBUILDERS.items()}
    table.update({
        "collections.OrderedDict": OrderedDict,
        "torch.Size": tuple,
        "torch.storage.UntypedStorage": STORAGE_KINDS["UntypedStorage"],
        "_codecs.encode": Allowed(latin1_bytes),
    })
    table.update({f"torch.{name}": kind for name, kind in STORAGE_KINDS.items()})
    table.update({f"torch.{name}": dtype for name, dtype in TORCH_DTYPES.items()})
    return table


ALLOWED_GLOBALS: dict[str, Any] = _allowed_globals()


class CheckpointUnpickler(pickle.Unpickler):
    """Unpickles one torch pickle; `load_storage` turns each storage record into a `Storage`.

    Args:
        data: the pickle's bytes, or a stream positioned at it (reading stops after STOP).
        load_storage: called once per storage; `None` where the pickle may hold no tensors.
    """

    def __init__(self, data: bytes | io.BufferedIOBase,
                 load_storage: StorageLoader | None = None) -> None:
        super().__init__(io.BytesIO(data) if isinstance(data, bytes) else data)
        self.load_storage = load_storage
        self.storages: dict[str, Storage] = {}

    def load_checked(self, what: str) -> Any:
        """`load()`, reporting any failure of the pickle machine on `what` as a format error."""
        try:
            return self.load()
        except (UnsafeCheckpointError, CheckpointFormatError):
            raise
        except Exception as exc:  # corrupt pickles fail in many ways: EOFError, KeyError, ...
            raise CheckpointFormatError(
                f"{what} is not a valid pickle ({type(exc).__name__}: {exc})") from exc

    def find_class(self, module: str, name: str) -> Any:
        qualified = f"{module}.{name}"
        if qualified not in ALLOWED_GLOBALS:
            raise UnsafeCheckpointError(
                f"refused the global '{qualified}': a plain state dict never needs it, so it "
                f"was not run (the file may be malicious; open it with torch only if you trust "
                f"its source)")
        return ALLOWED_GLOBALS[qualified]

    def persistent_load(self, pid: Any) -> Storage:
        record = parse_storage_id(pid)
        if self.load_storage is None:
            raise CheckpointFormatError(f"unexpected storage {record.key!r} in a header pickle")
        # One storage may back many tensors (shared storages): read it once.
        cache_key = record.key if record.view is None else f"{record.key} view {record.view[0]}"
        if cache_key not in self.storages:
            self.storages[cache_key] = self.load_storage(record)
        return self.storages[cache_key]


def parse_storage_id(pid: Any) -> StorageRecord:
    """Check the shape of a storage persistent id and name its parts."""
    if not isinstance(pid, tuple) or len(pid) not in (5, 6) or pid[0] != "storage":
        raise CheckpointFormatError(f"persistent id {pid!r} is not a storage record")
    _, kind, key, _location, numel, *view = pid
    if not isinstance(kind, StorageKind) or not isinstance(key, str) or type(numel) is not int:
        raise CheckpointFormatError(f"storage record {pid!r} is malformed")
    if numel < 0:
        raise CheckpointFormatError(f"storage {key!r} has a negative size {numel}")
    view_meta = view[0] if view else None
    if view_meta is not None and (not isinstance(view_meta, tuple) or len(view_meta) != 3):
        raise CheckpointFormatError(f"storage {key!r} has malformed view metadata {view_meta!r}")
    return StorageRecord(kind, key, numel, view_meta)
