"""Several devices on the TensorFlow backend: TensorFlow's own ``tf.distribute`` strategies, which Keras' TensorFlow
trainer runs.

Keras 3's ``keras.distribution`` API is a prototype on TensorFlow that its trainer ignores (see
:mod:`keras_inr.distribution`). What the TensorFlow trainer does honour (``keras/src/backend/tensorflow/trainer.py``)
is a ``tf.distribute.Strategy`` that is current when the model is created: the model keeps it
(``model.distribute_strategy``), its variables are mirrored on every device, ``fit`` distributes the input with
``strategy.experimental_distribute_dataset`` (each global batch split along its first axis into one part per
replica), runs the step on every replica with ``strategy.run``, and the optimiser sums the replicas' gradients of the
loss, which Keras scales by ``1 / num_replicas_in_sync`` (``keras.src.losses.loss.scale_loss_for_distribution``) so
that the update equals the one-device update on the whole batch.

This module holds the TensorFlow-only parts of :mod:`keras_inr.distribution`:

* :func:`mirrored_strategy` -- a ``tf.distribute.MirroredStrategy`` over the visible GPUs (else CPU devices);
* :func:`current_strategy` -- the strategy whose scope is open;
* :func:`predict_on_one_copy` -- makes ``model.predict_on_batch`` (what :func:`keras_inr.rendering.render` calls)
  return one row per input row under a strategy: Keras 3.15's TensorFlow ``predict_on_batch`` hands the whole,
  undistributed batch to every replica and concatenates their outputs, so a model of a 2-replica strategy returns
  ``2 N`` rows for ``N`` coordinates.
"""

from __future__ import annotations

import tensorflow as tf


def current_strategy() -> tf.distribute.Strategy | None:
    """The strategy whose ``scope()`` is open, or ``None`` outside any (TensorFlow's default strategy)."""
    return tf.distribute.get_strategy() if tf.distribute.has_strategy() else None


def visible_devices(device_type: str | None = None) -> list[str]:
    """The logical devices a strategy can mirror over: the GPUs if there are any, else the CPU devices.

    Args:
        device_type: ``None`` (GPUs if any, else CPUs), ``"gpu"`` or ``"cpu"``.

    Returns:
        Device names such as ``"/job:localhost/replica:0/task:0/device:GPU:0"``. Several CPU devices exist only
        where the program configured them before TensorFlow started, e.g.
        ``tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)``.
    """
    if device_type is not None and str(device_type).lower() not in ("gpu", "cpu"):
        raise ValueError(f"`device_type` must be None, 'gpu' or 'cpu' on TensorFlow, got {device_type!r}.")
    kinds = ("GPU", "CPU") if device_type is None else (str(device_type).upper(),)
    for kind in kinds:
        devices = [device.name for device in tf.config.list_logical_devices(kind)]
        if devices:
            return devices
    return []


def mirrored_strategy(devices=None) -> tf.distribute.MirroredStrategy:
    """A ``tf.distribute.MirroredStrategy``: variables mirrored on every device, each batch split over them.

    Create and compile the model inside its ``scope()``; ``fit`` then trains data-parallel (see the module
    docstring)::

        strategy = mirrored_strategy()
        with strategy.scope():
            model = keras_inr.SIREN(out_dims=3)
            keras_inr.training.compile_inr(model)
        model.fit(...)  # the global batch is split into strategy.num_replicas_in_sync parts

    Args:
        devices: ``None`` for every visible GPU (every logical CPU device when there is no GPU), an int for the
            first that many, or a list of device names (``"GPU:0"``, ``"/device:CPU:1"``, ...).

    Raises:
        ValueError: naming ``devices`` when it asks for devices that do not exist or is not one of the above.
    """
    from keras_inr.distribution import select_devices

    known = {_device_key(device.name) for kind in ("GPU", "CPU") for device in tf.config.list_logical_devices(kind)}
    names = select_devices(
        devices, visible_devices(),
        more=lambda count: f"tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()]"
                           f" * {count}) (before anything else uses TensorFlow) makes that many logical devices.",
        known=lambda name: _device_key(name) in known,
    )
    return tf.distribute.MirroredStrategy(names)


def _device_key(name: str) -> tuple[str, int] | None:
    """``("GPU", 0)`` for ``"GPU:0"``, ``"/device:GPU:0"`` or ``"/job:localhost/.../device:GPU:0"``; ``None`` if
    ``name`` is not a device name."""
    try:
        spec = tf.DeviceSpec.from_string(name)
    except (ValueError, TypeError):
        return None
    return (spec.device_type or "").upper(), spec.device_index if spec.device_index is not None else 0


def predict_on_one_copy(model) -> None:
    """Make ``model.predict_on_batch`` of a model created under a strategy return one output row per input row.

    Keras 3.15's TensorFlow ``predict_on_batch(x)`` runs its predict step with ``strategy.run`` on ``x`` as given:
    each replica receives the whole batch and the outputs are concatenated, ``num_replicas_in_sync`` copies of the
    answer. This sets ``model.predict_function`` to one that computes an undistributed batch once, from the mirrored
    variables, and keeps Keras' own distributed function for the distributed batches of ``model.predict`` (which
    splits them correctly). Call it after ``compile`` (which resets the predict function); calling it again before
    the next ``compile`` does nothing, so :func:`keras_inr.rendering.render` calls it before every render. Nothing
    happens for a model without a strategy (or with one replica).

    Args:
        model: a compiled ``keras.Model``.
    """
    if model.distribute_strategy.num_replicas_in_sync < 2:  # TensorFlow's default strategy has one replica
        return
    if model.predict_function is not None and model.predict_function is getattr(model, "_one_copy_predict", None):
        return  # already done since the last compile (compile resets predict_function); safe to call before each use
    model.make_predict_function(force=True)
    distributed = model.predict_function

    @tf.function(reduce_retracing=True)
    def once(data):
        return model.predict_step(data)

    def predict_function(data):
        if any(isinstance(leaf, tf.distribute.DistributedValues) for leaf in tf.nest.flatten(data)):
            return distributed(data)  # model.predict: batches already split over the replicas
        if len(data) != 1:
            return distributed(data)
        return once(data[0])

    model.predict_function = predict_function
    model._one_copy_predict = predict_function


__all__ = ["current_strategy", "mirrored_strategy", "predict_on_one_copy", "visible_devices"]
