"""Differentiable ops, one module per family; each op a `Function` with a hand-written backward."""
