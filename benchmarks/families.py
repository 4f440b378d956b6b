"""Every registered INR family on the same images, the same budget and (about) the same parameter count.

For each family (:func:`keras_inr.families.names`, or ``--families``) and each image (scikit-image's ``camera`` and
``astronaut``, centre-cropped to a square and resized to ``--size``; astronaut in grey unless ``--rgb``):

* protocol ``fit`` (``--protocol fit``, the default): fit all pixels for ``--steps`` full-batch steps with the
  family's recommended settings -- :func:`keras_inr.fit_signal` with the registry's recommended hyperparameters
  (:meth:`keras_inr.families.Family.recommended`) and :func:`keras_inr.training.recommended` (learning rate,
  schedule) -- and report PSNR and SSIM (:mod:`keras_inr.metrics`) of the full render;
* protocol ``tancik`` (``--protocol tancik``): the held-out-pixel protocol of Tancik et al. 2020
  (https://arxiv.org/abs/2006.10739, section 6; ``benchmarks/tancik.py``): train on every other pixel in each
  direction, report the PSNR on the pixels in between (and on the training pixels);
* ``--protocol both`` runs the two.

Every family gets the same ``--depth`` and the same parameter count: SIREN's at ``--width``. Each family's ``width``
argument is the one whose model comes closest to that count (WIRE's complex weights, the multi-bump layer's extra
weight pairs and the 256-feature Fourier encoding make those models narrower); ``--same-width`` gives every family
``--width`` instead (a family's own ``width_scale``, WIRE's ``1/sqrt(2)``, still applies). The tables' ``params`` and
``width`` columns say what each model really has.

The quality runs use one backend (``--quality-backend``; PyTorch by default, the fastest on a small CPU; ``current``
for the running one). Seconds per step are measured on every backend of
``--backends`` in the same invocation, one backend after the other (Keras fixes its backend at import, so each runs
in its own process): a short full-batch run of ``--timing-steps`` steps at ``--timing-size`` after a warm-up epoch
that includes the compilation; the median of ``--repeats`` such epochs.

Usage::

    python benchmarks/families.py                                    # 256x256, 1000 steps: a GPU job
    python benchmarks/families.py --size 64 --protocol both          # what fits a small CPU
    python benchmarks/families.py --families siren,gauss,wire --images camera --backends torch
    python benchmarks/families.py --quick                            # seconds, a smoke test
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from common import (  # noqa: E402
    BACKENDS,
    add_settings_arguments,
    machine_description,
    markdown_table,
    median,
    parse_backends,
    report_result,
    resolve_settings,
    run_worker,
)

PROTOCOLS = ("fit", "tancik", "both")
FULL = {"size": 256, "steps": 1000, "width": 256, "depth": 3, "images": "camera,astronaut", "families": "all",
        "protocol": "fit", "quality_backend": "torch", "timing_size": 0, "timing_width": 0, "timing_steps": 20,
        "repeats": 3, "seed": 0}
QUICK = {"size": 16, "steps": 2, "width": 16, "depth": 2, "images": "camera", "families": "siren,gauss",
         "protocol": "fit", "quality_backend": "current", "timing_size": 16, "timing_width": 0, "timing_steps": 2,
         "repeats": 1, "seed": 0}


# --- images -------------------------------------------------------------------------------------------------------
def load_square(name: str, size: int, rgb: bool = False) -> np.ndarray:
    """A scikit-image sample, centre-cropped to a square, resized to ``size x size``; grey ``(size, size, 1)`` unless
    ``rgb`` (colour images keep their 3 channels then)."""
    from keras_inr.data import load_image

    image = load_image(name)
    height, width = image.shape[:2]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    image = image[top:top + side, left:left + side]
    if image.shape[-1] == 3 and not rgb:  # ITU-R BT.601 luma, as skimage.color.rgb2gray
        image = image @ np.asarray([0.2125, 0.7154, 0.0721], dtype=np.float32)[:, None]
    return load_image(np.ascontiguousarray(image, dtype=np.float32), size=size)


# --- the earlier Gaussian default, for comparison -------------------------------------------------------------
GAUSS_GLOROT = "gauss_glorot"


def register_gauss_glorot() -> None:
    """Register ``"gauss_glorot"``: the Gaussian family with keras-inr's earlier initialisation (Glorot-uniform
    kernels, zero biases) and otherwise the ``"gauss"`` entry's settings, for before/after rows
    (``--with-gauss-glorot``)."""
    from keras_inr import families
    from keras_inr.layers import GaussianDense

    if GAUSS_GLOROT in families.names():
        return
    gauss = families.get("gauss")
    families.register(
        GAUSS_GLOROT, GaussianDense, layer_config={"kernel_initializer": "glorot_uniform", "bias_initializer": "zeros"},
        defaults={"inverse_scale": gauss.defaults()["inverse_scale"]},
        recommended={"inverse_scale": gauss.recommended()["inverse_scale"]},
        help="Gaussian layers with keras-inr's earlier Glorot/zeros initialisation (benchmark comparison only)",
        paper=gauss.paper,
    )


# --- one family ---------------------------------------------------------------------------------------------------
def family_settings(name: str) -> dict:
    """The recommended settings of a family: ``{"hyperparameters", "learning_rate", "schedule"}``."""
    from keras_inr import families, training

    recommended = training.recommended(name)
    return {"hyperparameters": families.get(name).recommended(), "learning_rate": recommended["learning_rate"],
            "schedule": recommended["schedule"]}


def build(name: str, out_dims: int, width: int, depth: int):
    """The family's model with its recommended hyperparameters."""
    from keras_inr import families

    return families.get(name).build(out_dims, width=width, depth=depth, in_dims=2, **family_settings(name)[
        "hyperparameters"])


