"""Helpers shared by the benchmark scripts: machine description, timing, reference SIREN weights, markdown tables.

The benchmark scripts are run as ``python benchmarks/<name>.py [--quick]`` from the repository root; they print
markdown tables (the figures in ``BENCHMARKS.md`` are their output). Backend-specific code lives only in the
``handwritten_<backend>.py`` modules.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np

BENCHMARK_DIR = Path(__file__).resolve().parent
REPOSITORY_ROOT = BENCHMARK_DIR.parent
BACKENDS = ("jax", "tensorflow", "torch")
#: Marker that precedes the JSON result a worker subprocess prints on its last line.
RESULT_MARKER = "BENCHMARK-RESULT-JSON:"


# --- machine ------------------------------------------------------------------------------------------------------
def cpu_model() -> str:
    """The CPU's model name from ``/proc/cpuinfo`` (or ``platform.processor()`` elsewhere)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def package_versions(names: Sequence[str] = ("keras", "jax", "jaxlib", "tensorflow", "torch", "numpy")) -> dict:
    """Installed versions of the given distributions (``"absent"`` where not installed); imports nothing."""
    from importlib import metadata

    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            try:
                versions[name] = metadata.version(f"{name}-cpu")
            except metadata.PackageNotFoundError:
                versions[name] = "absent"
    return versions


def machine_description() -> str:
    """One markdown paragraph: CPU, core count, load average, Python and backend versions."""
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    versions = ", ".join(f"{name} {version}" for name, version in package_versions().items())
    return (
        f"Machine: {cpu_model()}, {os.cpu_count()} cores, {platform.system()} {platform.machine()}, "
        f"Python {platform.python_version()}; {versions}; load average (1, 5, 15 min) at the start: {load}."
    )


# --- timing -------------------------------------------------------------------------------------------------------
def timed(function: Callable[[], object]) -> float:
    """Wall-clock seconds of one call (the function must block until its work is done)."""
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def timed_with_cpu(function: Callable[[], object]) -> tuple[float, float]:
    """``(wall seconds, process CPU seconds)`` of one call.

    On a shared machine wall time grows with other people's load; the CPU seconds this process spent grow much
    less, so they are reported next to wall-clock medians as a check.
    """
    start_wall, start_cpu = time.perf_counter(), time.process_time()
    function()
    return time.perf_counter() - start_wall, time.process_time() - start_cpu


def median(values: Sequence[float]) -> float:
    return float(np.median(np.asarray(values, dtype=np.float64)))


# --- data and reference weights -----------------------------------------------------------------------------------
def camera_coordinates(size: int) -> tuple[np.ndarray, np.ndarray]:
    """The bundled camera image at ``size x size`` as ``(coordinates (N, 2), values (N, 1))`` float32."""
    from keras_inr.data import image_to_coordinates, load_image

    return image_to_coordinates(load_image("camera", size=size))


def reference_siren_weights(
    layer_sizes: Sequence[int], w0: float = 30.0, first_w0: float | None = None, seed: int = 0
) -> list[tuple[np.ndarray, np.ndarray]]:
    """SIREN weights drawn as the reference implementation draws them, written independently of keras-inr.

    Sitzmann et al. 2020 (https://arxiv.org/abs/2006.09661, section 3.2 and supplement 1.5) and ``vsitzmann/siren``
    ``modules.py``: the first layer's kernel ``U(-1/n, 1/n)``, every later kernel (the linear output one included)
    ``U(-sqrt(6/n)/w0, sqrt(6/n)/w0)``, every bias ``U(-1/sqrt(n), 1/sqrt(n))`` (``torch.nn.Linear``'s default);
    ``n`` is the layer's fan-in. ``first_w0`` only changes the forward pass, not the draw.

    Args:
        layer_sizes: ``[in_dims, width, ..., width, out_dims]``.
        w0: omega_0 of the hidden layers.
        first_w0: unused for the draw (kept for a uniform signature).
        seed: seed of numpy's generator.

    Returns:
        One ``(kernel (in, out), bias (out,))`` float32 pair per layer.
    """
    del first_w0
    rng = np.random.default_rng(seed)
    weights = []
    for index, (fan_in, fan_out) in enumerate(zip(layer_sizes[:-1], layer_sizes[1:])):
        bound = 1.0 / fan_in if index == 0 else math.sqrt(6.0 / fan_in) / w0
        kernel = rng.uniform(-bound, bound, size=(fan_in, fan_out)).astype(np.float32)
        bias_bound = 1.0 / math.sqrt(fan_in)
        bias = rng.uniform(-bias_bound, bias_bound, size=(fan_out,)).astype(np.float32)
        weights.append((kernel, bias))
    return weights


