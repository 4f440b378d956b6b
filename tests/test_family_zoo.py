"""The further families of issue 10 (keras_inr/layers/activated.py): FINER, sinc, HOSC, the activations of Ramasinghe &
Lucey's table 1 and the multi-bump Gaussian, on whatever backend KERAS_BACKEND selects.

Each family: its activation against a numpy transcription of its paper's formula; a fit of a small image well above
the mean-image baseline with its recommended settings; exact .keras save/load; every hypernetwork head; trainable
activation parameters; bad input named. The registry contract checks (config, symbolic call, dtype policies) run for
every registered family in tests/test_contract.py.
"""

from __future__ import annotations

import inspect
import json

import keras
import numpy as np
import pytest

import keras_inr
from keras_inr import activations, families, layers, training
from keras_inr.data import image_to_coordinates
from keras_inr.models import CombinedINR, CoordinateMLP
from tests.conftest import to_numpy

NEW_FAMILIES = (
    "finer", "sinc", "hosc", "laplacian", "quadratic", "multiquadratic", "supergaussian", "expsin", "multigauss",
)
LAYERS = {
    "finer": layers.FinerDense, "sinc": layers.SincDense, "hosc": layers.HoscDense,
    "laplacian": layers.LaplacianDense, "quadratic": layers.QuadraticDense,
    "multiquadratic": layers.MultiQuadraticDense, "supergaussian": layers.SuperGaussianDense,
    "expsin": layers.ExpSinDense, "multigauss": layers.MultiGaussianDense,
}


def _mean_image_psnr(image: np.ndarray) -> float:
    return float(10 * np.log10(1.0 / np.mean((image - image.mean()) ** 2)))


def _model(name: str, width: int = 8, depth: int = 2, **kwargs):
    return keras_inr.build_model(name, 1, width=width, depth=depth, in_dims=2, **kwargs)


# --- the registry ---------------------------------------------------------------------------------------------------
def test_every_new_family_is_registered_with_its_layer_paper_and_search_ranges():
    for name in NEW_FAMILIES:
        record = families.get(name)
        assert record.layer is LAYERS[name] and record.builtin and not record.tuned_by_default
        assert "arxiv.org/abs/" in record.paper and record.help and record.title
        assert all(hp.help for hp in record.hyperparameters.values()), name
        assert any(hp.search is not None for hp in record.hyperparameters.values()), name
        # the layer's signature defaults are the registry's defaults (one fact, as for the classic families)
        signature = inspect.signature(record.layer.__init__).parameters
        for hp in record.hyperparameters.values():
            if hp.applies_to == "hidden":
                assert signature[hp.argument].default == hp.default, (name, hp.name)


def test_finer_model_class_defaults_equal_the_registry_defaults():
    signature = inspect.signature(keras_inr.FINER.__init__).parameters
    record = families.get("finer")
    for name, hp in record.hyperparameters.items():
        assert signature[name].default == hp.default, name
    model = _model("finer")
    assert isinstance(model, keras_inr.FINER)
    assert model.w0 == record.defaults()["w0"] and model.first_bias_scale == record.defaults()["first_bias_scale"]
    first, second = model.hidden_layers
    assert first.bias_scale == record.defaults()["first_bias_scale"] and second.bias_scale is None


def test_finer_first_bias_initialisation_is_the_wide_uniform():
    model = keras_inr.FINER(1, width=2048, depth=2, first_bias_scale=5.0, in_dims=2)
    first_bias = to_numpy(model.hidden_layers[0].bias)
    assert 4.5 < np.abs(first_bias).max() <= 5.0  # U(-5, 5)
    second_bias = to_numpy(model.hidden_layers[1].bias)
    assert np.abs(second_bias).max() <= 1 / np.sqrt(2048) + 1e-7  # torch.nn.Linear's default
    # hypernetwork heads start from the same distribution: resolved_initializers gives U(-k, k)
    _, bias_init = model.hidden_layers[0].resolved_initializers(2)
    assert isinstance(bias_init, keras_inr.initializers.SymmetricUniform) and bias_init.scale == 5.0


