"""`export`: write a minigrad model as an ONNX file by tracing one eval-mode forward pass."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from minigrad.autograd import Context
from minigrad.nn.module import Module
from minigrad.onnx.converters import CONVERTERS, Op
from minigrad.onnx.graph import GraphBuilder
from minigrad.onnx.trace import Trace, trace
from minigrad.tensor import Tensor

MIN_OPSET = 14  # HardSwish


class UnsupportedOpError(TypeError):
    """The traced graph holds a `Function` class that has no ONNX converter."""


def export(model: Module, example_input: Tensor, path: str | os.PathLike, opset: int = 17,
           dynamic_batch: bool = False, input_name: str = "input",
           output_name: str = "output") -> Any:
    """Trace `model(example_input)` in eval mode and save it as ONNX at `path`.

    Every op the forward pass runs is a recorded `Function` node; each is written as the ONNX
    nodes that compute the same thing (see `minigrad.onnx.converters.CONVERTERS`), parameters
    and buffers become initializers under their `state_dict` names, and the graph has one
    input and one output. Modules' modes are left as they were; `onnx.checker` passes first.

    Args:
        model: any minigrad module whose forward takes one Tensor and returns one.
        example_input: a floating Tensor of the shape (and dtype) the graph will take.
        path: where to write the `.onnx` file.
        opset: the ONNX opset, ≥ 14.
        dynamic_batch: make the first axis of input and output symbolic ('batch').
        input_name, output_name: the graph's value names.

    Returns the `onnx.ModelProto` written. Raises UnsupportedOpError (a TypeError) naming the
    Function class of an op that has no converter; TypeError or ValueError for bad arguments
    or an op whose form cannot be exported.
    """
    import onnx

    _check_arguments(model, example_input, opset)
    traced = trace(model, example_input)
    _check_supported(traced.nodes)
    builder = GraphBuilder(opset, _state_names(model), dynamic_batch,
                           example_input.shape[0] if example_input.ndim else None)
    builder.dtypes[input_name] = example_input.dtype
    output = _convert_all(builder, traced, input_name)
    if output == input_name:  # the model returned its input
        output = builder.node("Identity", [input_name])
    builder.rename(output, output_name)
    proto = _model_proto(builder, type(model).__name__, opset,
                         _value_info(builder, input_name, example_input.data, dynamic_batch),
                         _value_info(builder, output_name, traced.output.data, dynamic_batch))
    onnx.checker.check_model(proto, full_check=True)
    onnx.save(proto, os.fspath(path))
    return proto


def _model_proto(builder: GraphBuilder, name: str, opset: int, input_info: Any,
                 output_info: Any) -> Any:
    """The ONNX model of the builder's nodes and initializers, one input and one output."""
    graph = builder.helper.make_graph(builder.nodes, name, [input_info], [output_info],
                                      builder.initializers)
    return builder.helper.make_model(graph, producer_name="minigrad",
                                     opset_imports=[builder.helper.make_opsetid("", opset)])


def _check_arguments(model: Any, example_input: Any, opset: Any) -> None:
    if not isinstance(model, Module):
        raise TypeError(f"onnx.export: expected a minigrad Module, got {type(model).__name__}")
    if not isinstance(example_input, Tensor):
        raise TypeError(f"onnx.export: example_input must be a minigrad Tensor, "
                        f"got {type(example_input).__name__}")
    if example_input.dtype.kind != "f":
        raise TypeError(f"onnx.export: example_input must be a floating point tensor, "
                        f"got dtype {example_input.dtype}")
    if isinstance(opset, bool) or not isinstance(opset, int) or opset < MIN_OPSET:
        raise ValueError(f"onnx.export: opset must be an int >= {MIN_OPSET}, got {opset!r}")


def _check_supported(nodes: list[Context]) -> None:
    """Raise before anything is built if some op has no converter."""
    for node in nodes:
        if node.function not in CONVERTERS:
            cls = node.function
            raise UnsupportedOpError(
                f"onnx.export: cannot export {cls.__module__}.{cls.__qualname__}: it has no "
                f"ONNX converter (add one to minigrad.onnx.converters.CONVERTERS)")


def _state_names(model: Module) -> dict[int, str]:
    """Parameter and buffer names by the id of their arrays."""
    named = [*model.named_parameters(), *model.named_buffers()]
    return {id(tensor.data): name for name, tensor in named}


def _convert_all(builder: GraphBuilder, traced: Trace, input_name: str) -> str:
    """Convert the nodes in order; returns the value name of the model's output."""
    values: dict[int, str] = {id(traced.input): input_name}
    for node in traced.nodes:
        op = Op(node.function, _input_names(builder, node, values), _input_shapes(node),
                dict(node.attrs))
        values[id(node)] = CONVERTERS[node.function](builder, op)
    root = traced.output.grad_fn
    return values[id(root) if root is not None else id(traced.output)]


def _input_names(builder: GraphBuilder, node: Context, values: dict[int, str]
                 ) -> list[str | None]:
    """Each input's value: a node's output, the graph input, or an initializer."""
    names: list[str | None] = []
    for parent, constant in zip(node.parents, node.constants):
        if parent is not None and id(parent) in values:
            names.append(values[id(parent)])
        elif parent is not None:  # a leaf tensor that requires grad: a parameter
            names.append(builder.constant(parent))
        else:
            names.append(None if constant is None else builder.constant(constant))
    return names


def _input_shapes(node: Context) -> list[tuple[int, ...] | None]:
    """Recorded shapes of tensor inputs, measured ones of constants (None stays None)."""
    shapes = []
    for shape, constant in zip(node.input_shapes, node.constants):
        if shape is None and constant is not None:
            shape = tuple(np.shape(constant.data if isinstance(constant, Tensor) else constant))
        shapes.append(shape)
    return shapes


def _value_info(builder: GraphBuilder, name: str, array: np.ndarray, dynamic_batch: bool
                ) -> Any:
    shape: list[Any] = list(array.shape)
    if dynamic_batch and shape:
        shape[0] = "batch"
    element = builder.helper.np_dtype_to_tensor_dtype(array.dtype)
    return builder.helper.make_tensor_value_info(name, element, shape)
