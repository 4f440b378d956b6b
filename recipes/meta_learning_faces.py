"""Recipe: meta-learned modulations (functa) against the encoder-based shift head, on faces and digits.

Trains :class:`hypernets.MetaModulatedINR` -- a shared SIREN whose hidden biases are shifted per image, the shifts
fitted by ``--inner-steps`` gradient steps inside each training step and the SIREN meta-learned through them
(Dupont et al. 2022, https://arxiv.org/abs/2201.12204, section 3) -- and, for the same wall-clock training time,
:class:`hypernets.HyperINR` with the ``"shift"`` head (an MLP encoder predicting the same shifts of the same SIREN in
one forward pass). Held-out images are then represented by the meta model after ``--inner-steps`` steps of
:meth:`~hypernets.MetaModulatedINR.fit_modulations` (no encoder), and by the shift head's encoder.

Datasets that ship with their packages (no download): scikit-image's faces (``skimage.data.lfw_subset()``, 200 grey
25x25 crops, loaded and split as in ``recipes/hypernetwork_faces.py``, ``--held-out`` of them held out) and
scikit-learn's digits (``sklearn.datasets.load_digits``, 1797 grey 8x8 images scaled to ``[0, 1]``,
``--digits-held-out`` held out). Prints a markdown table of held-out and training PSNR (per image, clipped to
``[0, 1]``) and writes it, with a figure of held-out faces, into ``--out`` (default ``runs/meta_learning_faces``).

Usage:
    KERAS_BACKEND=jax python recipes/meta_learning_faces.py [--seconds 300] [--quick] [--out runs/meta_learning_faces]

Defaults: SIREN width 64 depth 2 for every model; meta models: 3 inner steps, inner learning rate 0.1 (Meta-SGD),
outer Adam 1e-3 on batches of 16 images (every pixel), one with the exact (second-order) meta-gradient and one
first-order; shift head: the hypernetwork_faces recipe's MLP encoder,
Adam 1e-3 on batches of 16 images with 256 random pixels per image and step. Each model trains for ``--seconds`` of
wall-clock time per dataset (after its first, compiling step). ``--quick`` trains each model for at most 3
seconds, to check that the recipe runs.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import hypernets  # noqa: E402
import keras_inr  # noqa: E402  (selects the default backend, JAX, when KERAS_BACKEND is unset)
from keras_inr import safe_files  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from hypernetwork_faces import load_faces, psnr_per_image  # noqa: E402


class TimeBudget(keras.callbacks.Callback):
    """Stops ``fit`` after the first batch that ends past ``seconds`` of wall-clock training time, counted from the
    end of the first step (which compiles the step function: JAX/TensorFlow tracing is not training time); counts the
    steps and measures the time from the end of the first step to the end of the last, ``elapsed``."""

    def __init__(self, seconds: float):
        super().__init__()
        self.seconds, self.steps, self.start, self.elapsed = seconds, 0, None, 0.0

    def on_train_batch_end(self, batch, logs=None):
        self.steps += 1
        now = time.perf_counter()
        if self.start is None:
            self.start = now
            return
        self.elapsed = now - self.start
        if self.elapsed >= self.seconds:
            self.model.stop_training = True


def load_digits(held_out: int, seed: int = 0):
    """scikit-learn's digits as ``(N, 8, 8, 1)`` float32 in ``[0, 1]``, split into train and held-out at random."""
    from sklearn.datasets import load_digits as sklearn_digits

    digits = (sklearn_digits().images / 16.0).astype("float32")[..., None]
    order = np.random.default_rng(seed).permutation(len(digits))
    return digits[order[held_out:]], digits[order[:held_out]]


def shift_head_model(width: int, depth: int, points: int, seed: int) -> hypernets.HyperINR:
    """The hypernetwork_faces recipe's encoder (MLP 256-128-64 on the pixels) with the ``"shift"`` head."""
    keras.utils.set_random_seed(seed)
    encoder = keras.Sequential(
        [keras.layers.Flatten(), keras.layers.Dense(256, activation="relu"),
         keras.layers.Dense(128, activation="relu"), keras.layers.Dense(64)],
        name="encoder",
    )
    target = keras_inr.SIREN(out_dims=1, width=width, depth=depth)
    return hypernets.HyperINR(encoder, target, head="shift", points_per_step=points, seed=seed)


