"""KerasTuner search over hypernetworks (hypernets.tuning.HyperINRHyperModel), built on keras_inr.tuning.

Runs under every KERAS_BACKEND. The searches are tiny (8x8 faces, width 16, a few steps per trial): they check that
the search space, the tuner plumbing and the reloaded models are right, not that the search finds good models.
"""

from __future__ import annotations

import ast
import gc
import inspect
import math
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

keras_tuner = pytest.importorskip("keras_tuner")

import hypernets  # noqa: E402
from hypernets import tuning as hypertuning  # noqa: E402
from keras_inr import tuning  # noqa: E402
from tests.conftest import CosineDense, optimizer_learning_rate, tuner_space  # noqa: E402

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


# --- HyperINRHyperModel: a tiny search ------------------------------------------------------------------------------
def test_tiny_hypernetwork_search_honours_fixed_values(faces, tmp_path):
    hypermodel = hypertuning.HyperINRHyperModel(out_dims=1, **TINY_HYPER)
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
    assert optimizer_learning_rate(model) == pytest.approx(best_hp.get("learning_rate"), rel=1e-6)


# --- HyperINRHyperModel: the search space ---------------------------------------------------------------------------
@pytest.mark.parametrize("head", ["full", "lowrank", "shift"])
def test_each_head_builds_with_its_own_hyperparameters(head):
    hypermodel = hypertuning.HyperINRHyperModel(
        out_dims=3, learning_rate=2e-3, init_scale=0.2, target_config={"w0": 20.0}, datapoint_shape=(SIZE, SIZE, 3),
        latent_size=16, width=(16, 32), depth=2,
    )
    hp = keras_tuner.HyperParameters()
    hp.Fixed("head", head)
    model = hypermodel.build(hp)
    space = tuner_space(hp)
    assert isinstance(space["family"], keras_tuner.engine.hyperparameters.Fixed) and hp.get("family") == "siren"
    assert list(space["width"].values) == [16, 32] and space["width"].sampling == "log"
    # `rank` is declared for the low-rank head only, inside its conditional scope.
    assert [c.values for c in space["rank"].conditions] == [["lowrank"]]
    assert hp.is_active("rank") == (head == "lowrank")

    assert isinstance(model, hypernets.HyperINR) and model.built  # built at once: datapoint_shape is known
    assert isinstance(model.head, hypernets.HEADS[head])
    assert model.head.init_scale == pytest.approx(0.2) and model.head.feature_dim == 16
    assert model.target.w0 == 20.0 and model.target.width == hp.get("width") and model.target.out_dims == 3
    assert optimizer_learning_rate(model) == pytest.approx(2e-3)
    if head == "lowrank":
        assert model.head.rank == hp.get("rank") and 2 <= model.head.rank <= 16
    weights = model(np.zeros((2, SIZE, SIZE, 3), "float32"), coordinates=np.zeros((2, 5, 2), "float32"))
    assert tuple(weights.shape) == (2, 5, 3)


def test_heads_default_to_all_and_ranges_sample_inside():
    hypermodel = hypertuning.HyperINRHyperModel(out_dims=1, heads="lowrank,shift", rank=(4, 8), latent_size=(16, 64))
    hp = keras_tuner.HyperParameters()
    hypermodel.build(hp)
    space = tuner_space(hp)
    assert list(space["head"].values) == ["lowrank", "shift"]
    assert "init_scale" not in space  # the heads' own default unless given
    for seed in range(20):
        assert space["rank"].random_sample(seed) in (4, 8)
        assert space["latent_size"].random_sample(seed) in (16, 32, 64)
        assert 3e-4 <= space["learning_rate"].random_sample(seed) <= 1e-2
    assert set(hypertuning.HYPERNET_HEADS) == set(hypertuning.HEAD_HYPERPARAMETERS)
    summary = hypermodel.search_space_summary()
    assert "head: lowrank, shift" in summary and "rank (lowrank): [4, 8] log" in summary


def test_head_hyperparameters_cover_every_head_and_are_head_arguments():
    """HEAD_HYPERPARAMETERS is written by hand: it must name every head of hypernets.HEADS, with the head classes'
    keyword arguments."""
    assert set(hypertuning.HEAD_HYPERPARAMETERS) == set(hypernets.HEADS)
    for head, names in hypertuning.HEAD_HYPERPARAMETERS.items():
        arguments = inspect.signature(hypernets.HEADS[head].__init__).parameters
        assert set(names) <= set(arguments), (head, names)  # the names are the head classes' arguments


