"""Datasets for HyperINR training: batches of datapoints, coordinates sampled in their signals, and the values there."""

from __future__ import annotations

import math

import keras
import numpy as np

from keras_inr.data import as_image, coordinate_grid, sample_grid_indices
from keras_inr.validation import (
    check_bool,
    check_choice,
    check_positive_int,
    check_real_array,
    check_seed,
)

#: What a dataset yields as the datapoints the encoder sees.
DATAPOINT_KINDS = ("signals", "indices")


class FieldDataset(keras.utils.PyDataset):
    """Batches of signals given as grids of values, for ``HyperINR.fit``: datapoints, sampled coordinates, values.

    Each batch holds ``batch_size`` signals (shuffled each epoch when ``shuffle``) and, for each, ``points_per_signal``
    grid points drawn at random -- a fresh draw per batch, per signal -- or every grid point in row-major order when
    ``points_per_signal`` is ``None`` (e.g. for validation).

    Args:
        signals: ``(num, *grid_shape, channels)`` array: audio ``(num, T, C)``, images ``(num, H, W, C)``, volumes
            ``(num, D, H, W, C)``. Values are used as given (float32); they must be real and finite (checked once,
            here: NaN or infinity would train the hypernetwork to NaN).
        points_per_signal: grid points per signal and batch; ``None`` for all of them.
        batch_size: signals per batch.
        datapoints: what the encoder receives: ``"signals"`` (the signals themselves, the default), ``"indices"``
            (``int32`` positions in ``signals``, for an ``Embedding`` encoder: auto-decoding), or an array of ``num``
            datapoints of any shape (e.g. class labels, conditioning vectors; real, and finite if floats).
        replace: draw the points with replacement (a signal's points may repeat within a batch); without
            replacement ``points_per_signal`` may not exceed the number of grid points.
        shuffle: shuffle the signals every epoch.
        drop_remainder: drop the last partial batch so every batch has the same shape (JAX and XLA then compile
            once); if ``False`` the last batch is smaller.
        seed: seed of shuffling and point draws, an integer in ``[0, 2**32 - 1]``; batch ``i`` of epoch ``e`` is
            reproducible.
        **kwargs: ``keras.utils.PyDataset`` arguments (``workers``, ``use_multiprocessing``, ``max_queue_size``).

    Raises:
        ValueError: naming the argument for bad signals (shape, dtype, NaN or infinity), datapoints, sizes, flags
            (``replace``, ``shuffle`` and ``drop_remainder`` must be bools) or seed.

    Yields:
        ``((datapoints, coordinates), values)``: datapoints ``(batch_size, ...)``, coordinates
        ``(batch_size, points, in_dims)`` float32 in ``[-1, 1]`` (:func:`keras_inr.data.coordinate_grid`), values
        ``(batch_size, points, channels)`` float32.
    """

    #: name of the points-per-signal argument in error messages
    _points_argument = "points_per_signal"

    def __init__(
        self,
        signals,
        points_per_signal: int | None,
        batch_size: int,
        datapoints="signals",
        replace: bool = False,
        shuffle: bool = True,
        drop_remainder: bool = True,
        seed: int = 0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        signals = check_real_array("signals", signals, allow_empty=True)
        if signals.size == 0 or signals.ndim < 2 or signals.shape[0] == 0:
            raise ValueError(
                f"`signals` must be a non-empty array (num, *grid_shape, channels), got shape {signals.shape}."
            )
        self.signals = signals.astype(np.float32)
        self.grid_shape = tuple(signals.shape[1:-1])
        if not self.grid_shape:
            raise ValueError(
                f"`signals` must have at least one grid axis, shape (num, *grid_shape, channels); got {signals.shape}."
            )
        self.flat_values = self.signals.reshape(len(self.signals), math.prod(self.grid_shape), signals.shape[-1])
        self._configure_batching(points_per_signal, batch_size, datapoints, replace, shuffle, drop_remainder, seed)

    #: How errors name one signal's grid points and the signals (subclasses over files say "pixels", "image files").
    _points_what = "grid points of each signal (grid shape {grid_shape})"
    _signals_what = "signals"

    def _configure_batching(self, points, batch_size, datapoints, replace, shuffle, drop_remainder, seed) -> None:
        """Check and set the batching arguments, once ``self.signals`` (sized by ``len``) and ``self.grid_shape``
        exist: the coordinate grid, points per signal, batch size, datapoints, shuffling and the seed."""
        self.num_points = math.prod(self.grid_shape)
        self.grid = coordinate_grid(self.grid_shape)
        self.batch_size = check_positive_int("batch_size", batch_size)
        self.replace = check_bool("replace", replace)
        if points is not None:
            points = check_positive_int(self._points_argument, points)
            if not self.replace and points > self.num_points:
                what = self._points_what.format(grid_shape=self.grid_shape)
                raise ValueError(
                    f"`{self._points_argument}`={points} exceeds the {self.num_points} {what} and replace=False; "
                    "lower it, pass None for all points, or set replace=True."
                )
        self.points_per_signal = points
        self.datapoints = self._resolve_datapoints(datapoints)
        self.shuffle = check_bool("shuffle", shuffle)
        self.drop_remainder = check_bool("drop_remainder", drop_remainder)
        if self.drop_remainder and len(self.signals) < self.batch_size:
            raise ValueError(
                f"`batch_size`={self.batch_size} exceeds the number of {self._signals_what} ({len(self.signals)}) "
                "with drop_remainder=True, so the dataset would yield no batch; lower batch_size."
            )
        self.seed = check_seed("seed", seed, allow_none=False)
        self.epoch = 0

    def _resolve_datapoints(self, datapoints):
        if isinstance(datapoints, str):
            check_choice("datapoints", datapoints, DATAPOINT_KINDS)
            if datapoints == "signals":
                return self.signals
            return np.arange(len(self.signals), dtype=np.int32)
        datapoints = check_real_array("datapoints", datapoints, allow_empty=True)
        if datapoints.ndim == 0 or len(datapoints) != len(self.signals):
            raise ValueError(
                "`datapoints` must be 'signals', 'indices' or an array with one entry per signal "
                f"({len(self.signals)}), got shape {datapoints.shape}."
            )
        return datapoints

    def __len__(self) -> int:
        if self.drop_remainder:
            return len(self.signals) // self.batch_size
        return math.ceil(len(self.signals) / self.batch_size)

    def _order(self) -> np.ndarray:
        """The order of the signals in epoch ``self.epoch``: a permutation seeded by ``(seed, epoch)`` when shuffling.

        Computed once per epoch (and seed), not once per batch: with many signals the permutation would otherwise be
        drawn again for every batch of the epoch.
        """
        if not self.shuffle:
            return np.arange(len(self.signals))
        key = (self.seed, self.epoch, len(self.signals))
        cached = getattr(self, "_cached_order", None)  # (key, order); one tuple, so concurrent workers see either
        if cached is None or cached[0] != key:
            cached = (key, np.random.default_rng((self.seed, self.epoch)).permutation(len(self.signals)))
            self._cached_order = cached
        return cached[1]

    def __getitem__(self, index: int):
        if not 0 <= index < len(self):
            raise IndexError(f"Batch index {index} out of range for a dataset of {len(self)} batches.")
        members = self._order()[index * self.batch_size : (index + 1) * self.batch_size]
        values = self.flat_values[members]
        if self.points_per_signal is None:
            coordinates = np.broadcast_to(self.grid, (len(members), *self.grid.shape)).copy()
        else:
            rng = np.random.default_rng((self.seed, self.epoch, int(index), 1))
            points = sample_grid_indices(
                rng, self.num_points, self.points_per_signal, rows=len(members), replace=self.replace
            )
            coordinates = self.grid[points]
            values = np.take_along_axis(values, points[:, :, None], axis=1)
        return (self.datapoints[members], coordinates), values

    def on_epoch_end(self) -> None:
        self.epoch += 1


class ImageFieldDataset(FieldDataset):
    """:class:`FieldDataset` for a stack of images: ``(num, H, W)`` or ``(num, H, W, C)`` in ``[0, 1]``.

    Args:
        images: ``(num, H, W)`` (grey) or ``(num, H, W, C)``; integer images are scaled to ``[0, 1]`` and float images
            must lie in ``[0, 1]`` (see :func:`keras_inr.data.as_image`).
        points_per_image: pixels sampled per image and batch (``None``: every pixel).
        batch_size: images per batch.
        datapoints, replace, shuffle, drop_remainder, seed, **kwargs: see :class:`FieldDataset`.

    Yields:
        ``((datapoints, coordinates (batch, points, 2)), values (batch, points, C))``.

    Example:
        >>> faces = skimage.data.lfw_subset()  # (200, 25, 25)
        >>> dataset = ImageFieldDataset(faces[:160], points_per_image=256, batch_size=16)
        >>> model.fit(dataset, epochs=20)  # doctest: +SKIP
    """

    _points_argument = "points_per_image"

    def __init__(self, images, points_per_image: int | None, batch_size: int, datapoints="signals",
                 replace: bool = False, shuffle: bool = True, drop_remainder: bool = True, seed: int = 0, **kwargs):
        images = np.asarray(images)
        if images.ndim not in (3, 4) or images.shape[0] == 0:
            raise ValueError(
                f"`images` must be a non-empty stack (num, H, W) or (num, H, W, C), got shape {images.shape}."
            )
        images = np.stack([as_image(image, name=f"images[{i}]") for i, image in enumerate(images)])
        super().__init__(
            images, points_per_image, batch_size, datapoints=datapoints, replace=replace, shuffle=shuffle,
            drop_remainder=drop_remainder, seed=seed, **kwargs,
        )
        self.points_per_image = self.points_per_signal
