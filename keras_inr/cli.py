"""The ``keras-inr`` command line: ``keras-inr fit`` fits an INR to an image; ``keras-inr tune`` searches architectures.

Examples::

    keras-inr fit                                  # SIREN on the bundled camera image, recommended settings
    keras-inr fit photo.png --model ffn --steps 2000 --size 256 --out runs/photo
    keras-inr fit --out runs/photo --resume        # continue an interrupted run (its options come from its backup)
    keras-inr fit photo.png --out runs/photo --overwrite   # replace the results of an earlier run there

The backend is Keras' (``KERAS_BACKEND`` = ``jax`` (default), ``tensorflow`` or ``torch``); ``fit`` prints it.

``fit`` parses its options and calls :func:`keras_inr.fitting.fit_signal`, which does the work (training in epochs of
``--steps-per-epoch`` steps, backed up into ``OUT/backup`` for ``--resume``; see its module for what a run guarantees:
Ctrl-C stops it on every backend, no file is ever half-written, nothing is replaced without ``--overwrite``, a
diverged run stops with exit code 1 and leaves the earlier results alone). Its ``--model`` choices and the family
options (``--w0``, ``--scale``, ...) come from the family registry (:mod:`keras_inr.families`) when the parser is
built, so families registered by the user's code are available too.

The console script starts in :func:`keras_inr_cli.main`, which parses the command and checks ``KERAS_BACKEND``
before anything imports Keras, then calls :func:`main` here.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from collections.abc import Sequence
from pathlib import Path

import keras

from keras_inr.validation import MAX_SEED  # the largest --seed (seeds are 32-bit unsigned integers)

#: ``keras-inr fit``'s default ``--size``: the image's own size, downscaled to this on the longest side if larger.
FIT_SIZE_LIMIT = 256

#: Exit codes of :func:`main`.
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


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


def parse_seed(text: str) -> int:
    """``--seed`` of ``fit`` and ``tune``: an integer in ``[0, MAX_SEED]``."""
    value = _non_negative_int(text)
    if value > MAX_SEED:
        raise argparse.ArgumentTypeError(f"expected an integer from 0 to 2**32 - 1 = {MAX_SEED}, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive finite number, got {text}")
    return value


#: ``--size``'s value for ``native``: the image's own size.
NATIVE = "native"


def parse_size(text: str):
    """``--size`` of ``fit`` and ``tune``: ``native`` (returned as :data:`NATIVE`), ``N`` (the longest side, aspect
    ratio kept; an int) or ``HxW`` (a ``(height, width)`` tuple)."""
    if text.lower() == NATIVE:
        return NATIVE
    from keras_inr.fitting import MAX_IMAGE_SIDE

    parts = text.lower().split("x")
    if len(parts) not in (1, 2):
        raise argparse.ArgumentTypeError(f"expected N, HxW or 'native', got {text!r}")
    sides = [_positive_int(part) for part in parts]
    if max(sides) > MAX_IMAGE_SIDE:
        raise argparse.ArgumentTypeError(
            f"expected at most {MAX_IMAGE_SIDE} pixels per side (keras_inr.fitting.MAX_IMAGE_SIDE), got {text!r}"
        )
    return tuple(sides) if len(sides) == 2 else sides[0]


def size_help(limit: int) -> str:
    """The help of ``--size`` whose default is at most ``limit`` pixels on the longest side."""
    return (
        f"N: resize the longest side to N pixels (aspect ratio kept); HxW: resize to exactly H x W; 'native': keep "
        f"the image's size (default: the image's size, downscaled to {limit} on the longest side if larger; never "
        "upscaled). At most 8192 pixels per side"
    )


def size_arguments(size, limit: int) -> dict:
    """``size=`` and ``max_size=`` of :func:`keras_inr.fitting.fit_signal` for a parsed ``--size`` (``None``: not
    given, i.e. at most ``limit`` on the longest side)."""
    if size is None:
        return {"size": None, "max_size": limit}
    return {"size": None if size == NATIVE else size, "max_size": None}


def default_out(command: str, image) -> str:
    """The default ``--out`` of ``fit`` and ``tune``: ``runs/<command>-<image>``, ``<image>`` being the image file's
    name without extension, or the sample name."""
    name = Path(str(image)).stem or "image"
    return str(Path("runs") / f"{command}-{name}")


def _hyperparameter_type(records):
    """The ``type=`` of a family option: a number that at least one of the families owning the name accepts."""

    def parse(text: str):
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if value.is_integer() and all(record.kind == "int" for record in records):
            value = int(value)
        errors = []
        for record in records:
            try:
                record.check(value, "the value")
                return value
            except ValueError as error:
                errors.append(str(error))
        raise argparse.ArgumentTypeError(errors[0].rstrip("."))

    return parse


def _format_value(value) -> str:
    return "none" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def _add_family_arguments(parser: argparse.ArgumentParser, taken: set) -> None:
    """One ``--<name>`` option per hyperparameter name of the registered families (default: the family's value).

    A hyperparameter whose option or destination would clash with a general option of ``fit`` (``taken``, e.g. a
    user family's ``seed``) gets no option: its recommended value applies (set it through
    :func:`keras_inr.fitting.fit_signal`). The names that got one are stored as ``args._family_options``.
    """
    from keras_inr import families

    group = parser.add_argument_group(
        "family options", "hyperparameters of the registered families (keras_inr.families); each applies only to "
        "the families named after it, and defaults to keras-inr's recommended value"
    )
    added = []
    for name, owners in families.hyperparameter_owners().items():
        flag = "--" + name.replace("_", "-")
        if flag in taken or name in taken:
            continue
        records = [families.get(owner).hyperparameters[name] for owner in owners]
        description = next((record.help for record in records if record.help), name.replace("_", " "))
        values = [_format_value(record.recommended) for record in records]
        default = values[0] if len(owners) == 1 else ", ".join(f"{o} {v}" for o, v in zip(owners, values))
        default = "" if all(record.recommended is None for record in records) else f"; default {default}"
        group.add_argument(
            flag, dest=name, type=_hyperparameter_type(records), default=None, metavar=name.upper(),
            help=f"{description} [--model {', '.join(owners)}{default}]".replace("%", "%%"),  # argparse %-formats
        )
        added.append(name)
    parser.set_defaults(_family_options=tuple(added))


def add_fit_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the options of ``keras-inr fit`` on ``parser`` (family options from the registry, read now)."""
    from keras_inr import families
    from keras_inr.training import RECOMMENDED, RECOMMENDED_MODEL, SCHEDULES, recommended

    rates = ", ".join(f"{name} {recommended(name)['learning_rate']:g}" for name in families.names())
    actions = [
        parser.add_argument(
            "image", nargs="?", default="camera",
            help="image file (PNG, JPEG, ...) or the name of a scikit-image sample such as 'camera' or 'astronaut' "
            "(default: camera)",
        ),
        parser.add_argument(
            "--model", default="siren", choices=families.names(include_aliases=True), metavar="FAMILY",
            help=f"INR family, one of {', '.join(families.names())} (default: siren)",
        ),
        parser.add_argument(
            "--steps", type=_positive_int, default=1000, help="optimiser steps in total (default: 1000)"
        ),
        parser.add_argument(
            "--out", default=None,
            help="output folder (default: runs/fit-IMAGE, IMAGE being the file name without extension or the sample "
            "name)",
        ),
        parser.add_argument("--size", type=parse_size, default=None, help=size_help(FIT_SIZE_LIMIT)),
        parser.add_argument(
            "--width", type=_positive_int, default=RECOMMENDED_MODEL["width"],
            help=f"units per hidden layer (default: {RECOMMENDED_MODEL['width']})",
        ),
        parser.add_argument(
            "--depth", type=_positive_int, default=RECOMMENDED_MODEL["depth"],
            help=f"hidden layers (default: {RECOMMENDED_MODEL['depth']})",
        ),
        parser.add_argument(
            "--learning-rate", type=_positive_float, default=None,
            help=f"initial Adam learning rate (default: keras_inr.training.recommended(FAMILY): {rates})",
        ),
        parser.add_argument(
            "--schedule", choices=SCHEDULES, default=None,
            help=f"learning-rate schedule (default: keras_inr.training.recommended(FAMILY), {RECOMMENDED['schedule']})",
        ),
        parser.add_argument(
            "--batch-size", type=_positive_int, default=None,
            help="pixels per step, drawn at random each step (default: all pixels, full batch)",
        ),
        parser.add_argument(
            "--steps-per-epoch", type=_positive_int, default=100,
            help="steps per epoch: the unit of progress reports, backups and snapshots (default: 100; lowered to a "
            "divisor of --steps when it does not divide it)",
        ),
        parser.add_argument(
            "--seed", type=parse_seed, default=0,
            help=f"seed of the initial weights and pixel batches, 0 to {MAX_SEED} (default: 0)",
        ),
        parser.add_argument(
            "--save-every", type=_non_negative_int, default=0,
            help="write a PNG snapshot of the reconstruction to OUT/snapshots every N epochs (default: 0, never)",
        ),
        parser.add_argument(
            "--resume", action="store_true",
            help="continue the interrupted run backed up in OUT/backup; the options not given are the backed-up "
            "run's, and a given one that differs from it is an error. If the newest backup cannot be loaded, the "
            "previous one is",
        ),
        parser.add_argument(
            "--overwrite", action="store_true",
            help="replace the results of an earlier run in OUT (model.keras, metrics.json, the figures, snapshots), "
            "or delete the backup of an unfinished one to start afresh; without it such an OUT is an error. Files "
            "keras-inr did not write are never deleted",
        ),
        parser.add_argument(
            "--verbose", type=int, choices=(0, 1, 2), default=1,
            help="Keras progress output: 0 silent, 1 progress bar, 2 one line per epoch (default: 1)",
        ),
        parser.add_argument(
            "--data-parallel", action="store_true",
            help="train on every device (GPUs, TPU cores): weights replicated, each step's batch split over the "
            "devices, which must divide it. JAX: keras.distribution.DataParallel; TensorFlow: "
            "tf.distribute.MirroredStrategy; not PyTorch (Keras has no distribution backend for it)",
        ),
    ]
    taken = {"-h", "--help", "command"} | {a.dest for a in actions} | {f for a in actions for f in a.option_strings}
    _add_family_arguments(parser, taken)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The ``keras-inr`` argument parser.

    Args:
        command: the sub-command about to be run. ``tune``'s options come from ``keras_inr.cli_tune``, which is
            imported only when ``command == "tune"`` so that ``fit`` never pays for the tuner.
    """
    from keras_inr import families
    from keras_inr_cli import COMMANDS, new_parser

    parser, commands = new_parser()
    titles = ", ".join(family.title for family in families.all_families())
    fit = commands.add_parser(
        "fit", help=COMMANDS["fit"],
        description=f"Fit an INR ({titles}) to an image with keras-inr's recommended settings; writes "
        "reconstruction.png, comparison.png (target | reconstruction | error), model.keras and metrics.json into "
        "--out.",
    )
    add_fit_arguments(fit)
    fit.set_defaults(_handler=run_fit_command)

    tune_help = COMMANDS["tune"]
    if command != "tune":
        tune = commands.add_parser("tune", help=tune_help, add_help=False)
        tune.add_argument("_rest", nargs=argparse.REMAINDER)
        return parser
    from keras_inr import cli_tune  # imports KerasTuner only when the search runs

    tune = commands.add_parser("tune", help=tune_help, description=tune_help)
    cli_tune.add_tune_arguments(tune)
    tune.set_defaults(_handler=cli_tune.run_tune)
    return parser


def _command_of(argv: Sequence[str]) -> str | None:
    """The sub-command named in ``argv`` (the first argument that is not an option)."""
    for argument in argv:
        if not argument.startswith("-"):
            return argument
    return None


def _as_options(text: str, args: argparse.Namespace) -> str:
    """Name arguments as options: ```steps_per_epoch``` (fit_signal's wording) -> ``--steps-per-epoch``."""

    def option(match):
        name = match.group(1)
        is_option = name in vars(args) and name not in ("image", "command")
        return "--" + name.replace("_", "-") if is_option else match.group(0)

    return re.sub(r"`([a-z_][a-z0-9_]*)`", option, text)


def _given_options(argv: Sequence[str]) -> frozenset:
    """The destinations of the options given explicitly in ``argv`` (parsed again with every default suppressed)."""
    parser = build_parser(_command_of(argv))
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for subparser in subparsers.choices.values():
        for action in subparser._actions:
            action.default = argparse.SUPPRESS
        subparser._defaults.clear()
    parsed = vars(parser.parse_args(argv))
    return frozenset(name for name in parsed if name != "command")


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """Parse ``argv`` (without the program name) as :func:`main` does; ``args._given`` holds the destinations of the
    options given explicitly (``--resume`` takes the others from the backup).

    Raises:
        SystemExit: as argparse, for bad arguments (code 2) and ``--help`` / ``--version`` (code 0).
    """
    argv = list(argv)
    args = build_parser(_command_of(argv)).parse_args(argv)
    args._given = _given_options(argv)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``keras-inr`` console script.

    Args:
        argv: arguments without the program name (default: ``sys.argv[1:]``).

    Returns:
        The exit code: 0 on success; 1 when the run failed (``fit``: training diverged; the earlier results are left
        untouched); 2 for bad arguments or input, a missing optional dependency, or not enough memory (with a
        one-line message, no traceback); 130 when interrupted with Ctrl-C (the backup of the last finished epoch is
        kept for ``--resume``).
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = parse_args(argv)
    except SystemExit as exit_:  # argparse's usage errors (code 2) and --help / --version (code 0)
        return int(exit_.code or 0)
    from keras_inr.callbacks import DivergenceError

    try:
        return int(args._handler(args) or 0)
    except DivergenceError as error:
        print(f"keras-inr {args.command}: error: {_as_options(str(error), args)}", file=sys.stderr)
        return EXIT_FAILED
    except (FileNotFoundError, ImportError, ValueError) as error:
        kind = "" if type(error) is ValueError else f"{type(error).__name__}: "
        print(f"keras-inr {args.command}: error: {kind}{_as_options(str(error), args)}", file=sys.stderr)
        return EXIT_USAGE
    except MemoryError as error:  # e.g. an image too large for this machine's memory
        detail = f" ({str(error).splitlines()[0]})" if str(error) else ""
        print(f"keras-inr {args.command}: error: out of memory{detail}; try a smaller --size (or --batch-size).",
              file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        out = getattr(args, "out", None)
        if args.command == "fit" and out:
            hint = f" Continue it with: keras-inr fit --out {out} --resume"
        else:
            hint = f" Continue it with the same command plus --resume (backup in {out})." if out else ""
        print(f"\nkeras-inr {args.command}: interrupted.{hint}", file=sys.stderr)
        return EXIT_INTERRUPTED


# ----------------------------------------------------------------------------------------------------------------
# keras-inr fit
# ----------------------------------------------------------------------------------------------------------------
def _model_hyperparameters(args: argparse.Namespace) -> dict:
    """The family options given on the command line; an option of another family is an error."""
    from keras_inr import families

    family = families.canonical(args.model, "--model")
    owners = families.hyperparameter_owners()
    hyperparameters = {}
    for name in args._family_options:
        value = getattr(args, name)
        if value is None:
            continue
        if family not in owners.get(name, ()):
            flag = "--" + name.replace("_", "-")
            families_text = " or ".join(owners.get(name, ()))
            raise ValueError(f"{flag} applies to --model {families_text}, not --model {args.model}.")
        hyperparameters[name] = value
    return hyperparameters


def run_fit(args: argparse.Namespace, extra_callbacks: Sequence = ()):
    """Run ``keras-inr fit`` with parsed arguments (see :func:`add_fit_arguments`): print the backend, call
    :func:`keras_inr.fitting.fit_signal` with ``print`` as its log, return its :class:`~keras_inr.fitting.FitResult`.

    Args:
        args: the parsed options.
        extra_callbacks: more Keras callbacks for ``model.fit`` (run after the backup callback).

    Raises:
        FileNotFoundError: the image file does not exist.
        ValueError: invalid options, or ``--resume`` with given options that differ from the backed-up run's (the
            options not given are taken from the backup, ``OUT/backup/run_config.json``), or an ``OUT`` holding an
            earlier run's results or backup without ``--overwrite``.
        keras_inr.callbacks.DivergenceError: training diverged (nothing in ``OUT`` was replaced).
        KeyboardInterrupt: when interrupted; the last finished epoch is in ``OUT/backup``.
    """
    from keras_inr.fitting import fit_signal

    if args.out is None:
        args.out = default_out("fit", args.image)
    backed_up = _options_from_backup(args) if args.resume else {}
    hyperparameters = {**backed_up, **_model_hyperparameters(args)}
    print(f"keras-inr fit: backend {keras.backend.backend()} (choose with KERAS_BACKEND=jax|tensorflow|torch)")
    return fit_signal(
        args.image, args.model, **size_arguments(args.size, FIT_SIZE_LIMIT), steps=args.steps, width=args.width,
        depth=args.depth,
        hyperparameters=hyperparameters, learning_rate=args.learning_rate, schedule=args.schedule,
        batch_size=args.batch_size, steps_per_epoch=args.steps_per_epoch, seed=args.seed, out=args.out,
        resume=args.resume, overwrite=args.overwrite, save_every=args.save_every, callbacks=extra_callbacks,
        verbose=args.verbose, distribution="data_parallel" if args.data_parallel else None,
        log=lambda line: print(_as_options(line, args), flush=True),
    )


#: ``--resume``: option destination -> key of the backed-up settings (``OUT/backup/run_config.json``).
_BACKED_UP_OPTIONS = {
    "image": "image", "model": "model", "width": "width", "depth": "depth", "steps": "steps",
    "steps_per_epoch": "steps_per_epoch", "learning_rate": "learning_rate", "schedule": "schedule",
    "batch_size": "batch_size", "seed": "seed",
}


def _options_from_backup(args: argparse.Namespace) -> dict:
    """``--resume``: set the options not given on the command line to the backed-up run's (``OUT/backup``).

    Updates ``args`` in place and returns the backed-up family hyperparameters. Without a backup, changes nothing
    (:func:`~keras_inr.fitting.fit_signal` then says so and starts a new run).

    Raises:
        ValueError: naming the given options that differ from the backed-up run's.
    """
    import json

    from keras_inr import families

    path = Path(args.out) / "backup" / "run_config.json"
    if not path.is_file():
        return {}
    try:
        backup = json.loads(path.read_text())
        values = {option: backup[key] for option, key in _BACKED_UP_OPTIONS.items()}
        values["size"] = tuple(int(side) for side in backup["shape"][:2])
        hyperparameters = dict(backup["hyperparameters"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise ValueError(f"--resume: cannot read the backed-up run's options from {path}: {error}") from None
    if str(values["image"]).startswith("array "):
        raise ValueError(f"--resume: the run backed up in {path.parent} fitted an array, not an image file or a "
                         "sample; resume it from Python with keras_inr.fit_signal(..., resume=True).")
    given = getattr(args, "_given", None)
    given = set(vars(args)) if given is None else set(given)

    def same(option, value, backed_up):
        if option == "image":
            return _image_identity(value) == backed_up
        if option == "model":
            return families.canonical(value, "--model") == backed_up
        return value == backed_up

    conflicts = []
    # --size and --batch-size are left to fit_signal, which compares the resulting shape and batch with the backup
    for option, backed_up in values.items():
        if option in given:
            if option not in ("size", "batch_size") and not same(option, getattr(args, option), backed_up):
                conflicts.append((option, getattr(args, option), backed_up))
        else:
            setattr(args, option, backed_up)
    for name in getattr(args, "_family_options", ()):
        if name in given and getattr(args, name) is not None and getattr(args, name) != hyperparameters.get(name):
            conflicts.append((name, getattr(args, name), hyperparameters.get(name)))
    if conflicts:
        details = "; ".join(
            f"{'IMAGE' if option == 'image' else '--' + option.replace('_', '-')} {_format_value(value)} "
            f"(backed-up run: {_format_value(backed_up)})" for option, value, backed_up in conflicts
        )
        raise ValueError(
            f"--resume continues the run backed up in {path.parent} with its options, but these given options "
            f"differ from it: {details}. Leave them out to resume, or start a new run without --resume."
        )
    return {name: value for name, value in hyperparameters.items() if name not in given}


def _image_identity(image) -> str:
    """How :func:`keras_inr.fitting.fit_signal` records an image file or sample name for the resume check."""
    path = Path(str(image))
    return str(path.resolve()) if path.is_file() else str(image)


def run_fit_command(args: argparse.Namespace) -> int:
    """``keras-inr fit`` handler: :func:`run_fit`, exit code 0."""
    run_fit(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
