"""Overhead of ``model.fit`` over a hand-written training loop in the same backend (issue 5, benchmark 1).

The reference SIREN image recipe (the authors' ``explore_siren.ipynb``: four sine layers of 256, w0 = 30, targets
mapped to [-1, 1], Adam 1e-4, full batch) fitted to the bundled camera image at 128x128 (16,384 coordinates); the
PSNR is reported on the image's [0, 1] scale.
Per backend, in one process, the keras-inr runs and the hand-written loop (``handwritten_<backend>.py``) are
interleaved: each repetition times ``--steps`` optimiser steps of every variant, in an order rotated from one
repetition to the next, and the table reports medians. Every variant trains the same number of steps from its own
initialisation (keras-inr's SIREN initialiser vs an independent numpy draw of the reference initialisation), and the
PSNR after those steps is reported next to the speed.

keras-inr variants:

* ``fit(x, y, batch_size=N, epochs=steps)``: what a user writes first; one Keras epoch per step.
* ``fit(full_batch(x, y, steps))``: keras-inr's recommended full-batch path (:func:`keras_inr.training.full_batch`),
  one epoch of ``steps`` steps fed from tensors converted once.

each with ``jit_compile`` True and False (``"auto"`` resolves to one of them; the table says which), and compiled
with Keras' ``steps_per_execution`` of ``--steps-per-execution`` (default 1; Keras' PyTorch trainer refuses more,
which the table reports as a failed variant).

Usage::

    python benchmarks/overhead.py                 # full: all three backends
    python benchmarks/overhead.py --quick         # seconds: the current KERAS_BACKEND, tiny sizes
    python benchmarks/overhead.py --backends jax,torch --repeats 7
    python benchmarks/overhead.py --backends jax,tensorflow --size 32 --width 32 --depth 3 --steps 50 \
        --steps-per-execution 10      # Keras' per-step cost where a step is about a millisecond
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import (  # noqa: E402
    add_settings_arguments,
    camera_coordinates,
    machine_description,
    markdown_table,
    median,
    parse_backends,
    reference_siren_weights,
    report_result,
    resolve_settings,
    run_worker,
    timed_with_cpu,
)

FULL = {"size": 128, "width": 256, "depth": 4, "steps": 10, "repeats": 5, "warmup": 2, "steps_per_execution": 1}
QUICK = {"size": 16, "width": 16, "depth": 2, "steps": 2, "repeats": 2, "warmup": 1, "steps_per_execution": 1}
W0 = 30.0
LEARNING_RATE = 1e-4


def _parse(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_settings_arguments(parser, FULL, backends=True)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)
    settings = resolve_settings(arguments, QUICK, FULL)
    settings["quick"] = arguments.quick
    return arguments, settings


# --- worker: one backend ------------------------------------------------------------------------------------------
def _keras_variant(settings, coordinates, values, jit_compile, feed: str, seed: int):
    """Build a keras-inr SIREN compiled with the reference recipe; return ``(model, train(steps))``."""
    import keras

    import keras_inr
    from keras_inr.training import compile_inr, full_batch

    keras.utils.set_random_seed(seed)
    model = keras_inr.SIREN(1, width=settings["width"], depth=settings["depth"], w0=W0, in_dims=2)
    per_execution = settings["steps_per_execution"]
    compile_inr(model, LEARNING_RATE, "constant", jit_compile=jit_compile,
                **({"steps_per_execution": per_execution} if per_execution > 1 else {}))
    points = len(coordinates)
    if feed == "arrays":
        def train(steps):
            model.fit(coordinates, values, batch_size=points, epochs=steps, verbose=0, shuffle=False)
    else:
        datasets = {}

        def train(steps):
            if steps not in datasets:
                datasets[steps] = full_batch(coordinates, values, steps)
            model.fit(datasets[steps], epochs=1, verbose=0, shuffle=False)
    return model, train


def worker(settings) -> dict:
    import keras
    from common import fitted_values, unit_predictions

    from keras_inr.metrics import psnr

    backend = keras.backend.backend()
    handwritten = importlib.import_module(f"handwritten_{backend}")
    coordinates, image_values = camera_coordinates(settings["size"])
    values, _ = fitted_values(image_values, "signed")  # the reference's [-1, 1] targets, on both sides
    layer_sizes = [2] + [settings["width"]] * settings["depth"] + [1]

    variants = {}
    reference = handwritten.HandwrittenSiren(
        reference_siren_weights(layer_sizes, W0, seed=1), W0, W0, LEARNING_RATE, coordinates, values
    )
    variants["hand-written"] = (reference.train, reference.predict, "")
    models = []
    jit_choices = ("auto",) if settings["quick"] else (True, False)
    for feed in ("full_batch", "arrays"):
        for jit_compile in jit_choices:
            try:
                model, train = _keras_variant(settings, coordinates, values, jit_compile, feed, seed=1)
                train(1)  # compiles (and, for torch.compile, may fail here)
                models.append(model)
            except Exception as error:  # reported in the table, e.g. torch.compile without a C compiler
                variants[f"keras-inr {feed} jit={jit_compile}"] = (None, None, f"failed: {type(error).__name__}")
                continue
            predict = (lambda m: (lambda x: keras.ops.convert_to_numpy(m.predict(x, batch_size=len(x), verbose=0))))(
                model
            )
            variants[f"keras-inr {feed} jit={jit_compile}"] = (train, predict, "")
    # What "auto" resolves to on this backend.
    probe = keras_inr_probe_auto(settings)
    for name in list(variants):  # name the "auto" variants by what they resolved to
        if name.endswith("jit=auto"):
            variants[name.replace("jit=auto", f"jit={probe}")] = variants.pop(name)

    names = [name for name, (train, _, _) in variants.items() if train is not None]
    for name in names:  # warm-up: compilation and first-call costs
        variants[name][0](settings["warmup"] - (0 if name == "hand-written" else 1) or 1)
    times = {name: [] for name in names}
    cpu_times = {name: [] for name in names}
    for repeat in range(settings["repeats"]):
        order = names[repeat % len(names):] + names[: repeat % len(names)]
        for name in order:
            train = variants[name][0]
            wall, cpu = timed_with_cpu(lambda train=train: train(settings["steps"]))
            times[name].append(wall / settings["steps"])
            cpu_times[name].append(cpu / settings["steps"])
    rows = []
    for name, (train, predict, note) in variants.items():
        if train is None:
            rows.append({"variant": name, "seconds_per_step": float("nan"), "cpu_seconds_per_step": float("nan"),
                         "psnr": float("nan"), "note": note})
            continue
        rows.append({
            "variant": name,
            "seconds_per_step": median(times[name]),
            "all_seconds_per_step": times[name],
            "cpu_seconds_per_step": median(cpu_times[name]),
            "psnr": psnr(image_values, unit_predictions(predict(coordinates), "signed")),
            "note": note,
        })
    costs = None
    if hasattr(handwritten, "compiled_costs"):
        fitted = [m for m in models if m.jit_compile]
        costs = handwritten.compiled_costs(fitted[0], reference) if fitted else None
    return {"backend": backend, "auto_jit_compile": probe, "rows": rows, "compiled_costs": costs,
            "steps_trained": settings["warmup"] + settings["repeats"] * settings["steps"]}


def keras_inr_probe_auto(settings) -> bool:
    """What ``jit_compile="auto"`` resolves to for a keras-inr SIREN on this backend and machine."""
    import keras_inr
    from keras_inr.training import compile_inr

    model = keras_inr.SIREN(1, width=8, depth=1, in_dims=2)
    compile_inr(model, LEARNING_RATE, "constant", jit_compile="auto")
    return bool(model.jit_compile)


# --- driver -------------------------------------------------------------------------------------------------------
def main(argv=None) -> str:
    arguments, settings = _parse(argv)
    if arguments.worker:
        report_result(worker(settings))
        return ""
    worker_arguments = [f"--{key.replace('_', '-')}={settings[key]}" for key in FULL]
    worker_arguments += ["--quick"] if arguments.quick else []
    print(machine_description())
    print(
        f"\nSIREN {settings['depth']}x{settings['width']}, w0={W0:g}, camera {settings['size']}x{settings['size']} "
        f"({settings['size'] ** 2} coordinates), full batch, Adam {LEARNING_RATE:g}; medians of {settings['repeats']} "
        f"interleaved repetitions of {settings['steps']} steps"
        + (f"; keras-inr compiled with steps_per_execution={settings['steps_per_execution']}"
           if settings["steps_per_execution"] > 1 else "") + ".\n"
    )
    summary_rows, detail_rows, cost_rows = [], [], []
    for backend in parse_backends(arguments.backends):
        result = run_worker(Path(__file__), backend, worker_arguments)
        rows = {row["variant"]: row for row in result["rows"]}
        if result.get("compiled_costs"):
            for name, cost in result["compiled_costs"].items():
                cost_rows.append([backend, name, cost["flops"] / 1e9, cost["transcendentals"] / 1e6,
                                  cost["bytes accessed"] / 1e6])
        hand = rows["hand-written"]
        auto = result["auto_jit_compile"]
        recommended = rows[f"keras-inr full_batch jit={auto}"]
        best_name = min(
            (name for name in rows if name.startswith("keras-inr") and rows[name]["seconds_per_step"] == rows[name]
             ["seconds_per_step"]),
            key=lambda name: rows[name]["seconds_per_step"],
            default=None,  # no keras-inr variant ran (e.g. steps_per_execution > 1 on PyTorch)
        )
        for name, row in rows.items():
            ratio = row["seconds_per_step"] / hand["seconds_per_step"]
            detail_rows.append([backend, name, row["seconds_per_step"], ratio, row["cpu_seconds_per_step"],
                                row["cpu_seconds_per_step"] / hand["cpu_seconds_per_step"], row["psnr"],
                                row["note"]])
        best_ratio = rows[best_name]["seconds_per_step"] / hand["seconds_per_step"] if best_name else float("nan")
        summary_rows.append([
            backend, hand["seconds_per_step"], recommended["seconds_per_step"],
            recommended["seconds_per_step"] / hand["seconds_per_step"],
            best_name.replace("keras-inr ", "") if best_name else f"none ran ({recommended['note']})", best_ratio,
            hand["psnr"], recommended["psnr"], str(auto),
        ])
    summary = markdown_table(
        ["backend", "hand-written s/step", "keras-inr s/step", "ratio", "fastest keras-inr variant",
         "its ratio", "PSNR hand-written", "PSNR keras-inr", "jit_compile='auto' ->"],
        summary_rows,
    )
    details = markdown_table(["backend", "variant", "s/step", "ratio to hand-written", "CPU s/step", "CPU ratio",
                              "PSNR (dB)", "note"],
                             detail_rows)
    text = (
        "keras-inr = `fit(full_batch(x, y, steps))` with `jit_compile='auto'` (the recommended path).\n\n"
        + summary + "\n\nAll variants:\n\n" + details
    )
    if cost_rows:
        text += "\n\nXLA cost analysis of the compiled train steps:\n\n" + markdown_table(
            ["backend", "step", "GFLOP", "M transcendentals", "MB accessed"], cost_rows
        )
    print(text)
    return text


if __name__ == "__main__":
    main()
