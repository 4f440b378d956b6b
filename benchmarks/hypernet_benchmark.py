"""Hypernetwork benchmarks: batched per-sample INR evaluation, and the cost of HyperINR's training step.

1. Batched evaluation of ``batch`` INRs with per-sample weights (``target.call_with_weights`` on ``(batch, points, 2)``
   coordinates, one batched matmul per layer) against a Python loop over the samples. On JAX both the batched
   function and the per-sample function of the loop are ``jax.jit``-compiled (the loop's best case), and an eager loop
   is shown as well; on TensorFlow and PyTorch everything runs eagerly.
2. One HyperINR training step through ``model.fit`` (full head, MLP encoder on 25x25 faces, SIREN target, random
   points per step) against a hand-written step doing the same computation (same weights, sampling, MSE, Adam) in the
   same backend: on JAX a ``jax.jit``-compiled function with ``jax.grad`` and Adam written by hand; on PyTorch a plain
   ``torch.nn.Module``-free function with autograd and ``torch.optim.Adam``. (No hand-written TensorFlow step yet.)

Timings are medians over repetitions, the variants interleaved. Prints markdown tables.

Usage:
    KERAS_BACKEND=jax python benchmarks/hypernet_benchmark.py [--quick] [--training-only] [--variants] [--threads N]
        [--clock wall|cpu]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras_inr  # noqa: E402,F401  (selects the backend first)

# isort: split
import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import ops  # noqa: E402

import hypernets  # noqa: E402
from keras_inr.data import coordinate_grid  # noqa: E402

BACKEND = keras.backend.backend()


def _sync(value):
    """Wait for asynchronous backends (JAX dispatch, CUDA streams) so that timings cover the computation."""
    for leaf in keras.tree.flatten(value):
        if hasattr(leaf, "block_until_ready"):
            leaf.block_until_ready()
    if BACKEND == "torch":
        import torch

        if torch.cuda.is_available():
            torch.cuda.synchronize()
    return value


#: The clock of the timings: ``time.perf_counter`` (wall time), or ``time.process_time`` (``--clock cpu``: the CPU
#: time of this process, all its threads; on a shared, loaded machine it leaves out the time spent waiting for a core).
CLOCK = time.perf_counter


def _median_times(functions: dict, repeats: int) -> dict:
    """Median time of each function (:data:`CLOCK`), calls interleaved (one of each per round) to share machine
    noise."""
    times = {name: [] for name in functions}
    for function in functions.values():  # warm-up / compilation
        _sync(function())
    for _ in range(repeats):
        for name, function in functions.items():
            start = CLOCK()
            _sync(function())
            times[name].append(CLOCK() - start)
    return {name: statistics.median(values) for name, values in times.items()}


# --- 1. batched evaluation vs a loop over samples -------------------------------------------------------------------
def benchmark_evaluation(batch_sizes, points: int, width: int, depth: int, repeats: int) -> list[dict]:
    return [row for batch in batch_sizes for row in _evaluation_rows(batch, points, width, depth, repeats)]


def _evaluation_rows(batch: int, points: int, width: int, depth: int, repeats: int) -> list[dict]:
    """Batched evaluation of ``batch`` per-sample SIRENs vs a loop over the samples: one row per variant."""
    rows = []
    keras.utils.set_random_seed(0)
    encoder = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(32)])
    model = hypernets.HyperINR(encoder, keras_inr.SIREN(out_dims=1, width=width, depth=depth), head="full",
                               head_config={"init_scale": 1.0})
    datapoints = np.random.default_rng(0).random((batch, 8, 8, 1), dtype=np.float32)
    weights = model(datapoints)  # per-sample kernels (batch, in, out), biases (batch, out)
    coordinates = ops.convert_to_tensor(np.random.default_rng(1).uniform(-1, 1, (batch, points, 2)).astype("f4"))
    target = model.target

    def batched_eager():
        return target.call_with_weights(coordinates, weights)

    def one_sample(sample_coordinates, sample_weights):
        return target.call_with_weights(sample_coordinates, sample_weights)

    per_sample = [[(k[i], b[i]) for k, b in weights] for i in range(batch)]
    functions = {}
    if BACKEND == "jax":
        import jax

        batched_jit = jax.jit(lambda c, w: target.call_with_weights(c, w))
        sample_jit = jax.jit(one_sample)
        functions["batched (jit)"] = lambda: batched_jit(coordinates, weights)
        functions["loop (jit per sample)"] = lambda: [
            sample_jit(coordinates[i], per_sample[i]) for i in range(batch)
        ]
    else:
        functions["batched (eager)"] = batched_eager
    functions["loop (eager)"] = lambda: [one_sample(coordinates[i], per_sample[i]) for i in range(batch)]
    # the loop and the batched pass compute the same values
    loop_values = np.stack([ops.convert_to_numpy(v) for v in functions["loop (eager)"]()])
    np.testing.assert_allclose(ops.convert_to_numpy(batched_eager()), loop_values, rtol=1e-4, atol=1e-5)
    times = _median_times(functions, repeats)
    batched_name = next(name for name in times if name.startswith("batched"))
    for name, seconds in times.items():
        rows.append({"batch": batch, "variant": name, "ms": seconds * 1e3,
                     "speedup": times[name] / times[batched_name] if name != batched_name else 1.0})
    return rows


# --- 2. HyperINR training step vs a hand-written step -------------------------------------------------------------
def _faces(count: int) -> np.ndarray:
    try:
        from skimage.data import lfw_subset

        faces = lfw_subset().astype("float32")
    except ImportError:  # pragma: no cover - scikit-image is an optional dependency
        faces = np.random.default_rng(0).random((200, 25, 25), dtype=np.float32)
    return np.resize(faces, (count, 25, 25))[..., None]


def _make_training_model(points: int, width: int, depth: int, learning_rate: float):
    keras.utils.set_random_seed(0)
    encoder = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(64, activation="relu"),
                                keras.layers.Dense(64)])
    model = hypernets.HyperINR(encoder, keras_inr.SIREN(out_dims=1, width=width, depth=depth), head="full",
                               points_per_step=points, seed=0)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate))
    return model


def _numpy_weights(model) -> dict:
    """The HyperINR's trainable weights by role, as numpy (shared starting point of both implementations)."""
    dense = [layer for layer in model.encoder.layers if isinstance(layer, keras.layers.Dense)]
    return {
        "encoder": [(ops.convert_to_numpy(d.kernel), ops.convert_to_numpy(d.bias)) for d in dense],
        "head": (ops.convert_to_numpy(model.head.kernel), ops.convert_to_numpy(model.head.bias)),
        # fixed (non-trainable) per-parameter scale of the "equalized" full head; 1 for the default "direct" head
        "weight_scale": (np.ones((), np.float32) if model.head.weight_scale is None
                         else ops.convert_to_numpy(model.head.weight_scale)),
    }


