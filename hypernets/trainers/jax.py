"""JAX ``train_step`` / ``test_step`` of HyperINR: pure functions of the model state, as Keras' JAX trainer expects.

``train_step(state, data)`` receives ``(trainable, non_trainable, optimizer, metrics)`` variable values and returns
``(logs, new_state)``. The point sampler's seed state and any encoder state (batch-norm statistics, dropout seeds) are
non-trainable variables, threaded through explicitly; the forward pass is ``stateless_call`` and the update
``optimizer.stateless_apply``. With ``sub_steps = k`` the step takes ``k`` optimiser steps on the batch, each on
freshly drawn points; the logs report the last one (its loss before its update).
"""

from __future__ import annotations

import jax
from keras import StatelessScope

from hypernets.steps import compute_field_loss, prepare_batch, update_metrics


class HyperTrainer:
    """Mixin with the JAX train/test steps of :class:`hypernets.HyperINR`."""

    def _hyper_loss_and_updates(
        self, trainable_variables, non_trainable_variables, data, optimizer_variables=None, training=False
    ):
        # 1. Batch preparation may draw random points; the sampler's seed state is a non-trainable variable.
        with StatelessScope(state_mapping=list(zip(self.non_trainable_variables, non_trainable_variables))) as scope:
            datapoints, coordinates, values, sample_weight = prepare_batch(self, data, training=training)
        non_trainable_variables = [scope.get_current_value(v) for v in self.non_trainable_variables]
        # 2. Forward pass without side effects.
        predictions, non_trainable_variables = self.stateless_call(
            trainable_variables, non_trainable_variables, datapoints, coordinates=coordinates, training=training
        )
        loss = compute_field_loss(self, values, predictions, sample_weight)
        scaled_loss = loss
        if training and optimizer_variables is not None:
            # Mixed precision: LossScaleOptimizer.scale_loss reads its (stateless) scale variable.
            with StatelessScope(state_mapping=list(zip(self.optimizer.variables, optimizer_variables))):
                scaled_loss = self.optimizer.scale_loss(loss)
        return scaled_loss, (loss, values, predictions, sample_weight, non_trainable_variables)

    def _hyper_metrics(self, metrics_variables, loss, values, predictions, sample_weight):
        with StatelessScope(state_mapping=list(zip(self.metrics_variables, metrics_variables))) as scope:
            logs = update_metrics(self, loss, values, predictions, sample_weight)
        return logs, [scope.get_current_value(v) for v in self.metrics_variables]

    def train_step(self, state, data):
        trainable_variables, non_trainable_variables, optimizer_variables, metrics_variables = state
        grad_fn = jax.value_and_grad(self._hyper_loss_and_updates, has_aux=True)
        # `sub_steps` optimiser steps on this batch (unrolled: it is a small number), fresh points for each.
        for _ in range(self.sub_steps):
            (_, aux), gradients = grad_fn(
                trainable_variables, non_trainable_variables, data, optimizer_variables=optimizer_variables,
                training=True,
            )
            loss, values, predictions, sample_weight, non_trainable_variables = aux
            trainable_variables, optimizer_variables = self.optimizer.stateless_apply(
                optimizer_variables, gradients, trainable_variables
            )
        logs, metrics_variables = self._hyper_metrics(metrics_variables, loss, values, predictions, sample_weight)
        return logs, (trainable_variables, non_trainable_variables, optimizer_variables, metrics_variables)

    def test_step(self, state, data):
        trainable_variables, non_trainable_variables, metrics_variables = state
        _, aux = self._hyper_loss_and_updates(trainable_variables, non_trainable_variables, data, training=False)
        loss, values, predictions, sample_weight, non_trainable_variables = aux
        logs, metrics_variables = self._hyper_metrics(metrics_variables, loss, values, predictions, sample_weight)
        return logs, (trainable_variables, non_trainable_variables, metrics_variables)
