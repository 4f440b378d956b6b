"""HyperINR: a network that maps a datapoint to the weights of an INR representing it."""

from __future__ import annotations

import inspect
import math

import keras
import numpy as np
from keras import ops

from hypernets.functional import check_coordinates, evaluate_inrs, layer_specs, prepare_target
from hypernets.heads import WeightHead, get_head
from hypernets.steps import check_data_shapes, check_data_values
from hypernets.trainers import trainer_for_backend
from keras_inr import rendering
from keras_inr.callbacks import DivergenceGuard
from keras_inr.metrics import PSNR
from keras_inr.saving import register
from keras_inr.validation import check_bool, check_positive_float, check_positive_int, check_seed, check_shape

#: The backend's train_step/test_step mixin, chosen once, when this module is imported.
HyperTrainer = trainer_for_backend()


def _is_single_shape(shape) -> bool:
    return isinstance(shape, (list, tuple)) and all(d is None or isinstance(d, (int, np.integer)) for d in shape)


@register
class FunctionLoss(keras.losses.Loss):
    """A ``keras.losses.Loss`` around a loss function ``fn(y_true, y_pred) -> (batch, points)`` (e.g. ``"mae"``), so
    that sample weights and reduction work as for Loss classes, and the loss is saved with the model.

    Args:
        fn: a Keras loss function, its name, or its serialized form.
        **kwargs: ``keras.losses.Loss`` arguments (``name``, ``reduction``).
    """

    def __init__(self, fn, **kwargs):
        fn = keras.losses.get(fn) if isinstance(fn, (str, dict)) else fn
        kwargs.setdefault("name", getattr(fn, "__name__", "loss"))
        super().__init__(**kwargs)
        self.fn = fn

    def call(self, y_true, y_pred):
        return self.fn(y_true, y_pred)

    def get_config(self) -> dict:
        return {**super().get_config(), "fn": keras.losses.serialize(self.fn)}


def _as_loss(loss) -> keras.losses.Loss:
    """A ``keras.losses.Loss`` object from a name, a function or a Loss (so ``sample_weight`` works uniformly)."""
    if loss is None:
        raise ValueError("`loss` must be a Keras loss name, function or Loss, got None.")
    resolved = keras.losses.get(loss)
    if isinstance(resolved, keras.losses.Loss):
        return resolved
    if callable(resolved):
        return FunctionLoss(resolved)
    raise ValueError(f"`loss` must be a Keras loss name, function or Loss, got {loss!r}.")


