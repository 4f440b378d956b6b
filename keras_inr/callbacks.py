"""Keras callbacks for INR training: periodic PNG snapshots of the reconstruction, the PSNR of a full render, and
the epoch bookkeeping of random-batch datasets.

:class:`RenderSnapshots` and :class:`ReconstructionPSNR` render the model on the whole pixel grid with
:func:`keras_inr.rendering.render`, which is what one wants when the model is trained on random coordinate batches
(e.g. :class:`keras_inr.data.PixelBatches`): the training ``psnr`` metric then only measures the sampled points.
:class:`DatasetEpoch` tells such a dataset which epoch ``fit`` is in, so that resumed runs draw the same batches.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import keras

from keras_inr.data import as_image
from keras_inr.metrics import psnr
from keras_inr.rendering import DEFAULT_RENDER_BATCH_SIZE, render
from keras_inr.validation import check_positive_float, check_positive_int, check_shape


def _due(epoch: int, every_n_epochs: int) -> bool:
    """Whether 0-based ``epoch`` ends a period of ``every_n_epochs`` (epochs ``n, 2n, ...`` counted from 1)."""
    return (epoch + 1) % every_n_epochs == 0


def _check_image_model(model, shape: tuple[int, ...], who: str) -> None:
    in_dims = getattr(model, "in_dims", None)
    if in_dims is not None and int(in_dims) != len(shape):
        raise ValueError(
            f"{who} renders images of shape {shape} (2-D coordinates), but the model takes {in_dims}-D coordinates."
        )


class RenderSnapshots(keras.callbacks.Callback):
    """Render the model on an image grid every ``every_n_epochs`` epochs and write the result as a PNG file.

    Values are clipped to ``[0, 1]`` and written as 8-bit grey (1 output channel), RGB (3) or RGBA (4) PNGs, named
    ``filename.format(epoch=e)`` with ``e`` the 1-based number of the epoch just finished (so runs resumed with
    ``keras.callbacks.BackupAndRestore`` keep numbering where they stopped).

    Args:
        shape: ``(H, W)`` of the rendered image.
        directory: folder for the PNG files; created when needed.
        every_n_epochs: render after epochs ``n, 2n, 3n, ...``; positive.
        batch_size: coordinates per model call while rendering (see :func:`keras_inr.rendering.render`).
        filename: ``str.format`` pattern with an ``epoch`` field.

    Attributes:
        paths: the files written so far, in order.

    Example:
        >>> model.fit(x, y, epochs=100, callbacks=[RenderSnapshots((64, 64), "snapshots", every_n_epochs=10)])
        ... # doctest: +SKIP
    """

    def __init__(
        self,
        shape: Sequence[int],
        directory,
        every_n_epochs: int = 1,
        batch_size: int = DEFAULT_RENDER_BATCH_SIZE,
        filename: str = "epoch_{epoch:05d}.png",
    ):
        super().__init__()
        self.shape = check_shape(shape)
        if len(self.shape) != 2:
            raise ValueError(f"`shape` must be an image shape (H, W), got {self.shape}.")
        if not isinstance(directory, (str, os.PathLike)) or not str(directory):
            raise ValueError(f"`directory` must be a non-empty path, got {directory!r}.")
        self.directory = Path(directory)
        if self.directory.exists() and not self.directory.is_dir():
            raise ValueError(f"`directory` {str(self.directory)!r} exists and is not a directory.")
        self.every_n_epochs = check_positive_int("every_n_epochs", every_n_epochs)
        self.batch_size = check_positive_int("batch_size", batch_size)
        if not isinstance(filename, str):
            raise ValueError(f"`filename` must be a format string with an `epoch` field, got {filename!r}.")
        try:
            filename.format(epoch=1)
        except (KeyError, IndexError, ValueError) as error:
            raise ValueError(
                f"`filename` must be a format string whose only field is `epoch`, got {filename!r} ({error})."
            ) from None
        self.filename = filename
        self.paths: list[Path] = []

    def on_train_begin(self, logs=None):
        _check_image_model(self.model, self.shape, "RenderSnapshots")

    def on_epoch_end(self, epoch, logs=None):
        if not _due(epoch, self.every_n_epochs):
            return
        from keras_inr.plotting import save_image

        image = render(self.model, self.shape, batch_size=self.batch_size)
        if image.shape[-1] not in (1, 3, 4):
            raise ValueError(
                f"RenderSnapshots writes images with 1, 3 or 4 channels; the model has {image.shape[-1]} outputs."
            )
        self.paths.append(save_image(self.directory / self.filename.format(epoch=epoch + 1), image))


class ReconstructionPSNR(keras.callbacks.Callback):
    """Add the PSNR of a full render against a target image to the epoch logs (as ``render_psnr`` by default).

    The render is compared as it comes out of the model (not clipped), so on a full-batch fit the value equals the
    training ``psnr`` metric of the weights at the end of the epoch. Epochs that are not rendered (when
    ``every_n_epochs > 1``) get no entry, so ``history.history[name]`` then has one value per rendered epoch.

    Args:
        target_image: ``(H, W)`` or ``(H, W, C)`` image in ``[0, 1]``; the model is rendered at ``(H, W)``.
        every_n_epochs: render after epochs ``n, 2n, ...``; positive.
        batch_size: coordinates per model call while rendering.
        name: the key added to the logs (and to ``model.fit``'s history).
        max_val: dynamic range of the PSNR.

    Attributes:
        values: ``(epoch, psnr)`` pairs computed so far, epochs 1-based.

    Example:
        >>> dataset = ContinuousImageDataset(image, batch_size=1024, steps_per_epoch=50)  # doctest: +SKIP
        >>> model.fit(dataset, epochs=20, callbacks=[ReconstructionPSNR(image)])  # doctest: +SKIP
    """

    def __init__(
        self,
        target_image,
        every_n_epochs: int = 1,
        batch_size: int = DEFAULT_RENDER_BATCH_SIZE,
        name: str = "render_psnr",
        max_val: float = 1.0,
    ):
        super().__init__()
        self.target_image = as_image(target_image, name="target_image")
        self.shape = self.target_image.shape[:2]
        self.every_n_epochs = check_positive_int("every_n_epochs", every_n_epochs)
        self.batch_size = check_positive_int("batch_size", batch_size)
        if not isinstance(name, str) or not name:
            raise ValueError(f"`name` must be a non-empty string, got {name!r}.")
        self.name = name
        self.max_val = check_positive_float("max_val", max_val)
        self.values: list[tuple[int, float]] = []

    def on_train_begin(self, logs=None):
        _check_image_model(self.model, self.shape, "ReconstructionPSNR")

    def on_epoch_end(self, epoch, logs=None):
        if not _due(epoch, self.every_n_epochs):
            return
        image = render(self.model, self.shape, batch_size=self.batch_size)
        if image.shape != self.target_image.shape:
            raise ValueError(
                f"The model renders {image.shape[-1]} channels but `target_image` has {self.target_image.shape[-1]}."
            )
        value = psnr(self.target_image, image, max_val=self.max_val)
        self.values.append((epoch + 1, value))
        if logs is not None:
            logs[self.name] = value


class DatasetEpoch(keras.callbacks.Callback):
    """Set an epoch-seeded dataset's ``epoch`` to the epoch ``model.fit`` is in, at the start of every epoch.

    Datasets such as :class:`keras_inr.data.PixelBatches` and :class:`keras_inr.data.ContinuousImageDataset` seed
    batch ``i`` of epoch ``e`` with ``(seed, e, i)``. Their own epoch count starts at 0 in every ``fit`` call, so a
    run resumed by ``keras.callbacks.BackupAndRestore`` (or started with ``initial_epoch``) would draw epoch 0's
    batches again; this callback gives them ``fit``'s epoch number instead, from the ``epoch`` argument of
    ``on_epoch_begin`` (public Keras API), so an interrupted and resumed run draws exactly the batches of an
    uninterrupted one. It relies on Keras calling the callbacks' ``on_epoch_begin`` before it fetches (or
    prefetches) the epoch's first batch, as Keras 3's trainers do on every backend
    (``tests/test_callbacks.py`` checks it).

    Args:
        dataset: a dataset with an integer ``epoch`` attribute that its ``__getitem__`` reads.

    Example:
        >>> dataset = PixelBatches(coordinates, values, batch_size=1024, steps_per_epoch=100)  # doctest: +SKIP
        >>> model.fit(dataset, epochs=10, callbacks=[BackupAndRestore(backup_dir), DatasetEpoch(dataset)])
        ... # doctest: +SKIP
    """

    def __init__(self, dataset):
        super().__init__()
        if not isinstance(getattr(dataset, "epoch", None), int):
            raise ValueError(
                f"`dataset` must have an integer `epoch` attribute (e.g. keras_inr.data.PixelBatches), got "
                f"{type(dataset).__name__}."
            )
        self.dataset = dataset

    def on_epoch_begin(self, epoch, logs=None):
        self.dataset.epoch = int(epoch)