# --- activation values against the papers' formulas (numpy) --------------------------------------------------------
Z = np.array([-2.0, -0.7, -0.13, -1e-5, 0.0, 2e-4, 0.05, 0.4, 1.3], dtype="float32")

FORMULAS = {
    # FINER, arXiv 2312.02434: sin(omega (|x| + 1) x)
    "finer": ({"w0": 3.0}, lambda z: np.sin(3.0 * (np.abs(z) + 1.0) * z)),
    # sinc, arXiv 2402.05427: sin(x) / x at x = w0 z (numpy's sinc is the normalised sin(pi x) / (pi x))
    "sinc": ({"w0": 4.0}, lambda z: np.sinc(4.0 * z / np.pi)),
    # HOSC, arXiv 2401.10967: tanh(beta sin x) at x = w0 z
    "hosc": ({"w0": 2.0, "beta": 3.0}, lambda z: np.tanh(3.0 * np.sin(2.0 * z))),
    # Ramasinghe & Lucey, arXiv 2111.15135, table 1 (sigma = 1 / s for the Laplacian, 1 / (sqrt 2 s) for Gaussians)
    "laplacian": ({"inverse_scale": 2.5}, lambda z: np.exp(-np.abs(z) / 0.4)),
    "quadratic": ({"inverse_scale": 3.0}, lambda z: 1.0 / (1.0 + (3.0 * z) ** 2)),
    "multiquadratic": ({"inverse_scale": 3.0}, lambda z: 1.0 / np.sqrt(1.0 + (3.0 * z) ** 2)),
    "supergaussian": (
        {"inverse_scale": 2.0, "power": 1.5},
        lambda z: np.exp(-(z**2) / (2 * (1 / (np.sqrt(2) * 2.0)) ** 2)) ** 1.5,
    ),
    "expsin": ({"w0": 3.0}, lambda z: np.exp(-np.sin(3.0 * z))),
}


@pytest.mark.parametrize("name", sorted(FORMULAS))
def test_activation_matches_the_papers_formula(name):
    kwargs, formula = FORMULAS[name]
    expected = formula(Z.astype("float64"))
    layer = LAYERS[name](1, **kwargs)
    got = to_numpy(layer.activate(keras.ops.convert_to_tensor(Z)))
    np.testing.assert_allclose(got, expected, rtol=2e-5, atol=2e-6)
    # the same maths through the layer with an identity kernel and zero bias
    layer = LAYERS[name](1, kernel_initializer="ones", bias_initializer="zeros", **kwargs)
    outputs = to_numpy(layer(keras.ops.convert_to_tensor(Z[:, None])))[:, 0]
    np.testing.assert_allclose(outputs, expected, rtol=2e-5, atol=2e-6)


def test_multi_bump_gaussian_multiplies_its_bumps():
    """exp(-s^2 mean_k z_k^2) = prod_k exp(-(s / sqrt(K) z_k)^2) for K maps x w_k + b_k of the same input."""
    kernel = np.array([[[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]]], dtype="float32")  # (in 1, units 2, K 3)
    bias = np.array([[0.1, -0.2, 0.3], [0.0, 0.4, -0.1]], dtype="float32")  # (units 2, K 3)
    layer = layers.MultiGaussianDense(2, inverse_scale=1.7, bumps=3)
    layer.build((None, 1))
    assert tuple(layer.kernel.shape) == (1, 2, 3) and tuple(layer.bias.shape) == (2, 3)
    layer.kernel.assign(kernel)
    layer.bias.assign(bias)
    x = np.linspace(-1, 1, 7, dtype="float32")[:, None]
    z = x[:, :, None] * kernel + bias  # (points, units, K)
    expected = np.prod(np.exp(-((1.7 / np.sqrt(3)) * z) ** 2), axis=-1)
    np.testing.assert_allclose(to_numpy(layer(x)), expected, rtol=1e-5, atol=1e-7)
    # one bump is the Gaussian family's activation
    single = layers.MultiGaussianDense(2, inverse_scale=1.7, bumps=1, kernel_initializer="ones",
                                       bias_initializer="zeros")
    np.testing.assert_allclose(
        to_numpy(single(x)), to_numpy(activations.gaussian(keras.ops.convert_to_tensor(np.repeat(x, 2, 1)), 1.7)),
        rtol=1e-6,
    )


