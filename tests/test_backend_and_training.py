"""Backend selection at import, and the optimiser/schedule helpers."""

from __future__ import annotations

import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from keras_inr import training
from keras_inr.models import SIREN


def _import_in_fresh_process(environment: dict) -> subprocess.CompletedProcess:
    code = "import keras_inr, keras; print(keras.backend.backend())"
    return subprocess.run([sys.executable, "-c", code], env=environment, capture_output=True, text=True, timeout=300)


def test_jax_is_the_default_backend():
    environment = {key: value for key, value in os.environ.items() if key != "KERAS_BACKEND"}
    result = _import_in_fresh_process(environment)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "jax"


def test_unsupported_backend_is_a_clear_error():
    result = _import_in_fresh_process({**os.environ, "KERAS_BACKEND": "numpy"})
    assert result.returncode != 0 and "KERAS_BACKEND='numpy' is not supported" in result.stderr


def test_cosine_schedule_decays_to_the_final_fraction():
    schedule = training.make_learning_rate(1e-3, "cosine", total_steps=100, final_learning_rate_fraction=0.1)
    assert float(keras.ops.convert_to_numpy(schedule(0))) == pytest.approx(1e-3)
    assert float(keras.ops.convert_to_numpy(schedule(100))) == pytest.approx(1e-4)
    assert training.make_learning_rate(5e-4) == 5e-4


@pytest.mark.parametrize(
    "kwargs, argument",
    [
        ({"learning_rate": 0}, "learning_rate"),
        ({"learning_rate": 1e-3, "schedule": "step"}, "schedule"),
        ({"learning_rate": 1e-3, "schedule": "cosine"}, "total_steps"),
        ({"learning_rate": 1e-3, "schedule": "cosine", "total_steps": 0}, "total_steps"),
    ],
)
def test_schedule_bad_input(kwargs, argument):
    with pytest.raises(ValueError, match=argument):
        training.make_learning_rate(**kwargs)


def test_recommended_settings_per_family():
    assert training.recommended("siren")["learning_rate"] == training.RECOMMENDED["learning_rate"]
    assert set(training.recommended("gauss")) == set(training.RECOMMENDED)
    with pytest.raises(ValueError, match="family"):
        training.recommended("not_a_family")  # "wire" is a registered family since c57cce4


def test_compile_inr_logs_psnr():
    model = training.compile_inr(SIREN(1, width=8, depth=1), learning_rate=1e-3, schedule="constant")
    history = model.fit(keras.ops.zeros((8, 2)), keras.ops.ones((8, 1)), epochs=1, verbose=0)
    assert set(history.history) == {"loss", "psnr"}


def _batches(dataset) -> list:
    """The batches a ``full_batch`` feed yields, as numpy pairs (a ``tf.data.Dataset`` or a ``PyDataset``)."""
    if hasattr(dataset, "as_numpy_iterator"):
        return list(dataset.as_numpy_iterator())
    return [tuple(keras.ops.convert_to_numpy(part) for part in dataset[index]) for index in range(len(dataset))]


def test_full_batch_feeds_the_whole_set_steps_times():
    coordinates = np.random.default_rng(0).uniform(-1, 1, (20, 2)).astype("float32")
    values = np.random.default_rng(1).uniform(0, 1, (20, 3)).astype("float32")
    dataset = training.full_batch(coordinates, values, steps=4)
    # TensorFlow gets a tf.data pipeline (a PyDataset runs through a Python generator there); the others FullBatch.
    expected_type = "DatasetV2" if keras.backend.backend() == "tensorflow" else "FullBatch"
    assert expected_type in [cls.__name__ for cls in type(dataset).__mro__]
    batches = _batches(dataset)
    assert len(batches) == 4
    for batch_coordinates, batch_values in batches:
        np.testing.assert_array_equal(batch_coordinates, coordinates)
        np.testing.assert_array_equal(batch_values, values)


def test_full_batch_trains_like_one_batch_epochs():
    """``fit(full_batch(x, y, steps))`` takes the same optimiser steps as ``fit(x, y, batch_size=N, epochs=steps)``."""
    coordinates = np.random.default_rng(0).uniform(-1, 1, (32, 2)).astype("float32")
    values = np.random.default_rng(1).uniform(0, 1, (32, 1)).astype("float32")
    weights = []
    for feed in ("full_batch", "arrays"):
        keras.utils.set_random_seed(3)
        model = training.compile_inr(SIREN(1, width=8, depth=2), learning_rate=1e-2, schedule="constant")
        if feed == "full_batch":
            model.fit(training.full_batch(coordinates, values, 5), epochs=1, verbose=0, shuffle=False)
        else:
            model.fit(coordinates, values, batch_size=32, epochs=5, verbose=0, shuffle=False)
        assert int(keras.ops.convert_to_numpy(model.optimizer.iterations)) == 5
        weights.append([keras.ops.convert_to_numpy(weight) for weight in model.weights])
    for fed, from_arrays in zip(*weights):
        np.testing.assert_allclose(fed, from_arrays, rtol=1e-5, atol=1e-6)


