import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given
from hypothesis import strategies as st

import minigrad
from minigrad.ops import activation as A
from tests import helpers, strategies

# every test here runs on the reference kernels and on the fast ones
pytestmark = pytest.mark.usefixtures("kernels")

# name, minigrad op, torch op, points where the derivative jumps
ELEMENTWISE = [
    ("relu", A.relu, TF.relu, [0.0]),
    ("relu6", A.relu6, TF.relu6, [0.0, 6.0]),
    ("hardsigmoid", A.hardsigmoid, TF.hardsigmoid, [-3.0, 3.0]),
    ("hardswish", A.hardswish, TF.hardswish, [-3.0, 3.0]),
    ("sigmoid", A.sigmoid, torch.sigmoid, []),
    ("tanh", A.tanh, torch.tanh, []),
    ("silu", A.silu, TF.silu, []),
]
ELEMENTWISE_IDS = [row[0] for row in ELEMENTWISE]

ALONG_DIM = [
    ("softmax", A.softmax, TF.softmax),
    ("log_softmax", A.log_softmax, TF.log_softmax),
]
ALONG_DIM_IDS = [row[0] for row in ALONG_DIM]


def away_from_kinks(kinks):
    return strategies.arrays(strategies.shapes(1, 3, 4), strategies.away_from(kinks))


@st.composite
def array_and_dim(draw):
    x = draw(strategies.arrays(strategies.shapes(1, 3, 4)))
    return x, draw(st.integers(-x.ndim, x.ndim - 1))


@pytest.mark.parametrize("name, op, torch_op, kinks", ELEMENTWISE, ids=ELEMENTWISE_IDS)
@given(data=st.data())
def test_activation_forward_matches_torch(name, op, torch_op, kinks, data):
    x = data.draw(away_from_kinks(kinks))
    helpers.check_forward_matches_torch(op, torch_op, [x])


@pytest.mark.parametrize("name, op, torch_op, kinks", ELEMENTWISE, ids=ELEMENTWISE_IDS)
@given(data=st.data())
def test_activation_backward_matches_torch(name, op, torch_op, kinks, data):
    x = data.draw(away_from_kinks(kinks))
    helpers.check_backward_matches_torch(op, torch_op, [x])


@pytest.mark.parametrize("name, op, torch_op, kinks", ELEMENTWISE, ids=ELEMENTWISE_IDS)
@given(data=st.data())
def test_activation_backward_matches_finite_differences(name, op, torch_op, kinks, data):
    x = data.draw(away_from_kinks(kinks))
    helpers.check_finite_differences(op, [x])


@pytest.mark.parametrize("name, op, torch_op", ALONG_DIM, ids=ALONG_DIM_IDS)
@given(case=array_and_dim())
def test_softmax_family_forward_matches_torch(name, op, torch_op, case):
    x, dim = case
    helpers.check_forward_matches_torch(lambda t: op(t, dim), lambda t: torch_op(t, dim), [x])


@pytest.mark.parametrize("name, op, torch_op", ALONG_DIM, ids=ALONG_DIM_IDS)
@given(case=array_and_dim())
def test_softmax_family_backward_matches_torch(name, op, torch_op, case):
    x, dim = case
    helpers.check_backward_matches_torch(lambda t: op(t, dim), lambda t: torch_op(t, dim), [x])


@pytest.mark.parametrize("name, op, torch_op", ALONG_DIM, ids=ALONG_DIM_IDS)
@given(case=array_and_dim())
def test_softmax_family_backward_matches_finite_differences(name, op, torch_op, case):
    x, dim = case
    helpers.check_finite_differences(lambda t: op(t, dim), [x])


@given(x=away_from_kinks([-3.0, 3.0]))
def test_hardswish_matches_composition_of_core_ops(x):
    fused_x, composed_x = helpers.to_minigrad([x, x])
    upstream = np.random.default_rng(0).standard_normal(x.shape)
    fused = A.hardswish(fused_x)
    composed = composed_x * A.relu6(composed_x + 3.0) / 6.0
    fused.backward(upstream)
    composed.backward(upstream)
    helpers.assert_close(fused, composed.data, name="forward")
    helpers.assert_close(fused_x.grad, composed_x.grad.data, name="gradient")


