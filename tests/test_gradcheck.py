"""`minigrad.gradcheck`: passes correct ops, catches a wrong backward and says where."""

import numpy as np
import pytest

import minigrad
from minigrad import GradcheckError
from minigrad.autograd import Function


def _inputs(*shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [minigrad.tensor(rng.standard_normal(s), dtype="float64", requires_grad=True)
            for s in shapes]


@pytest.mark.parametrize("fast_mode", [False, True])
def test_gradcheck_passes_correct_ops(fast_mode):
    def fn(a, b):
        return ((a * b).exp() + a / (b * b + 1.0)).sum(1) * a.mean()

    assert minigrad.gradcheck(fn, _inputs((2, 3), (2, 3)), fast_mode=fast_mode) is True


class WrongScale(Function):
    """y = 3x with a deliberately wrong backward dx = 2g."""

    @staticmethod
    def forward(ctx, x):
        return 3 * x

    @staticmethod
    def backward(ctx, g):
        return (2 * g,)


class WrongAtOneElement(Function):
    """y = a * b; db is right, da is wrong at the element [1, 2] only."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        da = g * b
        da[1, 2] += 10.0
        return da, g * a


@pytest.mark.parametrize("fast_mode", [False, True])
def test_gradcheck_raises_for_a_wrong_backward(fast_mode):
    with pytest.raises(GradcheckError, match="gradient of input 0"):
        minigrad.gradcheck(WrongScale.apply, _inputs((3,)), fast_mode=fast_mode)


def test_gradcheck_names_the_input_and_the_worst_element():
    ok, wrong = _inputs((2, 3), (2, 3))
    with pytest.raises(GradcheckError, match=r"input 1 disagrees at index \(1, 2\)"):
        minigrad.gradcheck(lambda a, b: WrongAtOneElement.apply(b, a), [ok, wrong])


def test_gradcheck_error_is_an_assertion_error_with_both_values():
    with pytest.raises(AssertionError, match=r"analytic -?[\d.]+.*numeric -?[\d.]+"):
        minigrad.gradcheck(WrongScale.apply, _inputs((2,)))


def test_gradcheck_checks_only_inputs_that_require_grad():
    a, b = _inputs((2, 3), (2, 3))
    a.requires_grad = False
    assert minigrad.gradcheck(lambda x, y: WrongAtOneElement.apply(x, y), [a, b])


def test_gradcheck_rejects_float32_inputs():
    x = minigrad.randn(3, requires_grad=True)
    with pytest.raises(TypeError, match="^gradcheck: input 0 is float32"):
        minigrad.gradcheck(lambda t: t * 2, [x])


def test_gradcheck_needs_an_input_that_requires_grad():
    with pytest.raises(ValueError, match="^gradcheck: no input requires grad"):
        minigrad.gradcheck(lambda t: t * 2, [minigrad.zeros(2, dtype="float64")])


def test_gradcheck_leaves_the_inputs_and_their_grads_unchanged():
    (x,) = _inputs((4,))
    before = x.data.copy()
    minigrad.gradcheck(lambda t: (t * t).sum(), [x])
    np.testing.assert_array_equal(x.data, before)
    assert x.grad is None
