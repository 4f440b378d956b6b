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
    ...              validation_data=training.full_batch(val_x, val_y, 1))  # doctest: +SKIP
    >>> print(tuning.format_leaderboard(tuning.leaderboard(tuner)))  # doctest: +SKIP
"""

from __future__ import annotations

import math
import warnings
import numbers
import time
from typing import Any, Iterable, Sequence

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
from keras_inr.training import SCHEDULES, compile_inr
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

    def __init__(self, name: str, value, kind: str, sampling: str, step):
        self.name, self.kind, self.sampling, self.step = name, kind, sampling, step
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
            return hp.Int(self.name, self.low, self.high, step=self.step or 1, sampling=self.sampling)
        return hp.Float(self.name, self.low, self.high, sampling=self.sampling)

    def describe(self) -> str:
        if self.fixed is not None:
            return f"{self.fixed:g}"
        if self.choices is not None:
            return "{" + ", ".join(f"{c:g}" for c in self.choices) + "}"
        return f"[{self.low:g}, {self.high:g}]" + (" log" if self.sampling == "log" else "")


def check_families(families) -> tuple[str, ...]:
    """Validate a family list: a non-empty sequence of distinct names from :data:`keras_inr.models.FAMILIES`.

    Also accepts a comma-separated string (``"siren,ffn"``), as given on the command line.

    Raises:
        ValueError: for an empty list, an unknown name or a repeated name.
    """
    if isinstance(families, str):
        families = [name.strip() for name in families.split(",") if name.strip()]
    try:
        families = tuple(families)
    except TypeError:
        raise ValueError(f"`families` must be a sequence of family names, got {families!r}.") from None
    if not families:
        raise ValueError(f"`families` must name at least one family of {tuple(FAMILIES)}, got an empty list.")
    for family in families:
        if family not in FAMILIES:
            raise ValueError(f"`families` must hold names from {tuple(FAMILIES)}, got unknown family {family!r}.")
    if len(set(families)) != len(families):
        raise ValueError(f"`families` must not repeat a name, got {families!r}.")
    return families


class INRHyperModel(keras_tuner.HyperModel):
    """A KerasTuner search space over INR families and their hyperparameters.

    Hyperparameters (KerasTuner names; family ones live in a conditional scope on ``family``):

    ==================  ==========  ======================================================================
    name                families    default range
    ==================  ==========  ======================================================================
    ``family``          --          ``Choice(families)``
    ``width``           all         32 .. 256, log, powers of two from the low end (32, 64, 128, 256)
    ``depth``           all         2 .. 5
    ``learning_rate``   all         1e-4 .. 1e-2, log (Adam; ``schedule`` below)
    ``w0``              siren       10 .. 100, log (omega_0 of the hidden layers)
    ``first_w0``        siren       tied to ``w0`` unless given (omega_0 of the first layer)
    ``inverse_scale``   gauss       3 .. 30, log
    ``scale``           ffn         1 .. 50, log (std of the Fourier frequencies for [-1, 1] coordinates)
    ``num_features``    ffn         64 .. 256, log, powers of two (64, 128, 256)
    ==================  ==========  ======================================================================

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
        self.specs: dict[str, _Spec] = {}
        for name, value in given.items():
            if name == "first_w0" and value is None:
                continue  # tied to w0, not searched
            kind, low, high, sampling, step = DEFAULT_SEARCH_SPACE[name]
            self.specs[name] = _Spec(name, (low, high) if value is None else value, kind, sampling, step)
        self.tie_first_w0 = first_w0 is None

    def build(self, hp: "keras_tuner.HyperParameters") -> keras.Model:
        """Sample one model: declare the hyperparameters on ``hp``, build the family's model and compile it.

        Returns:
            A built keras-inr model compiled with Adam and the PSNR metric.
        """
        if len(self.families) > 1:
            family = hp.Choice("family", list(self.families))
        else:
            family = hp.Fixed("family", self.families[0])
        if family not in self.families:  # e.g. hp.Fixed("family", ...) outside `families` given to the tuner
            raise ValueError(f"hyperparameter `family`={family!r} is not one of this hypermodel's {self.families}.")
        width = self.specs["width"].declare(hp)
        depth = self.specs["depth"].declare(hp)
        learning_rate = self.specs["learning_rate"].declare(hp)
        family_kwargs: dict[str, Any] = {}
        for candidate in self.families:
            # Every family's hyperparameters are declared, each in a scope active only when `family` is that family,
            # so the tuner's oracle knows the whole space from the first trial on. The body runs for inactive
            # families too; their hyperparameters then return None and are not used.
            with hp.conditional_scope("family", [candidate]):
                values = {
                    name: self.specs[name].declare(hp)
                    for name in FAMILY_HYPERPARAMETERS[candidate]
                    if name in self.specs
                }
            if candidate == family:
                family_kwargs = values
        if family == "ffn":
            family_kwargs["seed"] = self.seed
        model = build_model(
            family, self.out_dims, width=width, depth=depth, in_dims=self.in_dims, name=family, **family_kwargs
        )
        return compile_inr(
            model, learning_rate=learning_rate, schedule=self.schedule, total_steps=self.total_steps,
            jit_compile=self.jit_compile,
        )

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

    def search_space_summary(self) -> str:
        """A one-line-per-hyperparameter description of the space this hypermodel searches."""
        lines = [f"family: {', '.join(self.families)}"]
        for name in ("width", "depth", "learning_rate"):
            lines.append(f"{name}: {self.specs[name].describe()}")
        for family in self.families:
            for name in FAMILY_HYPERPARAMETERS[family]:
                if name in self.specs:
                    lines.append(f"{name} ({family}): {self.specs[name].describe()}")
                elif name == "first_w0":
                    lines.append(f"first_w0 ({family}): = w0")
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
    values = hyperparameters.values if hasattr(hyperparameters, "values") else dict(hyperparameters)
    if "family" not in values:
        raise ValueError(f"`hyperparameters` has no 'family' entry; got {sorted(values)}.")
    family = values["family"]
    check_choice("family", family, tuple(FAMILIES))
    allowed = {"width", "depth", *FAMILY_HYPERPARAMETERS[family]}
    kwargs = {name: value for name, value in values.items() if name in allowed and value is not None}
    return family, kwargs, float(values.get("learning_rate", float("nan")))


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
    if hyperparameters is not None and isinstance(hypermodel, INRHyperModel):
        fixed_family = hyperparameters.values.get("family")
        if fixed_family is not None and fixed_family not in hypermodel.families:
            raise ValueError(
                f"`hyperparameters` fixes family={fixed_family!r}, which the hypermodel does not search; its "
                f"families are {hypermodel.families}."
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