def test_sinc_and_finer_gradients_are_finite_and_match_the_reference_conventions():
    """sinc is smooth through 0 (Taylor branch); FINER treats |z| + 1 as a constant unless detach_scale=False."""
    z = np.array([0.0, 1e-6, 0.3, -0.8], dtype="float64")
    w0 = 3.0
    grads = _gradient(lambda t: activations.sinc(t, w0), z)
    u = w0 * z
    expected = np.where(np.abs(u) < 1e-3, -w0 * u / 3.0, w0 * (np.cos(u) / np.where(u == 0, 1, u)
                                                                - np.sin(u) / np.where(u == 0, 1, u) ** 2))
    np.testing.assert_allclose(grads, expected, rtol=1e-4, atol=1e-6)
    detached = _gradient(lambda t: activations.finer(t, w0), z)
    np.testing.assert_allclose(detached, w0 * (np.abs(z) + 1) * np.cos(w0 * (np.abs(z) + 1) * z), rtol=1e-4)
    full = _gradient(lambda t: activations.finer(t, w0, detach_scale=False), z)
    np.testing.assert_allclose(full, w0 * (2 * np.abs(z) + 1) * np.cos(w0 * (np.abs(z) + 1) * z), rtol=1e-4)


def _gradient(function, values: np.ndarray) -> np.ndarray:
    """d/dz sum(function(z)) at float32 ``values``, on the current backend."""
    backend = keras.backend.backend()
    values = values.astype("float32")
    if backend == "jax":
        import jax

        return np.asarray(jax.grad(lambda t: function(t).sum())(values))
    if backend == "tensorflow":
        import tensorflow as tf

        tensor = tf.constant(values)
        with tf.GradientTape() as tape:
            tape.watch(tensor)
            total = tf.reduce_sum(function(tensor))
        return tape.gradient(total, tensor).numpy()
    import torch

    tensor = torch.tensor(values, requires_grad=True)
    function(tensor).sum().backward()
    return tensor.grad.numpy()


# --- fitting a small image -------------------------------------------------------------------------------------------
FIT_STEPS = 200
#: one learning rate for every family so that FIT_STEPS steps suffice: the bump families' recommended 3e-3, three
#: times the periodic families' 1e-3 (their other hyperparameters are the recommended ones)
FIT_LEARNING_RATE = 3e-3
#: dB above the mean-image baseline (11.5 dB) each family must reach at camera 32x32, width 64, depth 2; measured on
#: JAX and PyTorch: 12.8 (multi-quadratic, the slowest) to 50+ dB (FINER, HOSC) over it
FIT_MARGIN = 10.0


@pytest.mark.parametrize("name", NEW_FAMILIES)
def test_fits_a_small_image_well_above_the_mean_image(small_camera, name):
    coordinates, values = image_to_coordinates(small_camera)
    model = keras_inr.build_model(name, 1, width=64, depth=2, **families.get(name).recommended())
    training.compile_inr(model, learning_rate=FIT_LEARNING_RATE, total_steps=FIT_STEPS)
    model.fit(training.full_batch(coordinates, values, FIT_STEPS, steps_per_epoch=FIT_STEPS), epochs=1, verbose=0,
              shuffle=False)
    prediction = to_numpy(model.predict(coordinates, batch_size=len(coordinates), verbose=0))
    psnr = 10 * np.log10(1.0 / np.mean((prediction - values) ** 2))
    assert psnr > _mean_image_psnr(small_camera) + FIT_MARGIN, (name, psnr)


# --- saving -----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", NEW_FAMILIES)
def test_keras_file_round_trip_gives_identical_outputs(tmp_path, name):
    record = families.get(name)
    learnable = record.layer.activation_parameters[-1:]  # one trained activation parameter, saved with the weights
    model = CoordinateMLP(1, width=8, depth=2, hidden=name, in_dims=2, learnable=learnable)
    for variable in model.trainable_variables:  # move every weight off its initial value, learned parameters too
        variable.assign(variable + 0.01)
    coordinates = np.random.default_rng(0).uniform(-1, 1, (16, 2)).astype("float32")
    path = tmp_path / f"{name}.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is type(model) and loaded.hidden == name
    assert [type(layer) for layer in loaded.hidden_layers] == [record.layer, record.layer]
    np.testing.assert_array_equal(to_numpy(loaded(coordinates)), to_numpy(model(coordinates)))
    assert loaded.get_config() == model.get_config()


