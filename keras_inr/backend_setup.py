"""Choose the Keras backend before Keras is imported.

keras-inr's default backend is JAX. Keras reads ``KERAS_BACKEND`` once, when it is first imported, so this module must
run before ``import keras``; ``keras_inr/__init__.py`` imports it first. If the user already set ``KERAS_BACKEND``
(``jax``, ``tensorflow`` or ``torch``) it is left alone.
"""

from __future__ import annotations

import os
import sys

SUPPORTED_BACKENDS = ("jax", "tensorflow", "torch")


def select_default_backend() -> str:
    """Set ``KERAS_BACKEND`` to ``"jax"`` when unset and return the backend Keras will use.

    Raises:
        ValueError: if ``KERAS_BACKEND`` names a backend keras-inr does not support.
    """
    requested = os.environ.get("KERAS_BACKEND")
    if requested is None and "keras" not in sys.modules:
        os.environ["KERAS_BACKEND"] = "jax"
        requested = "jax"
    if requested is not None and requested not in SUPPORTED_BACKENDS:
        raise ValueError(
            f"KERAS_BACKEND={requested!r} is not supported by keras-inr; expected one of {SUPPORTED_BACKENDS}."
        )
    return requested or "jax"
