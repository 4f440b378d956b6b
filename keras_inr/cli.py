"""The ``keras-inr`` command line: ``keras-inr fit`` fits an INR to an image; ``keras-inr tune`` searches architectures.

Examples::

    keras-inr fit                                  # SIREN on the bundled camera image, recommended settings
    keras-inr fit photo.png --model ffn --steps 2000 --size 256 --out runs/photo
    keras-inr fit --resume --out runs/photo ...    # continue an interrupted run from its last finished epoch

The backend is Keras' (``KERAS_BACKEND`` = ``jax`` (default), ``tensorflow`` or ``torch``); ``fit`` prints it.

Training is organised in epochs of ``--steps-per-epoch`` optimiser steps so that
``keras.callbacks.BackupAndRestore`` can back the run up at every epoch end into ``OUT/backup``; ``--resume``
restores weights, optimiser state (hence the learning-rate schedule position) and the epoch counter from there.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import time
from pathlib import Path
from typing import Sequence

import keras
import numpy as np

from keras_inr.training import RECOMMENDED_MODEL

#: Per-family hyperparameters used by ``keras-inr fit`` and ``recipes/fit_image.py`` unless given on the command line.
#:
#: * SIREN ``w0`` from :data:`keras_inr.training.RECOMMENDED_MODEL` (20: the paper's 30, Sitzmann et al. 2020,
#:   https://arxiv.org/abs/2006.09661 section 3.2, over-fits the pixels with the recommended optimiser; BENCHMARKS.md).
#: * Gaussian ``inverse_scale`` and Fourier-feature ``scale`` are bandwidths for keras-inr's ``[-1, 1]`` coordinates:
#:   too low blurs, too high fits the pixels but turns the function between them to noise. Measured on the 128x128
#:   camera image, Tancik split (train on every other pixel / test on the pixels in between), width 128, depth 3,
#:   300 full-batch steps of Adam 1e-3 cosine, JAX: Gaussian s = 10 / 14 / 20 / 40 -> 23.5 / 25.4 / 33.2 / 40.5 dB
#:   train, 21.6 / 16.3 / 11.7 / 7.8 dB test; Fourier scale = 2 / 3 / 5 / 10 -> 27.5 / 35.4 / 45.1 / 25.6 dB train,
#:   24.7 / 24.4 / 20.3 / 12.0 dB test (SIREN: 50.2 / 26.2 dB). ``scale = 5`` is the paper's ``sigma = 10`` for
#:   ``[0, 1)`` coordinates (Tancik et al. 2020, https://arxiv.org/abs/2006.10739, section 6).
FAMILY_DEFAULTS = {
    "siren": {"w0": RECOMMENDED_MODEL["w0"]},
    "gauss": {"inverse_scale": 10.0},
    "ffn": {"scale": 5.0, "num_features": 256},
}

#: Which command-line option sets which model hyperparameter, per family.
FAMILY_OPTIONS = {"w0": "siren", "inverse_scale": "gauss", "scale": "ffn", "num_features": "ffn"}

#: Files of ``OUT/backup`` that a run writes (BackupAndRestore's and ours); only these are ever deleted.
BACKUP_FILES = (
    "latest.weights.h5",
    "latest.weights.h5.bkp",
    "training_metadata.json",
    "training_metadata.json.bkp",
    "run_config.json",
)


class CommandError(Exception):
    """A user error detected by the CLI: printed as ``keras-inr <command>: error: ...`` with exit code 2."""


# ----------------------------------------------------------------------------------------------------------------
# argument parsing
# ----------------------------------------------------------------------------------------------------------------
def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive finite number, got {text}")
    return value


def _size(text: str):
    """``--size``: ``native``, ``N`` (longest side, aspect ratio kept) or ``HxW``."""
    if text.lower() == "native":
        return None
    parts = text.lower().split("x")
    if len(parts) not in (1, 2):
        raise argparse.ArgumentTypeError(f"expected N, HxW or 'native', got {text!r}")
    return tuple(_positive_int(part) for part in parts) if len(parts) == 2 else _positive_int(parts[0])


def add_fit_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the options of ``keras-inr fit`` on ``parser``."""
    from keras_inr.models import FAMILIES
    from keras_inr.training import RECOMMENDED, SCHEDULES

    parser.add_argument(
        "image", nargs="?", default="camera",
        help="image file (PNG, JPEG, ...) or the name of a scikit-image sample such as 'camera' or 'astronaut' "
        "(default: camera)",
    )
    parser.add_argument("--model", default="siren", choices=sorted(FAMILIES), help="INR family (default: siren)")
    parser.add_argument("--steps", type=_positive_int, default=1000, help="optimiser steps in total (default: 1000)")
    parser.add_argument("--out", default="keras-inr-fit", help="output folder (default: ./keras-inr-fit)")
    parser.add_argument(
        "--size", type=_size, default=256,
        help="resize to N on the longest side (aspect ratio kept), to HxW, or 'native' (default: 256)",
    )
    parser.add_argument("--width", type=_positive_int, default=256, help="units per hidden layer (default: 256)")
    parser.add_argument("--depth", type=_positive_int, default=3, help="hidden layers (default: 3)")
    parser.add_argument(
        "--w0", type=_positive_float, default=None,
        help=f"SIREN omega_0 (default: {FAMILY_DEFAULTS['siren']['w0']:g})",
    )
    parser.add_argument(
        "--inverse-scale", type=_positive_float, default=None,
        help=f"Gaussian INR inverse scale s of exp(-(s z)^2) (default: {FAMILY_DEFAULTS['gauss']['inverse_scale']:g})",
    )
    parser.add_argument(
        "--scale", type=_positive_float, default=None,
        help="Fourier-feature frequency standard deviation for [-1, 1] coordinates "
        f"(default: {FAMILY_DEFAULTS['ffn']['scale']:g})",
    )
    parser.add_argument(
        "--num-features", type=_positive_int, default=None,
        help=f"number of Fourier features (default: {FAMILY_DEFAULTS['ffn']['num_features']})",
    )
    parser.add_argument(
        "--learning-rate", type=_positive_float, default=None,
        help="initial Adam learning rate (default: keras_inr.training.recommended(MODEL): "
        f"{RECOMMENDED['learning_rate']:g} for siren)",
    )
    parser.add_argument(
        "--schedule", choices=SCHEDULES, default=None,
        help=f"learning-rate schedule (default: keras_inr.training.RECOMMENDED, {RECOMMENDED['schedule']})",
    )
    parser.add_argument(
        "--batch-size", type=_positive_int, default=None,
        help="pixels per step, drawn at random each step (default: all pixels, full batch)",
    )
    parser.add_argument(
        "--steps-per-epoch", type=_positive_int, default=100,
        help="steps per epoch: the unit of progress reports, backups and snapshots (default: 100; lowered to a "
        "divisor of --steps when it does not divide it)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the initial weights and pixel batches (default: 0)")
    parser.add_argument(
        "--save-every", type=_non_negative_int, default=0,
        help="write a PNG snapshot of the reconstruction to OUT/snapshots every N epochs (default: 0, never)",
    )
    parser.add_argument(
        "--resume", action="store_true",
        help="continue the interrupted run backed up in OUT/backup (same options required)",
    )
    parser.add_argument(
        "--verbose", type=int, choices=(0, 1, 2), default=1,
        help="Keras progress output: 0 silent, 1 progress bar, 2 one line per epoch (default: 1)",
    )


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The ``keras-inr`` argument parser.

    Args:
        command: the sub-command about to be run. ``tune``'s options come from ``keras_inr.cli_tune``, which is
            imported only when ``command == "tune"`` so that ``fit`` never pays for (or breaks on) the tuner.
    """
    parser = argparse.ArgumentParser(
        prog="keras-inr", description="Implicit neural representations with Keras 3 (JAX, TensorFlow, PyTorch)."
    )
    from keras_inr import __version__

    parser.add_argument("--version", action="version", version=f"keras-inr {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    fit = commands.add_parser(
        "fit", help="fit an INR to an image",
        description="Fit a SIREN, Gaussian or Fourier-feature INR to an image; writes reconstruction.png, "
        "comparison.png (target | reconstruction | error), model.keras and metrics.json into --out.",
    )
    add_fit_arguments(fit)
    fit.set_defaults(_handler=run_fit_command)

    tune_help = "search INR architectures with KerasTuner"
    if command != "tune":
        tune = commands.add_parser("tune", help=tune_help, add_help=False)
        tune.add_argument("_rest", nargs=argparse.REMAINDER)
        return parser
    try:
        from keras_inr import cli_tune
    except ImportError as error:
        missing = getattr(error, "name", None) == "keras_inr.cli_tune"
        reason = "this installation has no keras_inr.cli_tune module" if missing else f"{error}"
        tune = commands.add_parser("tune", help=tune_help, add_help=False)
        tune.add_argument("_rest", nargs=argparse.REMAINDER)
        tune.set_defaults(_handler=lambda args: _unavailable("tune", reason))
        return parser
    tune = commands.add_parser("tune", help=tune_help, description=tune_help)
    cli_tune.add_tune_arguments(tune)
    tune.set_defaults(_handler=cli_tune.run_tune)
    return parser


def _unavailable(command: str, reason: str) -> int:
    print(f"keras-inr {command}: the {command!r} command is not available: {reason}.", file=sys.stderr)
    return 2


def _command_of(argv: Sequence[str]) -> str | None:
    """The sub-command named in ``argv`` (the first argument that is not an option)."""
    for argument in argv:
        if not argument.startswith("-"):
            return argument
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``keras-inr`` console script.

    Args:
        argv: arguments without the program name (default: ``sys.argv[1:]``).

    Returns:
        The exit code: 0 on success, 2 for bad arguments or input (with a one-line message, no traceback),
        130 when interrupted with Ctrl-C.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(_command_of(argv))
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # argparse's usage errors (code 2) and --help / --version (code 0)
        return int(exit_.code or 0)
    try:
        return int(args._handler(args) or 0)
    except (CommandError, FileNotFoundError, ValueError) as error:
        kind = "" if isinstance(error, (CommandError, ValueError)) else f"{type(error).__name__}: "
        print(f"keras-inr {args.command}: error: {kind}{error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        out = getattr(args, "out", None)
        hint = f" Continue it with the same command plus --resume (backup in {Path(out) / 'backup'})." if out else ""
        print(f"\nkeras-inr {args.command}: interrupted.{hint}", file=sys.stderr)
        return 130


# ----------------------------------------------------------------------------------------------------------------
# keras-inr fit
# ----------------------------------------------------------------------------------------------------------------
@dataclasses.dataclass
class FitResult:
    """What :func:`run_fit` produced.

    Attributes:
        model: the trained model.
        history: ``model.fit``'s History (epochs of this invocation only, when resumed).
        initial_epoch: the epoch training started from (0, or the restored epoch when resumed).
        epochs: total number of epochs of the run.
        steps_per_epoch: optimiser steps per epoch.
        psnr: PSNR (dB) of the full render against the target.
        ssim: SSIM of the full render (``None`` when the image is smaller than SSIM's 11x11 window).
        seconds: wall time of ``model.fit`` in this invocation.
        files: name -> path of the files written.
    """

    model: object
    history: object
    initial_epoch: int
    epochs: int
    steps_per_epoch: int
    psnr: float
    ssim: float | None
    seconds: float
    files: dict


def _largest_divisor_at_most(number: int, limit: int) -> int:
    return max(d for d in range(1, min(number, limit) + 1) if number % d == 0)


def _resolved_size(image_shape: tuple[int, int], size) -> tuple[int, int] | None:
    """``--size`` as ``(H, W)``; an int is the longest side and keeps the aspect ratio."""
    if size is None or isinstance(size, tuple):
        return size
    height, width = image_shape
    factor = size / max(height, width)
    return max(1, round(height * factor)), max(1, round(width * factor))


def _model_hyperparameters(args) -> dict:
    """Family hyperparameters from the defaults and the options; options of another family are an error."""
    hyperparameters = dict(FAMILY_DEFAULTS[args.model])
    for option, family in FAMILY_OPTIONS.items():
        value = getattr(args, option)
        if value is None:
            continue
        if family != args.model:
            flag = "--" + option.replace("_", "-")
            raise CommandError(f"{flag} applies to --model {family}, not --model {args.model}.")
        hyperparameters[option] = value
    return hyperparameters


def _backup_paths(out: Path) -> tuple[Path, Path]:
    backup = out / "backup"
    return backup, backup / "run_config.json"


def _clear_backup(backup: Path) -> None:
    """Delete a previous run's backup files -- only the files a run writes there -- and the folder if then empty."""
    unknown = sorted(p.name for p in backup.iterdir() if p.name not in BACKUP_FILES)
    if unknown:
        raise CommandError(
            f"{backup} holds files keras-inr did not write ({', '.join(unknown)}); move them or choose another --out."
        )
    for name in BACKUP_FILES:
        (backup / name).unlink(missing_ok=True)
    backup.rmdir()


def _backed_up_epoch(backup: Path) -> str:
    """The number of finished epochs BackupAndRestore recorded in ``backup`` (``"?"`` if unreadable)."""
    try:
        return str(int(json.loads((backup / "training_metadata.json").read_text())["epoch"]))
    except (OSError, ValueError, KeyError, TypeError):
        return "?"


def run_fit(args: argparse.Namespace, extra_callbacks: Sequence = ()) -> FitResult:
    """Run ``keras-inr fit`` with parsed arguments (see :func:`add_fit_arguments`).

    Args:
        args: the parsed options.
        extra_callbacks: more Keras callbacks for ``model.fit`` (run after the backup callback).

    Returns:
        A :class:`FitResult`.

    Raises:
        FileNotFoundError: the image file does not exist.
        ValueError / CommandError: invalid options, or ``--resume`` with options that differ from the backed-up run.
        KeyboardInterrupt: when interrupted; the last finished epoch is in ``OUT/backup``.
    """
    from keras_inr.callbacks import RenderSnapshots
    from keras_inr.data import image_to_coordinates, load_image
    from keras_inr.metrics import ssim
    from keras_inr.models import build_model
    from keras_inr.plotting import save_comparison, save_image
    from keras_inr.rendering import render
    from keras_inr.training import compile_inr, full_batch, recommended

    hyperparameters = _model_hyperparameters(args)
    defaults = recommended(args.model)  # per-family learning rate (keras_inr.training.FAMILY_RECOMMENDED)
    learning_rate = args.learning_rate if args.learning_rate is not None else defaults["learning_rate"]
    schedule = args.schedule if args.schedule is not None else defaults["schedule"]

    # --- the target -------------------------------------------------------------------------------------------
    source = str(args.image)
    image = load_image(source)
    size = _resolved_size(image.shape[:2], args.size)
    if size is not None:
        image = load_image(image, size=size)
    height, width, channels = image.shape
    coordinates, values = image_to_coordinates(image)
    pixels = coordinates.shape[0]
    batch_size = pixels if args.batch_size is None else min(args.batch_size, pixels)

    # --- steps as epochs (BackupAndRestore works at epoch boundaries) -----------------------------------------
    steps_per_epoch = _largest_divisor_at_most(args.steps, args.steps_per_epoch)
    epochs = args.steps // steps_per_epoch

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise CommandError(f"--out {str(out)!r} exists and is not a directory.")
    backup, run_config_path = _backup_paths(out)
    image_id = source if not Path(source).is_file() else str(Path(source).resolve())
    run_config = {
        "image": image_id, "shape": [height, width, channels], "model": args.model, "width": args.width,
        "depth": args.depth, "hyperparameters": hyperparameters, "steps": args.steps,
        "steps_per_epoch": steps_per_epoch, "learning_rate": learning_rate, "schedule": schedule,
        "batch_size": batch_size, "seed": args.seed,
    }

    print(f"keras-inr fit: backend {keras.backend.backend()} (choose with KERAS_BACKEND=jax|tensorflow|torch)")
    print(
        f"  image {source!r} as {height}x{width}x{channels}; model {args.model} width {args.width} depth {args.depth} "
        f"{hyperparameters}; {args.steps} steps = {epochs} epochs x {steps_per_epoch}; batch {batch_size} of "
        f"{pixels} pixels; Adam {learning_rate:g} {schedule}"
    )
    if steps_per_epoch != args.steps_per_epoch and args.steps >= args.steps_per_epoch:
        print(f"  note: --steps-per-epoch {args.steps_per_epoch} does not divide --steps {args.steps}; "
              f"using {steps_per_epoch}")

    # --- backup: resume it, or delete a stale one ----------------------------------------------------------------
    resuming = False
    if backup.exists():
        if not backup.is_dir():
            raise CommandError(f"{backup} exists and is not a directory.")
        if args.resume:
            previous = json.loads(run_config_path.read_text()) if run_config_path.is_file() else None
            if previous is not None and previous != run_config:
                changed = sorted(k for k in set(previous) | set(run_config) if previous.get(k) != run_config.get(k))
                details = "; ".join(f"{k}: backup {previous.get(k)!r}, now {run_config.get(k)!r}" for k in changed)
                raise CommandError(f"--resume needs the options of the interrupted run, but they differ: {details}.")
            resuming = (backup / "latest.weights.h5").is_file()
        else:
            _clear_backup(backup)  # raises, deleting nothing, if the folder holds files a run does not write
            print(f"  note: {backup} held the backup of an earlier, unfinished run; deleted it to start a new run "
                  "(use --resume to continue such a run instead). Other files in --out are kept.")
    if args.resume and not resuming:
        print(f"  note: --resume given but there is no backup in {backup} to resume (finished runs delete theirs); "
              "starting a new run.")
    backup.mkdir(parents=True, exist_ok=True)
    run_config_path.write_text(json.dumps(run_config, indent=1))

    # --- model and training -----------------------------------------------------------------------------------
    keras.utils.set_random_seed(args.seed)
    model = build_model(args.model, channels, width=args.width, depth=args.depth, in_dims=2, **hyperparameters)
    compile_inr(model, learning_rate=learning_rate, schedule=schedule, total_steps=args.steps)
    # order matters: BackupAndRestore restores the epoch counter in on_train_begin, then the others read it
    callbacks = [keras.callbacks.BackupAndRestore(backup_dir=str(backup))]
    if batch_size >= len(coordinates):
        # Full batch: every step sees the same batch, so nothing depends on the epoch; use the backend's fastest feed.
        dataset = full_batch(coordinates, values, steps_per_epoch)
    else:
        dataset = _PixelBatches(coordinates, values, batch_size, steps_per_epoch, seed=args.seed)
        callbacks.append(_SyncDatasetEpoch(dataset))
    if args.save_every:
        callbacks.append(RenderSnapshots((height, width), out / "snapshots", every_n_epochs=args.save_every))
    callbacks.extend(extra_callbacks)
    restore_probe = _InitialEpoch()
    callbacks.append(restore_probe)  # after BackupAndRestore, whose on_train_begin restores the epoch counter
    if resuming:
        print(f"  resuming at epoch {_backed_up_epoch(backup)} of {epochs} from {backup}")
    started = time.perf_counter()
    history = model.fit(dataset, epochs=epochs, verbose=args.verbose, callbacks=callbacks, shuffle=False)
    seconds = time.perf_counter() - started

    # --- evaluation and files -------------------------------------------------------------------------------
    reconstruction = render(model, (height, width))
    psnr_db = float(10.0 * np.log10(1.0 / np.mean((reconstruction.astype(np.float64) - image) ** 2)))
    ssim_value = ssim(image, reconstruction) if min(height, width) >= 11 else None
    out.mkdir(parents=True, exist_ok=True)
    files = {
        "reconstruction": save_image(out / "reconstruction.png", reconstruction),
        "comparison": save_comparison(
            out / "comparison.png", image, {args.model: reconstruction},
            title=f"{args.model}, {args.steps} steps",
        ),
    }
    files["model"] = out / "model.keras"
    model.save(files["model"])
    steps_run = (epochs - restore_probe.initial_epoch) * steps_per_epoch
    summary = {
        "psnr": psnr_db, "ssim": ssim_value, "seconds": seconds, "steps_this_invocation": steps_run,
        "optimizer_iterations": int(keras.ops.convert_to_numpy(model.optimizer.iterations)),
        "backend": keras.backend.backend(), **run_config,
    }
    files["metrics"] = out / "metrics.json"
    files["metrics"].write_text(json.dumps(summary, indent=1))
    ssim_text = f", SSIM {ssim_value:.4f}" if ssim_value is not None else " (SSIM needs at least 11x11 pixels)"
    per_step = f" ({1000 * seconds / steps_run:.1f} ms/step incl. compilation)" if steps_run else ""
    print(f"PSNR {psnr_db:.2f} dB{ssim_text} after {args.steps} steps; fit took {seconds:.1f} s{per_step}")
    print("wrote " + ", ".join(str(path) for path in files.values()))
    return FitResult(
        model=model, history=history, initial_epoch=restore_probe.initial_epoch, epochs=epochs,
        steps_per_epoch=steps_per_epoch, psnr=psnr_db, ssim=ssim_value, seconds=seconds, files=files,
    )


def run_fit_command(args: argparse.Namespace) -> int:
    """``keras-inr fit`` handler: :func:`run_fit`, exit code 0."""
    run_fit(args)
    return 0


class _PixelBatches(keras.utils.PyDataset):
    """``steps_per_epoch`` random batches of ``batch_size`` pixels (full batch uses ``training.full_batch``).

    Random batches are drawn without replacement within a step from a generator seeded by ``(seed, epoch, step)``,
    so a resumed run sees exactly the batches an uninterrupted one would. ``epoch`` advances in
    :meth:`on_epoch_begin`, which Keras calls before it reads (or prefetches) an epoch's batches -- a callback's
    ``on_epoch_begin`` can come after prefetching -- and :class:`_SyncDatasetEpoch` sets the first epoch.
    """

    def __init__(self, coordinates, values, batch_size: int, steps_per_epoch: int, seed: int = 0):
        super().__init__()
        self.coordinates, self.values = coordinates, values
        self.batch_size, self.steps_per_epoch, self.seed = batch_size, steps_per_epoch, seed
        self.epoch = 0
        self.next_epoch = 0

    def __len__(self) -> int:
        return self.steps_per_epoch

    def __getitem__(self, index: int):
        rng = np.random.default_rng((self.seed, self.epoch, int(index)))
        chosen = rng.choice(len(self.coordinates), size=self.batch_size, replace=False)
        return self.coordinates[chosen], self.values[chosen]

    def on_epoch_begin(self):
        self.epoch = self.next_epoch
        self.next_epoch += 1


class _SyncDatasetEpoch(keras.callbacks.Callback):
    """Start the dataset's epoch count at the epoch training starts from (after BackupAndRestore restored it)."""

    def __init__(self, dataset: _PixelBatches):
        super().__init__()
        self.dataset = dataset

    def on_train_begin(self, logs=None):
        self.dataset.next_epoch = int(getattr(self.model, "_initial_epoch", None) or 0)

    def on_epoch_begin(self, epoch, logs=None):
        if self.dataset.epoch != epoch and self.dataset.next_epoch != epoch:
            raise RuntimeError(f"pixel batches out of step: dataset epoch {self.dataset.epoch}, fit epoch {epoch}")


class _InitialEpoch(keras.callbacks.Callback):
    """Record the epoch ``fit`` starts from: 0, or the one BackupAndRestore restored (it must run after it)."""

    def __init__(self):
        super().__init__()
        self.initial_epoch = 0

    def on_train_begin(self, logs=None):
        self.initial_epoch = int(getattr(self.model, "_initial_epoch", None) or 0)


if __name__ == "__main__":
    sys.exit(main())
