"""`Module`: the base class of every layer and model.

Assigning a `Parameter`, a `Module` or a registered buffer to an attribute files it in an
insertion-ordered dict (`_parameters`, `_modules`, `_buffers`), which is what `parameters()`,
`state_dict()` and the nested `repr` walk. Names and orders are torch's, so a torch state dict
converted with `{k: v.numpy() for k, v in sd.items()}` loads into the same structure.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple

import numpy as np

from minigrad.autograd import no_grad
from minigrad.device import _to_arguments
from minigrad.nn import hooks
from minigrad.nn.parameter import Parameter
from minigrad.tensor import Tensor


class ModuleNameError(KeyError, ValueError):
    """A bad attribute name for a parameter, buffer or sub-module (a `KeyError` as in torch,
    and a `ValueError` as minigrad's other bad-value errors)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class IncompatibleKeys(NamedTuple):
    """What `load_state_dict` returns: keys the model has but the state lacks, and the reverse."""

    missing_keys: list[str]
    unexpected_keys: list[str]


class Module:
    """Base class of layers and models: subclasses set attributes in `__init__` and define
    `forward`; calling the module calls `forward`.

    Attributes:
        training: True in training mode (`train()`), False after `eval()`.
    """

    training: bool

    def __init__(self) -> None:
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent_buffers", set())
        object.__setattr__(self, "_modules", OrderedDict())
        for registry in _HOOK_REGISTRIES:  # hook id -> hook, or -> True for a flag
            object.__setattr__(self, registry, OrderedDict())

    def __call__(self, *args: Any, **kwargs: Any) -> Tensor:
        """Run `forward` (and the hooks). Typed as returning a Tensor, which every model and
        layer returns (MaxPool2d, which may return a pair, says so)."""
        forward = getattr(self, "forward", None)
        if forward is None:
            raise TypeError(f"{self._get_name()}: module has no forward() method to call")
        if self._has_hooks():
            return hooks.call_with_hooks(self, forward, args, kwargs)
        return forward(*args, **kwargs)

    def _has_hooks(self) -> bool:
        return bool(self._forward_pre_hooks or self._forward_hooks or self._backward_hooks
                    or self._backward_pre_hooks)

    def register_forward_pre_hook(self, hook: Callable, *, prepend: bool = False,
                                  with_kwargs: bool = False) -> hooks.RemovableHandle:
        """Call `hook(module, args)` before every forward (`hook(module, args, kwargs)` with
        `with_kwargs`); a non-None result replaces the positional args (a single value is
        wrapped in a tuple), or with `with_kwargs` must be `(args, kwargs)`, as torch."""
        flags = (self._forward_pre_hooks_with_kwargs,) if with_kwargs else ()
        return hooks.add_hook("register_forward_pre_hook", self._forward_pre_hooks, hook, prepend,
                              *flags)

    def register_forward_hook(self, hook: Callable, *, prepend: bool = False,
                              with_kwargs: bool = False,
                              always_call: bool = False) -> hooks.RemovableHandle:
        """Call `hook(module, args, output)` after every forward (`hook(module, args, kwargs,
        output)` with `with_kwargs`); a non-None result replaces the output. `always_call`
        also calls it (with output None) when forward raises."""
        flags = ((self._forward_hooks_with_kwargs,) if with_kwargs else ()) + (
            (self._forward_hooks_always_called,) if always_call else ())
        return hooks.add_hook("register_forward_hook", self._forward_hooks, hook, prepend,
                              *flags)

    def register_full_backward_hook(self, hook: Callable,
                                    prepend: bool = False) -> hooks.RemovableHandle:
        """Call `hook(module, grad_input, grad_output)` when the gradients of a call's inputs
        are computed: tuples with one entry per positional argument / output (None for
        non-tensors and for what got no gradient). A non-None result (a tuple as long as
        grad_input) replaces grad_input for the rest of the backward pass."""
        return hooks.add_hook("register_full_backward_hook", self._backward_hooks, hook,
                              prepend)

    def register_full_backward_pre_hook(self, hook: Callable,
                                        prepend: bool = False) -> hooks.RemovableHandle:
        """Call `hook(module, grad_output)` when the gradients of a call's outputs are known,
        before they flow into the module; a non-None result (a tuple as long as grad_output)
        replaces them, as torch."""
        return hooks.add_hook("register_full_backward_pre_hook", self._backward_pre_hooks, hook,
                              prepend)

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, (Parameter, Module)):
            self._check_initialised(name)
            registry = self._parameters if isinstance(value, Parameter) else self._modules
            self._forget(name, keep=registry)
            registry[name] = value
        elif name in self.__dict__.get("_parameters", {}):
            self._assign_registered(name, value, Parameter, self._parameters, "parameter")
        elif name in self.__dict__.get("_modules", {}):
            self._assign_registered(name, value, Module, self._modules, "child module")
        elif name in self.__dict__.get("_buffers", {}):
            self._buffers[name] = _as_buffer(name, value)
        else:
            object.__setattr__(self, name, value)

    def _check_initialised(self, name: str) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__}: cannot assign {name!r} before "
                                 "Module.__init__() is called")

    def _forget(self, name: str, keep: dict) -> None:
        """Remove `name` from every place an attribute may live but `keep`, where it will be
        re-registered (in its old position, as torch)."""
        self.__dict__.pop(name, None)
        for registry in (self._parameters, self._buffers, self._modules):
            if registry is not keep:
                registry.pop(name, None)
        self._non_persistent_buffers.discard(name)

    def _assign_registered(self, name: str, value: Any, kind: type, registry: dict,
                           what: str) -> None:
        if value is not None:
            raise TypeError(f"{self._get_name()}: cannot assign {type(value).__name__} as "
                            f"{what} {name!r} ({kind.__name__} or None expected)")
        registry[name] = None

    def __getattr__(self, name: str) -> Any:
        # only called when normal lookup fails, i.e. for registered names
        state = self.__dict__
        for registry in ("_parameters", "_buffers", "_modules"):
            if name in state.get(registry, {}):
                return state[registry][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        for registry in (self._parameters, self._buffers, self._modules):
            if name in registry:
                del registry[name]
                self._non_persistent_buffers.discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self) -> list[str]:
        names = set(super().__dir__())
        names.update(self._parameters, self._buffers, self._modules)
        return sorted(n for n in names if not n[0].isdigit())

    def _check_new_name(self, op: str, name: Any, registry: dict) -> None:
        """torch's rules for a new parameter, buffer or module name."""
        if not isinstance(name, str):
            raise TypeError(f"{op}: name must be a str, got {type(name).__name__}")
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"{op}: cannot register {name!r} before Module.__init__()")
        if name == "" or "." in name:
            raise ModuleNameError(f"{op}: name must be non-empty and contain no '.', "
                                  f"got {name!r}")
        if hasattr(self, name) and name not in registry:
            raise ModuleNameError(f"{op}: attribute {name!r} already exists")

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Add `param` (or a `None` placeholder, e.g. a disabled bias) under `name`."""
        self._check_new_name("register_parameter", name, self._parameters)
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter: cannot assign {type(param).__name__} as "
                            f"parameter {name!r} (Parameter or None expected)")
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Tensor | np.ndarray | None,
                        persistent: bool = True) -> None:
        """Add state that is not a parameter (e.g. running statistics) under `name`.

        Buffers are `Tensor`s that never require grad; an ndarray is wrapped without a copy.
        Non-persistent buffers are left out of `state_dict()`.
        """
        self._check_new_name("register_buffer", name, self._buffers)
        self._buffers[name] = _as_buffer(name, tensor)
        if persistent:
            self._non_persistent_buffers.discard(name)
        else:
            self._non_persistent_buffers.add(name)

    def register_module(self, name: str, module: Module | None) -> None:
        """Add a child module (or `None`) under `name`; the same as `add_module`."""
        self._check_new_name("register_module", name, self._modules)
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"register_module: {type(module).__name__} is not a Module")
        self._modules[name] = module

    add_module = register_module

    def get_submodule(self, target: str) -> Module:
        """The module at dotted path `target` ('' is self), e.g. `'features.3.conv'`."""
        module = self
        for part in target.split(".") if target else []:
            child = module._modules.get(part)
            if child is None:
                raise AttributeError(f"get_submodule: {module._get_name()} has no submodule "
                                     f"{part!r} (in {target!r})")
            module = child
        return module

    def named_modules(self, memo: set | None = None, prefix: str = "",
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Module]]:
        """(name, module) for self and every descendant, depth first; shared ones once."""
        memo = set() if memo is None else memo
        stack: list[tuple[str, Module]] = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if remove_duplicate:
                if module in memo:
                    continue
                memo.add(module)
            yield name, module
            children = [(_join(name, key), child) for key, child in module._modules.items()
                        if child is not None]
            stack.extend(reversed(children))

    def modules(self) -> Iterator[Module]:
        for _, module in self.named_modules():
            yield module

    def named_children(self) -> Iterator[tuple[str, Module]]:
        seen: set[int] = set()
        for name, child in self._modules.items():
            if child is not None and id(child) not in seen:
                seen.add(id(child))
                yield name, child

    def children(self) -> Iterator[Module]:
        for _, child in self.named_children():
            yield child

    def _named_members(self, registry: str, prefix: str, recurse: bool,
                       remove_duplicate: bool = True) -> Iterator[tuple[str, Any]]:
        modules = (self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate)
                   if recurse else [(prefix, self)])
        seen: set[int] = set()
        for module_name, module in modules:
            for name, member in getattr(module, registry).items():
                if member is None or (remove_duplicate and id(member) in seen):
                    continue
                seen.add(id(member))
                yield _join(module_name, name), member

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True) -> Iterator[tuple[str, Parameter]]:
        """(name, parameter) with the `state_dict()` key as name; a shared one only once."""
        return self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(self, prefix: str = "", recurse: bool = True,
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Tensor]]:
        return self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, buffer in self.named_buffers(recurse=recurse):
            yield buffer

    def train(self, mode: bool = True) -> Module:
        """Set training mode on self and every descendant; returns self."""
        if not isinstance(mode, bool):
            raise ValueError(f"train: mode must be a bool, got {mode!r}")
        self.training = mode
        # through each child's own train(), so that a subclass may override it (as torch)
        for child in self.children():
            child.train(mode)
        return self

    def eval(self) -> Module:
        """Evaluation mode (BatchNorm uses running statistics, Dropout is off); returns self."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Drop (or zero) the gradients of every parameter."""
        for param in self.parameters():
            if param.grad is None:
                continue
            if set_to_none:
                param.grad = None
            else:
                param.grad.zero_()

    def apply(self, fn: Callable[[Module], Any]) -> Module:
        """Call `fn` on every descendant (children first), then on self; returns self."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    def to(self, *args: Any, **kwargs: Any) -> Module:
        """Convert floating parameters, their gradients and floating buffers to a dtype in
        place: the Parameter and buffer objects stay the same, their arrays are replaced.
        Takes torch's forms: `to(dtype)`, `to(device)`, `to(device, dtype)`, `to(tensor)`.
        "cpu" is accepted and does nothing, so device-agnostic torch code runs; any other
        device raises ValueError."""
        wanted, _ = _to_arguments("Module.to", args, kwargs)
        if wanted is None:
            return self
        if wanted.kind != "f":
            raise TypeError(f"Module.to: only floating point dtypes are accepted, got {wanted}")
        for tensor in [*self.parameters(), *self.buffers()]:
            _convert(tensor, wanted)
        return self

    def cpu(self) -> Module:
        """Self: every module already is on the CPU, the only device."""
        return self

    def cuda(self, device: Any = None) -> Module:
        raise ValueError("Module.cuda: minigrad runs on the CPU only, so 'cpu' is the only "
                         "device; remove the .cuda() call or use .to('cpu')")

    def double(self) -> Module:
        return self.to(np.float64)

    def float(self) -> Module:
        return self.to(np.float32)

    def state_dict(self, destination: dict[str, Any] | None = None, prefix: str = "",
                   keep_vars: bool = False) -> dict[str, Any]:
        """Parameters and persistent buffers by dotted name, as copied NumPy arrays (or the
        Tensors themselves with `keep_vars=True`); shared tensors appear under each name."""
        destination = OrderedDict() if destination is None else destination
        for name, tensor in self._own_state():
            destination[prefix + name] = tensor if keep_vars else tensor.data.copy()
        for name, child in self._modules.items():
            if child is not None:
                child.state_dict(destination, prefix + name + ".", keep_vars)
        return destination

    def _own_state(self) -> Iterator[tuple[str, Tensor]]:
        for name, param in self._parameters.items():
            if param is not None:
                yield name, param
        for name, buffer in self._buffers.items():
            if buffer is not None and name not in self._non_persistent_buffers:
                yield name, buffer

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True
                        ) -> IncompatibleKeys:
        """Copy arrays (or Tensors) from `state_dict` into the existing parameters and buffers,
        cast to their dtypes.

        Every key and shape is checked first; on any problem nothing changes and a
        `RuntimeError` (as torch) lists every missing, unexpected and mismatched key. With
        `strict=False`, missing and unexpected keys are allowed (and returned), shape
        mismatches still raise.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"load_state_dict: expected a mapping, got {type(state_dict).__name__}")
        targets = self.state_dict(keep_vars=True)
        keys = IncompatibleKeys([k for k in targets if k not in state_dict],
                                [k for k in state_dict if k not in targets])
        sources, errors = _checked_sources(targets, state_dict)
        if strict:
            errors = _key_errors(keys) + errors
        if errors:
            raise RuntimeError(f"load_state_dict: Error(s) in loading state_dict for "
                               f"{self._get_name()}:\n\t" + "\n\t".join(errors))
        with no_grad():
            for key, source in sources.items():
                targets[key].copy_(source)
        return keys

    def _get_name(self) -> str:
        return type(self).__name__

    def extra_repr(self) -> str:
        """The text inside this module's parentheses; layers override it (e.g. `3, 8`)."""
        return ""

    def __repr__(self) -> str:
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [f"({name}): {_indent(repr(child), 2)}"
                       for name, child in self._modules.items()]
        if not child_lines and len(extra_lines) <= 1:
            return f"{self._get_name()}({extra})"
        body = "\n  ".join(extra_lines + child_lines)
        return f"{self._get_name()}(\n  {body}\n)"


