"""The ``keras-inr tune`` subcommand: search INR families and hyperparameters for one image with KerasTuner.

``keras_inr.cli`` registers the subcommand with :func:`add_tune_arguments` and runs it with :func:`run_tune`.

Example::

    keras-inr tune camera --size 64 --families siren,ffn --tuner bayesian --max-trials 12 --epochs 12 --steps 25 \\
        --w0 10:60 --out runs/tune-camera

``--size`` means what it means for ``keras-inr fit`` (:func:`keras_inr.cli.parse_size`: ``N`` the longest side,
``HxW`` or ``native``); by default the image is downscaled to at most :data:`TUNE_SIZE_LIMIT` (64) pixels on the
longest side, never upscaled. ``--out`` defaults to ``runs/tune-IMAGE`` (``fit``'s is ``runs/fit-IMAGE``).

The search-space options are generated from the family registry (:mod:`keras_inr.families`): the shared
``--width``, ``--depth`` and ``--learning-rate``, plus one option per hyperparameter of the registered families
(``--w0``, ``--first-w0``, ``--inverse-scale``, ``--scale``, ``--num-features``, and those of families registered
before the parser is built). ``--families`` defaults to the built-in families with a search space.

The image is split as in Tancik et al. 2020 (https://arxiv.org/abs/2006.10739, sec. 6): every other pixel trains,
the held-out pixels in between validate, so the search rewards models that interpolate rather than memorise.
Writes into ``--out``: ``best_model.keras``, ``best.png`` (target | best reconstruction), ``leaderboard.json`` and
the KerasTuner project (``tuner/``, reused by ``--resume``). The result files are written under temporary names and
renamed when complete. An ``--out`` that already holds a search (its project or its results) is refused unless
``--resume`` (continue it) or ``--overwrite`` (start afresh) is given; ``--overwrite`` deletes only the files
KerasTuner writes in ``tuner/`` (:data:`keras_inr.tuning.TUNER_FILES`) and refuses if ``tuner/`` holds anything
else. Ctrl-C stops the search at the next step on every backend (exit code 130; ``--resume`` continues it).
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from pathlib import Path

#: ``keras-inr tune``'s default ``--size``: the image's own size, downscaled to this on the longest side if larger
#: (smaller than ``fit``'s 256: a search trains many models).
TUNE_SIZE_LIMIT = 64

#: The shared search-space options: (flag, INRHyperModel keyword, integer?, help). One option per family
#: hyperparameter is added to them from the family registry (:func:`space_options`).
SHARED_SPACE_OPTIONS = (
    ("--width", "width", True, "units per hidden layer (default 32:256, powers of two)"),
    ("--depth", "depth", True, "hidden layers (default 2:5)"),
    ("--learning-rate", "learning_rate", False,
     "Adam learning rate for every family (default: per family, 10x either side of its recommended rate, log)"),
)

#: Destinations of the tune command's own options; a family hyperparameter of one of these names gets no option.
_COMMAND_OPTIONS = (
    "image", "size", "families", "tuner", "max_trials", "epochs", "steps", "schedule", "no_jit", "out", "seed",
    "resume", "overwrite", "top", "verbose", "help",
)

#: The result files ``keras-inr tune`` writes into ``--out``.
RESULT_FILES = ("best_model.keras", "best.png", "leaderboard.json")

def default_families() -> tuple[str, ...]:
    """The families ``keras-inr tune`` searches by default (:func:`keras_inr.families.searched_by_default`)."""
    from keras_inr import families

    return families.searched_by_default()


def _describe_range(family, record) -> str:
    """How hyperparameter ``record`` of ``family`` is searched by default, in the options' ``LOW:HIGH`` notation."""
    if record.search is None or record.optional:
        if record.default is not None:
            return f"none: {record.default:g} unless given"
        tied = [
            other.name for other in family.hyperparameters.values()
            if record.applies_to == "first" and other.applies_to == "hidden" and other.argument == record.argument
        ]
        return f"none: tied to {tied[0]} unless given" if tied else "none: not searched unless given"
    low, high = record.search
    text = f"{low:g}:{high:g}"
    if record.kind == "int" and record.step and record.step > 1:
        text += f" in factors of {record.step}" if record.sampling == "log" else f" in steps of {record.step}"
    elif record.sampling == "log":
        text += " log"
    return text


