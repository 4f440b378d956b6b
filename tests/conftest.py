"""Shared fixtures and helpers of the keras-inr test suite (runs under whatever KERAS_BACKEND is set)."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import keras_inr  # noqa: E402,F401  (selects the backend before anything else imports keras)

if keras.backend.backend() == "torch" and os.environ.get("PYTEST_XDIST_WORKER"):
    # Several test workers share the cores: PyTorch's own thread pool per worker oversubscribes them (small CPU
    # training steps then run many times slower), so each worker computes on one thread.
    import torch

    torch.set_num_threads(1)


def to_numpy(tensor) -> np.ndarray:
    """Any backend tensor (or variable) as a numpy array."""
    return np.asarray(keras.ops.convert_to_numpy(tensor))


def tuner_space(hp) -> dict:
    """name -> entry of a ``keras_tuner.HyperParameters``' space; fails if a name is declared twice."""
    entries = {}
    for entry in hp.space:
        assert entry.name not in entries, f"hyperparameter {entry.name!r} declared twice"
        entries[entry.name] = entry
    return entries


def optimizer_learning_rate(model) -> float:
    """The current learning rate of a compiled model's optimizer."""
    return float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))


@pytest.fixture(autouse=True)
def _clear_keras_session():
    """Fresh Keras name scopes per test, and a fixed seed so tests are reproducible."""
    keras.backend.clear_session()
    keras.utils.set_random_seed(1234)
    yield


@pytest.fixture(scope="session")
def small_camera() -> np.ndarray:
    """The bundled camera image at 32x32, float32 (32, 32, 1) in [0, 1]."""
    from keras_inr.data import load_image

    return load_image("camera", size=32)


@pytest.fixture(scope="session")
def backend_name() -> str:
    return keras.backend.backend()


# --- a user-registered family, as in the registry issue's example (keras_inr/families.py's docstring) ---------------
@keras.saving.register_keras_serializable(package="keras_inr_tests")
class CosineDense(keras_inr.layers.CoordinateDense):
    """cos(w0 (x W + b)): the user family the registry tests, the tuner tests and the fit tests register."""

    def __init__(self, units, w0=10.0, **kwargs):
        super().__init__(units, **kwargs)
        self.w0 = w0

    def activate(self, preactivation):
        return keras.ops.cos(self.w0 * preactivation)

    def get_config(self):
        return {**super().get_config(), "w0": self.w0}


@pytest.fixture
def cosine():
    """Register the family "cosine" (w0 default 10, searched over 1..50) for one test and remove it afterwards."""
    from keras_inr import families

    family = families.register("cosine", CosineDense, defaults={"w0": 10.0}, search={"w0": (1.0, 50.0)})
    yield family
    families.unregister("cosine")
