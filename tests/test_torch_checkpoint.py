"""`load_torch` / `save_torch` against torch 2.13's own `torch.save` / `torch.load`: every dtype,
views and shared storages, both file formats, big-endian files, hostile pickles, damaged files,
and MobileNet weights moving between the two frameworks."""

from __future__ import annotations

import io
import pickle
import pickletools
import struct
import subprocess
import sys
import textwrap
import zipfile
from collections import OrderedDict

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import minigrad
from minigrad import models
from minigrad.torch_checkpoint import UnsafeCheckpointError, load_torch, save_torch
from tests.models import torch_mobilenet as tm
from tests.strategies import shapes

DTYPES = [torch.float32, torch.float64, torch.float16, torch.bfloat16, torch.int64, torch.int32,
          torch.int16, torch.int8, torch.uint8, torch.bool, torch.complex64]
VIEWS = ["contiguous", "transposed", "stepped", "expanded"]
FORMATS = ["zip", "legacy"]


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """torch's two threads fight the other test processes on a shared 2-core box (50x slower)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def torch_bytes(obj, fmt: str = "zip") -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer, _use_new_zipfile_serialization=fmt == "zip")
    return buffer.getvalue()


def load_bytes(data: bytes):
    return load_torch(io.BytesIO(data))


def expected_numpy(value):
    """What `load_torch` should give for a torch value: `.numpy()` (bfloat16 via `.float()`)."""
    if isinstance(value, torch.Tensor):
        value = value.float() if value.dtype == torch.bfloat16 else value
        return value.detach().resolve_conj().resolve_neg().numpy()
    if isinstance(value, dict):
        return type(value)((k, expected_numpy(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return type(value)(expected_numpy(v) for v in value)
    return value


def assert_same(actual, expected, where: str = "root") -> None:
    """Equal structure, container types, dtypes, shapes and values (exactly)."""
    if isinstance(expected, np.ndarray):
        assert isinstance(actual, np.ndarray), f"{where}: {type(actual)} is not an ndarray"
        assert actual.dtype == expected.dtype, f"{where}: {actual.dtype} != {expected.dtype}"
        np.testing.assert_array_equal(actual, expected, err_msg=where, strict=True)
        return
    assert type(actual) is type(expected), f"{where}: {type(actual)} != {type(expected)}"
    if isinstance(expected, dict):
        assert list(actual) == list(expected), f"{where}: keys differ"
        for key in expected:
            assert_same(actual[key], expected[key], f"{where}[{key!r}]")
    elif isinstance(expected, (list, tuple)):
        assert len(actual) == len(expected), f"{where}: lengths differ"
        for i, (a, e) in enumerate(zip(actual, expected)):
            assert_same(a, e, f"{where}[{i}]")
    else:
        assert actual == expected, f"{where}: {actual!r} != {expected!r}"


def random_tensor(shape: tuple[int, ...], dtype: torch.dtype, seed: int) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    if dtype == torch.bool:
        values = rng.random(shape) < 0.5
    elif dtype.is_complex:
        values = rng.standard_normal(shape) + 1j * rng.standard_normal(shape)
    elif dtype.is_floating_point:
        values = rng.standard_normal(shape) * 100
    else:
        values = rng.integers(0 if dtype == torch.uint8 else -100, 100, shape)
    return torch.from_numpy(np.asarray(values)).to(dtype)


def view_of_base(shape: tuple[int, ...], dtype: torch.dtype, view: str, seed: int):
    """(base, a tensor of `shape` viewing base's storage the way `view` names)."""
    axes = tuple(reversed(range(len(shape))))
    if view == "transposed":  # strides run backwards
        base = random_tensor(shape[::-1], dtype, seed)
        return base, base.permute(axes)
    if view == "stepped":  # offset 1 and step 2 on every axis
        base = random_tensor(tuple(2 * n + 1 for n in shape), dtype, seed)
        return base, base[(slice(1, None, 2),) * len(shape)]
    if view == "expanded" and shape:  # stride 0 on the first axis
        base = random_tensor((1,) + shape[1:], dtype, seed)
        return base, base.expand(*shape)
    base = random_tensor(shape, dtype, seed)
    return base, base


@given(shape=shapes(0, 3, 4), dtype=st.sampled_from(DTYPES), view=st.sampled_from(VIEWS),
       fmt=st.sampled_from(FORMATS), seed=st.integers(0, 2**16))
def test_load_torch_matches_torch_for_dtypes_views_and_shared_storages(shape, dtype, view, fmt,
                                                                       seed):
    base, tensor = view_of_base(shape, dtype, view, seed)
    # the view and its base are saved once, as one shared storage
    state = OrderedDict(view=tensor, base=base)
    assert_same(load_bytes(torch_bytes(state, fmt)), expected_numpy(state))


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_load_torch_matches_torch_for_every_dtype_and_view(dtype, fmt):
    state = OrderedDict(scalar=random_tensor((), dtype, 0))
    for i, view in enumerate(VIEWS):
        state[f"{view}_base"], state[view] = view_of_base((2, 3, 4), dtype, view, i)
    assert_same(load_bytes(torch_bytes(state, fmt)), expected_numpy(state))


@pytest.mark.parametrize("fmt", FORMATS)
def test_load_torch_reads_a_module_state_dict_with_parameters_and_buffers(fmt):
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4),
                              torch.nn.Linear(2, 2).half())
    net[1](torch.randn(2, 4, 5, 5))  # running statistics away from their initial values
    state = net.state_dict()
    loaded = load_bytes(torch_bytes(state, fmt))
    assert_same(loaded, expected_numpy(state))
    assert loaded["1.num_batches_tracked"].shape == ()


