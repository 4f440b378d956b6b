"""Metrics: PSNR against hand computations, accumulation, SSIM against scikit-image."""

from __future__ import annotations

import numpy as np
import pytest
from keras import ops

from keras_inr.metrics import PSNR, psnr, psnr_from_mse, ssim
from tests.conftest import to_numpy


def test_psnr_metric_matches_hand_computation():
    rng = np.random.default_rng(0)
    target = rng.uniform(0, 1, (50, 3)).astype("float32")
    prediction = target + rng.normal(0, 0.05, target.shape).astype("float32")
    by_hand = 10 * np.log10(1.0 / np.mean((target - prediction) ** 2))
    metric = PSNR()
    metric.update_state(target, prediction)
    assert float(to_numpy(metric.result())) == pytest.approx(by_hand, abs=1e-3)
    in_float64 = 10 * np.log10(1.0 / np.mean((target.astype(np.float64) - prediction.astype(np.float64)) ** 2))
    assert psnr(target, prediction) == pytest.approx(in_float64, rel=1e-12)  # computed in float64
    assert isinstance(psnr(target, prediction), float)
    # max_val enters as max_val^2
    metric_255 = PSNR(max_val=255.0)
    metric_255.update_state(target * 255, prediction * 255)
    assert float(to_numpy(metric_255.result())) == pytest.approx(by_hand, abs=1e-2)


def test_psnr_accumulates_squared_error_over_batches():
    rng = np.random.default_rng(1)
    first_true, second_true = rng.uniform(size=(10, 1)), rng.uniform(size=(30, 1))
    first_pred, second_pred = first_true + 0.1, second_true - 0.01
    metric = PSNR()
    metric.update_state(first_true, first_pred)
    metric.update_state(second_true, second_pred)
    overall_mse = (10 * 0.1**2 + 30 * 0.01**2) / 40
    assert float(to_numpy(metric.result())) == pytest.approx(10 * np.log10(1 / overall_mse), abs=1e-3)
    metric.reset_state()
    metric.update_state(first_true, first_pred)
    assert float(to_numpy(metric.result())) == pytest.approx(20.0, abs=1e-3)


def test_psnr_sample_weight_ignores_masked_rows():
    target = np.zeros((4, 2), "float32")
    prediction = np.array([[0.1, 0.1], [0.1, 0.1], [5.0, 5.0], [5.0, 5.0]], "float32")
    metric = PSNR()
    metric.update_state(target, prediction, sample_weight=np.array([1, 1, 0, 0], "float32"))
    assert float(to_numpy(metric.result())) == pytest.approx(20.0, abs=1e-3)


def test_psnr_rejects_bad_max_val():
    with pytest.raises(ValueError, match="max_val"):
        PSNR(max_val=0)


def test_psnr_conventions_are_shared_by_the_function_the_metric_and_tensors():
    target = np.linspace(0, 1, 24, dtype="float32").reshape(2, 3, 4, 1)
    # zero error is +inf everywhere (never NaN, never an error)
    assert psnr(target, target) == np.inf
    metric = PSNR()
    metric.update_state(target, target)
    assert float(to_numpy(metric.result())) == np.inf
    assert psnr_from_mse(0.0) == np.inf
    assert float(to_numpy(psnr_from_mse(ops.convert_to_tensor(0.0)))) == np.inf
    # the same formula for numbers and tensors
    assert psnr_from_mse(0.01) == pytest.approx(20.0)
    assert float(to_numpy(psnr_from_mse(ops.convert_to_tensor([0.01, 1e-4])))[1]) == pytest.approx(40.0, rel=1e-5)
    assert psnr_from_mse(0.01 * 255**2, max_val=255.0) == pytest.approx(20.0)
    # axis: one PSNR per image of a stack; an exact image gives inf without affecting the others
    prediction = target.copy()
    prediction[1] += 0.1
    per_image = psnr(target, prediction, axis=(1, 2, 3))
    assert per_image.shape == (2,) and per_image[0] == np.inf and per_image[1] == pytest.approx(20.0)
    # backend tensors are accepted
    assert psnr(ops.convert_to_tensor(target), ops.convert_to_tensor(prediction)) == pytest.approx(
        psnr(target, prediction)
    )


def test_psnr_bad_input():
    with pytest.raises(ValueError, match="max_val"):
        psnr(np.zeros(3), np.zeros(3), max_val=0)
    with pytest.raises(ValueError, match="`y_pred` must have the shape of `y_true`"):
        psnr(np.zeros((4, 3)), np.zeros((4, 2)))


def test_ssim_matches_scikit_image():
    from skimage.metrics import structural_similarity

    rng = np.random.default_rng(2)
    image = rng.uniform(0, 1, (40, 36, 3))
    noisy = np.clip(image + rng.normal(0, 0.2, image.shape), 0, 1)
    expected = structural_similarity(
        image, noisy, channel_axis=-1, data_range=1.0, gaussian_weights=True, sigma=1.5,
        use_sample_covariance=False,
    )
    assert ssim(image, noisy) == pytest.approx(expected, abs=1e-6)
    assert ssim(image, image) == pytest.approx(1.0)
    assert ssim(image[..., 0], noisy[..., 0]) < 0.9


def test_ssim_bad_input():
    with pytest.raises(ValueError, match="same shape"):
        ssim(np.zeros((20, 20)), np.zeros((20, 21)))
    with pytest.raises(ValueError, match="H, W >= 11"):
        ssim(np.zeros((5, 5)), np.zeros((5, 5)))
