"""Other frameworks' checkpoint formats, read and written with NumPy only.

The public entry points are `minigrad.torch_checkpoint.load_torch` and `save_torch`.
"""
