"""Keras callbacks for INR training: periodic PNG snapshots of the reconstruction, the PSNR of a full render, the
epoch bookkeeping of random-batch datasets, and the guards that make a long run safe to interrupt and to resume.

:class:`RenderSnapshots` and :class:`ReconstructionPSNR` render the model on the whole pixel grid with
:func:`keras_inr.rendering.render`, which is what one wants when the model is trained on random coordinate batches
(e.g. :class:`keras_inr.data.PixelBatches`): the training ``psnr`` metric then only measures the sampled points.
:class:`DatasetEpoch` tells such a dataset which epoch ``fit`` is in, so that resumed runs draw the same batches.

:class:`StopOnInterrupt` makes Ctrl-C stop ``model.fit`` on every backend (Keras' log conversion can swallow the
``KeyboardInterrupt`` on JAX), :class:`EpochBackup` backs the run up at every epoch end without ever leaving a
truncated backup (:func:`restore_backup` resumes from it, falling back to the previous backup), and
:class:`DivergenceGuard` stops a run whose loss became NaN or exploded, restoring the last good weights.
:func:`keras_inr.fit_signal` (``keras-inr fit``) uses all three.
"""

from __future__ import annotations

import json
import math
import os
import re
import signal
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import keras
import numpy as np

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
    ``filename.format(epoch=e)`` with ``e`` the 1-based number of the epoch just finished (so runs resumed from a
    backup, started with ``initial_epoch``, keep numbering where they stopped). Each file is written under a
    temporary name and renamed when complete (:mod:`keras_inr.safe_files`), so an interrupt never leaves a truncated
    PNG.

    Args:
        shape: ``(H, W)`` of the rendered image.
        directory: folder for the PNG files; created when needed.
        every_n_epochs: render after epochs ``n, 2n, 3n, ...``; positive.
        batch_size: coordinates per model call while rendering (see :func:`keras_inr.rendering.render`).
        filename: ``str.format`` pattern with an ``epoch`` field.
        render_fn: optional ``render_fn(model, shape, batch_size) -> (H', W', C)`` array to write instead of
            :func:`keras_inr.rendering.render` of the model on ``shape``: any picture of a model that is not a
            single field, e.g. a row of a hypernetwork's reconstructions (``hypernets.SnapshotRenderer``).

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
        render_fn: Callable | None = None,
    ):
        super().__init__()
        if render_fn is not None and not callable(render_fn):
            raise ValueError(f"`render_fn` must be None or a callable (model, shape, batch_size) -> image, got "
                             f"{render_fn!r}.")
        self.render_fn = render_fn
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

        if self.render_fn is None:
            image = render(self.model, self.shape, batch_size=self.batch_size)
        else:
            image = np.asarray(self.render_fn(self.model, self.shape, self.batch_size))
            if image.ndim != 3:
                raise ValueError(f"RenderSnapshots: `render_fn` must return an image (H, W, C), got shape "
                                 f"{image.shape}.")
        if image.shape[-1] not in (1, 3, 4):
            raise ValueError(
                f"RenderSnapshots writes images with 1, 3 or 4 channels; the model has {image.shape[-1]} outputs."
            )

        path = self.directory / self.filename.format(epoch=epoch + 1)
        path.parent.mkdir(parents=True, exist_ok=True)
        save_image(path, image)
        self.paths.append(path)


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
    run resumed from a backup (started with ``initial_epoch`` after :func:`restore_backup`, or by
    ``keras.callbacks.BackupAndRestore``) would draw epoch 0's batches again; this callback gives them ``fit``'s
    epoch number instead, from the ``epoch`` argument of ``on_epoch_begin`` (public Keras API), so an interrupted and
    resumed run draws exactly the batches of an uninterrupted one. It relies on Keras calling the callbacks'
    ``on_epoch_begin`` before it fetches (or prefetches) the epoch's first batch, as Keras 3's trainers do on every
    backend (``tests/test_callbacks.py`` checks it).

    Args:
        dataset: a dataset with an integer ``epoch`` attribute that its ``__getitem__`` reads.

    Example:
        >>> dataset = PixelBatches(coordinates, values, batch_size=1024, steps_per_epoch=100)  # doctest: +SKIP
        >>> model.fit(dataset, epochs=10, callbacks=[EpochBackup(backup_dir), DatasetEpoch(dataset)])
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


