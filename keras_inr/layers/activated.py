"""Dense INR layers of the field's further activation families: FINER, sinc, HOSC, the activations of Ramasinghe &
Lucey's table 1 (Laplacian, quadratic, multi-quadratic, super-Gaussian, ExpSin) and the multi-bump Gaussian.

Each class is one family of :mod:`keras_inr.families` (registered under the names in the table); its activation is a
function of :mod:`keras_inr.activations` and its initialisation one of :mod:`keras_inr.initializers`, so the maths
is written once and also runs on hypernetwork weights (:meth:`CoordinateDense.call_with_weights`).

==================  ==============================  ========================================  ====================
family              layer                           activation                                initialisation
==================  ==============================  ========================================  ====================
``finer``           :class:`FinerDense`             ``sin(w0 (|z| + 1) z)``                   SIREN's; wide first
                                                                                              bias ``U(-k, k)``
``sinc``            :class:`SincDense`              ``sin(w0 z) / (w0 z)``                    SIREN's
``hosc``            :class:`HoscDense`              ``tanh(beta sin(w0 z))``                  SIREN's
``laplacian``       :class:`LaplacianDense`         ``exp(-|s z|)``                           ``U(+-1/sqrt(n))``
``quadratic``       :class:`QuadraticDense`         ``1 / (1 + (s z)^2)``                     ``U(+-1/sqrt(n))``
``multiquadratic``  :class:`MultiQuadraticDense`    ``1 / sqrt(1 + (s z)^2)``                 ``U(+-1/sqrt(n))``
``supergaussian``   :class:`SuperGaussianDense`     ``[exp(-(s z)^2)]^b``                     ``U(+-1/sqrt(n))``
``expsin``          :class:`ExpSinDense`            ``exp(-sin(w0 z))``                       SIREN's
``multigauss``      :class:`MultiGaussianDense`     ``exp(-s^2 mean_k z_k^2)``, ``K`` maps    ``U(+-1/sqrt(n))``
==================  ==============================  ========================================  ====================

Why each default and initialisation: the class docstrings, the registry entries and docs/families.md (measured on
camera). Every positive hyperparameter is checked in the constructor (``ValueError`` naming it) and the ones listed in
``activation_parameters`` can be trained (``learnable=("w0",)``, see :class:`CoordinateDense`).
"""

from __future__ import annotations

from keras import ops

from keras_inr import activations as inr_activations
from keras_inr import initializers as inr_initializers
from keras_inr.layers.dense import FAN_IN_UNIFORM, CoordinateDense, affine
from keras_inr.saving import register
from keras_inr.validation import check_positive_float, check_positive_int


class ActivatedDense(CoordinateDense):
    """Base class: a coordinate dense layer whose activation is one function of :mod:`keras_inr.activations` taking
    the layer's positive float hyperparameters (:attr:`activation_parameters`) as keywords.

    Subclasses set :attr:`activation_function` (a ``staticmethod`` of the activations module), ``activation_name``
    and ``activation_parameters``, and call :meth:`_set_parameters` in their constructor; ``activate`` and
    ``get_config`` follow from those.
    """

    #: the function of :mod:`keras_inr.activations` (``f(preactivation, **parameters)``)
    activation_function = staticmethod(inr_activations.linear)

    def _set_parameters(self, **values) -> None:
        for name, value in values.items():
            setattr(self, name, check_positive_float(name, value))

    def activation_kwargs(self) -> dict:
        """The activation's keyword arguments: each hyperparameter's value, or its variable when it is learnable."""
        return {name: self.hyperparameter(name) for name in self.activation_parameters}

    def activate(self, preactivation):
        return self.activation_function(preactivation, **self.activation_kwargs())

    def get_config(self) -> dict:
        return {**super().get_config(), **{name: getattr(self, name) for name in self.activation_parameters}}


