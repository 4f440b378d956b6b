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


def complex_gabor(real, imag, w0: float = 20.0, s0: float = 10.0):
    """WIRE's complex Gabor wavelet ``exp(j w0 z) exp(-|s0 z|^2)`` of a complex pre-activation ``z = real + j imag``.

    Saragadam et al. 2023, "WIRE: Wavelet Implicit Neural Representations", https://arxiv.org/abs/2301.05187,
    equation 3 (reference code ``vishwa91/wire``, ``modules/wire.py``, ``ComplexGaborLayer``). Written out in real
    arithmetic, ``exp(j w0 (x + j y) - s0^2 (x^2 + y^2)) = exp(-w0 y - s0^2 (x^2 + y^2)) (cos(w0 x) + j sin(w0 x))``,
    so every backend computes it on float tensors (keras-inr's complex convention: a complex tensor of ``n`` channels
    is the real tensor ``[real parts | imaginary parts]`` of ``2 n`` channels; see :mod:`keras_inr.layers.complex`).

    Args:
        real: real part ``x`` of the pre-activation, any shape.
        imag: imaginary part ``y``, the shape of ``real``; ``None`` for a real pre-activation (WIRE's first layer).
        w0: frequency omega_0 of the wavelet.
        s0: inverse width s_0 of its Gaussian envelope.

    Returns:
        ``(real, imag)`` of the wavelet, each of the shape and dtype of ``real``; computed in float32 for 16-bit
        inputs (see :func:`in_float32`).
    """
    if imag is None:  # a real pre-activation: exp(-(s0 x)^2) (cos(w0 x), sin(w0 x))

        def wavelet(x):
            envelope = ops.exp(-ops.square(s0 * x))
            return ops.stack([envelope * ops.cos(w0 * x), envelope * ops.sin(w0 * x)], axis=0)

        out = in_float32(wavelet, real)
    else:

        def wavelet(pair):
            x, y = pair[0], pair[1]
            magnitude = ops.exp(-w0 * y - (s0 * s0) * (ops.square(x) + ops.square(y)))
            return ops.stack([magnitude * ops.cos(w0 * x), magnitude * ops.sin(w0 * x)], axis=0)

        out = in_float32(wavelet, ops.stack([real, imag], axis=0))
    return out[0], out[1]


def real_gabor(frequency_preactivation, scale_preactivation, w0: float = 20.0, s0: float = 10.0):
    """WIRE's real Gabor wavelet ``cos(w0 u) exp(-(s0 v)^2)`` of two real pre-activations.

    Saragadam et al. 2023, https://arxiv.org/abs/2301.05187, section 3 (the real Gabor variant; reference code
    ``vishwa91/wire``, ``modules/wire.py``, ``RealGaborLayer``: ``u`` and ``v`` come from two linear maps of the same
    input, one for the frequency and one for the envelope).

    Args:
        frequency_preactivation: ``u``, any shape.
        scale_preactivation: ``v``, the shape of ``u``.
        w0: frequency omega_0.
        s0: inverse envelope width s_0.

    Returns:
        A tensor of the shape and dtype of ``u``; computed in float32 for 16-bit inputs.
    """
    stacked = ops.stack([frequency_preactivation, scale_preactivation], axis=0)
    return in_float32(lambda pair: ops.cos(w0 * pair[0]) * ops.exp(-ops.square(s0 * pair[1])), stacked)


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


# ----------------------------------------------------------------------------------------------------------------
# The families of keras_inr.layers.activated (FINER, sinc, HOSC, the activations of Ramasinghe & Lucey's table 1,
# the multi-bump Gaussian). Each multiplies its pre-activation by a frequency or an inverse scale, so each computes
# in float32 for 16-bit inputs (in_float32).
# ----------------------------------------------------------------------------------------------------------------
def finer(preactivation, w0: float = 30.0, detach_scale: bool = True):
    """FINER's variable-periodic activation ``sin(w0 (|z| + 1) z)``.

    Liu et al. 2024, "FINER: Flexible spectral-bias tuning in Implicit NEural Representation by Variable-periodic
    Activation Functions", https://arxiv.org/abs/2312.02434, section 3 (the variable-periodic activation; reference
    code ``liuzhen0212/FINER``, ``models.py``, ``FinerLayer``). The local frequency ``w0 (2 |z| + 1)`` grows with
    ``|z|``, so a unit's bias chooses its frequency band.

    Args:
        preactivation: ``z = x W + b``, any shape.
        w0: frequency factor omega_0 (30 in the paper).
        detach_scale: treat the scale ``|z| + 1`` as a constant in the gradient, as the reference code does by default
            (``scale_req_grad=False``: it computes the scale under ``torch.no_grad()``); ``False`` differentiates
            through it. The values are the same either way.

    Returns:
        A tensor of the shape and dtype of ``preactivation``, in ``[-1, 1]``; computed in float32 for 16-bit inputs.
    """

    def function(z):
        scale = ops.abs(z) + 1.0
        if detach_scale:
            scale = ops.stop_gradient(scale)
        return ops.sin(w0 * scale * z)

    return in_float32(function, preactivation)


