"""Layers: shapes, the papers' maths and initial weight bounds, config round trips, external weights, bad input."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest

from keras_inr import activations
from keras_inr.layers import CoordinateDense, FourierFeatures, GaussianDense, PositionalEncoding, SineDense
from tests.conftest import to_numpy


def _uniform_check(values: np.ndarray, bound: float) -> None:
    """Values lie in [-bound, bound], reach near it, and have the U(-c, c) standard deviation c/sqrt(3)."""
    values = values.reshape(-1)
    assert np.all(np.abs(values) <= bound * (1 + 1e-6))
    assert np.abs(values).max() > 0.9 * bound
    assert values.std() == pytest.approx(bound / math.sqrt(3), rel=0.1)


def test_sine_dense_first_layer_init_and_output():
    layer = SineDense(256, w0=30.0, is_first=True)
    coordinates = np.random.uniform(-1, 1, (64, 2)).astype("float32")
    outputs = to_numpy(layer(coordinates))
    assert outputs.shape == (64, 256)
    kernel, bias = to_numpy(layer.kernel), to_numpy(layer.bias)
    _uniform_check(kernel, 1.0 / 2)  # U(-1/n, 1/n) with n = 2 (Sitzmann et al. 2020, sec. 3.2)
    _uniform_check(bias, 1.0 / math.sqrt(2))  # torch.nn.Linear default, as in the reference implementation
    np.testing.assert_allclose(outputs, np.sin(30.0 * (coordinates @ kernel + bias)), rtol=1e-4, atol=1e-4)


def test_sine_dense_hidden_layer_init():
    layer = SineDense(300, w0=15.0)
    layer.build((None, 200))
    _uniform_check(to_numpy(layer.kernel), math.sqrt(6 / 200) / 15.0)
    _uniform_check(to_numpy(layer.bias), 1 / math.sqrt(200))


def test_gaussian_dense_maths_and_fan_in_uniform_init():
    layer = GaussianDense(128, inverse_scale=3.0)
    inputs = np.random.uniform(-1, 1, (16, 64)).astype("float32")
    outputs = to_numpy(layer(inputs))
    # torch.nn.Linear's default, as the WIRE reference's Gaussian INR (BENCHMARKS.md, "Family defaults")
    _uniform_check(to_numpy(layer.kernel), 1 / math.sqrt(64))
    _uniform_check(to_numpy(layer.bias), 1 / math.sqrt(64))
    expected = np.exp(-((3.0 * (inputs @ to_numpy(layer.kernel) + to_numpy(layer.bias))) ** 2))
    np.testing.assert_allclose(outputs, expected, rtol=1e-4, atol=1e-5)
    assert outputs.min() >= 0 and outputs.max() <= 1


def test_fourier_features_values_and_distribution():
    layer = FourierFeatures(num_features=2000, scale=4.0, seed=3)
    coordinates = np.random.uniform(-1, 1, (8, 2)).astype("float32")
    features = to_numpy(layer(coordinates))
    assert features.shape == (8, 4000)
    projection = to_numpy(layer.projection)
    assert projection.std() == pytest.approx(4.0, rel=0.05)  # B ~ N(0, scale^2)
    angles = 2 * np.pi * coordinates @ projection
    np.testing.assert_allclose(features, np.concatenate([np.cos(angles), np.sin(angles)], -1), atol=2e-3)
    assert not layer.trainable_weights  # fixed by default, as in Tancik et al.


@pytest.mark.parametrize("trainable", [False, True])
def test_fourier_features_trainable_flag_decides_whether_training_moves_the_projection(trainable):
    layer = FourierFeatures(num_features=4, trainable=trainable, seed=5)
    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Dense(1)(layer(inputs)))
    assert [w.path for w in layer.trainable_weights] == ([layer.projection.path] if trainable else [])
    before = to_numpy(layer.projection)
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    coordinates = np.random.uniform(-1, 1, (16, 3)).astype("float32")
    model.fit(coordinates, np.sin(3 * coordinates[:, :1]), batch_size=16, epochs=1, verbose=0)
    moved = not np.array_equal(to_numpy(layer.projection), before)
    assert moved == trainable


def test_positional_encoding_matches_hand_computation():
    layer = PositionalEncoding(num_frequencies=3, include_input=True)
    coordinates = np.array([[0.25, -0.5]], dtype="float32")
    features = to_numpy(layer(coordinates))
    assert features.shape == (1, 2 * (2 * 3 + 1))
    angles = np.array([2**k * np.pi * c for c in coordinates[0] for k in range(3)])
    expected = np.concatenate([coordinates[0], np.cos(angles), np.sin(angles)])
    np.testing.assert_allclose(features[0], expected, atol=1e-5)


def test_activations_are_the_formulas():
    z = np.linspace(-2, 2, 11).astype("float32")
    np.testing.assert_allclose(to_numpy(activations.sine(z, 7.0)), np.sin(7.0 * z), atol=1e-5)
    np.testing.assert_allclose(to_numpy(activations.gaussian(z, 2.0)), np.exp(-((2.0 * z) ** 2)), atol=1e-6)


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_sine_of_a_16_bit_preactivation_takes_its_phase_in_float32(dtype):
    # z values exact in both 16-bit formats; w0 * z near 30 is not (bfloat16 rounds 30.x to a multiple of 0.125)
    z = keras.ops.cast(np.array([0.9921875, 1.0078125, -0.99609375], "float32"), dtype)
    outputs = activations.sine(z, 30.3)
    assert keras.backend.standardize_dtype(outputs.dtype) == dtype
    exact = np.sin(30.3 * to_numpy(keras.ops.cast(z, "float32")))
    ulp = 2.0**-8 if dtype == "bfloat16" else 2.0**-11  # the output's own rounding near 1
    np.testing.assert_allclose(to_numpy(keras.ops.cast(outputs, "float32")), exact, atol=ulp)


@pytest.mark.parametrize(
    "make",
    [
        lambda dtype: SineDense(32, w0=30.0, is_first=True, dtype=dtype),
        lambda dtype: FourierFeatures(16, scale=10.0, seed=2, dtype=dtype),
        lambda dtype: PositionalEncoding(10, dtype=dtype),
    ],
)
@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_coordinate_layers_compute_in_float32_under_mixed_policies(make, policy):
    """The layers that see coordinates keep their phases: only the output's rounding separates them from float32."""
    coordinates = np.random.uniform(-1, 1, (64, 2)).astype("float32")
    coordinates[0] = [0.99609375 + 2.0**-12, -1.0]  # a coordinate that 16 bits cannot hold
    mixed, reference = make(policy), make(None)
    outputs = mixed(coordinates)
    compute = keras.dtype_policies.get(policy).compute_dtype
    assert keras.backend.standardize_dtype(outputs.dtype) == compute
    assert all(keras.backend.standardize_dtype(w.dtype) == "float32" for w in mixed.weights)
    reference(coordinates)
    reference.set_weights(mixed.get_weights())
    expected = to_numpy(reference(coordinates))
    ulp = 2.0**-8 if compute == "bfloat16" else 2.0**-11
    actual = to_numpy(keras.ops.cast(outputs, "float32"))
    np.testing.assert_allclose(actual, expected, atol=ulp * np.abs(expected).max())


