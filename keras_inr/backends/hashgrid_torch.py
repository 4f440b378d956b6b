"""PyTorch's read of hash-table rows: gather and d-linear weighting in one step, with a cheap dense gradient.

Why this exists: on PyTorch, Keras runs :class:`keras_inr.layers.HashGridEncoding` eagerly, op by op. Through
``keras.ops.take`` the gather is ``torch.nn.functional.embedding`` (after a cast of the indices to int64 and a
``torch.where`` for negative indices), and its gradient is ``embedding_dense_backward``, which on the CPU took about
30% of a forward and backward pass of the encoding (65,536 points, the default 16 levels; profile in BENCHMARKS.md,
section 8). The weighted sum of the corner features is two more passes over a ``(points, L, 2^d, F)`` tensor, forward
and backward. :func:`interpolate` does the gather and the weighted sum in one ``torch.nn.functional.embedding_bag``
(``mode="sum"`` with ``per_sample_weights``) and takes the gradient of the table with ``index_add_`` of the weighted
upstream values into zero columns of the table's length (one per feature) -- the same dense, table-shaped gradient as
before (never larger than the table), so Adam still updates every row once per step.
"""

from __future__ import annotations

import torch


class _WeightedRows(torch.autograd.Function):
    """``sum_c weights[b, c] * table[indices[b, c]]`` for ``b`` in bags, ``c`` in corners; see :func:`interpolate`.

    The backward pass is written in differentiable PyTorch operations, so it can itself be differentiated (second
    derivatives with respect to the coordinates, through ``weights``).
    """

    @staticmethod
    def forward(table, indices, weights):
        if table.dtype == weights.dtype:
            return torch.nn.functional.embedding_bag(indices, table, per_sample_weights=weights, mode="sum")
        rows = table.index_select(0, indices.reshape(-1)).reshape(*indices.shape, table.shape[-1])
        return (rows.to(weights.dtype) * weights[..., None]).sum(dim=-2)

    @staticmethod
    def setup_context(ctx, inputs, output):
        table, indices, weights = inputs
        ctx.save_for_backward(table, indices, weights)

    @staticmethod
    def backward(ctx, upstream):
        table, indices, weights = ctx.saved_tensors
        features = table.shape[-1]
        flat = indices.reshape(-1)
        grad_table = grad_weights = None
        if ctx.needs_input_grad[0]:
            # One feature at a time: (bags, corners) x (bags, 1) products and a 1-D index_add_ each were faster
            # on the CPU than one (bags, corners, 1) x (bags, 1, F) product and a row-wise index_add_ (same sums).
            columns = [
                torch.zeros(table.shape[0], dtype=table.dtype, device=table.device).index_add_(
                    0, flat, (weights * upstream[:, feature, None]).reshape(-1).to(table.dtype)
                )
                for feature in range(features)
            ]
            grad_table = torch.stack(columns, dim=1)
        if ctx.needs_input_grad[2]:
            rows = table.index_select(0, flat).reshape(*indices.shape, features).to(upstream.dtype)
            grad_weights = (rows * upstream[:, None, :]).sum(dim=-1)
        return grad_table, None, grad_weights


def interpolate(table, indices, weights):
    """The weighted sum of table rows ``sum_c weights[..., c] * table[indices[..., c]]`` (d-linear interpolation).

    Mueller et al. 2022, https://arxiv.org/abs/2201.05989, section 3: the features of a level are the d-linear
    interpolation of its cell's ``2^d`` corner entries.

    Args:
        table: ``(rows, F)`` tensor (a Keras variable's value), float.
        indices: integer tensor ``(..., C)`` of rows in ``[0, rows)`` (``C`` corners per interpolated vector).
        weights: float tensor ``(..., C)``, the corners' weights.

    Returns:
        ``(..., F)`` tensor in ``weights``' dtype. Its gradient with respect to ``table`` is dense, of ``table``'s
        shape and dtype (one ``index_add_``); with respect to ``weights`` it is the upstream gradient dotted with
        each corner's row.
    """
    lead, corners = indices.shape[:-1], indices.shape[-1]
    indices = indices.reshape(-1, corners).to(torch.int64)  # index_add_ is several times slower with int32
    weights = weights.reshape(-1, corners)
    return _WeightedRows.apply(table, indices, weights).reshape(*lead, table.shape[-1])
