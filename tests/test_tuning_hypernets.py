"""KerasTuner search over hypernetworks (tuning.HyperINRHyperModel) and INRHyperModel's per-family learning rates.

Runs under every KERAS_BACKEND. The searches are tiny (8x8 faces, width 16, a few steps per trial): they check that
the search space, the tuner plumbing and the reloaded models are right, not that the search finds good models.
"""

from __future__ import annotations

import gc
import math
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

keras_tuner = pytest.importorskip("keras_tuner")

from keras_inr import data, training, tuning  # noqa: E402
from keras_inr.models import FAMILIES  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SIZE = 8  # 8x8 faces: every trial is a handful of milliseconds of maths; the rest is compilation and bookkeeping

#: A tiny hypernetwork space (the target INR is a 16-wide SIREN with one hidden layer).
TINY_HYPER = dict(width=16, depth=1, latent_size=[8, 16], mlp_width=16, points_per_step=32)


@pytest.fixture(scope="module", autouse=True)
def _frozen_heap():
    """KerasTuner calls gc.collect() twice per trial; freezing the objects that exist now (modules, backends) makes
    those collections cheap without changing what the tests check (see tests/test_tuning.py)."""
    gc.freeze()
    yield
    gc.unfreeze()


@pytest.fixture(scope="module")
def faces() -> np.ndarray:
    """24 faces of skimage's LFW subset, downsampled to 8x8: (24, 8, 8, 1) float32 in [0, 1]."""
    from skimage.data import lfw_subset
    from skimage.transform import resize

    small = np.stack([resize(image, (SIZE, SIZE), anti_aliasing=True) for image in lfw_subset()[:24]])
    return np.clip(small, 0.0, 1.0).astype("float32")[..., None]


def _space(hp) -> dict:
    """name -> entry of ``hp.space`` (names are unique in these hypermodels' spaces)."""
    entries = {}
    for entry in hp.space:
        assert entry.name not in entries, f"hyperparameter {entry.name!r} declared twice"
        entries[entry.name] = entry
    return entries


def _learning_rate(model) -> float:
    return float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))


# --- HyperINRHyperModel: a tiny search ------------------------------------------------------------------------------
def test_tiny_hypernetwork_search_honours_fixed_values(faces, tmp_path):
    import hypernets

    hypermodel = tuning.HyperINRHyperModel(out_dims=1, **TINY_HYPER)
    fixed = keras_tuner.HyperParameters()
    fixed.Fixed("head", "lowrank")
    tuner = tuning.make_tuner(hypermodel, "random", max_trials=2, directory=tmp_path, hyperparameters=fixed, seed=2)
    train, val = faces[:16], faces[16:]
    tuner.search(train, train, batch_size=8, epochs=2, validation_data=(val, val), verbose=0)

    trials = [t for t in tuner.oracle.trials.values() if t.status == "COMPLETED"]
    assert len(trials) == 2
    values = [t.hyperparameters.values for t in trials]
    # The tuner's fixed head and the constructor's fixed width/depth hold in every trial; the head's own `rank` is
    # active, and the searched entries differ between the two trials.
    assert all(v["head"] == "lowrank" and v["width"] == 16 and v["depth"] == 1 for v in values)
    assert all(v["family"] == "siren" and v["latent_size"] in (8, 16) and "rank" in v for v in values)
    assert values[0] != values[1]

    rows = tuning.leaderboard(tuner)
    best_trial = tuner.oracle.get_best_trials(1)[0]
    assert rows[0]["trial_id"] == best_trial.trial_id
    assert math.isfinite(rows[0]["val_psnr"]) and rows[0]["val_psnr"] == pytest.approx(best_trial.score)
    assert rows[0]["family"] == "siren" and rows[0]["hyperparameters"]["head"] == "lowrank"
    assert all(row["seconds"] is not None and row["seconds"] > 0 for row in rows)

    # The reloaded best model is that trial's architecture and scores what the tuner reported for it.
    best_hp = tuner.get_best_hyperparameters(1)[0]
    model = tuning.best_model(tuner)
    assert isinstance(model, hypernets.HyperINR)
    assert isinstance(model.head, hypernets.LowRankHead) and model.head.rank == best_hp.get("rank")
    assert model.target.width == 16 and model.target.depth == 1
    assert model.head.feature_dim == best_hp.get("latent_size")
    logs = model.evaluate(val, val, batch_size=8, verbose=0, return_dict=True)
    assert float(logs["psnr"]) == pytest.approx(best_trial.score, abs=1e-3)
    assert _learning_rate(model) == pytest.approx(best_hp.get("learning_rate"), rel=1e-6)


