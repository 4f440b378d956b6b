"""Architecture and hyperparameter search for INRs with KerasTuner (https://keras.io/keras_tuner/).

Which family (SIREN, Gaussian, Fourier features) and which ``w0`` / Gaussian scale / Fourier scale, width, depth and
learning rate fit a signal best is the question users of INR code ask most. :class:`INRHyperModel` states that search
space once, as a ``keras_tuner.HyperModel``: a ``Choice`` of family, each family's own hyperparameters inside a
conditional scope (so a SIREN trial never samples a Fourier scale), and the shared width, depth and learning rate.
Models are compiled with :func:`keras_inr.training.compile_inr`, so the logs hold ``val_psnr`` and
:data:`OBJECTIVE` (``keras_tuner.Objective("val_psnr", "max")``) ranks the trials.

Every hyperparameter can be narrowed or fixed in the constructor -- ``None`` keeps the default range, a number fixes
it, a ``(low, high)`` tuple narrows the range, a list gives a choice -- or in the standard KerasTuner way, by passing
``hyperparameters=`` (a ``keras_tuner.HyperParameters`` holding ``hp.Fixed(...)`` entries) to the tuner.

Example:
    >>> from keras_inr import data, training, tuning
    >>> (train_x, train_y), (val_x, val_y) = data.tancik_split(data.load_image("camera", size=64))
    >>> hypermodel = tuning.INRHyperModel(out_dims=1, families=("siren", "ffn"), width=(32, 128))
    >>> tuner = tuning.make_tuner(hypermodel, "bayesian", max_trials=10, directory="runs/tune")
    >>> tuner.search(training.full_batch(train_x, train_y, 25), epochs=12,
    ...              validation_data=training.full_batch(val_x, val_y, 1), shuffle=False)  # doctest: +SKIP
    >>> print(tuning.format_leaderboard(tuning.leaderboard(tuner)))  # doctest: +SKIP

The learning rate's default range depends on the family (one decade either side of the family's measured recommended
rate, :data:`keras_inr.training.FAMILY_RECOMMENDED`), so that Gaussian and Fourier-feature networks, which need larger
steps than SIREN, are not handicapped in short searches; a ``learning_rate`` given by the user applies to every family.

:class:`HyperINRHyperModel` does the same for hypernetworks (:class:`hypernets.HyperINR`): a ``Choice`` of weight
head, the latent size, the target INR's width and depth, head-specific hyperparameters (``rank`` of the low-rank head)
and the learning rate. ``hypernets`` is imported only when a hypernetwork is built.
"""

from __future__ import annotations

import math
import warnings
import numbers
import time
from typing import Any, Callable, Iterable, Sequence

import keras
import numpy as np

try:
    import keras_tuner
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError(
        "keras_inr.tuning needs KerasTuner: pip install 'keras-inr[tuner]' (keras-tuner, plus scikit-learn and scipy "
        "for BayesianOptimization, plus tensorboard on the TensorFlow backend)."
    ) from error

from keras_inr.models import FAMILIES, build_model
from keras_inr.training import SCHEDULES, compile_inr, make_learning_rate, recommended
from keras_inr.validation import check_choice, check_positive_int

#: The tuning objective: maximise the PSNR on the validation data (logged as ``val_psnr`` by ``compile_inr``).
OBJECTIVE = keras_tuner.Objective("val_psnr", direction="max")

#: Tuner names accepted by :func:`make_tuner` and their KerasTuner classes.
TUNERS = {
    "random": keras_tuner.RandomSearch,
    "bayesian": keras_tuner.BayesianOptimization,
    "hyperband": keras_tuner.Hyperband,
}

#: Default search space: name -> (type, low, high, sampling, step). ``"log"`` sampling is used for every quantity
#: that is a scale (frequencies, widths, learning rates); integer log ranges step in factors of ``step``.
#: Ranges: ``w0`` brackets the paper's 30 (Sitzmann et al. 2020, https://arxiv.org/abs/2006.09661, sec. 3.2);
#: ``inverse_scale`` brackets the Gaussian widths sigma ~ 0.03-0.2 of Ramasinghe & Lucey 2022
#: (https://arxiv.org/abs/2111.15135), since s = 1 / (sqrt(2) sigma); ``scale`` covers the paper's sigma = 1..100
#: sweep of Tancik et al. 2020 (https://arxiv.org/abs/2006.10739, sec. 6 and fig. 3) in keras-inr's [-1, 1]
#: coordinates (half the paper's value, see :class:`keras_inr.layers.FourierFeatures`), centred on the images' 5.
DEFAULT_SEARCH_SPACE: dict[str, tuple] = {
    "width": ("int", 32, 256, "log", 2),
    "depth": ("int", 2, 5, "linear", 1),
    # Kind and sampling of a user-given shared `learning_rate`; by default each family has its own range instead
    # (`family_learning_rate_range`, centred on keras_inr.training.FAMILY_RECOMMENDED).
    "learning_rate": ("float", 1e-4, 1e-2, "log", None),
    "w0": ("float", 10.0, 100.0, "log", None),
    "first_w0": ("float", 10.0, 100.0, "log", None),
    "inverse_scale": ("float", 3.0, 30.0, "log", None),
    "scale": ("float", 1.0, 50.0, "log", None),
    "num_features": ("int", 64, 256, "log", 2),
}

