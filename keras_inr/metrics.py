"""Quality metrics: PSNR (one formula, :func:`psnr_from_mse`, behind a numpy function and a Keras metric) and SSIM."""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import ops

from keras_inr.saving import register
from keras_inr.validation import check_positive_float, check_real_array


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

    Raises:
        ValueError: naming ``max_val`` when it is not a positive number, or ``mse`` when a numpy/number input is not
            real or holds a negative error (NaN passes: a diverged model's PSNR is NaN).
    """
    max_val = check_positive_float("max_val", max_val)
    if ops.is_tensor(mse):
        # 1 / 0 is inf in IEEE arithmetic on every backend, and log(inf) is inf.
        return (10.0 / math.log(10.0)) * ops.log(max_val**2 / mse)
    mse = check_real_array("mse", mse, finite=False).astype(np.float64)
    if np.any(mse < 0):
        raise ValueError(f"`mse` must be non-negative (a mean squared error), got minimum {float(np.nanmin(mse))}.")
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
        A Python ``float`` (``axis=None``) or a float64 numpy array of PSNRs. A ``y_pred`` holding NaN gives NaN (a
        diverged model's PSNR), not an error.

    Raises:
        ValueError: naming ``max_val`` when it is not positive, ``y_true`` when it is not real and finite,
            ``y_pred`` when it is not real or the shapes do not broadcast, or ``axis`` when it is no axis of them.

    For PSNR inside a compiled train step use :class:`PSNR` (a Keras metric) or :func:`psnr_from_mse` on a tensor.
    """
    max_val = check_positive_float("max_val", max_val)
    y_true = check_real_array("y_true", y_true).astype(np.float64)
    y_pred = check_real_array("y_pred", y_pred, finite=False).astype(np.float64)
    try:
        squared = (y_true - y_pred) ** 2
    except ValueError:
        raise ValueError(
            f"`y_pred` must have the shape of `y_true` {y_true.shape}, got shape {y_pred.shape}."
        ) from None
    if axis is not None:
        axes = axis if isinstance(axis, (tuple, list)) else (axis,)
        if any(isinstance(a, bool) or not isinstance(a, (int, np.integer)) or not -squared.ndim <= a < squared.ndim
               for a in axes) or len(set(int(a) % squared.ndim for a in axes)) != len(axes):
            raise ValueError(
                f"`axis` must be None, an axis or a tuple of distinct axes of the {squared.ndim}-D values (shape "
                f"{squared.shape}), got {axis!r}."
            )
        axis = tuple(int(a) for a in axes)
    return psnr_from_mse(np.mean(squared, axis=axis), max_val)


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
        name: metric name; logs show it as ``psnr`` and ``val_psnr``; a non-empty string.
        dtype: accumulator dtype.
    """

    def __init__(self, max_val: float = 1.0, name: str = "psnr", dtype=None):
        if not isinstance(name, str) or not name:
            raise ValueError(f"`name` must be a non-empty string, got {name!r}.")
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
        image_true, image_pred: ``(H, W)`` or ``(H, W, C)`` arrays of the same shape, at least 11x11; real (the
            reference also finite).
        max_val: dynamic range ``L``; positive.
        sigma: standard deviation of the Gaussian window; positive (the window is ``2 round(3.5 sigma) + 1`` wide).

    Returns:
        Mean SSIM, a float in ``[-1, 1]`` (NaN when ``image_pred`` holds NaN).

    Raises:
        ValueError: naming ``image_true``, ``image_pred``, ``max_val`` or ``sigma`` when invalid.
    """
    max_val = check_positive_float("max_val", max_val)
    sigma = check_positive_float("sigma", sigma)
    image_true = check_real_array("image_true", image_true, ndim=(2, 3)).astype(np.float64)
    image_pred = check_real_array("image_pred", image_pred, ndim=(2, 3), finite=False).astype(np.float64)
    if image_true.shape != image_pred.shape:
        raise ValueError(
            f"Images must have the same shape: `image_pred` has shape {image_pred.shape}, `image_true` "
            f"{image_true.shape}."
        )
    if image_true.ndim == 2:
        image_true, image_pred = image_true[..., None], image_pred[..., None]
    radius = int(3.5 * sigma + 0.5)
    if image_true.ndim != 3 or min(image_true.shape[:2]) < 2 * radius + 1:
        raise ValueError(
            f"`image_true` and `image_pred` must be (H, W) or (H, W, C) images with H, W >= {2 * radius + 1} (the "
            f"window of sigma={sigma:g}), got shape {image_true.shape}."
        )
    c1, c2 = (0.01 * max_val) ** 2, (0.03 * max_val) ** 2  # K1, K2 of Wang et al.
    mu_x = _gaussian_filter(image_true, sigma, radius)
    mu_y = _gaussian_filter(image_pred, sigma, radius)
    var_x = _gaussian_filter(image_true**2, sigma, radius) - mu_x**2
    var_y = _gaussian_filter(image_pred**2, sigma, radius) - mu_y**2
    cov = _gaussian_filter(image_true * image_pred, sigma, radius) - mu_x * mu_y
    ssim_map = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    return float(ssim_map.mean())
