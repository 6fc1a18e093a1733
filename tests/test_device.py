"""What torch code asks of a tensor beyond the maths: `device`, `to`/`cpu`/`cuda`,
`contiguous`, `format(t, spec)` and `from_numpy`'s shared memory."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import minigrad
from minigrad import nn


def test_device_is_the_cpu_as_torch_spells_it():
    x = minigrad.zeros(2)
    assert x.device == "cpu" and str(x.device) == "cpu" and x.device.type == "cpu"
    assert x.device.index is None and repr(x.device) == repr(torch.zeros(2).device)
    assert minigrad.device("cpu") == x.device and not x.is_cuda


@pytest.mark.parametrize("args, kwargs", [
    (("cpu",), {}), ((torch.device("cpu"),), {}), (("cpu:0",), {}), ((), {"device": "cpu"}),
    ((minigrad.device("cpu"),), {}), ((minigrad.float32,), {}), ((), {"non_blocking": True}),
])
def test_to_the_cpu_or_the_same_dtype_returns_the_tensor_itself(args, kwargs):
    x = minigrad.ones(3, requires_grad=True)
    assert x.to(*args, **kwargs) is x and x.cpu() is x


@pytest.mark.parametrize("args, kwargs", [
    (("float64",), {}), (("cpu", minigrad.float64), {}), (("cpu",), {"dtype": "float64"}),
    ((minigrad.zeros(1, dtype="float64"),), {}), ((), {"device": "cpu", "dtype": "float64"}),
])
def test_to_a_dtype_casts_in_the_graph(args, kwargs):
    x = minigrad.ones(3, requires_grad=True)
    y = x.to(*args, **kwargs)
    assert y.dtype == np.float64
    y.backward(np.arange(3.0))
    np.testing.assert_array_equal(x.grad.data, [0.0, 1.0, 2.0])
    assert x.grad.dtype == np.float32


def test_to_with_copy_returns_a_copy():
    x = minigrad.ones(3)
    y = x.to("cpu", copy=True)
    y.data[0] = 5
    assert y is not x and x.data[0] == 1


@pytest.mark.parametrize("call", [
    lambda x: x.to("cuda"), lambda x: x.to("cuda:1"), lambda x: x.to(device="mps"),
    lambda x: x.to(torch.device("meta")), lambda x: x.to("cuda", minigrad.float64),
    lambda x: x.cuda(),
])
def test_any_device_but_the_cpu_is_a_clear_error(call):
    with pytest.raises(ValueError, match=r"^Tensor\.(to|cuda): device .* minigrad runs on the "
                                         r"CPU only, so 'cpu' is the only device"):
        call(minigrad.zeros(2))


@pytest.mark.parametrize("call, error, message", [
    (lambda x: x.to(3), TypeError, r"^Tensor\.to: 3 is neither a dtype nor a device"),
    (lambda x: x.to(dtype="floaty"), TypeError, r"^Tensor\.to: 'floaty' is not a dtype"),
    (lambda x: x.to("cpu", "float64", "x"), TypeError, r"^Tensor\.to: expected at most"),
    (lambda x: x.to(memory="x"), TypeError, r"^Tensor\.to: unexpected keyword"),
])
def test_to_rejects_what_is_neither_dtype_nor_device(call, error, message):
    with pytest.raises(error, match=message):
        call(minigrad.zeros(2))


@pytest.mark.parametrize("call", [lambda m: m.to("cuda"), lambda m: m.cuda(),
                                  lambda m: m.to(device="cuda:0")])
def test_module_to_cuda_is_a_clear_error_that_changes_nothing(call):
    model = nn.Linear(2, 3)
    before = model.weight.data.copy()
    with pytest.raises(ValueError, match=r"^Module\.(to|cuda): .*'cpu' is the only device") as e:
        call(model)
    assert not str(e.value).startswith("tensor:")
    assert model.weight.dtype == np.float32 and np.array_equal(model.weight.data, before)


def test_module_to_takes_torch_forms():
    model = nn.Linear(2, 3)
    assert model.to("cpu") is model and model.cpu() is model
    assert model.to("cpu", minigrad.float64).weight.dtype == np.float64
    assert model.to(minigrad.zeros(1)).weight.dtype == np.float32
    with pytest.raises(TypeError, match=r"^Module\.to: only floating point dtypes"):
        model.to("int64")


def test_contiguous_returns_self_or_a_contiguous_copy_in_the_graph(rng):
    x = minigrad.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    assert x.contiguous() is x and x.is_contiguous()
    t = x.T
    assert not t.is_contiguous()
    c = t.contiguous()
    assert c.is_contiguous() and c.data.flags.c_contiguous
    np.testing.assert_array_equal(c.data, x.data.T)
    upstream = rng.standard_normal((4, 3))
    c.backward(upstream)
    np.testing.assert_array_equal(x.grad.data, upstream.T)


@pytest.mark.parametrize("value, spec", [(3.14159, ".4f"), (2.0, "e"), (-1.5, ">10.2f"),
                                         (7, "d"), (0.25, ".1%")])
def test_format_of_a_0d_tensor_formats_its_value_as_torch(value, spec):
    dtype = "int64" if isinstance(value, int) else "float64"
    ours = minigrad.tensor(value, dtype=dtype)
    theirs = torch.tensor(value, dtype=getattr(torch, dtype))
    assert format(ours, spec) == format(theirs, spec) == format(value, spec)
    assert f"{ours:{spec}}" == f"{theirs:{spec}}"


def test_format_of_a_loss_in_a_training_log():
    loss = minigrad.tensor([1.0, 2.0], requires_grad=True).sum()
    assert f"loss {loss:.4f}" == "loss 3.0000"


def test_format_spec_on_a_non_0d_tensor_is_a_type_error_as_torch():
    with pytest.raises(TypeError, match=r"^format: only a 0-d tensor .*shape \(2,\)"):
        format(minigrad.zeros(2), ".4f")
    with pytest.raises(TypeError):
        format(torch.zeros(2), ".4f")
    assert format(minigrad.zeros(2)) == str(minigrad.zeros(2))


def test_from_numpy_shares_memory_both_ways():
    array = np.arange(6.0).reshape(2, 3)
    x = minigrad.from_numpy(array)
    assert x.dtype == np.float64  # kept, as torch.from_numpy
    array[0, 0] = 100.0
    assert x[0, 0].item() == 100.0
    x.add_(1.0)
    assert array[1, 2] == 6.0
    x.numpy()[1, 1] = -1.0
    assert array[1, 1] == -1.0


@pytest.mark.parametrize("value, error", [([1.0, 2.0], TypeError),
                                          (np.array(["a"]), TypeError)])
def test_from_numpy_rejects_what_is_not_a_numeric_array(value, error):
    with pytest.raises(error, match="^from_numpy: "):
        minigrad.from_numpy(value)


def test_cuda_is_never_available_so_torch_device_choice_picks_the_cpu():
    assert minigrad.cuda.is_available() is False and minigrad.cuda.device_count() == 0
    device = "cuda" if minigrad.cuda.is_available() else "cpu"
    assert minigrad.ones(2).to(device).device == "cpu"


@pytest.mark.parametrize("create", [
    lambda **kw: minigrad.tensor([1.0, 2.0], **kw), lambda **kw: minigrad.zeros(2, 3, **kw),
    lambda **kw: minigrad.ones((2,), **kw), lambda **kw: minigrad.full((2,), 1.5, **kw),
    lambda **kw: minigrad.eye(2, **kw), lambda **kw: minigrad.randn(2, **kw),
    lambda **kw: minigrad.rand(2, **kw), lambda **kw: minigrad.randint(0, 3, (2,), **kw),
    lambda **kw: minigrad.arange(3, **kw), lambda **kw: minigrad.zeros_like(_X, **kw),
    lambda **kw: minigrad.ones_like(_X, **kw), lambda **kw: minigrad.full_like(_X, 2, **kw),
    lambda **kw: minigrad.randn_like(_X, **kw), lambda **kw: minigrad.rand_like(_X, **kw),
])
def test_creation_helpers_take_torch_device_keyword(create):
    assert create(device="cpu").device == "cpu"
    assert create(device=minigrad.zeros(1).device).device == "cpu"
    with pytest.raises(ValueError, match=r"'cuda' is not available: minigrad runs on the CPU"):
        create(device="cuda")


_X = minigrad.zeros(2)


def test_to_another_tensor_or_parameter_takes_its_dtype():
    x = minigrad.ones(2)
    assert x.to(nn.Parameter(minigrad.zeros(1, dtype="float64"))).dtype == np.float64
