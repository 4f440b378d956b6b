"""Backend-specific ``train_step`` / ``test_step`` of :class:`hypernets.HyperINR`, chosen at import time.

Each module defines a mixin class ``HyperTrainer`` placed before ``keras.Model`` in HyperINR's bases. All three share
the batch preparation, loss and metrics of :mod:`hypernets.steps`; they differ only in how gradients are taken and
applied (JAX: stateless ``stateless_call`` + ``optimizer.stateless_apply``; TensorFlow: ``GradientTape``; PyTorch:
``backward`` + ``optimizer.apply`` under ``no_grad``).
"""

from __future__ import annotations

import importlib

import keras

BACKENDS = ("jax", "tensorflow", "torch")


def trainer_for_backend(backend: str | None = None, package: str = "hypernets.trainers", name: str = "HyperTrainer"):
    """Return the mixin ``name`` of ``package``'s module for ``backend`` (default: the active Keras backend).

    Args:
        backend: ``"jax"``, ``"tensorflow"`` or ``"torch"``; ``None`` for ``keras.backend.backend()``.
        package: the package holding one module per backend (``hypernets.trainers`` for :class:`HyperINR`,
            ``hypernets.meta_trainers`` for the meta-learned models).
        name: the class to take from that module.

    Raises:
        ValueError: naming ``backend`` for a backend hypernets does not support.
    """
    backend = backend or keras.backend.backend()
    if backend not in BACKENDS:
        raise ValueError(f"hypernets supports the jax, tensorflow and torch backends, got `backend`={backend!r}.")
    return getattr(importlib.import_module(f"{package}.{backend}"), name)
