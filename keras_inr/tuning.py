"""Architecture and hyperparameter search for INRs with KerasTuner (https://keras.io/keras_tuner/).

Which family (SIREN, Gaussian, Fourier features, or one you registered) and which ``w0`` / Gaussian scale / Fourier
scale, width, depth and learning rate fit a signal best is the question users of INR code ask most.
:class:`INRHyperModel` states that search space as a ``keras_tuner.HyperModel``: a ``Choice`` of family, each
family's own hyperparameters inside a conditional scope (so a SIREN trial never samples a Fourier scale), and the
shared width, depth and learning rate. The family hyperparameters, their ranges, sampling and recommended learning
rates all come from the family registry (:mod:`keras_inr.families`), so a family registered from user code is
searchable by name like the built-in ones. Models are compiled with :func:`keras_inr.training.compile_inr`, so the
logs hold ``val_psnr`` and :data:`OBJECTIVE` (``keras_tuner.Objective("val_psnr", "max")``) ranks the trials.

Every hyperparameter can be narrowed or fixed in the constructor -- ``None`` keeps the default range, a number fixes
it, a ``(low, high)`` tuple narrows the range, a list gives a choice -- or in the standard KerasTuner way, by passing
``hyperparameters=`` (a ``keras_tuner.HyperParameters`` holding ``hp.Fixed(...)`` entries) to the tuner.

Example:
    >>> from keras_inr import data, training, tuning
    >>> (train_x, train_y), (val_x, val_y) = data.tancik_split(data.load_image("camera", size=64))
    >>> hypermodel = tuning.INRHyperModel(out_dims=1, families=("siren", "ffn"), width=(32, 128), w0=(10, 60))
    >>> tuner = tuning.make_tuner(hypermodel, "bayesian", max_trials=10, directory="runs/tune")
    >>> tuner.search(training.full_batch(train_x, train_y, 25), epochs=12,
    ...              validation_data=training.full_batch(val_x, val_y, 1), shuffle=False)  # doctest: +SKIP
    >>> print(tuning.format_leaderboard(tuning.leaderboard(tuner)))  # doctest: +SKIP

The learning rate's default range depends on the family (one decade either side of the family's recommended rate,
:func:`keras_inr.training.recommended`: 1e-3 for SIREN and Gaussian, 3e-3 for Fourier features), so that families
that need larger steps are not handicapped in short searches; a ``learning_rate`` given by the user applies to every
family.

The pieces shared by hypermodels -- :class:`SearchSpec` (one validated search-space entry), :class:`TimedHyperModel`
(logs each trial's training time), :func:`make_specs`, :func:`declare_choice` and :func:`declare_conditional` --
are public so that other packages build their hypermodels on them (``hypernets.tuning.HyperINRHyperModel``
searches hypernetworks with them).
"""

from __future__ import annotations

import numbers
import re
import time
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np

try:
    import keras_tuner
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError(
        "keras_inr.tuning needs KerasTuner: pip install 'keras-inr[tuner]' (keras-tuner, plus scikit-learn and scipy "
        "for BayesianOptimization, plus tensorboard on the TensorFlow backend)."
    ) from error

from keras_inr import families as inr_families
from keras_inr.callbacks import DivergenceGuard
from keras_inr.models import build_model
from keras_inr.training import SCHEDULES, compile_inr, recommended
from keras_inr.validation import (
    check_bool,
    check_choice,
    check_number,
    check_path,
    check_positive_int,
    check_seed,
)

#: The tuning objective: maximise the PSNR on the validation data (logged as ``val_psnr`` by ``compile_inr``).
OBJECTIVE = keras_tuner.Objective("val_psnr", direction="max")

#: Tuner names accepted by :func:`make_tuner` and their KerasTuner classes.
TUNERS = {
    "random": keras_tuner.RandomSearch,
    "bayesian": keras_tuner.BayesianOptimization,
    "hyperband": keras_tuner.Hyperband,
}

#: Default ranges of the hyperparameters every family shares: name -> ``(kind, low, high, sampling, step)``.
#: ``"log"`` sampling for scales; integer log ranges step in factors of ``step``. The family hyperparameters' ranges
#: are in the family registry (:mod:`keras_inr.families`, ``Hyperparameter.search``).
SHARED_SEARCH_SPACE: dict[str, tuple] = {
    "width": ("int", 32, 256, "log", 2),
    "depth": ("int", 2, 5, "linear", 1),
    # Kind and sampling of a user-given shared `learning_rate`; by default each family has its own range instead
    # (`family_learning_rate_range`, centred on keras_inr.training.recommended(family)["learning_rate"]).
    "learning_rate": ("float", 1e-4, 1e-2, "log", None),
}

#: Names :class:`INRHyperModel` declares itself; a family hyperparameter may not use them.
_RESERVED_NAMES = ("family", "width", "depth", "learning_rate", "in_dims", "out_dims", "seed", "name")

#: Hyperparameters that KerasTuner's own tuners add (Hyperband's bracket bookkeeping); never model arguments.
_TUNER_PREFIX = "tuner/"


def _is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _check_name(argument: str, value, allow_none: bool = False) -> str | None:
    """A non-empty string (or ``None`` when ``allow_none``), else ``ValueError`` naming ``argument``."""
    if value is None and allow_none:
        return None
    if not isinstance(value, str) or not value:
        expected = "a non-empty string or None" if allow_none else "a non-empty string"
        raise ValueError(f"`{argument}` must be {expected}, got {value!r}.")
    return value


def _check_hp(hp) -> None:
    if not isinstance(hp, keras_tuner.HyperParameters):
        raise ValueError(f"`hp` must be a keras_tuner.HyperParameters, got {type(hp).__name__}.")


