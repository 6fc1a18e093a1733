"""torch's legacy checkpoint format (`_use_new_zipfile_serialization=False`), without torch.

Layout: five things back to back: pickles of the magic number, the protocol version (1001) and
a sys-info dict; the main pickle (each storage a persistent id `('storage', kind, key,
location, numel, view)`); a pickled list of storage keys; then, for each key in that order, an
int64 element count and the raw bytes. torch writes counts and data little-endian whatever the
machine. The main pickle comes before the bytes it refers to, so it is read twice: once to
learn each storage's type (tensors skipped), once to build the arrays.
"""

from __future__ import annotations

import io
import pickletools
import struct
from typing import Any

from minigrad.interop.torch_storage import (
    CheckpointFormatError,
    Storage,
    StorageKind,
    storage_from_bytes,
)
from minigrad.interop.torch_unpickler import (
    TENSOR_REBUILDERS,
    Allowed,
    CheckpointUnpickler,
    StorageRecord,
    parse_storage_id,
)

MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
PROTOCOL_VERSION = 1001


def read_legacy_checkpoint(data: bytes, max_pickle_bytes: int) -> Any:
    """The object pickled in the legacy checkpoint `data`, tensors as NumPy arrays; a main
    pickle longer than `max_pickle_bytes` is refused before it is unpickled."""
    stream = io.BytesIO(data)
    _check_header(stream)
    main = _main_pickle(stream)
    if len(main) > max_pickle_bytes:
        raise CheckpointFormatError(f"the main pickle has {len(main)} bytes, over the limit "
                                    f"max_pickle_bytes={max_pickle_bytes}; pass a larger "
                                    f"max_pickle_bytes= if you trust the file")
    survey = _StorageSurvey(main)
    survey.load_checked("the main pickle")
    keys = CheckpointUnpickler(stream).load_checked("the storage key list")
    roots = _read_storages(stream, keys, survey.records)

    def load_storage(record: StorageRecord) -> Storage:
        return _view(roots[record.key], record.view)

    return CheckpointUnpickler(main, load_storage).load_checked("the main pickle")


class _StorageSurvey(CheckpointUnpickler):
    """First pass: the same allow-list, but tensors are skipped and storage records kept."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.records: dict[str, StorageKind] = {}

    def find_class(self, module: str, name: str) -> Any:
        found = super().find_class(module, name)
        return _SKIP if f"{module}.{name}" in TENSOR_REBUILDERS else found

    # returns None where the loading pass returns a Storage: the survey only records storages
    def persistent_load(self, pid: Any) -> None:  # type: ignore[override]
        record = parse_storage_id(pid)
        self.records[record.key] = record.kind


def _skip(*args: Any) -> None:
    return None


_SKIP = Allowed(_skip)


def _check_header(stream: io.BytesIO) -> None:
    magic = CheckpointUnpickler(stream).load_checked("the magic number")
    if magic != MAGIC_NUMBER:
        raise CheckpointFormatError(f"the magic number is {magic!r}, not torch's")
    version = CheckpointUnpickler(stream).load_checked("the protocol version")
    if version != PROTOCOL_VERSION:
        raise CheckpointFormatError(f"the protocol version is {version!r}, not 1001")
    CheckpointUnpickler(stream).load_checked("the sys-info record")


def _main_pickle(stream: io.BytesIO) -> bytes:
    """The main pickle's bytes, found by walking its opcodes (nothing is executed)."""
    start = stream.tell()
    try:
        for _ in pickletools.genops(stream):
            pass
    except Exception as exc:  # a cut or garbled opcode stream
        raise CheckpointFormatError(f"the main pickle is damaged ({exc})") from exc
    return stream.getvalue()[start:stream.tell()]


def _read_storages(stream: io.BytesIO, keys: Any,
                   kinds: dict[str, StorageKind]) -> dict[str, Storage]:
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise CheckpointFormatError(f"storage key list {keys!r} is not a list of strings")
    missing = sorted(set(kinds) - set(keys))
    if missing:
        raise CheckpointFormatError(f"storage records {missing} are missing")
    return {key: _read_storage(stream, key, kinds.get(key)) for key in keys}


def _read_storage(stream: io.BytesIO, key: str, kind: StorageKind | None) -> Storage:
    if kind is None:
        raise CheckpointFormatError(f"storage {key!r} is stored but no tensor uses it")
    header = stream.read(8)
    if len(header) != 8:
        raise CheckpointFormatError(f"the file ends before storage {key!r} (truncated?)")
    (numel,) = struct.unpack("<q", header)
    data = stream.read(max(numel, 0) * kind.disk.itemsize)
    try:
        return storage_from_bytes(kind, data, numel, "little")
    except CheckpointFormatError as exc:
        raise CheckpointFormatError(f"storage {key!r} {exc} (truncated?)") from None


def _view(root: Storage, view: tuple[Any, Any, Any] | None) -> Storage:
    """A legacy storage view `(view_key, offset, numel)`: a slice of its root storage."""
    if view is None:
        return root
    _, offset, numel = view
    if type(offset) is not int or type(numel) is not int or not 0 <= offset <= root.numel - numel:
        raise CheckpointFormatError(f"storage view {view!r} lies outside its storage of "
                                    f"{root.numel} elements")
    return Storage(root.kind, root.raw[offset:offset + numel], root.order)