@pytest.mark.parametrize("fmt", FORMATS)
def test_load_torch_keeps_a_wrapping_checkpoint_dict_and_its_python_values(fmt):
    checkpoint = {"state_dict": OrderedDict(w=torch.randn(2, 3), b=torch.zeros(3)),
                  "epoch": 3, "lr": 0.1, "big": 2**70, "name": "run-1", "done": False,
                  "best": None, "history": [0.5, 0.25], "size": torch.Size([2, 3]),
                  "nested": {"optim": {"momentum": 0.9, "betas": (0.9, 0.999)}},
                  "param": torch.nn.Parameter(torch.ones(2)), "blob": b"\x00\xff",
                  "dtype": torch.float16}
    expected = expected_numpy(checkpoint)
    expected["size"], expected["dtype"] = (2, 3), np.dtype(np.float16)
    assert_same(load_bytes(torch_bytes(checkpoint, fmt)), expected)


def test_load_torch_reads_uint16_conjugate_and_negative_views():
    complex_values = torch.randn(3, dtype=torch.complex64)
    state = {"u16": torch.tensor([1, 2, 60000], dtype=torch.int32).to(torch.uint16),
             "u64": torch.tensor([2**40, 7]).to(torch.uint64), "conj": complex_values.conj(),
             "neg": torch._neg_view(torch.randn(2, 2)), "scalar_neg": torch._neg_view(
                 torch.tensor(1.5))}
    loaded = load_bytes(torch_bytes(state))
    assert_same(loaded, expected_numpy(state))
    assert loaded["u16"].dtype == np.uint16 and loaded["scalar_neg"].shape == ()