def space_options() -> tuple[tuple[str, str, bool, str], ...]:
    """The search-space options of ``keras-inr tune``: :data:`SHARED_SPACE_OPTIONS` plus one per hyperparameter name
    of the registered families (:mod:`keras_inr.families`), e.g. ``--w0``, ``--first-w0``, ``--num-features``.

    Returns:
        ``(flag, INRHyperModel keyword, integer?, help)`` tuples. The help is the registry's help line followed by
        ``(families: ...; default range ...)``; a hyperparameter is parsed as an integer when it is one in every
        family that has it. A hyperparameter named like one of the command's own options (``seed``, ``size``, ...)
        gets no option; search it from Python (:class:`keras_inr.tuning.INRHyperModel`).
    """
    from keras_inr import families

    options = list(SHARED_SPACE_OPTIONS)
    taken = {keyword for _, keyword, _, _ in SHARED_SPACE_OPTIONS} | set(_COMMAND_OPTIONS)
    for name, owners in families.hyperparameter_owners().items():
        if name in taken:
            continue
        records = [families.get(owner).hyperparameters[name] for owner in owners]
        helps = list(dict.fromkeys(record.help for record in records if record.help))
        ranges = [_describe_range(families.get(owner), families.get(owner).hyperparameters[name]) for owner in owners]
        if len(set(ranges)) == 1:
            range_text = ranges[0]
        else:
            range_text = ", ".join(f"{owner} {text}" for owner, text in zip(owners, ranges))
        text = "; ".join(helps) or name
        text += f" (families: {', '.join(owners)}; default range {range_text})"
        integer = all(record.kind == "int" for record in records)
        options.append((f"--{name.replace('_', '-')}", name, integer, text.replace("%", "%%")))
    return tuple(options)


def parse_space_value(text: str, name: str, integer: bool):
    """Parse a search-space option: ``"LOW:HIGH"`` (range), ``"A,B,C"`` (choice) or ``"V"`` (fixed).

    Returns:
        a ``(low, high)`` tuple, a list or a number, as :class:`keras_inr.tuning.INRHyperModel` accepts.

    Raises:
        ValueError: naming the option, when ``text`` is not of one of these forms.
    """
    kind = "integers" if integer else "numbers"

    def number(part: str):
        part = part.strip()
        try:
            value = float(part)
        except ValueError:
            raise ValueError(
                f"{name} expects LOW:HIGH (range), A,B,C (choice) or a single value, all {kind}; got {text!r}."
            ) from None
        if integer:
            if not value.is_integer():
                raise ValueError(f"{name} expects integers, got {part!r} in {text!r}.")
            return int(value)
        return value

    if ":" in text:
        parts = text.split(":")
        if len(parts) != 2:
            raise ValueError(f"{name} range must be LOW:HIGH, got {text!r}.")
        return (number(parts[0]), number(parts[1]))
    if "," in text:
        return [number(part) for part in text.split(",")]
    return number(text)


