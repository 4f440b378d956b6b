"""INR models: a composable coordinate MLP, the three classic families and sums of INRs.

Every model maps coordinates ``(N, in_dims)`` -- or ``(batch, points, in_dims)`` -- to values ``(N, out_dims)`` for any
``in_dims`` (1 for audio, 2 for images, 3 for volumes or video). Every model exposes its dense layers as
:attr:`CoordinateMLP.weight_layers` and can run on weights supplied from outside with
:meth:`CoordinateMLP.call_with_weights`; that is how :mod:`hypernets` reuses a keras-inr model as the architecture of
the INRs it generates.

Dtype policies: a model's ``dtype`` (e.g. ``SIREN(out_dims=1, dtype="mixed_bfloat16")``) reaches every sublayer it
builds. Coordinates enter in float32 under every policy, so that the encoding or the first layer -- which compute in
float32 (see :mod:`keras_inr.layers`) -- see them unrounded; outputs are in the compute dtype.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras

from keras_inr import families as inr_families
from keras_inr.activations import HALF_DTYPES
from keras_inr.layers.complex import ComplexDense
from keras_inr.layers.dense import CoordinateDense, check_float_policy
from keras_inr.layers.encodings import FourierFeatures, PositionalEncoding
from keras_inr.saving import register
from keras_inr.validation import check_choice, check_positive_int

#: Encodings accepted by name in :class:`CoordinateMLP` and their layer classes.
ENCODINGS = {"fourier": FourierFeatures, "positional": PositionalEncoding}


@register
class CoordinateMLP(keras.Model):
    """A coordinate network: optional encoding, ``depth`` activated hidden layers of ``width`` units, linear output.

    Combine any encoding with any hidden family (Fourier features followed by sine layers), or give every hidden
    layer its own family and hyperparameters (sine, sine, gauss), as the ancestor codebase's ``MLPINR`` did.

    Args:
        out_dims: number of output channels (1 for grey images or SDFs, 3 for RGB).
        width: units per hidden layer. Families with complex weights (WIRE) use ``width / sqrt(2)`` complex units
            so the parameter count matches a real network of ``width`` (the family's ``width_scale``).
        depth: number of activated hidden layers (0 gives a linear map of the encoded coordinates); defaults to 3,
            or to ``len(hidden)`` for a list.
        hidden: the hidden family, any name of :mod:`keras_inr.families` (``"siren"`` -- also ``"sine"`` --,
            ``"gauss"``, ``"wire"``, ``"finer"``, ``"relu"``, ``"ffn"``, ... or a family registered by the user), or
            a list with one family name per hidden layer (families with their own encoding, such as ``"ffn"``,
            only as a single name).
        hidden_config: the family's hyperparameters (``families.get(hidden).hyperparameters``), e.g.
            ``{"w0", "first_w0"}`` for SIREN (``first_w0`` defaults to ``w0``), ``{"inverse_scale"}`` for gauss;
            missing ones take the registry's defaults. With a list of families, a list of such dicts (one per layer,
            ``None`` for the defaults).
        encoding: ``None``, a Keras layer applied to the coordinates first, or ``"fourier"`` / ``"positional"``.
        encoding_config: keyword arguments of the encoding when it is given by name.
        learnable: activation hyperparameters to train, by the layers' attribute names (``("w0",)``), for every
            hidden layer that has them; or a list with one such tuple per hidden layer. Default: none (fixed, as in
            the papers). See :class:`keras_inr.layers.CoordinateDense`.
        in_dims: optional coordinate dimensionality; when given, the model is built at once.
        **kwargs: standard ``keras.Model`` arguments (``name``, ``dtype``). ``dtype`` (a policy name such as
            ``"mixed_bfloat16"``) applies to every layer the model builds; an encoding given as a layer keeps its own.

    Shapes:
        input ``(N, in_dims)`` or ``(batch, points, in_dims)``, kept in float32; output ``(N, out_dims)`` /
        ``(batch, points, out_dims)`` in the compute dtype (real, also for complex families: the output layer takes
        the real part).

    Example:
        >>> model = CoordinateMLP(1, width=32, hidden=["siren", "siren", "gauss"],
        ...                       hidden_config=[{"w0": 30.0}, None, {"inverse_scale": 5.0}], learnable=("w0",))
        >>> model(keras.ops.zeros((4, 2))).shape
        (4, 1)
    """

    def __init__(
        self,
        out_dims: int,
        width: int = 256,
        depth: int | None = None,
        hidden="sine",
        hidden_config=None,
        encoding=None,
        encoding_config: dict | None = None,
        in_dims: int | None = None,
        learnable=(),
        **kwargs,
    ):
        super().__init__(**kwargs)
        check_float_policy(self)
        self.out_dims = check_positive_int("out_dims", out_dims)
        self.width = check_positive_int("width", width)
        per_layer = isinstance(hidden, (list, tuple))
        if per_layer:
            if not hidden:
                raise ValueError("`hidden` must be a family name or a non-empty list of family names, got [].")
            if depth is not None and check_positive_int("depth", depth, allow_zero=True) != len(hidden):
                raise ValueError(f"`depth`={depth} but `hidden` names {len(hidden)} families (one per hidden layer).")
            depth = len(hidden)
        self.depth = check_positive_int("depth", 3 if depth is None else depth, allow_zero=True)
        self.encoding_config = dict(encoding_config or {})
        if per_layer:
            layer_families = [inr_families.get(name, "hidden") for name in hidden]
            with_encoding = [family.name for family in layer_families if family.encoding is not None]
            if with_encoding:
                raise ValueError(
                    f"`hidden` lists {with_encoding}, families with their own encoding; use them as a single family "
                    "(hidden='ffn') or give `encoding='fourier'` with per-layer families."
                )
            configs = [None] * self.depth if hidden_config is None else hidden_config
            if not isinstance(configs, (list, tuple)) or len(configs) != self.depth:
                raise ValueError(
                    f"With a list of families, `hidden_config` must be None or a list of {self.depth} dicts (one per "
                    f"hidden layer), got {hidden_config!r}."
                )
            self.family = None
            self.hidden = [family.name for family in layer_families]
            self.hidden_config = [
                family.check_hyperparameters(config, f"hidden_config[{index}]")
                for index, (family, config) in enumerate(zip(layer_families, configs))
            ]
            self._layer_families = list(zip(layer_families, self.hidden_config))
        else:
            self.family = inr_families.get(hidden, "hidden")
            self.hidden = self.family.name
            self.hidden_config = self.family.check_hyperparameters(hidden_config)
            self._layer_families = [(self.family, self.hidden_config)] * self.depth
        self.learnable = self._check_learnable(learnable)
        # A family with its own encoding (Fourier features) builds it from its hyperparameters unless one is given.
        self._family_encoding = encoding is None and self.family is not None and self.family.encoding is not None
        if self._family_encoding:
            encoding_kwargs = {**self.family.encoding_kwargs(self.hidden_config), **self.encoding_config}
            self.encoding = self.family.encoding(**encoding_kwargs, name="encoding", dtype=self.dtype_policy)
        else:
            self.encoding = self._make_encoding(encoding, self.encoding_config)
        self.hidden_layers = []
        for index in range(self.depth):
            self.hidden_layers.append(self._make_hidden_layer(index))
        self.output_layer = self._make_output_layer()
        self.in_dims = None
        if in_dims is not None:
            self.build((None, check_positive_int("in_dims", in_dims)))

    # --- construction -----------------------------------------------------------------------------------------
    def _check_learnable(self, learnable) -> tuple:
        """``learnable`` as one tuple of names per hidden layer (each layer's class checks its own names)."""
        if isinstance(learnable, str):
            learnable = (learnable,)
        if not isinstance(learnable, (list, tuple)):
            raise ValueError(f"`learnable` must be a tuple of parameter names or a list of them per layer, got "
                             f"{learnable!r}.")
        if learnable and all(isinstance(item, (list, tuple)) for item in learnable):
            if len(learnable) != self.depth:
                raise ValueError(f"`learnable` as a list per layer must have {self.depth} entries, got {learnable!r}.")
            return tuple(tuple(item) for item in learnable)
        if not all(isinstance(item, str) for item in learnable):
            raise ValueError(f"`learnable` must hold parameter names such as 'w0', got {learnable!r}.")
        names = tuple(learnable)
        available = {name for family, _ in self._layer_families for name in family.layer.activation_parameters}
        unknown = sorted(set(names) - available)
        if unknown:
            raise ValueError(
                f"`learnable` names {unknown}, but the hidden layers' trainable activation parameters are "
                f"{sorted(available)}."
            )
        return tuple(
            tuple(name for name in names if name in family.layer.activation_parameters)
            for family, _ in self._layer_families
        )

    def _make_encoding(self, encoding, encoding_config: dict):
        if encoding is None:
            if encoding_config:
                raise ValueError("`encoding_config` was given but `encoding` is None.")
            return None
        if isinstance(encoding, str):
            check_choice("encoding", encoding, tuple(ENCODINGS))
            return ENCODINGS[encoding](**encoding_config, name="encoding", dtype=self.dtype_policy)
        if isinstance(encoding, dict):  # a serialized layer (from get_config)
            return keras.saving.deserialize_keras_object(encoding)
        if isinstance(encoding, keras.layers.Layer):
            return encoding
        raise ValueError(f"`encoding` must be None, 'fourier', 'positional' or a keras Layer, got {encoding!r}.")

    def _make_hidden_layer(self, index: int) -> CoordinateDense:
        family, config = self._layer_families[index]
        kwargs = family.layer_kwargs(config, index)
        previous = self.hidden_layers[index - 1] if index else None
        if family.layer.accepts_complex_input:
            kwargs["complex_input"] = bool(previous is not None and previous.complex_outputs)
        if self.learnable[index]:
            kwargs["learnable"] = self.learnable[index]
        units = max(1, round(self.width * family.width_scale))
        return family.layer(units, is_first=index == 0, name=f"hidden_{index}", dtype=self.dtype_policy, **kwargs)

    def _make_output_layer(self) -> CoordinateDense:
        if not self.hidden_layers:
            layer_class, kernel_init, bias_init = CoordinateDense, *self._single_family_output_initializers()
        else:
            family, config = self._layer_families[-1]
            kernel_init, bias_init = family.layer.output_initializers(
                self.depth, **family.layer_kwargs(config, max(1, self.depth - 1))
            )
            layer_class = ComplexDense if self.hidden_layers[-1].complex_outputs else CoordinateDense
        return layer_class(
            self.out_dims, kernel_initializer=kernel_init, bias_initializer=bias_init, is_first=self.depth == 0,
            name="output", dtype=self.dtype_policy,
        )

    def _single_family_output_initializers(self):
        if self.family is None:
            return "glorot_uniform", "zeros"
        return self.family.layer.output_initializers(0, **self.family.layer_kwargs(self.hidden_config, 1))

    @property
    def input_dtype(self):
        """Coordinates stay float32 under a 16-bit policy: the encoding or first layer computes in float32."""
        return "float32" if self.compute_dtype in HALF_DTYPES else self.compute_dtype

    def build(self, input_shape):
        if len(input_shape) < 2:
            raise ValueError(
                f"Coordinates must have shape (N, in_dims) -- e.g. (N, 1) for audio -- got input shape "
                f"{tuple(input_shape)}; add the coordinate axis with x[:, None]."
            )
        in_dims = input_shape[-1]
        if in_dims is None:
            raise ValueError(f"The coordinate dimension (last axis) must be known, got input shape {input_shape}.")
        self.in_dims = int(in_dims)
        shape = tuple(input_shape)
        for layer in self.feature_layers:
            if not layer.built:
                layer.build(shape)
            shape = layer.compute_output_shape(shape)
        self.built = True

    # --- the seam used by hypernetworks ---------------------------------------------------------------------
    @property
    def feature_layers(self) -> list:
        """All layers in order: the encoding (if any), the hidden layers and the output layer."""
        return ([self.encoding] if self.encoding is not None else []) + [*self.hidden_layers, self.output_layer]

    @property
    def weight_layers(self) -> list[CoordinateDense]:
        """The dense layers whose kernels and biases a hypernetwork generates, in order."""
        return [*self.hidden_layers, self.output_layer]

    def check_coordinates(self, coordinates) -> None:
        """Raise ``ValueError`` if ``coordinates``' last axis is not the model's coordinate dimension."""
        last = coordinates.shape[-1]
        if self.in_dims is not None and last is not None and int(last) != self.in_dims:
            raise ValueError(
                f"{self.__class__.__name__} {self.name!r} was built for {self.in_dims}-D coordinates "
                f"(input shape (N, {self.in_dims})), but got coordinates of shape {tuple(coordinates.shape)}."
            )

    def call_with_weights(self, coordinates, weights: Sequence):
        """Evaluate the network with weights supplied from outside.

        Args:
            coordinates: ``(batch, points, in_dims)`` (or ``(N, in_dims)`` with shared weights).
            weights: one ``(kernel, bias)`` pair per entry of :attr:`weight_layers`; each kernel ``(in, out)`` shared
                or ``(batch, in, out)`` per sample, each bias ``(out,)`` or ``(batch, out)`` (or ``None``).

        Returns:
            ``(batch, points, out_dims)``.
        """
        if len(weights) != len(self.weight_layers):
            raise ValueError(
                f"`weights` must hold {len(self.weight_layers)} (kernel, bias) pairs, one per weight layer, "
                f"got {len(weights)}."
            )
        self.check_coordinates(coordinates)
        features = coordinates if self.encoding is None else self.encoding(coordinates)
        for layer, (kernel, bias) in zip(self.weight_layers, weights):
            features = layer.call_with_weights(features, kernel, bias)
        return features

    # --- Keras plumbing ---------------------------------------------------------------------------------------
    def call(self, inputs, training=None):
        self.check_coordinates(inputs)
        features = inputs
        for layer in self.feature_layers:
            features = layer(features)
        return features

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.out_dims)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            out_dims=self.out_dims,
            width=self.width,
            depth=self.depth,
            hidden=self.hidden,
            hidden_config=self.hidden_config,
            encoding=(
                keras.saving.serialize_keras_object(self.encoding)
                if self.encoding is not None and not self._family_encoding
                else None
            ),
        )
        if self._family_encoding and self.encoding_config:
            config["encoding_config"] = self.encoding_config
        config.update(self._extra_config())
        return config

    def get_build_config(self):
        """``{"input_shape": [None, in_dims]}``: a model is built for a coordinate dimension, not a batch size (so the
        config is the same however the model was first built)."""
        if self.in_dims is None:
            return super().get_build_config()
        return {"input_shape": [None, self.in_dims]}

    def _extra_config(self) -> dict:
        """``in_dims`` of a built model (so that ``from_config`` builds it) and ``learnable`` when any activation
        parameter is trained (in its per-layer form)."""
        config = {} if self.in_dims is None else {"in_dims": self.in_dims}
        if any(self.learnable):
            config["learnable"] = [list(names) for names in self.learnable]
        return config


