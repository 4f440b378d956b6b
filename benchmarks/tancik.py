"""The Fourier-features image-regression protocol (issue 5, benchmark 4).

Tancik et al. 2020, "Fourier Features Let Networks Learn High Frequency Functions in Low Dimensional Domains",
https://arxiv.org/abs/2006.10739, section 6 (2-D image regression) and supplement: a 512x512 image, train on the
256x256 sub-grid of every other pixel (:func:`keras_inr.data.tancik_split`), full batch, 2000 Adam steps, report the
PSNR on the pixels not trained on. Rows:

* ``rff-paper``: the paper's Gaussian RFF network -- 256 random frequencies with sigma = 10 on ``[0, 1)``
  coordinates (``scale = 5`` on keras-inr's ``[-1, 1]``), three ReLU layers of 256 and a linear output, Adam 1e-3
  constant (the paper also puts a sigmoid on the output; keras-inr's networks have a linear output);
* ``siren-reference``: the reference SIREN image recipe exactly (the authors' ``explore_siren.ipynb``: four sine
  layers of 256, omega_0 = 30, targets mapped to [-1, 1], Adam 1e-4 constant; PSNR on the [0, 1] scale);
* ``siren``, ``gauss``, ``ffn``: each family with its keras-inr model defaults and its recommended training
  (:func:`keras_inr.training.recommended`: learning rate and schedule);
* ``defaults``: the recommended model (:data:`keras_inr.training.RECOMMENDED_MODEL`) with its recommended training,
  i.e. what ``keras-inr fit`` uses.

Every image is centre-cropped to a square and resized to ``--size`` (512 in the paper). On a small CPU use a
scaled-down run (``--size 128`` or ``256``) and say so; ``BENCHMARKS.md`` records which was run.

Usage::

    python benchmarks/tancik.py                         # the paper's protocol (a GPU job)
    python benchmarks/tancik.py --size 128 --images camera,astronaut
    python benchmarks/tancik.py --quick                 # seconds, a smoke test
    python benchmarks/tancik.py --custom "w20:family=siren,w0=20,learning_rate=1e-3,schedule=cosine"
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

CONFIG_NAMES = ("rff-paper", "siren-reference", "siren", "gauss", "ffn", "defaults")

from common import (  # noqa: E402
    add_settings_arguments,
    machine_description,
    markdown_table,
    median,
    recommended_config,
    recommended_training,
    resolve_settings,
)

FULL = {"size": 512, "steps": 2000, "width": 256, "depth": 3, "images": "camera,astronaut,chelsea,coffee",
        "configs": ",".join(CONFIG_NAMES)}
QUICK = {"size": 16, "steps": 5, "width": 16, "depth": 2, "images": "camera",
         "configs": "rff-paper,siren-reference,defaults"}


def named_configs(width: int, depth: int) -> dict:
    """The protocol's rows as ``{name: config}``; a config has ``family``, ``model`` (hyperparameters), ``width``,
    ``depth``, ``learning_rate``, ``schedule``."""
    return {
        "rff-paper": {"family": "ffn", "model": {"scale": 5.0, "num_features": 256}, "width": width, "depth": depth,
                      "learning_rate": 1e-3, "schedule": "constant"},
        # explore_siren.ipynb: hidden_layers=3 -> 4 sine layers (one more than `depth`'s default 3), [-1, 1] targets
        "siren-reference": {"family": "siren", "model": {"w0": 30.0}, "width": width, "depth": depth + 1,
                            "learning_rate": 1e-4, "schedule": "constant", "values": "signed"},
        # each family with its model defaults (the registry's `default`s: the papers' values) and recommended training
        **{family: {"family": family, "model": {}, "width": width, "depth": depth, **recommended_training(family)}
           for family in ("siren", "gauss", "ffn")},
        "defaults": recommended_config(width, depth),
    }


def parse_custom(text: str, width: int, depth: int) -> tuple[str, dict]:
    """``"name:family=siren,w0=20,learning_rate=1e-3,schedule=cosine"`` -> ``(name, config)``."""
    from keras_inr import families

    owners = families.hyperparameter_owners()
    if ":" not in text:
        raise ValueError(f"`--custom` must look like 'name:key=value,...', got {text!r}.")
    name, body = text.split(":", 1)
    config = {"family": "siren", "model": {}, "width": width, "depth": depth, "learning_rate": 1e-3,
              "schedule": "cosine"}
    for item in filter(None, body.split(",")):
        key, _, value = item.partition("=")
        if key in ("family", "schedule"):
            config[key] = value
        elif key == "values":  # common.VALUE_MODES: unit, signed, mean
            from common import VALUE_MODES

            if value not in VALUE_MODES:
                raise ValueError(f"`--custom` values= must be one of {VALUE_MODES}, got {value!r}.")
            config[key] = value
        elif key in ("width", "depth"):
            config[key] = int(value)
        elif key == "learning_rate":
            config[key] = float(value)
        else:  # a family hyperparameter: an integer where the registry says so
            kinds = {families.get(owner).hyperparameters[key].kind for owner in owners.get(key, ())}
            config["model"][key] = int(value) if kinds == {"int"} else float(value)
    return name, config


def load_square(name: str, size: int) -> np.ndarray:
    """A scikit-image sample, centre-cropped to a square and resized to ``size x size``; ``(size, size, C)``."""
    from keras_inr.data import load_image

    image = load_image(name)
    height, width = image.shape[:2]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    return load_image(image[top:top + side, left:left + side], size=size)


def run_config(config: dict, image: np.ndarray, steps: int, seed: int = 0) -> dict:
    """Train one config on the Tancik split of ``image``; returns train/test PSNR and seconds."""
    import keras
    from common import fitted_values, initialise_output_bias, unit_predictions

    from keras_inr.data import tancik_split
    from keras_inr.metrics import psnr
    from keras_inr.models import build_model
    from keras_inr.training import compile_inr, full_batch

    (train_x, train_y), (test_x, test_y) = tancik_split(image)
    mode = config.get("values", "unit")
    targets, max_val = fitted_values(train_y, mode)
    keras.utils.set_random_seed(seed)
    model = build_model(config["family"], image.shape[-1], width=config["width"], depth=config["depth"], in_dims=2,
                        **config["model"])
    model.build((None, 2))
    initialise_output_bias(model, train_y, mode)
    compile_inr(model, config["learning_rate"], config["schedule"], total_steps=steps, max_val=max_val)
    start = time.perf_counter()
    model.fit(full_batch(train_x, targets, steps), epochs=1, verbose=0, shuffle=False)
    seconds = time.perf_counter() - start

    def predict(coordinates):  # on the image's [0, 1] scale
        output = model.predict(coordinates, batch_size=len(coordinates), verbose=0)
        return unit_predictions(keras.ops.convert_to_numpy(output), mode)

    return {"train_psnr": psnr(train_y, predict(train_x)), "test_psnr": psnr(test_y, predict(test_x)),
            "seconds": seconds}


def _parse(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_settings_arguments(parser, FULL, helps={
        "size": "image side (512 in the paper)",
        "steps": "optimiser steps (2000 in the paper)",
        "images": "comma list of scikit-image sample names",
        "configs": f"comma list among {CONFIG_NAMES} (default: all; with --quick: rff-paper, siren-reference, "
                   "defaults)",
    })
    parser.add_argument("--custom", action="append", default=[], help="extra 'name:key=value,...' configs")
    arguments = parser.parse_args(argv)
    return arguments, resolve_settings(arguments, QUICK, FULL)


def main(argv=None) -> str:
    import keras

    import keras_inr  # noqa: F401  (selects keras-inr's default backend, JAX, before keras is imported)

    arguments, settings = _parse(argv)
    configs = named_configs(settings["width"], settings["depth"])
    selected = {}
    for name in filter(None, settings["configs"].split(",")):
        if name not in configs:
            raise ValueError(f"`--configs` entries must be among {CONFIG_NAMES}, got {name!r}.")
        selected[name] = configs[name]
    for text in arguments.custom:
        name, config = parse_custom(text, settings["width"], settings["depth"])
        selected[name] = config
    images = [name for name in settings["images"].split(",") if name]
    size = settings["size"]
    print(machine_description())
    print(
        f"\nTancik et al. protocol on backend {keras.backend.backend()}: {size}x{size} images, train on the "
        f"{(size + 1) // 2}x{(size + 1) // 2} sub-grid, test on the other pixels, {settings['steps']} full-batch "
        f"steps.\n"
    )
    results = {}
    for image_name in images:
        image = load_square(image_name, size)
        for name, config in selected.items():
            results[(image_name, name)] = run_config(config, image, settings["steps"])
            print(f"  {image_name:>10} {name:>16}: test {results[(image_name, name)]['test_psnr']:.2f} dB", flush=True)
    header = ["config", "family", "model", "lr", "schedule", *[f"{image} test PSNR" for image in images],
              "mean test PSNR", "mean train PSNR", "s/run (median)"]
    rows = []
    for name, config in selected.items():
        tests = [results[(image, name)]["test_psnr"] for image in images]
        rows.append([
            name, config["family"],
            f"{config['depth']}x{config['width']} " + ",".join(f"{k}={v:g}" for k, v in config["model"].items())
            + f" values={config.get('values', 'unit')}",
            config["learning_rate"], config["schedule"], *tests, float(np.mean(tests)),
            float(np.mean([results[(image, name)]["train_psnr"] for image in images])),
            median([results[(image, name)]["seconds"] for image in images]),
        ])
    table = markdown_table(header, rows)
    verdict = ""
    if "defaults" in selected and {"rff-paper", "siren-reference"} <= set(selected):
        means = {name: float(np.mean([results[(image, name)]["test_psnr"] for image in images]))
                 for name in ("defaults", "rff-paper", "siren-reference")}
        best_baseline = max(("rff-paper", "siren-reference"), key=means.get)
        margin = means["defaults"] - means[best_baseline]
        verdict = (f"\n\nDefaults minus the better baseline ({best_baseline}), mean test PSNR: {margin:+.2f} dB "
                   f"(target: at least +1 dB).")
    text = table + verdict
    print(text)
    return text


if __name__ == "__main__":
    main()
