"""Training on several devices with Keras' own distribution engine (``keras.distribution``); nothing home-made.

Keras 3 distributes a model with a distribution (``DataParallel``, ``ModelParallel``) made current by
``keras.distribution.set_distribution`` or ``distribution.scope()``: variables created in the scope get the
distribution's layout (replicated for :class:`keras.distribution.DataParallel`; sharded where a
:class:`keras.distribution.LayoutMap` says so for :class:`keras.distribution.ModelParallel`), and
``fit``/``evaluate``/``predict`` split every batch along its first axis over the devices.
This module is a thin layer over it:

* :func:`data_parallel` -- a ``DataParallel`` over all (or the given) devices, after checking that the backend runs it;
* :func:`model_parallel` -- a ``ModelParallel`` on a ``("batch", "model")`` mesh from variable-path patterns;
* :func:`check_batch_size` -- a clear ``ValueError`` naming ``batch_size`` when a batch does not divide over the
  devices (JAX would otherwise fail inside ``fit`` with an ``IndivisibleError`` about shardings);
* :func:`resolve_distribution` -- what :func:`keras_inr.fit_signal` (``distribution="data_parallel"``) and
  ``keras-inr fit --data-parallel`` use.

Which backends run it, with the Keras release keras-inr pins (3.15):

* **JAX**: the complete implementation (``keras/src/backend/jax/distribution_lib.py``, jit with shardings, a
  sharded data iterator). ``fit`` of keras-inr models and of :class:`hypernets.HyperINR` (its stateless custom JAX
  train step) run under ``DataParallel`` unchanged; on one host the devices are GPUs, TPU cores, or virtual CPU
  devices (``XLA_FLAGS=--xla_force_host_platform_device_count=N``, how the tests run it). Several hosts:
  ``keras.distribution.initialize`` first.
* **TensorFlow**: ``keras.distribution`` is a prototype that the TensorFlow trainer does not use (its
  ``distribution_lib`` says "DO NOT USE"; a ``DataParallel`` is accepted and silently trains on one device), so
  :func:`data_parallel` refuses it. Keras' TensorFlow trainer runs TensorFlow's own ``tf.distribute`` strategies
  instead: build and compile the model inside ``tf.distribute.MirroredStrategy().scope()`` and call ``fit``.
* **PyTorch**: Keras has no distribution backend for PyTorch (``keras.distribution.list_devices`` fails); refused.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence

import keras

from keras_inr.validation import check_positive_int

#: Backends on which Keras' ``keras.distribution`` API trains models, in the pinned Keras release.
SUPPORTED_BACKENDS = ("jax",)

#: The values of :func:`keras_inr.fit_signal`'s ``distribution`` argument (besides a distribution object).
DISTRIBUTIONS = ("data_parallel",)

_UNSUPPORTED = {
    "tensorflow": (
        "Keras' keras.distribution API is an unfinished prototype on the TensorFlow backend (Keras {version}): its "
        "DataParallel is accepted but ignored by the TensorFlow trainer, which trains on one device. On TensorFlow "
        "use TensorFlow's own engine, which Keras' TensorFlow trainer supports: create and compile the model inside "
        "`with tf.distribute.MirroredStrategy().scope():`, then call fit. Or run with KERAS_BACKEND=jax."
    ),
    "torch": (
        "Keras {version} has no keras.distribution backend for PyTorch (keras.distribution.list_devices fails there), "
        "and Keras' PyTorch trainer runs on one device. Run with KERAS_BACKEND=jax to train on several devices."
    ),
}


def check_backend(backend: str | None = None) -> str:
    """Return the backend if Keras' ``keras.distribution`` trains models on it, else raise a clear error.

    Args:
        backend: a Keras backend name; ``None`` for the active one.

    Raises:
        ValueError: on TensorFlow and PyTorch, saying what each offers instead (see the module docstring).
    """
    backend = backend or keras.backend.backend()
    if backend in SUPPORTED_BACKENDS:
        return backend
    message = _UNSUPPORTED.get(backend, "Keras' keras.distribution API does not run on the {backend} backend.")
    raise ValueError(
        f"Training on several devices needs the JAX backend; the active backend is {backend!r}. "
        + message.format(version=keras.__version__, backend=backend)
    )


def device_count(device_type: str | None = None) -> int:
    """The number of devices ``keras.distribution`` sees (GPUs or TPU cores if there are any, else CPU devices).

    Args:
        device_type: ``None`` (the default kind), ``"cpu"``, ``"gpu"`` or ``"tpu"``.

    Raises:
        ValueError: on backends without ``keras.distribution`` (:func:`check_backend`).
    """
    check_backend()
    return len(keras.distribution.list_devices(device_type))


def _devices(devices) -> list[str]:
    """The device names for a mesh: all of them (``None``), the first ``n`` (an int) or the given names."""
    available = keras.distribution.list_devices()
    if devices is None:
        return list(available)
    if isinstance(devices, bool) or not isinstance(devices, (int, Sequence)) or isinstance(devices, str):
        raise ValueError(
            f"`devices` must be None (all devices), a number of devices or a list of device names such as "
            f"{available[:2]}, got {devices!r}."
        )
    if isinstance(devices, int):
        count = check_positive_int("devices", devices)
        if count > len(available):
            raise ValueError(
                f"`devices`={count} but only {len(available)} device(s) are available: {available}. On a CPU, "
                f"XLA_FLAGS=--xla_force_host_platform_device_count={count} (set before JAX starts) makes {count} "
                "virtual devices."
            )
        return list(available[:count])
    devices = list(devices)
    unknown = [device for device in devices if device not in available]
    if not devices or unknown:
        raise ValueError(f"`devices` must name available devices {available}, got {devices!r}.")
    return devices


def data_parallel(devices=None) -> keras.distribution.DataParallel:
    """A :class:`keras.distribution.DataParallel`: variables replicated on every device, batches split over them.

    Use its scope around creating, compiling and fitting a model (or ``keras.distribution.set_distribution``)::

        distribution = keras_inr.distribution.data_parallel()
        with distribution.scope():
            model = keras_inr.SIREN(out_dims=3)
            keras_inr.training.compile_inr(model)
            model.fit(...)  # every batch's size must be a multiple of the device count

    Args:
        devices: ``None`` for every device (``keras.distribution.list_devices()``), an int for the first that many,
            or a list of device names such as ``["gpu:0", "gpu:1"]``.

    Returns:
        The ``DataParallel`` distribution (a 1-D device mesh with axis ``"batch"``).

    Raises:
        ValueError: on backends without ``keras.distribution`` (TensorFlow, PyTorch: :func:`check_backend`), or
            naming ``devices`` when it asks for devices that do not exist.
    """
    check_backend()
    return keras.distribution.DataParallel(devices=_devices(devices))


def model_parallel(
    layouts: Mapping[str, Sequence[str | None]], model_devices: int = 2, devices=None
) -> keras.distribution.ModelParallel:
    """A :class:`keras.distribution.ModelParallel` that shards the variables whose path matches a pattern.

    The devices form a mesh of shape ``(len(devices) // model_devices, model_devices)`` with axes ``("batch",
    "model")``: batches are split over ``"batch"``, and each variable matching a pattern of ``layouts`` is split
    along the axes that its layout names ``"model"``; all other variables are replicated. E.g. a wide SIREN's hidden
    kernels split by columns over two devices::

        distribution = model_parallel({".*hidden_.*/kernel": (None, "model")})

    Args:
        layouts: regular expression over ``variable.path`` (e.g. ``"siren/hidden_1/kernel"``) -> one entry per
            variable axis, ``"model"``, ``"batch"`` or ``None``. The sharded axes must divide by their mesh size
            (JAX raises an ``IndivisibleError`` when the variable is created otherwise).
        model_devices: devices each variable is split over; must divide the device count.
        devices: ``None`` for every device, an int for the first that many, or a list of device names.

    Raises:
        ValueError: on backends without ``keras.distribution``, naming ``layouts``, ``model_devices`` or ``devices``
            when invalid.
    """
    check_backend()
    names = _devices(devices)
    model_devices = check_positive_int("model_devices", model_devices)
    if len(names) % model_devices:
        raise ValueError(
            f"`model_devices`={model_devices} must divide the number of devices ({len(names)}: {names})."
        )
    if not isinstance(layouts, Mapping) or not layouts:
        raise ValueError(
            "`layouts` must be a non-empty dict of variable-path patterns -> axis names, e.g. "
            f"{{'.*hidden_.*/kernel': (None, 'model')}}, got {layouts!r}."
        )
    mesh = keras.distribution.DeviceMesh(
        shape=(len(names) // model_devices, model_devices), axis_names=("batch", "model"), devices=names
    )
    layout_map = keras.distribution.LayoutMap(mesh)
    for pattern, axes in layouts.items():
        if not isinstance(axes, (tuple, list)) or any(axis not in (None, "batch", "model") for axis in axes):
            raise ValueError(
                f"`layouts`[{pattern!r}] must be a tuple of 'model', 'batch' or None per variable axis, got {axes!r}."
            )
        layout_map[pattern] = tuple(axes)
    return keras.distribution.ModelParallel(layout_map=layout_map, batch_dim_name="batch")


def replicas(distribution=None) -> int:
    """How many parts ``distribution`` (default: the current one) splits each batch into; 1 without one."""
    distribution = keras.distribution.distribution() if distribution is None else distribution
    if distribution is None:
        return 1
    return int(distribution.num_model_replicas)


def check_batch_size(batch_size: int, distribution=None, what: str = "") -> int:
    """Check that ``batch_size`` divides over the devices of ``distribution`` (default: the current one).

    Args:
        batch_size: the number of samples per step (an image's pixel count for full-batch fitting).
        distribution: a ``keras.distribution.DataParallel`` or ``ModelParallel``; ``None`` for the current one
            (nothing to check if there is none).
        what: optional words that say what the batch is, for the message (e.g. ``"every pixel of 15x15"``).

    Returns:
        ``batch_size``.

    Raises:
        ValueError: naming ``batch_size`` when it is not a multiple of the number of data-parallel replicas.
    """
    batch_size = check_positive_int("batch_size", batch_size)
    count = replicas(distribution)
    if batch_size % count:
        lower, upper = batch_size - batch_size % count, batch_size - batch_size % count + count
        nearest = f"{lower} or {upper}" if lower else str(upper)
        detail = f" ({what})" if what else ""
        raise ValueError(
            f"`batch_size`={batch_size}{detail} does not divide over the {count} devices of the data-parallel "
            f"distribution: each step splits its batch into {count} equal parts. Use a multiple of {count}, e.g. "
            f"{nearest}."
        )
    return batch_size


def resolve_distribution(distribution):
    """The distribution for a ``distribution`` argument: ``None``, ``"data_parallel"`` (:func:`data_parallel` over
    every device) or a ``keras.distribution.DataParallel`` / ``ModelParallel``.

    Returns:
        ``None``, or a ``keras.distribution.DataParallel`` / ``ModelParallel``.

    Raises:
        ValueError: naming ``distribution`` for another value, or from :func:`check_backend` on backends without
            ``keras.distribution``.
    """
    if distribution is None:
        return None
    if isinstance(distribution, str):
        if distribution not in DISTRIBUTIONS:
            raise ValueError(
                f"`distribution` must be None, one of {DISTRIBUTIONS}, or a keras.distribution.DataParallel or "
                f"ModelParallel, got {distribution!r}."
            )
        return data_parallel()
    if isinstance(distribution, (keras.distribution.DataParallel, keras.distribution.ModelParallel)):
        check_backend()
        return distribution
    raise ValueError(
        f"`distribution` must be None, one of {DISTRIBUTIONS}, or a keras.distribution.DataParallel or "
        f"ModelParallel, got {distribution!r}."
    )


def scope(distribution):
    """``distribution.scope()``, or a context that does nothing for ``None``."""
    return contextlib.nullcontext() if distribution is None else distribution.scope()


__all__ = [
    "SUPPORTED_BACKENDS",
    "check_backend",
    "check_batch_size",
    "data_parallel",
    "device_count",
    "model_parallel",
    "replicas",
    "resolve_distribution",
    "scope",
]