@register
class SIREN(CoordinateMLP):
    """Sinusoidal representation network (Sitzmann et al. 2020, https://arxiv.org/abs/2006.09661).

    ``depth`` sine layers of ``width`` units, then a linear output layer, initialised as in the reference
    implementation (see :class:`keras_inr.layers.SineDense`).

    Args:
        out_dims: number of output channels.
        width: units per hidden layer.
        depth: number of sine layers (``SIREN(depth=3)`` has three sine layers then a linear layer).
        w0: omega_0 of the hidden layers (30 in the paper).
        first_w0: omega_0 of the first layer; defaults to ``w0``.
        in_dims: optional coordinate dimensionality to build at once.
        **kwargs: standard ``keras.Model`` arguments.

    Example:
        >>> model = SIREN(out_dims=3, width=64, depth=2)
        >>> model(keras.ops.zeros((10, 2))).shape
        (10, 3)
    """

    def __init__(
        self,
        out_dims: int,
        width: int = 256,
        depth: int = 3,
        w0: float = 30.0,
        first_w0: float | None = None,
        in_dims: int | None = None,
        **kwargs,
    ):
        super().__init__(
            out_dims, width, depth, hidden="siren", hidden_config={"w0": w0, "first_w0": first_w0}, in_dims=in_dims,
            **kwargs,
        )
        self.w0 = self.hidden_config["w0"]
        self.first_w0 = self.hidden_config["first_w0"]

    def get_config(self) -> dict:
        config = keras.Model.get_config(self)
        config.update(out_dims=self.out_dims, width=self.width, depth=self.depth, w0=self.w0, first_w0=self.first_w0)
        config.update(self._extra_config())
        return config