#: Below this ``|w0 z|`` :func:`sinc` uses the Taylor polynomial ``1 - u^2 / 6 + u^4 / 120`` (exact to float32 there).
SINC_TAYLOR_BELOW = 1e-3


def sinc(preactivation, w0: float = 100.0):
    """The sinc activation ``sinc(w0 z) = sin(w0 z) / (w0 z)`` (1 at ``z = 0``).

    Saratchandran, Ramasinghe, Shevchenko, Long & Lucey 2024, "A sampling theory perspective on activations for
    implicit neural representations", https://arxiv.org/abs/2402.05427 (ICML 2024): the unnormalised sinc
    ``sin(x) / x``, which the paper shows to be the optimal activation from the sampling-theory viewpoint, applied with
    SIREN's frequency factor ``w0`` (no reference code is published). Note that ``numpy.sinc`` is the normalised
    ``sin(pi x) / (pi x)``: ``sinc(z, w0) == numpy.sinc(w0 z / pi)``.

    Near ``w0 z = 0`` the quotient is replaced by its Taylor polynomial (:data:`SINC_TAYLOR_BELOW`), so values and
    gradients stay finite on every backend.

    Args:
        preactivation: ``z = x W + b``, any shape.
        w0: frequency factor.

    Returns:
        A tensor of the shape and dtype of ``preactivation``, in ``[-0.22, 1]``; computed in float32 for 16-bit inputs.
    """

    def function(z):
        u = w0 * z
        small = ops.abs(u) < SINC_TAYLOR_BELOW
        safe = ops.where(small, ops.ones_like(u), u)
        square = ops.square(u)
        return ops.where(small, 1.0 - square / 6.0 + ops.square(square) / 120.0, ops.sin(safe) / safe)

    return in_float32(function, preactivation)


def hosc(preactivation, w0: float = 30.0, beta: float = 4.0):
    """HOSC, the hyperbolic oscillation ``tanh(beta sin(w0 z))``.

    Serrano, Szymkowiak & Musialski 2024, "HOSC: A Periodic Activation Function for Preserving Sharp Features in
    Implicit Neural Representations", https://arxiv.org/abs/2401.10967: ``HOSC(x; beta) = tanh(beta sin x)``
    with the sharpness ``beta`` (near a sine for small ``beta``, near a square wave for large ``beta``). The frequency
    factor ``w0`` multiplying ``z`` is the SIREN-style ``omega_0`` of the authors' follow-up (Wlodarczyk, Serrano &
    Musialski, https://arxiv.org/abs/2601.07870, ``tanh(beta sin(omega_0 x))``); ``w0 = 1`` is the 2024 form.

    Args:
        preactivation: ``z = x W + b``, any shape.
        w0: frequency factor omega_0.
        beta: sharpness; positive.

    Returns:
        A tensor of the shape and dtype of ``preactivation``, in ``(-1, 1)``; computed in float32 for 16-bit inputs.
    """
    return in_float32(lambda z: ops.tanh(beta * ops.sin(w0 * z)), preactivation)


def laplacian(preactivation, inverse_scale: float = 10.0):
    """Laplacian activation ``exp(-|s z|)``.

    Ramasinghe & Lucey 2022, "Beyond Periodicity: Towards a Unifying Framework for Activations in Coordinate-MLPs",
    https://arxiv.org/abs/2111.15135, table 1: ``exp(-|x| / sigma)``; ``inverse_scale`` is ``s = 1 / sigma`` (larger
    is narrower, as for :func:`gaussian`).

    Args:
        preactivation: ``z = x W + b``, any shape.
        inverse_scale: ``s`` above; positive.

    Returns:
        A tensor of the shape and dtype of ``preactivation``, in ``(0, 1]``; computed in float32 for 16-bit inputs.
    """
    return in_float32(lambda z: ops.exp(-ops.abs(inverse_scale * z)), preactivation)


