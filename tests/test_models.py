"""Models: shapes for any coordinate dimension, architecture, initialisation, fitting quality, save/load, bad input."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest

from keras_inr import data, training
from keras_inr.layers import CoordinateDense, SineDense
from keras_inr.models import SIREN, CombinedINR, CoordinateMLP, FourierFeatureNetwork, GaussianINR, build_model
from tests.conftest import to_numpy

SMALL_MODELS = {  # name -> make(out_dims, **keras_kwargs)
    "siren": lambda out_dims, **kw: SIREN(out_dims, width=16, depth=2, **kw),
    "gauss": lambda out_dims, **kw: GaussianINR(out_dims, width=16, depth=2, inverse_scale=3.0, **kw),
    "ffn": lambda out_dims, **kw: FourierFeatureNetwork(out_dims, width=16, depth=2, num_features=8, scale=2.0, **kw),
    "mlp_fourier_sine": lambda out_dims, **kw: CoordinateMLP(
        out_dims, 16, 1, hidden="sine", hidden_config={"w0": 10.0}, encoding="fourier",
        encoding_config={"num_features": 4, "scale": 1.0}, **kw,
    ),
    "mlp_positional_relu": lambda out_dims, **kw: CoordinateMLP(
        out_dims, 16, 2, hidden="relu", encoding="positional", encoding_config={"num_frequencies": 3}, **kw
    ),
    "combined": lambda out_dims, **kw: CombinedINR(
        [SIREN(out_dims, width=8, depth=1, **kw), GaussianINR(out_dims, width=8, depth=1, **kw)], **kw
    ),
}


@pytest.mark.parametrize("name", sorted(SMALL_MODELS))
@pytest.mark.parametrize("in_dims", [1, 2, 3])
def test_any_coordinate_dimension(name, in_dims):
    model = SMALL_MODELS[name](3)
    coordinates = np.random.uniform(-1, 1, (11, in_dims)).astype("float32")
    outputs = to_numpy(model(coordinates))
    assert outputs.shape == (11, 3) and np.all(np.isfinite(outputs))
    # every coordinate axis reaches the output, and each point's output depends on that point only
    for axis in range(in_dims):
        moved = coordinates.copy()
        moved[0, axis] += 0.25
        changed = np.any(to_numpy(model(moved)) != outputs, axis=-1)
        assert changed[0], f"moving coordinate axis {axis} did not change the output"
        np.testing.assert_allclose(to_numpy(model(moved))[1:], outputs[1:], atol=1e-6)


def test_siren_architecture_and_reference_initialisation():
    model = SIREN(out_dims=3, width=64, depth=3, w0=30.0, in_dims=2)
    hidden = model.hidden_layers
    assert len(hidden) == 3 and all(isinstance(layer, SineDense) for layer in hidden)
    assert hidden[0].is_first and not hidden[1].is_first
    assert type(model.output_layer) is CoordinateDense and model.output_layer.activation_name == "linear"
    # Output layer as in vsitzmann/siren: U(-sqrt(6/n)/w0, sqrt(6/n)/w0) kernel, U(-1/sqrt(n), 1/sqrt(n)) bias --
    # far narrower than Glorot's sqrt(6/(n+out)) bound, which is what a default Dense would give.
    kernel = to_numpy(model.output_layer.kernel)
    assert np.abs(kernel).max() <= math.sqrt(6 / 64) / 30.0 + 1e-7
    assert np.abs(kernel).max() > 0.5 * math.sqrt(6 / 64) / 30.0
    bias = to_numpy(model.output_layer.bias)
    assert np.abs(bias).max() <= 1 / 8 + 1e-7 and np.abs(bias).max() > 0.01
    assert len(model.weights) == 2 * 4


def test_first_w0_is_used_by_the_first_layer_only():
    model = SIREN(1, width=8, depth=2, w0=20.0, first_w0=60.0)
    assert [layer.w0 for layer in model.hidden_layers] == [60.0, 20.0]


def test_depth_zero_is_a_linear_model():
    model = CoordinateMLP(2, width=8, depth=0, hidden="relu")
    coordinates = np.random.uniform(-1, 1, (6, 2)).astype("float32")
    outputs = to_numpy(model(coordinates))
    expected = coordinates @ to_numpy(model.output_layer.kernel) + to_numpy(model.output_layer.bias)
    np.testing.assert_allclose(outputs, expected, atol=1e-6)


def test_call_with_own_weights_equals_call():
    model = SMALL_MODELS["combined"](2)
    coordinates = np.random.uniform(-1, 1, (4, 5, 2)).astype("float32")
    model(coordinates)
    weights = [(layer.kernel, layer.bias) for layer in model.weight_layers]
    np.testing.assert_allclose(
        to_numpy(model.call_with_weights(coordinates, weights)), to_numpy(model(coordinates)), atol=1e-5
    )
    with pytest.raises(ValueError, match="weights"):
        model.call_with_weights(coordinates, weights[:-1])


def test_combined_inr_is_the_sum_of_its_members():
    first, second = SIREN(1, width=8, depth=1), GaussianINR(1, width=8, depth=1)
    combined = CombinedINR([first, second])
    coordinates = np.random.uniform(-1, 1, (9, 2)).astype("float32")
    np.testing.assert_allclose(
        to_numpy(combined(coordinates)), to_numpy(first(coordinates)) + to_numpy(second(coordinates)), atol=1e-6
    )


@pytest.mark.parametrize("name", sorted(SMALL_MODELS))
def test_save_and_load_give_identical_predictions(name, tmp_path):
    model = SMALL_MODELS[name](2)
    coordinates = np.random.uniform(-1, 1, (13, 2)).astype("float32")
    training.compile_inr(model, learning_rate=1e-3, schedule="constant")
    model.fit(coordinates, np.random.uniform(0, 1, (13, 2)).astype("float32"), epochs=2, verbose=0)
    expected = to_numpy(model(coordinates))
    path = tmp_path / f"{name}.keras"
    model.save(path)
    restored = keras.saving.load_model(path)
    assert type(restored) is type(model)
    np.testing.assert_array_equal(to_numpy(restored(coordinates)), expected)
    # the optimizer state travels too, so training continues from step 2 with Adam's moments
    assert int(restored.optimizer.iterations) == int(model.optimizer.iterations) == 2
    for saved, loaded in zip(model.optimizer.variables, restored.optimizer.variables):
        np.testing.assert_array_equal(to_numpy(loaded), to_numpy(saved))
    restored.fit(coordinates, np.zeros((13, 2), "float32"), epochs=1, verbose=0)
    assert int(restored.optimizer.iterations) == 3


@pytest.mark.parametrize(
    "family, hyperparameters, floor",
    [
        ("siren", {"width": 32, "depth": 2}, 30.0),
        # A constant (mean) prediction of this image scores about 11 dB; the floors sit a little below what each
        # family reaches with its recommended learning rate (SIREN ~ 40, FFN ~ 32, Gaussian ~ 24 dB).
        ("gauss", {"width": 64, "depth": 2, "inverse_scale": 10.0}, 22.0),
        ("ffn", {"width": 32, "depth": 2, "num_features": 64, "scale": 1.0}, 28.0),
    ],
)
def test_fit_on_a_small_image_reaches_a_psnr_floor(family, hyperparameters, floor, small_camera):
    coordinates, values = data.image_to_coordinates(small_camera)
    model = build_model(family, out_dims=1, **hyperparameters)
    steps = 250
    learning_rate = training.recommended(family)["learning_rate"]
    training.compile_inr(model, learning_rate=learning_rate, schedule="cosine", total_steps=steps)
    history = model.fit(coordinates, values, batch_size=len(coordinates), epochs=steps, verbose=0)
    prediction = model.predict(coordinates, batch_size=len(coordinates), verbose=0)
    achieved = 10 * np.log10(1.0 / np.mean((prediction - values) ** 2))
    assert achieved > floor, f"{family} reached only {achieved:.2f} dB after {steps} steps"
    # the PSNR metric logged by fit agrees with a PSNR computed by hand on the final render (one step apart)
    assert history.history["psnr"][-1] == pytest.approx(achieved, abs=1.0)


@pytest.mark.parametrize("policy", ["bfloat16", "mixed_bfloat16", "mixed_float16"])
@pytest.mark.parametrize("name", sorted(SMALL_MODELS))
def test_dtype_policy_reaches_every_sublayer(name, policy):
    """Regression: SIREN(dtype="bfloat16") kept float32 weights and outputs (sublayers built without the policy)."""
    expected = keras.dtype_policies.get(policy)
    model = SMALL_MODELS[name](2, dtype=policy)
    outputs = model(np.random.uniform(-1, 1, (5, 2)).astype("float32"))
    assert keras.backend.standardize_dtype(outputs.dtype) == expected.compute_dtype
    assert {keras.backend.standardize_dtype(w.dtype) for w in model.weights} == {expected.variable_dtype}
    assert {layer.dtype_policy.name for layer in model._flatten_layers()} == {policy}


def test_combined_inr_rejects_members_of_another_policy():
    with pytest.raises(ValueError, match="dtype"):
        CombinedINR([SIREN(1, width=8, depth=1)], dtype="mixed_bfloat16")
    with pytest.raises(ValueError, match="dtype policy"):
        CombinedINR([SIREN(1, width=8, depth=1), SIREN(1, width=8, depth=1, dtype="bfloat16")])


@pytest.mark.parametrize(
    "make, argument",
    [
        (lambda: SIREN(1, width=0), "width"),
        (lambda: SIREN(1, depth=-1), "depth"),
        (lambda: SIREN(0), "out_dims"),
        (lambda: SIREN(1, w0=0.0), "w0"),
        (lambda: SIREN(1, first_w0=-1.0), "first_w0"),
        (lambda: GaussianINR(1, inverse_scale=-2.0), "inverse_scale"),
        (lambda: FourierFeatureNetwork(1, scale=0.0), "scale"),
        (lambda: FourierFeatureNetwork(1, num_features=0), "num_features"),
        (lambda: CoordinateMLP(1, hidden="tanh"), "hidden"),
        (lambda: CoordinateMLP(1, hidden="sine", hidden_config={"scale": 2.0}), "hidden_config"),
        (lambda: CoordinateMLP(1, encoding="hash"), "encoding"),
        (lambda: CombinedINR([]), "inrs"),
        (lambda: CombinedINR([SIREN(1), SIREN(2)]), "out_dims"),
        (lambda: build_model("no_such_family", 1), "family"),
    ],
)
def test_bad_hyperparameters_name_the_argument(make, argument):
    with pytest.raises(ValueError, match=argument):
        make()


@pytest.mark.parametrize("name", ["siren", "combined"])
def test_wrong_coordinate_dimensionality_is_a_clear_error(name):
    model = SMALL_MODELS[name](1)
    model(np.zeros((4, 2), "float32"))
    with pytest.raises(ValueError, match="2-D coordinates"):
        model(np.zeros((4, 3), "float32"))
