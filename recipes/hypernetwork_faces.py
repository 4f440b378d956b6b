"""Recipe: one hypernetwork that turns a face into the SIREN representing it, for each head.

Trains :class:`hypernets.HyperINR` (MLP encoder on the 25x25 pixels, SIREN target) on the faces that scikit-image
ships (``skimage.data.lfw_subset()``, 200 grey 25x25 crops of Labeled Faces in the Wild -- 100 faces and 100
non-face background crops, all used here -- no download), holds some out at random, and prints a markdown
table of PSNR on the held-out and the training faces per head (``"full"``, ``"lowrank"``, ``"shift"``, and per-layer
heads written with ``+``: ``full+lowrank+full`` is full weights for the first and last layers and a low-rank
modulation of the hidden one), next to the baseline of predicting the mean training face. Saves a figure of held-out
reconstructions, ``held_out.png``, into the ``--out`` folder (default ``runs/hypernetwork_faces``; needs matplotlib).

PSNR is :func:`keras_inr.metrics.psnr` per face, of the reconstruction clipped to ``[0, 1]``.

Usage:
    KERAS_BACKEND=jax python recipes/hypernetwork_faces.py [--epochs 150] [--quick] [--out runs/hypernetwork_faces]

Defaults: 150 epochs of 10 batches of 16 faces (1500 steps), 256 random pixels per face per step, SIREN width 64
depth 2, MLP encoder (``--encoder conv``: :class:`hypernets.ConvEncoder`), Adam with cosine decay at each head's
learning rate (:data:`LEARNING_RATES`: 3e-4 for every head, measured best at 500 steps; ``--learning-rate`` sets one
for all), seed 0.
``--quick`` trains 3 epochs, to check that the recipe runs. ``--schedule constant``, ``--init-scale`` and
``--full-parametrization equalized`` reproduce the full head's study (BENCHMARKS.md, section 5).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import hypernets  # noqa: E402
import keras_inr  # noqa: E402  (selects the default backend, JAX, when KERAS_BACKEND is unset)
from keras_inr.metrics import psnr  # noqa: E402
from keras_inr.safe_files import atomic_path  # noqa: E402

#: Default Adam learning rate per head: the best of 3e-4 and 1e-3 (the full head: of 1e-4 to 3e-3) at 500 steps on
#: JAX (BENCHMARKS.md section 5).
LEARNING_RATES = {"full": 3e-4, "lowrank": 3e-4, "shift": 3e-4}


def load_faces(held_out: int, seed: int = 0):
    """LFW faces as ``(N, 25, 25, 1)`` float32 in ``[0, 1]``, split into train and held-out at random."""
    from skimage.data import lfw_subset

    faces = lfw_subset().astype("float32")[..., None]
    order = np.random.default_rng(seed).permutation(len(faces))
    return faces[order[held_out:]], faces[order[:held_out]]


def psnr_per_image(truth: np.ndarray, prediction: np.ndarray) -> np.ndarray:
    """PSNR in dB of each image of ``(N, H, W, C)`` stacks in ``[0, 1]``, the prediction clipped to ``[0, 1]``."""
    return np.asarray(psnr(truth, np.clip(prediction, 0.0, 1.0), axis=(1, 2, 3)))


def head_argument(head: str):
    """``"full"`` -> ``"full"``; ``"full+lowrank+full"`` -> ``["full", "lowrank", "full"]`` (a per-layer head)."""
    return head.split("+") if "+" in head else head


def default_learning_rate(head: str) -> float:
    """:data:`LEARNING_RATES` of a head; a per-layer head with a full layer takes the full head's."""
    names = head.split("+")
    return LEARNING_RATES["full"] if "full" in names else max(LEARNING_RATES.get(name, 1e-3) for name in names)