def rewrite_zip(data: bytes, replace: dict[str, bytes | None]) -> bytes:
    """The zip `data` with records (named by their path after the top folder) replaced or
    dropped (`None`)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as old, zipfile.ZipFile(out, "w") as new:
        for name in old.namelist():
            inner = name.split("/", 1)[1]
            content = replace.get(inner, old.read(name))
            if content is not None:
                new.writestr(name, content)
    return out.getvalue()


def test_load_torch_reads_big_endian_files():
    state = OrderedDict(f=torch.randn(2, 3), i=torch.arange(-3, 3), h=torch.randn(4).half(),
                        bf=torch.randn(3).bfloat16(), c=torch.randn(2, dtype=torch.complex128),
                        b=torch.tensor([True, False]), s=torch.tensor(7, dtype=torch.int16))
    data = torch_bytes(state)
    swapped = {"byteorder": b"big"}
    for key, tensor in enumerate(state.values()):  # torch numbers storages in pickling order
        raw = zipfile.ZipFile(io.BytesIO(data)).read(f"archive/data/{key}")
        unit = tensor.element_size() // (2 if tensor.is_complex() else 1)
        swapped[f"data/{key}"] = np.frombuffer(raw, f"u{unit}").byteswap().tobytes()
    big = rewrite_zip(data, swapped)
    # torch itself reads the hand-made file back to the original values
    assert_same(expected_numpy(torch.load(io.BytesIO(big))), expected_numpy(state))
    assert_same(load_bytes(big), expected_numpy(state))


def test_torch_checkpoint_module_never_imports_torch(tmp_path):
    state = OrderedDict(w=torch.arange(6.0).reshape(2, 3).t(), bf=torch.ones(2).bfloat16())
    torch.save(state, tmp_path / "zip.pth")
    torch.save(state, tmp_path / "legacy.pth", _use_new_zipfile_serialization=False)
    script = textwrap.dedent(f"""
        import sys
        sys.modules["torch"] = None  # any `import torch` now raises ImportError
        import minigrad
        from minigrad.torch_checkpoint import load_torch, save_torch
        for name in ("zip.pth", "legacy.pth"):
            state = load_torch(r"{tmp_path}/" + name)
            print(name, state["w"].tolist(), state["bf"].dtype)
        save_torch(state, r"{tmp_path}/saved.pth")
        print("torch" in sys.modules and sys.modules["torch"] is not None)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    rows = "[[0.0, 3.0], [1.0, 4.0], [2.0, 5.0]] float32"
    assert done.stdout.split("\n") == [f"zip.pth {rows}", f"legacy.pth {rows}", "False", ""]
    assert torch.equal(torch.load(tmp_path / "saved.pth", weights_only=True)["w"], state["w"])


def str_op(text: str) -> bytes:
    data = text.encode()
    return b"X" + len(data).to_bytes(4, "little") + data  # BINUNICODE


def call_op(module: str, name: str, args: bytes) -> bytes:
    """GLOBAL module.name, then REDUCE with the tuple of `args` (opcodes pushing the args)."""
    return f"c{module}\n{name}\n".encode() + b"(" + args + b"tR"


def payloads(sentinel) -> dict[str, bytes]:
    """Opcodes that would create `sentinel` when unpickled, by the global each one calls."""
    path = str(sentinel)
    return {
        "os.system": call_op("os", "system", str_op(f"touch '{path}'")),
        "posix.system": call_op("posix", "system", str_op(f"touch '{path}'")),
        "builtins.eval": call_op("builtins", "eval", str_op(f"open(r'{path}', 'w').close()")),
        "builtins.exec": call_op("builtins", "exec", str_op(f"open(r'{path}', 'w').close()")),
        "subprocess.Popen": call_op("subprocess", "Popen",
                                    b"](" + str_op("touch") + str_op(path) + b"e"),
        "builtins.open": call_op("builtins", "open", str_op(path) + str_op("w")),
        "numpy.frombuffer": call_op("numpy", "frombuffer", str_op("x")),
        "torch.nn.modules.linear.Linear": call_op("torch.nn.modules.linear", "Linear", b""),
    }


def with_payload(data: bytes, payload: bytes, fmt: str, first: bool) -> bytes:
    """A valid checkpoint whose main pickle also runs `payload`: first, or as one more item."""
    if fmt == "zip":
        pickled = zipfile.ZipFile(io.BytesIO(data)).read("archive/data.pkl")
        start, end = 0, len(pickled)
    else:  # after the magic number, protocol version and sys info
        pickled, (start, end) = data, legacy_sections(data)[3:5]
    main = pickled[start:end]
    if first:  # PROTO, payload, POP, then the untouched rest
        evil = main[:2] + payload + b"0" + main[2:]
    else:  # the top-level dict gets one more item: key, payload, SETITEM
        evil = main[:-1] + str_op("evil") + payload + b"s."
    if fmt == "zip":
        return rewrite_zip(data, {"data.pkl": evil})
    return pickled[:start] + evil + pickled[end:]


