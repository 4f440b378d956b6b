"""Keras layers of keras-inr: dense INR layers (SIREN, Gaussian, WIRE, ...) and coordinate encodings."""

from keras_inr.layers.activated import (
    ActivatedDense,
    ExpSinDense,
    FinerDense,
    HoscDense,
    LaplacianDense,
    MultiGaussianDense,
    MultiQuadraticDense,
    QuadraticDense,
    SincDense,
    SuperGaussianDense,
)
from keras_inr.layers.complex import (
    ComplexDense,
    ComplexGaborDense,
    RealGaborDense,
    complex_affine,
    join_complex,
    split_complex,
)
from keras_inr.layers.dense import CoordinateDense, GaussianDense, SineDense, affine
from keras_inr.layers.encodings import FourierFeatures, PositionalEncoding, fourier_features
from keras_inr.layers.hashgrid import HashGridEncoding

__all__ = [
    "ActivatedDense",
    "FinerDense",
    "SincDense",
    "HoscDense",
    "LaplacianDense",
    "QuadraticDense",
    "MultiQuadraticDense",
    "SuperGaussianDense",
    "ExpSinDense",
    "MultiGaussianDense",
    "ComplexDense",
    "ComplexGaborDense",
    "RealGaborDense",
    "complex_affine",
    "join_complex",
    "split_complex",
    "CoordinateDense",
    "SineDense",
    "GaussianDense",
    "FourierFeatures",
    "PositionalEncoding",
    "HashGridEncoding",
    "affine",
    "fourier_features",
]