@register
class GaussianINR(CoordinateMLP):
    """Gaussian-activated coordinate MLP (Ramasinghe & Lucey 2022, https://arxiv.org/abs/2111.15135).

    Args:
        out_dims: number of output channels.
        width: units per hidden layer.
        depth: number of Gaussian layers.
        inverse_scale: ``s`` of ``exp(-(s z)^2)``.
        in_dims: optional coordinate dimensionality to build at once.
        **kwargs: standard ``keras.Model`` arguments.
    """

    def __init__(
        self,
        out_dims: int,
        width: int = 256,
        depth: int = 3,
        inverse_scale: float = 10.0,
        in_dims: int | None = None,
        **kwargs,
    ):
        super().__init__(
            out_dims, width, depth, hidden="gauss", hidden_config={"inverse_scale": inverse_scale}, in_dims=in_dims,
            **kwargs,
        )
        self.inverse_scale = self.hidden_config["inverse_scale"]

    def get_config(self) -> dict:
        config = keras.Model.get_config(self)
        config.update(
            out_dims=self.out_dims, width=self.width, depth=self.depth, inverse_scale=self.inverse_scale
        )
        config.update(self._extra_config())
        return config


@register
class FourierFeatureNetwork(CoordinateMLP):
    """Gaussian random Fourier features followed by a ReLU MLP (Tancik et al. 2020, https://arxiv.org/abs/2006.10739).

    Args:
        out_dims: number of output channels.
        width: units per hidden layer.
        depth: number of ReLU layers.
        num_features: number of random frequencies (the mapping has ``2 * num_features`` outputs).
        scale: standard deviation of the frequencies, for coordinates in ``[-1, 1]``: 5 is the paper's
            ``sigma = 10`` (see :class:`keras_inr.layers.FourierFeatures`).
        seed: optional seed of the frequency matrix.
        in_dims: optional coordinate dimensionality to build at once.
        **kwargs: standard ``keras.Model`` arguments.
    """

    def __init__(
        self,
        out_dims: int,
        width: int = 256,
        depth: int = 3,
        num_features: int = 256,
        scale: float = 5.0,
        seed: int | None = None,
        in_dims: int | None = None,
        **kwargs,
    ):
        super().__init__(
            out_dims, width, depth, hidden="ffn", hidden_config={"scale": scale, "num_features": num_features},
            encoding_config={"seed": seed}, in_dims=in_dims, **kwargs,
        )
        self.num_features = self.encoding.num_features
        self.scale = self.encoding.scale
        self.seed = seed

    def get_config(self) -> dict:
        config = keras.Model.get_config(self)
        config.update(
            out_dims=self.out_dims, width=self.width, depth=self.depth, num_features=self.num_features,
            scale=self.scale, seed=self.seed,
        )
        config.update(self._extra_config())
        return config


