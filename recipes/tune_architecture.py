"""Recipe: which INR family and hyperparameters fit an image best? Ask KerasTuner.

Searches SIREN, Gaussian and Fourier-feature networks (family, w0 / Gaussian scale / Fourier scale, width, depth,
learning rate) on a bundled image. Validation uses the held-out pixels of the Tancik et al. split
(https://arxiv.org/abs/2006.10739, sec. 6): train on every other pixel, score the pixels in between, so a model that
memorises the training pixels with too high a frequency scale loses. Prints a leaderboard, saves the best model
(``best_model.keras``) and a figure (``best.png``: target | best reconstruction) into ``--out``.

Run (any backend)::

    KERAS_BACKEND=jax python recipes/tune_architecture.py --image camera --size 64 --tuner bayesian --max-trials 12

The same search is available as ``keras-inr tune``.
"""

from __future__ import annotations

import argparse
import gc
import time
from pathlib import Path

import keras_inr  # noqa: F401  (selects the JAX backend when KERAS_BACKEND is unset)
import keras

from keras_inr import data, metrics, plotting, rendering, training, tuning


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--image", default="camera", help="scikit-image sample name or image file")
    parser.add_argument("--size", type=int, default=64, help="resize to SIZE x SIZE")
    parser.add_argument("--families", default="siren,gauss,ffn")
    parser.add_argument("--tuner", default="bayesian", choices=tuple(tuning.TUNERS))
    parser.add_argument("--max-trials", type=int, default=12)
    parser.add_argument("--epochs", type=int, default=8, help="epochs per trial (Hyperband: the largest budget)")
    parser.add_argument("--steps", type=int, default=25, help="full-batch steps per epoch")
    parser.add_argument("--out", default="runs/tune_architecture")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    keras.utils.set_random_seed(args.seed)
    image = data.load_image(args.image, size=args.size)
    (train_x, train_y), (val_x, val_y) = data.tancik_split(image)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    # The search space: every family with its own hyperparameters; widths narrowed to keep a CPU search short.
    hypermodel = tuning.INRHyperModel(out_dims=image.shape[-1], families=args.families, width=(32, 128), seed=args.seed)
    tuner = tuning.make_tuner(
        hypermodel, args.tuner, max_trials=args.max_trials, max_epochs=args.epochs, directory=out,
        project_name="tuner", seed=args.seed,
    )
    print(hypermodel.search_space_summary())

    gc.freeze()  # KerasTuner calls gc.collect() twice per trial; keep the imported modules out of those collections
    start = time.perf_counter()
    tuner.search(
        training.full_batch(train_x, train_y, args.steps), epochs=args.epochs,
        validation_data=training.full_batch(val_x, val_y, 1), verbose=0, shuffle=False,
    )
    seconds = time.perf_counter() - start

    rows = tuning.leaderboard(tuner)
    print(f"\n{args.tuner} search, {len(rows)} trials in {seconds:.1f} s on {keras.backend.backend()}; "
          f"{image.shape[0]}x{image.shape[1]} {args.image!r}, val PSNR on {len(val_x)} held-out pixels:")
    print(tuning.format_leaderboard(rows))

    model = tuning.best_model(tuner)
    reconstruction = rendering.render(model, image.shape[:2])
    best = rows[0]
    model.save(out / "best_model.keras")
    plotting.save_comparison(
        out / "best.png", image, reconstruction, show_error=False,
        title=f"best: {best['family']}, held-out PSNR {best['val_psnr']:.2f} dB",
    )
    print(f"\nbest: {best['family']} {best['hyperparameters']}")
    print(f"held-out PSNR {best['val_psnr']:.2f} dB, all pixels {float(metrics.psnr(image, reconstruction)):.2f} dB")
    print(f"saved {out / 'best_model.keras'} and {out / 'best.png'}")


if __name__ == "__main__":
    main()
