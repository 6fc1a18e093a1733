"""Models across to PyTorch and back: `to_torch` and `from_torch`.

Both walk the module tree. Each module becomes the other framework's module of the same
class name, built with the same constructor options, holding copies of the same parameters
and buffers (same names, values, dtypes, `requires_grad`) and in the same train/eval mode:

- layers (`Conv2d`, `BatchNorm2d`, ...) and containers map onto each other by class name;
- minigrad's blocks and models, which have a `forward` of their own, map onto torch twins
  (`minigrad.interop.twins`) whose children are the translated children;
- any other `Module` subclass (a user's own) cannot be translated from its structure alone:
  pass a hand-written twin as `into=`, whose parameter and buffer names and shapes are
  checked before the values are copied.

torch is imported inside these functions only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from minigrad import models, nn
from minigrad.nn.module import Module
from minigrad.tensor import Tensor

if TYPE_CHECKING:
    import torch

# layers whose constructor options are attributes of the same names in both frameworks;
# `bias` (a flag in the constructor, a parameter or None on the layer) is handled apart
_LAYER_OPTIONS: dict[str, tuple[str, ...]] = {
    "Conv2d": ("in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation",
               "groups", "padding_mode"),
    "BatchNorm1d": ("num_features", "eps", "momentum", "affine", "track_running_stats"),
    "BatchNorm2d": ("num_features", "eps", "momentum", "affine", "track_running_stats"),
    "Linear": ("in_features", "out_features"),
    "ReLU": (), "ReLU6": (), "SiLU": (), "Hardsigmoid": (), "Hardswish": (),
    "Sigmoid": (), "Tanh": (), "Identity": (),
    "Softmax": ("dim",), "LogSoftmax": ("dim",),
    "Dropout": ("p", "inplace"),
    "MaxPool2d": ("kernel_size", "stride", "padding", "dilation", "return_indices", "ceil_mode"),
    "AvgPool2d": ("kernel_size", "stride", "padding", "ceil_mode", "count_include_pad",
                  "divisor_override"),
    "AdaptiveAvgPool2d": ("output_size",),
    "Flatten": ("start_dim", "end_dim"),
    "Upsample": ("size", "scale_factor", "mode", "align_corners", "recompute_scale_factor"),
    "UpsamplingNearest2d": ("size", "scale_factor"),
    "UpsamplingBilinear2d": ("size", "scale_factor"),
    # the losses' `weight` / `pos_weight` are buffers, copied as any buffer
    "CrossEntropyLoss": ("ignore_index", "reduction", "label_smoothing"),
    "NLLLoss": ("ignore_index", "reduction"),
    "MSELoss": ("reduction",),
    "BCEWithLogitsLoss": ("reduction",),
}
_WITH_BIAS = ("Conv2d", "Linear", "BatchNorm1d", "BatchNorm2d")
_CONTAINERS = ("Sequential", "ModuleList", "ModuleDict")

# minigrad's modules with a forward of their own, and the plain attributes that forward
# reads; each has a torch twin of the same name in minigrad.interop.twins
_BLOCK_ATTRIBUTES: dict[type[Module], tuple[str, ...]] = {
    models.Conv2dNormActivation: (),
    models.DepthwiseSeparableConv: (),
    models.InvertedResidual: ("stride", "use_res_connect", "out_channels"),
    models.SqueezeExcitation: (),
    models.InvertedResidualV3: ("use_res_connect", "out_channels"),
    models.MobileNetV1: (),
    models.MobileNetV2: ("last_channel",),
    models.MobileNetV3: (),
}
_BLOCKS_BY_NAME = {cls.__name__: cls for cls in _BLOCK_ATTRIBUTES}


def to_torch(module: Module, into: torch.nn.Module | None = None) -> torch.nn.Module:
    """A `torch.nn.Module` with `module`'s structure, names, values, dtypes and modes.

    Args:
        module: a minigrad module built from `minigrad.nn` layers, containers and
            `minigrad.models` blocks (any nesting).
        into: a torch module to copy the values into instead (needed for a module of a
            user-defined class). Its `state_dict()` keys and shapes must equal `module`'s;
            the values are cast to its dtypes and its mode is set to `module.training`.

    Raises:
        TypeError: `module` (or a descendant) is of a class that has no translation and no
            `into=` was given; the message names the class and its place in the tree.
        ValueError: `into`'s names or shapes differ; the message names the first key.
    """
    import torch

    if not isinstance(module, Module):
        raise TypeError(f"to_torch: expected a minigrad Module, got {type(module).__name__}")
    if into is not None:
        return _copy_into_torch(module, into)
    _check_translatable(module, _minigrad_kind, "to_torch", "a torch twin")
    return _translate(module, _TorchSide(torch), {})


def from_torch(torch_module: torch.nn.Module, into: Module | None = None) -> Module:
    """The minigrad module with `torch_module`'s structure, names, values, dtypes and modes:
    the inverse of `to_torch`, for the same layers, containers and twins.

    Args:
        torch_module: built from the `torch.nn` classes minigrad has and the twins that
            `to_torch` makes.
        into: a minigrad module to copy the values into instead; its names and shapes must
            equal `torch_module`'s.

    Raises:
        TypeError: a class with no minigrad counterpart (the message names it) and no `into=`.
        ValueError: `into`'s names or shapes differ; the message names the first key.
    """
    import torch

    if not isinstance(torch_module, torch.nn.Module):
        raise TypeError(f"from_torch: expected a torch.nn.Module, "
                        f"got {type(torch_module).__name__}")
    if into is not None:
        return _copy_into_minigrad(torch_module, into)
    _check_translatable(torch_module, _torch_kind, "from_torch", "a minigrad twin")
    return _translate(torch_module, _MinigradSide(), {})


def _minigrad_kind(module: Module) -> str | None:
    """How `module` is translated: 'layer', 'container', 'block', or None (it cannot be)."""
    cls = type(module)
    if cls in _BLOCK_ATTRIBUTES:
        return "block"
    if getattr(nn, cls.__name__, None) is cls:
        if cls.__name__ in _CONTAINERS:
            return "container"
        if cls.__name__ in _LAYER_OPTIONS:
            return "layer"
    return None


def _torch_kind(module: torch.nn.Module) -> str | None:
    import torch

    from minigrad.interop.twins import twin_classes

    cls = type(module)
    if twin_classes().get(cls.__name__) is cls:
        return "block"
    if getattr(torch.nn, cls.__name__, None) is cls:
        if cls.__name__ in _CONTAINERS:
            return "container"
        if cls.__name__ in _LAYER_OPTIONS:
            return "layer"
    return None


def _check_translatable(root: Any, kind: Callable[[Any], str | None], op: str,
                        twin: str) -> None:
    """Raise before anything is built if some module in the tree has no translation."""
    for path, module in root.named_modules():
        if kind(module) is not None:
            continue
        cls = type(module)
        where = f" (at {path!r})" if path else ""
        raise TypeError(
            f"{op}: cannot translate {cls.__module__}.{cls.__qualname__}{where}: only the "
            f"built-in layers, containers and MobileNet blocks are translated from their "
            f"structure. Write {twin} with the same parameter and buffer names and pass it "
            f"as {op}(module, into=twin)")


class _TorchSide:
    """How to make torch modules and tensors."""

    def __init__(self, torch: Any) -> None:
        self.torch = torch

    def layer(self, name: str) -> type:
        return getattr(self.torch.nn, name)

    def block(self, name: str) -> type:
        from minigrad.interop.twins import twin_classes

        return twin_classes()[name]

    def parameter(self, p: Tensor) -> Any:
        data = self.torch.from_numpy(np.array(p.data, copy=True))
        return self.torch.nn.Parameter(data, requires_grad=p.requires_grad)

    def buffer(self, b: Tensor) -> Any:
        return self.torch.from_numpy(np.array(b.data, copy=True))


class _MinigradSide:
    """How to make minigrad modules and tensors."""

    def layer(self, name: str) -> type:
        return getattr(nn, name)

    def block(self, name: str) -> Callable[..., Module]:
        return lambda children, attributes: _minigrad_block(name, children, attributes)

    def parameter(self, p: Any) -> nn.Parameter:
        return nn.Parameter(_array(p), requires_grad=p.requires_grad)

    def buffer(self, b: Any) -> Tensor:
        return Tensor._wrap(_array(b))


def _array(t: Any) -> np.ndarray:
    """A torch tensor's values as a NumPy array of its own."""
    return np.array(t.detach().cpu().numpy(), copy=True)


