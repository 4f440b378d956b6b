"""Coordinate data: grids, images as coordinate/value pairs, continuous image targets and train/test splits.

Conventions used throughout keras-inr:

* coordinates are ``float32`` in ``[-1, 1]``; axis ``d`` of a grid of shape ``(n_0, n_1, ...)`` is sampled at
  ``linspace(-1, 1, n_d)`` (pixel centres at the ends, as in SIREN's ``get_mgrid``);
* grids are flattened in row-major (``"ij"``) order, so ``values.reshape(*shape, channels)`` restores an image;
* images are ``float32`` in ``[0, 1]`` of shape ``(H, W, C)``;
* a grid has at most :data:`keras_inr.validation.MAX_GRID_POINTS` (``2**31 - 1``) points: larger shapes and sizes
  are refused with a message naming the argument, before anything is allocated;
* coordinates and values given to the datasets are checked once, when the dataset is made: they must be real
  (complex values would lose their imaginary part) and finite (NaN or infinity would train the model to NaN).
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Sequence
from pathlib import Path

import keras
import numpy as np

from keras_inr.validation import (
    MAX_GRID_POINTS,
    check_bool,
    check_image_size,
    check_positive_int,
    check_real_array,
    check_seed,
    check_shape,
)

#: Images that scikit-image ships (no download), usable by name in :func:`load_image`.
SAMPLE_IMAGES = (
    "camera",
    "astronaut",
    "coffee",
    "chelsea",
    "rocket",
    "cat",
    "coins",
    "moon",
    "text",
    "page",
    "horse",
    "brick",
    "grass",
    "gravel",
    "retina",
    "immunohistochemistry",
    "hubble_deep_field",
    "colorwheel",
    "logo",
    "motorcycle_left",
)


def coordinate_grid(shape: Sequence[int], start: int = 0, stop: int | None = None) -> np.ndarray:
    """The grid coordinates of a signal of the given shape, all of them or rows ``start:stop``.

    Axis ``d`` is sampled at ``linspace(-1, 1, shape[d])`` and flat index ``i`` is unravelled in row-major order.
    A slice is computed without building the whole grid (what :func:`keras_inr.rendering.render` uses to render
    large grids in bounded memory) and is bit-identical to the same rows of the full grid.

    Args:
        shape: the signal's spatial shape, e.g. ``(H, W)`` for an image, ``(T,)`` for audio, ``(D, H, W)`` for a
            volume; at most :data:`keras_inr.validation.MAX_GRID_POINTS` points.
        start, stop: flat index range, ``0 <= start <= stop <= prod(shape)``; ``stop=None`` means ``prod(shape)``.

    Returns:
        ``float32`` array ``(stop - start, len(shape))`` with values in ``[-1, 1]``, row-major order.

    Raises:
        ValueError: naming ``shape``, ``start`` or ``stop`` when invalid.
    """
    shape = check_shape(shape)
    total = math.prod(shape)
    stop = total if stop is None else stop
    for name, value in (("start", start), ("stop", stop)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise ValueError(f"`{name}` must be an integer, got {value!r}.")
    if not 0 <= start <= stop <= total:
        raise ValueError(
            f"`start` and `stop` must satisfy 0 <= start <= stop <= {total} for shape {shape}, got start={start}, "
            f"stop={stop}."
        )
    axes = [np.linspace(-1.0, 1.0, size, dtype=np.float32) for size in shape]
    indices = np.unravel_index(np.arange(start, stop), shape)
    return np.stack([axis[index] for axis, index in zip(axes, indices)], axis=-1)


def sample_grid_indices(rng: np.random.Generator, num_points: int, size: int, rows: int | None = None,
                        replace: bool = False) -> np.ndarray:
    """Draw a random subset of a grid's points: flat indices into ``coordinate_grid`` (or a signal's values).

    Every random-batch dataset of keras-inr draws its points here (:class:`PixelBatches`; hypernetwork datasets
    draw one subset per signal with ``rows``).

    Args:
        rng: a ``numpy.random.Generator`` (seed it, e.g. with ``(seed, epoch, step)``, for reproducible draws).
        num_points: number of grid points to choose from (``prod(shape)``); positive.
        size: points per subset; positive, at most ``num_points`` unless ``replace``.
        rows: ``None`` for one subset, or a positive number of independent subsets.
        replace: whether a subset may repeat a point.

    Returns:
        ``int64`` indices in ``[0, num_points)``: shape ``(size,)``, or ``(rows, size)`` with ``rows``. Without
        ``replace`` the indices of a subset are distinct (in no particular order).

    Raises:
        ValueError: naming ``rng``, ``num_points``, ``size``, ``rows`` or ``replace`` when invalid.
    """
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"`rng` must be a numpy.random.Generator (numpy.random.default_rng(seed)), got {rng!r}.")
    num_points = check_positive_int("num_points", num_points)
    if num_points > MAX_GRID_POINTS:
        raise ValueError(
            f"`num_points` must be at most {MAX_GRID_POINTS:,} (keras_inr.validation.MAX_GRID_POINTS), got "
            f"{num_points:,}."
        )
    size = check_positive_int("size", size)
    shape = (size,) if rows is None else (check_positive_int("rows", rows), size)
    replace = check_bool("replace", replace)
    if replace:
        return rng.integers(0, num_points, size=shape, dtype=np.int64)
    if size > num_points:
        raise ValueError(f"`size` must be at most `num_points` ({num_points}) without replacement, got {size}.")
    # the `size` smallest of `num_points` uniform draws: a uniformly random subset, vectorised over rows
    draws = rng.random(shape[:-1] + (num_points,))
    if size == num_points:
        return np.argsort(draws, axis=-1).astype(np.int64)
    return np.argpartition(draws, size - 1, axis=-1)[..., :size].astype(np.int64)


#: Integer image dtypes scaled by their maximum in :func:`as_image`; other integer dtypes hold 8-bit values.
SCALED_INTEGER_DTYPES = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}


def as_image(array, name: str = "image") -> np.ndarray:
    """Validate an image array and return it as ``float32`` ``(H, W, C)`` in ``[0, 1]``.

    Accepts ``(H, W)`` (grey) or ``(H, W, C)`` with ``C`` in 1, 3, 4 (alpha is dropped). How values are scaled to
    ``[0, 1]`` depends on the dtype:

    * ``uint8`` and ``uint16``: divided by the type's maximum (255, 65535);
    * other integer types (``int8`` ... ``int64``, ``uint32``, ``uint64``): 8-bit values, divided by 255; they must
      lie in ``[0, 255]`` (anything else is refused rather than guessed: give a ``uint16`` array for 16-bit data, or
      floats in ``[0, 1]``);
    * ``bool``: ``False`` is 0 and ``True`` is 1;
    * floats: used as they are, and must be finite and lie in ``[0, 1]``.

    Args:
        array: the image.
        name: the argument's name, for the messages.

    Raises:
        ValueError: naming ``name`` if the array is not numeric (complex included), empty, not 2-D/3-D, has an
            unsupported channel count, holds NaN or infinity, or values outside the range of its dtype's rule.
    """
    if not isinstance(name, str):
        raise ValueError(f"`name` must be a string, got {name!r}.")
    array = check_real_array(name, array, allow_empty=True)
    if array.size == 0:
        raise ValueError(f"`{name}` is empty (shape {array.shape}); expected an (H, W) or (H, W, C) image.")
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3 or array.shape[-1] not in (1, 3, 4):
        raise ValueError(
            f"`{name}` must have shape (H, W) or (H, W, C) with C in (1, 3, 4), got shape {array.shape}."
        )
    if array.shape[-1] == 4:
        array = array[..., :3]
    if array.dtype == bool:
        array = array.astype(np.float32)
    elif array.dtype in SCALED_INTEGER_DTYPES:
        array = array.astype(np.float32) / SCALED_INTEGER_DTYPES[array.dtype]
    elif np.issubdtype(array.dtype, np.integer):
        low, high = int(array.min()), int(array.max())
        if low < 0 or high > 255:
            raise ValueError(
                f"Integer `{name}` of dtype {array.dtype} must hold 8-bit values in [0, 255], got range [{low}, "
                f"{high}]; give 16-bit data as uint16 (scaled by 65535) or the image as floats in [0, 1]."
            )
        array = array.astype(np.float32) / 255.0
    else:
        array = array.astype(np.float32)
        low, high = float(array.min()), float(array.max())
        if low < 0.0 or high > 1.0:
            raise ValueError(f"Float `{name}` values must lie in [0, 1], got range [{low:.4g}, {high:.4g}].")
    return np.ascontiguousarray(array)


def _resize(image: np.ndarray, size) -> np.ndarray:
    height, width = check_image_size(size)
    if image.shape[:2] == (height, width):
        return image
    from skimage.transform import resize  # optional dependency (extra "images")

    resized = resize(image, (height, width, image.shape[-1]), order=1, anti_aliasing=True, preserve_range=True)
    return np.clip(resized, 0.0, 1.0).astype(np.float32)


def load_image(source, size=None) -> np.ndarray:
    """Load an image as ``float32`` ``(H, W, C)`` in ``[0, 1]``.

    Args:
        source: a path to an image file (PNG, JPEG, ...), the name of an image scikit-image ships (one of
            :data:`SAMPLE_IMAGES`, e.g. ``"camera"``, ``"astronaut"``), or an array (validated by :func:`as_image`).
        size: optional ``int`` (square) or ``(height, width)`` to resize to (bilinear with anti-aliasing); see
            :func:`keras_inr.validation.check_image_size`.

    Returns:
        ``(H, W, C)`` with ``C`` 1 (grey) or 3 (RGB).

    Raises:
        FileNotFoundError: if ``source`` looks like a path and no file is there.
        ValueError: for an unknown sample name, an invalid image or an invalid ``size``.
    """
    if size is not None:
        check_image_size(size)  # before any file is read
    if isinstance(source, np.ndarray):
        image = as_image(source, name="source")
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if path.is_file():
            try:
                from PIL import Image
            except ImportError as error:  # pragma: no cover - depends on the environment
                raise ImportError("Loading image files needs Pillow: pip install 'keras-inr[images]'.") from error
            try:
                with Image.open(path) as handle:
                    image = np.asarray(handle.convert("RGB") if handle.mode not in ("L", "RGB") else handle)
            except OSError as error:
                raise ValueError(f"`source` {str(path)!r} is not a readable image file: {error}") from None
            image = as_image(image, name=f"image {str(path)!r}")
        elif str(source) in SAMPLE_IMAGES:
            try:
                import skimage.data
            except ImportError as error:  # pragma: no cover - depends on the environment
                raise ImportError("Sample images need scikit-image: pip install 'keras-inr[images]'.") from error
            image = as_image(getattr(skimage.data, str(source))(), name=f"sample image {str(source)!r}")
        elif path.suffix or os.sep in str(source) or path.exists():
            raise FileNotFoundError(f"No image file at `source` = {str(source)!r}.")
        else:
            raise ValueError(
                f"`source` {str(source)!r} is neither an existing file nor a sample image; "
                f"sample images are {', '.join(SAMPLE_IMAGES)}."
            )
    else:
        raise ValueError(f"`source` must be a path, a sample image name or an array, got {type(source).__name__}.")
    if size is not None:
        image = _resize(image, size)
    return image


def image_to_coordinates(image) -> tuple[np.ndarray, np.ndarray]:
    """Turn an image into coordinate/value pairs.

    Args:
        image: ``(H, W)`` or ``(H, W, C)`` (validated by :func:`as_image`).

    Returns:
        ``(coordinates, values)``: ``(H*W, 2)`` in ``[-1, 1]`` and ``(H*W, C)`` in ``[0, 1]``.
    """
    image = as_image(image)
    height, width, channels = image.shape
    return coordinate_grid((height, width)), image.reshape(height * width, channels)


def coordinates_to_image(values, shape: Sequence[int]) -> np.ndarray:
    """Inverse of :func:`image_to_coordinates`: ``(H*W, C)`` values to an ``(H, W, C)`` image.

    Raises:
        ValueError: naming ``values`` if they are not real numbers or their number does not match ``shape``, or
            ``shape`` if it is invalid. NaN values pass (a diverged model's output is still shown).
    """
    shape = check_shape(shape)
    values = check_real_array("values", values, ndim=(1, 2), finite=False, allow_empty=True)
    if values.ndim == 1:
        values = values[:, None]
    if values.ndim != 2 or values.shape[0] != math.prod(shape):
        raise ValueError(
            f"`values` must have shape ({math.prod(shape)}, C) for shape {shape}, got {values.shape}."
        )
    return values.reshape(*shape, values.shape[-1])


def bilinear_sample(image: np.ndarray, coordinates: np.ndarray) -> np.ndarray:
    """Evaluate an image as a continuous function by bilinear interpolation (the ancestor's continuous target).

    Args:
        image: ``(H, W, C)`` float array.
        coordinates: ``(N, 2)`` in ``[-1, 1]``; ``(-1, -1)`` is the centre of pixel ``(0, 0)`` and ``(1, 1)`` that of
            pixel ``(H-1, W-1)``, matching :func:`coordinate_grid`.

    Returns:
        ``(N, C)`` interpolated values.

    Raises:
        ValueError: naming ``image`` or ``coordinates`` if they are not real, finite arrays of those shapes.
    """
    image = check_real_array("image", image, ndim=3)
    coordinates = check_real_array("coordinates", coordinates, ndim=2)
    if coordinates.shape[1] != 2:
        raise ValueError(f"`coordinates` must have shape (N, 2), got {coordinates.shape}.")
    from keras_inr.signals import interpolate  # the one n-linear interpolation (signals imports this module)

    return interpolate(image, coordinates.astype(np.float32, copy=False))


class SeededBatches(keras.utils.PyDataset):
    """Base of keras-inr's random-batch datasets: ``steps_per_epoch`` batches per epoch, batch ``index`` of epoch
    ``epoch`` drawn by :meth:`draw` from a generator seeded with ``(seed, epoch, index)``.

    Batches are therefore reproducible, and a run resumed from a backup draws exactly the batches an uninterrupted run
    would -- provided the dataset knows the epoch ``fit`` is in: pass it to :class:`keras_inr.callbacks.DatasetEpoch`
    in ``model.fit``'s callbacks (it sets :attr:`epoch` at every epoch start). Without that callback :attr:`epoch`
    advances by one at every ``on_epoch_end``.

    Args:
        batch_size: samples per batch; positive.
        steps_per_epoch: batches per epoch (``len(dataset)``); positive.
        seed: seed of the draws, an integer in ``[0, 2**32 - 1]``.
        **kwargs: ``keras.utils.PyDataset`` arguments (``workers``, ``use_multiprocessing``, ``max_queue_size``).

    Attributes:
        epoch: the epoch whose batches ``__getitem__`` serves.
    """

    def __init__(self, batch_size: int, steps_per_epoch: int, seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.batch_size = check_positive_int("batch_size", batch_size)
        self.steps_per_epoch = check_positive_int("steps_per_epoch", steps_per_epoch)
        self.seed = check_seed("seed", seed, allow_none=False)
        self.epoch = 0

    def draw(self, rng: np.random.Generator):
        """One batch ``(coordinates, values)`` drawn with ``rng``; subclasses implement it."""
        raise NotImplementedError

    def __len__(self) -> int:
        return self.steps_per_epoch

    def __getitem__(self, index: int):
        return self.draw(np.random.default_rng((self.seed, self.epoch, int(index))))

    def on_epoch_end(self) -> None:
        self.epoch += 1


class PixelBatches(SeededBatches):
    """Random batches of a signal's samples (an image's pixels), ``steps_per_epoch`` per epoch, for ``model.fit``.

    Batch ``index`` of epoch ``epoch`` holds ``batch_size`` distinct samples drawn by :func:`sample_grid_indices`
    from a generator seeded with ``(seed, epoch, index)`` (see :class:`SeededBatches`; pass the dataset to
    :class:`keras_inr.callbacks.DatasetEpoch` so that resumed runs draw the batches of an uninterrupted one).
    Full-batch training is :func:`keras_inr.training.full_batch` instead.

    Args:
        coordinates: ``(N, in_dims)`` array, e.g. from :func:`image_to_coordinates`; real and finite.
        values: ``(N, out_dims)`` array with the same ``N``; real and finite.
        batch_size: samples per batch; positive, at most ``N``.
        steps_per_epoch: batches per epoch (``len(dataset)``); positive.
        seed: seed of the draws.
        **kwargs: ``keras.utils.PyDataset`` arguments (``workers``, ``use_multiprocessing``, ``max_queue_size``).

    Attributes:
        epoch: the epoch whose batches ``__getitem__`` serves.

    Yields:
        ``(coordinates (batch_size, in_dims), values (batch_size, out_dims))`` numpy batches.

    Example:
        >>> coordinates, values = image_to_coordinates(load_image("camera", size=64))
        >>> dataset = PixelBatches(coordinates, values, batch_size=1024, steps_per_epoch=10)
        >>> model.fit(dataset, epochs=5, callbacks=[keras_inr.callbacks.DatasetEpoch(dataset)])  # doctest: +SKIP
    """

    def __init__(self, coordinates, values, batch_size: int, steps_per_epoch: int, seed: int = 0, **kwargs):
        super().__init__(batch_size, steps_per_epoch, seed, **kwargs)
        coordinates = check_real_array("coordinates", coordinates, ndim=2, allow_empty=True)
        values = check_real_array("values", values, ndim=2, allow_empty=True)
        if len(coordinates) != len(values) or coordinates.size == 0 or values.size == 0:
            raise ValueError(
                "`coordinates` and `values` must be non-empty (N, in_dims) and (N, out_dims) arrays with the same N, "
                f"got shapes {coordinates.shape} and {values.shape}."
            )
        self.coordinates, self.values = coordinates, values
        if self.batch_size > len(coordinates):
            raise ValueError(
                f"`batch_size` must be at most the number of samples ({len(coordinates)}), got {batch_size}; use "
                "keras_inr.training.full_batch for full-batch training."
            )

    def draw(self, rng: np.random.Generator):
        chosen = sample_grid_indices(rng, len(self.coordinates), self.batch_size)
        return self.coordinates[chosen], self.values[chosen]


class ContinuousImageDataset(SeededBatches):
    """Random off-grid coordinate batches from a bilinearly interpolated image, for ``model.fit``.

    Each batch draws ``batch_size`` coordinates uniformly in ``[-1, 1]^2`` and the interpolated values there, so the
    network is fitted to the continuous image rather than to its pixels. Every batch has the same shape, so JAX and
    ``jit_compile`` never recompile.

    Args:
        image: ``(H, W)`` or ``(H, W, C)`` image (see :func:`as_image`).
        batch_size: coordinates per batch.
        steps_per_epoch: batches per epoch (``len(dataset)``).
        seed: seed of the coordinate draws; batch ``i`` of epoch ``e`` is reproducible (see :class:`SeededBatches`).
        **kwargs: ``keras.utils.PyDataset`` arguments (``workers``, ``use_multiprocessing``, ``max_queue_size``).

    Yields:
        ``(coordinates (batch_size, 2), values (batch_size, C))`` float32 batches.

    Example:
        >>> dataset = ContinuousImageDataset(load_image("camera", size=64), batch_size=1024, steps_per_epoch=10)
        >>> model.fit(dataset, epochs=5)  # doctest: +SKIP
    """

    def __init__(self, image, batch_size: int = 4096, steps_per_epoch: int = 100, seed: int = 0, **kwargs):
        super().__init__(batch_size, steps_per_epoch, seed, **kwargs)
        self.image = as_image(image)
        # The special case of samplers.SignalDataset for a 2-D image and a uniform sampler: the same sampler and the
        # same interpolation (imported here: keras_inr.samplers and keras_inr.signals import this module).
        from keras_inr.samplers import UniformSampler
        from keras_inr.signals import ArraySignal

        self._sampler = UniformSampler(2, self.batch_size)
        self._target = ArraySignal(self.image)

    def draw(self, rng: np.random.Generator):
        coordinates = self._sampler.sample(rng)
        return coordinates, self._target(coordinates)


def tancik_split(image, test: str = "rest"):
    """The train/test split of Tancik et al. 2020 (https://arxiv.org/abs/2006.10739, section 6, 2-D image regression).

    Train on every other pixel in each direction (a ``(ceil(H/2), ceil(W/2))`` sub-grid), test on the others.
    Coordinates are positions in the *full* image's grid, so test pixels lie between training pixels.

    Args:
        image: ``(H, W)`` or ``(H, W, C)`` image.
        test: ``"rest"`` (pixels not trained on, the default) or ``"full"`` (every pixel).

    Returns:
        ``((train_coordinates, train_values), (test_coordinates, test_values))``, coordinates ``(N, 2)`` and values
        ``(N, C)``.
    """
    if test not in ("rest", "full"):
        raise ValueError(f"`test` must be 'rest' or 'full', got {test!r}.")
    image = as_image(image)
    height, width, channels = image.shape
    if height < 2 or width < 2:
        raise ValueError(f"`image` must be at least 2x2 to split, got shape {image.shape}.")
    coordinates, values = image_to_coordinates(image)
    train_mask = np.zeros((height, width), dtype=bool)
    train_mask[::2, ::2] = True
    train_mask = train_mask.reshape(-1)
    test_mask = ~train_mask if test == "rest" else np.ones_like(train_mask)
    return (coordinates[train_mask], values[train_mask]), (coordinates[test_mask], values[test_mask])
