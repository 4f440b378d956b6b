"""Batched evaluation of INRs with per-sample weights, and the bookkeeping of a target INR's parameters.

A hypernetwork produces, for each datapoint of a batch, the weights of one INR. Those INRs share one architecture --
the *target*, a keras-inr model such as ``keras_inr.SIREN(out_dims=1, width=32, depth=2)`` -- so the whole batch is
evaluated at once: every dense layer becomes a batched matmul ``(batch, points, in) @ (batch, in, out)``
(:func:`keras_inr.layers.affine`), with no Python loop over samples and no ``vectorized_map``. The layers' activations
and initialisations are the target's own (``target.call_with_weights``), so every keras-inr family works as a target.

Weights are always a list with one ``(kernel, bias)`` pair per entry of ``target.weight_layers``:

* ``kernel``: ``(in, out)`` shared by every sample, or ``(batch, in, out)`` per sample;
* ``bias``: ``None``, ``(out,)`` shared, or ``(batch, out)`` per sample.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import keras
import numpy as np
from keras import ops

from keras_inr.validation import check_positive_int


@dataclass(frozen=True)
class LayerSpec:
    """Shape of one weight layer of a target INR.

    Attributes:
        fan_in: number of input channels of the layer (for complex inputs, ``2 n``: real and imaginary parts).
        units: number of outputs the layer was made with.
        use_bias: whether the layer adds a bias.
        activation: name of the layer's activation (``"sine"``, ``"gaussian"``, ``"complex_gabor"``, ``"relu"``,
            ``"linear"``; the class name for a user's layer class with its own ``activate``).
        kernel_shape: shape of the kernel, ``(fan_in, units)`` for most families; a trailing axis for complex
            weights or several maps per unit (``(n, units, 2)`` for WIRE).
        bias_shape: shape of the bias, ``(units,)`` or with the same trailing axis.
    """

    fan_in: int
    units: int
    use_bias: bool
    activation: str
    kernel_shape: tuple = ()
    bias_shape: tuple = ()

    def __post_init__(self):
        if not self.kernel_shape:
            object.__setattr__(self, "kernel_shape", (self.fan_in, self.units))
        if not self.bias_shape:
            object.__setattr__(self, "bias_shape", (self.units,))

    @property
    def kernel_size(self) -> int:
        return math.prod(self.kernel_shape)

    @property
    def bias_size(self) -> int:
        return math.prod(self.bias_shape) if self.use_bias else 0

    @property
    def parameter_count(self) -> int:
        return self.kernel_size + self.bias_size


def layer_specs(target) -> list[LayerSpec]:
    """Describe every weight layer of a *built* keras-inr model (``CoordinateMLP`` family or ``CombinedINR``).

    Returns:
        One :class:`LayerSpec` per entry of ``target.weight_layers``, in order.
    """
    return [
        LayerSpec(
            int(layer.input_dim), int(layer.units), bool(layer.use_bias), layer.activation_name,
            tuple(int(d) for d in layer.kernel.shape),
            tuple(int(d) for d in layer.bias.shape) if layer.use_bias else (int(layer.units),),
        )
        for layer in target.weight_layers
    ]


def check_target(target) -> None:
    """Raise ``ValueError`` unless ``target`` is a keras-inr model a hypernetwork can generate weights for.

    Args:
        target: the candidate; it must expose ``weight_layers`` and ``call_with_weights`` (every ``CoordinateMLP``
            family model and ``CombinedINR`` does).
    """
    if not (isinstance(target, keras.layers.Layer) and hasattr(target, "weight_layers")
            and hasattr(target, "call_with_weights")):
        raise ValueError(
            "`target` must be a keras-inr model (e.g. keras_inr.SIREN(out_dims=1, width=32, depth=2)) exposing "
            f"`weight_layers` and `call_with_weights`, got {target!r}."
        )


def prepare_target(target, in_dims: int | None = None) -> tuple:
    """Resolve a hypernetwork's ``target`` argument: deserialise a config dict, check it (:func:`check_target`),
    settle the coordinate dimension and build the target eagerly (the heads and modulations start from its weights).

    Args:
        target: a keras-inr model or its serialised config.
        in_dims: the coordinate dimension, or ``None`` for the target's own (2 for an unbuilt target).

    Returns:
        ``(target, in_dims)``: the built target and the coordinate dimension.

    Raises:
        ValueError: for a target that is not a keras-inr model, or an ``in_dims`` the built target disagrees with.
    """
    if isinstance(target, dict):
        target = keras.saving.deserialize_keras_object(target)
    check_target(target)
    target_in_dims = getattr(target, "in_dims", None) if target.built else None
    if in_dims is None:
        in_dims = target_in_dims if target_in_dims is not None else 2
    in_dims = check_positive_int("in_dims", in_dims)
    if target_in_dims is not None and int(target_in_dims) != in_dims:
        raise ValueError(f"`in_dims`={in_dims} but the target was built for {target_in_dims}-D coordinates.")
    if not target.built:
        target.build((None, in_dims))
    return target, in_dims


def initial_weights(target) -> list[tuple]:
    """The *built* target's current weights -- for a fresh target, a draw of its family's initialisation -- as
    float32 numpy ``(kernel (in, out), bias (out,) or None)`` pairs, one per ``target.weight_layers`` entry.

    The heads read them once, when they are made, and start from them (:mod:`hypernets.heads`).
    """
    return [
        (
            np.asarray(ops.convert_to_numpy(ops.cast(layer.kernel, "float32")), dtype=np.float32),
            np.asarray(ops.convert_to_numpy(ops.cast(layer.bias, "float32")), dtype=np.float32)
            if layer.use_bias else None,
        )
        for layer in target.weight_layers
    ]


def weight_scales(kernel: np.ndarray, bias: np.ndarray | None) -> tuple[float, float]:
    """Standard deviations of a layer's initial kernel and bias (estimated from one draw of its family's init).

    Families with zero initial biases (ReLU, the output layer) get the kernel's scale for the bias, so per-sample biases
    still start with a non-degenerate spread.
    """
    kernel_scale = float(np.std(kernel))
    bias_scale = float(np.std(bias)) if bias is not None else 0.0
    return kernel_scale, bias_scale if bias_scale > 0.0 else kernel_scale


def split_flat_parameters(flat, specs: Sequence[LayerSpec]) -> list[tuple]:
    """Cut per-sample flat parameter vectors into per-layer kernels and biases (of any shape: ``spec.kernel_shape``).

    The pieces come from one split of ``flat`` along its last axis, not from one slice per piece: PyTorch's eager
    autograd turns every slice's gradient into a zero-filled ``(batch, total)`` tensor and adds those up (two full
    passes per piece), where a split's gradient is one concatenation. Same values on every backend.

    Args:
        flat: ``(batch, total)`` with ``total = sum(spec.parameter_count)``; for each layer, its kernel in row-major
            ``(in, out)`` order, then its bias.
        specs: the target's layer specs.

    Returns:
        ``[(kernel (batch, *kernel_shape), bias (batch, *bias_shape) or None), ...]``.
    """
    shapes = [shape for spec in specs for shape in (spec.kernel_shape, spec.bias_shape if spec.use_bias else None)]
    pieces = iter(_split_last_axis(flat, [shape for shape in shapes if shape is not None]))
    return [(next(pieces), next(pieces) if spec.use_bias else None) for spec in specs]


def _split_last_axis(flat, shapes: Sequence[tuple]) -> list:
    """``flat`` ``(batch, total)`` cut along its last axis into pieces of ``math.prod(shape)`` columns, in order, each
    reshaped to ``(batch, *shape)``.

    PyTorch runs eagerly, and there ``keras.ops.split`` would turn the split points into a device tensor and read it
    back (a host-device round trip on a GPU, every step), and each ``keras.ops.reshape`` pays Keras' per-op dispatch,
    so PyTorch gets ``torch.split`` and tensor reshapes (:func:`hypernets.trainers.torch.split_last_axis`).
    """
    if keras.backend.backend() == "torch":
        from hypernets.trainers.torch import split_last_axis

        return split_last_axis(flat, shapes)
    sizes = [math.prod(shape) for shape in shapes]
    pieces = ops.split(flat, np.cumsum(sizes)[:-1].tolist(), axis=-1) if len(sizes) > 1 else [flat]
    return [ops.reshape(piece, (-1, *shape)) for piece, shape in zip(pieces, shapes)]


def flatten_parameters(weights: Sequence[tuple]) -> np.ndarray:
    """Inverse of :func:`split_flat_parameters` for one shared set of numpy weights: ``(total,)``."""
    parts = []
    for kernel, bias in weights:
        parts.append(np.asarray(kernel, dtype=np.float32).reshape(-1))
        if bias is not None:
            parts.append(np.asarray(bias, dtype=np.float32).reshape(-1))
    return np.concatenate(parts)


def multiplicative_modulation(shared_kernel, left, right, temperature: float, scale=None):
    """Factorised multiplicative modulation ``W = W_shared * 2 sigmoid(U V / s)``.

    Skorokhodov, Ignatyev & Elhoseiny 2021, "Adversarial Generation of Continuous Images" (INR-GAN),
    https://arxiv.org/abs/2011.12026, section 3.2 (FMM). ``2 sigmoid(0) = 1``, so ``U V = 0`` leaves the shared kernel
    unchanged and the modulation multiplies each weight by a factor in ``(0, 2)``.

    Args:
        shared_kernel: ``W_shared``, ``(in, out)``, or ``(in, out, k)`` (complex or several-map kernels: the factor
            of ``(in, out)`` scales all ``k`` entries, e.g. a complex weight's real and imaginary parts together).
        left: ``U``, ``(batch, in, rank)``.
        right: ``V``, ``(batch, rank, out)``.
        temperature: ``s``, divides the low-rank product before the sigmoid.
        scale: optional modulation scale ``a`` (a scalar tensor, e.g. a trainable variable):
            ``W = W_shared * (1 + a (2 sigmoid(U V / s) - 1))``, so ``a = 1`` is the plain modulation and the factor
            ranges over ``(1 - a, 1 + a)``.

    Returns:
        Per-sample kernels ``(batch, *shared_kernel.shape)``.
    """
    modulation = 2.0 * ops.sigmoid(ops.matmul(left, right) / temperature)
    if scale is not None:
        modulation = 1.0 + scale * (modulation - 1.0)
    for _ in range(len(shared_kernel.shape) - 2):  # kernels (in, out, k): one factor per (in, out)
        modulation = ops.expand_dims(modulation, -1)
    return ops.expand_dims(shared_kernel, 0) * modulation


def check_coordinates(coordinates, in_dims: int, batch_size=None, name: str = "coordinates") -> None:
    """Raise ``ValueError`` unless ``coordinates`` is ``(batch, points, in_dims)`` with a compatible batch size.

    Args:
        coordinates: tensor to check (static shapes; unknown dimensions are not checked).
        in_dims: the target's coordinate dimension.
        batch_size: number of datapoints; the coordinates' batch must equal it or be 1 (shared by all samples).
        name: argument name used in messages.
    """
    shape = tuple(coordinates.shape)
    if len(shape) != 3:
        raise ValueError(
            f"`{name}` must have shape (batch, points, {in_dims}) -- or (1, points, {in_dims}) to share them across "
            f"the batch -- got shape {shape}."
        )
    if shape[-1] is not None and int(shape[-1]) != in_dims:
        raise ValueError(
            f"`{name}` must have {in_dims} values in its last axis (the target INR's coordinate dimension), "
            f"got shape {shape}."
        )
    if batch_size is not None and shape[0] is not None and int(shape[0]) not in (1, int(batch_size)):
        raise ValueError(
            f"`{name}` has batch size {int(shape[0])} but the datapoints have batch size {int(batch_size)}; "
            "they must match (or the coordinates' batch size must be 1 to share them across the batch)."
        )


def evaluate_inrs(target, coordinates, weights: Sequence[tuple]):
    """Evaluate a batch of INRs of the target's architecture, each with its own weights, in one batched pass.

    Args:
        target: a built keras-inr model (its layers supply the activations and the encoding, if any).
        coordinates: ``(batch, points, in_dims)``, or ``(1, points, in_dims)`` shared by every sample.
        weights: ``[(kernel, bias), ...]``, one pair per ``target.weight_layers`` entry, shared or per sample.

    Returns:
        ``(batch, points, out_dims)``.
    """
    return target.call_with_weights(coordinates, weights)
