"""Hypernetwork heads: how a feature vector per datapoint becomes the weights of that datapoint's INR.

Every head maps encoder features ``(batch, features)`` to a weights list ``[(kernel, bias), ...]`` with one pair per
weight layer of the target INR (see :mod:`hypernets.functional` for the shapes). Three heads are provided:

* :class:`FullHead` (``"full"``): a linear map to every kernel and bias of every layer;
* :class:`LowRankHead` (``"lowrank"``): factorised multiplicative modulation of the target's shared kernels
  (Skorokhodov et al. 2021, https://arxiv.org/abs/2011.12026, section 3.2);
* :class:`ShiftHead` (``"shift"``): per-sample shifts of the hidden layers' biases of the shared target network
  (Dupont et al. 2022, "From data to functa", https://arxiv.org/abs/2201.12204, section 3).

INRs are very sensitive to their initialisation, so each head starts by emitting (close to) the target family's own
initial weights: the full head's bias *is* a draw of the family's initialisation (the target's freshly built weights)
and its kernel only adds a small per-sample perturbation; the modulation heads start near the identity modulation
of the target's own (family-initialised) weights. ``init_scale`` sets the size of the initial per-sample variation
relative to the family's weight scale, for encoder features of order one.

A head is built by :class:`hypernets.HyperINR` (:meth:`WeightHead.build_for`), which knows the feature size and the
target's layers; its config holds only its own hyperparameters.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import keras
import numpy as np
from keras import ops

from hypernets.functional import (
    LayerSpec,
    flatten_parameters,
    multiplicative_modulation,
    split_flat_parameters,
    weight_scales,
)
from keras_inr.saving import register
from keras_inr.validation import check_choice, check_positive_float, check_positive_int


def _concrete_or_none(make_values: Callable[[], np.ndarray]) -> np.ndarray | None:
    """``make_values()`` as float32 numpy, or ``None`` while the target's weights are symbolic.

    During a symbolic build Keras reads not-yet-initialised variables through their initializer to get a placeholder
    of the right shape; the target's weights are then tracers with no values. The real initialisation happens right
    after, with concrete values.
    """
    try:
        return np.asarray(make_values(), dtype=np.float32)
    except Exception:  # noqa: BLE001 - tracer-to-numpy conversion errors differ per backend
        return None


class _LazyArrayInitializer:
    """Initializer returning ``make_values()``, a numpy array computed when the variable is initialised.

    Lazy because the values depend on the target's initial weights: inside a symbolic build (``fit`` on an unbuilt
    model) Keras defers variable initialisation, and the target's variables hold concrete values only afterwards.
    """

    def __init__(self, make_values: Callable[[], np.ndarray]):
        self.make_values = make_values

    def __call__(self, shape, dtype=None):
        values = _concrete_or_none(self.make_values)
        if values is None:  # shape-inference placeholder (see _concrete_or_none)
            return ops.zeros(shape, dtype=dtype or "float32")
        if tuple(shape) != values.shape:
            raise ValueError(f"Initializer made shape {values.shape}, asked for {tuple(shape)}.")
        return ops.cast(ops.convert_to_tensor(values), dtype or "float32")


class _ColumnScaledNormal:
    """``N(0, 1)`` draws multiplied column-wise by ``make_column_std()``: kernels ``(rows, columns)`` whose columns
    feed weights of different scales (computed lazily, see :class:`_LazyArrayInitializer`)."""

    def __init__(self, make_column_std: Callable[[], np.ndarray], seed: int | None):
        self.make_column_std = make_column_std
        # An integer seed even when none is given (drawn from numpy, which keras.utils.set_random_seed seeds): unseeded
        # random ops are not allowed while JAX traces, and Keras may call initializers during a symbolic build.
        self.seed = int(np.random.randint(0, 2**31 - 1)) if seed is None else int(seed)

    def __call__(self, shape, dtype=None):
        column_std = _concrete_or_none(self.make_column_std)
        if column_std is None:  # shape-inference placeholder (see _concrete_or_none)
            return ops.zeros(shape, dtype=dtype or "float32")
        draws = keras.random.normal(shape, dtype="float32", seed=self.seed)
        return ops.cast(draws * ops.convert_to_tensor(column_std), dtype or "float32")


class WeightHead(keras.layers.Layer):
    """Base class of hypernetwork heads.

    Args:
        init_scale: initial per-sample variation of the emitted weights, relative to the family's initial weight
            scale, for encoder features of unit variance (0.1 by default); positive.
        seed: optional integer seed of the head's random initialisation.
        **kwargs: standard ``keras.layers.Layer`` arguments.

    Call:
        ``head(features, shared_weights)`` with ``features`` ``(batch, feature_dim)`` and ``shared_weights`` the
        target's own weights list (:func:`hypernets.functional.shared_weights`); returns the per-sample weights list.
    """

    #: short name used by ``HyperINR(head=...)``
    head_name = "base"

    def __init__(self, init_scale: float = 0.1, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.init_scale = check_positive_float("init_scale", init_scale)
        self.seed = None if seed is None else int(seed)
        self.specs: list[LayerSpec] | None = None
        self.feature_dim: int | None = None

    #: whether the head modulates the target's own weights (then they are trained); the full head does not use them.
    uses_shared_weights = True

    def build_for(
        self, feature_dim: int, specs: Sequence[LayerSpec], initial_weights: Callable[[], list]
    ) -> None:
        """Create the head's variables.

        Args:
            feature_dim: size of the encoder's feature vectors.
            specs: the target's layers (:func:`hypernets.functional.layer_specs`).
            initial_weights: returns the target's initial weights as numpy ``(kernel, bias)`` pairs
                (:func:`hypernets.functional.initial_weights`); called when the variables are initialised.
        """
        self.feature_dim = check_positive_int("feature_dim", feature_dim)
        self.specs = list(specs)
        self._initial_weights = initial_weights
        self._create_variables()
        self.built = True

    def _create_variables(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def build(self, input_shape):
        if not self.built:
            raise ValueError(
                f"{self.__class__.__name__} is built by HyperINR (build_for(feature_dim, specs)), not on its own."
            )

    def get_config(self) -> dict:
        return {**super().get_config(), "init_scale": self.init_scale, "seed": self.seed}


@register
class FullHead(WeightHead):
    """``"full"`` head: a linear map from features to every kernel and bias of the target INR.

    ``theta = sigma * (f K + b)``, computed per weight: ``sigma`` is the initial scale (standard deviation) of the
    weight tensor each output feeds -- a fixed, saved, non-trainable vector -- ``b = theta_0 / sigma`` with
    ``theta_0`` the target's own initial weights (a draw from the family's initialisation, flattened), and
    ``K ~ N(0, init_scale^2 / F)`` for ``F`` features. At the start every sample's INR is the family's initial INR
    plus a perturbation of relative size ``init_scale``. Expressing the outputs in units of the family's weight scale
    keeps optimiser steps proportional to each weight's scale (Adam's steps are about the learning rate in parameter
    units, while SIREN's hidden kernels are ~100x smaller than its first layer's), the "equalised learning rate" of
    Karras et al. 2018 (https://arxiv.org/abs/1710.10196, section 4.1). Unlike the modulation heads, every weight of
    every layer is free per sample.

    Args:
        init_scale: relative size of the initial per-sample perturbation (see :class:`WeightHead`).
        seed: optional integer seed.
        **kwargs: standard layer arguments.
    """

    head_name = "full"
    uses_shared_weights = False

    def _weight_scale(self) -> np.ndarray:
        """``sigma``: per emitted weight, the initial standard deviation of its tensor (kernel or bias)."""
        parts = []
        for spec, (kernel, bias) in zip(self.specs, self._initial_weights()):
            kernel_scale, bias_scale = weight_scales(kernel, bias)
            parts.append(np.full(spec.kernel_size, kernel_scale))
            if spec.use_bias:
                parts.append(np.full(spec.units, bias_scale))
        return np.concatenate(parts)

    def _create_variables(self) -> None:
        total = sum(spec.parameter_count for spec in self.specs)
        kernel_std = np.full(total, self.init_scale / math.sqrt(self.feature_dim))
        self.kernel = self.add_weight(
            name="kernel", shape=(self.feature_dim, total), initializer=_ColumnScaledNormal(lambda: kernel_std,
                                                                                            self.seed)
        )
        self.bias = self.add_weight(
            name="bias", shape=(total,),
            initializer=_LazyArrayInitializer(
                lambda: flatten_parameters(self._initial_weights()) / self._weight_scale()
            ),
        )
        self.weight_scale = self.add_weight(
            name="weight_scale", shape=(total,), initializer=_LazyArrayInitializer(self._weight_scale),
            trainable=False,
        )

    def call(self, features, shared_weights=None):
        flat = (ops.matmul(features, self.kernel) + self.bias) * self.weight_scale
        return split_flat_parameters(flat, self.specs)


@register
class LowRankHead(WeightHead):
    """``"lowrank"`` head: factorised multiplicative modulation of the target's shared kernels.

    For every weight layer, ``W_i = W_shared * 2 sigmoid(U_i V_i / s)`` with per-sample ``U_i (in, rank)`` and
    ``V_i (rank, out)`` linear in the features (Skorokhodov et al. 2021, https://arxiv.org/abs/2011.12026,
    section 3.2); biases are the shared ones. ``W_shared`` are the target's own variables, trained with the head,
    so the shared network starts at the family's initialisation and the modulation at ``2 sigmoid(~0) ~ 1``.
    ``U, V`` entries start with standard deviation ``sqrt(init_scale)`` (for unit features), so ``U V / s`` starts
    with standard deviation ``init_scale`` when ``s = sqrt(rank)``.

    Args:
        rank: rank of the modulation; positive.
        temperature: ``s``; defaults to ``sqrt(rank)``.
        init_scale: see :class:`WeightHead`.
        seed: optional integer seed.
        **kwargs: standard layer arguments.
    """

    head_name = "lowrank"

    def __init__(self, rank: int = 4, temperature: float | None = None, init_scale: float = 0.1,
                 seed: int | None = None, **kwargs):
        super().__init__(init_scale=init_scale, seed=seed, **kwargs)
        self.rank = check_positive_int("rank", rank)
        self.temperature = (
            math.sqrt(self.rank) if temperature is None else check_positive_float("temperature", temperature)
        )

    def _create_variables(self) -> None:
        size = sum(spec.fan_in * self.rank + self.rank * spec.units for spec in self.specs)
        column_std = np.full(size, math.sqrt(self.init_scale) / math.sqrt(self.feature_dim))
        self.kernel = self.add_weight(
            name="kernel", shape=(self.feature_dim, size),
            initializer=_ColumnScaledNormal(lambda: column_std, self.seed),
        )
        self.bias = self.add_weight(name="bias", shape=(size,), initializer="zeros")

    def call(self, features, shared_weights=None):
        factors = ops.matmul(features, self.kernel) + self.bias  # (batch, size): all U_i and V_i, flattened
        weights, start = [], 0
        for spec, (shared_kernel, shared_bias) in zip(self.specs, shared_weights):
            left = ops.reshape(factors[:, start : start + spec.fan_in * self.rank], (-1, spec.fan_in, self.rank))
            start += spec.fan_in * self.rank
            right = ops.reshape(factors[:, start : start + self.rank * spec.units], (-1, self.rank, spec.units))
            start += self.rank * spec.units
            weights.append((multiplicative_modulation(shared_kernel, left, right, self.temperature), shared_bias))
        return weights

    def get_config(self) -> dict:
        return {**super().get_config(), "rank": self.rank, "temperature": self.temperature}


@register
class ShiftHead(WeightHead):
    """``"shift"`` head: shift modulations of a shared base network (functa).

    Dupont, Kim, Eslami, Rezende & Rosenbaum 2022, "From data to functa", https://arxiv.org/abs/2201.12204,
    section 3 ("shift modulations"): every activated (hidden) layer of the shared target network gets a per-sample
    shift of its bias, ``b_i + s_i`` with ``s = f K + c`` linear in the features; kernels and the linear output layer
    are shared. The shared network is the target's own variables (family initialisation), trained with the head;
    ``K`` starts with columns of standard deviation ``init_scale * sigma_b / sqrt(F)`` and ``c = 0``.

    Args:
        init_scale: see :class:`WeightHead`.
        seed: optional integer seed.
        **kwargs: standard layer arguments.
    """

    head_name = "shift"

    def _create_variables(self) -> None:
        self.modulated = [
            index for index, spec in enumerate(self.specs) if spec.activation != "linear" and spec.use_bias
        ]
        if not self.modulated:
            raise ValueError(
                "head='shift' modulates the biases of the target's activated hidden layers, but the target has "
                "none (depth=0 or use_bias=False); use head='full' or 'lowrank'."
            )
        size = sum(self.specs[index].units for index in self.modulated)

        def column_std():
            initial = self._initial_weights()
            scales = [np.full(self.specs[i].units, weight_scales(*initial[i])[1]) for i in self.modulated]
            return np.concatenate(scales) * (self.init_scale / math.sqrt(self.feature_dim))

        self.kernel = self.add_weight(
            name="kernel", shape=(self.feature_dim, size), initializer=_ColumnScaledNormal(column_std, self.seed)
        )
        self.bias = self.add_weight(name="bias", shape=(size,), initializer="zeros")

    def call(self, features, shared_weights=None):
        shifts = ops.matmul(features, self.kernel) + self.bias  # (batch, sum of modulated widths)
        weights, start = list(shared_weights), 0
        for index in self.modulated:
            kernel, bias = weights[index]
            units = self.specs[index].units
            weights[index] = (kernel, ops.expand_dims(bias, 0) + shifts[:, start : start + units])
            start += units
        return weights


#: Heads by the names accepted by ``HyperINR(head=...)``.
HEADS = {"full": FullHead, "lowrank": LowRankHead, "shift": ShiftHead}


def get_head(head, head_config: dict | None = None) -> WeightHead:
    """Return a head from its name (``"full"``, ``"lowrank"``, ``"shift"``), a serialized config, or an instance.

    Args:
        head: a name of :data:`HEADS`, a :class:`WeightHead`, or a dict from ``keras.saving.serialize_keras_object``.
        head_config: keyword arguments of the head class when ``head`` is a name (e.g. ``{"rank": 8}``).

    Raises:
        ValueError: for an unknown name, unknown ``head_config`` keys, or a ``head_config`` given with an instance.
    """
    if isinstance(head, WeightHead):
        if head_config:
            raise ValueError("`head_config` can only be given with a head name, not with a head instance.")
        return head
    if isinstance(head, dict):
        return keras.saving.deserialize_keras_object(head)
    if not isinstance(head, str):
        raise ValueError(f"`head` must be one of {tuple(HEADS)} or a WeightHead, got {head!r}.")
    check_choice("head", head, tuple(HEADS))
    try:
        return HEADS[head](**(head_config or {}), name=f"{head}_head")
    except (TypeError, ValueError) as error:
        raise ValueError(f"Invalid `head_config` {head_config!r} for head={head!r}: {error}") from None
