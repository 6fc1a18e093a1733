"""torch's zip checkpoint format written without torch; `torch.load(weights_only=True)` reads it.

`pickle.Pickler` cannot name `torch._utils._rebuild_tensor_v2` without importing torch (it
checks every global it writes), so the protocol-2 pickle is emitted opcode by opcode here. It
holds only containers, scalars and tensors; each array becomes one little-endian storage record
`data/<key>`, placed at a 64-byte boundary as torch does so that `torch.load(mmap=True)` works.
"""

from __future__ import annotations

import io
import struct
import zipfile
from collections import OrderedDict
from typing import Any

import numpy as np

from minigrad.interop.torch_storage import STORAGE_FOR_DTYPE
from minigrad.tensor import Tensor

_ALIGNMENT = 64
_ZIP_HEADER_SIZE = 30  # fixed part of a zip local file header


class _PickleWriter:
    """Emits a protocol-2 pickle of `obj` and collects the arrays it refers to."""

    def __init__(self) -> None:
        self.out = io.BytesIO()
        self.arrays: dict[int, tuple[str, np.ndarray]] = {}  # id(array) -> (key, array)
        self.open_containers: set[int] = set()

    def dump(self, obj: Any) -> bytes:
        self.out.write(b"\x80\x02")  # PROTO 2
        self.emit(obj, "the object")
        self.out.write(b".")  # STOP
        return self.out.getvalue()

    def emit(self, obj: Any, where: str) -> None:
        if isinstance(obj, Tensor):
            obj = obj.data
        if isinstance(obj, np.generic):
            obj = obj.item()
        if isinstance(obj, np.ndarray):
            self.emit_tensor(obj, where)
        elif isinstance(obj, (dict, list, tuple)):
            self.emit_container(obj, where)
        else:
            self.emit_scalar(obj, where)

    def emit_scalar(self, obj: Any, where: str) -> None:
        write = self.out.write
        if obj is None or isinstance(obj, bool):
            write({None: b"N", True: b"\x88", False: b"\x89"}[obj])
        elif isinstance(obj, int):
            write(_int_opcode(obj))
        elif isinstance(obj, float):
            write(b"G" + struct.pack(">d", obj))  # BINFLOAT
        elif isinstance(obj, str):
            self.emit_str(obj)
        elif isinstance(obj, bytes):
            # protocol 2 has no bytes opcode: Python pickles them as this call
            write(b"c_codecs\nencode\n")
            self.emit_str(obj.decode("latin1"))
            self.emit_str("latin1")
            write(b"\x86R")  # TUPLE2, REDUCE
        else:
            hint = "; save its state_dict()" if callable(getattr(obj, "state_dict", None)) else ""
            raise TypeError(f"save_torch: {where} is a {type(obj).__name__}; a checkpoint holds "
                            f"arrays, Tensors, numbers, strings, bytes, None and "
                            f"dicts/lists/tuples of them{hint}")

    def emit_str(self, text: str) -> None:
        data = text.encode("utf-8", "surrogatepass")
        self.out.write(b"X" + struct.pack("<I", len(data)) + data)  # BINUNICODE

    def emit_container(self, obj: dict | list | tuple, where: str) -> None:
        if id(obj) in self.open_containers:
            raise ValueError(f"save_torch: {where} contains itself")
        self.open_containers.add(id(obj))
        write = self.out.write
        if isinstance(obj, dict):
            write(b"ccollections\nOrderedDict\n)R(" if isinstance(obj, OrderedDict) else b"}(")
            for key, value in obj.items():
                self.emit_key(key, where)
                self.emit(value, f"{where}[{key!r}]")
            write(b"u")  # SETITEMS
        else:
            write(b"](" if isinstance(obj, list) else b"(")  # EMPTY_LIST or nothing, MARK
            for i, value in enumerate(obj):
                self.emit(value, f"{where}[{i}]")
            write(b"e" if isinstance(obj, list) else b"t")  # APPENDS or TUPLE
        self.open_containers.discard(id(obj))

    def emit_key(self, key: Any, where: str) -> None:
        if not isinstance(key, (str, int, float, bytes)) and key is not None:
            raise TypeError(f"save_torch: {where} has a key of type {type(key).__name__}")
        self.emit_scalar(key, f"a key of {where}")

    def emit_tensor(self, array: np.ndarray, where: str) -> None:
        """`_rebuild_tensor_v2(storage, 0, shape, C-strides, False, OrderedDict())`."""
        kind = STORAGE_FOR_DTYPE.get(array.dtype.newbyteorder("="))
        if kind is None:
            raise TypeError(f"save_torch: {where} has dtype {array.dtype}, which has no torch "
                            f"storage type")
        key = self.arrays.setdefault(id(array), (str(len(self.arrays)), array))[0]
        write = self.out.write
        write(b"ctorch._utils\n_rebuild_tensor_v2\n((")  # GLOBAL, MARK args, MARK id
        self.emit_str("storage")  # the persistent id ('storage', kind, key, location, numel)
        write(f"ctorch\n{kind.name}\n".encode())
        self.emit_str(key)
        self.emit_str("cpu")
        write(_int_opcode(array.size) + b"tQ")  # TUPLE, BINPERSID
        write(_int_opcode(0))  # storage offset
        strides = [int(np.prod(array.shape[i + 1:])) for i in range(array.ndim)]
        self.emit(tuple(array.shape), where)
        self.emit(tuple(strides), where)
        # requires_grad False, empty backward hooks; TUPLE closes the args, REDUCE calls
        write(b"\x89ccollections\nOrderedDict\n)RtR")

def _int_opcode(n: int) -> bytes:
    if -(2**31) <= n < 2**31:
        return b"J" + struct.pack("<i", n)  # BININT
    data = n.to_bytes((n.bit_length() + 8) // 8, "little", signed=True)
    return b"\x8a" + bytes([len(data)]) + data  # LONG1


def zip_checkpoint(obj: Any) -> bytes:
    """The bytes of a torch zip checkpoint holding `obj`; raises before writing anything."""
    writer = _PickleWriter()
    records = [("data.pkl", writer.dump(obj)), ("byteorder", b"little")]
    for key, array in writer.arrays.values():
        # (any shape, any strides, any byte order) -> C-contiguous little-endian bytes
        little = np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<"), copy=False)
        records.append((f"data/{key}", little.tobytes()))
    records.append(("version", b"3\n"))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        for name, data in records:
            archive.writestr(_aligned_entry(f"archive/{name}", out.tell()), data)
    return out.getvalue()


def _aligned_entry(name: str, header_offset: int) -> zipfile.ZipInfo:
    """A stored entry whose data starts at a multiple of 64 bytes (padding in its extra field)."""
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    start = header_offset + _ZIP_HEADER_SIZE + len(name.encode()) + 4  # 4: extra field header
    padding = -start % _ALIGNMENT
    info.extra = b"FB" + struct.pack("<H", padding) + b"Z" * padding
    return info
