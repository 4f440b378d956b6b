"""Hypernetwork heads: how a feature vector per datapoint becomes the weights of that datapoint's INR.

Every head maps encoder features ``(batch, features)`` to a weights list ``[(kernel, bias), ...]`` with one pair per
weight layer of the target INR (see :mod:`hypernets.functional` for the shapes). Three heads are provided:

* :class:`FullHead` (``"full"``): a linear map to every kernel and bias of every layer;
* :class:`LowRankHead` (``"lowrank"``): factorised multiplicative modulation of a shared base network's kernels
  (Skorokhodov et al. 2021, https://arxiv.org/abs/2011.12026, section 3.2);
* :class:`ShiftHead` (``"shift"``): per-sample shifts of the hidden layers' biases of a shared base network
  (Dupont et al. 2022, "From data to functa", https://arxiv.org/abs/2201.12204, section 3).

A head is made from the *target*, a keras-inr model fixing the INR architecture (e.g. ``keras_inr.SIREN(out_dims=1,
width=32, depth=2)``): at construction it reads the target's layer shapes and its freshly initialised weights (a draw
of the family's own initialisation) as numpy arrays, and its variables start from them through ordinary Keras
initializers. INRs are very sensitive to their initialisation, so each head starts by emitting (close to) those
weights: the full head's bias *is* the target's initial weights (in units of their scale) and its kernel only adds a
small per-sample perturbation; the modulation heads own a base network initialised to the target's weights and start
near the identity modulation. ``init_scale`` sets the size of the initial per-sample variation relative to the
family's weight scale, for encoder features of order one.

A head is a self-contained Keras layer: ``head(features)`` returns the weights list, its config holds the target's
config (a few numbers, never arrays), and a head revived from its config starts from a new draw of the family's
initialisation until its saved weights are loaded. :class:`hypernets.HyperINR` makes its head from its own target.
"""

from __future__ import annotations

import inspect
import json
import math

import keras
import numpy as np
from keras import ops

from hypernets.functional import (
    LayerSpec,
    check_target,
    flatten_parameters,
    initial_weights,
    layer_specs,
    multiplicative_modulation,
    split_flat_parameters,
    weight_scales,
)
from keras_inr.saving import register
from keras_inr.validation import check_bool, check_choice, check_positive_float, check_positive_int


def _values(array: np.ndarray) -> keras.initializers.Initializer:
    """An initializer returning ``array`` (float32 numpy, the exact shape of the variable), cast to its dtype.

    ``keras.initializers.Constant`` broadcasts its value against ``ones(shape)``, so an array of the variable's shape
    comes back unchanged. The array lives only in the initializer: the heads never put it into their config (their
    saved weights hold the values).
    """
    return keras.initializers.Constant(np.asarray(array, dtype=np.float32))


def _seed_for_numpy(seed: int | None) -> int:
    """``seed``, or an integer drawn from numpy's global generator (which ``keras.utils.set_random_seed`` seeds)."""
    return int(np.random.randint(0, 2**31 - 1)) if seed is None else int(seed)


