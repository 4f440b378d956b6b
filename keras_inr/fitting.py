"""Fit an INR to a signal in one call: :func:`fit_signal`, what ``keras-inr fit`` runs.

Today the signal is an image (an array, an image file or a scikit-image sample name). :func:`fit_signal` builds the
family's model with the registry's recommended hyperparameters (:meth:`keras_inr.families.Family.recommended`),
compiles it with :func:`keras_inr.training.recommended` (learning rate, schedule), trains full batch
(:func:`keras_inr.training.full_batch`) or on random pixel batches (:class:`keras_inr.data.PixelBatches`), can back
the run up and resume it (:class:`keras_inr.callbacks.EpochBackup`), renders the result and measures it, and returns a
:class:`FitResult`. It prints nothing unless given ``verbose`` (Keras' progress output) or ``log`` (status lines).

Example::

    import keras_inr

    result = keras_inr.fit_signal("camera", "siren", size=128, steps=300)
    print(result.psnr, result.ssim)                  # dB of the full render against the 128x128 target
    result = keras_inr.fit_signal(image, "ffn", hyperparameters={"scale": 3.0}, out="runs/photo", log=print)

Training is organised in epochs of ``steps_per_epoch`` optimiser steps so that the run is backed up at every epoch
end into ``out/backup``; ``resume=True`` restores weights, optimiser state (hence the position in the learning-rate
schedule) and the epoch counter from there.

What a run with ``out`` guarantees (``keras-inr fit`` is such a run):

* Ctrl-C stops it at the next step on every backend (:class:`keras_inr.callbacks.StopOnInterrupt`) with
  ``KeyboardInterrupt``; the backup of the last finished epoch is kept, and ``resume=True`` continues from it.
* No file is ever half-written: the backups, ``model.keras``, ``metrics.json``, the figures and the snapshots are
  written under temporary names and renamed when complete (:mod:`keras_inr.safe_files`). The previous backup is
  kept until the next one is complete, and ``resume`` falls back to it if the newest cannot be loaded. The backup is
  deleted only after every result file is written, so an interrupt at any point loses at most the unfinished epoch.
* The results of an earlier run in ``out`` (and the backup of an unfinished one) are never replaced or deleted
  unless ``overwrite=True``; ``resume=True`` continues an unfinished run in place. Files keras-inr did not write are
  never deleted.
* A diverged run (NaN or exploded loss, :class:`keras_inr.callbacks.DivergenceGuard`) stops with
  :class:`keras_inr.callbacks.DivergenceError`, the model holding the last good weights; the previous results in
  ``out`` are left untouched.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np

from keras_inr import families
from keras_inr.validation import check_choice, check_positive_float, check_positive_int, check_seed

#: Files of ``out/backup`` a run writes besides :class:`keras_inr.callbacks.EpochBackup`'s backups (the run's settings,
#: and the names of the Keras ``BackupAndRestore`` backups of earlier keras-inr versions); only these, the backups and
#: their temporary names are ever deleted there.
BACKUP_FILES = (
    "run_config.json",
    "latest.weights.h5",
    "latest.weights.h5.bkp",
    "training_metadata.json",
    "training_metadata.json.bkp",
)

#: The result files a run writes into ``out``; an existing one is replaced only with ``overwrite=True``.
RESULT_FILES = ("reconstruction.png", "comparison.png", "model.keras", "metrics.json")

#: The largest image side (pixels) :func:`fit_signal` resizes to (``size``, ``max_size``; ``keras-inr fit --size``):
#: 8192 x 8192 = 67M pixels already take 0.8 GB as float32 coordinates and values, and far longer to fit than the CLI
#: is meant for. An image larger than this is fitted at its own size only when asked for (``size=None``).
MAX_IMAGE_SIDE = 8192


#: :func:`fit_signal`'s ``output_bias`` choices.
OUTPUT_BIASES = ("mean", "zeros")


def centre_output_bias(model: keras.Model, values) -> bool:
    """Set the output layer's bias of ``model`` to the per-channel mean of ``values`` (building the model if needed).

    An INR ends in a linear layer, ``h W + b``. SIREN's initialisation (Sitzmann et al. 2020,
    https://arxiv.org/abs/2006.09661, section 3.2) makes ``h W`` a zero-mean signal of small amplitude, so a target
    in ``[0, 1]`` leaves the network to learn the mean first; the reference fits images mapped to ``[-1, 1]``.
    Starting ``b`` at the data mean makes the residual to learn zero-centred without changing what the model
    outputs: it keeps mapping coordinates to values on the data's own scale, so rendering and saved models need
    nothing undone. :func:`fit_signal` does this by default (``output_bias="mean"``); measurements in
    BENCHMARKS.md, "Family defaults".

    Args:
        model: a keras-inr model (:class:`keras_inr.models.CoordinateMLP` or a subclass: anything with an
            ``output_layer`` that has a ``bias``); built for ``(None, model.in_dims)`` inputs if not built yet.
        values: ``(N, out_dims)`` target values, real and finite.

    Returns:
        ``True`` if the bias was set; ``False`` (model unchanged) if the model has no ``output_layer`` with a bias.

    Raises:
        ValueError: naming ``values`` when it is not a 2-D array of real, finite numbers with one column per output.
    """
    from keras_inr.validation import check_real_array

    values = check_real_array("values", values, ndim=2)
    layer = getattr(model, "output_layer", None)
    if layer is None:
        return False
    if not model.built:
        model.build((None, int(getattr(model, "in_dims", None) or 2)))
    bias = getattr(layer, "bias", None)
    if bias is None:
        return False
    mean = np.asarray(values, np.float64).mean(axis=0)
    if not bias.shape or tuple(bias.shape)[0] != mean.shape[0]:
        raise ValueError(
            f"`values` must have {tuple(bias.shape)[:1]} column(s), one per model output, got shape {values.shape}."
        )
    new = np.array(keras.ops.convert_to_numpy(bias), np.float64)
    if new.ndim == 2:  # a complex output layer's bias, (units, [real, imaginary]): the output is the real part
        new[:, 0] = mean
    else:
        new = mean
    bias.assign(new.astype(keras.backend.standardize_dtype(bias.dtype)))
    return True


@dataclasses.dataclass
class FitResult:
    """What :func:`fit_signal` produced.

    Attributes:
        model: the trained Keras model.
        history: ``model.fit``'s ``History`` (the epochs of this call only, when resumed).
        psnr: PSNR in dB of the full render against the target (:func:`keras_inr.metrics.psnr`).
        ssim: SSIM of the full render (:func:`keras_inr.metrics.ssim`), ``None`` when the image is smaller than
            SSIM's 11x11 window.
        reconstruction: the full render, ``float32`` ``(H, W, C)`` as the model outputs it (not clipped).
        target: the image fitted, ``float32`` ``(H, W, C)`` in ``[0, 1]`` (after resizing).
        seconds: wall time of ``model.fit`` in this call (compilation included).
        files: name -> path of the files written into ``out`` (empty without ``out``).
        initial_epoch: the epoch training started from: 0, or the epoch restored from the backup.
        epochs: number of epochs of the whole run.
        steps_per_epoch: optimiser steps per epoch.
        settings: the run's resolved settings (``image``, ``shape``, ``model`` (the family name), ``width``,
            ``depth``, ``hyperparameters``, ``steps``, ``steps_per_epoch``, ``learning_rate``, ``schedule``,
            ``batch_size``, ``seed``), as stored in ``out/backup/run_config.json``
            and ``out/metrics.json``.
    """

    model: keras.Model
    history: keras.callbacks.History
    psnr: float
    ssim: float | None
    reconstruction: np.ndarray
    target: np.ndarray
    seconds: float
    files: dict
    initial_epoch: int
    epochs: int
    steps_per_epoch: int
    settings: dict


def fit_signal(
    signal,
    family: str = "siren",
    *,
    size=None,
    max_size: int | None = None,
    steps: int = 1000,
    width: int = 256,
    depth: int = 3,
    hyperparameters: Mapping[str, Any] | None = None,
    learning_rate: float | None = None,
    schedule: str | None = None,
    batch_size: int | None = None,
    steps_per_epoch: int = 100,
    seed: int = 0,
    out=None,
    resume: bool = False,
    overwrite: bool = False,
    save_every: int = 0,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    divergence_factor: float | None = None,
    output_bias: str = "mean",
    verbose: int = 0,
    log: Callable[[str], None] | None = None,
    distribution=None,
) -> FitResult:
    """Fit an INR of a registered family to an image with keras-inr's recommended settings; return the result.

    Args:
        signal: the image: an ``(H, W)`` or ``(H, W, C)`` array (see :func:`keras_inr.data.as_image`), a path to an
            image file, or the name of a scikit-image sample such as ``"camera"``
            (:data:`keras_inr.data.SAMPLE_IMAGES`).
        family: a registered family name (:func:`keras_inr.families.names`), e.g. ``"siren"``, ``"gauss"``,
            ``"ffn"``, or one registered with :func:`keras_inr.families.register`.
        size: ``None`` keeps the image's size; an int resizes its longest side to ``size`` keeping the aspect ratio
            (as ``keras-inr fit --size N``); ``(H, W)`` resizes to exactly that.
        max_size: with ``size=None``, downscale (never upscale) so that the longest side is at most ``max_size``,
            keeping the aspect ratio; ``None`` keeps the size (``keras-inr fit`` passes 256 unless given ``--size``).
        steps: optimiser steps of the whole run; positive.
        width, depth: units per hidden layer and number of hidden layers; positive (the defaults are
            :data:`keras_inr.training.RECOMMENDED_MODEL`'s).
        hyperparameters: the family's hyperparameters (name -> value), overriding the registry's recommended values
            (e.g. ``{"w0": 30.0}`` for SIREN); names of other families are an error.
        learning_rate: initial Adam learning rate; ``None`` takes the family's recommended one
            (:func:`keras_inr.training.recommended`).
        schedule: ``"constant"`` or ``"cosine"`` (decaying over ``steps``); ``None`` takes the recommended one.
        batch_size: pixels per step, drawn at random each step (:class:`keras_inr.data.PixelBatches`); ``None`` (or
            at least the number of pixels) trains full batch.
        steps_per_epoch: steps per epoch, the unit of progress output, backups and snapshots; positive. Lowered to
            the largest divisor of ``steps`` not above it when it does not divide ``steps``.
        seed: seed of the initial weights and of the pixel batches, an integer in ``[0, 2**32 - 1]``.
        out: folder for the results (``reconstruction.png``, ``comparison.png``, ``model.keras``,
            ``metrics.json``), the snapshots and the backup (``out/backup``, deleted once the results are written);
            ``None`` writes nothing and keeps no backup. Every file is written atomically (see the module's notes).
        resume: continue the interrupted run backed up in ``out/backup``; its settings must equal this call's. Without
            a backup there, a new run starts (and ``log`` says so) -- unless ``out`` holds the results of a finished
            run, which only ``overwrite`` may replace.
        overwrite: allow replacing the results of an earlier run in ``out`` (:data:`RESULT_FILES`, and the snapshots
            when ``save_every``) and deleting the backup of an unfinished one (only the files a run writes there).
            Without it such an ``out`` is an error, and nothing is written. The old results stay until the new ones
            are complete.
        save_every: write a PNG snapshot of the render to ``out/snapshots`` every ``save_every`` epochs; 0 never.
        callbacks: more Keras callbacks for ``model.fit`` (run after the interrupt, divergence, backup and dataset
            callbacks).
        divergence_factor: the :class:`keras_inr.callbacks.DivergenceGuard` that stops a diverged run counts a loss
            above this many times its first step's as exploded; ``None`` takes
            :data:`keras_inr.callbacks.DIVERGENCE_FACTOR` (NaN and infinite losses always count).
        output_bias: ``"mean"`` (default) starts the output layer's bias at the image's per-channel mean
            (:func:`centre_output_bias`), so that the network starts from zero-centred residuals, as SIREN's
            initialisation assumes, while the model still maps coordinates to the image's own ``[0, 1]`` values
            (nothing to undo when rendering or loading ``model.keras``); ``"zeros"`` keeps the layer's own
            initialiser (the behaviour before this option). Why: BENCHMARKS.md, "Family defaults". Without effect
            when resuming (the backup's weights are restored).
        verbose: Keras' progress output: 0 silent, 1 progress bar, 2 one line per epoch.
        log: called with each human-readable status line (the plan, notes, the result), e.g. ``print``; ``None``
            is silent.
        distribution: ``None`` (one device, or the distribution or ``tf.distribute`` strategy scope the caller
            opened), ``"data_parallel"`` (every device, weights replicated, each step's batch split over the
            devices: :func:`keras_inr.distribution.data_parallel` on JAX,
            :func:`keras_inr.distribution.mirrored_strategy` on TensorFlow; PyTorch has none), a
            ``keras.distribution.DataParallel``/``ModelParallel`` (JAX) or a ``tf.distribute.Strategy``
            (TensorFlow). The batch (the pixel count when full batch) must divide over the devices.

    Returns:
        A :class:`FitResult`.

    Raises:
        FileNotFoundError: ``signal`` names an image file that does not exist.
        ValueError: naming the argument, for an invalid one; for an unknown family or a hyperparameter the family
            does not have; for ``resume`` with settings that differ from the backed-up run's; for an ``out`` that
            is not a folder, holds an earlier run's results or backup (without ``overwrite``), or whose ``backup``
            folder holds files keras-inr did not write.
        keras_inr.callbacks.DivergenceError: the loss became NaN or infinite or exploded, or the fitted model
            renders NaN or infinite values; nothing was written into ``out`` but the backup of the last good epoch.
        KeyboardInterrupt: when interrupted; the last finished epoch is backed up in ``out/backup``.
    """
    from keras_inr.distribution import resolve_distribution, scope

    # the whole run (model, optimiser, fit, render) inside the distribution's scope, if there is one
    with scope(resolve_distribution(distribution)):
        return _fit_signal(
            signal, family, size=size, max_size=max_size, steps=steps, width=width, depth=depth,
            hyperparameters=hyperparameters, learning_rate=learning_rate, schedule=schedule, batch_size=batch_size,
            steps_per_epoch=steps_per_epoch, seed=seed, out=out, resume=resume, overwrite=overwrite,
            save_every=save_every, callbacks=callbacks, divergence_factor=divergence_factor, output_bias=output_bias,
            verbose=verbose, log=log,
        )


def _fit_signal(
    signal, family: str, *, size, max_size: int | None, steps: int, width: int, depth: int,
    hyperparameters: Mapping[str, Any] | None, learning_rate: float | None, schedule: str | None,
    batch_size: int | None, steps_per_epoch: int, seed: int, out, resume: bool, overwrite: bool, save_every: int,
    callbacks: Sequence[keras.callbacks.Callback], divergence_factor: float | None, output_bias: str, verbose: int,
    log: Callable[[str], None] | None,
) -> FitResult:
    """:func:`fit_signal`'s run, in the distribution scope :func:`fit_signal` opened (if any); same arguments."""
    from keras_inr.callbacks import (
        DIVERGENCE_FACTOR,
        DatasetEpoch,
        DivergenceError,
        DivergenceGuard,
        EpochBackup,
        RenderSnapshots,
        StopOnInterrupt,
        restore_backup,
    )
    from keras_inr.data import PixelBatches, image_to_coordinates, load_image
    from keras_inr.training import SCHEDULES, compile_inr, full_batch, recommended

    record = families.get(family, "family")
    steps = check_positive_int("steps", steps)
    width = check_positive_int("width", width)
    depth = check_positive_int("depth", depth)
    requested_steps_per_epoch = check_positive_int("steps_per_epoch", steps_per_epoch)
    save_every = check_positive_int("save_every", save_every, allow_zero=True)
    seed = check_positive_int("seed", seed, allow_zero=True)
    seed = check_seed("seed", seed, allow_none=False)  # at most 2**32 - 1: what numpy's and the backends' RNGs take
    check_choice("verbose", verbose, (0, 1, 2))
    if batch_size is not None:
        batch_size = check_positive_int("batch_size", batch_size)
    for name, flag in (("resume", resume), ("overwrite", overwrite)):
        if not isinstance(flag, bool):
            raise ValueError(f"`{name}` must be True or False, got {flag!r}.")
    divergence_factor = DIVERGENCE_FACTOR if divergence_factor is None else check_positive_float(
        "divergence_factor", divergence_factor
    )
    if divergence_factor <= 1:
        raise ValueError(f"`divergence_factor` must be greater than 1, got {divergence_factor!r}.")
    if log is not None and not callable(log):
        raise ValueError(f"`log` must be a callable taking a line of text (e.g. print) or None, got {log!r}.")
    output_bias = check_choice("output_bias", output_bias, OUTPUT_BIASES)
    callbacks = list(callbacks)
    for callback in callbacks:
        if not isinstance(callback, keras.callbacks.Callback):
            raise ValueError(f"`callbacks` must hold keras.callbacks.Callback objects, got {callback!r}.")
    if out is None and (resume or save_every):
        name = "resume" if resume else "save_every"
        raise ValueError(f"`{name}` needs `out`, the folder for the backup and the snapshots.")
    say = log if log is not None else (lambda line: None)

    # --- settings: the registry's recommendations, overridden by the arguments --------------------------------------
    given = {**record.recommended(), **dict(_check_mapping(hyperparameters))}
    checked = record.check_hyperparameters(given, "hyperparameters")
    model_hyperparameters = {name: checked[name] for name in given}
    defaults = recommended(record.name)
    learning_rate = defaults["learning_rate"] if learning_rate is None else check_positive_float(
        "learning_rate", learning_rate
    )
    schedule = defaults["schedule"] if schedule is None else check_choice("schedule", schedule, SCHEDULES)

    # --- the target ---------------------------------------------------------------------------------------------
    image, source, image_id = _load_target(signal)
    target_size = resolve_size(image.shape[:2], size, max_size)
    if target_size is not None:
        image = load_image(image, size=target_size)
    height, width_pixels, channels = image.shape
    coordinates, values = image_to_coordinates(image)
    pixels = coordinates.shape[0]
    batch_size = pixels if batch_size is None else min(batch_size, pixels)
    from keras_inr.distribution import check_batch_size

    # several devices (a distribution or tf.distribute strategy in effect): each step's batch must split evenly
    check_batch_size(batch_size, what=f"every pixel of {height}x{width_pixels}" if batch_size == pixels else "")

    # --- steps as epochs (BackupAndRestore works at epoch boundaries) ---------------------------------------------
    steps_per_epoch = _largest_divisor_at_most(steps, requested_steps_per_epoch)
    epochs = steps // steps_per_epoch
    settings = {
        "image": image_id, "shape": [height, width_pixels, channels], "model": record.name, "width": width,
        "depth": depth, "hyperparameters": model_hyperparameters, "steps": steps, "steps_per_epoch": steps_per_epoch,
        "learning_rate": learning_rate, "schedule": schedule, "batch_size": batch_size, "seed": seed,
        "output_bias": output_bias,
    }
    say(
        f"image {source} as {height}x{width_pixels}x{channels}; model {record.name} width {width} depth {depth} "
        f"{model_hyperparameters}; {steps} steps = {epochs} epochs x {steps_per_epoch}; batch {batch_size} of "
        f"{pixels} pixels; Adam {learning_rate:g} {schedule}"
    )
    if steps_per_epoch != requested_steps_per_epoch and steps >= requested_steps_per_epoch:
        say(f"note: `steps_per_epoch` {requested_steps_per_epoch} does not divide `steps` {steps}; using "
            f"{steps_per_epoch}")

    # --- output folder and backup: resume it, or delete a stale one ---------------------------------------------
    resuming = False
    if out is not None:
        out = _check_out(out)
        backup = out / "backup"
        resuming = _prepare_out(out, settings, resume, overwrite, save_every, say)

    # --- model and training -------------------------------------------------------------------------------------
    keras.utils.set_random_seed(seed)
    model = record.build(channels, width=width, depth=depth, in_dims=2, **model_hyperparameters)
    if output_bias == "mean" and not centre_output_bias(model, values):
        say(f"note: {type(model).__name__} has no `output_layer` with a bias; `output_bias` 'mean' not applied")
    compile_inr(
        model, learning_rate=learning_rate, schedule=schedule, total_steps=steps,
        final_learning_rate_fraction=defaults["final_learning_rate_fraction"],
    )
    initial_epoch, backed_up = 0, {}
    if resuming:
        try:
            initial_epoch, backed_up = restore_backup(model, backup, log=say)  # the newest that loads
        except ValueError as error:
            raise ValueError(f"`resume`: {error} Start a new run with `overwrite` instead.") from None
    reference = backed_up.get("reference_loss")  # the first step's loss of the run being resumed
    guard = DivergenceGuard(
        factor=divergence_factor,
        reference=reference if isinstance(reference, (int, float)) and 0 < reference < float("inf") else None,
    )
    # order matters: the guard restores the last good weights and raises before a diverged epoch is backed up
    stop = StopOnInterrupt()
    fit_callbacks = [stop, guard]
    if out is not None:
        fit_callbacks.append(EpochBackup(backup, metadata=lambda: {"reference_loss": guard.reference}))
    if batch_size >= pixels:
        # Full batch: every step sees the same batch, so nothing depends on the epoch; the backend's fastest feed.
        dataset = full_batch(coordinates, values, steps_per_epoch)
    else:
        dataset = PixelBatches(coordinates, values, batch_size, steps_per_epoch, seed=seed)
        fit_callbacks.append(DatasetEpoch(dataset))
    if save_every:
        fit_callbacks.append(RenderSnapshots((height, width_pixels), out / "snapshots", every_n_epochs=save_every))
    fit_callbacks.extend(callbacks)
    if resuming:
        say(f"resuming at epoch {initial_epoch} of {epochs} from {backup}")
    started = time.perf_counter()
    with stop:  # Ctrl-C: KeyboardInterrupt at the next step, on every backend
        try:
            history = model.fit(
                dataset, epochs=epochs, initial_epoch=initial_epoch, verbose=verbose, callbacks=fit_callbacks,
                shuffle=False,
            )
        except DivergenceError as error:
            raise _diverged(error, model, settings, out) from None
        stop.check()  # pressed during the last step: stop before writing anything
    seconds = time.perf_counter() - started

    # --- evaluation and files -----------------------------------------------------------------------------------
    from keras_inr.metrics import psnr, ssim
    from keras_inr.rendering import render

    reconstruction = render(model, (height, width_pixels))
    if not np.all(np.isfinite(reconstruction)):
        bad = int(np.size(reconstruction) - np.count_nonzero(np.isfinite(reconstruction)))
        raise _diverged(DivergenceError(
            f"the fitted model's output (its render at {height}x{width_pixels}) holds {bad} NaN or infinite "
            "value(s): its weights are not finite.", epoch=epochs, value=float("nan"), reference=None,
            restored_epoch=initial_epoch,
        ), model, settings, out)
    psnr_db = psnr(image, reconstruction)
    ssim_value = ssim(image, reconstruction) if min(height, width_pixels) >= 11 else None
    steps_run = len(history.epoch) * steps_per_epoch
    files = {} if out is None else _write_results(
        out, model, image, reconstruction, record, settings,
        {"psnr": psnr_db, "ssim": ssim_value, "seconds": seconds, "steps_this_invocation": steps_run},
    )
    if out is not None:
        _clear_backup(backup)  # only now that every result is safely written
    ssim_text = f", SSIM {ssim_value:.4f}" if ssim_value is not None else " (SSIM needs at least 11x11 pixels)"
    per_step = f" ({1000 * seconds / steps_run:.1f} ms/step incl. compilation)" if steps_run else ""
    steps_done = int(keras.ops.convert_to_numpy(model.optimizer.iterations))  # fewer than `steps` if stopped early
    say(f"PSNR {psnr_db:.2f} dB{ssim_text} after {steps_done} steps; fit took {seconds:.1f} s{per_step}")
    if files:
        say("wrote " + ", ".join(str(path) for path in files.values()))
    return FitResult(
        model=model, history=history, psnr=psnr_db, ssim=ssim_value, reconstruction=reconstruction, target=image,
        seconds=seconds, files=files, initial_epoch=initial_epoch, epochs=epochs, steps_per_epoch=steps_per_epoch,
        settings=settings,
    )


# ----------------------------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------------------------
def _check_mapping(hyperparameters) -> Mapping:
    if hyperparameters is None:
        return {}
    if not isinstance(hyperparameters, Mapping):
        raise ValueError(f"`hyperparameters` must be a dict of the family's hyperparameters, got {hyperparameters!r}.")
    return hyperparameters


def _load_target(signal) -> tuple[np.ndarray, str, str]:
    """``(image, description for messages, identity for the resume check)`` of ``signal``."""
    from keras_inr.data import as_image, load_image

    if isinstance(signal, np.ndarray) or keras.ops.is_tensor(signal):
        image = as_image(np.asarray(keras.ops.convert_to_numpy(signal)), name="signal")
        digest = hashlib.sha256(np.ascontiguousarray(image).tobytes()).hexdigest()[:16]
        return image, f"array {tuple(np.shape(signal))}", f"array sha256:{digest} shape {list(image.shape)}"
    if not isinstance(signal, (str, os.PathLike)):
        raise ValueError(
            f"`signal` must be an image array, an image file path or a sample image name, got "
            f"{type(signal).__name__}."
        )
    image = load_image(signal)
    path = Path(signal)
    return image, repr(str(signal)), str(path.resolve()) if path.is_file() else str(signal)


def resolve_size(image_shape: tuple[int, int], size=None, max_size: int | None = None) -> tuple[int, int] | None:
    """The ``(H, W)`` to resize an image of ``image_shape`` to, or ``None`` to keep its size (as :func:`fit_signal`
    and ``keras-inr tune`` do).

    Args:
        image_shape: the image's ``(H, W)``.
        size: ``None`` (see ``max_size``), an int (the longest side, aspect ratio kept) or ``(H, W)``.
        max_size: with ``size=None``, the largest longest side: larger images are downscaled to it, smaller ones
            kept (never upscaled); ``None`` keeps the size.
    """
    height, width = (int(side) for side in image_shape)
    if size is None:
        if max_size is None:
            return None
        longest = _check_side("max_size", max_size)
        size = longest if max(height, width) > longest else None
        if size is None:
            return None
    elif max_size is not None:
        raise ValueError(f"give `size` or `max_size`, not both (got size={size!r}, max_size={max_size!r}).")
    if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
        longest = _check_side("size", int(size))
        factor = longest / max(height, width)
        resolved = max(1, round(height * factor)), max(1, round(width * factor))
    elif isinstance(size, (tuple, list)) and len(size) == 2:
        resolved = tuple(_check_side(f"size[{index}]", value) for index, value in enumerate(size))
    else:
        raise ValueError(
            f"`size` must be None, a positive int (longest side) or a (height, width) pair, got {size!r}."
        )
    return None if resolved == (height, width) else resolved  # the image's own size: nothing to resample


def _check_side(name: str, value) -> int:
    value = check_positive_int(name, value)
    if value > MAX_IMAGE_SIDE:
        raise ValueError(
            f"`{name}` must be at most {MAX_IMAGE_SIDE} pixels (keras_inr.fitting.MAX_IMAGE_SIDE), got {value}."
        )
    return value


def _largest_divisor_at_most(number: int, limit: int) -> int:
    return max(divisor for divisor in range(1, min(number, limit) + 1) if number % divisor == 0)


def _check_out(out) -> Path:
    if not isinstance(out, (str, os.PathLike)) or not str(out):
        raise ValueError(f"`out` must be a folder path or None, got {out!r}.")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"`out` {str(out)!r} exists and is not a directory.")
    return out


def _read_run_config(path: Path) -> dict | None:
    """The settings a run stored in ``backup/run_config.json``; ``None`` if there are none."""
    if not path.is_file():
        return None
    try:
        settings = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise ValueError(f"cannot read the backed-up run's settings from {path}: {error}") from None
    if not isinstance(settings, dict):
        raise ValueError(f"cannot read the backed-up run's settings from {path}: not a JSON object.")
    return settings


def _existing_results(out: Path, save_every: int) -> list[str]:
    """The result files of an earlier run in ``out`` that this run would replace."""
    names = [name for name in RESULT_FILES if (out / name).exists()]
    snapshots = out / "snapshots"
    if save_every and snapshots.is_dir() and any(snapshots.iterdir()):
        names.append("snapshots/")
    return names


def _prepare_out(out: Path, settings: dict, resume: bool, overwrite: bool, save_every: int, say) -> bool:
    """Check ``out`` before anything is written: resume its backup, or make sure a new run replaces nothing it may
    not; write this run's settings into ``out/backup``. Return whether the run resumes."""
    from keras_inr.callbacks import backed_up_epochs
    from keras_inr.safe_files import write_text

    backup = out / "backup"
    if backup.exists() and not backup.is_dir():
        raise ValueError(f"{backup} exists and is not a directory; move it or choose another `out`.")
    backed_up = backed_up_epochs(backup)
    run_config_path = backup / "run_config.json"
    if resume and backed_up:
        previous = _read_run_config(run_config_path)
        if previous is not None:  # backed up before `output_bias` existed; the restored weights decide it anyway
            previous.setdefault("output_bias", settings.get("output_bias"))
        if previous is not None and previous != settings:
            changed = sorted(k for k in set(previous) | set(settings) if previous.get(k) != settings.get(k))
            details = "; ".join(f"`{k}`: backup {previous.get(k)!r}, now {settings.get(k)!r}" for k in changed)
            raise ValueError(f"`resume` needs the settings of the interrupted run, but they differ: {details}.")
        if previous is None:
            write_text(run_config_path, json.dumps(settings, indent=1))
        return True

    results = _existing_results(out, save_every)
    if resume and results and not overwrite:
        raise ValueError(
            f"`resume`: there is no backup to resume in {backup} (a run deletes it when it finishes), and `out` "
            f"holds the results of a finished run ({', '.join(results)}); pass `overwrite` to replace them with a "
            "new run, or choose another `out`."
        )
    if backed_up:
        if not overwrite:
            previous = _read_run_config(run_config_path) or {}
            of = ""
            if isinstance(previous.get("steps"), int) and isinstance(previous.get("steps_per_epoch"), int):
                of = f" of {previous['steps'] // max(1, previous['steps_per_epoch'])}"
            raise ValueError(
                f"`out` {str(out)!r} holds the backup of an unfinished run (epoch {backed_up[0]}{of} in {backup}); "
                "pass `resume` to continue it, or `overwrite` to delete it and start a new run."
            )
        _clear_backup(backup)  # raises, deleting nothing, if the folder holds files a run does not write
        say(f"note: deleted the backup of an unfinished run in {backup} to start a new run (`overwrite`).")
    elif results and not overwrite:
        raise ValueError(
            f"`out` {str(out)!r} already holds the results of a run ({', '.join(results)}); pass `overwrite` to "
            "replace them, or choose another `out`."
        )
    elif backup.exists():
        _clear_backup(backup)  # settings without any backup (a run stopped before its first epoch): nothing to keep
    if resume:
        say(f"note: `resume` given but there is no backup in {backup} to resume (finished runs delete theirs); "
            "starting a new run.")
    backup.mkdir(parents=True, exist_ok=True)
    write_text(run_config_path, json.dumps(settings, indent=1))
    return False


def _is_backup_file(name: str) -> bool:
    from keras_inr.callbacks import is_backup_file
    from keras_inr.safe_files import is_partial, partial_path

    if name in BACKUP_FILES or is_backup_file(name):
        return True
    return is_partial(name) and any(partial_path(known).name == name for known in BACKUP_FILES)


def _clear_backup(backup: Path) -> None:
    """Delete a run's backup files -- only the files a run writes there -- and the folder if then empty.

    The backups go first and the settings last, so that an interrupt while deleting leaves a backup that still
    resumes.
    """
    if not backup.is_dir():
        return
    names = [path.name for path in backup.iterdir()]
    unknown = sorted(name for name in names if not _is_backup_file(name))
    if unknown:
        raise ValueError(
            f"{backup} holds files keras-inr did not write ({', '.join(unknown)}); move them or choose another `out`."
        )
    for name in sorted(names, key=lambda name: name in BACKUP_FILES):
        (backup / name).unlink(missing_ok=True)
    backup.rmdir()


def _diverged(error, model, settings: dict, out: Path | None):
    """``error`` (a :class:`keras_inr.callbacks.DivergenceError`) told in fit_signal's terms, with ``model``."""
    from keras_inr.callbacks import DivergenceError, backed_up_epochs

    message = f"{error.summary} Lower `learning_rate` ({settings['learning_rate']:g} now)."
    if out is not None:
        backed_up = backed_up_epochs(out / "backup")
        if not backed_up:
            _clear_backup(out / "backup")  # only this run's settings: nothing worth keeping
        kept = f"; the last good epoch's backup ({backed_up[0]}) is kept in {out / 'backup'}" if backed_up else ""
        message += f" Nothing in {out} was replaced{kept}."
        if backed_up:
            message += " Start again with `overwrite` to delete it."
    new = DivergenceError(message, error.epoch, error.value, error.reference, error.restored_epoch, error.summary)
    new.model = model
    return new


def _write_results(out: Path, model, image, reconstruction, record, settings: dict, summary: dict) -> dict:
    """Write the render, the comparison figure, the model and ``metrics.json`` into ``out``; return their paths.

    Every file is first written in full under a temporary name; the earlier files (if any) are then replaced by
    renames in one quick burst, so an interrupt leaves either the earlier complete file or the new one.
    """
    import contextlib

    from keras_inr.plotting import save_comparison, save_image
    from keras_inr.safe_files import commit, staged_path

    out.mkdir(parents=True, exist_ok=True)
    files = {
        "reconstruction": out / "reconstruction.png",
        "comparison": out / "comparison.png",
        "model": out / "model.keras",
        "metrics": out / "metrics.json",
    }
    summary = {
        **summary, "optimizer_iterations": int(keras.ops.convert_to_numpy(model.optimizer.iterations)),
        "backend": keras.backend.backend(), **settings,
    }
    with contextlib.ExitStack() as stack:
        staged = {name: stack.enter_context(staged_path(path)) for name, path in files.items()}
        save_image(staged["reconstruction"], reconstruction)
        save_comparison(
            staged["comparison"], image, {record.title: reconstruction},
            title=f"{record.title}, {settings['steps']} steps",
        )
        model.save(staged["model"])
        staged["metrics"].write_text(json.dumps(summary, indent=1))
    for path in files.values():
        commit(path)
    return files
