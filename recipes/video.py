"""Recipe: fit a short generated video (a pan and zoom across a bundled image) with a SIREN on 3-D coordinates
``(t, y, x)``, and write the reconstruction as a GIF.

The video is made here (no download): frame ``k`` of ``--frames`` shows a square window of scikit-image's
``--image`` (astronaut by default) that zooms in from 90 % to 45 % of the image while its centre moves along a curve;
each frame's pixels are read from the image with :class:`keras_inr.signals.ArraySignal` (bilinear interpolation at
the window's coordinates), giving a ``(T, S, S, 3)`` array in ``[0, 1]``. Time is the first coordinate: frame ``k``
sits at ``linspace(-1, 1, T)[k]``.

The model is a SIREN (Sitzmann et al. 2020 fit videos the same way, ``w0 = 30``) trained with ``model.fit`` on
random batches of the video's pixels: a :class:`keras_inr.samplers.SignalDataset` of the video and a
:class:`keras_inr.samplers.GridSubsetSampler`, seeded by ``(seed, epoch, step)`` (with
:class:`keras_inr.callbacks.DatasetEpoch`, so a resumed run would draw the same batches), Adam at 1e-3 with a cosine
decay (keras-inr's recommended training).

It prints a markdown table of the PSNR of every frame of the full render (clipped to ``[0, 1]``) and writes into
``--out``: ``target.gif``, ``reconstruction.gif`` and ``frames.png`` (a few frames, target above reconstruction, and
the PSNR per frame).

Run (any backend)::

    KERAS_BACKEND=jax python recipes/video.py                 # 32 frames of 48x48, 1000 steps of 8192 pixels
    python recipes/video.py --quick --out /tmp/video          # 16 frames of 16x16, 100 steps: a smoke run
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import keras_inr  # first: selects the JAX backend when KERAS_BACKEND is unset

# isort: split
import keras
import numpy as np

from keras_inr import data, samplers, signals
from keras_inr.callbacks import DatasetEpoch
from keras_inr.training import compile_inr


def make_video(image: str, frames: int, size: int) -> np.ndarray:
    """A pan and zoom across ``image``: ``frames`` square frames of ``size`` pixels, ``float32`` ``(T, S, S, C)`` in
    ``[0, 1]``. The window's half-width goes from 0.9 to 0.45 (of the image's ``[-1, 1]`` extent) and its centre
    follows a curve that keeps it inside the image."""
    # enough resolution for the narrowest window, anti-aliased once by load_image's resize
    source = signals.ArraySignal(data.load_image(image, size=max(4, round(2.5 * size))))
    grid = data.coordinate_grid((size, size))
    video = []
    for u in np.linspace(0.0, 1.0, frames):
        half = 0.9 - 0.45 * u
        centre = (1.0 - half) * np.array([0.6 * np.sin(np.pi * u) - 0.3, 0.8 * (2.0 * u - 1.0)])
        video.append(source(centre + half * grid).reshape(size, size, -1))
    return np.clip(np.stack(video), 0.0, 1.0).astype(np.float32)


def markdown_table(values: np.ndarray) -> str:
    lines = ["| frame | PSNR (dB) |", "|---:|---:|"]
    lines += [f"| {frame} | {value:.2f} |" for frame, value in enumerate(values)]
    lines.append(f"| mean | {np.mean(values):.2f} |")
    return "\n".join(lines)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--image", default="astronaut", help="scikit-image sample name or image file")
    parser.add_argument("--frames", type=int, default=None, help="number of frames, at least 16 (default: 32)")
    parser.add_argument("--size", type=int, default=None, help="frame size in pixels (default: 48)")
    parser.add_argument("--steps", type=int, default=None, help="Adam steps (default: 1000)")
    parser.add_argument("--batch-size", type=int, default=None, help="pixels per step (default: 8192)")
    parser.add_argument("--width", type=int, default=None, help="units per hidden layer (default: 256)")
    parser.add_argument("--depth", type=int, default=3, help="sine layers (default: 3)")
    parser.add_argument("--w0", type=float, default=30.0, help="SIREN's w0, every layer (default: 30)")
    parser.add_argument("--learning-rate", type=float, default=1e-3, help="Adam's initial rate (default: 1e-3)")
    parser.add_argument("--fps", type=float, default=8.0, help="frames per second of the GIFs (default: 8)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs/video", help="output folder (default: runs/video)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 16 frames of 16x16, 100 steps of 2048 pixels, width 64 (unless given)")
    args = parser.parse_args(argv)
    defaults = {"frames": 16, "size": 16, "steps": 100, "batch_size": 2048, "width": 64} if args.quick else \
        {"frames": 32, "size": 48, "steps": 1000, "batch_size": 8192, "width": 256}
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    for name in ("frames", "size", "steps", "batch_size", "width", "depth", "w0", "learning_rate", "fps"):
        if not getattr(args, name) > 0:
            parser.error(f"--{name.replace('_', '-')} must be positive, got {getattr(args, name)}")
    if args.frames < 16:
        parser.error(f"--frames must be at least 16, got {args.frames}")

    video = make_video(args.image, args.frames, args.size)
    shape = video.shape[:3]
    batch_size = min(args.batch_size, int(np.prod(shape)))
    out = Path(args.out)
    signals.save_gif(out / "target.gif", video, fps=args.fps)
    print(f"backend {keras.backend.backend()}; video {args.frames} frames of {args.size}x{args.size}x"
          f"{video.shape[-1]} (pan and zoom across {args.image!r}); SIREN {args.depth}x{args.width}, w0 "
          f"{args.w0:g}; {args.steps} steps of {batch_size} random pixels, Adam {args.learning_rate:g} with cosine "
          "decay")

    keras.utils.set_random_seed(args.seed)
    model = keras_inr.SIREN(out_dims=video.shape[-1], width=args.width, depth=args.depth, w0=args.w0, in_dims=3)
    compile_inr(model, learning_rate=args.learning_rate, schedule="cosine", total_steps=args.steps)
    per_epoch = next(n for n in (100, 50, 25, 10, 5, 1) if args.steps % n == 0)
    dataset = samplers.SignalDataset(video, samplers.GridSubsetSampler(shape, batch_size), steps_per_epoch=per_epoch,
                                     seed=args.seed)
    start = time.perf_counter()
    model.fit(dataset, epochs=args.steps // per_epoch, verbose=0, callbacks=[DatasetEpoch(dataset)])
    seconds = time.perf_counter() - start

    reconstruction = np.clip(signals.render_signal(model, shape, path=out / "reconstruction.gif", fps=args.fps),
                             0.0, 1.0)
    values = signals.frame_psnr(video, reconstruction)
    print(f"  fitted in {seconds:.1f} s ({model.count_params()} parameters); mean PSNR {np.mean(values):.2f} dB\n")
    print(markdown_table(values))
    figure = signals.save_frames_figure(
        out / "frames.png", video, reconstruction,
        title=f"{args.frames} frames of {args.size}x{args.size}, SIREN {args.depth}x{args.width}, {args.steps} steps",
    )
    print(f"\nsaved {figure}, target.gif and reconstruction.gif in {out}")
    return {"psnr": values, "seconds": seconds, "parameters": model.count_params()}


if __name__ == "__main__":
    main()
