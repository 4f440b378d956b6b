"""HyperINR assembly options (issue 14): per-layer heads, low-rank head options, the full head's parametrisations,
sub-steps, the convolutional encoder and snapshots; run under every KERAS_BACKEND."""

from __future__ import annotations

import json
import re

import keras
import numpy as np
import pytest
from keras import ops

import hypernets
import keras_inr
from hypernets.functional import initial_weights, weight_scales
from keras_inr import testing
from keras_inr.callbacks import RenderSnapshots

SIZE = 8
FEATURES = 6


def to_numpy(tensor) -> np.ndarray:
    return np.asarray(ops.convert_to_numpy(tensor))


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    return np.random.default_rng(0).uniform(size=(8, SIZE, SIZE, 1)).astype("float32")


def siren(dtype=None, **kwargs):
    """A built SIREN with 3 weight layers (2 -> 8 -> 8 -> 1)."""
    return keras_inr.SIREN(out_dims=1, width=8, depth=2, in_dims=2, dtype=dtype, **kwargs)


def flat_encoder(features: int = FEATURES):
    return keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(features)])


def features(batch: int = 3, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(batch, FEATURES)).astype("float32")


class _OneBatch(keras.utils.PyDataset):
    def __init__(self, x, y):
        super().__init__()
        self.x, self.y = x, y

    def __len__(self):
        return 1

    def __getitem__(self, index):
        return self.x, self.y


def _zeros_like_outputs(outputs):
    return tuple(tuple(None if t is None else np.zeros(tuple(t.shape), "float32") for t in pair) for pair in outputs)


# --- per-layer heads -------------------------------------------------------------------------------------------------
def test_per_layer_head_keeps_the_layer_contract():
    data = features(4)
    outputs = hypernets.PerLayerHead(siren(), heads=["full", "lowrank", "full"], seed=0)(data)
    testing.run_layer_test(
        hypernets.PerLayerHead,
        lambda dtype: {"target": siren(), "heads": ["full", "lowrank", "full"], "seed": 0,
                       "head_configs": {"lowrank": {"rank": 2, "per_sample_bias": True}}},
        input_data=data,
        train_data=_OneBatch(data, _zeros_like_outputs(outputs)),
        compile_kwargs={"optimizer": keras.optimizers.Adam(1e-2), "loss": "mse"},
        expected_num_non_trainable_weights=0,
        policies=("float32", "mixed_float16"),  # every policy runs for the heads inside (test_hypernets_contract)
    )


def test_per_layer_head_layers_come_from_their_own_heads():
    """Each layer's weights are those of an ordinary head restricted to that layer (same seed); consecutive layers
    with the same head share one sub-head; "shared" layers are the target's initial weights, not per sample."""
    target = siren()
    start = initial_weights(target)
    head = hypernets.PerLayerHead(target, heads=["full", "shared", "lowrank"], seed=5)
    data = features(3)
    weights = head(data)
    assert [type(sub).__name__ for sub in head.sub_heads] == ["FullHead", "SharedHead", "LowRankHead"]
    first = hypernets.FullHead(target, seed=5, layers=[0])(data)[0]
    np.testing.assert_allclose(to_numpy(weights[0][0]), to_numpy(first[0]), rtol=1e-6)
    assert tuple(weights[0][0].shape) == (3, 2, 8) and tuple(weights[0][1].shape) == (3, 8)
    np.testing.assert_array_equal(to_numpy(weights[1][0]), start[1][0])  # shared: (8, 8), no batch axis
    np.testing.assert_array_equal(to_numpy(weights[1][1]), start[1][1])
    assert tuple(weights[2][0].shape) == (3, 8, 1) and tuple(weights[2][1].shape) == (1,)
    grouped = hypernets.PerLayerHead(target, heads=["lowrank", "lowrank", "full"])
    assert [sub.layers for sub in grouped.sub_heads] == [(0, 1), (2,)]
    split = hypernets.PerLayerHead(target, heads=["lowrank", "lowrank", "full"],
                                   head_configs=[{"rank": 2}, {"rank": 3}, None])
    assert [sub.layers for sub in split.sub_heads] == [(0,), (1,), (2,)]