def make_model(head: str, width: int, depth: int, points: int, seed: int, encoder: str = "mlp",
               sub_steps: int = 1, init_scale: float = 0.1, full_parametrization: str = "direct"
               ) -> hypernets.HyperINR:
    keras.utils.set_random_seed(seed)
    if encoder == "conv":
        network = hypernets.ConvEncoder(features=64, filters=(32, 64), groups=8, name="encoder")
    else:
        network = keras.Sequential(
            [
                keras.layers.Flatten(),
                keras.layers.Dense(256, activation="relu"),
                keras.layers.Dense(128, activation="relu"),
                keras.layers.Dense(64),
            ],
            name="encoder",
        )
    target = keras_inr.SIREN(out_dims=1, width=width, depth=depth)
    full = {"init_scale": init_scale, "parametrization": full_parametrization}
    if "+" in head:
        config = {"init_scale": init_scale, "head_configs": {"full": {"parametrization": full_parametrization}}}
    else:
        config = full if head == "full" else {"init_scale": init_scale}
    return hypernets.HyperINR(network, target, head=head_argument(head), head_config=config, points_per_step=points,
                              seed=seed, sub_steps=sub_steps)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=150, help="training epochs (10 steps each)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--points", type=int, default=256, help="random pixels per face and training step")
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--depth", type=int, default=2)
    parser.add_argument("--held-out", type=int, default=40)
    parser.add_argument("--learning-rate", type=float, default=None,
                        help="Adam learning rate of every head (default: each head's, see LEARNING_RATES)")
    parser.add_argument("--schedule", choices=("cosine", "constant"), default="cosine")
    parser.add_argument("--heads", default="full,lowrank,shift,full+lowrank+full",
                        help="comma-separated heads; '+' joins per-layer heads (one per weight layer)")
    parser.add_argument("--encoder", choices=("mlp", "conv"), default="mlp")
    parser.add_argument("--sub-steps", type=int, default=1, help="optimiser steps per batch (HyperINR sub_steps)")
    parser.add_argument("--init-scale", type=float, default=0.1, help="the heads' init_scale")
    parser.add_argument("--full-parametrization", choices=("direct", "equalized"), default="direct")
    parser.add_argument("--quick", action="store_true", help="3 epochs, to check that the recipe runs")
    parser.add_argument("--out", default=os.path.join("runs", "hypernetwork_faces"),
                        help="output folder for held_out.png, the figure of held-out reconstructions (default: "
                        "%(default)s)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.quick:
        args.epochs = 3

    train, test = load_faces(args.held_out, args.seed)
    steps = args.epochs * (len(train) // args.batch_size) * args.sub_steps
    print(f"{keras.backend.backend()}: {len(train)} training faces, {len(test)} held out, {args.epochs} epochs "
          f"({steps} optimiser steps), SIREN width {args.width} depth {args.depth}, {args.points} pixels per face "
          f"per step, {args.encoder} encoder, {args.schedule} schedule\n")

    mean_face = np.broadcast_to(train.mean(axis=0), test.shape)
    results = {"mean training face (baseline)": (psnr_per_image(test, mean_face), None, None, mean_face)}
    for head in args.heads.split(","):
        model = make_model(head, args.width, args.depth, args.points, args.seed, encoder=args.encoder,
                           sub_steps=args.sub_steps, init_scale=args.init_scale,
                           full_parametrization=args.full_parametrization)
        rate = args.learning_rate if args.learning_rate is not None else default_learning_rate(head)
        schedule = rate
        if args.schedule == "cosine":
            schedule = keras.optimizers.schedules.CosineDecay(rate, decay_steps=steps, alpha=0.05)
        model.compile(optimizer=keras.optimizers.Adam(schedule))
        start = time.perf_counter()
        history = model.fit(train, train, batch_size=args.batch_size, epochs=args.epochs, verbose=0)
        seconds = time.perf_counter() - start
        reconstructions = model.render(test, (25, 25))
        train_psnr = psnr_per_image(train, model.render(train, (25, 25))).mean()
        results[head] = (psnr_per_image(test, reconstructions), train_psnr, seconds, reconstructions)
        print(f"  {head} (Adam {rate:g}): final training loss {history.history['loss'][-1]:.5f}, {seconds:.0f} s",
              flush=True)

    print("\n| head | held-out PSNR (dB, mean +- std over faces) | training-face PSNR (dB) | training time (s) |")
    print("|---|---:|---:|---:|")
    for name, (scores, train_psnr, seconds, _) in results.items():
        train_text = f"{train_psnr:.2f}" if train_psnr is not None else "-"
        time_text = f"{seconds:.0f}" if seconds is not None else "-"
        print(f"| {name} | {scores.mean():.2f} +- {scores.std():.2f} | {train_text} | {time_text} |")

    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover - matplotlib is optional
        print("\n(matplotlib not installed: no figure)")
        return results
    shown = min(6, len(test))
    columns = ["held-out face", *results]
    figure, axes = plt.subplots(shown, len(columns), figsize=(1.6 * len(columns), 1.6 * shown), squeeze=False)
    for row in range(shown):
        images = [test[row], *[entry[3][row] for entry in results.values()]]
        for column, (title, image) in enumerate(zip(columns, images)):
            axis = axes[row, column]
            axis.imshow(np.clip(image[..., 0], 0, 1), cmap="gray", vmin=0, vmax=1)
            axis.set_xticks([])
            axis.set_yticks([])
            if row == 0:
                axis.set_title(title.replace(" (baseline)", ""), fontsize=7)
    figure.tight_layout()
    path = Path(args.out) / "held_out.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as temporary:  # whole or not at all: a stopped run keeps the previous figure
        figure.savefig(temporary, dpi=120)
    plt.close(figure)
    print(f"\nsaved {path}")
    return results


if __name__ == "__main__":
    main()
