"""Tensor: dtype rules, creation helpers, seeding, plain properties, repr and `.grad`."""

import numpy as np
import pytest
import torch

import minigrad


@pytest.mark.parametrize("data, dtype", [
    (1.5, np.float32), ([1.0, 2.0], np.float32), ([[1, 2]], np.int64), ([True], np.bool_),
    (np.array([1.0]), np.float64), (np.array([1.0], dtype=np.float32), np.float32),
    (np.float64(2.0), np.float64),
])
def test_dtype_of_data_follows_torch_rules(data, dtype):
    assert minigrad.tensor(data).dtype == dtype
    assert torch.tensor(data).numpy().dtype == dtype


@pytest.mark.parametrize("dtype", ["float64", minigrad.float64, np.float64])
def test_dtype_argument_accepts_names_and_aliases(dtype):
    assert minigrad.tensor([1.0], dtype=dtype).dtype == np.float64
    assert minigrad.zeros(2, dtype=dtype).dtype == np.float64


def test_unknown_dtype_raises_type_error():
    with pytest.raises(TypeError, match="is not a dtype"):
        minigrad.tensor([1.0], dtype="floaty")


def test_tensor_copies_its_data():
    source = np.array([1.0, 2.0])
    x = minigrad.tensor(source)
    source[0] = 5.0
    assert x.data[0] == 1.0


@pytest.mark.parametrize("make, shape", [
    (lambda: minigrad.zeros(2, 3), (2, 3)), (lambda: minigrad.zeros((2, 3)), (2, 3)),
    (lambda: minigrad.ones(4), (4,)), (lambda: minigrad.full((2, 2), 7.0), (2, 2)),
    (lambda: minigrad.randn(3, 2), (3, 2)), (lambda: minigrad.rand(5), (5,)),
    (lambda: minigrad.eye(3), (3, 3)), (lambda: minigrad.eye(2, 4), (2, 4)),
    (lambda: minigrad.arange(0.0, 1.0, 0.25), (4,)),
])
def test_creation_helpers_give_float32_of_the_right_shape(make, shape):
    x = make()
    assert x.shape == shape and x.dtype == np.float32 and not x.requires_grad


def test_creation_helper_values():
    np.testing.assert_array_equal(minigrad.zeros(2).data, [0.0, 0.0])
    np.testing.assert_array_equal(minigrad.ones(2).data, [1.0, 1.0])
    np.testing.assert_array_equal(minigrad.full((2,), 7.0).data, [7.0, 7.0])
    np.testing.assert_array_equal(minigrad.eye(2).data, [[1.0, 0.0], [0.0, 1.0]])
    r = minigrad.rand(1000).data
    assert 0.0 <= r.min() and r.max() < 1.0
    assert abs(minigrad.randn(4000).data.std() - 1.0) < 0.1


def test_arange_of_ints_is_int64_like_torch():
    x = minigrad.arange(5)
    assert x.dtype == np.int64 and x.tolist() == torch.arange(5).tolist()
    assert minigrad.arange(1, 7, 2).tolist() == [1, 3, 5]


@pytest.mark.parametrize("like", ["zeros_like", "ones_like", "randn_like", "rand_like"])
def test_like_helpers_keep_shape_and_dtype(like):
    x = minigrad.zeros(2, 3, dtype="float64")
    y = getattr(minigrad, like)(x)
    assert y.shape == (2, 3) and y.dtype == np.float64
    assert getattr(minigrad, like)(x, dtype="float32").dtype == np.float32


def test_full_like_fills_with_the_value():
    np.testing.assert_array_equal(minigrad.full_like(minigrad.zeros(2), 3.0).data, [3.0, 3.0])


def test_creation_with_requires_grad():
    assert minigrad.zeros(2, requires_grad=True).requires_grad
    assert minigrad.randn(2, requires_grad=True).is_leaf