@pytest.mark.parametrize("first", [True, False], ids=["payload-first", "payload-last"])
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", list(payloads("x")))
def test_load_torch_refuses_every_global_outside_the_allow_list(tmp_path, name, fmt, first):
    sentinel = tmp_path / "pwned"
    data = torch_bytes({"w": torch.randn(2)}, fmt)
    evil = with_payload(data, payloads(sentinel)[name], fmt, first)
    with pytest.raises(UnsafeCheckpointError, match=f"'{name}'") as info:
        load_bytes(evil)
    assert isinstance(info.value, pickle.UnpicklingError) and isinstance(info.value, ValueError)
    assert not sentinel.exists()


@pytest.mark.parametrize("name", ["posix.system", "builtins.eval"])
def test_payloads_are_live_under_a_plain_unpickler(tmp_path, name):
    # the refusal test above can fail: plain pickle runs these payloads
    sentinel = tmp_path / "pwned"
    evil = with_payload(torch_bytes({"w": torch.randn(2)}), payloads(sentinel)[name], "zip", True)
    pickled = zipfile.ZipFile(io.BytesIO(evil)).read("archive/data.pkl")
    with pytest.raises(pickle.UnpicklingError, match="persistent"):
        pickle.loads(pickled)
    assert sentinel.exists()


TAMPERING = {  # BUILD (set attributes) on an allowed global, then POP
    "rebuild function defaults": b"ctorch._utils\n_rebuild_tensor_v2\n(N}" + str_op("__defaults__")
    + b"(\x89N}" + str_op("neg") + b"\x88stst" + b"b0",
    "storage kind": b"ctorch\nFloatStorage\n(N}" + str_op("disk") + b"ctorch\nfloat64\nstb0",
    "dtype": b"ctorch\nfloat32\n(K\x03" + str_op(">") + b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff"
    b"\xffK\x00tb0",
}


@pytest.mark.parametrize("target", list(TAMPERING))
def test_a_checkpoint_cannot_alter_how_later_checkpoints_load(target):
    state = OrderedDict(w=torch.randn(3), s=torch.tensor(2.5))
    data = torch_bytes(state)
    try:
        load_bytes(with_payload(data, TAMPERING[target], "zip", first=True))
    except ValueError as exc:
        assert not isinstance(exc, UnsafeCheckpointError)
    assert_same(load_bytes(data), expected_numpy(state))
    assert np.dtype(np.float32).byteorder == "="


def test_load_torch_refuses_a_pickled_module_and_protocol_4_globals(tmp_path):
    with pytest.raises(UnsafeCheckpointError, match="'torch.nn.modules.linear.Linear'"):
        load_bytes(torch_bytes(torch.nn.Linear(2, 2)))
    # protocol 4 names globals with STACK_GLOBAL instead of GLOBAL
    stack_global = b"\x80\x04\x8c\x02os\x8c\x06system\x93" + str_op("true") + b"\x85R."
    with pytest.raises(UnsafeCheckpointError, match="'os.system'"):
        load_bytes(rewrite_zip(torch_bytes({}), {"data.pkl": stack_global}))


