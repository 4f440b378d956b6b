"""hypernets.meta on the active backend: MetaModulatedINR (functa: an inner loop inside the train step) and
AutoDecodingINR (Embedding latents), on tiny 8x8 images.

The meta-gradient that each backend's train step applies (read off one SGD step of learning rate 1) is checked
against a central finite difference of the outer loss -- the loss after the inner step, evaluated without any
gradient of the outer loss -- and against the first-order approximation, which must differ.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import keras
import numpy as np
import pytest

import hypernets
import keras_inr
from hypernets import AutoDecodingINR, MetaModulatedINR
from keras_inr import testing
from keras_inr.metrics import psnr
from tests.conftest import to_numpy

SIZE = 8
REPO = Path(__file__).resolve().parents[1]


def waves(count: int, seed: int = 0) -> np.ndarray:
    """``(count, 8, 8, 1)`` smooth images in ``[0.1, 0.9]``: plane waves of random frequencies and phases."""
    rng = np.random.default_rng(seed)
    grid = np.linspace(-1.0, 1.0, SIZE)
    images = [0.5 + 0.4 * np.sin(a * grid[:, None] + b * grid[None, :] + c)
              for a, b, c in rng.uniform((1.0, 1.0, 0.0), (3.0, 3.0, 3.0), (count, 3))]
    return np.stack(images)[..., None].astype("float32")


def small_target(dtype=None):
    return keras_inr.SIREN(out_dims=1, width=16, depth=2, in_dims=2, dtype=dtype)


def meta_model(**kwargs) -> MetaModulatedINR:
    keras.utils.set_random_seed(0)
    return MetaModulatedINR(small_target(), **{"seed": 0, **kwargs})


def values_of(variables) -> list[np.ndarray]:
    return [to_numpy(v).astype("float64") for v in variables]


def sgd_step_gradient(model: MetaModulatedINR, images: np.ndarray) -> list[np.ndarray]:
    """The gradient the backend's train step applies: one full-batch SGD step of learning rate 1, undone after."""
    model.compile(optimizer=keras.optimizers.SGD(1.0))
    before = values_of(model.trainable_variables)
    model.fit(images, batch_size=len(images), epochs=1, shuffle=False, verbose=0)
    gradient = [old - new for old, new in zip(before, values_of(model.trainable_variables))]
    for variable, old in zip(model.trainable_variables, before):
        variable.assign(old.astype("float32"))
    return gradient


def outer_loss(model: MetaModulatedINR, images: np.ndarray, point, direction, step: float) -> float:
    for variable, value, delta in zip(model.trainable_variables, point, direction):
        variable.assign((value + step * delta).astype("float32"))
    loss = float(to_numpy(model.meta_loss((images,), training=False)[0]))
    for variable, value in zip(model.trainable_variables, point):
        variable.assign(value.astype("float32"))
    return loss


# --- the meta-gradient ----------------------------------------------------------------------------------------------
def test_meta_gradient_matches_finite_differences_through_the_inner_step():
    """d/de L(theta + e g/|g|) at 0 equals |g| (central difference, 1e-3): the train step's gradient is the exact
    second-order meta-gradient; the first-order gradient points elsewhere (inner learning rate 0.5: the second-order
    terms matter)."""
    images = waves(4)
    model = meta_model(inner_steps=1, inner_learning_rate=0.5, latent_dim=4)
    gradient = sgd_step_gradient(model, images)
    assert all(np.any(g != 0) for g in gradient), "a trainable variable got no gradient"
    norm = np.sqrt(sum(float(np.sum(g**2)) for g in gradient))
    direction = [g / norm for g in gradient]
    point = values_of(model.trainable_variables)
    eps = 1e-3
    slope = (outer_loss(model, images, point, direction, eps) - outer_loss(model, images, point, direction, -eps)) / (
        2 * eps)
    assert slope == pytest.approx(norm, rel=0.01)

    first_order = sgd_step_gradient(meta_model(inner_steps=1, inner_learning_rate=0.5, latent_dim=4,
                                               first_order=True), images)
    cosine = sum(float(np.sum(a * b)) for a, b in zip(gradient, first_order)) / norm / np.sqrt(
        sum(float(np.sum(b**2)) for b in first_order))
    assert 0.3 < cosine < 0.99, cosine


