"""The hand-written TensorFlow SIREN training loop that ``overhead.py`` compares ``model.fit`` with.

What a TensorFlow user would write without keras-inr: ``tf.Variable`` weights, a ``tf.function`` step with a
``tf.GradientTape`` and an Adam update (Kingma & Ba 2015, https://arxiv.org/abs/1412.6980, algorithm 1, bias
correction folded into the step size as Keras does). No XLA (``jit_compile`` off), as ``tf.function`` defaults to.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

ADAM_BETA_1, ADAM_BETA_2, ADAM_EPSILON = 0.9, 0.999, 1e-7  # Keras' Adam defaults


class HandwrittenSiren:
    """Full-batch SIREN training with a hand-written ``tf.function`` + ``GradientTape`` Adam step.

    Args:
        weights: ``[(kernel (in, out), bias (out,)), ...]`` numpy initial weights.
        w0, first_w0: omega_0 of the hidden layers and of the first layer.
        learning_rate: Adam's constant learning rate.
        coordinates: ``(N, in_dims)``; values: ``(N, out_dims)`` -- converted to tensors once.
    """

    def __init__(self, weights, w0: float, first_w0: float, learning_rate: float, coordinates, values,
                 jit_compile: bool = False):
        self.variables = [tf.Variable(array) for pair in weights for array in pair]
        self.first_moments = [tf.Variable(tf.zeros_like(v)) for v in self.variables]
        self.second_moments = [tf.Variable(tf.zeros_like(v)) for v in self.variables]
        self.iteration = tf.Variable(0.0)
        self.coordinates = tf.constant(coordinates)
        self.values = tf.constant(values)
        self.w0, self.first_w0, self.learning_rate = float(w0), float(first_w0), float(learning_rate)
        self._step = tf.function(self._train_step, jit_compile=jit_compile)
        self._forward_function = tf.function(self._forward)

    def _forward(self, coordinates):
        features = coordinates
        pairs = list(zip(self.variables[0::2], self.variables[1::2]))
        for index, (kernel, bias) in enumerate(pairs[:-1]):
            frequency = self.first_w0 if index == 0 else self.w0
            features = tf.sin(frequency * (tf.matmul(features, kernel) + bias))
        kernel, bias = pairs[-1]
        return tf.matmul(features, kernel) + bias

    def _train_step(self, coordinates, values):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(self._forward(coordinates) - values))
        grads = tape.gradient(loss, self.variables)
        self.iteration.assign_add(1.0)
        t = self.iteration
        step_size = self.learning_rate * tf.sqrt(1 - ADAM_BETA_2**t) / (1 - ADAM_BETA_1**t)
        for variable, m, v, g in zip(self.variables, self.first_moments, self.second_moments, grads):
            m.assign(ADAM_BETA_1 * m + (1 - ADAM_BETA_1) * g)
            v.assign(ADAM_BETA_2 * v + (1 - ADAM_BETA_2) * tf.square(g))
            variable.assign_sub(step_size * m / (tf.sqrt(v) + ADAM_EPSILON))
        return loss

    def train(self, steps: int) -> float:
        """Run ``steps`` optimiser steps; returns the last loss (and so waits for the work to finish)."""
        loss = None
        for _ in range(steps):
            loss = self._step(self.coordinates, self.values)
        return float(loss.numpy())

    def predict(self, coordinates) -> np.ndarray:
        return self._forward_function(tf.constant(coordinates)).numpy()


# --- micro-benchmarks for roofline.py -----------------------------------------------------------------------------
def _seconds(function, arguments, repeats: int) -> list[float]:
    import time

    function(*arguments).numpy()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function(*arguments).numpy()  # .numpy() waits for the result
        times.append(time.perf_counter() - start)
    return times


def matmul_seconds(left: np.ndarray, right: np.ndarray, repeats: int) -> list[float]:
    """Seconds of each of ``repeats`` ``tf.function`` matrix products (one element fetched, so the call waits for
    the product)."""
    function = tf.function(lambda a, b: tf.matmul(a, b)[0, 0])
    return _seconds(function, (tf.constant(left), tf.constant(right)), repeats)


def sin_seconds(values: np.ndarray, repeats: int) -> list[float]:
    """Seconds of each of ``repeats`` ``tf.function`` elementwise ``sin`` (one element fetched)."""
    function = tf.function(lambda a: tf.sin(a)[0, 0])
    return _seconds(function, (tf.constant(values),), repeats)
