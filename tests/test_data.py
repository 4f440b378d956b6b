"""Data: grids, image loading and validation, coordinates <-> images, continuous targets, the Tancik split."""

from __future__ import annotations

import re

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


@pytest.mark.parametrize("start,stop", [(0, 60), (0, 1), (13, 41), (59, 60), (20, 20)])
def test_coordinate_grid_slices_match_an_independent_meshgrid(start, stop):
    shape = (3, 4, 5)
    axes = [np.linspace(-1, 1, n, dtype=np.float32) for n in shape]
    reference = np.stack([axis.reshape(-1) for axis in np.meshgrid(*axes, indexing="ij")], axis=-1)
    np.testing.assert_array_equal(data.coordinate_grid(shape), reference)
    np.testing.assert_array_equal(data.coordinate_grid(shape, start, stop), reference[start:stop])
    with pytest.raises(ValueError, match="start"):
        data.coordinate_grid((2, 2), 3, 5)
    with pytest.raises(ValueError, match="stop"):
        data.coordinate_grid((2, 2), 0, 2.5)


def test_sample_grid_indices_draws_distinct_uniform_reproducible_subsets():
    def draw(seed, **kwargs):
        return data.sample_grid_indices(np.random.default_rng(seed), 50, 20, **kwargs)

    first = draw(0)
    assert first.shape == (20,) and first.dtype == np.int64
    assert len(set(first.tolist())) == 20 and first.min() >= 0 and first.max() < 50
    np.testing.assert_array_equal(draw(0), first)  # the generator's seed decides the subset
    assert not np.array_equal(np.sort(draw(1)), np.sort(first))
    rows = draw(0, rows=3)
    assert rows.shape == (3, 20) and all(len(set(row.tolist())) == 20 for row in rows)
    assert not np.array_equal(np.sort(rows[0]), np.sort(rows[1]))  # rows are independent draws
    assert sorted(draw(0, rows=2, replace=False)[0].tolist()) != list(range(20))
    np.testing.assert_array_equal(np.sort(data.sample_grid_indices(np.random.default_rng(0), 7, 7)), np.arange(7))
    with_replacement = data.sample_grid_indices(np.random.default_rng(0), 5, 40, replace=True)
    assert with_replacement.shape == (40,) and set(with_replacement.tolist()) <= set(range(5))
    # every point is equally likely: 2000 subsets of 10 of 20 points choose each point ~1000 times
    counts = np.bincount(data.sample_grid_indices(np.random.default_rng(3), 20, 10, rows=2000).ravel(), minlength=20)
    assert counts.sum() == 20_000 and np.abs(counts - 1000).max() < 120  # ~5 standard deviations


@pytest.mark.parametrize(
    "arguments, message",
    [
        ({"rng": 0}, "`rng` must be a numpy.random.Generator"),
        ({"num_points": 0}, "`num_points`"),
        ({"size": 0}, "`size`"),
        ({"size": 11}, "`size` must be at most `num_points` (10)"),
        ({"rows": 0}, "`rows`"),
    ],
)
def test_sample_grid_indices_rejects_bad_arguments(arguments, message):
    arguments = {"rng": np.random.default_rng(0), "num_points": 10, "size": 3, **arguments}
    with pytest.raises(ValueError, match=re.escape(message)):
        data.sample_grid_indices(**arguments)


def test_pixel_batches_serve_matching_pairs_seeded_by_epoch_and_step(small_camera):
    coordinates, values = data.image_to_coordinates(small_camera)
    dataset = data.PixelBatches(coordinates, values, batch_size=100, steps_per_epoch=3, seed=7)
    assert len(dataset) == 3
    batch_x, batch_y = dataset[1]
    assert batch_x.shape == (100, 2) and batch_y.shape == (100, 1)
    # each value is the pixel at its coordinate, and the 100 pixels are distinct
    rows = np.rint((batch_x + 1) / 2 * 31).astype(int)
    np.testing.assert_array_equal(batch_y[:, 0], small_camera[rows[:, 0], rows[:, 1], 0])
    assert len({tuple(row) for row in rows.tolist()}) == 100
    np.testing.assert_array_equal(dataset[1][0], batch_x)  # a function of (seed, epoch, step) only
    assert not np.array_equal(dataset[2][0], batch_x)
    dataset.on_epoch_end()
    assert dataset.epoch == 1 and not np.array_equal(dataset[1][0], batch_x)
    dataset.epoch = 0
    np.testing.assert_array_equal(dataset[1][0], batch_x)
    other_seed = data.PixelBatches(coordinates, values, batch_size=100, steps_per_epoch=3, seed=8)
    assert not np.array_equal(other_seed[1][0], batch_x)
    with pytest.raises(ValueError, match="batch_size"):
        data.PixelBatches(coordinates, values, batch_size=len(coordinates) + 1, steps_per_epoch=1)
    with pytest.raises(ValueError, match="same N"):
        data.PixelBatches(coordinates, values[:-1], batch_size=4, steps_per_epoch=1)
    with pytest.raises(ValueError, match="steps_per_epoch"):
        data.PixelBatches(coordinates, values, batch_size=4, steps_per_epoch=0)
