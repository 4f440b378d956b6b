"""Tests of keras_inr.rendering.render: chunked grid evaluation equals a direct model call, for all shapes/batches."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest

import keras_inr
from keras_inr.data import coordinate_grid
from keras_inr.rendering import render


def direct(model, shape) -> np.ndarray:
    """Reference: the model called once on the whole materialised grid, reshaped to ``(*shape, out_dims)``."""
    values = keras.ops.convert_to_numpy(keras.ops.stop_gradient(model(coordinate_grid(shape))))
    return np.asarray(values).reshape(*shape, -1)


class CountingModel(keras.Model):
    """Wraps a model and records the batch shapes it is called with (to check padding / fixed batch shape)."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner
        self.in_dims = inner.in_dims
        self.batch_shapes = []

    def call(self, inputs):
        self.batch_shapes.append(tuple(inputs.shape))
        return self.inner(inputs)


@pytest.fixture(scope="module")
def siren2d():
    return keras_inr.SIREN(out_dims=3, width=16, depth=2, in_dims=2)


def test_render_is_exported():
    assert keras_inr.render is render


@pytest.mark.parametrize("batch_size", [1, 7, 64, 100, 10_000])
def test_render_matches_direct_call_for_any_batch_size(siren2d, batch_size):
    shape = (8, 10)  # 80 pixels: 7 does not divide it, 64 leaves a tail, 10_000 exceeds it
    image = render(siren2d, shape, batch_size=batch_size)
    assert image.shape == (8, 10, 3)
    assert image.dtype == np.float32
    np.testing.assert_allclose(image, direct(siren2d, shape), rtol=1e-5, atol=1e-5)


def test_render_batches_have_a_fixed_shape():
    inner = keras_inr.SIREN(out_dims=1, width=8, depth=1, in_dims=2)
    model = CountingModel(inner)
    image = render(model, (5, 7), batch_size=16)  # 35 = 16 + 16 + 3 padded to 16
    np.testing.assert_allclose(image, direct(inner, (5, 7)), rtol=1e-5, atol=1e-5)
    # predict_on_batch may trace symbolically first; every concrete batch must be 16 rows
    concrete = [s for s in model.batch_shapes if s[0] is not None]
    assert concrete and set(concrete) == {(16, 2)}


def test_render_1d_and_3d():
    for in_dims, shapes in ((1, [(37,)]), (3, [(3, 4, 5), (2, 1, 3)])):
        model = keras_inr.GaussianINR(out_dims=2, width=16, depth=2, inverse_scale=3.0, in_dims=in_dims)
        for shape in shapes:
            volume = render(model, shape, batch_size=11)
            assert volume.shape == (*shape, 2)
            np.testing.assert_allclose(volume, direct(model, shape), rtol=1e-5, atol=1e-5)


def test_render_accepts_an_int_for_1d_and_builds_unbuilt_models():
    model = keras_inr.FourierFeatureNetwork(out_dims=1, width=16, depth=1, num_features=8, scale=2.0, seed=3)
    signal = render(model, 20, batch_size=6)
    assert signal.shape == (20, 1)
    np.testing.assert_allclose(signal, direct(model, (20,)), rtol=1e-5, atol=1e-5)


def test_render_bad_arguments(siren2d):
    with pytest.raises(ValueError, match="shape"):
        render(siren2d, ())
    with pytest.raises(ValueError, match=r"shape\[1\]"):
        render(siren2d, (4, 0))
    with pytest.raises(ValueError, match="shape"):
        render(siren2d, "64x64")
    with pytest.raises(ValueError, match="batch_size"):
        render(siren2d, (4, 4), batch_size=0)
    with pytest.raises(ValueError, match="batch_size"):
        render(siren2d, (4, 4), batch_size=2.5)
    with pytest.raises(ValueError, match="2-D coordinates.*3 dimensions"):
        render(siren2d, (4, 4, 4))
    with pytest.raises(ValueError, match="model"):
        render("not a model", (4, 4))


def test_render_large_volume():
    """A 3-D render of 48^3 = 110k points in batches of 4096 (one coordinate batch in memory at a time)."""
    model = keras_inr.SIREN(out_dims=1, width=8, depth=1, in_dims=3)
    shape = (48, 48, 48)
    volume = render(model, shape, batch_size=4096)
    assert volume.shape == (48, 48, 48, 1)
    # spot-check a few voxels against direct evaluation at their coordinates
    rng = np.random.default_rng(0)
    flat = rng.integers(0, math.prod(shape), size=5)
    coordinates = np.stack([coordinate_grid(shape, int(i), int(i) + 1)[0] for i in flat])
    expected = np.asarray(keras.ops.convert_to_numpy(keras.ops.stop_gradient(model(coordinates))))
    np.testing.assert_allclose(volume.reshape(-1, 1)[flat], expected, rtol=1e-5, atol=1e-5)