def test_without_meta_sgd_the_inner_rate_is_a_constant_and_more_inner_steps_fit_better():
    images = waves(4)
    model = meta_model(inner_steps=2, inner_learning_rate=0.2, meta_sgd=False)
    assert [v.name for v in model.non_trainable_variables] == ["inner_learning_rates"]
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    model.fit(images, batch_size=4, epochs=2, verbose=0)
    np.testing.assert_array_equal(to_numpy(model.inner_learning_rates), np.full(model.code_dim, 0.2, "float32"))
    coordinates_values = (keras_inr.data.coordinate_grid((SIZE, SIZE))[None], images.reshape(4, -1, 1))
    one = model.fit_modulations(coordinates_values, steps=1)
    five = model.fit_modulations(coordinates_values, steps=5)
    error = [np.mean((model.render(codes, (SIZE, SIZE)) - images) ** 2) for codes in (one, five)]
    assert error[1] < error[0]


# --- training and unseen signals ------------------------------------------------------------------------------------
@pytest.mark.parametrize("options", [{"latent_dim": 8}, {"modulate": "all", "first_order": True}],
                         ids=["latent-shift", "all-first-order"])
def test_meta_training_lowers_the_loss_and_fit_modulations_helps_unseen_signals(options):
    train, unseen = waves(32, seed=1), waves(4, seed=2)
    model = meta_model(inner_steps=3, inner_learning_rate=0.1, **options)
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    history = model.fit(train, batch_size=8, epochs=6, verbose=0).history
    assert history["loss"][-1] < 0.5 * history["loss"][0], history["loss"]
    assert np.all(np.isfinite(history["psnr"]))
    zero = model.render(np.zeros((4, model.code_dim), "float32"), (SIZE, SIZE))
    codes = model.fit_modulations(unseen, steps=3)
    assert codes.shape == (4, model.code_dim)
    fitted = model.render(codes, (SIZE, SIZE))
    assert float(np.mean(psnr(unseen, fitted, axis=(1, 2, 3)))) > float(np.mean(psnr(unseen, zero, axis=(1, 2, 3)))) + 1
    # the call (inner steps inside) reconstructs as fit_modulations + render do
    np.testing.assert_allclose(to_numpy(model(unseen)), fitted, atol=1e-4)
    logs = model.evaluate(unseen, verbose=0, return_dict=True)
    assert logs["loss"] == pytest.approx(float(np.mean((fitted - unseen) ** 2)), rel=1e-3)


def test_coordinates_and_values_data():
    """fit(coordinates, values): here the same points as the grid, so the same first step as fit(signals)."""
    images = waves(4)
    coordinates = np.broadcast_to(keras_inr.data.coordinate_grid((SIZE, SIZE)), (4, SIZE * SIZE, 2)).copy()
    gradients = []
    for args in ((images,), (coordinates, images.reshape(4, -1, 1))):
        model = meta_model(inner_steps=1, inner_learning_rate=0.1)
        model.compile(optimizer=keras.optimizers.SGD(1.0))
        before = values_of(model.trainable_variables)
        model.fit(*args, batch_size=4, epochs=1, shuffle=False, verbose=0)
        gradients.append([b - a for b, a in zip(before, values_of(model.trainable_variables))])
    for a, b in zip(*gradients):
        np.testing.assert_allclose(a, b, atol=1e-5)


# --- Keras contract, saving -----------------------------------------------------------------------------------------
def test_meta_model_keeps_the_model_contract():
    images = waves(4)
    testing.run_model_test(
        MetaModulatedINR,
        lambda dtype: {"target": small_target(), "inner_steps": 2, "inner_learning_rate": 0.1, "latent_dim": 4,
                       "seed": 0},
        input_data=images, train_data=images, compile_kwargs={"optimizer": keras.optimizers.Adam(1e-2)},
        run_precision_check=False,  # the inner loop and its outputs are float32 whatever the policy
    )