class _SirenInitialised(ActivatedDense):
    """SIREN's initialisation for a periodic family with frequency ``w0``: kernels ``U(-1/n, 1/n)`` (first layer) and
    ``U(-sqrt(6/n)/w0, sqrt(6/n)/w0)`` (later layers), biases ``U(-1/sqrt(n), 1/sqrt(n))``, and the linear output
    layer initialised like a hidden layer (see :class:`keras_inr.layers.SineDense`)."""

    def default_kernel_initializer(self, fan_in: int):
        return inr_initializers.SirenUniform(w0=self.w0, is_first=self.is_first)

    @classmethod
    def output_initializers(cls, depth: int, w0: float = 30.0, **layer_kwargs):
        return inr_initializers.SirenUniform(w0=w0, is_first=depth == 0), FAN_IN_UNIFORM


@register
class FinerDense(_SirenInitialised):
    """FINER layer ``sin(w0 (|z| + 1) z)`` with ``z = x W + b``.

    Liu, Zhu, Wu, Lin, Chen, Shi, Zhang & Guo 2024, "FINER: Flexible spectral-bias tuning in Implicit NEural
    Representation by Variable-periodic Activation Functions", https://arxiv.org/abs/2312.02434, section 3
    (:func:`keras_inr.activations.finer`); reference code ``liuzhen0212/FINER`` (``models.py``, ``FinerLayer``).
    Kernels as SIREN's (the reference's ``init_weights``). Biases ``U(-1/sqrt(n), 1/sqrt(n))`` (``torch.nn.Linear``'s
    default, which the reference keeps) unless ``bias_scale`` gives the paper's wider ``U(-k, k)``; the registry sets it
    on the first layer only (the ``first_bias_scale`` hyperparameter, the reference's ``first_bias_scale``): because
    the local frequency ``w0 (2 |z| + 1)`` grows with ``|z|``, a wider first-layer bias spreads the first layer's units
    over a wider band of frequencies.

    The gradient treats the scale ``|z| + 1`` as a constant (``detach_scale=True``), as the reference code does by
    default (``scale_req_grad=False``); the outputs are the same either way.

    Args:
        units: number of outputs.
        w0: frequency factor omega_0 (30 in the paper and reference); positive.
        bias_scale: ``k`` of the bias initialisation ``U(-k, k)``; ``None`` for ``U(-1/sqrt(n), 1/sqrt(n))``;
            positive. Ignored when ``bias_initializer`` is given.
        detach_scale: whether the gradient treats ``|z| + 1`` as a constant (the reference's default).
        is_first: whether the layer takes the coordinates (changes the kernel initialisation).
        use_bias: whether to add a bias.
        kernel_initializer: ``None`` for SIREN's initialisation, or any Keras initializer.
        bias_initializer: ``"fan_in_uniform"`` (default; then ``bias_scale`` applies) or any Keras initializer.
        **kwargs: :class:`CoordinateDense` (``learnable=("w0",)``) and Keras layer arguments.

    Shapes:
        input ``(..., in)``; output ``(..., units)``, values in ``[-1, 1]``.
    """

    activation_name = "finer"
    activation_parameters = ("w0",)

    def __init__(self, units: int, w0: float = 30.0, bias_scale: float | None = None, detach_scale: bool = True,
                 is_first: bool = False, use_bias: bool = True, kernel_initializer=None,
                 bias_initializer=FAN_IN_UNIFORM, **kwargs):
        super().__init__(units, use_bias=use_bias, kernel_initializer=kernel_initializer,
                         bias_initializer=bias_initializer, is_first=is_first, **kwargs)
        self._set_parameters(w0=w0)
        self.bias_scale = None if bias_scale is None else check_positive_float("bias_scale", bias_scale)
        if not isinstance(detach_scale, bool):
            raise ValueError(f"`detach_scale` must be True or False, got {detach_scale!r}.")
        self.detach_scale = detach_scale

    def activate(self, preactivation):
        return inr_activations.finer(preactivation, self.hyperparameter("w0"), detach_scale=self.detach_scale)

    def resolved_initializers(self, fan_in: int):
        kernel_init, bias_init = super().resolved_initializers(fan_in)
        if self.bias_scale is not None and self.bias_initializer == FAN_IN_UNIFORM:
            bias_init = inr_initializers.SymmetricUniform(self.bias_scale)
        return kernel_init, bias_init

    def get_config(self) -> dict:
        return {**super().get_config(), "bias_scale": self.bias_scale, "detach_scale": self.detach_scale}


