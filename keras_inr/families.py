"""The INR family registry: everything keras-inr knows about a family, in one record.

A *family* is a hidden-layer class (a :class:`keras_inr.layers.CoordinateDense` subclass), optionally preceded by an
encoding, plus the facts that the rest of the library needs about it:

* its hyperparameters (:class:`Hyperparameter`): the default a model uses when none is given, the value keras-inr
  recommends for fitting signals, the KerasTuner search range and sampling, a help line;
* its recommended training settings (overrides of :data:`keras_inr.training.RECOMMENDED`, e.g. the learning rate);
* a title and the paper it comes from.

Everything else reads this registry: :func:`keras_inr.build_model`, ``CoordinateMLP(hidden=...)``,
:func:`keras_inr.training.recommended`, ``keras-inr fit --model`` and its options, ``keras-inr tune`` and
:class:`keras_inr.tuning.INRHyperModel`, the hypernetwork hypermodel, the recipes and the benchmarks. Registering a
family from your own code makes it available by name in all of them::

    import keras, keras_inr
    from keras import ops
    from keras_inr import families, layers

    @keras.saving.register_keras_serializable(package="my_lab")
    class CosineDense(layers.CoordinateDense):
        def __init__(self, units, w0=10.0, **kwargs):
            super().__init__(units, **kwargs)
            self.w0 = w0
        def activate(self, preactivation):
            return ops.cos(self.w0 * preactivation)
        def get_config(self):
            return {**super().get_config(), "w0": self.w0}

    families.register("cosine", CosineDense, defaults={"w0": 10.0}, search={"w0": (1.0, 50.0)})
    model = keras_inr.build_model("cosine", out_dims=1, width=32, depth=2, w0=5.0)

How each built-in default and recommended value was chosen is measured in BENCHMARKS.md ("Family defaults").
"""

from __future__ import annotations

import dataclasses
import importlib
import numbers
import re
import warnings
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

import keras

from keras_inr.layers.complex import ComplexGaborDense, RealGaborDense
from keras_inr.layers.dense import CoordinateDense, GaussianDense, SineDense
from keras_inr.layers.encodings import FourierFeatures
from keras_inr.validation import check_name_list, check_number

#: Where a hyperparameter goes: every hidden layer's constructor, the first hidden layer's only, or the encoding's.
APPLIES_TO = ("hidden", "first", "encoding")
SAMPLINGS = ("log", "linear")
#: The training settings a family may override (the keys of :data:`keras_inr.training.RECOMMENDED`).
TRAINING_KEYS = ("learning_rate", "schedule", "final_learning_rate_fraction", "beta_2", "epsilon")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_UNSET = object()