def recommended_training(family: str) -> dict:
    """``{"learning_rate", "schedule"}`` that keras-inr recommends for a registered family
    (:func:`keras_inr.training.recommended`, read from the family registry)."""
    from keras_inr import training

    settings = training.recommended(family)
    return {"learning_rate": settings["learning_rate"], "schedule": settings["schedule"]}


def recommended_config(width: int, depth: int) -> dict:
    """The benchmarks' ``defaults`` row, what ``keras-inr fit`` uses: :data:`keras_inr.training.RECOMMENDED_MODEL`
    (its family and the registry's recommended hyperparameters; width and depth capped at ``width``/``depth`` so that
    ``--quick`` runs shrink it) with the family's recommended training.

    Returns:
        ``{"family", "model" (hyperparameters), "width", "depth", "learning_rate", "schedule", "values"}``.
    """
    from keras_inr import families, training

    model = dict(training.RECOMMENDED_MODEL)
    family = model.pop("family")
    return {
        "family": family,
        "model": {key: value for key, value in model.items() if key in families.get(family).hyperparameters},
        "width": min(model.get("width", width), width),
        "depth": min(model.get("depth", depth), depth),
        **recommended_training(family),
        "values": "mean",  # fit_signal's default output_bias="mean" (keras_inr.fitting.centre_output_bias)
    }


#: How a benchmark config presents the image's ``[0, 1]`` values to the network (``config["values"]``):
#: ``"unit"`` fits them as they are; ``"signed"`` fits ``2 v - 1`` in ``[-1, 1]`` (the reference SIREN notebook's
#: ``Normalize(0.5, 0.5)``), PSNR taken with ``max_val = 2`` so it equals the PSNR on the ``[0, 1]`` scale;
#: ``"mean"`` fits ``[0, 1]`` with the output layer's bias initialised at the per-channel data mean.
VALUE_MODES = ("unit", "signed", "mean")


def fitted_values(values: np.ndarray, mode: str = "unit") -> tuple[np.ndarray, float]:
    """``(values the network is trained on, PSNR max_val on that scale)`` for a :data:`VALUE_MODES` entry."""
    if mode not in VALUE_MODES:
        raise ValueError(f"`values` must be one of {VALUE_MODES}, got {mode!r}.")
    if mode == "signed":
        return (2.0 * np.asarray(values, np.float32) - 1.0).astype(np.float32), 2.0
    return np.asarray(values, np.float32), 1.0


def unit_predictions(predictions: np.ndarray, mode: str = "unit") -> np.ndarray:
    """Network outputs mapped back to the image's ``[0, 1]`` scale (inverse of :func:`fitted_values`)."""
    return (np.asarray(predictions) + 1.0) / 2.0 if mode == "signed" else np.asarray(predictions)


def initialise_output_bias(model, values: np.ndarray, mode: str = "unit") -> None:
    """With ``mode="mean"``, set the (built) model's output bias to the per-channel mean of ``values``."""
    if mode != "mean":
        return
    layer = model.output_layer if hasattr(model, "output_layer") else model.layers[-1]
    bias = next(variable for variable in layer.weights if variable.path.endswith("bias"))
    bias.assign(np.asarray(values, np.float32).mean(axis=0))


def siren_matmul_flops_per_step(points: int, layer_sizes: Sequence[int]) -> float:
    """Floating-point operations of the matrix products of one full-batch SIREN training step.

    Forward ``x W`` costs ``2 N n_in n_out`` per layer; the backward pass needs the kernel gradient
    (``2 N n_in n_out``) for every layer and the input gradient (the same count) for every layer but the first.
    """
    total = 0.0
    for index, (fan_in, fan_out) in enumerate(zip(layer_sizes[:-1], layer_sizes[1:])):
        per_product = 2.0 * points * fan_in * fan_out
        total += per_product * (2 if index == 0 else 3)
    return total


def siren_sine_evaluations_per_step(points: int, layer_sizes: Sequence[int]) -> float:
    """Transcendental evaluations of one SIREN training step: ``sin`` forward and ``cos`` backward per hidden unit."""
    hidden_units = sum(layer_sizes[1:-1])
    return 2.0 * points * hidden_units


