"""Recipe: fit a SIREN, a Gaussian INR and a Fourier-feature network to one image and compare them.

Each family is fitted with :func:`keras_inr.fit_signal`, exactly as ``keras-inr fit`` does: full batch, the
registry's recommended hyperparameters (:meth:`keras_inr.families.Family.recommended`, e.g. SIREN ``w0 = 20``,
Fourier features ``scale = 5`` with 256 frequencies, Gaussian ``inverse_scale = 10``) and the family's recommended
training (:func:`keras_inr.training.recommended`: Adam with a cosine learning-rate decay; Fourier features at 3e-3).
Why these values: BENCHMARKS.md, "Family defaults". Any registered family can be named in ``--families``.

It prints a markdown table (PSNR and SSIM of the full render against the image, training time) and saves
``comparison.png`` (target | each reconstruction, with error maps) and one PNG per family into ``--out``.

Run (any backend)::

    KERAS_BACKEND=jax python recipes/fit_image.py --image camera --size 128 --steps 500
    python recipes/fit_image.py --quick        # a 32x32, 100-step smoke run
"""

from __future__ import annotations

import argparse
from pathlib import Path

import keras_inr  # first: selects the JAX backend when KERAS_BACKEND is unset

# isort: split
import keras
import numpy as np

from keras_inr import data, families, plotting

#: The families fitted by default (the three of the first keras-inr release; any registered family can be named).
DEFAULT_FAMILIES = "siren,gauss,ffn"


def fit_family(family: str, image: np.ndarray, steps: int, width: int, depth: int, seed: int) -> dict:
    """Fit one family to ``image`` (``(H, W, C)`` in ``[0, 1]``) as ``keras-inr fit`` does; return its render,
    metrics, settings and time."""
    result = keras_inr.fit_signal(
        image, family, steps=steps, width=width, depth=depth, steps_per_epoch=steps, seed=seed
    )
    return {
        "family": result.settings["model"],
        "hyperparameters": result.settings["hyperparameters"],
        "learning_rate": result.settings["learning_rate"],
        "reconstruction": result.reconstruction,
        "psnr": result.psnr,
        "ssim": result.ssim if result.ssim is not None else float("nan"),
        "seconds": result.seconds,
        "parameters": result.model.count_params(),
    }


def markdown_table(results: list[dict]) -> str:
    """The results as a markdown table."""
    lines = [
        "| model | hyperparameters | learning rate | parameters | PSNR (dB) | SSIM | time (s) |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for result in results:
        hyperparameters = ", ".join(f"{key}={value:g}" for key, value in result["hyperparameters"].items())
        lines.append(
            f"| {families.get(result['family']).title} | {hyperparameters} | {result['learning_rate']:g} | "
            f"{result['parameters']} | "
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
    parser.add_argument(
        "--families", default=DEFAULT_FAMILIES,
        help=f"comma-separated registered families, of {', '.join(families.names())} (default: {DEFAULT_FAMILIES})",
    )
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
    try:
        names = families.check_names(args.families, "--families")
    except ValueError as error:
        parser.error(str(error))
    for name in ("size", "steps", "width", "depth"):
        if getattr(args, name) <= 0:
            parser.error(f"--{name} must be positive, got {getattr(args, name)}")

    image = data.load_image(args.image, size=args.size)
    out = Path(args.out)
    print(f"backend {keras.backend.backend()}; image {args.image!r} {image.shape[0]}x{image.shape[1]}x"
          f"{image.shape[2]}; {args.steps} full-batch steps; width {args.width}, depth {args.depth}; each family's "
          "recommended hyperparameters and training (keras_inr.fit_signal)")
    results = []
    for family in names:
        result = fit_family(family, image, args.steps, args.width, args.depth, args.seed)
        plotting.save_image(out / f"{family}.png", result["reconstruction"])
        print(f"  {families.get(family).title}: {result['psnr']:.2f} dB in {result['seconds']:.1f} s", flush=True)
        results.append(result)

    print()
    print(markdown_table(results))
    figure = plotting.save_comparison(
        out / "comparison.png", image, {families.get(r["family"]).title: r["reconstruction"] for r in results},
        title=f"{args.image}, {image.shape[0]}x{image.shape[1]}, {args.steps} steps, width {args.width}",
    )
    print(f"\nsaved {figure} and one PNG per model in {out}")
    return results


if __name__ == "__main__":
    main()
