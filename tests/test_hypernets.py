"""Tests of the hypernets package (HyperINR, heads, batched evaluation, datasets); run under every KERAS_BACKEND."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
from keras import ops

import keras_inr
import hypernets
from hypernets.functional import evaluate_inrs, initial_weights

REPO = Path(__file__).resolve().parents[1]
SIZE = 12  # tiny faces keep every backend's test run short


def to_numpy(tensor) -> np.ndarray:
    return np.asarray(ops.convert_to_numpy(tensor))


@pytest.fixture(scope="module")
def faces() -> np.ndarray:
    """24 faces of skimage's LFW subset, downsampled to 12x12: (24, 12, 12, 1) float32 in [0, 1]."""
    from skimage.data import lfw_subset
    from skimage.transform import resize

    images = lfw_subset()[:24]
    small = np.stack([resize(image, (SIZE, SIZE), anti_aliasing=True) for image in images])
    return np.clip(small, 0.0, 1.0).astype("float32")[..., None]


def mlp_encoder(features: int = 32) -> keras.Model:
    return keras.Sequential(
        [keras.layers.Flatten(), keras.layers.Dense(64, activation="relu"), keras.layers.Dense(features)]
    )


def make_model(head: str, **kwargs) -> hypernets.HyperINR:
    target = kwargs.pop("target", None) or keras_inr.SIREN(out_dims=1, width=16, depth=2)
    return hypernets.HyperINR(mlp_encoder(), target, head=head, **kwargs)


@pytest.fixture(scope="module")
def trained(faces):
    """One HyperINR per head, trained on 16 faces (grid signals, random points per step), with its history."""
    models = {}
    for head in ("full", "lowrank", "shift"):
        keras.utils.set_random_seed(0)
        model = make_model(head, points_per_step=64, seed=3)
        model.compile(optimizer=keras.optimizers.Adam(2e-3))
        history = model.fit(
            faces[:16], faces[:16], batch_size=8, epochs=20, verbose=0, validation_data=(faces[16:], faces[16:])
        )
        models[head] = (model, history.history)
    return models


# --- training -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("head", ["full", "lowrank", "shift"])
def test_each_head_trains(trained, head):
    _, history = trained[head]
    assert {"loss", "psnr", "val_loss", "val_psnr"} <= set(history)
    # the loss falls clearly (at least 3x) and PSNR rises, on training and on held-out faces
    assert history["loss"][-1] < history["loss"][0] / 3.0, history["loss"]
    assert history["psnr"][-1] > history["psnr"][0] + 4.0, history["psnr"]
    assert history["val_psnr"][-1] > history["val_psnr"][0] + 1.0, history["val_psnr"]
    assert all(np.isfinite(history["loss"]))


def test_auto_decoding_with_embedding_and_field_dataset(faces):
    """DeepSDF/functa-style: one learnable latent per training face (Embedding over indices), sampled pixels."""
    dataset = hypernets.ImageFieldDataset(faces[:16], points_per_image=48, batch_size=8, datapoints="indices")
    (indices, coordinates), values = dataset[0]
    assert indices.dtype == np.int32 and indices.shape == (8,)
    assert coordinates.shape == (8, 48, 2) and values.shape == (8, 48, 1)
    model = hypernets.HyperINR(
        keras.layers.Embedding(16, 32, embeddings_initializer=keras.initializers.RandomNormal(stddev=1.0)),
        keras_inr.SIREN(out_dims=1, width=16, depth=2),
        head="shift",
    )
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    history = model.fit(dataset, epochs=25, verbose=0).history
    assert history["loss"][-1] < history["loss"][0] / 3.0, history["loss"]
    rendered = model.render(np.arange(4, dtype="int32"), (SIZE, SIZE))
    assert rendered.shape == (4, SIZE, SIZE, 1)


def test_field_dataset_values_match_coordinates(faces):
    dataset = hypernets.ImageFieldDataset(faces, points_per_image=20, batch_size=4, shuffle=False, seed=1)
    (datapoints, coordinates), values = dataset[1]
    np.testing.assert_array_equal(datapoints, faces[4:8])
    # map coordinates in [-1, 1] back to pixel indices and compare with the images
    rows = np.rint((coordinates[..., 0] + 1) / 2 * (SIZE - 1)).astype(int)
    cols = np.rint((coordinates[..., 1] + 1) / 2 * (SIZE - 1)).astype(int)
    for sample in range(4):
        np.testing.assert_allclose(values[sample, :, 0], faces[4 + sample, rows[sample], cols[sample], 0])
        assert len({(r, c) for r, c in zip(rows[sample], cols[sample])}) == 20  # without replacement: distinct
    full = hypernets.ImageFieldDataset(faces, points_per_image=None, batch_size=5, drop_remainder=False)
    assert len(full) == 5 and full[4][1].shape == (4, SIZE * SIZE, 1)  # 24 faces: last batch partial