@register
class WIRE(CoordinateMLP):
    """WIRE: complex Gabor wavelet INR (Saragadam et al. 2023, https://arxiv.org/abs/2301.05187).

    ``depth`` complex Gabor layers (:class:`keras_inr.layers.ComplexGaborDense`) of ``round(width / sqrt(2))``
    complex units -- the paper's way of matching the parameter count of a real network of ``width`` -- then a
    complex linear output layer whose real part is the output (:class:`keras_inr.layers.ComplexDense`). Complex
    weights are stored as float variables ``[..., (real, imaginary)]`` (see :mod:`keras_inr.layers.complex`), so
    training, saving and hypernetworks behave the same on JAX, TensorFlow and PyTorch; outputs are real.

    Args:
        out_dims: number of output channels.
        width: the real width whose parameter count the network matches.
        depth: number of Gabor layers.
        w0: wavelet frequency omega_0 (20 in the paper's image experiments).
        s0: inverse envelope width s_0 (10 in the paper's image experiments).
        in_dims: optional coordinate dimensionality to build at once.
        **kwargs: ``learnable`` (e.g. ``("w0", "s0")``) and standard ``keras.Model`` arguments.
    """

    def __init__(self, out_dims: int, width: int = 256, depth: int = 3, w0: float = 20.0, s0: float = 10.0,
                 in_dims: int | None = None, **kwargs):
        super().__init__(
            out_dims, width, depth, hidden="wire", hidden_config={"w0": w0, "s0": s0}, in_dims=in_dims, **kwargs
        )
        self.w0 = self.hidden_config["w0"]
        self.s0 = self.hidden_config["s0"]

    def get_config(self) -> dict:
        config = keras.Model.get_config(self)
        config.update(out_dims=self.out_dims, width=self.width, depth=self.depth, w0=self.w0, s0=self.s0)
        config.update(self._extra_config())
        return config


