"""ONNX export (the optional extra `onnx`): `export(model, example_input, path, opset=17)`.

The exporter traces the autograd graph of one eval-mode forward pass, so any model built from
minigrad ops exports; `converters.CONVERTERS` maps each `Function` class to its ONNX form.
onnx is imported inside `export` only.
"""

from minigrad.onnx.export import UnsupportedOpError, export

__all__ = ["UnsupportedOpError", "export"]
