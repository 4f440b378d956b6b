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

import hypernets
import keras_inr
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


@pytest.mark.parametrize("parametrization", ["direct", "equalized"])
def test_full_head_starts_exactly_at_the_targets_initial_weights(faces, parametrization):
    target = keras_inr.SIREN(out_dims=1, width=16, depth=2, in_dims=2)
    initial = initial_weights(target)  # taken before the HyperINR exists
    model = hypernets.HyperINR(mlp_encoder(), target, head="full", head_config={"parametrization": parametrization})
    model.build((None, SIZE, SIZE, 1))
    head = model.head
    if parametrization == "direct":  # b = theta_0
        flat = to_numpy(head.bias)
    else:  # b = theta_0 / sigma and sigma are stored exactly; their product is theta_0 up to float32 rounding
        flat = to_numpy(head.bias) * to_numpy(head.weight_scale)
    np.testing.assert_allclose(flat, hypernets.functional.flatten_parameters(initial), rtol=1e-6, atol=0)
    # with the per-sample part switched off, every sample's INR is exactly the target's initial INR
    head.kernel.assign(np.zeros(head.kernel.shape, "float32"))
    for (kernel, bias), (kernel0, bias0) in zip(model(faces[:3]), initial):
        kernel, bias = to_numpy(kernel), to_numpy(bias)
        assert kernel.shape == (3, *kernel0.shape) and bias.shape == (3, *bias0.shape)
        np.testing.assert_allclose(kernel, np.broadcast_to(kernel0, kernel.shape), rtol=1e-6, atol=0)
        np.testing.assert_allclose(bias, np.broadcast_to(bias0, bias.shape), rtol=1e-6, atol=0)
    # and that initialisation is SIREN's: first layer U(-1/2, 1/2) for 2-D inputs, later U(-sqrt(6/n)/30, ...)
    assert 0.4 < np.abs(initial[0][0]).max() <= 0.5
    bound = np.sqrt(6 / 16) / 30
    assert 0.8 * bound < np.abs(initial[1][0]).max() <= bound
    # the target's dense layers are frozen: the head owns every weight the INRs use
    assert len(model.target.trainable_variables) == 0
    trainable = {v.path for v in model.trainable_variables}
    assert {head.kernel.path, head.bias.path} <= trainable
    assert head.weight_scale is None or head.weight_scale.path not in trainable


@pytest.mark.parametrize("head", ["lowrank", "shift"])
def test_modulation_heads_own_a_base_network_starting_at_the_targets_weights(head):
    target = keras_inr.SIREN(out_dims=1, width=16, depth=2, in_dims=2)
    initial = initial_weights(target)
    model = hypernets.HyperINR(mlp_encoder(), target, head=head)
    model.build((None, SIZE, SIZE, 1))
    trainable = {v.path for v in model.trainable_variables}
    for (kernel, bias), (kernel0, bias0) in zip(model.head.base_weights, initial):
        np.testing.assert_array_equal(to_numpy(kernel), kernel0)
        np.testing.assert_array_equal(to_numpy(bias), bias0)
        assert kernel.path in trainable and bias.path in trainable
    assert len(model.target.trainable_variables) == 0


@pytest.mark.parametrize("build_with", ["evaluate", "fit"])
def test_full_head_initialisation_when_built_by_fit(faces, build_with):
    """Built symbolically by evaluate/fit (not by a direct call), the full head still starts at the target's initial
    weights (a symbolic build on TensorFlow once gave a zero head)."""
    model = make_model("full", head_config={"init_scale": 1e-4})
    kernel0, bias0 = initial_weights(model.target)[1]
    model.compile(optimizer=keras.optimizers.SGD(0.0))  # a step that changes nothing: the initial head is kept
    if build_with == "evaluate":
        model.evaluate(faces[:8], faces[:8], batch_size=8, verbose=0)
    else:
        model.fit(faces[:8], faces[:8], batch_size=8, epochs=1, verbose=0)
    kernel, bias = model(faces[:2])[1]
    assert np.abs(kernel0).max() > 0 and np.abs(to_numpy(model.head.bias)).max() > 0
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
    for layer, (base_kernel, base_bias), (kernel, bias) in zip(model.target.weight_layers, head.base_weights, weights):
        fan_in, units = layer.input_dim, layer.units
        left = factors[:, start : start + fan_in * 3].reshape(2, fan_in, 3)
        start += fan_in * 3
        right = factors[:, start : start + 3 * units].reshape(2, 3, units)
        start += 3 * units
        expected = to_numpy(base_kernel) * 2.0 / (1.0 + np.exp(-(left @ right) / np.sqrt(3)))
        np.testing.assert_allclose(to_numpy(kernel), expected, rtol=1e-4, atol=1e-6)
        np.testing.assert_array_equal(to_numpy(bias), to_numpy(base_bias))  # biases are shared


