"""hypernets.ImageFolderDataset: images streamed from a folder per batch, in bounded memory."""

from __future__ import annotations

import tracemalloc

import keras
import numpy as np
import pytest
from PIL import Image

import hypernets
import keras_inr
from keras_inr.data import load_image


def _write_images(folder, count, shape=(10, 12), channels=1, seed=0, start=0):
    """``count`` random PNGs (uint8) named img_000.png, ...; returns them as loaded by keras_inr.data.load_image."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for index in range(start, start + count):
        pixels = rng.integers(0, 256, size=(*shape, channels) if channels > 1 else shape, dtype=np.uint8)
        path = folder / f"img_{index:03d}.png"
        Image.fromarray(pixels).save(path)
        paths.append(path)
    return paths


def _count_loads(dataset) -> list:
    calls = []
    load = dataset.load

    def counting(position):
        calls.append(int(position))
        return load(position)

    dataset.load = counting
    return calls


def test_batches_equal_image_field_dataset_of_the_same_images(tmp_path):
    paths = _write_images(tmp_path, 10)
    (tmp_path / "notes.txt").write_text("not an image")  # ignored
    images = np.stack([load_image(path, size=(8, 8)) for path in paths])
    streamed = hypernets.ImageFolderDataset(tmp_path, size=8, points_per_image=16, batch_size=4, seed=5)
    in_memory = hypernets.ImageFieldDataset(images, points_per_image=16, batch_size=4, seed=5)
    assert streamed.files == paths and len(streamed) == len(in_memory) == 2 and streamed.size == (8, 8)
    for _ in range(2):  # two epochs: the shuffle changes, both datasets alike
        for index in range(len(streamed)):
            (points_a, coordinates_a), values_a = streamed[index]
            (points_b, coordinates_b), values_b = in_memory[index]
            np.testing.assert_array_equal(points_a, points_b)
            np.testing.assert_array_equal(coordinates_a, coordinates_b)
            np.testing.assert_array_equal(values_a, values_b)
            assert values_a.shape == (4, 16, 1) and coordinates_a.shape == (4, 16, 2)
        streamed.on_epoch_end()
        in_memory.on_epoch_end()
    orders = [streamed._order() for streamed.epoch in (0, 1)]
    assert not np.array_equal(*orders)  # shuffled per epoch


def test_each_file_read_once_per_epoch_and_one_batch_held(tmp_path):
    _write_images(tmp_path, 9)
    dataset = hypernets.ImageFolderDataset(tmp_path, size=(6, 5), points_per_image=None, batch_size=3, seed=1)
    calls = _count_loads(dataset)
    for index in range(len(dataset)):
        (datapoints, coordinates), values = dataset[index]
        assert datapoints.shape == (3, 6, 5, 1) and values.shape == (3, 30, 1)
        assert dataset.signals.batches.cached[1].shape[0] == 3  # only this batch's images are held
    assert sorted(calls) == list(range(9))  # datapoints and values share one read per file
    (indices, _), _ = hypernets.ImageFolderDataset(tmp_path, size=4, points_per_image=4, batch_size=3,
                                                  datapoints="indices", shuffle=False)[1]
    np.testing.assert_array_equal(indices, [3, 4, 5])


def test_memory_stays_bounded_by_a_batch(tmp_path):
    shape, count, batch = (48, 48), 40, 2
    _write_images(tmp_path, count, shape=shape, channels=3)
    one_image = 48 * 48 * 3 * 4  # float32 bytes
    tracemalloc.start()
    try:
        baseline, _ = tracemalloc.get_traced_memory()
        dataset = hypernets.ImageFolderDataset(tmp_path, points_per_image=64, batch_size=batch)
        for index in range(len(dataset)):
            dataset[index]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # the whole folder decoded would be count * one_image (1.1 MB); a batch and the resize temporaries are far less
    assert peak - baseline < 8 * batch * one_image < count * one_image / 2, (peak - baseline, one_image)


def test_channels_npy_and_conversion(tmp_path):
    _write_images(tmp_path, 2, channels=3)
    np.save(tmp_path / "img_002.npy", np.random.default_rng(0).random((10, 12, 3)).astype(np.float32))
    dataset = hypernets.ImageFolderDataset(tmp_path, points_per_image=8, batch_size=3, shuffle=False)
    assert dataset.channels == 3 and dataset.size == (10, 12) and len(dataset.files) == 3
    assert dataset[0][1].shape == (3, 8, 3)
    _write_images(tmp_path, 1, channels=1, start=3)  # a grey file among RGB ones
    with pytest.raises(ValueError, match=r"img_003\.png.*1 channel.*have 3.*channels=1"):
        hypernets.ImageFolderDataset(tmp_path, points_per_image=8, batch_size=4, shuffle=False)[0]
    grey = hypernets.ImageFolderDataset(tmp_path, points_per_image=8, batch_size=4, channels=1, shuffle=False)
    rgb = hypernets.ImageFolderDataset(tmp_path, points_per_image=8, batch_size=4, channels=3, shuffle=False)
    assert grey[0][1].shape == (4, 8, 1) and rgb[0][1].shape == (4, 8, 3)
    expected = load_image(tmp_path / "img_000.png") @ np.array([0.2125, 0.7154, 0.0721], dtype=np.float32)
    np.testing.assert_allclose(grey.load(0)[..., 0], expected, rtol=1e-6)


def test_bad_folders_and_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        hypernets.ImageFolderDataset(tmp_path / "missing", size=8)
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.txt").write_text("no images here")
    with pytest.raises(ValueError, match=r"`folder` .*empty.* holds no image file"):
        hypernets.ImageFolderDataset(tmp_path / "empty", size=8)
    with pytest.raises(ValueError, match="is not a folder"):
        hypernets.ImageFolderDataset(tmp_path / "empty" / "readme.txt")
    with pytest.raises(ValueError, match="`folder` must be a folder path"):
        hypernets.ImageFolderDataset(3)
    folder = tmp_path / "images"
    _write_images(folder, 3)
    (folder / "img_999.png").write_bytes(b"not a png")
    dataset = hypernets.ImageFolderDataset(folder, size=8, points_per_image=4, batch_size=2, shuffle=False)
    dataset[0]  # the readable files serve
    with pytest.raises(ValueError, match=r"cannot read image file .*img_999\.png"):
        dataset[1]
    (folder / "img_000.png").write_bytes(b"broken too")
    with pytest.raises(ValueError, match=r"cannot read image file .*img_000\.png"):  # the first file: at once
        hypernets.ImageFolderDataset(folder, size=8)
    _write_images(folder, 1)
    for kwargs, name in (({"channels": 2}, "channels"), ({"size": 0}, "size"), ({"batch_size": 0}, "batch_size"),
                         ({"points_per_image": 65, "size": 8}, "points_per_image"), ({"datapoints": "x"}, "datapoints"),
                         ({"batch_size": 9}, "batch_size"), ({"shuffle": 1}, "shuffle"), ({"seed": -1}, "seed")):
        with pytest.raises(ValueError, match=f"`{name}"):
            hypernets.ImageFolderDataset(folder, **{"size": 4, "points_per_image": 4, "batch_size": 2, **kwargs})


def test_hyperinr_fits_from_a_folder(tmp_path):
    _write_images(tmp_path, 8, shape=(8, 8))
    dataset = hypernets.ImageFolderDataset(tmp_path, points_per_image=16, batch_size=4, seed=0)
    encoder = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(8)])
    model = hypernets.HyperINR(encoder, keras_inr.SIREN(out_dims=1, width=8, depth=1), head="shift", seed=0)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    history = model.fit(dataset, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2 and np.all(np.isfinite(history.history["loss"]))
    assert dataset.epoch >= 2  # Keras called on_epoch_end after each epoch: the next epoch reshuffles