def _minigrad_block(name: str, children: list[tuple[str, Module]],
                    attributes: dict[str, Any]) -> Module:
    """A minigrad block assembled from finished children, without running its constructor
    (which would build fresh layers)."""
    cls = _BLOCKS_BY_NAME[name]
    block = cls.__new__(cls)
    Module.__init__(block)
    for key, value in attributes.items():
        setattr(block, key, value)
    for key, child in children:
        block.add_module(key, child)
    return block


def _translate(src: Any, side: Any, memo: dict[int, Any]) -> Any:
    """`src`'s counterpart on `side`, children first; a module or tensor that `src` holds in
    several places is translated once and shared the same way."""
    if id(src) in memo:
        return memo[id(src)]
    name = type(src).__name__
    kind = _minigrad_kind(src) if isinstance(src, Module) else _torch_kind(src)
    children = [(key, None if child is None else _translate(child, side, memo))
                for key, child in src._modules.items()]
    if kind == "block":
        attributes = {key: getattr(src, key) for key in _block_attributes(name)}
        dst = side.block(name)(children, attributes)
    else:
        options = {key: getattr(src, key) for key in _LAYER_OPTIONS.get(name, ())}
        if name in _WITH_BIAS:
            options["bias"] = src.bias is not None
        dst = side.layer(name)(**options)
        for key, child in children:
            dst.add_module(key, child)
    _copy_tensors(src, dst, side, memo)
    dst.training = src.training
    memo[id(src)] = dst
    return dst