def test_shift_head_only_shifts_hidden_biases(faces):
    model = make_model("shift", head_config={"init_scale": 1.0})
    weights = model(faces[:2])
    head = model.head
    shifts = to_numpy(model.encoder(faces[:2])) @ to_numpy(head.kernel) + to_numpy(head.bias)
    base = head.base_weights
    for index, ((base_kernel, base_bias), (kernel, bias)) in enumerate(zip(base, weights)):
        np.testing.assert_array_equal(to_numpy(kernel), to_numpy(base_kernel))  # shared kernels
        if index < len(base) - 1:
            units = base_bias.shape[0]
            assert tuple(bias.shape) == (2, units)
            expected = to_numpy(base_bias)[None] + shifts[:, index * units : (index + 1) * units]
            np.testing.assert_allclose(to_numpy(bias), expected, rtol=1e-5, atol=1e-6)
            assert np.abs(to_numpy(bias)[0] - to_numpy(bias)[1]).max() > 0  # per-sample shift
        else:
            np.testing.assert_array_equal(to_numpy(bias), to_numpy(base_bias))  # output layer shared


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


def test_render_is_the_direct_evaluation_on_the_grid_in_bounded_chunks(faces, monkeypatch):
    """Chunks smaller than the grid (the last one ragged) and datapoint batches that do not divide the count."""
    model = make_model("full", head_config={"init_scale": 1.0})
    shape, chunk = (7, 5), 8  # 35 points: chunks of 8, the last padded
    seen = []
    original = hypernets.models._SideBySide.__call__

    def spy(self, coordinates):
        seen.append(tuple(coordinates.shape))
        return original(self, coordinates)

    monkeypatch.setattr(hypernets.models._SideBySide, "__call__", spy)
    rendered = model.render(faces[:5], shape, batch_size=2, points_per_chunk=chunk)
    grid = keras_inr.data.coordinate_grid(shape)[None]
    direct = to_numpy(model(faces[:5], coordinates=grid)).reshape(5, *shape, 1)
    assert rendered.shape == (5, *shape, 1)
    np.testing.assert_allclose(rendered, direct, rtol=1e-5, atol=1e-6)
    assert seen and all(points <= chunk for points, _ in seen)  # the grid is never evaluated at once
    assert len(seen) == 3 * 5  # 3 datapoint batches (2, 2, 1) x 5 chunks of 8 points


def test_render_rejects_bad_arguments(faces):
    model = make_model("shift")
    with pytest.raises(ValueError, match="`shape` must have 2 axes"):
        model.render(faces[:2], (8, 8, 8))
    with pytest.raises(ValueError, match="points_per_chunk"):
        model.render(faces[:2], (8, 8), points_per_chunk=0)
    with pytest.raises(ValueError, match="batch_size"):
        model.render(faces[:2], (8, 8), batch_size=0)
    with pytest.raises(ValueError, match="`datapoints` is empty"):
        model.render(faces[:0], (8, 8))


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
    with pytest.raises(ValueError, match="`rank`"):
        make_model("lowrank", head_config={"rank": 0})


def test_bad_heads_and_targets_are_named():
    target = keras_inr.SIREN(out_dims=1, width=8, depth=1, in_dims=2)
    with pytest.raises(ValueError, match="`head_config` can only be given with a head name"):
        hypernets.HyperINR(mlp_encoder(), target, head=hypernets.FullHead(target), head_config={"init_scale": 1.0})
    other = keras_inr.SIREN(out_dims=1, width=12, depth=1, in_dims=2)
    with pytest.raises(ValueError, match="The `head` was made for a target with layers"):
        hypernets.HyperINR(mlp_encoder(), target, head=hypernets.ShiftHead(other))
    with pytest.raises(ValueError, match="`target` must be a keras-inr model"):
        hypernets.FullHead(keras.layers.Dense(3))
    with pytest.raises(ValueError, match="pass `in_dims`"):
        hypernets.LowRankHead(keras_inr.SIREN(out_dims=1, width=8, depth=1))
    with pytest.raises(ValueError, match="`in_dims`=3 but the target was built for 2-D"):
        hypernets.HyperINR(mlp_encoder(), target, in_dims=3)
    with pytest.raises(ValueError, match="`target`'s activated hidden layers"):
        hypernets.ShiftHead(keras_inr.SIREN(out_dims=1, width=8, depth=0, in_dims=2))
    with pytest.raises(ValueError, match="init_scale"):
        hypernets.FullHead(target, init_scale=-1.0)