@dataclasses.dataclass(frozen=True)
class Hyperparameter:
    """One hyperparameter of a family.

    Attributes:
        name: the keyword argument of ``build_model`` / ``hidden_config`` (and of the KerasTuner search space).
        default: the value a model uses when none is given; ``None`` only for ``optional`` ones.
        recommended: the value keras-inr recommends for fitting signals (``keras-inr fit``,
            :func:`keras_inr.fitting.fit_signal`, the recipes); defaults to ``default``.
        search: ``(low, high)`` range of the tuner, or ``None`` for a value the tuner does not search unless the user
            gives a range.
        sampling: ``"log"`` (scales: frequencies, widths) or ``"linear"``.
        step: for integers, the step (linear) or factor (log) between values; ``None`` for 1 / no factor.
        kind: ``"float"`` or ``"int"`` (inferred from ``default`` when not given).
        help: a one-line description (command-line help, docs).
        applies_to: ``"hidden"`` (every hidden layer's keyword ``argument``), ``"first"`` (the first hidden layer's
            keyword ``argument``, overriding the ``"hidden"`` value there), ``"encoding"`` (the family's encoding).
        argument: the constructor keyword it sets; defaults to ``name``.
        optional: whether ``None`` is a valid value (e.g. SIREN's ``first_w0``: ``None`` ties it to ``w0``).
        positive: whether values must be positive.
    """

    name: str
    default: Any
    recommended: Any = _UNSET
    search: tuple | None = None
    sampling: str = "log"
    step: int | None = None
    kind: str | None = None
    help: str = ""
    applies_to: str = "hidden"
    argument: str | None = None
    optional: bool = False
    positive: bool = True

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise ValueError(f"`name` of a hyperparameter must be a Python identifier, got {self.name!r}.")
        if self.applies_to not in APPLIES_TO:
            raise ValueError(f"`applies_to` of {self.name!r} must be one of {APPLIES_TO}, got {self.applies_to!r}.")
        if self.sampling not in SAMPLINGS:
            raise ValueError(f"`sampling` of {self.name!r} must be one of {SAMPLINGS}, got {self.sampling!r}.")
        kind = self.kind
        if kind is None:
            sample = self.default if self.default is not None else self.recommended
            kind = "int" if isinstance(sample, numbers.Integral) and not isinstance(sample, bool) else "float"
        if kind not in ("float", "int"):
            raise ValueError(f"`kind` of {self.name!r} must be 'float' or 'int', got {kind!r}.")
        object.__setattr__(self, "kind", kind)
        if self.argument is None:
            object.__setattr__(self, "argument", self.name)
        object.__setattr__(self, "default", self.check(self.default, f"default of {self.name!r}"))
        recommended = self.default if self.recommended is _UNSET else self.recommended
        object.__setattr__(self, "recommended", self.check(recommended, f"recommended value of {self.name!r}"))
        if self.search is not None:
            object.__setattr__(self, "search", self._check_search(self.search))

    def check(self, value, what: str | None = None):
        """Return ``value`` converted to this hyperparameter's kind, or raise ``ValueError`` naming it."""
        what = what or f"`{self.name}`"
        if value is None:
            if self.optional:
                return None
            raise ValueError(f"{what} must be a number, got None.")
        return check_number(what, value, self.kind, self.positive)

    def _check_search(self, search) -> tuple:
        if not isinstance(search, (tuple, list)) or len(search) != 2:
            raise ValueError(f"search range of {self.name!r} must be a (low, high) tuple, got {search!r}.")
        low = self.check(search[0], f"search low of {self.name!r}")
        high = self.check(search[1], f"search high of {self.name!r}")
        if low is None or high is None or low > high:
            raise ValueError(f"search range of {self.name!r} must have low <= high, got {search!r}.")
        if self.sampling == "log" and low <= 0:
            raise ValueError(f"log-sampled search range of {self.name!r} must be positive, got {search!r}.")
        return (low, high)