def _block_attributes(name: str) -> tuple[str, ...]:
    return _BLOCK_ATTRIBUTES[_BLOCKS_BY_NAME[name]]


def _copy_tensors(src: Any, dst: Any, side: Any, memo: dict[int, Any]) -> None:
    """Give `dst` copies of `src`'s own parameters and buffers (None stays None)."""
    for key, p in src._parameters.items():
        if p is not None and id(p) not in memo:
            memo[id(p)] = side.parameter(p)
        dst.register_parameter(key, None if p is None else memo[id(p)])
    for key, b in src._buffers.items():
        if b is not None and id(b) not in memo:
            memo[id(b)] = side.buffer(b)
        persistent = key not in _non_persistent(src)
        dst.register_buffer(key, None if b is None else memo[id(b)], persistent=persistent)


def _non_persistent(module: Any) -> set[str]:
    # the attribute's name differs between the frameworks
    if isinstance(module, Module):
        return module._non_persistent_buffers
    return module._non_persistent_buffers_set


def _copy_into_torch(module: Module, into: Any) -> Any:
    import torch

    if not isinstance(into, torch.nn.Module):
        raise TypeError(f"to_torch: into= must be a torch.nn.Module, got {type(into).__name__}")
    source = module.state_dict()
    target = into.state_dict()
    _check_same_keys("to_torch", source, {k: tuple(v.shape) for k, v in target.items()},
                     "the minigrad module", "the torch module")
    with torch.no_grad():
        for key, array in source.items():
            target[key].copy_(torch.from_numpy(array))
    into.train(module.training)
    return into


def _copy_into_minigrad(torch_module: Any, into: Module) -> Module:
    if not isinstance(into, Module):
        raise TypeError(f"from_torch: into= must be a minigrad Module, "
                        f"got {type(into).__name__}")
    source = {k: _array(v) for k, v in torch_module.state_dict().items()}
    target = into.state_dict(keep_vars=True)
    _check_same_keys("from_torch", source, {k: tuple(v.shape) for k, v in target.items()},
                     "the torch module", "the minigrad module")
    into.load_state_dict(source)
    into.train(torch_module.training)
    return into


def _check_same_keys(op: str, source: dict[str, Any], target_shapes: dict[str, tuple],
                     source_name: str, target_name: str) -> None:
    """Raise ValueError naming the first key (in the source's order) that the two differ in."""
    for key, value in source.items():
        if key not in target_shapes:
            raise ValueError(f"{op}: {source_name} has {key!r}, {target_name} (into=) has no "
                             f"such parameter or buffer")
        if tuple(np.shape(value)) != target_shapes[key]:
            raise ValueError(f"{op}: {key!r} has shape {tuple(np.shape(value))} in "
                             f"{source_name}, {target_shapes[key]} in {target_name} (into=)")
    for key in target_shapes:
        if key not in source:
            raise ValueError(f"{op}: {target_name} (into=) has {key!r}, {source_name} has no "
                             f"such parameter or buffer")
