"""TensorFlow derivatives of a point-wise field with respect to its coordinates (the backend of
:mod:`keras_inr.differential`).

Nested ``tf.GradientTape``s: the inner tape records the forward pass and gives one reverse pass per output channel
(the Jacobian's rows); for the Laplacian an outer tape records those reverse passes and differentiates row ``i``'s
entry ``j`` along axis ``j`` again. Works eagerly and inside ``tf.function``; any tape that encloses the call (Keras'
``train_step``, a user's ``GradientTape``) records all of it, so a loss built on the results has gradients with
respect to the weights.
"""

from __future__ import annotations

import tensorflow as tf


def _gradient(tape, target, source):
    """``d sum(target) / d source``; zeros where ``target`` does not depend on ``source``."""
    return tape.gradient(target, source, unconnected_gradients=tf.UnconnectedGradients.ZERO)


def derivatives(model, coordinates, jacobian=True, laplacian=False, out_dims=None, check=None):
    """Values and the requested derivatives; see :func:`keras_inr.differential.derivatives`.

    Args:
        model: the field, a callable of ``(..., in_dims)`` coordinates.
        coordinates: a float ``tf.Tensor`` ``(..., in_dims)``.
        jacobian, laplacian: what to compute.
        out_dims: unused (the number of reverse passes is the number of output channels either way).
        check: a callable of the values' shape that raises ``ValueError`` if they do not fit.

    Returns:
        ``{"values": (..., out), "jacobian": (..., out, in), "laplacian": (..., out)}`` with the keys asked for.
    """
    x = tf.convert_to_tensor(coordinates)
    if not (jacobian or laplacian):
        values = tf.cast(model(x), tf.float32)
        if check is not None:
            check(values.shape)
        return {"values": values}
    with tf.GradientTape(persistent=True, watch_accessed_variables=False) as outer:
        outer.watch(x)
        with tf.GradientTape(persistent=True, watch_accessed_variables=False) as inner:
            inner.watch(x)
            values = tf.cast(model(x), tf.float32)
            channels = [values[..., channel] for channel in range(values.shape[-1])]
        if check is not None:
            check(values.shape)
        rows = [_gradient(inner, channel, x) for channel in channels]  # each (..., in)
        if laplacian:
            in_dims = x.shape[-1]
            entries = [[row[..., axis] for axis in range(in_dims)] for row in rows]
    del inner
    result = {"values": values}
    if jacobian:
        result["jacobian"] = tf.stack(rows, axis=-2)
    if laplacian:
        result["laplacian"] = tf.stack(
            [tf.add_n([_gradient(outer, row[axis], x)[..., axis] for axis in range(in_dims)]) for row in entries],
            axis=-1,
        )
    del outer
    return result
