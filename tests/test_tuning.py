"""KerasTuner search over INR families: tiny searches with each tuner, fixing/narrowing, leaderboard, CLI, bad input."""

from __future__ import annotations

import argparse
import gc
import json
import math

import keras
import pytest

keras_tuner = pytest.importorskip("keras_tuner")

from keras_inr import data, training, tuning  # noqa: E402
from keras_inr.cli_tune import add_tune_arguments, parse_space_value, run_tune  # noqa: E402
from keras_inr.models import FAMILIES, build_model  # noqa: E402

# Tiny searches: 16x16 image (64 training / 192 held-out pixels), widths <= 32, a few full-batch steps per epoch.
# Without XLA compilation: for a handful of steps per trial, compiling every trial's model costs more than it saves.
TINY_SPACE = dict(width=(16, 32), depth=(1, 2), num_features=(16, 32), jit_compile=False)


@pytest.fixture(scope="module", autouse=True)
def _frozen_heap():
    """KerasTuner calls gc.collect() twice per trial, ~1 s each on the test process's heap; freezing the objects
    that exist now (modules, backends) makes those collections cheap without changing what the tests check."""
    gc.freeze()
    yield
    gc.unfreeze()


@pytest.fixture(scope="module")
def split():
    image = data.load_image("camera", size=16)
    return data.tancik_split(image)


def _search(tuner, split, epochs=2, steps=5):
    (train_x, train_y), (val_x, val_y) = split
    tuner.search(
        training.full_batch(train_x, train_y, steps), epochs=epochs,
        validation_data=training.full_batch(val_x, val_y, 1), verbose=0, shuffle=False,
    )


@pytest.mark.parametrize("tuner_name", ["random", "bayesian", "hyperband"])
def test_tiny_search_with_each_tuner(tuner_name, split, tmp_path):
    if tuner_name == "bayesian":
        pytest.importorskip("sklearn", reason="BayesianOptimization needs scikit-learn (keras-inr[tuner])")
    hypermodel = tuning.INRHyperModel(out_dims=1, **TINY_SPACE)
    # Hyperband with max_epochs=2 (factor 3) runs a single bracket of two 2-epoch trials.
    tuner = tuning.make_tuner(hypermodel, tuner_name, max_trials=2, max_epochs=2, directory=tmp_path, seed=3)
    _search(tuner, split)

    trials = [t for t in tuner.oracle.trials.values() if t.status == "COMPLETED"]
    assert len(trials) == 2
    rows = tuning.leaderboard(tuner)
    assert [row["trial_id"] for row in rows] == [
        t.trial_id for t in sorted(trials, key=lambda t: t.score, reverse=True)
    ]
    assert all(row["seconds"] is not None and row["seconds"] > 0 for row in rows)
    if tuner_name == "hyperband":
        assert {row["epochs"] for row in rows} == {2}

    # The reloaded best model scores, on the held-out pixels, exactly what the tuner reported for it.
    best_trial = tuner.oracle.get_best_trials(1)[0]
    assert rows[0]["val_psnr"] == pytest.approx(best_trial.score)
    (_, _), (val_x, val_y) = split
    model = tuning.best_model(tuner)
    evaluated = model.evaluate(val_x, val_y, batch_size=len(val_x), verbose=0, return_dict=True)["psnr"]
    assert float(evaluated) == pytest.approx(best_trial.score, abs=1e-3)

    # The best hyperparameters build a model of the chosen family, with the chosen architecture.
    best_hp = tuner.get_best_hyperparameters(1)[0]
    family = best_hp.get("family")
    assert isinstance(model, FAMILIES[family])
    rebuilt = hypermodel.build(best_hp)
    assert isinstance(rebuilt, FAMILIES[family])
    assert (rebuilt.width, rebuilt.depth) == (best_hp.get("width"), best_hp.get("depth"))
    assert rebuilt.count_params() == model.count_params()
    # The family's own learning rate (learning_rate_<family>) is the one the optimiser got.
    assert float(keras.ops.convert_to_numpy(rebuilt.optimizer.learning_rate)) == pytest.approx(
        best_hp.get(tuning.learning_rate_name(family)), rel=1e-6
    )


