"""Serialization helpers: one decorator registers every keras-inr class under the ``keras_inr`` package name."""

from __future__ import annotations

import keras


def register(cls):
    """Register ``cls`` as Keras-serializable under ``keras_inr>ClassName`` so ``.keras`` files load it back."""
    return keras.saving.register_keras_serializable(package="keras_inr")(cls)
