"""The multiresolution hash encoding (keras_inr/layers/hashgrid.py) and the "hashgrid" family, on whatever backend
KERAS_BACKEND selects: the hash against a uint64 numpy transcription of the paper's equation 4 (so the indices are
the same on every backend), the level resolutions of equations 2-3, direct indexing, d-linear interpolation in 1, 2
and 3 dimensions, gradients that reach only the looked-up rows, the Keras contract, the family's optimiser settings,
a fit, saving, bad input, and the benchmark's smoke run.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import keras
import numpy as np
import pytest

import keras_inr
from keras_inr import families, initializers, testing, training
from keras_inr.data import image_to_coordinates
from keras_inr.layers import HashGridEncoding
from keras_inr.layers.hashgrid import HASH_PRIMES, hash_indices, level_resolutions
from keras_inr.models import CoordinateMLP
from tests.conftest import to_numpy

ROOT = Path(__file__).resolve().parents[1]
SMALL = {"levels": 3, "features_per_level": 2, "log2_table_size": 6, "base_resolution": 2, "finest_resolution": 8}


def _reference_hash(corners: np.ndarray, log2_table_size: int) -> np.ndarray:
    """Equation 4 of Mueller et al. 2022 in uint32 arithmetic (via uint64, masked), as the paper writes it."""
    result = np.zeros(corners.shape[:-1], dtype=np.uint64)
    for axis in range(corners.shape[-1]):
        product = (corners[..., axis].astype(np.uint64) * np.uint64(HASH_PRIMES[axis])) & np.uint64(2**32 - 1)
        result ^= product
    return (result & np.uint64(2**log2_table_size - 1)).astype(np.int64)


@pytest.mark.parametrize("dims", [1, 2, 3, 7])
def test_hash_matches_the_papers_uint32_hash(dims):
    rng = np.random.default_rng(dims)
    corners = rng.integers(0, 2**30, size=(257, dims)).astype("int32")
    corners[0] = 2**30 - 1  # the largest corner the limb arithmetic takes
    for log2_table_size in (1, 14, 19, 24, 30):
        got = to_numpy(hash_indices(keras.ops.convert_to_tensor(corners), log2_table_size))
        np.testing.assert_array_equal(got, _reference_hash(corners, log2_table_size), err_msg=str(log2_table_size))


def test_level_resolutions_follow_equations_2_and_3():
    resolutions = level_resolutions(16, 16, 512)
    growth = math.exp((math.log(512) - math.log(16)) / 15)
    assert resolutions == [math.floor(16 * growth**level + 1e-6) for level in range(16)]
    assert resolutions[0] == 16 and resolutions[-1] == 512
    assert level_resolutions(1, 8, 64) == [8]


def test_direct_levels_have_one_entry_per_vertex_and_hashed_levels_t():
    layer = HashGridEncoding(levels=4, log2_table_size=8, base_resolution=4, finest_resolution=32)
    layer.build((None, 2))
    # resolutions 4, 8, 16, 32: (N + 1)^2 = 25, 81 direct; 289, 1089 > 256 hashed
    assert layer.resolutions == [4, 8, 16, 32]
    assert layer.level_sizes(2) == [25, 81, 256, 256]
    assert tuple(layer.table.shape) == (25 + 81 + 256 + 256, 2)
    assert layer._num_direct == 2
    # a point at vertex (i, j) of the coarsest grid reads row i + 5 j (direct indexing, no collisions)
    coordinates = np.array([[-1.0, -1.0], [1.0, 1.0], [-0.5, 0.0]], "float32")  # vertices (0,0), (4,4), (1,2)
    indices, weights = layer.corner_indices(keras.ops.convert_to_tensor(coordinates))
    indices, weights = to_numpy(indices), to_numpy(weights)
    best = np.argmax(weights[:, 0], axis=-1)
    np.testing.assert_array_equal(indices[np.arange(3), 0, best], [0, 24, 1 + 5 * 2])
    np.testing.assert_allclose(weights[np.arange(3), 0, best], 1.0, atol=1e-6)
    # hashed levels: the paper's hash of the corner, offset by the earlier levels' entries
    corner = np.array([[8, 16]])  # the vertex at (0, 0) of the finest level, (x + 1) / 2 * 32
    expected = _reference_hash(corner, 8)[0] + 25 + 81 + 256
    level_indices = to_numpy(layer.corner_indices(keras.ops.convert_to_tensor(np.array([[-0.5, 0.0]], "float32")))[0])
    assert expected in level_indices[0, 3]


@pytest.mark.parametrize("dims", [1, 2, 3])
def test_interpolation_is_d_linear_and_shapes_are_levels_times_features(dims):
    """With every table entry a linear function of its vertex, d-linear interpolation reproduces it exactly."""
    layer = HashGridEncoding(levels=2, features_per_level=1, log2_table_size=12, base_resolution=3,
                             finest_resolution=5)
    layer.build((None, dims))
    assert layer._num_direct == 2  # (5 + 1)^3 = 216 <= 4096
    slope = np.arange(1, dims + 1, dtype="float32")
    rows = []
    for resolution in layer.resolutions:
        grid = np.stack(np.meshgrid(*[np.arange(resolution + 1)] * dims, indexing="ij"), -1).reshape(-1, dims)
        order = np.argsort(sum(grid[:, axis] * (resolution + 1) ** axis for axis in range(dims)))
        rows.append((grid[order] / resolution) @ slope)  # the vertex's position in [0, 1], times the slope
    layer.table.assign(np.concatenate(rows)[:, None].astype("float32"))
    coordinates = np.random.default_rng(0).uniform(-1, 1, (4, 5, dims)).astype("float32")
    encoded = to_numpy(layer(coordinates))
    assert encoded.shape == (4, 5, 2)
    expected = ((coordinates + 1) / 2) @ slope
    np.testing.assert_allclose(encoded, np.stack([expected, expected], -1), rtol=1e-5, atol=1e-5)


def _reference_encoding(layer, coordinates, table):
    """Section 3 of Mueller et al. 2022 point by point in numpy, corner by corner: rows ``(N, L, 2^d)`` (equation 4
    via :func:`_reference_hash` or direct indexing), d-linear weights, features ``(N, L * F)`` and their Jacobian
    ``(N, L * F, d)`` (float64 after the layer's float32 cell location)."""
    points, dims = coordinates.shape
    unit = np.clip((coordinates + np.float32(1)) * np.float32(0.5), 0, 1).astype("float32")
    offset, rows, weights, features, jacobian = 0, [], [], [], []
    for resolution in layer.resolutions:
        positions = unit * np.float32(resolution)
        cells = np.minimum(np.floor(positions), resolution - 1)
        fractions = (positions - cells).astype("float64")
        level_rows, level_weights, level_slopes = [], [], []
        for corner in range(2**dims):
            bits = np.array([(corner >> axis) & 1 for axis in range(dims)])
            vertex = cells.astype("int64") + bits
            if (resolution + 1) ** dims <= layer.table_size:
                level_rows.append(offset + vertex @ (resolution + 1) ** np.arange(dims))
            else:
                level_rows.append(offset + _reference_hash(vertex, layer.log2_table_size))
            factors = np.where(bits, fractions, 1 - fractions)  # (N, d)
            level_weights.append(np.prod(factors, axis=-1))
            # d w / d x_j = prod_{i != j} factor_i * (+-1) * d f_j / d x_j, with d f_j / d x_j = resolution / 2
            level_slopes.append(np.stack([np.prod(np.delete(factors, j, axis=-1), axis=-1) * (2 * bits[j] - 1)
                                          for j in range(dims)], -1) * resolution / 2)
        level_rows, level_weights = np.stack(level_rows, -1), np.stack(level_weights, -1)  # (N, 2^d)
        corner_values = table[level_rows].astype("float64")  # (N, 2^d, F)
        rows.append(level_rows)
        weights.append(level_weights)
        features.append(np.einsum("nc,ncf->nf", level_weights, corner_values))
        jacobian.append(np.einsum("ncj,ncf->nfj", np.stack(level_slopes, 1), corner_values))
        offset += min((resolution + 1) ** dims, layer.table_size)
    return (np.stack(rows, 1), np.stack(weights, 1), np.concatenate(features, -1),
            np.concatenate(jacobian, 1))


def _table_and_coordinate_gradients(layer, coordinates, upstream):
    """``d sum(upstream * layer(x)) / d table`` and ``/ d x`` with the backend's own autodiff."""
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        def loss(table, x):
            return (layer.stateless_call([table], [], x)[0] * upstream).sum()

        return jax.grad(loss, argnums=(0, 1))(layer.table.value, coordinates)
    if backend == "tensorflow":
        import tensorflow as tf

        x = tf.constant(coordinates)
        with tf.GradientTape() as tape:
            tape.watch(x)
            value = tf.reduce_sum(tf.cast(layer(x), "float64") * upstream)
        return tape.gradient(value, [layer.table.value, x])
    import torch

    x = torch.tensor(coordinates, requires_grad=True)
    layer.table.value.grad = None
    (layer(x).double() * torch.tensor(upstream)).sum().backward()
    return layer.table.value.grad, x.grad


@pytest.mark.filterwarnings("ignore:Explicitly requested dtype float64")  # JAX without x64 computes in float32
@pytest.mark.parametrize("dims, dtype", [(2, "float32"), (3, "float32"), (2, "float64")])
def test_encoding_and_its_gradients_match_a_corner_by_corner_numpy_reference(dims, dtype):
    """Rows bit-identical to the paper's hash and direct indexing, weights, features, the dense table gradient (one
    sum per row) and the coordinate gradient, on every backend (on PyTorch through the fused gather of
    keras_inr/backends/hashgrid_torch.py; a float64 table takes its mixed-dtype path)."""
    kwargs = ({"levels": 4, "log2_table_size": 7, "base_resolution": 4, "finest_resolution": 32} if dims == 2 else
              {"levels": 3, "log2_table_size": 9, "base_resolution": 2, "finest_resolution": 8})
    layer = HashGridEncoding(features_per_level=2, seed=0, dtype=dtype, **kwargs)
    layer.build((None, dims))
    assert 0 < layer._num_direct < layer.levels  # both kinds of level
    layer.table.assign(np.random.default_rng(1).normal(size=layer.table.shape).astype(dtype))
    table = to_numpy(layer.table)
    coordinates = np.random.default_rng(dims).uniform(-0.99, 0.99, (64, dims)).astype("float32")
    rows, weights, features, jacobian = _reference_encoding(layer, coordinates, table)
    got_rows, got_weights = layer.corner_indices(keras.ops.convert_to_tensor(coordinates))
    assert keras.backend.standardize_dtype(got_rows.dtype) == "int32"
    np.testing.assert_array_equal(to_numpy(got_rows), rows)
    np.testing.assert_allclose(to_numpy(got_weights), weights, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(to_numpy(layer(coordinates)), features, rtol=1e-5, atol=1e-6)

    upstream = np.random.default_rng(2).normal(size=features.shape)
    expected = np.zeros(table.shape)
    per_lookup = weights[..., None] * upstream.reshape(len(coordinates), layer.levels, 1, -1)  # (N, L, 2^d, F)
    np.add.at(expected, rows.reshape(-1), per_lookup.reshape(-1, table.shape[-1]))
    table_gradient, coordinate_gradient = _table_and_coordinate_gradients(layer, coordinates, upstream)
    assert tuple(table_gradient.shape) == table.shape  # dense and table-shaped, never one row per lookup
    np.testing.assert_allclose(to_numpy(table_gradient), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(to_numpy(coordinate_gradient), np.einsum("nf,nfj->nj", upstream, jacobian),
                               rtol=1e-4, atol=1e-4)


def test_coordinate_derivatives_of_the_encoding_are_d_linear():
    """First derivatives match the numpy reference and second ones along an axis vanish (d-linear in each cell) --
    on PyTorch this differentiates the fused gather's backward pass again."""
    layer = HashGridEncoding(levels=3, log2_table_size=6, base_resolution=2, finest_resolution=8, seed=0)
    layer.build((None, 2))
    layer.table.assign(np.random.default_rng(3).normal(size=layer.table.shape).astype("float32"))
    coordinates = np.random.default_rng(4).uniform(-0.99, 0.99, (16, 2)).astype("float32")
    jacobian = _reference_encoding(layer, coordinates, to_numpy(layer.table))[3]
    result = keras_inr.differential.derivatives(layer, coordinates, jacobian=True, laplacian=True)
    np.testing.assert_allclose(to_numpy(result["jacobian"]), jacobian, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(to_numpy(result["laplacian"]), 0.0, atol=1e-5)


def test_table_initialisation_is_the_papers_uniform_and_seeded():
    layer = HashGridEncoding(**SMALL, seed=7)
    layer.build((None, 2))
    table = to_numpy(layer.table)
    assert np.abs(table).max() <= 1e-4 and table.std() > 3e-5
    other = HashGridEncoding(**SMALL, seed=7)
    other.build((None, 2))
    np.testing.assert_array_equal(to_numpy(other.table), table)
    initializer = initializers.HashTableUniform(seed=1)
    assert keras.initializers.deserialize(keras.initializers.serialize(initializer)).get_config() == {
        "seed": 1, "scale": 1e-4,
    }


def test_one_step_changes_exactly_the_looked_up_rows():
    layer = HashGridEncoding(levels=4, log2_table_size=7, base_resolution=4, finest_resolution=32, seed=0)
    inputs = keras.Input((2,))
    model = keras.Model(inputs, keras.layers.Dense(1)(layer(inputs)))
    coordinates = np.random.default_rng(1).uniform(-1, 1, (5, 2)).astype("float32")
    targets = np.ones((5, 1), "float32")
    model.compile(optimizer=keras.optimizers.SGD(1.0), loss="mse")
    before = to_numpy(layer.table).copy()
    model.fit(coordinates, targets, batch_size=5, epochs=1, verbose=0, shuffle=False)
    changed = np.flatnonzero(np.any(to_numpy(layer.table) != before, axis=1))
    indices, weights = layer.corner_indices(keras.ops.convert_to_tensor(coordinates))
    looked_up = np.unique(to_numpy(indices)[to_numpy(weights) > 0])
    assert changed.size > 0
    np.testing.assert_array_equal(changed, looked_up)


def test_encoding_keeps_the_keras_contract():
    testing.run_layer_test(HashGridEncoding, {**SMALL, "seed": 0}, (16, 2), expected_output_shape=(16, 6),
                           expected_num_trainable_weights=1)
    testing.run_layer_test(HashGridEncoding, {**SMALL, "seed": 0, "trainable": False}, (8, 3),
                           expected_num_trainable_weights=0, expected_num_non_trainable_weights=1,
                           run_precision_check=False)


def test_one_adam_step_moves_no_entry_further_than_the_learning_rate():
    """Adam's first step moves every entry by at most the learning rate; on TensorFlow, Keras' Adam applied to the
    IndexedSlices gradient of tf.gather moved rows read by several points several times as far."""
    layer = HashGridEncoding(levels=4, log2_table_size=7, base_resolution=4, finest_resolution=32, seed=0)
    inputs = keras.Input((2,))
    model = keras.Model(inputs, keras.layers.Dense(1)(layer(inputs)))
    coordinates = np.random.default_rng(1).uniform(-1, 1, (64, 2)).astype("float32")
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")
    before = to_numpy(layer.table).copy()
    model.fit(coordinates, np.ones((64, 1), "float32"), batch_size=64, epochs=1, verbose=0, shuffle=False)
    moved = np.abs(to_numpy(layer.table) - before)
    assert 0.9e-2 < moved.max() <= 1.0001e-2


def test_hash_grid_target_of_a_hypernetwork_shares_and_trains_its_table():
    """HyperINR generates the MLP per datapoint; the encoding (and its table) is shared by all and trained."""
    import hypernets

    images = np.random.default_rng(0).uniform(0, 1, (4, 8, 8, 1)).astype("float32")
    target = keras_inr.build_model("hashgrid", 1, width=8, depth=2, **SMALL)
    model = hypernets.HyperINR(keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(8)]), target,
                               head="shift")
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    model.build(images.shape)
    before = to_numpy(target.encoding.table).copy()
    history = model.fit(images, images, batch_size=4, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][-1])
    assert np.any(to_numpy(target.encoding.table) != before)


def test_family_record_and_recommended_optimiser():
    record = families.get("hashgrid")
    assert record.encoding is HashGridEncoding and record.layer_config["activation"] == "relu"
    assert record.defaults() == {"levels": 16, "features_per_level": 2, "log2_table_size": 19, "base_resolution": 16,
                                 "finest_resolution": 512}
    assert "2201.05989" in record.paper
    settings = training.recommended("hashgrid")
    assert (settings["learning_rate"], settings["beta_2"], settings["epsilon"]) == (1e-2, 0.99, 1e-15)
    model = training.compile_inr(keras_inr.build_model("hashgrid", 1, width=8, depth=1, in_dims=2, **SMALL),
                                 total_steps=10)
    assert (float(model.optimizer.beta_2), float(model.optimizer.epsilon)) == (0.99, 1e-15)
    siren = training.compile_inr(keras_inr.SIREN(1, width=8, depth=1), total_steps=10)
    assert (float(siren.optimizer.beta_2), float(siren.optimizer.epsilon)) == (0.999, 1e-7)
    explicit = training.compile_inr(keras_inr.SIREN(1, width=8, depth=1), total_steps=10, beta_2=0.9, epsilon=1e-8)
    assert (float(explicit.optimizer.beta_2), float(explicit.optimizer.epsilon)) == (0.9, 1e-8)


def test_family_fits_a_small_image_with_its_recommended_settings(small_camera):
    image = small_camera[:16, :16]
    coordinates, values = image_to_coordinates(image)
    keras.utils.set_random_seed(0)
    model = keras_inr.build_model("hashgrid", 1, width=32, depth=2, levels=4, log2_table_size=10,
                                  base_resolution=4, finest_resolution=16, seed=0)
    settings = training.recommended("hashgrid")
    training.compile_inr(model, learning_rate=settings["learning_rate"], total_steps=150)
    model.fit(training.full_batch(coordinates, values, 150), epochs=1, verbose=0, shuffle=False)
    mse = float(np.mean((to_numpy(model(coordinates)) - values) ** 2))
    # The mean image scores 10.2 dB; the finest level has a vertex per pixel (measured 34.8 to 46.6 dB over backends).
    assert 10 * np.log10(1.0 / mse) > 30.0


def test_as_encoding_of_a_coordinate_mlp_saves_and_loads(tmp_path):
    model = CoordinateMLP(2, width=8, depth=2, hidden="relu", encoding=HashGridEncoding(**SMALL, seed=3), in_dims=3)
    coordinates = np.random.default_rng(0).uniform(-1, 1, (10, 3)).astype("float32")
    before = to_numpy(model(coordinates))
    path = tmp_path / "hashgrid.keras"
    model.save(path)
    restored = keras.saving.load_model(path)
    assert isinstance(restored.encoding, HashGridEncoding)
    np.testing.assert_allclose(to_numpy(restored(coordinates)), before, rtol=1e-6, atol=1e-7)
    volume = keras_inr.render(restored, (3, 4, 5), batch_size=16)  # a 3-D grid, in padded batches
    grid = keras_inr.data.coordinate_grid((3, 4, 5))
    np.testing.assert_allclose(volume.reshape(-1, 2), to_numpy(model(grid)), rtol=1e-5, atol=1e-6)


def test_tuner_searches_the_hash_grid_and_compiles_with_its_optimiser():
    keras_tuner = pytest.importorskip("keras_tuner")
    from keras_inr import tuning

    hypermodel = tuning.INRHyperModel(out_dims=1, families=["hashgrid"], width=8, depth=2, jit_compile=False)
    summary = hypermodel.search_space_summary()
    for name in ("levels", "features_per_level", "log2_table_size", "finest_resolution"):
        assert f"{name} (hashgrid)" in summary, name
    hp = keras_tuner.HyperParameters()
    hp.Fixed("levels", 2)
    hp.Fixed("log2_table_size", 12)
    hp.Fixed("finest_resolution", 64)
    model = hypermodel.build(hp)
    assert isinstance(model.encoding, HashGridEncoding) and model.encoding.levels == 2
    assert (float(model.optimizer.beta_2), float(model.optimizer.epsilon)) == (0.99, 1e-15)
    assert np.isfinite(to_numpy(model(np.zeros((3, 2), "float32")))).all()


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"levels": 0}, "levels"),
        ({"features_per_level": 1.5}, "features_per_level"),
        ({"log2_table_size": 31}, "log2_table_size"),
        ({"base_resolution": 32, "finest_resolution": 16}, "finest_resolution"),
        ({"finest_resolution": 2**21}, "finest_resolution"),
        ({"seed": -1}, "seed"),
        ({"trainable": "yes"}, "trainable"),
    ],
)
def test_bad_arguments_are_named(kwargs, name):
    with pytest.raises(ValueError, match=name):
        HashGridEncoding(**kwargs)


def test_bad_builds_are_named():
    with pytest.raises(ValueError, match="log2_table_size"):  # an 8-D grid needs the hash, which takes 7 dims
        HashGridEncoding(levels=1, log2_table_size=4, base_resolution=2, finest_resolution=2).build((None, 8))
    with pytest.raises(ValueError, match="int32"):
        HashGridEncoding(levels=16, log2_table_size=30, finest_resolution=2**20).build((None, 2))
    with pytest.raises(ValueError, match="must be real"):
        HashGridEncoding(**SMALL)(np.zeros((2, 2), "complex64"))
    with pytest.raises(ValueError, match="levels"):
        keras_inr.build_model("hashgrid", 1, levels=0)


def test_benchmark_quick_run(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    import hashgrid as benchmark

    text = benchmark.main(["--quick", "--out", str(tmp_path / "r.json")])
    results = json.loads((tmp_path / "r.json").read_text())["results"]
    assert [r["model"] for r in results] == ["hashgrid", "siren"]
    assert all(r["steps_run"] >= 1 and r["params"] > 0 for r in results)
    assert "hash grid / SIREN wall time" in text or "did not reach" in text