@register
class FINER(CoordinateMLP):
    """FINER: variable-periodic sine INR (Liu et al. 2024, https://arxiv.org/abs/2312.02434).

    ``depth`` FINER layers ``sin(w0 (|z| + 1) z)`` (:class:`keras_inr.layers.FinerDense`) with SIREN's kernel
    initialisation, the first layer's bias drawn from the paper's wider ``U(-k, k)`` with ``k = first_bias_scale``,
    then a linear output layer initialised like SIREN's (reference code ``liuzhen0212/FINER``).

    Args:
        out_dims: number of output channels.
        width: units per hidden layer.
        depth: number of FINER layers.
        w0: omega_0 of every FINER layer (30 in the paper).
        first_bias_scale: ``k`` of the first layer's bias initialisation ``U(-k, k)``.
        in_dims: optional coordinate dimensionality to build at once.
        **kwargs: ``learnable`` (e.g. ``("w0",)``) and standard ``keras.Model`` arguments.
    """

    def __init__(self, out_dims: int, width: int = 256, depth: int = 3, w0: float = 30.0,
                 first_bias_scale: float = 1.0, in_dims: int | None = None, **kwargs):
        super().__init__(
            out_dims, width, depth, hidden="finer", hidden_config={"w0": w0, "first_bias_scale": first_bias_scale},
            in_dims=in_dims, **kwargs,
        )
        self.w0 = self.hidden_config["w0"]
        self.first_bias_scale = self.hidden_config["first_bias_scale"]

    def get_config(self) -> dict:
        config = keras.Model.get_config(self)
        config.update(out_dims=self.out_dims, width=self.width, depth=self.depth, w0=self.w0,
                      first_bias_scale=self.first_bias_scale)
        config.update(self._extra_config())
        return config


