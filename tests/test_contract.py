"""Keras' layer contract (keras_inr.testing) on every public layer, model and registered family, and a user family.

Each case runs the whole harness: symbolic call vs compute_output_shape, eager call, config -> JSON -> from_config
with the same outputs, one fit step, .keras save/load, and the float32 / bfloat16 / mixed_bfloat16 / mixed_float16
policies. The last tests check that the harness itself fails on broken classes.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import ops

import keras_inr
from keras_inr import families, layers, testing
from keras_inr.layers import CoordinateDense, FourierFeatures, GaussianDense, PositionalEncoding, SineDense
from keras_inr.models import SIREN, CombinedINR, CoordinateMLP, FourierFeatureNetwork, GaussianINR

LAYER_CASES = {
    "dense_relu": (CoordinateDense, {"units": 4, "activation": "relu"}, (8, 3)),
    "dense_linear_first": (CoordinateDense, {"units": 3, "is_first": True}, (8, 2)),
    "sine_first": (SineDense, {"units": 4, "w0": 30.0, "is_first": True}, (8, 2)),
    "sine_hidden_batched": (SineDense, {"units": 4, "w0": 30.0}, (2, 8, 6)),
    "gaussian": (GaussianDense, {"units": 4, "inverse_scale": 10.0}, (8, 2)),
    "fourier_fixed": (FourierFeatures, {"num_features": 4, "scale": 5.0, "seed": 1}, (8, 2)),
    "fourier_trainable": (FourierFeatures, {"num_features": 4, "trainable": True, "seed": 2}, (8, 3)),
    "positional": (PositionalEncoding, {"num_frequencies": 10}, (8, 2)),
    "positional_no_input": (PositionalEncoding, {"num_frequencies": 2, "include_input": False}, (8, 1)),
}

MODEL_CASES = {
    "mlp_relu_positional": (
        CoordinateMLP,
        {"out_dims": 2, "width": 8, "depth": 2, "hidden": "relu", "encoding": "positional",
         "encoding_config": {"num_frequencies": 3}},
        (8, 2),
    ),
    "mlp_sine_fourier": (
        CoordinateMLP,
        {"out_dims": 1, "width": 8, "depth": 1, "hidden": "sine", "hidden_config": {"w0": 10.0},
         "encoding": "fourier", "encoding_config": {"num_features": 4, "scale": 1.0, "seed": 3}},
        (8, 3),
    ),
    "mlp_gauss_no_encoding": (CoordinateMLP, {"out_dims": 1, "width": 8, "depth": 1, "hidden": "gauss"}, (8, 1)),
    "mlp_depth_zero": (CoordinateMLP, {"out_dims": 2, "width": 8, "depth": 0, "hidden": "relu"}, (8, 2)),
    "siren": (SIREN, {"out_dims": 1, "width": 8, "depth": 2, "first_w0": 20.0}, (8, 2)),
    "siren_batched_points": (SIREN, {"out_dims": 3, "width": 8, "depth": 1}, (2, 8, 2)),
    "gaussian_inr": (GaussianINR, {"out_dims": 1, "width": 8, "depth": 2}, (8, 2)),
    "fourier_feature_network": (
        FourierFeatureNetwork, {"out_dims": 1, "width": 8, "depth": 2, "num_features": 4, "seed": 4}, (8, 2)
    ),
    "combined": (
        CombinedINR,
        lambda dtype: {"inrs": [SIREN(1, width=8, depth=1, dtype=dtype), GaussianINR(1, width=8, depth=1,
                                                                                     dtype=dtype)]},
        (8, 2),
    ),
}


@pytest.mark.parametrize("case", sorted(LAYER_CASES))
def test_layer_contract(case):
    cls, init_kwargs, input_shape = LAYER_CASES[case]
    testing.run_layer_test(cls, init_kwargs, input_shape)


@pytest.mark.parametrize("case", sorted(MODEL_CASES))
def test_model_contract(case):
    cls, init_kwargs, input_shape = MODEL_CASES[case]
    testing.run_model_test(cls, init_kwargs, input_shape)


@pytest.mark.parametrize("name", families.names())
def test_registered_family_contract(name):
    testing.run_family_test(name, num_points=8, width=8, depth=2)


# --- a family registered by the user: the CosineDense (tests/conftest.py) ------------------------------------
def test_user_family_contract(cosine):
    testing.run_family_test(cosine.name, num_points=8, width=8, depth=2)


@keras.saving.register_keras_serializable(package="keras_inr_tests")
class Float32PhaseCosineDense(layers.CoordinateDense):
    """cos(w0 (x W + b)) with the phase formed in float32 under 16-bit policies (activations.in_float32)."""

    first_layer_in_float32 = False  # only the activation's care, to see it alone

    def __init__(self, units, w0=10.0, **kwargs):
        super().__init__(units, **kwargs)
        self.w0 = w0

    def activate(self, preactivation):
        return keras_inr.activations.in_float32(lambda z: ops.cos(self.w0 * z), preactivation)

    def get_config(self):
        return {**super().get_config(), "w0": self.w0}


@keras.saving.register_keras_serializable(package="keras_inr_tests")
class Float16PhaseCosineDense(Float32PhaseCosineDense):
    """The same with the phase formed in the compute dtype, as the issue's example writes it."""

    def activate(self, preactivation):
        return ops.cos(self.w0 * preactivation)


