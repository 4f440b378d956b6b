"""INRHyperModel reads the family registry: a user-registered family is searched by a real KerasTuner search next to
SIREN; bad family or hyperparameter arguments; the lazy ``keras_inr.tuning`` attribute and the missing-KerasTuner
error. Runs under every KERAS_BACKEND; the search is tiny (16x16 camera, width 16, a few steps per trial)."""

from __future__ import annotations

import argparse
import gc
import importlib
import sys

import pytest

keras_tuner = pytest.importorskip("keras_tuner")

import keras_inr  # noqa: E402
from keras_inr import data, families, training, tuning  # noqa: E402
from keras_inr.cli_tune import add_tune_arguments, run_tune  # noqa: E402
from tests.conftest import CosineDense  # noqa: E402


@pytest.fixture(scope="module", autouse=True)
def _frozen_heap():
    """KerasTuner calls gc.collect() twice per trial; freezing the objects that exist now makes those collections
    cheap without changing what the tests check (see tests/test_tuning.py)."""
    gc.freeze()
    yield
    gc.unfreeze()


def test_user_family_is_searched_with_siren_by_a_real_random_search(cosine, tmp_path):
    (train_x, train_y), (val_x, val_y) = data.tancik_split(data.load_image("camera", size=16))
    hypermodel = keras_inr.tuning.INRHyperModel(
        out_dims=1, families=["siren", "cosine"], width=16, depth=1, jit_compile=False
    )
    tuner = tuning.make_tuner(hypermodel, "random", max_trials=3, directory=tmp_path, seed=1)
    tuner.search(
        training.full_batch(train_x, train_y, 3), epochs=1, validation_data=training.full_batch(val_x, val_y, 1),
        verbose=0, shuffle=False,
    )
    trials = [trial for trial in tuner.oracle.trials.values() if trial.status == "COMPLETED"]
    assert len(trials) == 3
    assert {trial.hyperparameters.get("family") for trial in trials} == {"siren", "cosine"}
    for trial in trials:
        values = trial.hyperparameters.values
        family = values["family"]
        # Both families have a `w0`, so each is declared under its own name, in its own range from the registry.
        low, high = {"siren": (10.0, 100.0), "cosine": (1.0, 50.0)}[family]
        assert [name for name in values if name.startswith("w0")] == [f"w0_{family}"]
        assert low <= values[f"w0_{family}"] <= high
        # The trial's model is of its family, with the sampled w0 in its layers.
        model = tuner.load_model(trial)
        hidden = model.hidden_layers[0]
        assert isinstance(hidden, CosineDense) == (family == "cosine")
        assert hidden.w0 == pytest.approx(values[f"w0_{family}"])
        name, kwargs, learning_rate = tuning.model_arguments(values)
        assert (name, kwargs["w0"]) == (family, values[f"w0_{family}"])
        assert learning_rate == values[tuning.learning_rate_name(family)]
        rebuilt = keras_inr.build_model(name, 1, in_dims=2, **kwargs)
        assert rebuilt.count_params() == model.count_params()
    assert {row["family"] for row in tuning.leaderboard(tuner)} == {"siren", "cosine"}


def test_search_space_summary_lists_the_user_family_range(cosine):
    alone = tuning.INRHyperModel(out_dims=1, families=["cosine"])
    assert "w0 (cosine): [1, 50] log" in alone.search_space_summary()
    assert "learning_rate_cosine: [0.0001, 0.01] log" in alone.search_space_summary()  # training.RECOMMENDED's 1e-3
    both = tuning.INRHyperModel(out_dims=1, families="siren,cosine")
    summary = both.search_space_summary()
    assert "w0_siren (siren): [10, 100] log" in summary and "w0_cosine (cosine): [1, 50] log" in summary
    # A range given by the user applies to every searched family that has the hyperparameter.
    narrowed = tuning.INRHyperModel(out_dims=1, families=["siren", "cosine"], w0=(5, 50)).search_space_summary()
    assert "w0_siren (siren): [5, 50] log" in narrowed and "w0_cosine (cosine): [5, 50] log" in narrowed