def _apply_flat_target(flat, coordinates, specs, w0s, matmul, sin, split):
    """Evaluate the per-sample SIREN targets whose weights a full head emitted, for the hand-written steps.

    Args:
        flat: ``(batch, total_parameters)`` head output; per weight layer, in order, the kernel ``(fan_in * units)``
            then the bias ``(units)``.
        coordinates: ``(batch, points, in_dims)`` inputs of the targets.
        specs: the head's per-layer specs (``kernel_size``, ``fan_in``, ``units``).
        w0s: per layer, omega_0 of a sine layer, or ``None`` for the linear output layer.
        matmul, sin: the array library's batched matrix product and sine (``jnp`` or ``torch``), so the same
            arithmetic serves both hand-written baselines.
        split: ``split(flat, sizes)`` returning the ``(batch, size)`` pieces of ``flat`` along its last axis, e.g.
            ``torch.split`` (what ``hypernets.functional.split_flat_parameters`` does), or :func:`_slices` (one slice
            per piece: on PyTorch each slice's gradient is a zero-filled ``(batch, total)`` tensor).

    Returns:
        ``(batch, points, out_dims)`` target outputs.
    """
    hidden = coordinates
    pieces = iter(split(flat, [size for spec in specs for size in (spec.kernel_size, spec.units)]))
    for spec, w0 in zip(specs, w0s):
        kernel = next(pieces).reshape(-1, spec.fan_in, spec.units)
        bias = next(pieces)
        hidden = matmul(hidden, kernel) + bias[:, None, :]
        if w0 is not None:
            hidden = sin(w0 * hidden)
    return hidden


def _slices(flat, sizes):
    """The pieces of ``flat`` along its last axis, one slice each."""
    offsets = np.cumsum([0, *sizes])
    return [flat[:, start:stop] for start, stop in zip(offsets[:-1], offsets[1:])]