def _check_tuner(tuner) -> None:
    if not isinstance(tuner, keras_tuner.Tuner):
        raise ValueError(
            f"`tuner` must be a keras_tuner.Tuner (e.g. from make_tuner), got {type(tuner).__name__}."
        )


class SearchSpec:
    """One validated search-space entry: a fixed value, a ``(low, high)`` range or a list of choices.

    Args:
        name: the KerasTuner name the entry is declared under.
        value: a number (fixed), a ``(low, high)`` tuple (range; ``low == high`` fixes it) or a list (choices).
        kind: ``"int"`` or ``"float"``.
        sampling: ``"log"`` or ``"linear"``, for ranges.
        step: for integer ranges, the step (linear) or factor (log); ``None`` for 1.
        default: the value KerasTuner uses when it does not tune the entry (e.g. ``tune_new_entries=False``);
            ``None`` for the range's low end. Ignored unless it lies in the range (on the integer grid).
        argument: the user-facing argument name for error messages (defaults to ``name``).
        positive: whether values must be positive (log ranges always must).

    Raises:
        ValueError: naming ``argument`` for a malformed value, a non-finite / non-positive / non-integer number, a
            range with low > high, an empty or repeated choice.
    """

    def __init__(
        self,
        name: str,
        value,
        kind: str = "float",
        sampling: str = "log",
        step: int | None = None,
        default=None,
        *,
        argument: str | None = None,
        positive: bool = True,
    ):
        _check_name("name", name)
        check_choice("kind", kind, ("int", "float"))
        check_choice("sampling", sampling, ("log", "linear"))
        if step is not None:
            step = check_positive_int("step", step)
        _check_name("argument", argument, allow_none=True)
        self.name, self.kind, self.sampling, self.step = name, kind, sampling, step
        self.argument = argument or name
        self.fixed = self.low = self.high = self.choices = None
        label = self.argument

        def checked(number, what: str):
            return check_number(f"`{label}` {what}", number, kind, positive or sampling == "log")

        if _is_number(value):
            self.fixed = checked(value, "value")
        elif isinstance(value, tuple):
            if len(value) != 2:
                raise ValueError(
                    f"`{label}` range must be a (low, high) tuple of two numbers, got {value!r}; "
                    "use a list for a choice of values."
                )
            self.low, self.high = checked(value[0], "low"), checked(value[1], "high")
            if self.low > self.high:
                raise ValueError(f"`{label}` range must have low <= high, got low={value[0]!r} > high={value[1]!r}.")
            if self.low == self.high:
                self.fixed, self.low, self.high = self.low, None, None
        elif isinstance(value, list):
            if not value:
                raise ValueError(f"`{label}` choices must be a non-empty list, got [].")
            choices = [checked(item, "choice") for item in value]
            if len(set(choices)) != len(choices):
                raise ValueError(f"`{label}` choices must be distinct, got {value!r}.")
            if len(choices) == 1:
                self.fixed = choices[0]
            else:
                self.choices = choices
        else:
            raise ValueError(
                f"`{label}` must be None (default range), a number (fixed), a (low, high) tuple (range) or a list "
                f"(choices), got {value!r} of type {type(value).__name__}."
            )
        self.default = default if default is not None and self._in_range(default) else None

    @classmethod
    def from_hyperparameter(cls, record: inr_families.Hyperparameter, value=None, name: str | None = None):
        """The entry of a registry :class:`keras_inr.families.Hyperparameter`.

        Args:
            record: the family's hyperparameter record (kind, sampling, step, search range, recommended value).
            value: ``None`` for the record's ``search`` range, else a number, a ``(low, high)`` tuple or a list.
            name: the KerasTuner name (defaults to ``record.name``).

        Raises:
            ValueError: naming ``record.name`` for a bad value, or for ``None`` when the record has no search range.
        """
        if value is None:
            if record.search is None:
                raise ValueError(f"`{record.name}` has no default search range; give a value, range or choices.")
            value = tuple(record.search)
        return cls(
            name or record.name, value, record.kind, record.sampling, record.step, default=record.recommended,
            argument=record.name, positive=record.positive,
        )

    def _in_range(self, value) -> bool:
        """Whether ``value`` is a valid default: inside the range, on the integer grid (never for fixed/choices)."""
        if self.low is None or not _is_number(value) or not self.low <= value <= self.high:
            return False
        if self.kind != "int":
            return True
        if float(value) != int(value):
            return False
        step = self.step or 1
        if self.sampling == "log" and step > 1:
            candidate = self.low
            while candidate < value:
                candidate *= step
            return candidate == value
        return (int(value) - self.low) % step == 0

    def declare(self, hp: keras_tuner.HyperParameters):
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
        """A short description: ``"30"``, ``"{16, 32}"`` or ``"[10, 100] log"``."""
        if self.fixed is not None:
            return f"{self.fixed:g}"
        if self.choices is not None:
            return "{" + ", ".join(f"{c:g}" for c in self.choices) + "}"
        return f"[{self.low:g}, {self.high:g}]" + (" log" if self.sampling == "log" else "")

    def __repr__(self) -> str:
        return f"SearchSpec({self.name!r}, {self.describe()})"


