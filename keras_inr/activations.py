"""Activation functions of the INR families, written once with ``keras.ops``.

Every function here is used both by the Keras layers in :mod:`keras_inr.layers` and by the hypernetwork path in
:mod:`hypernets`, which applies the same maths to generated weights. Inputs are pre-activations of any shape.

16-bit compute (``mixed_bfloat16``, ``mixed_float16``, ``bfloat16`` policies): :func:`sine` and :func:`gaussian`
multiply the pre-activation by a large factor (``w0 = 30``, ``s = 10``) before a periodic or sharply peaked function.
In 16 bits that product loses what matters: bfloat16 keeps 8 significant bits, so a phase ``w0 z`` near 30 is
rounded to a multiple of 0.125 rad. They therefore form the product and apply the function in float32
(:func:`in_float32`) and return the result in the pre-activation's 16-bit dtype; the cost is one elementwise cast
each way. Use :func:`in_float32` in your own activations (``CoordinateDense.activate``) for the same care.
"""

from __future__ import annotations

from collections.abc import Callable

from keras import ops
from keras.backend import standardize_dtype

#: The 16-bit float dtypes that :func:`in_float32` computes around.
HALF_DTYPES = ("float16", "bfloat16")


def in_float32(function: Callable, preactivation):
    """``function(preactivation)`` computed in float32 when ``preactivation`` is 16-bit, returned in its dtype.

    Args:
        function: an elementwise function of one tensor written with ``keras.ops`` (e.g. ``lambda z: ops.cos(10 * z)``).
        preactivation: a tensor (or array) of any shape and float dtype.

    Returns:
        ``function(preactivation)``, of the same shape and dtype as ``preactivation``; for float32 (or wider) inputs
        this is exactly ``function(preactivation)``.

    Example:
        >>> z = ops.ones((2, 3), dtype="bfloat16")
        >>> standardize_dtype(in_float32(lambda t: ops.sin(30.0 * t), z).dtype)  # computed in float32
        'bfloat16'
    """
    dtype = standardize_dtype(getattr(preactivation, "dtype", "float32"))
    if dtype not in HALF_DTYPES:
        return function(preactivation)
    return ops.cast(function(ops.cast(preactivation, "float32")), dtype)


def sine(preactivation, w0: float = 30.0):
    """SIREN activation ``sin(w0 * z)``.

    Sitzmann et al. 2020, "Implicit Neural Representations with Periodic Activation Functions",
    https://arxiv.org/abs/2006.09661 (section 3.2): a layer computes ``sin(w0 (x W + b))``; ``w0`` (omega_0 in the
    paper) sets the frequency content the network starts with (30 in the paper).

    Args:
        preactivation: tensor ``z = x W + b`` of any shape.
        w0: frequency factor omega_0.

    Returns:
        Tensor of the same shape and dtype as ``preactivation``. For a 16-bit ``preactivation`` the phase ``w0 * z``
        and its sine are computed in float32 (see :func:`in_float32`): in bfloat16 a phase near 30 would be rounded
        to a multiple of 0.125 rad before the sine sees it.
    """
    return in_float32(lambda z: ops.sin(w0 * z), preactivation)


def gaussian(preactivation, inverse_scale: float = 10.0):
    """Gaussian activation ``exp(-(s * z)^2)``.

    Ramasinghe & Lucey 2022, "Beyond Periodicity: Towards a Unifying Framework for Activations in Coordinate-MLPs",
    https://arxiv.org/abs/2111.15135 (section 4, the Gaussian ``exp(-z^2 / (2 sigma^2))``). ``inverse_scale`` is
    ``s = 1 / (sqrt(2) sigma)``: a larger ``s`` gives a narrower bump and higher-frequency fits.

    Args:
        preactivation: tensor ``z = x W + b`` of any shape.
        inverse_scale: ``s`` above; must be positive.

    Returns:
        Tensor of the same shape and dtype as ``preactivation``, values in ``[0, 1]``. For a 16-bit
        ``preactivation``, ``s * z``, its square and the exponential are computed in float32 (see :func:`in_float32`).
    """
    return in_float32(lambda z: ops.exp(-ops.square(inverse_scale * z)), preactivation)


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