def _hand_written_jax(model, images, batch: int, points: int, learning_rate: float):
    """A jitted training step written directly in JAX: encoder MLP, full head, batched SIREN, MSE, Adam."""
    import jax
    import jax.numpy as jnp

    specs = model.head.specs
    w0s = [getattr(layer, "w0", None) for layer in model.target.weight_layers]
    start = _numpy_weights(model)
    params = {"encoder": [tuple(map(jnp.asarray, pair)) for pair in start["encoder"]],
              "head": tuple(map(jnp.asarray, start["head"]))}
    adam = {"m": jax.tree.map(jnp.zeros_like, params), "v": jax.tree.map(jnp.zeros_like, params), "t": 0}
    height, width = images.shape[1:3]
    grid = jnp.asarray(coordinate_grid((height, width)))

    def loss_fn(params, x, y, key):
        (k1, b1), (k2, b2) = params["encoder"]
        features = jnp.maximum(x.reshape(x.shape[0], -1) @ k1 + b1, 0.0) @ k2 + b2
        flat = (features @ params["head"][0] + params["head"][1]) * weight_scale
        _, index = jax.lax.top_k(jax.random.uniform(key, (x.shape[0], grid.shape[0])), points)
        values = jnp.take_along_axis(y.reshape(y.shape[0], -1, 1), index[..., None], axis=1)
        sizes = np.cumsum([size for spec in specs for size in (spec.kernel_size, spec.units)])[:-1].tolist()
        hidden = _apply_flat_target(flat, grid[index], specs, w0s, jnp.matmul, jnp.sin,
                                    lambda f, _: jnp.split(f, sizes, axis=-1))
        return jnp.mean((hidden - values) ** 2)

    @jax.jit
    def step(params, m, v, t, x, y, key):
        loss, grads = jax.value_and_grad(loss_fn)(params, x, y, key)
        t = t + 1
        m = jax.tree.map(lambda m_, g: 0.9 * m_ + 0.1 * g, m, grads)
        v = jax.tree.map(lambda v_, g: 0.999 * v_ + 0.001 * g * g, v, grads)
        scale = learning_rate * jnp.sqrt(1 - 0.999**t) / (1 - 0.9**t)
        params = jax.tree.map(lambda p, m_, v_: p - scale * m_ / (jnp.sqrt(v_) + 1e-7), params, m, v)
        return params, m, v, t, loss

    state = {"params": params, "m": adam["m"], "v": adam["v"], "t": jnp.asarray(0), "key": jax.random.PRNGKey(0)}
    x_all, y_all = jnp.asarray(images), jnp.asarray(images)
    weight_scale = jnp.asarray(start["weight_scale"])

    def run(steps: int):
        loss = None
        for index in range(steps):
            state["key"], key = jax.random.split(state["key"])
            rows = slice((index * batch) % len(images), (index * batch) % len(images) + batch)
            state["params"], state["m"], state["v"], state["t"], loss = step(
                state["params"], state["m"], state["v"], state["t"], x_all[rows], y_all[rows], key
            )
        return loss

    return run


def _hand_written_torch(model, images, batch: int, points: int, learning_rate: float, slices: bool = False):
    """A training step written directly in PyTorch: the same forward, autograd and ``torch.optim.Adam`` (its default
    implementation for the device). ``slices``: cut the head's output with one slice per piece instead of
    ``torch.split``."""
    import torch

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")  # where Keras' PyTorch backend runs
    specs = model.head.specs
    w0s = [getattr(layer, "w0", None) for layer in model.target.weight_layers]
    start = _numpy_weights(model)
    tensors = [torch.tensor(np.array(a), requires_grad=True, device=device) for pair in start["encoder"] for a in pair]
    head_kernel, head_bias = (torch.tensor(np.array(a), requires_grad=True, device=device) for a in start["head"])
    optimizer = torch.optim.Adam([*tensors, head_kernel, head_bias], lr=learning_rate, eps=1e-7)
    height, width = images.shape[1:3]
    grid = torch.tensor(coordinate_grid((height, width)), device=device)
    data = torch.tensor(images, device=device)
    weight_scale = torch.tensor(start["weight_scale"], device=device)
    generator = torch.Generator(device=device).manual_seed(0)

    def run(steps: int):
        loss = None
        for index in range(steps):
            rows = slice((index * batch) % len(images), (index * batch) % len(images) + batch)
            x = data[rows]
            k1, b1, k2, b2 = tensors
            features = torch.relu(x.reshape(x.shape[0], -1) @ k1 + b1) @ k2 + b2
            flat = (features @ head_kernel + head_bias) * weight_scale
            index_ = torch.topk(torch.rand((x.shape[0], grid.shape[0]), generator=generator, device=device),
                                points).indices
            values = torch.take_along_dim(x.reshape(x.shape[0], -1, 1), index_[..., None], dim=1)
            hidden = _apply_flat_target(flat, grid[index_], specs, w0s, torch.matmul, torch.sin,
                                        _slices if slices else lambda f, sizes: torch.split(f, sizes, dim=-1))
            loss = torch.mean((hidden - values) ** 2)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        return loss.detach()

    return run


