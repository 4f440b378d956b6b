"""Complex-valued and two-map layers: WIRE (complex Gabor wavelets), its real Gabor variant, and the complex output
layer that takes the real part.

**keras-inr's complex convention.** Keras variables, initialisers and optimisers do not treat complex dtypes the same
way on JAX, TensorFlow and PyTorch (and Keras layers cast floating inputs to their compute dtype). keras-inr therefore
never creates a complex tensor: a complex tensor of ``n`` channels travels between layers as the float tensor
``[real parts | imaginary parts]`` of ``2 n`` channels, and a complex weight is stored as one float variable with a
trailing axis of 2 (``[..., 0]`` real, ``[..., 1]`` imaginary):

==================  =======================  ====================  ====================================
layer               input                    kernel                bias
==================  =======================  ====================  ====================================
complex input       ``(..., 2 n)``           ``(n, units, 2)``     ``(units, 2)``
real input          ``(..., n)``             ``(n, units)``        ``(units,)``
==================  =======================  ====================  ====================================

A complex affine map ``(a + j b)(P + j Q) + (c + j d)`` is computed as one real matmul with the block matrix
``[[P, Q], [-Q, P]]``: ``[a | b] @ [[P, Q], [-Q, P]] = [aP - bQ | aQ + bP]`` (:func:`complex_affine`). Every
operation is real, so gradients are the real gradients with respect to the real and imaginary parts (Wirtinger
calculus is never needed), identical on every backend, and Adam treats real and imaginary parts as separate
parameters -- as PyTorch's Adam does for complex parameters (``torch.view_as_real``), which WIRE's reference code
uses. ``.keras`` files hold the float variables, so the complex weights are saved exactly. A model's outputs are real:
:class:`ComplexDense`, the output layer after complex layers, returns the real part (WIRE's ``output.real``).
"""

from __future__ import annotations

from keras import ops

from keras_inr import activations as inr_activations
from keras_inr.initializers import FanInUniform
from keras_inr.layers.dense import FAN_IN_UNIFORM, CoordinateDense, affine
from keras_inr.saving import register
from keras_inr.validation import check_positive_float


def split_complex(tensor):
    """``[real | imaginary]`` ``(..., 2 n)`` -> ``(real, imaginary)``, each ``(..., n)``."""
    half = tensor.shape[-1] // 2
    return tensor[..., :half], tensor[..., half:]


def join_complex(real, imag):
    """``(real, imaginary)`` -> ``[real | imaginary]``, concatenated on the last axis."""
    return ops.concatenate([real, imag], axis=-1)


def complex_kernel_matrix(kernel):
    """The real block matrix ``[[P, Q], [-Q, P]]`` ``(..., 2 n, 2 m)`` of a complex kernel ``(..., n, m, 2)``."""
    real, imag = kernel[..., 0], kernel[..., 1]
    top = ops.concatenate([real, imag], axis=-1)
    bottom = ops.concatenate([-imag, real], axis=-1)
    return ops.concatenate([top, bottom], axis=-2)


def complex_affine(inputs, kernel, bias=None, real_part: bool = False):
    """Complex ``z W + b`` in keras-inr's convention.

    Args:
        inputs: ``[real | imaginary]`` ``(..., 2 n)`` (or ``(batch, points, 2 n)`` with per-sample weights).
        kernel: ``(n, m, 2)`` or per sample ``(batch, n, m, 2)``.
        bias: ``None``, ``(m, 2)`` or ``(batch, m, 2)``.
        real_part: return only the real part ``(..., m)`` (one matmul with ``[P; -Q]``).

    Returns:
        ``[real | imaginary]`` ``(..., 2 m)``, or the real part ``(..., m)``.
    """
    if real_part:
        real, imag = kernel[..., 0], kernel[..., 1]
        matrix = ops.concatenate([real, -imag], axis=-2)
        return affine(inputs, matrix, None if bias is None else bias[..., 0])
    flat_bias = None if bias is None else join_complex(bias[..., 0], bias[..., 1])
    return affine(inputs, complex_kernel_matrix(kernel), flat_bias)


def _check_even(layer, input_dim: int) -> None:
    if input_dim % 2:
        raise ValueError(
            f"{layer.name} takes complex inputs as [real | imaginary] channels, so their last dimension must be even, "
            f"got {input_dim}."
        )


