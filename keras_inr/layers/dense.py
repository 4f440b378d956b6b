"""Dense INR layers: a generic coordinate dense layer and the SIREN and Gaussian families.

Each layer's forward maths is a function of ``(inputs, kernel, bias)`` -- :meth:`CoordinateDense.call_with_weights`
-- that accepts either the layer's own weights or weights supplied from outside, shared or per sample:

=====================  ===========================  =========================  ==========================
inputs                 kernel                       bias                       output
=====================  ===========================  =========================  ==========================
``(..., in)``          ``(in, out)`` (shared)       ``(out,)``                 ``(..., out)``
``(batch, points, in)``  ``(batch, in, out)``        ``(batch, out)`` or        ``(batch, points, out)``
                                                     ``(out,)``
``(batch, points, in)``  ``(in, out)`` (shared)      ``(batch, out)``           ``(batch, points, out)``
=====================  ===========================  =========================  ==========================

The layer's ``call`` passes its own variables; a hypernetwork passes generated tensors. The activation and the
initialisation come from :mod:`keras_inr.activations` and :mod:`keras_inr.initializers`, so nothing is written twice.

Dtype policies: every layer follows its ``dtype`` policy (variables in the variable dtype, outputs in the compute
dtype). Under a 16-bit compute dtype the *first* layer (``is_first=True``, the one that sees the coordinates)
computes in float32 from float32 inputs and float32 reads of its variables, and casts its output to the compute
dtype: 16 bits cannot resolve the coordinate grid (bfloat16 rounds coordinates near 1 to multiples of 2^-7, coarser
than a 256-pixel grid) and SIREN multiplies them by ``w0 = 30``. Its fan-in is the coordinate dimension, so this
costs little. Later layers compute in 16 bits, their activations in float32 (:mod:`keras_inr.activations`).
"""

from __future__ import annotations

import keras
from keras import ops
from keras.backend import standardize_dtype

from keras_inr import activations as inr_activations
from keras_inr import initializers as inr_initializers
from keras_inr.saving import register
from keras_inr.validation import check_positive_float, check_positive_int

# On PyTorch (eager), ``x @ W + b`` with shared 2-D weights runs as one fused ``torch.addmm``; see
# keras_inr/backends/torch.py for the measurement. Other backends use the keras.ops expression below.
if keras.backend.backend() == "torch":
    from keras_inr.backends import torch as _fused_affine
else:
    _fused_affine = None

#: Sentinel for ``bias_initializer``: ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``, resolved in ``build`` once the fan-in
#: is known (``torch.nn.Linear``'s default, which SIREN's reference implementation keeps).
FAN_IN_UNIFORM = "fan_in_uniform"


def check_float_policy(layer) -> None:
    """Raise ``ValueError`` naming ``dtype`` unless ``layer``'s dtype policy computes and stores in a float dtype.

    Complex policies (``"complex64"``) are refused: keras-inr stores complex weights as float pairs
    (:mod:`keras_inr.layers.complex`), which every backend trains the same way.
    """
    policy = layer.dtype_policy
    bad = [dtype for dtype in (policy.compute_dtype, policy.variable_dtype) if "float" not in str(dtype)]
    if bad:
        raise ValueError(
            f"`dtype` of {type(layer).__name__} must be a float policy such as 'float32' or 'mixed_bfloat16', got "
            f"{policy.name!r}. Complex weights need no complex dtype: families such as 'wire' store them as "
            "[real, imaginary] float pairs (keras_inr.layers.complex)."
        )


def affine(inputs, kernel, bias=None):
    """``inputs @ kernel + bias`` for shared or per-sample weights (see the module docstring for shapes).

    ``ops.matmul`` broadcasts leading dimensions, so one expression serves shared kernels ``(in, out)`` and per-sample
    kernels ``(batch, in, out)`` (a batched matmul, no loop over samples). A per-sample bias ``(batch, out)`` is
    broadcast over the points axis.
    """
    if _fused_affine is not None and _fused_affine.can_fuse(inputs, kernel, bias):
        return _fused_affine.fused_affine(inputs, kernel, bias)  # PyTorch: one addmm instead of matmul + add
    outputs = ops.matmul(inputs, kernel)
    if bias is not None:
        if len(bias.shape) == 2:
            bias = ops.expand_dims(bias, axis=-2)  # (batch, 1, out): the same bias for every point of a sample
        outputs = outputs + bias
    return outputs