def make_specs(given: Mapping[str, Any], space: Mapping[str, tuple], untuned_when_none: Iterable[str] = ()) -> dict:
    """Turn the user's constructor values into :class:`SearchSpec` entries over the default ``space``.

    Args:
        given: name -> ``None`` (default range), a number (fixed), a ``(low, high)`` tuple or a list (choices).
        space: the default ranges, name -> ``(kind, low, high, sampling, step)`` as in :data:`SHARED_SEARCH_SPACE`.
        untuned_when_none: names that are not hyperparameters at all unless given (e.g. a per-family learning rate
            replaces ``learning_rate`` unless the user gives one).

    Returns:
        name -> :class:`SearchSpec`, without the names of ``untuned_when_none`` left at ``None``.

    Raises:
        ValueError: naming ``given`` or ``space`` when they are no mappings, or ``given`` when it names an entry
            that ``space`` lacks; a bad value is named by its own name.
    """
    for argument, mapping in (("given", given), ("space", space)):
        if not isinstance(mapping, Mapping):
            raise ValueError(f"`{argument}` must be a mapping (dict), got {type(mapping).__name__}.")
    unknown = sorted(str(name) for name in given if name not in space)
    if unknown:
        raise ValueError(f"`given` names {unknown}, which `space` does not define; it defines {sorted(space)}.")
    untuned = set(untuned_when_none)
    specs = {}
    for name, value in given.items():
        if value is None and name in untuned:
            continue
        kind, low, high, sampling, step = space[name]
        specs[name] = SearchSpec(name, (low, high) if value is None else value, kind, sampling, step)
    return specs


def check_schedule(schedule: str, total_steps: int | None) -> tuple[str, int | None]:
    """Validate a learning-rate ``schedule`` (:data:`keras_inr.training.SCHEDULES`) and its ``total_steps``.

    Raises:
        ValueError: for an unknown schedule, ``"cosine"`` without ``total_steps``, or a non-positive ``total_steps``.
    """
    check_choice("schedule", schedule, SCHEDULES)
    if schedule == "cosine" and total_steps is None:
        raise ValueError("`total_steps` (optimiser steps per trial) is required with schedule='cosine'.")
    return schedule, None if total_steps is None else check_positive_int("total_steps", total_steps)


def check_jit_compile(jit_compile):
    """Validate ``model.compile``'s ``jit_compile`` as hypermodels take it: ``True``, ``False`` or ``"auto"``.

    Raises:
        ValueError: naming ``jit_compile`` otherwise.
    """
    if not (isinstance(jit_compile, bool) or jit_compile == "auto"):
        raise ValueError(f"`jit_compile` must be True, False or 'auto', got {jit_compile!r}.")
    return jit_compile


def check_families(families) -> tuple[str, ...]:
    """Validate a family list: a non-empty sequence of distinct registered family names (:mod:`keras_inr.families`).

    Also accepts a comma-separated string (``"siren,ffn"``), as given on the command line, and aliases (``"sine"``).

    Returns:
        The canonical names, in the given order.

    Raises:
        ValueError: naming ``families`` for an empty list, an unknown name or a repeated name.
    """
    return inr_families.check_names(families, "families")


def default_families() -> tuple[str, ...]:
    """The families :class:`INRHyperModel` searches by default (:func:`keras_inr.families.searched_by_default`)."""
    return inr_families.searched_by_default()


def declare_choice(hp: keras_tuner.HyperParameters, name: str, options: Sequence[str]) -> str:
    """Declare ``name`` as a ``Choice`` of ``options`` (``Fixed`` for a single option) and check the value.

    Raises:
        ValueError: naming ``hp``, ``name`` or ``options`` when invalid, or if the value is not one of ``options``
            (e.g. an ``hp.Fixed`` given to the tuner for another one).
    """
    _check_hp(hp)
    _check_name("name", name)
    if isinstance(options, str) or not isinstance(options, Sequence) or not options:
        raise ValueError(f"`options` must be a non-empty sequence of values, got {options!r}.")
    value = hp.Choice(name, list(options)) if len(options) > 1 else hp.Fixed(name, options[0])
    if value not in options:
        raise ValueError(f"hyperparameter `{name}`={value!r} is not one of this hypermodel's {tuple(options)}.")
    return value


def declare_conditional(
    hp: keras_tuner.HyperParameters,
    parent: str,
    active: str,
    specs_of: Mapping[str, Mapping[str, SearchSpec]],
) -> dict[str, Any]:
    """Declare every option's hyperparameters in a scope active only when ``parent`` equals that option.

    Every option's entries are declared, not only the active one's, so the tuner's oracle knows the whole space from
    the first trial on; declarations for inactive options return ``None`` and are not used. The specs' names must
    differ between options: KerasTuner keeps values by name and drops the value of a name that is inactive in any
    scope (``HyperParameters.ensure_active_values``).

    Args:
        hp: the trial's hyperparameters.
        parent: the name of the ``Choice`` the scopes depend on (``"family"``, ``"head"``).
        active: its value in this trial.
        specs_of: option -> {key -> :class:`SearchSpec`}.

    Returns:
        The active option's values, key -> value.

    Raises:
        ValueError: naming ``hp``, ``parent``, ``specs_of`` or ``active`` (which must be one of its options).
    """
    _check_hp(hp)
    _check_name("parent", parent)
    if not isinstance(specs_of, Mapping):
        raise ValueError(
            f"`specs_of` must be a mapping option -> {{key -> SearchSpec}}, got {type(specs_of).__name__}."
        )
    if active not in specs_of:
        raise ValueError(f"`active` must be one of the options of `specs_of` {tuple(specs_of)}, got {active!r}.")
    active_values: dict[str, Any] = {}
    for option, specs in specs_of.items():
        with hp.conditional_scope(parent, [option]):
            values = {key: spec.declare(hp) for key, spec in specs.items()}
        if option == active:
            active_values = values
    return active_values


def _has_unconditional(hp: keras_tuner.HyperParameters, name: str) -> bool:
    """Whether ``hp`` already holds an entry ``name`` outside any conditional scope (e.g. an ``hp.Fixed`` or a
    narrower ``hp.Float`` that the user registered in the ``hyperparameters`` given to the tuner)."""
    return any(entry.name == name and not entry.conditions for entry in hp.space)