@dataclasses.dataclass(frozen=True)
class Family:
    """One INR family: its hidden layer, encoding, hyperparameters, training settings and paper.

    Create entries with :func:`register`; read them with :func:`get`.

    Attributes:
        name: the name used everywhere (``build_model``, ``--model``, the tuner's ``family``).
        layer: the hidden-layer class, a :class:`keras_inr.layers.CoordinateDense` subclass.
        hyperparameters: name -> :class:`Hyperparameter`, in declaration order.
        layer_config: fixed keyword arguments of every hidden layer (e.g. ``{"activation": "relu"}``).
        encoding: the encoding layer class applied to the coordinates first, or ``None``.
        training: overrides of :data:`keras_inr.training.RECOMMENDED` (``learning_rate``, ``schedule``, ...).
        title: a human-readable name (``"SIREN"``).
        help: a one-line description.
        paper: the reference (authors, year, arXiv link, section).
        model: the named model class built by :func:`keras_inr.build_model` (``SIREN``), as a class or an
            ``"module:Class"`` string; ``None`` builds a :class:`keras_inr.CoordinateMLP` with ``hidden=name``.
        aliases: other names accepted for this family (``"sine"`` for ``"siren"``).
        width_scale: the hidden layers have ``round(width * width_scale)`` units; WIRE's ``1 / sqrt(2)`` makes a
            complex network's parameter count match a real one of ``width`` (its paper, section 4).
        builtin: whether keras-inr ships it.
        tuned_by_default: whether the tuner and ``keras-inr tune`` search it when no families are named (the
            classic three: SIREN, Gaussian, Fourier features; name the others with ``families=``).
    """

    name: str
    layer: type
    hyperparameters: Mapping[str, Hyperparameter]
    layer_config: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    encoding: type | None = None
    training: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    title: str = ""
    help: str = ""
    paper: str = ""
    model: Any = None
    aliases: tuple = ()
    width_scale: float = 1.0
    builtin: bool = False
    tuned_by_default: bool = False

    # --- values ---------------------------------------------------------------------------------------------------
    def defaults(self) -> dict:
        """name -> default of every hyperparameter (what a model uses when none is given)."""
        return {name: hp.default for name, hp in self.hyperparameters.items()}

    def recommended(self) -> dict:
        """name -> keras-inr's recommended value of every hyperparameter (``None`` ones left out)."""
        return {name: hp.recommended for name, hp in self.hyperparameters.items() if hp.recommended is not None}

    def check_hyperparameters(self, values: Mapping | None, argument: str = "hidden_config") -> dict:
        """Merge ``values`` into the defaults, rejecting unknown names and bad values.

        Args:
            values: name -> value (``None`` or empty for the defaults).
            argument: the user-facing argument name for the error messages.

        Returns:
            name -> checked value for every hyperparameter of the family.

        Raises:
            ValueError: naming ``argument`` for an unknown key, and the hyperparameter for a bad value.
        """
        if values is not None and not isinstance(values, Mapping):
            raise ValueError(f"`{argument}` must be a dict of hyperparameters, got {values!r}.")
        config = self.defaults()
        for key, value in (values or {}).items():
            if key not in self.hyperparameters:
                raise ValueError(
                    f"`{argument}` for family {self.name!r} accepts {sorted(self.hyperparameters)}, got unknown key "
                    f"{key!r}."
                )
            config[key] = self.hyperparameters[key].check(value)
        return config

    def layer_kwargs(self, config: Mapping, index: int) -> dict:
        """Keyword arguments of hidden layer ``index`` (0 is the first) for checked hyperparameters ``config``."""
        kwargs = dict(self.layer_config)
        for name, hp in self.hyperparameters.items():
            if hp.applies_to == "hidden":
                kwargs[hp.argument] = config[name]
        for name, hp in self.hyperparameters.items():
            if hp.applies_to == "first" and index == 0 and config[name] is not None:
                kwargs[hp.argument] = config[name]
        return kwargs

    def encoding_kwargs(self, config: Mapping) -> dict:
        """Keyword arguments of the family's encoding for checked hyperparameters ``config``."""
        return {hp.argument: config[name] for name, hp in self.hyperparameters.items() if hp.applies_to == "encoding"}

    def model_class(self):
        """The named model class of the family, or ``None`` (then models are ``CoordinateMLP(hidden=name)``)."""
        if isinstance(self.model, str):
            module, _, attribute = self.model.partition(":")
            return getattr(importlib.import_module(module), attribute)
        return self.model

    @property
    def seeded(self) -> bool:
        """Whether the family's models take a ``seed`` (a random encoding such as Fourier features)."""
        return self.encoding is not None and "seed" in _init_arguments(self.encoding)

    def build(self, out_dims: int, **kwargs) -> keras.Model:
        """Build a model of this family: ``out_dims`` outputs, ``width``/``depth``/``in_dims``/Keras arguments and the
        family's hyperparameters as keywords (see :func:`keras_inr.build_model`)."""
        model_class = self.model_class()
        if model_class is not None:
            return model_class(out_dims=out_dims, **kwargs)
        from keras_inr.models import CoordinateMLP

        model_keys = {"width", "depth", "in_dims", "name", "dtype", "trainable", "seed", "learnable"}
        model_kwargs = {key: kwargs.pop(key) for key in list(kwargs) if key in model_keys}
        seed = model_kwargs.pop("seed", None)
        encoding_config = {"seed": seed} if seed is not None and self.seeded else None
        return CoordinateMLP(
            out_dims, hidden=self.name, hidden_config=self.check_hyperparameters(kwargs, "hyperparameters"),
            encoding_config=encoding_config, **model_kwargs,
        )


def _init_arguments(cls) -> set:
    """The keyword arguments named in the ``__init__`` signatures along ``cls``' MRO (up to keras' classes)."""
    import inspect

    names = set()
    for klass in cls.__mro__:
        if klass.__module__.startswith("keras.") or klass is object:
            break
        if "__init__" in vars(klass):
            names.update(inspect.signature(klass.__init__).parameters)
    names.discard("self")
    return names


_REGISTRY: dict[str, Family] = {}
_ALIASES: dict[str, str] = {}


def names(include_aliases: bool = False) -> tuple[str, ...]:
    """The registered family names, in registration order (built-ins first)."""
    return tuple(_REGISTRY) + (tuple(_ALIASES) if include_aliases else ())


def canonical(name: str, argument: str = "family") -> str:
    """The registered name of ``name`` (resolving aliases such as ``"sine"`` -> ``"siren"``).

    Raises:
        ValueError: naming ``argument`` and listing the registered families, for an unknown name.
    """
    if isinstance(name, str):
        if name in _REGISTRY:
            return name
        if name in _ALIASES:
            return _ALIASES[name]
    raise ValueError(f"`{argument}` must be one of the registered families {names()}, got {name!r}.")