def test_mixed_precision_uses_loss_scaling(faces):
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_float16")
    try:
        model = make_model("shift", points_per_step=32)
        model.compile(optimizer=keras.optimizers.Adam(3e-3))
        assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
        history = model.fit(faces[:8], faces[:8], batch_size=8, epochs=6, verbose=0).history
    finally:
        keras.config.set_dtype_policy(previous)
    assert all(np.isfinite(history["loss"]))
    assert history["loss"][-1] < history["loss"][0], history["loss"]


def test_custom_loss_is_used(faces):
    model = make_model("full", points_per_step=32)
    model.compile(optimizer="adam", loss="mae")
    logs = model.evaluate(faces[:8], faces[:8], batch_size=8, verbose=0, return_dict=True)
    predictions = model.render(faces[:8], (SIZE, SIZE))
    np.testing.assert_allclose(logs["loss"], np.mean(np.abs(predictions - faces[:8])), rtol=1e-4)


# --- maths of the heads and the batched evaluation -----------------------------------------------------------------
@pytest.mark.parametrize("head", ["full", "lowrank", "shift"])
def test_batched_evaluation_equals_per_sample_loop(faces, head):
    model = make_model(head, head_config={"init_scale": 1.0})
    coordinates = np.random.default_rng(0).uniform(-1, 1, size=(4, 10, 2)).astype("float32")
    batched = to_numpy(model(faces[:4], coordinates=coordinates))
    weights = model(faces[:4])
    for sample in (0, 3):
        own = [
            (kernel[sample] if len(kernel.shape) == 3 else kernel,
             None if bias is None else (bias[sample] if len(bias.shape) == 2 else bias))
            for kernel, bias in weights
        ]
        single = to_numpy(evaluate_inrs(model.target, coordinates[sample], own))
        np.testing.assert_allclose(batched[sample], single, rtol=1e-4, atol=1e-5)
    assert batched.shape == (4, 10, 1)
    # shared coordinates (batch 1) broadcast over the batch
    shared = to_numpy(model((faces[:4], coordinates[:1])))
    np.testing.assert_allclose(shared[2], to_numpy(model(faces[2:3], coordinates=coordinates[:1]))[0], rtol=1e-4,
                               atol=1e-5)


def test_full_head_starts_at_the_family_initialisation(faces):
    model = make_model("full", head_config={"init_scale": 1e-4})
    weights = model(faces[:3])
    initial = initial_weights(model.target)
    for (kernel, bias), (kernel0, bias0) in zip(weights, initial):
        kernel, bias = to_numpy(kernel), to_numpy(bias)
        assert kernel.shape == (3, *kernel0.shape) and bias.shape == (3, *bias0.shape)
        np.testing.assert_allclose(kernel, np.broadcast_to(kernel0, kernel.shape), atol=1e-3 * np.abs(kernel0).max())
        np.testing.assert_allclose(bias, np.broadcast_to(bias0, bias.shape), atol=1e-3 * np.abs(bias0).max())
    # and that initialisation is SIREN's: first layer U(-1/2, 1/2) for 2-D inputs, later U(-sqrt(6/n)/30, ...)
    assert 0.4 < np.abs(initial[0][0]).max() <= 0.5
    bound = np.sqrt(6 / 16) / 30
    assert 0.8 * bound < np.abs(initial[1][0]).max() <= bound
    # the target is frozen: the full head generates every weight
    assert not model.target.trainable and len(model.target.trainable_variables) == 0


def test_full_head_initialisation_when_built_by_fit(faces):
    """Built by evaluate/fit (not by a direct call), the full head still starts at the target's initial weights."""
    model = make_model("full", head_config={"init_scale": 1e-4})
    model.compile(optimizer="adam")
    model.evaluate(faces[:8], faces[:8], batch_size=8, verbose=0)
    kernel, bias = model(faces[:2])[1]
    kernel0, bias0 = initial_weights(model.target)[1]
    assert np.abs(kernel0).max() > 0
    np.testing.assert_allclose(to_numpy(kernel)[1], kernel0, atol=1e-3 * np.abs(kernel0).max())
    np.testing.assert_allclose(to_numpy(bias)[0], bias0, atol=1e-3 * np.abs(bias0).max())