# --- markdown -----------------------------------------------------------------------------------------------------
def markdown_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A GitHub markdown table; floats are written with 4 significant digits."""

    def cell(value) -> str:
        if isinstance(value, float):
            if math.isnan(value):
                return "n/a"
            return f"{value:.4g}"
        return str(value)

    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell(value) for value in row) + " |" for row in rows]
    return "\n".join(lines)


# --- command line ---------------------------------------------------------------------------------------------
def add_settings_arguments(
    parser: argparse.ArgumentParser,
    full: Mapping[str, object],
    *,
    backends: bool = False,
    helps: Mapping[str, str] | None = None,
) -> None:
    """Add ``--quick``, optionally ``--backends``, and one ``--<key>`` option per key of a script's ``full`` settings.

    Args:
        parser: the script's parser.
        full: the full-size settings (key -> default value); each key ``some_key`` becomes ``--some-key`` with
            ``dest="some_key"``, default ``None`` (meaning "take the quick or full value") and the type of the full
            value (``int``/``float``; string values are taken as given).
        backends: whether the script runs one subprocess per backend; then ``--quick`` also means "the current
            backend only" and a ``--backends`` option is added (see :func:`parse_backends`).
        helps: optional help text per key.
    """
    helps = helps or {}
    quick_help = "tiny sizes, current backend only (a smoke test)" if backends else "tiny sizes (a smoke test)"
    parser.add_argument("--quick", action="store_true", help=quick_help)
    if backends:
        parser.add_argument("--backends", default=None, help="'all', 'current' or a comma list (default: all; "
                            "with --quick: current)")
    for key, value in full.items():
        value_type = None if isinstance(value, str) else type(value)
        parser.add_argument(f"--{key.replace('_', '-')}", dest=key, type=value_type, default=None,
                            help=helps.get(key))


def resolve_settings(
    arguments: argparse.Namespace, quick: Mapping[str, object], full: Mapping[str, object]
) -> dict:
    """The settings of one run: ``quick`` or ``full`` (by ``arguments.quick``), overridden by every option given.

    Options added by :func:`add_settings_arguments` default to ``None``, so only those given on the command line
    override. If the parser has ``--backends`` and it was not given, it is set in ``arguments`` to ``"current"``
    with ``--quick`` and ``"all"`` otherwise.

    Returns:
        A new dict with the keys of ``quick``/``full``.
    """
    settings = dict(quick if arguments.quick else full)
    for key in full:
        if getattr(arguments, key) is not None:
            settings[key] = getattr(arguments, key)
    if getattr(arguments, "backends", "") is None:
        arguments.backends = "current" if arguments.quick else "all"
    return settings


# --- running one backend per subprocess ---------------------------------------------------------------------------
def parse_backends(text: str | None) -> list[str]:
    """``"jax,torch"`` -> ``["jax", "torch"]``; ``None``/``"current"`` -> the current ``KERAS_BACKEND`` (JAX if unset);
    ``"all"`` -> all three."""
    if text is None or text == "current":
        return [os.environ.get("KERAS_BACKEND", "jax")]
    if text == "all":
        return list(BACKENDS)
    names = [name.strip() for name in text.split(",") if name.strip()]
    for name in names:
        if name not in BACKENDS:
            raise ValueError(f"`--backends` entries must be among {BACKENDS}, 'all' or 'current', got {name!r}.")
    return names


def run_worker(script: Path, backend: str, arguments: Sequence[str]) -> dict:
    """Run ``script --worker ARGUMENTS`` under ``KERAS_BACKEND=backend`` and return the JSON it reports.

    Keras fixes its backend at import, so every backend is measured in its own process; within that process the
    keras-inr and hand-written runs are interleaved.
    """
    environment = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="2")
    environment["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(REPOSITORY_ROOT), environment.get("PYTHONPATH")])
    )
    completed = subprocess.run(
        [sys.executable, str(script), "--worker", *arguments],
        env=environment,
        capture_output=True,
        text=True,
        cwd=str(REPOSITORY_ROOT),
    )
    for line in reversed(completed.stdout.splitlines()):
        if line.startswith(RESULT_MARKER):
            return json.loads(line[len(RESULT_MARKER):])
    raise RuntimeError(
        f"{script.name} worker for backend {backend!r} failed (exit {completed.returncode}):\n"
        f"{completed.stdout[-2000:]}\n{completed.stderr[-4000:]}"
    )


def report_result(result: dict) -> None:
    """Print a worker's result for :func:`run_worker` to read."""
    print(RESULT_MARKER + json.dumps(result), flush=True)