@register
class CoordinateDense(keras.layers.Layer):
    """A dense layer whose maths can also run on weights supplied from outside.

    ``y = activation(x W + b)``. Subclasses set the activation and initialisation of an INR family; this class with
    ``activation="linear"`` is the output layer of every keras-inr model and with ``"relu"`` the hidden layer of the
    Fourier-feature network.

    Args:
        units: number of outputs ``out``; a positive integer.
        activation: name of an activation of :data:`keras_inr.activations.ACTIVATIONS` (``"linear"``, ``"relu"``,
            ``"sine"``, ``"gaussian"``) applied without extra arguments; ``None`` keeps the class's own.
        is_first: whether the layer takes the coordinates (or their encoding) as input; families whose
            initialisation differs for the first layer (SIREN) read it.
        use_bias: whether to add a bias.
        kernel_initializer: a Keras initializer (or its name) for the ``(in, out)`` kernel.
        bias_initializer: a Keras initializer, its name, or ``"fan_in_uniform"`` for ``U(-1/sqrt(in), 1/sqrt(in))``.
        learnable: names of the class's :attr:`activation_parameters` (e.g. ``("w0",)`` for :class:`SineDense`) to
            train as scalar variables of this layer, starting at their given value; by default they stay fixed, as in
            the papers. A hypernetwork's target keeps them at their value (the target's layers are frozen).
        **kwargs: standard ``keras.layers.Layer`` arguments (``name``, ``dtype``, ...).

    Shapes:
        input ``(..., in)``; output ``(..., units)`` (``(..., 2 units)`` for a layer with complex outputs, see
        :mod:`keras_inr.layers.complex`), in the compute dtype of the layer's policy.

    Weights:
        ``kernel`` of shape :meth:`kernel_shape` (``(in, units)`` here) and ``bias`` of shape :meth:`bias_shape`
        (``(units,)``); families with several pre-activations per unit (WIRE's real Gabor, the multi-bump Gaussian)
        or complex weights add a trailing axis. Hypernetwork heads read these shapes, so they generate weights for
        any family.

    Dtype policies:
        With a 16-bit compute dtype (``mixed_bfloat16``, ``mixed_float16``, ``bfloat16``) a first layer
        (``is_first=True``) takes float32 inputs, reads its variables in float32 and computes its affine map and
        activation in float32, then casts the output to the compute dtype (see the module docstring); set the class
        attribute ``first_layer_in_float32 = False`` in a subclass to compute it in 16 bits like the others. Write
        ``activate`` with :func:`keras_inr.activations.in_float32` when it multiplies the pre-activation by a large
        factor (as :class:`SineDense` does).
    """

    #: name of the function of :mod:`keras_inr.activations` used by this layer class; a subclass that overrides
    #: :meth:`activate` without naming its activation gets its class name (see ``__init_subclass__``)
    activation_name = "linear"
    #: whether a first layer (``is_first=True``) computes in float32 under a 16-bit compute dtype
    first_layer_in_float32 = True
    #: the activation hyperparameters (attribute names) that ``learnable`` may make trainable
    activation_parameters: tuple[str, ...] = ()
    #: whether the outputs are complex: ``units`` complex channels as ``2 units`` real ones, ``[real | imaginary]``
    complex_outputs = False
    #: whether the layer takes ``complex_input`` (complex inputs, kernel and bias; :mod:`keras_inr.layers.complex`)
    accepts_complex_input = False

    def __init__(
        self,
        units: int,
        activation: str | None = None,
        use_bias: bool = True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        is_first: bool = False,
        learnable=(),
        **kwargs,
    ):
        super().__init__(**kwargs)
        check_float_policy(self)
        self.units = check_positive_int("units", units)
        self.learnable = self._check_learnable(learnable)
        if activation is not None:
            inr_activations.get(activation)  # ValueError naming `activation` unless it is a real activation name
            self.activation_name = activation
        self.is_first = bool(is_first)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = self._get_initializer(kernel_initializer)
        self.bias_initializer = (
            FAN_IN_UNIFORM if bias_initializer == FAN_IN_UNIFORM else self._get_initializer(bias_initializer)
        )
        self.input_dim: int | None = None

    def __init_subclass__(cls, **kwargs):
        """A subclass with its own :meth:`activate` but no ``activation_name`` (a user's family) is named after its
        class, so it never reads as the linear output layer (hypernetwork heads tell hidden layers apart by it)."""
        super().__init_subclass__(**kwargs)
        if "activate" in vars(cls) and "activation_name" not in vars(cls):
            cls.activation_name = cls.__name__

    def _check_learnable(self, learnable) -> tuple[str, ...]:
        if isinstance(learnable, str):
            learnable = (learnable,)
        if not isinstance(learnable, (tuple, list)) or not all(isinstance(name, str) for name in learnable):
            raise ValueError(f"`learnable` must be a tuple of parameter names, got {learnable!r}.")
        unknown = sorted(set(learnable) - set(self.activation_parameters))
        if unknown:
            raise ValueError(
                f"`learnable` of {type(self).__name__} may name {self.activation_parameters}, got {unknown}."
            )
        return tuple(dict.fromkeys(learnable))

    def hyperparameter(self, name: str):
        """The value of activation hyperparameter ``name``: its float32 variable if it is ``learnable``, else the
        number given to the constructor. Families read their ``w0``/``s0``/... through this in :meth:`activate`."""
        variable = getattr(self, "_learned", {}).get(name)
        return getattr(self, name) if variable is None else ops.cast(variable, "float32")

    @staticmethod
    def _get_initializer(identifier):
        return keras.initializers.get(identifier) if identifier is not None else None

    # --- the family's maths -----------------------------------------------------------------------------------
    def kernel_shape(self, input_dim: int) -> tuple[int, ...]:
        """Shape of the kernel for ``input_dim`` input channels: ``(input_dim, units)`` (families override)."""
        return (input_dim, self.units)

    def bias_shape(self) -> tuple[int, ...]:
        """Shape of the bias: ``(units,)`` (families override)."""
        return (self.units,)

    def fan_in(self, input_dim: int) -> int:
        """The fan-in the initialisation uses for ``input_dim`` input channels (complex layers: ``input_dim / 2``)."""
        return input_dim

    @property
    def output_width(self) -> int:
        """Channels of the output tensor: ``units``, or ``2 units`` for complex outputs."""
        return self.units * (2 if self.complex_outputs else 1)

    def preactivate(self, inputs, kernel, bias=None):
        """The pre-activation ``x W + b`` for a kernel and bias of this layer's shapes (leading batch axis optional);
        families with other maps (complex, several bumps) override it."""
        return affine(inputs, kernel, bias)

    def activate(self, preactivation):
        """Apply this layer's activation to a pre-activation ``x W + b`` of any shape."""
        return inr_activations.get(self.activation_name)(preactivation)

    @classmethod
    def output_initializers(cls, depth: int, **layer_kwargs):
        """``(kernel, bias)`` initializers of the linear output layer that follows ``depth`` layers of this class.

        Args:
            depth: the number of hidden layers before the output layer (0: it takes the coordinates directly).
            **layer_kwargs: the keyword arguments of the (non-first) hidden layers, e.g. ``w0``.

        Returns:
            Glorot-uniform kernels and zero biases (Keras' ``Dense`` defaults); families override this.
        """
        return "glorot_uniform", "zeros"

    @property
    def computes_in_float32(self) -> bool:
        """Whether this layer computes in float32 under any compute dtype (a first layer; see the class docstring)."""
        return self.is_first and self.first_layer_in_float32

    def call_with_weights(self, inputs, kernel, bias=None):
        """Apply this layer's maths with the given weights.

        Args:
            inputs: ``(..., in)`` with shared weights, or ``(batch, points, in)`` with per-sample weights.
            kernel: ``(in, units)`` or ``(batch, in, units)``.
            bias: ``None``, ``(units,)`` or ``(batch, units)``.

        Returns:
            ``(..., units)`` or ``(batch, points, units)``. When the layer :attr:`computes_in_float32` and an operand is
            16-bit, the maths runs in float32 and the result has that 16-bit dtype.
        """
        bias = bias if self.use_bias else None
        if self.computes_in_float32:
            half = [
                standardize_dtype(value.dtype) for value in (inputs, kernel, bias)
                if value is not None and standardize_dtype(value.dtype) in inr_activations.HALF_DTYPES
            ]
            if half:
                inputs, kernel = ops.cast(inputs, "float32"), ops.cast(kernel, "float32")
                bias = None if bias is None else ops.cast(bias, "float32")
                return ops.cast(self.activate(self.preactivate(inputs, kernel, bias)), half[0])
        return self.activate(self.preactivate(inputs, kernel, bias))

    # --- Keras plumbing ---------------------------------------------------------------------------------------
    def default_kernel_initializer(self, fan_in: int):
        """The kernel initializer used when none was given (families override)."""
        return self.kernel_initializer

    def resolved_initializers(self, fan_in: int):
        """Return ``(kernel_initializer, bias_initializer)`` for a layer with ``fan_in`` inputs.

        Used by ``build`` and by hypernetwork heads, which make generated weights start from this distribution.
        """
        kernel_init = self.kernel_initializer or self.default_kernel_initializer(fan_in)
        bias_init = self.bias_initializer
        if bias_init == FAN_IN_UNIFORM:
            bias_init = inr_initializers.FanInUniform(fan_in)
        return kernel_init, bias_init

    def build(self, input_shape):
        fan_in = input_shape[-1]
        if fan_in is None:
            raise ValueError(f"The last dimension of the inputs of {self.name} must be known, got {input_shape}.")
        self.input_dim = int(fan_in)
        kernel_init, bias_init = self.resolved_initializers(self.fan_in(self.input_dim))
        # A float32-computing first layer reads its (float32, under mixed policies) variables without autocasting.
        autocast = not self.computes_in_float32
        self.kernel = self.add_weight(
            name="kernel", shape=self.kernel_shape(self.input_dim), initializer=kernel_init, autocast=autocast
        )
        self.bias = (
            self.add_weight(name="bias", shape=self.bias_shape(), initializer=bias_init, autocast=autocast)
            if self.use_bias
            else None
        )
        self._learned = {
            name: self.add_weight(
                name=name, shape=(), initializer=keras.initializers.Constant(float(getattr(self, name))),
                dtype="float32", autocast=False,
            )
            for name in self.learnable
        }
        self.input_spec = keras.layers.InputSpec(min_ndim=1, axes={-1: self.input_dim})

    @property
    def input_dtype(self):
        """The dtype Keras converts inputs to: float32 for a float32-computing first layer, else the compute dtype."""
        if self.computes_in_float32 and self.compute_dtype in inr_activations.HALF_DTYPES:
            return "float32"
        return self.compute_dtype

    def call(self, inputs, training=None):
        outputs = self.call_with_weights(inputs, self.kernel, self.bias)
        if standardize_dtype(outputs.dtype) != self.compute_dtype:
            outputs = ops.cast(outputs, self.compute_dtype)
        return outputs

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.output_width)

    def get_config(self) -> dict:
        config = super().get_config()
        if self.learnable:
            config["learnable"] = list(self.learnable)
        config.update(
            units=self.units,
            use_bias=self.use_bias,
            is_first=self.is_first,
            kernel_initializer=(
                keras.initializers.serialize(self.kernel_initializer) if self.kernel_initializer else None
            ),
            bias_initializer=(
                self.bias_initializer
                if self.bias_initializer == FAN_IN_UNIFORM
                else keras.initializers.serialize(self.bias_initializer)
            ),
        )
        if type(self) is CoordinateDense:
            config["activation"] = self.activation_name
        return config