def meta_model(args) -> hypernets.MetaModulatedINR:
    keras.utils.set_random_seed(args.seed)
    target = keras_inr.SIREN(out_dims=1, width=args.width, depth=args.depth)
    return hypernets.MetaModulatedINR(
        target, inner_steps=args.inner_steps, inner_learning_rate=args.inner_learning_rate, meta_sgd=True,
        first_order=args.first_order, latent_dim=args.latent_dim or None, seed=args.seed,
    )


def run_dataset(name: str, train: np.ndarray, test: np.ndarray, args) -> dict:
    shape = train.shape[1:3]
    rows = {}
    mean_image = np.broadcast_to(train.mean(axis=0), test.shape)
    rows["mean training image (baseline)"] = dict(held_out=psnr_per_image(test, mean_image), train=None,
                                                  seconds=None, steps=None, images=mean_image)

    for order in args.orders.split(","):
        args.first_order = order == "first"
        model = meta_model(args)
        model.compile(optimizer=keras.optimizers.Adam(args.meta_learning_rate))
        budget = TimeBudget(args.seconds)
        model.fit(train, batch_size=args.batch_size, epochs=10**6, callbacks=[budget], verbose=0)
        seconds = budget.elapsed
        held_out = model.render(model.fit_modulations(test, steps=args.inner_steps), shape)
        seen = model.render(model.fit_modulations(train[:40], steps=args.inner_steps), shape)
        label = f"meta-learned shifts, {args.inner_steps} inner steps, {order} order"
        rows[label] = dict(held_out=psnr_per_image(test, held_out), train=psnr_per_image(train[:40], seen).mean(),
                           seconds=seconds, steps=budget.steps, images=held_out)
        print(f"  {name}: {label}: {budget.steps} steps in {seconds:.0f} s", flush=True)

    points = min(args.points, int(np.prod(shape)))
    baseline = shift_head_model(args.width, args.depth, points, args.seed)
    baseline.compile(optimizer=keras.optimizers.Adam(args.shift_learning_rate))
    budget = TimeBudget(args.seconds)
    baseline.fit(train, train, batch_size=args.batch_size, epochs=10**6, callbacks=[budget], verbose=0)
    seconds = budget.elapsed
    held_out = baseline.render(test, shape)
    rows["encoder + shift head (HyperINR)"] = dict(
        held_out=psnr_per_image(test, held_out), train=psnr_per_image(train[:40], baseline.render(train[:40],
                                                                                                  shape)).mean(),
        seconds=seconds, steps=budget.steps, images=held_out)
    print(f"  {name}: shift head: {budget.steps} steps in {seconds:.0f} s", flush=True)
    return rows


def step_times(train: np.ndarray, args) -> None:
    """Print the mean time of one meta training step per order (``--step-times N``: one ``fit`` call of N steps,
    after a first call that compiles the step)."""
    batches = np.tile(train, (int(np.ceil(args.step_times * args.batch_size / len(train))), 1, 1, 1))
    batches = batches[: args.step_times * args.batch_size]
    for order in args.orders.split(","):
        args.first_order = order == "first"
        model = meta_model(args)
        model.compile(optimizer=keras.optimizers.Adam(args.meta_learning_rate))
        model.fit(train[: args.batch_size], batch_size=args.batch_size, epochs=1, verbose=0)  # compiles
        start = time.perf_counter()
        model.fit(batches, batch_size=args.batch_size, epochs=1, shuffle=False, verbose=0)
        seconds = (time.perf_counter() - start) / args.step_times
        print(f"{keras.backend.backend()}: {order}-order meta step ({args.inner_steps} inner steps, batch "
              f"{args.batch_size}, {train.shape[1]}x{train.shape[2]}, SIREN {args.width}x{args.depth}): "
              f"{1000 * seconds:.0f} ms (mean of {args.step_times} steps in one fit call)", flush=True)


