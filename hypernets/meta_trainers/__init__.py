"""Backend-specific parts of :class:`hypernets.MetaModulatedINR`, chosen at import time.

Each module defines a mixin class ``MetaTrainer`` placed before the model's ``keras.Model`` base, with

* ``_modulation_gradient(loss_fn, codes, create_graph)``: the gradient of the scalar ``loss_fn(codes)`` with respect
  to ``codes``, itself differentiable with respect to everything ``loss_fn`` reads when ``create_graph`` (the inner
  loop's gradient, differentiated again by the outer step);
* ``train_step`` / ``test_step``: the outer step around ``model.meta_loss`` (which runs the inner loop).

JAX: ``jax.grad`` inside the stateless train step, so the outer ``jax.value_and_grad`` differentiates through it
(gradients of gradients); TensorFlow: a ``GradientTape`` nested inside the outer tape; PyTorch:
``torch.autograd.grad(create_graph=True)`` followed by ``backward`` on the outer loss.
"""

from __future__ import annotations

from hypernets.trainers import trainer_for_backend as _trainer_for_backend


def trainer_for_backend(backend: str | None = None):
    """Return the ``MetaTrainer`` mixin of ``backend`` (default: the active Keras backend)."""
    return _trainer_for_backend(backend, package="hypernets.meta_trainers", name="MetaTrainer")