class _TrialDivergenceGuard(DivergenceGuard):
    """A :class:`~keras_inr.callbacks.DivergenceGuard` for tuner trials: it never raises, and it marks the diverged
    epoch's logs NaN, so that the callbacks after it (KerasTuner's checkpoint of the best epoch, the History) never
    take the weights it discarded for a result."""

    def __init__(self, **kwargs):
        super().__init__(raise_error=False, **kwargs)

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, logs)
        if self.diverged and logs is not None:
            for key, value in logs.items():
                if isinstance(value, numbers.Real) or hasattr(value, "shape"):
                    logs[key] = float("nan")


class TimedHyperModel(keras_tuner.HyperModel):
    """A ``keras_tuner.HyperModel`` whose :meth:`fit` logs the training time as ``fit_seconds`` and stops diverged
    trials.

    Subclasses implement ``build(hp)``; :func:`leaderboard` reports the logged time.
    """

    def fit(self, hp, model, *args, **kwargs):
        """Train ``model`` with ``model.fit`` and add its wall-clock time to the logs as ``fit_seconds``.

        Every epoch's ``fit_seconds`` entry holds the whole call's duration, so the trial's metrics (taken at its best
        epoch) report how long the trial trained. With Hyperband, a resumed trial counts only its own epochs.

        A :class:`keras_inr.callbacks.DivergenceGuard` (default ``factor``) runs before the other callbacks: when a
        trial's loss becomes NaN or infinite or explodes, training stops and the model gets back the weights of its
        last good epoch. The trial then reports only its good epochs (its score is the best of them, and KerasTuner's
        checkpoint never holds diverged weights); a trial diverged in its first epoch has no result and raises
        ``keras_tuner.errors.FailedTrialError`` with the guard's message, which KerasTuner records as a failed trial
        (``trial.message``) without retrying it, and the search goes on. (KerasTuner itself stops a search after
        ``max_consecutive_failed_trials`` failed trials in a row, 3 by default: a ``make_tuner`` keyword.) A
        ``DivergenceGuard`` in the callbacks given to ``search`` replaces the default one (e.g. for another
        ``factor``); in a trial it never raises.

        Raises:
            keras_tuner.errors.FailedTrialError: the trial diverged in its first epoch.
        """
        callbacks = list(kwargs.get("callbacks") or [])
        given = [callback for callback in callbacks if isinstance(callback, DivergenceGuard)]
        if given:
            guard = _TrialDivergenceGuard(factor=given[0].factor, monitor=given[0].monitor)
            callbacks = [guard if callback is given[0] else callback for callback in callbacks]
        else:
            guard = _TrialDivergenceGuard()
            callbacks.insert(0, guard)  # first: it restores the last good weights before a checkpoint is saved
        kwargs["callbacks"] = callbacks
        start = time.perf_counter()
        history = model.fit(*args, **kwargs)
        elapsed = time.perf_counter() - start
        if guard.diverged:
            good = [index for index, epoch in enumerate(history.epoch) if epoch < guard.error.restored_epoch]
            if not good:
                raise keras_tuner.errors.FailedTrialError(
                    f"{guard.error.summary} The trial has no good epoch; it is counted as failed."
                )
            history.epoch = [history.epoch[index] for index in good]
            history.history = {key: [values[index] for index in good] for key, values in history.history.items()}
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

    Raises:
        ValueError: naming ``family`` for a family that is not registered.
    """
    _check_name("family", family)
    return f"learning_rate_{inr_families.canonical(family, 'family')}"


def qualified_name(name: str, family: str) -> str:
    """The KerasTuner name ``"<name>_<family>"`` of hyperparameter ``name`` of ``family`` when several searched
    families have a hyperparameter of that name (e.g. ``w0_siren`` and ``w0_cosine``); see :class:`INRHyperModel`.

    Raises:
        ValueError: naming ``name`` or ``family`` unless both are non-empty strings.
    """
    return f"{_check_name('name', name)}_{_check_name('family', family)}"


def _registered(family) -> str | None:
    try:
        return inr_families.canonical(family, "family")
    except (ValueError, TypeError):
        return None


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
    family = _registered(values.get("family"))
    name = None if family is None else learning_rate_name(family)
    if name is None or values.get(name) is None:
        raise ValueError(
            "`hyperparameters` holds no learning rate ('learning_rate' or 'learning_rate_<family>'); got "
            f"{sorted(values)}."
        )
    return float(values[name])


def family_learning_rate_range(family: str) -> tuple[float, float, float]:
    """The default learning-rate range of ``family`` in :class:`INRHyperModel`: ``(low, high, centre)``.

    The centre is the family's recommended rate (:func:`keras_inr.training.recommended`, from the family registry:
    SIREN and Gaussian 1e-3, Fourier features 3e-3) and the range spans one decade either side of it, sampled on a
    log scale. The centre is also the value KerasTuner uses when it does not tune the learning rate.

    Raises:
        ValueError: naming ``family`` for a family that is not registered.
    """
    centre = float(recommended(family)["learning_rate"])
    return centre / 10.0, centre * 10.0, centre


def _tied_to(family: inr_families.Family, record: inr_families.Hyperparameter) -> str | None:
    """The hyperparameter an optional first-layer one falls back to (``first_w0`` -> ``w0``), if any."""
    if record.applies_to != "first":
        return None
    for other in family.hyperparameters.values():
        if other.applies_to == "hidden" and other.argument == record.argument:
            return other.name
    return None


class INRHyperModel(TimedHyperModel):
    """A KerasTuner search space over INR families and their hyperparameters, read from the family registry.

    Hyperparameters (KerasTuner names; family ones live in a conditional scope on ``family``):

    ==================  ==========  ======================================================================
    name                families    default range
    ==================  ==========  ======================================================================
    ``family``          --          ``Choice(families)``
    ``width``           all         32 .. 256, log, powers of two from the low end (32, 64, 128, 256)
    ``depth``           all         2 .. 5
    ``learning_rate_*`` each        one per family (``learning_rate_siren``, ...): one decade either side of
                                    the family's recommended rate, log: siren 1e-4 .. 1e-2, gauss
                                    1e-4 .. 1e-2, ffn 3e-4 .. 3e-2 (Adam; ``schedule`` below); see
                                    :func:`family_learning_rate_range`. Replaced by one shared
                                    ``learning_rate`` when the user gives one.
    family ones         each        every hyperparameter of the family's registry record
                                    (:mod:`keras_inr.families`) that has a ``search`` range, with the record's
                                    kind, sampling and step; the built-in ones are
                                    ``w0`` (siren) 10 .. 100 log, ``first_w0`` (siren) tied to ``w0`` unless
                                    given, ``inverse_scale`` (gauss) 3 .. 30 log, ``scale`` (ffn) 1 .. 50 log,
                                    ``num_features`` (ffn) 64 .. 256 in powers of two
    ==================  ==========  ======================================================================

    A family hyperparameter is declared under its own name (``w0``) when only one searched family has it. When
    several searched families share a name (SIREN's and a user family's ``w0``), each family's entry is declared as
    ``<name>_<family>`` (:func:`qualified_name`: ``w0_siren``, ``w0_cosine``), because KerasTuner keeps one value per
    name. :func:`model_arguments` maps either form back to the model's keyword. Hyperparameters without a search
    range, and optional ones such as ``first_w0``, keep the family's default unless given. When KerasTuner does not
    tune an entry, it uses the record's recommended value (if inside the range).

    By default every family has its own learning rate (:func:`learning_rate_name`, in the family's conditional
    scope), centred on :func:`keras_inr.training.recommended`. A ``learning_rate`` given here, or a
    ``learning_rate`` entry (``hp.Fixed`` or a narrower ``hp.Float``) in the ``hyperparameters`` given to the tuner,
    replaces them by one shared ``learning_rate`` for every family. An unconditional entry registered on the tuner
    under a family hyperparameter's plain name (``hp.Fixed("w0", 30.0)``) likewise applies to every family that has
    it. :func:`learning_rate_of` reads a trial's rate in either case.

    Each keyword narrows or fixes one hyperparameter: ``None`` keeps the default, a number fixes the value, a
    ``(low, high)`` tuple narrows the range (keeping the record's sampling: log for scales, factors of two for
    ``width`` / ``num_features``), a list of numbers is a choice. A family hyperparameter given here applies to every
    searched family that has it. The standard KerasTuner way also works: build a ``keras_tuner.HyperParameters``,
    call ``hp.Fixed("w0", 30.0)`` (or ``hp.Fixed("family", "siren")``, or define a narrower ``hp.Float``) and pass
    it to the tuner as ``hyperparameters=hp`` (with ``tune_new_entries=True``).

    Args:
        out_dims (int): channels of the signal (1 grey, 3 RGB).
        families (sequence of str or str, optional): registered families to search (names or aliases, or a
            comma-separated string); ``None`` for :func:`default_families` (``("siren", "gauss", "ffn")``).
        width, depth, learning_rate: shared hyperparameters (``None``, number, ``(low, high)`` or list; see above).
        in_dims (int): coordinate dimensionality (2 for images); models are built at once, so KerasTuner can count
            their parameters (``max_model_size``) and reload them.
        schedule (str): learning-rate schedule, ``"constant"`` or ``"cosine"`` (needs ``total_steps``).
        total_steps (int, optional): optimiser steps of one trial, for ``schedule="cosine"``.
        seed (int, optional): seed of the models of families with a random encoding (``Family.seeded``: the
            Fourier-feature frequency matrix), the same in every trial; an integer in ``[0, 2**32 - 1]`` or ``None``.
        jit_compile (bool or "auto"): passed to ``model.compile``; ``False`` skips XLA compilation, which is faster
            for searches of only a few steps per trial.
        name (str, optional), tunable (bool): ``keras_tuner.HyperModel`` arguments.
        **hyperparameters: family hyperparameters by name (``w0=(10, 60)``, ``scale=5.0``, ``num_features=[64,
            128]``, ``first_w0=(10, 100)``): ``None``, a number, a ``(low, high)`` tuple or a list, as above.

    Shapes:
        the built models map ``(N, in_dims)`` coordinates to ``(N, out_dims)`` values.

    Raises:
        ValueError: for unknown, repeated or empty ``families``; a keyword that is no hyperparameter of any registered
            family, or one of a family not in ``families``; a range with low > high, a non-positive value, etc.
    """

    def __init__(
        self,
        out_dims: int,
        families: Sequence[str] | str | None = None,
        *,
        width=None,
        depth=None,
        learning_rate=None,
        in_dims: int = 2,
        schedule: str = "constant",
        total_steps: int | None = None,
        seed: int | None = 0,
        jit_compile="auto",
        name: str | None = None,
        tunable: bool = True,
        **hyperparameters,
    ):
        super().__init__(name=_check_name("name", name, allow_none=True), tunable=check_bool("tunable", tunable))
        self.jit_compile = check_jit_compile(jit_compile)
        self.out_dims = check_positive_int("out_dims", out_dims)
        self.in_dims = check_positive_int("in_dims", in_dims)
        self.families = check_families(default_families() if families is None else families)
        self.schedule, self.total_steps = check_schedule(schedule, total_steps)
        self.seed = check_seed("seed", seed)
        #: The family hyperparameters the user gave (name -> number, range or choices; ``None`` ones left out).
        self.family_hyperparameters = self._check_hyperparameters(hyperparameters)
        # `learning_rate` left at None becomes one range per family below.
        self.specs: dict[str, SearchSpec] = make_specs(
            {"width": width, "depth": depth, "learning_rate": learning_rate}, SHARED_SEARCH_SPACE,
            untuned_when_none=("learning_rate",),
        )
        #: family -> {hyperparameter name -> SearchSpec (named as declared to KerasTuner)}.
        self.family_specs: dict[str, dict[str, SearchSpec]] = {}
        #: family -> {hyperparameter name -> a short note} for the family hyperparameters that are not searched.
        self.untuned: dict[str, dict[str, str]] = {}
        # Which family hyperparameters are searched (they have a range, or the user gave one) ...
        searched: dict[str, list[str]] = {}
        for family_name in self.families:
            family = inr_families.get(family_name)
            self.untuned[family_name] = {}
            for key, record in family.hyperparameters.items():
                if key in _RESERVED_NAMES:
                    raise ValueError(
                        f"family {family_name!r} has a hyperparameter named {key!r}, which INRHyperModel declares "
                        f"itself; it cannot search family {family_name!r}."
                    )
                if self.family_hyperparameters.get(key) is None and (record.optional or record.search is None):
                    tied = _tied_to(family, record) if record.default is None else None
                    self.untuned[family_name][key] = (
                        f"= {tied}" if tied else f"= {_format_value(record.default)} (not searched)"
                    )
                else:
                    searched.setdefault(key, []).append(family_name)
        # ... and under which name: the plain one, or <name>_<family> when several searched families share it.
        declared = set(self.specs) | {learning_rate_name(family_name) for family_name in self.families}
        for family_name in self.families:
            family = inr_families.get(family_name)
            self.family_specs[family_name] = {}
            for key, record in family.hyperparameters.items():
                if key in self.untuned[family_name]:
                    continue
                tuner_name = key if len(searched[key]) == 1 else qualified_name(key, family_name)
                if tuner_name in declared:
                    raise ValueError(
                        f"hyperparameter {key!r} of family {family_name!r} would be declared as {tuner_name!r}, a "
                        "name already in the search space; search these families separately."
                    )
                declared.add(tuner_name)
                self.family_specs[family_name][key] = SearchSpec.from_hyperparameter(
                    record, self.family_hyperparameters.get(key), tuner_name
                )
        #: family -> its own learning-rate range, used when the user did not give a shared ``learning_rate``.
        self.family_learning_rates: dict[str, SearchSpec] = {}
        for family_name in self.families:
            low, high, centre = family_learning_rate_range(family_name)
            self.family_learning_rates[family_name] = SearchSpec(
                learning_rate_name(family_name), (low, high), "float", "log", None, default=centre
            )

    def _check_hyperparameters(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """Check that every keyword names a hyperparameter of a searched family; return the non-``None`` ones."""
        every = inr_families.hyperparameter_owners()
        searched = inr_families.hyperparameter_owners(self.families)
        checked = {}
        for key, value in given.items():
            if key not in every:
                raise ValueError(
                    f"INRHyperModel got an unknown keyword argument `{key}`: it takes `width`, `depth`, "
                    f"`learning_rate`, the hyperparameters of the registered families {sorted(every)} and "
                    "keras_tuner.HyperModel's `name` and `tunable`."
                )
            if value is None:
                continue
            if key not in searched:
                owners = every[key]
                which = f"family {owners[0]!r}, which is" if len(owners) == 1 else f"families {owners}, which are"
                raise ValueError(f"`{key}` is a hyperparameter of {which} not in `families` {self.families}.")
            checked[key] = value
        return checked

    def build(self, hp: keras_tuner.HyperParameters) -> keras.Model:
        """Sample one model: declare the hyperparameters on ``hp``, build the family's model and compile it.

        Returns:
            A built keras-inr model compiled with Adam and the PSNR metric.
        """
        family = declare_choice(hp, "family", self.families)
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
        # A family hyperparameter registered on the tuner without condition (hp.Fixed("w0", 30.0)) applies as is.
        given_on_tuner = {
            key for candidate in self.families for key in inr_families.get(candidate).hyperparameters
            if _has_unconditional(hp, key)
        }
        family_specs = {
            candidate: {key: spec for key, spec in self.family_specs[candidate].items() if key not in given_on_tuner}
            for candidate in self.families
        }
        if not shared_learning_rate:
            for candidate in self.families:
                family_specs[candidate]["learning_rate"] = self.family_learning_rates[candidate]
        family_kwargs = declare_conditional(hp, "family", family, family_specs)
        if not shared_learning_rate:
            learning_rate = family_kwargs.pop("learning_rate")
        for key in given_on_tuner & set(inr_families.get(family).hyperparameters):
            family_kwargs[key] = hp.get(key)
        if inr_families.get(family).seeded:
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
        """A one-line-per-hyperparameter description of the space this hypermodel searches, e.g.
        ``"w0 (siren): [10, 100] log"`` and ``"first_w0 (siren): = w0"``."""
        lines = [f"family: {', '.join(self.families)}"]
        for name in ("width", "depth", "learning_rate"):
            if name in self.specs:
                lines.append(f"{name}: {self.specs[name].describe()}")
        for family in self.families:
            if "learning_rate" not in self.specs:
                lines.append(f"{learning_rate_name(family)}: {self.family_learning_rates[family].describe()}")
            for key in inr_families.get(family).hyperparameters:
                if key in self.family_specs[family]:
                    spec = self.family_specs[family][key]
                    lines.append(f"{spec.name} ({family}): {spec.describe()}")
                else:
                    lines.append(f"{key} ({family}): {self.untuned[family][key]}")
        return "\n".join(lines)


def model_arguments(hyperparameters) -> tuple[str, dict, float]:
    """Split tuned values into ``(family, model keyword arguments, learning_rate)``.

    Args:
        hyperparameters: a ``keras_tuner.HyperParameters`` (e.g. ``tuner.get_best_hyperparameters()[0]``) or its
            ``values`` dict.

    Returns:
        ``family`` and the keyword arguments such that ``build_model(family, out_dims, **kwargs)`` rebuilds the
        architecture (qualified names such as ``w0_siren`` mapped back to ``w0``; inactive entries and KerasTuner's
        ``tuner/...`` bookkeeping dropped), and the learning rate.

    Raises:
        ValueError: without a ``family`` entry, for a family that is not registered, or without a learning rate.
    """
    values = _values_of(hyperparameters)
    if "family" not in values:
        raise ValueError(f"`hyperparameters` has no 'family' entry; got {sorted(values)}.")
    family = inr_families.get(values["family"], "family")
    kwargs = {name: values[name] for name in ("width", "depth") if values.get(name) is not None}
    for key in family.hyperparameters:
        for candidate in (qualified_name(key, family.name), key):
            if values.get(candidate) is not None:
                kwargs[key] = values[candidate]
                break
    return family.name, kwargs, learning_rate_of(values)


def make_tuner(
    hypermodel: keras_tuner.HyperModel,
    tuner: str = "random",
    *,
    max_trials: int = 10,
    max_epochs: int = 10,
    directory: str = "keras_inr_tuning",
    project_name: str = "inr",
    seed: int | None = 0,
    overwrite: bool | None = None,
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
        overwrite: what to do with a search stored in ``directory/project_name`` (KerasTuner's ``oracle.json``,
            ``tuner*.json`` and ``trial_*`` folders). ``None`` (the default) starts a new search when there is
            none and refuses (``ValueError``) when there is one, so re-running a script never wipes a search by
            accident; ``False`` resumes the stored search (KerasTuner reloads its trials and continues up to
            ``max_trials``; give the same hypermodel); ``True`` deletes it and starts afresh -- only the files
            KerasTuner writes (:func:`clear_tuner_project`): a project folder that also holds
            other files is refused and nothing is deleted (KerasTuner's own ``overwrite=True`` deletes the whole
            folder). KerasTuner's tuner classes resume by default; keras-inr asks instead.
        hyperparameters: optional ``keras_tuner.HyperParameters`` holding fixed or narrowed entries.
        tune_new_entries: whether hyperparameters not in ``hyperparameters`` are searched (``True``) or left at
            their defaults.
        **kwargs: further arguments of the tuner class (``executions_per_trial``, ``max_model_size``, ...).

    Raises:
        ValueError: for an unknown tuner, a non-positive ``max_trials``/``max_epochs``, a fixed ``family`` that
            the hypermodel does not search, or a bad ``directory``, ``project_name``, ``seed``, ``overwrite``,
            ``hyperparameters`` or ``tune_new_entries`` (each named); naming ``overwrite`` when
            ``directory/project_name`` holds a stored search and ``overwrite`` is ``None``, or when ``overwrite=True``
            would have to delete files KerasTuner did not write.
    """
    check_choice("tuner", tuner, tuple(TUNERS))
    if not isinstance(hypermodel, keras_tuner.HyperModel):
        raise ValueError(f"`hypermodel` must be a keras_tuner.HyperModel, got {type(hypermodel).__name__}.")
    directory = check_path("directory", directory)
    _check_name("project_name", project_name)
    seed = check_seed("seed", seed)
    if overwrite is not None:
        overwrite = check_bool("overwrite", overwrite)
    tune_new_entries = check_bool("tune_new_entries", tune_new_entries)
    if hyperparameters is not None and not isinstance(hyperparameters, keras_tuner.HyperParameters):
        raise ValueError(
            f"`hyperparameters` must be a keras_tuner.HyperParameters or None, got {type(hyperparameters).__name__}."
        )
    if hyperparameters is not None and hasattr(hypermodel, "searched_choices"):
        plurals = {"family": "families", "head": "heads"}
        for name, options in hypermodel.searched_choices().items():
            fixed = hyperparameters.values.get(name)
            if fixed is not None and fixed not in options:
                raise ValueError(
                    f"`hyperparameters` fixes {name}={fixed!r}, which the hypermodel does not search; its "
                    f"{plurals.get(name, name + 's')} are {options}."
                )
    if tuner == "hyperband":
        max_epochs = check_positive_int("max_epochs", max_epochs)
        if max_epochs < 2:
            raise ValueError(f"`max_epochs` must be at least 2 for Hyperband, got {max_epochs}.")
        budget = {"max_epochs": max_epochs}
    else:
        budget = {"max_trials": check_positive_int("max_trials", max_trials)}
    _prepare_project(directory / project_name, overwrite)  # after every check: a bad argument deletes nothing
    common = dict(
        hypermodel=hypermodel, objective=OBJECTIVE, directory=str(directory), project_name=project_name,
        seed=seed, overwrite=False, hyperparameters=hyperparameters, tune_new_entries=tune_new_entries, **kwargs,
    )
    return TUNERS[tuner](**budget, **common)


