"""Samplers (keras_inr.samplers) in 1-D, 2-D and 3-D: shapes, ranges, cells, determinism by seed, resumability,
the PixelBatches / ContinuousImageDataset special cases, SignalDataset feeding model.fit, and bad input named."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from keras_inr import data, samplers, signals
from keras_inr.data import coordinate_grid

SHAPES = [(31,), (6, 7), (3, 4, 5)]


def _rng(seed=0):
    return np.random.default_rng(seed)


def _cell_index(shape, coordinates):
    """The flat index of the grid point whose cell holds each coordinate (nearest interpolation of the indices)."""
    indices = np.arange(np.prod(shape), dtype=np.float32).reshape(*shape, 1)
    return signals.interpolate(indices, coordinates, "nearest")[:, 0].astype(np.int64)


def test_samplers_shapes_ranges_and_cells_in_1d_2d_3d():
    for shape in SHAPES:
        d, total = len(shape), int(np.prod(shape))
        drawn = {
            "uniform": samplers.UniformSampler(d, 50),
            "grid": samplers.GridSampler(shape),
            "grid independent": samplers.GridSampler(shape, jitter="independent"),
            "grid shared": samplers.GridSampler(shape, jitter="shared"),
            "subset": samplers.GridSubsetSampler(shape, 20),
            "subset jittered": samplers.GridSubsetSampler(shape, 20, jitter="independent"),
        }
        for name, sampler in drawn.items():
            batch = sampler.sample(_rng())
            assert batch.shape == (sampler.num_points, d) and batch.dtype == np.float32, (shape, name)
            assert sampler.in_dims == d and -1.0 <= batch.min() and batch.max() <= 1.0, (shape, name)
        grid = coordinate_grid(shape)
        np.testing.assert_array_equal(drawn["grid"].sample(_rng()), grid)
        for jitter in ("grid independent", "grid shared"):  # every point stays in its own cell, and moved
            batch = drawn[jitter].sample(_rng(1))
            np.testing.assert_array_equal(_cell_index(shape, batch), np.arange(total))
            assert not np.array_equal(batch, grid)
        steps = np.diff(drawn["grid shared"].sample(_rng(2))[:, -1].reshape(-1, shape[-1]), axis=-1)
        assert np.allclose(steps[:, 1:-1], 2.0 / (shape[-1] - 1), atol=1e-6)  # one shift for the inner points
        subset = drawn["subset"].sample(_rng(3))
        indices = _cell_index(shape, subset)
        assert len(set(indices)) == 20  # distinct grid points ...
        np.testing.assert_array_equal(subset, grid[indices])  # ... exactly on the grid


def test_grid_subset_matches_pixel_batches_and_uniform_matches_continuous_image(small_camera):
    coordinates, values = data.image_to_coordinates(small_camera)
    pixels = data.PixelBatches(coordinates, values, batch_size=64, steps_per_epoch=3, seed=5)
    dataset = samplers.SignalDataset(small_camera, samplers.GridSubsetSampler((32, 32), 64), steps_per_epoch=3,
                                     seed=5)
    for dataset_ in (pixels, dataset):
        dataset_.epoch = 2
    for step in range(3):
        for ours, theirs in zip(dataset[step], pixels[step]):
            np.testing.assert_array_equal(ours, theirs)  # same points, values exactly the pixels
    continuous = data.ContinuousImageDataset(small_camera, batch_size=64, steps_per_epoch=2, seed=7)
    dataset = samplers.SignalDataset(small_camera, samplers.UniformSampler(2, 64), steps_per_epoch=2, seed=7)
    np.testing.assert_array_equal(dataset[1][0], continuous[1][0])
    np.testing.assert_allclose(dataset[1][1], continuous[1][1], atol=1e-6)


def test_concat_and_switch():
    grid = samplers.GridSubsetSampler((8, 8), 10)
    uniform = samplers.UniformSampler(2, 10)
    concat = samplers.ConcatSampler(grid, uniform)
    assert (concat.num_points, concat.in_dims) == (20, 2)
    rng = _rng(4)
    expected = np.concatenate([grid.sample(rng), uniform.sample(rng)])
    np.testing.assert_array_equal(concat.sample(_rng(4)), expected)
    assert samplers.ConcatSampler([grid, uniform]).num_points == 20  # a list works too

    switch = samplers.SwitchSampler(grid, uniform)
    on_grid = [np.isin(switch.batch(0, 0, step), np.linspace(-1, 1, 8, dtype=np.float32)).all() for step in range(40)]
    assert 5 < sum(on_grid) < 35  # both samplers are used
    only_grid = samplers.SwitchSampler(grid, uniform, probabilities=[1.0, 0.0])
    assert all(np.isin(only_grid.batch(0, 0, step), np.linspace(-1, 1, 8, dtype=np.float32)).all()
               for step in range(10))


def test_batches_are_a_function_of_seed_epoch_and_step():
    sampler = samplers.ConcatSampler(samplers.GridSampler((4, 5, 6), jitter="independent"),
                                     samplers.SwitchSampler(samplers.UniformSampler(3, 7),
                                                            samplers.GridSubsetSampler((4, 5, 6), 7)))
    np.testing.assert_array_equal(sampler.batch(3, 1, 2), sampler.batch(3, 1, 2))
    for other in ((4, 1, 2), (3, 2, 2), (3, 1, 3)):
        assert not np.array_equal(sampler.batch(3, 1, 2), sampler.batch(*other))
    dataset = samplers.SignalDataset(np.zeros((4, 5, 6, 1)), sampler, steps_per_epoch=4, seed=3)
    dataset.epoch = 1
    np.testing.assert_array_equal(dataset[2][0], sampler.batch(3, 1, 2))
    resumed = samplers.SignalDataset(np.zeros((4, 5, 6, 1)), sampler, steps_per_epoch=4, seed=3)
    resumed.epoch = 1  # what DatasetEpoch sets when fit resumes at epoch 1
    for step in range(4):
        np.testing.assert_array_equal(resumed[step][0], dataset[step][0])


class _Recording(samplers.SignalDataset):
    """Records ``(epoch, step) -> coordinates`` of every batch served (Keras also peeks at a batch or two before the
    first epoch begins, to learn the shapes; those are not trained on)."""

    def __getitem__(self, index):
        batch = super().__getitem__(index)
        self.seen.setdefault((self.epoch, int(index)), batch[0].copy())
        return batch


def _recorded_fit(epochs, initial_epoch=0):
    from keras_inr import SIREN
    from keras_inr.callbacks import DatasetEpoch

    target = signals.FunctionSignal(lambda x: keras.ops.sin(4.0 * x), in_dims=1)  # keras.ops function target
    dataset = _Recording(target, samplers.UniformSampler(1, 32), steps_per_epoch=3, seed=11)
    dataset.seen = {}
    model = SIREN(1, width=8, depth=1, in_dims=1)
    model.compile(optimizer="adam", loss="mse")
    history = model.fit(dataset, epochs=epochs, initial_epoch=initial_epoch, verbose=0,
                        callbacks=[DatasetEpoch(dataset)])
    return dataset.seen, history


def test_signal_dataset_feeds_model_fit_and_resumes_exactly():
    full, history = _recorded_fit(epochs=3)
    assert len(history.history["loss"]) == 3 and np.isfinite(history.history["loss"]).all()
    resumed, _ = _recorded_fit(epochs=3, initial_epoch=2)  # the last epoch of a run resumed from a backup
    for step in range(3):
        expected = samplers.UniformSampler(1, 32).batch(11, 2, step)
        np.testing.assert_array_equal(full[2, step], expected)
        np.testing.assert_array_equal(resumed[2, step], expected)
    assert {key for key in resumed if key[0] != 0} == {(2, 0), (2, 1), (2, 2)}


BAD_INPUT = [
    (lambda: samplers.UniformSampler(0, 5), "in_dims"),
    (lambda: samplers.UniformSampler(2, 0), "num_points"),
    (lambda: samplers.UniformSampler(2, 2**31), "num_points"),
    (lambda: samplers.GridSampler((0, 4)), "shape"),
    (lambda: samplers.GridSampler((2**16, 2**16)), "shape"),
    (lambda: samplers.GridSampler((4, 4), jitter="random"), "jitter"),
    (lambda: samplers.GridSubsetSampler((4, 4), 17), "num_points"),
    (lambda: samplers.GridSubsetSampler((4, 4), 4, replace="yes"), "replace"),
    (lambda: samplers.ConcatSampler(), "samplers"),
    (lambda: samplers.ConcatSampler(samplers.UniformSampler(1, 3), samplers.UniformSampler(2, 3)), "samplers"),
    (lambda: samplers.ConcatSampler(samplers.UniformSampler(1, 3), "grid"), r"samplers\[1\]"),
    (lambda: samplers.SwitchSampler(samplers.UniformSampler(1, 3), samplers.UniformSampler(1, 4)), "samplers"),
    (lambda: samplers.SwitchSampler(samplers.UniformSampler(1, 3), probabilities=[-1.0]), "probabilities"),
    (lambda: samplers.SwitchSampler(samplers.UniformSampler(1, 3), probabilities=[0.5, 0.5]), "probabilities"),
    (lambda: samplers.UniformSampler(1, 3).sample(0), "rng"),
    (lambda: samplers.UniformSampler(1, 3).batch(seed=-1), "seed"),
    (lambda: samplers.SignalDataset(np.zeros((4, 4, 1)), samplers.UniformSampler(3, 8)), "sampler"),
    (lambda: samplers.SignalDataset(np.zeros((4, 1)), "uniform"), "sampler"),
    (lambda: samplers.SignalDataset(np.zeros((0, 1)), samplers.UniformSampler(1, 8)), "empty"),
    (lambda: samplers.SignalDataset(np.full((4, 1), np.nan), samplers.UniformSampler(1, 8)), "NaN"),
    (lambda: samplers.SignalDataset(np.zeros((4, 1)), samplers.UniformSampler(1, 8), steps_per_epoch=0),
     "steps_per_epoch"),
    (lambda: samplers.SignalDataset(lambda x: x * np.nan, samplers.UniformSampler(1, 8))[0], "NaN"),
    (lambda: samplers.grid_coordinates_at((4,), [4]), "indices"),
]


def test_bad_input_is_named():
    for index, (call, message) in enumerate(BAD_INPUT):
        with pytest.raises(ValueError, match=message):
            call()
            pytest.fail(f"case {index} ({message!r}) raised nothing")
