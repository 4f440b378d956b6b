"""Samplers: where to evaluate a continuous target during training, in any dimension, seeded and resumable.

A sampler draws one batch of coordinates ``(num_points, in_dims)`` in ``[-1, 1]`` from a ``numpy.random.Generator``
(:meth:`Sampler.sample`). It holds no state of its own: :class:`SignalDataset` (and :meth:`Sampler.batch`) seed the
generator with ``(seed, epoch, step)``, so batch ``step`` of epoch ``epoch`` is the same in every run, and a run
resumed from a backup draws exactly the batches of an uninterrupted run (pass the dataset to
:class:`keras_inr.callbacks.DatasetEpoch` in ``model.fit``'s callbacks, which tells it the epoch ``fit`` is in).

The samplers (the ancestor codebase's five, for any dimension, on the ``[-1, 1]`` domain):

* :class:`UniformSampler`: uniform in ``[-1, 1]^d``;
* :class:`GridSampler`: the whole grid of :func:`keras_inr.data.coordinate_grid`, optionally jittered within each
  grid point's cell;
* :class:`GridSubsetSampler`: a random subset of the grid's points (:func:`keras_inr.data.sample_grid_indices`);
* :class:`ConcatSampler`: the concatenation of several samplers' batches;
* :class:`SwitchSampler`: one of several samplers, chosen at random for each batch.

A grid point's *cell* is the part of ``[-1, 1]^d`` closer to it than to any other grid point (the region
``"nearest"`` interpolation gives its value): for an axis of ``n > 1`` points spaced ``h = 2 / (n - 1)`` apart, the
interval of width ``h`` around the point, cut to ``[-1, 1]`` (half as wide at the two ends); for ``n = 1`` the whole
``[-1, 1]``. Jitter moves each point to a uniformly random position in its own cell (``"independent"``) or moves
every point by the same relative amount in its cell (``"shared"``: a randomly shifted grid, as the ancestor's
``GridSampler`` did).

:class:`SignalDataset` is the ``keras.utils.PyDataset`` that feeds ``model.fit`` from a target
(:mod:`keras_inr.signals`: an array, interpolated, or a function) and a sampler: batches
``(coordinates, target(coordinates))``.

Example:
    >>> from keras_inr import samplers, signals
    >>> video = signals.load_video("clip.gif")                                      # (T, H, W, 3)  # doctest: +SKIP
    >>> dataset = samplers.SignalDataset(video, samplers.GridSubsetSampler(video.shape[:3], 8192),
    ...                                  steps_per_epoch=100, seed=0)                  # doctest: +SKIP
    >>> model.fit(dataset, epochs=10, callbacks=[keras_inr.callbacks.DatasetEpoch(dataset)])  # doctest: +SKIP
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from keras_inr.data import SeededBatches, sample_grid_indices
from keras_inr.signals import Signal, as_signal
from keras_inr.validation import MAX_GRID_POINTS, check_choice, check_positive_int, check_seed, check_shape

#: Jitter modes of :class:`GridSampler` and :class:`GridSubsetSampler`.
JITTERS = (None, "independent", "shared")

#: Grids up to this many points are kept in memory by :class:`GridSampler` between batches (64 MiB as 3-D float32).
_CACHED_GRID_POINTS = 2**22


def _check_rng(rng) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"`rng` must be a numpy.random.Generator (numpy.random.default_rng(seed)), got {rng!r}.")
    return rng


def grid_coordinates_at(shape: Sequence[int], indices) -> np.ndarray:
    """The coordinates of the grid points with the given flat indices, bit-identical to those rows of
    ``keras_inr.data.coordinate_grid(shape)``.

    Args:
        shape: the grid's shape.
        indices: integer flat indices in ``[0, prod(shape))``, any shape ``S``.

    Returns:
        ``float32`` ``(*S, len(shape))``.

    Raises:
        ValueError: naming ``shape`` or ``indices`` when invalid.
    """
    shape = check_shape(shape)
    indices = np.asarray(indices)
    if not np.issubdtype(indices.dtype, np.integer):
        raise ValueError(f"`indices` must be integers, got dtype {indices.dtype}.")
    total = math.prod(shape)
    if indices.size and (indices.min() < 0 or indices.max() >= total):
        raise ValueError(f"`indices` must lie in [0, {total}) for shape {shape}.")
    axes = [np.linspace(-1.0, 1.0, size, dtype=np.float32) for size in shape]
    return np.stack([axis[index] for axis, index in zip(axes, np.unravel_index(indices, shape))], axis=-1)


def _jitter(shape: tuple[int, ...], axis_indices: Sequence[np.ndarray], fractions: np.ndarray) -> np.ndarray:
    """Points at relative positions ``fractions`` (in ``[0, 1)``, shape ``(N, d)`` or ``(1, d)``) of the cells of
    the grid points with per-axis indices ``axis_indices``."""
    columns = []
    for axis, (size, index) in enumerate(zip(shape, axis_indices)):
        if size == 1:
            low, high = np.full(index.shape, -1.0), np.full(index.shape, 1.0)
        else:
            centre = -1.0 + 2.0 * index / (size - 1)
            half = 1.0 / (size - 1)
            low, high = np.maximum(centre - half, -1.0), np.minimum(centre + half, 1.0)
        columns.append(low + fractions[:, axis] * (high - low))
    return np.clip(np.stack(columns, axis=-1), -1.0, 1.0).astype(np.float32)


class Sampler:
    """Base class: a batch of ``num_points`` coordinates ``(num_points, in_dims)`` in ``[-1, 1]`` per draw.

    Subclasses implement :meth:`sample`, a pure function of the generator's state (no state of their own, so
    batches depend only on how the generator was seeded).

    Attributes:
        in_dims: the coordinates' dimension.
        num_points: rows per batch (the same for every batch, so compiled steps never retrace).
    """

    in_dims: int
    num_points: int

    def sample(self, rng: np.random.Generator) -> np.ndarray:
        """One batch of ``float32`` coordinates ``(num_points, in_dims)`` drawn with ``rng``."""
        raise NotImplementedError

    def batch(self, seed: int = 0, epoch: int = 0, step: int = 0) -> np.ndarray:
        """The batch :class:`SignalDataset` draws at ``step`` of ``epoch`` with ``seed``: :meth:`sample` with a
        generator seeded with ``(seed, epoch, step)``."""
        seed = check_seed("seed", seed, allow_none=False)
        epoch = check_positive_int("epoch", epoch, allow_zero=True)
        step = check_positive_int("step", step, allow_zero=True)
        return self.sample(np.random.default_rng((seed, epoch, step)))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(in_dims={self.in_dims}, num_points={self.num_points})"


class UniformSampler(Sampler):
    """``num_points`` coordinates drawn uniformly and independently in ``[-1, 1]^in_dims``.

    Args:
        in_dims: the coordinates' dimension; positive.
        num_points: points per batch; positive, at most :data:`keras_inr.validation.MAX_GRID_POINTS`.
    """

    def __init__(self, in_dims: int, num_points: int):
        self.in_dims = check_positive_int("in_dims", in_dims)
        self.num_points = check_positive_int("num_points", num_points)
        if self.num_points * self.in_dims > MAX_GRID_POINTS:
            raise ValueError(
                f"`num_points` x `in_dims` must be at most {MAX_GRID_POINTS:,}, got {self.num_points:,} x "
                f"{self.in_dims}."
            )

    def sample(self, rng: np.random.Generator) -> np.ndarray:
        return _check_rng(rng).uniform(-1.0, 1.0, size=(self.num_points, self.in_dims)).astype(np.float32)


class GridSampler(Sampler):
    """The whole grid ``coordinate_grid(shape)`` in every batch, optionally jittered within each point's cell.

    Without jitter every batch is the same (full-batch training on a signal's samples); with jitter the points move
    randomly within their cells (see the module's docstring), so a network fitted on them sees the whole domain.

    Args:
        shape: the grid, e.g. ``(T,)``, ``(H, W)``, ``(T, H, W)``; at most ``MAX_GRID_POINTS`` points.
        jitter: ``None``, ``"independent"`` (each point uniform in its own cell) or ``"shared"`` (the whole grid
            moved by one random relative offset per axis).
    """

    def __init__(self, shape: Sequence[int], jitter: str | None = None):
        self.shape = check_shape(shape)
        self.jitter = check_choice("jitter", jitter, JITTERS)
        self.in_dims = len(self.shape)
        self.num_points = math.prod(self.shape)
        self._grid = None

    def _coordinates(self) -> np.ndarray:
        if self._grid is not None:
            return self._grid
        from keras_inr.data import coordinate_grid

        grid = coordinate_grid(self.shape)
        if self.num_points <= _CACHED_GRID_POINTS:
            self._grid = grid
        return grid

    def sample(self, rng: np.random.Generator) -> np.ndarray:
        rng = _check_rng(rng)
        if self.jitter is None:
            return self._coordinates()
        rows = self.num_points if self.jitter == "independent" else 1
        fractions = rng.random((rows, self.in_dims))
        return _jitter(self.shape, np.unravel_index(np.arange(self.num_points), self.shape), fractions)

    def __repr__(self) -> str:
        return f"GridSampler(shape={self.shape}, jitter={self.jitter!r})"


class GridSubsetSampler(Sampler):
    """A random subset of ``num_points`` of the grid's points in every batch (distinct unless ``replace``),
    optionally jittered within their cells.

    The points are drawn by :func:`keras_inr.data.sample_grid_indices` (the draws of
    :class:`keras_inr.data.PixelBatches`), so without jitter and with the same generator this gives the coordinates
    of the pixels ``PixelBatches`` draws.

    Args:
        shape: the grid; at most ``MAX_GRID_POINTS`` points.
        num_points: points per batch; positive, at most ``prod(shape)`` unless ``replace``.
        replace: whether a batch may repeat a point.
        jitter: ``None``, ``"independent"`` or ``"shared"`` (see :class:`GridSampler`).
    """

    def __init__(self, shape: Sequence[int], num_points: int, replace: bool = False, jitter: str | None = None):
        self.shape = check_shape(shape)
        self.num_points = check_positive_int("num_points", num_points)
        self.replace = replace
        self.jitter = check_choice("jitter", jitter, JITTERS)
        self.in_dims = len(self.shape)
        total = math.prod(self.shape)
        if not isinstance(replace, (bool, np.bool_)):
            raise ValueError(f"`replace` must be True or False, got {replace!r}.")
        if not replace and self.num_points > total:
            raise ValueError(
                f"`num_points` must be at most the number of grid points ({total} for shape {self.shape}) without "
                f"replacement, got {self.num_points}; use replace=True or GridSampler for the whole grid."
            )

    def sample(self, rng: np.random.Generator) -> np.ndarray:
        rng = _check_rng(rng)
        indices = sample_grid_indices(rng, math.prod(self.shape), self.num_points, replace=bool(self.replace))
        if self.jitter is None:
            return grid_coordinates_at(self.shape, indices)
        rows = self.num_points if self.jitter == "independent" else 1
        fractions = rng.random((rows, self.in_dims))
        return _jitter(self.shape, np.unravel_index(indices, self.shape), fractions)

    def __repr__(self) -> str:
        return (f"GridSubsetSampler(shape={self.shape}, num_points={self.num_points}, replace={self.replace}, "
                f"jitter={self.jitter!r})")


def _check_samplers(samplers) -> list[Sampler]:
    if len(samplers) == 1 and not isinstance(samplers[0], Sampler):
        samplers = samplers[0]  # one sequence given instead of several arguments
    try:
        samplers = list(samplers)
    except TypeError:
        raise ValueError(f"`samplers` must be Sampler objects, got {samplers!r}.") from None
    if not samplers:
        raise ValueError("`samplers` must hold at least one Sampler, got none.")
    for index, sampler in enumerate(samplers):
        if not isinstance(sampler, Sampler):
            raise ValueError(f"`samplers[{index}]` must be a keras_inr.samplers.Sampler, got {sampler!r}.")
    dims = {sampler.in_dims for sampler in samplers}
    if len(dims) != 1:
        raise ValueError(
            f"`samplers` must all draw coordinates of the same dimension, got in_dims {[s.in_dims for s in samplers]}."
        )
    return samplers


class ConcatSampler(Sampler):
    """The batches of several samplers, one after the other: ``num_points`` is the sum of theirs.

    The samplers draw in order from the same generator, so the result is as reproducible as each of them.

    Args:
        *samplers: samplers of the same ``in_dims`` (or one sequence of them).

    Example:
        >>> grid_and_random = ConcatSampler(GridSubsetSampler((64, 64), 1024), UniformSampler(2, 1024))
    """

    def __init__(self, *samplers: Sampler):
        self.samplers = _check_samplers(samplers)
        self.in_dims = self.samplers[0].in_dims
        self.num_points = sum(sampler.num_points for sampler in self.samplers)

    def sample(self, rng: np.random.Generator) -> np.ndarray:
        rng = _check_rng(rng)
        return np.concatenate([sampler.sample(rng) for sampler in self.samplers], axis=0)

    def __repr__(self) -> str:
        return f"ConcatSampler({', '.join(map(repr, self.samplers))})"


class SwitchSampler(Sampler):
    """For each batch, one of several samplers chosen at random (with ``probabilities``, uniform by default).

    The samplers must draw the same number of points (so every batch has one shape and compiled steps never
    retrace) of the same dimension.

    Args:
        *samplers: samplers of the same ``in_dims`` and ``num_points`` (or one sequence of them).
        probabilities: optional keyword, one non-negative weight per sampler (normalised to sum to 1).
    """

    def __init__(self, *samplers: Sampler, probabilities: Sequence[float] | None = None):
        self.samplers = _check_samplers(samplers)
        sizes = [sampler.num_points for sampler in self.samplers]
        if len(set(sizes)) != 1:
            raise ValueError(
                f"`samplers` must all draw the same number of points (one batch shape for compiled steps), got "
                f"num_points {sizes}; use ConcatSampler to combine batches of different sizes."
            )
        self.in_dims = self.samplers[0].in_dims
        self.num_points = sizes[0]
        if probabilities is None:
            self.probabilities = np.full(len(self.samplers), 1.0 / len(self.samplers))
        else:
            try:
                weights = np.asarray(probabilities, dtype=np.float64)
            except (TypeError, ValueError):
                raise ValueError(f"`probabilities` must be numbers, got {probabilities!r}.") from None
            if weights.shape != (len(self.samplers),) or not np.all(np.isfinite(weights)) or np.any(weights < 0) \
                    or weights.sum() <= 0:
                raise ValueError(
                    f"`probabilities` must be {len(self.samplers)} finite non-negative weights, not all zero, got "
                    f"{probabilities!r}."
                )
            self.probabilities = weights / weights.sum()

    def sample(self, rng: np.random.Generator) -> np.ndarray:
        rng = _check_rng(rng)
        choice = int(rng.choice(len(self.samplers), p=self.probabilities))
        return self.samplers[choice].sample(rng)

    def __repr__(self) -> str:
        return f"SwitchSampler({', '.join(map(repr, self.samplers))}, probabilities={self.probabilities.tolist()})"


class SignalDataset(SeededBatches):
    """Batches ``(coordinates, target(coordinates))`` for ``model.fit``: a sampler's coordinates and a continuous
    target's values there.

    Batch ``step`` of epoch ``epoch`` is drawn with a generator seeded with ``(seed, epoch, step)``
    (:class:`keras_inr.data.SeededBatches`): reproducible, and exact when a run is resumed, provided the dataset
    knows ``fit``'s epoch (pass it to :class:`keras_inr.callbacks.DatasetEpoch`).

    Special cases: ``SignalDataset(image, GridSubsetSampler(image.shape[:2], n))`` serves the pixels
    :class:`keras_inr.data.PixelBatches` would (same draws), and ``SignalDataset(image, UniformSampler(2, n))`` the
    off-grid batches of :class:`keras_inr.data.ContinuousImageDataset` (same coordinates; bilinear values).

    Args:
        target: a :class:`keras_inr.signals.Signal`, an array ``(*grid, C)`` (an
            :class:`keras_inr.signals.ArraySignal`, interpolated with ``method``) or a function of the coordinates
            (its ``in_dims`` is the sampler's).
        sampler: a :class:`Sampler` whose ``in_dims`` is the target's.
        steps_per_epoch: batches per epoch (``len(dataset)``); positive.
        seed: seed of the draws, an integer in ``[0, 2**32 - 1]``.
        method: ``"linear"`` or ``"nearest"`` for an array target.
        **kwargs: ``keras.utils.PyDataset`` arguments (``workers``, ``use_multiprocessing``, ``max_queue_size``).

    Yields:
        ``(coordinates (num_points, in_dims), values (num_points, out_dims))`` ``float32`` numpy batches.

    Raises:
        ValueError: naming ``sampler`` (not a Sampler, or coordinates of another dimension than the target's),
            ``target``, ``steps_per_epoch`` or ``seed`` when invalid; at a draw, naming the target function when it
            returns NaN or a wrong shape.
    """

    def __init__(self, target, sampler: Sampler, steps_per_epoch: int = 100, seed: int = 0, method: str = "linear",
                 **kwargs):
        if not isinstance(sampler, Sampler):
            raise ValueError(f"`sampler` must be a keras_inr.samplers.Sampler, got {sampler!r}.")
        super().__init__(sampler.num_points, steps_per_epoch, seed, **kwargs)
        self.target: Signal = as_signal(target, in_dims=sampler.in_dims, method=method)
        if self.target.in_dims != sampler.in_dims:
            raise ValueError(
                f"`sampler` draws {sampler.in_dims}-D coordinates but `target` {self.target!r} takes "
                f"{self.target.in_dims}-D coordinates."
            )
        self.sampler = sampler

    def draw(self, rng: np.random.Generator):
        coordinates = self.sampler.sample(rng)
        return coordinates, self.target(coordinates)
