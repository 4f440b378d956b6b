"""Bad input at the boundary (issue 12): every public entry point of the data, encoding, training, metrics,
rendering, plotting, tuning and hypernets modules refuses garbage with an error that names the argument.

``BAD_INPUTS`` is one table: each row calls a public function or constructor with one bad argument (the others
valid) and states the exception type and the argument the message must name (in backticks, as every keras-inr
message does). The last tests check that HyperINR's saved state -- variables, optimizer, point sampler -- round-trips
on every backend, so a resumed run continues exactly where the saved one stopped.
"""

from __future__ import annotations

import functools
import math
import tempfile
from pathlib import Path

import keras
import numpy as np
import pytest

import hypernets
import keras_inr
from keras_inr import data, metrics, plotting, rendering, training, tuning
from keras_inr.layers import FourierFeatures, PositionalEncoding, fourier_features

RNG = np.random.default_rng(0)
IMAGE = RNG.random((12, 12, 1)).astype("float32")
SIGNALS = RNG.random((4, 6, 6, 1)).astype("float32")
COORDINATES = data.coordinate_grid((4, 4))
VALUES = RNG.random((16, 1)).astype("float32")
NAN = float("nan")


def with_value(array, index, value, dtype="float32"):
    """A copy of ``array`` as ``dtype`` with one entry set to ``value`` (NaN, infinity)."""
    array = np.array(array, dtype=dtype)
    array[index] = value
    return array


@functools.cache
def tmp_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="keras_inr_bad_input_"))


@functools.cache
def siren2d():
    model = keras_inr.SIREN(out_dims=1, in_dims=2, width=4, depth=1)
    model(COORDINATES[:2])
    return model


def small_encoder():
    return keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(8)])


def hyper(**kwargs):
    target = kwargs.pop("target", None) or keras_inr.SIREN(out_dims=1, width=4, depth=1)
    return hypernets.HyperINR(small_encoder(), target, **{"points_per_step": 8, **kwargs})


def compiled_hyper():
    """A fresh compiled HyperINR (not shared: on JAX an error inside a traced step would break a shared one)."""
    model = hyper()
    model.compile(optimizer="adam")
    return model


def fit(x, y, **kwargs):
    return compiled_hyper().fit(x, y, batch_size=4, epochs=1, verbose=0, **kwargs)


def compile_inr(**kwargs):
    """compile_inr on a fresh small SIREN with valid settings (a cosine schedule of 10 steps) but for ``kwargs``."""
    model = keras_inr.SIREN(out_dims=1, in_dims=2, width=4, depth=1)
    return training.compile_inr(model, **{"total_steps": 10, **kwargs})


def hyperparameters():
    import keras_tuner

    return keras_tuner.HyperParameters()


def make_tuner(**kwargs):
    arguments = {"max_trials": 1, "directory": tmp_dir() / "tuner", **kwargs}
    return tuning.make_tuner(tuning.INRHyperModel(1, families="siren"), **arguments)


def comparison(**kwargs):
    arguments = {"path": tmp_dir() / "comparison.png", "target": IMAGE, "reconstructions": IMAGE, **kwargs}
    return plotting.save_comparison(**arguments)


def row(**kwargs):
    return {"trial_id": "0", "family": "siren", "hyperparameters": {}, "val_psnr": 20.0, "seconds": 1.0, **kwargs}