@register
class HyperINR(HyperTrainer, keras.Model):
    """A hypernetwork producing, for every datapoint, the weights of an INR that represents it.

    ``encoder`` maps each datapoint to a feature vector, ``head`` maps the features to the weights of an INR with the
    architecture of ``target``, and the INRs of a whole batch are evaluated at once on coordinates (batched matmuls,
    see :mod:`hypernets.functional`). Train it with ``compile`` + ``fit`` on any backend; the per-backend train steps
    live in :mod:`hypernets.trainers` and share the loss of :mod:`hypernets.steps`.

    Args:
        encoder: any Keras layer or model mapping a batch of datapoints to features ``(batch, feature_dim)``: a CNN
            or MLP on images, or ``keras.layers.Embedding(num_datapoints, latent_dim)`` over datapoint indices for
            auto-decoding (DeepSDF, https://arxiv.org/abs/1901.05103; functa, https://arxiv.org/abs/2201.12204):
            each training datapoint then has its own learnable latent code.
        target: a keras-inr model fixing the INR architecture, e.g. ``keras_inr.SIREN(out_dims=1, width=32,
            depth=2)``; any family (SIREN, Gaussian, Fourier features, ``CoordinateMLP``, ``CombinedINR``). It is
            built here (for ``in_dims``-D coordinates) if it is not yet, and the head starts from its weights as they
            are now (for a fresh target: a draw of the family's initialisation). The generated INRs are evaluated
            with its layers' maths; its dense layers are then frozen (the head owns every weight the INRs use,
            including the shared base network of the ``"lowrank"`` and ``"shift"`` heads), while an encoding keeps
            its own ``trainable`` setting.
        head: ``"full"``, ``"lowrank"`` or ``"shift"`` (see :mod:`hypernets.heads`); a list with one head name per
            weight layer of the target, e.g. ``["full", "lowrank", "full"]`` (a :class:`hypernets.PerLayerHead`;
            names ``"full"``, ``"lowrank"``, ``"shift"``, ``"shared"``); a :class:`WeightHead` made from a target of
            the same architecture (e.g. ``hypernets.LowRankHead(target, rank=8)``); or a serialized head.
        head_config: keyword arguments of the head, e.g. ``{"rank": 8}`` for ``"lowrank"``, ``{"init_scale": 0.1}``;
            for a head list, ``{"head_configs": {"lowrank": {"rank": 8}}}`` (see :class:`hypernets.PerLayerHead`).
        points_per_step: when fitting on signals given on a grid (``fit(x=datapoints, y=signals)``), the number of
            random grid points each INR is evaluated on per training step (``None``: every point). Ignored when the
            data supplies coordinates (e.g. :class:`hypernets.ImageFieldDataset`).
        in_dims: coordinate dimension of the INRs (2 for images); defaults to the target's if it is built, else 2.
        max_val: dynamic range of the signals, for the PSNR metric.
        seed: optional integer seed of the training-time point sampling, in ``[0, 2**32 - 1]``. The sampler's state
            (seed and draw counter) is saved with the model, so a run resumed from a saved model draws the points the
            uninterrupted run would have drawn.
        sub_steps: optimiser steps taken on each batch inside the train step (the ancestor's
            ``sub_steps_per_datapoint``), each on a fresh draw of ``points_per_step`` points; positive, 1 by default.
            The logs report the last sub-step's loss; the optimiser's step counter (and a learning-rate schedule)
            advances ``sub_steps`` times per batch.
        **kwargs: standard ``keras.Model`` arguments (``name``, ``dtype``); a head given by name follows the model's
            dtype policy (give the encoder and target the same policy).

    Raises:
        ValueError: naming ``encoder``, ``target``, ``head``, ``head_config``, ``in_dims``, ``points_per_step``,
            ``max_val`` or ``sub_steps`` when they are invalid or inconsistent; naming ``encoder`` at build time when
            it does not map datapoints to vectors ``(batch, features)``.

    Data for ``fit``/``evaluate``: see :mod:`hypernets.steps`; bad shapes raise a ``ValueError`` naming the
    argument.

    Call:
        ``model(datapoints)`` returns the per-sample INR parameters: one ``(kernel, bias)`` pair per weight layer of
        the target, kernels ``(batch, in, out)`` (or the shared ``(in, out)`` for layers a head leaves unmodulated),
        biases ``(batch, out)`` or ``(out,)``. ``model(datapoints, coordinates=c)`` (or ``model((datapoints, c))``)
        evaluates them at ``c`` ``(batch, points, in_dims)`` -- or ``(1, points, in_dims)`` shared by the batch -- and
        returns ``(batch, points, out_dims)``.

    Example:
        >>> images = skimage.data.lfw_subset()[:, :, :, None]  # (200, 25, 25, 1) in [0, 1]  # doctest: +SKIP
        >>> encoder = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(64, activation="relu"),
        ...                             keras.layers.Dense(64)])
        >>> model = HyperINR(encoder, keras_inr.SIREN(out_dims=1, width=32, depth=2), head="shift")
        >>> model.compile(optimizer=keras.optimizers.Adam(1e-3))
        >>> model.fit(images, images, batch_size=16, epochs=10)  # doctest: +SKIP
        >>> model.render(images[:4], (25, 25)).shape  # doctest: +SKIP
        (4, 25, 25, 1)
    """

    def __init__(
        self,
        encoder,
        target,
        head="full",
        head_config: dict | None = None,
        points_per_step: int | None = 1024,
        in_dims: int | None = None,
        max_val: float = 1.0,
        seed: int | None = None,
        sub_steps: int = 1,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if isinstance(encoder, dict):
            encoder = keras.saving.deserialize_keras_object(encoder)
        if not isinstance(encoder, keras.layers.Layer):
            raise ValueError(f"`encoder` must be a Keras layer or model, got {encoder!r}.")
        # built now, eagerly: the head starts from its concrete weights
        target, self.in_dims = prepare_target(target, in_dims)
        # The head owns every weight the generated INRs use; the target lends its layer maths (and its encoding,
        # which keeps its own `trainable` setting).
        for layer in target.weight_layers:
            layer.trainable = False
        self.encoder = encoder
        self.target = target
        head_kwargs = {}
        if isinstance(head, str):
            head_kwargs = {"name": f"{head}_head", "dtype": self.dtype_policy}
        elif isinstance(head, (list, tuple)):
            head_kwargs = {"name": "per_layer_head", "dtype": self.dtype_policy}
        self.head = get_head(head, target, head_config, **head_kwargs)
        self.points_per_step = None if points_per_step is None else check_positive_int("points_per_step",
                                                                                     points_per_step)
        self.out_dims = target.out_dims
        self.max_val = check_positive_float("max_val", max_val)
        self.seed = check_seed("seed", seed)
        self.sub_steps = check_positive_int("sub_steps", sub_steps)
        self.point_sampler = keras.random.SeedGenerator(self.seed, name="point_sampler")
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.psnr_metric = PSNR(max_val=self.max_val, name="psnr")
        self.field_loss = keras.losses.MeanSquaredError()
        self.datapoint_shape = None

    # --- building ---------------------------------------------------------------------------------------------
    def build(self, input_shape):
        """Build the encoder and the head for datapoints of shape ``input_shape`` (``(batch, ...)``); the target was
        built by the constructor.

        ``input_shape`` may also be the pair of shapes of ``(datapoints, coordinates)``.
        """
        if not _is_single_shape(input_shape):
            input_shape = input_shape[0]
        datapoint_shape = tuple(None if d is None else int(d) for d in input_shape)
        if not self.encoder.built:
            self.encoder.build(datapoint_shape)
        feature_shape = self._encoder_output_shape(datapoint_shape)
        if len(feature_shape) != 2 or feature_shape[-1] is None:
            raise ValueError(
                "`encoder` must map a batch of datapoints to feature vectors (batch, features); for datapoints of "
                f"shape {datapoint_shape} it gives shape {tuple(feature_shape)} (add e.g. a Flatten or a pooling "
                "layer)."
            )
        if not self.head.built:
            self.head.build(tuple(feature_shape))
        self.datapoint_shape = datapoint_shape
        self.built = True

    def _encoder_output_shape(self, datapoint_shape):
        try:
            return tuple(self.encoder.compute_output_shape(datapoint_shape))
        except Exception:  # layers without compute_output_shape: trace symbolically
            spec = self.encoder.compute_output_spec(keras.KerasTensor(datapoint_shape))
            return tuple(spec.shape)

    def get_build_config(self) -> dict:
        return {"datapoint_shape": list(self.datapoint_shape) if self.datapoint_shape is not None else None}

    def build_from_config(self, config: dict) -> None:
        if config.get("datapoint_shape") is not None:
            self.build(tuple(config["datapoint_shape"]))

    # --- forward ----------------------------------------------------------------------------------------------
    def call(self, inputs, coordinates=None, training=None):
        if coordinates is None and isinstance(inputs, (list, tuple)):
            if len(inputs) != 2:
                raise ValueError(
                    "A HyperINR takes datapoints, or a pair (datapoints, coordinates); got a sequence of "
                    f"{len(inputs)} inputs."
                )
            inputs, coordinates = inputs
        features = self.encoder(inputs, training=training)
        weights = self.head(features)
        if coordinates is None:
            return weights
        check_coordinates(coordinates, self.in_dims, batch_size=features.shape[0])
        return evaluate_inrs(self.target, coordinates, weights)

    def inr_parameters(self, datapoints):
        """Per-sample INR parameters for ``datapoints`` (same as ``model(datapoints)``; see the class docstring)."""
        return self(datapoints, training=False)

    def render(self, datapoints, shape, batch_size: int = 32,
               points_per_chunk: int = rendering.DEFAULT_RENDER_BATCH_SIZE) -> np.ndarray:
        """Evaluate each datapoint's INR on the full grid of ``shape``, in bounded memory.

        The grid is never materialised: :func:`keras_inr.rendering.render` generates it one chunk of
        ``points_per_chunk`` coordinates at a time, and the INRs of ``batch_size`` datapoints are evaluated on each
        chunk at once.

        Args:
            datapoints: ``(num, ...)`` datapoints (as the encoder takes them), ``num >= 1``.
            shape: the grid shape, e.g. ``(H, W)`` for images; ``len(shape)`` must be ``in_dims``.
            batch_size: datapoints whose weights are generated at once; positive.
            points_per_chunk: coordinates evaluated at once per datapoint; positive. Memory is about
                ``batch_size * points_per_chunk * width`` floats, plus the output.

        Returns:
            numpy ``(num, *shape, out_dims)`` float32: the values at ``keras_inr.data.coordinate_grid(shape)``.

        Raises:
            ValueError: naming ``shape``, ``batch_size``, ``points_per_chunk`` or ``datapoints`` when invalid.
        """
        shape = check_shape(shape)
        if len(shape) != self.in_dims:
            raise ValueError(
                f"`shape` must have {self.in_dims} axes (the INR's coordinate dimension), got {shape}."
            )
        batch_size = check_positive_int("batch_size", batch_size)
        points_per_chunk = check_positive_int("points_per_chunk", points_per_chunk)
        num = int(datapoints.shape[0]) if hasattr(datapoints, "shape") else len(datapoints)
        if num == 0:
            raise ValueError("`datapoints` is empty; nothing to render.")
        outputs = np.empty((num, *shape, self.out_dims), dtype=np.float32)
        for start in range(0, num, batch_size):
            field = _SideBySide(self.target, self(datapoints[start : start + batch_size], training=False))
            values = rendering.render(field, shape, batch_size=points_per_chunk)  # (*shape, count * out_dims)
            values = values.reshape(*shape, -1, self.out_dims)
            outputs[start : start + values.shape[-2]] = np.moveaxis(values, -2, 0)
        return outputs

    # --- training configuration -------------------------------------------------------------------------------
    def fit(self, x=None, y=None, *args, divergence_guard: bool = True, **kwargs):
        """``keras.Model.fit`` with checks before Keras starts, and a guard against diverged training.

        Arrays given as ``x``/``y`` or ``validation_data`` are checked once, before Keras starts: their shapes, and
        their values, which must be real and finite (NaN or infinity would train to NaN); a ``ValueError`` names
        the array. The shape checks also run inside every step, but an error raised while JAX traces the first step
        leaves the model unusable (Keras has already detached its variables), and TensorFlow's traced shapes give
        vaguer messages. Datasets check their arrays when they are made (:class:`hypernets.FieldDataset`).

        When a distribution is active (:func:`keras_inr.distribution.current`: a ``keras.distribution`` on JAX),
        every batch must split into equal parts over its devices (:func:`keras_inr.distribution.check_batch_size`),
        checked before Keras starts: array data is checked for ``batch_size`` (Keras'
        default 32), the last, smaller batch of an epoch (the datapoints left over), and likewise for
        ``validation_data`` / ``validation_split`` with ``validation_batch_size``; a :class:`hypernets.FieldDataset`
        for its ``batch_size`` (and its last batch unless ``drop_remainder``); a ``tf.data.Dataset`` for a batch
        size fixed in its element spec. Other datasets are not checked (JAX then raises its own error).

        Args:
            x, y, *args, **kwargs: the arguments of ``keras.Model.fit`` (the data forms: :mod:`hypernets.steps`).
            divergence_guard: add a :class:`keras_inr.callbacks.DivergenceGuard` (with its defaults) before the
                other callbacks: when the loss becomes NaN or infinite or exceeds 1000 times the first step's
                (:data:`keras_inr.callbacks.DIVERGENCE_FACTOR`), training stops, the model gets back the weights
                and optimizer state of the last epoch that ended good (or those training started from), and
                :class:`keras_inr.callbacks.DivergenceError` is raised, saying in which epoch. ``True`` by default;
                no guard is added when ``callbacks`` already holds a ``DivergenceGuard`` (pass your own for another
                ``factor``, or ``raise_error=False`` to only stop), or when ``callbacks`` is a
                ``keras.callbacks.CallbackList``. Costs a copy of the weights and optimizer variables to host
                memory at every epoch end.

        Returns:
            The ``keras.callbacks.History``.

        Raises:
            ValueError: naming the array, ``batch_size``, ``validation_batch_size`` or the dataset, for bad data or
                batches that do not divide over the devices; naming ``divergence_guard`` unless it is a bool.
            keras_inr.callbacks.DivergenceError: training diverged (with the default guard).
        """
        kwargs = _fit_arguments(args, kwargs)
        divergence_guard = check_bool("divergence_guard", divergence_guard)
        self._check_no_tensorflow_replicas()
        self._check_arrays(x, y)
        validation_data = kwargs.get("validation_data")
        if isinstance(validation_data, (list, tuple)) and len(validation_data) in (2, 3):
            self._check_arrays(validation_data[0], validation_data[1], "validation_data")
        _check_batches_divide(x, kwargs)
        callbacks = kwargs.get("callbacks")
        if divergence_guard and not isinstance(callbacks, keras.callbacks.CallbackList):
            callbacks = list(callbacks or [])
            if not any(isinstance(callback, DivergenceGuard) for callback in callbacks):
                # first: it restores the last good weights before callbacks that save at epoch ends see them
                kwargs["callbacks"] = [DivergenceGuard(), *callbacks]
        return super().fit(x, y, **kwargs)

    def evaluate(self, x=None, y=None, *args, **kwargs):
        """``keras.Model.evaluate``; array data is checked first (see :meth:`fit`)."""
        self._check_no_tensorflow_replicas()
        self._check_arrays(x, y)
        return super().evaluate(x, y, *args, **kwargs)

    def _check_no_tensorflow_replicas(self) -> None:
        """Refuse a model created under a ``tf.distribute`` strategy of several replicas, before Keras starts.

        With Keras 3.15 the TensorFlow step of a HyperINR made under a ``MirroredStrategy`` fails in the optimizer's
        gradient all-reduce (the replicas' packed gradients differ in shape), after tracing; the JAX backend's
        ``keras.distribution`` trains it (:mod:`keras_inr.distribution`).
        """
        if keras.backend.backend() != "tensorflow":
            return
        strategy = getattr(self, "distribute_strategy", None)
        if strategy is not None and strategy.num_replicas_in_sync > 1:
            raise ValueError(
                f"HyperINR does not train under a tf.distribute strategy of {strategy.num_replicas_in_sync} "
                "replicas yet (its TensorFlow step fails in the gradient all-reduce); create the model outside "
                "the strategy's scope, or train on several devices with the JAX backend "
                "(keras_inr.distribution.data_parallel())."
            )

    def _check_arrays(self, x, y, argument: str | None = None) -> None:
        """Shapes and values of array data, before Keras starts (datasets are left to their own checks)."""
        if hasattr(y, "shape") or (y is None and (hasattr(x, "shape") or isinstance(x, (list, tuple)))):
            check_data_shapes(self, x, y)
        check_data_values(x, y, argument)

    def compile(self, optimizer="adam", loss="mse", **kwargs):
        """Configure training: ``optimizer``, the reconstruction ``loss`` between values and INR predictions (any
        Keras loss name, function or ``Loss``; MSE by default) and ``keras.Model.compile`` options (``jit_compile``,
        ``steps_per_execution``, ...). Metrics are fixed: ``loss`` and ``psnr``."""
        for key in ("metrics", "weighted_metrics", "loss_weights"):
            if kwargs.get(key) is not None:
                raise ValueError(f"HyperINR.compile does not take `{key}`; its logs report `loss` and `psnr`.")
            kwargs.pop(key, None)
        self.field_loss = _as_loss(loss)
        super().compile(optimizer=optimizer, **kwargs)

    def get_compile_config(self) -> dict:
        config = super().get_compile_config()
        if config:
            config["loss"] = keras.losses.serialize(self.field_loss)
        return config

    def compile_from_config(self, config: dict) -> None:
        config = keras.saving.deserialize_keras_object(config)
        for key in ("metrics", "weighted_metrics", "loss_weights"):
            config.pop(key, None)
        self.compile(**config)
        if self.built:
            self.optimizer.build(self.trainable_variables)

    @property
    def metrics(self) -> list:
        return [self.loss_tracker, self.psnr_metric]

    # --- serialization ----------------------------------------------------------------------------------------
    #: key of the point sampler's state in the saved variables
    _SAMPLER_KEY = "point_sampler_state"

    def save_own_variables(self, store) -> None:
        """Save the model's own variables and the point sampler's state (its seed and draw counter).

        Keras saves the variables of layers but not the state of a ``SeedGenerator``; without it a model loaded from
        a file (a resumed run) would replay the first point draws of ``points_per_step`` subsampling, or draw from
        a new random seed when ``seed=None``.
        """
        super().save_own_variables(store)
        store[self._SAMPLER_KEY] = self.point_sampler.state

    def load_own_variables(self, store) -> None:
        """Load what :meth:`save_own_variables` saved (files without the sampler's state keep a fresh sampler)."""
        keys = set(store.keys())
        own = self._trainable_variables + self._non_trainable_variables
        if len(keys - {self._SAMPLER_KEY}) != len(own):
            raise ValueError(
                f"{self.name}: the saved file holds {len(keys - {self._SAMPLER_KEY})} own variables of the HyperINR, "
                f"the model has {len(own)}; it was saved from a different model."
            )
        for index, variable in enumerate(own):
            variable.assign(store[str(index)])
        if self._SAMPLER_KEY in keys:
            self.point_sampler.state.assign(store[self._SAMPLER_KEY])

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            encoder=keras.saving.serialize_keras_object(self.encoder),
            target=keras.saving.serialize_keras_object(self.target),
            head=_head_config(self.head),
            points_per_step=self.points_per_step,
            in_dims=self.in_dims,
            max_val=self.max_val,
            seed=self.seed,
            sub_steps=self.sub_steps,
        )
        return config