def test_negative_size_raises_value_error():
    with pytest.raises(ValueError, match="sizes must be non-negative ints"):
        minigrad.zeros(2, -1)


def test_manual_seed_makes_random_tensors_repeat():
    minigrad.manual_seed(7)
    a, b = minigrad.randn(5), minigrad.rand(3)
    minigrad.manual_seed(7)
    np.testing.assert_array_equal(minigrad.randn(5).data, a.data)
    np.testing.assert_array_equal(minigrad.rand(3).data, b.data)
    assert not np.array_equal(minigrad.randn(5).data, a.data)


def test_manual_seed_rejects_non_ints():
    with pytest.raises(TypeError, match="^manual_seed: seed must be an int"):
        minigrad.manual_seed(1.5)


def test_plain_properties():
    x = minigrad.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert x.shape == (2, 3) and x.ndim == 2 and x.size() == (2, 3) and x.size(1) == 3
    assert x.numel() == 6 and len(x) == 2
    assert x.T.shape == (3, 2) and x.T.data[2, 1] == 6.0
    assert isinstance(x.numpy(), np.ndarray) and x.numpy() is x.data
    assert minigrad.tensor([2.5]).item() == 2.5 and isinstance(minigrad.tensor(3).item(), int)


def test_item_of_several_elements_raises_value_error():
    with pytest.raises(ValueError, match=r"^item: only one-element .*\(2,\)"):
        minigrad.zeros(2).item()


def test_numpy_of_a_tensor_that_requires_grad_raises():
    with pytest.raises(RuntimeError, match="detach"):
        minigrad.zeros(2, requires_grad=True).numpy()


def test_repr_shows_values_dtype_and_grad_state():
    assert repr(minigrad.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    assert repr(minigrad.tensor([1.0], dtype="float64")) == "tensor([1.], dtype=float64)"
    assert repr(minigrad.tensor([1.0], requires_grad=True)) == "tensor([1.], requires_grad=True)"
    y = minigrad.tensor([1.0], requires_grad=True) * 2
    assert repr(y) == "tensor([2.], grad_fn=<MulBackward>)"


def test_grad_is_none_until_backward_then_accumulates():
    x = minigrad.tensor([1.0, 2.0], requires_grad=True)
    assert x.grad is None
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [2.0, 4.0])
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [5.0, 7.0])
    assert x.grad.dtype == np.float32 and not x.grad.requires_grad


@pytest.mark.parametrize("cast, torch_dtype", [
    (lambda x: x.long(), torch.int64), (lambda x: x.int(), torch.int32),
    (lambda x: x.bool(), torch.bool), (lambda x: x.to(minigrad.int64), torch.int64),
    (lambda x: x.type("int32"), torch.int32), (lambda x: x.to(minigrad.uint8), torch.uint8),
])
def test_integer_casts_of_a_tensor_that_requires_grad_leave_the_graph_like_torch(cast,
                                                                                 torch_dtype):
    values = np.array([1.7, -2.2, 0.0, 3.9])
    y = cast(minigrad.tensor(values, requires_grad=True))
    expected = torch.tensor(values, requires_grad=True).to(torch_dtype)
    assert not y.requires_grad and y.grad_fn is None and not expected.requires_grad
    assert y.dtype == np.dtype(str(expected.dtype).removeprefix("torch."))
    np.testing.assert_array_equal(y.data, expected.numpy())


def test_type_without_a_dtype_raises_instead_of_casting_to_float64():
    x = minigrad.tensor([1.0, 2.0])
    with pytest.raises(TypeError, match="Tensor.type: a dtype is required"):
        x.type(None)
    assert x.dtype == np.float32


def test_half_cast_stays_in_the_graph():
    x = minigrad.tensor([1.0, 2.0], requires_grad=True)
    y = x.half()
    assert y.dtype == np.float16 and y.requires_grad
    y.sum().backward()
    assert x.grad.dtype == np.float32