# (argument the message must name, call, exception type); ids are "function: what is wrong".
BAD_INPUTS = {
    # --- keras_inr.data.coordinate_grid -----------------------------------------------------------------------------
    "coordinate_grid: 10^12 points": ("shape", lambda: data.coordinate_grid((10**6, 10**6)), ValueError),
    "coordinate_grid: 2^32 points": ("shape", lambda: data.coordinate_grid((2**16, 2**16)), ValueError),
    "coordinate_grid: empty shape": ("shape", lambda: data.coordinate_grid(()), ValueError),
    "coordinate_grid: zero size": ("shape", lambda: data.coordinate_grid((0, 3)), ValueError),
    "coordinate_grid: negative size": ("shape", lambda: data.coordinate_grid((3, -1)), ValueError),
    "coordinate_grid: float size": ("shape", lambda: data.coordinate_grid((2.5, 2)), ValueError),
    "coordinate_grid: string": ("shape", lambda: data.coordinate_grid("abc"), ValueError),
    "coordinate_grid: None": ("shape", lambda: data.coordinate_grid(None), ValueError),
    "coordinate_grid: bool size": ("shape", lambda: data.coordinate_grid((True, 3)), ValueError),
    "coordinate_grid: negative start": ("start", lambda: data.coordinate_grid((3, 4), -1), ValueError),
    "coordinate_grid: float start": ("start", lambda: data.coordinate_grid((3, 4), 1.5), ValueError),
    "coordinate_grid: stop past the end": ("stop", lambda: data.coordinate_grid((3, 4), 0, 13), ValueError),
    "coordinate_grid: start after stop": ("start", lambda: data.coordinate_grid((3, 4), 5, 2), ValueError),
    # --- keras_inr.data.sample_grid_indices -------------------------------------------------------------------------
    "sample_grid_indices: int rng": ("rng", lambda: data.sample_grid_indices(0, 10, 2), ValueError),
    "sample_grid_indices: zero points": (
        "num_points", lambda: data.sample_grid_indices(np.random.default_rng(0), 0, 2), ValueError),
    "sample_grid_indices: 2^40 points": (
        "num_points", lambda: data.sample_grid_indices(np.random.default_rng(0), 2**40, 2), ValueError),
    "sample_grid_indices: zero size": (
        "size", lambda: data.sample_grid_indices(np.random.default_rng(0), 10, 0), ValueError),
    "sample_grid_indices: size above points": (
        "size", lambda: data.sample_grid_indices(np.random.default_rng(0), 10, 11), ValueError),
    "sample_grid_indices: float size": (
        "size", lambda: data.sample_grid_indices(np.random.default_rng(0), 10, 2.0), ValueError),
    "sample_grid_indices: zero rows": (
        "rows", lambda: data.sample_grid_indices(np.random.default_rng(0), 10, 2, rows=0), ValueError),
    "sample_grid_indices: string replace": (
        "replace", lambda: data.sample_grid_indices(np.random.default_rng(0), 10, 2, replace="yes"), ValueError),
    # --- keras_inr.data.as_image ------------------------------------------------------------------------------------
    "as_image: int64 256": ("image", lambda: data.as_image(np.full((4, 4), 256, dtype="int64")), ValueError),
    "as_image: negative int32": ("image", lambda: data.as_image(np.full((4, 4), -1, dtype="int32")), ValueError),
    "as_image: uint32 70000": ("image", lambda: data.as_image(np.full((4, 4), 70000, dtype="uint32")), ValueError),
    "as_image: int16 300": ("image", lambda: data.as_image(np.full((4, 4), 300, dtype="int16")), ValueError),
    "as_image: complex": ("image", lambda: data.as_image(np.full((4, 4), 0.5 + 0.5j)), ValueError),
    "as_image: object": ("image", lambda: data.as_image(np.array([[None, 1]], dtype=object)), ValueError),
    "as_image: strings": ("image", lambda: data.as_image(np.array([["a", "b"]])), ValueError),
    "as_image: NaN": ("image", lambda: data.as_image(np.full((4, 4), NAN)), ValueError),
    "as_image: infinity": ("image", lambda: data.as_image(with_value(IMAGE, (0, 0, 0), np.inf)), ValueError),
    "as_image: above 1": ("image", lambda: data.as_image(np.full((4, 4), 2.0)), ValueError),
    "as_image: empty": ("image", lambda: data.as_image(np.zeros((0, 4))), ValueError),
    "as_image: 1-D": ("image", lambda: data.as_image(np.zeros(4)), ValueError),
    "as_image: 2 channels": ("image", lambda: data.as_image(np.zeros((4, 4, 2))), ValueError),
    "as_image: 4-D": ("image", lambda: data.as_image(np.zeros((2, 4, 4, 3))), ValueError),
    "as_image: int name": ("name", lambda: data.as_image(IMAGE, name=3), ValueError),
    # --- keras_inr.data.load_image ----------------------------------------------------------------------------------
    "load_image: size True": ("size", lambda: data.load_image("camera", size=True), ValueError),
    "load_image: size False": ("size", lambda: data.load_image("camera", size=False), ValueError),
    "load_image: size 100000": ("size", lambda: data.load_image("camera", size=100000), ValueError),
    "load_image: zero height": ("size", lambda: data.load_image("camera", size=(0, 4)), ValueError),
    "load_image: one entry": ("size", lambda: data.load_image("camera", size=(4,)), ValueError),
    "load_image: three entries": ("size", lambda: data.load_image("camera", size=(4, 4, 4)), ValueError),
    "load_image: string size": ("size", lambda: data.load_image("camera", size="64"), ValueError),
    "load_image: negative size": ("size", lambda: data.load_image("camera", size=-3), ValueError),
    "load_image: float size": ("size", lambda: data.load_image("camera", size=2.5), ValueError),
    "load_image: int source": ("source", lambda: data.load_image(12), ValueError),
    "load_image: None source": ("source", lambda: data.load_image(None), ValueError),
    "load_image: unknown name": ("source", lambda: data.load_image("not_an_image_name"), ValueError),
    "load_image: missing file": ("source", lambda: data.load_image(tmp_dir() / "missing.png"), FileNotFoundError),
    "load_image: complex array": ("source", lambda: data.load_image(np.full((4, 4), 1j)), ValueError),
    "load_image: int64 array of 500": (
        "source", lambda: data.load_image(np.full((4, 4), 500, dtype="int64")), ValueError),
    # --- keras_inr.data: image_to_coordinates, coordinates_to_image, bilinear_sample ----------------------------------
    "image_to_coordinates: NaN": ("image", lambda: data.image_to_coordinates(np.full((4, 4), NAN)), ValueError),
    "image_to_coordinates: complex": ("image", lambda: data.image_to_coordinates(np.full((4, 4), 1j)), ValueError),
    "image_to_coordinates: int64 300": (
        "image", lambda: data.image_to_coordinates(np.full((4, 4), 300, dtype="int64")), ValueError),
    "coordinates_to_image: complex values": (
        "values", lambda: data.coordinates_to_image(VALUES + 1j, (4, 4)), ValueError),
    "coordinates_to_image: string values": (
        "values", lambda: data.coordinates_to_image(np.array(["a"] * 16), (4, 4)), ValueError),
    "coordinates_to_image: wrong count": ("values", lambda: data.coordinates_to_image(VALUES, (4, 5)), ValueError),
    "coordinates_to_image: 3-D values": (
        "values", lambda: data.coordinates_to_image(VALUES[None], (4, 4)), ValueError),
    "coordinates_to_image: 10^12 points": (
        "shape", lambda: data.coordinates_to_image(VALUES, (10**6, 10**6)), ValueError),
    "coordinates_to_image: zero size": ("shape", lambda: data.coordinates_to_image(VALUES, (0,)), ValueError),
    "bilinear_sample: NaN image": (
        "image", lambda: data.bilinear_sample(with_value(IMAGE, (1, 1, 0), NAN), COORDINATES), ValueError),
    "bilinear_sample: 2-D image": ("image", lambda: data.bilinear_sample(IMAGE[..., 0], COORDINATES), ValueError),
    "bilinear_sample: string image": (
        "image", lambda: data.bilinear_sample(np.full((4, 4, 1), "a"), COORDINATES), ValueError),
    "bilinear_sample: 3-D coordinates": (
        "coordinates", lambda: data.bilinear_sample(IMAGE, np.zeros((4, 3))), ValueError),
    "bilinear_sample: NaN coordinates": (
        "coordinates", lambda: data.bilinear_sample(IMAGE, with_value(COORDINATES, (0, 0), NAN)), ValueError),
    "bilinear_sample: complex coordinates": (
        "coordinates", lambda: data.bilinear_sample(IMAGE, COORDINATES + 0.5j), ValueError),
    # --- keras_inr.data datasets --------------------------------------------------------------------------------------
    "PixelBatches: NaN coordinates": (
        "coordinates", lambda: data.PixelBatches(with_value(COORDINATES, (3, 1), NAN), VALUES, 4, 2), ValueError),
    "PixelBatches: infinite values": (
        "values", lambda: data.PixelBatches(COORDINATES, with_value(VALUES, (2, 0), -np.inf), 4, 2), ValueError),
    "PixelBatches: complex coordinates": (
        "coordinates", lambda: data.PixelBatches(COORDINATES + 1j, VALUES, 4, 2), ValueError),
    "PixelBatches: string values": (
        "values", lambda: data.PixelBatches(COORDINATES, np.full((16, 1), "a"), 4, 2), ValueError),
    "PixelBatches: 1-D values": ("values", lambda: data.PixelBatches(COORDINATES, VALUES[:, 0], 4, 2), ValueError),
    "PixelBatches: mismatched rows": (
        "coordinates", lambda: data.PixelBatches(COORDINATES[:8], VALUES, 4, 2), ValueError),
    "PixelBatches: zero batch": ("batch_size", lambda: data.PixelBatches(COORDINATES, VALUES, 0, 2), ValueError),
    "PixelBatches: batch above N": ("batch_size", lambda: data.PixelBatches(COORDINATES, VALUES, 17, 2), ValueError),
    "PixelBatches: zero steps": ("steps_per_epoch", lambda: data.PixelBatches(COORDINATES, VALUES, 4, 0), ValueError),
    "PixelBatches: negative seed": ("seed", lambda: data.PixelBatches(COORDINATES, VALUES, 4, 2, seed=-1), ValueError),
    "PixelBatches: string seed": ("seed", lambda: data.PixelBatches(COORDINATES, VALUES, 4, 2, seed="x"), ValueError),
    "PixelBatches: float seed": ("seed", lambda: data.PixelBatches(COORDINATES, VALUES, 4, 2, seed=1.5), ValueError),
    "SeededBatches: None seed": ("seed", lambda: data.SeededBatches(4, 2, seed=None), ValueError),
    "SeededBatches: seed above 2^32": ("seed", lambda: data.SeededBatches(4, 2, seed=2**40), ValueError),
    "ContinuousImageDataset: NaN image": (
        "image", lambda: data.ContinuousImageDataset(with_value(IMAGE, (0, 0, 0), NAN), 8, 2), ValueError),
    "ContinuousImageDataset: int64 1000": (
        "image", lambda: data.ContinuousImageDataset(np.full((4, 4), 1000, dtype="int64"), 8, 2), ValueError),
    "ContinuousImageDataset: zero batch": ("batch_size", lambda: data.ContinuousImageDataset(IMAGE, 0), ValueError),
    "ContinuousImageDataset: negative steps": (
        "steps_per_epoch", lambda: data.ContinuousImageDataset(IMAGE, 8, -1), ValueError),
    "ContinuousImageDataset: negative seed": (
        "seed", lambda: data.ContinuousImageDataset(IMAGE, 8, 2, seed=-5), ValueError),
    "tancik_split: unknown test": ("test", lambda: data.tancik_split(IMAGE, test="all"), ValueError),
    "tancik_split: 1x1 image": ("image", lambda: data.tancik_split(np.zeros((1, 1))), ValueError),
    "tancik_split: NaN image": ("image", lambda: data.tancik_split(np.full((4, 4), NAN)), ValueError),
    # --- keras_inr.layers encodings -----------------------------------------------------------------------------------
    "PositionalEncoding: 200 frequencies": ("num_frequencies", lambda: PositionalEncoding(200), ValueError),
    "PositionalEncoding: 24 frequencies": ("num_frequencies", lambda: PositionalEncoding(24), ValueError),
    "PositionalEncoding: zero frequencies": ("num_frequencies", lambda: PositionalEncoding(0), ValueError),
    "PositionalEncoding: float frequencies": ("num_frequencies", lambda: PositionalEncoding(2.5), ValueError),
    "PositionalEncoding: include_input 'no'": (
        "include_input", lambda: PositionalEncoding(include_input="no"), ValueError),
    "PositionalEncoding: include_input 1": ("include_input", lambda: PositionalEncoding(include_input=1), ValueError),
    "PositionalEncoding: include_input None": (
        "include_input", lambda: PositionalEncoding(include_input=None), ValueError),
    "PositionalEncoding: complex inputs": (
        "inputs", lambda: PositionalEncoding(2)(COORDINATES.astype("complex64")), ValueError),
    "FourierFeatures: zero features": ("num_features", lambda: FourierFeatures(0), ValueError),
    "FourierFeatures: negative scale": ("scale", lambda: FourierFeatures(8, scale=-1.0), ValueError),
    "FourierFeatures: NaN scale": ("scale", lambda: FourierFeatures(8, scale=NAN), ValueError),
    "FourierFeatures: string seed": ("seed", lambda: FourierFeatures(8, seed="x"), ValueError),
    "FourierFeatures: negative seed": ("seed", lambda: FourierFeatures(8, seed=-1), ValueError),
    "FourierFeatures: trainable 'no'": ("trainable", lambda: FourierFeatures(8, trainable="no"), ValueError),
    "FourierFeatures: complex inputs": (
        "inputs", lambda: FourierFeatures(8)(COORDINATES.astype("complex64")), ValueError),
    "fourier_features: 3 coordinates for 2 rows": (
        "coordinates", lambda: fourier_features(np.zeros((4, 3), "float32"), np.zeros((2, 8), "float32")),
        ValueError),
    "fourier_features: 1-D projection": (
        "projection", lambda: fourier_features(COORDINATES, np.zeros(8, "float32")), ValueError),
    "fourier_features: complex coordinates": (
        "coordinates", lambda: fourier_features(COORDINATES + 1j, np.zeros((2, 8), "float32")), ValueError),
    "fourier_features: string projection": (
        "projection", lambda: fourier_features(COORDINATES, np.full((2, 8), "a")), ValueError),
    # --- keras_inr.training -----------------------------------------------------------------------------------------
    "make_learning_rate: negative fraction": (
        "final_learning_rate_fraction", lambda: training.make_learning_rate(1e-3, "cosine", 100, -0.1), ValueError),
    "make_learning_rate: NaN fraction": (
        "final_learning_rate_fraction", lambda: training.make_learning_rate(1e-3, "cosine", 100, NAN), ValueError),
    "make_learning_rate: fraction above 1": (
        "final_learning_rate_fraction", lambda: training.make_learning_rate(1e-3, "cosine", 100, 1.5), ValueError),
    "make_learning_rate: string fraction": (
        "final_learning_rate_fraction", lambda: training.make_learning_rate(1e-3, "cosine", 100, "0.1"), ValueError),
    "make_learning_rate: infinite fraction": (
        "final_learning_rate_fraction", lambda: training.make_learning_rate(1e-3, "cosine", 100, np.inf), ValueError),
    "make_learning_rate: negative fraction, constant": (
        "final_learning_rate_fraction", lambda: training.make_learning_rate(1e-3, "constant", None, -1.0),
        ValueError),
    "make_learning_rate: zero rate": ("learning_rate", lambda: training.make_learning_rate(0.0), ValueError),
    "make_learning_rate: NaN rate": ("learning_rate", lambda: training.make_learning_rate(NAN), ValueError),
    "make_learning_rate: string rate": ("learning_rate", lambda: training.make_learning_rate("1e-3"), ValueError),
    "make_learning_rate: unknown schedule": (
        "schedule", lambda: training.make_learning_rate(1e-3, "linear"), ValueError),
    "make_learning_rate: cosine without steps": (
        "total_steps", lambda: training.make_learning_rate(1e-3, "cosine"), ValueError),
    "make_learning_rate: zero steps": ("total_steps", lambda: training.make_learning_rate(1e-3, "cosine", 0),
                                       ValueError),
    "make_learning_rate: float steps": (
        "total_steps", lambda: training.make_learning_rate(1e-3, "cosine", 1.5), ValueError),
    "compile_inr: string model": ("model", lambda: training.compile_inr("siren", total_steps=10), ValueError),
    "compile_inr: None model": ("model", lambda: training.compile_inr(None, total_steps=10), ValueError),
    "compile_inr: zero max_val": ("max_val", lambda: compile_inr(max_val=0.0), ValueError),
    "compile_inr: jit_compile 'yes'": (
        "jit_compile", lambda: compile_inr(jit_compile="yes"), ValueError),
    "compile_inr: unknown loss": ("loss", lambda: compile_inr(loss="nope"), ValueError),
    "compile_inr: None loss": ("loss", lambda: compile_inr(loss=None), ValueError),
    "compile_inr: negative fraction": (
        "final_learning_rate_fraction",
        lambda: compile_inr(final_learning_rate_fraction=-1.0), ValueError),
    "compile_inr: negative rate": ("learning_rate", lambda: compile_inr(learning_rate=-1.0),
                                   ValueError),
    "full_batch: NaN coordinates": (
        "coordinates", lambda: training.full_batch(with_value(COORDINATES, (0, 0), NAN), VALUES, 2), ValueError),
    "full_batch: infinite values": (
        "values", lambda: training.full_batch(COORDINATES, with_value(VALUES, (5, 0), np.inf), 2), ValueError),
    "full_batch: complex coordinates": (
        "coordinates", lambda: training.full_batch(COORDINATES + 1j, VALUES, 2), ValueError),
    "full_batch: 1-D coordinates": ("coordinates", lambda: training.full_batch(COORDINATES[:, 0], VALUES, 2),
                                    ValueError),
    "full_batch: string values": (
        "values", lambda: training.full_batch(COORDINATES, np.full((16, 1), "a"), 2), ValueError),
    "full_batch: mismatched rows": ("coordinates", lambda: training.full_batch(COORDINATES[:8], VALUES, 2),
                                    ValueError),
    "full_batch: zero steps": ("steps", lambda: training.full_batch(COORDINATES, VALUES, 0), ValueError),
    "full_batch: string steps": ("steps", lambda: training.full_batch(COORDINATES, VALUES, "10"), ValueError),
    "full_batch: steps not a multiple": (
        "steps", lambda: training.full_batch(COORDINATES, VALUES, 10, steps_per_epoch=3), ValueError),
    "FullBatch: NaN coordinates": (
        "coordinates", lambda: training.FullBatch(with_value(COORDINATES, (1, 1), NAN), VALUES, 2), ValueError),
    "FullBatch: infinite values": (
        "values", lambda: training.FullBatch(COORDINATES, with_value(VALUES, (0, 0), np.inf), 2), ValueError),
    "FullBatch: complex values": ("values", lambda: training.FullBatch(COORDINATES, VALUES + 1j, 2), ValueError),
    "FullBatch: zero steps per epoch": (
        "steps_per_epoch", lambda: training.FullBatch(COORDINATES, VALUES, 2, steps_per_epoch=0), ValueError),
    "recommended: unknown family": ("family", lambda: training.recommended("nope"), ValueError),
    # --- keras_inr.metrics ------------------------------------------------------------------------------------------
    "psnr: zero max_val": ("max_val", lambda: metrics.psnr(VALUES, VALUES, max_val=0), ValueError),
    "psnr: NaN max_val": ("max_val", lambda: metrics.psnr(VALUES, VALUES, max_val=NAN), ValueError),
    "psnr: NaN y_true": ("y_true", lambda: metrics.psnr(with_value(VALUES, (0, 0), NAN), VALUES), ValueError),
    "psnr: string y_true": ("y_true", lambda: metrics.psnr(np.full((4, 1), "a"), VALUES[:4]), ValueError),
    "psnr: complex y_pred": ("y_pred", lambda: metrics.psnr(VALUES, VALUES + 1j), ValueError),
    "psnr: mismatched shapes": ("y_pred", lambda: metrics.psnr(np.zeros((4, 3)), np.zeros((4, 2))), ValueError),
    "psnr: axis out of range": ("axis", lambda: metrics.psnr(VALUES, VALUES, axis=5), ValueError),
    "psnr: float axis": ("axis", lambda: metrics.psnr(VALUES, VALUES, axis=1.5), ValueError),
    "psnr: repeated axis": ("axis", lambda: metrics.psnr(VALUES, VALUES, axis=(0, 0)), ValueError),
    "psnr_from_mse: negative mse": ("mse", lambda: metrics.psnr_from_mse(-1.0), ValueError),
    "psnr_from_mse: string mse": ("mse", lambda: metrics.psnr_from_mse("x"), ValueError),
    "psnr_from_mse: complex mse": ("mse", lambda: metrics.psnr_from_mse(1j), ValueError),
    "psnr_from_mse: zero max_val": ("max_val", lambda: metrics.psnr_from_mse(0.1, max_val=0.0), ValueError),
    "psnr_from_mse: string max_val": ("max_val", lambda: metrics.psnr_from_mse(0.1, max_val="1"), ValueError),
    "PSNR: negative max_val": ("max_val", lambda: metrics.PSNR(max_val=-1.0), ValueError),
    "PSNR: int name": ("name", lambda: metrics.PSNR(name=5), ValueError),
    "ssim: zero max_val": ("max_val", lambda: metrics.ssim(np.zeros((16, 16)), np.zeros((16, 16)), max_val=0),
                           ValueError),
    "ssim: zero sigma": ("sigma", lambda: metrics.ssim(np.zeros((16, 16)), np.zeros((16, 16)), sigma=0), ValueError),
    "ssim: NaN sigma": ("sigma", lambda: metrics.ssim(np.zeros((16, 16)), np.zeros((16, 16)), sigma=NAN),
                        ValueError),
    "ssim: mismatched shapes": ("image_pred", lambda: metrics.ssim(np.zeros((20, 20)), np.zeros((20, 21))),
                                ValueError),
    "ssim: NaN reference": (
        "image_true", lambda: metrics.ssim(np.full((16, 16), NAN), np.zeros((16, 16))), ValueError),
    "ssim: image below the window": ("image_true", lambda: metrics.ssim(np.zeros((5, 5)), np.zeros((5, 5))),
                                     ValueError),
    "ssim: 4-D images": ("image_true", lambda: metrics.ssim(np.zeros((2, 16, 16, 1)), np.zeros((2, 16, 16, 1))),
                         ValueError),
    "ssim: string images": ("image_true", lambda: metrics.ssim(np.full((16, 16), "a"), np.zeros((16, 16))),
                            ValueError),
    # --- keras_inr.rendering ----------------------------------------------------------------------------------------
    "render: 10^12 points": ("shape", lambda: rendering.render(siren2d(), (10**6, 10**6)), ValueError),
    "render: zero size": ("shape", lambda: rendering.render(siren2d(), (0, 4)), ValueError),
    "render: 3-D shape for a 2-D model": ("shape", lambda: rendering.render(siren2d(), (4, 4, 4)), ValueError),
    "render: zero batch": ("batch_size", lambda: rendering.render(siren2d(), (4, 4), batch_size=0), ValueError),
    "render: float batch": ("batch_size", lambda: rendering.render(siren2d(), (4, 4), batch_size=2.5), ValueError),
    "render: string model": ("model", lambda: rendering.render("siren", (4, 4)), ValueError),
    # --- keras_inr.plotting -----------------------------------------------------------------------------------------
    "to_uint8: NaN": ("image", lambda: plotting.to_uint8(np.full((4, 4), NAN)), ValueError),
    "to_uint8: complex": ("image", lambda: plotting.to_uint8(np.full((4, 4), 0.5j)), ValueError),
    "to_uint8: strings": ("image", lambda: plotting.to_uint8(np.full((4, 4), "a")), ValueError),
    "to_uint8: 2 channels": ("image", lambda: plotting.to_uint8(np.zeros((4, 4, 2))), ValueError),
    "to_uint8: int name": ("name", lambda: plotting.to_uint8(IMAGE, name=3), ValueError),
    "save_image: None path": ("path", lambda: plotting.save_image(None, IMAGE), ValueError),
    "save_image: int path": ("path", lambda: plotting.save_image(5, IMAGE), ValueError),
    "save_image: NaN image": (
        "image", lambda: plotting.save_image(tmp_dir() / "nan.png", np.full((4, 4), NAN)), ValueError),
    "save_comparison: None path": ("path", lambda: comparison(path=None), ValueError),
    "save_comparison: zero dpi": ("dpi", lambda: comparison(dpi=0), ValueError),
    "save_comparison: NaN dpi": ("dpi", lambda: comparison(dpi=NAN), ValueError),
    "save_comparison: dpi 10^6": ("dpi", lambda: comparison(dpi=10**6), ValueError),
    "save_comparison: show_error 'no'": ("show_error", lambda: comparison(show_error="no"), ValueError),
    "save_comparison: int title": ("title", lambda: comparison(title=5), ValueError),
    "save_comparison: mismatched shapes": ("reconstructions", lambda: comparison(reconstructions=IMAGE[:8]),
                                           ValueError),
    "save_comparison: empty mapping": ("reconstructions", lambda: comparison(reconstructions={}), ValueError),
    "save_comparison: complex reconstruction": (
        "reconstructions", lambda: comparison(reconstructions={"a": IMAGE + 1j}), ValueError),
    "save_comparison: NaN target": ("target", lambda: comparison(target=np.full((12, 12, 1), NAN)), ValueError),
    # --- keras_inr.tuning -------------------------------------------------------------------------------------------
    "INRHyperModel: string seed": ("seed", lambda: tuning.INRHyperModel(1, seed="x"), ValueError),
    "INRHyperModel: negative seed": ("seed", lambda: tuning.INRHyperModel(1, seed=-1), ValueError),
    "INRHyperModel: float seed": ("seed", lambda: tuning.INRHyperModel(1, seed=1.5), ValueError),
    "INRHyperModel: jit_compile 'yes'": ("jit_compile", lambda: tuning.INRHyperModel(1, jit_compile="yes"),
                                         ValueError),
    "INRHyperModel: tunable 'no'": ("tunable", lambda: tuning.INRHyperModel(1, tunable="no"), ValueError),
    "INRHyperModel: int name": ("name", lambda: tuning.INRHyperModel(1, name=5), ValueError),
    "INRHyperModel: zero out_dims": ("out_dims", lambda: tuning.INRHyperModel(0), ValueError),
    "INRHyperModel: zero in_dims": ("in_dims", lambda: tuning.INRHyperModel(1, in_dims=0), ValueError),
    "INRHyperModel: unknown family": ("families", lambda: tuning.INRHyperModel(1, families="nope"), ValueError),
    "INRHyperModel: no family": ("families", lambda: tuning.INRHyperModel(1, families=[]), ValueError),
    "INRHyperModel: width low > high": ("width", lambda: tuning.INRHyperModel(1, width=(64, 32)), ValueError),
    "INRHyperModel: NaN width": ("width", lambda: tuning.INRHyperModel(1, width=NAN), ValueError),
    "INRHyperModel: empty depth choice": ("depth", lambda: tuning.INRHyperModel(1, depth=[]), ValueError),
    "INRHyperModel: negative rate": ("learning_rate", lambda: tuning.INRHyperModel(1, learning_rate=-1.0),
                                     ValueError),
    "INRHyperModel: unknown schedule": ("schedule", lambda: tuning.INRHyperModel(1, schedule="linear"), ValueError),
    "INRHyperModel: cosine without steps": (
        "total_steps", lambda: tuning.INRHyperModel(1, schedule="cosine"), ValueError),
    "INRHyperModel: w0 range from 0": ("w0", lambda: tuning.INRHyperModel(1, w0=(0, 10)), ValueError),
    "INRHyperModel: unknown keyword": ("bogus", lambda: tuning.INRHyperModel(1, bogus=3), ValueError),
    "make_tuner: no hypermodel": ("hypermodel", lambda: tuning.make_tuner("x"), ValueError),
    "make_tuner: unknown tuner": ("tuner", lambda: make_tuner(tuner="grid"), ValueError),
    "make_tuner: zero trials": ("max_trials", lambda: make_tuner(max_trials=0), ValueError),
    "make_tuner: hyperband with 1 epoch": ("max_epochs", lambda: make_tuner(tuner="hyperband", max_epochs=1),
                                           ValueError),
    "make_tuner: None directory": ("directory", lambda: make_tuner(directory=None), ValueError),
    "make_tuner: int directory": ("directory", lambda: make_tuner(directory=5), ValueError),
    "make_tuner: empty project": ("project_name", lambda: make_tuner(project_name=""), ValueError),
    "make_tuner: string seed": ("seed", lambda: make_tuner(seed="x"), ValueError),
    "make_tuner: negative seed": ("seed", lambda: make_tuner(seed=-3), ValueError),
    "make_tuner: overwrite 'yes'": ("overwrite", lambda: make_tuner(overwrite="yes"), ValueError),
    "make_tuner: dict hyperparameters": ("hyperparameters", lambda: make_tuner(hyperparameters={"w0": 3.0}),
                                         ValueError),
    "make_tuner: tune_new_entries 'no'": ("tune_new_entries", lambda: make_tuner(tune_new_entries="no"),
                                          ValueError),
    "leaderboard: string tuner": ("tuner", lambda: tuning.leaderboard("tuner"), ValueError),
    "leaderboard: None tuner": ("tuner", lambda: tuning.leaderboard(None), ValueError),
    "best_model: string tuner": ("tuner", lambda: tuning.best_model("tuner"), ValueError),
    "format_leaderboard: int rows": ("rows", lambda: tuning.format_leaderboard(5), ValueError),
    "format_leaderboard: string rows": ("rows", lambda: tuning.format_leaderboard("abc"), ValueError),
    "format_leaderboard: incomplete row": ("rows", lambda: tuning.format_leaderboard([{"family": "siren"}]),
                                           ValueError),
    "format_leaderboard: row not a dict": ("rows", lambda: tuning.format_leaderboard([row(), 3]), ValueError),
    "model_arguments: int": ("hyperparameters", lambda: tuning.model_arguments(5), ValueError),
    "model_arguments: no family": ("hyperparameters", lambda: tuning.model_arguments({}), ValueError),
    "model_arguments: unknown family": ("family", lambda: tuning.model_arguments({"family": "nope"}), ValueError),
    "learning_rate_of: no rate": ("hyperparameters", lambda: tuning.learning_rate_of({"family": "siren"}),
                                  ValueError),
    "learning_rate_name: int family": ("family", lambda: tuning.learning_rate_name(5), ValueError),
    "learning_rate_name: unknown family": ("family", lambda: tuning.learning_rate_name("nope"), ValueError),
    "qualified_name: int name": ("name", lambda: tuning.qualified_name(5, "siren"), ValueError),
    "qualified_name: None family": ("family", lambda: tuning.qualified_name("w0", None), ValueError),
    "family_learning_rate_range: unknown": ("family", lambda: tuning.family_learning_rate_range("nope"), ValueError),
    "SearchSpec: string value": ("w0", lambda: tuning.SearchSpec("w0", "x"), ValueError),
    "SearchSpec: three-tuple": ("w0", lambda: tuning.SearchSpec("w0", (1, 2, 3)), ValueError),
    "SearchSpec: repeated choice": ("w0", lambda: tuning.SearchSpec("w0", [1.0, 1.0]), ValueError),
    "SearchSpec: negative log range": ("w0", lambda: tuning.SearchSpec("w0", (-1.0, 1.0)), ValueError),
    "SearchSpec: unknown kind": ("kind", lambda: tuning.SearchSpec("w0", 5.0, kind="complex"), ValueError),
    "SearchSpec: unknown sampling": ("sampling", lambda: tuning.SearchSpec("w0", 5.0, sampling="exp"), ValueError),
    "SearchSpec: zero step": ("step", lambda: tuning.SearchSpec("width", (8, 64), kind="int", step=0), ValueError),
    "SearchSpec: int name": ("name", lambda: tuning.SearchSpec(5, 1.0), ValueError),
    "make_specs: list given": ("given", lambda: tuning.make_specs([1], tuning.SHARED_SEARCH_SPACE), ValueError),
    "make_specs: unknown name": (
        "given", lambda: tuning.make_specs({"bogus": None}, tuning.SHARED_SEARCH_SPACE), ValueError),
    "check_schedule: unknown": ("schedule", lambda: tuning.check_schedule("linear", None), ValueError),
    "check_schedule: cosine without steps": ("total_steps", lambda: tuning.check_schedule("cosine", None),
                                             ValueError),
    "check_schedule: zero steps": ("total_steps", lambda: tuning.check_schedule("cosine", 0), ValueError),
    "check_families: unknown": ("families", lambda: tuning.check_families("nope"), ValueError),
    "declare_choice: string hp": ("hp", lambda: tuning.declare_choice("hp", "family", ["siren"]), ValueError),
    "declare_choice: no options": ("options", lambda: tuning.declare_choice(hyperparameters(), "family", []),
                                   ValueError),
    "declare_choice: int name": ("name", lambda: tuning.declare_choice(hyperparameters(), 5, ["siren"]), ValueError),
    "declare_conditional: unknown active": (
        "active", lambda: tuning.declare_conditional(hyperparameters(), "family", "nope", {"siren": {}}), ValueError),
    "declare_conditional: string hp": (
        "hp", lambda: tuning.declare_conditional("hp", "family", "siren", {"siren": {}}), ValueError),
    # --- hypernets.HyperINR -----------------------------------------------------------------------------------------
    "HyperINR: string seed": ("seed", lambda: hyper(seed="x"), ValueError),
    "HyperINR: negative seed": ("seed", lambda: hyper(seed=-1), ValueError),
    "HyperINR: float seed": ("seed", lambda: hyper(seed=1.5), ValueError),
    "HyperINR: zero points_per_step": ("points_per_step", lambda: hyper(points_per_step=0), ValueError),
    "HyperINR: zero in_dims": ("in_dims", lambda: hyper(in_dims=0), ValueError),
    "HyperINR: zero max_val": ("max_val", lambda: hyper(max_val=0.0), ValueError),
    "HyperINR: string encoder": (
        "encoder", lambda: hypernets.HyperINR("mlp", keras_inr.SIREN(out_dims=1, width=4, depth=1)), ValueError),
    "HyperINR: Dense target": ("target", lambda: hypernets.HyperINR(small_encoder(), keras.layers.Dense(3)),
                               ValueError),
    "HyperINR: unknown head": ("head", lambda: hyper(head="diagonal"), ValueError),
    "HyperINR: in_dims against a built target": ("in_dims", lambda: hyper(target=siren2d(), in_dims=3), ValueError),
    "HyperINR.fit: NaN datapoints": ("x", lambda: fit(with_value(SIGNALS, (0, 0, 0, 0), NAN), SIGNALS), ValueError),
    "HyperINR.fit: infinite signals": ("y", lambda: fit(SIGNALS, with_value(SIGNALS, (1, 2, 3, 0), np.inf)),
                                       ValueError),
    "HyperINR.fit: complex coordinates": (
        "x[1]", lambda: fit((SIGNALS, np.zeros((4, 5, 2)) + 1j), np.zeros((4, 5, 1), "float32")), ValueError),
    "HyperINR.fit: NaN coordinates": (
        "x[1]", lambda: fit((SIGNALS, with_value(np.zeros((4, 5, 2)), (0, 0, 0), NAN)),
                            np.zeros((4, 5, 1), "float32")), ValueError),
    "HyperINR.fit: NaN validation values": (
        "validation_data", lambda: fit(SIGNALS, SIGNALS, validation_data=(SIGNALS, SIGNALS * NAN)), ValueError),
    "HyperINR.fit: 3-channel signals": ("y", lambda: fit(SIGNALS, np.repeat(SIGNALS, 3, axis=-1)), ValueError),
    "HyperINR.fit: mismatched batches": ("y", lambda: fit(SIGNALS, SIGNALS[:3]), ValueError),
    "HyperINR.fit: no targets": ("y", lambda: fit(SIGNALS, None), ValueError),
    "HyperINR.evaluate: NaN signals": (
        "y", lambda: compiled_hyper().evaluate(SIGNALS, SIGNALS * NAN, verbose=0), ValueError),
    "HyperINR.render: 3-D shape": ("shape", lambda: compiled_hyper().render(SIGNALS, (4, 4, 4)), ValueError),
    "HyperINR.render: 10^12 points": ("shape", lambda: compiled_hyper().render(SIGNALS, (10**6, 10**6)), ValueError),
    "HyperINR.render: zero batch": ("batch_size", lambda: compiled_hyper().render(SIGNALS, (4, 4), batch_size=0),
                                    ValueError),
    "HyperINR.render: zero chunk": (
        "points_per_chunk", lambda: compiled_hyper().render(SIGNALS, (4, 4), points_per_chunk=0), ValueError),
    "HyperINR.render: no datapoints": ("datapoints", lambda: compiled_hyper().render(SIGNALS[:0], (4, 4)),
                                       ValueError),
    "HyperINR.compile: None loss": ("loss", lambda: hyper().compile(loss=None), ValueError),
    "HyperINR.compile: metrics": ("metrics", lambda: hyper().compile(metrics=["mae"]), ValueError),
    "parameter_count: string": ("model", lambda: hypernets.parameter_count("model"), ValueError),
    # --- hypernets datasets -----------------------------------------------------------------------------------------
    "FieldDataset: NaN signals": (
        "signals", lambda: hypernets.FieldDataset(with_value(SIGNALS, (0, 1, 1, 0), NAN), 4, 2), ValueError),
    "FieldDataset: infinite signals": (
        "signals", lambda: hypernets.FieldDataset(with_value(SIGNALS, (3, 5, 5, 0), -np.inf), 4, 2), ValueError),
    "FieldDataset: complex signals": ("signals", lambda: hypernets.FieldDataset(SIGNALS + 1j, 4, 2), ValueError),
    "FieldDataset: string signals": (
        "signals", lambda: hypernets.FieldDataset(np.full((4, 6, 1), "a"), 4, 2), ValueError),
    "FieldDataset: 1-D signals": ("signals", lambda: hypernets.FieldDataset(np.zeros(4), 4, 2), ValueError),
    "FieldDataset: zero points": ("points_per_signal", lambda: hypernets.FieldDataset(SIGNALS, 0, 2), ValueError),
    "FieldDataset: more points than the grid": (
        "points_per_signal", lambda: hypernets.FieldDataset(SIGNALS, 37, 2), ValueError),
    "FieldDataset: zero batch": ("batch_size", lambda: hypernets.FieldDataset(SIGNALS, 4, 0), ValueError),
    "FieldDataset: batch above the signals": ("batch_size", lambda: hypernets.FieldDataset(SIGNALS, 4, 5),
                                              ValueError),
    "FieldDataset: unknown datapoints": (
        "datapoints", lambda: hypernets.FieldDataset(SIGNALS, 4, 2, datapoints="labels"), ValueError),
    "FieldDataset: datapoints of another length": (
        "datapoints", lambda: hypernets.FieldDataset(SIGNALS, 4, 2, datapoints=np.zeros(3)), ValueError),
    "FieldDataset: NaN datapoints": (
        "datapoints", lambda: hypernets.FieldDataset(SIGNALS, 4, 2, datapoints=np.full((4, 2), NAN)), ValueError),
    "FieldDataset: replace 'no'": ("replace", lambda: hypernets.FieldDataset(SIGNALS, 4, 2, replace="no"),
                                   ValueError),
    "FieldDataset: shuffle 'no'": ("shuffle", lambda: hypernets.FieldDataset(SIGNALS, 4, 2, shuffle="no"),
                                   ValueError),
    "FieldDataset: drop_remainder 1": (
        "drop_remainder", lambda: hypernets.FieldDataset(SIGNALS, 4, 2, drop_remainder=1), ValueError),
    "FieldDataset: negative seed": ("seed", lambda: hypernets.FieldDataset(SIGNALS, 4, 2, seed=-1), ValueError),
    "FieldDataset: string seed": ("seed", lambda: hypernets.FieldDataset(SIGNALS, 4, 2, seed="x"), ValueError),
    "ImageFieldDataset: NaN images": (
        "images", lambda: hypernets.ImageFieldDataset(with_value(SIGNALS, (0, 0, 0, 0), NAN), 4, 2), ValueError),
    "ImageFieldDataset: int64 images of 300": (
        "images", lambda: hypernets.ImageFieldDataset(np.full((4, 6, 6), 300, dtype="int64"), 4, 2), ValueError),
    "ImageFieldDataset: 2-D images": ("images", lambda: hypernets.ImageFieldDataset(np.zeros((4, 6)), 4, 2),
                                      ValueError),
    "ImageFieldDataset: zero points": (
        "points_per_image", lambda: hypernets.ImageFieldDataset(SIGNALS, 0, 2), ValueError),
    "ImageFieldDataset: None seed": ("seed", lambda: hypernets.ImageFieldDataset(SIGNALS, 4, 2, seed=None),
                                     ValueError),
}