def test_finer_model_round_trip_keeps_its_hyperparameters(tmp_path):
    model = keras_inr.FINER(1, width=8, depth=2, w0=12.0, first_bias_scale=3.0, in_dims=2)
    model.save(tmp_path / "finer.keras")
    loaded = keras.saving.load_model(tmp_path / "finer.keras")
    assert isinstance(loaded, keras_inr.FINER) and (loaded.w0, loaded.first_bias_scale) == (12.0, 3.0)
    assert loaded.hidden_layers[0].bias_scale == 3.0 and loaded.hidden_layers[0].detach_scale
    coordinates = np.linspace(-1, 1, 10, dtype="float32").reshape(5, 2)
    np.testing.assert_array_equal(to_numpy(loaded(coordinates)), to_numpy(model(coordinates)))


# --- hypernetwork targets -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("head", ["full", "lowrank", "shift"])
def test_every_new_family_is_a_hypernetwork_target_with_each_head(head):
    """One target holding every new family (a CombinedINR, so one compiled step covers them all): a forward pass per
    member on generated weights and one training step with a finite loss."""
    import hypernets

    target = CombinedINR([keras_inr.build_model(name, 1, width=6, depth=2) for name in NEW_FAMILIES])
    encoder = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(8)])
    model = hypernets.HyperINR(encoder, target, head=head)
    images = np.random.default_rng(0).uniform(0, 1, (4, 5, 5, 1)).astype("float32")
    values = to_numpy(model(images[:2], coordinates=keras_inr.data.coordinate_grid((5, 5))[None]))
    assert values.shape == (2, 25, 1) and np.isfinite(values).all()
    for layer in target.weight_layers:  # the multi-bump kernels keep their trailing axis through the heads
        if isinstance(layer, layers.MultiGaussianDense):
            assert tuple(layer.kernel.shape)[-1] == families.get("multigauss").defaults()["bumps"]
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    history = model.fit(images, images, batch_size=4, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"]).all()


# --- learnable activation parameters --------------------------------------------------------------------------------
@pytest.mark.parametrize("name", NEW_FAMILIES)
def test_learnable_activation_parameters_train(name):
    parameters = families.get(name).layer.activation_parameters
    assert parameters, name
    model = CoordinateMLP(1, width=8, depth=2, hidden=name, in_dims=2, learnable=parameters)
    learned = [v for v in model.trainable_variables if v.path.split("/")[-1] in parameters]
    assert len(learned) == 2 * len(parameters)  # one scalar per parameter per hidden layer
    before = [float(to_numpy(v)) for v in learned]
    rng = np.random.default_rng(1)
    coordinates = rng.uniform(-1, 1, (32, 2)).astype("float32")
    values = np.sin(3 * coordinates[:, :1]).astype("float32")
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse", jit_compile=False)
    model.train_on_batch(coordinates, values)
    after = [float(to_numpy(v)) for v in learned]
    assert all(a != b for a, b in zip(after, before)), (name, before, after)
    # without `learnable` they stay fixed numbers, as in the papers
    fixed = CoordinateMLP(1, width=8, depth=2, hidden=name, in_dims=2)
    assert not [v for v in fixed.trainable_variables if v.path.split("/")[-1] in parameters]


# --- bad input ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "cls, kwargs, argument",
    [
        (layers.FinerDense, {"w0": 0.0}, "w0"),
        (layers.FinerDense, {"bias_scale": -1.0}, "bias_scale"),
        (layers.FinerDense, {"detach_scale": "yes"}, "detach_scale"),
        (layers.SincDense, {"w0": -3.0}, "w0"),
        (layers.HoscDense, {"beta": 0.0}, "beta"),
        (layers.HoscDense, {"w0": float("nan")}, "w0"),
        (layers.LaplacianDense, {"inverse_scale": 0.0}, "inverse_scale"),
        (layers.QuadraticDense, {"inverse_scale": -1.0}, "inverse_scale"),
        (layers.MultiQuadraticDense, {"inverse_scale": float("inf")}, "inverse_scale"),
        (layers.SuperGaussianDense, {"power": 0.0}, "power"),
        (layers.ExpSinDense, {"w0": 0.0}, "w0"),
        (layers.MultiGaussianDense, {"bumps": 0}, "bumps"),
        (layers.MultiGaussianDense, {"bumps": 1.5}, "bumps"),
        (layers.MultiGaussianDense, {"inverse_scale": -2.0}, "inverse_scale"),
        (layers.LaplacianDense, {"learnable": ("w0",)}, "learnable"),
    ],
)
def test_layers_reject_bad_hyperparameters_naming_them(cls, kwargs, argument):
    with pytest.raises(ValueError, match=argument):
        cls(4, **kwargs)


