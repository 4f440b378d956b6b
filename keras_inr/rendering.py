"""Rendering: evaluate an INR on a full coordinate grid in bounded memory.

:func:`render` never materialises the whole grid. It generates the coordinates of one batch at a time from flat
pixel indices (so a ``512^3`` volume costs no more host memory than one batch of coordinates plus the output), and
every batch has the same shape -- the last one is padded -- so a jit-compiled predict function (JAX, TensorFlow's
``tf.function``) is traced once rather than once more for the ragged tail.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import keras
import numpy as np

from keras_inr.data import coordinate_grid
from keras_inr.validation import check_positive_int, check_shape

#: Default number of coordinates evaluated per batch. At width 256 one float32 activation of a batch is 64 MiB.
DEFAULT_RENDER_BATCH_SIZE = 65536


def _model_in_dims(model) -> int | None:
    """The coordinate dimensionality the model was built for, when it is known."""
    in_dims = getattr(model, "in_dims", None)
    if in_dims is not None:
        return int(in_dims)
    inputs = getattr(model, "_inputs_struct", None)  # functional models: their Input's last axis
    if inputs is not None and hasattr(inputs, "shape") and inputs.shape[-1] is not None:
        return int(inputs.shape[-1])
    return None


def render(model, shape: Sequence[int], batch_size: int = DEFAULT_RENDER_BATCH_SIZE) -> np.ndarray:
    """Evaluate ``model`` on every point of ``coordinate_grid(shape)``, one fixed-size batch at a time.

    Args:
        model: a Keras model mapping coordinates ``(N, len(shape))`` to values ``(N, out_dims)`` (any keras-inr
            model, or any Keras model with that signature). Unbuilt models are built by the first batch.
        shape: spatial shape of the signal, e.g. ``(H, W)`` for an image, ``(T,)`` for audio, ``(D, H, W)`` for a
            volume. An int means a 1-D shape. At most :data:`keras_inr.validation.MAX_GRID_POINTS` points.
        batch_size: coordinates per model call; bounds memory. Batches all have ``min(batch_size, prod(shape))``
            rows: the last is padded (and the padding dropped) so the predict function is compiled only once.

    Returns:
        ``float32`` numpy array ``(*shape, out_dims)``.

    Raises:
        ValueError: if ``shape`` or ``batch_size`` is invalid, or the model was built for coordinates of another
            dimension than ``len(shape)``.
        MemoryError: naming ``shape`` when the output array does not fit in memory.

    Example:
        >>> image = render(SIREN(out_dims=3, in_dims=2), (64, 64))  # doctest: +SKIP
        >>> image.shape
        (64, 64, 3)
    """
    shape = check_shape(shape)
    batch_size = check_positive_int("batch_size", batch_size)
    if not callable(model):
        raise ValueError(f"`model` must be a Keras model (callable on coordinates), got {type(model).__name__}.")
    in_dims = _model_in_dims(model)
    if in_dims is not None and in_dims != len(shape):
        raise ValueError(
            f"`model` takes {in_dims}-D coordinates but `shape` {shape} has {len(shape)} dimensions; "
            f"pass a shape with {in_dims} entries."
        )
    total = math.prod(shape)
    rows = min(batch_size, total)  # every call gets exactly this many coordinates
    output = None
    for start in range(0, total, rows):
        stop = min(start + rows, total)
        coordinates = coordinate_grid(shape, start, stop)
        if stop - start < rows:  # pad the tail by repeating its last point, so the batch shape never changes
            padding = np.repeat(coordinates[-1:], rows - (stop - start), axis=0)
            coordinates = np.concatenate([coordinates, padding], axis=0)
        values = _predict(model, coordinates)
        if values.ndim != 2 or values.shape[0] != rows:
            raise ValueError(
                f"`model` must map coordinates (N, {len(shape)}) to values (N, out_dims); for N={rows} it returned "
                f"shape {values.shape}."
            )
        if output is None:
            try:
                output = np.empty((total, values.shape[1]), dtype=np.float32)
            except MemoryError:
                gib = total * values.shape[1] * 4 / 2**30
                raise MemoryError(
                    f"The rendering of `shape` {shape} ({total:,} points x {values.shape[1]} channels, {gib:.1f} GiB "
                    "of float32) does not fit in memory; render a smaller shape."
                ) from None
        output[start:stop] = values[: stop - start]
    return output.reshape(*shape, output.shape[-1])


def _predict(model, coordinates: np.ndarray) -> np.ndarray:
    """One batch through the model's compiled predict function (or a plain call for non-Keras callables)."""
    if isinstance(model, keras.Model):
        values = model.predict_on_batch(coordinates)
    else:
        values = model(keras.ops.convert_to_tensor(coordinates))
    return np.asarray(keras.ops.convert_to_numpy(values), dtype=np.float32)
