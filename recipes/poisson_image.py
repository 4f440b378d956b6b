"""Recipe: reconstruct an image from its gradient field only, and from its Laplacian only (SIREN's Poisson experiment).

Sitzmann et al. 2020 (https://arxiv.org/abs/2006.09661, section 4.1) fit a SIREN to the derivatives of an image
instead of its pixels: the network never sees a pixel value, only ``grad f`` (or ``lap f``), and the image comes back
by evaluating the network. Here:

* the targets are the image's derivatives with respect to the coordinates in ``[-1, 1]``: central differences
  (``numpy.gradient``) for the gradient and the 5-point stencil (``scipy.ndimage.laplace``) for the Laplacian, both
  divided by the grid spacing so they are derivatives of the same function the network represents;
* each supervision trains a SIREN through ``model.fit`` with :class:`keras_inr.DerivativeModel` and
  :class:`~keras_inr.derivative_losses.GradientLoss` (SIREN's ``gradients_mse``) or
  :class:`~keras_inr.derivative_losses.LaplacianLoss` (``laplace_mse``), full batch;
* derivatives determine the image only up to what they cannot see: a constant for the gradient, a harmonic function
  for the Laplacian. The PSNR is therefore measured after fitting the offset by least squares; for the Laplacian a
  second PSNR is measured after fitting the harmonic polynomials of degree at most 3 (``Re, Im (x1 + i x0)^k``), the
  low-order part of what it cannot see.

It prints a markdown table and saves ``from_gradient.png``, ``from_laplacian.png``, ``results.md`` and the figure
``poisson.png`` (target, its gradient norm and Laplacian; each reconstruction, its error and the fitted SIREN's
gradient norm or the harmonic-fitted reconstruction) into ``--out``.

Run (any backend)::

    KERAS_BACKEND=jax python recipes/poisson_image.py            # 128x128, SIREN 3x64, 1000 steps
    python recipes/poisson_image.py --quick        # a 32x32 smoke run
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import keras_inr  # first: selects the JAX backend when KERAS_BACKEND is unset

# isort: split
import keras
import numpy as np
from scipy import ndimage

from keras_inr import data, derivative_losses, differential, metrics, plotting, training
from keras_inr.safe_files import atomic_path, write_text

#: Degree of the harmonic polynomials fitted to a reconstruction from the Laplacian (the second PSNR column).
HARMONIC_DEGREE = 3


def image_derivatives(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The gradient ``(H, W, 2)`` and Laplacian ``(H, W)`` of a grey image ``(H, W)`` with respect to the grid
    coordinates of :func:`keras_inr.data.coordinate_grid` (axis 0 then axis 1, each sampled on ``[-1, 1]``)."""
    spacing = [2.0 / (n - 1) for n in image.shape]
    gradient = np.stack(np.gradient(image.astype(np.float64), *spacing), axis=-1)
    if spacing[0] != spacing[1]:
        raise ValueError(f"`image` must be square for the 5-point Laplacian, got shape {image.shape}.")
    laplacian = ndimage.laplace(image.astype(np.float64), mode="nearest") / spacing[0] ** 2
    return gradient.astype(np.float32), laplacian.astype(np.float32)


def harmonic_basis(shape, degree: int) -> np.ndarray:
    """``(H * W, 1 + 2 degree)``: the constant and the harmonic polynomials ``Re, Im (x1 + i x0)^k``, ``k <= degree``,
    on the grid (all have a zero Laplacian: what a Laplacian cannot see, up to this degree)."""
    grid = data.coordinate_grid(shape).astype(np.float64)
    complex_coordinates = grid[:, 1] + 1j * grid[:, 0]
    columns = [np.ones(len(grid))]
    for power in range(1, degree + 1):
        columns += [np.real(complex_coordinates**power), np.imag(complex_coordinates**power)]
    return np.stack(columns, axis=-1)