@register
class SincDense(_SirenInitialised):
    """Sinc layer ``sin(w0 z) / (w0 z)`` with ``z = x W + b``.

    Saratchandran, Ramasinghe, Shevchenko, Long & Lucey 2024, "A sampling theory perspective on activations for
    implicit neural representations", https://arxiv.org/abs/2402.05427 (:func:`keras_inr.activations.sinc`). The
    paper publishes no code and fixes no initialisation; keras-inr uses SIREN's with the frequency factor ``w0``, as
    keras-inr's ancestor codebase did (its ``SinCardLayer``), and checked it on camera (docs/families.md).

    Args:
        units: number of outputs.
        w0: frequency factor (100: measured, the paper has none; see :mod:`keras_inr.families`); positive.
        is_first: whether the layer takes the coordinates (changes the kernel initialisation).
        use_bias: whether to add a bias.
        kernel_initializer: ``None`` for SIREN's initialisation, or any Keras initializer.
        bias_initializer: ``"fan_in_uniform"`` (default) or any Keras initializer.
        **kwargs: :class:`CoordinateDense` (``learnable=("w0",)``) and Keras layer arguments.

    Shapes:
        input ``(..., in)``; output ``(..., units)``, values in ``[-0.22, 1]``.
    """

    activation_name = "sinc"
    activation_parameters = ("w0",)
    activation_function = staticmethod(inr_activations.sinc)

    def __init__(self, units: int, w0: float = 100.0, is_first: bool = False, use_bias: bool = True,
                 kernel_initializer=None, bias_initializer=FAN_IN_UNIFORM, **kwargs):
        super().__init__(units, use_bias=use_bias, kernel_initializer=kernel_initializer,
                         bias_initializer=bias_initializer, is_first=is_first, **kwargs)
        self._set_parameters(w0=w0)


@register
class HoscDense(_SirenInitialised):
    """HOSC layer ``tanh(beta sin(w0 z))`` with ``z = x W + b``.

    Serrano, Szymkowiak & Musialski 2024, "HOSC: A Periodic Activation Function for Preserving Sharp Features in
    Implicit Neural Representations", https://arxiv.org/abs/2401.10967 (:func:`keras_inr.activations.hosc`):
    ``tanh(beta sin x)`` with the sharpness ``beta``, applied as in the authors' follow-up
    (https://arxiv.org/abs/2601.07870) to ``w0 z`` with SIREN's initialisation, so that the network starts with
    SIREN's frequencies (``w0 = 1`` is the 2024 paper's ``tanh(beta sin x)`` of the plain pre-activation).
    ``learnable=("beta",)`` is the paper's AdaHOSC (a trained sharpness).

    Args:
        units: number of outputs.
        w0: frequency factor omega_0; positive.
        beta: sharpness (4: measured, see :mod:`keras_inr.families`); positive.
        is_first: whether the layer takes the coordinates (changes the kernel initialisation).
        use_bias: whether to add a bias.
        kernel_initializer: ``None`` for SIREN's initialisation, or any Keras initializer.
        bias_initializer: ``"fan_in_uniform"`` (default) or any Keras initializer.
        **kwargs: :class:`CoordinateDense` (``learnable=("w0", "beta")``) and Keras layer arguments.

    Shapes:
        input ``(..., in)``; output ``(..., units)``, values in ``(-1, 1)``.
    """

    activation_name = "hosc"
    activation_parameters = ("w0", "beta")
    activation_function = staticmethod(inr_activations.hosc)

    def __init__(self, units: int, w0: float = 30.0, beta: float = 4.0, is_first: bool = False, use_bias: bool = True,
                 kernel_initializer=None, bias_initializer=FAN_IN_UNIFORM, **kwargs):
        super().__init__(units, use_bias=use_bias, kernel_initializer=kernel_initializer,
                         bias_initializer=bias_initializer, is_first=is_first, **kwargs)
        self._set_parameters(w0=w0, beta=beta)


