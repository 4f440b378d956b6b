"""Tests of keras_inr.fit_signal (what ``keras-inr fit`` runs): result, settings, resume, user families, bad input."""

from __future__ import annotations

import json
import re

import keras
import numpy as np
import pytest

import keras_inr
from keras_inr import cli, families, metrics
from keras_inr.callbacks import backed_up_epochs, is_backup_file
from keras_inr.data import load_image
from keras_inr.fitting import BACKUP_FILES, centre_output_bias, fit_signal
from keras_inr.rendering import render
from tests.conftest import CosineDense, to_numpy
from tests.test_cli import InterruptAt, weights_of

# A tiny fit: 16x16 camera, 32x2 network, 4 epochs of 5 steps at a large learning rate.
TINY = {"size": 16, "width": 32, "depth": 2, "steps": 20, "steps_per_epoch": 5, "learning_rate": 0.01}


def test_result_psnr_is_the_psnr_of_the_returned_render_and_nothing_is_printed(capsys):
    result = fit_signal("camera", **TINY)
    assert capsys.readouterr().out == ""
    target = load_image("camera", size=16)
    np.testing.assert_array_equal(result.target, target)
    assert result.reconstruction.shape == (16, 16, 1) and result.reconstruction.dtype == np.float32
    np.testing.assert_allclose(result.reconstruction, render(result.model, (16, 16)), rtol=1e-5, atol=1e-6)
    assert result.psnr == metrics.psnr(target, result.reconstruction)
    assert result.ssim == pytest.approx(metrics.ssim(target, result.reconstruction))
    mean_image_psnr = metrics.psnr(target, np.full_like(target, target.mean()))
    assert result.psnr > mean_image_psnr + 10  # it learned
    assert (result.epochs, result.steps_per_epoch, result.initial_epoch) == (4, 5, 0)
    assert result.history.epoch == [0, 1, 2, 3]
    assert int(to_numpy(result.model.optimizer.iterations)) == 20
    assert result.files == {} and result.seconds > 0


def test_registry_recommendations_are_used_and_can_be_overridden():
    siren = fit_signal("camera", "siren", size=12, width=8, depth=1, steps=4, steps_per_epoch=2)
    recommended_w0 = families.get("siren").recommended()["w0"]
    assert recommended_w0 != families.get("siren").hyperparameters["w0"].default  # the test must tell them apart
    assert [layer.w0 for layer in siren.model.hidden_layers] == [recommended_w0]
    assert siren.settings["hyperparameters"] == {"w0": recommended_w0}
    # the recommended cosine schedule has decayed to 1% of the recommended rate after all steps
    final = keras_inr.training.recommended("siren")
    assert float(to_numpy(siren.model.optimizer.learning_rate)) == pytest.approx(
        final["learning_rate"] * final["final_learning_rate_fraction"], rel=1e-4
    )

    ffn = fit_signal("camera", "ffn", size=12, width=8, depth=1, steps=4, steps_per_epoch=2,
                     hyperparameters={"scale": 2.0, "num_features": 16}, schedule="constant")
    assert ffn.settings["learning_rate"] == keras_inr.training.recommended("ffn")["learning_rate"] != 1e-3
    assert float(to_numpy(ffn.model.optimizer.learning_rate)) == pytest.approx(ffn.settings["learning_rate"])
    assert ffn.model.encoding.scale == 2.0 and ffn.model.encoding.num_features == 16


