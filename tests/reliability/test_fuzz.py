"""Fuzzing `F.conv2d`, `F.batch_norm`, `F.max_pool2d` and `F.cross_entropy` with arbitrary,
often invalid, shapes and parameters: every call either returns torch's result or raises
`ValueError`, and then torch refuses too (or the case is one minigrad documents as refused)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as TF
from hypothesis import example, given, settings
from hypothesis import strategies as st

import minigrad
import minigrad.nn.functional as F


class Mostly:
    """Draws a valid value, or with probability 1/20 one of the given invalid ones (a case
    makes about ten draws, so roughly half the cases are valid).

    Which arguments are broken comes from a seeded generator: hypothesis's own choices
    (`one_of`, `sampled_from`) favour their edges, so most cases would be invalid and the
    comparison with torch would rarely run.
    """

    def __init__(self, draw: Callable, seed: int) -> None:
        self.draw = draw
        self.rng = np.random.default_rng(seed)

    def __call__(self, valid: st.SearchStrategy, *invalid: Any) -> Any:
        value = self.draw(valid)
        return invalid[self.rng.integers(len(invalid))] if self.rng.random() < 0.05 else value


seeds = st.integers(0, 2**32 - 1)


def _outcome(call: Callable[[], Any]) -> tuple[Any, BaseException | None]:
    try:
        return call(), None
    except Exception as error:  # noqa: BLE001 - the type is what is being checked
        return None, error


def _as_numpy(value: Any) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        return value.detach().numpy()
    return value.data if isinstance(value, minigrad.Tensor) else np.asarray(value)


def check_like_torch(mg_call: Callable[[], Any], torch_call: Callable[[], Any],
                     documented_refusal: bool = False,
                     error_types: tuple[type, ...] = (ValueError,)) -> None:
    """minigrad's result equals torch's, or minigrad raises one of `error_types` and torch
    refuses too (unless minigrad documents the refusal)."""
    result, error = _outcome(mg_call)
    expected, torch_error = _outcome(torch_call)
    if error is not None:
        assert type(error) in error_types, f"raised {type(error).__name__}: {error}"
        assert torch_error is not None or documented_refusal, \
            f"minigrad refused ({error}) but torch returned a result"
        return
    assert torch_error is None, f"minigrad returned a result but torch raised {torch_error!r}"
    actual, wanted = _as_numpy(result), _as_numpy(expected)
    assert actual.shape == wanted.shape
    np.testing.assert_allclose(actual, wanted, rtol=1e-7, atol=1e-10, equal_nan=True)


def _arrays(shape: tuple[int, ...], seed: int = 0) -> tuple[minigrad.Tensor, torch.Tensor]:
    data = np.random.default_rng(seed).standard_normal(shape)
    return minigrad.tensor(data, dtype=np.float64), torch.tensor(data)


@st.composite
def conv_cases(draw) -> dict[str, Any]:
    pick = Mostly(draw, draw(seeds))
    c_in = pick(st.integers(1, 4), 0)
    x_shape = (pick(st.integers(1, 2), 0), c_in, pick(st.integers(1, 7), 0),
               pick(st.integers(1, 7), 0))
    x_shape = pick(st.just(x_shape), x_shape[1:], x_shape + (2,))
    divisors = [g for g in range(1, 5) if c_in % g == 0] or [1]
    groups = pick(st.sampled_from(divisors), 0, 3)
    per_group = pick(st.just(c_in // max(groups, 1)), 0, 5)
    w_shape = (groups * pick(st.integers(1, 2), 0), per_group, pick(st.integers(1, 3), 0),
               pick(st.integers(1, 3), 0))
    return {
        "x_shape": x_shape, "w_shape": w_shape,
        "bias": pick(st.sampled_from([None, w_shape[0]]), 7),
        "stride": pick(st.sampled_from([1, 2, (1, 2)]), 0, (2, 0), -1),
        "padding": pick(st.sampled_from([0, 1, (1, 0), "same", "valid"]), -1, (0, -2)),
        "dilation": pick(st.sampled_from([1, 2, (2, 1)]), 0, (1, 0)),
        "groups": groups,
    }


@settings(max_examples=80)
@given(conv_cases())
@example({"x_shape": (2, 5, 5), "w_shape": (4, 1, 3, 3), "bias": 4, "stride": 2,
          "padding": 1, "dilation": 1, "groups": 2})  # unbatched, as torch
def test_conv2d_fuzz_matches_torch_or_raises_value_error(case):
    x, tx = _arrays(case["x_shape"])
    w, tw = _arrays(case["w_shape"], 1)
    b, tb = _arrays((case["bias"],), 2) if case["bias"] is not None else (None, None)
    geometry = {k: case[k] for k in ("stride", "padding", "dilation", "groups")}
    # documented: x must be (N, C, H, W) or one (C, H, W) image; empty channel or spatial
    # axes and empty filter banks are refused
    refused = (len(case["x_shape"]) not in (3, 4) or 0 in case["x_shape"][-3:]
               or 0 in case["w_shape"])
    check_like_torch(lambda: F.conv2d(x, w, b, **geometry),
                     lambda: TF.conv2d(tx, tw, tb, **geometry), documented_refusal=refused)


@st.composite
def batch_norm_cases(draw) -> dict[str, Any]:
    pick = Mostly(draw, draw(seeds))
    rank = pick(st.integers(2, 4), 1, 5)
    shape = tuple(pick(st.integers(1, 3), 0) for _ in range(rank))
    channels = shape[1] if rank > 1 else 2
    per_channel = [pick(st.sampled_from([None, channels]), channels + 1) for _ in range(3)]
    return {
        "shape": shape, "stats": per_channel[0], "weight": per_channel[1],
        "bias": per_channel[2], "training": draw(st.booleans()),
        "momentum": pick(st.sampled_from([0.1, 0.0, 1.0]), -0.5, 1.5),
        "eps": pick(st.sampled_from([1e-5, 0.5]), 0.0, -1e-3),
    }


def _optional(size: int | None, seed: int, positive: bool = False):
    if size is None:
        return None, None
    data = np.random.default_rng(seed).uniform(0.5, 2.0, size) if positive else \
        np.random.default_rng(seed).standard_normal(size)
    return data, torch.tensor(data)


def _wrong_per_channel_size(case: dict[str, Any]) -> bool:
    """A (C,) argument of another size: refused even for an empty x (torch skips the check)."""
    channels = case["shape"][1] if len(case["shape"]) > 1 else None
    return any(case[k] not in (None, channels) for k in ("stats", "weight", "bias"))


@settings(max_examples=80)
@given(batch_norm_cases())
@example({"shape": (0, 0), "stats": 0, "weight": None, "bias": 0, "training": False,
          "momentum": 0.1, "eps": 1e-5})  # no channels: torch fails with an IndexError
def test_batch_norm_fuzz_matches_torch_or_raises_value_error(case):
    x, tx = _arrays(case["shape"])
    mean, tmean = _optional(case["stats"], 1)
    var, tvar = _optional(case["stats"], 2, positive=True)
    weight, tweight = _optional(case["weight"], 3)
    bias, tbias = _optional(case["bias"], 4)
    kwargs = {k: case[k] for k in ("training", "momentum", "eps")}
    mg_params = [None if a is None else minigrad.tensor(a, dtype=np.float64)
                 for a in (weight, bias)]

    def mg_call():
        return F.batch_norm(x, mean, var, *mg_params, **kwargs)

    def torch_call():
        return TF.batch_norm(tx, tmean, tvar, tweight, tbias, **kwargs)

    # documented: x is (N, C, ...) with C >= 1, training needs more than one value per
    # channel (so an empty batch is refused), eval mode needs running statistics, eps > 0
    # and momentum in [0, 1]; torch takes some of these unchecked
    refused = (len(case["shape"]) < 2 or case["shape"][1] == 0 or not case["eps"] > 0
               or (case["training"] and math.prod(case["shape"]) <= case["shape"][1])
               or not 0 <= case["momentum"] <= 1
               or (not case["training"] and case["stats"] is None)
               or _wrong_per_channel_size(case))
    check_like_torch(mg_call, torch_call, documented_refusal=refused)
    if mean is not None and tmean is not None:
        np.testing.assert_allclose(mean, tmean.numpy(), rtol=1e-7, atol=1e-10)
        np.testing.assert_allclose(var, tvar.numpy(), rtol=1e-7, atol=1e-10)


@st.composite
def pool_cases(draw) -> dict[str, Any]:
    pick = Mostly(draw, draw(seeds))
    shape = (pick(st.integers(1, 2), 0), *[pick(st.integers(1, 6), 0) for _ in range(3)])
    kernel = pick(st.sampled_from([1, 2, 3, (2, 3)]), 0, (2, 0))
    return {
        "shape": pick(st.sampled_from([shape, shape[1:]]), shape[2:], shape + (2,)),
        "kernel_size": kernel,
        "stride": pick(st.sampled_from([None, 1, 2, (2, 1)]), 0, (1, -1)),
        "padding": pick(st.sampled_from([0, 1, (1, 0)]), -1, 2),
        "dilation": pick(st.sampled_from([1, 2]), 0),
        "ceil_mode": draw(st.booleans()),
    }


@settings(max_examples=80)
@given(pool_cases())
def test_max_pool2d_fuzz_matches_torch_or_raises_value_error(case):
    x, tx = _arrays(case["shape"])
    kwargs = {k: v for k, v in case.items() if k != "shape"}
    # documented: empty channel or spatial axes are refused
    empty = len(case["shape"]) in (3, 4) and 0 in case["shape"][-3:]
    check_like_torch(lambda: F.max_pool2d(x, **kwargs), lambda: TF.max_pool2d(tx, **kwargs),
                     documented_refusal=empty)


@st.composite
def cross_entropy_cases(draw) -> dict[str, Any]:
    pick = Mostly(draw, draw(seeds))
    rank = pick(st.integers(1, 3), 0)
    shape = tuple(pick(st.integers(1, 3), 0) for _ in range(rank))
    classes = shape[1] if rank > 1 else (shape[0] if rank == 1 else 0)
    index_shape = shape[:1] + shape[2:] if rank > 1 else ()
    probabilities = draw(st.booleans())
    valid_target = shape if probabilities else index_shape
    return {
        "shape": shape, "classes": classes, "index_shape": index_shape,
        "target_shape": pick(st.just(valid_target), (5,), shape + (1,), index_shape),
        "probabilities": probabilities,
        "high": pick(st.just(classes), classes + 1),
        "low": pick(st.just(0), -1),
        "weight": pick(st.sampled_from([None, classes]), classes + 2),
        "ignore_index": pick(st.sampled_from([-100, 0]), 1),
        "reduction": draw(st.sampled_from(["mean", "sum", "none"])),
        "label_smoothing": pick(st.sampled_from([0.0, 0.1, 1.0]), -0.1, 1.5),
    }


def _target(case: dict[str, Any]) -> tuple[np.ndarray, torch.Tensor]:
    rng = np.random.default_rng(5)
    if case["probabilities"]:
        data = rng.dirichlet(np.ones(3), size=case["target_shape"])[..., 0]
    else:
        data = rng.integers(case["low"], max(case["high"], case["low"] + 1),
                            case["target_shape"])
    return data, torch.tensor(data)


@settings(max_examples=80)
@given(cross_entropy_cases())
def test_cross_entropy_fuzz_matches_torch_or_raises_value_error(case):
    x, tx = _arrays(case["shape"])
    target, ttarget = _target(case)
    weight, tweight = _optional(case["weight"], 6, positive=True)
    kwargs = {k: case[k] for k in ("ignore_index", "reduction", "label_smoothing")}
    mg_weight = None if weight is None else minigrad.tensor(weight, dtype=np.float64)
    # documented: at least one class, label_smoothing in [0, 1], no ignore_index with
    # probability targets
    refused = case["classes"] == 0 or not 0 <= case["label_smoothing"] <= 1 or (
        case["probabilities"] and case["ignore_index"] != -100)
    # float targets of the class-index shape are a type mistake: TypeError
    float_indices = case["probabilities"] and case["target_shape"] == case["index_shape"]
    check_like_torch(lambda: F.cross_entropy(x, target, mg_weight, **kwargs),
                     lambda: TF.cross_entropy(tx, ttarget, tweight, **kwargs),
                     documented_refusal=refused,
                     error_types=(ValueError, TypeError) if float_indices else (ValueError,))