class _BumpDense(ActivatedDense):
    """Base of the bump-shaped families of Ramasinghe & Lucey 2022 (https://arxiv.org/abs/2111.15135, table 1).

    Kernels and biases ``U(-1/sqrt(n), 1/sqrt(n))``: ``torch.nn.Linear``'s default, which the paper's common
    re-implementation ``kwea123/Coordinate-MLPs`` keeps. On camera 128x128 (width 64, 300 steps) it beat Glorot
    kernels with zero biases by 0.7 to 1.9 dB for each of these families (docs/families.md).
    """

    def __init__(self, units: int, use_bias: bool = True, kernel_initializer=None, bias_initializer=FAN_IN_UNIFORM,
                 **kwargs):
        super().__init__(units, use_bias=use_bias, kernel_initializer=kernel_initializer,
                         bias_initializer=bias_initializer, **kwargs)

    def default_kernel_initializer(self, fan_in: int):
        return inr_initializers.FanInUniform(fan_in)


_BUMP_ARGS = """    Args:
        units: number of outputs.
        inverse_scale: ``s`` above (larger is narrower, as the Gaussian family's); positive.
        use_bias: whether to add a bias.
        kernel_initializer: ``None`` for ``U(-1/sqrt(n), 1/sqrt(n))``, or any Keras initializer.
        bias_initializer: ``"fan_in_uniform"`` (default) or any Keras initializer.
        **kwargs: :class:`CoordinateDense` (``learnable=("inverse_scale",)``) and Keras layer arguments.

    Shapes:
        input ``(..., in)``; output ``(..., units)``, values in ``(0, 1]``.
"""


@register
class LaplacianDense(_BumpDense):
    __doc__ = """Laplacian layer ``exp(-|s z|)`` with ``z = x W + b``.

    Ramasinghe & Lucey 2022, "Beyond Periodicity: Towards a Unifying Framework for Activations in Coordinate-MLPs",
    https://arxiv.org/abs/2111.15135, table 1, ``exp(-|x| / sigma)`` with ``s = 1 / sigma``
    (:func:`keras_inr.activations.laplacian`).

""" + _BUMP_ARGS

    activation_name = "laplacian"
    activation_parameters = ("inverse_scale",)
    activation_function = staticmethod(inr_activations.laplacian)

    def __init__(self, units: int, inverse_scale: float = 10.0, **kwargs):
        super().__init__(units, **kwargs)
        self._set_parameters(inverse_scale=inverse_scale)


@register
class QuadraticDense(_BumpDense):
    __doc__ = """Quadratic layer ``1 / (1 + (s z)^2)`` with ``z = x W + b``.

    Ramasinghe & Lucey 2022, https://arxiv.org/abs/2111.15135, table 1, ``1 / (1 + (a x)^2)`` with ``s = a``
    (:func:`keras_inr.activations.quadratic`).

""" + _BUMP_ARGS

    activation_name = "quadratic"
    activation_parameters = ("inverse_scale",)
    activation_function = staticmethod(inr_activations.quadratic)

    def __init__(self, units: int, inverse_scale: float = 10.0, **kwargs):
        super().__init__(units, **kwargs)
        self._set_parameters(inverse_scale=inverse_scale)


