"""keras-inr: implicit neural representations for Keras 3 on JAX (default), TensorFlow and PyTorch.

Importing ``keras_inr`` selects the JAX backend when ``KERAS_BACKEND`` is unset (set it before importing keras or
keras_inr to choose ``tensorflow`` or ``torch``).
"""

from keras_inr.backend_setup import select_default_backend

select_default_backend()

from keras_inr import (  # noqa: E402
    activations,
    callbacks,
    data,
    derivative_losses,
    differential,
    distribution,
    families,
    fitting,
    initializers,
    layers,
    metrics,
    models,
    samplers,
    signals,
    testing,
    training,
)
from keras_inr.derivative_losses import DerivativeModel  # noqa: E402
from keras_inr.fitting import fit_signal  # noqa: E402
from keras_inr.models import (  # noqa: E402
    FINER,
    SIREN,
    WIRE,
    CombinedINR,
    CoordinateMLP,
    FourierFeatureNetwork,
    GaussianINR,
    build_model,
)
from keras_inr.rendering import render  # noqa: E402

__version__ = "0.1.0"


def __getattr__(name: str):
    """Lazy submodules: ``keras_inr.tuning`` imports KerasTuner (an optional dependency) on first use."""
    if name == "tuning":
        import importlib

        return importlib.import_module("keras_inr.tuning")
    raise AttributeError(f"module 'keras_inr' has no attribute {name!r}")


__all__ = [
    "activations",
    "families",
    "initializers",
    "layers",
    "models",
    "SIREN",
    "WIRE",
    "FINER",
    "GaussianINR",
    "FourierFeatureNetwork",
    "CoordinateMLP",
    "CombinedINR",
    "build_model",
    "callbacks",
    "data",
    "differential",
    "distribution",
    "derivative_losses",
    "DerivativeModel",
    "fitting",
    "fit_signal",
    "metrics",
    "samplers",
    "signals",
    "testing",
    "training",
    "render",
]