def fit_to_target(reconstruction: np.ndarray, image: np.ndarray, degree: int = 0) -> np.ndarray:
    """``reconstruction`` plus the least-squares combination of :func:`harmonic_basis` (``degree=0``: the offset
    alone) that brings it closest to ``image``: the part its derivatives cannot determine."""
    basis = harmonic_basis(image.shape, degree)
    residual = (image - reconstruction).reshape(-1).astype(np.float64)
    coefficients, *_ = np.linalg.lstsq(basis, residual, rcond=None)
    return (reconstruction.reshape(-1) + basis @ coefficients).reshape(image.shape)


def fit(supervision: str, image: np.ndarray, targets: dict, args) -> dict:
    """Fit a SIREN to one derivative of ``image``; return its reconstruction, PSNRs, loss and time."""
    keras.utils.set_random_seed(args.seed)
    height, width = image.shape
    coordinates = data.coordinate_grid((height, width))
    inr = keras_inr.SIREN(1, width=args.width, depth=args.depth, w0=args.w0, in_dims=2)
    term = derivative_losses.GradientLoss() if supervision == "gradient" else derivative_losses.LaplacianLoss()
    model = keras_inr.DerivativeModel(inr, [term])
    learning_rate = training.make_learning_rate(args.learning_rate, "cosine", total_steps=args.steps)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate))
    per_epoch = max(1, args.steps // 10)
    while args.steps % per_epoch:
        per_epoch -= 1
    dataset = derivative_losses.full_batch_targets(
        coordinates, {term.target: targets[supervision].reshape(height * width, -1)}, args.steps, per_epoch
    )
    start = time.perf_counter()
    history = model.fit(dataset, epochs=dataset.epochs, verbose=0)
    seconds = time.perf_counter() - start
    reconstruction = keras_inr.render(inr, (height, width))[..., 0].astype(np.float64)
    offset = fit_to_target(reconstruction, image)
    # what the network makes of the derivative it was given: its gradient norm, or the harmonic part left to fit
    if supervision == "gradient":
        coordinates_gradient = differential.gradient(inr, coordinates)
        extra = np.linalg.norm(keras.ops.convert_to_numpy(coordinates_gradient), axis=-1).reshape(height, width)
        harmonic = None
    else:
        harmonic = fit_to_target(reconstruction, image, HARMONIC_DEGREE)
        extra = harmonic
    return {
        "supervision": supervision,
        "parameters": inr.count_params(),
        "loss": history.history["loss"][-1],
        "psnr": metrics.psnr(image, offset),
        "psnr_harmonic": None if harmonic is None else metrics.psnr(image, harmonic),
        "reconstruction": offset,
        "extra": extra,
        "seconds": seconds,
    }


def markdown_table(results: list[dict], args) -> str:
    lines = [
        "| supervision | SIREN | parameters | steps | final loss | PSNR, offset fitted (dB) | PSNR, harmonic part "
        f"fitted, degree <= {HARMONIC_DEGREE} (dB) | time (s) |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for result in results:
        harmonic = "n/a" if result["psnr_harmonic"] is None else f"{result['psnr_harmonic']:.2f}"
        lines.append(
            f"| {result['supervision']} only | {args.depth}x{args.width}, w0={args.w0:g} | {result['parameters']} | "
            f"{args.steps} | {result['loss']:.4g} | {result['psnr']:.2f} | {harmonic} | "
            f"{result['seconds']:.1f} |"
        )
    return "\n".join(lines)


def save_figure(path: Path, image, gradient, laplacian, results: list[dict], title: str) -> Path:
    """Target, its gradient norm and Laplacian (top); each reconstruction and its error (below)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(3.0 * 3, 3.0 * (1 + len(results))), constrained_layout=True)
    FigureCanvasAgg(figure)
    axes = figure.subplots(1 + len(results), 3, squeeze=False)
    limit = np.percentile(np.abs(laplacian), 99) or 1.0
    panels = [
        (image, "target", {"cmap": "gray", "vmin": 0, "vmax": 1}),
        (np.linalg.norm(gradient, axis=-1), "|grad| (gradient target)", {"cmap": "magma"}),
        (laplacian, "Laplacian target", {"cmap": "RdBu_r", "vmin": -limit, "vmax": limit}),
    ]
    for result in results:
        error = np.abs(result["reconstruction"] - image)
        panels += [
            (result["reconstruction"], f"from {result['supervision']}: {result['psnr']:.2f} dB",
             {"cmap": "gray", "vmin": 0, "vmax": 1}),
            (error, "|error|", {"cmap": "inferno", "vmin": 0, "vmax": 0.25}),
        ]
        if result["psnr_harmonic"] is None:
            panels.append((result["extra"], "|grad| of the fitted SIREN", {"cmap": "magma"}))
        else:
            panels.append((result["extra"], f"harmonic part (degree <= {HARMONIC_DEGREE}) fitted: "
                           f"{result['psnr_harmonic']:.2f} dB", {"cmap": "gray", "vmin": 0, "vmax": 1}))
    for axis, (array, label, style) in zip(axes.ravel(), panels):
        axis.set_axis_off()
        if array is not None:
            axis.imshow(array, **style)
            axis.set_title(label, fontsize=9)
    figure.suptitle(title, fontsize=10)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    return path


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--image", default="camera", help="scikit-image sample name or image file (default: camera)")
    parser.add_argument("--size", type=int, default=None, help="resize to SIZE x SIZE (default: 128)")
    parser.add_argument("--steps", type=int, default=None, help="full-batch Adam steps per fit (default: 1000)")
    parser.add_argument("--width", type=int, default=None, help="units per hidden layer (default: 64)")
    parser.add_argument("--depth", type=int, default=3, help="sine layers (default: 3)")
    parser.add_argument("--w0", type=float, default=30.0, help="SIREN omega_0 (default: 30, the paper's)")
    parser.add_argument("--learning-rate", type=float, default=1e-3,
                        help="initial Adam learning rate, cosine decay to 1%% (default: 1e-3)")
    parser.add_argument("--supervision", default="gradient,laplacian",
                        help="comma-separated: gradient, laplacian (default: both)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs/poisson_image", help="output folder (default: runs/poisson_image)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 32x32 image, 150 steps, width 32 (unless given explicitly)")
    args = parser.parse_args(argv)
    defaults = {"size": 32, "steps": 150, "width": 32} if args.quick else {"size": 128, "steps": 1000, "width": 64}
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    for name in ("size", "steps", "width", "depth"):
        if getattr(args, name) <= 0:
            parser.error(f"--{name} must be positive, got {getattr(args, name)}")
    if args.size < 3:
        parser.error(f"--size must be at least 3 (derivatives need neighbours), got {args.size}")
    supervisions = [name.strip() for name in args.supervision.split(",") if name.strip()]
    if not supervisions or set(supervisions) - {"gradient", "laplacian"} or len(set(supervisions)) < len(supervisions):
        parser.error(f"--supervision must list gradient and/or laplacian once each, got {args.supervision!r}")

    image = data.load_image(args.image, size=args.size)
    image = image.mean(axis=-1) if image.shape[-1] > 1 else image[..., 0]
    gradient, laplacian = image_derivatives(image)
    targets = {"gradient": gradient, "laplacian": laplacian}
    out = Path(args.out)
    print(f"backend {keras.backend.backend()}; image {args.image!r} {args.size}x{args.size} (grey); SIREN "
          f"{args.depth}x{args.width}, w0={args.w0:g}; {args.steps} full-batch steps, Adam {args.learning_rate:g} "
          "with cosine decay; the network sees only the derivatives")
    results = []
    for supervision in supervisions:
        result = fit(supervision, image, targets, args)
        plotting.save_image(out / f"from_{supervision}.png", np.clip(result["reconstruction"], 0, 1))
        print(f"  from the {supervision}: {result['psnr']:.2f} dB (offset fitted) in {result['seconds']:.1f} s",
              flush=True)
        results.append(result)
    table = markdown_table(results, args)
    print()
    print(table)
    write_text(out / "results.md", table + "\n")
    figure = out / "poisson.png"
    with atomic_path(figure) as temporary:
        save_figure(
            temporary, image, gradient, laplacian, results,
            f"{args.image} {args.size}x{args.size} from derivatives only ({keras.backend.backend()}, {args.steps} "
            "steps)",
        )
    print(f"\nsaved {figure}, results.md and one PNG per supervision in {out}")
    return results


if __name__ == "__main__":
    main()
