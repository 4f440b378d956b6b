"""Activation functions of the INR families, written once with ``keras.ops``.

Every function here is used both by the Keras layers in :mod:`keras_inr.layers` and by the hypernetwork path in
:mod:`hypernets`, which applies the same maths to generated weights. Inputs are pre-activations of any shape.
"""

from __future__ import annotations

from keras import ops


def sine(preactivation, w0: float = 30.0):
    """SIREN activation ``sin(w0 * z)``.

    Sitzmann et al. 2020, "Implicit Neural Representations with Periodic Activation Functions",
    https://arxiv.org/abs/2006.09661 (section 3.2): a layer computes ``sin(w0 (x W + b))``; ``w0`` (omega_0 in the
    paper) sets the frequency content the network starts with (30 in the paper).

    Args:
        preactivation: tensor ``z = x W + b`` of any shape.
        w0: frequency factor omega_0.

    Returns:
        Tensor of the same shape as ``preactivation``.
    """
    return ops.sin(w0 * preactivation)


def gaussian(preactivation, inverse_scale: float = 10.0):
    """Gaussian activation ``exp(-(s * z)^2)``.

    Ramasinghe & Lucey 2022, "Beyond Periodicity: Towards a Unifying Framework for Activations in Coordinate-MLPs",
    https://arxiv.org/abs/2111.15135 (section 4, the Gaussian ``exp(-z^2 / (2 sigma^2))``). ``inverse_scale`` is
    ``s = 1 / (sqrt(2) sigma)``: a larger ``s`` gives a narrower bump and higher-frequency fits.

    Args:
        preactivation: tensor ``z = x W + b`` of any shape.
        inverse_scale: ``s`` above; must be positive.

    Returns:
        Tensor of the same shape as ``preactivation``, values in ``(0, 1]``.
    """
    return ops.exp(-ops.square(inverse_scale * preactivation))


def relu(preactivation):
    """ReLU ``max(z, 0)``, the activation of the Fourier-feature network's MLP (Tancik et al. 2020)."""
    return ops.relu(preactivation)


def linear(preactivation):
    """Identity, used by output layers."""
    return preactivation


#: The activations that :func:`get` accepts by name (``CoordinateDense(activation=...)``).
ACTIVATIONS = {"sine": sine, "gaussian": gaussian, "relu": relu, "linear": linear}


def get(name: str):
    """The activation function called ``name``.

    Raises:
        ValueError: naming ``activation`` and listing :data:`ACTIVATIONS` when ``name`` is not one of them.
    """
    if not isinstance(name, str) or name not in ACTIVATIONS:
        raise ValueError(f"`activation` must be one of {tuple(ACTIVATIONS)}, got {name!r}.")
    return ACTIVATIONS[name]