def test_a_given_head_instance_is_used(faces):
    target = keras_inr.SIREN(out_dims=1, width=8, depth=1, in_dims=2)
    head = hypernets.LowRankHead(target, rank=2, name="my_head")
    model = hypernets.HyperINR(mlp_encoder(), target, head=head)
    assert model.head is head
    model(faces[:2])
    # rank-2 factors of the layers 2 -> 8 and 8 -> 1: (2 * 2 + 2 * 8) + (8 * 2 + 2 * 1) = 38 outputs
    assert head.feature_dim == 32 and tuple(head.kernel.shape) == (32, 38)


def test_head_configs_are_small_and_round_trip():
    """Configs hold the target's config and the head's hyperparameters, never arrays: their size does not grow with
    the target (whose initial weights are saved as the heads' weights)."""
    import json

    sizes = {}
    for width in (8, 256):
        target = keras_inr.SIREN(out_dims=1, width=width, depth=3, in_dims=2)
        for name, cls in hypernets.HEADS.items():
            head = cls(target, seed=1)
            config = head.get_config()
            text = json.dumps(config)
            sizes[(name, width)] = len(text)
            revived = cls.from_config(json.loads(text))
            assert revived.get_config() == config and revived.specs == head.specs
        model = hypernets.HyperINR(mlp_encoder(), target, head="lowrank", head_config={"rank": 3})
        config = model.get_config()
        assert "target" not in config["head"]["config"]  # HyperINR's own `target` entry holds it, once
        revived = hypernets.HyperINR.from_config(json.loads(json.dumps(config)))
        assert revived.head.rank == 3 and revived.head.specs == model.head.specs
    for name in hypernets.HEADS:
        assert sizes[(name, 256)] - sizes[(name, 8)] <= 16 and sizes[(name, 256)] < 2000, sizes  # digits, names


def test_bad_data_leaves_a_trained_model_intact(trained, faces):
    """Bad arrays are refused before Keras starts a step (on JAX a failed first step detaches the variables)."""
    model, _ = trained["full"]
    before = model.render(faces[:2], (SIZE, SIZE))
    with pytest.raises(ValueError, match="out_dims=1 but the values have 3 channels"):
        model.fit(faces[:8], np.repeat(faces[:8], 3, axis=-1), batch_size=8, verbose=0)
    with pytest.raises(ValueError, match="grid"):
        model.evaluate(faces[:8], faces[:8, :, :, 0], batch_size=8, verbose=0)
    np.testing.assert_array_equal(model.render(faces[:2], (SIZE, SIZE)), before)


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


def test_bad_datasets(faces):
    with pytest.raises(ValueError, match="non-empty"):
        hypernets.ImageFieldDataset(np.zeros((0, 8, 8)), points_per_image=4, batch_size=2)
    with pytest.raises(ValueError, match="non-empty"):
        hypernets.FieldDataset(np.zeros((0, 8, 1)), points_per_signal=4, batch_size=2)
    with pytest.raises(ValueError, match="`points_per_image`=200 exceeds the 144 grid points"):
        hypernets.ImageFieldDataset(faces, points_per_image=200, batch_size=4)
    with_replacement = hypernets.ImageFieldDataset(faces, points_per_image=200, batch_size=4, replace=True)
    assert with_replacement[0][1].shape == (4, 200, 1)
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


def test_faces_recipe_quick_run_writes_its_figure_where_asked(tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("hypernetwork_faces", REPO / "recipes" / "hypernetwork_faces.py")
    recipe = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(recipe)
    out = tmp_path / "figures"
    results = recipe.main(["--quick", "--heads", "shift", "--width", "16", "--held-out", "8", "--out", str(out)])
    figure = out / "held_out.png"
    assert figure.is_file() and figure.stat().st_size > 0  # the folder is created; nothing is written elsewhere
    assert set(results) == {"mean training face (baseline)", "shift"}
    # per-face PSNR of the clipped reconstruction, 10 log10(1 / MSE)
    _, test = recipe.load_faces(8, 0)
    scores, _, _, reconstructions = results["shift"]
    mse = np.mean((test - np.clip(reconstructions, 0.0, 1.0)) ** 2, axis=(1, 2, 3))
    np.testing.assert_allclose(scores, 10.0 * np.log10(1.0 / mse), rtol=1e-5)