def test_full_head_default_perturbation_is_small_but_per_sample(faces):
    model = make_model("full")
    kernel = to_numpy(model(faces[:8])[1][0])  # (8, 16, 16) hidden kernels
    spread = kernel.std(axis=0).mean()
    assert 0.0 < spread < 0.5 * kernel.std()


def test_lowrank_head_formula(faces):
    model = make_model("lowrank", head_config={"rank": 3, "init_scale": 1.0})
    weights = model(faces[:2])
    head = model.head
    features = to_numpy(model.encoder(faces[:2]))
    factors = features @ to_numpy(head.kernel) + to_numpy(head.bias)
    start = 0
    for layer, (kernel, bias) in zip(model.target.weight_layers, weights):
        fan_in, units = layer.input_dim, layer.units
        left = factors[:, start : start + fan_in * 3].reshape(2, fan_in, 3)
        start += fan_in * 3
        right = factors[:, start : start + 3 * units].reshape(2, 3, units)
        start += 3 * units
        expected = to_numpy(layer.kernel) * 2.0 / (1.0 + np.exp(-(left @ right) / np.sqrt(3)))
        np.testing.assert_allclose(to_numpy(kernel), expected, rtol=1e-4, atol=1e-6)
        np.testing.assert_array_equal(to_numpy(bias), to_numpy(layer.bias))  # biases are shared


def test_shift_head_only_shifts_hidden_biases(faces):
    model = make_model("shift", head_config={"init_scale": 1.0})
    weights = model(faces[:2])
    layers = model.target.weight_layers
    for index, (layer, (kernel, bias)) in enumerate(zip(layers, weights)):
        np.testing.assert_array_equal(to_numpy(kernel), to_numpy(layer.kernel))  # shared kernels
        if index < len(layers) - 1:
            assert tuple(bias.shape) == (2, layer.units)
            assert np.abs(to_numpy(bias)[0] - to_numpy(bias)[1]).max() > 0  # per-sample shift
        else:
            np.testing.assert_array_equal(to_numpy(bias), to_numpy(layer.bias))  # output layer shared


@pytest.mark.parametrize(
    "target, head",
    [
        (lambda: keras_inr.GaussianINR(out_dims=1, width=16, depth=1, inverse_scale=3.0), "full"),
        (lambda: keras_inr.FourierFeatureNetwork(out_dims=1, width=16, depth=1, num_features=8, scale=2.0, seed=0),
         "lowrank"),
        (lambda: keras_inr.CombinedINR(
            [keras_inr.SIREN(out_dims=1, width=8, depth=1), keras_inr.GaussianINR(out_dims=1, width=8, depth=1)]
        ), "shift"),
    ],
    ids=["gauss-full", "ffn-lowrank", "combined-shift"],
)
def test_every_family_works_as_target(faces, target, head):
    model = make_model(head, target=target())
    values = model(faces[:3], coordinates=keras_inr.data.coordinate_grid((5, 5))[None])
    assert tuple(values.shape) == (3, 25, 1) and np.all(np.isfinite(to_numpy(values)))


# --- rendering and saving ------------------------------------------------------------------------------------------
def test_render_shapes_and_chunking(trained, faces):
    model, _ = trained["shift"]
    whole = model.render(faces[:5], (SIZE, SIZE))
    chunked = model.render(faces[:5], (SIZE, SIZE), batch_size=2, points_per_chunk=7)
    assert whole.shape == (5, SIZE, SIZE, 1) and whole.dtype == np.float32
    np.testing.assert_allclose(whole, chunked, rtol=1e-5, atol=1e-6)
    assert model.render(faces[:2], (30, 20)).shape == (2, 30, 20, 1)  # any resolution
    # render is the model evaluated on the grid
    grid = keras_inr.data.coordinate_grid((SIZE, SIZE))[None]
    np.testing.assert_allclose(
        whole.reshape(5, -1, 1), to_numpy(model(faces[:5], coordinates=grid)), rtol=1e-5, atol=1e-6
    )


