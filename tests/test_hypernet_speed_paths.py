"""Tests of the fast paths of HyperINR's training step (run under every KERAS_BACKEND): the one-split cut of the full
head's output, the grid batch's sampled values, and the dataset's per-epoch order."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import ops

import hypernets
import keras_inr
from hypernets.functional import LayerSpec, layer_specs, split_flat_parameters
from hypernets.steps import _cached_grid, prepare_batch
from keras_inr.data import coordinate_grid


def to_numpy(tensor) -> np.ndarray:
    return np.asarray(ops.convert_to_numpy(tensor))


def sliced(flat: np.ndarray, specs) -> list:
    """The reference cut: one numpy slice per kernel and bias, in order."""
    weights, start = [], 0
    for spec in specs:
        kernel = flat[:, start : start + spec.kernel_size].reshape(-1, *spec.kernel_shape)
        start += spec.kernel_size
        bias = None
        if spec.use_bias:
            bias = flat[:, start : start + spec.bias_size].reshape(-1, *spec.bias_shape)
            start += spec.bias_size
        weights.append((kernel, bias))
    assert start == flat.shape[1]
    return weights


@pytest.mark.parametrize("target", ["siren", "wire", "no_bias"])
def test_split_flat_parameters_equals_slicing(target):
    if target == "siren":
        specs = layer_specs(_built(keras_inr.SIREN(out_dims=3, width=8, depth=2)))
    elif target == "wire":  # kernels (in, out, 2): complex weights as [real, imaginary] pairs
        specs = layer_specs(_built(keras_inr.WIRE(out_dims=1, width=6, depth=1)))
    else:  # a layer without bias between layers with biases
        specs = [LayerSpec(2, 5, True, "sine"), LayerSpec(5, 4, False, "sine"), LayerSpec(4, 1, True, "linear")]
    total = sum(spec.parameter_count for spec in specs)
    flat = np.random.default_rng(0).normal(size=(3, total)).astype("float32")
    got = split_flat_parameters(ops.convert_to_tensor(flat), specs)
    want = sliced(flat, specs)
    assert len(got) == len(want)
    for (kernel, bias), (want_kernel, want_bias) in zip(got, want):
        np.testing.assert_array_equal(to_numpy(kernel), want_kernel)
        if want_bias is None:
            assert bias is None
        else:
            np.testing.assert_array_equal(to_numpy(bias), want_bias)


def _built(target):
    target.build((None, 2))
    return target


def test_split_flat_parameters_gradient_reaches_every_piece():
    """The gradient through the split is the concatenation of the pieces' gradients (here: 2 x each piece)."""
    specs = [LayerSpec(2, 3, True, "sine"), LayerSpec(3, 1, True, "linear")]
    total = sum(spec.parameter_count for spec in specs)
    flat = np.arange(2 * total, dtype="float32").reshape(2, total) / total
    variable = keras.Variable(flat)
    backend = keras.backend.backend()

    def loss_of(value):
        pieces = [piece for pair in split_flat_parameters(value, specs) for piece in pair if piece is not None]
        return sum(ops.sum(ops.square(piece)) for piece in pieces)

    if backend == "jax":
        import jax

        gradient = jax.grad(loss_of)(ops.convert_to_tensor(flat))
    elif backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            loss = loss_of(variable.value)
        gradient = tape.gradient(loss, variable.value)
    else:
        loss = loss_of(variable.value)
        loss.backward()
        gradient = variable.value.grad
    np.testing.assert_allclose(to_numpy(gradient), 2 * flat, rtol=1e-6)


@pytest.mark.skipif(keras.backend.backend() != "torch", reason="PyTorch's autograd graph")
def test_torch_split_has_one_split_node_not_slices():
    """On PyTorch the pieces come from one ``torch.split`` (gradient: one concatenation), not from slices (whose
    gradients are zero-filled copies of the whole tensor, one per piece)."""
    import torch

    specs = layer_specs(_built(keras_inr.SIREN(out_dims=1, width=8, depth=2)))
    total = sum(spec.parameter_count for spec in specs)
    flat = torch.zeros((2, total), requires_grad=True) * 1.0
    kernel, bias = split_flat_parameters(flat, specs)[0]
    names = {type(kernel.grad_fn.next_functions[0][0]).__name__, type(bias.grad_fn.next_functions[0][0]).__name__}
    assert names == {"SplitWithSizesBackward0"}, names


