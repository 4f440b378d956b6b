"""Recipe: which INR family and hyperparameters fit an image best? Ask KerasTuner.

Searches the families of the registry (:mod:`keras_inr.families`; by default SIREN, Gaussian and Fourier-feature
networks) over each family's own hyperparameters (w0 / Gaussian scale / Fourier scale, with the registry's ranges),
width, depth and a per-family learning rate, on a bundled image. Validation uses the held-out pixels of the Tancik
et al. split (https://arxiv.org/abs/2006.10739, sec. 6): train on every other pixel, score the pixels in between, so a
model that memorises the training pixels with too high a frequency scale loses. Prints the search space and a
leaderboard, saves the best model (``best_model.keras``) and a figure (``best.png``: target | best reconstruction)
into ``--out`` (default ``runs/tune_architecture``), under temporary names renamed when complete, so a stopped run
leaves the previous files whole. The KerasTuner project is kept in ``--out``/tuner; an ``--out`` that already holds a
search is refused unless ``--resume`` (continue it up to ``--max-trials``) or ``--overwrite`` (delete the files
KerasTuner wrote there and start afresh) is given, as for ``keras-inr tune``.

Run (any backend)::

    KERAS_BACKEND=jax python recipes/tune_architecture.py --image camera --size 64 --tuner bayesian --max-trials 12
    python recipes/tune_architecture.py --quick      # a 16x16, 2-trial, few-step smoke run

The same search is available as ``keras-inr tune``.
"""

from __future__ import annotations

import argparse
import gc
import time
from pathlib import Path

from keras_inr import data, metrics, plotting, rendering, training, tuning  # selects JAX when KERAS_BACKEND is unset
from keras_inr.cli_tune import prepare_out
from keras_inr.safe_files import atomic_path

#: Settings of a full run and of ``--quick`` (each used unless given on the command line).
FULL = {"size": 64, "tuner": "bayesian", "max_trials": 12, "epochs": 8, "steps": 25}
QUICK = {"size": 16, "tuner": "random", "max_trials": 2, "epochs": 1, "steps": 3}


def main(argv=None) -> list[dict]:
    """Run the recipe.

    Args:
        argv: command-line arguments (``None`` for ``sys.argv[1:]``).

    Returns:
        The leaderboard rows (:func:`keras_inr.tuning.leaderboard`), best first.
    """
    import keras  # after keras_inr, which chose the backend

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--image", default="camera", help="scikit-image sample name or image file (default: camera)")
    parser.add_argument("--size", type=int, default=None, help="resize to SIZE x SIZE (default: 64; --quick: 16)")
    parser.add_argument(
        "--families", default=",".join(tuning.default_families()),
        help="comma-separated registered families (default: %(default)s)",
    )
    parser.add_argument(
        "--tuner", default=None, choices=tuple(tuning.TUNERS), help="search strategy (default: bayesian; --quick: "
        "random)",
    )
    parser.add_argument("--max-trials", type=int, default=None, help="trials (default: 12; --quick: 2)")
    parser.add_argument(
        "--epochs", type=int, default=None, help="epochs per trial, Hyperband's largest budget (default: 8; --quick: 1)"
    )
    parser.add_argument("--steps", type=int, default=None, help="full-batch steps per epoch (default: 25; --quick: 3)")
    parser.add_argument("--out", default="runs/tune_architecture", help="output folder (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--resume", action="store_true", help="continue the search stored in OUT/tuner")
    parser.add_argument(
        "--overwrite", action="store_true",
        help="start afresh in an OUT that holds an earlier search (deletes only the files KerasTuner wrote in "
        "OUT/tuner); without it (or --resume) such an OUT is an error",
    )
    parser.add_argument(
        "--quick", action="store_true",
        help="smoke run: 16x16 image, 2 random trials of 3 steps, width 16, depth 1, no XLA compilation",
    )
    args = parser.parse_args(argv)
    for name, value in (QUICK if args.quick else FULL).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    for name in ("size", "max_trials", "epochs", "steps"):
        if getattr(args, name) <= 0:
            parser.error(f"--{name.replace('_', '-')} must be positive, got {getattr(args, name)}")
    try:
        families = tuning.check_families(args.families)
    except ValueError as error:
        parser.error(str(error).replace("`families`", "--families"))

    keras.utils.set_random_seed(args.seed)
    image = data.load_image(args.image, size=args.size)
    (train_x, train_y), (val_x, val_y) = data.tancik_split(image)
    out = Path(args.out)
    if args.resume and args.overwrite:
        parser.error("--resume and --overwrite exclude each other")
    try:
        prepare_out(out, resume=args.resume, overwrite=args.overwrite)
    except ValueError as error:
        parser.error(str(error))
    out.mkdir(parents=True, exist_ok=True)

    # The search space: every family with its registry hyperparameters; widths narrowed to keep a CPU search short.
    space = dict(width=16, depth=1, jit_compile=False) if args.quick else dict(width=(32, 128))
    if args.quick and "ffn" in families:
        space["num_features"] = 16
    hypermodel = tuning.INRHyperModel(out_dims=image.shape[-1], families=families, seed=args.seed, **space)
    tuner = tuning.make_tuner(
        hypermodel, args.tuner, max_trials=args.max_trials, max_epochs=args.epochs, directory=out,
        project_name="tuner", seed=args.seed, overwrite=False,  # resume, or a project prepare_out left empty
    )
    print(hypermodel.search_space_summary())

    gc.freeze()  # KerasTuner calls gc.collect() twice per trial; keep the imported modules out of those collections
    start = time.perf_counter()
    try:
        tuner.search(
            training.full_batch(train_x, train_y, args.steps), epochs=args.epochs,
            validation_data=training.full_batch(val_x, val_y, 1), verbose=0, shuffle=False,
        )
    finally:
        gc.unfreeze()
    seconds = time.perf_counter() - start

    rows = tuning.leaderboard(tuner)
    print(f"\n{args.tuner} search, {len(rows)} trials in {seconds:.1f} s on {keras.backend.backend()}; "
          f"{image.shape[0]}x{image.shape[1]} {args.image!r}, val PSNR on {len(val_x)} held-out pixels:")
    print(tuning.format_leaderboard(rows))

    model = tuning.best_model(tuner)
    reconstruction = rendering.render(model, image.shape[:2])
    best = rows[0]
    with atomic_path(out / "best_model.keras") as temporary:
        model.save(temporary)
    plotting.save_comparison(
        out / "best.png", image, reconstruction, show_error=False,
        title=f"best: {best['family']}, held-out PSNR {best['val_psnr']:.2f} dB",
    )
    print(f"\nbest: {best['family']} {best['hyperparameters']}")
    print(f"held-out PSNR {best['val_psnr']:.2f} dB, all pixels {float(metrics.psnr(image, reconstruction)):.2f} dB")
    print(f"saved {out / 'best_model.keras'} and {out / 'best.png'}")
    return rows


if __name__ == "__main__":
    main()
