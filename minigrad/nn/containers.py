"""Containers: `Sequential` (a chain called in order), `ModuleList` (a registered list) and
`ModuleDict` (a registered dict).

Sequential and ModuleList register children under their positions `'0', '1', ...`, which
become the state-dict prefixes (`features.3.weight`), exactly as in torch.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeVar, overload

from minigrad.nn.module import Module


def _position(op: str, index: Any, length: int) -> int:
    """A non-negative position from a possibly negative int index."""
    if isinstance(index, bool) or not hasattr(index, "__index__"):
        raise TypeError(f"{op}: indices must be ints or slices, got {type(index).__name__}")
    position = index.__index__()
    if not -length <= position < length:
        raise IndexError(f"{op}: index {position} is out of range for {length} modules")
    return position % length


def _check_module(op: str, module: Any) -> Module:
    if not isinstance(module, Module):
        raise TypeError(f"{op}: {type(module).__name__} is not a Module")
    return module


_Indexed = TypeVar("_Indexed", bound="_IndexedModules")


class _IndexedModules(Module):
    """Shared by the containers: children stored under '0', '1', ... and renumbered after
    every insertion or deletion."""

    if TYPE_CHECKING:  # each container defines it (a slice gives a container of its kind)
        def __getitem__(self, index: int) -> Module: ...

    def _renumber(self, modules: Iterable[Module]) -> None:
        self._modules.clear()
        for i, module in enumerate(modules):
            self._modules[str(i)] = module

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __setitem__(self, index: int, module: Module) -> None:
        key = list(self._modules)[_position("__setitem__", index, len(self))]
        setattr(self, key, _check_module("__setitem__", module))

    def __delitem__(self, index: int | slice) -> None:
        modules = list(self._modules.values())
        if isinstance(index, slice):
            del modules[index]
        else:
            del modules[_position("__delitem__", index, len(modules))]
        self._renumber(modules)

    def append(self: _Indexed, module: Module) -> _Indexed:
        self.add_module(str(len(self)), _check_module("append", module))
        return self

    def extend(self: _Indexed, modules: Iterable[Module]) -> _Indexed:
        for module in modules:
            self.append(module)
        return self

    def insert(self, index: int, module: Module) -> None:
        modules = list(self._modules.values())
        modules.insert(index, _check_module("insert", module))
        self._renumber(modules)

    def pop(self, index: int = -1) -> Module:
        module = self[index]
        del self[index]
        return module


class Sequential(_IndexedModules):
    """Modules called one after another, each on the previous one's output.

    Args:
        *modules: the modules in order, or one `OrderedDict` of name -> module (the names
            then replace '0', '1', ... as attribute and state-dict names).

    Shape:
        Input: what the first module takes. Output: what the last one returns.
    """

    @overload
    def __init__(self, *modules: Module) -> None: ...

    @overload
    def __init__(self, modules: OrderedDict[str, Module], /) -> None: ...

    def __init__(self, *modules: Module | OrderedDict[str, Module]) -> None:
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            named: Iterable[tuple[str, Any]] = modules[0].items()
        else:
            named = ((str(i), module) for i, module in enumerate(modules))
        for name, module in named:
            self.add_module(name, _check_module("Sequential", module))

    @overload
    def __getitem__(self, index: int) -> Module: ...

    @overload
    def __getitem__(self, index: slice) -> Sequential: ...

    def __getitem__(self, index: int | slice) -> Module | Sequential:
        items = list(self._modules.items())
        if isinstance(index, slice):
            return Sequential(OrderedDict(items[index]))
        return items[_position("Sequential", index, len(items))][1]

    def __add__(self, other: Sequential) -> Sequential:
        if not isinstance(other, Sequential):
            raise TypeError(f"Sequential: cannot add {type(other).__name__} to a Sequential")
        return Sequential(*self, *other)

    def forward(self, x: Any) -> Any:
        for module in self:
            x = module(x)
        return x


class ModuleList(_IndexedModules):
    """A list of modules whose parameters the parent registers; it has no `forward`.

    Args:
        modules: an optional iterable of modules.
    """

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.extend(modules)

    @overload
    def __getitem__(self, index: int) -> Module: ...

    @overload
    def __getitem__(self, index: slice) -> ModuleList: ...

    def __getitem__(self, index: int | slice) -> Module | ModuleList:
        values = list(self._modules.values())
        if isinstance(index, slice):
            return ModuleList(values[index])
        return values[_position("ModuleList", index, len(values))]

    def __iadd__(self, modules: Iterable[Module]) -> ModuleList:
        return self.extend(modules)

    def __add__(self, other: Iterable[Module]) -> ModuleList:
        return ModuleList([*self, *other])

    def __repr__(self) -> str:
        """torch's compressed form: runs of identical children print once, `(2-4): 3 x ...`."""
        if not self._modules:
            return f"{self._get_name()}()"
        runs: list[list[Any]] = []  # [first index, last index, repr]
        for i, module in enumerate(self):
            text = repr(module)
            if runs and runs[-1][2] == text:
                runs[-1][1] = i
            else:
                runs.append([i, i, text])
        lines = [_run_line(first, last, text) for first, last, text in runs]
        return f"{self._get_name()}(\n  " + "\n  ".join(lines) + "\n)"


def _run_line(first: int, last: int, text: str) -> str:
    count = last - first + 1
    label = f"({first}): {text}" if count == 1 else f"({first}-{last}): {count} x {text}"
    return label.replace("\n", "\n  ")


class ModuleDict(Module):
    """A dict of modules (insertion-ordered) whose parameters the parent registers; keys are
    the attribute and state-dict names. It has no `forward`.

    Args:
        modules: an optional mapping, or iterable of (name, module) pairs.
    """

    def __init__(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]] | None = None
                 ) -> None:
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str) -> Module:
        return self._modules[key]

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(key, _check_module("ModuleDict", module))

    def __delitem__(self, key: str) -> None:
        del self._modules[key]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def __contains__(self, key: object) -> bool:
        return key in self._modules

    def keys(self) -> Iterable[str]:
        return self._modules.keys()

    def values(self) -> Iterable[Module]:
        return self._modules.values()

    def items(self) -> Iterable[tuple[str, Module]]:
        return self._modules.items()

    def pop(self, key: str) -> Module:
        module = self[key]
        del self[key]
        return module

    def clear(self) -> None:
        self._modules.clear()

    def update(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]]) -> None:
        pairs = modules.items() if isinstance(modules, Mapping) else modules
        for key, module in pairs:
            self[key] = module
