"""JAX meta train/test steps: the inner loop's ``jax.grad`` runs inside the loss that the outer
``jax.value_and_grad`` differentiates, so the outer gradient flows through the inner gradients (second order).

``train_step(state, data)`` is a pure function of ``(trainable, non_trainable, optimizer, metrics)`` variable values,
as Keras' JAX trainer expects: the variables are read through a ``StatelessScope`` mapping them to those values, and
the update is ``optimizer.stateless_apply``.
"""

from __future__ import annotations

import jax
from keras import StatelessScope


class MetaTrainer:
    """Mixin with the JAX inner gradient and outer train/test steps of :class:`hypernets.MetaModulatedINR`."""

    @staticmethod
    def _modulation_gradient(loss_fn, codes, create_graph: bool = True):
        # jax.grad is differentiable again whatever ``create_graph`` says; the caller stops it for first order.
        return jax.grad(loss_fn)(codes)

    def _stateless_meta_loss(self, trainable_variables, non_trainable_variables, data, training):
        mapping = list(zip(self.trainable_variables, trainable_variables))
        mapping += list(zip(self.non_trainable_variables, non_trainable_variables))
        with StatelessScope(state_mapping=mapping):
            loss, values, predictions, sample_weight = self.meta_loss(data, training=training)
        return loss, (values, predictions, sample_weight)

    def _stateless_metrics(self, metrics_variables, loss, values, predictions, sample_weight):
        with StatelessScope(state_mapping=list(zip(self.metrics_variables, metrics_variables))) as scope:
            logs = self.update_meta_metrics(loss, values, predictions, sample_weight)
        return logs, [scope.get_current_value(v) for v in self.metrics_variables]

    def train_step(self, state, data):
        trainable_variables, non_trainable_variables, optimizer_variables, metrics_variables = state
        grad_fn = jax.value_and_grad(self._stateless_meta_loss, has_aux=True)
        (loss, aux), gradients = grad_fn(trainable_variables, non_trainable_variables, data, True)
        trainable_variables, optimizer_variables = self.optimizer.stateless_apply(
            optimizer_variables, gradients, trainable_variables
        )
        logs, metrics_variables = self._stateless_metrics(metrics_variables, loss, *aux)
        return logs, (trainable_variables, non_trainable_variables, optimizer_variables, metrics_variables)

    def test_step(self, state, data):
        trainable_variables, non_trainable_variables, metrics_variables = state
        loss, aux = self._stateless_meta_loss(trainable_variables, non_trainable_variables, data, False)
        logs, metrics_variables = self._stateless_metrics(metrics_variables, loss, *aux)
        return logs, (trainable_variables, non_trainable_variables, metrics_variables)
