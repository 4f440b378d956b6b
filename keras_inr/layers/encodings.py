"""Coordinate encodings: Gaussian random Fourier features and NeRF positional encoding.

Both map coordinates ``(..., in_dims)`` to features through ``v @ B`` for a matrix ``B`` (random for Fourier features,
fixed powers of two for positional encoding), then take ``cos`` and ``sin``. They have no per-sample weights, so a
hypernetwork applies them as they are, to inputs of shape ``(batch, points, in_dims)``.

Dtype policies: the phases ``2 pi v B`` reach tens of radians for Fourier features (``B ~ N(0, 5^2)``) and
thousands for positional encoding (``2^9 pi``); 16 bits would round them to whole radians. Under any policy both
layers therefore take float32 coordinates, read their matrix in float32 (under the ``mixed_*`` policies; in its
variable dtype under ``bfloat16``), compute the phases and their cosines and sines in float32, and return the
features in the compute dtype. The matrix has ``in_dims`` rows, so this costs little.
"""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import ops
from keras.backend import standardize_dtype

from keras_inr import initializers as inr_initializers
from keras_inr.activations import HALF_DTYPES
from keras_inr.saving import register
from keras_inr.validation import check_bool, check_positive_float, check_positive_int, check_seed

#: The most octaves :class:`PositionalEncoding` takes. In float32 the phase ``2^(L-1) pi v`` of the highest octave
#: is rounded to a multiple of ``2^(L-23)`` radians: beyond ``L = 23`` that step exceeds a radian and the features
#: are rounding noise, and from ``L = 128`` on the octave itself overflows float32 and the layer returns NaN.
MAX_NUM_FREQUENCIES = 23


def fourier_features(coordinates, projection):
    """``[cos(2 pi v B), sin(2 pi v B)]`` (Tancik et al. 2020, https://arxiv.org/abs/2006.10739, equation 5).

    Args:
        coordinates: ``v``, shape ``(..., in_dims)``.
        projection: ``B``, shape ``(in_dims, num_features)``.

    Returns:
        ``(..., 2 * num_features)``: all cosines, then all sines. When an argument is 16-bit, the phases and their
        cosines and sines are computed in float32 and the result has that 16-bit dtype.

    Raises:
        ValueError: naming ``coordinates`` or ``projection`` for complex, boolean or non-numeric tensors (integers
            are cast to float32), a ``projection`` that is not 2-D, or a last axis of ``coordinates`` that is not
            ``projection``'s first.
    """
    coordinates = _as_real_tensor("coordinates", coordinates)
    projection = _as_real_tensor("projection", projection)
    if len(projection.shape) != 2 or len(coordinates.shape) < 1:
        raise ValueError(
            "`projection` must be a 2-D (in_dims, num_features) matrix and `coordinates` (..., in_dims), got shapes "
            f"{tuple(projection.shape)} and {tuple(coordinates.shape)}."
        )
    if None not in (coordinates.shape[-1], projection.shape[0]) and coordinates.shape[-1] != projection.shape[0]:
        raise ValueError(
            f"`coordinates` must have {projection.shape[0]} values in their last axis (the rows of `projection`), "
            f"got shape {tuple(coordinates.shape)}."
        )
    half = [
        standardize_dtype(value.dtype) for value in (coordinates, projection)
        if standardize_dtype(value.dtype) in HALF_DTYPES
    ]
    if half:
        coordinates, projection = ops.cast(coordinates, "float32"), ops.cast(projection, "float32")
    angles = (2.0 * math.pi) * ops.matmul(coordinates, projection)
    features = ops.concatenate([ops.cos(angles), ops.sin(angles)], axis=-1)
    return ops.cast(features, half[0]) if half else features


def _as_real_tensor(name: str, value):
    """``value`` as a tensor of real floats (integers cast to float32); ``ValueError`` naming ``name`` otherwise."""
    if not hasattr(value, "dtype"):
        value = np.asarray(value)
    try:
        dtype = standardize_dtype(value.dtype)
    except ValueError:  # strings, objects
        dtype = str(value.dtype)
    if dtype.startswith(("int", "uint")):
        return ops.cast(value, "float32")
    if not dtype.startswith(("float", "bfloat")):
        extra = " (complex values would lose their imaginary part)" if dtype.startswith("complex") else ""
        raise ValueError(f"`{name}` must hold real numbers, got dtype {dtype}{extra}.")
    return value


class _Float32Encoding(keras.layers.Layer):
    """Base of the encodings: float32 inputs and phases under every policy, outputs in the compute dtype.

    Complex inputs are refused before Keras casts them to the compute dtype (which drops the imaginary part).
    """

    def __call__(self, inputs, *args, **kwargs):
        dtype = getattr(inputs, "dtype", None)
        if dtype is None and isinstance(inputs, (list, tuple, complex)):
            try:
                dtype = np.asarray(inputs).dtype
            except (TypeError, ValueError):  # not array-like: Keras says what is wrong
                dtype = None
        if dtype is not None and standardize_dtype(dtype).startswith("complex"):
            raise ValueError(
                f"`inputs` (coordinates) of {self.name} must be real, got dtype {standardize_dtype(dtype)} "
                "(complex values would lose their imaginary part); pass the real and imaginary parts as separate "
                "coordinates."
            )
        return super().__call__(inputs, *args, **kwargs)

    @property
    def input_dtype(self):
        return "float32" if self.compute_dtype in HALF_DTYPES else self.compute_dtype

    def _output(self, features):
        if standardize_dtype(features.dtype) != self.compute_dtype:
            features = ops.cast(features, self.compute_dtype)
        return features

    def _projection_weight(self, shape, initializer, trainable: bool):
        return self.add_weight(
            name="projection", shape=shape, initializer=initializer, trainable=trainable, autocast=False
        )


