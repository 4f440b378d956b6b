"""KerasTuner search over INR families: tiny searches with each tuner, fixing/narrowing, per-family learning rates,
leaderboard, CLI, the recipe, bad input. User-registered families are tested in tests/test_tuning_registry.py."""

from __future__ import annotations

import argparse
import gc
import importlib.util
import json
import math
from pathlib import Path

import keras
import pytest

keras_tuner = pytest.importorskip("keras_tuner")

from keras_inr import data, families, training, tuning  # noqa: E402
from keras_inr.cli_tune import add_tune_arguments, parse_space_value, run_tune  # noqa: E402
from keras_inr.models import build_model  # noqa: E402
from tests.conftest import optimizer_learning_rate, tuner_space  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
#: The families INRHyperModel searches by default.
DEFAULT_FAMILIES = ("siren", "gauss", "ffn")

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
    assert isinstance(model, families.get(family).model_class())
    rebuilt = hypermodel.build(best_hp)
    assert isinstance(rebuilt, families.get(family).model_class())
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
    assert isinstance(tuning.best_model(tuner), families.get("gauss").model_class())


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
    assert isinstance(model, families.get("siren").model_class()) and model.w0 == 25.0 and model.out_dims == 3
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


def test_default_space_is_read_from_the_family_registry():
    """Every searched entry has its registry record's range, kind, sampling and step; untuned, it takes the record's
    recommended value (SIREN's w0 = 20, not the paper's 30 or the range's low end)."""
    hypermodel = tuning.INRHyperModel(out_dims=1, width=16, depth=1, jit_compile=False)
    assert hypermodel.families == tuning.default_families() == DEFAULT_FAMILIES
    for family in DEFAULT_FAMILIES:
        hp = keras_tuner.HyperParameters()
        hp.Fixed("family", family)
        model = hypermodel.build(hp)
        space = tuner_space(hp)
        for name, record in families.get(family).hyperparameters.items():
            if record.optional:
                assert name not in space  # first_w0: tied to w0 unless given
                continue
            entry = space[name]
            assert (entry.min_value, entry.max_value) == record.search, name
            assert entry.sampling == record.sampling, name
            assert isinstance(entry, keras_tuner.engine.hyperparameters.Int) == (record.kind == "int"), name
            if record.step:
                assert entry.step == record.step, name
            assert hp.get(name) == record.recommended, name
            assert getattr(model, name) == pytest.approx(record.recommended), name
    assert families.get("siren").hyperparameters["w0"].recommended == 20.0


def test_first_w0_is_tied_unless_given_and_then_reaches_the_first_layer():
    hp = keras_tuner.HyperParameters()
    tied = tuning.INRHyperModel(out_dims=1, families="siren", w0=15.0, width=8, depth=2, jit_compile=False)
    model = tied.build(hp)
    assert "first_w0" not in tuner_space(hp) and "first_w0 (siren): = w0" in tied.search_space_summary()
    assert [layer.w0 for layer in model.hidden_layers] == [15.0, 15.0]

    given = tuning.INRHyperModel(out_dims=1, families="siren", w0=15.0, first_w0=(40.0, 60.0), width=8, depth=2,
                                 jit_compile=False)
    assert "first_w0 (siren): [40, 60] log" in given.search_space_summary()
    hp = keras_tuner.HyperParameters()
    model = given.build(hp)
    first_w0 = hp.get("first_w0")
    assert 40.0 <= first_w0 <= 60.0
    assert [layer.w0 for layer in model.hidden_layers] == [pytest.approx(first_w0), 15.0]
    assert tuning.model_arguments(hp)[1]["first_w0"] == first_w0


def test_seeded_families_get_the_seed():
    """Fourier-feature models (Family.seeded) get the hypermodel's seed: the same frequencies in every trial."""
    assert families.get("ffn").seeded and not families.get("siren").seeded

    def frequencies(seed):
        hp = keras_tuner.HyperParameters()
        hp.Fixed("family", "ffn")
        model = tuning.INRHyperModel(out_dims=1, seed=seed, width=8, depth=1, num_features=16,
                                     jit_compile=False).build(hp)
        return keras.ops.convert_to_numpy(model.encoding.projection)

    first, again, other = frequencies(7), frequencies(7), frequencies(8)
    assert (first == again).all() and not (first == other).all()


