"""Tests of the ``keras-inr`` command line (in-process through ``main``): fit end to end, --resume, bad input."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
from PIL import Image

from keras_inr import cli
from keras_inr.callbacks import backed_up_epochs

# A tiny fit: 16x16 camera, SIREN 32x2, 4 epochs of 5 steps (learning rate 0.01: ~30 dB in 20 steps).
TINY = [
    "--size", "16", "--width", "32", "--depth", "2", "--steps", "20", "--steps-per-epoch", "5",
    "--learning-rate", "0.01", "--verbose", "0",
]


class InterruptAt(keras.callbacks.Callback):
    """Simulate Ctrl-C at the end of epoch ``epoch`` (1-based), after the backup of that epoch was written."""

    def __init__(self, epoch: int):
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 == self.epoch:
            raise KeyboardInterrupt


def parse(argv):
    return cli.parse_args(["fit", *argv])


def weights_of(model):
    return [np.asarray(keras.ops.convert_to_numpy(v)) for v in model.weights]


def test_fit_end_to_end_writes_files_and_prints_psnr(tmp_path, capsys):
    out = tmp_path / "run"
    assert cli.main(["fit", *TINY, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"backend {keras.backend.backend()}" in printed
    assert "PSNR" in printed and "SSIM" in printed
    metrics = json.loads((out / "metrics.json").read_text())
    assert f"PSNR {metrics['psnr']:.2f} dB" in printed
    assert metrics["optimizer_iterations"] == 20
    for name in ("reconstruction.png", "comparison.png", "model.keras"):
        assert (out / name).is_file(), name
    with Image.open(out / "reconstruction.png") as handle:
        assert handle.size == (16, 16) and handle.mode == "L"
        reconstruction = np.asarray(handle, dtype=np.float32) / 255.0
    assert not (out / "backup").exists()  # a finished run removes its backup
    # the saved model loads back and reproduces the written reconstruction (up to 8-bit quantisation)
    model = keras.saving.load_model(out / "model.keras")
    from keras_inr.rendering import render

    np.testing.assert_allclose(np.clip(render(model, (16, 16))[..., 0], 0, 1), reconstruction, atol=1 / 255 + 1e-6)
    # the printed PSNR is that of the render vs the target, and the fit learned: far better than the mean grey level
    from keras_inr.data import load_image

    target = load_image("camera", size=16)
    mean_psnr = 10 * np.log10(1 / np.mean((target - target.mean()) ** 2))
    assert metrics["psnr"] > mean_psnr + 10


def test_resume_continues_from_the_backup_and_matches_an_uninterrupted_run(tmp_path, capsys):
    options = [*TINY, "--batch-size", "100"]  # random pixel batches: the resumed run must draw the same ones
    with pytest.raises(KeyboardInterrupt):
        cli.run_fit(parse([*options, "--out", str(tmp_path / "a")]), extra_callbacks=[InterruptAt(2)])
    assert backed_up_epochs(tmp_path / "a" / "backup")[0] == 2
    assert not (tmp_path / "a" / "model.keras").exists()

    resumed = cli.run_fit(parse([*options, "--out", str(tmp_path / "a"), "--resume"]))
    assert "resuming at epoch 2 of 4" in capsys.readouterr().out
    assert resumed.initial_epoch == 2 and resumed.epochs == 4
    assert resumed.history.epoch == [2, 3]  # only the two missing epochs ran
    assert int(keras.ops.convert_to_numpy(resumed.model.optimizer.iterations)) == 20

    straight = cli.run_fit(parse([*options, "--out", str(tmp_path / "b")]))
    assert straight.history.epoch == [0, 1, 2, 3]
    # same weights, optimiser position and learning rate as if never interrupted
    for after_resume, uninterrupted in zip(weights_of(resumed.model), weights_of(straight.model)):
        np.testing.assert_allclose(after_resume, uninterrupted, rtol=1e-5, atol=1e-6)
    assert float(keras.ops.convert_to_numpy(resumed.model.optimizer.learning_rate)) == pytest.approx(
        float(keras.ops.convert_to_numpy(straight.model.optimizer.learning_rate)), rel=1e-6
    )
    assert resumed.psnr == pytest.approx(straight.psnr, abs=1e-3)


def test_interrupt_exits_130_and_resume_with_different_options_is_refused(tmp_path, capsys, monkeypatch):
    original = cli.run_fit
    monkeypatch.setattr(cli, "run_fit", lambda args: original(args, extra_callbacks=[InterruptAt(1)]))
    assert cli.main(["fit", *TINY, "--out", str(tmp_path)]) == 130
    assert "--resume" in capsys.readouterr().err
    assert backed_up_epochs(tmp_path / "backup") == [1]
    monkeypatch.undo()

    changed = [*TINY, "--learning-rate", "0.02", "--out", str(tmp_path), "--resume"]
    assert cli.main(["fit", *changed]) == 2
    error = capsys.readouterr().err
    assert "--resume" in error and "--learning-rate 0.02 (backed-up run: 0.01)" in error and "Traceback" not in error
    assert error.count("\n") == 1
    # a --size that gives another shape is refused by fit_signal's settings check, named as an option where it is one
    assert cli.main(["fit", "--size", "12", "--out", str(tmp_path), "--resume"]) == 2
    error = capsys.readouterr().err
    assert "`shape`: backup [16, 16, 1], now [12, 12, 1]" in error and "Traceback" not in error
    assert backed_up_epochs(tmp_path / "backup") == [1]  # the refused resume left the backup alone


def test_existing_backup_without_resume_needs_overwrite_and_keeps_user_files(tmp_path, capsys):
    with pytest.raises(KeyboardInterrupt):
        cli.run_fit(parse([*TINY, "--out", str(tmp_path)]), extra_callbacks=[InterruptAt(3)])
    (tmp_path / "notes.txt").write_text("mine")
    capsys.readouterr()
    assert cli.main(["fit", *TINY, "--out", str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert "holds the backup of an unfinished run (epoch 3 of 4" in error and "--resume" in error
    assert "--overwrite" in error and "Traceback" not in error
    assert backed_up_epochs(tmp_path / "backup")[0] == 3
    result = cli.run_fit(parse([*TINY, "--out", str(tmp_path), "--overwrite"]))
    printed = capsys.readouterr().out
    assert "deleted the backup of an unfinished run" in printed
    assert result.initial_epoch == 0 and result.history.epoch == [0, 1, 2, 3]
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_steps_not_divisible_by_steps_per_epoch(tmp_path):
    argv = ["--size", "12", "--width", "8", "--depth", "1", "--steps", "14", "--steps-per-epoch", "4",
            "--verbose", "0", "--out", str(tmp_path)]
    result = cli.run_fit(parse(argv))
    assert (result.epochs, result.steps_per_epoch) == (7, 2)
    assert int(keras.ops.convert_to_numpy(result.model.optimizer.iterations)) == 14
    assert result.ssim is not None


@pytest.mark.parametrize(
    "argv, message",
    [
        (["fit", "no/such/image.png"], "No image file"),
        (["fit", "--model", "mlp"], "invalid choice: 'mlp'"),
        (["fit", "--steps", "0"], "positive integer"),
        (["fit", "--steps", "ten"], "positive integer"),
        (["fit", "--width", "-4"], "positive integer"),
        (["fit", "--learning-rate", "nan"], "positive finite"),
        (["fit", "--size", "12x"], "positive integer"),
        (["fit", "--model", "ffn", "--w0", "20"], "--w0 applies to --model siren"),
        (["fit", "not_a_sample_name"], "neither an existing file nor a sample image"),
        (["fitt"], "invalid choice"),
        ([], "required"),
    ],
)
def test_bad_input_exits_with_code_2_and_a_message(tmp_path, capsys, argv, message):
    code = cli.main([*argv, "--out", str(tmp_path)] if argv and argv[0] == "fit" else argv)
    assert code == 2
    error = capsys.readouterr().err
    assert message in error
    assert "Traceback" not in error


def test_missing_file_names_the_error_type(tmp_path, capsys):
    assert cli.main(["fit", str(tmp_path / "missing.png"), "--out", str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("keras-inr fit: error: FileNotFoundError") and "missing.png" in error


def test_image_file_argument_and_snapshots(tmp_path, capsys):
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, size=(10, 20, 3), dtype=np.uint8)).save(tmp_path / "in.png")
    argv = ["fit", str(tmp_path / "in.png"), "--size", "native", "--model", "gauss", "--inverse-scale", "5",
            "--width", "8", "--depth", "1", "--steps", "4", "--steps-per-epoch", "2", "--save-every", "1",
            "--verbose", "0", "--out", str(tmp_path / "out")]
    assert cli.main(argv) == 0
    assert "SSIM needs at least 11x11" in capsys.readouterr().out
    assert sorted(p.name for p in (tmp_path / "out" / "snapshots").iterdir()) == [
        "epoch_00001.png", "epoch_00002.png"
    ]
    with Image.open(tmp_path / "out" / "reconstruction.png") as handle:
        assert handle.size == (20, 10) and handle.mode == "RGB"


def test_help_lists_fit_and_tune(capsys):
    assert cli.main(["--help"]) == 0
    printed = capsys.readouterr().out
    assert "fit" in printed and "tune" in printed
    assert cli.main(["fit", "--help"]) == 0
    assert "--resume" in capsys.readouterr().out


def test_tune_subcommand_is_wired_to_cli_tune(capsys):
    from keras_inr import cli_tune

    parser = cli.build_parser("tune")
    args = parser.parse_args(["tune"])
    assert args._handler is cli_tune.run_tune
    assert cli.main(["tune", "--help"]) == 0
    assert "--out" in capsys.readouterr().out


def test_tune_without_keras_tuner_is_a_one_line_error(tmp_path, capsys, monkeypatch):
    import keras_inr

    monkeypatch.setitem(sys.modules, "keras_tuner", None)  # as if KerasTuner were not installed
    monkeypatch.delitem(sys.modules, "keras_inr.tuning", raising=False)
    if "tuning" in vars(keras_inr):  # (hasattr would import it through the package's lazy __getattr__)
        monkeypatch.delattr(keras_inr, "tuning")
    assert cli.main(["tune", "--size", "8", "--out", str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("keras-inr tune: error:") and error.count("\n") == 1
    assert "keras_tuner" in error or "tuner" in error
    assert "Traceback" not in error


def test_family_options_come_from_the_registry(capsys):
    from keras_inr import families

    assert cli.main(["fit", "--help"]) == 0
    printed = " ".join(capsys.readouterr().out.split())
    for name, owners in families.hyperparameter_owners().items():
        assert f"--{name.replace('_', '-')}" in printed
        assert f"[--model {', '.join(owners)}" in printed
    # the recommended w0, not the class default 30 (other families may share the option)
    assert re.search(r"\[--model siren\b[^\]]*; default (siren )?20\b", printed)
    assert families.get("siren").recommended()["w0"] == 20
    args = parse(["--first-w0", "12", "--w0", "25"])  # every registry hyperparameter is an option
    assert cli._model_hyperparameters(args) == {"w0": 25.0, "first_w0": 12.0}
    assert cli._model_hyperparameters(parse(["--model", "ffn", "--num-features", "64"])) == {"num_features": 64}
    assert parse(["--model", "gaussian"]).model == "gaussian"  # aliases are accepted
    with pytest.raises(ValueError, match=r"--inverse-scale applies to --model gauss( or \w+)*, not --model siren"):
        cli._model_hyperparameters(parse(["--inverse-scale", "3"]))


@pytest.mark.parametrize("argv, message", [
    (["--w0", "-3"], "argument --w0: the value must be positive"),
    (["--num-features", "2.5", "--model", "ffn"], "argument --num-features: the value must be an integer"),
    (["--scale", "x", "--model", "ffn"], "argument --scale: expected a number"),
])
def test_family_option_values_are_checked_by_the_registry(tmp_path, capsys, argv, message):
    assert cli.main(["fit", *argv, "--out", str(tmp_path)]) == 2
    assert message in capsys.readouterr().err


def test_resume_with_only_out_takes_the_options_from_the_backup(tmp_path, capsys):
    """The README's `keras-inr fit --out runs/camera --resume`: no option repeated."""
    options = [*TINY, "--batch-size", "100", "--model", "gaussian", "--inverse-scale", "12"]
    with pytest.raises(KeyboardInterrupt):
        cli.run_fit(parse([*options, "--out", str(tmp_path / "a")]), extra_callbacks=[InterruptAt(2)])
    capsys.readouterr()
    resumed = cli.run_fit(parse(["--out", str(tmp_path / "a"), "--resume", "--verbose", "0"]))
    assert "resuming at epoch 2 of 4" in capsys.readouterr().out
    assert resumed.history.epoch == [2, 3]
    assert resumed.settings["model"] == "gauss" and resumed.settings["hyperparameters"]["inverse_scale"] == 12
    assert resumed.settings["shape"] == [16, 16, 1] and resumed.settings["batch_size"] == 100

    straight = cli.run_fit(parse([*options, "--out", str(tmp_path / "b")]))
    for after_resume, uninterrupted in zip(weights_of(resumed.model), weights_of(straight.model)):
        np.testing.assert_allclose(after_resume, uninterrupted, rtol=1e-5, atol=1e-6)
    assert resumed.psnr == pytest.approx(straight.psnr, abs=1e-3)