@pytest.mark.parametrize("name, op, torch_op, kinks", ELEMENTWISE[:4], ids=ELEMENTWISE_IDS[:4])
def test_activation_at_kinks_and_infinities_matches_torch(name, op, torch_op, kinks):
    x = np.array(kinks + [k + d for k in kinks for d in (-1e-9, 1e-9)] + [-np.inf, np.inf])
    helpers.check_forward_matches_torch(op, torch_op, [x])
    helpers.check_backward_matches_torch(op, torch_op, [x])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_keeps_negative_zero_and_nan_as_torch(dtype):
    x = np.array([np.nan, -0.0, 0.0, -np.inf, np.inf, -1.5, 2.5], dtype=dtype)
    mine, theirs = A.relu(minigrad.tensor(x)).numpy(), torch.relu(torch.from_numpy(x)).numpy()
    assert np.array_equal(mine, theirs, equal_nan=True)
    assert np.array_equal(np.signbit(mine), np.signbit(theirs))


@pytest.mark.parametrize("op, x, slope", [
    (A.relu, 0.0, 0.0),
    (A.relu6, 0.0, 0.0),
    (A.relu6, 6.0, 0.0),
    (A.hardsigmoid, -3.0, 0.0),
    (A.hardsigmoid, 3.0, 0.0),
    (A.hardswish, -3.0, 0.0),
    (A.hardswish, 3.0, 1.0),
])
def test_activation_slope_at_kink_is_torchs_value(op, x, slope):
    t = minigrad.tensor([x], dtype="float64", requires_grad=True)
    op(t).backward(np.array([1.0]))
    assert t.grad.data[0] == slope