def add_tune_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``keras-inr tune [IMAGE] ...`` to ``parser`` (a subparser of the main CLI)."""
    parser.description = (
        "Search INR families and hyperparameters for an image with KerasTuner, validating on the held-out pixels "
        "of the Tancik et al. split. Prints a leaderboard; writes the best model and a figure into --out. "
        "Search-space options take LOW:HIGH (range), A,B,C (choice) or V (fixed); there is one for every "
        "hyperparameter of the registered families (keras_inr.families)."
    )
    parser.add_argument(
        "image", nargs="?", default="camera",
        help="image file or scikit-image sample name (default: camera)",
    )
    from keras_inr.cli import parse_size, size_help

    parser.add_argument("--size", type=parse_size, default=None, help=size_help(TUNE_SIZE_LIMIT))
    from keras_inr import families as registry

    defaults = ",".join(default_families())
    parser.add_argument(
        "--families", default=defaults,
        help=f"comma-separated families to search, from the registered {', '.join(registry.names())} "
        f"(default: {defaults})",
    )
    parser.add_argument(
        "--tuner", default="random", choices=("random", "bayesian", "hyperband"),
        help="search strategy (default: random)",
    )
    parser.add_argument(
        "--max-trials", type=int, default=10, help="trials for random/bayesian search (default: 10; Hyperband "
        "derives its own number from --epochs)",
    )
    parser.add_argument(
        "--epochs", type=int, default=10, help="epochs per trial; Hyperband's largest budget (default: 10)"
    )
    parser.add_argument(
        "--steps", type=int, default=25, help="full-batch optimiser steps per epoch (default: 25)"
    )
    parser.add_argument(
        "--schedule", default="constant", choices=("constant", "cosine"),
        help="learning-rate schedule per trial; cosine decays over epochs x steps (default: constant)",
    )
    options = space_options()
    for flag, keyword, _, text in options:
        parser.add_argument(flag, dest=keyword, default=None, metavar="SPEC", help=text)
    parser.set_defaults(_space_options=options)
    parser.add_argument(
        "--no-jit", action="store_true",
        help="train without XLA compilation (faster when trials are only a few steps long)",
    )
    parser.add_argument(
        "--out", default=None,
        help="output folder (default: runs/tune-IMAGE, IMAGE being the file name without extension or the sample "
        "name)",
    )
    from keras_inr.cli import MAX_SEED, parse_seed

    parser.add_argument(
        "--seed", type=parse_seed, default=0, help=f"seed of the search and the weights, 0 to {MAX_SEED} (default: 0)"
    )
    parser.add_argument(
        "--resume", action="store_true", help="continue the search stored in OUT/tuner instead of starting afresh"
    )
    parser.add_argument(
        "--overwrite", action="store_true",
        help="start afresh in an OUT that holds an earlier search: delete its KerasTuner project (only the files "
        "KerasTuner writes in OUT/tuner) and replace its results; without it (or --resume) such an OUT is an error",
    )
    parser.add_argument("--top", type=int, default=None, help="show only the best TOP trials")
    parser.add_argument("--verbose", type=int, default=0, choices=(0, 1, 2), help="Keras fit verbosity (default: 0)")


def prepare_out(out: Path, resume: bool, overwrite: bool) -> None:
    """Make sure a search into ``out`` replaces nothing it may not (see the module's notes).

    Raises:
        ValueError: naming ``--out``, ``--resume`` and ``--overwrite``, when ``out`` holds an earlier search and
            neither is given, or when ``--overwrite`` would have to delete files KerasTuner did not write.
    """
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} exists and is not a directory.")
    project = out / "tuner"
    if project.exists() and not project.is_dir():
        raise ValueError(f"{project} exists and is not a directory; move it or choose another --out.")
    if resume:
        return  # KerasTuner reloads the project (or starts one); the results are replaced at the end
    earlier = [name for name in RESULT_FILES if (out / name).exists()]
    if project.is_dir() and any(project.iterdir()):
        earlier.insert(0, "tuner/")
    if not earlier:
        return
    if not overwrite:
        raise ValueError(
            f"--out {out} already holds a search ({', '.join(earlier)}); pass --resume to continue it, or "
            "--overwrite to start afresh (deleting its KerasTuner project and replacing its results), or choose "
            "another --out."
        )
    if project.is_dir():
        from keras_inr.tuning import clear_tuner_project

        clear_tuner_project(project, "--overwrite", "--out")
        project.rmdir()


def _run(args: argparse.Namespace) -> int:
    import keras
    import numpy as np

    from keras_inr import data, metrics, plotting, rendering, training, tuning
    from keras_inr import families as registry
    from keras_inr.callbacks import StopOnInterrupt
    from keras_inr.cli import default_out, size_arguments
    from keras_inr.fitting import resolve_size
    from keras_inr.safe_files import atomic_path, write_text
    from keras_inr.validation import check_positive_int

    families = registry.check_names(args.families, "--families")
    for name in ("max_trials", "epochs", "steps"):
        check_positive_int(f"--{name.replace('_', '-')}", getattr(args, name))
    if args.top is not None:
        check_positive_int("--top", args.top)
    space = {}
    for flag, keyword, integer, _ in getattr(args, "_space_options", None) or space_options():
        text = getattr(args, keyword, None)
        if text is not None:
            space[keyword] = parse_space_value(text, flag, integer)

    image = data.load_image(args.image)
    target_size = resolve_size(image.shape[:2], **size_arguments(args.size, TUNE_SIZE_LIMIT))
    if target_size is not None:
        image = data.load_image(image, size=target_size)
    (train_x, train_y), (val_x, val_y) = data.tancik_split(image)
    if args.out is None:
        args.out = default_out("tune", args.image)
    out = Path(args.out)
    prepare_out(out, resume=args.resume, overwrite=getattr(args, "overwrite", False))
    out.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(args.seed)

    hypermodel = tuning.INRHyperModel(
        out_dims=image.shape[-1], families=families, schedule=args.schedule,
        total_steps=args.epochs * args.steps if args.schedule == "cosine" else None, seed=args.seed,
        jit_compile=False if args.no_jit else "auto", **space,
    )
    tuner = tuning.make_tuner(
        hypermodel, args.tuner, max_trials=args.max_trials, max_epochs=args.epochs, directory=out,
        project_name="tuner", seed=args.seed, overwrite=False,  # prepare_out cleared what it may; never rmtree
    )
    print(f"Tuning {args.image!r} {image.shape[0]}x{image.shape[1]}x{image.shape[2]} with {args.tuner} search "
          f"({len(train_x)} training pixels, {len(val_x)} held-out pixels); search space:")
    print("  " + hypermodel.search_space_summary().replace("\n", "\n  "))
    # KerasTuner runs gc.collect() twice per trial; with the backends' modules on the heap each takes ~1 s. Freezing
    # what exists now (imports, data) leaves only the trials' own objects for the collector.
    gc.freeze()
    start = time.perf_counter()
    with StopOnInterrupt() as stop:  # Ctrl-C: KeyboardInterrupt at the next step, on every backend
        try:
            tuner.search(
                training.full_batch(train_x, train_y, args.steps), epochs=args.epochs,
                validation_data=training.full_batch(val_x, val_y, 1), verbose=args.verbose, shuffle=False,
                callbacks=[stop],
            )
        except RuntimeError as error:  # KerasTuner ends a search after failed trials in a row (e.g. all diverged)
            if not str(error).startswith("Number of consecutive failures"):
                raise
            lines = [line.strip() for line in str(error).splitlines() if line.strip()]
            reason = next((line for line in reversed(lines) if "diverged" in line), lines[-1])
            reason = reason.split("FailedTrialError: ", 1)[-1]
            print(f"keras-inr tune: error: KerasTuner stopped the search: {lines[0]} The last one: {reason} "
                  "Lower --learning-rate, for example.", file=sys.stderr)
            return 1
        stop.check()
    search_seconds = time.perf_counter() - start
    rows = tuning.leaderboard(tuner, args.top)
    if not rows or rows[0]["val_psnr"] is None or not np.isfinite(rows[0]["val_psnr"]):
        print(tuning.format_leaderboard(rows))
        print("keras-inr tune: error: no trial completed with a finite validation PSNR.", file=sys.stderr)
        return 1
    print(f"\nLeaderboard (validation PSNR on held-out pixels; search took {search_seconds:.1f} s):")
    print(tuning.format_leaderboard(rows))

    model = tuning.best_model(tuner)
    reconstruction = rendering.render(model, image.shape[:2])
    full_psnr = float(metrics.psnr(image, reconstruction))
    best = rows[0]
    model_path, figure_path, leaderboard_path = (out / name for name in RESULT_FILES)
    summary = {
        "image": str(args.image), "shape": list(image.shape), "tuner": args.tuner, "families": list(families),
        "epochs": args.epochs, "steps_per_epoch": args.steps, "seed": args.seed, "search_seconds": search_seconds,
        "best_full_image_psnr": full_psnr, "leaderboard": rows,
    }
    with atomic_path(model_path) as temporary:
        model.save(temporary)
    plotting.save_comparison(
        figure_path, image, reconstruction, show_error=False,
        title=f"best: {best['family']}, held-out PSNR {best['val_psnr']:.2f} dB, all pixels {full_psnr:.2f} dB",
    )
    write_text(leaderboard_path, json.dumps(summary, indent=2, default=float))
    print(f"\nBest: {best['family']} with val PSNR {best['val_psnr']:.2f} dB (all pixels {full_psnr:.2f} dB)")
    print(f"Saved {model_path}, {figure_path} and {out / 'leaderboard.json'}")
    return 0


def run_tune(args: argparse.Namespace) -> int:
    """Run ``keras-inr tune`` with parsed ``args`` (from a parser set up by :func:`add_tune_arguments`).

    Returns:
        0 on success, 1 if no trial produced a finite validation PSNR or KerasTuner stopped the search after
        failed trials in a row (e.g. trials diverged in their first epoch), 2 for bad input (the error is printed to
        stderr naming the option), e.g. an ``--out`` holding an earlier search without ``--resume`` or
        ``--overwrite``.

    Raises:
        KeyboardInterrupt: when interrupted with Ctrl-C (:func:`keras_inr.cli.main` exits with 130).
    """
    try:
        return _run(args)
    except (ValueError, FileNotFoundError) as error:
        print(f"keras-inr tune: error: {error}", file=sys.stderr)
        return 2
    except ImportError as error:  # keras-tuner (or scikit-learn for --tuner bayesian) not installed
        print(f"keras-inr tune: error: {error}", file=sys.stderr)
        return 2


def main(argv=None) -> int:
    """Run the subcommand on its own: ``python -m keras_inr.cli_tune [IMAGE] ...``."""
    parser = argparse.ArgumentParser(prog="keras-inr tune")
    add_tune_arguments(parser)
    return run_tune(parser.parse_args(argv))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
