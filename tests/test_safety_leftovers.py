"""Safety leftovers: a stored KerasTuner search is never wiped by default (``make_tuner``'s ``overwrite``), diverged
HyperINR runs and tuner trials stop with the last good weights (``DivergenceGuard``), ``HyperINR.fit`` checks that
its batches divide over the devices of a ``keras.distribution`` (JAX, two virtual CPU devices in a subprocess), and
the recipes write their figures and tables under temporary names (``keras_inr.safe_files``)."""

from __future__ import annotations

import gc
from pathlib import Path

import keras
import pytest

keras_tuner = pytest.importorskip("keras_tuner")

from keras_inr import data, training, tuning  # noqa: E402

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
