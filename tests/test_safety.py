"""Lose nothing, accept no garbage (issue 12): Ctrl-C on every backend, atomic backups and results, ``--overwrite``,
the divergence guard, and the CLI's limits on ``--size`` and ``--seed``.

The interrupt scenarios are real where it matters: a subprocess gets SIGINT in the middle of ``keras-inr fit``; a
write is interrupted by making Keras' own ``save_weights`` / ``save`` write half a file and raise, as a process
killed while writing would leave it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pytest

from keras_inr import cli, safe_files
from keras_inr.callbacks import (
    DivergenceError,
    DivergenceGuard,
    StopOnInterrupt,
    backed_up_epochs,
)
from keras_inr.fitting import RESULT_FILES
from tests.conftest import to_numpy
from tests.test_cli import TINY, InterruptAt, parse, weights_of

ROOT = Path(__file__).resolve().parents[1]


def interrupt_while_writing(monkeypatch, method: str, call: int) -> list:
    """Make ``keras.Model.<method>`` (``save_weights`` or ``save``) leave half a file and raise ``KeyboardInterrupt``
    on its ``call``-th call, as Ctrl-C or a kill in the middle of the write would; returns the paths it was given."""
    original = getattr(keras.Model, method)
    paths = []

    def interrupted(self, filepath, *args, **kwargs):
        paths.append(Path(filepath))
        result = original(self, filepath, *args, **kwargs)
        if len(paths) == call:
            data = Path(filepath).read_bytes()
            Path(filepath).write_bytes(data[: len(data) // 2])
            raise KeyboardInterrupt
        return result

    monkeypatch.setattr(keras.Model, method, interrupted)
    return paths


def contents(folder: Path, names=RESULT_FILES) -> dict:
    return {name: (folder / name).read_bytes() for name in names}


def no_temporary_files(folder: Path) -> bool:
    return not any(safe_files.is_partial(path.name) for path in folder.rglob("*"))


# --- Ctrl-C -------------------------------------------------------------------------------------------------------
def test_ctrl_c_stops_fit_keeps_the_backup_and_exits_130(tmp_path):
    """A real SIGINT after the first backup. The steps are long enough (96x96 pixels, 128x3 SIREN) that on JAX the
    main thread mostly waits inside Keras' log conversion, whose bare ``except`` used to swallow the interrupt: the
    run then went on to its 2000 steps, exited 0 and wrote its results."""
    out = tmp_path / "run"
    argv = ["fit", "--size", "96", "--width", "128", "--depth", "3", "--steps", "2000", "--steps-per-epoch", "10",
            "--verbose", "0", "--out", str(out)]
    code = "import sys; from keras_inr_cli import main; sys.exit(main(sys.argv[1:]))"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    process = subprocess.Popen([sys.executable, "-c", code, *argv], cwd=ROOT, env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 300
        while not [p for p in (out / "backup").glob("*.weights.h5") if not p.name.startswith(".")]:
            assert process.poll() is None, process.communicate()[1][-3000:]
            assert time.monotonic() < deadline, "the first epoch was never backed up"
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)  # far less than the remaining ~1990 steps take
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 130, stderr[-3000:]
    assert f"interrupted. Continue it with: keras-inr fit --out {out} --resume" in stderr
    assert "Traceback" not in stderr
    assert backed_up_epochs(out / "backup")  # the finished epochs are kept for --resume
    assert not any((out / name).exists() for name in RESULT_FILES)
    assert no_temporary_files(out)


class SendCtrlC(keras.callbacks.Callback):
    """Send SIGINT to this process at the start of step ``step`` (0-based, first epoch)."""

    def __init__(self, step: int):
        super().__init__()
        self.step = step

    def on_train_batch_begin(self, batch, logs=None):
        if batch == self.step and not getattr(self, "sent", False):
            self.sent = True
            os.kill(os.getpid(), signal.SIGINT)


def small_fit_setup(steps_per_epoch: int = 5):
    from keras_inr import families
    from keras_inr.data import image_to_coordinates, load_image
    from keras_inr.training import compile_inr, full_batch

    coordinates, values = image_to_coordinates(load_image("camera", size=12))
    model = families.get("siren").build(1, width=16, depth=1, in_dims=2)
    compile_inr(model, learning_rate=1e-3, schedule="constant")
    return model, full_batch(coordinates, values, steps_per_epoch)


def test_stop_on_interrupt_raises_before_the_next_step_and_puts_the_handler_back():
    model, data = small_fit_setup(steps_per_epoch=10)
    previous = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):
        model.fit(data, epochs=2, verbose=0, shuffle=False, callbacks=[SendCtrlC(3), StopOnInterrupt()])
    assert int(to_numpy(model.optimizer.iterations)) == 3  # steps 0-2 ran, step 3 did not
    assert signal.getsignal(signal.SIGINT) is previous
    with StopOnInterrupt() as stop:  # as a context manager, for fits that may fail otherwise
        assert signal.getsignal(signal.SIGINT) == stop._on_signal and not stop.interrupted
    assert signal.getsignal(signal.SIGINT) is previous


# --- the backup -----------------------------------------------------------------------------------------------------
def test_interrupted_backup_write_keeps_the_previous_backup_and_resume_falls_back(tmp_path, monkeypatch, capsys):
    options = [*TINY, "--batch-size", "100"]  # random batches: the resumed run must draw the same ones
    # (a) interrupted while epoch 2's backup is written: epoch 1's stays complete, and nothing half-written remains
    interrupt_while_writing(monkeypatch, "save_weights", call=2)
    assert cli.main(["fit", *options, "--out", str(tmp_path / "a")]) == 130
    monkeypatch.undo()
    assert backed_up_epochs(tmp_path / "a" / "backup") == [1]
    assert no_temporary_files(tmp_path / "a")
    resumed = cli.run_fit(parse(["--out", str(tmp_path / "a"), "--resume", "--verbose", "0"]))
    assert resumed.history.epoch == [1, 2, 3]

    # (b) the newest backup is damaged (e.g. by the disk): --resume falls back to the one before it
    with pytest.raises(KeyboardInterrupt):
        cli.run_fit(parse([*options, "--out", str(tmp_path / "b")]), extra_callbacks=[InterruptAt(3)])
    newest = tmp_path / "b" / "backup" / "epoch-000003.weights.h5"
    newest.write_bytes(newest.read_bytes()[:1000])
    capsys.readouterr()
    fallen_back = cli.run_fit(parse(["--out", str(tmp_path / "b"), "--resume", "--verbose", "0"]))
    printed = capsys.readouterr().out
    assert "the newest backup could not be loaded (epoch-000003.weights.h5" in printed
    assert "resuming at epoch 2 of 4" in printed and fallen_back.history.epoch == [2, 3]

    straight = cli.run_fit(parse([*options, "--out", str(tmp_path / "c")]))
    for result in (resumed, fallen_back):
        for after_resume, uninterrupted in zip(weights_of(result.model), weights_of(straight.model)):
            np.testing.assert_allclose(after_resume, uninterrupted, rtol=1e-5, atol=1e-6)
        assert int(to_numpy(result.model.optimizer.iterations)) == 20
    for run in "abc":
        assert not (tmp_path / run / "backup").exists()  # finished runs delete their backup


def test_interrupted_final_save_leaves_no_truncated_model_and_keeps_the_backup(tmp_path, monkeypatch, capsys):
    out = tmp_path / "run"
    interrupt_while_writing(monkeypatch, "save", call=1)  # the final model.keras
    assert cli.main(["fit", *TINY, "--out", str(out)]) == 130
    monkeypatch.undo()
    assert "--resume" in capsys.readouterr().err
    assert not any((out / name).exists() for name in RESULT_FILES)  # nothing half-written, nothing half-renamed
    assert no_temporary_files(out)
    assert backed_up_epochs(out / "backup")[0] == 4  # the whole training is kept
    resumed = cli.run_fit(parse(["--out", str(out), "--resume", "--verbose", "0"]))
    assert resumed.history.epoch == []  # nothing left to train: it renders and saves
    assert json.loads((out / "metrics.json").read_text())["optimizer_iterations"] == 20
    loaded = keras.saving.load_model(out / "model.keras")
    for saved, trained in zip(weights_of(loaded), weights_of(resumed.model)):
        np.testing.assert_array_equal(saved, trained)
    assert not (out / "backup").exists()


# --- earlier results and --overwrite ---------------------------------------------------------------------------------
def test_an_out_with_results_is_refused_without_overwrite_and_kept_until_the_new_ones_are_written(
    tmp_path, monkeypatch, capsys
):
    out = tmp_path / "run"
    assert cli.main(["fit", *TINY, "--out", str(out)]) == 0
    earlier = contents(out)
    (out / "notes.txt").write_text("mine")
    capsys.readouterr()
    for extra, message in (([], "already holds the results of a run"), (["--resume"], "no backup to resume")):
        assert cli.main(["fit", *TINY, "--learning-rate", "0.02", *extra, "--out", str(out)]) == 2
        error = capsys.readouterr().err
        assert message in error and "pass --overwrite to replace them" in error and "Traceback" not in error
        assert contents(out) == earlier and not (out / "backup").exists()

    # with --overwrite, an interrupt in the final save leaves the earlier results whole; --resume then replaces them
    interrupt_while_writing(monkeypatch, "save", call=1)
    assert cli.main(["fit", *TINY, "--learning-rate", "0.02", "--overwrite", "--out", str(out)]) == 130
    monkeypatch.undo()
    assert contents(out) == earlier and no_temporary_files(out)
    assert cli.main(["fit", "--out", str(out), "--resume", "--verbose", "0"]) == 0
    assert json.loads((out / "metrics.json").read_text())["learning_rate"] == 0.02
    assert (out / "notes.txt").read_text() == "mine" and not (out / "backup").exists()


def test_tune_never_deletes_files_it_did_not_write(tmp_path, capsys):
    out = tmp_path / "search"
    (out / "tuner").mkdir(parents=True)
    (out / "tuner" / "mine.txt").write_text("mine")
    argv = ["tune", "--size", "8", "--families", "siren", "--max-trials", "1", "--epochs", "1", "--steps", "1",
            "--width", "8", "--depth", "1", "--no-jit", "--out", str(out)]
    assert cli.main(argv) == 2  # KerasTuner's overwrite=True used to delete tuner/ and everything in it
    error = capsys.readouterr().err
    assert "already holds a search (tuner/)" in error and "--resume" in error and "--overwrite" in error
    assert cli.main([*argv, "--overwrite"]) == 2
    assert "also holds mine.txt" in capsys.readouterr().err
    assert (out / "tuner" / "mine.txt").read_text() == "mine"

    (out / "tuner" / "mine.txt").unlink()
    (out / "notes.txt").write_text("mine")
    assert cli.main(argv) == 0
    first = contents(out, ("best_model.keras", "leaderboard.json"))
    assert cli.main(argv) == 2  # a finished search is not replaced silently either
    assert "already holds a search (tuner/, best_model.keras, best.png, leaderboard.json)" in capsys.readouterr().err
    assert contents(out, ("best_model.keras", "leaderboard.json")) == first
    assert cli.main([*argv, "--overwrite"]) == 0
    assert (out / "notes.txt").read_text() == "mine" and (out / "tuner" / "oracle.json").is_file()
    assert no_temporary_files(out)


# --- divergence ---------------------------------------------------------------------------------------------------
def test_a_diverging_fit_exits_1_and_leaves_the_earlier_results(tmp_path, capsys):
    out = tmp_path / "run"
    assert cli.main(["fit", *TINY, "--out", str(out)]) == 0
    earlier = contents(out)
    capsys.readouterr()
    assert cli.main(["fit", *TINY, "--learning-rate", "10", "--overwrite", "--out", str(out)]) == 1
    error = capsys.readouterr().err
    assert error.startswith("keras-inr fit: error: training diverged in epoch 1: the loss reached")
    assert "Lower --learning-rate (10 now)" in error and f"Nothing in {out} was replaced" in error
    assert error.count("\n") == 1 and "Traceback" not in error
    assert contents(out) == earlier and not (out / "backup").exists()  # diverged in epoch 1: no backup to keep


class PoisonWeights(keras.callbacks.Callback):
    """Make the model's first weight NaN when training ends (after the divergence guard's last look)."""

    def on_train_end(self, logs=None):
        variable = self.model.weights[0]
        variable.assign(keras.ops.full(variable.shape, float("nan"), dtype=variable.dtype))


def test_nan_weights_are_reported_as_the_model_output_not_the_image(tmp_path, capsys, monkeypatch):
    original = cli.run_fit
    monkeypatch.setattr(cli, "run_fit", lambda args: original(args, extra_callbacks=[PoisonWeights()]))
    assert cli.main(["fit", *TINY, "--out", str(tmp_path)]) == 1
    error = capsys.readouterr().err
    assert "the fitted model's output (its render at 16x16) holds 256 NaN or infinite value(s)" in error
    assert "`image`" not in error and "Traceback" not in error
    assert not any((tmp_path / name).exists() for name in RESULT_FILES)


class PoisonAt(keras.callbacks.Callback):
    """Make the first weight NaN at the start of epoch ``epoch`` (0-based)."""

    def __init__(self, epoch: int):
        super().__init__()
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            variable = self.model.weights[0]
            variable.assign(keras.ops.full(variable.shape, float("nan"), dtype=variable.dtype))


class Record(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        self.weights = weights_of(self.model)


def test_divergence_guard_restores_the_last_good_weights_and_raises():
    model, data = small_fit_setup()
    record, guard = Record(), DivergenceGuard()
    with pytest.raises(DivergenceError, match=r"diverged in epoch 3: the loss became nan.*weights of epoch 2") as error:
        model.fit(data, epochs=6, verbose=0, shuffle=False, callbacks=[PoisonAt(2), guard, record])
    assert (error.value.epoch, error.value.restored_epoch) == (3, 2) and guard.diverged and guard.error is error.value
    for restored, good in zip(weights_of(model), record.weights):  # `record` saw epoch 2's end last
        np.testing.assert_array_equal(restored, good)
    assert int(to_numpy(model.optimizer.iterations)) == 10  # the optimizer state of epoch 2's end too


def test_divergence_guard_can_stop_without_raising_and_compares_with_the_start():
    model, data = small_fit_setup()
    start = weights_of(model)
    guard = DivergenceGuard(factor=10, reference=1e-9, raise_error=False)  # any real loss counts as exploded
    history = model.fit(data, epochs=3, verbose=0, shuffle=False, callbacks=[guard])
    assert guard.diverged and history.epoch == [0] and guard.error.restored_epoch == 0
    assert "times its start 1e-09 (the limit is 10 times)" in str(guard.error)
    for restored, initial in zip(weights_of(model), start):
        np.testing.assert_array_equal(restored, initial)
    for arguments in ({"factor": 1.0}, {"factor": "big"}, {"reference": -1.0}, {"raise_error": "yes"}):
        with pytest.raises(ValueError, match=f"`{next(iter(arguments))}`"):
            DivergenceGuard(**arguments)


# --- bad input at the CLI -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("argv, option", [
    (["fit", "--size", "100000"], "--size"),
    (["fit", "--size", "64x100000"], "--size"),
    (["fit", "--seed", "-1"], "--seed"),
    (["fit", "--seed", "4294967296"], "--seed"),
    (["tune", "--size", "100000"], "--size"),
    (["tune", "--seed", "-1"], "--seed"),
    (["tune", "--seed", "4294967296"], "--seed"),
])
def test_absurd_size_or_seed_is_refused_naming_the_option(tmp_path, capsys, argv, option):
    assert cli.main([*argv, "--out", str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert f"error: argument {option}: expected" in error
    assert "Traceback" not in error and "MemoryError" not in error
    assert not any(tmp_path.iterdir())


def test_running_out_of_memory_is_a_one_line_error(tmp_path, capsys, monkeypatch):
    def out_of_memory(args, extra_callbacks=()):
        raise MemoryError("Unable to allocate 37.3 GiB for an array with shape (100000, 100000, 1)")

    monkeypatch.setattr(cli, "run_fit", out_of_memory)
    assert cli.main(["fit", "--out", str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("keras-inr fit: error: out of memory (Unable to allocate 37.3 GiB") and "--size" in error
    assert error.count("\n") == 1


def test_atomic_path_keeps_the_old_file_when_the_writer_is_interrupted(tmp_path):
    target = tmp_path / "model.keras"
    safe_files.write_text(target, "old")
    with pytest.raises(KeyboardInterrupt):
        with safe_files.atomic_path(target) as temporary:
            assert temporary == tmp_path / ".model.partial.keras" and safe_files.is_partial(temporary.name)
            temporary.write_text("half")
            raise KeyboardInterrupt
    assert target.read_text() == "old" and sorted(tmp_path.iterdir()) == [target]
    with safe_files.atomic_path(target) as temporary:
        temporary.write_text("new")
    assert target.read_text() == "new" and sorted(tmp_path.iterdir()) == [target]
    assert safe_files.partial_path(tmp_path / "x.weights.h5").name == ".x.partial.weights.h5"
    assert not any(safe_files.is_partial(name) for name in ("model.keras", ".bashrc", ".x.keras", "partial.txt"))


def test_the_guard_takes_its_reference_from_the_first_step_even_when_a_later_step_reports_first():
    # Keras calls on_train_batch_end from a pool of threads on JAX and PyTorch: step 1 may report before step 0
    import keras_inr

    model = keras_inr.SIREN(out_dims=1, width=8, depth=1, in_dims=2)
    model.build((None, 2))
    model.compile(optimizer="adam", loss="mse")
    guard = DivergenceGuard()
    guard.set_model(model)
    guard.on_train_begin()
    guard.on_epoch_begin(0)
    guard.on_train_batch_end(1, {"loss": 5000.0})  # the running mean after an exploded second step, reported first
    guard.on_train_batch_end(0, {"loss": 1.0})  # the first step's loss
    assert guard.reference == 1.0
    with pytest.raises(DivergenceError, match="training diverged in epoch 1"):
        guard.on_epoch_end(0, {"loss": 2500.5})
    assert guard.diverged