@pytest.mark.parametrize(
    "layer",
    [
        lambda: SineDense(8, w0=12.0, is_first=True),
        lambda: GaussianDense(8, inverse_scale=2.5),
        lambda: CoordinateDense(8, activation="relu"),
        lambda: FourierFeatures(4, scale=3.0, seed=1),
        lambda: PositionalEncoding(3, include_input=False),
    ],
)
def test_config_round_trip_keeps_maths(layer):
    original = layer()
    coordinates = np.random.uniform(-1, 1, (5, 2)).astype("float32")
    expected = to_numpy(original(coordinates))
    restored = keras.layers.deserialize(keras.layers.serialize(original))
    assert type(restored) is type(original)
    assert restored.get_config() == original.get_config()
    if not restored.built:
        restored.build((None, 2))
    restored.set_weights(original.get_weights())
    np.testing.assert_allclose(to_numpy(restored(coordinates)), expected, rtol=1e-6)


@pytest.mark.parametrize("layer_class", [SineDense, GaussianDense])
def test_per_sample_weights_match_a_loop_over_samples(layer_class):
    layer = layer_class(6)
    batch, points, fan_in = 3, 5, 4
    layer.build((None, fan_in))
    inputs = np.random.uniform(-1, 1, (batch, points, fan_in)).astype("float32")
    kernels = np.random.uniform(-0.3, 0.3, (batch, fan_in, 6)).astype("float32")
    biases = np.random.uniform(-0.3, 0.3, (batch, 6)).astype("float32")
    batched = to_numpy(layer.call_with_weights(inputs, kernels, biases))
    looped = np.stack([to_numpy(layer.call_with_weights(inputs[i], kernels[i], biases[i])) for i in range(batch)])
    # atol: the loop's 2-D calls may take a fused matmul+bias (PyTorch addmm) that rounds the pre-activation
    # differently by ~1 float32 ulp, which sin(w0 z) with w0 = 30 turns into ~2e-6.
    np.testing.assert_allclose(batched, looped, rtol=1e-5, atol=1e-5)
    # shared kernel with per-sample bias (shift modulation) broadcasts too
    shifted = to_numpy(layer.call_with_weights(inputs, kernels[0], biases))
    looped_shifted = to_numpy(layer.call_with_weights(inputs[1], kernels[0], biases[1]))
    np.testing.assert_allclose(shifted[1], looped_shifted, atol=1e-5)


