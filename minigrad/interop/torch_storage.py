"""torch storages as raw bytes, and tensors rebuilt from them as NumPy arrays.

A torch tensor is a view `(storage, offset, size, stride)` into a flat typed storage; a
checkpoint stores each storage once as raw bytes and each tensor as that view. Strides and
offsets count elements, not bytes. Every array built here is a fresh C-contiguous copy in
native byte order, so nothing returned aliases the file's bytes or another tensor; except a
view whose elements overlap (stride 0, as `expand` makes, or strides that revisit elements):
it is returned as a read-only view of a copy of the elements it reaches, so a few stored bytes
declared over a huge shape never become a huge allocation.
"""

from __future__ import annotations

import math
from typing import Literal, NamedTuple

import numpy as np


class CheckpointFormatError(ValueError):
    """A checkpoint is malformed; the message says what is wrong, `load_torch` adds the file."""


class StorageKind(NamedTuple):
    """One torch storage class: its name and how its elements are laid out on disk.

    A tuple, so immutable even to a pickle's BUILD opcode (a frozen dataclass is not: its
    generated `__setstate__` would let a hostile file rewrite this shared table).
    """

    name: str
    disk: np.dtype  # the element as stored (native order; the file's order is applied later)
    result: np.dtype  # the dtype of the arrays handed back


ByteOrder = Literal["<", ">"]


class Storage(NamedTuple):
    """A storage read from a checkpoint: `numel` elements of `kind` in `raw` (read-only)."""

    kind: StorageKind
    raw: np.ndarray  # 1-D, dtype `kind.disk` in the file's byte order
    order: ByteOrder  # the file's byte order as a NumPy code

    @property
    def numel(self) -> int:
        return self.raw.size


def _kind(name: str, disk: str, result: str | None = None) -> StorageKind:
    return StorageKind(name, np.dtype(disk), np.dtype(result or disk))


# bfloat16 is the high half of a float32; NumPy has no bfloat16, so it is widened to float32.
STORAGE_KINDS: dict[str, StorageKind] = {kind.name: kind for kind in (
    _kind("FloatStorage", "float32"), _kind("DoubleStorage", "float64"),
    _kind("HalfStorage", "float16"), _kind("BFloat16Storage", "uint16", "float32"),
    _kind("LongStorage", "int64"), _kind("IntStorage", "int32"),
    _kind("ShortStorage", "int16"), _kind("CharStorage", "int8"),
    _kind("ByteStorage", "uint8"), _kind("BoolStorage", "uint8", "bool"),
    _kind("ComplexFloatStorage", "complex64"), _kind("ComplexDoubleStorage", "complex128"),
    _kind("UntypedStorage", "uint8"),
)}

# The storage class torch writes for each NumPy dtype (save direction).
STORAGE_FOR_DTYPE: dict[np.dtype, StorageKind] = {
    kind.result: kind for kind in STORAGE_KINDS.values()
    if kind.name not in ("BFloat16Storage", "UntypedStorage")
}


def storage_from_bytes(kind: StorageKind, data: bytes, numel: int, byteorder: str) -> Storage:
    """Wrap `numel` elements of raw `data` (no copy); `byteorder` is 'little' or 'big'."""
    order: ByteOrder = "<" if byteorder == "little" else ">"
    disk = kind.disk.newbyteorder(order)
    if len(data) != numel * disk.itemsize:
        raise CheckpointFormatError(f"holds {len(data)} bytes but {numel} {kind.name} "
                                    f"elements need {numel * disk.itemsize}")
    return Storage(kind, np.frombuffer(data, dtype=disk, count=numel), order)


def reinterpret(storage: Storage, dtype: np.dtype) -> Storage:
    """An untyped (byte) storage seen as elements of `dtype` (torch's `_rebuild_tensor_v3`)."""
    if storage.kind.name != "UntypedStorage" or storage.numel % dtype.itemsize:
        raise CheckpointFormatError(f"cannot view a {storage.kind.name} of {storage.numel} "
                                    f"elements as {dtype}")
    kind = StorageKind(f"UntypedStorage as {dtype}", dtype, dtype)
    return Storage(kind, storage.raw.view(dtype.newbyteorder(storage.order)), storage.order)


def tensor_from_storage(storage: Storage, offset: int, size: tuple[int, ...],
                        stride: tuple[int, ...]) -> np.ndarray:
    """Copy the view `(offset, size, stride)` of `storage` out as a new C-contiguous array."""
    if storage.raw.ndim != 1 or not storage.raw.flags.c_contiguous:
        raise CheckpointFormatError("a storage must be one contiguous run of elements")
    _check_view(storage.numel, offset, size, stride)
    if 0 in size:
        return np.empty(size, dtype=storage.kind.result)
    reached = 1 + sum((n - 1) * s for n, s in zip(size, stride))
    if math.prod(size) > reached:
        return _overlapping_view(storage, offset, reached, size, stride)
    itemsize = storage.raw.itemsize
    view = np.lib.stride_tricks.as_strided(
        storage.raw[offset:], shape=size, strides=tuple(s * itemsize for s in stride),
        writeable=False)
    return _to_result(view, storage.kind)


def _overlapping_view(storage: Storage, offset: int, reached: int, size: tuple[int, ...],
                      stride: tuple[int, ...]) -> np.ndarray:
    """A read-only view over a converted copy of the `reached` elements the tensor uses."""
    base = _to_result(storage.raw[offset:offset + reached], storage.kind)  # 1-D, C-contiguous
    return np.lib.stride_tricks.as_strided(
        base, shape=size, strides=tuple(s * base.itemsize for s in stride), writeable=False)


def _to_result(view: np.ndarray, kind: StorageKind) -> np.ndarray:
    if kind.name == "BFloat16Storage":
        bits = view.astype(np.uint32, order="C")
        bits <<= 16  # in place: a 0-d array must stay an array, not become a scalar
        return bits.view(np.float32)
    # astype to bool maps any non-zero byte to True, as torch does
    return view.astype(kind.result.newbyteorder("="), order="C")


def _check_view(numel: int, offset: int, size: tuple[int, ...], stride: tuple[int, ...]) -> None:
    """The view must lie inside the storage: as_strided would otherwise read stray memory."""
    if len(size) != len(stride):
        raise CheckpointFormatError(f"tensor size {size} and stride {stride} differ in length")
    if offset < 0 or any(n < 0 for n in size) or any(s < 0 for s in stride):
        raise CheckpointFormatError(f"tensor offset {offset}, size {size} or stride {stride} "
                                    f"is negative")
    if 0 in size:
        if offset > numel:
            raise CheckpointFormatError(f"tensor offset {offset} lies past the storage's "
                                        f"{numel} elements")
        return
    last = offset + sum((n - 1) * s for n, s in zip(size, stride))
    if last >= numel:
        raise CheckpointFormatError(f"tensor (offset {offset}, size {size}, stride {stride}) "
                                    f"reaches element {last} of a storage with {numel} elements")


# `torch.<name>` dtype objects a checkpoint may hold as values; `_rebuild_tensor_v3` names the
# element type of an untyped storage with one (uint16/32/64 are saved that way).
TORCH_DTYPES: dict[str, np.dtype] = {name: np.dtype(name) for name in (
    "float16", "float32", "float64", "int8", "int16", "int32", "int64",
    "uint8", "uint16", "uint32", "uint64", "bool", "complex64", "complex128",
)}
