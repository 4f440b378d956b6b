"""Quality metrics: PSNR (one formula, :func:`psnr_from_mse`, behind a numpy function and a Keras metric) and SSIM."""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import ops

from keras_inr.saving import register
from keras_inr.validation import check_positive_float


def psnr_from_mse(mse, max_val: float = 1.0):
    """PSNR ``10 log10(max_val^2 / mse)`` in dB of a mean squared error: the one formula keras-inr uses.

    Zero error gives ``inf`` (never NaN or an error), for numpy values and backend tensors alike.

    Args:
        mse: mean squared error(s): a number or numpy array (computed with numpy, float64), or a backend tensor
            (computed with ``keras.ops`` in the tensor's float dtype, so it works inside compiled functions).
        max_val: the signal's dynamic range (1 for images in ``[0, 1]``); positive.

    Returns:
        A Python ``float`` for a scalar numpy/number input, a float64 numpy array for an array input, a tensor for a
        tensor input.
    """
    if ops.is_tensor(mse):
        # 1 / 0 is inf in IEEE arithmetic on every backend, and log(inf) is inf.
        return (10.0 / math.log(10.0)) * ops.log(max_val**2 / mse)
    mse = np.asarray(mse, dtype=np.float64)
    with np.errstate(divide="ignore"):
        value = 10.0 * np.log10(max_val**2 / mse)
    return float(value) if value.ndim == 0 else value


def psnr(y_true, y_pred, max_val: float = 1.0, axis=None):
    """Peak signal-to-noise ratio ``10 log10(max_val^2 / MSE)`` in dB, computed with numpy in float64.

    The PSNR keras-inr reports everywhere (``keras-inr fit``, :func:`keras_inr.fit_signal`, the callbacks, the
    figures, the recipes, the benchmarks). A reconstruction equal to the target gives ``inf``.

    Args:
        y_true: the target, an array (or eager backend tensor) such as an ``(H, W, C)`` image.
        y_pred: the prediction, the same shape as ``y_true`` (or broadcastable to it).
        max_val: the signal's dynamic range (1 for images in ``[0, 1]``); positive.
        axis: axes to average the squared error over; ``None`` (all) gives one value, e.g. ``axis=(1, 2, 3)`` gives
            one PSNR per image of an ``(N, H, W, C)`` stack.

    Returns:
        A Python ``float`` (``axis=None``) or a float64 numpy array of PSNRs.

    Raises:
        ValueError: naming ``max_val`` when it is not positive, or ``y_pred`` when the shapes do not broadcast.

    For PSNR inside a compiled train step use :class:`PSNR` (a Keras metric) or :func:`psnr_from_mse` on a tensor.
    """
    max_val = check_positive_float("max_val", max_val)
    y_true, y_pred = _as_float64(y_true), _as_float64(y_pred)
    try:
        squared = (y_true - y_pred) ** 2
    except ValueError:
        raise ValueError(
            f"`y_pred` must have the shape of `y_true` {y_true.shape}, got shape {y_pred.shape}."
        ) from None
    return psnr_from_mse(np.mean(squared, axis=axis), max_val)


def _as_float64(values) -> np.ndarray:
    """An array or (eager) backend tensor as a float64 numpy array."""
    if ops.is_tensor(values):
        values = ops.convert_to_numpy(values)
    return np.asarray(values, dtype=np.float64)