# --- HyperINRHyperModel: the search space ---------------------------------------------------------------------------
@pytest.mark.parametrize("head", ["full", "lowrank", "shift"])
def test_each_head_builds_with_its_own_hyperparameters(head):
    import hypernets

    hypermodel = tuning.HyperINRHyperModel(
        out_dims=3, learning_rate=2e-3, init_scale=0.2, target_config={"w0": 20.0}, datapoint_shape=(SIZE, SIZE, 3),
        latent_size=16, width=(16, 32), depth=2,
    )
    hp = keras_tuner.HyperParameters()
    hp.Fixed("head", head)
    model = hypermodel.build(hp)
    space = _space(hp)
    assert isinstance(space["family"], keras_tuner.engine.hyperparameters.Fixed) and hp.get("family") == "siren"
    assert list(space["width"].values) == [16, 32] and space["width"].sampling == "log"
    # `rank` is declared for the low-rank head only, inside its conditional scope.
    assert [c.values for c in space["rank"].conditions] == [["lowrank"]]
    assert hp.is_active("rank") == (head == "lowrank")

    assert isinstance(model, hypernets.HyperINR) and model.built  # built at once: datapoint_shape is known
    assert isinstance(model.head, hypernets.HEADS[head])
    assert model.head.init_scale == pytest.approx(0.2) and model.head.feature_dim == 16
    assert model.target.w0 == 20.0 and model.target.width == hp.get("width") and model.target.out_dims == 3
    assert _learning_rate(model) == pytest.approx(2e-3)
    if head == "lowrank":
        assert model.head.rank == hp.get("rank") and 2 <= model.head.rank <= 16
    weights = model(np.zeros((2, SIZE, SIZE, 3), "float32"), coordinates=np.zeros((2, 5, 2), "float32"))
    assert tuple(weights.shape) == (2, 5, 3)


def test_heads_default_to_all_and_ranges_sample_inside():
    hypermodel = tuning.HyperINRHyperModel(out_dims=1, heads="lowrank,shift", rank=(4, 8), latent_size=(16, 64))
    hp = keras_tuner.HyperParameters()
    hypermodel.build(hp)
    space = _space(hp)
    assert list(space["head"].values) == ["lowrank", "shift"]
    assert "init_scale" not in space  # the heads' own default unless given
    for seed in range(20):
        assert space["rank"].random_sample(seed) in (4, 8)
        assert space["latent_size"].random_sample(seed) in (16, 32, 64)
        assert 3e-4 <= space["learning_rate"].random_sample(seed) <= 1e-2
    assert set(tuning.HYPERNET_HEADS) == set(tuning.HEAD_HYPERPARAMETERS)
    summary = hypermodel.search_space_summary()
    assert "head: lowrank, shift" in summary and "rank (lowrank): [4, 8] log" in summary


def test_head_names_match_the_hypernets_package():
    """tuning lists the heads itself (so that keras_inr never imports hypernets); they must stay in step."""
    import hypernets

    assert set(tuning.HYPERNET_HEADS) == set(hypernets.HEADS)
    for head, names in tuning.HEAD_HYPERPARAMETERS.items():
        hypernets.HEADS[head](**{name: 2 for name in names})  # the names are the head classes' arguments