def parameter_count(name: str, out_dims: int, width: int, depth: int) -> int:
    """Trainable and non-trainable parameters of the family's model at ``width`` (before its ``width_scale``)."""
    import numpy as np

    model = build(name, out_dims, width, depth)
    model(np.zeros((1, 2), dtype="float32"))
    return int(model.count_params())


def matched_width(name: str, target: int, width: int, depth: int, out_dims: int = 1) -> int:
    """The ``width`` argument that gives the family's model the parameter count closest to ``target`` (parameters
    grow with width, so a bisection over ``[1, 8 width]``)."""
    low, high = 1, 8 * width
    while low < high:
        middle = (low + high) // 2
        if parameter_count(name, out_dims, middle, depth) < target:
            low = middle + 1
        else:
            high = middle
    candidates = [value for value in (low - 1, low) if value >= 1]
    return min(candidates, key=lambda value: abs(parameter_count(name, out_dims, value, depth) - target))


def family_widths(families: list[str], width: int, depth: int, match: bool) -> dict:
    """Each family's ``width`` argument: ``width`` for all, or (``match``) the width that matches the parameter
    count of SIREN at ``width`` (Fourier features' 256-feature encoding and the multi-bump layer's extra weights
    otherwise make those models larger). A family that no width brings within 25% of that count (a hash-grid
    encoding's table, Fourier features at tiny widths) keeps ``width``; the tables' ``params`` column shows it."""
    if not match:
        return {name: width for name in families}
    target = parameter_count("siren", 1, width, depth)
    widths = {}
    for name in families:
        matched = matched_width(name, target, width, depth)
        widths[name] = matched if abs(parameter_count(name, 1, matched, depth) - target) <= 0.25 * target else width
    return widths


def fit_all_pixels(name: str, image: np.ndarray, settings: dict) -> dict:
    """Protocol ``fit``: :func:`keras_inr.fit_signal` with the family's recommended settings."""
    from keras_inr import fit_signal

    result = fit_signal(image, name, steps=settings["steps"], width=settings["widths"][name], depth=settings["depth"],
                        seed=settings["seed"], steps_per_epoch=min(100, settings["steps"]))
    return {"psnr": result.psnr, "ssim": result.ssim, "params": int(result.model.count_params()),
            "seconds": result.seconds}