@pytest.fixture(autouse=True)
def _clear_keras_session():
    """Overrides the suite's per-test ``clear_session`` (half a second a test, the bulk of this table's run time):
    the calls below build at most a few small layers; the saving tests clear the session themselves."""
    yield


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_is_refused_with_a_message_naming_the_argument(case):
    argument, call, error = BAD_INPUTS[case]
    with pytest.raises(error) as raised:
        call()
    message = str(raised.value)
    assert f"`{argument}" in message, f"the message does not name `{argument}`: {message}"


# --- the rules behind the table, shown on good input ------------------------------------------------------------------
def test_integer_images_follow_the_documented_scaling_rule():
    np.testing.assert_allclose(data.as_image(np.full((2, 2), 200, dtype="uint8")), 200 / 255)
    np.testing.assert_allclose(data.as_image(np.full((2, 2), 60000, dtype="uint16")), 60000 / 65535)
    for dtype in ("int8", "int16", "int32", "int64", "uint32", "uint64"):  # 8-bit values in a wider type
        np.testing.assert_allclose(data.as_image(np.full((2, 2), 100, dtype=dtype)), 100 / 255)
    np.testing.assert_array_equal(data.as_image(np.eye(2, dtype=bool))[..., 0], np.eye(2))
    assert data.load_image(np.full((4, 4), 200, dtype="int64"), size=2).max() == pytest.approx(200 / 255)