def test_embedding_and_custom_encoders(faces):
    import hypernets

    hp = keras_tuner.HyperParameters()
    hp.Fixed("head", "shift")
    model = tuning.HyperINRHyperModel(
        out_dims=1, encoder_builder="embedding", num_datapoints=12, latent_size=8, width=16, depth=1
    ).build(hp)
    assert isinstance(model.encoder, keras.layers.Embedding) and model.built
    assert (model.encoder.input_dim, model.encoder.output_dim) == (12, 8)
    dataset = hypernets.ImageFieldDataset(faces[:12], points_per_image=10, batch_size=4, datapoints="indices")
    (indices, coordinates), values = dataset[0]
    assert tuple(model(indices, coordinates=coordinates).shape) == values.shape == (4, 10, 1)

    requested = []

    def tanh_encoder(latent_size):
        requested.append(latent_size)
        return keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(latent_size, activation="tanh")])

    hp = keras_tuner.HyperParameters()
    hp.Fixed("head", "full")
    model = tuning.HyperINRHyperModel(out_dims=1, encoder_builder=tanh_encoder, latent_size=32, width=16,
                                      depth=1).build(hp)
    assert requested == [32]
    assert tuple(model(faces[:3], coordinates=coordinates[:1]).shape) == (3, 10, 1)
    assert model.head.feature_dim == 32

    with pytest.raises(ValueError, match="must return a Keras layer"):
        tuning.HyperINRHyperModel(out_dims=1, encoder_builder=lambda n: "not a layer").build(
            keras_tuner.HyperParameters()
        )


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"heads": ("full", "hyper")}, "unknown head 'hyper'"),
        ({"heads": ()}, "at least one head"),
        ({"heads": ("shift", "shift")}, "must not repeat"),
        ({"latent_size": (64, 16)}, "`latent_size` range must have low <= high"),
        ({"width": (32, 8)}, "`width` range must have low <= high"),
        ({"learning_rate": (1e-2, 1e-3)}, "`learning_rate` range must have low <= high"),
        ({"depth": 0}, "`depth` value must be positive"),
        ({"rank": 2.5}, "`rank` value must be an integer"),
        ({"heads": ("full", "shift"), "rank": 4}, "`rank` is a hyperparameter of head 'lowrank'"),
        ({"family": "wavelet"}, "`family` must be one of"),
        ({"encoder_builder": "cnn"}, "`encoder_builder` must be one of"),
        ({"encoder_builder": 3}, "`encoder_builder` must be one of"),
        ({"encoder_builder": "embedding"}, "`num_datapoints`"),
        ({"target_config": {"width": 8}}, "`target_config` must not set \\['width'\\]"),
        ({"target_config": {"omega": 30.0}}, "Invalid `target_config`"),
        ({"datapoint_shape": (8, -8)}, "`datapoint_shape`"),
        ({"schedule": "cosine"}, "`total_steps`"),
        ({"out_dims": 0}, "`out_dims`"),
    ],
)
def test_bad_hypernetwork_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        tuning.HyperINRHyperModel(**{"out_dims": 1, **kwargs})


def test_make_tuner_rejects_a_fixed_head_outside_heads(tmp_path):
    hypermodel = tuning.HyperINRHyperModel(out_dims=1, heads=("full", "shift"))
    fixed = keras_tuner.HyperParameters()
    fixed.Fixed("head", "lowrank")
    with pytest.raises(ValueError, match="fixes head='lowrank'.*its heads are \\('full', 'shift'\\)"):
        tuning.make_tuner(hypermodel, "random", directory=tmp_path, hyperparameters=fixed)
    fixed = keras_tuner.HyperParameters()
    fixed.Fixed("family", "gauss")
    with pytest.raises(ValueError, match="fixes family='gauss'"):
        tuning.make_tuner(hypermodel, "random", directory=tmp_path, hyperparameters=fixed)


