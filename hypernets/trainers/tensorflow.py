"""TensorFlow ``train_step`` / ``test_step`` of HyperINR: a ``tf.GradientTape`` around the shared loss (``sub_steps``
optimiser steps per batch, each on freshly drawn points; the logs report the last)."""

from __future__ import annotations

import tensorflow as tf

from hypernets.steps import compute_field_loss, prepare_batch, update_metrics


class HyperTrainer:
    """Mixin with the TensorFlow train/test steps of :class:`hypernets.HyperINR`."""

    def train_step(self, data):
        for _ in range(self.sub_steps):  # `sub_steps` optimiser steps on this batch, fresh points for each
            datapoints, coordinates, values, sample_weight = prepare_batch(self, data, training=True)
            with tf.GradientTape() as tape:
                predictions = self(datapoints, coordinates=coordinates, training=True)
                loss = compute_field_loss(self, values, predictions, sample_weight)
                scaled_loss = self.optimizer.scale_loss(loss)  # mixed precision (identity otherwise)
            trainable_variables = self.trainable_variables
            gradients = tape.gradient(scaled_loss, trainable_variables)
            self.optimizer.apply(gradients, trainable_variables)
        return update_metrics(self, loss, values, predictions, sample_weight)

    def test_step(self, data):
        datapoints, coordinates, values, sample_weight = prepare_batch(self, data, training=False)
        predictions = self(datapoints, coordinates=coordinates, training=False)
        loss = compute_field_loss(self, values, predictions, sample_weight)
        return update_metrics(self, loss, values, predictions, sample_weight)