def test_resume_refuses_a_conflicting_family_option_or_image(tmp_path, capsys):
    with pytest.raises(KeyboardInterrupt):
        cli.run_fit(parse([*TINY, "--w0", "25", "--out", str(tmp_path)]), extra_callbacks=[InterruptAt(1)])
    capsys.readouterr()
    assert cli.main(["fit", "astronaut", "--w0", "30", "--steps", "20", "--out", str(tmp_path), "--resume"]) == 2
    error = capsys.readouterr().err
    assert "IMAGE astronaut (backed-up run: camera)" in error and "--w0 30 (backed-up run: 25)" in error
    assert "--steps" not in error  # given but equal to the backup's: fine
    # options that do not change the run (--verbose, --save-every) may be given
    assert cli.main(["fit", "--out", str(tmp_path), "--resume", "--verbose", "0", "--save-every", "2"]) == 0
    assert "resuming at epoch 1 of 4" in capsys.readouterr().out
    assert sorted(p.name for p in (tmp_path / "snapshots").iterdir()) == ["epoch_00002.png", "epoch_00004.png"]


def test_default_size_never_upscales_and_default_out_is_named_after_the_image(tmp_path, capsys, monkeypatch):
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, size=(60, 100), dtype=np.uint8)).save(tmp_path / "small.png")
    monkeypatch.chdir(tmp_path)
    argv = ["fit", "small.png", "--width", "8", "--depth", "1", "--steps", "2", "--verbose", "0"]
    assert cli.main(argv) == 0
    assert "as 60x100x1" in capsys.readouterr().out
    with Image.open(tmp_path / "runs" / "fit-small" / "reconstruction.png") as handle:
        assert handle.size == (100, 60)  # fitted at its own size, not upscaled to 256 on the longest side
    # larger images are downscaled to 256 on the longest side by default; N / HxW / native as before
    from keras_inr.fitting import resolve_size

    assert resolve_size((512, 300), **cli.size_arguments(None, 256)) == (256, 150)
    assert resolve_size((60, 100), **cli.size_arguments(None, 256)) is None
    assert resolve_size((60, 100), **cli.size_arguments(200, 256)) == (120, 200)  # asked for: upscaled
    assert resolve_size((60, 100), **cli.size_arguments((30, 40), 256)) == (30, 40)
    assert resolve_size((600, 1000), **cli.size_arguments(cli.parse_size("native"), 256)) is None