def test_fixed_hyperparameters_passed_to_the_tuner_are_honoured(split, tmp_path):
    fixed = keras_tuner.HyperParameters()
    fixed.Fixed("family", "gauss")
    fixed.Fixed("width", 16)
    hypermodel = tuning.INRHyperModel(out_dims=1, **TINY_SPACE)
    tuner = tuning.make_tuner(
        hypermodel, "random", max_trials=2, directory=tmp_path, hyperparameters=fixed, tune_new_entries=True, seed=5
    )
    _search(tuner, split, epochs=1, steps=2)
    trials = list(tuner.oracle.trials.values())
    assert len(trials) == 2
    values = [t.hyperparameters.values for t in trials]
    assert all(v["family"] == "gauss" and v["width"] == 16 for v in values)
    # New entries are still tuned: the two trials differ, and only the Gaussian family's scale is active.
    assert values[0] != values[1]
    assert all("inverse_scale" in v and "w0" not in v and "scale" not in v for v in values)
    assert isinstance(tuning.best_model(tuner), FAMILIES["gauss"])


def test_constructor_fixes_narrows_and_chooses():
    hypermodel = tuning.INRHyperModel(
        out_dims=3, families=("siren",), w0=25.0, width=[16, 32], depth=(1, 3), learning_rate=(1e-3, 1e-3)
    )
    hp = keras_tuner.HyperParameters()
    model = hypermodel.build(hp)
    space = {entry.name: entry for entry in hp.space}
    assert isinstance(space["family"], keras_tuner.engine.hyperparameters.Fixed)
    assert isinstance(space["w0"], keras_tuner.engine.hyperparameters.Fixed) and space["w0"].value == 25.0
    assert list(space["width"].values) == [16, 32]
    assert (space["depth"].min_value, space["depth"].max_value) == (1, 3)
    assert isinstance(space["learning_rate"], keras_tuner.engine.hyperparameters.Fixed)
    assert "first_w0" not in space  # tied to w0 unless asked for
    assert isinstance(model, FAMILIES["siren"]) and model.w0 == 25.0 and model.out_dims == 3
    # Sampling the narrowed space stays inside it.
    for seed in range(20):
        assert space["depth"].random_sample(seed) in (1, 2, 3)
        assert space["width"].random_sample(seed) in (16, 32)


def test_default_ranges_are_log_scale_for_scales():
    hp = keras_tuner.HyperParameters()
    hp.Fixed("family", "ffn")
    tuning.INRHyperModel(out_dims=1).build(hp)
    space = {entry.name: entry for entry in hp.space}
    for name in ("learning_rate_ffn", "w0", "inverse_scale", "scale", "width", "num_features"):
        assert space[name].sampling == "log", name
    assert list(space["width"].values) == [32, 64, 128, 256]
    # Inactive families' hyperparameters are declared (conditionally) but take no value.
    assert hp.get("scale") is not None
    assert not hp.is_active("w0") and not hp.is_active("inverse_scale")


def test_model_arguments_rebuild_the_architecture():
    hp = keras_tuner.HyperParameters()
    hp.Fixed("family", "ffn")
    model = tuning.INRHyperModel(out_dims=1, seed=7, **TINY_SPACE).build(hp)
    family, kwargs, learning_rate = tuning.model_arguments(hp)
    assert family == "ffn" and set(kwargs) == {"width", "depth", "scale", "num_features"}
    assert learning_rate == hp.get("learning_rate_ffn")
    rebuilt = build_model(family, 1, in_dims=2, seed=7, **kwargs)
    assert rebuilt.count_params() == model.count_params()
    assert rebuilt.scale == pytest.approx(model.scale)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"families": ("siren", "wavelet")}, "unknown family 'wavelet'"),
        ({"families": ()}, "at least one family"),
        ({"families": ("siren", "siren")}, "must not repeat"),
        ({"width": (256, 16)}, "`width` range must have low <= high"),
        ({"learning_rate": (1e-2, 1e-4)}, "`learning_rate` range must have low <= high"),
        ({"w0": (60.0, 10.0)}, "`w0` range must have low <= high"),
        ({"w0": -3.0}, "`w0` value must be positive"),
        ({"depth": 2.5}, "`depth` value must be an integer"),
        ({"scale": (1.0, 2.0, 3.0)}, "`scale` range must be a \\(low, high\\) tuple"),
        ({"width": []}, "`width` choices must be a non-empty list"),
        ({"width": "wide"}, "`width` must be None"),
        ({"families": ("siren",), "scale": 5.0}, "`scale` is a hyperparameter of family 'ffn'"),
        ({"schedule": "cosine"}, "`total_steps`"),
        ({"out_dims": 0}, "`out_dims`"),
    ],
)
def test_bad_hypermodel_arguments(kwargs, message):
    arguments = {"out_dims": 1, **kwargs}
    with pytest.raises(ValueError, match=message):
        tuning.INRHyperModel(**arguments)