_HOOK_REGISTRIES = ("_forward_pre_hooks", "_forward_pre_hooks_with_kwargs", "_forward_hooks",
                    "_forward_hooks_with_kwargs", "_forward_hooks_always_called",
                    "_backward_pre_hooks", "_backward_hooks")


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _indent(text: str, spaces: int) -> str:
    """Indent every line but the first (the first follows a `(name): ` label)."""
    return text.replace("\n", "\n" + " " * spaces)


def _as_buffer(name: str, value: Any) -> Tensor | None:
    """A buffer from a Tensor (kept as is unless it requires grad), an ndarray or None."""
    if value is None:
        return None
    if isinstance(value, Parameter):
        raise TypeError(f"register_buffer: buffer {name!r} cannot be a Parameter; "
                        "use register_parameter")
    if isinstance(value, Tensor):
        return value.detach() if value.requires_grad or value.grad_fn is not None else value
    if isinstance(value, np.ndarray):
        return Tensor._wrap(value)
    raise TypeError(f"register_buffer: cannot assign {type(value).__name__} as buffer "
                    f"{name!r} (Tensor, ndarray or None expected)")


def _convert(tensor: Tensor, dtype: np.dtype) -> None:
    if tensor.dtype.kind != "f" or tensor.dtype == dtype:
        return
    tensor.data = tensor.data.astype(dtype)
    if tensor.grad is not None:
        tensor.grad.data = tensor.grad.data.astype(dtype)


