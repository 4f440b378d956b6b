"""Backend selection at import, and the optimiser/schedule helpers."""

from __future__ import annotations

import os
import subprocess
import sys

import keras
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
        training.recommended("wire")


def test_compile_inr_logs_psnr():
    model = training.compile_inr(SIREN(1, width=8, depth=1), learning_rate=1e-3, schedule="constant")
    history = model.fit(keras.ops.zeros((8, 2)), keras.ops.ones((8, 1)), epochs=1, verbose=0)
    assert set(history.history) == {"loss", "psnr"}