def test_positional_encoding_is_finite_up_to_its_limit():
    from keras_inr.layers.encodings import MAX_NUM_FREQUENCIES

    features = PositionalEncoding(MAX_NUM_FREQUENCIES)(COORDINATES)
    assert np.all(np.isfinite(keras.ops.convert_to_numpy(features)))


def test_grid_limit_is_inclusive_and_checked_before_allocating():
    from keras_inr.validation import MAX_GRID_POINTS, check_shape

    assert check_shape((MAX_GRID_POINTS,)) == (MAX_GRID_POINTS,)
    with pytest.raises(ValueError, match="2,147,483,648 points"):
        check_shape((MAX_GRID_POINTS + 1,))
    # a slice of the largest grid is still served without building the grid
    assert data.coordinate_grid((2**15, 2**16 - 1), 5, 9).shape == (4, 2)


def test_final_learning_rate_fraction_bounds_are_accepted():
    for fraction in (0.0, 1.0, 0):
        training.make_learning_rate(1e-3, "cosine", 10, fraction)


# --- HyperINR saving and state (issue 12) ---------------------------------------------------------------------------
def _values(variables) -> list[np.ndarray]:
    return [np.asarray(keras.ops.convert_to_numpy(variable)) for variable in variables]


def _assert_same_variables(first, second, what: str) -> None:
    """Same variables in the same order: shapes, dtypes and values (names and paths depend on the name scope the
    variables were built in, which differs between a model built by ``fit`` and one built by loading)."""
    assert [(tuple(v.shape), v.dtype) for v in first] == [(tuple(v.shape), v.dtype) for v in second], what
    for a, b, variable in zip(_values(first), _values(second), first):
        np.testing.assert_array_equal(a, b, err_msg=f"{what}: {variable.path}")


