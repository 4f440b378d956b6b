"""Keras' layer contract (:mod:`keras_inr.testing`) for the hypernetwork heads and HyperINR, on the active backend.

Config -> JSON -> ``from_config``, a symbolic call, an eager call, one ``fit`` step changing every trainable weight,
``.keras`` save/load with identical outputs, and the dtype policies ``float32``, ``bfloat16``, ``mixed_bfloat16``,
``mixed_float16`` (variables in the variable dtype, outputs in the compute dtype, for the class and every sublayer).
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

import hypernets
import keras_inr
from keras_inr import testing

FEATURES = 6  # encoder feature size
SIZE = 5  # 5x5 grey images


def small_target(dtype=None):
    """A built SIREN (2 hidden layers of 8) in ``dtype``'s policy."""
    return keras_inr.SIREN(out_dims=1, width=8, depth=2, in_dims=2, dtype=dtype)


class _OneBatch(keras.utils.PyDataset):
    """One ``(x, y)`` batch; ``y`` may hold tensors without a batch axis (the heads' shared weights)."""

    def __init__(self, x, y):
        super().__init__()
        self.x, self.y = x, y

    def __len__(self):
        return 1

    def __getitem__(self, index):
        return self.x, self.y


@pytest.mark.parametrize("head", sorted(hypernets.HEADS))
def test_head_keeps_the_layer_contract(head):
    cls = hypernets.HEADS[head]
    features = np.random.default_rng(0).normal(size=(4, FEATURES)).astype("float32")
    # targets for the fit step: zeros shaped like every emitted kernel and bias (tuples: what tf.data accepts)
    outputs = cls(small_target(), seed=0)(features)
    zeros = tuple(tuple(np.zeros(tuple(tensor.shape), "float32") for tensor in pair) for pair in outputs)
    testing.run_layer_test(
        cls,
        # the head reads the target's shapes and weights at construction and keeps only its config
        lambda dtype: {"target": small_target(), "seed": 0},
        input_data=features,
        train_data=_OneBatch(features, zeros),
        compile_kwargs={"optimizer": keras.optimizers.Adam(1e-2), "loss": "mse"},
        expected_num_non_trainable_weights=0,  # (the "equalized" full head's fixed weight scale: not the default)
    )


@pytest.mark.parametrize("head", sorted(hypernets.HEADS))
def test_hyperinr_keeps_the_model_contract(head):
    images = np.random.default_rng(1).uniform(size=(4, SIZE, SIZE, 1)).astype("float32")
    flat = images.reshape(len(images), -1)

    def init_kwargs(dtype):
        # encoder and target follow the policy under test; the head follows the HyperINR's own
        return {"encoder": keras.layers.Dense(FEATURES, dtype=dtype), "target": small_target(dtype), "head": head,
                "points_per_step": None}  # every grid point: the point sampler's state stays unchanged

    testing.run_model_test(
        hypernets.HyperINR, init_kwargs, input_data=flat, train_data=(flat, images),
        compile_kwargs={"optimizer": keras.optimizers.Adam(1e-2)},
    )


def test_auto_decoding_hyperinr_keeps_the_model_contract():
    """Integer datapoint indices through an Embedding encoder (auto-decoding)."""
    images = np.random.default_rng(2).uniform(size=(4, SIZE, SIZE, 1)).astype("float32")
    indices = np.arange(4, dtype="int32")

    def init_kwargs(dtype):
        return {"encoder": keras.layers.Embedding(4, FEATURES, dtype=dtype), "target": small_target(dtype),
                "head": "shift", "points_per_step": None}

    testing.run_model_test(
        hypernets.HyperINR, init_kwargs, input_data=indices, train_data=(indices, images),
        compile_kwargs={"optimizer": keras.optimizers.Adam(1e-2)},
    )
