"""PyTorch ``train_step`` / ``test_step`` of HyperINR: ``backward`` on the shared loss, ``optimizer.apply`` under
``torch.no_grad`` (``sub_steps`` optimiser steps per batch, each on freshly drawn points; the logs report the last);
evaluation runs under ``no_grad``. Also the PyTorch pieces the shared code dispatches to
(:func:`split_last_axis`)."""

from __future__ import annotations

import math

import torch
from keras import ops

from hypernets.steps import compute_field_loss, prepare_batch, update_metrics


class HyperTrainer:
    """Mixin with the PyTorch train/test steps of :class:`hypernets.HyperINR`."""

    def train_step(self, data):
        for _ in range(self.sub_steps):  # `sub_steps` optimiser steps on this batch, fresh points for each
            datapoints, coordinates, values, sample_weight = prepare_batch(self, data, training=True)
            self.zero_grad()
            predictions = self(datapoints, coordinates=coordinates, training=True)
            loss = compute_field_loss(self, values, predictions, sample_weight)
            self.optimizer.scale_loss(loss).backward()  # mixed precision (identity otherwise)
            trainable_variables = self.trainable_variables
            gradients = [variable.value.grad for variable in trainable_variables]
            with torch.no_grad():
                self.optimizer.apply(gradients, trainable_variables)
        with torch.no_grad():
            return update_metrics(self, loss.detach(), values, predictions.detach(), sample_weight)

    def test_step(self, data):
        with torch.no_grad():
            datapoints, coordinates, values, sample_weight = prepare_batch(self, data, training=False)
            predictions = self(datapoints, coordinates=coordinates, training=False)
            loss = compute_field_loss(self, values, predictions, sample_weight)
            return update_metrics(self, loss, values, predictions, sample_weight)


def split_last_axis(flat, shapes) -> list:
    """``flat`` ``(batch, total)`` cut along its last axis by one ``torch.split`` into pieces of ``prod(shape)``
    columns, each reshaped to ``(batch, *shape)``.

    Used by :func:`hypernets.functional.split_flat_parameters`: ``keras.ops.split`` with split points would build a
    device tensor from them and read it back to the host (a synchronisation on a GPU, every step), and tensor
    reshapes skip ``keras.ops``' per-call dispatch.
    """
    flat = ops.convert_to_tensor(flat)
    sizes = [math.prod(shape) for shape in shapes]
    pieces = torch.split(flat, sizes, dim=-1) if len(sizes) > 1 else (flat,)
    return [piece.reshape(-1, *shape) for piece, shape in zip(pieces, shapes)]