@pytest.mark.parametrize("fmt", FORMATS)
def test_load_torch_reports_truncated_files(tmp_path, fmt):
    data = torch_bytes(OrderedDict(w=torch.randn(20, 3), b=torch.arange(5)), fmt)
    path = tmp_path / "cut.pth"
    for cut in (0, 3, 40, len(data) // 3, len(data) // 2, len(data) - 30, len(data) - 1):
        path.write_bytes(data[:cut])
        with pytest.raises(ValueError, match="load_torch: .*cut.pth") as info:
            load_torch(path)
        assert not isinstance(info.value, UnsafeCheckpointError), cut


def test_load_torch_reports_damaged_zip_records():
    data = torch_bytes(OrderedDict(w=torch.randn(4), b=torch.zeros(2, dtype=torch.int64)))
    cases = {
        "record 'archive/data/1' is missing": {"data/1": None},
        "expected one '<folder>/data.pkl' record, found \\[\\]": {"data.pkl": None},
        "record 'archive/data/0' has 12 bytes where its storage needs 16":
            {"data/0": b"\x00" * 12},
        "byteorder record is b'middle'": {"byteorder": b"middle"},
        "archive/data.pkl is not a valid pickle": {"data.pkl": b"\x80\x02}q\x00(X\x01"},
    }
    for message, replace in cases.items():
        with pytest.raises(ValueError, match=message):
            load_bytes(rewrite_zip(data, replace))
    archive = zipfile.ZipFile(io.BytesIO(data))
    entry = archive.getinfo("archive/data/0")
    name_len, extra_len = struct.unpack("<HH", data[entry.header_offset + 26:][:4])
    start = entry.header_offset + 30 + name_len + extra_len
    flipped = bytearray(data)
    flipped[start + 5] ^= 0xFF  # inside the storage's bytes: the CRC no longer matches
    with pytest.raises(ValueError, match="record 'archive/data/0' is damaged.*CRC"):
        load_bytes(bytes(flipped))


def legacy_sections(data: bytes) -> list[int]:
    """Offsets where the legacy format's five pickles start, and where the storages start."""
    stream, starts = io.BytesIO(data), [0]
    for _ in range(5):
        *_, (_, _, stop) = pickletools.genops(stream)
        starts.append(stop + 1)
    return starts


def test_load_torch_reports_missing_legacy_storages():
    data = torch_bytes(OrderedDict(w=torch.randn(4), b=torch.arange(3)), "legacy")
    starts = legacy_sections(data)
    keys = pickle.loads(data[starts[4]:starts[5]])
    short = data[:starts[4]] + pickle.dumps(keys[:1], protocol=2) + data[starts[5]:]
    with pytest.raises(ValueError, match=f"storage records \\['{keys[1]}'\\] are missing"):
        load_bytes(short)


def test_load_torch_reports_files_that_are_not_checkpoints(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_bytes(b"hello, not a checkpoint")
    with pytest.raises(ValueError, match="notes.txt.*not a torch checkpoint"):
        load_torch(path)
    with pytest.raises(TypeError, match="load_torch: expected a path"):
        load_torch(3)
    with pytest.raises(TypeError, match="binary mode"), open(path) as text:
        load_torch(text)


def crafted_pickle(storage_id: tuple, offset, size, stride) -> bytes:
    """A protocol-2 pickle of `{'w': tensor}`, the tensor a view of the storage `storage_id`."""

    class Storage:
        pass

    class Tensor:
        def __reduce__(self):
            return torch._utils._rebuild_tensor_v2, (storage, offset, size, stride, False,
                                                     OrderedDict())

    class Pickler(pickle.Pickler):
        def persistent_id(self, obj):
            return storage_id if obj is storage else None

    storage, pickled = Storage(), io.BytesIO()
    Pickler(pickled, protocol=2).dump({"w": Tensor()})
    return pickled.getvalue()


def crafted_checkpoint(numel: int, offset, size, stride) -> bytes:
    """A zip checkpoint holding one FloatStorage of `numel` zeros viewed as given."""
    storage_id = ("storage", torch.FloatStorage, "0", "cpu", numel)
    records = {"data.pkl": crafted_pickle(storage_id, offset, size, stride),
               "data/0": np.zeros(numel, np.float32).tobytes()}
    return rewrite_zip(torch_bytes({"w": torch.zeros(1)}), records)


def test_load_torch_reads_legacy_storage_views():
    # torch < 1.6 wrote a storage slice as (view key, offset, numel) in the persistent id
    values = np.arange(6, dtype=np.float32)
    storage_id = ("storage", torch.FloatStorage, "root", "cpu", 6, ("view", 2, 3))
    header = torch_bytes({}, "legacy")[:legacy_sections(torch_bytes({}, "legacy"))[3]]
    data = (header + crafted_pickle(storage_id, 1, (2,), (1,)) + pickle.dumps(["root"], 2)
            + struct.pack("<q", 6) + values.tobytes())
    expected = torch.load(io.BytesIO(data), weights_only=False)["w"].numpy()
    np.testing.assert_array_equal(expected, [3.0, 4.0])
    assert_same(load_bytes(data), {"w": expected})


def test_load_torch_refuses_views_outside_their_storage():
    assert load_bytes(crafted_checkpoint(6, 1, (2, 2), (3, 1)))["w"].shape == (2, 2)
    bad = {"reaches element 6 of a storage with 6 elements": (6, 0, (2, 2), (4, 2)),
           "is negative": (6, 5, (2,), (-1,)),
           "differ in length": (6, 0, (2, 2), (1,)),
           "not a tuple of ints": (6, 0, (2.0,), (1,)),
           "offset 9 lies past": (6, 9, (0,), (1,))}
    for message, args in bad.items():
        with pytest.raises(ValueError, match=message):
            load_bytes(crafted_checkpoint(*args))


save_values = st.sampled_from([np.float32, np.float64, np.float16, np.int64, np.int32, np.int16,
                               np.int8, np.uint8, np.bool_, np.complex128])


@given(shape=shapes(0, 3, 4), dtype=save_values, seed=st.integers(0, 2**16),
       layout=st.sampled_from(["C", "transposed", "big-endian"]))
def test_save_torch_round_trips_through_torch_load(shape, dtype, seed, layout):
    array = random_tensor(shape, torch.float64, seed).numpy().astype(dtype)
    if layout == "transposed":
        array = np.ascontiguousarray(array.T).T
    elif layout == "big-endian":
        array = array.astype(array.dtype.newbyteorder(">"))
    state = OrderedDict(w=array, same=array, t=minigrad.tensor([1.0, 2.0]), epoch=3,
                        meta={"lr": 0.5, "name": "run", "steps": [1, (2, None)], "big": -2**70})
    buffer = io.BytesIO()
    save_torch(state, buffer)
    back = torch.load(io.BytesIO(buffer.getvalue()), weights_only=True)
    assert back["w"].dtype == torch.from_numpy(array.astype(array.dtype.newbyteorder("="))).dtype
    np.testing.assert_array_equal(back["w"].numpy(), array, strict=False)
    assert back["w"].data_ptr() == back["same"].data_ptr()  # one array, one storage
    assert back["meta"] == state["meta"] and back["epoch"] == 3
    assert_same(load_bytes(buffer.getvalue()), expected_numpy(back))


def test_save_torch_files_open_with_torch_mmap(tmp_path):
    path = tmp_path / "w.pth"
    save_torch({"a": np.arange(5.0), "b": np.ones((3, 7), np.float32)}, path)
    loaded = torch.load(path, weights_only=True, mmap=True)
    np.testing.assert_array_equal(loaded["b"].numpy(), np.ones((3, 7), np.float32))


def test_save_torch_rejects_what_torch_cannot_hold_before_writing(tmp_path):
    path = tmp_path / "w.pth"
    bad = {"has dtype uint32": {"w": np.zeros(2, np.uint32)},
           r"\['w'\] is a set": {"w": {1, 2}},
           "is a object": {"w": object()},
           "has a key of type tuple": {(1, 2): np.zeros(1)}}
    for message, state in bad.items():
        with pytest.raises(TypeError, match=f"save_torch: .*{message}"):
            save_torch(state, path)
    loop: list = []
    loop.append(loop)
    with pytest.raises(ValueError, match="contains itself"):
        save_torch({"loop": loop}, path)
    assert not path.exists()


def trained_twin(name: str, **kwargs) -> torch.nn.Module:
    """A torch twin after two SGD steps, so weights and BN statistics are not the init's."""
    torch.manual_seed(0)
    twin = getattr(tm, name)(**kwargs)
    for _ in range(2):
        x, y = torch.randn(4, 3, 32, 32), torch.randint(0, kwargs["num_classes"], (4,))
        twin.zero_grad()
        torch.nn.functional.cross_entropy(twin(x), y).backward()
        with torch.no_grad():  # plain SGD; torch.optim's first step costs seconds of imports
            for p in twin.parameters():
                p -= 0.1 * p.grad
    return twin.eval()


@pytest.mark.parametrize("name", ["mobilenet_v2", "mobilenet_v3_small"])
def test_trained_torch_mobilenet_loads_into_minigrad_with_equal_outputs(tmp_path, name):
    kwargs = dict(num_classes=10, width_mult=0.35, small_input=True)
    twin = trained_twin(name, **kwargs)
    torch.save(twin.state_dict(), tmp_path / "twin.pth")
    model = getattr(models, name)(**kwargs)
    model.load_state_dict(load_torch(tmp_path / "twin.pth"))
    model.eval()
    x = np.random.default_rng(0).standard_normal((2, 3, 32, 32)).astype(np.float32)
    with torch.no_grad():
        expected = twin(torch.from_numpy(x)).numpy()
    with minigrad.no_grad():
        out = model(minigrad.tensor(x)).numpy()
    np.testing.assert_allclose(out, expected, atol=1e-5, rtol=1e-5)


def test_minigrad_mobilenet_exports_to_torch_with_equal_outputs(tmp_path):
    kwargs = dict(num_classes=10, width_mult=0.35, small_input=True)
    minigrad.manual_seed(0)
    model = models.mobilenet_v2(**kwargs).eval()
    save_torch(model.state_dict(), tmp_path / "mg.pth")
    twin = tm.mobilenet_v2(**kwargs).eval()
    twin.load_state_dict(torch.load(tmp_path / "mg.pth", weights_only=True))
    x = np.random.default_rng(1).standard_normal((2, 3, 32, 32)).astype(np.float32)
    with torch.no_grad():
        expected = twin(torch.from_numpy(x)).numpy()
    with minigrad.no_grad():
        out = model(minigrad.tensor(x)).numpy()
    np.testing.assert_allclose(out, expected, atol=1e-5, rtol=1e-5)


def _peak_bytes(action) -> int:
    """The peak of Python allocations while `action()` runs (NumPy's buffers count too)."""
    import tracemalloc

    tracemalloc.start()
    try:
        action()
    except ValueError:
        pass
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return peak


def _with_declared_size(data: bytes, name: str, size: int) -> bytes:
    """The zip `data` with entry `name`'s uncompressed size rewritten to `size` in both its
    local header and the central directory (the CRC is left as it was)."""
    archive = zipfile.ZipFile(io.BytesIO(data))
    entry = archive.getinfo(name)
    out = bytearray(data)
    struct.pack_into("<I", out, entry.header_offset + 22, size)
    central = out.index(b"PK\x01\x02")
    while True:  # find the central directory record of `name`
        name_len = struct.unpack_from("<H", out, central + 28)[0]
        if bytes(out[central + 46:central + 46 + name_len]) == name.encode():
            break
        central = out.index(b"PK\x01\x02", central + 4)
    struct.pack_into("<I", out, central + 24, size)
    return bytes(out)


def _deflated(data: bytes, replace: dict[str, bytes]) -> bytes:
    """`rewrite_zip` with every record deflated."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as old, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as new:
        for name in old.namelist():
            new.writestr(name, replace.get(name.split("/", 1)[1], old.read(name)))
    return out.getvalue()


BOMB = 96 * 2**20  # inflated size of the bomb, 96 MiB of zeros (about 100 KB deflated)


def test_a_storage_that_inflates_past_its_declared_size_is_refused_before_it_is_inflated():
    data = torch_bytes(OrderedDict(w=torch.ones(4)))  # storage data/0 needs 16 bytes
    bomb = _with_declared_size(_deflated(data, {"data/0": bytes(BOMB)}), "archive/data/0", 16)
    assert len(bomb) < 200_000
    with pytest.raises(ValueError, match="load_torch: .*record 'archive/data/0' is damaged"):
        load_bytes(bomb)
    assert _peak_bytes(lambda: load_bytes(bomb)) < 8 * 2**20


def test_a_deflated_checkpoint_within_its_declared_sizes_still_loads():
    state = OrderedDict(w=torch.randn(300, 70), b=torch.arange(5))
    loaded = load_bytes(_deflated(torch_bytes(state), {}))
    np.testing.assert_array_equal(loaded["w"], state["w"].numpy())
    np.testing.assert_array_equal(loaded["b"], state["b"].numpy())


def test_a_pickle_over_the_cap_is_refused_and_the_cap_can_be_raised(tmp_path):
    state = {"w": torch.ones(2), "notes": "x" * (3 * 2**20)}  # a 3 MiB data.pkl
    path = tmp_path / "big.pth"
    torch.save(state, path)
    with pytest.raises(ValueError, match=r"load_torch: .*data.pkl' declares \d+ bytes, over the "
                                         r"limit max_pickle_bytes=2097152"):
        load_torch(path, max_pickle_bytes=2 * 2**20)
    assert load_torch(path, max_pickle_bytes=4 * 2**20)["notes"] == state["notes"]
    assert load_torch(path)["notes"] == state["notes"]  # 64 MiB by default
    torch.save(state, path, _use_new_zipfile_serialization=False)
    with pytest.raises(ValueError, match=r"load_torch: .*the main pickle has \d+ bytes, over "
                                         r"the limit max_pickle_bytes=2097152"):
        load_torch(path, max_pickle_bytes=2 * 2**20)
    with pytest.raises(ValueError, match="load_torch: max_pickle_bytes must be a positive int, "
                                         "got 0"):
        load_torch(path, max_pickle_bytes=0)


def test_a_pickle_declared_over_the_default_cap_is_refused_before_it_is_inflated():
    data = torch_bytes(OrderedDict(w=torch.ones(4)))
    # 65 MiB of deflated zeros declared as data.pkl: refused by its declared size alone
    bomb = _deflated(data, {"data.pkl": bytes(65 * 2**20)})
    with pytest.raises(ValueError, match=r"data.pkl' declares 68157440 bytes, over the limit "
                                         r"max_pickle_bytes=67108864"):
        load_bytes(bomb)
    assert _peak_bytes(lambda: load_bytes(bomb)) < 8 * 2**20


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_expanded_tensor_over_a_huge_shape_is_a_read_only_view_never_materialised(fmt):
    column = torch.arange(3, dtype=torch.float32).reshape(3, 1)
    huge = column.expand(3, 2**28)  # 3 GiB if materialised; the file holds 12 bytes
    data = torch_bytes({"huge": huge, "ones": torch.ones(1).expand(2**20, 2**10)}, fmt)
    assert len(data) < 5_000
    loaded = {}
    peak = _peak_bytes(lambda: loaded.update(load_bytes(data)))
    assert peak < 4 * 2**20
    assert loaded["huge"].shape == (3, 2**28) and loaded["huge"].dtype == np.float32
    assert not loaded["huge"].flags.writeable
    np.testing.assert_array_equal(loaded["huge"][:, [0, 12345, 2**28 - 1]],
                                  np.repeat(np.arange(3.0, dtype=np.float32)[:, None], 3, 1))
    assert loaded["ones"].shape == (2**20, 2**10) and loaded["ones"][-1, -1] == 1.0


def test_overlapping_strides_come_back_as_a_view_with_torchs_values():
    base = torch.arange(10, dtype=torch.float64)
    windows = base.as_strided((6, 5), (1, 1))  # sliding windows revisit elements
    loaded = load_bytes(torch_bytes({"w": windows}))["w"]
    np.testing.assert_array_equal(loaded, windows.numpy())
    assert not loaded.flags.writeable
    plain = load_bytes(torch_bytes({"w": base[::2]}))["w"]
    assert plain.flags.writeable and plain.flags.c_contiguous  # the rest stays a fresh copy


def test_load_torch_takes_torchs_map_location_and_weights_only_for_the_cpu(tmp_path):
    path = tmp_path / "w.pth"
    torch.save({"w": torch.arange(3.0)}, path)
    for location in (None, "cpu", torch.device("cpu")):
        np.testing.assert_array_equal(load_torch(path, location, weights_only=True)["w"],
                                      np.arange(3.0, dtype=np.float32))
    with pytest.raises(ValueError, match="load_torch: map_location must be None or 'cpu'.*"
                                         "got 'cuda'"):
        load_torch(path, map_location="cuda")
    with pytest.raises(ValueError, match="load_torch: weights_only must be True, got False"):
        load_torch(path, weights_only=False)