@pytest.mark.parametrize("head", ["full", "shift"])
def test_saved_hyperinr_resumes_exactly(head, tmp_path):
    """Save after a few steps, load: the trainable / non-trainable variables, the optimizer state and the point
    sampler's state are those saved, and the next epoch of the loaded model gives the weights of the uninterrupted
    run, points_per_step subsampling included (a sampler that restarted would draw other points)."""
    signals = RNG.random((8, 6, 6, 1)).astype("float32")
    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    model = hyper(head=head, points_per_step=6, seed=None)  # seed None: the state holds a random seed too
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    model.fit(signals, signals, batch_size=4, epochs=2, shuffle=False, verbose=0)
    path = tmp_path / "hyper.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)

    _assert_same_variables(model.trainable_variables, loaded.trainable_variables, "trainable variables")
    _assert_same_variables(model.non_trainable_variables, loaded.non_trainable_variables, "non-trainable variables")
    _assert_same_variables(model.optimizer.variables, loaded.optimizer.variables, "optimizer variables")
    np.testing.assert_array_equal(*_values([model.point_sampler.state, loaded.point_sampler.state]))
    assert all(not layer.trainable for layer in loaded.target.weight_layers)  # the frozen target stays frozen

    model.fit(signals, signals, batch_size=4, epochs=1, shuffle=False, verbose=0)  # the uninterrupted run
    loaded.fit(signals, signals, batch_size=4, epochs=1, shuffle=False, verbose=0)  # the resumed run
    for a, b in zip(_values(model.trainable_variables), _values(loaded.trainable_variables)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(*_values([model.point_sampler.state, loaded.point_sampler.state]))
    assert int(keras.ops.convert_to_numpy(loaded.optimizer.iterations)) == 6


def test_point_sampler_state_round_trips_through_weight_files(tmp_path):
    """``save_weights``/``load_weights`` (what checkpoints and backups use) carry the sampler's state as well."""
    keras.backend.clear_session()
    model = hyper(seed=7)
    model.compile(optimizer="adam")
    model.fit(SIGNALS, SIGNALS, batch_size=4, epochs=3, verbose=0)
    model.save_weights(tmp_path / "hyper.weights.h5")
    fresh = hyper(seed=7)
    fresh.compile(optimizer="adam")
    fresh.build(SIGNALS.shape)
    fresh.optimizer.build(fresh.trainable_variables)
    fresh.load_weights(tmp_path / "hyper.weights.h5")
    state = _values([model.point_sampler.state, fresh.point_sampler.state])
    assert state[0][1] == 3 and math.prod(state[0].shape) == 2  # one draw per step
    np.testing.assert_array_equal(*state)
