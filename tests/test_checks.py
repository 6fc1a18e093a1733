"""minigrad.checks: one message per kind of mistake, naming the function, the argument and
the bad value (TypeError for types, ValueError for values)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import minigrad
from minigrad.checks import (
    check_tensor,
    factory_dtype,
    int_pair,
    padding_arg,
    positive_int,
    same_padding,
)


@pytest.mark.parametrize("value, expected", [
    (3, (3, 3)), (np.int64(2), (2, 2)), ((1, 2), (1, 2)), ([4, 5], (4, 5)), ((7,), (7, 7)),
])
def test_int_pair_takes_an_int_or_one_or_two_ints(value, expected):
    assert int_pair("op", "stride", value, minimum=1) == expected


@pytest.mark.parametrize("value, error, words", [
    (1.5, TypeError, "op: stride must be an int or a pair of ints, got 1.5"),
    (True, TypeError, "got True"),
    ((1, "2"), TypeError, "got (1, '2')"),
    ((1, 2, 3), ValueError, "got (1, 2, 3)"),
    ((), ValueError, "got ()"),
    (0, ValueError, "op: stride must be ≥ 1, got 0"),
    ((2, -1), ValueError, "got (2, -1)"),
])
def test_int_pair_rejects_bad_values_naming_them(value, error, words):
    with pytest.raises(error) as info:
        int_pair("op", "stride", value, minimum=1)
    assert words in str(info.value)


def test_check_tensor_returns_the_tensor_or_names_the_type():
    x = minigrad.zeros(2)
    assert check_tensor("sum", x) is x
    with pytest.raises(TypeError, match="^sum: expected a Tensor, got ndarray$"):
        check_tensor("sum", np.zeros(2))
    assert check_tensor("sum", minigrad.tensor([1, 2])).dtype.kind == "i"
    message = "^relu6: expected a floating point tensor, got dtype int64"
    with pytest.raises(TypeError, match=message):
        check_tensor("relu6", minigrad.tensor(np.array([1, 2])), floating=True)


def test_positive_int_and_factory_dtype():
    assert positive_int("Linear", "in_features", np.int32(3)) == 3
    with pytest.raises(ValueError, match="Linear: in_features must be positive, got 0"):
        positive_int("Linear", "in_features", 0)
    with pytest.raises(TypeError, match="Linear: in_features must be an int, got 2.0"):
        positive_int("Linear", "in_features", 2.0)
    assert factory_dtype("Conv2d", None, None) == np.float32
    assert factory_dtype("Conv2d", "cpu", "float64") == np.float64
    with pytest.raises(ValueError, match="CPU only"):
        factory_dtype("Conv2d", "cuda", None)
    with pytest.raises(TypeError, match="floating point dtype"):
        factory_dtype("Conv2d", None, "int64")


def test_padding_arg_keeps_words_and_checks_same_needs_stride_1():
    assert padding_arg("conv2d", 1, (2, 2)) == (1, 1)
    assert padding_arg("conv2d", "same", (1, 1)) == "same"
    assert padding_arg("conv2d", "valid", (2, 2)) == "valid"
    with pytest.raises(ValueError, match="padding='same' needs stride 1, got stride \\(2, 1\\)"):
        padding_arg("conv2d", "same", (2, 1))
    with pytest.raises(ValueError, match="got 'full'"):
        padding_arg("conv2d", "full", (1, 1))


@pytest.mark.filterwarnings("ignore:Using padding='same':UserWarning")
@pytest.mark.parametrize("kernel, dilation", [((3, 3), (1, 1)), ((4, 2), (1, 3)), ((1, 5), (2, 2))])
def test_same_padding_keeps_the_size_as_torch_does(kernel, dilation):
    top, bottom, left, right = same_padding(kernel, dilation)
    x = torch.arange(7 * 6, dtype=torch.float64).reshape(1, 1, 7, 6)
    w = torch.ones(1, 1, *kernel, dtype=torch.float64)
    padded = torch.nn.functional.pad(x, (left, right, top, bottom))
    expected = torch.nn.functional.conv2d(x, w, padding="same", dilation=dilation)
    assert torch.equal(torch.nn.functional.conv2d(padded, w, dilation=dilation), expected)