def test_the_accuracy_check_sees_a_phase_formed_in_16_bits():
    """Inputs exact in bfloat16 and a large w0: the float32 phase keeps the cosine, the bfloat16 one loses it."""
    grid = np.linspace(-1, 1, 129, dtype="float32")  # multiples of 2^-6: exact in bfloat16
    coordinates = np.stack(np.meshgrid(grid, grid), -1).reshape(-1, 2)
    kwargs = {"units": 16, "w0": 60.0, "kernel_initializer": "ones"}  # z = x + y (+ zero bias): exact too
    testing.run_precision_test(Float32PhaseCosineDense, kwargs, input_data=coordinates,
                               policies=("mixed_bfloat16",), tolerances={"bfloat16": 2.0**-7})
    with pytest.raises(AssertionError, match="off the float32 result"):
        testing.run_precision_test(Float16PhaseCosineDense, kwargs, input_data=coordinates,
                                   policies=("mixed_bfloat16",), tolerances={"bfloat16": 2.0**-7})


# --- the harness fails where it should -------------------------------------------------------------------------
@keras.saving.register_keras_serializable(package="keras_inr_tests")
class _ForgetsItsConfig(layers.CoordinateDense):
    def __init__(self, units, scale=2.0, **kwargs):
        super().__init__(units, **kwargs)
        self.scale = scale

    def activate(self, preactivation):
        return self.scale * preactivation


@keras.saving.register_keras_serializable(package="keras_inr_tests")
class _DropsThePolicy(keras.Model):
    def __init__(self, units=2, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.dense = keras.layers.Dense(units)  # no dtype=self.dtype_policy

    def call(self, inputs):
        return self.dense(inputs)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        return {**super().get_config(), "units": self.units}


@keras.saving.register_keras_serializable(package="keras_inr_tests")
class _WrongOutputShape(layers.CoordinateDense):
    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units + 1)


@keras.saving.register_keras_serializable(package="keras_inr_tests")
class _DeadWeight(layers.CoordinateDense):
    def build(self, input_shape):
        super().build(input_shape)
        self.unused = self.add_weight(name="unused", shape=(2,), initializer="ones")


def test_harness_catches_a_config_that_loses_an_argument():
    with pytest.raises(AssertionError, match=r"\[_ForgetsItsConfig\] config round trip"):
        testing.run_layer_test(_ForgetsItsConfig, {"units": 2, "scale": 3.0}, (4, 2), run_precision_check=False)


def test_harness_catches_sublayers_that_ignore_the_policy():
    with pytest.raises(AssertionError, match="sublayers do not follow the policy"):
        testing.run_precision_test(_DropsThePolicy, {"units": 2}, (4, 3), policies=("mixed_bfloat16",))


def test_harness_catches_a_wrong_compute_output_shape():
    with pytest.raises(AssertionError, match="compute_output_shape"):
        testing.run_layer_test(_WrongOutputShape, {"units": 2}, (4, 2), run_precision_check=False)


def test_harness_catches_a_weight_that_never_trains():
    with pytest.raises(AssertionError, match="unchanged"):
        testing.run_layer_test(_DeadWeight, {"units": 2}, (4, 2), run_saving_check=False, run_precision_check=False)


def test_harness_takes_non_coordinate_inputs_and_explicit_data():
    """Models whose input is datapoints (images, here) rather than coordinates, with explicit data and targets."""

    @keras.saving.register_keras_serializable(package="keras_inr_tests")
    class ImageToValue(keras.Model):
        def __init__(self, units=3, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.flatten = keras.layers.Flatten(dtype=self.dtype_policy)
            self.dense = SineDense(units, w0=5.0, dtype=self.dtype_policy)

        def call(self, inputs):
            return self.dense(self.flatten(inputs))

        def compute_output_shape(self, input_shape):
            return (input_shape[0], self.units)

        def get_config(self):
            return {**super().get_config(), "units": self.units}

    images = np.random.default_rng(0).uniform(0, 1, (4, 5, 5, 1)).astype("float32")
    targets = np.zeros((4, 3), "float32")
    testing.run_model_test(ImageToValue, {"units": 3}, input_data=images, train_data=(images, targets),
                           expected_output_shape=(4, 3))


def test_bad_harness_arguments_are_clear_errors():
    with pytest.raises(ValueError, match="input_shape"):
        testing.run_layer_test(SineDense, {"units": 2})
    with pytest.raises(TypeError, match="run_layer_test"):
        testing.run_model_test(SineDense, {"units": 2}, (4, 2))


@pytest.mark.parametrize("cls, init_kwargs", [
    (SIREN, {"out_dims": 1, "width": 8, "depth": 1}),
    (FourierFeatureNetwork, {"out_dims": 1, "width": 8, "depth": 1, "num_features": 4, "seed": 0}),
])
def test_every_policy_trains(cls, init_kwargs):
    """One fit step per policy (mixed_float16: compile wraps the optimizer in a LossScaleOptimizer)."""
    testing.run_precision_test(cls, init_kwargs, (8, 2), policies=("float32", "mixed_bfloat16", "mixed_float16"),
                               run_training_check=True)
    # bfloat16 variables: Keras' Adam cannot move them (beta_2 = 0.999 is 1 in bfloat16); a sign-based step can
    testing.run_precision_test(cls, init_kwargs, (8, 2), policies=("bfloat16",), run_training_check=True,
                               compile_kwargs={"optimizer": keras.optimizers.Lion(1e-2), "loss": "mse"})
    with pytest.raises(AssertionError, match="unchanged"):
        testing.run_precision_test(cls, init_kwargs, (8, 2), policies=("bfloat16",), run_training_check=True)