@register
class PSNR(keras.metrics.Metric):
    """Peak signal-to-noise ratio of everything seen since the last reset, in dB.

    Accumulates the sum of squared errors and the number of values, so the result is the PSNR of the epoch's mean
    squared error (for a full-batch step, exactly the PSNR of the reconstruction). ``fit`` resets it at the start
    of every epoch, so the ``psnr`` it logs is that of the epoch's mean squared error, of the weights before each of
    the epoch's steps: for a run of a single long epoch, well below the final model's PSNR. Split the run into short
    epochs (:func:`keras_inr.training.full_batch`'s ``steps_per_epoch``) to log the PSNR of its last steps.

    Args:
        max_val: the signal's dynamic range (1 for images in ``[0, 1]``); positive.
        name: metric name; logs show it as ``psnr`` and ``val_psnr``.
        dtype: accumulator dtype.
    """

    def __init__(self, max_val: float = 1.0, name: str = "psnr", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.max_val = check_positive_float("max_val", max_val)
        self.squared_error = self.add_variable(shape=(), initializer="zeros", name="squared_error")
        self.count = self.add_variable(shape=(), initializer="zeros", name="count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = ops.cast(y_true, self.dtype)
        y_pred = ops.cast(y_pred, self.dtype)
        squared = ops.square(y_true - y_pred)
        if sample_weight is not None:
            weight = ops.cast(sample_weight, self.dtype)
            while len(weight.shape) < len(squared.shape):
                weight = ops.expand_dims(weight, -1)
            weight = ops.broadcast_to(weight, ops.shape(squared))
            self.squared_error.assign_add(ops.sum(squared * weight))
            self.count.assign_add(ops.sum(weight))
        else:
            self.squared_error.assign_add(ops.sum(squared))
            self.count.assign_add(ops.cast(ops.size(squared), self.dtype))

    def result(self):
        return psnr_from_mse(ops.divide_no_nan(self.squared_error, self.count), self.max_val)

    def get_config(self) -> dict:
        return {**super().get_config(), "max_val": self.max_val}


def _gaussian_filter(image: np.ndarray, sigma: float, radius: int) -> np.ndarray:
    """Separable Gaussian filter of an ``(H, W, C)`` image, keeping only fully covered ("valid") positions."""
    offsets = np.arange(-radius, radius + 1, dtype=np.float64)
    kernel = np.exp(-0.5 * (offsets / sigma) ** 2)
    kernel /= kernel.sum()
    filtered = np.apply_along_axis(lambda line: np.convolve(line, kernel, mode="valid"), 0, image)
    return np.apply_along_axis(lambda line: np.convolve(line, kernel, mode="valid"), 1, filtered)


def ssim(image_true, image_pred, max_val: float = 1.0, sigma: float = 1.5) -> float:
    """Structural similarity of two images (Wang et al. 2004, https://doi.org/10.1109/TIP.2003.819861, eq. 13).

    Gaussian window with ``sigma = 1.5`` (11x11), ``K1 = 0.01``, ``K2 = 0.03``, averaged over valid positions and
    channels -- the paper's setting, equal to ``skimage.metrics.structural_similarity`` with
    ``gaussian_weights=True, use_sample_covariance=False`` up to border handling.

    Args:
        image_true, image_pred: ``(H, W)`` or ``(H, W, C)`` arrays of the same shape, at least 11x11.
        max_val: dynamic range ``L``.
        sigma: standard deviation of the Gaussian window.

    Returns:
        Mean SSIM, a float in ``[-1, 1]``.
    """
    image_true = np.asarray(image_true, dtype=np.float64)
    image_pred = np.asarray(image_pred, dtype=np.float64)
    if image_true.shape != image_pred.shape:
        raise ValueError(f"Images must have the same shape, got {image_true.shape} and {image_pred.shape}.")
    if image_true.ndim == 2:
        image_true, image_pred = image_true[..., None], image_pred[..., None]
    radius = int(3.5 * sigma + 0.5)
    if image_true.ndim != 3 or min(image_true.shape[:2]) < 2 * radius + 1:
        raise ValueError(
            f"Images must be (H, W) or (H, W, C) with H, W >= {2 * radius + 1}, got shape {image_true.shape}."
        )
    c1, c2 = (0.01 * max_val) ** 2, (0.03 * max_val) ** 2  # K1, K2 of Wang et al.
    mu_x = _gaussian_filter(image_true, sigma, radius)
    mu_y = _gaussian_filter(image_pred, sigma, radius)
    var_x = _gaussian_filter(image_true**2, sigma, radius) - mu_x**2
    var_y = _gaussian_filter(image_pred**2, sigma, radius) - mu_y**2
    cov = _gaussian_filter(image_true * image_pred, sigma, radius) - mu_x * mu_y
    ssim_map = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    return float(ssim_map.mean())
