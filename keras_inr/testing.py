"""Keras-contract checks for keras-inr layers and models -- and for the layers and families you write yourself.

A layer or model that Keras users can rely on keeps a contract: its config survives JSON and ``from_config``, it can be
called on symbolic tensors (the functional API) with the shape that ``compute_output_shape`` announces, it trains with
``fit``, it survives a ``.keras`` save/load, and it honours the dtype policies (``float32``, ``bfloat16``,
``mixed_bfloat16``, ``mixed_float16``) in itself and in every sublayer. The functions here check all of that and raise
``AssertionError`` with a message naming the class, the check and what went wrong. keras-inr's own test suite
(``tests/test_contract.py``) runs them on every public class; run them on your own registered families too.

Public API:

* :func:`run_layer_test` -- a layer class with its constructor arguments and an input shape;
* :func:`run_model_test` -- the same for a ``keras.Model`` subclass (any input: coordinates, images, indices...);
* :func:`run_precision_test` -- only the dtype-policy checks (called by the two above);
* :func:`run_family_test` -- everything for a family registered in :mod:`keras_inr.families`: its hidden layer
  (first and later), its encoding, and the model :func:`keras_inr.build_model` makes of it.

Example (a user family; the same code as in :mod:`keras_inr.families`)::

    import keras
    from keras import ops
    from keras_inr import families, layers, testing

    @keras.saving.register_keras_serializable(package="my_lab")
    class CosineDense(layers.CoordinateDense):
        def __init__(self, units, w0=10.0, **kwargs):
            super().__init__(units, **kwargs)
            self.w0 = w0
        def activate(self, preactivation):
            return ops.cos(self.w0 * preactivation)
        def get_config(self):
            return {**super().get_config(), "w0": self.w0}

    testing.run_layer_test(CosineDense, {"units": 8, "w0": 5.0}, input_shape=(16, 2))
    families.register("cosine", CosineDense, defaults={"w0": 10.0})
    testing.run_family_test("cosine", w0=5.0)

Constructor arguments that hold layers (e.g. the members of :class:`keras_inr.CombinedINR`) must be fresh for every
instance the harness creates and must follow the dtype policy under test: pass ``init_kwargs`` as a callable
``init_kwargs(dtype) -> dict`` (``dtype`` is ``None`` for the default policy, else a policy name) instead of a dict.

Each check builds its own small instances and runs on tiny data (``input_shape`` of a few points), so a full
:func:`run_family_test` takes a few seconds on a CPU. For activations that multiply the pre-activation by a large
factor, :func:`keras_inr.activations.in_float32` keeps the 16-bit policies' accuracy check happy (and your users'
results accurate).
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import keras
import numpy as np
from keras import ops

__all__ = [
    "POLICIES",
    "DEFAULT_TOLERANCES",
    "run_layer_test",
    "run_model_test",
    "run_precision_test",
    "run_family_test",
]

#: The dtype policies checked by default.
POLICIES = ("float32", "bfloat16", "mixed_bfloat16", "mixed_float16")

#: Largest error allowed by :func:`run_precision_test` between an instance computing in a 16-bit dtype and a float32
#: instance holding the same weights, relative to the largest absolute float32 output, per compute dtype. bfloat16
#: keeps 8 significant bits (relative rounding 2^-9 = 0.2%), float16 11 bits; the bounds leave room for a few layers
#: of accumulated rounding but not for a lost phase (a sine argument ``w0 z`` of 30 rounded to bfloat16 is off by up
#: to 0.06 rad in every unit of a layer).
DEFAULT_TOLERANCES = {"bfloat16": 0.1, "float16": 0.02, "float32": 1e-5, "float64": 1e-12}

_HALF = ("float16", "bfloat16")


# ----------------------------------------------------------------------------------------------------------------
# the subject under test
# ----------------------------------------------------------------------------------------------------------------
@dataclasses.dataclass
class _Subject:
    """What is tested: a factory ``make(dtype)`` of fresh instances, the class and the input data."""

    name: str
    cls: type
    make: Callable[[str | None], keras.layers.Layer]
    input_data: Any
    is_model: bool

    def fail(self, check: str, message: str) -> AssertionError:
        return AssertionError(f"[{self.name}] {check}: {message}")


def _factory(cls: type, init_kwargs) -> Callable[[str | None], Any]:
    if init_kwargs is None:
        init_kwargs = {}
    if not callable(init_kwargs) and not isinstance(init_kwargs, Mapping):
        raise TypeError(f"`init_kwargs` must be a dict or a callable dtype -> dict, got {type(init_kwargs).__name__}.")

    def make(dtype=None):
        kwargs = dict(init_kwargs(dtype) if callable(init_kwargs) else init_kwargs)
        if dtype is not None:
            kwargs["dtype"] = dtype
        return cls(**kwargs)

    return make


def _input_data(input_shape, input_data, seed: int):
    if input_data is not None:
        return input_data
    if input_shape is None:
        raise ValueError("Give `input_shape` (e.g. (16, 2) for 16 two-dimensional coordinates) or `input_data`.")
    shape = tuple(int(d) for d in input_shape)
    if len(shape) < 2 or min(shape) < 1:
        raise ValueError(f"`input_shape` must be a concrete batch shape (batch, ..., features), got {input_shape!r}.")
    return np.random.default_rng(seed).uniform(-1.0, 1.0, shape).astype("float32")


def _subject(cls, init_kwargs, input_shape, input_data, seed, is_model) -> _Subject:
    if not isinstance(cls, type) or not issubclass(cls, keras.layers.Layer):
        raise TypeError(f"`cls` must be a keras Layer or Model class, got {cls!r}.")
    return _Subject(cls.__name__, cls, _factory(cls, init_kwargs), _input_data(input_shape, input_data, seed),
                    is_model)


# ----------------------------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------------------------
def _numpy(value) -> np.ndarray:
    """A float array as float64 numpy (bfloat16 included, which numpy cannot hold natively)."""
    if isinstance(value, np.ndarray):
        return value.astype("float64") if value.dtype.kind == "f" or value.dtype.name == "bfloat16" else value
    dtype = keras.backend.standardize_dtype(value.dtype)
    if "float" in dtype:
        value = ops.cast(value, "float32")
    return np.asarray(ops.convert_to_numpy(value)).astype("float64" if "float" in dtype else None)


def _flat(outputs) -> list:
    return list(keras.tree.flatten(outputs))


def _shapes(outputs):
    return keras.tree.map_structure(lambda t: None if t is None else tuple(t.shape), outputs)


def _normalise_shape(shape):
    """Shapes as nested tuples (compute_output_shape may return lists or TensorShapes)."""
    if shape is None:
        return None
    if isinstance(shape, Mapping):
        return {k: _normalise_shape(v) for k, v in shape.items()}
    items = list(shape)
    if all(d is None or isinstance(d, (int, np.integer)) for d in items):
        return tuple(None if d is None else int(d) for d in items)
    return tuple(_normalise_shape(s) for s in items)


def _input_shape(data):
    return keras.tree.map_structure(lambda t: tuple(t.shape), data)


def _symbolic(data, batch: bool):
    """``keras.Input`` placeholders for ``data`` (batch dimension unknown unless ``batch``)."""

    def placeholder(array):
        shape = tuple(array.shape)
        dtype = keras.backend.standardize_dtype(array.dtype)
        return keras.Input(batch_shape=shape if batch else (None, *shape[1:]), dtype=dtype)

    return keras.tree.map_structure(placeholder, data)


def _is_float(tensor) -> bool:
    return "float" in keras.backend.standardize_dtype(tensor.dtype)


def _implements(instance, method: str) -> bool:
    return not getattr(getattr(type(instance), method), "_is_default", False)


def _config_json(subject: _Subject, instance, check: str) -> str:
    config = instance.get_config()
    try:
        return json.dumps(config, sort_keys=True)
    except (TypeError, ValueError) as error:
        raise subject.fail(check, f"get_config() is not JSON-serialisable ({error}); config: {config!r}") from None


def _config_difference(before: str, after: str) -> str:
    first, second = json.loads(before), json.loads(after)
    keys = sorted(k for k in set(first) | set(second) if first.get(k, "<missing>") != second.get(k, "<missing>"))
    return "; ".join(f"{k}: {first.get(k, '<missing>')!r} -> {second.get(k, '<missing>')!r}" for k in keys)


def _assert_outputs_close(subject, check, actual, expected, atol, rtol=0.0):
    actual, expected = _flat(actual), _flat(expected)
    if len(actual) != len(expected):
        raise subject.fail(check, f"{len(actual)} outputs instead of {len(expected)}.")
    for index, (a, e) in enumerate(zip(actual, expected)):
        a, e = _numpy(a), _numpy(e)
        if a.shape != e.shape:
            raise subject.fail(check, f"output {index} has shape {a.shape}, expected {e.shape}.")
        if not np.allclose(a, e, atol=atol, rtol=rtol, equal_nan=True):
            worst = float(np.max(np.abs(a - e)))
            raise subject.fail(check, f"output {index} differs by up to {worst:.3g} (allowed atol={atol:g}).")


def _call(instance, data, training=None):
    return instance(data) if training is None else instance(data, training=training)


def _containers() -> tuple:
    """Layer classes that compute nothing themselves and take no ``dtype`` (their layers are checked instead)."""
    try:
        from keras.src.models.functional import Functional
    except ImportError:  # pragma: no cover - keras moved it
        return (keras.layers.InputLayer, keras.Sequential)
    return (keras.layers.InputLayer, keras.Sequential, Functional)


def _sublayers(instance) -> list:
    """Every layer inside ``instance``, recursively (Keras' own walk, which sees lists and dicts of layers), except
    ``InputLayer`` and the containers ``Sequential`` / functional models, whose own policy is unused."""
    containers = _containers()
    return [
        layer for layer in instance._flatten_layers(include_self=False, recursive=True)
        if not isinstance(layer, containers)
    ]


def _weight_values(variables) -> list[np.ndarray]:
    return [_numpy(v) for v in variables]


def _wrap_layer(layer, data) -> keras.Model:
    """A functional model around ``layer`` (used to fit and save a layer)."""
    inputs = _symbolic(data, batch=False)
    return keras.Model(inputs, layer(inputs), name=f"contract_{layer.name}")


# ----------------------------------------------------------------------------------------------------------------
# the checks
# ----------------------------------------------------------------------------------------------------------------
def _check_counts(subject, instance, trainable, non_trainable):
    for label, expected, found in (
        ("trainable", trainable, instance.trainable_weights),
        ("non-trainable", non_trainable, instance.non_trainable_weights),
    ):
        if expected is not None and len(found) != expected:
            raise subject.fail(
                "weights", f"{len(found)} {label} weights {[w.path for w in found]}, expected {expected}."
            )


def _check_serialization(subject: _Subject, instance, outputs) -> None:
    """get_config -> JSON -> from_config gives the same config and, with the same weights, the same outputs; the
    registered-name round trip (``serialize_keras_object``) gives the same class."""
    check = "config round trip"
    text = _config_json(subject, instance, check)
    try:
        revived = subject.cls.from_config(json.loads(text))
    except Exception as error:
        raise subject.fail(check, f"from_config(json.loads(json.dumps(get_config()))) raised {error!r}") from error
    if type(revived) is not type(instance):
        raise subject.fail(check, f"from_config gave a {type(revived).__name__}, not a {type(instance).__name__}.")
    revived_text = _config_json(subject, revived, check)
    if revived_text != text:
        raise subject.fail(check, f"from_config changed the config: {_config_difference(text, revived_text)}")
    _call(revived, subject.input_data)  # builds it
    if len(revived.weights) != len(instance.weights):
        raise subject.fail(
            check, f"the revived instance has {len(revived.weights)} weights, the original {len(instance.weights)}."
        )
    try:
        revived.set_weights(instance.get_weights())
    except Exception as error:
        raise subject.fail(check, f"set_weights(original.get_weights()) raised {error!r}") from error
    revived_outputs = _call(revived, subject.input_data)
    _assert_outputs_close(subject, check + " (same weights, same outputs)", revived_outputs, outputs, atol=1e-6,
                          rtol=1e-6)

    check = "registered serialization"
    serialized = keras.saving.serialize_keras_object(instance)
    try:
        restored = keras.saving.deserialize_keras_object(json.loads(json.dumps(serialized)))
    except Exception as error:
        raise subject.fail(
            check, f"deserialize_keras_object raised {error!r}; is the class registered with "
            "keras.saving.register_keras_serializable?"
        ) from error
    if type(restored) is not type(instance):
        raise subject.fail(check, f"deserialized a {type(restored).__name__}, not a {type(instance).__name__}.")


def _check_symbolic(subject: _Subject, instance, expected_output_shape=None):
    """A call on ``keras.Input`` (unknown batch size) gives the shapes of ``compute_output_shape``."""
    check = "symbolic call"
    inputs = _symbolic(subject.input_data, batch=False)
    try:
        outputs = instance(inputs)
    except Exception as error:
        raise subject.fail(check, f"calling on keras.Input {_shapes(inputs)} raised {error!r}") from error
    for tensor in _flat(outputs):
        if not isinstance(tensor, keras.KerasTensor):
            raise subject.fail(check, f"returned a {type(tensor).__name__}, not a KerasTensor.")
    shapes = _normalise_shape(_shapes(outputs))
    if _implements(instance, "compute_output_shape"):
        input_shape = _input_shape(inputs)
        announced = _normalise_shape(instance.compute_output_shape(input_shape))
        if announced != shapes:
            raise subject.fail(
                check, f"compute_output_shape({input_shape}) = {announced} but the symbolic call gives {shapes}."
            )
    if expected_output_shape is not None:
        expected = _normalise_shape((None, *tuple(expected_output_shape)[1:]))
        if shapes != expected and _normalise_shape(expected_output_shape) != shapes:
            raise subject.fail(check, f"symbolic output shape {shapes}, expected {expected}.")
    for tensor in _flat(outputs):
        if _is_float(tensor) and keras.backend.standardize_dtype(tensor.dtype) != instance.compute_dtype:
            raise subject.fail(
                check, f"symbolic output dtype {tensor.dtype}, expected the compute dtype {instance.compute_dtype}."
            )
    return shapes


def _check_eager(subject: _Subject, instance, symbolic_shapes, expected_output_shape=None):
    """An eager call gives finite outputs of the symbolic shapes (with the batch size filled in)."""
    check = "eager call"
    try:
        outputs = _call(instance, subject.input_data)
    except Exception as error:
        raise subject.fail(check, f"calling on inputs of shape {_input_shape(subject.input_data)} raised "
                                  f"{error!r}") from error
    if not instance.built:
        raise subject.fail(check, "the instance is not built after its first call.")
    shapes = _normalise_shape(_shapes(outputs))
    if _implements(instance, "compute_output_shape"):
        input_shape = _input_shape(subject.input_data)
        announced = _normalise_shape(instance.compute_output_shape(input_shape))
        if announced != shapes:
            raise subject.fail(check, f"compute_output_shape({input_shape}) = {announced}, but the eager call "
                                      f"gives {shapes}.")
    flat_symbolic, flat_eager = keras.tree.flatten(symbolic_shapes), keras.tree.flatten(shapes)
    if len(flat_symbolic) != len(flat_eager) or any(
        s is not None and e is not None and s != e for s, e in zip(flat_symbolic, flat_eager)
    ):
        raise subject.fail(check, f"eager output shapes {shapes} do not match the symbolic ones {symbolic_shapes}.")
    if expected_output_shape is not None and shapes != _normalise_shape(expected_output_shape):
        raise subject.fail(check, f"eager output shape {shapes}, expected {tuple(expected_output_shape)}.")
    for index, tensor in enumerate(_flat(outputs)):
        if _is_float(tensor) and not np.all(np.isfinite(_numpy(tensor))):
            raise subject.fail(check, f"output {index} holds NaN or infinite values.")
        if _is_float(tensor) and keras.backend.standardize_dtype(tensor.dtype) != instance.compute_dtype:
            raise subject.fail(check, f"output dtype {tensor.dtype}, expected the compute dtype "
                                      f"{instance.compute_dtype}.")
    return outputs


def _training_targets(outputs, seed: int):
    flat = _flat(outputs)
    if len(flat) != 1:
        raise ValueError(
            "The instance returns several outputs; pass `train_data=(x, y)` (and `compile_kwargs` with a loss that "
            "fits them) to check training."
        )
    return np.random.default_rng(seed + 1).uniform(-1.0, 1.0, tuple(flat[0].shape)).astype("float32")


def _check_training(subject: _Subject, instance, model, outputs, train_data, compile_kwargs, seed, check_frozen,
                    check: str = "fit step"):
    """One ``fit`` step changes every trainable weight, keeps non-trainable weights, and gives a finite loss (with a
    ``LossScaleOptimizer``, the steps it skips while it lowers its loss scale do not count)."""
    compile_kwargs = dict(compile_kwargs or {"optimizer": keras.optimizers.Adam(1e-2), "loss": "mse"})
    if "optimizer" in compile_kwargs and isinstance(compile_kwargs["optimizer"], keras.optimizers.Optimizer):
        compile_kwargs["optimizer"] = compile_kwargs["optimizer"].__class__.from_config(
            compile_kwargs["optimizer"].get_config()
        )  # a fresh optimizer per compiled model
    try:
        model.compile(**compile_kwargs)
    except Exception as error:
        raise subject.fail(check, f"compile({compile_kwargs}) raised {error!r}") from error
    if train_data is None:
        x, y = subject.input_data, _training_targets(outputs, seed)
        fit_args, fit_kwargs = (x, y), {"batch_size": len(x), "shuffle": False}
    elif isinstance(train_data, tuple) and len(train_data) == 2:
        x, y = train_data
        fit_args, fit_kwargs = (x, y), {"batch_size": int(keras.tree.flatten(x)[0].shape[0]), "shuffle": False}
    else:
        fit_args, fit_kwargs = (train_data,), {}
    trainable = list(instance.trainable_weights)
    frozen = list(instance.non_trainable_weights)
    before, frozen_before = _weight_values(trainable), _weight_values(frozen)
    try:
        with warnings.catch_warnings():
            if not model.trainable_weights:  # a fixed encoding: fit must still run
                warnings.filterwarnings("ignore", message="The model does not have any trainable weights")
            history = model.fit(*fit_args, epochs=1, steps_per_epoch=1, verbose=0, **fit_kwargs)
    except Exception as error:
        raise subject.fail(check, f"model.fit raised {error!r}") from error
    loss = history.history.get("loss", [float("nan")])[-1]
    if not np.isfinite(loss):
        raise subject.fail(check, f"the loss of the step is {loss}.")
    # A LossScaleOptimizer (mixed_float16) skips a step whose scaled gradients overflow and halves its scale (from
    # 2^15); allow it the steps it needs to find a scale.
    for _ in range(16):
        if not isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer) or any(
            not np.array_equal(_numpy(v), old) for v, old in zip(trainable, before)
        ):
            break
        model.fit(*fit_args, epochs=1, steps_per_epoch=1, verbose=0, **fit_kwargs)
    unchanged = [v.path for v, old in zip(trainable, before) if np.array_equal(_numpy(v), old)]
    if unchanged:
        raise subject.fail(check, f"one step left trainable weights unchanged (no gradient reaches them?): "
                                  f"{unchanged}.")
    if check_frozen:
        moved = [v.path for v, old in zip(frozen, frozen_before) if not np.array_equal(_numpy(v), old)]
        if moved:
            raise subject.fail(check, f"one step changed non-trainable weights: {moved}.")
    for variable in instance.weights:
        if _is_float(variable) and keras.backend.standardize_dtype(variable.dtype) != instance.variable_dtype:
            raise subject.fail(check, f"after fit, weight {variable.path} is {variable.dtype}, expected "
                                      f"{instance.variable_dtype}.")


def _check_saving(subject: _Subject, instance, model, expected_outputs) -> None:
    """``.keras`` save and load give the same class, config and outputs."""
    check = ".keras save/load"
    with tempfile.TemporaryDirectory(prefix="keras_inr_testing_") as directory:
        path = os.path.join(directory, f"{subject.name}.keras")
        try:
            model.save(path)
            restored_model = keras.saving.load_model(path)
        except Exception as error:
            raise subject.fail(check, f"saving or loading raised {error!r}") from error
    restored = restored_model if subject.is_model else restored_model.layers[-1]
    if type(restored) is not type(instance):
        raise subject.fail(check, f"loaded a {type(restored).__name__}, not a {type(instance).__name__}.")
    before, after = _config_json(subject, instance, check), _config_json(subject, restored, check)
    if before != after:
        raise subject.fail(check, f"the loaded config differs: {_config_difference(before, after)}")
    _assert_outputs_close(subject, check, _call(restored, subject.input_data), expected_outputs, atol=1e-6,
                          rtol=1e-6)


def _check_policy(subject: _Subject, policy: str, tolerances: Mapping[str, float], run_training: bool,
                  train_data, compile_kwargs, seed) -> None:
    check = f"dtype policy {policy!r}"
    expected = keras.dtype_policies.get(policy)
    compute, variable = expected.compute_dtype, expected.variable_dtype
    try:
        instance = subject.make(policy)
    except Exception as error:
        raise subject.fail(check, f"constructing with dtype={policy!r} raised {error!r}") from error
    if instance.dtype_policy.name != policy:
        raise subject.fail(check, f"the instance has policy {instance.dtype_policy.name!r} (does it pass `dtype` "
                                  "to keras.layers.Layer.__init__?).")
    _check_symbolic(subject, subject.make(policy))
    try:
        outputs = _call(instance, subject.input_data)
    except Exception as error:
        raise subject.fail(check, f"the eager call raised {error!r}") from error
    wrong = [
        f"{v.path} ({keras.backend.standardize_dtype(v.dtype)})" for v in instance.weights
        if _is_float(v) and keras.backend.standardize_dtype(v.dtype) != variable
    ]
    if wrong:
        raise subject.fail(check, f"weights not in the variable dtype {variable}: {wrong}.")
    wrong = [
        f"{layer.path or layer.name} ({layer.dtype_policy.name})" for layer in _sublayers(instance)
        if layer.compute_dtype != compute or layer.variable_dtype != variable
    ]
    if wrong:
        raise subject.fail(
            check, f"sublayers do not follow the policy (construct them with dtype=self.dtype_policy): {wrong}."
        )
    for index, tensor in enumerate(_flat(outputs)):
        if not _is_float(tensor):
            continue
        if keras.backend.standardize_dtype(tensor.dtype) != compute:
            raise subject.fail(check, f"output {index} is {tensor.dtype}, expected the compute dtype {compute}.")
        if not np.all(np.isfinite(_numpy(tensor))):
            raise subject.fail(check, f"output {index} holds NaN or infinite values.")

    # config round trip keeps the policy, in the instance and its sublayers
    text = _config_json(subject, instance, check)
    revived = subject.cls.from_config(json.loads(text))
    _call(revived, subject.input_data)
    wrong = [
        layer.path or layer.name for layer in [revived, *_sublayers(revived)] if layer.dtype_policy.name != policy
    ]
    if wrong:
        raise subject.fail(check, f"from_config(get_config()) loses the policy in {wrong}.")

    # accuracy: the same weights computed in float32
    tolerance = tolerances.get(compute)
    if tolerance is not None and compute != "float32":
        reference = subject.make(None)
        _call(reference, subject.input_data)
        if len(reference.weights) != len(instance.weights):
            raise subject.fail(check, "the float32 instance has a different number of weights.")
        reference.set_weights([_numpy(w).astype("float32") for w in instance.weights])
        expected_outputs = _call(reference, subject.input_data)
        for index, (low, high) in enumerate(zip(_flat(outputs), _flat(expected_outputs))):
            if not _is_float(low):
                continue
            low, high = _numpy(low), _numpy(high)
            scale = max(float(np.max(np.abs(high))), 1e-3)
            error = float(np.max(np.abs(low - high))) / scale
            if not error <= tolerance:
                raise subject.fail(
                    check, f"output {index} is off the float32 result (same weights) by {error:.3g} of its largest "
                    f"value, more than the {tolerance:g} allowed for {compute} (a phase or scale computed in 16 "
                    "bits?)."
                )

    if run_training:
        model = instance if subject.is_model else _wrap_layer(instance, subject.input_data)
        _check_training(subject, instance, model, outputs, train_data, compile_kwargs, seed, check_frozen=True,
                        check=f"{check}: fit step")


# ----------------------------------------------------------------------------------------------------------------
# public API
# ----------------------------------------------------------------------------------------------------------------
def _run(
    subject: _Subject,
    *,
    expected_output_shape=None,
    expected_num_trainable_weights=None,
    expected_num_non_trainable_weights=None,
    run_training_check=True,
    run_saving_check=True,
    run_precision_check=True,
    policies=POLICIES,
    tolerances=None,
    train_data=None,
    compile_kwargs=None,
    check_frozen_weights=True,
    seed=0,
):
    """Every check of the contract on ``subject`` (the arguments are those of :func:`run_layer_test`)."""
    # symbolic call on a fresh instance (it builds from the symbolic shapes)
    symbolic_instance = subject.make(None)
    symbolic_shapes = _check_symbolic(subject, symbolic_instance, expected_output_shape)
    _check_counts(subject, symbolic_instance, expected_num_trainable_weights, expected_num_non_trainable_weights)

    # eager call on another fresh instance
    instance = subject.make(None)
    outputs = _check_eager(subject, instance, symbolic_shapes, expected_output_shape)
    _check_counts(subject, instance, expected_num_trainable_weights, expected_num_non_trainable_weights)
    _check_serialization(subject, instance, outputs)

    model = instance if subject.is_model else _wrap_layer(instance, subject.input_data)
    if run_training_check:
        _check_training(subject, instance, model, outputs, train_data, compile_kwargs, seed, check_frozen_weights)
    if run_saving_check:
        _check_saving(subject, instance, model, _call(instance, subject.input_data))
    if run_precision_check:
        _run_policies(subject, policies, tolerances, False, train_data, compile_kwargs, seed)


def _run_policies(subject, policies, tolerances, run_training, train_data, compile_kwargs, seed):
    tolerances = {**DEFAULT_TOLERANCES, **(tolerances or {})}
    for policy in policies:
        _check_policy(subject, policy, tolerances, run_training, train_data, compile_kwargs, seed)


def run_layer_test(
    cls: type,
    init_kwargs: Mapping[str, Any] | Callable[[str | None], Mapping[str, Any]] | None = None,
    input_shape: Sequence[int] | None = None,
    *,
    input_data=None,
    expected_output_shape: Sequence[int] | None = None,
    expected_num_trainable_weights: int | None = None,
    expected_num_non_trainable_weights: int | None = None,
    run_training_check: bool = True,
    run_saving_check: bool = True,
    run_precision_check: bool = True,
    policies: Sequence[str] = POLICIES,
    tolerances: Mapping[str, float] | None = None,
    train_data=None,
    compile_kwargs: Mapping[str, Any] | None = None,
    check_frozen_weights: bool = True,
    seed: int = 0,
) -> None:
    """Check that a layer class keeps Keras' layer contract.

    In order: a symbolic call on ``keras.Input`` (batch size unknown) whose shapes equal ``compute_output_shape``
    (when the class implements it) and whose float outputs are in the compute dtype; an eager call with finite
    outputs of those shapes; ``get_config`` -> JSON -> ``from_config`` giving the same config and, with the same
    weights, the same outputs, and the registered-name round trip; one ``fit`` step of a functional model around the
    layer that changes every trainable weight and no non-trainable one; a ``.keras`` save/load (in a temporary
    directory) with the same class, config and outputs; and :func:`run_precision_test` for ``policies``.

    Args:
        cls: the layer class.
        init_kwargs: its constructor arguments: a dict, or a callable ``dtype -> dict`` for arguments that must be
            fresh per instance (``dtype`` is ``None`` or the policy name under test; the harness adds ``dtype=``).
        input_shape: a concrete input shape ``(batch, ..., features)``, e.g. ``(16, 2)``; the inputs are drawn from
            ``U(-1, 1)`` (float32).
        input_data: the inputs themselves instead of ``input_shape`` (an array, or a structure of arrays).
        expected_output_shape: the expected eager output shape, if you want it checked too.
        expected_num_trainable_weights: the expected number of trainable weights once built (``None``: not checked).
        expected_num_non_trainable_weights: the same for non-trainable weights.
        run_training_check: whether to run the ``fit`` step.
        run_saving_check: whether to run the ``.keras`` save/load.
        run_precision_check: whether to run :func:`run_precision_test`.
        policies: the dtype policies checked (default :data:`POLICIES`).
        tolerances: compute dtype -> largest relative error against float32 (overrides of
            :data:`DEFAULT_TOLERANCES`; ``None`` as a value skips the accuracy check for that dtype).
        train_data: ``(x, y)`` for the ``fit`` step (default: the inputs, and targets from ``U(-1, 1)`` shaped like
            the output), or anything ``fit`` accepts as ``x`` (a dataset).
        compile_kwargs: ``compile`` arguments of the ``fit`` step (default Adam 1e-2 and MSE).
        check_frozen_weights: whether the ``fit`` step must leave non-trainable weights unchanged (turn it off for
            layers with moving statistics).
        seed: seed of the generated inputs and targets.

    Raises:
        AssertionError: ``"[ClassName] check: what went wrong"`` for the first broken part of the contract.
    """
    _run(
        _subject(cls, init_kwargs, input_shape, input_data, seed, is_model=False),
        expected_output_shape=expected_output_shape,
        expected_num_trainable_weights=expected_num_trainable_weights,
        expected_num_non_trainable_weights=expected_num_non_trainable_weights,
        run_training_check=run_training_check, run_saving_check=run_saving_check,
        run_precision_check=run_precision_check, policies=policies, tolerances=tolerances, train_data=train_data,
        compile_kwargs=compile_kwargs, check_frozen_weights=check_frozen_weights, seed=seed,
    )


def run_model_test(
    cls: type,
    init_kwargs: Mapping[str, Any] | Callable[[str | None], Mapping[str, Any]] | None = None,
    input_shape: Sequence[int] | None = None,
    **kwargs,
) -> None:
    """Check that a ``keras.Model`` subclass keeps Keras' contract.

    The same checks and arguments as :func:`run_layer_test`, on the model itself: it is compiled (``compile_kwargs``)
    and fitted for one step, and saved with ``model.save``. The input can be anything the model takes: coordinates
    ``(points, in_dims)``, batched coordinates ``(batch, points, in_dims)``, images ``(batch, H, W, C)`` for a
    hypernetwork (give ``input_data`` for integer inputs such as datapoint indices). Models whose outputs are not one
    tensor need ``train_data`` and ``compile_kwargs`` that fit them.

    Raises:
        AssertionError: for the first broken part of the contract.
    """
    if not (isinstance(cls, type) and issubclass(cls, keras.Model)):
        raise TypeError(f"`cls` must be a keras.Model subclass, got {cls!r}; use run_layer_test for layers.")
    input_data = kwargs.pop("input_data", None)
    seed = kwargs.pop("seed", 0)
    _run(_subject(cls, init_kwargs, input_shape, input_data, seed, is_model=True), seed=seed, **kwargs)


def run_precision_test(
    cls: type,
    init_kwargs: Mapping[str, Any] | Callable[[str | None], Mapping[str, Any]] | None = None,
    input_shape: Sequence[int] | None = None,
    *,
    input_data=None,
    policies: Sequence[str] = POLICIES,
    tolerances: Mapping[str, float] | None = None,
    run_training_check: bool = False,
    train_data=None,
    compile_kwargs: Mapping[str, Any] | None = None,
    seed: int = 0,
) -> None:
    """Check that a layer or model class honours dtype policies, in itself and in every sublayer.

    For each policy, an instance constructed with ``dtype=policy``:

    * has that policy, and so has every sublayer (found recursively by Keras' own layer walk);
    * keeps every float weight in the policy's variable dtype (float32 for the ``mixed_*`` policies);
    * returns float outputs in the compute dtype, symbolically and eagerly, with finite values;
    * keeps the policy through ``get_config`` -> JSON -> ``from_config`` (instance and sublayers);
    * computes within ``tolerances[compute_dtype]`` of a float32 instance holding the same weights (relative to the
      largest absolute float32 output): a 16-bit phase or scale shows up here;
    * optionally (``run_training_check``) trains for one step with the policy: for ``mixed_float16`` that is where
      loss scaling is needed (``keras.Model.compile`` wraps the optimizer in a ``LossScaleOptimizer`` by itself).
      Under ``"bfloat16"`` (bfloat16 *variables*) Keras' Adam never moves a weight -- its ``beta_2 = 0.999`` rounds
      to 1 in bfloat16, which zeroes its bias-corrected step -- so the default optimizer fails that check by design;
      pass ``compile_kwargs={"optimizer": keras.optimizers.Lion(1e-2), "loss": "mse"}`` (or SGD) there.

    Args:
        cls, init_kwargs, input_shape, input_data, train_data, compile_kwargs, seed: as in :func:`run_layer_test`.
        policies: the policy names to check.
        tolerances: compute dtype -> allowed relative error (overrides of :data:`DEFAULT_TOLERANCES`; ``None``
            skips the accuracy check).
        run_training_check: whether to run one ``fit`` step under each policy.

    Raises:
        AssertionError: for the first policy violation.
    """
    is_model = isinstance(cls, type) and issubclass(cls, keras.Model)
    subject = _subject(cls, init_kwargs, input_shape, input_data, seed, is_model=is_model)
    _run_policies(subject, policies, tolerances, run_training_check, train_data, compile_kwargs, seed)


def run_family_test(
    name: str,
    *,
    out_dims: int = 1,
    in_dims: int = 2,
    num_points: int = 16,
    width: int = 8,
    depth: int = 2,
    policies: Sequence[str] = POLICIES,
    tolerances: Mapping[str, float] | None = None,
    run_training_check: bool = True,
    run_saving_check: bool = True,
    seed: int = 0,
    **hyperparameters,
) -> None:
    """Run every check on a family registered in :mod:`keras_inr.families`.

    Checks the family's hidden-layer class as a first layer (on coordinates) and as a later layer, its encoding (if
    any), and the model that ``keras_inr.build_model(name, out_dims, width=width, depth=depth, **hyperparameters)``
    returns, on ``num_points`` coordinates of dimension ``in_dims``, under every policy of ``policies``.

    Args:
        name: the family's registered name (or alias).
        out_dims: output channels of the model.
        in_dims: coordinate dimension.
        num_points: number of random coordinates in ``U(-1, 1)``.
        width: hidden units (keep it small: the checks are about the contract, not quality).
        depth: hidden layers.
        policies, tolerances, run_training_check, run_saving_check, seed: as in :func:`run_layer_test`.
        **hyperparameters: the family's hyperparameters (``w0=...``); missing ones take the registry's defaults.

    Raises:
        AssertionError: for the first broken part of the contract, naming the class and the check.
        ValueError: for an unknown family or hyperparameter.
    """
    from keras_inr import families
    from keras_inr.models import build_model

    family = families.get(name)
    config = family.check_hyperparameters(hyperparameters, "hyperparameters")
    common = dict(
        run_training_check=run_training_check, run_saving_check=run_saving_check, policies=policies,
        tolerances=tolerances, seed=seed,
    )
    for index, fan_in in ((0, in_dims), (1, width)):
        layer_kwargs = {"units": width, "is_first": index == 0, **family.layer_kwargs(config, index)}
        run_layer_test(family.layer, layer_kwargs, (num_points, fan_in), **common)
    if family.encoding is not None:
        encoding_kwargs = family.encoding_kwargs(config)
        if family.seeded:
            encoding_kwargs.setdefault("seed", seed)
        run_layer_test(family.encoding, encoding_kwargs, (num_points, in_dims), **common)

    def make(dtype=None):
        return build_model(name, out_dims, width=width, depth=depth, dtype=dtype, **hyperparameters)

    probe = make(None)
    subject = _Subject(
        f"{type(probe).__name__} (family {family.name!r})", type(probe), make,
        _input_data((num_points, in_dims), None, seed), is_model=True,
    )
    _run(subject, **common)