@pytest.mark.parametrize("name, op, torch_op, kinks", ELEMENTWISE, ids=ELEMENTWISE_IDS)
def test_activation_keeps_float32(name, op, torch_op, kinks, rng):
    x = (rng.standard_normal((3, 5)) * 4).astype(np.float32)
    t = minigrad.tensor(x, requires_grad=True)
    y = op(t)
    y.backward(np.ones((3, 5), dtype=np.float32))
    assert y.dtype == np.float32 and t.grad.dtype == np.float32
    helpers.assert_close(y, torch_op(torch.tensor(x)), atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("name, op, torch_op", ALONG_DIM, ids=ALONG_DIM_IDS)
def test_softmax_family_keeps_float32(name, op, torch_op, rng):
    x = rng.standard_normal((3, 5)).astype(np.float32)
    t = minigrad.tensor(x, requires_grad=True)
    y = op(t, 1)
    y.backward(np.ones((3, 5), dtype=np.float32))
    assert y.dtype == np.float32 and t.grad.dtype == np.float32
    helpers.assert_close(y, torch_op(torch.tensor(x), 1), atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("name, op, torch_op", [
    ("sigmoid", A.sigmoid, torch.sigmoid), ("silu", A.silu, TF.silu), ("tanh", A.tanh, torch.tanh),
])
def test_saturating_activation_is_finite_at_extreme_inputs(name, op, torch_op):
    x = np.array([-1e4, -800.0, -100.0, 100.0, 800.0, 1e4])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        helpers.check_forward_matches_torch(op, torch_op, [x])
        helpers.check_backward_matches_torch(op, torch_op, [x])


@pytest.mark.parametrize("name, op, torch_op", ALONG_DIM, ids=ALONG_DIM_IDS)
def test_softmax_family_is_stable_for_large_inputs(name, op, torch_op):
    x = np.array([[1000.0, 999.0, -1000.0], [-1e4, -1e4 + 2, -1e4 + 1]])
    helpers.check_forward_matches_torch(lambda t: op(t, -1), lambda t: torch_op(t, -1), [x])
    helpers.check_backward_matches_torch(lambda t: op(t, -1), lambda t: torch_op(t, -1), [x])


@pytest.mark.parametrize("name, op, torch_op", ALONG_DIM, ids=ALONG_DIM_IDS)
@pytest.mark.parametrize("dim", [0, -1])
def test_softmax_family_of_0d_tensor_matches_torch(name, op, torch_op, dim):
    x = np.array(2.5)
    helpers.check_forward_matches_torch(lambda t: op(t, dim), lambda t: torch_op(t, dim), [x])
    helpers.check_backward_matches_torch(lambda t: op(t, dim), lambda t: torch_op(t, dim), [x])


@pytest.mark.parametrize("name, op, torch_op, kinks", ELEMENTWISE, ids=ELEMENTWISE_IDS)
def test_activation_of_0d_tensor_matches_torch(name, op, torch_op, kinks):
    helpers.check_forward_matches_torch(op, torch_op, [np.array(1.5)])
    helpers.check_backward_matches_torch(op, torch_op, [np.array(1.5)])


@pytest.mark.parametrize("op", [A.relu, A.relu6])
def test_relu_family_keeps_integer_dtype(op):
    y = op(minigrad.tensor([-2, 3, 9]))
    assert y.dtype == np.int64
    assert y.tolist() == [0, 3, 9 if op is A.relu else 6]


@pytest.mark.parametrize("name, op, torch_op, kinks", ELEMENTWISE, ids=ELEMENTWISE_IDS)
def test_activation_rejects_non_tensor(name, op, torch_op, kinks):
    with pytest.raises(TypeError, match=f"^{name}: expected a Tensor, got ndarray"):
        op(np.zeros(3))


@pytest.mark.parametrize("name, op, torch_op", ALONG_DIM, ids=ALONG_DIM_IDS)
def test_softmax_family_rejects_non_tensor(name, op, torch_op):
    with pytest.raises(TypeError, match=f"^{name}: expected a Tensor, got list"):
        op([1.0, 2.0], 0)


@pytest.mark.parametrize("name, op", [
    ("hardsigmoid", A.hardsigmoid), ("hardswish", A.hardswish), ("sigmoid", A.sigmoid),
    ("tanh", A.tanh), ("silu", A.silu),
])
def test_smooth_activation_rejects_integer_tensor(name, op):
    message = f"^{name}: expected a floating point tensor, got dtype int64"
    with pytest.raises(TypeError, match=message):
        op(minigrad.tensor([1, 2]))


@pytest.mark.parametrize("name, op, torch_op", ALONG_DIM, ids=ALONG_DIM_IDS)
@pytest.mark.parametrize("shape, dim", [((2, 3), 2), ((2, 3), -3), ((4,), 1), ((), 1), ((), -2)])
def test_softmax_family_rejects_dim_out_of_range(name, op, torch_op, shape, dim):
    x = minigrad.zeros(*shape)
    with pytest.raises(ValueError, match=rf"^{name}: dim {dim} is out of range .*{shape}"):
        op(x, dim)


@pytest.mark.parametrize("name, op, torch_op", ALONG_DIM, ids=ALONG_DIM_IDS)
@pytest.mark.parametrize("dim", [None, 1.0, True])
def test_softmax_family_rejects_non_int_dim(name, op, torch_op, dim):
    with pytest.raises(TypeError, match=f"^{name}: dim must be an int"):
        op(minigrad.zeros(2, 3), dim)


@pytest.mark.parametrize("name, op, torch_op, kinks", ELEMENTWISE[:4], ids=ELEMENTWISE_IDS[:4])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_activation_gradient_at_nan_is_torchs(name, op, torch_op, kinks, dtype, rng):
    # 64 elements: torch's vectorised loop covers them all (its scalar loop, for short arrays
    # and the last few elements of other sizes, lets g through at NaN in ReLU6 and hard-swish)
    x = np.full(64, np.nan, dtype=dtype)
    upstream = rng.standard_normal(64).astype(dtype)
    t, expected = minigrad.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    op(t).backward(upstream)
    torch_op(expected).backward(torch.tensor(upstream))
    np.testing.assert_array_equal(t.grad.data, expected.grad.numpy())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_passes_the_gradient_at_nan(dtype):
    # issue 18: torch's relu lets g through where x is NaN (every comparison with NaN is false)
    t = minigrad.tensor(np.array([np.nan, -1.0, np.nan, 2.0], dtype=dtype), requires_grad=True)
    A.relu(t).backward(np.array([0.5, 1.5, -2.0, 3.0], dtype=dtype))
    np.testing.assert_array_equal(t.grad.data, [0.5, 0.0, -2.0, 3.0])
