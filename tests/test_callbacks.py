"""Tests of keras_inr.callbacks (RenderSnapshots, ReconstructionPSNR) and keras_inr.plotting (PNG files, figures)."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from PIL import Image

import keras_inr
from keras_inr.callbacks import DatasetEpoch, ReconstructionPSNR, RenderSnapshots
from keras_inr.data import PixelBatches, image_to_coordinates, load_image
from keras_inr.plotting import save_comparison, save_image, to_uint8
from keras_inr.rendering import render
from keras_inr.training import compile_inr

SIZE = 16


@pytest.fixture(scope="module")
def tiny_rgb() -> np.ndarray:
    return load_image("astronaut", size=SIZE)  # (16, 16, 3)


def fit(model, image, epochs, callbacks):
    coordinates, values = image_to_coordinates(image)
    compile_inr(model, learning_rate=1e-3, schedule="constant")
    return model.fit(
        coordinates, values, batch_size=len(coordinates), epochs=epochs, shuffle=False, verbose=0,
        callbacks=callbacks,
    )


def test_snapshots_are_real_pngs_of_the_rendered_model(tmp_path, tiny_rgb):
    model = keras_inr.SIREN(out_dims=3, width=16, depth=2, in_dims=2)
    snapshots = RenderSnapshots((SIZE, 12), tmp_path / "snaps", every_n_epochs=2, batch_size=50)
    fit(model, tiny_rgb, epochs=5, callbacks=[snapshots])
    expected_names = ["epoch_00002.png", "epoch_00004.png"]
    assert [p.name for p in snapshots.paths] == expected_names
    assert sorted(p.name for p in (tmp_path / "snaps").iterdir()) == expected_names
    with Image.open(snapshots.paths[-1]) as handle:
        assert handle.format == "PNG" and handle.mode == "RGB" and handle.size == (12, SIZE)  # PIL: (W, H)
        pixels = np.asarray(handle)
    assert pixels.shape == (SIZE, 12, 3)
    assert pixels.std() > 0  # not a blank image


def test_snapshot_content_equals_the_render_after_that_epoch(tmp_path, tiny_rgb):
    model = keras_inr.SIREN(out_dims=1, width=16, depth=1, in_dims=2)
    grey = tiny_rgb.mean(axis=-1, keepdims=True)
    snapshots = RenderSnapshots((SIZE, SIZE), tmp_path, every_n_epochs=3, filename="snap-{epoch}.png")
    fit(model, grey, epochs=3, callbacks=[snapshots])
    assert [p.name for p in snapshots.paths] == ["snap-3.png"]
    with Image.open(snapshots.paths[0]) as handle:
        assert handle.mode == "L"
        pixels = np.asarray(handle)
    np.testing.assert_array_equal(pixels, to_uint8(render(model, (SIZE, SIZE))))


def test_reconstruction_psnr_matches_full_batch_metric(tiny_rgb):
    model = keras_inr.SIREN(out_dims=3, width=16, depth=2, in_dims=2)
    callback = ReconstructionPSNR(tiny_rgb, every_n_epochs=2)
    history = fit(model, tiny_rgb, epochs=4, callbacks=[callback])
    assert [epoch for epoch, _ in callback.values] == [2, 4]
    assert len(history.history["render_psnr"]) == 2
    # after training, the render PSNR equals the PSNR of the model's own predictions
    prediction = render(model, (SIZE, SIZE))
    expected = 10 * np.log10(1.0 / np.mean((prediction.astype(np.float64) - tiny_rgb) ** 2))
    assert callback.values[-1][1] == pytest.approx(expected, abs=1e-4)
    assert history.history["render_psnr"][-1] == pytest.approx(expected, abs=1e-4)
    # and training improved it
    assert callback.values[-1][1] > callback.values[0][1]


def test_callbacks_validate_arguments(tmp_path, tiny_rgb):
    with pytest.raises(ValueError, match="shape"):
        RenderSnapshots((4, 4, 4), tmp_path)
    with pytest.raises(ValueError, match="every_n_epochs"):
        RenderSnapshots((4, 4), tmp_path, every_n_epochs=0)
    with pytest.raises(ValueError, match="batch_size"):
        RenderSnapshots((4, 4), tmp_path, batch_size=-1)
    with pytest.raises(ValueError, match="filename"):
        RenderSnapshots((4, 4), tmp_path, filename="{step}.png")
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="directory"):
        RenderSnapshots((4, 4), tmp_path / "file")
    with pytest.raises(ValueError, match="target_image"):
        ReconstructionPSNR(np.full((4, 4), 2.0))
    with pytest.raises(ValueError, match="every_n_epochs"):
        ReconstructionPSNR(tiny_rgb, every_n_epochs=1.5)
    with pytest.raises(ValueError, match="name"):
        ReconstructionPSNR(tiny_rgb, name="")


def test_callbacks_reject_a_model_of_the_wrong_dimension(tmp_path, tiny_rgb):
    model = keras_inr.SIREN(out_dims=3, width=8, depth=1, in_dims=3)
    compile_inr(model, schedule="constant")
    coordinates = np.zeros((8, 3), np.float32)
    with pytest.raises(ValueError, match="3-D coordinates"):
        model.fit(coordinates, np.zeros((8, 3)), epochs=1, verbose=0,
                  callbacks=[RenderSnapshots((SIZE, SIZE), tmp_path)])


def test_save_image_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    image = rng.uniform(-0.2, 1.2, size=(5, 7, 3)).astype(np.float32)
    path = save_image(tmp_path / "sub" / "x.png", image)
    with Image.open(path) as handle:
        loaded = np.asarray(handle)
    np.testing.assert_array_equal(loaded, np.round(np.clip(image, 0, 1) * 255).astype(np.uint8))
    with pytest.raises(ValueError, match="image"):
        save_image(tmp_path / "bad.png", np.zeros((4, 4, 2)))
    with pytest.raises(ValueError, match="NaN"):
        save_image(tmp_path / "bad.png", np.full((4, 4), np.nan))


def test_save_comparison_writes_pngs(tmp_path, tiny_rgb):
    noisy = np.clip(tiny_rgb + 0.05, 0, 1)
    single = save_comparison(tmp_path / "one.png", tiny_rgb, noisy, title="t")
    several = save_comparison(tmp_path / "many.png", tiny_rgb, {"a": noisy, "b": tiny_rgb})
    for path in (single, several):
        with Image.open(path) as handle:
            assert handle.format == "PNG" and handle.size[0] > 100
    with Image.open(single) as a, Image.open(several) as b:
        assert a.size != b.size  # 1x3 panels vs 2x3 panels
    with pytest.raises(ValueError, match="shape"):
        save_comparison(tmp_path / "bad.png", tiny_rgb, tiny_rgb[:8])
    with pytest.raises(ValueError, match="empty"):
        save_comparison(tmp_path / "bad.png", tiny_rgb, {})


class RecordingBatches(PixelBatches):
    """PixelBatches that record the epoch each batch was drawn with."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.drawn = []

    def __getitem__(self, index):
        self.drawn.append(self.epoch)
        return super().__getitem__(index)