@register
class SineDense(CoordinateDense):
    """SIREN layer ``sin(w0 (x W + b))``.

    Sitzmann et al. 2020, "Implicit Neural Representations with Periodic Activation Functions",
    https://arxiv.org/abs/2006.09661, section 3.2. Kernel ``W ~ U(-1/n, 1/n)`` for the first layer and
    ``U(-sqrt(6/n)/w0, sqrt(6/n)/w0)`` otherwise (n = fan-in); bias ``U(-1/sqrt(n), 1/sqrt(n))`` as in the reference
    implementation (``vsitzmann/siren``, ``modules.py``).

    Under a 16-bit compute dtype the phase ``w0 z`` and its sine are computed in float32 and the result cast back
    (:func:`keras_inr.activations.sine`), and a first layer computes entirely in float32 (see
    :class:`CoordinateDense`): in bfloat16 a phase near 30 is only resolved to 0.125 rad.

    Args:
        units: number of outputs.
        w0: frequency factor omega_0 (30 in the paper); must be positive.
        is_first: whether the layer takes coordinates (changes the kernel initialisation).
        use_bias: whether to add a bias.
        kernel_initializer: ``None`` for SIREN's initialisation, or any Keras initializer.
        bias_initializer: ``"fan_in_uniform"`` (default) or any Keras initializer.
        **kwargs: standard layer arguments.

    Shapes:
        input ``(..., in)``; output ``(..., units)``, values in ``[-1, 1]``.

    Example:
        >>> layer = SineDense(64, w0=30.0, is_first=True)
        >>> layer(keras.ops.zeros((5, 2))).shape
        (5, 64)
    """

    activation_name = "sine"
    activation_parameters = ("w0",)

    def __init__(
        self,
        units: int,
        w0: float = 30.0,
        is_first: bool = False,
        use_bias: bool = True,
        kernel_initializer=None,
        bias_initializer=FAN_IN_UNIFORM,
        **kwargs,
    ):
        super().__init__(
            units,
            use_bias=use_bias,
            kernel_initializer=kernel_initializer,
            bias_initializer=bias_initializer,
            is_first=is_first,
            **kwargs,
        )
        self.w0 = check_positive_float("w0", w0)

    def activate(self, preactivation):
        return inr_activations.sine(preactivation, self.hyperparameter("w0"))

    def default_kernel_initializer(self, fan_in: int):
        return inr_initializers.SirenUniform(w0=self.w0, is_first=self.is_first)

    @classmethod
    def output_initializers(cls, depth: int, w0: float = 30.0, **layer_kwargs):
        """The reference SIREN initialises its linear output layer like a hidden sine layer (``sine_init`` is applied
        to the whole network in ``vsitzmann/siren``) with torch's default bias; a Glorot output layer trains markedly
        slower."""
        return inr_initializers.SirenUniform(w0=w0, is_first=depth == 0), FAN_IN_UNIFORM

    def get_config(self) -> dict:
        return {**super().get_config(), "w0": self.w0}


