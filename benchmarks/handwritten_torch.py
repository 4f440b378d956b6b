"""The hand-written PyTorch SIREN training loop that ``overhead.py`` compares ``model.fit`` with.

What a PyTorch user would write without keras-inr: ``torch.nn.Linear`` layers with a sine module, the MSE loss and
``torch.optim.Adam`` (epsilon set to Keras' 1e-7 so both sides run the same update), eager mode, on the GPU when
PyTorch sees one (as Keras' PyTorch backend does).
"""

from __future__ import annotations

import numpy as np
import torch

DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")


class _Sine(torch.nn.Module):
    def __init__(self, w0: float):
        super().__init__()
        self.w0 = w0

    def forward(self, features):
        return torch.sin(self.w0 * features)


class HandwrittenSiren:
    """Full-batch SIREN training with ``torch.nn`` + ``torch.optim.Adam``.

    Args:
        weights: ``[(kernel (in, out), bias (out,)), ...]`` numpy initial weights (copied into ``nn.Linear``, whose
            weight is ``(out, in)``).
        w0, first_w0: omega_0 of the hidden layers and of the first layer.
        learning_rate: Adam's constant learning rate.
        coordinates: ``(N, in_dims)``; values: ``(N, out_dims)`` -- converted to tensors once.
    """

    def __init__(self, weights, w0: float, first_w0: float, learning_rate: float, coordinates, values):
        modules = []
        for index, (kernel, bias) in enumerate(weights):
            linear = torch.nn.Linear(kernel.shape[0], kernel.shape[1])
            with torch.no_grad():
                linear.weight.copy_(torch.from_numpy(np.ascontiguousarray(kernel.T)))
                linear.bias.copy_(torch.from_numpy(bias))
            modules.append(linear)
            if index < len(weights) - 1:
                modules.append(_Sine(first_w0 if index == 0 else w0))
        self.network = torch.nn.Sequential(*modules).to(DEVICE)
        self.optimizer = torch.optim.Adam(self.network.parameters(), lr=learning_rate, eps=1e-7)
        self.coordinates = torch.from_numpy(np.ascontiguousarray(coordinates)).to(DEVICE)
        self.values = torch.from_numpy(np.ascontiguousarray(values)).to(DEVICE)

    def train(self, steps: int) -> float:
        """Run ``steps`` optimiser steps; returns the last loss (reading it waits for the device)."""
        loss = None
        for _ in range(steps):
            self.optimizer.zero_grad(set_to_none=True)
            loss = torch.nn.functional.mse_loss(self.network(self.coordinates), self.values)
            loss.backward()
            self.optimizer.step()
        return float(loss.detach())

    def predict(self, coordinates) -> np.ndarray:
        with torch.no_grad():
            return self.network(torch.from_numpy(np.ascontiguousarray(coordinates)).to(DEVICE)).cpu().numpy()


# --- micro-benchmarks for roofline.py -----------------------------------------------------------------------------
def _seconds(function, arguments, repeats: int) -> list[float]:
    import time

    function(*arguments)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function(*arguments)  # CPU tensors: the call returns when the work is done
        times.append(time.perf_counter() - start)
    return times


def matmul_seconds(left: np.ndarray, right: np.ndarray, repeats: int) -> list[float]:
    """Seconds of each of ``repeats`` ``torch.matmul`` products."""
    with torch.no_grad():
        return _seconds(torch.matmul, (torch.from_numpy(left), torch.from_numpy(right)), repeats)


def sin_seconds(values: np.ndarray, repeats: int) -> list[float]:
    """Seconds of each of ``repeats`` elementwise ``torch.sin``."""
    with torch.no_grad():
        return _seconds(torch.sin, (torch.from_numpy(values),), repeats)
