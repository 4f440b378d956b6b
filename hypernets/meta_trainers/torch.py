"""PyTorch meta train/test steps: the inner gradient is ``torch.autograd.grad(create_graph=True)``, so the outer
``backward`` differentiates through it; evaluation (which Keras runs under ``no_grad``) re-enables autograd for the
inner gradients only."""

from __future__ import annotations

import torch


class MetaTrainer:
    """Mixin with the PyTorch inner gradient and outer train/test steps of :class:`hypernets.MetaModulatedINR`."""

    @staticmethod
    def _modulation_gradient(loss_fn, codes, create_graph: bool = True):
        with torch.enable_grad():
            if not codes.requires_grad:  # codes that do not depend on any trainable weight (e.g. the zero start)
                codes = codes.detach().requires_grad_(True)
            loss = loss_fn(codes)
            (gradient,) = torch.autograd.grad(loss, codes, create_graph=create_graph)
        return gradient

    def train_step(self, data):
        self.zero_grad()
        loss, values, predictions, sample_weight = self.meta_loss(data, training=True)
        loss.backward()
        trainable_variables = self.trainable_variables
        gradients = [variable.value.grad for variable in trainable_variables]
        with torch.no_grad():
            self.optimizer.apply(gradients, trainable_variables)
            return self.update_meta_metrics(loss.detach(), values, predictions.detach(), sample_weight)

    def test_step(self, data):
        loss, values, predictions, sample_weight = self.meta_loss(data, training=False)
        with torch.no_grad():
            return self.update_meta_metrics(loss.detach(), values, predictions.detach(), sample_weight)