@pytest.mark.parametrize("channels", [1, 3])
def test_grid_batch_values_are_the_signals_at_the_sampled_coordinates(channels):
    """Training steps on grid signals draw ``points_per_step`` distinct points per signal; the values returned are
    each signal's own values at the coordinates returned (no mixing of samples or channels)."""
    keras.utils.set_random_seed(0)
    height, width, batch = 5, 4, 3
    target = keras_inr.SIREN(out_dims=channels, width=8, depth=1)
    encoder = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(4)])
    model = hypernets.HyperINR(encoder, target, head="shift", points_per_step=7, seed=1)
    signals = np.random.default_rng(1).random((batch, height, width, channels)).astype("float32")
    _, coordinates, values, _ = prepare_batch(model, (signals, signals), training=True)
    coordinates, values = to_numpy(coordinates), to_numpy(values)
    assert coordinates.shape == (batch, 7, 2) and values.shape == (batch, 7, channels)
    grid = coordinate_grid((height, width))
    flat_signals = signals.reshape(batch, height * width, channels)
    for sample in range(batch):
        # each sampled coordinate is one grid point; its value is that signal's value there
        matches = np.all(np.isclose(coordinates[sample][:, None, :], grid[None]), axis=-1)  # (7, grid points)
        assert np.all(matches.sum(axis=1) == 1)
        points = matches.argmax(axis=1)
        assert len(set(points.tolist())) == 7  # distinct
        np.testing.assert_array_equal(values[sample], flat_signals[sample, points])
    # evaluation steps use every grid point, shared by the batch
    _, coordinates, values, _ = prepare_batch(model, (signals, signals), training=False)
    np.testing.assert_array_equal(to_numpy(coordinates)[0], grid)
    np.testing.assert_array_equal(to_numpy(values), flat_signals)


def test_cached_grid_is_the_coordinate_grid_and_read_only():
    grid = _cached_grid((3, 4))
    np.testing.assert_array_equal(grid, coordinate_grid((3, 4)))
    assert _cached_grid((3, 4)) is grid
    with pytest.raises(ValueError):
        grid[0, 0] = 5.0


def test_dataset_order_follows_seed_and_epoch():
    """The per-epoch order is computed once per epoch but still follows ``epoch`` and ``seed`` when they change (as
    :class:`keras_inr.callbacks.DatasetEpoch` and a resumed run set them)."""
    signals = np.random.default_rng(0).random((10, 3, 3, 1)).astype("float32")
    dataset = hypernets.FieldDataset(signals, points_per_signal=4, batch_size=2, seed=5)

    def fresh(epoch, seed=5):
        other = hypernets.FieldDataset(signals, points_per_signal=4, batch_size=2, seed=seed)
        other.epoch = epoch
        return [other[index] for index in range(len(other))]

    def same(batches, other):
        return all(np.array_equal(a[0][0], b[0][0]) and np.array_equal(a[0][1], b[0][1])
                   and np.array_equal(a[1], b[1]) for a, b in zip(batches, other))

    epoch0 = [dataset[index] for index in range(len(dataset))]
    assert same(epoch0, fresh(0))
    dataset.on_epoch_end()
    epoch1 = [dataset[index] for index in range(len(dataset))]
    assert same(epoch1, fresh(1))
    assert not same(epoch1, epoch0)
    dataset.seed = 6
    assert same([dataset[index] for index in range(len(dataset))], fresh(1, seed=6))
    dataset.seed, dataset.epoch = 5, 0  # set back, as a resumed run does
    assert same([dataset[index] for index in range(len(dataset))], epoch0)
    # every signal once per epoch
    order = dataset._order()
    assert sorted(order.tolist()) == list(range(10))