#: The hyperparameters of each family (beyond the shared ``width``, ``depth`` and ``learning_rate``). Names equal
#: the keyword arguments of the family's model class, so ``build_model(family, out_dims, **values)`` works.
FAMILY_HYPERPARAMETERS: dict[str, tuple[str, ...]] = {
    "siren": ("w0", "first_w0"),
    "gauss": ("inverse_scale",),
    "ffn": ("scale", "num_features"),
}

#: Hyperparameters that KerasTuner's own tuners add (Hyperband's bracket bookkeeping); never model arguments.
_TUNER_PREFIX = "tuner/"


def _is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


class _Spec:
    """A validated search-space entry: a fixed value, a ``[low, high]`` range or a list of choices."""

    def __init__(self, name: str, value, kind: str, sampling: str, step, default=None):
        self.name, self.kind, self.sampling, self.step = name, kind, sampling, step
        self.default = default  # the range's default value (what KerasTuner uses when not tuning it); None: its low end
        self.fixed = self.low = self.high = self.choices = None
        cast = int if kind == "int" else float

        def checked(number, what: str):
            if not _is_number(number) or not math.isfinite(number):
                raise ValueError(f"`{name}` {what} must be a finite number, got {number!r}.")
            if kind == "int" and float(number) != int(number):
                raise ValueError(f"`{name}` {what} must be an integer, got {number!r}.")
            if number <= 0:
                raise ValueError(f"`{name}` {what} must be positive, got {number!r}.")
            return cast(number)

        if _is_number(value):
            self.fixed = checked(value, "value")
        elif isinstance(value, tuple):
            if len(value) != 2:
                raise ValueError(
                    f"`{name}` range must be a (low, high) tuple of two numbers, got {value!r}; "
                    "use a list for a choice of values."
                )
            self.low, self.high = checked(value[0], "low"), checked(value[1], "high")
            if self.low > self.high:
                raise ValueError(f"`{name}` range must have low <= high, got low={value[0]!r} > high={value[1]!r}.")
            if self.low == self.high:
                self.fixed, self.low, self.high = self.low, None, None
        elif isinstance(value, list):
            if not value:
                raise ValueError(f"`{name}` choices must be a non-empty list, got [].")
            choices = [checked(item, "choice") for item in value]
            if len(set(choices)) != len(choices):
                raise ValueError(f"`{name}` choices must be distinct, got {value!r}.")
            if len(choices) == 1:
                self.fixed = choices[0]
            else:
                self.choices = choices
        else:
            raise ValueError(
                f"`{name}` must be None (default range), a number (fixed), a (low, high) tuple (range) or a list "
                f"(choices), got {value!r} of type {type(value).__name__}."
            )

    def declare(self, hp: "keras_tuner.HyperParameters"):
        """Register this entry on ``hp`` (inside whatever conditional scope is open) and return its value."""
        if self.fixed is not None:
            return hp.Fixed(self.name, self.fixed)
        if self.choices is not None:
            return hp.Choice(self.name, self.choices, ordered=True)
        if self.kind == "int":
            return hp.Int(
                self.name, self.low, self.high, step=self.step or 1, sampling=self.sampling, default=self.default
            )
        return hp.Float(self.name, self.low, self.high, sampling=self.sampling, default=self.default)

    def describe(self) -> str:
        if self.fixed is not None:
            return f"{self.fixed:g}"
        if self.choices is not None:
            return "{" + ", ".join(f"{c:g}" for c in self.choices) + "}"
        return f"[{self.low:g}, {self.high:g}]" + (" log" if self.sampling == "log" else "")


def _check_names(argument: str, names, allowed: Sequence[str], noun: str) -> tuple[str, ...]:
    """Validate ``names``: a non-empty sequence (or comma-separated string) of distinct entries of ``allowed``.

    ``argument`` is the argument's name and ``noun`` the singular of what it names (``"family"``, ``"head"``), for the
    error messages.
    """
    if isinstance(names, str):
        names = [name.strip() for name in names.split(",") if name.strip()]
    try:
        names = tuple(names)
    except TypeError:
        raise ValueError(f"`{argument}` must be a sequence of {noun} names, got {names!r}.") from None
    if not names:
        raise ValueError(f"`{argument}` must name at least one {noun} of {tuple(allowed)}, got an empty list.")
    for name in names:
        if name not in allowed:
            raise ValueError(f"`{argument}` must hold names from {tuple(allowed)}, got unknown {noun} {name!r}.")
    if len(set(names)) != len(names):
        raise ValueError(f"`{argument}` must not repeat a name, got {names!r}.")
    return names