# ----------------------------------------------------------------------------------------------------------------
# Ctrl-C
# ----------------------------------------------------------------------------------------------------------------
class StopOnInterrupt(keras.callbacks.Callback):
    """Make Ctrl-C stop ``model.fit`` at the next step on every backend, by raising ``KeyboardInterrupt``.

    Python raises ``KeyboardInterrupt`` for Ctrl-C (SIGINT) wherever the main thread happens to be. During
    ``model.fit`` on JAX that is most often inside Keras' conversion of a step's logs to Python numbers (it waits for
    the step there), whose bare ``except:`` swallows the exception: the run goes on as if nothing had happened. While
    this callback is installed, Ctrl-C only records the request; the callback then raises ``KeyboardInterrupt``
    itself at the start of the next training or validation step (or epoch), where nothing swallows it. What the
    callbacks did at the end of the finished epochs (e.g. :class:`EpochBackup`'s backup) is complete by then, and
    ``on_train_end`` is not run, so no callback treats the run as finished. Pressing Ctrl-C a second time before
    that raises ``KeyboardInterrupt`` at once (for a step that takes very long).

    The handler is installed in ``on_train_begin`` and removed when the callback raises, or in ``on_train_end``.
    Keras does not call ``on_train_end`` when ``fit`` fails with another exception; use the callback as a context
    manager to be sure the previous handler is back whatever happens (an interrupt pressed inside the ``with``
    block before training starts then stops it at its first step)::

        with StopOnInterrupt() as stop:
            model.fit(x, y, epochs=100, callbacks=[stop, ...])

    Put it first in the callback list, so that nothing runs ``on_train_end`` after an interrupt in the last step.
    Signals reach Python's main thread only: in another thread the callback does nothing.

    Attributes:
        interrupted: whether Ctrl-C was pressed while the handler was installed.
    """

    def __init__(self):
        super().__init__()
        self.interrupted = False
        self._previous = None
        self._installed = False
        self._in_context = False

    # --- the handler ---------------------------------------------------------------------------------------------
    def install(self) -> StopOnInterrupt:
        """Install the SIGINT handler (in the main thread only; idempotent)."""
        if self._installed or threading.current_thread() is not threading.main_thread():
            return self
        self._previous = signal.getsignal(signal.SIGINT)
        signal.signal(signal.SIGINT, self._on_signal)
        self._installed = True
        return self

    def uninstall(self) -> None:
        """Put the previous SIGINT handler back (idempotent)."""
        if not self._installed:
            return
        previous = self._previous if self._previous is not None else signal.default_int_handler
        signal.signal(signal.SIGINT, previous)
        self._installed = False

    def _on_signal(self, signum, frame):
        if self.interrupted:  # the second Ctrl-C: the user does not want to wait for the step to end
            self.uninstall()
            raise KeyboardInterrupt
        self.interrupted = True

    def check(self) -> None:
        """Raise ``KeyboardInterrupt`` (after removing the handler) if Ctrl-C was pressed."""
        if self.interrupted:
            self.uninstall()
            raise KeyboardInterrupt("interrupted with Ctrl-C")

    def __deepcopy__(self, memo) -> StopOnInterrupt:
        """The callback itself: it stands for the process's Ctrl-C handling, so copies (KerasTuner deep-copies the
        callbacks of every trial) must share it."""
        return self

    def __enter__(self) -> StopOnInterrupt:
        self.interrupted = False
        self._in_context = True
        return self.install()

    def __exit__(self, *exc_info) -> bool:
        self._in_context = False
        self.uninstall()
        return False

    # --- Keras hooks ---------------------------------------------------------------------------------------------
    def on_train_begin(self, logs=None):
        if not self._in_context:
            self.interrupted = False
        self.install()

    def on_epoch_begin(self, epoch, logs=None):
        self.check()

    def on_train_batch_begin(self, batch, logs=None):
        self.check()

    def on_test_batch_begin(self, batch, logs=None):
        self.check()

    def on_train_end(self, logs=None):
        self.check()
        if not self._in_context:
            self.uninstall()