def test_fit_and_tune_size_and_out_mean_the_same(tmp_path):
    from keras_inr import cli_tune

    fit_args = parse(["--size", "48"])
    tune_args = cli.build_parser("tune").parse_args(["tune", "--size", "48"])
    assert fit_args.size == tune_args.size == 48
    for text, value in (("32x48", (32, 48)), ("native", cli.NATIVE)):
        assert parse(["--size", text]).size == value
        assert cli.build_parser("tune").parse_args(["tune", "--size", text]).size == value
    assert tune_args.out is None and fit_args.out is None  # resolved to runs/<command>-<image> when run
    assert cli.default_out("fit", "camera") == str(Path("runs", "fit-camera"))
    assert cli.default_out("tune", str(tmp_path / "photo.png")) == str(Path("runs", "tune-photo"))
    assert cli_tune.TUNE_SIZE_LIMIT == 64 and cli.FIT_SIZE_LIMIT == 256


# --- the console script: parse before importing Keras -------------------------------------------------------------
ROOT = Path(__file__).resolve().parents[1]
HARNESS = (
    "import sys; from keras_inr_cli import main; code = main(sys.argv[1:]); "
    "print('KERAS_IMPORTED' if 'keras' in sys.modules else 'KERAS_NOT_IMPORTED'); sys.exit(code)"
)


