"""Metrics: PSNR against hand computations, accumulation, SSIM against scikit-image."""

from __future__ import annotations

import numpy as np
import pytest

from keras_inr.metrics import PSNR, psnr, ssim
from tests.conftest import to_numpy


def test_psnr_metric_matches_hand_computation():
    rng = np.random.default_rng(0)
    target = rng.uniform(0, 1, (50, 3)).astype("float32")
    prediction = target + rng.normal(0, 0.05, target.shape).astype("float32")
    by_hand = 10 * np.log10(1.0 / np.mean((target - prediction) ** 2))
    metric = PSNR()
    metric.update_state(target, prediction)
    assert float(to_numpy(metric.result())) == pytest.approx(by_hand, abs=1e-3)
    assert float(to_numpy(psnr(target, prediction))) == pytest.approx(by_hand, abs=1e-3)
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
