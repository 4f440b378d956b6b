"""Keras layers of keras-inr: dense INR layers (SIREN, Gaussian) and coordinate encodings."""

from keras_inr.layers.dense import CoordinateDense, GaussianDense, SineDense, affine
from keras_inr.layers.encodings import FourierFeatures, PositionalEncoding, fourier_features

__all__ = [
    "CoordinateDense",
    "SineDense",
    "GaussianDense",
    "FourierFeatures",
    "PositionalEncoding",
    "affine",
    "fourier_features",
]