def quadratic(preactivation, inverse_scale: float = 10.0):
    """Quadratic (Cauchy) activation ``1 / (1 + (s z)^2)``.

    Ramasinghe & Lucey 2022, https://arxiv.org/abs/2111.15135, table 1: ``1 / (1 + (a x)^2)``; ``inverse_scale`` is
    the paper's ``a``.

    Args:
        preactivation: ``z = x W + b``, any shape.
        inverse_scale: ``a`` above; positive.

    Returns:
        A tensor of the shape and dtype of ``preactivation``, in ``(0, 1]``; computed in float32 for 16-bit inputs.
    """
    return in_float32(lambda z: 1.0 / (1.0 + ops.square(inverse_scale * z)), preactivation)


def multiquadratic(preactivation, inverse_scale: float = 10.0):
    """Multi-quadratic activation ``1 / sqrt(1 + (s z)^2)``.

    Ramasinghe & Lucey 2022, https://arxiv.org/abs/2111.15135, table 1: ``1 / sqrt(1 + (a x)^2)``; ``inverse_scale`` is
    the paper's ``a``.

    Args:
        preactivation: ``z = x W + b``, any shape.
        inverse_scale: ``a`` above; positive.

    Returns:
        A tensor of the shape and dtype of ``preactivation``, in ``(0, 1]``; computed in float32 for 16-bit inputs.
    """
    return in_float32(lambda z: ops.rsqrt(1.0 + ops.square(inverse_scale * z)), preactivation)


def supergaussian(preactivation, inverse_scale: float = 10.0, power: float = 1.0):
    """Super-Gaussian activation ``[exp(-(s z)^2)]^b``.

    Ramasinghe & Lucey 2022, https://arxiv.org/abs/2111.15135, table 1: ``[exp(-x^2 / (2 sigma^2))]^b``, written as in
    the paper and in its common re-implementation ``kwea123/Coordinate-MLPs``, with keras-inr's Gaussian convention
    ``s = 1 / (sqrt(2) sigma)`` (:func:`gaussian`); ``power`` is ``b``. For real inputs the power only rescales the
    exponent, ``[exp(-(s z)^2)]^b = exp(-b (s z)^2)``, a Gaussian of inverse scale ``s sqrt(b)``, and that is how it is
    computed (no underflow to ``0^b``).

    Args:
        preactivation: ``z = x W + b``, any shape.
        inverse_scale: ``s`` above; positive.
        power: ``b`` above; positive.

    Returns:
        A tensor of the shape and dtype of ``preactivation``, in ``(0, 1]``; computed in float32 for 16-bit inputs.
    """
    return in_float32(lambda z: ops.exp(-power * ops.square(inverse_scale * z)), preactivation)


def expsin(preactivation, w0: float = 1.0):
    """ExpSin activation ``exp(-sin(w0 z))``.

    Ramasinghe & Lucey 2022, https://arxiv.org/abs/2111.15135, table 1: ``exp(-sin(a x))``; ``w0`` is the paper's
    frequency ``a``. (The ancestor codebase wrote ``exp(+sin(a x))``; the paper's sign is used here.)

    Args:
        preactivation: ``z = x W + b``, any shape.
        w0: frequency ``a`` above; positive.

    Returns:
        A tensor of the shape and dtype of ``preactivation``, in ``[1/e, e]``; computed in float32 for 16-bit inputs.
    """
    return in_float32(lambda z: ops.exp(-ops.sin(w0 * z)), preactivation)


def gaussian_bumps(preactivations, inverse_scale: float = 10.0):
    """Product of Gaussian bumps of several pre-activations per unit, ``exp(-s^2 mean_k z_k^2)``.

    The multi-bump Gaussian layer of keras-inr's ancestor codebase (``GaussianINRLayer`` with several weight matrices,
    whose bumps are multiplied, i.e. summed in log space) built on Ramasinghe & Lucey 2022,
    https://arxiv.org/abs/2111.15135, section 4. As in the ancestor's latest version the exponent is the *mean* over
    the ``K`` bumps (each bump has inverse scale ``s / sqrt(K)``), so one bump is exactly :func:`gaussian` and the
    initialisation need not change with ``K``.

    Args:
        preactivations: the ``K`` pre-activations stacked on the first axis, ``(K, ..., units)``.
        inverse_scale: ``s`` above; positive.

    Returns:
        A tensor ``(..., units)`` of the dtype of ``preactivations``, in ``(0, 1]``; computed in float32 for 16-bit
        inputs.
    """
    return in_float32(lambda z: ops.exp(-ops.mean(ops.square(inverse_scale * z), axis=0)), preactivations)