def check_families(families) -> tuple[str, ...]:
    """Validate a family list: a non-empty sequence of distinct names from :data:`keras_inr.models.FAMILIES`.

    Also accepts a comma-separated string (``"siren,ffn"``), as given on the command line.

    Raises:
        ValueError: for an empty list, an unknown name or a repeated name.
    """
    return _check_names("families", families, tuple(FAMILIES), "family")


def _make_specs(given: dict[str, Any], space: dict[str, tuple], untuned_when_none: Iterable[str] = ()) -> dict:
    """Turn the user's constructor values into :class:`_Spec` entries over the default ``space``.

    Args:
        given: name -> ``None`` (default range), a number (fixed), a ``(low, high)`` tuple or a list (choices).
        space: the default ranges, name -> ``(kind, low, high, sampling, step)`` as in :data:`DEFAULT_SEARCH_SPACE`.
        untuned_when_none: names that are not hyperparameters at all unless given (e.g. ``first_w0``, tied to ``w0``).

    Returns:
        name -> :class:`_Spec`, without the names of ``untuned_when_none`` left at ``None``.
    """
    untuned = set(untuned_when_none)
    specs = {}
    for name, value in given.items():
        if value is None and name in untuned:
            continue
        kind, low, high, sampling, step = space[name]
        specs[name] = _Spec(name, (low, high) if value is None else value, kind, sampling, step)
    return specs


def _declare_choice(hp: "keras_tuner.HyperParameters", name: str, options: Sequence[str]) -> str:
    """Declare ``name`` as a ``Choice`` of ``options`` (``Fixed`` for a single option) and check the value.

    Raises:
        ValueError: if the value is not one of ``options`` (e.g. an ``hp.Fixed`` given to the tuner for another one).
    """
    value = hp.Choice(name, list(options)) if len(options) > 1 else hp.Fixed(name, options[0])
    if value not in options:
        raise ValueError(f"hyperparameter `{name}`={value!r} is not one of this hypermodel's {tuple(options)}.")
    return value


def _declare_conditional(
    hp: "keras_tuner.HyperParameters",
    parent: str,
    active: str,
    specs_of: dict[str, dict[str, "_Spec"]],
) -> dict[str, Any]:
    """Declare every option's hyperparameters in a scope active only when ``parent`` equals that option.

    Every option's entries are declared, not only the active one's, so the tuner's oracle knows the whole space from
    the first trial on; declarations for inactive options return ``None`` and are not used. Names must differ between
    options (see :func:`learning_rate_name`), except for a spec shared by several options' scopes.

    Args:
        hp: the trial's hyperparameters.
        parent: the name of the ``Choice`` the scopes depend on (``"family"``, ``"head"``).
        active: its value in this trial.
        specs_of: option -> {hyperparameter name -> :class:`_Spec`}.

    Returns:
        The active option's values, name -> value.
    """
    active_values: dict[str, Any] = {}
    for option, specs in specs_of.items():
        with hp.conditional_scope(parent, [option]):
            values = {name: spec.declare(hp) for name, spec in specs.items()}
        if option == active:
            active_values = values
    return active_values


def _has_unconditional(hp: "keras_tuner.HyperParameters", name: str) -> bool:
    """Whether ``hp`` already holds an entry ``name`` outside any conditional scope (e.g. an ``hp.Fixed`` or a
    narrower ``hp.Float`` that the user registered in the ``hyperparameters`` given to the tuner)."""
    return any(entry.name == name and not entry.conditions for entry in hp.space)


class _TimedHyperModel(keras_tuner.HyperModel):
    """A ``keras_tuner.HyperModel`` whose :meth:`fit` logs the training time as ``fit_seconds``."""

    def fit(self, hp, model, *args, **kwargs):
        """Train ``model`` with ``model.fit`` and add its wall-clock time to the logs as ``fit_seconds``.

        Every epoch's ``fit_seconds`` entry holds the whole call's duration, so the trial's metrics (taken at its best
        epoch) report how long the trial trained. With Hyperband, a resumed trial counts only its own epochs.
        """
        start = time.perf_counter()
        history = model.fit(*args, **kwargs)
        elapsed = time.perf_counter() - start
        epochs = len(history.epoch)
        if epochs:
            history.history["fit_seconds"] = [elapsed] * epochs
        return history


def _values_of(hyperparameters) -> dict:
    """The ``values`` dict of a ``keras_tuner.HyperParameters``, or a copy of a mapping given directly."""
    if isinstance(hyperparameters, keras_tuner.HyperParameters):
        return hyperparameters.values
    try:
        return dict(hyperparameters)
    except (TypeError, ValueError):
        raise ValueError(
            "`hyperparameters` must be a keras_tuner.HyperParameters or a dict of values, got "
            f"{type(hyperparameters).__name__}."
        ) from None


