"""Derivatives of a field with respect to its coordinates: Jacobian, gradient, Laplacian and divergence.

A keras-inr model is a field ``f: R^in_dims -> R^out_dims`` evaluated point by point: ``(N, in_dims)`` coordinates
give ``(N, out_dims)`` values. The functions here differentiate such a field with respect to the coordinates, on JAX,
TensorFlow and PyTorch alike, and their results can be differentiated again with respect to the model's weights, so
they can appear in a training loss (see :mod:`keras_inr.derivative_losses` for losses on derivatives trained with
``model.fit``).

=====================================  ===================================  =======================================
function                               field                                result
=====================================  ===================================  =======================================
:func:`jacobian`                       any                                  ``(N, out_dims, in_dims)``
:func:`gradient`                       scalar (``out_dims == 1``)           ``(N, in_dims)``
:func:`laplacian`                      any                                  ``(N, out_dims)``
:func:`divergence`                     vector (``out_dims == in_dims``)     ``(N,)``
:func:`derivatives`                    any                                  the values and any of the above, sharing
                                                                            one forward pass
=====================================  ===================================  =======================================

Coordinates may have more leading axes (``(batch, points, in_dims)``); results keep them. The model must be
*point-wise*: each output row depends only on the coordinates of its own row (true of every keras-inr model, also of
hypernetwork targets). Derivatives of all points are then taken at once, as derivatives of the sum over points.

How each backend computes them (backend code lives in ``keras_inr/backends/differential_<backend>.py``):

* JAX: forward mode (``jax.jvp``, one tangent per coordinate axis, vectorised with ``jax.vmap``) for Jacobians of
  fields with at least as many outputs as inputs, reverse mode (``jax.vjp``) otherwise (a scalar field's gradient is
  one reverse pass); the Laplacian is the sum of the ``in_dims`` second directional derivatives along the coordinate
  axes, each a forward-over-forward pass. Works under ``jax.jit``, ``jax.grad`` and ``jax.vmap``.
* TensorFlow: nested ``tf.GradientTape``s, one reverse pass per output channel, plus one per coordinate axis and
  channel for the Laplacian. Works eagerly and inside ``tf.function``; an enclosing tape differentiates the result.
* PyTorch: ``torch.autograd.grad`` with ``create_graph=True`` whenever gradients are enabled (so the result can be
  back-propagated to the weights), under ``torch.enable_grad`` so that it also works in evaluation (``no_grad``,
  Keras' ``evaluate`` and ``predict``); under ``no_grad`` the results come back detached.

Differentiating inside your own compiled JAX function: a Keras model reads its variables' current values; inside
``jax.jit`` those are constants. To differentiate with respect to the weights, pass a stateless function of the
coordinates instead of the model (any callable is accepted)::

    def loss(trainable, non_trainable, x):
        field = lambda c: model.stateless_call(trainable, non_trainable, c)[0]
        return jnp.mean(differential.laplacian(field, x) ** 2)

    grads = jax.jit(jax.grad(loss))(
        [v.value for v in model.trainable_variables], [v.value for v in model.non_trainable_variables], x)

Inside Keras' own training steps (``model.fit``, ``compute_loss``) this is done by Keras: call the model directly.
"""

from __future__ import annotations

import importlib

import keras

__all__ = ["jacobian", "gradient", "laplacian", "divergence", "derivatives"]

_BACKEND_MODULES = {
    "jax": "keras_inr.backends.differential_jax",
    "tensorflow": "keras_inr.backends.differential_tensorflow",
    "torch": "keras_inr.backends.differential_torch",
}


def _backend_module():
    backend = keras.backend.backend()
    if backend not in _BACKEND_MODULES:
        raise ValueError(
            f"keras_inr.differential supports the jax, tensorflow and torch backends, got KERAS_BACKEND={backend!r}."
        )
    return importlib.import_module(_BACKEND_MODULES[backend])


