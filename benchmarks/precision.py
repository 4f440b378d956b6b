"""PSNR after the same training under the float32, mixed_bfloat16 and mixed_float16 dtype policies (issue 9, section 3).

The recommended SIREN (:data:`keras_inr.training.RECOMMENDED_MODEL`: 3x256, the registry's recommended w0) fitted to
the bundled camera image at ``--size`` x ``--size`` (64 by default), full batch (:func:`keras_inr.training.full_batch`)
with its recommended training (:func:`keras_inr.training.compile_inr`: Adam 1e-3, cosine decay over ``--steps``,
300 by default), once per policy, from the same initial weights (same seed; every policy here keeps float32
variables). The model gets the policy through ``dtype=`` (``build_model(..., dtype=policy)``), so nothing global
changes. ``compile`` wraps the optimizer in a ``keras.optimizers.LossScaleOptimizer`` by itself for
``mixed_float16`` (``auto_scale_loss=True``, Keras' default); the table says whether it did.

PSNR is computed in float64 from the model's outputs, which are in the compute dtype: bfloat16 outputs in ``[0, 1]``
are rounded to multiples of 2^-9 to 2^-8, which alone caps the PSNR near 55 dB.

``--ablation`` adds rows with keras-inr's float32 care switched off (the first layer computing in 16 bits from
16-bit coordinates, the sine's phase ``w0 z`` formed in 16 bits), to show what it buys.

The backend is ``KERAS_BACKEND`` (JAX by default); run the script once per backend.

Usage::

    python benchmarks/precision.py                      # camera 64x64, 300 steps, three policies
    python benchmarks/precision.py --ablation           # plus the 16-bit-phase rows
    python benchmarks/precision.py --quick              # seconds: 16x16, 5 steps (a smoke test)
    KERAS_BACKEND=torch python benchmarks/precision.py --size 128 --steps 1000
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from common import camera_coordinates, machine_description, markdown_table  # noqa: E402

POLICIES = ("float32", "mixed_bfloat16", "mixed_float16")
FULL = {"size": 64, "steps": 300}
QUICK = {"size": 16, "steps": 5}


@contextlib.contextmanager
def sixteen_bit_phase():
    """Switch off keras-inr's float32 care under 16-bit policies (for the ablation rows), then restore it."""
    from keras_inr import activations
    from keras_inr.layers import CoordinateDense

    saved = activations.in_float32, CoordinateDense.first_layer_in_float32
    activations.in_float32 = lambda function, preactivation: function(preactivation)
    CoordinateDense.first_layer_in_float32 = False
    try:
        yield
    finally:
        activations.in_float32, CoordinateDense.first_layer_in_float32 = saved


def run_policy(policy: str, coordinates: np.ndarray, values: np.ndarray, steps: int, seed: int) -> dict:
    """Train the recommended SIREN for ``steps`` full-batch steps under ``policy``; return PSNR and timings."""
    import keras
    from keras import ops

    import keras_inr
    from keras_inr import metrics, training

    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    settings = dict(training.RECOMMENDED_MODEL)
    family = settings.pop("family")
    model = keras_inr.build_model(family, out_dims=values.shape[-1], in_dims=coordinates.shape[-1], dtype=policy,
                                  **settings)
    recommended = training.recommended(family)
    training.compile_inr(
        model, learning_rate=recommended["learning_rate"], schedule=recommended["schedule"], total_steps=steps,
        final_learning_rate_fraction=recommended["final_learning_rate_fraction"],
    )
    start = time.perf_counter()
    model.fit(training.full_batch(coordinates, values, steps), epochs=1, verbose=0, shuffle=False)
    seconds = time.perf_counter() - start
    prediction = ops.convert_to_numpy(ops.cast(model(coordinates), "float32"))
    return {
        "psnr": metrics.psnr(values, prediction),
        "seconds": seconds,
        "output_dtype": keras.backend.standardize_dtype(model(coordinates[:2]).dtype),
        "loss_scaling": isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer),
        "finite": bool(np.all(np.isfinite(prediction))),
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke test: 16x16, 5 steps")
    parser.add_argument("--size", type=int, help=f"image side (default {FULL['size']}; --quick {QUICK['size']})")
    parser.add_argument("--steps", type=int, help=f"training steps (default {FULL['steps']}; --quick {QUICK['steps']})")
    parser.add_argument("--policies", default=",".join(POLICIES), help="comma-separated dtype policies")
    parser.add_argument("--ablation", action="store_true", help="add rows with the 16-bit first layer and phase")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    defaults = QUICK if args.quick else FULL
    size = args.size or defaults["size"]
    steps = args.steps or defaults["steps"]
    policies = [policy.strip() for policy in args.policies.split(",") if policy.strip()]

    import keras

    import keras_inr  # noqa: F401  (selects the default backend)

    coordinates, values = camera_coordinates(size)
    runs = [(policy, False) for policy in policies]
    if args.ablation:
        runs += [(policy, True) for policy in policies if policy.startswith("mixed_")]
    rows, reference = [], None
    for policy, ablated in runs:
        with sixteen_bit_phase() if ablated else contextlib.nullcontext():
            result = run_policy(policy, coordinates, values, steps, args.seed)
        if policy == "float32" and not ablated:
            reference = result["psnr"]
        label = f"{policy} (16-bit first layer and phase)" if ablated else policy
        delta = result["psnr"] - reference if reference is not None else float("nan")
        rows.append([
            label, result["psnr"], delta, result["output_dtype"], "yes" if result["loss_scaling"] else "no",
            result["seconds"], 1e3 * result["seconds"] / steps, "yes" if result["finite"] else "NO",
        ])
        print(f"# {label}: {result['psnr']:.2f} dB in {result['seconds']:.1f} s", file=sys.stderr, flush=True)

    print(f"## Dtype policies: PSNR after the same training ({keras.backend.backend()})\n")
    print(f"Camera {size}x{size}, recommended SIREN and training, {steps} full-batch steps, seed {args.seed}.\n")
    header = ["policy", "PSNR (dB)", "vs float32 (dB)", "output dtype", "loss scaling", "train (s, with compile)",
              "ms/step", "finite"]
    print(markdown_table(header, rows))
    print()
    print(machine_description())


if __name__ == "__main__":
    main()