@register
class MultiQuadraticDense(_BumpDense):
    __doc__ = """Multi-quadratic layer ``1 / sqrt(1 + (s z)^2)`` with ``z = x W + b``.

    Ramasinghe & Lucey 2022, https://arxiv.org/abs/2111.15135, table 1, ``1 / sqrt(1 + (a x)^2)`` with ``s = a``
    (:func:`keras_inr.activations.multiquadratic`).

""" + _BUMP_ARGS

    activation_name = "multiquadratic"
    activation_parameters = ("inverse_scale",)
    activation_function = staticmethod(inr_activations.multiquadratic)

    def __init__(self, units: int, inverse_scale: float = 10.0, **kwargs):
        super().__init__(units, **kwargs)
        self._set_parameters(inverse_scale=inverse_scale)


@register
class SuperGaussianDense(_BumpDense):
    """Super-Gaussian layer ``[exp(-(s z)^2)]^b`` with ``z = x W + b``.

    Ramasinghe & Lucey 2022, https://arxiv.org/abs/2111.15135, table 1, ``[exp(-x^2 / (2 sigma^2))]^b`` with
    ``s = 1 / (sqrt(2) sigma)`` (:func:`keras_inr.activations.supergaussian`). For real pre-activations this equals a
    Gaussian of inverse scale ``s sqrt(b)``: ``power`` and ``inverse_scale`` act together.

    Args:
        units: number of outputs.
        inverse_scale: ``s`` above; positive.
        power: ``b`` above; positive.
        use_bias: whether to add a bias.
        kernel_initializer: ``None`` for ``U(-1/sqrt(n), 1/sqrt(n))``, or any Keras initializer.
        bias_initializer: ``"fan_in_uniform"`` (default) or any Keras initializer.
        **kwargs: :class:`CoordinateDense` (``learnable=("inverse_scale", "power")``) and Keras layer arguments.

    Shapes:
        input ``(..., in)``; output ``(..., units)``, values in ``(0, 1]``.
    """

    activation_name = "supergaussian"
    activation_parameters = ("inverse_scale", "power")
    activation_function = staticmethod(inr_activations.supergaussian)

    def __init__(self, units: int, inverse_scale: float = 10.0, power: float = 1.0, **kwargs):
        super().__init__(units, **kwargs)
        self._set_parameters(inverse_scale=inverse_scale, power=power)


@register
class ExpSinDense(_SirenInitialised):
    """ExpSin layer ``exp(-sin(w0 z))`` with ``z = x W + b``.

    Ramasinghe & Lucey 2022, https://arxiv.org/abs/2111.15135, table 1, ``exp(-sin(a x))`` with ``w0 = a``
    (:func:`keras_inr.activations.expsin`). A periodic activation, so it takes SIREN's initialisation with ``w0`` as
    the frequency factor (measured against Glorot kernels in docs/families.md).

    Args:
        units: number of outputs.
        w0: frequency ``a`` above; positive.
        is_first: whether the layer takes the coordinates (changes the kernel initialisation).
        use_bias: whether to add a bias.
        kernel_initializer: ``None`` for SIREN's initialisation, or any Keras initializer.
        bias_initializer: ``"fan_in_uniform"`` (default) or any Keras initializer.
        **kwargs: :class:`CoordinateDense` (``learnable=("w0",)``) and Keras layer arguments.

    Shapes:
        input ``(..., in)``; output ``(..., units)``, values in ``[1/e, e]``.
    """

    activation_name = "expsin"
    activation_parameters = ("w0",)
    activation_function = staticmethod(inr_activations.expsin)

    def __init__(self, units: int, w0: float = 30.0, is_first: bool = False, use_bias: bool = True,
                 kernel_initializer=None, bias_initializer=FAN_IN_UNIFORM, **kwargs):
        super().__init__(units, use_bias=use_bias, kernel_initializer=kernel_initializer,
                         bias_initializer=bias_initializer, is_first=is_first, **kwargs)
        self._set_parameters(w0=w0)


