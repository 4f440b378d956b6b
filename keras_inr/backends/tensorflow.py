"""TensorFlow-specific helpers: the full-batch input pipeline.

Why this exists: a ``keras.utils.PyDataset`` reaches TensorFlow's ``fit`` through ``tf.data.Dataset.from_generator``,
whose Python generator runs inside a ``py_function``. On a machine with few cores the thread blocked in that
``py_function`` (waiting for the GIL and the next Python batch) is one of the threads TensorFlow would otherwise use
for the training step's matrix products: on the 2-core benchmark machine a full-batch SIREN step fed by a
``PyDataset`` ran at about half the speed of the same step fed from tensors (``benchmarks/overhead.py``,
BENCHMARKS.md). A ``tf.data`` pipeline built from tensors has no Python in it.
"""

from __future__ import annotations

import tensorflow as tf


def full_batch_dataset(coordinates, values, steps: int) -> tf.data.Dataset:
    """The whole training set as one batch, repeated ``steps`` times, as a ``tf.data.Dataset``.

    Args:
        coordinates: ``(N, in_dims)`` array or tensor (already validated by the caller).
        values: ``(N, out_dims)`` array or tensor with the same ``N``.
        steps: number of batches (optimiser steps) the dataset yields; positive.

    Returns:
        A dataset of ``steps`` elements, each the pair ``(coordinates, values)`` as ``float32`` tensors; its
        cardinality is ``steps``, so ``fit`` knows the epoch length. Pass ``shuffle=False`` to ``fit`` to silence
        Keras' warning that it cannot shuffle a ``tf.data.Dataset`` (there is nothing to shuffle in one batch).
    """
    coordinates = tf.convert_to_tensor(coordinates, tf.float32)
    values = tf.convert_to_tensor(values, tf.float32)
    return tf.data.Dataset.from_tensors((coordinates, values)).repeat(int(steps))