@pytest.mark.parametrize(
    "target, heads",
    [
        (lambda: keras_inr.GaussianINR(out_dims=1, width=8, depth=2, inverse_scale=3.0), ["full", "lowrank", "full"]),
        (lambda: keras_inr.FourierFeatureNetwork(out_dims=1, width=8, depth=1, num_features=4, scale=2.0, seed=0),
         ["shift", "full"]),
        (lambda: keras_inr.WIRE(out_dims=1, width=8, depth=1), ["full", "lowrank"]),
        (lambda: keras_inr.CombinedINR([keras_inr.SIREN(out_dims=1, width=8, depth=1),
                                        keras_inr.GaussianINR(out_dims=1, width=8, depth=1)]),
         ["full", "lowrank", "shift", "shared"]),
    ],
    ids=["gauss", "ffn", "wire", "combined"],
)
def test_per_layer_heads_work_for_every_family_and_save_exactly(images, tmp_path, target, heads):
    target = target()
    target.build((None, 2))
    model = hypernets.HyperINR(flat_encoder(), target, head=heads, points_per_step=None)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    model.fit(images[:4], images[:4], batch_size=4, epochs=1, verbose=0)
    rendered = model.render(images[:3], (SIZE, SIZE))
    assert np.all(np.isfinite(rendered))
    path = tmp_path / "per_layer.keras"
    model.save(path)
    revived = keras.saving.load_model(path)
    assert isinstance(revived.head, hypernets.PerLayerHead) and revived.head.heads == heads
    np.testing.assert_array_equal(revived.render(images[:3], (SIZE, SIZE)), rendered)


def test_bad_per_layer_head_lists_are_named():
    with pytest.raises(ValueError, match="`heads` must be a list of 3 head names"):
        hypernets.HyperINR(flat_encoder(), siren(), head=["full", "full"])
    with pytest.raises(ValueError, match="heads"):
        hypernets.HyperINR(flat_encoder(), siren(), head=["full", "banana", "full"])
    with pytest.raises(ValueError, match=r"weight layer\(s\) \[2\] are linear"):
        hypernets.HyperINR(flat_encoder(), siren(), head=["full", "shift", "shift"])
    with pytest.raises(ValueError, match="unknown keys \\['rank'\\]"):
        hypernets.HyperINR(flat_encoder(), siren(), head=["full", "lowrank", "full"],
                           head_config={"head_configs": [{"rank": 2}, None, None]})
    with pytest.raises(ValueError, match="head_configs"):
        hypernets.PerLayerHead(siren(), heads=["full", "lowrank", "full"], head_configs=[{}])
    with pytest.raises(ValueError, match="unknown names"):
        hypernets.PerLayerHead(siren(), heads=["full", "lowrank", "full"], head_configs={"lowrnk": {"rank": 2}})
    with pytest.raises(ValueError, match="unknown keys \\['ranks'\\]"):
        hypernets.HyperINR(flat_encoder(), siren(), head=["full", "lowrank", "full"], head_config={"ranks": 2})
    with pytest.raises(ValueError, match="`layers` must be distinct"):
        hypernets.FullHead(siren(), layers=[2, 0])
    with pytest.raises(ValueError, match="`layers` must be distinct"):
        hypernets.FullHead(siren(), layers=[3])
    with pytest.raises(ValueError, match="needs a head for every layer"):
        hypernets.HyperINR(flat_encoder(), siren(), head=hypernets.FullHead(siren(), layers=[0, 1]))


# --- low-rank head options -------------------------------------------------------------------------------------------
def test_lowrank_options_keep_the_layer_contract():
    data = features(4)
    outputs = hypernets.LowRankHead(siren(), rank=2, per_sample_bias=True, learn_scale=True, seed=0)(data)
    testing.run_layer_test(
        hypernets.LowRankHead,
        lambda dtype: {"target": siren(), "rank": 2, "per_sample_bias": True, "learn_scale": True, "seed": 0},
        input_data=data,
        train_data=_OneBatch(data, _zeros_like_outputs(outputs)),
        compile_kwargs={"optimizer": keras.optimizers.Adam(1e-2), "loss": "mse"},
        expected_num_trainable_weights=2 + 6 + 3,  # kernel, bias; base kernels and biases; 3 modulation scales
    )