#: ``keras.Model.fit``'s parameters after ``x`` and ``y``, in order (to name positional arguments).
_FIT_PARAMETERS = tuple(inspect.signature(keras.Model.fit).parameters)[3:]


def _fit_arguments(args: tuple, kwargs: dict) -> dict:
    """``fit``'s positional arguments after ``x`` and ``y`` turned into keywords, merged with ``kwargs``."""
    if len(args) > len(_FIT_PARAMETERS):
        raise TypeError(f"fit() takes at most {len(_FIT_PARAMETERS) + 2} positional arguments after self.")
    named = dict(zip(_FIT_PARAMETERS, args))
    repeated = sorted(set(named) & set(kwargs))
    if repeated:
        raise TypeError(f"fit() got multiple values for argument(s) {repeated}.")
    return {**named, **kwargs}


def _leading_size(data) -> int | None:
    """The number of samples in array data (the first axis of its first array), or ``None``."""
    leaves = [leaf for leaf in keras.tree.flatten(data) if hasattr(leaf, "shape") and len(leaf.shape)]
    return None if not leaves or leaves[0].shape[0] is None else int(leaves[0].shape[0])


def _check_split(count: int, what: str, samples: int | None, batch_size: int | None, drop_remainder: bool,
                 argument: str) -> None:
    """Check that the batches of ``samples`` datapoints (``None``: unknown) of ``what``, taken ``batch_size`` at a
    time (``argument`` names it), divide over ``count`` devices."""
    from keras_inr.distribution import check_batch_size

    if batch_size is None:
        return
    if samples is None or drop_remainder or samples >= batch_size:
        try:
            check_batch_size(batch_size, what=f"the batches of {what}")
        except ValueError as error:
            raise ValueError(str(error).replace("`batch_size`", f"`{argument}`", 1)) from None
    if samples is None or drop_remainder or samples % count == 0:
        return
    # batches that are multiples of `count` leave samples % count over: only the number of datapoints can change that
    last = samples if samples < batch_size else samples % batch_size
    fix = " (or drop_remainder=True)" if argument.endswith(".batch_size") else ""
    raise ValueError(
        f"{what} holds {samples} datapoints, not a multiple of the {count} devices of the data-parallel distribution: "
        f"with `{argument}`={batch_size}, the last batch of each epoch holds {last}, which does not divide over them "
        f"(each step splits its batch into {count} equal parts). Use a multiple of {count} datapoints, e.g. "
        f"{samples - samples % count}{fix}."
    )