@pytest.mark.parametrize("head", ["full", "lowrank", "shift"])
def test_save_load_reproduces_render_exactly(trained, faces, tmp_path, head):
    model, _ = trained[head]
    path = tmp_path / f"{head}.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, hypernets.HyperINR) and loaded.head.head_name == head
    np.testing.assert_array_equal(loaded.render(faces[16:20], (SIZE, SIZE)), model.render(faces[16:20], (SIZE, SIZE)))
    # the loaded model keeps training (compile config restored, loss included)
    history = loaded.fit(faces[:8], faces[:8], batch_size=8, epochs=1, verbose=0).history
    assert np.isfinite(history["loss"][0])


# --- bad input -----------------------------------------------------------------------------------------------------
def test_unknown_head_name():
    with pytest.raises(ValueError, match="`head` must be one of"):
        make_model("diagonal")
    with pytest.raises(ValueError, match="head_config"):
        make_model("full", head_config={"rank": 3})


def test_mismatched_batch_sizes_and_coordinate_dims(faces):
    model = make_model("full")
    with pytest.raises(ValueError, match="batch size 3 but the datapoints have batch size 4"):
        model(faces[:4], coordinates=np.zeros((3, 10, 2), "float32"))
    with pytest.raises(ValueError, match="must have 2 values in its last axis"):
        model(faces[:4], coordinates=np.zeros((4, 10, 3), "float32"))
    with pytest.raises(ValueError, match=r"shape \(batch, points, 2\)"):
        model(faces[:4], coordinates=np.zeros((10, 2), "float32"))
    model.compile(optimizer="adam")
    with pytest.raises(ValueError, match="datapoints have batch size 4 but the signals"):
        model.fit(faces[:4], faces[:3], batch_size=4, verbose=0)
    with pytest.raises(ValueError, match="batch size 3 but the datapoints have batch size 4"):
        model.fit((faces[:4], np.zeros((3, 10, 2), "float32")), np.zeros((4, 10, 1), "float32"), verbose=0)
    with pytest.raises(ValueError, match="grid"):
        model.fit(faces[:4], faces[:4, :, :, 0], batch_size=4, verbose=0)  # no channel axis
    with pytest.raises(ValueError, match="out_dims=1 but the values have 3 channels"):
        model.fit(faces[:4], np.repeat(faces[:4], 3, axis=-1), batch_size=4, verbose=0)
    with pytest.raises(ValueError, match="`shape` must have 2 axes"):
        model.render(faces[:2], (8, 8, 8))


def test_bad_datasets(faces):
    with pytest.raises(ValueError, match="non-empty"):
        hypernets.ImageFieldDataset(np.zeros((0, 8, 8)), points_per_image=4, batch_size=2)
    with pytest.raises(ValueError, match="non-empty"):
        hypernets.FieldDataset(np.zeros((0, 8, 1)), points_per_signal=4, batch_size=2)
    with pytest.raises(ValueError, match="`points_per_image`=200 exceeds the 144 grid points"):
        hypernets.ImageFieldDataset(faces, points_per_image=200, batch_size=4)
    assert hypernets.ImageFieldDataset(faces, points_per_image=200, batch_size=4, replace=True)[0][1].shape == (4, 200, 1)
    with pytest.raises(ValueError, match="`batch_size`=30 exceeds the number of signals"):
        hypernets.ImageFieldDataset(faces, points_per_image=4, batch_size=30)
    with pytest.raises(ValueError, match="`datapoints` must be"):
        hypernets.ImageFieldDataset(faces, points_per_image=4, batch_size=4, datapoints=np.zeros(3))
    with pytest.raises(ValueError, match="in \\[0, 1\\]"):
        hypernets.ImageFieldDataset(faces * 3.0, points_per_image=4, batch_size=4)


def test_encoder_must_give_feature_vectors(faces):
    model = hypernets.HyperINR(keras.layers.Conv2D(4, 3), keras_inr.SIREN(out_dims=1, width=8, depth=1))
    with pytest.raises(ValueError, match="feature vectors"):
        model(faces[:2])
    with pytest.raises(ValueError, match="`target` must be a keras-inr model"):
        hypernets.HyperINR(mlp_encoder(), keras.layers.Dense(3))


# --- benchmark smoke test ------------------------------------------------------------------------------------------
def test_benchmark_quick_runs():
    environment = {**os.environ, "KERAS_BACKEND": keras.backend.backend()}
    result = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "hypernet_benchmark.py"), "--quick"],
        capture_output=True, text=True, env=environment, timeout=300, cwd=REPO,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "| batch |" in result.stdout and "speed-up" in result.stdout
    assert "hand-written" in result.stdout
