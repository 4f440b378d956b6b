"""Backend-specific ``train_step`` / ``test_step`` of :class:`hypernets.HyperINR`, chosen at import time.

Each module defines a mixin class ``HyperTrainer`` placed before ``keras.Model`` in HyperINR's bases. All three share
the batch preparation, loss and metrics of :mod:`hypernets.steps`; they differ only in how gradients are taken and
applied (JAX: stateless ``stateless_call`` + ``optimizer.stateless_apply``; TensorFlow: ``GradientTape``; PyTorch:
``backward`` + ``optimizer.apply`` under ``no_grad``).
"""

from __future__ import annotations

import keras


def trainer_for_backend(backend: str | None = None):
    """Return the ``HyperTrainer`` mixin of ``backend`` (default: the active Keras backend)."""
    backend = backend or keras.backend.backend()
    if backend == "jax":
        from hypernets.trainers.jax import HyperTrainer
    elif backend == "tensorflow":
        from hypernets.trainers.tensorflow import HyperTrainer
    elif backend == "torch":
        from hypernets.trainers.torch import HyperTrainer
    else:
        raise ValueError(f"hypernets supports the jax, tensorflow and torch backends, got {backend!r}.")
    return HyperTrainer
