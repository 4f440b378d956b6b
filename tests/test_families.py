"""The family registry: built-in records, user registration (the issue's example end to end), bad registrations."""

from __future__ import annotations

import inspect

import keras
import numpy as np
import pytest

import keras_inr
from keras_inr import activations, families, layers, training
from keras_inr.layers import CoordinateDense
from keras_inr.models import SIREN, CoordinateMLP, FourierFeatureNetwork, GaussianINR
from tests.conftest import CosineDense, to_numpy


def _data(points: int = 64):
    rng = np.random.default_rng(0)
    coordinates = rng.uniform(-1, 1, (points, 2)).astype("float32")
    values = np.sin(3.0 * coordinates[:, :1]) * np.cos(2.0 * coordinates[:, 1:])
    return coordinates, values.astype("float32")


# --- built-in records -----------------------------------------------------------------------------------------------
def test_builtin_names_and_aliases():
    assert families.names()[:4] == ("siren", "gauss", "ffn", "relu")
    assert families.canonical("sine") == "siren" and families.canonical("gaussian") == "gauss"
    assert families.get("sine") is families.get("siren")


@pytest.mark.parametrize(
    "family, model_class",
    [("siren", SIREN), ("gauss", GaussianINR), ("ffn", FourierFeatureNetwork), ("wire", keras_inr.WIRE)],
)
def test_named_model_class_defaults_equal_the_registry_defaults(family, model_class):
    """The model classes' signature defaults and the registry's defaults are one fact: a test keeps them equal."""
    signature = inspect.signature(model_class.__init__).parameters
    for name, record in families.get(family).hyperparameters.items():
        assert signature[name].default == record.default, (family, name)
    record = families.get(family)
    for name, hyperparameter in record.hyperparameters.items():  # the layer and encoding classes' defaults too
        owner = {"hidden": record.layer, "encoding": record.encoding}.get(hyperparameter.applies_to)
        if owner is not None:
            owner_default = inspect.signature(owner.__init__).parameters[hyperparameter.argument].default
            assert owner_default == hyperparameter.default, (family, owner.__name__, name)
    model = keras_inr.build_model(family, 1, width=8, depth=1, in_dims=2)
    assert isinstance(model, model_class)
    for name, record in families.get(family).hyperparameters.items():
        assert getattr(model, name) == record.default, (family, name)


def test_recommended_values_and_training_come_from_the_registry():
    assert families.get("siren").recommended() == {"w0": 20.0}  # first_w0 None: tied to w0
    assert training.RECOMMENDED_MODEL == {"family": "siren", "width": 256, "depth": 3, "w0": 20.0}
    assert families.get("ffn").recommended() == {"scale": 5.0, "num_features": 256}
    assert training.recommended("ffn")["learning_rate"] == 3e-3
    assert training.recommended("gauss")["learning_rate"] == training.RECOMMENDED["learning_rate"]
    assert training.recommended("sine") == training.recommended("siren")


def test_coordinate_mlp_hidden_accepts_every_family_name():
    siren = CoordinateMLP(1, width=8, depth=2, hidden="sine", hidden_config={"w0": 12.0, "first_w0": 40.0})
    assert siren.hidden == "siren" and [layer.w0 for layer in siren.hidden_layers] == [40.0, 12.0]
    assert siren.hidden_layers[0].is_first and not siren.hidden_layers[1].is_first
    ffn = CoordinateMLP(1, width=8, depth=1, hidden="ffn", hidden_config={"scale": 2.0, "num_features": 4})
    assert ffn.encoding.scale == 2.0 and ffn.encoding.num_features == 4
    assert ffn.hidden_layers[0].activation_name == "relu"
    # the family's encoding is rebuilt from the hyperparameters, not serialised twice
    rebuilt = CoordinateMLP.from_config(ffn.get_config())
    assert rebuilt.encoding.scale == 2.0 and rebuilt.get_config() == ffn.get_config()


def test_models_saved_with_the_old_hidden_name_still_load():
    config = CoordinateMLP(1, width=8, depth=1, hidden="siren").get_config()
    config["hidden"] = "sine"
    assert CoordinateMLP.from_config(config).hidden == "siren"


# --- the example, end to end ------------------------------------------------------------------------------
def test_user_family_trains_saves_and_loads(cosine, tmp_path):
    model = keras_inr.build_model("cosine", out_dims=1, width=32, depth=2, w0=5.0)
    assert isinstance(model, CoordinateMLP) and model.hidden == "cosine"
    assert all(isinstance(layer, CosineDense) and layer.w0 == 5.0 for layer in model.hidden_layers)
    # its own activate() without an activation name: named after the class, never read as the linear output layer
    assert CosineDense.activation_name == "CosineDense" and model.output_layer.activation_name == "linear"
    coordinates, values = _data()
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")
    before = float(model.evaluate(coordinates, values, verbose=0))
    model.fit(coordinates, values, batch_size=64, epochs=30, verbose=0)
    after = float(model.evaluate(coordinates, values, verbose=0))
    assert after < 0.5 * before
    path = tmp_path / "cosine.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(to_numpy(loaded(coordinates)), to_numpy(model(coordinates)), rtol=1e-5, atol=1e-6)
    assert [layer.w0 for layer in loaded.hidden_layers] == [5.0, 5.0]