def test_lowrank_per_sample_bias_and_modulation_scale():
    target = siren()
    start = initial_weights(target)
    head = hypernets.LowRankHead(target, rank=2, per_sample_bias=True, learn_scale=True, init_scale=0.5, seed=1)
    data = features(3)
    weights = head(data)
    for (_, bias), (base_kernel, base_bias) in zip(weights, start):
        assert tuple(bias.shape) == (3, *base_bias.shape)
        bias = to_numpy(bias)
        assert np.abs(bias[0] - bias[1]).max() > 0  # per sample
        # offsets of the base bias of about init_scale times its scale (the kernel's, for the 1-unit output layer)
        assert np.abs(bias - base_bias).max() < 2.5 * weight_scales(base_kernel, base_bias)[1]
    # the trainable scale a: W = W_base (1 + a (2 sigmoid(UV/s) - 1)); a = 0 gives the base kernels back, a = 2
    # doubles the deviation from them
    plain = [to_numpy(kernel) for kernel, _ in weights]
    for scale in head.modulation_scales:
        scale.assign(0.0)
    for (kernel, _), (base_kernel, _) in zip(head(data), start):
        np.testing.assert_allclose(to_numpy(kernel), np.broadcast_to(base_kernel, kernel.shape), rtol=1e-6)
    for scale in head.modulation_scales:
        scale.assign(2.0)
    for (kernel, _), before, (base_kernel, _) in zip(head(data), plain, start):
        np.testing.assert_allclose(to_numpy(kernel) - base_kernel, 2 * (before - base_kernel), rtol=1e-4, atol=1e-7)
    with pytest.raises(ValueError, match="per_sample_bias"):
        hypernets.LowRankHead(target, per_sample_bias="yes")
    with pytest.raises(ValueError, match="learn_scale"):
        hypernets.LowRankHead(target, learn_scale=1)
    default = hypernets.LowRankHead(target, seed=1)
    default(data)
    assert default.modulation_scales is None and len(default.trainable_weights) == 2 + 6  # unchanged default