def test_family_hyperparameter_fixed_on_the_tuner_applies():
    """An unconditional hp.Fixed("w0", ...) given to the tuner is used as is (not declared a second time)."""
    hp = keras_tuner.HyperParameters()
    hp.Fixed("w0", 33.0)
    hp.Fixed("family", "siren")
    model = tuning.INRHyperModel(out_dims=1, width=8, depth=1, jit_compile=False).build(hp)
    assert [entry.name for entry in hp.space].count("w0") == 1
    assert model.w0 == 33.0 and tuning.model_arguments(hp)[1]["w0"] == 33.0


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
        ({"families": ("siren", "wavelet")}, "`families` must be one of the registered families .*'wavelet'"),
        ({"families": ()}, "at least one family"),
        ({"families": ("siren", "siren")}, "must not repeat"),
        ({"families": ("sine", "siren")}, "must not repeat"),  # an alias names the same family
        ({"width": (256, 16)}, "`width` range must have low <= high"),
        ({"learning_rate": (1e-2, 1e-4)}, "`learning_rate` range must have low <= high"),
        ({"w0": (60.0, 10.0)}, "`w0` range must have low <= high"),
        ({"w0": -3.0}, "`w0` value must be positive"),
        ({"depth": 2.5}, "`depth` value must be an integer"),
        ({"scale": (1.0, 2.0, 3.0)}, "`scale` range must be a \\(low, high\\) tuple"),
        ({"width": []}, "`width` choices must be a non-empty list"),
        ({"width": "wide"}, "`width` must be None"),
        ({"families": ("siren",), "scale": 5.0}, "`scale` is a hyperparameter of family 'ffn', which is not in"),
        ({"families": ("gauss",), "first_w0": (10, 20)}, "`first_w0` is a hyperparameter of family 'siren'"),
        ({"omega": 30.0}, "unknown keyword argument `omega`"),
        ({"num_features": (16.5, 64)}, "`num_features` low must be an integer"),
        ({"inverse_scale": 0.0}, "`inverse_scale` value must be positive"),
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


# --- INRHyperModel: per-family learning rates -----------------------------------------------------------------------
@pytest.mark.parametrize("family", DEFAULT_FAMILIES)
def test_default_learning_rate_range_is_per_family(family):
    hp = keras_tuner.HyperParameters()
    hp.Fixed("family", family)
    model = tuning.INRHyperModel(out_dims=1, width=16, depth=1, jit_compile=False).build(hp)
    space = tuner_space(hp)
    centre = training.recommended(family)["learning_rate"]
    assert "learning_rate" not in space  # no shared entry by default
    for other in DEFAULT_FAMILIES:
        entry = space[tuning.learning_rate_name(other)]
        other_centre = training.recommended(other)["learning_rate"]
        # one decade either way of the family's recommended rate, log scale, in the family's conditional scope
        assert (entry.min_value, entry.max_value) == pytest.approx((other_centre / 10, other_centre * 10))
        assert entry.sampling == "log" and [c.values for c in entry.conditions] == [[other]]
        assert hp.is_active(entry) == (other == family)
    # Not tuned, the rate is the family's recommended one (the entry's default), and the optimiser gets it.
    assert hp.get(tuning.learning_rate_name(family)) == pytest.approx(centre)
    assert optimizer_learning_rate(model) == pytest.approx(centre)
    assert tuning.learning_rate_of(hp) == pytest.approx(centre)
    # the ranges differ between families
    assert training.recommended("ffn")["learning_rate"] != training.recommended("siren")["learning_rate"]


def test_user_learning_rate_applies_to_every_family():
    hypermodel = tuning.INRHyperModel(out_dims=1, learning_rate=(1e-3, 4e-3), width=16, depth=1, jit_compile=False)
    for family in DEFAULT_FAMILIES:
        hp = keras_tuner.HyperParameters()
        hp.Fixed("family", family)
        model = hypermodel.build(hp)
        space = tuner_space(hp)
        assert not any(name.startswith("learning_rate_") for name in space)
        assert (space["learning_rate"].min_value, space["learning_rate"].max_value) == (1e-3, 4e-3)
        assert not space["learning_rate"].conditions
        assert optimizer_learning_rate(model) == pytest.approx(hp.get("learning_rate"))
    assert "learning_rate: [0.001, 0.004] log" in hypermodel.search_space_summary()
    assert "learning_rate_gauss" in tuning.INRHyperModel(out_dims=1).search_space_summary()


def _inr_search(tuner, split):
    (train_x, train_y), (val_x, val_y) = split
    tuner.search(training.full_batch(train_x, train_y, 2), epochs=1,
                 validation_data=training.full_batch(val_x, val_y, 1), verbose=0, shuffle=False)