@pytest.mark.parametrize(
    "name, kwargs, argument",
    [
        ("finer", {"first_bias_scale": 0.0}, "first_bias_scale"),
        ("finer", {"w0": -30.0}, "w0"),
        ("hosc", {"beta": -1.0}, "beta"),
        ("multigauss", {"bumps": 0}, "bumps"),
        ("multigauss", {"bumps": 2.5}, "bumps"),
        ("laplacian", {"w0": 3.0}, "w0"),  # a hyperparameter the family does not take
        ("sinc", {"beta": 2.0}, "beta"),
        ("supergaussian", {"power": -2.0}, "power"),
    ],
)
def test_build_model_rejects_bad_or_unknown_hyperparameters_naming_them(name, kwargs, argument):
    with pytest.raises(ValueError, match=argument):
        keras_inr.build_model(name, 1, width=4, depth=1, **kwargs)


def test_learnable_names_only_the_familys_parameters():
    with pytest.raises(ValueError, match="learnable"):
        CoordinateMLP(1, width=4, depth=1, hidden="quadratic", learnable=("beta",))


# --- the command line and the tuner ---------------------------------------------------------------------------------
def test_cli_fits_finer_with_its_first_layer_option(tmp_path, capsys):
    from keras_inr import cli

    out = tmp_path / "finer"
    argv = ["fit", "--model", "finer", "--first-bias-scale", "0.5", "--w0", "20", "--size", "16", "--width", "16",
            "--depth", "2", "--steps", "60", "--steps-per-epoch", "20", "--learning-rate", "0.01", "--verbose", "0",
            "--out", str(out)]
    args = cli.parse_args(argv)
    assert (args.model, args.first_bias_scale, args.w0) == ("finer", 0.5, 20.0)
    assert cli.main(argv) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    from keras_inr.data import load_image

    assert metrics["psnr"] > _mean_image_psnr(load_image("camera", size=16)) + 10
    loaded = keras.saving.load_model(out / "model.keras")
    assert isinstance(loaded, keras_inr.FINER) and loaded.hidden_layers[0].bias_scale == 0.5 and loaded.w0 == 20.0
    # an option of another new family is refused, naming it
    assert cli.main(["fit", "--model", "finer", "--beta", "2", "--steps", "1", "--out", str(tmp_path / "x")]) == 2
    assert "--beta applies to --model hosc" in capsys.readouterr().err


def test_tuner_builds_models_of_the_new_families():
    keras_tuner = pytest.importorskip("keras_tuner")
    from keras_inr import tuning

    hypermodel = tuning.INRHyperModel(out_dims=1, families=list(NEW_FAMILIES), width=8, depth=2, jit_compile=False)
    summary = hypermodel.search_space_summary()
    for name in NEW_FAMILIES:
        assert f"({name})" in summary, name
    for name in NEW_FAMILIES:
        hp = keras_tuner.HyperParameters()
        hp.Fixed("family", name)
        model = hypermodel.build(hp)
        assert all(isinstance(layer, LAYERS[name]) for layer in model.hidden_layers), name
        outputs = to_numpy(model(np.zeros((3, 2), dtype="float32")))
        assert outputs.shape == (3, 1) and np.isfinite(outputs).all()