def _check_batches_divide(x, kwargs: dict) -> None:
    """:meth:`HyperINR.fit`'s check that its batches divide over the devices of the active ``keras.distribution``."""
    from keras_inr.distribution import replicas

    count = replicas()
    if count == 1:
        return
    batch_size = kwargs.get("batch_size")
    validation_batch_size = kwargs.get("validation_batch_size") or batch_size
    validation_data = kwargs.get("validation_data")
    split = kwargs.get("validation_split") or 0.0
    validation_argument = "validation_batch_size" if kwargs.get("validation_batch_size") else "batch_size"
    checks = []  # (what, data, samples, batch size, drop_remainder, argument)
    for what, data, size, argument in (("`x`", x, batch_size, "batch_size"),
                                       ("`validation_data`", validation_data, validation_batch_size,
                                        validation_argument)):
        if data is None:
            continue
        if isinstance(data, (list, tuple)) and what == "`validation_data`":
            data = data[0]
        if hasattr(data, "batch_size") and hasattr(data, "drop_remainder") and hasattr(data, "signals"):
            checks.append((f"the dataset {what}", None, len(data.signals), data.batch_size,
                           bool(data.drop_remainder), f"{what.strip('`')}.batch_size"))
        elif hasattr(data, "element_spec"):  # a tf.data.Dataset: a batch size fixed in its element spec
            leaves = [leaf for leaf in keras.tree.flatten(data.element_spec) if getattr(leaf, "shape", None)]
            fixed = leaves[0].shape[0] if leaves and len(leaves[0].shape) else None
            if fixed is not None:
                checks.append((f"the dataset {what}", None, None, int(fixed), True, "batch_size"))
        elif not isinstance(data, keras.utils.PyDataset) and not callable(getattr(data, "__next__", None)):
            samples = _leading_size(data)
            if samples is not None:
                if what == "`x`" and split:
                    checks.append((what, data, int(math.floor(samples * (1.0 - split))), size or 32, False,
                                   argument))
                    checks.append(("the `validation_split` of `x`", data,
                                   samples - int(math.floor(samples * (1.0 - split))), validation_batch_size or 32,
                                   False, validation_argument))
                else:
                    checks.append((what, data, samples, size or 32, False, argument))
    for what, _, samples, size, drop_remainder, argument in checks:
        _check_split(count, what, samples, size, drop_remainder, argument)