@register
class GaussianDense(CoordinateDense):
    """Gaussian-activated layer ``exp(-(s (x W + b))^2)``.

    Ramasinghe & Lucey 2022, "Beyond Periodicity: Towards a Unifying Framework for Activations in Coordinate-MLPs",
    https://arxiv.org/abs/2111.15135, section 4. Under a 16-bit compute dtype ``s z`` and the Gaussian are computed
    in float32 (:func:`keras_inr.activations.gaussian`).

    Initialisation: kernel and bias ``U(-1/sqrt(n), 1/sqrt(n))`` (n = fan-in), ``torch.nn.Linear``'s default, which
    the Gaussian INR of the WIRE reference code keeps (``vishwa91/wire``, ``modules/gauss.py``). The paper leaves
    the initialisation open (it argues the Gaussian is robust to it). Glorot kernels with zero biases, keras-inr's
    earlier default, train poorly at realistic widths: every first-layer unit is a ridge through the origin, and
    at width 256 Glorot's bound ``sqrt(6 / (2 + 256))`` makes those ridges so wide that the second layer sums
    near-constant positive inputs and many of its units saturate (``exp(-(s z)^2)`` about 0 on every pixel).
    Measured in BENCHMARKS.md ("Family defaults").

    Args:
        units: number of outputs.
        inverse_scale: ``s = 1/(sqrt(2) sigma)`` of the paper's ``exp(-z^2/(2 sigma^2))``; larger is sharper.
        use_bias: whether to add a bias.
        kernel_initializer: ``None`` for ``U(-1/sqrt(n), 1/sqrt(n))``, or any Keras initializer.
        bias_initializer: ``"fan_in_uniform"`` (default, ``U(-1/sqrt(n), 1/sqrt(n))``) or any Keras initializer.
        **kwargs: standard layer arguments.

    Shapes:
        input ``(..., in)``; output ``(..., units)``, values in ``(0, 1]``.
    """

    activation_name = "gaussian"
    activation_parameters = ("inverse_scale",)

    def __init__(
        self,
        units: int,
        inverse_scale: float = 10.0,
        use_bias: bool = True,
        kernel_initializer=None,
        bias_initializer=FAN_IN_UNIFORM,
        **kwargs,
    ):
        super().__init__(
            units,
            use_bias=use_bias,
            kernel_initializer=kernel_initializer,
            bias_initializer=bias_initializer,
            **kwargs,
        )
        self.inverse_scale = check_positive_float("inverse_scale", inverse_scale)

    def activate(self, preactivation):
        return inr_activations.gaussian(preactivation, self.hyperparameter("inverse_scale"))

    def default_kernel_initializer(self, fan_in: int):
        return inr_initializers.FanInUniform(fan_in)

    def get_config(self) -> dict:
        return {**super().get_config(), "inverse_scale": self.inverse_scale}
