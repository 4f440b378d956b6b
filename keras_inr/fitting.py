"""Fit an INR to a signal in one call: :func:`fit_signal`, what ``keras-inr fit`` runs.

Today the signal is an image (an array, an image file or a scikit-image sample name). :func:`fit_signal` builds the
family's model with the registry's recommended hyperparameters (:meth:`keras_inr.families.Family.recommended`),
compiles it with :func:`keras_inr.training.recommended` (learning rate, schedule), trains full batch
(:func:`keras_inr.training.full_batch`) or on random pixel batches (:class:`keras_inr.data.PixelBatches`), can back
the run up and resume it (``keras.callbacks.BackupAndRestore``), renders the result and measures it, and returns a
:class:`FitResult`. It prints nothing unless given ``verbose`` (Keras' progress output) or ``log`` (status lines).

Example::

    import keras_inr

    result = keras_inr.fit_signal("camera", "siren", size=128, steps=300)
    print(result.psnr, result.ssim)                  # dB of the full render against the 128x128 target
    result = keras_inr.fit_signal(image, "ffn", hyperparameters={"scale": 3.0}, out="runs/photo", log=print)

Training is organised in epochs of ``steps_per_epoch`` optimiser steps so that ``BackupAndRestore`` can back the run
up at every epoch end into ``out/backup``; ``resume=True`` restores weights, optimiser state (hence the position in
the learning-rate schedule) and the epoch counter from there.
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
from keras_inr.validation import check_choice, check_positive_float, check_positive_int

#: Files of ``out/backup`` that a run writes (BackupAndRestore's and the run's settings); only these are ever deleted.
BACKUP_FILES = (
    "latest.weights.h5",
    "latest.weights.h5.bkp",
    "training_metadata.json",
    "training_metadata.json.bkp",
    "run_config.json",
)


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
    save_every: int = 0,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    verbose: int = 0,
    log: Callable[[str], None] | None = None,
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
        seed: seed of the initial weights and of the pixel batches.
        out: folder for the results (``reconstruction.png``, ``comparison.png``, ``model.keras``,
            ``metrics.json``), the snapshots and the backup (``out/backup``, deleted when the run finishes);
            ``None`` writes nothing and keeps no backup.
        resume: continue the interrupted run backed up in ``out/backup``; its settings must equal this call's. Without
            a backup there, a new run starts (and ``log`` says so). Without ``resume``, a stale backup there is
            deleted -- only the files a run writes (:data:`BACKUP_FILES`); a backup folder holding other files is
            an error.
        save_every: write a PNG snapshot of the render to ``out/snapshots`` every ``save_every`` epochs; 0 never.
        callbacks: more Keras callbacks for ``model.fit`` (run after the backup and dataset callbacks).
        verbose: Keras' progress output: 0 silent, 1 progress bar, 2 one line per epoch.
        log: called with each human-readable status line (the plan, notes, the result), e.g. ``print``; ``None``
            is silent.

    Returns:
        A :class:`FitResult`.

    Raises:
        FileNotFoundError: ``signal`` names an image file that does not exist.
        ValueError: naming the argument, for an invalid one; for an unknown family or a hyperparameter the family
            does not have; for ``resume`` with settings that differ from the backed-up run's; for an ``out`` that
            is not a folder or whose ``backup`` folder holds files keras-inr did not write.
        KeyboardInterrupt: when interrupted; the last finished epoch is backed up in ``out/backup``.
    """
    from keras_inr.callbacks import DatasetEpoch, RenderSnapshots
    from keras_inr.data import PixelBatches, image_to_coordinates, load_image
    from keras_inr.training import SCHEDULES, compile_inr, full_batch, recommended

    record = families.get(family, "family")
    steps = check_positive_int("steps", steps)
    width = check_positive_int("width", width)
    depth = check_positive_int("depth", depth)
    requested_steps_per_epoch = check_positive_int("steps_per_epoch", steps_per_epoch)
    save_every = check_positive_int("save_every", save_every, allow_zero=True)
    seed = check_positive_int("seed", seed, allow_zero=True)
    check_choice("verbose", verbose, (0, 1, 2))
    if batch_size is not None:
        batch_size = check_positive_int("batch_size", batch_size)
    if not isinstance(resume, bool):
        raise ValueError(f"`resume` must be True or False, got {resume!r}.")
    if log is not None and not callable(log):
        raise ValueError(f"`log` must be a callable taking a line of text (e.g. print) or None, got {log!r}.")
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

    # --- steps as epochs (BackupAndRestore works at epoch boundaries) ---------------------------------------------
    steps_per_epoch = _largest_divisor_at_most(steps, requested_steps_per_epoch)
    epochs = steps // steps_per_epoch
    settings = {
        "image": image_id, "shape": [height, width_pixels, channels], "model": record.name, "width": width,
        "depth": depth, "hyperparameters": model_hyperparameters, "steps": steps, "steps_per_epoch": steps_per_epoch,
        "learning_rate": learning_rate, "schedule": schedule, "batch_size": batch_size, "seed": seed,
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
        resuming = _prepare_backup(backup, settings, resume, say)

    # --- model and training -------------------------------------------------------------------------------------
    keras.utils.set_random_seed(seed)
    model = record.build(channels, width=width, depth=depth, in_dims=2, **model_hyperparameters)
    compile_inr(
        model, learning_rate=learning_rate, schedule=schedule, total_steps=steps,
        final_learning_rate_fraction=defaults["final_learning_rate_fraction"],
    )
    # order matters: BackupAndRestore restores weights and the epoch counter in on_train_begin, before the others run
    fit_callbacks = [keras.callbacks.BackupAndRestore(backup_dir=str(backup))] if out is not None else []
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
        say(f"resuming at epoch {_backed_up_epoch(backup)} of {epochs} from {backup}")
    started = time.perf_counter()
    history = model.fit(dataset, epochs=epochs, verbose=verbose, callbacks=fit_callbacks, shuffle=False)
    seconds = time.perf_counter() - started
    # History lists the epochs this call ran; the first is where training started (0 or the restored epoch).
    initial_epoch = history.epoch[0] if history.epoch else epochs

    # --- evaluation and files -----------------------------------------------------------------------------------
    from keras_inr.metrics import psnr, ssim
    from keras_inr.rendering import render

    reconstruction = render(model, (height, width_pixels))
    psnr_db = psnr(image, reconstruction)
    ssim_value = ssim(image, reconstruction) if min(height, width_pixels) >= 11 else None
    steps_run = len(history.epoch) * steps_per_epoch
    files = {} if out is None else _write_results(
        out, model, image, reconstruction, record, settings,
        {"psnr": psnr_db, "ssim": ssim_value, "seconds": seconds, "steps_this_invocation": steps_run},
    )
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
        longest = check_positive_int("max_size", max_size)
        size = longest if max(height, width) > longest else None
        if size is None:
            return None
    elif max_size is not None:
        raise ValueError(f"give `size` or `max_size`, not both (got size={size!r}, max_size={max_size!r}).")
    if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
        longest = check_positive_int("size", int(size))
        factor = longest / max(height, width)
        resolved = max(1, round(height * factor)), max(1, round(width * factor))
    elif isinstance(size, (tuple, list)) and len(size) == 2:
        resolved = tuple(check_positive_int(f"size[{index}]", value) for index, value in enumerate(size))
    else:
        raise ValueError(
            f"`size` must be None, a positive int (longest side) or a (height, width) pair, got {size!r}."
        )
    return None if resolved == (height, width) else resolved  # the image's own size: nothing to resample


def _largest_divisor_at_most(number: int, limit: int) -> int:
    return max(divisor for divisor in range(1, min(number, limit) + 1) if number % divisor == 0)


def _check_out(out) -> Path:
    if not isinstance(out, (str, os.PathLike)) or not str(out):
        raise ValueError(f"`out` must be a folder path or None, got {out!r}.")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"`out` {str(out)!r} exists and is not a directory.")
    return out