def _head_config(head: WeightHead) -> dict:
    """The serialized head without its copy of the target's config (HyperINR's own ``target`` entry holds it)."""
    config = keras.saving.serialize_keras_object(head)
    config["config"] = {key: value for key, value in config["config"].items() if key not in ("target", "in_dims")}
    return config


class _SideBySide:
    """The INRs of one batch of datapoints as one field for :func:`keras_inr.rendering.render`.

    Maps coordinates ``(N, in_dims)`` to ``(N, batch * out_dims)``: sample ``i``'s values in columns
    ``i * out_dims : (i + 1) * out_dims``.

    Args:
        target: the HyperINR's (built) target INR.
        weights: the batch's per-sample weights list (``HyperINR.__call__`` without coordinates).
    """

    def __init__(self, target, weights):
        self.target = target
        self.weights = weights
        self.in_dims = target.in_dims

    def __call__(self, coordinates):
        values = evaluate_inrs(self.target, ops.expand_dims(coordinates, 0), self.weights)  # (batch, N, out_dims)
        values = ops.transpose(ops.cast(values, "float32"), (1, 0, 2))
        return ops.reshape(values, (ops.shape(values)[0], -1))


class SnapshotRenderer:
    """Render a few datapoints' INRs as one tiled image: the ``render_fn`` of
    :class:`keras_inr.callbacks.RenderSnapshots` for a :class:`HyperINR` (2-D targets: images).

    ``renderer(model, shape, batch_size)`` renders each datapoint with ``model.render(datapoints, shape)`` and tiles
    the ``(num, H, W, C)`` results into a grid of ``columns`` images per row (one row by default), ``(rows * H,
    columns * W, C)``; empty cells are 0.

    Args:
        datapoints: ``(num, ...)`` datapoints, as the encoder takes them (e.g. a few held-out images); ``num >= 1``.
        columns: images per row; positive (default: all of them in one row).

    Example:
        >>> from keras_inr.callbacks import RenderSnapshots
        >>> snapshots = RenderSnapshots((25, 25), "snapshots", every_n_epochs=10,
        ...                             render_fn=hypernets.SnapshotRenderer(held_out[:6]))  # doctest: +SKIP
        >>> model.fit(train, train, epochs=100, callbacks=[snapshots])  # doctest: +SKIP
    """

    def __init__(self, datapoints, columns: int | None = None):
        num = int(datapoints.shape[0]) if hasattr(datapoints, "shape") else len(datapoints)
        if num == 0:
            raise ValueError("`datapoints` is empty; give the SnapshotRenderer at least one datapoint to render.")
        self.datapoints = datapoints
        self.columns = num if columns is None else check_positive_int("columns", columns)
        self.num = num

    def __call__(self, model, shape, batch_size: int = rendering.DEFAULT_RENDER_BATCH_SIZE) -> np.ndarray:
        if not isinstance(model, HyperINR):
            raise ValueError(f"SnapshotRenderer renders a HyperINR's datapoints, got the model {model!r}.")
        images = model.render(self.datapoints, shape, points_per_chunk=batch_size)  # (num, H, W, C)
        rows = -(-self.num // self.columns)
        height, width, channels = images.shape[1:]
        grid = np.zeros((rows * height, self.columns * width, channels), dtype=images.dtype)
        for index, image in enumerate(images):
            row, column = divmod(index, self.columns)
            grid[row * height : (row + 1) * height, column * width : (column + 1) * width] = image
        return grid


def parameter_count(model: HyperINR) -> dict:
    """Sizes of a built HyperINR: ``{"hypernetwork": trainable weights, "inr": parameters of one generated INR}``.

    Raises:
        ValueError: naming ``model`` unless it is a built :class:`HyperINR`.
    """
    if not isinstance(model, HyperINR) or not model.built:
        raise ValueError(
            f"`model` must be a built HyperINR (call it on datapoints or fit it first), got {model!r}."
        )
    inr = sum(spec.parameter_count for spec in layer_specs(model.target))
    trainable = sum(math.prod(v.shape) for v in model.trainable_variables)
    return {"hypernetwork": int(trainable), "inr": int(inr)}


__all__ = ["HyperINR", "SnapshotRenderer", "WeightHead", "parameter_count"]