@register
class CombinedINR(keras.Model):
    """Sum of several INRs evaluated on the same coordinates (the ancestor codebase's ``CombinedINR``).

    ``f(v) = sum_k f_k(v)``: e.g. a SIREN for detail plus a low-frequency Gaussian INR.

    Args:
        inrs: a non-empty list of keras-inr models with the same ``out_dims`` and the same dtype policy.
        **kwargs: standard ``keras.Model`` arguments. ``dtype`` defaults to the members' policy; if given, it must be
            theirs (build the members with it: ``CombinedINR([SIREN(1, dtype=p), GaussianINR(1, dtype=p)], dtype=p)``).

    Shapes:
        input ``(N, in_dims)``, kept in float32; output ``(N, out_dims)`` in the compute dtype.
    """

    def __init__(self, inrs: Sequence, **kwargs):
        inrs = [keras.saving.deserialize_keras_object(m) if isinstance(m, dict) else m for m in inrs]
        if not inrs:
            raise ValueError("`inrs` must be a non-empty list of keras-inr models, got an empty list.")
        for model in inrs:
            if not isinstance(model, (CoordinateMLP, CombinedINR)):
                raise ValueError(f"`inrs` must hold keras-inr models (CoordinateMLP or CombinedINR), got {model!r}.")
        out_dims = {model.out_dims for model in inrs}
        if len(out_dims) != 1:
            raise ValueError(f"All models in `inrs` must have the same `out_dims`, got {sorted(out_dims)}.")
        policies = {model.dtype_policy.name for model in inrs}
        if kwargs.get("dtype") is None:
            if len(policies) != 1:
                raise ValueError(f"All models in `inrs` must have the same dtype policy, got {sorted(policies)}.")
            kwargs["dtype"] = inrs[0].dtype_policy
        super().__init__(**kwargs)
        wrong = sorted({model.dtype_policy.name for model in inrs} - {self.dtype_policy.name})
        if wrong:
            raise ValueError(
                f"All models in `inrs` must have the dtype policy of the CombinedINR, `dtype`="
                f"{self.dtype_policy.name!r}; got members with {wrong} (construct them with the same `dtype`)."
            )
        built_dims = sorted({model.in_dims for model in inrs if model.built and model.in_dims is not None})
        if len(built_dims) > 1:
            raise ValueError(
                f"All models in `inrs` must take coordinates of the same dimension, got members built for {built_dims}."
            )
        self.inrs = list(inrs)
        self.out_dims = out_dims.pop()
        self.in_dims = None

    def build(self, input_shape):
        if len(input_shape) < 2 or input_shape[-1] is None:
            raise ValueError(f"Coordinates must have shape (N, in_dims), got input shape {tuple(input_shape)}.")
        self.in_dims = int(input_shape[-1])
        for model in self.inrs:
            if model.built and model.in_dims is not None and model.in_dims != self.in_dims:
                raise ValueError(
                    f"CombinedINR member {model.name!r} was built for {model.in_dims}-D coordinates, but the inputs "
                    f"have shape {tuple(input_shape)}."
                )
        for model in self.inrs:
            if not model.built:
                model.build(input_shape)
        self.built = True

    @property
    def weight_layers(self) -> list[CoordinateDense]:
        """The dense layers of all members, member after member."""
        return [layer for model in self.inrs for layer in model.weight_layers]

    def check_coordinates(self, coordinates) -> None:
        """Raise ``ValueError`` if the coordinates do not fit the members."""
        for model in self.inrs:
            model.check_coordinates(coordinates)

    def call_with_weights(self, coordinates, weights: Sequence):
        """Sum of the members evaluated with external weights (see :meth:`CoordinateMLP.call_with_weights`)."""
        if len(weights) != len(self.weight_layers):
            raise ValueError(
                f"`weights` must hold {len(self.weight_layers)} (kernel, bias) pairs, got {len(weights)}."
            )
        outputs, start = None, 0
        for model in self.inrs:
            count = len(model.weight_layers)
            member = model.call_with_weights(coordinates, weights[start : start + count])
            outputs = member if outputs is None else outputs + member
            start += count
        return outputs

    @property
    def input_dtype(self):
        """Coordinates stay float32 under a 16-bit policy (each member takes them so)."""
        return "float32" if self.compute_dtype in HALF_DTYPES else self.compute_dtype

    def call(self, inputs, training=None):
        self.check_coordinates(inputs)
        outputs = None
        for model in self.inrs:
            member = model(inputs)
            outputs = member if outputs is None else outputs + member
        return outputs

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.out_dims)

    def get_config(self) -> dict:
        config = super().get_config()
        config["inrs"] = [keras.saving.serialize_keras_object(model) for model in self.inrs]
        return config


def build_model(family: str, out_dims: int, **hyperparameters) -> keras.Model:
    """Create a model of a registered family (:mod:`keras_inr.families`).

    Args:
        family: a family name: ``"siren"``, ``"gauss"``, ``"ffn"``, ``"relu"`` or one registered by the user.
        out_dims: number of output channels.
        **hyperparameters: ``width``, ``depth``, ``in_dims``, Keras arguments (``name``, ``dtype``) and the family's
            own hyperparameters (``w0``, ...); missing ones take the registry's defaults.

    Returns:
        The family's named model class (``SIREN``, ``GaussianINR``, ``FourierFeatureNetwork``) or a
        :class:`CoordinateMLP` with ``hidden=family``.

    Raises:
        ValueError: naming ``family`` for an unknown family, or the hyperparameter for a bad one.
    """
    return inr_families.get(family).build(out_dims, **hyperparameters)