# ----------------------------------------------------------------------------------------------------------------
# backups
# ----------------------------------------------------------------------------------------------------------------
#: File names :class:`EpochBackup` writes: the complete backup of epoch ``e`` (weights and optimizer state) and its
#: metadata (the epoch and what ``metadata=`` returned).
BACKUP_WEIGHTS = "epoch-{epoch:06d}.weights.h5"
BACKUP_METADATA = "epoch-{epoch:06d}.json"
_BACKUP_NAME = re.compile(r"^epoch-(\d{6,})\.(weights\.h5|json)$")


def is_backup_file(name: str) -> bool:
    """Whether a file name is one :class:`EpochBackup` writes (a backup, its metadata, or their temporary names)."""
    from keras_inr.safe_files import is_partial

    if is_partial(name):
        stem, _, extensions = name[1:].partition(".")
        name = f"{stem}.{extensions.removeprefix('partial.')}"
    return _BACKUP_NAME.match(name) is not None


def backed_up_epochs(directory) -> list[int]:
    """The epochs of the complete backups :class:`EpochBackup` wrote into ``directory``, newest first."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    epochs = []
    for path in directory.iterdir():
        match = _BACKUP_NAME.match(path.name)
        if match and match.group(2) == "weights.h5":
            epochs.append(int(match.group(1)))
    return sorted(epochs, reverse=True)


class EpochBackup(keras.callbacks.Callback):
    """Back the training state (weights and optimizer state) up at every epoch end, never leaving a broken backup.

    Epoch ``e``'s backup is ``directory/epoch-00000e.weights.h5`` (:data:`BACKUP_WEIGHTS`) plus a small JSON file
    (:data:`BACKUP_METADATA`). Each is written under a temporary name and renamed when complete
    (:mod:`keras_inr.safe_files`), the weights last, so a backup file that exists is complete; the ``keep`` newest
    backups are kept, so the previous one is still there while (and after) the next is written. Resume with
    :func:`restore_backup`, which falls back to the previous backup if the newest cannot be loaded, and start
    ``fit`` at the epoch it returns::

        epoch, _ = restore_backup(model, "runs/a/backup")
        model.fit(data, epochs=100, initial_epoch=epoch, callbacks=[EpochBackup("runs/a/backup")])

    Unlike ``keras.callbacks.BackupAndRestore`` it writes nothing in place and deletes nothing when training ends:
    remove the backup once the results are safely written (:func:`keras_inr.fit_signal` does).

    Args:
        directory: the backup folder; created when needed.
        keep: how many of the newest backups to keep; at least 2 (the newest and the one before it).
        metadata: ``None``, or a callable returning a JSON-serialisable dict stored with each backup (what
            :func:`restore_backup` returns with the epoch).

    Attributes:
        paths: the backups written by this callback, oldest first (including those deleted since).
    """

    def __init__(self, directory, keep: int = 2, metadata: Callable[[], dict] | None = None):
        super().__init__()
        if not isinstance(directory, (str, os.PathLike)) or not str(directory):
            raise ValueError(f"`directory` must be a non-empty path, got {directory!r}.")
        self.directory = Path(directory)
        if self.directory.exists() and not self.directory.is_dir():
            raise ValueError(f"`directory` {str(self.directory)!r} exists and is not a directory.")
        self.keep = check_positive_int("keep", keep)
        if self.keep < 2:
            raise ValueError(f"`keep` must be at least 2 (the newest backup and the previous one), got {keep}.")
        if metadata is not None and not callable(metadata):
            raise ValueError(f"`metadata` must be None or a callable returning a dict, got {metadata!r}.")
        self.metadata = metadata
        self.paths: list[Path] = []

    def on_epoch_end(self, epoch, logs=None):
        self.save(epoch + 1)

    def save(self, epoch: int) -> Path:
        """Back the model up as the state after ``epoch`` finished epochs; return the weights file."""
        from keras_inr.safe_files import atomic_path, write_text

        self.directory.mkdir(parents=True, exist_ok=True)
        extra = dict(self.metadata()) if self.metadata is not None else {}
        write_text(self.directory / BACKUP_METADATA.format(epoch=epoch), json.dumps({**extra, "epoch": int(epoch)}))
        path = self.directory / BACKUP_WEIGHTS.format(epoch=epoch)
        with atomic_path(path) as temporary:  # the backup before it stays until this one is complete
            self.model.save_weights(temporary)
        self.paths.append(path)
        self._prune(epoch)
        return path

    def _prune(self, newest: int) -> None:
        """Delete all but the ``keep`` newest backups, and metadata left without its backup by a killed writer."""
        kept = set(backed_up_epochs(self.directory)[: self.keep])
        for path in self.directory.iterdir():
            match = _BACKUP_NAME.match(path.name)
            if match and int(match.group(1)) not in kept and int(match.group(1)) != newest:
                path.unlink(missing_ok=True)


def restore_backup(model, directory, log: Callable[[str], None] | None = None) -> tuple[int, dict]:
    """Load the newest backup :class:`EpochBackup` wrote into ``directory`` that can be loaded into ``model``.

    If the newest backup cannot be loaded (e.g. a damaged disk), the previous one is loaded instead, and ``log`` is
    told which. Builds the model's optimizer first if needed, so that its state is restored too.

    Args:
        model: a built (and compiled, to restore the optimizer state) Keras model of the backed-up architecture.
        directory: the backup folder.
        log: called with a line about a backup that could not be loaded; ``None`` is silent.

    Returns:
        ``(epoch, metadata)``: the number of finished epochs of the backup loaded (pass it to ``model.fit`` as
        ``initial_epoch``) and its metadata; ``(0, {})`` when there is no backup.

    Raises:
        ValueError: if the model is not built, or no backup in ``directory`` could be loaded (naming why).
    """
    directory = Path(directory)
    epochs = backed_up_epochs(directory)
    if not epochs:
        return 0, {}
    if not model.built:
        raise ValueError("restore_backup needs a built model (call it on a batch, or build it, first).")
    if model.optimizer is not None and not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)  # so that load_weights restores the optimizer state too
    failures = []
    for epoch in epochs:
        path = directory / BACKUP_WEIGHTS.format(epoch=epoch)
        try:
            model.load_weights(path)
        except Exception as error:  # a damaged file fails in h5py or in Keras, with various exception types
            failures.append(f"{path.name}: {type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}")
            continue
        if failures and log is not None:
            log(f"note: the newest backup could not be loaded ({'; '.join(failures)}); resuming from the previous "
                f"one, {path.name}.")
        try:
            metadata = json.loads((directory / BACKUP_METADATA.format(epoch=epoch)).read_text())
        except (OSError, ValueError):
            metadata = {}
        return epoch, metadata if isinstance(metadata, dict) else {}
    raise ValueError(f"none of the backups in {directory} could be loaded: {'; '.join(failures)}.")


# ----------------------------------------------------------------------------------------------------------------
# divergence
# ----------------------------------------------------------------------------------------------------------------
#: :class:`DivergenceGuard`'s default ``factor``: a loss this many times its start counts as exploded. Measured on
#: the camera image (64x64, 300 steps, full batch and 512-pixel batches): the largest running loss over the first
#: step's was at most 1.9 for SIREN, Gaussian and ReLU networks up to 10x their recommended learning rates, while
#: Fourier-feature networks spike early: 17 at the recommended rate, about 350 at 3x (both recover, 35 dB), 5e4 at 10x
#: (ends at 5 dB); SIREN at a learning rate of 10 reached 1.7e4.
DIVERGENCE_FACTOR = 1000.0


class DivergenceError(RuntimeError):
    """Training diverged: raised by :class:`DivergenceGuard` after it restored the last good weights.

    Attributes:
        epoch: the 1-based epoch in which the loss diverged.
        value: the loss that was seen (NaN, infinite, or too large).
        reference: the loss it was compared with (``None`` if none was known yet).
        restored_epoch: the number of finished epochs whose weights were restored (the epoch training started from
            when no epoch ended good).
        summary: what happened, without the advice that ends the message.
    """

    def __init__(
        self, message: str, epoch: int, value: float, reference: float | None, restored_epoch: int,
        summary: str | None = None,
    ):
        super().__init__(message)
        self.summary = message if summary is None else summary
        self.epoch = epoch
        self.value = value
        self.reference = reference
        self.restored_epoch = restored_epoch


class DivergenceGuard(keras.callbacks.Callback):
    """Stop training whose loss became NaN or infinite or exploded, and put the last good weights back.

    After every step the guard looks at the monitored value Keras logs (by default the loss: its mean over the epoch
    so far). Training has diverged when that value is not finite, or is more than ``factor`` times the reference:
    ``reference`` if given, else the loss of the first step this ``fit`` call trains (computed with the weights
    training starts from). The guard then ends the epoch early and, at its end, restores the weights and the
    optimizer state of the last epoch that ended good (or those training started from), so the model never keeps
    diverged weights; then it raises :class:`DivergenceError` (``raise_error=True``, the default) or sets
    ``model.stop_training``. With ``raise_error=True``, Keras runs neither the other callbacks' ``on_epoch_end`` of
    the diverged epoch nor ``on_train_end``, so put the guard before callbacks that save the model at epoch ends
    (:class:`EpochBackup`, ``ModelCheckpoint``): they then never save a diverged state.

    The last good state is copied to host memory at every good epoch end (the model's weights and the optimizer's
    variables: three times the parameters with Adam).

    Args:
        factor: how many times the reference counts as exploded; greater than 1 (default :data:`DIVERGENCE_FACTOR`).
        monitor: the log entry to watch.
        reference: the value to compare with, e.g. the first step's loss of the run a resumed ``fit`` continues;
            ``None`` takes this ``fit`` call's first step.
        raise_error: raise :class:`DivergenceError` (``True``) or only stop training and set :attr:`diverged`.

    Attributes:
        reference: the value compared with (set at the first step when not given).
        diverged: whether training diverged; :attr:`error` then holds the :class:`DivergenceError` (raised or not).

    Example:
        >>> model.fit(data, epochs=100, callbacks=[DivergenceGuard()])  # doctest: +SKIP
    """

    #: The per-step check only reads the logs, so Keras may run it in its callback thread (JAX, PyTorch).
    async_safe = True

    def __init__(
        self,
        factor: float = DIVERGENCE_FACTOR,
        monitor: str = "loss",
        reference: float | None = None,
        raise_error: bool = True,
    ):
        super().__init__()
        self.factor = check_positive_float("factor", factor)
        if self.factor <= 1:
            raise ValueError(f"`factor` must be greater than 1, got {factor!r}.")
        if not isinstance(monitor, str) or not monitor:
            raise ValueError(f"`monitor` must be the name of a log entry such as 'loss', got {monitor!r}.")
        self.monitor = monitor
        self._given_reference = None if reference is None else check_positive_float("reference", reference)
        if not isinstance(raise_error, bool):
            raise ValueError(f"`raise_error` must be True or False, got {raise_error!r}.")
        self.raise_error = raise_error
        self.reference = self._given_reference
        self.diverged = False
        self.error: DivergenceError | None = None
        self._seen = None  # (value, epoch) of the first diverged step, set from Keras' callback thread
        self._epoch = 0
        self._good = None
        self._good_epoch = None
        self._first_epoch = None
        self._reference_batch = None

    # --- the check -----------------------------------------------------------------------------------------------
    def _is_diverged(self, value) -> bool:
        if not math.isfinite(value):
            return True
        return self.reference is not None and value > self.factor * self.reference

    def _value(self, logs):
        value = (logs or {}).get(self.monitor)
        try:
            return None if value is None else float(value)
        except (TypeError, ValueError):
            return None

    # --- the last good state -------------------------------------------------------------------------------------
    def _snapshot(self):
        optimizer = self.model.optimizer
        variables = list(optimizer.variables) if optimizer is not None and optimizer.built else []
        return self.model.get_weights(), [np.array(keras.ops.convert_to_numpy(v)) for v in variables]

    def _restore(self):
        weights, optimizer_values = self._good
        self.model.set_weights(weights)
        optimizer = self.model.optimizer
        if optimizer_values and optimizer is not None:
            for variable, value in zip(optimizer.variables, optimizer_values):
                variable.assign(value)

    # --- Keras hooks ---------------------------------------------------------------------------------------------
    def on_train_begin(self, logs=None):
        self.reference = self._given_reference
        self.diverged = False
        self.error = None
        self._seen = None
        self._good = self._snapshot()
        self._good_epoch = None
        self._first_epoch = None
        self._reference_batch = None

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = int(epoch)
        if self._good_epoch is None:
            self._good_epoch = int(epoch)  # the state training starts from: `initial_epoch` finished epochs
            self._first_epoch = int(epoch)

    def on_train_batch_begin(self, batch, logs=None):
        if self._seen is not None:
            self.model.stop_training = True  # end the epoch now; on_epoch_end restores and raises

    def on_train_batch_end(self, batch, logs=None):  # may run in Keras' callback thread: only read and record
        value = self._value(logs)
        if value is None or self._seen is not None:
            return
        # The reference is the first step's loss: the earliest batch of this fit's first epoch. Keras runs these
        # hooks in a pool of threads on JAX and PyTorch, so a later step's call can arrive first: an earlier batch
        # replaces its value.
        earlier = self._reference_batch is None or batch < self._reference_batch
        if (self._given_reference is None and self._epoch == self._first_epoch and earlier and math.isfinite(value)
                and value > 0):
            self.reference, self._reference_batch = value, batch
        if self._is_diverged(value):
            self._seen = (value, self._epoch)

    def on_epoch_end(self, epoch, logs=None):
        value = self._value(logs)
        if self._seen is None and value is not None and self._is_diverged(value):
            self._seen = (value, int(epoch))
        if self._seen is None:
            self._good = self._snapshot()
            self._good_epoch = int(epoch) + 1
            return
        seen, _ = self._seen
        self._restore()
        self.diverged = True
        if not math.isfinite(seen):
            what = f"the {self.monitor} became {seen}"
        else:
            what = f"the {self.monitor} reached {seen:.4g}, {seen / self.reference:.3g} times its start "
            what += f"{self.reference:.4g} (the limit is {self.factor:g} times)"
        restored = f"epoch {self._good_epoch}" if self._good_epoch else "the start of training"
        summary = f"training diverged in epoch {int(epoch) + 1}: {what}; stopped it and restored the weights of "
        summary += f"{restored}."
        self.error = DivergenceError(
            f"{summary} Lower the learning rate, for example.", epoch=int(epoch) + 1, value=seen,
            reference=self.reference, restored_epoch=int(self._good_epoch or 0), summary=summary,
        )
        self.model.stop_training = True
        if self.raise_error:
            raise self.error