def test_log_lines_and_files(tmp_path):
    lines = []
    image = np.random.default_rng(0).uniform(0, 1, (10, 14, 3)).astype("float32")
    result = fit_signal(image, "gauss", width=8, depth=1, steps=6, steps_per_epoch=4, save_every=1, out=tmp_path,
                        log=lines.append)
    assert result.steps_per_epoch == 3  # lowered to a divisor of steps
    assert any("`steps_per_epoch` 4 does not divide `steps` 6" in line for line in lines)
    assert lines[0].startswith("image array (10, 14, 3) as 10x14x3; model gauss")
    assert f"PSNR {result.psnr:.2f} dB (SSIM needs at least 11x11 pixels)" in lines[-2]
    assert result.ssim is None
    assert set(result.files) == {"reconstruction", "comparison", "model", "metrics"}
    written = json.loads((tmp_path / "metrics.json").read_text())
    assert written["psnr"] == pytest.approx(result.psnr) and written["model"] == "gauss"
    assert written["image"].startswith("array sha256:")
    assert sorted(p.name for p in (tmp_path / "snapshots").iterdir()) == ["epoch_00001.png", "epoch_00002.png"]
    assert not (tmp_path / "backup").exists()  # a finished run deletes its backup


def test_resume_continues_an_interrupted_run_as_if_uninterrupted(tmp_path):
    options = {**TINY, "batch_size": 100, "out": tmp_path / "a"}  # random batches: resuming must draw the same
    with pytest.raises(KeyboardInterrupt):
        fit_signal("camera", **options, callbacks=[InterruptAt(2)])
    assert backed_up_epochs(tmp_path / "a" / "backup") == [2, 1]  # the newest backup and the one before it

    lines = []
    resumed = fit_signal("camera", **options, resume=True, log=lines.append)
    assert any("resuming at epoch 2 of 4" in line for line in lines)
    assert resumed.initial_epoch == 2 and resumed.history.epoch == [2, 3]
    assert int(to_numpy(resumed.model.optimizer.iterations)) == 20

    straight = fit_signal("camera", **{**options, "out": tmp_path / "b"})
    for after_resume, uninterrupted in zip(weights_of(resumed.model), weights_of(straight.model)):
        np.testing.assert_allclose(after_resume, uninterrupted, rtol=1e-5, atol=1e-6)
    assert resumed.psnr == pytest.approx(straight.psnr, abs=1e-3)