def fit_held_out(name: str, image: np.ndarray, settings: dict) -> dict:
    """Protocol ``tancik``: train on every other pixel, PSNR on the rest (and on the training pixels)."""
    import keras

    from keras_inr.data import tancik_split
    from keras_inr.metrics import psnr
    from keras_inr.training import compile_inr, full_batch, recommended

    (train_x, train_y), (test_x, test_y) = tancik_split(image)
    family = family_settings(name)
    steps = settings["steps"]
    keras.utils.set_random_seed(settings["seed"])
    model = build(name, image.shape[-1], settings["widths"][name], settings["depth"])
    compile_inr(model, family["learning_rate"], family["schedule"], total_steps=steps,
                final_learning_rate_fraction=recommended(name)["final_learning_rate_fraction"])
    per_epoch = min(100, steps) if steps % min(100, steps) == 0 else steps
    start = time.perf_counter()
    model.fit(full_batch(train_x, train_y, steps, steps_per_epoch=per_epoch), epochs=steps // per_epoch, verbose=0,
              shuffle=False)
    seconds = time.perf_counter() - start

    def predict(coordinates):
        return keras.ops.convert_to_numpy(model.predict(coordinates, batch_size=len(coordinates), verbose=0))

    return {"test_psnr": psnr(test_y, predict(test_x)), "train_psnr": psnr(train_y, predict(train_x)),
            "params": int(model.count_params()), "seconds": seconds}


class _EpochTimer:
    """Keras callback factory: wall time of every epoch (the first includes tracing and compilation)."""

    @staticmethod
    def make():
        import keras

        class EpochTimer(keras.callbacks.Callback):
            def __init__(self):
                super().__init__()
                self.seconds = []

            def on_epoch_begin(self, epoch, logs=None):
                self._start = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                self.seconds.append(time.perf_counter() - self._start)

        return EpochTimer()


def seconds_per_step(name: str, image: np.ndarray, settings: dict) -> float:
    """Median seconds per full-batch training step after compilation: one warm-up epoch, then ``repeats`` timed
    epochs of ``timing_steps`` steps each."""
    import keras

    from keras_inr.data import image_to_coordinates
    from keras_inr.training import compile_inr, full_batch

    coordinates, values = image_to_coordinates(image)
    steps, repeats = settings["timing_steps"], settings["repeats"]
    family = family_settings(name)
    keras.utils.set_random_seed(settings["seed"])
    model = build(name, image.shape[-1], settings["timing_widths"][name], settings["depth"])
    compile_inr(model, family["learning_rate"], family["schedule"], total_steps=steps * (repeats + 1))
    timer = _EpochTimer.make()
    model.fit(full_batch(coordinates, values, steps * (repeats + 1), steps_per_epoch=steps), epochs=repeats + 1,
              verbose=0, shuffle=False, callbacks=[timer])
    return median(timer.seconds[1:]) / steps


# --- a backend's work ---------------------------------------------------------------------------------------------
def worker(settings: dict, quality: bool, timing: bool) -> dict:
    """Run the quality protocols (if ``quality``) and the timing (if ``timing``) for every family and image on the
    current backend; print a line per run."""
    import keras

    import keras_inr  # noqa: F401  (selects keras-inr's default backend before keras is used)

    if settings.get("gauss_glorot"):
        register_gauss_glorot()
    backend = keras.backend.backend()
    images = {name: load_square(name, settings["size"], settings["rgb"]) for name in settings["image_list"]}
    result = {"backend": backend, "fit": {}, "tancik": {}, "seconds_per_step": {}}
    protocols = ("fit", "tancik") if settings["protocol"] == "both" else (settings["protocol"],)
    for family in settings["family_list"]:
        if quality:
            for image_name, image in images.items():
                for protocol in protocols:
                    run = fit_all_pixels if protocol == "fit" else fit_held_out
                    outcome = run(family, image, settings)
                    result[protocol][f"{family}/{image_name}"] = outcome
                    shown = {key: round(value, 4) for key, value in outcome.items() if isinstance(value, float)}
                    print(f"  [{backend}] {protocol:6s} {family:>14s} {image_name:>10s}: {shown}", flush=True)
        if timing:
            timing_size = settings["timing_size"] or settings["size"]
            first_image = load_square(settings["image_list"][0], timing_size, settings["rgb"])
            result["seconds_per_step"][family] = seconds_per_step(family, first_image, settings)
            print(f"  [{backend}] timing {family:>14s}: {result['seconds_per_step'][family]:.4f} s/step", flush=True)
    return result


