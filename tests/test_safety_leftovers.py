"""Safety leftovers: a stored KerasTuner search is never wiped by default (``make_tuner``'s ``overwrite``), diverged
HyperINR runs and tuner trials stop with the last good weights (``DivergenceGuard``), ``HyperINR.fit`` checks that
its batches divide over the devices of a ``keras.distribution`` (JAX, two virtual CPU devices in a subprocess), and
the recipes write their figures and tables under temporary names (``keras_inr.safe_files``)."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest

keras_tuner = pytest.importorskip("keras_tuner")

import hypernets  # noqa: E402
import keras_inr  # noqa: E402
from keras_inr import data, training, tuning  # noqa: E402
from keras_inr.callbacks import DivergenceError, DivergenceGuard  # noqa: E402
from tests.conftest import to_numpy  # noqa: E402

BACKEND = keras.backend.backend()
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module", autouse=True)
def _frozen_heap():
    """KerasTuner calls gc.collect() twice per trial; freezing what exists now keeps those collections cheap."""
    gc.freeze()
    yield
    gc.unfreeze()


@pytest.fixture(scope="module")
def split():
    return data.tancik_split(data.load_image("camera", size=8))


def _search(tuner, split, epochs=1, steps=2, **kwargs):
    (train_x, train_y), (val_x, val_y) = split
    tuner.search(
        training.full_batch(train_x, train_y, steps), epochs=epochs,
        validation_data=training.full_batch(val_x, val_y, 1), verbose=0, shuffle=False, **kwargs,
    )


def _hypermodel(**kwargs):
    return tuning.INRHyperModel(1, families="siren", width=8, depth=1, jit_compile=False, **kwargs)


# --- make_tuner: a stored search is never wiped by default --------------------------------------------------------
def test_a_stored_search_survives_make_tuner_by_default_and_overwrite_decides(split, tmp_path):
    tuner = tuning.make_tuner(_hypermodel(), "random", max_trials=1, directory=tmp_path, project_name="p", seed=1)
    _search(tuner, split)
    project = tmp_path / "p"
    stored = sorted(path.name for path in project.iterdir())
    assert "oracle.json" in stored and any(name.startswith("trial_") for name in stored)
    assert tuning.stored_search(project) == stored
    assert tuning.stored_search(tmp_path / "nothing") == []

    with pytest.raises(ValueError, match=r"holds a KerasTuner search \(1 trial.*overwrite=False.*overwrite=True"):
        tuning.make_tuner(_hypermodel(), "random", max_trials=2, directory=tmp_path, project_name="p", seed=1)
    assert sorted(path.name for path in project.iterdir()) == stored  # nothing deleted

    resumed = tuning.make_tuner(
        _hypermodel(), "random", max_trials=2, directory=tmp_path, project_name="p", seed=1, overwrite=False
    )
    assert len(resumed.oracle.trials) == 1
    _search(resumed, split)  # continues up to max_trials=2: one more trial
    assert len(resumed.oracle.trials) == 2

    (project / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match=r"`overwrite`=True deletes only the files KerasTuner writes.*notes\.txt"):
        tuning.make_tuner(_hypermodel(), "random", directory=tmp_path, project_name="p", overwrite=True)
    assert len(tuning.stored_search(project)) == len(stored) + 1  # nothing deleted
    (project / "notes.txt").unlink()

    fresh = tuning.make_tuner(
        _hypermodel(), "random", max_trials=1, directory=tmp_path, project_name="p", seed=1, overwrite=True
    )
    assert len(fresh.oracle.trials) == 0
    assert not any(name.startswith("trial_") for name in tuning.stored_search(project))
    with pytest.raises(ValueError, match="`overwrite` must be True or False"):
        tuning.make_tuner(_hypermodel(), directory=tmp_path / "other", overwrite="yes")


def test_recipe_tune_architecture_asks_before_replacing_a_search(tmp_path, capsys):
    import importlib.util

    spec = importlib.util.spec_from_file_location("tune_recipe", REPO / "recipes" / "tune_architecture.py")
    recipe = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(recipe)
    out = tmp_path / "out"
    argv = ["--quick", "--families", "siren", "--max-trials", "1", "--out", str(out)]
    assert len(recipe.main(argv)) == 1
    first = (out / "best.png").read_bytes()
    with pytest.raises(SystemExit) as exit_:
        recipe.main(argv)
    assert exit_.value.code == 2
    error = capsys.readouterr().err
    assert "already holds a search" in error and "--resume" in error and "--overwrite" in error
    assert (out / "best.png").read_bytes() == first  # untouched
    assert len(recipe.main([*argv, "--max-trials", "2", "--resume"])) == 2  # one more trial
    assert len(recipe.main([*argv, "--overwrite"])) == 1  # a new search
    assert not [path.name for path in out.rglob(".*partial*")]


# --- DivergenceGuard in HyperINR.fit -----------------------------------------------------------------------------
def _exploding_sgd(good_steps: int) -> keras.optimizers.Optimizer:
    """SGD whose learning rate jumps to 1e30 after ``good_steps`` steps: step ``good_steps`` (0-based) makes the
    weights overflow, so the loss of step ``good_steps + 1`` is infinite or NaN."""
    schedule = keras.optimizers.schedules.PiecewiseConstantDecay([good_steps - 1], [1e-2, 1e30])
    return keras.optimizers.SGD(schedule)


def _hyper(optimizer) -> hypernets.HyperINR:
    encoder = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(8)])
    model = hypernets.HyperINR(
        encoder, keras_inr.SIREN(out_dims=1, width=8, depth=1), head="shift", points_per_step=16, seed=1
    )
    model.compile(optimizer=optimizer)
    return model


def test_hyperinr_fit_stops_a_diverged_run_and_keeps_the_last_good_weights():
    images = np.random.default_rng(0).random((8, 8, 8, 1)).astype("float32")
    epoch_ends = []
    record = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: epoch_ends.append(model.get_weights()))
    model = _hyper(_exploding_sgd(good_steps=4))  # 2 steps per epoch: epoch 3's first step explodes the weights
    with pytest.raises(DivergenceError, match=r"diverged in epoch 3: the loss became (nan|inf).*weights of epoch 2"):
        model.fit(images, images, batch_size=4, epochs=5, verbose=0, shuffle=False, callbacks=[record])
    assert len(epoch_ends) == 2  # the guard raised before the diverged epoch reached the other callbacks
    for kept, good in zip(model.get_weights(), epoch_ends[-1]):
        np.testing.assert_array_equal(kept, good)
    assert all(np.all(np.isfinite(weight)) for weight in model.get_weights())

    # a DivergenceGuard among the callbacks replaces the default one (here: only stop, do not raise)
    guard = DivergenceGuard(raise_error=False)
    model = _hyper(_exploding_sgd(good_steps=4))
    history = model.fit(images, images, 4, 5, 0, [guard], shuffle=False)  # positional arguments, as in Keras
    assert guard.diverged and guard.error.restored_epoch == 2 and len(history.epoch) == 3
    assert all(np.all(np.isfinite(weight)) for weight in model.get_weights())

    # divergence_guard=False: Keras' own behaviour, training goes on with non-finite weights
    model = _hyper(_exploding_sgd(good_steps=4))
    history = model.fit(images, images, batch_size=4, epochs=4, verbose=0, shuffle=False, divergence_guard=False)
    assert len(history.epoch) == 4 and not np.isfinite(history.history["loss"][-1])
    with pytest.raises(ValueError, match="`divergence_guard` must be True or False"):
        model.fit(images, images, divergence_guard="yes")
    with pytest.raises(TypeError, match="multiple values"):
        model.fit(images, images, 4, batch_size=4)


# --- DivergenceGuard in tuner trials -----------------------------------------------------------------------------
class _ExplodingHyperModel(tuning.TimedHyperModel):
    """A hypermodel whose ``good_steps`` hyperparameter says after how many steps the learning rate explodes."""

    def build(self, hp):
        model = keras_inr.SIREN(out_dims=1, width=8, depth=1)
        model.build((None, 2))
        model.compile(optimizer=_exploding_sgd(hp.Choice("good_steps", [1, 4, 1000])), loss="mse",
                      metrics=[keras_inr.metrics.PSNR(name="psnr")])
        return model


def test_a_diverging_trial_does_not_crash_the_search(split, tmp_path):
    tuner = keras_tuner.GridSearch(
        _ExplodingHyperModel(), objective=tuning.OBJECTIVE, max_trials=3, directory=tmp_path, overwrite=True
    )
    _search(tuner, split, epochs=3, steps=3)  # 3 steps per epoch
    trials = {trial.hyperparameters.get("good_steps"): trial for trial in tuner.oracle.trials.values()}
    assert sorted(trials) == [1, 4, 1000]
    # explodes in epoch 1: no good epoch, a failed trial with the guard's message (not retried)
    assert trials[1].status == "FAILED" and "training diverged in epoch 1" in trials[1].message
    # explodes in epoch 2: scored on epoch 1, whose weights the checkpoint holds
    assert trials[4].status == "COMPLETED" and np.isfinite(trials[4].score)
    assert trials[4].best_step == 0 and trials[4].metrics.exists("fit_seconds")
    assert trials[1000].status == "COMPLETED" and trials[1000].best_step == 2
    rows = tuning.leaderboard(tuner)
    assert len(rows) == 2 and all(np.isfinite(row["val_psnr"]) for row in rows)
    model = tuner.load_model(trials[4])
    assert all(np.all(np.isfinite(to_numpy(weight))) for weight in model.weights)


def test_keras_inr_tune_reports_a_search_whose_trials_all_diverge(tmp_path, capsys):
    from keras_inr import cli

    argv = ["tune", "camera", "--size", "8", "--families", "siren", "--learning-rate", "1e4", "--max-trials", "4",
            "--epochs", "1", "--steps", "3", "--width", "8", "--depth", "1", "--no-jit", "--out", str(tmp_path)]
    assert cli.main(argv) == 1  # KerasTuner ends the search after 3 failed trials in a row; no traceback of ours
    error = capsys.readouterr().err.splitlines()[-1]
    assert error.startswith("keras-inr tune: error: KerasTuner stopped the search: Number of consecutive failures")
    assert "training diverged in epoch 1" in error and "--learning-rate" in error


# --- HyperINR.fit: batches that do not divide over the devices ----------------------------------------------------
TWO_DEVICES = textwrap.dedent(
    """
    import json
    import numpy as np
    import keras, jax
    import keras_inr, hypernets

    images = np.random.default_rng(0).random((9, 8, 8, 1)).astype("float32")
    out = {"devices": len(jax.devices()), "errors": [], "loss": None}

    def model():
        encoder = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(8)])
        hyper = hypernets.HyperINR(encoder, keras_inr.SIREN(out_dims=1, width=8, depth=1), head="shift",
                                   points_per_step=16, seed=1)
        hyper.compile(optimizer=keras.optimizers.Adam(1e-3))
        return hyper

    cases = [
        dict(x=images[:8], y=images[:8], batch_size=3),                        # odd batch
        dict(x=images, y=images, batch_size=4),                                # last batch of 1
        dict(x=images[:7], y=images[:7]),                                      # Keras' default 32: one batch of 7
        dict(x=images[:8], y=images[:8], batch_size=4, validation_data=(images[:6], images[:6]),
             validation_batch_size=3),                                         # odd validation batch
        dict(x=hypernets.ImageFieldDataset(images, 16, batch_size=4, drop_remainder=False, seed=0)),
    ]
    with keras_inr.distribution.data_parallel().scope():
        for case in cases:
            try:
                model().fit(epochs=1, verbose=0, shuffle=False, **case)
                out["errors"].append(None)
            except ValueError as error:
                out["errors"].append(str(error))
        history = model().fit(images[:8], images[:8], batch_size=4, epochs=1, verbose=0, shuffle=False,
                              validation_data=(images[:4], images[:4]))
        out["loss"] = history.history["loss"] + history.history["val_loss"]
    print("RESULT " + json.dumps(out))
    """
)


@pytest.mark.skipif(BACKEND != "jax", reason="keras.distribution data parallelism runs on JAX (checked once)")
def test_hyperinr_fit_checks_that_batches_divide_over_the_devices():
    env = {
        **os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu",
        "XLA_FLAGS": (os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=2").strip(),
    }
    done = subprocess.run([sys.executable, "-c", TWO_DEVICES], env=env, capture_output=True, text=True, timeout=600,
                          cwd=REPO)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert done.returncode == 0 and lines, done.stdout[-3000:] + done.stderr[-3000:]
    out = json.loads(lines[-1][len("RESULT "):])
    assert out["devices"] == 2
    odd, last, default, validation, dataset = out["errors"]
    assert odd and odd.startswith("`batch_size`=3 (the batches of `x`) does not divide over the 2 devices")
    assert last and "`x` holds 9 datapoints" in last and "`batch_size`=4, the last batch" in last and "e.g. 8" in last
    assert default and "`x` holds 7 datapoints" in default and "`batch_size`=32" in default
    assert validation and validation.startswith("`validation_batch_size`=3 (the batches of `validation_data`)")
    assert dataset and "`x.batch_size`=4" in dataset and "drop_remainder=True" in dataset
    assert len(out["loss"]) == 2 and np.all(np.isfinite(out["loss"]))  # divisible batches train
    for message in out["errors"]:
        assert "IndivisibleError" not in message and "Sharding" not in message  # ours, not JAX's


# --- recipes write their files under temporary names ------------------------------------------------------------
def test_a_recipe_stopped_while_writing_keeps_its_previous_figure(tmp_path, monkeypatch):
    import importlib.util


    spec = importlib.util.spec_from_file_location("fit_image_recipe", REPO / "recipes" / "fit_image.py")
    recipe = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(recipe)
    argv = ["--quick", "--families", "gauss", "--steps", "3", "--out", str(tmp_path)]
    recipe.main(argv)
    before = {path.name: path.read_bytes() for path in tmp_path.iterdir()}
    assert sorted(before) == ["comparison.png", "gauss.png"]

    from matplotlib.figure import Figure

    def stopped(figure, path, *args, **kwargs):  # a run stopped halfway through writing the figure
        Path(path).write_bytes(b"half a PNG")
        raise KeyboardInterrupt

    monkeypatch.setattr(Figure, "savefig", stopped)  # under save_comparison, which writes the figure
    with pytest.raises(KeyboardInterrupt):
        recipe.main(argv)
    after = {path.name: path.read_bytes() for path in tmp_path.iterdir()}
    assert sorted(after) == sorted(before)  # no temporary file left behind
    assert after["comparison.png"] == before["comparison.png"]  # the previous figure, whole
    assert after["gauss.png"].startswith(b"\x89PNG")  # replaced by the new run's complete image


def test_the_tuner_folder_helpers_and_prepare_model_name_bad_arguments():
    from keras_inr.distribution import prepare_model

    for call in (lambda: tuning.stored_search(123), lambda: tuning.clear_tuner_project(None)):
        with pytest.raises(ValueError, match="`project` must be a non-empty path"):
            call()
    with pytest.raises(ValueError, match="`model` must be a keras.Model, got str"):
        prepare_model("not a model")