def learning_rate_name(family: str) -> str:
    """The KerasTuner name of ``family``'s own learning rate in :class:`INRHyperModel`: ``"learning_rate_<family>"``.

    Each family's learning rate is a separate entry (in the family's conditional scope) rather than one name declared
    in several scopes, because KerasTuner keeps hyperparameter values by name and drops the value of a name that is
    inactive in any scope (``HyperParameters.ensure_active_values``).
    """
    check_choice("family", family, tuple(FAMILIES))
    return f"learning_rate_{family}"


def learning_rate_of(hyperparameters) -> float:
    """The learning rate a trial used: the shared ``learning_rate`` if present, else its family's own entry.

    Args:
        hyperparameters: a ``keras_tuner.HyperParameters`` (e.g. ``tuner.get_best_hyperparameters()[0]``) or its
            ``values`` dict.

    Raises:
        ValueError: if neither entry is there.
    """
    values = _values_of(hyperparameters)
    if values.get("learning_rate") is not None:
        return float(values["learning_rate"])
    family = values.get("family")
    name = learning_rate_name(family) if family in FAMILIES else None
    if name is None or values.get(name) is None:
        raise ValueError(
            "`hyperparameters` holds no learning rate ('learning_rate' or 'learning_rate_<family>'); got "
            f"{sorted(values)}."
        )
    return float(values[name])


def family_learning_rate_range(family: str) -> tuple[float, float, float]:
    """The default learning-rate range of ``family`` in :class:`INRHyperModel`: ``(low, high, centre)``.

    The centre is the family's measured recommended rate (:func:`keras_inr.training.recommended`: SIREN 1e-3,
    Gaussian 1e-2, Fourier features 3e-3) and the range spans one decade either side of it, sampled on a log scale.
    The centre is also the value KerasTuner uses when it does not tune the learning rate.
    """
    centre = float(recommended(family)["learning_rate"])
    return centre / 10.0, centre * 10.0, centre