def test_render_to_file_streams_batches_and_equals_render(tmp_path, monkeypatch):
    inner = keras_inr.SIREN(out_dims=2, width=8, depth=1, in_dims=2)
    model = CountingModel(inner)
    calls = []
    predict = keras_inr.rendering._predict

    def counting(model, coordinates):
        calls.append(coordinates.shape)
        return predict(model, coordinates)

    monkeypatch.setattr(keras_inr.rendering, "_predict", counting)
    path = keras_inr.rendering.render_to_file(model, (9, 7), tmp_path / "field.npy", batch_size=16)
    assert path == tmp_path / "field.npy" and sorted(p.name for p in tmp_path.iterdir()) == ["field.npy"]
    stored = np.load(path)
    assert stored.dtype == np.float32 and stored.shape == (9, 7, 2)
    np.testing.assert_array_equal(stored, render(inner, (9, 7), batch_size=16))
    np.testing.assert_allclose(stored, direct(inner, (9, 7)), rtol=1e-5, atol=1e-5)
    concrete = [s for s in model.batch_shapes if s[0] is not None]
    assert set(concrete) == {(16, 2)}
    assert calls[:4] == [(16, 2)] * 4  # 63 points: 4 calls of 16 (the model never sees more than batch_size points)
    with pytest.raises(ValueError, match=r"`path` must be a file path ending in \.npy"):
        keras_inr.rendering.render_to_file(inner, (4, 4), tmp_path / "field.png")
    with pytest.raises(ValueError, match="`path`.*does not exist"):
        keras_inr.rendering.render_to_file(inner, (4, 4), tmp_path / "missing" / "field.npy")
    with pytest.raises(ValueError, match="2-D coordinates"):
        keras_inr.rendering.render_to_file(inner, (4, 4, 4), tmp_path / "bad.npy")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["field.npy"]  # a failed render leaves no file


def test_render_into_a_memmap(tmp_path, siren2d):
    out = np.lib.format.open_memmap(tmp_path / "image.npy", mode="w+", dtype=np.float32, shape=(6, 5, 3))
    assert render(siren2d, (6, 5), batch_size=7, out=out) is out
    out.flush()
    np.testing.assert_allclose(np.load(tmp_path / "image.npy"), direct(siren2d, (6, 5)), rtol=1e-5, atol=1e-5)
    for bad in (np.zeros((6, 5, 3)), np.zeros((5, 6, 3), np.float32), np.zeros((6, 5, 3), np.float32).T, [0.0]):
        with pytest.raises(ValueError, match="`out` must be a writable, C-contiguous float32 array"):
            render(siren2d, (6, 5), out=bad)
    read_only = np.zeros((6, 5, 3), np.float32)
    read_only.flags.writeable = False
    with pytest.raises(ValueError, match="`out`"):
        render(siren2d, (6, 5), out=read_only)
    with pytest.raises(ValueError, match="`out` has 2 channels but the model outputs 3"):
        render(siren2d, (6, 5), out=np.zeros((6, 5, 2), np.float32))


def test_render_to_file_memory_is_one_batch(tmp_path):
    """Host (numpy) memory of a file render stays near one batch (plus call overhead), far below the output."""
    import tracemalloc

    model = keras_inr.SIREN(out_dims=3, width=8, depth=1, in_dims=2)
    # compile the predict function for 512-point batches, and import what the file render imports, first
    keras_inr.rendering.render_to_file(model, (32, 32), tmp_path / "warm.npy", batch_size=512)
    shape, output_bytes = (256, 256), 256 * 256 * 3 * 4
    tracemalloc.start()
    try:
        baseline, _ = tracemalloc.get_traced_memory()
        keras_inr.rendering.render_to_file(model, shape, tmp_path / "big.npy", batch_size=512)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        render(model, shape, batch_size=512)
        _, in_memory_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak - baseline < output_bytes / 4, (peak - baseline, output_bytes)
    assert in_memory_peak - baseline >= output_bytes  # the in-memory render does hold the whole output
    np.testing.assert_array_equal(np.load(tmp_path / "big.npy"), render(model, shape, batch_size=512))