def test_auto_decoder_keeps_the_model_contract():
    images, indices = waves(4), np.arange(4, dtype="int32")
    testing.run_model_test(
        AutoDecodingINR,
        lambda dtype: {"target": small_target(), "num_signals": 4, "latent_dim": 4, "seed": 0},
        input_data=indices, train_data=(indices, images), compile_kwargs={"optimizer": keras.optimizers.Adam(1e-2)},
        run_precision_check=False,
    )


def test_save_and_load_are_exact_including_the_inner_learning_rates(tmp_path):
    images = waves(8)
    model = meta_model(inner_steps=2, inner_learning_rate=0.1, latent_dim=4, modulate="shift")
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    model.fit(images, batch_size=4, epochs=2, verbose=0)
    rates = to_numpy(model.inner_learning_rates)
    assert not np.allclose(rates, 0.1), "Meta-SGD did not move the inner learning rates"
    path = tmp_path / "meta.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is MetaModulatedINR and loaded.get_config() == model.get_config()
    for a, b in zip(model.weights, loaded.weights):
        np.testing.assert_array_equal(to_numpy(a), to_numpy(b), err_msg=a.path)
    np.testing.assert_array_equal(loaded.fit_modulations(images), model.fit_modulations(images))
    # training resumes: the optimizer state came back too
    for a, b in zip(values_of(model.optimizer.variables), values_of(loaded.optimizer.variables)):
        np.testing.assert_array_equal(a, b)
    model.fit(images, batch_size=4, epochs=1, shuffle=False, verbose=0)
    loaded.fit(images, batch_size=4, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(model.trainable_variables, loaded.trainable_variables):
        np.testing.assert_allclose(to_numpy(a), to_numpy(b), atol=1e-6, err_msg=a.path)


# --- auto-decoding --------------------------------------------------------------------------------------------------
def test_auto_decoding_trains_and_fits_the_latent_of_a_new_signal(tmp_path):
    train, unseen = waves(16, seed=3), waves(2, seed=4)
    keras.utils.set_random_seed(0)
    model = AutoDecodingINR(small_target(), num_signals=16, latent_dim=8, seed=0)
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    history = model.fit(np.arange(16), train, batch_size=8, epochs=15, verbose=0).history
    assert history["loss"][-1] < 0.5 * history["loss"][0], history["loss"]
    frozen = values_of(model.weights)
    latents = model.fit_latents(unseen, steps=30, learning_rate=0.01)
    assert latents.shape == (2, 8)
    for a, b in zip(frozen, values_of(model.weights)):
        np.testing.assert_array_equal(a, b)  # the network and the training latents are frozen
    fitted = model.render(latents, (SIZE, SIZE))
    zero = model.render(np.zeros((2, 8), "float32"), (SIZE, SIZE))
    assert float(np.mean(psnr(unseen, fitted, axis=(1, 2, 3)))) > float(np.mean(psnr(unseen, zero, axis=(1, 2, 3)))) + 1
    model.save(tmp_path / "auto.keras")
    loaded = keras.saving.load_model(tmp_path / "auto.keras")
    assert loaded.get_config() == model.get_config()
    np.testing.assert_array_equal(to_numpy(loaded(np.arange(16))), to_numpy(model(np.arange(16))))
    np.testing.assert_array_equal(loaded.render(latents, (SIZE, SIZE)), fitted)


# --- bad input ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [({"inner_steps": 0}, "inner_steps"), ({"inner_steps": 1.5}, "inner_steps"),
     ({"inner_learning_rate": 0.0}, "inner_learning_rate"), ({"inner_learning_rate": -1e-2}, "inner_learning_rate"),
     ({"latent_dim": 0}, "latent_dim"), ({"modulate": "scale"}, "modulate"), ({"meta_sgd": "yes"}, "meta_sgd"),
     ({"in_dims": 3}, "in_dims")],
)
def test_bad_constructor_arguments_name_the_argument(kwargs, argument):
    with pytest.raises(ValueError, match=argument):
        MetaModulatedINR(small_target(), **kwargs)