def test_resume_with_other_settings_is_refused_and_a_stale_backup_is_cleared_only_with_overwrite(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        fit_signal("camera", **TINY, out=tmp_path, callbacks=[InterruptAt(1)])
    backup = tmp_path / "backup"
    before = sorted(p.name for p in backup.iterdir())
    with pytest.raises(ValueError, match=r"`resume`.*`learning_rate`: backup 0.01, now 0.02"):
        fit_signal("camera", **{**TINY, "learning_rate": 0.02}, out=tmp_path, resume=True)
    assert sorted(p.name for p in backup.iterdir()) == before  # the refused resume left the backup alone

    with pytest.raises(ValueError, match=r"backup of an unfinished run \(epoch 1 of 4.*`resume`.*`overwrite`"):
        fit_signal("camera", **TINY, out=tmp_path)  # a new run without `overwrite` keeps the unfinished one
    assert sorted(p.name for p in backup.iterdir()) == before

    (backup / "mine.txt").write_text("not a backup file")
    with pytest.raises(ValueError, match="did not write.*mine.txt"):
        fit_signal("camera", **TINY, out=tmp_path, overwrite=True)
    assert sorted(p.name for p in backup.iterdir()) == sorted([*before, "mine.txt"])  # nothing deleted

    (backup / "mine.txt").unlink()
    (tmp_path / "notes.txt").write_text("mine")
    lines = []
    result = fit_signal("camera", **TINY, out=tmp_path, overwrite=True, log=lines.append)
    assert any("deleted the backup of an unfinished run" in line for line in lines)
    assert result.initial_epoch == 0 and result.history.epoch == [0, 1, 2, 3]
    assert (tmp_path / "notes.txt").read_text() == "mine"
    assert all(name in BACKUP_FILES or is_backup_file(name) for name in before)


@pytest.mark.usefixtures("cosine")
def test_a_user_registered_family_fits_by_name_in_the_api_and_the_cli(tmp_path, capsys):
    result = fit_signal("camera", "cosine", size=12, width=8, depth=2, steps=4, steps_per_epoch=2,
                        hyperparameters={"w0": 5.0})
    assert [type(layer) for layer in result.model.hidden_layers] == [CosineDense, CosineDense]
    assert [layer.w0 for layer in result.model.hidden_layers] == [5.0, 5.0]
    assert np.isfinite(result.psnr)

    argv = ["fit", "--model", "cosine", "--w0", "5", "--size", "12", "--width", "8", "--depth", "2", "--steps", "4",
            "--steps-per-epoch", "2", "--verbose", "0", "--out", str(tmp_path)]
    assert cli.main(argv) == 0
    written = json.loads((tmp_path / "metrics.json").read_text())
    assert written["model"] == "cosine" and written["hyperparameters"] == {"w0": 5.0}
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    assert [(type(layer), layer.w0) for layer in loaded.hidden_layers] == [(CosineDense, 5.0)] * 2

    assert cli.main([*argv[:5], "--scale", "2"]) == 2  # a Fourier-feature option is not cosine's
    assert "--scale applies to --model ffn, not --model cosine" in capsys.readouterr().err
    assert cli.main(["fit", "--help"]) == 0
    printed = " ".join(capsys.readouterr().out.split())
    assert re.search(r"--model siren, [^\]]*cosine; default siren 20, [^\]]*cosine 10\]", printed)


@pytest.mark.parametrize(
    "arguments, message",
    [
        ({"family": "mlp"}, "`family` must be one of the registered families"),
        ({"signal": 42}, "`signal` must be an image array"),
        ({"signal": np.zeros((4, 4, 2))}, "`signal` must have shape (H, W) or (H, W, C)"),
        ({"steps": 0}, "`steps` must be a positive integer"),
        ({"width": 2.5}, "`width` must be an integer"),
        ({"size": (0, 4)}, "`size[0]` must be a positive integer"),
        ({"size": "big"}, "`size` must be None, a positive int"),
        ({"hyperparameters": {"scale": 2.0}}, "`hyperparameters` for family 'siren' accepts"),
        ({"hyperparameters": {"w0": -1.0}}, "`w0` must be positive"),
        ({"hyperparameters": [("w0", 1.0)]}, "`hyperparameters` must be a dict"),
        ({"learning_rate": 0.0}, "`learning_rate` must be a positive finite number"),
        ({"schedule": "linear"}, "`schedule` must be one of"),
        ({"batch_size": 0}, "`batch_size` must be a positive integer"),
        ({"steps_per_epoch": -1}, "`steps_per_epoch` must be a positive integer"),
        ({"seed": -1}, "`seed` must be a non-negative integer"),
        ({"verbose": 3}, "`verbose` must be one of"),
        ({"resume": True}, "`resume` needs `out`"),
        ({"save_every": 2}, "`save_every` needs `out`"),
        ({"resume": "yes", "out": "x"}, "`resume` must be True or False"),
        ({"overwrite": 1, "out": "x"}, "`overwrite` must be True or False"),
        ({"size": 100_000}, "`size` must be at most 8192 pixels"),
        ({"size": (16, 9000)}, "`size[1]` must be at most 8192 pixels"),
        ({"divergence_factor": 1.0}, "`divergence_factor` must be greater than 1"),
        ({"callbacks": [object()]}, "`callbacks` must hold keras.callbacks.Callback"),
        ({"log": "print"}, "`log` must be a callable"),
        ({"output_bias": "median"}, "`output_bias` must be one of"),
    ],
)
def test_bad_input_raises_a_value_error_naming_the_argument(arguments, message):
    arguments = {"signal": "camera", "size": 8, "steps": 1, **arguments}
    with pytest.raises(ValueError, match=re.escape(message)):
        fit_signal(arguments.pop("signal"), **arguments)


def test_an_out_that_is_a_file_is_rejected(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(ValueError, match="`out` .* is not a directory"):
        fit_signal("camera", size=8, steps=1, out=tmp_path / "file")
    with pytest.raises(FileNotFoundError, match="missing.png"):
        fit_signal(tmp_path / "missing.png", size=8, steps=1)


def test_max_size_downscales_but_never_upscales():
    small = np.random.default_rng(0).random((10, 14, 1)).astype("float32")
    kept = fit_signal(small, max_size=32, width=8, depth=1, steps=1)
    np.testing.assert_array_equal(kept.target, small)  # smaller than max_size: its own pixels, not resampled
    shrunk = fit_signal(small, max_size=7, width=8, depth=1, steps=1)
    assert shrunk.target.shape == (5, 7, 1)
    same = fit_signal(small, size=(10, 14), width=8, depth=1, steps=1)
    np.testing.assert_array_equal(same.target, small)  # resizing to its own size changes nothing
    with pytest.raises(ValueError, match="`size` or `max_size`, not both"):
        fit_signal(small, size=8, max_size=7)


def test_centre_output_bias_sets_the_output_bias_to_the_data_mean_and_keeps_the_model_in_data_units(tmp_path):
    values = np.random.default_rng(0).uniform(0.2, 0.9, (64, 3)).astype("float32")
    coordinates = np.random.default_rng(1).uniform(-1, 1, (64, 2)).astype("float32")
    model = keras_inr.SIREN(out_dims=3, width=8, depth=2, in_dims=2)
    before, bias_before = to_numpy(model(coordinates)), to_numpy(model.output_layer.bias)
    assert centre_output_bias(model, values) is True
    np.testing.assert_allclose(to_numpy(model.output_layer.bias), values.mean(axis=0), rtol=1e-6)
    after = to_numpy(model(coordinates))  # only the offset moved: the same function, shifted
    shift = values.mean(axis=0) - bias_before
    np.testing.assert_allclose(after - before, np.broadcast_to(shift, after.shape), atol=1e-5)
    # a complex output layer (WIRE): the real part of its bias is the one that reaches the output
    wire = families.get("wire").build(3, width=8, depth=2, in_dims=2)
    wire_before, real_bias_before = to_numpy(wire(coordinates)), to_numpy(wire.output_layer.bias)[:, 0]
    assert centre_output_bias(wire, values)
    shift = values.mean(axis=0) - real_bias_before
    np.testing.assert_allclose(to_numpy(wire(coordinates)) - wire_before, np.broadcast_to(shift, wire_before.shape),
                               atol=1e-5)
    assert not centre_output_bias(keras.Sequential([keras.layers.Dense(3)]), values)  # no output_layer: unchanged
    with pytest.raises(ValueError, match="`values` must have"):
        centre_output_bias(model, values[:, :2])
    with pytest.raises(ValueError, match="`values`"):
        centre_output_bias(model, np.full((4, 3), np.nan))


def test_fit_signal_centres_the_output_bias_by_default_and_renders_in_image_units(tmp_path):
    image = load_image("camera", size=16)
    untrained = fit_signal(image, width=16, depth=2, steps=1, learning_rate=1e-12)  # one negligible step
    np.testing.assert_allclose(to_numpy(untrained.model.output_layer.bias), [image.mean()], atol=1e-6)
    assert untrained.settings["output_bias"] == "mean"
    zeros = fit_signal(image, width=16, depth=2, steps=1, learning_rate=1e-12, output_bias="zeros")
    # the initialiser's bias, U(-1/4, 1/4) for 16 inputs: not the image mean (about 0.5)
    assert abs(float(to_numpy(zeros.model.output_layer.bias)[0]) - float(image.mean())) > 0.2
    assert zeros.settings["output_bias"] == "zeros"
    # the saved model renders [0, 1] images as fitted (nothing to undo after loading)
    result = fit_signal(image, out=tmp_path / "run", **TINY)
    loaded = keras.saving.load_model(tmp_path / "run" / "model.keras")
    np.testing.assert_allclose(render(loaded, (16, 16)), result.reconstruction, rtol=1e-5, atol=1e-5)
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["output_bias"] == "mean"
