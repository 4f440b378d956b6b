"""PyTorch derivatives of a point-wise field with respect to its coordinates (the backend of
:mod:`keras_inr.differential`).

``torch.autograd.grad`` on the sum of each output channel over the points gives that channel's gradient at every
point (the Jacobian's rows); for the Laplacian each row's entry ``j`` is differentiated along axis ``j`` again. The
forward pass runs under ``torch.enable_grad``, so derivatives also work in evaluation (Keras runs ``evaluate`` and
``predict`` under ``torch.no_grad``). When gradients are enabled by the caller, every step keeps its graph
(``create_graph=True``) so the results can be back-propagated to the weights (a loss on derivatives); under
``no_grad`` they come back detached.
"""

from __future__ import annotations

import torch


def _gradient(target, source, create_graph):
    """``d sum(target) / d source`` (zeros where ``target`` does not depend on ``source``)."""
    if not target.requires_grad:
        return torch.zeros_like(source)
    (grad,) = torch.autograd.grad(
        target.sum(), source, create_graph=create_graph, retain_graph=True, allow_unused=True
    )
    return torch.zeros_like(source) if grad is None else grad


def derivatives(model, coordinates, jacobian=True, laplacian=False, out_dims=None, check=None):
    """Values and the requested derivatives; see :func:`keras_inr.differential.derivatives`.

    Args:
        model: the field, a callable of ``(..., in_dims)`` coordinates.
        coordinates: a float ``torch.Tensor`` ``(..., in_dims)``; if it requires gradients already, derivatives are
            taken with respect to it as it is (it may be part of a larger graph), else with respect to a detached
            copy.
        jacobian, laplacian: what to compute.
        out_dims: unused (the number of reverse passes is the number of output channels either way).
        check: a callable of the values' shape that raises ``ValueError`` if they do not fit.

    Returns:
        ``{"values": (..., out), "jacobian": (..., out, in), "laplacian": (..., out)}`` with the keys asked for.
    """
    keep_graph = torch.is_grad_enabled()
    with torch.enable_grad():
        x = coordinates if coordinates.requires_grad else coordinates.detach().requires_grad_(True)
        values = model(x)
        values = values.float() if values.dtype != torch.float32 else values
        if check is not None:
            check(values.shape)
        result = {"values": values}
        if jacobian or laplacian:
            rows = [
                _gradient(values[..., channel], x, create_graph=keep_graph or laplacian)
                for channel in range(values.shape[-1])
            ]
            if jacobian:
                result["jacobian"] = torch.stack(rows, dim=-2)
            if laplacian:
                result["laplacian"] = torch.stack(
                    [
                        sum(_gradient(row[..., axis], x, create_graph=keep_graph)[..., axis] for axis in
                            range(x.shape[-1]))
                        for row in rows
                    ],
                    dim=-1,
                )
    if not keep_graph:
        result = {key: value.detach() for key, value in result.items()}
    return result
