"""Architecture and hyperparameter search for hypernetworks (:class:`hypernets.HyperINR`) with KerasTuner.

:class:`HyperINRHyperModel` is a ``keras_tuner.HyperModel`` over hypernetworks: a ``Choice`` of weight head, the
latent size, the target INR's width and depth, head-specific hyperparameters (``rank`` of the low-rank head) and the
learning rate. It is built on the pieces of :mod:`keras_inr.tuning` (:class:`~keras_inr.tuning.SearchSpec`,
:class:`~keras_inr.tuning.TimedHyperModel`), so :func:`~keras_inr.tuning.make_tuner`,
:func:`~keras_inr.tuning.leaderboard`, :func:`~keras_inr.tuning.format_leaderboard` and
:func:`~keras_inr.tuning.best_model` work with it unchanged. The
target INR may be of any family of the registry (:mod:`keras_inr.families`), including one registered by the user.

KerasTuner is optional (``pip install 'keras-inr[tuner]'``): ``import hypernets`` works without it, and
``hypernets.tuning`` is imported on first use.

Example:
    >>> from hypernets.tuning import HyperINRHyperModel
    >>> from keras_inr import tuning
    >>> hypermodel = HyperINRHyperModel(out_dims=1, heads=("lowrank", "shift"), width=32)  # doctest: +SKIP
    >>> tuner = tuning.make_tuner(hypermodel, "random", max_trials=8, directory="runs/hyper")  # doctest: +SKIP
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import keras

from hypernets.heads import HEADS
from hypernets.models import HyperINR
from keras_inr import families as inr_families
from keras_inr.models import build_model
from keras_inr.training import make_learning_rate
from keras_inr.tuning import (  # raises an ImportError naming the `tuner` extra when KerasTuner is missing
    SearchSpec,
    TimedHyperModel,
    check_schedule,
    declare_choice,
    declare_conditional,
    keras_tuner,
    make_specs,
)
from keras_inr.validation import check_choice, check_name_list, check_positive_int

#: Weight heads of :class:`hypernets.HyperINR` that the hypermodel can search (:data:`hypernets.HEADS`).
HYPERNET_HEADS = tuple(HEADS)

#: Default search space of :class:`HyperINRHyperModel`, in the format of :data:`keras_inr.tuning.SHARED_SEARCH_SPACE`.
#: Hypernetworks generate every INR weight from the latent code, so the target INRs are small (widths 16-64); the
#: learning rates bracket those the hypernets tests and recipe train with (2e-3 - 3e-3). ``rank`` is the low-rank head's
#: modulation rank (Skorokhodov et al. 2021, https://arxiv.org/abs/2011.12026, sec. 3.2); ``init_scale`` (every
#: head's initial per-sample variation) is searched only when given, else the heads' default 0.1 is used.
HYPERNET_SEARCH_SPACE: dict[str, tuple] = {
    "latent_size": ("int", 16, 128, "log", 2),
    "width": ("int", 16, 64, "log", 2),
    "depth": ("int", 1, 3, "linear", 1),
    "learning_rate": ("float", 3e-4, 1e-2, "log", None),
    "rank": ("int", 2, 16, "log", 2),
    "init_scale": ("float", 0.03, 0.3, "log", None),
}

#: Head-specific hyperparameters (declared in a conditional scope on ``head``); names are the head classes' keyword
#: arguments, so ``head_config`` is built from them directly.
HEAD_HYPERPARAMETERS: dict[str, tuple[str, ...]] = {"full": (), "lowrank": ("rank",), "shift": ()}

#: Built-in encoders of :class:`HyperINRHyperModel` (``encoder_builder=``).
HYPERNET_ENCODERS = ("mlp", "embedding")

#: Keyword arguments of the target model that :class:`HyperINRHyperModel` sets itself (not allowed in
#: ``target_config``).
_TARGET_RESERVED = ("out_dims", "width", "depth", "in_dims", "name")


def check_heads(heads) -> tuple[str, ...]:
    """Validate a head list: a non-empty sequence of distinct names from :data:`HYPERNET_HEADS`.

    Also accepts a comma-separated string (``"full,shift"``).

    Raises:
        ValueError: for an empty list, an unknown name or a repeated name.
    """
    return check_name_list("heads", heads, HYPERNET_HEADS, "head")


class HyperINRHyperModel(TimedHyperModel):
    """A KerasTuner search space over hypernetworks (:class:`hypernets.HyperINR`) that generate INRs.

    Hyperparameters (KerasTuner names; head-specific ones live in a conditional scope on ``head``):

    ==================  ==========  ======================================================================
    name                heads       default range
    ==================  ==========  ======================================================================
    ``family``          --          ``Fixed(family)``: the target INR's family (``"siren"`` by default)
    ``head``            --          ``Choice(heads)``: ``"full"``, ``"lowrank"``, ``"shift"``
    ``latent_size``     all         16 .. 128, log, powers of two: the encoder's output size
    ``width``           all         16 .. 64, log, powers of two: the target INR's width
    ``depth``           all         1 .. 3: the target INR's depth
    ``learning_rate``   all         3e-4 .. 1e-2, log (Adam; ``schedule`` below)
    ``rank``            lowrank     2 .. 16, log, powers of two
    ``init_scale``      all         not searched unless given (the heads' default 0.1)
    ==================  ==========  ======================================================================

    Every keyword narrows or fixes its hyperparameter as in :class:`keras_inr.tuning.INRHyperModel`: ``None`` keeps the
    default, a number fixes it, a ``(low, high)`` tuple narrows the range, a list of numbers is a choice; or pass
    ``hp.Fixed(...)`` entries to the tuner (e.g. ``hp.Fixed("head", "shift")``).

    Models are compiled with Adam; :class:`hypernets.HyperINR` logs ``loss`` and ``psnr`` (``val_loss`` and
    ``val_psnr`` on validation data), so :data:`keras_inr.tuning.OBJECTIVE` ranks the trials. Train with
    ``tuner.search(x, y, ...)`` on signals on a grid (``x`` datapoints, ``y`` signals
    ``(num, *grid_shape, channels)``) or on a :class:`hypernets.ImageFieldDataset`, with validation data in either
    form.

    Args:
        out_dims (int): channels of the signals (1 grey, 3 RGB).
        heads (sequence of str or str): heads to search, names from :data:`hypernets.HEADS` (``"full"``,
            ``"lowrank"``, ``"shift"``), or a comma-separated string.
        family (str): the target INR family: any name (or alias) of the family registry (:mod:`keras_inr.families`),
            built-in (``"siren"``, ``"gauss"``, ``"ffn"``, ``"relu"``) or registered by the user; not searched.
            The target takes the registry's defaults for the family's hyperparameters unless ``target_config`` sets
            them, and families with a random encoding (``Family.seeded``) get ``seed``.
        target_config (dict, optional): further fixed keyword arguments of the target model, i.e. the family's
            hyperparameters (e.g. ``{"w0": 30.0}`` for SIREN); not ``width``/``depth``/``out_dims``/``in_dims``,
            which the hypermodel sets.
        latent_size, width, depth, learning_rate, rank, init_scale: ``None`` (default range), a number, a
            ``(low, high)`` tuple or a list; see above.
        encoder_builder: how to build the encoder for a trial's ``latent_size``: ``"mlp"`` (the default: Flatten,
            ``Dense(mlp_width, relu)``, ``Dense(latent_size)`` -- for datapoints that are the signals themselves),
            ``"embedding"`` (``Embedding(num_datapoints, latent_size)`` with unit-variance initial codes, for
            auto-decoding over datapoint indices, e.g. ``ImageFieldDataset(..., datapoints="indices")``; DeepSDF,
            https://arxiv.org/abs/1901.05103), or a callable ``encoder_builder(latent_size) -> keras.layers.Layer``
            mapping a batch of datapoints to ``(batch, latent_size)`` features.
        mlp_width: hidden width of the ``"mlp"`` encoder.
        num_datapoints: number of training datapoints, required by ``encoder_builder="embedding"``.
        datapoint_shape: shape of one datapoint without the batch axis (e.g. ``(25, 25, 1)``); if given, models are
            built at once, so KerasTuner can count their parameters (``max_model_size``). The ``"embedding"``
            encoder's datapoints are scalar indices, so its models are always built.
        in_dims: coordinate dimension of the INRs (2 for images).
        points_per_step: grid points per signal and training step when fitting on grid signals (see
            :class:`hypernets.HyperINR`); ``None`` for every point.
        max_val: dynamic range of the signals, for PSNR.
        schedule, total_steps: learning-rate schedule, as in :class:`keras_inr.tuning.INRHyperModel`.
        seed: seed of the heads' initialisation, of HyperINR's point sampling and of the Fourier-feature frequencies.
        jit_compile: passed to ``model.compile``.
        **kwargs: ``keras_tuner.HyperModel`` arguments (``name``, ``tunable``).

    Shapes:
        ``model(datapoints)`` gives per-sample INR weights; ``model(datapoints, coordinates=(batch, points, in_dims))``
        gives ``(batch, points, out_dims)``.

    Raises:
        ValueError: for unknown, repeated or empty ``heads``, a ``family`` that is not registered, a range with
            low > high, a non-positive value,
            ``rank`` without the ``"lowrank"`` head, an unknown ``encoder_builder``, ``"embedding"`` without
            ``num_datapoints``, or a bad ``target_config``.

    Example:
        >>> from keras_inr import tuning
        >>> hypermodel = HyperINRHyperModel(out_dims=1, heads=("lowrank", "shift"), width=32)  # doctest: +SKIP
        >>> tuner = tuning.make_tuner(hypermodel, "random", max_trials=8, directory="runs/hyper")  # doctest: +SKIP
        >>> tuner.search(faces[:160], faces[:160], batch_size=16, epochs=5,
        ...              validation_data=(faces[160:], faces[160:]))  # doctest: +SKIP
    """

    def __init__(
        self,
        out_dims: int,
        heads: Sequence[str] = HYPERNET_HEADS,
        *,
        family: str = "siren",
        target_config: dict | None = None,
        latent_size=None,
        width=None,
        depth=None,
        learning_rate=None,
        rank=None,
        init_scale=None,
        encoder_builder: str | Callable[[int], keras.layers.Layer] = "mlp",
        mlp_width: int = 64,
        num_datapoints: int | None = None,
        datapoint_shape: Sequence[int] | None = None,
        in_dims: int = 2,
        points_per_step: int | None = 1024,
        max_val: float = 1.0,
        schedule: str = "constant",
        total_steps: int | None = None,
        seed: int | None = 0,
        jit_compile="auto",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.out_dims = check_positive_int("out_dims", out_dims)
        self.in_dims = check_positive_int("in_dims", in_dims)
        self.heads = check_heads(heads)
        self.family = inr_families.canonical(family, "family")
        self.families = (self.family,)
        self.schedule, self.total_steps = check_schedule(schedule, total_steps)
        self.points_per_step = None if points_per_step is None else check_positive_int("points_per_step",
                                                                                     points_per_step)
        self.max_val = float(max_val)
        if not (math.isfinite(self.max_val) and self.max_val > 0):
            raise ValueError(f"`max_val` must be a positive number, got {max_val!r}.")
        self.seed = seed
        self.jit_compile = jit_compile
        self.mlp_width = check_positive_int("mlp_width", mlp_width)
        self.target_config = self._check_target_config(target_config)
        self.encoder_builder, self.num_datapoints = self._check_encoder(encoder_builder, num_datapoints)
        self.datapoint_shape = self._check_datapoint_shape(datapoint_shape)
        if rank is not None and "lowrank" not in self.heads:
            raise ValueError(f"`rank` is a hyperparameter of head 'lowrank', which is not in `heads` {self.heads}.")
        given = {
            "latent_size": latent_size, "width": width, "depth": depth, "learning_rate": learning_rate,
            "rank": rank, "init_scale": init_scale,
        }
        self.specs: dict[str, SearchSpec] = make_specs(given, HYPERNET_SEARCH_SPACE, untuned_when_none=("init_scale",))

    # --- validation ---------------------------------------------------------------------------------------------
    def _check_target_config(self, target_config) -> dict:
        if target_config is None:
            return {}
        if not isinstance(target_config, dict):
            raise ValueError(f"`target_config` must be a dict of target-model arguments, got {target_config!r}.")
        reserved = sorted(set(target_config) & set(_TARGET_RESERVED))
        if reserved:
            raise ValueError(
                f"`target_config` must not set {reserved}: the hypermodel sets them (search `width`/`depth` through "
                "their own arguments)."
            )
        try:  # a tiny probe model, so a misspelled or invalid argument fails here rather than in every trial
            build_model(self.family, self.out_dims, width=4, depth=1, in_dims=self.in_dims, **target_config)
        except (TypeError, ValueError) as error:
            raise ValueError(f"Invalid `target_config` {target_config!r} for family {self.family!r}: {error}") from None
        return dict(target_config)

    def _check_encoder(self, encoder_builder, num_datapoints):
        if isinstance(encoder_builder, str):
            check_choice("encoder_builder", encoder_builder, HYPERNET_ENCODERS)
        elif not callable(encoder_builder):
            raise ValueError(
                f"`encoder_builder` must be one of {HYPERNET_ENCODERS} or a callable latent_size -> keras layer, got "
                f"{encoder_builder!r}."
            )
        if encoder_builder == "embedding":
            if num_datapoints is None:
                raise ValueError(
                    "`num_datapoints` (the number of training datapoints, one latent code each) is required with "
                    "encoder_builder='embedding'."
                )
            num_datapoints = check_positive_int("num_datapoints", num_datapoints)
        return encoder_builder, num_datapoints

    def _check_datapoint_shape(self, datapoint_shape):
        if self.encoder_builder == "embedding":
            if datapoint_shape not in (None, (), []):
                raise ValueError(
                    f"`datapoint_shape` must be () or None with encoder_builder='embedding' (datapoints are scalar "
                    f"indices), got {datapoint_shape!r}."
                )
            return ()
        if datapoint_shape is None:
            return None
        try:
            shape = tuple(check_positive_int("datapoint_shape", int(d)) for d in datapoint_shape)
        except (TypeError, ValueError):
            raise ValueError(
                f"`datapoint_shape` must be a tuple of positive integers (one datapoint's shape, no batch axis), got "
                f"{datapoint_shape!r}."
            ) from None
        return shape

    # --- building -----------------------------------------------------------------------------------------------
    def make_encoder(self, latent_size: int) -> keras.layers.Layer:
        """The encoder of a trial: maps a batch of datapoints to ``(batch, latent_size)`` features.

        Raises:
            ValueError: if a user ``encoder_builder`` does not return a Keras layer.
        """
        if self.encoder_builder == "mlp":
            return keras.Sequential(
                [
                    keras.layers.Flatten(),
                    keras.layers.Dense(self.mlp_width, activation="relu"),
                    keras.layers.Dense(latent_size),
                ],
                name="encoder",
            )
        if self.encoder_builder == "embedding":
            # Unit-variance codes: the heads' `init_scale` assumes features of order one.
            return keras.layers.Embedding(
                self.num_datapoints, latent_size,
                embeddings_initializer=keras.initializers.RandomNormal(stddev=1.0, seed=self.seed), name="encoder",
            )
        encoder = self.encoder_builder(latent_size)
        if not isinstance(encoder, keras.layers.Layer):
            raise ValueError(
                f"`encoder_builder({latent_size})` must return a Keras layer or model, got {type(encoder).__name__}."
            )
        return encoder

    def build(self, hp: keras_tuner.HyperParameters) -> keras.Model:
        """Sample one hypernetwork: declare the hyperparameters on ``hp``, build a HyperINR and compile it.

        Returns:
            A :class:`hypernets.HyperINR` compiled with Adam (logs ``loss`` and ``psnr``); built when the datapoint
            shape is known (``datapoint_shape`` or the ``"embedding"`` encoder).
        """
        declare_choice(hp, "family", self.families)
        head = declare_choice(hp, "head", self.heads)
        latent_size = self.specs["latent_size"].declare(hp)
        width = self.specs["width"].declare(hp)
        depth = self.specs["depth"].declare(hp)
        learning_rate = self.specs["learning_rate"].declare(hp)
        head_config = {}
        if "init_scale" in self.specs:
            head_config["init_scale"] = self.specs["init_scale"].declare(hp)
        head_specs = {
            candidate: {name: self.specs[name] for name in HEAD_HYPERPARAMETERS[candidate]} for candidate in self.heads
        }
        head_config.update(declare_conditional(hp, "head", head, head_specs))
        if self.seed is not None:
            head_config["seed"] = self.seed
        target_config = dict(self.target_config)
        if inr_families.get(self.family).seeded:
            target_config.setdefault("seed", self.seed)
        target = build_model(
            self.family, self.out_dims, width=width, depth=depth, in_dims=self.in_dims, name="target", **target_config
        )
        model = HyperINR(
            self.make_encoder(latent_size), target, head=head, head_config=head_config,
            points_per_step=self.points_per_step, in_dims=self.in_dims, max_val=self.max_val, seed=self.seed,
            name=f"hyperinr_{head}",
        )
        if self.datapoint_shape is not None:
            model.build((None, *self.datapoint_shape))
        model.compile(
            optimizer=keras.optimizers.Adam(make_learning_rate(learning_rate, self.schedule, self.total_steps)),
            jit_compile=self.jit_compile,
        )
        return model

    def searched_choices(self) -> dict[str, tuple[str, ...]]:
        """The ``Choice``/``Fixed`` hyperparameters of this space and their options (checked by :func:`make_tuner`)."""
        return {"family": self.families, "head": self.heads}

    def search_space_summary(self) -> str:
        """A one-line-per-hyperparameter description of the space this hypermodel searches."""
        title = inr_families.get(self.family).title
        lines = [f"family (target): {self.family} ({title})", f"head: {', '.join(self.heads)}"]
        if self.target_config:
            lines.append("target_config: " + ", ".join(f"{k}={v}" for k, v in self.target_config.items()))
        for name in ("latent_size", "width", "depth", "learning_rate", "init_scale"):
            if name in self.specs:
                lines.append(f"{name}: {self.specs[name].describe()}")
        for head in self.heads:
            for name in HEAD_HYPERPARAMETERS[head]:
                lines.append(f"{name} ({head}): {self.specs[name].describe()}")
        encoder = self.encoder_builder if isinstance(self.encoder_builder, str) else "custom"
        lines.append(f"encoder: {encoder}")
        return "\n".join(lines)