class INRHyperModel(_TimedHyperModel):
    """A KerasTuner search space over INR families and their hyperparameters.

    Hyperparameters (KerasTuner names; family ones live in a conditional scope on ``family``):

    ==================  ==========  ======================================================================
    name                families    default range
    ==================  ==========  ======================================================================
    ``family``          --          ``Choice(families)``
    ``width``           all         32 .. 256, log, powers of two from the low end (32, 64, 128, 256)
    ``depth``           all         2 .. 5
    ``learning_rate_*`` each        one per family (``learning_rate_siren``, ``_gauss``, ``_ffn``): one decade
                                    either side of the family's recommended rate, log: siren 1e-4 .. 1e-2,
                                    gauss 1e-3 .. 1e-1, ffn 3e-4 .. 3e-2 (Adam; ``schedule`` below); see
                                    :func:`family_learning_rate_range`. Replaced by one shared
                                    ``learning_rate`` when the user gives one.
    ``w0``              siren       10 .. 100, log (omega_0 of the hidden layers)
    ``first_w0``        siren       tied to ``w0`` unless given (omega_0 of the first layer)
    ``inverse_scale``   gauss       3 .. 30, log
    ``scale``           ffn         1 .. 50, log (std of the Fourier frequencies for [-1, 1] coordinates)
    ``num_features``    ffn         64 .. 256, log, powers of two (64, 128, 256)
    ==================  ==========  ======================================================================

    By default every family has its own learning rate (:func:`learning_rate_name`, in the family's conditional
    scope), because one shared range favours SIREN in short searches: Gaussian and Fourier-feature networks need
    larger steps (:data:`keras_inr.training.FAMILY_RECOMMENDED`). A ``learning_rate`` given here, or a
    ``learning_rate`` entry (``hp.Fixed`` or a narrower ``hp.Float``) in the ``hyperparameters`` given to the tuner,
    replaces them by one shared ``learning_rate`` for every family. :func:`learning_rate_of` reads a trial's rate
    in either case.

    Each keyword below narrows or fixes one of them: ``None`` keeps the default, a number fixes the value, a
    ``(low, high)`` tuple narrows the range (keeping the default sampling: log for scales, factors of two for
    ``width`` / ``num_features``), a list of numbers is a choice. The standard KerasTuner way also works: build a
    ``keras_tuner.HyperParameters``, call ``hp.Fixed("w0", 30.0)`` (or ``hp.Fixed("family", "siren")``, or define a
    narrower ``hp.Float``) and pass it to the tuner as ``hyperparameters=hp`` (with ``tune_new_entries=True``).

    Args:
        out_dims: channels of the signal (1 grey, 3 RGB).
        families: families to search, names from ``("siren", "gauss", "ffn")``.
        width, depth, learning_rate: shared hyperparameters (see above).
        w0, first_w0: SIREN's omega_0 of the hidden / first layer; ``first_w0=None`` ties it to ``w0``.
        inverse_scale: the Gaussian INR's ``s``.
        scale, num_features: the Fourier-feature network's frequency scale and number of frequencies.
        in_dims: coordinate dimensionality (2 for images); models are built at once, so KerasTuner can count their
            parameters (``max_model_size``) and reload them.
        schedule: learning-rate schedule, ``"constant"`` or ``"cosine"`` (needs ``total_steps``).
        total_steps: optimiser steps of one trial, for ``schedule="cosine"``.
        seed: seed of the Fourier-feature frequency matrix (the same frequencies in every ``ffn`` trial).
        jit_compile: passed to ``model.compile``; ``False`` skips XLA compilation, which is faster for searches of
            only a few steps per trial.
        **kwargs: ``keras_tuner.HyperModel`` arguments (``name``, ``tunable``).

    Shapes:
        the built models map ``(N, in_dims)`` coordinates to ``(N, out_dims)`` values.

    Raises:
        ValueError: for unknown or empty ``families``, or a range with low > high, a non-positive value, etc.
    """

    def __init__(
        self,
        out_dims: int,
        families: Sequence[str] = ("siren", "gauss", "ffn"),
        *,
        width=None,
        depth=None,
        learning_rate=None,
        w0=None,
        first_w0=None,
        inverse_scale=None,
        scale=None,
        num_features=None,
        in_dims: int = 2,
        schedule: str = "constant",
        total_steps: int | None = None,
        seed: int | None = 0,
        jit_compile="auto",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.jit_compile = jit_compile
        self.out_dims = check_positive_int("out_dims", out_dims)
        self.in_dims = check_positive_int("in_dims", in_dims)
        self.families = check_families(families)
        self.schedule = check_choice("schedule", schedule, SCHEDULES)
        if schedule == "cosine" and total_steps is None:
            raise ValueError("`total_steps` (optimiser steps per trial) is required with schedule='cosine'.")
        self.total_steps = None if total_steps is None else check_positive_int("total_steps", total_steps)
        self.seed = seed
        given = {
            "width": width, "depth": depth, "learning_rate": learning_rate, "w0": w0, "first_w0": first_w0,
            "inverse_scale": inverse_scale, "scale": scale, "num_features": num_features,
        }
        searched = {name for family in self.families for name in FAMILY_HYPERPARAMETERS[family]}
        for name, value in given.items():
            owner = next((f for f, names in FAMILY_HYPERPARAMETERS.items() if name in names), None)
            if value is not None and owner is not None and name not in searched:
                raise ValueError(
                    f"`{name}` is a hyperparameter of family {owner!r}, which is not in `families` {self.families}."
                )
        # `first_w0` is tied to `w0` unless given; `learning_rate` left at None becomes one range per family below.
        self.specs: dict[str, _Spec] = _make_specs(given, DEFAULT_SEARCH_SPACE, untuned_when_none=("first_w0",
                                                                                                 "learning_rate"))
        self.tie_first_w0 = first_w0 is None
        #: family -> its own learning-rate range, used when the user did not give a shared ``learning_rate``.
        self.family_learning_rates: dict[str, _Spec] = {}
        for family in self.families:
            low, high, centre = family_learning_rate_range(family)
            self.family_learning_rates[family] = _Spec(
                learning_rate_name(family), (low, high), "float", "log", None, default=centre
            )

    def build(self, hp: "keras_tuner.HyperParameters") -> keras.Model:
        """Sample one model: declare the hyperparameters on ``hp``, build the family's model and compile it.

        Returns:
            A built keras-inr model compiled with Adam and the PSNR metric.
        """
        family = _declare_choice(hp, "family", self.families)
        width = self.specs["width"].declare(hp)
        depth = self.specs["depth"].declare(hp)
        # One learning rate for all families when the user gave one, here or as an unconditional entry registered on
        # the tuner (hp.Fixed / a narrower hp.Float: the oracle samples it); else one conditional entry per family.
        shared_learning_rate = True
        if "learning_rate" in self.specs:
            learning_rate = self.specs["learning_rate"].declare(hp)
        elif _has_unconditional(hp, "learning_rate"):
            learning_rate = hp.get("learning_rate")
        else:
            shared_learning_rate = False
        family_specs = {
            candidate: {name: self.specs[name] for name in FAMILY_HYPERPARAMETERS[candidate] if name in self.specs}
            for candidate in self.families
        }
        if not shared_learning_rate:
            for candidate in self.families:
                family_specs[candidate][learning_rate_name(candidate)] = self.family_learning_rates[candidate]
        family_kwargs = _declare_conditional(hp, "family", family, family_specs)
        if not shared_learning_rate:
            learning_rate = family_kwargs.pop(learning_rate_name(family))
        if family == "ffn":
            family_kwargs["seed"] = self.seed
        model = build_model(
            family, self.out_dims, width=width, depth=depth, in_dims=self.in_dims, name=family, **family_kwargs
        )
        return compile_inr(
            model, learning_rate=learning_rate, schedule=self.schedule, total_steps=self.total_steps,
            jit_compile=self.jit_compile,
        )

    def searched_choices(self) -> dict[str, tuple[str, ...]]:
        """The ``Choice`` hyperparameters of this space and their options (checked by :func:`make_tuner`)."""
        return {"family": self.families}

    def search_space_summary(self) -> str:
        """A one-line-per-hyperparameter description of the space this hypermodel searches."""
        lines = [f"family: {', '.join(self.families)}"]
        for name in ("width", "depth", "learning_rate"):
            if name in self.specs:
                lines.append(f"{name}: {self.specs[name].describe()}")
        for family in self.families:
            if "learning_rate" not in self.specs:
                lines.append(f"{learning_rate_name(family)}: {self.family_learning_rates[family].describe()}")
            for name in FAMILY_HYPERPARAMETERS[family]:
                if name in self.specs:
                    lines.append(f"{name} ({family}): {self.specs[name].describe()}")
                elif name == "first_w0":
                    lines.append(f"first_w0 ({family}): = w0")
        return "\n".join(lines)


#: Weight heads of :class:`hypernets.HyperINR` (``hypernets.HEADS``), listed here so that validating a
#: :class:`HyperINRHyperModel` does not import ``hypernets``.
HYPERNET_HEADS = ("full", "lowrank", "shift")

#: Default search space of :class:`HyperINRHyperModel`, in the format of :data:`DEFAULT_SEARCH_SPACE`. Hypernetworks
#: generate every INR weight from the latent code, so the target INRs are small (widths 16-64); the learning rates
#: bracket those the hypernets tests and recipe train with (2e-3 - 3e-3). ``rank`` is the low-rank head's
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
    return _check_names("heads", heads, HYPERNET_HEADS, "head")


class HyperINRHyperModel(_TimedHyperModel):
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

    Every keyword narrows or fixes its hyperparameter as in :class:`INRHyperModel`: ``None`` keeps the default, a
    number fixes it, a ``(low, high)`` tuple narrows the range, a list of numbers is a choice; or pass
    ``hp.Fixed(...)`` entries to the tuner (e.g. ``hp.Fixed("head", "shift")``).

    Models are compiled with Adam; :class:`hypernets.HyperINR` logs ``loss`` and ``psnr`` (``val_loss`` and
    ``val_psnr`` on validation data), so :data:`OBJECTIVE` ranks the trials. Train with ``tuner.search(x, y, ...)``
    on signals on a grid (``x`` datapoints, ``y`` signals ``(num, *grid_shape, channels)``) or on a
    :class:`hypernets.ImageFieldDataset`, with validation data in either form.

    Args:
        out_dims: channels of the signals (1 grey, 3 RGB).
        heads: heads to search, names from ``("full", "lowrank", "shift")``.
        family: the target INR family, ``"siren"``, ``"gauss"`` or ``"ffn"``; not searched.
        target_config: further fixed keyword arguments of the target model (e.g. ``{"w0": 30.0}`` for SIREN); not
            ``width``/``depth``/``out_dims``/``in_dims``, which the hypermodel sets.
        latent_size, width, depth, learning_rate, rank, init_scale: see above.
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
        schedule, total_steps: learning-rate schedule, as in :class:`INRHyperModel`.
        seed: seed of the heads' initialisation, of HyperINR's point sampling and of the Fourier-feature frequencies.
        jit_compile: passed to ``model.compile``.
        **kwargs: ``keras_tuner.HyperModel`` arguments (``name``, ``tunable``).

    Shapes:
        ``model(datapoints)`` gives per-sample INR weights; ``model(datapoints, coordinates=(batch, points, in_dims))``
        gives ``(batch, points, out_dims)``.

    Raises:
        ValueError: for unknown, repeated or empty ``heads``, a range with low > high, a non-positive value,
            ``rank`` without the ``"lowrank"`` head, an unknown ``encoder_builder``, ``"embedding"`` without
            ``num_datapoints``, or a bad ``target_config``.

    Example:
        >>> hypermodel = HyperINRHyperModel(out_dims=1, heads=("lowrank", "shift"), width=32)  # doctest: +SKIP
        >>> tuner = make_tuner(hypermodel, "random", max_trials=8, directory="runs/hyper")  # doctest: +SKIP
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
        self.family = check_choice("family", family, tuple(FAMILIES))
        self.families = (self.family,)
        self.schedule = check_choice("schedule", schedule, SCHEDULES)
        if schedule == "cosine" and total_steps is None:
            raise ValueError("`total_steps` (optimiser steps per trial) is required with schedule='cosine'.")
        self.total_steps = None if total_steps is None else check_positive_int("total_steps", total_steps)
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
        self.specs: dict[str, _Spec] = _make_specs(given, HYPERNET_SEARCH_SPACE, untuned_when_none=("init_scale",))

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

    def build(self, hp: "keras_tuner.HyperParameters") -> keras.Model:
        """Sample one hypernetwork: declare the hyperparameters on ``hp``, build a HyperINR and compile it.

        Returns:
            A :class:`hypernets.HyperINR` compiled with Adam (logs ``loss`` and ``psnr``); built when the datapoint
            shape is known (``datapoint_shape`` or the ``"embedding"`` encoder).
        """
        import hypernets  # lazily: keras_inr does not depend on the hypernets package

        _declare_choice(hp, "family", self.families)
        head = _declare_choice(hp, "head", self.heads)
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
        head_config.update(_declare_conditional(hp, "head", head, head_specs))
        if self.seed is not None:
            head_config["seed"] = self.seed
        target_config = dict(self.target_config)
        if self.family == "ffn":
            target_config.setdefault("seed", self.seed)
        target = build_model(
            self.family, self.out_dims, width=width, depth=depth, in_dims=self.in_dims, name="target", **target_config
        )
        model = hypernets.HyperINR(
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
        lines = [f"family (target): {self.family}", f"head: {', '.join(self.heads)}"]
        for name in ("latent_size", "width", "depth", "learning_rate", "init_scale"):
            if name in self.specs:
                lines.append(f"{name}: {self.specs[name].describe()}")
        for head in self.heads:
            for name in HEAD_HYPERPARAMETERS[head]:
                lines.append(f"{name} ({head}): {self.specs[name].describe()}")
        encoder = self.encoder_builder if isinstance(self.encoder_builder, str) else "custom"
        lines.append(f"encoder: {encoder}")
        return "\n".join(lines)


def model_arguments(hyperparameters) -> tuple[str, dict, float]:
    """Split tuned values into ``(family, model keyword arguments, learning_rate)``.

    Args:
        hyperparameters: a ``keras_tuner.HyperParameters`` (e.g. ``tuner.get_best_hyperparameters()[0]``) or its
            ``values`` dict.

    Returns:
        ``family`` and the keyword arguments such that ``build_model(family, out_dims, **kwargs)`` rebuilds the
        architecture (inactive entries and KerasTuner's ``tuner/...`` bookkeeping dropped), and the learning rate.
    """
    values = _values_of(hyperparameters)
    if "family" not in values:
        raise ValueError(f"`hyperparameters` has no 'family' entry; got {sorted(values)}.")
    family = values["family"]
    check_choice("family", family, tuple(FAMILIES))
    allowed = {"width", "depth", *FAMILY_HYPERPARAMETERS[family]}
    kwargs = {name: value for name, value in values.items() if name in allowed and value is not None}
    return family, kwargs, learning_rate_of(values)


def make_tuner(
    hypermodel: keras_tuner.HyperModel,
    tuner: str = "random",
    *,
    max_trials: int = 10,
    max_epochs: int = 10,
    directory: str = "keras_inr_tuning",
    project_name: str = "inr",
    seed: int | None = 0,
    overwrite: bool = True,
    hyperparameters: keras_tuner.HyperParameters | None = None,
    tune_new_entries: bool = True,
    **kwargs,
) -> keras_tuner.Tuner:
    """A KerasTuner tuner maximising ``val_psnr`` for ``hypermodel``.

    Args:
        hypermodel: an :class:`INRHyperModel` (or any hypermodel whose models log ``val_psnr``).
        tuner: ``"random"`` (``RandomSearch``), ``"bayesian"`` (``BayesianOptimization``, needs scikit-learn and
            scipy) or ``"hyperband"`` (``Hyperband``).
        max_trials: number of trials for random and Bayesian search (Hyperband sets its own from ``max_epochs``).
        max_epochs: Hyperband's largest epoch budget for one model (ignored by the other tuners, whose epochs are
            given to ``search``).
        directory, project_name: where KerasTuner keeps trials and checkpoints.
        seed: seed of the tuner's sampling.
        overwrite: start afresh (``True``) or resume the search stored in ``directory/project_name``.
        hyperparameters: optional ``keras_tuner.HyperParameters`` holding fixed or narrowed entries.
        tune_new_entries: whether hyperparameters not in ``hyperparameters`` are searched (``True``) or left at
            their defaults.
        **kwargs: further arguments of the tuner class (``executions_per_trial``, ``max_model_size``, ...).

    Raises:
        ValueError: for an unknown tuner, a non-positive ``max_trials``/``max_epochs``, or a fixed ``family`` that
            the hypermodel does not search.
    """
    check_choice("tuner", tuner, tuple(TUNERS))
    if not isinstance(hypermodel, keras_tuner.HyperModel):
        raise ValueError(f"`hypermodel` must be a keras_tuner.HyperModel, got {type(hypermodel).__name__}.")
    if hyperparameters is not None and hasattr(hypermodel, "searched_choices"):
        plurals = {"family": "families", "head": "heads"}
        for name, options in hypermodel.searched_choices().items():
            fixed = hyperparameters.values.get(name)
            if fixed is not None and fixed not in options:
                raise ValueError(
                    f"`hyperparameters` fixes {name}={fixed!r}, which the hypermodel does not search; its "
                    f"{plurals.get(name, name + 's')} are {options}."
                )
    common = dict(
        hypermodel=hypermodel, objective=OBJECTIVE, directory=str(directory), project_name=project_name,
        seed=seed, overwrite=overwrite, hyperparameters=hyperparameters, tune_new_entries=tune_new_entries, **kwargs,
    )
    if tuner == "hyperband":
        max_epochs = check_positive_int("max_epochs", max_epochs)
        if max_epochs < 2:
            raise ValueError(f"`max_epochs` must be at least 2 for Hyperband, got {max_epochs}.")
        return keras_tuner.Hyperband(max_epochs=max_epochs, **common)
    return TUNERS[tuner](max_trials=check_positive_int("max_trials", max_trials), **common)


def leaderboard(tuner: keras_tuner.Tuner, num_trials: int | None = None) -> list[dict]:
    """The completed trials, best first.

    Args:
        tuner: a tuner after ``search``.
        num_trials: keep only the best ``num_trials`` (all when ``None``).

    Returns:
        One dict per trial: ``trial_id``, ``family``, ``hyperparameters`` (the active model and learning-rate values,
        without ``family``), ``epochs`` (Hyperband's epoch budget, else ``None``), ``val_psnr`` (the trial's score:
        its best epoch's validation PSNR in dB) and ``seconds`` (its training time, from ``fit_seconds``, or
        ``None`` when the hypermodel did not log it).
    """
    trials = [trial for trial in tuner.oracle.trials.values() if trial.status == "COMPLETED"]
    finite = [trial for trial in trials if trial.score is not None and np.isfinite(trial.score)]
    others = [trial for trial in trials if trial not in finite]
    ranked = sorted(finite, key=lambda trial: trial.score, reverse=True) + others  # diverged trials last
    if num_trials is not None:
        ranked = ranked[: check_positive_int("num_trials", num_trials)]
    rows = []
    for trial in ranked:
        values = trial.hyperparameters.values
        seconds = None
        if trial.metrics.exists("fit_seconds"):
            seconds = trial.metrics.get_last_value("fit_seconds")
        rows.append(
            {
                "trial_id": trial.trial_id,
                "family": values.get("family"),
                "hyperparameters": {
                    name: value for name, value in values.items()
                    if name != "family" and not name.startswith(_TUNER_PREFIX)
                },
                "epochs": values.get("tuner/epochs"),
                "val_psnr": None if trial.score is None else float(trial.score),
                "seconds": None if seconds is None else float(seconds),
            }
        )
    return rows


def _format_value(value) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def format_leaderboard(rows: Iterable[dict]) -> str:
    """Render :func:`leaderboard` rows as a fixed-width text table (rank, family, val PSNR, time, hyperparameters)."""
    rows = list(rows)
    header = f"{'rank':>4}  {'family':<6}  {'val PSNR':>9}  {'time (s)':>8}  hyperparameters"
    lines = [header, "-" * len(header)]
    for rank, row in enumerate(rows, start=1):
        psnr = "-" if row["val_psnr"] is None else f"{row['val_psnr']:.2f}"
        seconds = "-" if row["seconds"] is None else f"{row['seconds']:.1f}"
        settings = ", ".join(f"{name}={_format_value(value)}" for name, value in row["hyperparameters"].items())
        if row.get("epochs") is not None:
            settings += f", epochs={row['epochs']}"
        lines.append(f"{rank:>4}  {str(row['family']):<6}  {psnr:>9}  {seconds:>8}  {settings}")
    if not rows:
        lines.append("(no completed trials)")
    return "\n".join(lines)


def best_model(tuner: keras_tuner.Tuner) -> keras.Model:
    """The best trial's model with the weights of its best epoch (``tuner.get_best_models(1)[0]``).

    KerasTuner's checkpoints also hold the optimiser's variables, which a freshly built model has not created yet;
    Keras warns that it skips them. The model weights load in full, so that warning is silenced here.

    Raises:
        ValueError: if the tuner has no completed trial.
    """
    if not any(trial.status == "COMPLETED" for trial in tuner.oracle.trials.values()):
        raise ValueError("`tuner` has no completed trial; run `tuner.search(...)` first.")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
        return tuner.get_best_models(num_models=1)[0]