def test_oracle_samples_each_family_in_its_own_range(tmp_path):
    """Trials drawn by the tuner's oracle (no training needed): each family's rate lies in that family's range, and
    only the trial's own family's rate is recorded (KerasTuner drops inactive entries when it records a trial)."""
    hypermodel = tuning.INRHyperModel(out_dims=1, width=16, depth=1, num_features=16, jit_compile=False)
    tuner = tuning.make_tuner(hypermodel, "random", max_trials=12, directory=tmp_path, seed=11)
    trials = [tuner.oracle.create_trial(f"worker{index}") for index in range(12)]
    rates = {family: [] for family in DEFAULT_FAMILIES}
    for trial in trials:
        values = trial.hyperparameters.values
        family = values["family"]
        assert [name for name in values if name.startswith("learning_rate")] == [tuning.learning_rate_name(family)]
        rates[family].append(tuning.model_arguments(values)[2])
    for family, sampled in rates.items():
        low, high, _ = tuning.family_learning_rate_range(family)
        assert sampled, f"no {family} trial among 12 (seed 11)"
        assert all(low <= rate <= high for rate in sampled), (family, sampled)


def test_tuner_fixed_learning_rate_applies_to_every_family(split, tmp_path):
    fixed = keras_tuner.HyperParameters()
    fixed.Fixed("learning_rate", 4e-3)
    hypermodel = tuning.INRHyperModel(out_dims=1, families=("siren", "gauss"), width=16, depth=1, jit_compile=False)
    tuner = tuning.make_tuner(hypermodel, "random", max_trials=3, directory=tmp_path, hyperparameters=fixed, seed=4)
    assert not any(entry.name.startswith("learning_rate_") for entry in tuner.oracle.hyperparameters.space)
    _inr_search(tuner, split)
    trials = [t for t in tuner.oracle.trials.values() if t.status == "COMPLETED"]
    assert len(trials) == 3
    assert all(tuning.learning_rate_of(t.hyperparameters) == pytest.approx(4e-3) for t in trials)
    assert optimizer_learning_rate(tuning.best_model(tuner)) == pytest.approx(4e-3)


def test_learning_rate_of_bad_input():
    with pytest.raises(ValueError, match="no learning rate"):
        tuning.learning_rate_of({"family": "siren", "width": 32})
    with pytest.raises(ValueError, match="`hyperparameters` must be"):
        tuning.learning_rate_of(3)
    with pytest.raises(ValueError, match="`family` must be one of the registered families"):
        tuning.learning_rate_name("wavelet")
    assert tuning.learning_rate_name("sine") == "learning_rate_siren"  # aliases name the family


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
        ["camera", "--size", "16", "--families", "siren,gauss", "--max-trials", "2", "--epochs", "1", "--steps", "3",
         "--width", "16", "--depth", "1:2", "--w0", "10:40", "--out", str(out), "--seed", "1", "--no-jit"]
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
        (["--families", "siren,wavelet"], "`--families` must be one of the registered families"),
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


def test_cli_space_options_are_generated_from_the_registry():
    parser = argparse.ArgumentParser(prog="keras-inr tune")
    add_tune_arguments(parser)
    helps = {action.dest: action.help for action in parser._actions}
    # One option per hyperparameter name of the registered families, plus the shared ones.
    for name, owners in families.hyperparameter_owners().items():
        assert name in helps, name
        assert f"(families: {', '.join(owners)}; default range" in helps[name], helps[name]
    assert "siren 10:100 log" in helps["w0"] and "wire 5:50 log" in helps["w0"] and "omega_0" in helps["w0"]
    assert "tied to w0 unless given" in helps["first_w0"]
    assert "64:256 in factors of 2" in helps["num_features"]
    assert {"width", "depth", "learning_rate"} <= set(helps)
    assert parser.get_default("families") == ",".join(DEFAULT_FAMILIES)
    args = parser.parse_args(["--num-features", "16,32", "--first-w0", "20:40"])
    options = {keyword: (flag, integer) for flag, keyword, integer, _ in args._space_options}
    assert options["num_features"] == ("--num-features", True) and options["w0"] == ("--w0", False)
    assert (args.num_features, args.first_w0) == ("16,32", "20:40")


@pytest.fixture(scope="module")
def recipe():
    spec = importlib.util.spec_from_file_location("tune_architecture_recipe", REPO / "recipes" / "tune_architecture.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_recipe_quick_run_prints_a_leaderboard_and_saves_the_best_model(recipe, tmp_path, capsys):
    rows = recipe.main(["--quick", "--families", "siren,gauss", "--out", str(tmp_path / "out")])
    printed = capsys.readouterr().out
    assert len(rows) == 2 and all(row["family"] in ("siren", "gauss") for row in rows)
    assert "w0 (siren): [10, 100] log" in printed and "inverse_scale (gauss): [3, 30] log" in printed
    assert "val PSNR" in printed and f"{rows[0]['val_psnr']:.2f}" in printed
    assert (tmp_path / "out" / "best_model.keras").stat().st_size > 0 and (tmp_path / "out" / "best.png").exists()
    with pytest.raises(SystemExit):
        recipe.main(["--quick", "--families", "siren,wavelet", "--out", str(tmp_path / "bad")])
    assert "--families must be one of the registered families" in capsys.readouterr().err