def table(results: dict) -> str:
    lines = ["| dataset | model | held-out PSNR (dB, mean +- std) | training PSNR (dB, 40 images) | training steps "
             "| training time (s, after the first step) |", "|---|---|---:|---:|---:|---:|"]
    for dataset, entry in results.items():
        for model, row in entry["rows"].items():
            train = f"{row['train']:.2f}" if row["train"] is not None else "-"
            steps = str(row["steps"]) if row["steps"] is not None else "-"
            seconds = f"{row['seconds']:.0f}" if row["seconds"] is not None else "-"
            lines.append(f"| {dataset} | {model} | {row['held_out'].mean():.2f} +- {row['held_out'].std():.2f} | "
                         f"{train} | {steps} | {seconds} |")
    return "\n".join(lines)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=300.0, help="training time per model and dataset")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--depth", type=int, default=2)
    parser.add_argument("--inner-steps", type=int, default=3)
    parser.add_argument("--inner-learning-rate", type=float, default=0.1)
    parser.add_argument("--meta-learning-rate", type=float, default=1e-3)
    parser.add_argument("--latent-dim", type=int, default=0, help="0: the modulations are the shifts themselves")
    parser.add_argument("--orders", default="second,first",
                        help="meta models to train: 'second' (exact meta-gradient), 'first' (first-order)")
    parser.add_argument("--shift-learning-rate", type=float, default=1e-3)
    parser.add_argument("--points", type=int, default=256, help="shift head: random pixels per image and step")
    parser.add_argument("--held-out", type=int, default=40)
    parser.add_argument("--digits-held-out", type=int, default=200)
    parser.add_argument("--datasets", default="faces,digits")
    parser.add_argument("--quick", action="store_true",
                        help="at most 3 seconds per model, to check that the recipe runs")
    parser.add_argument("--out", default=os.path.join("runs", "meta_learning_faces"),
                        help="output folder for results.md and held_out.png (default: %(default)s)")
    parser.add_argument("--step-times", type=int, default=0,
                        help="only time N meta training steps per order on the faces and exit")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds = min(args.seconds, 3.0)
    if not set(args.orders.split(",")) <= {"first", "second"}:
        parser.error(f"--orders takes 'first' and/or 'second', comma-separated; got {args.orders!r}")
    loaders = {"faces (25x25)": lambda: load_faces(args.held_out, args.seed),
               "digits (8x8)": lambda: load_digits(args.digits_held_out, args.seed)}
    chosen = [key for key in loaders if key.split(" ")[0] in args.datasets.split(",")]
    if args.step_times > 0:
        step_times(load_faces(args.held_out, args.seed)[0], args)
        return {}
    print(f"{keras.backend.backend()}: SIREN width {args.width} depth {args.depth}, {args.seconds:.0f} s of training "
          f"per model, batch {args.batch_size}, {args.inner_steps} inner steps (inner learning rate "
          f"{args.inner_learning_rate:g}, Meta-SGD), outer Adam {args.meta_learning_rate:g}; shift head Adam "
          f"{args.shift_learning_rate:g}\n", flush=True)
    results = {}
    for key in chosen:
        train, test = loaders[key]()
        print(f"{key}: {len(train)} training images, {len(test)} held out", flush=True)
        results[key] = {"test": test, "rows": run_dataset(key, train, test, args)}
    text = table(results)
    print("\n" + text)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    command = "python recipes/meta_learning_faces.py " + " ".join(sys.argv[1:] if argv is None else argv)
    safe_files.write_text(out / "results.md", f"{keras.backend.backend()}: `{command}`\n\n{text}\n")
    print(f"\nsaved {out / 'results.md'}")
    _figure(results, out)
    return results


def _figure(results: dict, out: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover - matplotlib is optional
        print("(matplotlib not installed: no figure)")
        return
    entry = next(iter(results.values()))
    columns = ["held-out image", *entry["rows"]]
    images = [entry["test"], *[row["images"] for row in entry["rows"].values()]]
    shown = min(6, len(images[0]))
    figure, axes = plt.subplots(shown, len(columns), figsize=(1.8 * len(columns), 1.6 * shown), squeeze=False)
    for row in range(shown):
        for column, title in enumerate(columns):
            axis = axes[row, column]
            axis.imshow(np.clip(images[column][row][..., 0], 0, 1), cmap="gray", vmin=0, vmax=1)
            axis.set_xticks([])
            axis.set_yticks([])
            if row == 0:
                axis.set_title(title.replace(" (baseline)", "").replace(", ", "\n", 1), fontsize=6)
    figure.tight_layout()
    path = out / "held_out.png"
    with safe_files.atomic_path(path) as temporary:  # a stopped run leaves the previous figure whole
        figure.savefig(temporary, dpi=120)
    plt.close(figure)
    print(f"saved {path}")


if __name__ == "__main__":
    main()