def get(name: str, argument: str = "family") -> Family:
    """The :class:`Family` registered under ``name`` (or one of its aliases).

    Raises:
        ValueError: naming ``argument`` for an unknown name.
    """
    return _REGISTRY[canonical(name, argument)]


def all_families() -> tuple[Family, ...]:
    """Every registered :class:`Family`, in registration order."""
    return tuple(_REGISTRY.values())


def check_names(families, argument: str = "families") -> tuple[str, ...]:
    """Validate a list of family names: a non-empty sequence (or comma-separated string) of distinct registered names.

    Returns:
        The canonical names, in the given order.

    Raises:
        ValueError: naming ``argument`` for an empty list, an unknown name or a repeated name.
    """
    return check_name_list(argument, families, names(), "family", resolve=lambda name: canonical(name, argument))


def searched_by_default() -> tuple[str, ...]:
    """The families the tuner and ``keras-inr tune`` search when none are named: those marked
    ``tuned_by_default``, the classic three ``("siren", "gauss", "ffn")``."""
    return tuple(family.name for family in all_families() if family.tuned_by_default)


def hyperparameter_owners(family_names: Iterable[str] | None = None) -> dict[str, tuple[str, ...]]:
    """Hyperparameter name -> the families (of ``family_names``, default all) that have it, in registry order."""
    owners: dict[str, list[str]] = {}
    for family in all_families() if family_names is None else [get(n) for n in family_names]:
        for name in family.hyperparameters:
            owners.setdefault(name, []).append(family.name)
    return {name: tuple(found) for name, found in owners.items()}