def test_own_weights_equal_call():
    layer = SineDense(5, is_first=True)
    inputs = np.random.uniform(-1, 1, (7, 2)).astype("float32")
    np.testing.assert_allclose(
        to_numpy(layer(inputs)), to_numpy(layer.call_with_weights(inputs, layer.kernel, layer.bias)), atol=1e-6
    )


@pytest.mark.parametrize(
    "make, argument",
    [
        (lambda: SineDense(0), "units"),
        (lambda: SineDense(4, w0=0.0), "w0"),
        (lambda: SineDense(4, w0=-3.0), "w0"),
        (lambda: GaussianDense(4, inverse_scale=0), "inverse_scale"),
        (lambda: FourierFeatures(0), "num_features"),
        (lambda: FourierFeatures(4, scale=-1.0), "scale"),
        (lambda: FourierFeatures(4, scale=float("nan")), "scale"),
        (lambda: PositionalEncoding(0), "num_frequencies"),
        (lambda: CoordinateDense(4, activation="swish"), "activation"),
        (lambda: CoordinateDense(2.5), "units"),
    ],
)
def test_bad_hyperparameters_name_the_argument(make, argument):
    with pytest.raises(ValueError, match=argument):
        make()


def test_wrong_input_dimension_after_build_is_a_clear_error():
    layer = SineDense(4, is_first=True)
    layer(np.zeros((2, 2), "float32"))
    with pytest.raises(ValueError, match="axis -1"):
        layer(np.zeros((2, 3), "float32"))


@pytest.mark.skipif(keras.backend.backend() != "torch", reason="the fused addmm path exists only on PyTorch")
def test_torch_fused_affine_matches_matmul_plus_bias_in_value_and_gradient():
    import torch

    from keras_inr.backends import torch as torch_backend
    from keras_inr.layers.dense import affine

    generator = torch.Generator().manual_seed(0)
    inputs = torch.randn(7, 3, generator=generator)
    kernel = torch.randn(3, 5, generator=generator, requires_grad=True)
    bias = torch.randn(5, generator=generator, requires_grad=True)
    assert torch_backend.can_fuse(inputs, kernel, bias)
    assert not torch_backend.can_fuse(inputs[None], kernel, bias)  # batched inputs take the keras.ops path
    assert not torch_backend.can_fuse(inputs.double(), kernel, bias)  # mixed dtypes: keras.ops promotes them
    fused = affine(inputs, kernel, bias)
    (fused_kernel_grad, fused_bias_grad) = torch.autograd.grad(fused.sin().sum(), (kernel, bias))
    reference = inputs @ kernel + bias
    (kernel_grad, bias_grad) = torch.autograd.grad(reference.sin().sum(), (kernel, bias))
    torch.testing.assert_close(fused, reference)
    torch.testing.assert_close(fused_kernel_grad, kernel_grad)
    torch.testing.assert_close(fused_bias_grad, bias_grad)
