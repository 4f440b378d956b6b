"""The backend-agnostic part of a HyperINR training/evaluation step: batch preparation, loss and metrics.

The three backend trainers (:mod:`hypernets.trainers`) differ only in how they differentiate and apply updates; they
all call the functions below, so the loss is computed in one place.

Data accepted by ``HyperINR.fit`` / ``evaluate`` (``x``, ``y`` and an optional per-datapoint ``sample_weight``):

* ``x = (datapoints, coordinates)``, ``y = values``: coordinates ``(batch, points, in_dims)`` -- e.g. sampled by
  :class:`hypernets.ImageFieldDataset` -- and the signal's values there ``(batch, points, channels)``;
* ``x = datapoints``, ``y = signals`` on a grid, ``(batch, *grid_shape, channels)`` (e.g. ``fit(images, images)``):
  the grid coordinates are :func:`keras_inr.data.coordinate_grid` of ``grid_shape``. In training steps each INR is
  evaluated on ``model.points_per_step`` grid points drawn at random without replacement, a fresh subset per sample
  and per step, so large signals train cheaply; evaluation steps use every grid point.
"""

from __future__ import annotations

import functools
import math

import keras
import numpy as np
from keras import ops

from hypernets.functional import check_coordinates
from keras_inr.data import coordinate_grid
from keras_inr.validation import check_real_array


def _is_pair(x) -> bool:
    return isinstance(x, (list, tuple)) and len(x) == 2


def prepare_batch(model, data, training: bool):
    """Turn one batch of ``fit``/``evaluate`` data into ``(datapoints, coordinates, values, sample_weight)``.

    Args:
        model: the :class:`hypernets.HyperINR` (its ``target``, ``in_dims``, ``points_per_step`` and point sampler).
        data: the batch as the data adapter yields it (see the module docstring).
        training: whether this is a training step (grid signals are then subsampled).

    Returns:
        ``datapoints``, ``coordinates`` ``(batch or 1, points, in_dims)``, ``values`` ``(batch, points, channels)``,
        ``sample_weight`` (``None`` or ``(batch,)``).
    """
    x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
    check_data_shapes(model, x, y)
    if _is_pair(x):
        datapoints, coordinates = x
        values = y
    else:
        datapoints = x
        coordinates, values = _grid_batch(model, y, training)
    return datapoints, coordinates, ops.cast(values, "float32"), sample_weight


def check_data_shapes(model, x, y) -> None:
    """Raise a clear ``ValueError`` if ``x``/``y`` do not fit the model (static shapes; unknown ones are skipped).

    Called by ``HyperINR.fit``/``evaluate`` on whole arrays before Keras starts, and on every batch inside the
    train/test steps (when a step is traced).
    """
    if y is None:
        raise ValueError(
            "HyperINR.fit/evaluate need targets `y`: pass x=(datapoints, coordinates) with y=values (batch, points, "
            "channels), or x=datapoints with y=signals on a grid (batch, *grid_shape, channels)."
        )
    if not hasattr(y, "shape") or getattr(y.shape, "rank", 0) is None:  # no static shape (e.g. traced unknown rank)
        return
    shape = tuple(y.shape)
    if _is_pair(x):
        if len(shape) != 3:
            raise ValueError(
                "With x=(datapoints, coordinates), `y` must be the values at the coordinates, shape (batch, points, "
                f"channels); got shape {shape}."
            )
        if hasattr(x[1], "shape"):
            check_coordinates(x[1], model.in_dims, batch_size=shape[0], name="coordinates")
    else:
        in_dims = model.in_dims
        if len(shape) != in_dims + 2 or any(size is None for size in shape[1:]):
            raise ValueError(
                f"With x=datapoints, `y` must hold the signals on a grid, shape (batch, *grid_shape, channels) with "
                f"{in_dims} grid axes (the target's in_dims), got shape {shape}."
            )
        batch = getattr(x, "shape", (None,))[0]
        if batch is not None and shape[0] is not None and int(batch) != int(shape[0]):
            raise ValueError(
                f"The datapoints have batch size {int(batch)} but the signals (`y`) have {int(shape[0])}."
            )
    channels = shape[-1]
    if channels is not None and int(channels) != model.target.out_dims:
        raise ValueError(
            f"The target INR has out_dims={model.target.out_dims} but the values have {int(channels)} channels "
            f"(`y` has shape {shape})."
        )


