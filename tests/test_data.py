"""Data: grids, image loading and validation, coordinates <-> images, continuous targets, the Tancik split."""

from __future__ import annotations

import numpy as np
import pytest

from keras_inr import data


def test_coordinate_grid_shape_range_and_order():
    grid = data.coordinate_grid((3, 4))
    assert grid.shape == (12, 2) and grid.dtype == np.float32
    assert grid.min() == -1.0 and grid.max() == 1.0
    # row-major: the second coordinate varies fastest
    np.testing.assert_allclose(grid[:4, 0], -1.0)
    np.testing.assert_allclose(grid[:4, 1], np.linspace(-1, 1, 4))
    assert data.coordinate_grid((5,)).shape == (5, 1)
    assert data.coordinate_grid((2, 3, 4)).shape == (24, 3)


@pytest.mark.parametrize("shape", [(), (0, 3), (3, -1), (2.5, 2), "abc", None])
def test_coordinate_grid_rejects_bad_shapes(shape):
    with pytest.raises(ValueError, match="shape"):
        data.coordinate_grid(shape)


def test_load_sample_images():
    camera = data.load_image("camera")
    assert camera.shape == (512, 512, 1) and camera.dtype == np.float32
    assert 0.0 <= camera.min() and camera.max() <= 1.0 and camera.std() > 0.1
    astronaut = data.load_image("astronaut", size=(20, 30))
    assert astronaut.shape == (20, 30, 3)
    assert data.load_image("camera", size=16).shape == (16, 16, 1)


def test_load_image_file_round_trip(tmp_path):
    from PIL import Image

    pixels = (np.arange(6 * 5 * 3).reshape(6, 5, 3) * 2).astype(np.uint8)
    Image.fromarray(pixels).save(tmp_path / "tiny.png")
    loaded = data.load_image(tmp_path / "tiny.png")
    np.testing.assert_allclose(loaded, pixels / 255.0, atol=1e-6)
    Image.fromarray(pixels[..., 0]).save(tmp_path / "grey.png")
    assert data.load_image(str(tmp_path / "grey.png")).shape == (6, 5, 1)


def test_load_image_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.png"):
        data.load_image(tmp_path / "missing.png")
    with pytest.raises(ValueError, match="sample image"):
        data.load_image("not_an_image_name")
    (tmp_path / "broken.png").write_bytes(b"this is not a png")
    with pytest.raises(ValueError, match="not a readable image"):
        data.load_image(tmp_path / "broken.png")
    with pytest.raises(ValueError, match="size"):
        data.load_image("camera", size=(0, 4))
    with pytest.raises(ValueError, match="source"):
        data.load_image(12)


@pytest.mark.parametrize(
    "array, message",
    [
        (np.zeros((0, 4)), "empty"),
        (np.zeros((4,)), "shape"),
        (np.zeros((4, 4, 2)), "shape"),
        (np.zeros((2, 4, 4, 3)), "shape"),
        (np.full((4, 4), np.nan), "NaN"),
        (np.full((4, 4), 2.0), r"\[0, 1\]"),
        (np.array([["a", "b"]]), "numeric"),
    ],
)
def test_invalid_images_are_rejected(array, message):
    with pytest.raises(ValueError, match=message):
        data.as_image(array)


def test_integer_and_rgba_images_are_normalised():
    rgba = np.full((2, 2, 4), 255, dtype=np.uint8)
    image = data.as_image(rgba)
    assert image.shape == (2, 2, 3) and np.all(image == 1.0)
    assert data.as_image(np.full((2, 2), 65535, dtype=np.uint16)).max() == 1.0


def test_image_coordinates_round_trip(small_camera):
    coordinates, values = data.image_to_coordinates(small_camera)
    assert coordinates.shape == (32 * 32, 2) and values.shape == (32 * 32, 1)
    np.testing.assert_array_equal(data.coordinates_to_image(values, (32, 32)), small_camera)
    # the value at coordinate (-1, 1) is the top-right pixel
    index = np.flatnonzero((coordinates[:, 0] == -1) & (coordinates[:, 1] == 1))[0]
    assert values[index, 0] == small_camera[0, -1, 0]
    with pytest.raises(ValueError, match="values"):
        data.coordinates_to_image(values[:-1], (32, 32))


def test_bilinear_sampling_interpolates_between_pixels():
    image = np.array([[0.0, 1.0], [0.5, 0.25]], dtype=np.float32)[..., None]
    grid = data.coordinate_grid((2, 2))
    np.testing.assert_allclose(data.bilinear_sample(image, grid)[:, 0], image.reshape(-1), atol=1e-7)
    centre = data.bilinear_sample(image, np.zeros((1, 2), np.float32))
    np.testing.assert_allclose(centre, [[image.mean()]], atol=1e-7)
    midpoint_top = data.bilinear_sample(image, np.array([[-1.0, 0.0]], np.float32))
    np.testing.assert_allclose(midpoint_top, [[0.5]], atol=1e-7)


def test_continuous_dataset_batches(small_camera):
    dataset = data.ContinuousImageDataset(small_camera, batch_size=64, steps_per_epoch=3, seed=5)
    assert len(dataset) == 3
    coordinates, values = dataset[0]
    assert coordinates.shape == (64, 2) and values.shape == (64, 1)
    assert np.all(np.abs(coordinates) <= 1)
    np.testing.assert_allclose(values, data.bilinear_sample(small_camera, coordinates))
    np.testing.assert_array_equal(dataset[0][0], coordinates)  # reproducible
    assert not np.array_equal(dataset[1][0], coordinates)  # fresh points per step
    dataset.on_epoch_end()
    assert not np.array_equal(dataset[0][0], coordinates)  # and per epoch
    # off-grid: essentially no sample lands exactly on a pixel centre
    on_grid = np.isclose(((coordinates + 1) / 2 * 31) % 1, 0).all(axis=1)
    assert on_grid.mean() < 0.05
    with pytest.raises(ValueError, match="batch_size"):
        data.ContinuousImageDataset(small_camera, batch_size=0)


def test_continuous_dataset_trains_a_model(small_camera):
    from keras_inr import SIREN, training

    model = SIREN(1, width=32, depth=2)
    training.compile_inr(model, learning_rate=1e-3, schedule="constant")
    dataset = data.ContinuousImageDataset(small_camera, batch_size=256, steps_per_epoch=20)
    history = model.fit(dataset, epochs=4, verbose=0)
    assert history.history["psnr"][-1] > history.history["psnr"][0] + 3.0


def test_tancik_split(small_camera):
    (train_x, train_y), (test_x, test_y) = data.tancik_split(small_camera)
    assert train_x.shape == (16 * 16, 2) and test_x.shape == (32 * 32 - 16 * 16, 2)
    assert train_y.shape == (256, 1) and test_y.shape == (768, 1)
    train_set = {tuple(point) for point in train_x.tolist()}
    assert not train_set & {tuple(point) for point in test_x.tolist()}
    (_, _), (full_x, _) = data.tancik_split(small_camera, test="full")
    assert full_x.shape == (1024, 2)
    with pytest.raises(ValueError, match="test"):
        data.tancik_split(small_camera, test="odd")