def _prepare_backup(backup: Path, settings: dict, resume: bool, say) -> bool:
    """Check or clear ``backup`` and write this run's settings there; return whether the run resumes."""
    run_config_path = backup / "run_config.json"
    resuming = False
    if backup.exists():
        if not backup.is_dir():
            raise ValueError(f"{backup} exists and is not a directory; move it or choose another `out`.")
        if resume:
            previous = json.loads(run_config_path.read_text()) if run_config_path.is_file() else None
            if previous is not None and previous != settings:
                changed = sorted(k for k in set(previous) | set(settings) if previous.get(k) != settings.get(k))
                details = "; ".join(f"`{k}`: backup {previous.get(k)!r}, now {settings.get(k)!r}" for k in changed)
                raise ValueError(f"`resume` needs the settings of the interrupted run, but they differ: {details}.")
            resuming = (backup / "latest.weights.h5").is_file()
        else:
            _clear_backup(backup)  # raises, deleting nothing, if the folder holds files a run does not write
            say(f"note: {backup} held the backup of an earlier, unfinished run; deleted it to start a new run "
                "(pass `resume` to continue such a run instead). Other files in `out` are kept.")
    if resume and not resuming:
        say(f"note: `resume` given but there is no backup in {backup} to resume (finished runs delete theirs); "
            "starting a new run.")
    backup.mkdir(parents=True, exist_ok=True)
    run_config_path.write_text(json.dumps(settings, indent=1))
    return resuming


def _clear_backup(backup: Path) -> None:
    """Delete a previous run's backup files -- only the files a run writes there -- and the folder if then empty."""
    unknown = sorted(path.name for path in backup.iterdir() if path.name not in BACKUP_FILES)
    if unknown:
        raise ValueError(
            f"{backup} holds files keras-inr did not write ({', '.join(unknown)}); move them or choose another `out`."
        )
    for name in BACKUP_FILES:
        (backup / name).unlink(missing_ok=True)
    backup.rmdir()


def _backed_up_epoch(backup: Path) -> str:
    """The number of finished epochs BackupAndRestore recorded in ``backup`` (``"?"`` if unreadable), for messages."""
    try:
        return str(int(json.loads((backup / "training_metadata.json").read_text())["epoch"]))
    except (OSError, ValueError, KeyError, TypeError):
        return "?"


def _write_results(out: Path, model, image, reconstruction, record, settings: dict, summary: dict) -> dict:
    """Write the render, the comparison figure, the model and ``metrics.json`` into ``out``; return their paths."""
    from keras_inr.plotting import save_comparison, save_image

    out.mkdir(parents=True, exist_ok=True)
    files = {
        "reconstruction": save_image(out / "reconstruction.png", reconstruction),
        "comparison": save_comparison(
            out / "comparison.png", image, {record.title: reconstruction},
            title=f"{record.title}, {settings['steps']} steps",
        ),
        "model": out / "model.keras",
        "metrics": out / "metrics.json",
    }
    model.save(files["model"])
    summary = {
        **summary, "optimizer_iterations": int(keras.ops.convert_to_numpy(model.optimizer.iterations)),
        "backend": keras.backend.backend(), **settings,
    }
    files["metrics"].write_text(json.dumps(summary, indent=1))
    return files