def _known_dims(model) -> tuple[int | None, int | None]:
    """``(in_dims, out_dims)`` of ``model`` where it declares them (keras-inr models, built Keras functional models)."""
    in_dims = getattr(model, "in_dims", None)
    out_dims = getattr(model, "out_dims", None)
    if in_dims is None and isinstance(model, keras.Model):
        try:
            in_dims = model.inputs[0].shape[-1] if model.inputs else None
            out_dims = out_dims if out_dims is not None else (model.outputs[0].shape[-1] if model.outputs else None)
        except (AttributeError, IndexError, TypeError, ValueError):
            pass
    in_dims = int(in_dims) if isinstance(in_dims, int) else None
    out_dims = int(out_dims) if isinstance(out_dims, int) else None
    return in_dims, out_dims


def _prepare(model, coordinates, function: str):
    """Check ``model`` and ``coordinates``; return ``(coordinates tensor, in_dims, out_dims or None)``."""
    if not callable(model):
        raise ValueError(
            f"`model` of {function}() must be a Keras model or a callable mapping coordinates (N, in_dims) to values "
            f"(N, out_dims), got {type(model).__name__}."
        )
    if not keras.ops.is_tensor(coordinates):
        try:
            coordinates = keras.ops.convert_to_tensor(coordinates)
        except (TypeError, ValueError) as error:
            raise ValueError(f"`coordinates` of {function}() must be a numeric array or tensor ({error}).") from None
    dtype = keras.backend.standardize_dtype(coordinates.dtype)
    if "float" not in dtype:
        if "int" in dtype or dtype == "bool":
            coordinates = keras.ops.cast(coordinates, "float32")
        else:
            raise ValueError(f"`coordinates` of {function}() must hold real numbers, got dtype {dtype}.")
    shape = tuple(coordinates.shape)
    if len(shape) < 2:
        raise ValueError(
            f"`coordinates` of {function}() must have shape (N, in_dims) (or (batch, N, in_dims)), got shape {shape}; "
            "add the coordinate axis with x[:, None]."
        )
    if shape[-1] is None:
        raise ValueError(f"`coordinates` of {function}() must have a known last axis (in_dims), got shape {shape}.")
    in_dims, out_dims = _known_dims(model)
    if in_dims is not None and int(shape[-1]) != in_dims:
        raise ValueError(
            f"`coordinates` of {function}() have {shape[-1]}-D points (shape {shape}), but `model` takes {in_dims}-D "
            f"coordinates (N, {in_dims})."
        )
    if isinstance(model, keras.Layer) and not model.built:
        model.build((None, int(shape[-1])))  # variables are created here, outside any transformation
        in_dims, out_dims = _known_dims(model)
    return coordinates, int(shape[-1]), out_dims


def _output_check(function: str, in_dims: int, requirement: str | None):
    """A callback the backend applies to the shape of the field's values: ``ValueError`` naming ``model`` if they do
    not fit."""

    def check(shape):
        shape = tuple(shape)
        if len(shape) < 2 or shape[-1] is None:
            raise ValueError(
                f"`model` of {function}() must return values of shape (N, out_dims) for coordinates (N, in_dims), "
                f"got shape {shape}."
            )
        out_dims = int(shape[-1])
        described = f" (values of shape {shape})" if None not in shape else ""
        if requirement == "scalar" and out_dims != 1:
            raise ValueError(
                f"gradient() needs a scalar field, but `model` has {out_dims} output channels{described}; use "
                "jacobian() for fields with several channels."
            )
        if requirement == "vector" and out_dims != in_dims:
            raise ValueError(
                f"divergence() needs a vector field with as many channels as coordinate axes ({in_dims}), but `model` "
                f"has {out_dims} output channels{described}."
            )

    return check


