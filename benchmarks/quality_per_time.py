"""Time to reach a PSNR target: the reference SIREN recipe vs keras-inr's recommended defaults (issue 5, benchmark 3).

The bundled camera image at 256x256 (65,536 coordinates), full batch. Rows:

* ``reference``: the reference SIREN image recipe exactly (Sitzmann et al. 2020, https://arxiv.org/abs/2006.09661,
  and the authors' image notebook ``explore_siren.ipynb``: ``Siren(hidden_features=256, hidden_layers=3)``, i.e.
  **four** sine layers of 256 and a linear output, first and hidden omega_0 = 30, targets mapped to **[-1, 1]**,
  Adam 1e-4 constant, full batch; its PSNR is taken on the image's [0, 1] scale);
* ``defaults``: :data:`keras_inr.training.RECOMMENDED_MODEL` (family, architecture) trained with
  :func:`keras_inr.training.recommended` for that family -- learning rate and schedule (the
  cosine decays over ``--budget`` steps, the run length a user plans; ``keras-inr fit`` uses these defaults).

Each run is one ``model.fit`` of one-step epochs fed by :class:`keras_inr.training.FullBatch`; the ``psnr`` logged
at the end of epoch ``k`` is the PSNR of the whole image before that step's update, so the first epoch whose PSNR
reaches ``--target`` marks the time. Times are counted from the end of the first step (which includes compilation),
plus one median step for that first step. Runs stop at the target or at ``--max-steps``.

Usage::

    python benchmarks/quality_per_time.py             # full: 256x256, target 30 dB
    python benchmarks/quality_per_time.py --quick     # seconds: 16x16, 2x32, target 13 dB
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from common import (  # noqa: E402
    add_settings_arguments,
    camera_coordinates,
    machine_description,
    markdown_table,
    recommended_config,
    resolve_settings,
)

FULL = {"size": 256, "target": 30.0, "budget": 1000, "max_steps": 1500, "width": 256, "depth": 3,
        "reference_depth": 4}
QUICK = {"size": 16, "target": 13.0, "budget": 200, "max_steps": 400, "width": 32, "depth": 2, "reference_depth": 2}


class _StopAtTarget:
    """Keras callback factory (built lazily so importing this module does not import keras)."""

    @staticmethod
    def make(target: float):
        import keras

        class StopAtTarget(keras.callbacks.Callback):
            """Record the wall time and PSNR after every one-step epoch; stop at ``target`` dB."""

            def __init__(self):
                super().__init__()
                self.times, self.psnrs = [], []

            def on_epoch_end(self, epoch, logs=None):
                self.times.append(time.perf_counter())
                self.psnrs.append(float(logs["psnr"]))
                if self.psnrs[-1] >= target:
                    self.model.stop_training = True

        return StopAtTarget()


def configs(settings) -> dict:
    return {
        # explore_siren.ipynb: hidden_layers=3 -> 4 sine layers; Normalize(0.5, 0.5) -> targets in [-1, 1]
        "reference": {"family": "siren", "model": {"w0": 30.0}, "width": settings["width"],
                      "depth": settings["reference_depth"], "learning_rate": 1e-4, "schedule": "constant",
                      "values": "signed"},
        "defaults": recommended_config(settings["width"], settings["depth"]),
    }


def custom_config(text: str, settings) -> tuple[str, dict]:
    """``"name:key=value,..."`` (see ``tancik.parse_custom``) -> an extra row, for exploring the defaults."""
    from tancik import parse_custom

    return parse_custom(text, settings["width"], settings["depth"])


def time_to_target(config: dict, coordinates, values, settings, seed: int = 0) -> dict:
    import keras
    from common import fitted_values, initialise_output_bias

    from keras_inr.models import build_model
    from keras_inr.training import compile_inr, full_batch

    mode = config.get("values", "unit")
    targets, max_val = fitted_values(values, mode)
    keras.utils.set_random_seed(seed)
    model = build_model(config["family"], values.shape[-1], width=config["width"], depth=config["depth"], in_dims=2,
                        **config["model"])
    model.build((None, 2))
    initialise_output_bias(model, values, mode)
    # max_val = 2 for [-1, 1] targets: the logged PSNR is then the PSNR on the image's own [0, 1] scale
    compile_inr(model, config["learning_rate"], config["schedule"], total_steps=settings["budget"], max_val=max_val)
    recorder = _StopAtTarget.make(settings["target"])
    model.fit(
        full_batch(coordinates, targets, 1), epochs=settings["max_steps"], verbose=0, callbacks=[recorder],
        shuffle=False,
    )
    times = np.asarray(recorder.times)
    step_seconds = float(np.median(np.diff(times))) if len(times) > 1 else float("nan")
    psnrs = np.asarray(recorder.psnrs)
    reached = np.flatnonzero(psnrs >= settings["target"])
    if len(reached):
        # Epoch k (0-based) logs the PSNR before its update: the model had the target after k updates.
        index = int(reached[0])
        seconds = float(times[index] - times[0]) + step_seconds
        steps = index
    else:
        seconds, steps = float("nan"), None
    return {"steps": steps, "seconds": seconds, "step_seconds": step_seconds, "best_psnr": float(psnrs.max()),
            "last_psnr": float(psnrs[-1]),
            "steps_run": len(psnrs)}


def _parse(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_settings_arguments(parser, FULL)
    parser.add_argument("--custom", action="append", default=[], help="extra 'name:key=value,...' rows")
    parser.add_argument("--configs", default="reference,defaults", help="rows among reference, defaults")
    arguments = parser.parse_args(argv)
    return arguments, resolve_settings(arguments, QUICK, FULL)


def main(argv=None) -> str:
    import keras

    import keras_inr  # noqa: F401  (selects keras-inr's default backend, JAX, before keras is imported)

    arguments, settings = _parse(argv)
    coordinates, values = camera_coordinates(settings["size"])
    print(machine_description())
    print(
        f"\nTime to {settings['target']:g} dB on camera {settings['size']}x{settings['size']} "
        f"({len(coordinates)} coordinates), full batch, backend {keras.backend.backend()}; cosine budget "
        f"{settings['budget']} steps, at most {settings['max_steps']} steps per run.\n"
    )
    results, rows = {}, []
    named = configs(settings)
    selected = {}
    for name in filter(None, arguments.configs.split(",")):
        if name not in named:
            raise ValueError(f"`--configs` entries must be among {sorted(named)}, got {name!r}.")
        selected[name] = named[name]
    selected.update(custom_config(text, settings) for text in arguments.custom)
    for name, config in selected.items():
        result = results[name] = time_to_target(config, coordinates, values, settings)
        model_text = f"{config['depth']}x{config['width']} " + ",".join(
            f"{k}={v:g}" for k, v in config["model"].items()
        ) + f" values={config.get('values', 'unit')}"
        steps = result["steps"] if result["steps"] is not None else f"> {result['steps_run']}"
        rows.append([name, config["family"], model_text, config["learning_rate"], config["schedule"], steps,
                     result["seconds"], result["step_seconds"], result["best_psnr"]])
        print(f"  {name}: {steps} steps, {result['seconds']:.4g} s to {settings['target']:g} dB; best "
              f"{result['best_psnr']:.2f} dB, last {result['last_psnr']:.2f} dB", flush=True)
    table = markdown_table(
        ["config", "family", "model", "lr", "schedule", f"steps to {settings['target']:g} dB",
         f"seconds to {settings['target']:g} dB", "s/step", "best PSNR seen"],
        rows,
    )
    text = table
    if {"defaults", "reference"} <= set(results):
        ratio = results["defaults"]["seconds"] / results["reference"]["seconds"]
        text += f"\n\nDefaults' time / reference's time: {ratio:.3g} (target: at most 0.5)."
        if np.isnan(ratio):
            text += " A run did not reach the target within --max-steps."
    print(text)
    return text


if __name__ == "__main__":
    main()