def test_user_family_fixed_by_the_tuner_builds_a_cosine_model(cosine):
    hp = keras_tuner.HyperParameters()
    hp.Fixed("family", "cosine")
    model = tuning.INRHyperModel(out_dims=1, families=["siren", "cosine"], w0=7.0, width=8, depth=2,
                                 jit_compile=False).build(hp)
    assert all(isinstance(layer, CosineDense) and layer.w0 == 7.0 for layer in model.hidden_layers)
    assert hp.get("w0_cosine") == 7.0 and not hp.is_active("w0_siren")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"families": ["siren", "wavelet"]}, "`families` must be one of the registered families .*'wavelet'"),
        ({"families": ["gauss"], "w0": (5, 50)},
         r"`w0` is a hyperparameter of families \('siren', .*'cosine'\), which are not in `families`"),
        ({"families": ["cosine"], "inverse_scale": 3.0},
         r"`inverse_scale` is a hyperparameter of families \('gauss', .*\), which are not in `families` \('cosine',\)"),
        ({"families": ["cosine"], "omega": 3.0}, "unknown keyword argument `omega`"),
        ({"families": ["cosine"], "w0": (50, 5)}, "`w0` range must have low <= high"),
        ({"families": ["cosine"], "w0": (-1, 5)}, "`w0` low must be positive"),
        ({"families": ["cosine"], "w0": "wide"}, "`w0` must be None"),
    ],
)
def test_bad_family_arguments(cosine, kwargs, message):
    with pytest.raises(ValueError, match=message):
        tuning.INRHyperModel(out_dims=1, **kwargs)


def test_a_family_that_is_unregistered_cannot_be_searched(cosine):
    hypermodel = tuning.INRHyperModel(out_dims=1, families=["cosine"])
    families.unregister("cosine")
    try:
        with pytest.raises(ValueError, match="`families` must be one of"):
            tuning.INRHyperModel(out_dims=1, families=["cosine"])
        with pytest.raises(ValueError, match="`family` must be one of"):
            tuning.model_arguments({"family": "cosine", "width": 8, "learning_rate": 1e-3})
    finally:
        families.register("cosine", CosineDense, defaults={"w0": 10.0}, search={"w0": (1.0, 50.0)})
    assert hypermodel.families == ("cosine",)


def test_cli_has_an_option_for_the_user_family(cosine, tmp_path, capsys):
    parser = argparse.ArgumentParser(prog="keras-inr tune")
    add_tune_arguments(parser)
    helps = {action.dest: action.help for action in parser._actions}
    assert "(families: siren, " in helps["w0"] and ", cosine; default range siren 10:100 log" in helps["w0"]
    assert helps["w0"].endswith("cosine 1:50 log)")
    assert "cosine" in helps["families"]
    args = parser.parse_args(["--families", "siren,cosine", "--w0", "60:2", "--size", "16", "--out", str(tmp_path)])
    assert run_tune(args) == 2  # the range is handed to INRHyperModel, which rejects it naming the argument
    assert "`w0` range must have low <= high" in capsys.readouterr().err


# --- the lazy keras_inr.tuning attribute ----------------------------------------------------------------------------
def _forget_tuning(monkeypatch):
    """Make the next ``keras_inr.tuning`` go through keras_inr's module ``__getattr__`` and import the module afresh
    (monkeypatch puts the original module back afterwards)."""
    monkeypatch.delattr(keras_inr, "tuning", raising=False)
    monkeypatch.delitem(sys.modules, "keras_inr.tuning", raising=False)


def test_keras_inr_tuning_is_a_lazy_attribute(monkeypatch):
    _forget_tuning(monkeypatch)
    assert "tuning" not in vars(keras_inr)
    hypermodel = keras_inr.tuning.INRHyperModel(out_dims=1, families=["siren"])
    assert sys.modules["keras_inr.tuning"] is keras_inr.tuning
    assert hypermodel.families == ("siren",)
    with pytest.raises(AttributeError, match="no attribute 'tunning'"):
        getattr(keras_inr, "tunning")  # noqa: B009


def test_missing_keras_tuner_names_the_tuner_extra(monkeypatch):
    _forget_tuning(monkeypatch)
    monkeypatch.setitem(sys.modules, "keras_tuner", None)  # `import keras_tuner` now raises ImportError
    with pytest.raises(ImportError, match=r"pip install 'keras-inr\[tuner\]'"):
        getattr(keras_inr, "tuning")  # noqa: B009
    with pytest.raises(ImportError, match=r"pip install 'keras-inr\[tuner\]'"):
        importlib.import_module("keras_inr.tuning")