def register(
    name: str,
    layer: type,
    defaults: Mapping[str, Any] | None = None,
    *,
    search: Mapping[str, tuple] | None = None,
    recommended: Mapping[str, Any] | None = None,
    help: Mapping[str, str] | str | None = None,
    hyperparameters: Iterable[Hyperparameter] = (),
    layer_config: Mapping[str, Any] | None = None,
    encoding: type | None = None,
    training: Mapping[str, Any] | None = None,
    title: str | None = None,
    paper: str = "",
    model: Any = None,
    aliases: Iterable[str] = (),
    width_scale: float = 1.0,
    replace: bool = False,
    _builtin: bool = False,
    _tuned_by_default: bool = False,
) -> Family:
    """Register an INR family so that it works by name everywhere in keras-inr.

    The short form takes plain dicts; ``hyperparameters=`` takes full :class:`Hyperparameter` records (first-layer
    or encoding hyperparameters, integer steps, help lines, ...).

    Args:
        name: the family's name, lower case (``"cosine"``).
        layer: the hidden-layer class, a subclass of :class:`keras_inr.layers.CoordinateDense` taking ``units``
            first; it should be registered with ``keras.saving.register_keras_serializable`` so ``.keras`` files
            load (a ``UserWarning`` says when it is not).
        defaults: hyperparameter name -> default value; each must be a keyword argument the layer accepts.
        search: hyperparameter name -> ``(low, high)`` tuner range (log sampling); names must be in ``defaults``.
        recommended: hyperparameter name -> keras-inr's recommended value (defaults to ``defaults``).
        help: hyperparameter name -> help line, or (a string) the family's own help line.
        hyperparameters: full :class:`Hyperparameter` records, in addition to ``defaults``.
        layer_config: fixed keyword arguments of every hidden layer.
        encoding: an encoding layer class applied before the hidden layers (its hyperparameters use
            ``applies_to="encoding"``).
        training: overrides of :data:`keras_inr.training.RECOMMENDED` (``{"learning_rate": 3e-3}``).
        title: human-readable name (defaults to ``name``).
        paper: the reference.
        model: a named model class (or ``"module:Class"``) that :func:`keras_inr.build_model` returns.
        aliases: other accepted names.
        width_scale: factor applied to ``width`` for the hidden layers' units (``1 / sqrt(2)`` for complex weights).
        replace: allow replacing an existing non-built-in family of the same name.

    Returns:
        The new :class:`Family`.

    Raises:
        ValueError: for a name already registered (or badly formed), a class that is not a ``CoordinateDense``
            subclass, defaults the class does not accept, search ranges of unknown hyperparameters, or bad values.
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"`name` must be a lower-case identifier such as 'cosine', got {name!r}.")
    for candidate in (name, *aliases):
        taken = _REGISTRY.get(candidate) or (_REGISTRY.get(_ALIASES[candidate]) if candidate in _ALIASES else None)
        if taken is not None and not (replace and taken.name == name and not taken.builtin):
            raise ValueError(
                f"family name {candidate!r} is already registered (by {taken.title or taken.name}); choose another "
                "name" + ("" if taken.builtin else " or pass replace=True") + "."
            )
    if not (isinstance(layer, type) and issubclass(layer, CoordinateDense)):
        raise ValueError(
            f"`layer` must be a subclass of keras_inr.layers.CoordinateDense (it supplies the maths that also runs "
            f"on hypernetwork weights), got {layer!r}."
        )
    if encoding is not None and not (isinstance(encoding, type) and issubclass(encoding, keras.layers.Layer)):
        raise ValueError(f"`encoding` must be a keras Layer class or None, got {encoding!r}.")
    unknown_training = sorted(set(training or {}) - set(TRAINING_KEYS))
    if unknown_training:
        raise ValueError(f"`training` accepts the keys {TRAINING_KEYS}, got {unknown_training}.")
    defaults = dict(defaults or {})
    search = dict(search or {})
    recommended = dict(recommended or {})
    helps = dict(help) if isinstance(help, Mapping) else {}
    records: dict[str, Hyperparameter] = {}
    for record in hyperparameters:
        if not isinstance(record, Hyperparameter):
            raise ValueError(f"`hyperparameters` must hold Hyperparameter records, got {record!r}.")
        records[record.name] = record
    for key, value in defaults.items():
        if key in records:
            raise ValueError(f"hyperparameter {key!r} is given both in `defaults` and in `hyperparameters`.")
        extra = {"recommended": recommended[key]} if key in recommended else {}
        records[key] = Hyperparameter(key, value, search=search.get(key), help=helps.get(key, ""), **extra)
    for argument, given in (("search", search), ("recommended", recommended), ("help", helps)):
        unknown = sorted(set(given) - set(defaults))
        if unknown:
            raise ValueError(f"`{argument}` names {unknown}, which are not in `defaults` {sorted(defaults)}.")
    family = Family(
        name=name, layer=layer, hyperparameters=MappingProxyType(records),
        layer_config=MappingProxyType(dict(layer_config or {})), encoding=encoding,
        training=MappingProxyType(dict(training or {})), title=title or name,
        help=help if isinstance(help, str) else "", paper=paper, model=model, aliases=tuple(aliases),
        width_scale=check_number("width_scale", width_scale, "float", True), builtin=_builtin,
        tuned_by_default=_tuned_by_default,
    )
    _check_layer_accepts(family)
    if not _builtin and keras.saving.get_registered_object(keras.saving.get_registered_name(layer)) is not layer:
        warnings.warn(
            f"{layer.__name__} is not registered with keras.saving.register_keras_serializable: models of family "
            f"{name!r} will not load from .keras files.",
            UserWarning,
            stacklevel=2,
        )
    _REGISTRY.pop(name, None)
    _REGISTRY[name] = family
    for alias in family.aliases:
        _ALIASES[alias] = name
    return family


def unregister(name: str) -> None:
    """Remove a family registered by :func:`register` (built-in families cannot be removed).

    Raises:
        ValueError: for an unknown name or a built-in family.
    """
    family = get(name, "name")
    if family.builtin:
        raise ValueError(f"`name` {name!r} is a built-in family and cannot be unregistered.")
    del _REGISTRY[family.name]
    for alias in family.aliases:
        _ALIASES.pop(alias, None)


def _check_layer_accepts(family: Family) -> None:
    """Construct a probe layer (and encoding) with the defaults: the class must accept every hyperparameter."""
    config = family.defaults()
    for index in (0, 1):
        kwargs = family.layer_kwargs(config, index)
        try:
            family.layer(1, is_first=index == 0, **kwargs)
        except (TypeError, ValueError) as error:
            raise ValueError(
                f"`defaults` {dict(kwargs)} are not accepted by {family.layer.__name__}: {error}"
            ) from None
    if family.encoding is not None:
        try:
            family.encoding(**family.encoding_kwargs(config))
        except (TypeError, ValueError) as error:
            raise ValueError(
                f"encoding hyperparameters are not accepted by {family.encoding.__name__}: {error}"
            ) from None


# ----------------------------------------------------------------------------------------------------------------
# built-in families
# ----------------------------------------------------------------------------------------------------------------
register(
    "siren", SineDense, title="SIREN", aliases=("sine",), model="keras_inr.models:SIREN",
    _builtin=True, _tuned_by_default=True,
    help="sine layers sin(w0 (x W + b)) with SIREN's initialisation",
    paper="Sitzmann et al. 2020, https://arxiv.org/abs/2006.09661, section 3.2",
    hyperparameters=[
        # The paper's w0 = 30; keras-inr recommends 20 with its optimiser (30 over-fits the pixels: BENCHMARKS.md).
        Hyperparameter("w0", 30.0, recommended=20.0, search=(10.0, 100.0), help="SIREN omega_0 of the hidden layers"),
        Hyperparameter(
            "first_w0", None, search=(10.0, 100.0), optional=True, applies_to="first", argument="w0", kind="float",
            help="SIREN omega_0 of the first layer (default: = w0)",
        ),
    ],
)
register(
    "gauss", GaussianDense, title="Gaussian", aliases=("gaussian",), model="keras_inr.models:GaussianINR",
    _builtin=True, _tuned_by_default=True, help="Gaussian layers exp(-(s (x W + b))^2)",
    paper="Ramasinghe & Lucey 2022, https://arxiv.org/abs/2111.15135, section 4",
    # s = 10 and Adam 1e-3 with GaussianDense's U(-1/sqrt(n), 1/sqrt(n)) kernels and biases (the WIRE reference
    # code's Gaussian INR), which train at width 256 where Glorot/zeros did not: BENCHMARKS.md, "Family defaults".
    hyperparameters=[
        Hyperparameter(
            "inverse_scale", 10.0, search=(3.0, 30.0),
            help="Gaussian inverse scale s of exp(-(s z)^2); larger is sharper",
        ),
    ],
)
register(
    "ffn", CoordinateDense, title="Fourier features", layer_config={"activation": "relu"}, encoding=FourierFeatures,
    model="keras_inr.models:FourierFeatureNetwork", training={"learning_rate": 3e-3},
    _builtin=True, _tuned_by_default=True,
    help="Gaussian random Fourier features followed by a ReLU MLP",
    paper="Tancik et al. 2020, https://arxiv.org/abs/2006.10739, section 6",
    hyperparameters=[
        # scale 5 for [-1, 1] coordinates is the paper's sigma = 10 for [0, 1) coordinates.
        Hyperparameter(
            "scale", 5.0, search=(1.0, 50.0), applies_to="encoding",
            help="Fourier-feature frequency standard deviation for [-1, 1] coordinates",
        ),
        Hyperparameter(
            "num_features", 256, search=(64, 256), step=2, applies_to="encoding", help="number of Fourier features",
        ),
    ],
)
register(
    "relu", CoordinateDense, title="ReLU MLP", layer_config={"activation": "relu"}, _builtin=True,
    help="a plain ReLU MLP (combine it with an encoding in CoordinateMLP)", hyperparameters=[],
)
register(
    "wire", ComplexGaborDense, title="WIRE", model="keras_inr.models:WIRE", width_scale=2**-0.5,
    training={"learning_rate": 5e-3}, _builtin=True,
    help="complex Gabor wavelets exp(j w0 z) exp(-|s0 z|^2) with complex weights; real part at the output",
    paper="Saragadam et al. 2023, https://arxiv.org/abs/2301.05187, equation 3 and section 3.2",
    hyperparameters=[
        # The paper's image settings (vishwa91/wire, wire_image_denoise.py: omega0 = 20, sigma0 = 10, lr 5e-3).
        Hyperparameter("w0", 20.0, search=(5.0, 50.0), help="WIRE wavelet frequency omega_0"),
        Hyperparameter("s0", 10.0, search=(2.0, 40.0), help="WIRE inverse envelope width s_0 (sigma_0 in the code)"),
    ],
)
register(
    # Two real maps per layer, so 1/sqrt(2) of the width keeps the parameter count of a one-map network.
    "wire_real", RealGaborDense, title="WIRE (real Gabor)", width_scale=2**-0.5, training={"learning_rate": 5e-3},
    _builtin=True, help="real Gabor wavelets cos(w0 u) exp(-(s0 v)^2) of two affine maps",
    paper="Saragadam et al. 2023, https://arxiv.org/abs/2301.05187, section 3 (real Gabor)",
    hyperparameters=[
        Hyperparameter("w0", 20.0, search=(5.0, 50.0), help="real Gabor frequency omega_0"),
        Hyperparameter("s0", 10.0, search=(2.0, 40.0), help="real Gabor inverse envelope width s_0"),
    ],
)

# --- the further families of keras_inr.layers.activated (issue 10) ------------------------------------------------
# Defaults are the papers' where they give one; the others, and every recommended value and learning rate, were
# measured on camera 128x128, width 64, depth 3, 300 full-batch Adam steps (keras-inr's recommended cosine schedule),
# where no family memorises the image; the numbers are in docs/families.md.
from keras_inr.layers.activated import (  # noqa: E402  (after the registry they register into)
    ExpSinDense,
    FinerDense,
    HoscDense,
    LaplacianDense,
    MultiGaussianDense,
    MultiQuadraticDense,
    QuadraticDense,
    SincDense,
    SuperGaussianDense,
)

_TABLE_1 = "Ramasinghe & Lucey 2022, https://arxiv.org/abs/2111.15135, table 1"
# The bump-shaped activations train faster at 3e-3 than at 1e-3 (+0.7 to +2.4 dB in the measurement above).
_BUMP_TRAINING = {"learning_rate": 3e-3}

register(
    "finer", FinerDense, title="FINER", model="keras_inr.models:FINER", _builtin=True,
    help="variable-periodic sine layers sin(w0 (|z| + 1) z) with SIREN's initialisation and a wide first bias",
    paper="Liu et al. 2024, https://arxiv.org/abs/2312.02434, section 3; code liuzhen0212/FINER",
    hyperparameters=[
        # The paper's and reference code's omega_0 = 30 (train_image.py's default first and hidden omega).
        Hyperparameter("w0", 30.0, search=(10.0, 100.0), help="FINER omega_0"),
        # The paper widens the first layer's bias to U(-k, k) so its units cover more frequencies (the reference
        # code leaves k to the user, default torch's 1/sqrt(2) for 2-D inputs). k = 1 measured best of
        # {0.3, 1, 5, 20}; k >= 5 puts many first-layer frequencies above the Nyquist rate of a 128-pixel image.
        Hyperparameter(
            "first_bias_scale", 1.0, search=(0.3, 20.0), applies_to="first", argument="bias_scale",
            help="k of the first layer's bias initialisation U(-k, k) (FINER's first_bias_scale)",
        ),
    ],
)
register(
    "sinc", SincDense, title="sinc", _builtin=True,
    help="sinc layers sin(w0 z) / (w0 z) with SIREN's initialisation",
    paper="Saratchandran et al. 2024, https://arxiv.org/abs/2402.05427",
    hyperparameters=[
        # The paper has no frequency factor; w0 = 100 measured best of {10, 20, 30, 60, 100, 150} (two seeds for
        # 60 and 100): sinc decays away from 0, so it needs larger first-layer frequencies than a sine.
        Hyperparameter("w0", 100.0, search=(20.0, 200.0), help="sinc frequency factor w0 of sin(w0 z) / (w0 z)"),
    ],
)
register(
    "hosc", HoscDense, title="HOSC", _builtin=True,
    help="hyperbolic oscillation layers tanh(beta sin(w0 z)) with SIREN's initialisation",
    paper="Serrano et al. 2024, https://arxiv.org/abs/2401.10967",
    hyperparameters=[
        Hyperparameter("w0", 30.0, search=(10.0, 100.0), help="HOSC frequency factor omega_0"),
        # The paper studies a range of beta (and learns it in AdaHOSC: learnable=("beta",)); beta = 4 measured best
        # of {1, 2, 4, 8} (two seeds for 2 and 4).
        Hyperparameter("beta", 4.0, search=(0.5, 20.0), help="HOSC sharpness beta (small: sine-like, large: square)"),
    ],
)
register(
    "laplacian", LaplacianDense, title="Laplacian", _builtin=True, training=_BUMP_TRAINING,
    help="Laplacian layers exp(-|s z|)", paper=_TABLE_1,
    hyperparameters=[
        # inverse_scale 10 measured best of {3, 10, 30} for each of the four bump-shaped activations below.
        Hyperparameter("inverse_scale", 10.0, search=(2.0, 50.0), help="Laplacian inverse scale 1 / sigma"),
    ],
)
register(
    "quadratic", QuadraticDense, title="Quadratic", _builtin=True, training=_BUMP_TRAINING,
    help="quadratic layers 1 / (1 + (s z)^2)", paper=_TABLE_1,
    hyperparameters=[Hyperparameter("inverse_scale", 10.0, search=(2.0, 50.0), help="quadratic a")],
)
register(
    "multiquadratic", MultiQuadraticDense, title="Multi-quadratic", _builtin=True, training=_BUMP_TRAINING,
    help="multi-quadratic layers 1 / sqrt(1 + (s z)^2)", paper=_TABLE_1,
    hyperparameters=[Hyperparameter("inverse_scale", 10.0, search=(2.0, 50.0), help="multi-quadratic a")],
)
register(
    "supergaussian", SuperGaussianDense, title="Super-Gaussian", _builtin=True, training=_BUMP_TRAINING,
    help="super-Gaussian layers [exp(-(s z)^2)]^b", paper=_TABLE_1,
    hyperparameters=[
        Hyperparameter("inverse_scale", 10.0, search=(2.0, 50.0), help="super-Gaussian 1 / (sqrt(2) sigma)"),
        # For real pre-activations b only rescales s (a Gaussian of inverse scale s sqrt(b)), so the tuner searches
        # inverse_scale alone unless given a range for power.
        Hyperparameter("power", 1.0, help="super-Gaussian power b (acts as a factor sqrt(b) on inverse_scale)"),
    ],
)
register(
    "expsin", ExpSinDense, title="ExpSin", _builtin=True,
    help="ExpSin layers exp(-sin(w0 z)) with SIREN's initialisation", paper=_TABLE_1,
    hyperparameters=[
        # SIREN's initialisation with w0 = 30 (27.6 dB) against 10 (23.6) and 60 (27.4); Glorot kernels with
        # w0 in {1, 10, 30} stay below 15 dB.
        Hyperparameter("w0", 30.0, search=(10.0, 100.0), help="ExpSin frequency a"),
    ],
)
register(
    "multigauss", MultiGaussianDense, title="Multi-bump Gaussian", _builtin=True, training=_BUMP_TRAINING,
    help="products of K Gaussian bumps exp(-s^2 mean_k (x W_k + b_k)^2) per unit",
    paper="Ramasinghe & Lucey 2022, https://arxiv.org/abs/2111.15135, section 4, with several maps per unit (the "
    "multi-bump Gaussian layer of keras-inr's ancestor codebase)",
    hyperparameters=[
        Hyperparameter("inverse_scale", 10.0, search=(3.0, 30.0), help="multi-bump Gaussian inverse scale s"),
        # 2 bumps: +2 to +4 dB over 1 (two seeds); 3 no better than 2.
        Hyperparameter("bumps", 2, search=(1, 4), sampling="linear", help="bumps (affine maps) per unit"),
    ],
)

# --- the multiresolution hash encoding of instant-ngp (issue 13) --------------------------------------------------
from keras_inr.layers.hashgrid import HashGridEncoding  # noqa: E402  (after the registry it registers into)

register(
    "hashgrid", CoordinateDense, title="Hash grid", layer_config={"activation": "relu"}, encoding=HashGridEncoding,
    # The paper's optimiser (section 4): Adam with beta_2 = 0.99, epsilon = 1e-15 and learning rate 1e-2.
    training={"learning_rate": 1e-2, "beta_2": 0.99, "epsilon": 1e-15}, _builtin=True,
    help="multiresolution hash-grid encoding (trainable feature tables, d-linearly interpolated) and a small ReLU MLP "
    "(the paper's: width 64, depth 2)",
    paper="Mueller et al. 2022, https://arxiv.org/abs/2201.05989, sections 3 and 4",
    hyperparameters=[
        # The paper's defaults (section 4, table 1): L = 16, F = 2, N_min = 16; T = 2^19 is instant-ngp's default.
        Hyperparameter("levels", 16, search=(4, 16), sampling="linear", applies_to="encoding",
                       help="hash grid: number of resolution levels L"),
        Hyperparameter("features_per_level", 2, search=(1, 4), step=2, applies_to="encoding",
                       help="hash grid: features F per table entry"),
        Hyperparameter("log2_table_size", 19, search=(12, 22), sampling="linear", applies_to="encoding",
                       help="hash grid: log2 of the most entries T of a level's table"),
        Hyperparameter("base_resolution", 16, applies_to="encoding",
                       help="hash grid: cells per axis of the coarsest level N_min"),
        # 512 cells per axis resolve images up to 512x512 pixels (the paper matches N_max to the finest detail).
        Hyperparameter("finest_resolution", 512, search=(64, 2048), step=2, applies_to="encoding",
                       help="hash grid: cells per axis of the finest level N_max"),
    ],
)
