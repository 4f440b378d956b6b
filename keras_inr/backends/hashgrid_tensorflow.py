"""TensorFlow's gather of hash-table rows with a dense gradient of the table's shape.

Why this exists: the gradient of ``tf.gather`` is a ``tf.IndexedSlices`` with one row per lookup, the same row once
for every point and corner that read it. Keras' Adam (3.x) applies such a gradient with ``scatter_add`` after
element-wise arithmetic on the slices, so a row read ``k`` times gets its moment updates ``k`` times (and the second
moment sums squares of the parts, not the square of the sum): measured here, a table row moved 3.6x the learning rate
in one Adam step, where JAX and PyTorch move it by at most the learning rate. :func:`take_rows` sums the slices per
row into a dense gradient of exactly the table's shape -- what JAX and PyTorch produce -- so Adam behaves the same on
every backend, and the gradient is never larger than the table (BENCHMARKS.md, section 8, measures its cost).
"""

from __future__ import annotations

import tensorflow as tf


def take_rows(table, indices):
    """``tf.gather(table, indices)`` whose gradient w.r.t. ``table`` is dense, of ``table``'s shape.

    Args:
        table: ``(rows, features)`` tensor or variable.
        indices: int32 tensor of any shape, values in ``[0, rows)``.

    Returns:
        ``indices.shape + (features,)``, in ``table``'s dtype.
    """
    table = tf.convert_to_tensor(table)
    indices = tf.convert_to_tensor(indices)

    @tf.custom_gradient
    def gather(params):
        def gradient(upstream):
            rows = tf.reshape(upstream, (-1, tf.shape(params)[-1]))
            return tf.math.unsorted_segment_sum(rows, tf.reshape(indices, (-1,)), tf.shape(params)[0])

        return tf.gather(params, indices), gradient

    return gather(table)
