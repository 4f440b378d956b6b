"""Weight initialisations of the INR families, each written once.

INRs are very sensitive to initialisation: a SIREN with a Glorot-initialised output layer loses several dB of PSNR
early in training. The initialisers below are used by the Keras layers (:mod:`keras_inr.layers`) and, through those
layers, by the hypernetwork heads (:mod:`hypernets.heads`), which make generated weights start from the same
distribution.

Kernels have shape ``(fan_in, fan_out)`` (Keras' convention); biases ``(fan_out,)``.
"""

from __future__ import annotations

import math

import keras

from keras_inr.saving import register


def siren_kernel_bound(fan_in: int, w0: float, is_first: bool) -> float:
    """Half-width of SIREN's uniform kernel initialisation.

    Sitzmann et al. 2020, https://arxiv.org/abs/2006.09661, section 3.2 and supplement 1.5: the first layer draws
    ``W ~ U(-1/n, 1/n)``; every later layer (the linear output layer included, as in the reference implementation
    ``vsitzmann/siren`` ``modules.py``, ``sine_init`` applied to the whole network) draws
    ``W ~ U(-sqrt(6/n)/w0, sqrt(6/n)/w0)`` so that ``w0 * x W`` has unit-variance arcsine-distributed inputs.

    Args:
        fan_in: ``n``, the number of inputs of the layer.
        w0: the frequency factor omega_0 of the layer that *consumes* these weights.
        is_first: whether this is the first layer (the one that sees coordinates).

    Returns:
        The bound ``c`` of ``U(-c, c)``.
    """
    if fan_in <= 0:
        raise ValueError(f"fan_in must be a positive integer, got {fan_in!r}.")
    if is_first:
        return 1.0 / fan_in
    return math.sqrt(6.0 / fan_in) / w0


def fan_in_bias_bound(fan_in: int) -> float:
    """Half-width ``1/sqrt(n)`` of the default bias of ``torch.nn.Linear``.

    SIREN's reference implementation leaves biases at that default (its init functions only touch weights), so
    reproducing its training curve needs the same bias distribution.
    """
    if fan_in <= 0:
        raise ValueError(f"fan_in must be a positive integer, got {fan_in!r}.")
    return 1.0 / math.sqrt(fan_in)


class _SeededInitializer(keras.initializers.Initializer):
    """Base class: stores an optional integer seed, draws ``U(-bound, bound)`` with ``bound`` from the shape."""

    def __init__(self, seed: int | None = None):
        self.seed = seed
        # A SeedGenerator makes repeated calls with seed=None give different draws, like Keras' own initialisers.
        self._seed_generator = keras.random.SeedGenerator(seed) if seed is None else None

    def bound(self, shape) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def __call__(self, shape, dtype=None):
        bound = self.bound(shape)
        seed = self.seed if self.seed is not None else self._seed_generator
        return keras.random.uniform(shape, minval=-bound, maxval=bound, dtype=dtype, seed=seed)

    def get_config(self) -> dict:
        return {"seed": self.seed}


@register
class SirenUniform(_SeededInitializer):
    """SIREN kernel initialisation (see :func:`siren_kernel_bound`).

    Args:
        w0: frequency factor omega_0 of the sine that follows this layer (for the output layer, the w0 of the hidden
            layers, as in the reference implementation).
        is_first: ``True`` for the first layer, ``U(-1/n, 1/n)``.
        seed: optional integer seed.
    """

    def __init__(self, w0: float = 30.0, is_first: bool = False, seed: int | None = None):
        super().__init__(seed)
        self.w0 = float(w0)
        self.is_first = bool(is_first)

    def bound(self, shape) -> float:
        return siren_kernel_bound(int(shape[0]), self.w0, self.is_first)

    def get_config(self) -> dict:
        return {**super().get_config(), "w0": self.w0, "is_first": self.is_first}


@register
class FanInUniform(_SeededInitializer):
    """Bias initialisation ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` (``torch.nn.Linear``'s default).

    Args:
        fan_in: number of inputs of the layer the bias belongs to (the bias shape alone does not tell it).
        seed: optional integer seed.
    """

    def __init__(self, fan_in: int, seed: int | None = None):
        super().__init__(seed)
        self.fan_in = int(fan_in)

    def bound(self, shape) -> float:
        return fan_in_bias_bound(self.fan_in)

    def get_config(self) -> dict:
        return {**super().get_config(), "fan_in": self.fan_in}


def fourier_feature_matrix(scale: float, seed: int | None = None) -> keras.initializers.Initializer:
    """Initialiser of the Fourier-feature matrix ``B ~ N(0, scale^2)``.

    Tancik et al. 2020, "Fourier Features Let Networks Learn High Frequency Functions in Low Dimensional Domains",
    https://arxiv.org/abs/2006.10739, section 6.1 ("Gaussian RFF"). ``B`` has shape ``(in_dims, num_features)``.
    """
    return keras.initializers.RandomNormal(mean=0.0, stddev=float(scale), seed=seed)


@register
class SymmetricUniform(_SeededInitializer):
    """``U(-scale, scale)`` for any shape: FINER's wider first-layer bias ``U(-k, k)``.

    Liu et al. 2024, https://arxiv.org/abs/2312.02434, section 3 (initialisation), reference code
    ``liuzhen0212/FINER`` (``models.py``, ``FinerLayer.init_first_bias``, its ``first_bias_scale``).

    Args:
        scale: the half-width ``k``; positive.
        seed: optional integer seed.
    """

    def __init__(self, scale: float, seed: int | None = None):
        super().__init__(seed)
        if not scale > 0:
            raise ValueError(f"`scale` must be positive, got {scale!r}.")
        self.scale = float(scale)

    def bound(self, shape) -> float:
        return self.scale

    def get_config(self) -> dict:
        return {**super().get_config(), "scale": self.scale}


@register
class HashTableUniform(SymmetricUniform):
    """``U(-scale, scale)`` with the hash-grid tables' ``scale = 1e-4``.

    Mueller et al. 2022, https://arxiv.org/abs/2201.05989, section 4 ("we initialize the hash table entries using
    the uniform distribution U(-10^-4, 10^-4) to provide a small amount of randomness while encouraging initial
    predictions close to zero"). Used by :class:`keras_inr.layers.HashGridEncoding`.

    Args:
        scale: the half-width; positive (default ``1e-4``).
        seed: optional integer seed.
    """

    def __init__(self, scale: float = 1e-4, seed: int | None = None):
        super().__init__(scale, seed)