def test_user_family_defaults_and_recommended(cosine):
    model = keras_inr.build_model("cosine", out_dims=1, width=4, depth=1)
    assert model.hidden_layers[0].w0 == 10.0
    assert cosine.hyperparameters["w0"].search == (1.0, 50.0)
    assert training.recommended("cosine") == training.RECOMMENDED
    with pytest.raises(ValueError, match="scale"):
        keras_inr.build_model("cosine", out_dims=1, scale=3.0)


@pytest.mark.parametrize("head", ["full", "lowrank", "shift"])
def test_user_family_is_a_hypernetwork_target(cosine, head):
    import hypernets

    rng = np.random.default_rng(0)
    images = rng.uniform(0, 1, (8, 6, 6, 1)).astype("float32")
    encoder = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(8)])
    target = keras_inr.build_model("cosine", out_dims=1, width=8, depth=1, w0=3.0)
    model = hypernets.HyperINR(encoder, target, head=head)
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    history = model.fit(images, images, batch_size=4, epochs=8, verbose=0)
    losses = history.history["loss"]
    assert np.isfinite(losses).all() and losses[-1] < losses[0]
    assert model.render(images[:2], (6, 6)).shape == (2, 6, 6, 1)


# --- bad registrations and lookups -----------------------------------------------------------------------------------
def test_register_rejects_a_duplicate_name(cosine):
    with pytest.raises(ValueError, match="already registered"):
        families.register("cosine", CosineDense, defaults={"w0": 1.0})
    with pytest.raises(ValueError, match="already registered"):
        families.register("siren", CosineDense, defaults={"w0": 1.0})
    with pytest.raises(ValueError, match="already registered"):
        families.register("mine", CosineDense, aliases=("sine",))


def test_register_rejects_a_class_that_is_not_a_coordinate_dense():
    with pytest.raises(ValueError, match="CoordinateDense"):
        families.register("dense", keras.layers.Dense, defaults={})
    with pytest.raises(ValueError, match="CoordinateDense"):
        families.register("dense", "CosineDense", defaults={})
    assert "dense" not in families.names()


def test_register_rejects_defaults_the_class_does_not_accept():
    with pytest.raises(ValueError, match="not accepted by CosineDense"):
        families.register("cosine2", CosineDense, defaults={"frequency": 3.0})
    with pytest.raises(ValueError, match="search"):
        families.register("cosine2", CosineDense, defaults={"w0": 3.0}, search={"omega": (1.0, 2.0)})
    with pytest.raises(ValueError, match="search range"):
        families.register("cosine2", CosineDense, defaults={"w0": 3.0}, search={"w0": (5.0, 1.0)})
    with pytest.raises(ValueError, match="finite number"):
        families.register("cosine2", CosineDense, defaults={"w0": "high"})
    with pytest.raises(ValueError, match="training"):
        families.register("cosine2", CosineDense, defaults={"w0": 3.0}, training={"lr": 1e-3})
    with pytest.raises(ValueError, match="name"):
        families.register("Cosine 2", CosineDense, defaults={"w0": 3.0})
    assert "cosine2" not in families.names()


def test_register_warns_when_the_layer_cannot_be_loaded_from_keras_files():
    class Unregistered(layers.CoordinateDense):
        pass

    with pytest.warns(UserWarning, match="register_keras_serializable"):
        families.register("unregistered", Unregistered)
    families.unregister("unregistered")


def test_builtin_families_cannot_be_unregistered_and_unknown_names_are_named():
    with pytest.raises(ValueError, match="built-in"):
        families.unregister("siren")
    with pytest.raises(ValueError, match="family"):
        families.get("no_such_family")
    with pytest.raises(ValueError, match="hidden"):
        CoordinateMLP(1, hidden="tanh")
    with pytest.raises(ValueError, match="families"):
        families.check_names(["siren", "sine"])
    with pytest.raises(ValueError, match="families"):
        families.check_names([])


def test_hyperparameter_values_are_checked_by_the_registry():
    with pytest.raises(ValueError, match="w0"):
        keras_inr.build_model("siren", 1, w0=-3.0)
    with pytest.raises(ValueError, match="num_features"):
        keras_inr.build_model("ffn", 1, num_features=2.5)
    with pytest.raises(ValueError, match="hidden_config"):
        CoordinateMLP(1, hidden="gauss", hidden_config={"w0": 3.0})


# --- activation names ----------------------------------------------------------------------------------------------
def test_activation_lookup_accepts_only_activation_names():
    assert activations.get("sine") is activations.sine
    for bad in ("ops", "get", "annotations", "", None, 3):
        with pytest.raises(ValueError, match="activation"):
            activations.get(bad)
        with pytest.raises(ValueError, match="activation"):
            CoordinateDense(4, activation=bad) if bad is not None else activations.get(bad)