def test_embedding_and_custom_encoders(faces):
    hp = keras_tuner.HyperParameters()
    hp.Fixed("head", "shift")
    model = hypertuning.HyperINRHyperModel(
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
    model = hypertuning.HyperINRHyperModel(out_dims=1, encoder_builder=tanh_encoder, latent_size=32, width=16,
                                      depth=1).build(hp)
    assert requested == [32]
    assert tuple(model(faces[:3], coordinates=coordinates[:1]).shape) == (3, 10, 1)
    assert model.head.feature_dim == 32

    with pytest.raises(ValueError, match="must return a Keras layer"):
        hypertuning.HyperINRHyperModel(out_dims=1, encoder_builder=lambda n: "not a layer").build(
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
        ({"family": "wavelet"}, "`family` must be one of the registered families"),
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
        hypertuning.HyperINRHyperModel(**{"out_dims": 1, **kwargs})


def test_make_tuner_rejects_a_fixed_head_outside_heads(tmp_path):
    hypermodel = hypertuning.HyperINRHyperModel(out_dims=1, heads=("full", "shift"))
    fixed = keras_tuner.HyperParameters()
    fixed.Fixed("head", "lowrank")
    with pytest.raises(ValueError, match="fixes head='lowrank'.*its heads are \\('full', 'shift'\\)"):
        tuning.make_tuner(hypermodel, "random", directory=tmp_path, hyperparameters=fixed)
    fixed = keras_tuner.HyperParameters()
    fixed.Fixed("family", "gauss")
    with pytest.raises(ValueError, match="fixes family='gauss'"):
        tuning.make_tuner(hypermodel, "random", directory=tmp_path, hyperparameters=fixed)


# --- the target family comes from the registry --------------------------------------------------------------------


def test_a_user_family_is_a_target(cosine, faces):
    hypermodel = hypertuning.HyperINRHyperModel(
        out_dims=1, family="cosine", target_config={"w0": 4.0}, heads="lowrank", width=16, depth=1, latent_size=8,
        mlp_width=16, datapoint_shape=(SIZE, SIZE, 1),
    )
    assert "family (target): cosine (cosine)" in hypermodel.search_space_summary()
    hp = keras_tuner.HyperParameters()
    model = hypermodel.build(hp)
    assert hp.get("family") == "cosine"
    assert all(isinstance(layer, CosineDense) and layer.w0 == 4.0 for layer in model.target.hidden_layers)
    logs = model.fit(faces[:8], faces[:8], batch_size=4, epochs=1, verbose=0).history
    assert math.isfinite(logs["loss"][-1])
    with pytest.raises(ValueError, match="Invalid `target_config`.*'cosine'"):
        hypertuning.HyperINRHyperModel(out_dims=1, family="cosine", target_config={"inverse_scale": 3.0})


def test_family_aliases_and_seeded_targets():
    gauss = hypertuning.HyperINRHyperModel(out_dims=1, family="gaussian")
    assert gauss.family == "gauss" and "family (target): gauss (Gaussian)" in gauss.search_space_summary()

    def projection(seed):
        hp = keras_tuner.HyperParameters()
        hp.Fixed("head", "shift")
        model = hypertuning.HyperINRHyperModel(
            out_dims=1, family="ffn", target_config={"num_features": 8}, width=16, depth=1, latent_size=8,
            mlp_width=16, datapoint_shape=(SIZE, SIZE, 1), seed=seed,
        ).build(hp)
        return keras.ops.convert_to_numpy(model.target.encoding.projection)

    # Fourier-feature targets (Family.seeded) get the hypermodel's seed: the same frequencies in every trial.
    assert (projection(3) == projection(3)).all() and not (projection(3) == projection(4)).all()


# --- packages point one way ---------------------------------------------------------------------------------------
def test_keras_inr_never_imports_hypernets():
    for path in sorted((REPO / "keras_inr").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            assert not any(name.split(".")[0] == "hypernets" for name in names), f"{path} imports hypernets"


def test_hypernets_tuning_is_lazy_and_keras_tuner_optional(monkeypatch):
    """``import hypernets`` works without KerasTuner; ``hypernets.tuning`` then names the ``tuner`` extra."""
    for name in ("hypernets", "hypernets.tuning", "keras_inr.tuning"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.setitem(sys.modules, "keras_tuner", None)
    fresh = __import__("hypernets")
    assert fresh is not hypernets and fresh.HyperINR is hypernets.HyperINR
    assert "tuning" not in vars(fresh)
    with pytest.raises(ImportError, match=r"pip install 'keras-inr\[tuner\]'"):
        getattr(fresh, "tuning")  # noqa: B009
    monkeypatch.delitem(sys.modules, "keras_tuner")
    monkeypatch.setitem(sys.modules, "keras_tuner", keras_tuner)
    assert fresh.tuning.HyperINRHyperModel.__name__ == "HyperINRHyperModel"
