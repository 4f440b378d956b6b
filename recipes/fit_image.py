"""Recipe: fit a SIREN, a Gaussian INR and a Fourier-feature network to the same image and compare them.

Each family is trained full batch with keras-inr's recommended optimiser settings (``keras_inr.training.RECOMMENDED``:
Adam with a cosine learning-rate decay) and the per-family hyperparameters of ``keras-inr fit``
(``keras_inr.cli.FAMILY_DEFAULTS``):

* SIREN: ``w0 = 30`` (Sitzmann et al. 2020, https://arxiv.org/abs/2006.09661, section 3.2).
* Gaussian INR (Ramasinghe & Lucey 2022, https://arxiv.org/abs/2111.15135): ``inverse_scale = 10`` for keras-inr's
  ``[-1, 1]`` coordinates.
* Fourier features (Tancik et al. 2020, https://arxiv.org/abs/2006.10739): ``scale = 5``, the paper's ``sigma = 10``
  for ``[0, 1)`` coordinates, with 256 frequencies.

Both bandwidths matter a lot: larger values fit the pixels better but make the function between pixels noisy (the
measurements behind the choice are in the comment of ``keras_inr.cli.FAMILY_DEFAULTS``).

It prints a markdown table (PSNR and SSIM of the full render against the image, training time) and saves
``comparison.png`` (target | each reconstruction, with error maps) and one PNG per family into ``--out``.

Run (any backend)::

    KERAS_BACKEND=jax python recipes/fit_image.py --image camera --size 128 --steps 500
    python recipes/fit_image.py --quick        # a 32x32, 100-step smoke run
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import keras_inr  # noqa: F401  (selects the JAX backend when KERAS_BACKEND is unset)
import keras
import numpy as np

from keras_inr import data, metrics, plotting, rendering, training
from keras_inr.cli import FAMILY_DEFAULTS
from keras_inr.models import build_model

FAMILY_NAMES = {"siren": "SIREN", "gauss": "Gaussian", "ffn": "Fourier features"}


def fit_family(family: str, image: np.ndarray, steps: int, width: int, depth: int, seed: int) -> dict:
    """Fit one family to ``image`` (``(H, W, C)`` in ``[0, 1]``) full batch; return its render, metrics and time."""
    keras.utils.set_random_seed(seed)
    coordinates, values = data.image_to_coordinates(image)
    hyperparameters = dict(FAMILY_DEFAULTS[family])
    model = build_model(family, image.shape[-1], width=width, depth=depth, in_dims=2, **hyperparameters)
    training.compile_inr(model, total_steps=steps)  # RECOMMENDED learning rate and schedule
    start = time.perf_counter()
    model.fit(training.full_batch(coordinates, values, steps), epochs=1, verbose=0, shuffle=False)
    seconds = time.perf_counter() - start
    reconstruction = rendering.render(model, image.shape[:2])
    return {
        "family": family,
        "hyperparameters": hyperparameters,
        "reconstruction": reconstruction,
        "psnr": float(keras.ops.convert_to_numpy(metrics.psnr(image, reconstruction))),
        "ssim": metrics.ssim(image, reconstruction) if min(image.shape[:2]) >= 11 else float("nan"),
        "seconds": seconds,
        "parameters": model.count_params(),
    }


def markdown_table(results: list[dict]) -> str:
    """The results as a markdown table."""
    lines = [
        "| model | hyperparameters | parameters | PSNR (dB) | SSIM | time (s) |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for result in results:
        hyperparameters = ", ".join(f"{key}={value:g}" for key, value in result["hyperparameters"].items())
        lines.append(
            f"| {FAMILY_NAMES[result['family']]} | {hyperparameters} | {result['parameters']} | "
            f"{result['psnr']:.2f} | {result['ssim']:.4f} | {result['seconds']:.1f} |"
        )
    return "\n".join(lines)


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--image", default="camera", help="scikit-image sample name or image file (default: camera)")
    parser.add_argument("--size", type=int, default=None, help="resize to SIZE x SIZE (default: 128)")
    parser.add_argument("--steps", type=int, default=None, help="full-batch Adam steps per model (default: 500)")
    parser.add_argument("--width", type=int, default=None, help="units per hidden layer (default: 256)")
    parser.add_argument("--depth", type=int, default=3, help="hidden layers (default: 3)")
    parser.add_argument("--families", default="siren,gauss,ffn", help="comma-separated subset of siren,gauss,ffn")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs/fit_image", help="output folder (default: runs/fit_image)")
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: 32x32 image, 100 steps, width 32 (unless given explicitly)"
    )
    args = parser.parse_args(argv)
    defaults = {"size": 32, "steps": 100, "width": 32} if args.quick else {"size": 128, "steps": 500, "width": 256}
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    families = [family.strip() for family in args.families.split(",") if family.strip()]
    for family in families:
        if family not in FAMILY_NAMES:
            parser.error(f"--families: unknown family {family!r}; choose from {', '.join(FAMILY_NAMES)}")
    for name in ("size", "steps", "width", "depth"):
        if getattr(args, name) <= 0:
            parser.error(f"--{name} must be positive, got {getattr(args, name)}")

    image = data.load_image(args.image, size=args.size)
    out = Path(args.out)
    print(f"backend {keras.backend.backend()}; image {args.image!r} {image.shape[0]}x{image.shape[1]}x"
          f"{image.shape[2]}; {args.steps} full-batch steps; width {args.width}, depth {args.depth}; "
          f"Adam {training.RECOMMENDED['learning_rate']:g} {training.RECOMMENDED['schedule']}")
    results = []
    for family in families:
        result = fit_family(family, image, args.steps, args.width, args.depth, args.seed)
        plotting.save_image(out / f"{family}.png", result["reconstruction"])
        print(f"  {FAMILY_NAMES[family]}: {result['psnr']:.2f} dB in {result['seconds']:.1f} s", flush=True)
        results.append(result)

    print()
    print(markdown_table(results))
    figure = plotting.save_comparison(
        out / "comparison.png", image, {FAMILY_NAMES[r["family"]]: r["reconstruction"] for r in results},
        title=f"{args.image}, {image.shape[0]}x{image.shape[1]}, {args.steps} steps, width {args.width}",
    )
    print(f"\nsaved {figure} and one PNG per model in {out}")
    return results


if __name__ == "__main__":
    main()