class WeightHead(keras.layers.Layer):
    """Base class of hypernetwork heads.

    Args:
        target: the keras-inr model fixing the INR architecture (a ``CoordinateMLP`` family model or a
            ``CombinedINR``; built, or buildable from ``in_dims``), or its serialized config. The head reads its
            layer shapes and current weights once, here; it does not keep the model.
        init_scale: initial per-sample variation of the emitted weights, relative to the family's initial weight
            scale, for encoder features of unit variance (0.1 by default); positive.
        seed: optional integer seed of the head's random initialisation.
        in_dims: coordinate dimension, needed when ``target`` is not built (e.g. a config); must match a built one.
        layers: ``None`` (every weight layer of the target) or the increasing indices of the target's weight layers
            this head generates -- how :class:`PerLayerHead` gives each layer its own head; the head then returns
            one pair per listed layer. :class:`hypernets.HyperINR` takes only heads that cover every layer.
        **kwargs: standard ``keras.layers.Layer`` arguments (``name``, ``dtype``).

    Call:
        ``head(features)`` with ``features`` ``(batch, feature_dim)`` returns the per-sample weights list
        ``[(kernel, bias), ...]``, one pair per weight layer of the target: kernels ``(batch, in, out)`` -- or
        ``(in, out)`` shared by the batch where a head leaves them unmodulated -- and biases ``(batch, out)`` or
        ``(out,)`` (``None`` for layers without bias), in the compute dtype.

    Raises:
        ValueError: naming ``target`` if it is not a keras-inr model, ``in_dims`` if the coordinate dimension is
            unknown or contradicts the target's, ``init_scale``/``seed``/``layers`` for bad values.
    """

    #: short name used by ``HyperINR(head=...)``
    head_name = "base"

    def __init__(self, target, init_scale: float = 0.1, seed: int | None = None, in_dims: int | None = None,
                 layers=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(target, dict):
            target = keras.saving.deserialize_keras_object(target)
        check_target(target)
        if in_dims is not None:
            in_dims = check_positive_int("in_dims", in_dims)
        built_dims = getattr(target, "in_dims", None) if target.built else None
        if built_dims is None:
            if in_dims is None:
                raise ValueError(
                    f"The target {target.name!r} is not built: pass `in_dims` (the coordinate dimension, e.g. 2 for "
                    "images) or a built target."
                )
            target.build((None, in_dims))
        elif in_dims is not None and in_dims != int(built_dims):
            raise ValueError(f"`in_dims`={in_dims} but the target was built for {int(built_dims)}-D coordinates.")
        self.in_dims = int(target.in_dims)
        self.init_scale = check_positive_float("init_scale", init_scale)
        self.seed = None if seed is None else int(seed)
        all_specs = layer_specs(target)
        self.layers = _check_layers(layers, len(all_specs))
        #: the specs of the layers this head generates (all of the target's unless ``layers`` picks some)
        self.specs: list[LayerSpec] = [all_specs[index] for index in self._layer_indices(len(all_specs))]
        #: the target's weights when the head was made, numpy ``(kernel, bias)`` pairs: the heads' starting point
        every = initial_weights(target)
        self.initial_weights: list[tuple] = [every[index] for index in self._layer_indices(len(all_specs))]
        # JSON-native (lists, not tuples), so that the config equals its JSON round trip
        self.target_config = json.loads(json.dumps(keras.saving.serialize_keras_object(target)))
        self.feature_dim: int | None = None

    def _layer_indices(self, count: int) -> list[int]:
        return list(range(count)) if self.layers is None else list(self.layers)

    # --- building ---------------------------------------------------------------------------------------------
    def build(self, input_shape):
        """Create the variables for encoder features of shape ``input_shape`` ``(batch, feature_dim)``."""
        self._set_feature_dim(input_shape)
        self._create_variables()
        self.built = True

    def _set_feature_dim(self, input_shape) -> None:
        """Check that the encoder features are ``(batch, feature_dim)`` and record ``feature_dim``."""
        if len(input_shape) != 2 or input_shape[-1] is None:
            raise ValueError(
                f"{self.__class__.__name__} takes encoder features of shape (batch, feature_dim), got input shape "
                f"{tuple(input_shape)}."
            )
        self.feature_dim = check_positive_int("feature_dim", int(input_shape[-1]))

    def _create_variables(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _add_base_network(self) -> None:
        """Variables ``base_kernel_i``/``base_bias_i`` of a shared base network, starting at the target's weights."""
        self.base_weights = []
        for index, (spec, (kernel, bias)) in enumerate(zip(self.specs, self.initial_weights)):
            kernel_variable = self.add_weight(
                name=f"base_kernel_{index}", shape=spec.kernel_shape, initializer=_values(kernel)
            )
            bias_variable = None
            if spec.use_bias:
                bias_variable = self.add_weight(name=f"base_bias_{index}", shape=spec.bias_shape,
                                                initializer=_values(bias))
            self.base_weights.append((kernel_variable, bias_variable))

    def _read(self, variable):
        """A variable's value in the compute dtype. Cast explicitly: Keras' automatic casting of variables under the
        ``mixed_*`` policies does not reach every path (e.g. PyTorch's symbolic call of a model holding the head)."""
        return ops.cast(variable, self.compute_dtype)

    def _linear(self, features):
        """``features @ kernel + bias`` in the compute dtype: ``(batch, outputs)``."""
        return ops.matmul(ops.cast(features, self.compute_dtype), self._read(self.kernel)) + self._read(self.bias)

    def _base_network(self) -> list[tuple]:
        """The base network's weights as tensors in the compute dtype."""
        return [
            (self._read(kernel), None if bias is None else self._read(bias)) for kernel, bias in self.base_weights
        ]

    # --- shapes and config --------------------------------------------------------------------------------------
    def _output_shapes(self, batch) -> list[tuple]:  # pragma: no cover - abstract
        raise NotImplementedError

    def compute_output_shape(self, input_shape):
        return self._output_shapes(input_shape[0])

    def get_config(self) -> dict:
        """The head's hyperparameters and the target's config (layer sizes and family settings; no arrays)."""
        return {
            **super().get_config(),
            "target": self.target_config,
            "in_dims": self.in_dims,
            "init_scale": self.init_scale,
            "seed": self.seed,
            "layers": None if self.layers is None else list(self.layers),
        }


def _check_layers(layers, count: int) -> tuple[int, ...] | None:
    """``None`` (every layer of the target) or a non-empty tuple of distinct, increasing layer indices < ``count``."""
    if layers is None:
        return None
    if isinstance(layers, (str, bytes)) or not hasattr(layers, "__iter__"):
        raise ValueError(f"`layers` must be None or a sequence of weight-layer indices, got {layers!r}.")
    layers = tuple(layers)
    valid = bool(layers) and all(isinstance(i, (int, np.integer)) and not isinstance(i, bool) for i in layers)
    if not valid or any(not 0 <= int(i) < count for i in layers) or list(layers) != sorted(set(layers)):
        raise ValueError(
            f"`layers` must be distinct, increasing indices of the target's {count} weight layers (0 to {count - 1}), "
            f"got {layers!r}."
        )
    return tuple(int(i) for i in layers)


@register
class FullHead(WeightHead):
    """``"full"`` head: a linear map from features to every kernel and bias of the target INR (Ha, Dai & Le 2016,
    "HyperNetworks", https://arxiv.org/abs/1609.09106, section 3.1's non-factorised form).

    Two parametrisations of the emitted weights ``theta`` (``F`` features, ``theta_0`` the target's own initial
    weights -- a draw of the family's initialisation, flattened -- and ``sigma`` the initial standard deviation of
    the weight tensor each output feeds):

    * ``"direct"`` (default): ``theta = f K + b`` in the INR's own weight units, ``b = theta_0`` and
      ``K ~ N(0, (init_scale sigma)^2 / F)`` column by column: every sample's INR starts at the family's initial INR
      plus a perturbation of relative size ``init_scale``, and an optimiser step moves every weight by about the same
      amount in absolute units (the generated weights "start at the target's initialisation" as in hypnettorch's
      ``HMLP``). For SIREN this moves the hidden layers (kernels ~0.006, multiplied by ``w0 = 30`` inside the sine)
      much faster, relative to their size, than the first layer (~0.3) and the output layer: measured on the faces
      this is what a hypernetwork needs (BENCHMARKS.md, section 5; use Adam at about 3e-4);
    * ``"equalized"``: ``theta = sigma * (f K + b)`` with ``b = theta_0 / sigma``, ``K ~ N(0, init_scale^2 / F)``
      and ``sigma`` a fixed, saved, non-trainable vector ``weight_scale``: every weight moves by the same amount
      *relative to its scale* (the "equalised learning rate" of Karras et al. 2018, https://arxiv.org/abs/1710.10196,
      section 4.1). It underfits SIREN targets (the hidden layers learn too slowly at any learning rate that leaves
      the first layer stable); kept for comparison and for files saved before ``"direct"`` existed.

    Unlike the modulation heads, every weight of every layer is free per sample.

    Args:
        target, init_scale, seed, in_dims, layers: see :class:`WeightHead`.
        parametrization: ``"direct"`` or ``"equalized"`` (above).
        **kwargs: standard layer arguments.

    Variables: ``kernel`` ``(F, P)``, ``bias`` ``(P,)`` -- and for ``"equalized"`` the non-trainable
    ``weight_scale`` ``(P,)`` -- for ``P`` parameters of one INR.
    """

    head_name = "full"

    #: accepted values of ``parametrization``
    PARAMETRIZATIONS = ("direct", "equalized")

    def __init__(self, target, init_scale: float = 0.1, seed: int | None = None, in_dims: int | None = None,
                 parametrization: str = "direct", layers=None, **kwargs):
        super().__init__(target, init_scale=init_scale, seed=seed, in_dims=in_dims, layers=layers, **kwargs)
        self.parametrization = check_choice("parametrization", parametrization, self.PARAMETRIZATIONS)

    def _weight_scale(self) -> np.ndarray:
        """``sigma``: per emitted weight, the initial standard deviation of its tensor (kernel or bias)."""
        parts = []
        for spec, (kernel, bias) in zip(self.specs, self.initial_weights):
            kernel_scale, bias_scale = weight_scales(kernel, bias)
            parts.append(np.full(spec.kernel_size, kernel_scale, dtype=np.float32))
            if spec.use_bias:
                parts.append(np.full(spec.bias_size, bias_scale, dtype=np.float32))
        return np.concatenate(parts)

    def _create_variables(self) -> None:
        total = sum(spec.parameter_count for spec in self.specs)
        weight_scale = self._weight_scale()
        if self.parametrization == "direct":
            draws = np.random.default_rng(_seed_for_numpy(self.seed)).standard_normal((self.feature_dim, total))
            self.kernel = self.add_weight(
                name="kernel", shape=(self.feature_dim, total),
                initializer=_values(draws * weight_scale * (self.init_scale / math.sqrt(self.feature_dim))),
            )
            self.bias = self.add_weight(
                name="bias", shape=(total,), initializer=_values(flatten_parameters(self.initial_weights))
            )
            self.weight_scale = None
            return
        self.kernel = self.add_weight(
            name="kernel", shape=(self.feature_dim, total),
            initializer=keras.initializers.RandomNormal(
                stddev=self.init_scale / math.sqrt(self.feature_dim), seed=_seed_for_numpy(self.seed)
            ),
        )
        self.bias = self.add_weight(
            name="bias", shape=(total,), initializer=_values(flatten_parameters(self.initial_weights) / weight_scale)
        )
        self.weight_scale = self.add_weight(
            name="weight_scale", shape=(total,), initializer=_values(weight_scale), trainable=False
        )

    def call(self, features):
        flat = self._linear(features)
        if self.weight_scale is not None:
            flat = flat * self._read(self.weight_scale)
        return split_flat_parameters(flat, self.specs)

    def get_config(self) -> dict:
        return {**super().get_config(), "parametrization": self.parametrization}

    @classmethod
    def from_config(cls, config: dict):
        # configs saved before `parametrization` existed describe the equalized head (it was the only one)
        return cls(**{"parametrization": "equalized", **config})

    def _output_shapes(self, batch) -> list[tuple]:
        return [
            ((batch, *spec.kernel_shape), (batch, *spec.bias_shape) if spec.use_bias else None) for spec in self.specs
        ]


@register
class LowRankHead(WeightHead):
    """``"lowrank"`` head: factorised multiplicative modulation of a shared base network's kernels.

    For every weight layer, ``W_i = W_base * 2 sigmoid(U_i V_i / s)`` with per-sample ``U_i (in, rank)`` and
    ``V_i (rank, out)`` linear in the features (Skorokhodov et al. 2021, https://arxiv.org/abs/2011.12026,
    section 3.2); biases are the base network's. The base network (``base_kernel_i``, ``base_bias_i``) is trained
    with the head and starts at the target's initial weights (the family's initialisation); the modulation starts at
    ``2 sigmoid(~0) ~ 1``. ``U, V`` entries start with standard deviation ``sqrt(init_scale)`` (for unit features),
    so ``U V / s`` starts with standard deviation ``init_scale`` when ``s = sqrt(rank)``.

    Args:
        target: see :class:`WeightHead`.
        rank: rank of the modulation; positive.
        temperature: ``s``; defaults to ``sqrt(rank)``.
        init_scale, seed, in_dims: see :class:`WeightHead`.
        **kwargs: standard layer arguments.
    """

    head_name = "lowrank"

    def __init__(self, target, rank: int = 4, temperature: float | None = None, init_scale: float = 0.1,
                 seed: int | None = None, in_dims: int | None = None, per_sample_bias: bool = False,
                 learn_scale: bool = False, layers=None, **kwargs):
        super().__init__(target, init_scale=init_scale, seed=seed, in_dims=in_dims, layers=layers, **kwargs)
        self.rank = check_positive_int("rank", rank)
        self.temperature = (
            math.sqrt(self.rank) if temperature is None else check_positive_float("temperature", temperature)
        )
        self.per_sample_bias = check_bool("per_sample_bias", per_sample_bias)
        self.learn_scale = check_bool("learn_scale", learn_scale)

    def _create_variables(self) -> None:
        factor_std = math.sqrt(self.init_scale) / math.sqrt(self.feature_dim)
        column_std = []
        for spec, (kernel, bias) in zip(self.specs, self.initial_weights):
            column_std.append(np.full((spec.kernel_shape[0] + spec.kernel_shape[1]) * self.rank, factor_std))
            if self.per_sample_bias and spec.use_bias:
                # bias offsets start like the shift head's: init_scale times the bias's scale, for unit features
                bias_std = weight_scales(kernel, bias)[1] * self.init_scale / math.sqrt(self.feature_dim)
                column_std.append(np.full(spec.bias_size, bias_std))
        column_std = np.concatenate(column_std)
        draws = np.random.default_rng(_seed_for_numpy(self.seed)).standard_normal((self.feature_dim, column_std.size))
        self.kernel = self.add_weight(
            name="kernel", shape=(self.feature_dim, column_std.size), initializer=_values(draws * column_std)
        )
        self.bias = self.add_weight(name="bias", shape=(column_std.size,), initializer="zeros")
        self._add_base_network()
        self.modulation_scales = [
            self.add_weight(name=f"modulation_scale_{index}", shape=(), initializer="ones")
            for index in range(len(self.specs))
        ] if self.learn_scale else None

    def call(self, features):
        factors = self._linear(features)  # (batch, size): per layer U_i, V_i (and bias offsets), flattened
        weights, start = [], 0
        for index, (spec, (base_kernel, base_bias)) in enumerate(zip(self.specs, self._base_network())):
            rows, columns = spec.kernel_shape[:2]
            left = ops.reshape(factors[:, start : start + rows * self.rank], (-1, rows, self.rank))
            start += rows * self.rank
            right = ops.reshape(factors[:, start : start + self.rank * columns], (-1, self.rank, columns))
            start += self.rank * columns
            scale = None if self.modulation_scales is None else self._read(self.modulation_scales[index])
            kernel = multiplicative_modulation(base_kernel, left, right, self.temperature, scale=scale)
            bias = base_bias
            if self.per_sample_bias and spec.use_bias:
                offset = ops.reshape(factors[:, start : start + spec.bias_size], (-1, *spec.bias_shape))
                start += spec.bias_size
                bias = ops.expand_dims(base_bias, 0) + offset
            weights.append((kernel, bias))
        return weights

    def _output_shapes(self, batch) -> list[tuple]:
        def bias_shape(spec):
            if not spec.use_bias:
                return None
            return (batch, *spec.bias_shape) if self.per_sample_bias else spec.bias_shape

        return [((batch, *spec.kernel_shape), bias_shape(spec)) for spec in self.specs]

    def get_config(self) -> dict:
        return {**super().get_config(), "rank": self.rank, "temperature": self.temperature,
                "per_sample_bias": self.per_sample_bias, "learn_scale": self.learn_scale}


@register
class ShiftHead(WeightHead):
    """``"shift"`` head: shift modulations of a shared base network (functa).

    Dupont, Kim, Eslami, Rezende & Rosenbaum 2022, "From data to functa", https://arxiv.org/abs/2201.12204,
    section 3 ("shift modulations"): every activated (hidden) layer of the base network gets a per-sample shift of
    its bias, ``b_i + s_i`` with ``s = f K + c`` linear in the features; kernels and the linear output layer are
    shared. The base network (``base_kernel_i``, ``base_bias_i``) starts at the target's initial weights (the
    family's initialisation) and is trained with the head; ``K`` starts with columns of standard deviation
    ``init_scale * sigma_b / sqrt(F)`` (``sigma_b`` the initial scale of the layer's bias) and ``c = 0``.

    Args:
        target, init_scale, seed, in_dims: see :class:`WeightHead`.
        **kwargs: standard layer arguments.

    Raises:
        ValueError: naming ``target`` if it has no activated layer with a bias to shift.
    """

    head_name = "shift"

    def __init__(self, target, init_scale: float = 0.1, seed: int | None = None, in_dims: int | None = None,
                 layers=None, **kwargs):
        super().__init__(target, init_scale=init_scale, seed=seed, in_dims=in_dims, layers=layers, **kwargs)
        self.modulated = [
            index for index, spec in enumerate(self.specs) if spec.activation != "linear" and spec.use_bias
        ]
        if self.layers is not None and len(self.modulated) != len(self.specs):
            raise ValueError(
                f"A 'shift' head shifts the biases of activated layers, but the target's weight layer(s) "
                f"{[self.layers[i] for i in range(len(self.specs)) if i not in self.modulated]} are linear or have no "
                "bias (e.g. the output layer); give them another head ('full', 'lowrank' or 'shared')."
            )
        if not self.modulated:
            raise ValueError(
                "head='shift' modulates the biases of the `target`'s activated hidden layers, but the target has "
                "none (depth=0 or use_bias=False); use head='full' or 'lowrank'."
            )

    def _create_variables(self) -> None:
        column_std = np.concatenate([
            np.full(self.specs[index].bias_size, weight_scales(*self.initial_weights[index])[1])
            for index in self.modulated
        ]) * (self.init_scale / math.sqrt(self.feature_dim))
        draws = np.random.default_rng(_seed_for_numpy(self.seed)).standard_normal((self.feature_dim, column_std.size))
        self.kernel = self.add_weight(
            name="kernel", shape=(self.feature_dim, column_std.size), initializer=_values(draws * column_std)
        )
        self.bias = self.add_weight(name="bias", shape=(column_std.size,), initializer="zeros")
        self._add_base_network()

    def call(self, features):
        shifts = self._linear(features)  # (batch, sum of modulated widths)
        weights, start = self._base_network(), 0
        for index in self.modulated:
            kernel, bias = weights[index]
            spec = self.specs[index]
            shift = ops.reshape(shifts[:, start : start + spec.bias_size], (-1, *spec.bias_shape))
            weights[index] = (kernel, ops.expand_dims(bias, 0) + shift)
            start += spec.bias_size
        return weights

    def _output_shapes(self, batch) -> list[tuple]:
        shapes = [(spec.kernel_shape, spec.bias_shape if spec.use_bias else None) for spec in self.specs]
        for index in self.modulated:
            shapes[index] = (shapes[index][0], (batch, *self.specs[index].bias_shape))
        return shapes


@register
class SharedHead(WeightHead):
    """``"shared"`` head (for :class:`PerLayerHead`): weights shared by every sample, trained with the head.

    The layers' kernels and biases are ordinary trainable variables (``base_kernel_i``, ``base_bias_i``) starting at
    the target's initial weights; nothing depends on the features. Use it for layers that need no per-sample
    freedom, e.g. ``head=["full", "shared", "full"]``.

    Args:
        target, init_scale (unused: nothing varies per sample), seed, in_dims, layers: see :class:`WeightHead`.
        **kwargs: standard layer arguments.
    """

    head_name = "shared"

    def _create_variables(self) -> None:
        self._add_base_network()

    def call(self, features):
        return self._base_network()

    def _output_shapes(self, batch) -> list[tuple]:
        return [(spec.kernel_shape, spec.bias_shape if spec.use_bias else None) for spec in self.specs]


#: Heads by the names accepted by ``HyperINR(head=...)``.
HEADS = {"full": FullHead, "lowrank": LowRankHead, "shift": ShiftHead}

#: Heads by the names accepted in a per-layer head list (``HyperINR(head=["full", "lowrank", "full"])``).
LAYER_HEADS = {**HEADS, "shared": SharedHead}


def _accepted_arguments(cls) -> list[str]:
    return [
        name for name, parameter in inspect.signature(cls.__init__).parameters.items()
        if name not in ("self", "target", "in_dims", "layers") and parameter.kind is parameter.POSITIONAL_OR_KEYWORD
    ]


@register
class PerLayerHead(WeightHead):
    """A head per weight layer of the target: e.g. full weights for the first and last layers and low-rank
    modulation of the hidden ones (``["full", "lowrank", "full"]``, the layout of the ancestor's hypernetwork
    autoencoder).

    ``heads[i]`` names the head of weight layer ``i`` (:data:`LAYER_HEADS`: ``"full"``, ``"lowrank"``, ``"shift"``,
    ``"shared"``). Consecutive layers with the same name *and* the same configuration share one sub-head (one linear
    map for their weights); each sub-head is an ordinary head restricted to its layers (``layers=``), so it works for
    every target family. A ``"shift"`` entry must name an activated layer with a bias (it shifts biases of hidden
    layers).

    Args:
        target, init_scale, seed, in_dims: see :class:`WeightHead`; ``init_scale`` and ``seed`` are the defaults of
            every sub-head (a sub-head's ``seed`` is ``seed + i`` for its first layer ``i``).
        heads: one name per weight layer of the target (``len(target.weight_layers)`` of them).
        head_configs: ``None``, one dict of keyword arguments per layer (``None`` entries for none), or a dict from
            head name to keyword arguments applied to every layer with that head, e.g. ``{"lowrank": {"rank": 8}}``.
        **kwargs: standard layer arguments; the sub-heads follow this head's dtype policy.

    Raises:
        ValueError: naming ``heads`` for a list of the wrong length or with unknown names, ``head_configs`` for
            unknown keys or a malformed value, ``target`` when a ``"shift"`` layer has no activated bias.
    """

    head_name = "per_layer"

    def __init__(self, target, heads=None, head_configs=None, init_scale: float = 0.1, seed: int | None = None,
                 in_dims: int | None = None, **kwargs):
        kwargs.pop("layers", None)  # always every layer
        if isinstance(target, dict):
            target = keras.saving.deserialize_keras_object(target)
        super().__init__(target, init_scale=init_scale, seed=seed, in_dims=in_dims, **kwargs)
        count = len(self.specs)
        if isinstance(heads, str) or not isinstance(heads, (list, tuple)) or len(heads) != count:
            raise ValueError(
                f"`heads` must be a list of {count} head names, one per weight layer of the target (from "
                f"{tuple(LAYER_HEADS)}), e.g. {['full', *['lowrank'] * max(count - 2, 0), 'full'][:count]}; got "
                f"{heads!r}."
            )
        for name in heads:
            check_choice("heads", name, tuple(LAYER_HEADS))
        self.heads = [str(name) for name in heads]
        self.head_configs = self._check_configs(head_configs)
        groups: list[list[int]] = []
        for index in range(count):
            if groups and self.heads[groups[-1][-1]] == self.heads[index] and (
                    self.head_configs[groups[-1][-1]] == self.head_configs[index]):
                groups[-1].append(index)
            else:
                groups.append([index])
        self.sub_heads = []
        for layers in groups:
            name = self.heads[layers[0]]
            options = {"init_scale": self.init_scale, "seed": None if self.seed is None else self.seed + layers[0],
                       **self.head_configs[layers[0]]}
            self.sub_heads.append(LAYER_HEADS[name](
                target, layers=layers, dtype=self.dtype_policy,
                name=f"layers_{'_'.join(map(str, layers))}_{name}", **options,
            ))

    def _check_configs(self, head_configs) -> list[dict]:
        count = len(self.heads)
        if head_configs is None:
            configs = [{} for _ in range(count)]
        elif isinstance(head_configs, dict):
            unknown = sorted(set(head_configs) - set(LAYER_HEADS))
            if unknown:
                raise ValueError(
                    f"`head_configs` as a dict maps head names ({tuple(LAYER_HEADS)}) to their options; unknown "
                    f"names {unknown}."
                )
            configs = [dict(head_configs.get(name) or {}) for name in self.heads]
        elif isinstance(head_configs, (list, tuple)) and len(head_configs) == count:
            configs = [dict(config or {}) for config in head_configs]
        else:
            raise ValueError(
                f"`head_configs` must be None, a dict from head name to options, or a list of {count} dicts (one per "
                f"layer), got {head_configs!r}."
            )
        for name, config in zip(self.heads, configs):
            accepted = _accepted_arguments(LAYER_HEADS[name])
            unknown = sorted(set(config) - set(accepted))
            if unknown:
                raise ValueError(
                    f"Invalid `head_configs` entry {config!r} for head {name!r}: unknown keys {unknown}; it takes "
                    f"{accepted}."
                )
        return configs

    def build(self, input_shape):
        self._set_feature_dim(input_shape)
        for head in self.sub_heads:
            head.build(tuple(input_shape))
        self.built = True

    def call(self, features):
        weights = []
        for head in self.sub_heads:
            weights.extend(head(features))
        return weights

    def _output_shapes(self, batch) -> list[tuple]:
        shapes = []
        for head in self.sub_heads:
            shapes.extend(head._output_shapes(batch))
        return shapes

    def get_config(self) -> dict:
        config = super().get_config()
        config.pop("layers", None)
        return {**config, "heads": list(self.heads), "head_configs": [dict(c) for c in self.head_configs]}


def get_head(head, target, head_config: dict | None = None, **layer_kwargs) -> WeightHead:
    """Return the head of ``target`` from a name, a serialized head, or an instance.

    Args:
        head: a name of :data:`HEADS` (``"full"``, ``"lowrank"``, ``"shift"``); a list of one name of
            :data:`LAYER_HEADS` per weight layer (a :class:`PerLayerHead`; ``head_config`` then takes
            ``head_configs``, ``init_scale`` and ``seed``); a :class:`WeightHead` (made from a
            target of the same architecture); or a dict from ``keras.saving.serialize_keras_object`` of a head, whose
            ``target`` entry may be left out (it is then ``target``, as in :meth:`hypernets.HyperINR.get_config`).
        target: the built keras-inr model the head generates weights for.
        head_config: keyword arguments of the head class when ``head`` is a name (e.g. ``{"rank": 8}``).
        **layer_kwargs: Keras layer arguments for a head made from a name (``name``, ``dtype``).

    Raises:
        ValueError: for an unknown name, unknown ``head_config`` keys, a ``head_config`` given with an instance or a
            config, or a head made for another architecture than ``target``'s.
    """
    if isinstance(head, (WeightHead, dict)) and head_config:
        raise ValueError("`head_config` can only be given with a head name, not with a head instance or config.")
    if isinstance(head, (list, tuple)):
        options = dict(head_config or {})
        unknown = sorted(set(options) - {"head_configs", "init_scale", "seed"})
        if unknown:
            raise ValueError(
                f"Invalid `head_config` {head_config!r} for a per-layer head list: unknown keys {unknown}; it takes "
                "['head_configs', 'init_scale', 'seed'] (head_configs: per-layer or per-name options)."
            )
        head = PerLayerHead(target, heads=list(head), **options, **layer_kwargs)
    elif isinstance(head, dict):
        head = dict(head)
        inner = dict(head.get("config", {}))
        inner.setdefault("target", target)
        head["config"] = inner
        head = keras.saving.deserialize_keras_object(head)
    elif isinstance(head, str):
        check_choice("head", head, tuple(HEADS))
        cls = HEADS[head]
        accepted = _accepted_arguments(cls)
        unknown = sorted(set(head_config or {}) - set(accepted))
        if unknown:
            raise ValueError(
                f"Invalid `head_config` {head_config!r} for head={head!r}: unknown keys {unknown}; it takes {accepted}."
            )
        head = cls(target, **(head_config or {}), **layer_kwargs)  # bad values raise ValueErrors naming themselves
    elif not isinstance(head, WeightHead):
        raise ValueError(
            f"`head` must be one of {tuple(HEADS)}, a list of per-layer head names (from {tuple(LAYER_HEADS)}), a "
            f"WeightHead or a serialized head, got {head!r}."
        )
    if head.layers is not None and list(head.layers) != list(range(len(layer_specs(target)))):
        raise ValueError(
            f"The `head` generates only the target's weight layers {list(head.layers)}; a HyperINR needs a head for "
            "every layer (give each layer its own head with a list, e.g. head=['full', 'lowrank', 'full'])."
        )
    if head.specs != layer_specs(target):
        raise ValueError(
            f"The `head` was made for a target with layers {head.specs}, but the target has {layer_specs(target)}; "
            "make the head from the same target (e.g. hypernets.FullHead(target))."
        )
    return head