class DrawnEpochs(keras.callbacks.Callback):
    """Collect, per fit epoch, the epochs the dataset drew that epoch's batches with."""

    def __init__(self, dataset):
        super().__init__()
        self.dataset, self.per_epoch = dataset, {}

    def on_epoch_begin(self, epoch, logs=None):
        self.dataset.drawn.clear()

    def on_epoch_end(self, epoch, logs=None):
        self.per_epoch[epoch] = set(self.dataset.drawn)


@pytest.mark.parametrize("synchronised", [True, False])
def test_dataset_epoch_makes_batches_of_fit_epoch_e_use_epoch_e(tiny_rgb, synchronised):
    coordinates, values = image_to_coordinates(tiny_rgb)
    dataset = RecordingBatches(coordinates, values, batch_size=32, steps_per_epoch=3)
    model = keras_inr.SIREN(out_dims=3, width=8, depth=1, in_dims=2)
    compile_inr(model, learning_rate=1e-3, schedule="constant")
    recorder = DrawnEpochs(dataset)
    callbacks = ([DatasetEpoch(dataset)] if synchronised else []) + [recorder]
    # initial_epoch=2 stands for a run that BackupAndRestore resumes at epoch 2
    model.fit(dataset, epochs=5, initial_epoch=2, callbacks=callbacks, verbose=0, shuffle=False)
    assert sorted(recorder.per_epoch) == [2, 3, 4]
    if synchronised:
        assert recorder.per_epoch == {2: {2}, 3: {3}, 4: {4}}
    else:  # the control: the dataset's own count does not know where fit started
        assert recorder.per_epoch != {2: {2}, 3: {3}, 4: {4}}


def test_dataset_epoch_needs_an_epoch_attribute():
    with pytest.raises(ValueError, match="`dataset` must have an integer `epoch`"):
        DatasetEpoch(object())
