"""How close a keras-inr fit step comes to this machine's throughput bound (issue 5, benchmark 2).

Per backend (each in its own process) the script measures

* matrix-product throughput on the shapes of a SIREN step: ``(N, 256) @ (256, 256)`` (forward and input gradients)
  and ``(256, N) @ (N, 256)`` (kernel gradients), in GFLOP/s;
* elementwise ``sin`` throughput on ``(N, 256)``, in G evaluations/s;
* the seconds per step of keras-inr's recommended full-batch ``fit`` (SIREN 3x256, camera 128x128, Adam),

interleaved, and reports the bound ``matmul FLOPs / best matmul rate + (sin + cos evaluations) / sin rate`` (the
step's matrix products and transcendentals at the measured rates; everything else -- bias adds, the ``w0`` scaling,
Adam on 132k parameters -- is counted as free, so the bound is optimistic) and the fraction of it the step reaches.

Usage::

    python benchmarks/roofline.py            # full: all three backends
    python benchmarks/roofline.py --quick    # seconds: the current KERAS_BACKEND, tiny sizes
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from common import (  # noqa: E402
    add_settings_arguments,
    camera_coordinates,
    machine_description,
    markdown_table,
    median,
    parse_backends,
    report_result,
    resolve_settings,
    run_worker,
    siren_matmul_flops_per_step,
    siren_sine_evaluations_per_step,
    timed,
)

FULL = {"size": 128, "width": 256, "depth": 3, "steps": 10, "repeats": 5}
QUICK = {"size": 16, "width": 16, "depth": 2, "steps": 2, "repeats": 2}
W0 = 30.0


def _parse(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_settings_arguments(parser, FULL, backends=True)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)
    return arguments, resolve_settings(arguments, QUICK, FULL)


def worker(settings) -> dict:
    import keras

    import keras_inr
    from keras_inr.training import compile_inr, full_batch

    backend = keras.backend.backend()
    kernels = importlib.import_module(f"handwritten_{backend}")
    coordinates, values = camera_coordinates(settings["size"])
    points, width = len(coordinates), settings["width"]
    layer_sizes = [2] + [width] * settings["depth"] + [1]
    rng = np.random.default_rng(0)
    activations = rng.uniform(-1, 1, (points, width)).astype(np.float32)
    weight = rng.uniform(-0.1, 0.1, (width, width)).astype(np.float32)
    activations_t = np.ascontiguousarray(activations.T)

    model = keras_inr.SIREN(1, width=width, depth=settings["depth"], w0=W0, in_dims=2)
    compile_inr(model, 1e-4, "constant", jit_compile="auto")
    data = full_batch(coordinates, values, settings["steps"])
    model.fit(full_batch(coordinates, values, 2), epochs=1, verbose=0, shuffle=False)  # compile

    forward, kernel_grad, sine, step = [], [], [], []
    for _ in range(settings["repeats"]):
        forward.append(median(kernels.matmul_seconds(activations, weight, 3)))
        kernel_grad.append(median(kernels.matmul_seconds(activations_t, activations, 3)))
        sine.append(median(kernels.sin_seconds(activations, 3)))
        step.append(timed(lambda: model.fit(data, epochs=1, verbose=0, shuffle=False)) / settings["steps"])
    flops_per_product = 2.0 * points * width * width
    matmul_rate = flops_per_product / min(median(forward), median(kernel_grad))
    sin_rate = points * width / median(sine)
    flops = siren_matmul_flops_per_step(points, layer_sizes)
    transcendentals = siren_sine_evaluations_per_step(points, layer_sizes)
    bound = flops / matmul_rate + transcendentals / sin_rate
    return {
        "backend": backend,
        "jit_compile": bool(model.jit_compile),
        "matmul_forward_gflops": flops_per_product / median(forward) / 1e9,
        "matmul_kernel_grad_gflops": flops_per_product / median(kernel_grad) / 1e9,
        "sin_gelements": sin_rate / 1e9,
        "step_flops": flops,
        "step_transcendentals": transcendentals,
        "bound_seconds": bound,
        "matmul_share_of_bound": flops / matmul_rate / bound,
        "step_seconds": median(step),
        "fraction_of_bound": bound / median(step),
    }


def main(argv=None) -> str:
    arguments, settings = _parse(argv)
    if arguments.worker:
        report_result(worker(settings))
        return ""
    worker_arguments = [f"--{key}={value}" for key, value in settings.items()]
    rows = []
    for backend in parse_backends(arguments.backends):
        result = run_worker(Path(__file__), backend, worker_arguments)
        rows.append([
            backend, result["matmul_forward_gflops"], result["matmul_kernel_grad_gflops"], result["sin_gelements"],
            result["bound_seconds"], result["matmul_share_of_bound"], result["step_seconds"],
            result["step_seconds"] / result["bound_seconds"], result["fraction_of_bound"], str(result["jit_compile"]),
        ])
    table = markdown_table(
        ["backend", "matmul GFLOP/s (N,w)x(w,w)", "matmul GFLOP/s (w,N)x(N,w)", "sin Gelem/s", "bound s/step",
         "matmul share of bound", "fit s/step", "step / bound", "fraction of bound", "jit_compile"],
        rows,
    )
    points = settings["size"] ** 2
    layer_sizes = [2] + [settings["width"]] * settings["depth"] + [1]
    text = (
        f"{machine_description()}\n\nSIREN {settings['depth']}x{settings['width']} on {points} coordinates: "
        f"{siren_matmul_flops_per_step(points, layer_sizes) / 1e9:.3g} GFLOP of matrix products and "
        f"{siren_sine_evaluations_per_step(points, layer_sizes) / 1e6:.3g} M sin/cos per step; medians of "
        f"{settings['repeats']} interleaved repetitions.\n\n{table}"
    )
    print(text)
    return text


if __name__ == "__main__":
    main()