#: What KerasTuner writes into a project folder (``directory/project_name``;
#: ``keras-inr tune``'s ``--out``/tuner): name patterns of its top-level files, of its trial
#: folders, and of the files in a trial folder. ``overwrite=True`` (``--overwrite``) deletes these, and nothing else.
TUNER_FILES = {
    "project": (r"oracle\.json", r"tuner\d*\.json"),
    "trial_folder": (r"trial_[0-9A-Za-z]+",),
    "trial": (r"trial\.json", r"build_config\.json", r"checkpoint(\.weights\.h5)?", r"checkpoint_temp.*"),
}


def _matches(name: str, patterns) -> bool:
    return any(re.fullmatch(pattern, name) for pattern in patterns)


def tuner_project_files(project: Path) -> tuple[list[Path], list[str]]:
    """``(KerasTuner's files and trial folders in project, names of anything else)`` (see :data:`TUNER_FILES`)."""
    ours, others = [], []
    for path in sorted(project.iterdir()):
        if path.is_file() and _matches(path.name, TUNER_FILES["project"]):
            ours.append(path)
        elif path.is_dir() and _matches(path.name, TUNER_FILES["trial_folder"]):
            for inner in sorted(path.iterdir()):
                if inner.is_file() and _matches(inner.name, TUNER_FILES["trial"]):
                    ours.append(inner)
                else:
                    others.append(f"{path.name}/{inner.name}")
            ours.append(path)  # after its files
        else:
            others.append(path.name)
    return ours, others


