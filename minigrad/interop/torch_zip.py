"""torch's zip checkpoint format (the default since torch 1.6), read without torch.

Layout: one top-level folder (its name varies) holding `data.pkl` (the pickled object; each
storage is a persistent id `('storage', kind, key, location, numel)`), `data/<key>` (each
storage's raw bytes), `byteorder` ('little' or 'big'; absent in old files, which are
native-endian) and `version`.
"""

from __future__ import annotations

import io
import re
import sys
import zipfile
from typing import Any

from minigrad.interop.torch_storage import CheckpointFormatError, Storage, storage_from_bytes
from minigrad.interop.torch_unpickler import CheckpointUnpickler, StorageRecord

_PICKLE_RECORD = re.compile(r"[^/]+/data\.pkl")


def read_zip_checkpoint(data: bytes) -> Any:
    """The object pickled in the zip checkpoint `data`, tensors as NumPy arrays."""
    archive = _open(data)
    prefix = _prefix(archive)
    byteorder = _byteorder(archive, prefix)

    def load_storage(record: StorageRecord) -> Storage:
        name = f"{prefix}data/{record.key}"
        if record.view is not None:
            raise CheckpointFormatError(f"storage {name!r} carries legacy view metadata")
        # the size is checked before reading, so a record cannot inflate past its storage
        data = read_record(archive, name, record.numel * record.kind.disk.itemsize)
        return storage_from_bytes(record.kind, data, record.numel, byteorder)

    pickle_name = prefix + "data.pkl"
    unpickler = CheckpointUnpickler(read_record(archive, pickle_name), load_storage)
    return unpickler.load_checked(pickle_name)


def _open(data: bytes) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except Exception as exc:  # BadZipFile, EOFError, OSError, ... on a cut or damaged file
        raise CheckpointFormatError(f"not a readable zip archive, truncated or corrupt? "
                                    f"({type(exc).__name__}: {exc})") from exc


def _prefix(archive: zipfile.ZipFile) -> str:
    """The top-level folder, found through its `data.pkl`, with a trailing slash."""
    found = [name for name in archive.namelist() if _PICKLE_RECORD.fullmatch(name)]
    if len(found) != 1:
        raise CheckpointFormatError(f"expected one '<folder>/data.pkl' record, found {found} "
                                    f"(is it a torch checkpoint?)")
    return found[0][: -len("data.pkl")]


def _byteorder(archive: zipfile.ZipFile, prefix: str) -> str:
    if prefix + "byteorder" not in archive.namelist():
        return sys.byteorder
    mark = read_record(archive, prefix + "byteorder")
    if mark not in (b"little", b"big"):
        raise CheckpointFormatError(f"the byteorder record is {mark!r}, not 'little' or 'big'")
    return mark.decode()


def read_record(archive: zipfile.ZipFile, name: str, size: int | None = None) -> bytes:
    """The bytes of one record (of `size` bytes, if given); missing or damaged is an error."""
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise CheckpointFormatError(f"record {name!r} is missing") from None
    if size is not None and info.file_size != size:
        raise CheckpointFormatError(f"record {name!r} has {info.file_size} bytes where its "
                                    f"storage needs {size}")
    try:
        return archive.read(info)
    except Exception as exc:  # bad CRC, truncated data, unsupported compression
        raise CheckpointFormatError(f"record {name!r} is damaged "
                                    f"({type(exc).__name__}: {exc})") from exc
