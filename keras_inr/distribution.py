"""Training on several devices with the engines Keras runs: ``keras.distribution`` (JAX) and TensorFlow's
``tf.distribute`` (TensorFlow); nothing home-made.

Keras 3 distributes a model with a distribution (``DataParallel``, ``ModelParallel``) made current by
``keras.distribution.set_distribution`` or ``distribution.scope()``: variables created in the scope get the
distribution's layout (replicated for :class:`keras.distribution.DataParallel`; sharded where a
:class:`keras.distribution.LayoutMap` says so for :class:`keras.distribution.ModelParallel`), and
``fit``/``evaluate``/``predict`` split every batch along its first axis over the devices.
This module is a thin layer over it:

* :func:`data_parallel` -- a ``DataParallel`` over all (or the given) devices, after checking that the backend runs it;
* :func:`model_parallel` -- a ``ModelParallel`` on a ``("batch", "model")`` mesh from variable-path patterns;
* :func:`mirrored_strategy` -- on TensorFlow, a ``tf.distribute.MirroredStrategy`` over the visible devices;
* :func:`check_batch_size` -- a clear ``ValueError`` naming ``batch_size`` when a batch does not divide over the
  devices (JAX would otherwise fail inside ``fit`` with an ``IndivisibleError`` about shardings; TensorFlow would
  split it unevenly, and the update would no longer equal the one-device update);
* :func:`resolve_distribution` -- what :func:`keras_inr.fit_signal` (``distribution="data_parallel"``) and
  ``keras-inr fit --data-parallel`` use: ``DataParallel`` on JAX, ``MirroredStrategy`` on TensorFlow.

Which backends run it, with the Keras release keras-inr pins (3.15):

* **JAX**: the complete implementation (``keras/src/backend/jax/distribution_lib.py``, jit with shardings, a
  sharded data iterator). ``fit`` of keras-inr models and of :class:`hypernets.HyperINR` (its stateless custom JAX
  train step) run under ``DataParallel`` unchanged; on one host the devices are GPUs, TPU cores, or virtual CPU
  devices (``XLA_FLAGS=--xla_force_host_platform_device_count=N``, how the tests run it). Several hosts:
  ``keras.distribution.initialize`` first.
* **TensorFlow**: ``keras.distribution`` is a prototype that the TensorFlow trainer does not use (its
  ``distribution_lib`` says "DO NOT USE"; a ``DataParallel`` is accepted and silently trains on one device), so
  :func:`data_parallel` refuses it. Keras' TensorFlow trainer runs TensorFlow's own ``tf.distribute`` strategies
  instead: a model created and compiled inside ``strategy.scope()`` trains data-parallel in ``fit``. keras-inr
  uses that (:func:`mirrored_strategy`; :mod:`keras_inr.backends.distribution_tensorflow`), and accepts any
  ``tf.distribute.Strategy`` a user made (tested: ``MirroredStrategy`` on two logical CPU devices).
* **PyTorch**: Keras has no distribution backend for PyTorch (``keras.distribution.list_devices`` fails, and its
  PyTorch trainer has no data-parallel path such as ``torch.nn.parallel.DistributedDataParallel``); refused.
"""

from __future__ import annotations

import contextlib
import sys
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
        "use TensorFlow's own engine, which Keras' TensorFlow trainer supports: keras_inr.distribution."
        "mirrored_strategy() (a tf.distribute.MirroredStrategy; create and compile the model inside its scope(), then "
        "call fit), fit_signal(distribution='data_parallel') or `keras-inr fit --data-parallel`."
    ),
    "torch": (
        "Keras {version} has no distribution backend for PyTorch (keras.distribution.list_devices fails there), and "
        "its PyTorch trainer runs on one device (it has no data-parallel path such as torch's "
        "DistributedDataParallel). Run with KERAS_BACKEND=jax (keras.distribution) or KERAS_BACKEND=tensorflow "
        "(tf.distribute) to train on several devices."
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
        f"keras.distribution (DataParallel, ModelParallel) needs the JAX backend; the active backend is {backend!r}. "
        + message.format(version=keras.__version__, backend=backend)
    )


def _tensorflow():
    """:mod:`keras_inr.backends.distribution_tensorflow`, on the TensorFlow backend only."""
    from keras_inr.backends import distribution_tensorflow

    return distribution_tensorflow