def clear_tuner_project(project: Path, flag: str = "`overwrite`", where: str = "`directory`/`project_name`") -> int:
    """Delete the files KerasTuner wrote in the folder ``project`` (:data:`TUNER_FILES`), and nothing else.

    The folder itself stays. Unlike KerasTuner's own ``overwrite=True`` (which deletes the whole project folder),
    this refuses when the folder holds anything KerasTuner does not write, and then deletes nothing.

    Args:
        project: a KerasTuner project folder (``directory/project_name``); a missing folder holds nothing.
        flag, where: how the option that asked for the deletion and the location are called, for the message.

    Returns:
        The number of files and trial folders deleted.

    Raises:
        ValueError: naming ``flag`` when ``project`` holds other files (listed); nothing is deleted then; naming
            ``project`` when it is not a path.
    """
    project = check_path("project", project)
    if not project.is_dir():
        return 0
    ours, others = tuner_project_files(project)
    if others:
        raise ValueError(
            f"{flag} deletes only the files KerasTuner writes, but {project} also holds "
            f"{', '.join(others)}; move them or choose another {where}. Nothing was deleted."
        )
    for path in ours:
        path.rmdir() if path.is_dir() else path.unlink()
    return len(ours)


def stored_search(project) -> list[str]:
    """The names of what KerasTuner stored in the project folder ``project`` (``directory/project_name``):
    ``oracle.json``, ``tuner*.json`` and ``trial_*`` folders; ``[]`` when it holds no search (or does not exist).

    Raises:
        ValueError: naming ``project`` when it is not a path.
    """
    project = check_path("project", project)
    if not project.is_dir():
        return []
    ours, _ = tuner_project_files(project)
    return sorted({path.relative_to(project).parts[0] for path in ours})