# --- full head parametrisations --------------------------------------------------------------------------------------
@pytest.mark.parametrize("parametrization", ["direct", "equalized"])
def test_full_head_parametrizations_start_at_the_targets_weights(parametrization):
    target = siren()
    start = initial_weights(target)
    head = hypernets.FullHead(target, parametrization=parametrization, init_scale=0.1, seed=2)
    weights = head(np.zeros((2, FEATURES), "float32"))  # zero features: exactly the target's initial weights
    for (kernel, bias), (base_kernel, base_bias) in zip(weights, start):
        np.testing.assert_allclose(to_numpy(kernel)[1], base_kernel, rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(to_numpy(bias)[1], base_bias, rtol=1e-5, atol=1e-7)
    # unit features: per-sample perturbations of relative size ~init_scale in every layer
    perturbed = head(np.random.default_rng(0).normal(size=(64, FEATURES)).astype("float32"))
    for (kernel, _), (base_kernel, _) in zip(perturbed, start):
        relative = np.std(to_numpy(kernel) - base_kernel) / np.std(base_kernel)
        assert 0.05 < relative < 0.2, relative
    assert (head.weight_scale is None) == (parametrization == "direct")
    assert len(head.non_trainable_weights) == (parametrization == "equalized")


def test_full_head_direct_steps_are_in_weight_units():
    """One SGD step on the bias moves every emitted weight by the same absolute amount in "direct" and by the same
    amount relative to its layer's scale in "equalized" (the difference the faces study measured)."""
    moves = {}
    target = siren()
    for parametrization in ("direct", "equalized"):
        head = hypernets.FullHead(target, parametrization=parametrization, seed=0)
        data = np.zeros((1, FEATURES), "float32")
        before = [to_numpy(k) for k, _ in head(data)]
        head.bias.assign(head.bias + 1e-3)
        after = [to_numpy(k) for k, _ in head(data)]
        moves[parametrization] = [float(np.mean(a - b)) for a, b in zip(after, before)]
    np.testing.assert_allclose(moves["direct"], 1e-3, rtol=1e-3)
    scales = [np.std(kernel) for kernel, _ in initial_weights(target)]  # sigma: the std of the head's own draw
    ratios = np.array(moves["equalized"]) / 1e-3
    assert ratios[0] > 10 * ratios[1]  # the first layer's kernel is much larger than the hidden one's
    assert all(0.5 < r / s < 2 for r, s in zip(ratios, scales))


def test_full_head_configs_round_trip_and_old_configs_load_as_equalized():
    head = hypernets.FullHead(siren(), seed=0)
    config = json.loads(json.dumps(head.get_config()))
    assert config["parametrization"] == "direct"
    assert hypernets.FullHead.from_config(config).parametrization == "direct"
    del config["parametrization"]  # a file saved before the option existed: the head was the equalized one
    assert hypernets.FullHead.from_config(config).parametrization == "equalized"
    with pytest.raises(ValueError, match="parametrization"):
        hypernets.FullHead(siren(), parametrization="raw")


# --- sub-steps -------------------------------------------------------------------------------------------------------
def test_sub_steps_take_k_optimizer_steps_per_batch(images):
    """sub_steps=2 on one batch (every point: no sampling) equals two epochs of one step each."""
    results = []
    for sub_steps, epochs in ((2, 1), (1, 2)):
        keras.utils.set_random_seed(0)
        model = hypernets.HyperINR(flat_encoder(), siren(), head="full", points_per_step=None, sub_steps=sub_steps)
        model.compile(optimizer=keras.optimizers.Adam(1e-3))
        model.fit(images[:4], images[:4], batch_size=4, epochs=epochs, verbose=0, shuffle=False)
        assert int(to_numpy(model.optimizer.iterations)) == 2
        results.append([to_numpy(v) for v in model.trainable_variables])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_sub_steps_save_load_and_bad_values(images, tmp_path):
    model = hypernets.HyperINR(flat_encoder(), siren(), head="shift", points_per_step=16, sub_steps=3, seed=1)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    model.fit(images, images, batch_size=4, epochs=1, verbose=0)
    assert int(to_numpy(model.optimizer.iterations)) == 2 * 3
    model.save(tmp_path / "sub.keras")
    revived = keras.saving.load_model(tmp_path / "sub.keras")
    assert revived.sub_steps == 3
    np.testing.assert_array_equal(revived.render(images[:2], (SIZE, SIZE)), model.render(images[:2], (SIZE, SIZE)))
    for bad in (0, -1, 1.5, "2", None):
        with pytest.raises(ValueError, match="sub_steps"):
            hypernets.HyperINR(flat_encoder(), siren(), sub_steps=bad)


# --- the convolutional encoder ---------------------------------------------------------------------------------------
def test_conv_encoder_keeps_the_layer_contract():
    testing.run_layer_test(
        hypernets.ConvEncoder,
        {"features": 5, "filters": (4, 8), "groups": 2},
        input_shape=(2, SIZE, SIZE, 1),
        expected_output_shape=(2, 5),
        # a stem, 2 blocks of 2 norms + 2 convs (the second with a 1x1 skip), a norm and the dense layer
        expected_num_trainable_weights=2 + 8 + 10 + 2 + 2,
        policies=("float32", "mixed_bfloat16"),  # (the layers inside are Keras' own; kept short)
    )


def test_conv_encoder_in_a_hyperinr_trains_and_saves_exactly(images, tmp_path):
    keras.utils.set_random_seed(0)
    model = hypernets.HyperINR(hypernets.ConvEncoder(features=8, filters=(4, 8), groups=2), siren(),
                               head=["full", "lowrank", "full"], points_per_step=32, seed=0)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    history = model.fit(images, images, batch_size=4, epochs=8, verbose=0).history
    assert history["loss"][-1] < history["loss"][0], history["loss"]
    model.save(tmp_path / "conv.keras")
    revived = keras.saving.load_model(tmp_path / "conv.keras")
    assert isinstance(revived.encoder, hypernets.ConvEncoder) and revived.encoder.filters == (4, 8)
    np.testing.assert_array_equal(revived.render(images[:3], (SIZE, SIZE)), model.render(images[:3], (SIZE, SIZE)))


def test_conv_encoder_bad_arguments_and_inputs():
    with pytest.raises(ValueError, match="`groups`=3 must divide"):
        hypernets.ConvEncoder(filters=(4, 8), groups=3)
    with pytest.raises(ValueError, match="`filters` must be a non-empty sequence"):
        hypernets.ConvEncoder(filters=())
    with pytest.raises(ValueError, match="`filters` must be a non-empty sequence"):
        hypernets.ConvEncoder(filters=16)
    with pytest.raises(ValueError, match="features"):
        hypernets.ConvEncoder(features=0)
    with pytest.raises(ValueError, match="blocks_per_stage"):
        hypernets.ConvEncoder(blocks_per_stage=0)
    with pytest.raises(ValueError, match=r"images \(batch, H, W, channels\)"):
        hypernets.ConvEncoder(filters=(4,), groups=2).build((2, SIZE, SIZE))


@pytest.mark.parametrize(
    "encoder, shape",
    [
        (lambda: keras.layers.Conv2D(4, 3), "(2, 6, 6, 4)"),  # feature maps, not vectors
        (lambda: keras.layers.Dense(4), "(2, 8, 8, 4)"),  # per-pixel features
    ],
    ids=["conv", "dense"],
)
def test_encoders_that_do_not_produce_vectors_are_refused(images, encoder, shape):
    model = hypernets.HyperINR(encoder(), siren())
    message = "`encoder` must map a batch of datapoints to feature vectors.*" + re.escape(shape)
    with pytest.raises(ValueError, match=message):
        model(images[:2])


# --- snapshots -------------------------------------------------------------------------------------------------------
def test_render_snapshots_with_a_hyperinr_renderer(images, tmp_path):
    from PIL import Image

    model = hypernets.HyperINR(flat_encoder(), siren(), head="shift", points_per_step=16, seed=0)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    renderer = hypernets.SnapshotRenderer(images[:3], columns=2)
    snapshots = RenderSnapshots((SIZE, SIZE), tmp_path / "snaps", every_n_epochs=2, render_fn=renderer)
    model.fit(images, images, batch_size=4, epochs=4, verbose=0, callbacks=[snapshots])
    assert [path.name for path in snapshots.paths] == ["epoch_00002.png", "epoch_00004.png"]
    written = np.asarray(Image.open(snapshots.paths[-1]))
    assert written.shape[:2] == (2 * SIZE, 2 * SIZE)  # 3 images, 2 per row
    tile = renderer(model, (SIZE, SIZE), 64)
    expected = np.round(np.clip(tile[..., 0], 0, 1) * 255)
    np.testing.assert_allclose(written.astype(float), expected, atol=1)
    assert np.all(tile[SIZE:, SIZE:] == 0)  # the empty cell
    np.testing.assert_allclose(tile[:SIZE, SIZE:], model.render(images[1:2], (SIZE, SIZE))[0], atol=1e-6)


def test_snapshot_renderer_bad_input(images):
    with pytest.raises(ValueError, match="`render_fn` must be None or a callable"):
        RenderSnapshots((SIZE, SIZE), "snaps", render_fn="shift")
    with pytest.raises(ValueError, match="`datapoints` is empty"):
        hypernets.SnapshotRenderer(images[:0])
    with pytest.raises(ValueError, match="columns"):
        hypernets.SnapshotRenderer(images[:2], columns=0)
    with pytest.raises(ValueError, match="renders a HyperINR"):
        hypernets.SnapshotRenderer(images[:2])(siren(), (SIZE, SIZE), 64)
    snapshots = RenderSnapshots((SIZE, SIZE), "unused", render_fn=lambda model, shape, batch: np.zeros(shape))
    snapshots.set_model(siren())
    with pytest.raises(ValueError, match=r"must return an image \(H, W, C\)"):
        snapshots.on_epoch_end(0)