def benchmark_training(batch: int, points: int, width: int, depth: int, steps: int, repeats: int,
                       variants: bool = False) -> list[dict]:
    """Time ``steps`` training steps of each variant (one ``fit`` epoch for HyperINR); ms per step and the ratio to
    the hand-written step. ``variants`` adds, for the attribution of the difference, ``fit`` without the default
    ``DivergenceGuard`` callback and (PyTorch) a hand-written step that slices the head's output piece by piece."""
    learning_rate = 1e-3
    images = _faces(batch * steps)
    model = _make_training_model(points, width, depth, learning_rate)
    model(images[:batch])  # build

    def fit(**kwargs):
        return model.fit(images, images, batch_size=batch, epochs=1, verbose=0, shuffle=False, **kwargs)

    functions = {"HyperINR model.fit": fit}
    if variants:
        functions["HyperINR model.fit, divergence_guard=False"] = lambda: fit(divergence_guard=False)
    if BACKEND == "jax":
        run = _hand_written_jax(model, images, batch, points, learning_rate)
        functions["hand-written (jax.jit + Adam)"] = lambda: run(steps)
    elif BACKEND == "torch":
        run = _hand_written_torch(model, images, batch, points, learning_rate)
        functions["hand-written (torch autograd + Adam)"] = lambda: run(steps)
        if variants:
            run_sliced = _hand_written_torch(model, images, batch, points, learning_rate, slices=True)
            functions["hand-written, one slice per piece"] = lambda: run_sliced(steps)
    times = _median_times(functions, repeats)
    reference = next((name for name in times if name.startswith("hand-written")), None)
    rows = []
    for name, seconds in times.items():
        ratio = seconds / times[reference] if reference else float("nan")
        rows.append({"variant": name, "ms_per_step": seconds / steps * 1e3, "ratio": ratio})
    return rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes and few repetitions (runs in seconds)")
    parser.add_argument("--training-only", action="store_true", help="skip the batched-evaluation table")
    parser.add_argument("--variants", action="store_true",
                        help="training table: add fit without the DivergenceGuard and a slicing hand-written step")
    parser.add_argument("--threads", type=int, default=None,
                        help="PyTorch: torch.set_num_threads(THREADS) (e.g. 1 on a shared, loaded machine)")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                        help="time with the wall clock (default) or this process's CPU time (a loaded machine)")
    args = parser.parse_args(argv)
    global CLOCK
    CLOCK = time.process_time if args.clock == "cpu" else time.perf_counter
    if args.threads is not None and BACKEND == "torch":
        import torch

        torch.set_num_threads(args.threads)
    if args.quick:
        eval_config = dict(batch_sizes=[32], points=256, width=32, depth=2, repeats=3)
        train_config = dict(batch=8, points=64, width=16, depth=2, steps=3, repeats=2)
    else:
        eval_config = dict(batch_sizes=[1, 8, 32, 128], points=625, width=64, depth=3, repeats=30)
        train_config = dict(batch=32, points=256, width=64, depth=3, steps=30, repeats=9)

    if not args.training_only:
        print(f"## Batched per-sample INR evaluation vs a Python loop ({BACKEND}, SIREN width {eval_config['width']} "
              f"depth {eval_config['depth']}, {eval_config['points']} points per sample)\n")
        print("| batch | variant | time (ms) | speed-up of batched |")
        print("|---:|---|---:|---:|")
        for row in benchmark_evaluation(**eval_config):
            print(f"| {row['batch']} | {row['variant']} | {row['ms']:.3f} | {row['speedup']:.1f}x |")

    print(f"\n## One training step: HyperINR vs hand-written ({BACKEND}, batch {train_config['batch']}, "
          f"{train_config['points']} points per image, SIREN width {train_config['width']} depth "
          f"{train_config['depth']}, full head; {train_config['steps']} steps per timing; {args.clock} clock"
          f"{'' if args.threads is None else f', {args.threads} PyTorch threads'})\n")
    print("| variant | time per step (ms) | ratio to hand-written |")
    print("|---|---:|---:|")
    for row in benchmark_training(**train_config, variants=args.variants):
        print(f"| {row['variant']} | {row['ms_per_step']:.2f} | {row['ratio']:.2f} |")
    if BACKEND == "tensorflow":
        print("\n(no hand-written TensorFlow step: the training comparison runs on jax and torch)")


if __name__ == "__main__":
    main()