def _is_array(value) -> bool:
    return isinstance(value, np.ndarray) or ops.is_tensor(value)


def check_data_values(x, y, argument: str | None = None) -> None:
    """Raise ``ValueError`` naming the array when data given to ``fit``/``evaluate`` as arrays is not real or holds
    NaN or infinity (which would train the hypernetwork to NaN).

    Called once per ``fit``/``evaluate`` call, on the whole arrays, never inside the steps; datasets check their
    arrays when they are made (:class:`hypernets.FieldDataset`). Datapoints that are not numbers (e.g. strings for a
    text encoder) are left to the encoder.

    Args:
        x: datapoints, or the pair ``(datapoints, coordinates)``.
        y: the values or signals.
        argument: ``None`` for ``fit(x, y)`` (messages name ``x``, ``x[1]``, ``y``), or the name of the argument that
            holds the pair ``(x, y)``, e.g. ``"validation_data"`` (messages name ``validation_data[0][1]``, ...).
    """
    x_name, y_name = ("x", "y") if argument is None else (f"{argument}[0]", f"{argument}[1]")
    if _is_pair(x):
        named = [(f"{x_name}[0]", x[0], True), (f"{x_name}[1]", x[1], False), (y_name, y, False)]
    else:
        named = [(x_name, x, True), (y_name, y, False)]
    for name, value, datapoints in named:
        if not _is_array(value):
            continue
        if datapoints and isinstance(value, np.ndarray) and value.dtype != bool and not np.issubdtype(
                value.dtype, np.number):
            continue
        check_real_array(name, value, allow_empty=True)


@functools.lru_cache(maxsize=16)
def _cached_grid(grid_shape: tuple) -> np.ndarray:
    """:func:`keras_inr.data.coordinate_grid` of ``grid_shape``, computed once per shape (read-only): a train step
    would otherwise rebuild the same constant every step on the eager backends."""
    grid = coordinate_grid(grid_shape)
    grid.flags.writeable = False
    return grid


def _grid_batch(model, signals, training: bool):
    """Coordinates and values of signals given on a grid; a random subset of points when training."""
    shape = tuple(signals.shape)
    grid_shape, channels = tuple(int(size) for size in shape[1:-1]), int(shape[-1])
    num_points = math.prod(grid_shape)
    grid = ops.convert_to_tensor(_cached_grid(grid_shape))  # (num_points, in_dims), constant
    flat_values = ops.reshape(signals, (-1, num_points, channels))
    points = model.points_per_step
    if not training or points is None or points >= num_points:
        return ops.expand_dims(grid, 0), flat_values
    batch = ops.shape(flat_values)[0]
    # k distinct points per sample: the indices of the k largest of N uniform draws (a uniformly random subset).
    _, indices = ops.top_k(keras.random.uniform((batch, num_points), seed=model.point_sampler), points)
    coordinates = ops.take(grid, indices, axis=0)  # (batch, k, in_dims)
    values = ops.take_along_axis(flat_values, ops.expand_dims(indices, -1), axis=1)  # (batch, k, channels)
    return coordinates, values


def compute_field_loss(model, values, predictions, sample_weight=None):
    """The training loss: ``model.field_loss`` (MSE by default, set by ``compile(loss=...)``) in float32."""
    return model.field_loss(values, ops.cast(predictions, "float32"), sample_weight=sample_weight)


def update_metrics(model, loss, values, predictions, sample_weight=None) -> dict:
    """Update the loss tracker and PSNR metric and return the logs ``{"loss": ..., "psnr": ...}``."""
    model.loss_tracker.update_state(loss)
    model.psnr_metric.update_state(values, ops.cast(predictions, "float32"), sample_weight=sample_weight)
    return {metric.name: metric.result() for metric in model.metrics}