def test_bad_tuner_arguments(tmp_path):
    hypermodel = tuning.INRHyperModel(out_dims=1, families=("siren", "gauss"))
    with pytest.raises(ValueError, match="`tuner` must be one of"):
        tuning.make_tuner(hypermodel, "grid", directory=tmp_path)
    with pytest.raises(ValueError, match="`max_trials`"):
        tuning.make_tuner(hypermodel, "random", max_trials=0, directory=tmp_path)
    with pytest.raises(ValueError, match="`max_epochs` must be at least 2"):
        tuning.make_tuner(hypermodel, "hyperband", max_epochs=1, directory=tmp_path)
    fixed = keras_tuner.HyperParameters()
    fixed.Fixed("family", "ffn")
    with pytest.raises(ValueError, match="fixes family='ffn'"):
        tuning.make_tuner(hypermodel, "random", directory=tmp_path, hyperparameters=fixed)
    with pytest.raises(ValueError, match="no completed trial"):
        tuning.best_model(tuning.make_tuner(hypermodel, "random", directory=tmp_path))


def test_parse_space_value():
    assert parse_space_value("10:60", "--w0", False) == (10.0, 60.0)
    assert parse_space_value("64,128", "--width", True) == [64, 128]
    assert parse_space_value("1e-3", "--learning-rate", False) == pytest.approx(1e-3)
    assert parse_space_value("3", "--depth", True) == 3
    with pytest.raises(ValueError, match="--depth expects integers"):
        parse_space_value("2.5", "--depth", True)
    with pytest.raises(ValueError, match="--w0 expects LOW:HIGH"):
        parse_space_value("ten:60", "--w0", False)
    with pytest.raises(ValueError, match="--w0 range must be LOW:HIGH"):
        parse_space_value("1:2:3", "--w0", False)


def _tune_args(argv):
    parser = argparse.ArgumentParser(prog="keras-inr tune")
    add_tune_arguments(parser)
    return parser.parse_args(argv)


def test_cli_tune_writes_leaderboard_model_and_figure(tmp_path, capsys):
    out = tmp_path / "out"
    args = _tune_args(
        ["camera", "--size", "16", "--families", "siren,gauss", "--max-trials", "2", "--epochs", "1",
         "--steps", "3", "--width", "16", "--depth", "1:2", "--w0", "10:40", "--out", str(out), "--seed", "1", "--no-jit"]
    )
    assert run_tune(args) == 0
    printed = capsys.readouterr().out
    assert "Leaderboard" in printed and "val PSNR" in printed
    summary = json.loads((out / "leaderboard.json").read_text())
    assert len(summary["leaderboard"]) == 2 and summary["shape"] == [16, 16, 1]
    best = summary["leaderboard"][0]
    assert best["family"] in ("siren", "gauss") and best["hyperparameters"]["width"] == 16
    assert math.isfinite(best["val_psnr"]) and f"{best['val_psnr']:.2f}" in printed
    assert (out / "best.png").stat().st_size > 0
    # The saved model reloads (keras-inr classes are registered) and scores the reported held-out PSNR.
    model = keras.saving.load_model(out / "best_model.keras")
    image = data.load_image("camera", size=16)
    (_, _), (val_x, val_y) = data.tancik_split(image)
    evaluated = model.evaluate(val_x, val_y, batch_size=len(val_x), verbose=0, return_dict=True)["psnr"]
    assert float(evaluated) == pytest.approx(best["val_psnr"], abs=1e-3)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--families", "siren,wavelet"], "unknown family 'wavelet'"),
        (["--families", ","], "at least one family"),
        (["--w0", "60:10"], "`w0` range must have low <= high"),
        (["--width", "a:b"], "--width expects"),
        (["--epochs", "0"], "--epochs"),
        (["nonexistent/picture.png"], "No image file"),
    ],
)
def test_cli_tune_bad_input(argv, message, tmp_path, capsys):
    args = _tune_args([*argv, "--size", "16", "--out", str(tmp_path / "out")])
    assert run_tune(args) == 2
    assert message in capsys.readouterr().err