def _is_strategy(value) -> bool:
    """Whether ``value`` is a ``tf.distribute.Strategy`` (without importing TensorFlow where nothing did)."""
    tf = sys.modules.get("tensorflow")
    return tf is not None and isinstance(value, tf.distribute.Strategy)


def device_count(device_type: str | None = None) -> int:
    """The number of devices data-parallel training would use (GPUs or TPU cores if there are any, else CPU devices).

    On JAX the devices ``keras.distribution`` sees; on TensorFlow the logical devices :func:`mirrored_strategy`
    mirrors over.

    Args:
        device_type: ``None`` (the default kind), ``"cpu"``, ``"gpu"`` or ``"tpu"`` (JAX only).

    Raises:
        ValueError: on PyTorch (:func:`check_backend`).
    """
    if keras.backend.backend() == "tensorflow":
        return len(_tensorflow().visible_devices(device_type))
    check_backend()
    return len(keras.distribution.list_devices(device_type))


def _devices(devices) -> list[str]:
    """The device names for a mesh: all of them (``None``), the first ``n`` (an int) or the given names."""
    return select_devices(
        devices, keras.distribution.list_devices(),
        more=lambda count: f"XLA_FLAGS=--xla_force_host_platform_device_count={count} (set before JAX starts) makes "
                           f"{count} virtual devices.",
    )


def select_devices(devices, available: Sequence[str], more, known=None) -> list[str]:
    """Resolve a ``devices`` argument against the backend's device names; the one check for every backend.

    Args:
        devices: ``None`` (all of ``available``), an int (the first that many) or a list of device names.
        available: the device names the backend offers, in order.
        more: ``count -> str``, how to get ``count`` devices on a CPU (appended to the error).
        known: optional ``name -> bool`` accepting a listed name (default: ``name in available``), for backends
            that spell one device several ways.

    Returns:
        The chosen device names.

    Raises:
        ValueError: naming ``devices`` when it is none of the above or asks for devices that do not exist.
    """
    available = list(available)
    if devices is None:
        return available
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
                f"{more(count)}"
            )
        return available[:count]
    devices = list(devices)
    known = known or (lambda name: name in available)
    if not devices or not all(isinstance(name, str) and known(name) for name in devices):
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


def mirrored_strategy(devices=None):
    """A ``tf.distribute.MirroredStrategy`` over the visible GPUs (else the logical CPU devices); TensorFlow only.

    Keras' TensorFlow trainer trains a model created and compiled inside ``strategy.scope()`` data-parallel: its
    variables are mirrored on every device and each batch is split over them::

        strategy = keras_inr.distribution.mirrored_strategy()
        with strategy.scope():
            model = keras_inr.SIREN(out_dims=3)
            keras_inr.training.compile_inr(model)
            keras_inr.distribution.prepare_model(model)  # predict_on_batch returns one copy (render does this)
        model.fit(...)  # every batch's size must be a multiple of strategy.num_replicas_in_sync

    Args:
        devices: ``None`` for every visible device, an int for the first that many, or a list of TensorFlow device
            names such as ``["GPU:0", "GPU:1"]``.

    Raises:
        ValueError: on other backends than TensorFlow, or naming ``devices`` when it asks for devices that do not
            exist.
    """
    backend = keras.backend.backend()
    if backend != "tensorflow":
        raise ValueError(
            f"mirrored_strategy() is TensorFlow's tf.distribute engine and needs KERAS_BACKEND=tensorflow; the active "
            f"backend is {backend!r}."
            + (" On JAX use keras_inr.distribution.data_parallel()." if backend == "jax" else " "
               + _UNSUPPORTED.get(backend, "").format(version=keras.__version__, backend=backend))
        )
    return _tensorflow().mirrored_strategy(devices)


def current():
    """The distribution in effect: the current ``keras.distribution`` distribution, else (TensorFlow) the
    ``tf.distribute.Strategy`` whose scope is open, else ``None``."""
    distribution = keras.distribution.distribution()
    if distribution is None and keras.backend.backend() == "tensorflow":
        distribution = _tensorflow().current_strategy()
    return distribution


