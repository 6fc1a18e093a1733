"""`GraphBuilder`: collects ONNX nodes and initializers while the converters run."""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.tensor import Tensor


class GraphBuilder:
    """Nodes, initializers and the dtype of every value, named as they are added.

    Args:
        opset: the ONNX opset the graph targets (converters choose forms by it).
        names: parameter and buffer names by `id` of their arrays, for initializers.
        dynamic_batch: the first axis of input and output is symbolic.
        batch: the example input's batch size (to recognise the batch axis in shapes).
    """

    def __init__(self, opset: int, names: dict[int, str], dynamic_batch: bool,
                 batch: int | None) -> None:
        from onnx import helper, numpy_helper

        self.helper, self.numpy_helper = helper, numpy_helper
        self.opset, self.names = opset, names
        self.dynamic_batch, self.batch = dynamic_batch, batch
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self.dtypes: dict[str, np.dtype] = {}
        self._constants: dict[int, str] = {}
        self._kept: list[Any] = []  # constants stay alive, so that their ids stay theirs
        self._counts: dict[str, int] = {}

    def _fresh(self, stem: str) -> str:
        self._counts[stem] = self._counts.get(stem, 0) + 1
        return f"{stem}_{self._counts[stem]}"

    def constant(self, value: Any, name: str | None = None) -> str:
        """An initializer holding `value` (an array, a Tensor or a number); the same array
        given twice is stored once, under its model name (see `names`) when it has one."""
        array = np.asarray(value.data if isinstance(value, Tensor) else value)
        if id(array) in self._constants:
            return self._constants[id(array)]
        name = name or self.names.get(id(array)) or self._fresh("const")
        self.initializers.append(self.numpy_helper.from_array(np.ascontiguousarray(array), name))
        self.dtypes[name] = array.dtype
        self._constants[id(array)] = name
        self._kept.append(array)
        return name

    def ints(self, values: Any) -> str:
        """An int64 initializer (shapes, axes, pads)."""
        return self.constant(np.asarray(values, dtype=np.int64))

    def scalar(self, value: float, like: str) -> str:
        """A 0-d initializer of value `like`'s dtype."""
        return self.constant(np.asarray(value, dtype=self.dtypes[like]))

    def node(self, op_type: str, inputs: list[Any], dtype: Any = None, **attributes: Any
             ) -> str:
        """Add one node; its output name is returned. Absent optional inputs are None; the
        output's dtype is `dtype` (a NumPy dtype) or that of the first input."""
        output = self._fresh(op_type.lower())
        names = ["" if name is None else name for name in inputs]
        self.nodes.append(self.helper.make_node(op_type, names, [output], name=output,
                                                **attributes))
        self.dtypes[output] = np.dtype(dtype) if dtype is not None else self.dtypes[inputs[0]]
        return output

    def rename(self, old: str, new: str) -> None:
        """Give the value `old` the name `new` everywhere (for the graph's output)."""
        for node in self.nodes:
            for names in (node.input, node.output):
                for i, name in enumerate(names):
                    if name == old:
                        names[i] = new
        self.dtypes[new] = self.dtypes[old]
