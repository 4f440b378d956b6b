"""Hash grid vs keras-inr's recommended SIREN: steps and seconds to PSNR targets, parameters and memory (issue 13).

Side by side in one run, on one backend (``KERAS_BACKEND``), for every image and size asked for (default: the bundled
camera and astronaut images at 256x256, full batch, targets 30 and 35 dB):

* ``hashgrid``: ``build_model("hashgrid", ...)`` with the registry's recommended hyperparameters (16 levels, F = 2,
  T = 2^19, N_min = 16, N_max = 512) and the paper's MLP (two hidden ReLU layers of 64; Mueller et al. 2022,
  https://arxiv.org/abs/2201.05989, section 4), trained with ``training.recommended("hashgrid")`` (Adam 1e-2,
  beta_2 0.99, epsilon 1e-15, cosine decay over ``--budget`` steps);
* ``siren``: :data:`keras_inr.training.RECOMMENDED_MODEL` trained with ``training.recommended("siren")`` over the
  same ``--budget``.

Each model runs in its own worker process (so that its peak memory is its own), one after the other; each run is one
``model.fit`` of one-step epochs on the whole image, and the ``psnr`` logged at the end of epoch ``k`` is that of the
whole image before that step's update. Seconds to a target count from the end of the first step (which includes
compilation) plus one median step; the first step is reported separately. A run stops at the last target, at
``--max-steps`` or after ``--max-seconds``. Memory: the parameter count, the bytes of the parameters and Adam's two
moments (float32), and the worker's peak resident memory above what it held before building the model (Linux
``ru_maxrss``; it includes the backend's compiled code and buffers for the step).

Usage::

    KERAS_BACKEND=jax python benchmarks/hashgrid.py                         # camera and astronaut, 256x256
    KERAS_BACKEND=torch python benchmarks/hashgrid.py --images camera --sizes 256,512
    python benchmarks/hashgrid.py --quick                                   # seconds: 16x16 camera, in-process
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

MARKER = "HASHGRID-RESULT-JSON:"
FULL = {"images": "camera,astronaut", "sizes": "256", "targets": "30,35", "budget": 2000, "max_steps": 2000,
        "max_seconds": 600.0, "hashgrid_width": 64, "hashgrid_depth": 2, "hashgrid": {}}
# Quick: a 16x16 image, a small table and SIREN, so the smoke test takes seconds.
QUICK = {"images": "camera", "sizes": "16", "targets": "10,15", "budget": 20, "max_steps": 20, "max_seconds": 30.0,
         "hashgrid_width": 16, "hashgrid_depth": 2,
         "hashgrid": {"levels": 4, "log2_table_size": 10, "base_resolution": 4, "finest_resolution": 16},
         "siren": {"width": 32, "depth": 2}}
MODELS = ("hashgrid", "siren")


def _rss_mb() -> float:
    """Current resident memory of this process in MiB (Linux ``/proc/self/statm``)."""
    try:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:  # not Linux
        return float("nan")


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def run_one(model_name: str, image_name: str, size: int, settings: dict, seed: int = 0) -> dict:
    """Fit one model to one image; return steps and seconds to each target, parameters and memory."""
    import keras

    from keras_inr import training
    from keras_inr.data import image_to_coordinates, load_image
    from keras_inr.models import build_model

    image = load_image(image_name, size=size)
    coordinates, values = image_to_coordinates(image)
    channels = values.shape[-1]
    targets = sorted(settings["targets"])
    rss_before = _rss_mb()
    keras.utils.set_random_seed(seed)
    if model_name == "hashgrid":
        model = build_model("hashgrid", channels, width=settings["hashgrid_width"], depth=settings["hashgrid_depth"],
                            in_dims=2, seed=seed, **settings["hashgrid"])
        description = (f"hashgrid {settings['hashgrid_depth']}x{settings['hashgrid_width']} ReLU, "
                       f"{_encoding_description(model.encoding)}")
    else:
        config = {key: value for key, value in training.RECOMMENDED_MODEL.items() if key != "family"}
        config.update(settings.get("siren", {}))
        model = build_model(training.RECOMMENDED_MODEL["family"], channels, in_dims=2, **config)
        description = f"{training.RECOMMENDED_MODEL['family']} " + ", ".join(f"{k}={v}" for k, v in config.items())
    recommended = training.recommended(model_name if model_name == "hashgrid" else training.RECOMMENDED_MODEL["family"])
    training.compile_inr(model, learning_rate=recommended["learning_rate"], schedule=recommended["schedule"],
                         total_steps=settings["budget"],
                         final_learning_rate_fraction=recommended["final_learning_rate_fraction"])
    times, psnrs = [], []
    start = time.perf_counter()

    class Recorder(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter())
            psnrs.append(float(logs["psnr"]))
            if psnrs[-1] >= targets[-1] or times[-1] - start > settings["max_seconds"]:
                self.model.stop_training = True

    model.fit(training.full_batch(coordinates, values, 1), epochs=settings["max_steps"], verbose=0,
              callbacks=[Recorder()], shuffle=False)
    times, psnrs = np.asarray(times), np.asarray(psnrs)
    step = float(np.median(np.diff(times))) if len(times) > 1 else float("nan")
    reached = {}
    for target in targets:
        hits = np.flatnonzero(psnrs >= target)
        # epoch k logs the PSNR before its update: the model had the target after k updates
        reached[f"{target:g}"] = (
            {"steps": int(hits[0]), "seconds": float(times[hits[0]] - times[0]) + step} if len(hits) else None
        )
    params = int(model.count_params())
    return {
        "model": model_name, "description": description, "image": image_name, "size": size, "channels": channels,
        "params": params, "param_and_adam_mb": params * 4 * 3 / 2**20,
        "peak_rss_above_start_mb": _peak_rss_mb() - rss_before, "first_step_seconds": float(times[0] - start),
        "median_step_seconds": step, "steps_run": len(psnrs), "best_psnr": float(psnrs.max()), "reached": reached,
        "learning_rate": recommended["learning_rate"], "beta_2": recommended["beta_2"],
        "epsilon": recommended["epsilon"],
    }


def backward_cost(points: int, repeats: int = 10, hashgrid: dict | None = None) -> dict:
    """Forward and forward+backward time of the encoding alone on ``points`` 2-D points, and its table gradient.

    The loss is the mean square of the encoding; the gradient is taken w.r.t. the table with each backend's own
    compiled autodiff (``jax.jit(jax.value_and_grad)``, ``tf.function`` + ``GradientTape``, eager PyTorch
    ``backward``), as ``model.fit`` does it. Returns the medians, the gradient's type and element count next to the
    table's, and the rows a plain per-lookup gradient (``tf.IndexedSlices`` of ``tf.gather``) would hold.
    """
    import keras

    from keras_inr.layers import HashGridEncoding

    backend = keras.backend.backend()
    layer = HashGridEncoding(seed=0, **(hashgrid or {}))
    coordinates = np.random.default_rng(0).uniform(-1, 1, (points, 2)).astype("float32")
    layer.build((None, 2))
    x = keras.ops.convert_to_tensor(coordinates)
    if backend == "jax":
        import jax

        def loss(table):
            outputs, _ = layer.stateless_call([table], [], x)
            return keras.ops.mean(outputs**2)

        forward = jax.jit(loss)
        both = jax.jit(jax.value_and_grad(loss))
        table = layer.table.value
        run_forward = lambda: forward(table).block_until_ready()  # noqa: E731
        run_both = lambda: jax.block_until_ready(both(table))  # noqa: E731
        gradient = both(table)[1]
    elif backend == "tensorflow":
        import tensorflow as tf

        @tf.function
        def forward():
            return tf.reduce_mean(layer(x) ** 2)

        @tf.function
        def both():
            with tf.GradientTape() as tape:
                value = tf.reduce_mean(layer(x) ** 2)
            return value, tape.gradient(value, layer.table.value)

        run_forward = lambda: forward().numpy()  # noqa: E731
        run_both = lambda: both()[1].numpy()  # noqa: E731
        gradient = both()[1]
    else:
        import torch

        def run_forward():
            with torch.no_grad():
                return float(torch.mean(layer(x) ** 2))

        def run_both():
            layer.table.value.grad = None
            value = torch.mean(layer(x) ** 2)
            value.backward()
            return layer.table.value.grad

        gradient = run_both()
    timings = {}
    for name, function in (("forward_s", run_forward), ("forward_backward_s", run_both)):
        function()  # compile / warm up
        samples = []
        for _ in range(repeats):
            start = time.perf_counter()
            function()
            samples.append(time.perf_counter() - start)
        timings[name] = float(np.median(samples))
    if backend == "tensorflow":
        # The same with TensorFlow's own tf.gather gradient (IndexedSlices, one row per lookup), for comparison.
        import keras_inr.backends.hashgrid_tensorflow as tf_module

        original = tf_module.take_rows
        tf_module.take_rows = lambda table, indices: tf.gather(table, indices)
        try:
            @tf.function
            def plain():
                with tf.GradientTape() as tape:
                    value = tf.reduce_mean(layer(x) ** 2)
                return value, tape.gradient(value, layer.table.value)

            plain_gradient = plain()[1]
            samples = []
            for _ in range(repeats):
                start = time.perf_counter()
                plain()[1].values.numpy()
                samples.append(time.perf_counter() - start)
            timings["forward_backward_indexed_slices_s"] = float(np.median(samples))
            timings["indexed_slices_elements"] = int(np.prod(plain_gradient.values.shape))
        finally:
            tf_module.take_rows = original
    table_elements = int(np.prod(layer.table.shape))
    lookups = points * layer.levels * 4
    return {
        "backend": backend, "points": points, "encoding": _encoding_description(layer), **timings,
        "gradient_type": type(gradient).__name__, "gradient_elements": int(np.prod(gradient.shape)),
        "table_elements": table_elements, "per_lookup_gradient_elements": lookups * layer.features_per_level,
    }


def _encoding_description(encoding) -> str:
    return (f"L={encoding.levels} F={encoding.features_per_level} T=2^{encoding.log2_table_size} "
            f"N={encoding.base_resolution}..{encoding.finest_resolution}")


def _worker(arguments, settings) -> None:
    result = run_one(arguments.worker_model, arguments.worker_image, arguments.worker_size, settings)
    print(MARKER + json.dumps(result), flush=True)


def _run_worker(model_name: str, image: str, size: int, argv: list[str]) -> dict:
    command = [sys.executable, str(Path(__file__).resolve()), *argv, "--worker-model", model_name,
               "--worker-image", image, "--worker-size", str(size)]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    for line in completed.stdout.splitlines():
        if line.startswith(MARKER):
            return json.loads(line[len(MARKER):])
    raise RuntimeError(f"worker {model_name} {image} {size} failed:\n{completed.stderr[-3000:]}")


def table(results: list[dict], targets) -> str:
    header = ["image", "model", "params", "params+Adam MiB", "peak RSS MiB", "first step s", "step s"]
    for target in targets:
        header += [f"steps to {target:g} dB", f"s to {target:g} dB"]
    header += ["best dB (steps)"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in results:
        row = [f"{r['image']} {r['size']}", r["model"], f"{r['params']:,}", f"{r['param_and_adam_mb']:.1f}",
               f"{r['peak_rss_above_start_mb']:.0f}", f"{r['first_step_seconds']:.1f}",
               f"{r['median_step_seconds']:.3f}"]
        for target in targets:
            hit = r["reached"][f"{target:g}"]
            row += ["-", "-"] if hit is None else [str(hit["steps"]), f"{hit['seconds']:.1f}"]
        row.append(f"{r['best_psnr']:.1f} ({r['steps_run']})")
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def ratios(results: list[dict], targets) -> list[str]:
    """``hashgrid seconds / siren seconds`` per image, size and target (the issue's goal: at most 0.5 at 30 dB)."""
    lines = []
    keyed = {(r["image"], r["size"], r["model"]): r for r in results}
    for (image, size, model), r in keyed.items():
        if model != "hashgrid" or (image, size, "siren") not in keyed:
            continue
        siren = keyed[(image, size, "siren")]
        for target in targets:
            mine, theirs = r["reached"][f"{target:g}"], siren["reached"][f"{target:g}"]
            if mine and theirs:
                text = f"{mine['seconds'] / theirs['seconds']:.2f}"
            elif mine:
                text = f"SIREN did not reach it in {siren['steps_run']} steps / {settings_seconds(siren):.0f} s"
            else:
                text = "hash grid did not reach it"
            lines.append(f"{image} {size}x{size}, {target:g} dB: hash grid / SIREN wall time = {text}")
    return lines


def settings_seconds(result: dict) -> float:
    return result["first_step_seconds"] + result["median_step_seconds"] * max(result["steps_run"] - 1, 0)


def _parse(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run of seconds (16x16 camera, in-process)")
    parser.add_argument("--images", help=f"comma-separated bundled images (default {FULL['images']})")
    parser.add_argument("--sizes", help=f"comma-separated square sizes (default {FULL['sizes']})")
    parser.add_argument("--targets", help=f"comma-separated PSNR targets in dB (default {FULL['targets']})")
    parser.add_argument("--budget", type=int, help="steps the cosine schedules decay over (default 2000)")
    parser.add_argument("--max-steps", type=int, help="most steps per run (default 2000)")
    parser.add_argument("--max-seconds", type=float, help="most seconds per run (default 600)")
    parser.add_argument("--models", default="hashgrid,siren", help="which of hashgrid, siren to run")
    parser.add_argument("--out", help="write the results as JSON here")
    parser.add_argument("--backward", type=int, metavar="POINTS",
                        help="only measure the encoding's forward and backward pass on POINTS 2-D points")
    parser.add_argument("--worker-model", help=argparse.SUPPRESS)
    parser.add_argument("--worker-image", help=argparse.SUPPRESS)
    parser.add_argument("--worker-size", type=int, help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)
    settings = dict(QUICK if arguments.quick else FULL)
    for key in ("images", "sizes", "targets", "budget", "max_steps", "max_seconds"):
        value = getattr(arguments, key)
        if value is not None:
            settings[key] = value
    settings["images"] = [name for name in str(settings["images"]).split(",") if name]
    settings["sizes"] = [int(size) for size in str(settings["sizes"]).split(",") if size]
    settings["targets"] = [float(target) for target in str(settings["targets"]).split(",") if target]
    models = [name for name in arguments.models.split(",") if name]
    unknown = sorted(set(models) - set(MODELS))
    if unknown:
        parser.error(f"--models takes {MODELS}, got {unknown}")
    settings["models"] = models
    return arguments, settings


def main(argv=None) -> str:
    argv = list(sys.argv[1:] if argv is None else argv)
    arguments, settings = _parse(argv)
    import keras_inr  # noqa: F401  (selects the backend)

    if arguments.worker_model:
        _worker(arguments, settings)
        return ""
    import keras

    if arguments.backward:
        result = backward_cost(arguments.backward, hashgrid=settings["hashgrid"])
        text = json.dumps(result)
        print(text)
        return text
    passed = ["--targets", ",".join(f"{t:g}" for t in settings["targets"]), "--budget", str(settings["budget"]),
              "--max-steps", str(settings["max_steps"]), "--max-seconds", str(settings["max_seconds"])]
    results = []
    for image in settings["images"]:
        for size in settings["sizes"]:
            for model_name in settings["models"]:
                if arguments.quick:
                    result = run_one(model_name, image, size, settings)
                else:
                    result = _run_worker(model_name, image, size, passed)
                results.append(result)
                print(f"{image} {size} {model_name}: {json.dumps(result)}", flush=True)
    lines = [
        f"backend {keras.backend.backend()}, keras {keras.__version__}; budget {settings['budget']} steps, at most "
        f"{settings['max_steps']} steps / {settings['max_seconds']:g} s per run; {os.cpu_count()} CPUs",
        "",
        table(results, settings["targets"]),
        "",
        *ratios(results, settings["targets"]),
    ]
    text = "\n".join(lines)
    print(text)
    if arguments.out:
        Path(arguments.out).write_text(json.dumps({"settings": {k: v for k, v in settings.items()}, "results": results,
                                                   "backend": keras.backend.backend()}, indent=1))
    return text


if __name__ == "__main__":
    main()
