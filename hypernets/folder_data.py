"""A hypernetwork dataset that streams images from a folder: files are read per batch, never all at once.

:class:`ImageFolderDataset` is :class:`hypernets.ImageFieldDataset` for image collections larger than memory: it keeps
only the file names, and each batch reads its images (PNG, JPEG or ``.npy``), resizes them to one fixed size and draws
the points exactly as :class:`hypernets.FieldDataset` does (its batching, shuffling and point sampling are inherited,
not re-implemented). At any time it holds the decoded images of one batch.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from hypernets.data import DATAPOINT_KINDS, FieldDataset
from keras_inr.data import load_image
from keras_inr.validation import check_choice, check_image_size

#: File name endings (lower case) that :class:`ImageFolderDataset` reads.
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".npy")

#: ITU-R BT.709 luma weights, to turn RGB files into grey when ``channels=1`` (as ``skimage.color.rgb2gray``).
_LUMA = np.array([0.2125, 0.7154, 0.0721], dtype=np.float32)


class _Batches:
    """Reads the images of one batch of positions and keeps that batch only (the dataset's one batch of images).

    ``FieldDataset.__getitem__`` indexes both its datapoints and its values with the batch's positions; both views
    of :class:`_FolderImages` come here, so each file of a batch is read once.
    """

    def __init__(self, dataset: ImageFolderDataset):
        self.dataset = dataset
        self.cached = None  # (positions, images (n, H, W, C)): the last batch read

    def read(self, positions) -> np.ndarray:
        key = tuple(int(position) for position in np.atleast_1d(positions))
        cached = self.cached
        if cached is not None and cached[0] == key:
            return cached[1]
        self.cached = None  # drop the previous batch before reading the next
        images = np.stack([self.dataset.load(position) for position in key])
        self.cached = (key, images)
        return images


class _FolderImages:
    """The folder's images as an array-like ``(num, H, W, C)`` (``flat``: ``(num, H * W, C)``) read on indexing."""

    def __init__(self, batches: _Batches, flat: bool):
        self.batches, self.flat = batches, flat

    def __len__(self) -> int:
        return len(self.batches.dataset.files)

    def __getitem__(self, positions) -> np.ndarray:
        images = self.batches.read(positions)
        return images.reshape(len(images), -1, images.shape[-1]) if self.flat else images


class ImageFolderDataset(FieldDataset):
    """Batches of images streamed from a folder, for ``HyperINR.fit``: datapoints, sampled coordinates, values.

    The folder's image files (:data:`IMAGE_EXTENSIONS`, sorted by name) are listed when the dataset is made; each
    batch then reads its ``batch_size`` files, converts them to ``float32`` in ``[0, 1]`` as
    :func:`keras_inr.data.load_image` does (``.npy`` arrays follow :func:`keras_inr.data.as_image`'s rules), resizes
    them to ``size`` (bilinear, anti-aliased) and draws ``points_per_image`` pixels per image. Batching, the per-epoch
    shuffle (seeded by ``(seed, epoch)``) and the point draws are :class:`hypernets.FieldDataset`'s own, so a folder
    gives the batches that :class:`hypernets.ImageFieldDataset` gives for the same images in memory.

    Memory: the file names, the coordinate grid of ``size`` and one batch of decoded images (the last one read); with
    ``workers`` > 1, Keras' queue holds up to ``max_queue_size`` further batches.

    Args:
        folder: the folder of image files (not searched recursively; other files are ignored).
        size: ``(H, W)`` (or an int for a square) that every image is resized to; ``None`` takes the first file's.
        points_per_image: pixels sampled per image and batch (``None``: every pixel).
        batch_size: images per batch.
        channels: ``None`` (every file must have the first file's channel count, 1 or 3; alpha is dropped), ``1``
            (RGB files turned grey with BT.709 luma weights) or ``3`` (grey files repeated to RGB).
        datapoints: ``"signals"`` (the images, the default) or ``"indices"`` (positions in the sorted file list, for
            an ``Embedding`` encoder); see :class:`hypernets.FieldDataset`.
        replace, shuffle, drop_remainder, seed, **kwargs: see :class:`hypernets.FieldDataset`.

    Attributes:
        files: the image files, sorted by name; position ``i`` of ``datapoints="indices"`` is ``files[i]``.

    Yields:
        ``((datapoints, coordinates (batch, points, 2)), values (batch, points, channels))``.

    Raises:
        FileNotFoundError: ``folder`` does not exist.
        ValueError: naming ``folder`` when it is no folder or holds no image file; naming the argument for a bad
            ``size``, ``channels``, ``datapoints``, size or flag. While iterating, a ``ValueError`` names the file
            that cannot be read or whose channel count differs from the others.

    Example:
        >>> dataset = ImageFolderDataset("faces/", size=(64, 64), points_per_image=1024, batch_size=32)
        >>> model.fit(dataset, epochs=10)  # doctest: +SKIP
    """

    _points_argument = "points_per_image"
    _points_what = "pixels of each image (size {grid_shape})"
    _signals_what = "image files"

    def __init__(
        self,
        folder,
        size=None,
        points_per_image: int | None = 1024,
        batch_size: int = 32,
        channels: int | None = None,
        datapoints: str = "signals",
        replace: bool = False,
        shuffle: bool = True,
        drop_remainder: bool = True,
        seed: int = 0,
        **kwargs,
    ):
        super(FieldDataset, self).__init__(**kwargs)  # keras.utils.PyDataset: FieldDataset's arrays are not made
        if not isinstance(folder, (str, os.PathLike)):
            raise ValueError(f"`folder` must be a folder path, got {folder!r}.")
        self.folder = Path(folder)
        if not self.folder.exists():
            raise FileNotFoundError(f"`folder` {str(self.folder)!r} does not exist.")
        if not self.folder.is_dir():
            raise ValueError(f"`folder` {str(self.folder)!r} is not a folder.")
        self.files = sorted(
            path for path in self.folder.iterdir() if path.is_file() and path.suffix.lower() in IMAGE_EXTENSIONS
        )
        if not self.files:
            raise ValueError(
                f"`folder` {str(self.folder)!r} holds no image file (names ending in {', '.join(IMAGE_EXTENSIONS)})."
            )
        if channels is not None and channels not in (1, 3):
            raise ValueError(f"`channels` must be None, 1 or 3, got {channels!r}.")
        self.channels, self._convert = channels, channels is not None
        self.size = None if size is None else check_image_size(size)
        first = self._read(0)  # the first file fixes the size (size=None) and the channel count (channels=None)
        if self.size is None:
            self.size = tuple(first.shape[:2])
        if self.channels is None:
            self.channels = int(first.shape[-1])
        self.grid_shape = tuple(self.size)
        batches = _Batches(self)
        self.signals = _FolderImages(batches, flat=False)  # FieldDataset indexes these with a batch's positions
        self.flat_values = _FolderImages(batches, flat=True)
        check_choice("datapoints", datapoints, DATAPOINT_KINDS)  # names only: no datapoint arrays for files
        self._configure_batching(points_per_image, batch_size, datapoints, replace, shuffle, drop_remainder, seed)
        self.points_per_image = self.points_per_signal

    def _read(self, position: int) -> np.ndarray:
        """File ``position`` as ``float32`` ``(h, w, c)`` in ``[0, 1]``, resized when ``size`` is set."""
        path = self.files[position]
        try:
            if path.suffix.lower() == ".npy":
                source = np.load(path, allow_pickle=False)
            else:
                source = path
            return load_image(source, size=self.size)
        except (OSError, ValueError, EOFError) as error:
            raise ValueError(f"ImageFolderDataset cannot read image file {str(path)!r}: {error}") from None

    def load(self, position: int) -> np.ndarray:
        """File ``position`` as the dataset serves it: ``float32`` ``(H, W, channels)`` in ``[0, 1]``.

        Raises:
            ValueError: naming the file when it cannot be read, or when its channel count differs from the
                dataset's (``channels=None``).
        """
        image = self._read(position)
        have = image.shape[-1]
        if have != self.channels:
            if self._convert:  # `channels` given: 3 -> 1 by luma, 1 -> 3 by repetition
                return (image @ _LUMA)[..., None] if self.channels == 1 else np.repeat(image, 3, axis=-1)
            raise ValueError(
                f"ImageFolderDataset: image file {str(self.files[position])!r} has {have} channel(s), the "
                f"dataset's images have {self.channels} (those of {str(self.files[0])!r}); mixed channel counts "
                "need `channels=1` (grey) or `channels=3` (RGB) to convert them."
            )
        return image