def _parse(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_settings_arguments(parser, FULL, backends=True, helps={
        "size": "image side (256 in the issue's table)",
        "steps": "full-batch optimiser steps of every quality run (1000)",
        "width": "hidden width before each family's width_scale",
        "depth": "number of hidden layers",
        "images": "comma list of scikit-image sample names",
        "families": "comma list of registered families, or 'all' (default)",
        "protocol": f"one of {PROTOCOLS}",
        "quality_backend": "backend of the quality runs: a backend name, 'current', or 'none' (timing only)",
        "timing_size": "image side of the timing runs (0: --size)",
        "timing_width": "hidden width of the timing runs (0: --width)",
        "timing_steps": "steps per timed epoch",
        "repeats": "timed epochs per family and backend (the median is reported)",
        "seed": "seed of the initial weights",
    })
    parser.add_argument("--rgb", action="store_true", help="fit colour images in RGB (default: grey)")
    parser.add_argument("--same-width", action="store_true",
                        help="give every family --width (default: the width matching SIREN's parameter count)")
    parser.add_argument("--with-gauss-glorot", action="store_true",
                        help="add a 'gauss_glorot' row: the Gaussian family with the earlier Glorot/zeros init")
    parser.add_argument("--json", default=None, help="also write the raw results to this JSON file")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--worker-settings", default=None, help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)
    if arguments.worker:
        return arguments, json.loads(arguments.worker_settings)
    settings = resolve_settings(arguments, QUICK, FULL)
    settings["rgb"] = bool(arguments.rgb)
    settings["gauss_glorot"] = bool(arguments.with_gauss_glorot)
    settings["same_width"] = bool(arguments.same_width)
    return arguments, settings


def _resolve(settings: dict, backends: list[str]) -> dict:
    """Check the settings and expand the family and image lists (before anything runs)."""
    from keras_inr import families

    if settings["protocol"] not in PROTOCOLS:
        raise ValueError(f"`--protocol` must be one of {PROTOCOLS}, got {settings['protocol']!r}.")
    if settings["gauss_glorot"]:
        register_gauss_glorot()
    if settings["families"] == "all":
        settings["family_list"] = [name for name in families.names() if name != GAUSS_GLOROT]
    else:
        settings["family_list"] = [families.canonical(name.strip(), "--families")
                                   for name in settings["families"].split(",") if name.strip()]
    if settings["gauss_glorot"] and GAUSS_GLOROT not in settings["family_list"]:
        settings["family_list"].append(GAUSS_GLOROT)
    settings["image_list"] = [name.strip() for name in settings["images"].split(",") if name.strip()]
    for key in ("size", "steps", "width", "depth", "timing_steps", "repeats"):
        if int(settings[key]) <= 0:
            raise ValueError(f"`--{key.replace('_', '-')}` must be a positive integer, got {settings[key]!r}.")
    if not settings["family_list"] or not settings["image_list"]:
        raise ValueError("`--families` and `--images` must name at least one entry each.")
    quality = settings["quality_backend"]
    if quality == "current":
        quality = parse_backends("current")[0]
    if quality not in (*BACKENDS, "none"):
        raise ValueError(f"`--quality-backend` must be one of {BACKENDS}, 'current' or 'none', got {quality!r}.")
    settings["quality_backend"] = quality
    settings["backend_list"] = backends
    settings["widths"] = family_widths(settings["family_list"], settings["width"], settings["depth"],
                                       not settings["same_width"])
    timing_width = settings["timing_width"] or settings["width"]
    settings["timing_widths"] = settings["widths"] if timing_width == settings["width"] else family_widths(
        settings["family_list"], timing_width, settings["depth"], not settings["same_width"])
    return settings


def _run_backend(backend: str, settings: dict, quality: bool, timing: bool) -> dict:
    """The backend's results: in this process for the current backend, else in a subprocess."""
    import keras

    import keras_inr  # noqa: F401

    if backend == keras.backend.backend():
        return worker(settings, quality, timing)
    return run_worker(Path(__file__), backend, ["--worker-settings", json.dumps(
        {**settings, "worker_quality": quality, "worker_timing": timing})])


def tables(settings: dict, results: dict) -> str:
    """The markdown tables of the results."""
    images, families = settings["image_list"], settings["family_list"]
    quality = results.get(settings["quality_backend"], {})
    timing_backends = [backend for backend in settings["backend_list"] if results.get(backend, {}).get(
        "seconds_per_step")]
    parts = []
    if quality.get("fit"):
        header = ["family", "params", "width", *[f"{image} {metric}" for image in images
                                                 for metric in ("PSNR", "SSIM")],
                  "mean PSNR", *[f"s/step {backend}" for backend in timing_backends]]
        rows = []
        for family in families:
            runs = [quality["fit"][f"{family}/{image}"] for image in images]
            cells = [value for run in runs for value in (run["psnr"], run["ssim"] if run["ssim"] is not None
                                                         else float("nan"))]
            rows.append([family, runs[0]["params"], settings["widths"][family], *cells,
                         float(np.mean([run["psnr"] for run in runs])),
                         *[results[backend]["seconds_per_step"][family] for backend in timing_backends]])
        parts.append(f"Protocol fit ({settings['quality_backend']}): all pixels, PSNR (dB) and SSIM of the full "
                     "render\n\n" + markdown_table(header, rows))
    if quality.get("tancik"):
        header = ["family", "params", "width", *[f"{image} test PSNR" for image in images], "mean test PSNR",
                  "mean train PSNR"]
        rows = []
        for family in families:
            runs = [quality["tancik"][f"{family}/{image}"] for image in images]
            rows.append([family, runs[0]["params"], settings["widths"][family], *[run["test_psnr"] for run in runs],
                         float(np.mean([run["test_psnr"] for run in runs])),
                         float(np.mean([run["train_psnr"] for run in runs]))])
        parts.append(f"Protocol tancik ({settings['quality_backend']}): train on every other pixel, PSNR (dB) on "
                     "the others\n\n" + markdown_table(header, rows))
    if quality.get("fit") or quality.get("tancik"):
        rows = []
        for family in families:
            recommended = family_settings(family)
            rows.append([family, ", ".join(f"{key}={value:g}" for key, value in recommended["hyperparameters"].items())
                         or "-", f"{recommended['learning_rate']:g}", recommended["schedule"]])
        parts.append("Settings: each family's recommended hyperparameters and training (Adam, full batch)\n\n"
                     + markdown_table(["family", "hyperparameters", "learning rate", "schedule"], rows))
    if not quality and timing_backends:
        header = ["family", *[f"s/step {backend}" for backend in timing_backends]]
        rows = [[family, *[results[backend]["seconds_per_step"][family] for backend in timing_backends]]
                for family in families]
        parts.append("Seconds per full-batch step after compilation\n\n" + markdown_table(header, rows))
    return "\n\n".join(parts)


def main(argv=None) -> str:
    arguments, settings = _parse(argv)
    if arguments.worker:
        report_result(worker(settings, settings["worker_quality"], settings["worker_timing"]))
        return ""
    settings = _resolve(settings, [] if arguments.backends == "none" else parse_backends(arguments.backends))
    colour = "RGB" if settings["rgb"] else "grey"
    timing_size = settings["timing_size"] or settings["size"]
    timing_width = settings["timing_width"] or settings["width"]
    print(machine_description())
    print(
        f"\nFamilies {', '.join(settings['family_list'])}; images {', '.join(settings['image_list'])} ({colour}) at "
        f"{settings['size']}x{settings['size']}; {settings['steps']} full-batch steps with each family's recommended "
        f"settings, width {settings['width']} x depth {settings['depth']}; protocol {settings['protocol']} on "
        f"{settings['quality_backend']}; seconds per step on {', '.join(settings['backend_list'])} at "
        f"{timing_size}x{timing_size}, width {timing_width} (median of {settings['repeats']} epochs of "
        f"{settings['timing_steps']} steps after a warm-up epoch).\n", flush=True,
    )
    results = {}
    order = list(dict.fromkeys([*(([settings["quality_backend"]]) if settings["quality_backend"] != "none" else []),
                                *settings["backend_list"]]))
    for backend in order:
        results[backend] = _run_backend(backend, settings, quality=backend == settings["quality_backend"],
                                        timing=backend in settings["backend_list"])
    if arguments.json:
        Path(arguments.json).write_text(json.dumps({"settings": settings, "results": results}, indent=1))
    text = tables(settings, results)
    print("\n" + text)
    return text


if __name__ == "__main__":
    main()
