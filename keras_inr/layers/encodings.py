"""Coordinate encodings: Gaussian random Fourier features and NeRF positional encoding.

Both map coordinates ``(..., in_dims)`` to features through ``v @ B`` for a matrix ``B`` (random for Fourier features,
fixed powers of two for positional encoding), then take ``cos`` and ``sin``. They have no per-sample weights, so a
hypernetwork applies them as they are, to inputs of shape ``(batch, points, in_dims)``.
"""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import ops

from keras_inr import initializers as inr_initializers
from keras_inr.saving import register
from keras_inr.validation import check_positive_float, check_positive_int


def fourier_features(coordinates, projection):
    """``[cos(2 pi v B), sin(2 pi v B)]`` (Tancik et al. 2020, https://arxiv.org/abs/2006.10739, equation 5).

    Args:
        coordinates: ``v``, shape ``(..., in_dims)``.
        projection: ``B``, shape ``(in_dims, num_features)``.

    Returns:
        ``(..., 2 * num_features)``: all cosines, then all sines.
    """
    angles = (2.0 * math.pi) * ops.matmul(coordinates, projection)
    return ops.concatenate([ops.cos(angles), ops.sin(angles)], axis=-1)


@register
class FourierFeatures(keras.layers.Layer):
    """Gaussian random Fourier feature mapping ``[cos(2 pi B v), sin(2 pi B v)]``, ``B ~ N(0, scale^2)``.

    Tancik et al. 2020, "Fourier Features Let Networks Learn High Frequency Functions in Low Dimensional Domains",
    https://arxiv.org/abs/2006.10739, section 6.1 (Gaussian RFF). keras-inr coordinates lie in ``[-1, 1]``, twice
    the paper's ``[0, 1)`` range, so ``scale`` here gives the frequencies of ``2 * scale`` there: the paper's
    ``sigma = 10`` for images corresponds to ``scale = 5`` here.

    Args:
        num_features: number of random frequencies ``m``; the output has ``2 m`` features.
        scale: standard deviation ``sigma`` of the entries of ``B``; must be positive (default 5, the paper's
            ``sigma = 10``).
        trainable: whether ``B`` is trained (the paper keeps it fixed).
        seed: optional integer seed for ``B``.
        **kwargs: standard layer arguments.

    Shapes:
        input ``(..., in_dims)``; output ``(..., 2 * num_features)``.
    """

    def __init__(
        self,
        num_features: int = 256,
        scale: float = 5.0,
        trainable: bool = False,
        seed: int | None = None,
        **kwargs,
    ):
        super().__init__(trainable=trainable, **kwargs)
        self.num_features = check_positive_int("num_features", num_features)
        self.scale = check_positive_float("scale", scale)
        self.seed = seed

    def build(self, input_shape):
        in_dims = input_shape[-1]
        if in_dims is None:
            raise ValueError(f"The last dimension of the inputs of {self.name} must be known, got {input_shape}.")
        self.projection = self.add_weight(
            name="projection",
            shape=(int(in_dims), self.num_features),
            initializer=inr_initializers.fourier_feature_matrix(self.scale, self.seed),
            trainable=self.trainable,
        )
        self.input_spec = keras.layers.InputSpec(min_ndim=1, axes={-1: int(in_dims)})

    def call(self, inputs, training=None):
        return fourier_features(inputs, self.projection)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], 2 * self.num_features)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(num_features=self.num_features, scale=self.scale, seed=self.seed)
        return config


@register
class PositionalEncoding(keras.layers.Layer):
    """NeRF positional encoding ``(sin(2^k pi v), cos(2^k pi v))`` for ``k = 0 .. L-1``.

    Mildenhall et al. 2020, "NeRF", https://arxiv.org/abs/2003.08934, equation 4. Implemented as
    :func:`fourier_features` with the fixed matrix ``B = diag(2^k / 2)`` per input dimension, so it shares that maths.

    Args:
        num_frequencies: ``L``, the number of octaves; a positive integer.
        include_input: whether to append the raw coordinates (as NeRF's code does).
        **kwargs: standard layer arguments.

    Shapes:
        input ``(..., in_dims)``; output ``(..., in_dims * (2 L + include_input))``.
    """

    def __init__(self, num_frequencies: int = 10, include_input: bool = True, **kwargs):
        super().__init__(trainable=False, **kwargs)
        self.num_frequencies = check_positive_int("num_frequencies", num_frequencies)
        self.include_input = bool(include_input)

    def build(self, input_shape):
        in_dims = input_shape[-1]
        if in_dims is None:
            raise ValueError(f"The last dimension of the inputs of {self.name} must be known, got {input_shape}.")
        self.in_dims = int(in_dims)
        # Column (d, k) of B holds 2^k / 2 in row d, so that 2 pi v B = 2^k pi v_d (block-diagonal structure).
        octaves = 2.0 ** np.arange(self.num_frequencies, dtype="float32") / 2.0
        projection = np.kron(np.eye(self.in_dims, dtype="float32"), octaves[None, :])
        self.projection = self.add_weight(
            name="projection",
            shape=projection.shape,
            initializer=keras.initializers.Constant(projection),
            trainable=False,
        )
        self.input_spec = keras.layers.InputSpec(min_ndim=1, axes={-1: self.in_dims})

    def call(self, inputs, training=None):
        encoded = fourier_features(inputs, self.projection)
        if self.include_input:
            encoded = ops.concatenate([inputs, encoded], axis=-1)
        return encoded

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] * (2 * self.num_frequencies + int(self.include_input)))

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(num_frequencies=self.num_frequencies, include_input=self.include_input)
        config.pop("trainable", None)
        return config