def test_full_batch_splits_the_run_into_epochs_of_steps_per_epoch():
    coordinates = np.zeros((6, 2), "float32")
    values = np.ones((6, 1), "float32")
    dataset = training.full_batch(coordinates, values, 12, steps_per_epoch=4)
    assert len(_batches(dataset)) == 4
    fed = training.FullBatch(coordinates, values, 12, steps_per_epoch=4)
    assert (len(fed), fed.epochs) == (4, 3)
    single = training.FullBatch(coordinates, values, 5)  # without steps_per_epoch: one epoch of all steps, as before
    assert (len(single), single.epochs, single.steps) == (5, 1, 5)
    for bad, argument in (({"steps_per_epoch": 0}, "steps_per_epoch"), ({"steps_per_epoch": 5}, "multiple")):
        with pytest.raises(ValueError, match=argument):
            training.full_batch(coordinates, values, 12, **bad)
        with pytest.raises(ValueError, match=argument):
            training.FullBatch(coordinates, values, 12, **bad)


def _fit_camera(steps_per_epoch):
    """A small SIREN fitted for 120 recommended (cosine) steps to a 32x32 image; (history, image, model)."""
    from keras_inr import data, render

    image = data.load_image("camera", size=32)
    coordinates, values = data.image_to_coordinates(image)
    keras.utils.set_random_seed(0)
    model = training.compile_inr(SIREN(1, width=32, depth=2, w0=20.0), total_steps=120)
    dataset = training.full_batch(coordinates, values, 120, steps_per_epoch=steps_per_epoch)
    epochs = 120 // (steps_per_epoch or 120)
    history = model.fit(dataset, epochs=epochs, verbose=0, shuffle=False)
    assert int(keras.ops.convert_to_numpy(model.optimizer.iterations)) == 120
    return history, image, model, render(model, image.shape[:2]), (coordinates, values)


def test_recommended_epochs_log_the_final_models_psnr():
    """With epochs of ``steps_per_epoch`` steps the last logged ``psnr`` is within 0.2 dB of the final model's PSNR;
    one epoch of the whole run logs the run's average, several dB lower (the bug this guards against)."""
    from keras_inr.metrics import psnr

    history, image, model, reconstruction, (coordinates, values) = _fit_camera(steps_per_epoch=10)
    final = psnr(image, reconstruction)
    evaluated = model.evaluate(training.full_batch(coordinates, values, 1), verbose=0, return_dict=True)["psnr"]
    assert float(evaluated) == pytest.approx(final, abs=1e-2)
    assert history.history["psnr"][-1] == pytest.approx(final, abs=0.2)

    history, image, _, reconstruction, _ = _fit_camera(steps_per_epoch=None)
    assert history.history["psnr"][-1] < psnr(image, reconstruction) - 2.0


@pytest.mark.parametrize(
    "coordinates, values, steps, argument",
    [
        (np.zeros((4, 2)), np.zeros((4, 1)), 0, "steps"),
        (np.zeros((4, 2)), np.zeros((5, 1)), 2, "same number of rows"),
        (np.zeros(4), np.zeros((4, 1)), 2, "coordinates"),  # (N,): no coordinate axis
    ],
)
def test_full_batch_bad_input(coordinates, values, steps, argument):
    with pytest.raises(ValueError, match=argument):
        training.full_batch(coordinates, values, steps)
    with pytest.raises(ValueError, match=argument):
        training.FullBatch(coordinates, values, steps)


def test_compile_inr_rejects_bfloat16_variables_and_accepts_mixed_policies():
    with pytest.raises(ValueError, match="mixed_bfloat16"):
        training.compile_inr(SIREN(1, width=4, depth=1, dtype="bfloat16"), total_steps=10)
    for policy in ("mixed_bfloat16", "mixed_float16", "float32"):
        model = training.compile_inr(SIREN(1, width=4, depth=1, dtype=policy), total_steps=10)
        assert model.optimizer is not None