def derivatives(model, coordinates, jacobian: bool = True, laplacian: bool = False, *, _requirement=None,
                _function="derivatives") -> dict:
    """The field's values and its derivatives with respect to the coordinates, sharing one forward pass.

    Args:
        model: a Keras model or any callable mapping coordinates ``(..., in_dims)`` to values ``(..., out_dims)``,
            point-wise (see the module docstring), written with ``keras.ops`` or the backend's own ops.
        coordinates: ``(N, in_dims)`` (or ``(batch, N, in_dims)``) array or tensor of real numbers; integers are
            cast to float32.
        jacobian: whether to compute the Jacobian.
        laplacian: whether to compute the Laplacian.

    Returns:
        A dict with ``"values"`` ``(..., out_dims)`` (float32) and, as asked, ``"jacobian"`` ``(..., out_dims,
        in_dims)`` and ``"laplacian"`` ``(..., out_dims)``.

    Raises:
        ValueError: naming ``coordinates`` (not an array of real numbers, fewer than 2 axes, a last axis other than
            the model's ``in_dims``) or ``model`` (not callable, values of the wrong shape).
    """
    coordinates, in_dims, out_dims = _prepare(model, coordinates, _function)
    check = _output_check(_function, in_dims, _requirement)
    if out_dims is not None:
        # Known before any computation: the error comes before the work.
        check((None, out_dims))
    return _backend_module().derivatives(
        model, coordinates, jacobian=bool(jacobian), laplacian=bool(laplacian), out_dims=out_dims, check=check
    )


def jacobian(model, coordinates):
    """The Jacobian ``d f_i / d x_j`` of the field at each point.

    Args:
        model: a Keras model or a callable mapping coordinates ``(N, in_dims)`` to values ``(N, out_dims)``.
        coordinates: ``(N, in_dims)`` (or ``(batch, N, in_dims)``).

    Returns:
        ``(N, out_dims, in_dims)`` float32 tensor of the active backend.

    Raises:
        ValueError: naming ``coordinates`` or ``model`` (see :func:`derivatives`).

    Example:
        >>> model = keras_inr.SIREN(out_dims=3, width=32, depth=2, in_dims=2)
        >>> jacobian(model, keras.ops.zeros((5, 2))).shape
        (5, 3, 2)
    """
    return derivatives(model, coordinates, jacobian=True, _function="jacobian")["jacobian"]


def gradient(model, coordinates):
    """The gradient of a scalar field (``out_dims == 1``) at each point.

    Args:
        model: a scalar field: a Keras model or callable mapping ``(N, in_dims)`` to ``(N, 1)``.
        coordinates: ``(N, in_dims)`` (or ``(batch, N, in_dims)``).

    Returns:
        ``(N, in_dims)`` float32 tensor.

    Raises:
        ValueError: naming ``model`` when it has more than one output channel (use :func:`jacobian`), or as
            :func:`derivatives`.
    """
    jac = derivatives(model, coordinates, jacobian=True, _requirement="scalar", _function="gradient")["jacobian"]
    return keras.ops.squeeze(jac, axis=-2)


def laplacian(model, coordinates):
    """The Laplacian ``sum_j d^2 f_i / d x_j^2`` of each output channel at each point.

    Args:
        model: a Keras model or callable mapping ``(N, in_dims)`` to ``(N, out_dims)``.
        coordinates: ``(N, in_dims)`` (or ``(batch, N, in_dims)``).

    Returns:
        ``(N, out_dims)`` float32 tensor.

    Raises:
        ValueError: naming ``coordinates`` or ``model`` (see :func:`derivatives`).
    """
    return derivatives(model, coordinates, jacobian=False, laplacian=True, _function="laplacian")["laplacian"]


def divergence(model, coordinates):
    """The divergence ``sum_i d f_i / d x_i`` of a vector field (``out_dims == in_dims``) at each point.

    Args:
        model: a vector field: a Keras model or callable mapping ``(N, d)`` to ``(N, d)``.
        coordinates: ``(N, d)`` (or ``(batch, N, d)``).

    Returns:
        ``(N,)`` float32 tensor.

    Raises:
        ValueError: naming ``model`` when its number of output channels differs from the coordinate dimension, or
            as :func:`derivatives`.
    """
    jac = derivatives(model, coordinates, jacobian=True, _requirement="vector", _function="divergence")["jacobian"]
    return keras.ops.trace(jac, axis1=-2, axis2=-1)