def run_console(argv, backend=None):
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    if backend is not None:
        env["KERAS_BACKEND"] = backend
    return subprocess.run(
        [sys.executable, "-c", HARNESS, *argv], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_console_help_version_and_usage_errors_do_not_import_keras():
    for argv, code in ((["--help"], 0), (["--version"], 0), ([], 2), (["fitt"], 2)):
        done = run_console(argv)
        assert done.returncode == code, (argv, done.stderr)
        assert "KERAS_NOT_IMPORTED" in done.stdout, argv
    assert "fit" in run_console(["--help"]).stdout and "KERAS_BACKEND" in run_console(["--help"]).stdout


def test_console_rejects_an_unknown_backend_in_one_line():
    done = run_console(["fit", "--steps", "1"], backend="nosuch")
    assert done.returncode == 2
    assert done.stderr == (
        "keras-inr fit: error: KERAS_BACKEND='nosuch' is not a backend keras-inr supports; set it to one of jax, "
        "tensorflow, torch (or leave it unset for jax).\n"
    )
    assert "KERAS_NOT_IMPORTED" in done.stdout


def test_console_backends_match_the_library():
    import keras_inr_cli
    from keras_inr.backend_setup import SUPPORTED_BACKENDS

    assert keras_inr_cli.SUPPORTED_BACKENDS == SUPPORTED_BACKENDS


def test_tune_uses_a_small_image_at_its_own_size_and_the_default_out(tmp_path, capsys, monkeypatch):
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, size=(20, 30), dtype=np.uint8)).save(tmp_path / "small.png")
    monkeypatch.chdir(tmp_path)
    argv = ["tune", "small.png", "--families", "siren", "--max-trials", "1", "--epochs", "1", "--steps", "1",
            "--width", "8", "--depth", "1", "--no-jit"]
    assert cli.main(argv) == 0
    summary = json.loads((tmp_path / "runs" / "tune-small" / "leaderboard.json").read_text())
    assert summary["shape"] == [20, 30, 1]  # not upscaled, and below tune's limit of 64: its own size