def test_bad_data_names_the_argument():
    model = meta_model(inner_steps=1)
    model.compile(optimizer="adam")
    with pytest.raises(ValueError, match="channels"):
        model.fit(np.zeros((4, SIZE, SIZE, 3), "float32"), verbose=0)
    with pytest.raises(ValueError, match="grid"):
        model.fit(np.zeros((4, SIZE * SIZE), "float32"), verbose=0)
    with pytest.raises(ValueError, match="`x`"):
        model.fit(np.zeros((4, 10, 3), "float32"), np.zeros((4, 10, 1), "float32"), verbose=0)
    with pytest.raises(ValueError, match="points"):
        model.fit(np.zeros((4, 10, 2), "float32"), np.zeros((4, 9, 1), "float32"), verbose=0)
    with pytest.raises(ValueError, match="NaN|finite"):
        model.fit(np.full((4, SIZE, SIZE, 1), np.nan, "float32"), verbose=0)
    with pytest.raises(ValueError, match="steps"):
        model.fit_modulations(waves(2), steps=0)
    with pytest.raises(ValueError, match="signals_or_coordinates_values"):
        model.fit_modulations(np.zeros((2, SIZE, SIZE, 2), "float32"))
    with pytest.raises(ValueError, match="codes"):
        model.render(np.zeros((2, model.code_dim + 1), "float32"), (SIZE, SIZE))
    with pytest.raises(ValueError, match="shape"):
        model.render(np.zeros((2, model.code_dim), "float32"), (SIZE,))
    with pytest.raises(ValueError, match="loss"):
        model.compile(optimizer="adam", loss="mae")
    with pytest.raises(ValueError, match="modulate='all'"):
        MetaModulatedINR(keras_inr.SIREN(out_dims=1, width=8, depth=0, in_dims=2))


def test_auto_decoding_bad_input_names_the_argument():
    with pytest.raises(ValueError, match="num_signals"):
        AutoDecodingINR(small_target(), num_signals=0, latent_dim=4)
    with pytest.raises(ValueError, match="latent_dim"):
        AutoDecodingINR(small_target(), num_signals=4, latent_dim=None)
    with pytest.raises(ValueError, match="latent_regularization"):
        AutoDecodingINR(small_target(), num_signals=4, latent_dim=4, latent_regularization=-1.0)
    model = AutoDecodingINR(small_target(), num_signals=4, latent_dim=4)
    model.compile(optimizer="adam")
    with pytest.raises(ValueError, match="num_signals"):
        model.fit(np.arange(4) + 1, waves(4), verbose=0)
    with pytest.raises(ValueError, match="`x`"):
        model.fit(np.zeros(4, "float32"), waves(4), verbose=0)
    with pytest.raises(ValueError, match="learning_rate"):
        model.fit_latents(waves(1), learning_rate=0.0)


def test_exports():
    assert hypernets.MetaModulatedINR is MetaModulatedINR and hypernets.AutoDecodingINR is AutoDecodingINR


# --- the recipe -----------------------------------------------------------------------------------------------------
def test_recipe_quick_run_prints_the_table(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("meta_learning_faces", REPO / "recipes" / "meta_learning_faces.py")
    recipe = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(recipe)
    results = recipe.main(["--quick", "--seconds", "0.5", "--datasets", "digits", "--digits-held-out", "20",
                           "--orders", "first", "--width", "16", "--out", os.fspath(tmp_path)])
    rows = results["digits (8x8)"]["rows"]
    assert len(rows) == 3 and all(np.all(np.isfinite(row["held_out"])) for row in rows.values())
    output = capsys.readouterr().out
    assert "| digits (8x8) | encoder + shift head (HyperINR) |" in output
    assert (tmp_path / "results.md").read_text().count("| digits (8x8) |") == 3