@register
class MultiGaussianDense(ActivatedDense):
    """Multi-bump Gaussian layer: ``K`` affine maps per unit whose Gaussian bumps are multiplied,
    ``exp(-s^2 mean_k (x W_k + b_k)^2)``.

    keras-inr's ancestor codebase's ``GaussianINRLayer`` with several weight matrices and bias vectors (its
    ``num_splits``), on Ramasinghe & Lucey 2022, https://arxiv.org/abs/2111.15135, section 4
    (:func:`keras_inr.activations.gaussian_bumps`). ``bumps=1`` is the Gaussian family's layer. The ``K`` maps are
    stored as one kernel ``(in, units, K)`` and one bias ``(units, K)`` (``[..., k]`` is map ``k``), so hypernetwork
    heads generate them like any kernel with a trailing axis. Kernels and biases ``U(-1/sqrt(n), 1/sqrt(n))`` for ``n``
    inputs, as the bump families of :class:`LaplacianDense` & co and the Gaussian family (Glorot-uniform maps with zero
    biases train worse; measured in BENCHMARKS.md, "Family defaults").

    Args:
        units: number of outputs.
        inverse_scale: ``s`` above; positive.
        bumps: ``K``, the number of maps (bumps) per unit; a positive integer.
        use_bias: whether to add biases.
        kernel_initializer: ``None`` for ``U(-1/sqrt(n), 1/sqrt(n))``, or any Keras initializer (of the
            ``(in, units, K)`` kernel: Keras' variance-scaling initialisers would take ``units * in`` as its fan-in).
        bias_initializer: ``"fan_in_uniform"`` (default) or any Keras initializer.
        **kwargs: :class:`CoordinateDense` (``learnable=("inverse_scale",)``) and Keras layer arguments.

    Shapes:
        input ``(..., in)``; output ``(..., units)``, values in ``(0, 1]``.
    """

    activation_name = "gaussian_bumps"
    activation_parameters = ("inverse_scale",)

    def __init__(self, units: int, inverse_scale: float = 10.0, bumps: int = 2, use_bias: bool = True,
                 kernel_initializer=None, bias_initializer=FAN_IN_UNIFORM, **kwargs):
        super().__init__(units, use_bias=use_bias, kernel_initializer=kernel_initializer,
                         bias_initializer=bias_initializer, **kwargs)
        self._set_parameters(inverse_scale=inverse_scale)
        self.bumps = check_positive_int("bumps", bumps)

    def kernel_shape(self, input_dim: int) -> tuple[int, ...]:
        return (input_dim, self.units, self.bumps)

    def bias_shape(self) -> tuple[int, ...]:
        return (self.units, self.bumps)

    def default_kernel_initializer(self, fan_in: int):
        return inr_initializers.FanInUniform(fan_in)

    def preactivate(self, inputs, kernel, bias=None):
        # all maps in one matmul: (..., in, units, K) -> (..., in, K units) = [map 0 | map 1 | ...]
        matrix = ops.concatenate([kernel[..., k] for k in range(self.bumps)], axis=-1)
        flat_bias = None if bias is None else ops.concatenate([bias[..., k] for k in range(self.bumps)], axis=-1)
        return affine(inputs, matrix, flat_bias)

    def activate(self, preactivation):
        units = self.units
        stacked = ops.stack([preactivation[..., k * units:(k + 1) * units] for k in range(self.bumps)], axis=0)
        return inr_activations.gaussian_bumps(stacked, self.hyperparameter("inverse_scale"))

    def get_config(self) -> dict:
        return {**super().get_config(), "bumps": self.bumps}


__all__ = [
    "ActivatedDense",
    "FinerDense",
    "SincDense",
    "HoscDense",
    "LaplacianDense",
    "QuadraticDense",
    "MultiQuadraticDense",
    "SuperGaussianDense",
    "ExpSinDense",
    "MultiGaussianDense",
]
