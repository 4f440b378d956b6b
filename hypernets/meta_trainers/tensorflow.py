"""TensorFlow meta train/test steps: the inner gradient comes from a ``GradientTape`` opened inside the outer tape,
which records the inner ``tape.gradient`` computation too, so the outer gradient is second order."""

from __future__ import annotations

import tensorflow as tf


class MetaTrainer:
    """Mixin with the TensorFlow inner gradient and outer train/test steps of :class:`hypernets.MetaModulatedINR`."""

    @staticmethod
    def _modulation_gradient(loss_fn, codes, create_graph: bool = True):
        # An enclosing tape (the outer step's) records these ops whatever ``create_graph`` says; the caller stops
        # the gradient for first order.
        with tf.GradientTape(watch_accessed_variables=False) as tape:
            tape.watch(codes)
            loss = loss_fn(codes)
        return tape.gradient(loss, codes)

    def train_step(self, data):
        with tf.GradientTape() as tape:
            loss, values, predictions, sample_weight = self.meta_loss(data, training=True)
        trainable_variables = self.trainable_variables
        gradients = tape.gradient(loss, trainable_variables)
        self.optimizer.apply(gradients, trainable_variables)
        return self.update_meta_metrics(loss, values, predictions, sample_weight)

    def test_step(self, data):
        loss, values, predictions, sample_weight = self.meta_loss(data, training=False)
        return self.update_meta_metrics(loss, values, predictions, sample_weight)