@register
class FourierFeatures(_Float32Encoding):
    """Gaussian random Fourier feature mapping ``[cos(2 pi B v), sin(2 pi B v)]``, ``B ~ N(0, scale^2)``.

    Tancik et al. 2020, "Fourier Features Let Networks Learn High Frequency Functions in Low Dimensional Domains",
    https://arxiv.org/abs/2006.10739, section 6.1 (Gaussian RFF). keras-inr coordinates lie in ``[-1, 1]``, twice
    the paper's ``[0, 1)`` range, so ``scale`` here gives the frequencies of ``2 * scale`` there: the paper's
    ``sigma = 10`` for images corresponds to ``scale = 5`` here.

    Args:
        num_features: number of random frequencies ``m``; the output has ``2 m`` features.
        scale: standard deviation ``sigma`` of the entries of ``B``; must be positive (default 5, the paper's
            ``sigma = 10``).
        trainable: whether ``B`` is trained (the paper keeps it fixed); a bool.
        seed: optional integer seed for ``B``, in ``[0, 2**32 - 1]``.
        **kwargs: standard layer arguments.

    Shapes:
        input ``(..., in_dims)``; output ``(..., 2 * num_features)`` in the compute dtype (phases in float32).
    """

    def __init__(
        self,
        num_features: int = 256,
        scale: float = 5.0,
        trainable: bool = False,
        seed: int | None = None,
        **kwargs,
    ):
        super().__init__(trainable=check_bool("trainable", trainable), **kwargs)
        self.num_features = check_positive_int("num_features", num_features)
        self.scale = check_positive_float("scale", scale)
        self.seed = check_seed("seed", seed)

    def build(self, input_shape):
        in_dims = input_shape[-1]
        if in_dims is None:
            raise ValueError(f"The last dimension of the inputs of {self.name} must be known, got {input_shape}.")
        self.projection = self._projection_weight(
            (int(in_dims), self.num_features),
            inr_initializers.fourier_feature_matrix(self.scale, self.seed),
            trainable=self.trainable,
        )
        self.input_spec = keras.layers.InputSpec(min_ndim=1, axes={-1: int(in_dims)})

    def call(self, inputs, training=None):
        return self._output(fourier_features(inputs, self.projection))

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], 2 * self.num_features)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(num_features=self.num_features, scale=self.scale, seed=self.seed)
        return config


@register
class PositionalEncoding(_Float32Encoding):
    """NeRF positional encoding ``(sin(2^k pi v), cos(2^k pi v))`` for ``k = 0 .. L-1``.

    Mildenhall et al. 2020, "NeRF", https://arxiv.org/abs/2003.08934, equation 4. Implemented as
    :func:`fourier_features` with the fixed matrix ``B = diag(2^k / 2)`` per input dimension, so it shares that maths.

    Args:
        num_frequencies: ``L``, the number of octaves; an integer in ``[1, MAX_NUM_FREQUENCIES]`` (23: float32 cannot
            represent the phases of higher octaves, see :data:`MAX_NUM_FREQUENCIES`).
        include_input: whether to append the raw coordinates (as NeRF's code does); a bool.
        **kwargs: standard layer arguments.

    Shapes:
        input ``(..., in_dims)``; output ``(..., in_dims * (2 L + include_input))`` in the compute dtype (phases in
        float32).
    """

    def __init__(self, num_frequencies: int = 10, include_input: bool = True, **kwargs):
        super().__init__(trainable=False, **kwargs)
        self.num_frequencies = check_positive_int("num_frequencies", num_frequencies)
        if self.num_frequencies > MAX_NUM_FREQUENCIES:
            raise ValueError(
                f"`num_frequencies` must be at most {MAX_NUM_FREQUENCIES}, got {num_frequencies}: in float32 the phase "
                f"2^(L-1) pi v of octave L is rounded to multiples of 2^(L-23) radians, so higher octaves are rounding "
                "noise (and from L = 128 on they overflow to NaN)."
            )
        self.include_input = check_bool("include_input", include_input)

    def build(self, input_shape):
        in_dims = input_shape[-1]
        if in_dims is None:
            raise ValueError(f"The last dimension of the inputs of {self.name} must be known, got {input_shape}.")
        self.in_dims = int(in_dims)
        # Column (d, k) of B holds 2^k / 2 in row d, so that 2 pi v B = 2^k pi v_d (block-diagonal structure).
        octaves = 2.0 ** np.arange(self.num_frequencies, dtype="float32") / 2.0
        projection = np.kron(np.eye(self.in_dims, dtype="float32"), octaves[None, :])
        self.projection = self._projection_weight(
            projection.shape, keras.initializers.Constant(projection), trainable=False
        )
        self.input_spec = keras.layers.InputSpec(min_ndim=1, axes={-1: self.in_dims})

    def call(self, inputs, training=None):
        encoded = self._output(fourier_features(inputs, self.projection))
        if self.include_input:
            encoded = ops.concatenate([self._output(inputs), encoded], axis=-1)
        return encoded

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] * (2 * self.num_frequencies + int(self.include_input)))

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(num_frequencies=self.num_frequencies, include_input=self.include_input)
        config.pop("trainable", None)
        return config
