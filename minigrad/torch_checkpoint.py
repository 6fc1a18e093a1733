"""Read and write PyTorch `.pth` checkpoints with NumPy only: torch is never imported.

`load_torch` reads what `torch.save` writes (the zip format and the legacy one) through an
allow-listed unpickler, so a hostile file cannot run code; `save_torch` writes the zip format.
See docs/interop.md.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, BinaryIO

from minigrad.atomic_write import write_atomically
from minigrad.interop.torch_legacy import read_legacy_checkpoint
from minigrad.interop.torch_storage import CheckpointFormatError
from minigrad.interop.torch_unpickler import UnsafeCheckpointError
from minigrad.interop.torch_writer import zip_checkpoint
from minigrad.interop.torch_zip import read_zip_checkpoint

__all__ = ["load_torch", "save_torch", "UnsafeCheckpointError"]

PathOrFile = str | os.PathLike | BinaryIO

_ZIP_MAGIC = b"PK\x03\x04"
_PICKLE_PROTO = b"\x80"  # pickles of protocol 2+ open with PROTO; the legacy format is one


DEFAULT_MAX_PICKLE_BYTES = 64 * 2**20


def load_torch(f: PathOrFile, map_location: Any = None, *, weights_only: bool = True,
               max_pickle_bytes: int = DEFAULT_MAX_PICKLE_BYTES) -> Any:
    """Load an object saved with `torch.save`, each tensor as a NumPy array.

    A state dict comes back as a dict (an OrderedDict when torch saved one) of arrays; a
    checkpoint that wraps one (`{'state_dict': ..., 'epoch': 3}`) keeps its nesting and its
    plain Python values. Dtypes are kept, except bfloat16, which becomes float32 (NumPy has
    none). Each array is a fresh copy, even where torch tensors shared a storage (except
    overlapping views, below).

    Only what a plain state dict needs is unpickled (tensors, storages, OrderedDict,
    torch.Size, dtypes); any other global raises `UnsafeCheckpointError` before it runs.

    Memory is bounded by what the file declares: a storage record is never inflated past the
    bytes its tensors need, the pickle (`data.pkl`) may not exceed `max_pickle_bytes`, and a
    tensor whose elements overlap (stride 0, as from `expand`) comes back as a read-only view
    rather than materialised.

    Args:
        f: a path, or a binary file object opened for reading.
        map_location: accepted for torch's sake: None or 'cpu' (or torch.device('cpu')).
        weights_only: accepted for torch's sake: only True (nothing else is ever unpickled).
        max_pickle_bytes: the largest pickle accepted (64 MiB by default; a state dict's
            pickle holds names and shapes, rarely more than a few MiB).

    Raises:
        UnsafeCheckpointError: the pickle names a global outside the allow-list.
        ValueError: the file is not a torch checkpoint, or is truncated or corrupt.
    """
    _check_load_options(map_location, weights_only, max_pickle_bytes)
    data, source = _read(f)
    try:
        return _parse(data, max_pickle_bytes)
    except UnsafeCheckpointError as exc:
        raise UnsafeCheckpointError(f"load_torch: {source}: {exc}") from None
    except CheckpointFormatError as exc:
        raise ValueError(f"load_torch: {source}: {exc}") from exc


def _check_load_options(map_location: Any, weights_only: Any, max_pickle_bytes: Any) -> None:
    if map_location is not None and str(map_location) != "cpu":
        raise ValueError(f"load_torch: map_location must be None or 'cpu' (minigrad arrays "
                         f"live on the CPU), got {map_location!r}")
    if weights_only is not True:
        raise ValueError(f"load_torch: weights_only must be True, got {weights_only!r}: only "
                         "tensors and plain containers are ever unpickled")
    if isinstance(max_pickle_bytes, bool) or not isinstance(max_pickle_bytes, int) \
            or max_pickle_bytes <= 0:
        raise ValueError(f"load_torch: max_pickle_bytes must be a positive int, "
                         f"got {max_pickle_bytes!r}")


def save_torch(obj: Mapping[str, Any], f: PathOrFile) -> None:
    """Save a state dict (or a checkpoint dict) in torch's zip format, without torch.

    `torch.load(f, weights_only=True)` returns the same structure with each array or Tensor
    as a torch tensor of its dtype. Values may be arrays, minigrad Tensors, numbers, strings,
    bytes, None, and dicts (OrderedDicts stay OrderedDicts), lists and tuples of them.

    Args:
        obj: the object to save, usually `model.state_dict()`.
        f: a path, or a binary file object opened for writing. A path is replaced atomically
            as by `minigrad.save` (temporary file, fsync, rename; symlinks written through,
            permissions kept), so a crash mid-save leaves the old file whole.

    Raises:
        TypeError: a value or array dtype torch cannot hold (raised before the file is touched).
        ValueError: a container that contains itself, or nesting past the recursion limit.
    """
    if not hasattr(f, "write") and not isinstance(f, (str, os.PathLike)):
        raise TypeError(f"save_torch: expected a path or a binary file, got {type(f).__name__}")
    try:
        data = zip_checkpoint(obj)
    except RecursionError:
        raise ValueError("save_torch: the object is nested too deeply to store (over Python's "
                         f"recursion limit of {sys.getrecursionlimit()} levels)") from None
    if isinstance(f, (str, os.PathLike)):
        write_atomically(f, lambda file: file.write(data))
    else:
        f.write(data)


def _read(f: PathOrFile) -> tuple[bytes, str]:
    if hasattr(f, "read"):
        data = f.read()
        if not isinstance(data, bytes):
            raise TypeError("load_torch: the file must be opened in binary mode ('rb')")
        return data, repr(getattr(f, "name", "<file object>"))
    if not isinstance(f, (str, os.PathLike)):
        raise TypeError(f"load_torch: expected a path or a binary file, got {type(f).__name__}")
    return Path(f).read_bytes(), repr(os.fspath(f))


def _parse(data: bytes, max_pickle_bytes: int) -> Any:
    if data.startswith(_ZIP_MAGIC):
        return read_zip_checkpoint(data, max_pickle_bytes)
    if data.startswith(_PICKLE_PROTO):
        return read_legacy_checkpoint(data, max_pickle_bytes)
    if data[257:262] == b"ustar":
        raise CheckpointFormatError("this is the tar format of torch before 0.4, which is not "
                                    "supported; re-save it with a recent torch")
    raise CheckpointFormatError(f"not a torch checkpoint: it starts with {data[:8]!r}, "
                                f"neither a zip archive nor a pickle")
