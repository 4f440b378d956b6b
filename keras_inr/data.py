"""Coordinate data: grids, images as coordinate/value pairs, continuous image targets and train/test splits.

Conventions used throughout keras-inr:

* coordinates are ``float32`` in ``[-1, 1]``; axis ``d`` of a grid of shape ``(n_0, n_1, ...)`` is sampled at
  ``linspace(-1, 1, n_d)`` (pixel centres at the ends, as in SIREN's ``get_mgrid``);
* grids are flattened in row-major (``"ij"``) order, so ``values.reshape(*shape, channels)`` restores an image;
* images are ``float32`` in ``[0, 1]`` of shape ``(H, W, C)``.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Sequence

import keras
import numpy as np

from keras_inr.validation import check_positive_int, check_shape

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


def coordinate_grid(shape: Sequence[int]) -> np.ndarray:
    """All grid coordinates of a signal of the given shape.

    Args:
        shape: the signal's spatial shape, e.g. ``(H, W)`` for an image, ``(T,)`` for audio, ``(D, H, W)`` for a
            volume.

    Returns:
        ``float32`` array ``(prod(shape), len(shape))`` with values in ``[-1, 1]``, row-major order.
    """
    shape = check_shape(shape)
    axes = [np.linspace(-1.0, 1.0, size, dtype=np.float32) for size in shape]
    mesh = np.meshgrid(*axes, indexing="ij")
    return np.stack([axis.reshape(-1) for axis in mesh], axis=-1)


def as_image(array, name: str = "image") -> np.ndarray:
    """Validate an image array and return it as ``float32`` ``(H, W, C)`` in ``[0, 1]``.

    Accepts ``(H, W)`` (grey) or ``(H, W, C)`` with ``C`` in 1, 3, 4 (alpha is dropped). Integer images are divided by
    their type's maximum (255 for ``uint8``); float images must already lie in ``[0, 1]``.

    Raises:
        ValueError: if the array is empty, not 2-D/3-D, has an unsupported channel count, holds NaN or infinity,
            or float values outside ``[0, 1]``.
    """
    array = np.asarray(array)
    if array.dtype == object or not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise ValueError(f"`{name}` must be a numeric array, got dtype {array.dtype}.")
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
    elif np.issubdtype(array.dtype, np.integer):
        array = array.astype(np.float32) / float(np.iinfo(array.dtype).max)
    else:
        array = array.astype(np.float32)
        if not np.all(np.isfinite(array)):
            raise ValueError(f"`{name}` contains NaN or infinite values.")
        low, high = float(array.min()), float(array.max())
        if low < 0.0 or high > 1.0:
            raise ValueError(f"Float `{name}` values must lie in [0, 1], got range [{low:.4g}, {high:.4g}].")
    return np.ascontiguousarray(array)


def _resize(image: np.ndarray, size) -> np.ndarray:
    if isinstance(size, (int, np.integer)):
        size = (int(size), int(size))
    size = tuple(size)
    if len(size) != 2:
        raise ValueError(f"`size` must be an int or a (height, width) pair, got {size!r}.")
    height, width = (check_positive_int(f"size[{i}]", s) for i, s in enumerate(size))
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
        size: optional ``int`` (square) or ``(height, width)`` to resize to (bilinear with anti-aliasing).

    Returns:
        ``(H, W, C)`` with ``C`` 1 (grey) or 3 (RGB).

    Raises:
        FileNotFoundError: if ``source`` looks like a path and no file is there.
        ValueError: for an unknown sample name or an invalid image.
    """
    if isinstance(source, np.ndarray):
        image = as_image(source)
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
        ValueError: if the number of values does not match ``shape``.
    """
    shape = check_shape(shape)
    values = np.asarray(values)
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
    """
    height, width = image.shape[:2]
    rows = (np.clip(coordinates[:, 0], -1.0, 1.0) + 1.0) * 0.5 * (height - 1)
    cols = (np.clip(coordinates[:, 1], -1.0, 1.0) + 1.0) * 0.5 * (width - 1)
    row0 = np.clip(np.floor(rows).astype(np.int64), 0, max(height - 2, 0))
    col0 = np.clip(np.floor(cols).astype(np.int64), 0, max(width - 2, 0))
    row1 = np.minimum(row0 + 1, height - 1)
    col1 = np.minimum(col0 + 1, width - 1)
    row_frac = (rows - row0)[:, None].astype(np.float32)
    col_frac = (cols - col0)[:, None].astype(np.float32)
    top = image[row0, col0] * (1.0 - col_frac) + image[row0, col1] * col_frac
    bottom = image[row1, col0] * (1.0 - col_frac) + image[row1, col1] * col_frac
    return (top * (1.0 - row_frac) + bottom * row_frac).astype(np.float32)


class ContinuousImageDataset(keras.utils.PyDataset):
    """Random off-grid coordinate batches from a bilinearly interpolated image, for ``model.fit``.

    Each batch draws ``batch_size`` coordinates uniformly in ``[-1, 1]^2`` and the interpolated values there, so the
    network is fitted to the continuous image rather than to its pixels. Every batch has the same shape, so JAX and
    ``jit_compile`` never recompile.

    Args:
        image: ``(H, W)`` or ``(H, W, C)`` image (see :func:`as_image`).
        batch_size: coordinates per batch.
        steps_per_epoch: batches per epoch (``len(dataset)``).
        seed: seed of the coordinate draws; batch ``i`` of epoch ``e`` is reproducible.
        **kwargs: ``keras.utils.PyDataset`` arguments (``workers``, ``use_multiprocessing``, ``max_queue_size``).

    Yields:
        ``(coordinates (batch_size, 2), values (batch_size, C))`` float32 batches.

    Example:
        >>> dataset = ContinuousImageDataset(load_image("camera", size=64), batch_size=1024, steps_per_epoch=10)
        >>> model.fit(dataset, epochs=5)  # doctest: +SKIP
    """

    def __init__(self, image, batch_size: int = 4096, steps_per_epoch: int = 100, seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.image = as_image(image)
        self.batch_size = check_positive_int("batch_size", batch_size)
        self.steps_per_epoch = check_positive_int("steps_per_epoch", steps_per_epoch)
        self.seed = int(seed)
        self.epoch = 0

    def __len__(self) -> int:
        return self.steps_per_epoch

    def __getitem__(self, index: int):
        rng = np.random.default_rng((self.seed, self.epoch, int(index)))
        coordinates = rng.uniform(-1.0, 1.0, size=(self.batch_size, 2)).astype(np.float32)
        return coordinates, bilinear_sample(self.image, coordinates)

    def on_epoch_end(self) -> None:
        self.epoch += 1


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
