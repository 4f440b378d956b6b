"""The hand-written JAX SIREN training loop that ``overhead.py`` compares ``model.fit`` with.

What a JAX user would write without keras-inr: parameters as a pytree, ``jax.value_and_grad`` of the MSE, an Adam
update (Kingma & Ba 2015, https://arxiv.org/abs/1412.6980, algorithm 1, with the bias correction folded into the
step size as Keras does), the whole step under ``jax.jit`` with the state buffers donated.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

ADAM_BETA_1, ADAM_BETA_2, ADAM_EPSILON = 0.9, 0.999, 1e-7  # Keras' Adam defaults, so both sides run the same update


def _forward(params, coordinates, w0: float, first_w0: float):
    features = coordinates
    for index, (kernel, bias) in enumerate(params[:-1]):
        frequency = first_w0 if index == 0 else w0
        features = jnp.sin(frequency * (features @ kernel + bias))
    kernel, bias = params[-1]
    return features @ kernel + bias


def _loss(params, coordinates, values, w0, first_w0):
    return jnp.mean(jnp.square(_forward(params, coordinates, w0, first_w0) - values))


@partial(jax.jit, static_argnames=("w0", "first_w0", "learning_rate"), donate_argnums=(0, 1, 2, 3))
def _train_step(params, first_moments, second_moments, step, coordinates, values, w0, first_w0, learning_rate):
    loss, grads = jax.value_and_grad(_loss)(params, coordinates, values, w0, first_w0)
    step = step + 1
    first_moments = jax.tree.map(lambda m, g: ADAM_BETA_1 * m + (1 - ADAM_BETA_1) * g, first_moments, grads)
    second_moments = jax.tree.map(lambda v, g: ADAM_BETA_2 * v + (1 - ADAM_BETA_2) * g * g, second_moments, grads)
    t = step.astype(jnp.float32)
    step_size = learning_rate * jnp.sqrt(1 - ADAM_BETA_2**t) / (1 - ADAM_BETA_1**t)
    params = jax.tree.map(
        lambda p, m, v: p - step_size * m / (jnp.sqrt(v) + ADAM_EPSILON), params, first_moments, second_moments
    )
    return params, first_moments, second_moments, step, loss


class HandwrittenSiren:
    """Full-batch SIREN training with a hand-written ``jax.jit`` Adam step.

    Args:
        weights: ``[(kernel (in, out), bias (out,)), ...]`` numpy initial weights.
        w0, first_w0: omega_0 of the hidden layers and of the first layer.
        learning_rate: Adam's constant learning rate.
        coordinates: ``(N, in_dims)``; values: ``(N, out_dims)`` -- moved to the device once.
    """

    def __init__(self, weights, w0: float, first_w0: float, learning_rate: float, coordinates, values):
        self.params = [(jnp.asarray(kernel), jnp.asarray(bias)) for kernel, bias in weights]
        self.first_moments = jax.tree.map(jnp.zeros_like, self.params)
        self.second_moments = jax.tree.map(jnp.zeros_like, self.params)
        self.step = jnp.zeros((), jnp.int32)
        self.coordinates, self.values = jnp.asarray(coordinates), jnp.asarray(values)
        self.hyper = {"w0": float(w0), "first_w0": float(first_w0), "learning_rate": float(learning_rate)}

    def train(self, steps: int) -> float:
        """Run ``steps`` optimiser steps; returns the last loss (and so waits for the work to finish)."""
        loss = None
        for _ in range(steps):
            self.params, self.first_moments, self.second_moments, self.step, loss = _train_step(
                self.params, self.first_moments, self.second_moments, self.step, self.coordinates, self.values,
                **self.hyper,
            )
        return float(loss)

    def predict(self, coordinates) -> np.ndarray:
        return np.asarray(
            jax.jit(_forward, static_argnums=(2, 3))(
                self.params, jnp.asarray(coordinates), self.hyper["w0"], self.hyper["first_w0"]
            )
        )


# --- micro-benchmarks for roofline.py -----------------------------------------------------------------------------
def matmul_seconds(left: np.ndarray, right: np.ndarray, repeats: int) -> list[float]:
    """Seconds of each of ``repeats`` jitted ``left @ right`` products (after one compiling call)."""
    import time

    product = jax.jit(jnp.matmul)
    left, right = jnp.asarray(left), jnp.asarray(right)
    product(left, right).block_until_ready()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        product(left, right).block_until_ready()
        times.append(time.perf_counter() - start)
    return times


def sin_seconds(values: np.ndarray, repeats: int) -> list[float]:
    """Seconds of each of ``repeats`` jitted elementwise ``sin`` over ``values``."""
    import time

    function = jax.jit(jnp.sin)
    values = jnp.asarray(values)
    function(values).block_until_ready()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function(values).block_until_ready()
        times.append(time.perf_counter() - start)
    return times


def compiled_costs(model, trainer: HandwrittenSiren) -> dict:
    """XLA's cost analysis of keras-inr's compiled train step and of the hand-written one.

    A timing-free check that ``model.fit`` runs the same computation: floating-point operations, transcendental
    evaluations and bytes accessed of each compiled step (the Keras step also updates the loss and PSNR trackers).

    Args:
        model: a compiled keras-inr model that has been fitted at least once (so its optimizer is built).
        trainer: the hand-written loop on the same data.

    Returns:
        ``{"keras-inr": {...}, "hand-written": {...}}`` with keys ``flops``, ``transcendentals``, ``bytes accessed``.
    """
    state = (model.trainable_variables, model.non_trainable_variables, model.optimizer.variables,
             model.metrics_variables)
    state = jax.tree.map(lambda variable: variable.value, state)
    keras_compiled = jax.jit(model.train_step).lower(state, (trainer.coordinates, trainer.values)).compile()
    hand_compiled = _train_step.lower(
        trainer.params, trainer.first_moments, trainer.second_moments, trainer.step, trainer.coordinates,
        trainer.values, **trainer.hyper,
    ).compile()

    def costs(compiled):
        analysis = compiled.cost_analysis()
        analysis = analysis[0] if isinstance(analysis, (list, tuple)) else analysis
        return {key: float(analysis.get(key, float("nan"))) for key in ("flops", "transcendentals", "bytes accessed")}

    return {"keras-inr": costs(keras_compiled), "hand-written": costs(hand_compiled)}
