"""JAX derivatives of a point-wise field with respect to its coordinates (the backend of :mod:`keras_inr.differential`).

Forward mode where it is cheaper: one ``jax.jvp`` per coordinate axis (``in_dims`` of them, usually 1 to 3). A field
with fewer outputs than inputs (a scalar field's gradient) takes reverse mode instead: one ``jax.vjp``, its pull-back
applied to one cotangent per output channel. The Laplacian is the sum of the second directional derivatives along
the coordinate axes, each a forward-over-forward ``jvp`` (``in_dims`` passes); the same passes give the Jacobian for
free. The passes are unrolled Python loops rather than one ``jax.vmap`` over the tangents: under ``jax.grad`` with
respect to the weights (a loss on a Laplacian) the vectorised version took about twice as long per training step
(SIREN 3x64, 4,096 points, CPU); XLA shares the forward pass between the unrolled passes.

Everything is a pure JAX transformation of the field, so it composes with ``jax.jit``, ``jax.grad`` (second
derivatives of a loss with respect to the weights) and ``jax.vmap``.

Called eagerly on a Keras model (concrete coordinates and weights, as when rendering a gradient map), the whole
computation is compiled once per model, request and shape (``jax.jit`` of the model's ``stateless_call``) instead of
dispatching the transformed forward pass op by op, which is slower by orders of magnitude after the first call.
"""

from __future__ import annotations

import weakref

import jax
import jax.numpy as jnp
import keras

#: model -> {(jacobian, laplacian, out_dims): compiled function of (trainable, non_trainable, coordinates)}
_COMPILED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _as_float32(model):
    """``model`` with its values returned in float32 (derivatives of 16-bit outputs would be too coarse)."""

    def field(coordinates):
        return jnp.asarray(model(coordinates)).astype(jnp.float32)

    return field


def _basis(array):
    """``(k, *array.shape)``: slice ``i`` is the unit vector ``e_i`` of the last axis (size ``k``) at every point."""
    size = array.shape[-1]
    eye = jnp.eye(size, dtype=array.dtype).reshape((size,) + (1,) * (array.ndim - 1) + (size,))
    return jnp.broadcast_to(eye, (size,) + tuple(array.shape))


def derivatives(model, coordinates, jacobian=True, laplacian=False, out_dims=None, check=None):
    """Values and the requested derivatives; see :func:`keras_inr.differential.derivatives`.

    Args:
        model: the field, a callable of ``(..., in_dims)`` coordinates.
        coordinates: a float JAX array or tracer ``(..., in_dims)``.
        jacobian, laplacian: what to compute.
        out_dims: the number of output channels when known in advance (chooses forward or reverse mode).
        check: a callable of the values' shape that raises ``ValueError`` if they do not fit.

    Returns:
        ``{"values": (..., out), "jacobian": (..., out, in), "laplacian": (..., out)}`` with the keys asked for.
    """
    if _is_eager(model, coordinates):
        variables = (model.trainable_variables, model.non_trainable_variables)
        compiled = _COMPILED.setdefault(model, {})
        key = (bool(jacobian), bool(laplacian), out_dims)
        if key not in compiled:
            reference = weakref.ref(model)  # the cache must not keep the model alive

            def run(trainable, non_trainable, points):
                def field(c):
                    return reference().stateless_call(trainable, non_trainable, c)[0]

                return _derivatives(field, points, jacobian, laplacian, out_dims, None)

            compiled[key] = jax.jit(run)
        result = compiled[key](*([v.value for v in group] for group in variables), jnp.asarray(coordinates))
        if check is not None:
            check(result["values"].shape)
        return result
    return _derivatives(model, coordinates, jacobian, laplacian, out_dims, check)


def _is_eager(model, coordinates) -> bool:
    """Whether ``model`` is a Keras model called outside any JAX transformation: concrete coordinates and weights."""
    if not isinstance(model, keras.Layer) or not model.built or isinstance(coordinates, jax.core.Tracer):
        return False
    return not any(isinstance(variable.value, jax.core.Tracer) for variable in model.variables)


def _derivatives(model, coordinates, jacobian, laplacian, out_dims, check):
    field = _as_float32(model)
    x = jnp.asarray(coordinates)
    tangents = list(_basis(x))  # one per coordinate axis (unrolled: faster to differentiate than jax.vmap, measured)
    if laplacian:
        slopes, curvatures = [], []
        for tangent in tangents:

            def directional(points, tangent=tangent):
                return jax.jvp(field, (points,), (tangent,))

            (values, slope), (_, curvature) = jax.jvp(directional, (x,), (tangent,))
            slopes.append(slope)
            curvatures.append(curvature)
        if check is not None:
            check(values.shape)
        result = {"values": values, "laplacian": sum(curvatures[1:], curvatures[0])}
        if jacobian:
            result["jacobian"] = jnp.stack(slopes, axis=-1)
        return result
    if not jacobian:
        values = field(x)
        if check is not None:
            check(values.shape)
        return {"values": values}
    if out_dims is not None and out_dims < len(tangents):
        values, pullback = jax.vjp(field, x)
        if check is not None:
            check(values.shape)
        rows = [pullback(cotangent)[0] for cotangent in _basis(values)]  # row i: the gradient of channel i
        return {"values": values, "jacobian": jnp.stack(rows, axis=-2)}
    columns = []
    for tangent in tangents:
        values, column = jax.jvp(field, (x,), (tangent,))
        columns.append(column)  # column j: d f / d x_j
    if check is not None:
        check(values.shape)
    return {"values": values, "jacobian": jnp.stack(columns, axis=-1)}