@register
class ComplexDense(CoordinateDense):
    """Linear layer with complex weights on complex inputs that returns the real part (WIRE's output layer).

    ``y = Re(z W + b)`` for ``z`` given as ``[real | imaginary]`` (see the module docstring). Kernel and bias are
    complex (``(n, units, 2)``, ``(units, 2)``) like the reference's ``nn.Linear(..., dtype=torch.cfloat)``; the
    imaginary part of the bias does not change the output and keeps its initial value. Initialisation: real and
    imaginary parts ``U(-1/sqrt(n), 1/sqrt(n))`` (``torch.nn.Linear``'s default, which WIRE's reference keeps).

    Args:
        units: number of real outputs.
        use_bias: whether to add a bias.
        kernel_initializer: ``None`` for ``U(-1/sqrt(n), 1/sqrt(n))``, or any Keras initializer.
        bias_initializer: ``"fan_in_uniform"`` (default) or any Keras initializer.
        **kwargs: :class:`CoordinateDense` and Keras layer arguments.

    Shapes:
        input ``(..., 2 n)``; output ``(..., units)``, real.
    """

    activation_name = "linear"

    def __init__(self, units: int, use_bias: bool = True, kernel_initializer=None, bias_initializer=FAN_IN_UNIFORM,
                 **kwargs):
        kwargs.pop("activation", None)
        super().__init__(units, use_bias=use_bias, kernel_initializer=kernel_initializer,
                         bias_initializer=bias_initializer, **kwargs)

    def kernel_shape(self, input_dim: int) -> tuple[int, ...]:
        _check_even(self, input_dim)
        return (input_dim // 2, self.units, 2)

    def bias_shape(self) -> tuple[int, ...]:
        return (self.units, 2)

    def fan_in(self, input_dim: int) -> int:
        return input_dim // 2

    def default_kernel_initializer(self, fan_in: int):
        return FanInUniform(fan_in)

    def preactivate(self, inputs, kernel, bias=None):
        return complex_affine(inputs, kernel, bias, real_part=True)


@register
class ComplexGaborDense(CoordinateDense):
    """WIRE layer: complex Gabor wavelet of a complex affine map, ``exp(j w0 z) exp(-|s0 z|^2)``, ``z = x W + b``.

    Saragadam, LeJeune, Tan, Balakrishnan, Veeraraghavan & Baraniuk 2023, "WIRE: Wavelet Implicit Neural
    Representations", https://arxiv.org/abs/2301.05187, equation 3 and section 3.2; reference code
    ``vishwa91/wire`` (``modules/wire.py``, ``ComplexGaborLayer``). The first layer has real weights on real
    coordinates (``complex_input=False``); later layers have complex weights on the complex outputs of the previous
    layer. Real and imaginary parts of kernels and biases start ``U(-1/sqrt(n), 1/sqrt(n))`` for ``n`` (complex)
    inputs, ``torch.nn.Linear``'s default that the reference keeps. Complex values use keras-inr's real
    ``[real | imaginary]`` convention (:mod:`keras_inr.layers.complex`).

    Args:
        units: number of complex outputs (the output tensor has ``2 units`` channels).
        w0: wavelet frequency omega_0 (the paper's image setting: 20); positive.
        s0: inverse width s_0 of the Gaussian envelope (the paper's image setting: 10); positive.
        is_first: whether the layer takes the coordinates.
        complex_input: whether the inputs (and so the weights) are complex; defaults to ``not is_first``.
        use_bias: whether to add a bias.
        kernel_initializer: ``None`` for the reference's initialisation, or any Keras initializer.
        bias_initializer: ``"fan_in_uniform"`` (default) or any Keras initializer.
        **kwargs: :class:`CoordinateDense` (``learnable=("w0", "s0")``) and Keras layer arguments.

    Shapes:
        input ``(..., n)`` real or ``(..., 2 n)`` complex; output ``(..., 2 units)`` complex.
    """

    activation_name = "complex_gabor"
    activation_parameters = ("w0", "s0")
    complex_outputs = True
    accepts_complex_input = True

    def __init__(self, units: int, w0: float = 20.0, s0: float = 10.0, is_first: bool = False,
                 complex_input: bool | None = None, use_bias: bool = True, kernel_initializer=None,
                 bias_initializer=FAN_IN_UNIFORM, **kwargs):
        super().__init__(units, use_bias=use_bias, kernel_initializer=kernel_initializer,
                         bias_initializer=bias_initializer, is_first=is_first, **kwargs)
        self.w0 = check_positive_float("w0", w0)
        self.s0 = check_positive_float("s0", s0)
        self.complex_input = (not self.is_first) if complex_input is None else bool(complex_input)

    def kernel_shape(self, input_dim: int) -> tuple[int, ...]:
        if not self.complex_input:
            return (input_dim, self.units)
        _check_even(self, input_dim)
        return (input_dim // 2, self.units, 2)

    def bias_shape(self) -> tuple[int, ...]:
        return (self.units, 2) if self.complex_input else (self.units,)

    def fan_in(self, input_dim: int) -> int:
        return input_dim // 2 if self.complex_input else input_dim

    def default_kernel_initializer(self, fan_in: int):
        return FanInUniform(fan_in)

    def preactivate(self, inputs, kernel, bias=None):
        if self.complex_input:
            return complex_affine(inputs, kernel, bias)
        return affine(inputs, kernel, bias)

    def activate(self, preactivation):
        w0, s0 = self.hyperparameter("w0"), self.hyperparameter("s0")
        if self.complex_input:
            real, imag = split_complex(preactivation)
        else:
            real, imag = preactivation, None
        return join_complex(*inr_activations.complex_gabor(real, imag, w0, s0))

    @classmethod
    def output_initializers(cls, depth: int, **layer_kwargs):
        """The reference's complex output layer keeps ``torch.nn.Linear``'s default initialisation."""
        return None, FAN_IN_UNIFORM

    def get_config(self) -> dict:
        return {**super().get_config(), "w0": self.w0, "s0": self.s0, "complex_input": self.complex_input}


@register
class RealGaborDense(CoordinateDense):
    """WIRE's real Gabor layer ``cos(w0 u) exp(-(s0 v)^2)`` with two real affine maps ``u = x W_u + b_u`` and
    ``v = x W_v + b_v`` of the same input.

    Saragadam et al. 2023, https://arxiv.org/abs/2301.05187, section 3 (reference code ``vishwa91/wire``,
    ``modules/wire.py``, ``RealGaborLayer``, which has a ``freqs`` and a ``scale`` linear map). The two maps are
    stored as one kernel ``(in, units, 2)`` and one bias ``(units, 2)`` (``[..., 0]`` frequency, ``[..., 1]``
    envelope), each ``U(-1/sqrt(in), 1/sqrt(in))`` (``torch.nn.Linear``'s default, as in the reference).

    Args:
        units: number of outputs.
        w0: frequency omega_0; positive.
        s0: inverse envelope width s_0; positive.
        is_first: whether the layer takes the coordinates.
        use_bias: whether to add biases.
        kernel_initializer: ``None`` for the reference's initialisation, or any Keras initializer.
        bias_initializer: ``"fan_in_uniform"`` (default) or any Keras initializer.
        **kwargs: :class:`CoordinateDense` (``learnable=("w0", "s0")``) and Keras layer arguments.

    Shapes:
        input ``(..., in)``; output ``(..., units)``.
    """

    activation_name = "real_gabor"
    activation_parameters = ("w0", "s0")

    def __init__(self, units: int, w0: float = 20.0, s0: float = 10.0, is_first: bool = False, use_bias: bool = True,
                 kernel_initializer=None, bias_initializer=FAN_IN_UNIFORM, **kwargs):
        super().__init__(units, use_bias=use_bias, kernel_initializer=kernel_initializer,
                         bias_initializer=bias_initializer, is_first=is_first, **kwargs)
        self.w0 = check_positive_float("w0", w0)
        self.s0 = check_positive_float("s0", s0)

    def kernel_shape(self, input_dim: int) -> tuple[int, ...]:
        return (input_dim, self.units, 2)

    def bias_shape(self) -> tuple[int, ...]:
        return (self.units, 2)

    def default_kernel_initializer(self, fan_in: int):
        return FanInUniform(fan_in)

    def preactivate(self, inputs, kernel, bias=None):
        # both maps in one matmul: (in, units, 2) -> (in, 2 units) = [frequency maps | envelope maps]
        matrix = ops.concatenate([kernel[..., 0], kernel[..., 1]], axis=-1)
        flat_bias = None if bias is None else ops.concatenate([bias[..., 0], bias[..., 1]], axis=-1)
        return affine(inputs, matrix, flat_bias)

    def activate(self, preactivation):
        frequency, envelope = split_complex(preactivation)
        return inr_activations.real_gabor(frequency, envelope, self.hyperparameter("w0"), self.hyperparameter("s0"))

    def get_config(self) -> dict:
        return {**super().get_config(), "w0": self.w0, "s0": self.s0}
