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


def read_zip_checkpoint(data: bytes, max_pickle_bytes: int) -> Any:
    """The object pickled in the zip checkpoint `data`, tensors as NumPy arrays; a `data.pkl`
    declared larger than `max_pickle_bytes` is refused before it is read."""
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
    size = _info(archive, pickle_name).file_size
    if size > max_pickle_bytes:
        raise CheckpointFormatError(f"record {pickle_name!r} declares {size} bytes, over the "
                                    f"limit max_pickle_bytes={max_pickle_bytes}; pass a larger "
                                    f"max_pickle_bytes= if you trust the file")
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


def _info(archive: zipfile.ZipFile, name: str) -> zipfile.ZipInfo:
    try:
        return archive.getinfo(name)
    except KeyError:
        raise CheckpointFormatError(f"record {name!r} is missing") from None


def read_record(archive: zipfile.ZipFile, name: str, size: int | None = None) -> bytes:
    """The bytes of one record (of `size` bytes, if given); missing or damaged is an error.

    A compressed record is inflated in bounded steps and never past the size its zip entry
    declares (`ZipFile.read` would inflate a whole deflate bomb in one call before cutting it
    to that size); one whose data does not match that size or its CRC is refused."""
    info = _info(archive, name)
    if size is not None and info.file_size != size:
        raise CheckpointFormatError(f"record {name!r} has {info.file_size} bytes where its "
                                    f"storage needs {size}")
    try:
        with archive.open(info) as stream:
            data = _read_bounded(stream, info.file_size)
    except CheckpointFormatError:
        raise
    except Exception as exc:  # bad CRC, truncated data, unsupported compression
        raise CheckpointFormatError(f"record {name!r} is damaged "
                                    f"({type(exc).__name__}: {exc})") from exc
    if len(data) != info.file_size:
        raise CheckpointFormatError(f"record {name!r} holds {len(data)} bytes where its zip "
                                    f"entry declares {info.file_size} (truncated?)")
    return data


_CHUNK = 1 << 20


def _read_bounded(stream: Any, declared: int) -> bytes:
    """At most `declared` bytes, in steps of at most 1 MiB, then one more read that must find
    the end (zipfile stops at the declared size and checks the CRC there)."""
    parts = []
    left = declared
    while left > 0:
        part = stream.read(min(left, _CHUNK))
        if not part:
            break
        parts.append(part)
        left -= len(part)
    if stream.read(1):
        raise CheckpointFormatError(f"inflates past the {declared} bytes its zip entry "
                                    f"declares")
    return b"".join(parts)