def _prepare_project(project: Path, overwrite: bool | None) -> None:
    """Apply :func:`make_tuner`'s ``overwrite`` to the project folder ``project`` (see its docstring)."""
    stored = stored_search(project)
    if not stored or overwrite is False:
        return
    if overwrite is None:
        trials = sum(name.startswith("trial_") for name in stored)
        raise ValueError(
            f"`directory`/`project_name` {str(project)!r} already holds a KerasTuner search ({trials} trial "
            f"folder(s)); pass overwrite=False to resume it, overwrite=True to delete it and start afresh, or "
            "choose another `project_name`."
        )
    clear_tuner_project(project, "`overwrite`=True", "`directory`/`project_name`")


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

    Raises:
        ValueError: naming ``tuner`` or ``num_trials`` when invalid.
    """
    _check_tuner(tuner)
    if num_trials is not None:
        num_trials = check_positive_int("num_trials", num_trials)
    trials = [trial for trial in tuner.oracle.trials.values() if trial.status == "COMPLETED"]
    finite = [trial for trial in trials if trial.score is not None and np.isfinite(trial.score)]
    others = [trial for trial in trials if trial not in finite]
    ranked = sorted(finite, key=lambda trial: trial.score, reverse=True) + others  # diverged trials last
    if num_trials is not None:
        ranked = ranked[:num_trials]
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
    """Render :func:`leaderboard` rows as a fixed-width text table (rank, family, val PSNR, time, hyperparameters).

    Raises:
        ValueError: naming ``rows`` unless it is an iterable of dicts with the keys :func:`leaderboard` gives.
    """
    if isinstance(rows, (str, bytes, Mapping)) or not isinstance(rows, Iterable):
        raise ValueError(f"`rows` must be a list of leaderboard() rows, got {type(rows).__name__}.")
    rows = list(rows)
    needed = {"family", "val_psnr", "seconds", "hyperparameters"}
    for index, row in enumerate(rows):
        if not isinstance(row, Mapping) or not needed <= set(row):
            raise ValueError(
                f"`rows` must hold leaderboard() rows (dicts with keys {sorted(needed)}); row {index} is {row!r}."
            )
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
        ValueError: naming ``tuner`` when it is no tuner or has no completed trial.
    """
    _check_tuner(tuner)
    if not any(trial.status == "COMPLETED" for trial in tuner.oracle.trials.values()):
        raise ValueError("`tuner` has no completed trial; run `tuner.search(...)` first.")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
        return tuner.get_best_models(num_models=1)[0]