def replicas(distribution=None) -> int:
    """How many parts ``distribution`` (default: :func:`current`) splits each batch into; 1 without one.

    Args:
        distribution: a ``keras.distribution`` distribution (its ``num_model_replicas``), a
            ``tf.distribute.Strategy`` (its ``num_replicas_in_sync``) or ``None`` for the current one.
    """
    distribution = current() if distribution is None else distribution
    if distribution is None:
        return 1
    if hasattr(distribution, "num_replicas_in_sync"):  # a tf.distribute.Strategy
        return int(distribution.num_replicas_in_sync)
    return int(distribution.num_model_replicas)


def check_batch_size(batch_size: int, distribution=None, what: str = "") -> int:
    """Check that ``batch_size`` divides over the devices of ``distribution`` (default: the current one).

    Args:
        batch_size: the number of samples per step (an image's pixel count for full-batch fitting).
        distribution: a ``keras.distribution.DataParallel`` or ``ModelParallel``, or a ``tf.distribute.Strategy``;
            ``None`` for the current one (:func:`current`; nothing to check if there is none).
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
            f"distribution: each step splits its batch into {count} equal parts (the update then equals the "
            f"one-device update). Use a multiple of {count}, e.g. {nearest}."
        )
    return batch_size


def resolve_distribution(distribution):
    """The distribution for a ``distribution`` argument (of :func:`keras_inr.fit_signal`, ``keras-inr fit``).

    Args:
        distribution: ``None``; ``"data_parallel"``: every device, with the engine the backend runs
            (:func:`data_parallel` on JAX, :func:`mirrored_strategy` on TensorFlow); a
            ``keras.distribution.DataParallel`` / ``ModelParallel`` (JAX); or a ``tf.distribute.Strategy``
            (TensorFlow).

    Returns:
        ``None``, a ``keras.distribution`` distribution or a ``tf.distribute.Strategy``; each has ``scope()``
        (:func:`scope`).

    Raises:
        ValueError: naming ``distribution`` for another value or one the active backend does not run (PyTorch runs
            none: :func:`check_backend`).
    """
    backend = keras.backend.backend()
    expected = (
        f"`distribution` must be None, one of {DISTRIBUTIONS}, a keras.distribution.DataParallel or ModelParallel "
        f"(JAX) or a tf.distribute.Strategy (TensorFlow)"
    )
    if distribution is None:
        return None
    if isinstance(distribution, str):
        if distribution not in DISTRIBUTIONS:
            raise ValueError(f"{expected}, got {distribution!r}.")
        return mirrored_strategy() if backend == "tensorflow" else data_parallel()
    if isinstance(distribution, (keras.distribution.DataParallel, keras.distribution.ModelParallel)):
        check_backend()
        return distribution
    if _is_strategy(distribution):
        if backend != "tensorflow":
            raise ValueError(
                f"{expected}: a tf.distribute.Strategy is run by Keras' TensorFlow trainer only, and the active "
                f"backend is {backend!r}."
            )
        return distribution
    raise ValueError(f"{expected}, got {distribution!r}.")


def scope(distribution):
    """``distribution.scope()``, or a context that does nothing for ``None``."""
    return contextlib.nullcontext() if distribution is None else distribution.scope()


def prepare_model(model) -> None:
    """What a model compiled under the current distribution needs besides Keras' own setup; call after ``compile``.

    On TensorFlow under a ``tf.distribute`` strategy: ``model.predict_on_batch`` (what
    :func:`keras_inr.rendering.render` calls) made to return one row per input row
    (:func:`keras_inr.backends.distribution_tensorflow.predict_on_one_copy`; Keras 3.15 returns one copy per
    replica). Nothing elsewhere.

    Raises:
        ValueError: naming ``model`` when it is not a ``keras.Model``.
    """
    if not isinstance(model, keras.Model):
        raise ValueError(f"`model` must be a keras.Model, got {type(model).__name__}.")
    if keras.backend.backend() == "tensorflow":
        _tensorflow().predict_on_one_copy(model)


__all__ = [
    "SUPPORTED_BACKENDS",
    "check_backend",
    "check_batch_size",
    "current",
    "data_parallel",
    "device_count",
    "mirrored_strategy",
    "model_parallel",
    "prepare_model",
    "replicas",
    "resolve_distribution",
    "scope",
]