def test_keras_inr_tuning_does_not_import_hypernets(monkeypatch):
    """keras_inr must not depend on hypernets: a fresh copy of keras_inr/tuning.py is executed while any import of
    hypernets fails, and a HyperINRHyperModel is constructed and validated (only ``build`` may import hypernets)."""
    import importlib.abc
    import importlib.util

    class BlockHypernets(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "hypernets" or name.startswith("hypernets."):
                raise ImportError(f"blocked import of {name}")
            return None

    for name in [m for m in sys.modules if m == "hypernets" or m.startswith("hypernets.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setattr(sys, "meta_path", [BlockHypernets(), *sys.meta_path])
    spec = importlib.util.spec_from_file_location("tuning_without_hypernets", REPO / "keras_inr" / "tuning.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    hypermodel = module.HyperINRHyperModel(out_dims=1, heads=("shift",), width=16)
    assert "head: shift" in hypermodel.search_space_summary()
    with pytest.raises(ImportError, match="blocked import of hypernets"):  # the blocker works: build needs it
        hypermodel.build(keras_tuner.HyperParameters())


# --- INRHyperModel: per-family learning rates -----------------------------------------------------------------------
@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_default_learning_rate_range_is_per_family(family):
    hp = keras_tuner.HyperParameters()
    hp.Fixed("family", family)
    model = tuning.INRHyperModel(out_dims=1, width=16, depth=1, jit_compile=False).build(hp)
    space = _space(hp)
    centre = training.recommended(family)["learning_rate"]
    assert "learning_rate" not in space  # no shared entry by default
    for other in FAMILIES:
        entry = space[tuning.learning_rate_name(other)]
        other_centre = training.recommended(other)["learning_rate"]
        # one decade either way of the family's recommended rate, log scale, in the family's conditional scope
        assert (entry.min_value, entry.max_value) == pytest.approx((other_centre / 10, other_centre * 10))
        assert entry.sampling == "log" and [c.values for c in entry.conditions] == [[other]]
        assert hp.is_active(entry) == (other == family)
    # Not tuned, the rate is the family's recommended one (the entry's default), and the optimiser gets it.
    assert hp.get(tuning.learning_rate_name(family)) == pytest.approx(centre)
    assert _learning_rate(model) == pytest.approx(centre)
    assert tuning.learning_rate_of(hp) == pytest.approx(centre)
    assert training.recommended("ffn")["learning_rate"] != training.recommended("siren")["learning_rate"]  # ranges differ


def test_user_learning_rate_applies_to_every_family():
    hypermodel = tuning.INRHyperModel(out_dims=1, learning_rate=(1e-3, 4e-3), width=16, depth=1, jit_compile=False)
    for family in sorted(FAMILIES):
        hp = keras_tuner.HyperParameters()
        hp.Fixed("family", family)
        model = hypermodel.build(hp)
        space = _space(hp)
        assert not any(name.startswith("learning_rate_") for name in space)
        assert (space["learning_rate"].min_value, space["learning_rate"].max_value) == (1e-3, 4e-3)
        assert not space["learning_rate"].conditions
        assert _learning_rate(model) == pytest.approx(hp.get("learning_rate"))
    assert "learning_rate: [0.001, 0.004] log" in hypermodel.search_space_summary()
    assert "learning_rate_gauss" in tuning.INRHyperModel(out_dims=1).search_space_summary()


@pytest.fixture(scope="module")
def split():
    return data.tancik_split(data.load_image("camera", size=16))


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
    rates = {family: [] for family in FAMILIES}
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
    assert _learning_rate(tuning.best_model(tuner)) == pytest.approx(4e-3)


def test_learning_rate_of_bad_input():
    with pytest.raises(ValueError, match="no learning rate"):
        tuning.learning_rate_of({"family": "siren", "width": 32})
    with pytest.raises(ValueError, match="`hyperparameters` must be"):
        tuning.learning_rate_of(3)
    with pytest.raises(ValueError, match="`family` must be one of"):
        tuning.learning_rate_name("wavelet")