def _checked_sources(targets: Mapping[str, Tensor], state_dict: Mapping[str, Any]
                     ) -> tuple[dict[str, np.ndarray], list[str]]:
    """The arrays to copy for every key both sides have, and one message per bad value."""
    sources: dict[str, np.ndarray] = {}
    errors: list[str] = []
    for key, target in targets.items():
        if key not in state_dict:
            continue
        array = _source_array(state_dict[key])
        if array is None:
            errors.append(f"while copying {key}: expected an ndarray or Tensor, "
                          f"got {type(state_dict[key]).__name__}")
        elif array.dtype.kind not in "biuf":
            errors.append(f"while copying {key}: cannot copy dtype {array.dtype} "
                          f"into {target.dtype}")
        elif array.shape != target.shape:
            errors.append(f"size mismatch for {key}: copying a param with shape "
                          f"{array.shape} from checkpoint, the shape in current model "
                          f"is {target.shape}.")
        else:
            sources[key] = array
    return sources, errors


def _source_array(value: Any) -> np.ndarray | None:
    """A checkpoint value as an array: Tensors, ndarrays, NumPy or Python numbers, and
    anything with `__array__` (a torch tensor, say); None for anything else."""
    if isinstance(value, Tensor):
        return value.data
    if isinstance(value, (np.ndarray, np.generic, int, float)) or hasattr(value, "__array__"):
        return np.asarray(value)
    return None


def _key_errors(keys: IncompatibleKeys) -> list[str]:
    errors = []
    if keys.missing_keys:
        errors.append("Missing key(s) in state_dict: "
                      + ", ".join(f'"{k}"' for k in keys.missing_keys) + ".")
    if keys.unexpected_keys:
        errors.append("Unexpected key(s) in state_dict: "
                      + ", ".join(f'"{k}"' for k in keys.unexpected_keys) + ".")
    return errors
