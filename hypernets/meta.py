"""Meta-learned modulations (functa) and auto-decoded latents: one shared INR, a small code per signal.

Two ways to give every signal its own INR without an encoder network:

* :class:`MetaModulatedINR` -- functa (Dupont, Kim, Eslami, Rezende & Rosenbaum 2022, "From data to functa",
  https://arxiv.org/abs/2201.12204, section 3): a shared base network (any keras-inr target, e.g. a SIREN) with
  per-signal *modulations* -- shifts of the hidden layers' biases, or a latent vector mapped linearly to them
  ("latent modulations") -- that start at zero and are fitted to each signal by ``inner_steps`` plain gradient steps
  *inside the training step*. The outer loss, measured after those inner steps, trains the shared weights (and the
  per-parameter inner learning rates of Meta-SGD, Li et al. 2017, https://arxiv.org/abs/1707.09835) *through* the
  inner steps: a second-order gradient (MAML, Finn et al. 2017, https://arxiv.org/abs/1703.03400). With
  ``modulate="all"`` every weight of the INR is modulated, which is the learned initialisation of Tancik et al. 2021
  ("Learned initializations for optimizing coordinate-based neural representations", https://arxiv.org/abs/2012.02189,
  section 3): the shared weights are the meta-learned start and the inner loop fits all of them per signal.
* :class:`AutoDecodingINR` -- auto-decoding (DeepSDF, Park et al. 2019, https://arxiv.org/abs/1901.05103,
  section 4): a ``keras.layers.Embedding`` latent per training signal, trained jointly with the shared network by an
  ordinary ``fit``; the latent of a new signal is fitted afterwards with the network frozen.

Both evaluate a batch of INRs at once through :mod:`hypernets.functional` (the target's own layer maths), so any
keras-inr family works as the target. The backend-specific parts -- the gradient of the inner loss with respect to the
modulations and the outer train step -- live in :mod:`hypernets.meta_trainers` (JAX: ``jax.grad`` inside the
stateless train step, so the outer ``jax.value_and_grad`` differentiates a gradient; TensorFlow: a ``GradientTape``
nested in the outer one; PyTorch: ``torch.autograd.grad(create_graph=True)``).

Data for ``fit``/``evaluate``/``fit_modulations``: signals on a grid, ``(batch, *grid_shape, channels)`` (e.g.
``fit(images)``; every grid point is used, at :func:`keras_inr.data.coordinate_grid` coordinates), or coordinates
and values, ``x=(batch or 1, points, in_dims)``, ``y=(batch, points, channels)``.
"""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import ops

from hypernets.functional import check_coordinates, evaluate_inrs, layer_specs, prepare_target
from hypernets.meta_trainers import trainer_for_backend
from keras_inr import rendering
from keras_inr.data import coordinate_grid
from keras_inr.metrics import PSNR
from keras_inr.saving import register
from keras_inr.validation import (
    check_bool,
    check_choice,
    check_positive_float,
    check_positive_int,
    check_real_array,
    check_seed,
    check_shape,
)

#: The backend's meta train/test steps and inner-gradient function, chosen once, when this module is imported.
MetaTrainer = trainer_for_backend()

#: What the modulations act on: ``"shift"`` -- the biases of the activated (hidden) layers (functa's shift
#: modulations); ``"all"`` -- every kernel and bias (a per-signal offset of all weights: learned initialisation).
MODULATE = ("shift", "all")


def _is_pair(x) -> bool:
    return isinstance(x, (list, tuple)) and len(x) == 2


class ModulatedINR(keras.Model):
    """Base class: a shared target INR whose weights are offset per signal by a code (see the module docstring).

    Per signal, a code ``z`` -- the modulations themselves (``latent_dim=None``) or a latent of ``latent_dim``
    numbers mapped to them by a trainable linear map ``m = z W`` (functa's latent modulations, section 3.3) -- gives
    the INR weights ``theta + m``, with ``m`` laid out over the modulated entries of the target (see ``modulate``).

    Args:
        target: a keras-inr model fixing the INR architecture and holding the shared weights ``theta`` (e.g.
            ``keras_inr.SIREN(out_dims=1, width=32, depth=2)``), or its serialized config; built here for
            ``in_dims``-D coordinates if it is not yet. Its weights are trained.
        latent_dim: ``None`` (codes are the modulations) or the size of the latent mapped linearly to them.
        modulate: ``"shift"`` (biases of the activated layers) or ``"all"`` (every kernel and bias).
        in_dims: coordinate dimension; defaults to the target's if it is built, else 2.
        max_val: dynamic range of the signals, for the PSNR metric.
        seed: optional integer seed of the latent map's initialisation.
        **kwargs: standard ``keras.Model`` arguments (``name``, ``dtype``).
    """

    #: What the fixed loss is, for the error that refuses ``compile(loss=...)`` (set by each subclass).
    fixed_loss = "fixed"
    _COMPILE_KEYS = ("loss", "metrics", "weighted_metrics", "loss_weights")

    def __init__(self, target, latent_dim: int | None = None, modulate: str = "shift", in_dims: int | None = None,
                 max_val: float = 1.0, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        target, self.in_dims = prepare_target(target, in_dims)
        self.target = target
        self.out_dims = int(target.out_dims)
        self.modulate = check_choice("modulate", modulate, MODULATE)
        self.latent_dim = None if latent_dim is None else check_positive_int("latent_dim", latent_dim)
        self.max_val = check_positive_float("max_val", max_val)
        self.seed = check_seed("seed", seed)
        self.specs = layer_specs(target)
        # (layer index, "kernel" | "bias", shape) of every modulated entry, in the order of the modulation vector
        self.modulated = []
        for index, spec in enumerate(self.specs):
            if self.modulate == "all":
                self.modulated.append((index, "kernel", spec.kernel_shape))
            if spec.use_bias and (self.modulate == "all" or spec.activation != "linear"):
                self.modulated.append((index, "bias", spec.bias_shape))
        if not self.modulated:
            raise ValueError(
                "modulate='shift' shifts the biases of the `target`'s activated hidden layers, but the target has "
                "none (depth=0 or use_bias=False); use modulate='all'."
            )
        self.modulation_dim = int(sum(math.prod(shape) for _, _, shape in self.modulated))
        self.code_dim = self.latent_dim if self.latent_dim is not None else self.modulation_dim
        self.latent_kernel = None
        if self.latent_dim is not None:
            self.latent_kernel = self.add_weight(
                name="latent_kernel", shape=(self.latent_dim, self.modulation_dim),
                initializer=keras.initializers.GlorotUniform(seed=self.seed),
            )

    # --- the INRs of a batch of codes ---------------------------------------------------------------------------
    def modulations(self, codes):
        """The modulation vectors ``(batch, modulation_dim)`` of codes ``(batch, code_dim)``."""
        codes = ops.cast(codes, "float32")
        if self.latent_kernel is None:
            return codes
        return ops.matmul(codes, ops.cast(self.latent_kernel, "float32"))

    def inr_weights(self, codes) -> list[tuple]:
        """Per-sample INR weights ``[(kernel, bias), ...]`` (see :mod:`hypernets.functional`) for ``codes``: the
        target's shared weights plus the modulations; unmodulated entries stay shared (no batch axis)."""
        modulations = self.modulations(codes)
        weights = [[layer.kernel, layer.bias if layer.use_bias else None] for layer in self.target.weight_layers]
        start = 0
        for index, entry, shape in self.modulated:
            size = math.prod(shape)
            offset = ops.reshape(modulations[:, start : start + size], (-1, *shape))
            slot = 0 if entry == "kernel" else 1
            shared = weights[index][slot]
            weights[index][slot] = ops.expand_dims(shared, 0) + ops.cast(offset, shared.dtype)
            start += size
        return [tuple(pair) for pair in weights]

    def evaluate_codes(self, codes, coordinates):
        """Values ``(batch, points, out_dims)`` (float32) of the INRs of ``codes`` at ``coordinates`` ``(batch or 1,
        points, in_dims)``."""
        return ops.cast(evaluate_inrs(self.target, coordinates, self.inr_weights(codes)), "float32")

    def per_sample_loss(self, codes, coordinates, values):
        """Mean squared error of each sample's INR over its points and channels: ``(batch,)``."""
        return ops.mean(ops.square(self.evaluate_codes(codes, coordinates) - values), axis=(1, 2))

    def render(self, codes, shape, batch_size: int = 32,
               points_per_chunk: int = rendering.DEFAULT_RENDER_BATCH_SIZE) -> np.ndarray:
        """Evaluate the INR of each code on the full grid of ``shape`` (in chunks, in bounded memory).

        Args:
            codes: ``(num, code_dim)``, e.g. from :meth:`MetaModulatedINR.fit_modulations`.
            shape: the grid shape, e.g. ``(H, W)``; ``len(shape)`` must be ``in_dims``.
            batch_size: codes evaluated at once; positive.
            points_per_chunk: coordinates evaluated at once per code; positive.

        Returns:
            numpy ``(num, *shape, out_dims)`` float32 at ``keras_inr.data.coordinate_grid(shape)``.
        """
        shape = check_shape(shape)
        if len(shape) != self.in_dims:
            raise ValueError(f"`shape` must have {self.in_dims} axes (the INR's coordinate dimension), got {shape}.")
        codes = self._check_codes(codes)
        batch_size = check_positive_int("batch_size", batch_size)
        points_per_chunk = check_positive_int("points_per_chunk", points_per_chunk)
        outputs = np.empty((len(codes), *shape, self.out_dims), dtype=np.float32)
        for start in range(0, len(codes), batch_size):
            chunk = ops.convert_to_tensor(codes[start : start + batch_size])
            values = rendering.render(_CodesField(self, chunk), shape, batch_size=points_per_chunk)
            values = values.reshape(*shape, -1, self.out_dims)
            outputs[start : start + values.shape[-2]] = np.moveaxis(values, -2, 0)
        return outputs

    def _check_codes(self, codes) -> np.ndarray:
        codes = check_real_array("codes", codes)
        if codes.ndim != 2 or codes.shape[1] != self.code_dim or codes.shape[0] == 0:
            raise ValueError(f"`codes` must have shape (num >= 1, {self.code_dim}) (code_dim), got {codes.shape}.")
        return codes.astype("float32")

    # --- data ---------------------------------------------------------------------------------------------------
    def check_signals(self, signals, name: str = "signals") -> tuple:
        """Raise ``ValueError`` naming ``name`` unless ``signals`` is ``(batch, *grid_shape, out_dims)`` with
        ``in_dims`` grid axes; return the static shape."""
        shape = tuple(signals.shape)
        if len(shape) != self.in_dims + 2 or any(size is None for size in shape[1:]):
            raise ValueError(
                f"`{name}` must hold signals on a grid, shape (batch, *grid_shape, channels) with {self.in_dims} grid "
                f"axes (the target's in_dims), got shape {shape}."
            )
        if int(shape[-1]) != self.out_dims:
            raise ValueError(
                f"`{name}` has {int(shape[-1])} channels but the target INR has out_dims={self.out_dims} "
                f"(shape {shape})."
            )
        return shape

    def check_coordinates_values(self, coordinates, values, names=("coordinates", "values")) -> None:
        """Raise ``ValueError`` naming the argument unless ``coordinates`` ``(batch or 1, points, in_dims)`` and
        ``values`` ``(batch, points, out_dims)`` fit together and the target."""
        shape = tuple(values.shape)
        if len(shape) != 3 or (shape[-1] is not None and int(shape[-1]) != self.out_dims):
            raise ValueError(
                f"`{names[1]}` must be the values at the coordinates, shape (batch, points, {self.out_dims}), got "
                f"shape {shape}."
            )
        check_coordinates(coordinates, self.in_dims, batch_size=shape[0], name=names[0])
        points = tuple(coordinates.shape)[1]
        if points is not None and shape[1] is not None and int(points) != int(shape[1]):
            raise ValueError(
                f"`{names[0]}` has {int(points)} points per sample but `{names[1]}` has {int(shape[1])}."
            )

    def coordinates_and_values(self, x, y=None):
        """``(coordinates (batch or 1, points, in_dims), values (batch, points, channels) float32)`` from signals
        on a grid (``y=None``) or from ``x=coordinates``, ``y=values``."""
        if y is None:
            shape = self.check_signals(x, "x")
            num_points = math.prod(shape[1:-1])
            coordinates = ops.expand_dims(ops.convert_to_tensor(coordinate_grid(shape[1:-1])), 0)
            return coordinates, ops.reshape(ops.cast(x, "float32"), (-1, num_points, self.out_dims))
        self.check_coordinates_values(x, y, ("x", "y"))
        return ops.cast(x, "float32"), ops.cast(y, "float32")

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            target=keras.saving.serialize_keras_object(self.target),
            latent_dim=self.latent_dim,
            modulate=self.modulate,
            in_dims=self.in_dims,
            max_val=self.max_val,
            seed=self.seed,
        )
        return config

    def compile(self, optimizer="adam", **kwargs):
        """Configure training: the ``optimizer`` and ``keras.Model.compile`` options (``jit_compile``, ...).
        The loss is fixed (:attr:`fixed_loss`); the logs report ``loss`` and ``psnr``.

        Raises:
            ValueError: naming ``loss`` / ``metrics`` / ``weighted_metrics`` / ``loss_weights`` when given.
        """
        for key in self._COMPILE_KEYS:
            if kwargs.get(key) is not None:
                raise ValueError(f"{type(self).__name__}.compile does not take `{key}`; its loss is "
                                 f"{self.fixed_loss} and its logs report `loss` and `psnr`.")
            kwargs.pop(key, None)
        super().compile(optimizer=optimizer, **kwargs)

    def compile_from_config(self, config: dict) -> None:
        config = keras.saving.deserialize_keras_object(config)
        for key in self._COMPILE_KEYS:
            config.pop(key, None)
        self.compile(**config)
        self.optimizer.build(self.trainable_variables)


@register
class MetaModulatedINR(MetaTrainer, ModulatedINR):
    """Functa: a shared INR with per-signal modulations fitted by a few gradient steps inside the train step.

    Dupont et al. 2022, https://arxiv.org/abs/2201.12204, section 3 (meta-learning the shared weights with shift
    modulations, optionally latent modulations, Meta-SGD inner learning rates). For each signal of a batch, the code
    ``z`` (the modulations, or the latent of ``latent_dim`` numbers) starts at zero and takes ``inner_steps`` steps of
    ``z <- z - alpha * grad_z L(z)``, with ``L`` the signal's mean squared error over its points and ``alpha`` the
    per-parameter inner learning rates (a trainable vector started at ``inner_learning_rate`` when ``meta_sgd``, else
    the constant). The outer loss -- the batch's mean squared error *after* the inner steps -- is differentiated with
    respect to the shared weights (and ``alpha``, the latent map) through the inner steps, and ``compile``'s optimizer
    applies the update (a MAML outer step, Finn et al. 2017, https://arxiv.org/abs/1703.03400, eq. 1). Starting at
    zero loses nothing: the shared biases are the meta-learned start of the shifts.

    ``modulate="all"`` modulates every weight: the inner loop then fits the whole INR per signal from the shared
    weights, which are the meta-learned initialisation of Tancik et al. 2021 (https://arxiv.org/abs/2012.02189,
    section 3; their inner loop is plain SGD, ``meta_sgd=False``).

    Args:
        target: a keras-inr model holding the shared weights (any family; see :class:`ModulatedINR`).
        inner_steps: gradient steps of the inner loop, in training and (by default) in :meth:`fit_modulations`;
            at least 1.
        inner_learning_rate: the inner loop's learning rate (the initial value of every per-parameter rate with
            ``meta_sgd``); positive. The inner loss is a per-signal *mean* squared error, so rates of order 1e-2 to 1
            suit codes of order one.
        meta_sgd: whether the per-parameter inner learning rates are trained (Meta-SGD, as functa does).
        first_order: whether the outer gradient ignores the second-order terms (first-order MAML: the inner
            gradients are treated as constants), which is cheaper; the rates and the shared weights still train.
        latent_dim: ``None`` (the code is the modulation vector itself) or the latent size (functa's latent
            modulations: ``m = z W``, ``W`` trainable).
        modulate: ``"shift"`` or ``"all"`` (see above).
        in_dims, max_val, seed: see :class:`ModulatedINR`.
        **kwargs: standard ``keras.Model`` arguments.

    Raises:
        ValueError: naming ``inner_steps``, ``inner_learning_rate``, ``latent_dim``, ``modulate``, ``target``,
            ``in_dims`` or ``max_val`` when invalid.

    Call:
        ``model(signals)`` fits the codes of ``signals`` ``(batch, *grid_shape, out_dims)`` by ``inner_steps``
        steps and returns the reconstructions on the same grid, ``(batch, *grid_shape, out_dims)``.

    Example:
        >>> model = MetaModulatedINR(keras_inr.SIREN(out_dims=1, width=32, depth=2), inner_steps=3)
        >>> model.compile(optimizer=keras.optimizers.Adam(1e-4))
        >>> model.fit(train_images, batch_size=16, epochs=10)  # doctest: +SKIP
        >>> codes = model.fit_modulations(new_images)  # doctest: +SKIP
        >>> model.render(codes, (25, 25)).shape  # doctest: +SKIP
    """

    fixed_loss = "the mean squared error after the inner steps"

    def __init__(self, target, inner_steps: int = 3, inner_learning_rate: float = 1e-2, meta_sgd: bool = True,
                 first_order: bool = False, latent_dim: int | None = None, modulate: str = "shift",
                 in_dims: int | None = None, max_val: float = 1.0, seed: int | None = None, **kwargs):
        inner_steps = check_positive_int("inner_steps", inner_steps)
        inner_learning_rate = check_positive_float("inner_learning_rate", inner_learning_rate)
        super().__init__(target, latent_dim=latent_dim, modulate=modulate, in_dims=in_dims, max_val=max_val,
                         seed=seed, **kwargs)
        self.inner_steps = inner_steps
        self.inner_learning_rate = inner_learning_rate
        self.meta_sgd = check_bool("meta_sgd", meta_sgd)
        self.first_order = check_bool("first_order", first_order)
        self.inner_learning_rates = self.add_weight(
            name="inner_learning_rates", shape=(self.code_dim,),
            initializer=keras.initializers.Constant(self.inner_learning_rate), trainable=self.meta_sgd,
        )
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.psnr_metric = PSNR(max_val=self.max_val, name="psnr")
        self.built = True

    # --- the inner loop -----------------------------------------------------------------------------------------
    def adapt(self, coordinates, values, steps: int | None = None, create_graph: bool = True):
        """Fit the codes of a batch of signals by ``steps`` inner gradient steps from zero (keras.ops + the backend's
        gradient, :func:`hypernets.meta_trainers.modulation_gradient`).

        Args:
            coordinates: ``(batch or 1, points, in_dims)``.
            values: ``(batch, points, out_dims)`` float32.
            steps: inner steps (default ``inner_steps``).
            create_graph: whether the result stays differentiable with respect to the shared weights through the
                inner gradients (second order; ``first_order`` turns the second-order terms off). ``False`` when
                nothing differentiates the result (evaluation, :meth:`fit_modulations`).

        Returns:
            Codes ``(batch, code_dim)`` float32.
        """
        steps = self.inner_steps if steps is None else steps
        second_order = create_graph and not self.first_order
        rates = ops.cast(self.inner_learning_rates, "float32")
        if not create_graph:
            rates = ops.stop_gradient(rates)
        codes = ops.zeros((ops.shape(values)[0], self.code_dim), dtype="float32")

        def inner_loss(current):
            # a sum over the batch of per-signal means: each signal's gradient is that of its own loss
            return ops.sum(self.per_sample_loss(current, coordinates, values))

        for _ in range(steps):
            if not create_graph:
                codes = ops.stop_gradient(codes)
            gradient = self._modulation_gradient(inner_loss, codes, second_order)
            if not second_order:
                gradient = ops.stop_gradient(gradient)
            codes = codes - rates * gradient
        return codes

    def meta_loss(self, data, training: bool):
        """The outer loss of one batch: ``(loss, values, predictions, sample_weight)``, the weighted mean squared
        error of the INRs after the inner steps (called by the backend train/test steps)."""
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        coordinates, values = self.coordinates_and_values(x, y)
        codes = self.adapt(coordinates, values, create_graph=training)
        predictions = self.evaluate_codes(codes, coordinates)
        per_sample = ops.mean(ops.square(predictions - values), axis=(1, 2))
        if sample_weight is None:
            loss = ops.mean(per_sample)
        else:
            weight = ops.reshape(ops.cast(sample_weight, "float32"), (-1,))
            loss = ops.sum(per_sample * weight) / ops.maximum(ops.sum(weight), 1e-12)
        return loss, values, predictions, sample_weight

    def update_meta_metrics(self, loss, values, predictions, sample_weight=None) -> dict:
        self.loss_tracker.update_state(loss)
        self.psnr_metric.update_state(values, predictions, sample_weight=sample_weight)
        return {metric.name: metric.result() for metric in self.metrics}

    @property
    def metrics(self) -> list:
        return [self.loss_tracker, self.psnr_metric]

    # --- user-facing ----------------------------------------------------------------------------------------------
    def call(self, signals, training=None):
        shape = self.check_signals(signals, "signals")
        coordinates, values = self.coordinates_and_values(signals)
        codes = self.adapt(coordinates, values, create_graph=bool(training))
        predictions = self.evaluate_codes(codes, coordinates)
        return ops.reshape(predictions, (-1, *shape[1:-1], self.out_dims))

    def compute_output_spec(self, signals, training=None):
        shape = self.check_signals(signals, "signals")
        return keras.KerasTensor((*shape[:-1], self.out_dims), dtype="float32")

    def compute_output_shape(self, input_shape):
        return (*tuple(input_shape)[:-1], self.out_dims)

    def fit_modulations(self, signals_or_coordinates_values, steps: int | None = None,
                        batch_size: int = 64) -> np.ndarray:
        """Fit the codes of (unseen) signals with the shared network frozen: ``steps`` inner-loop steps from zero,
        with the (meta-learned) inner learning rates -- what the network was meta-trained for.

        Args:
            signals_or_coordinates_values: signals ``(num, *grid_shape, out_dims)``, or a pair ``(coordinates (num or
                1, points, in_dims), values (num, points, out_dims))``.
            steps: inner steps (default ``inner_steps``); at least 1.
            batch_size: signals fitted at once; positive.

        Returns:
            numpy codes ``(num, code_dim)`` for :meth:`render` or :meth:`evaluate_codes`.

        Raises:
            ValueError: naming ``steps``, ``batch_size`` or ``signals_or_coordinates_values`` when invalid.
        """
        steps = self.inner_steps if steps is None else check_positive_int("steps", steps)
        batch_size = check_positive_int("batch_size", batch_size)
        data = signals_or_coordinates_values
        name = "signals_or_coordinates_values"
        if _is_pair(data):
            coordinates = check_real_array(f"{name}[0]", data[0]).astype("float32")
            values = check_real_array(f"{name}[1]", data[1]).astype("float32")
            self.check_coordinates_values(coordinates, values, (f"{name}[0]", f"{name}[1]"))
            shared = coordinates.shape[0] == 1
        else:
            values = check_real_array(name, data).astype("float32")
            shape = self.check_signals(values, name)
            values = values.reshape(shape[0], -1, self.out_dims)
            coordinates, shared = coordinate_grid(shape[1:-1])[None].astype("float32"), True
        if len(values) == 0:
            raise ValueError(f"`{name}` is empty; nothing to fit.")
        codes = []
        for start in range(0, len(values), batch_size):
            chunk_coordinates = coordinates if shared else coordinates[start : start + batch_size]
            batch_codes = self.adapt(ops.convert_to_tensor(chunk_coordinates),
                                     ops.convert_to_tensor(values[start : start + batch_size]), steps=steps,
                                     create_graph=False)
            codes.append(np.asarray(ops.convert_to_numpy(batch_codes)))
        return np.concatenate(codes)

    # --- Keras plumbing -------------------------------------------------------------------------------------------
    def fit(self, x=None, y=None, *args, **kwargs):
        """``keras.Model.fit`` on signals (``fit(signals)``) or ``fit(coordinates, values)``; array shapes are
        checked before Keras starts (an error while JAX traces the first step would leave the model unusable)."""
        self._check_arrays(x, y)
        return super().fit(x, y, *args, **kwargs)

    def evaluate(self, x=None, y=None, *args, **kwargs):
        """``keras.Model.evaluate``: the loss and PSNR after ``inner_steps`` inner steps per signal."""
        self._check_arrays(x, y)
        return super().evaluate(x, y, *args, **kwargs)

    def _check_arrays(self, x, y) -> None:
        if y is None and hasattr(x, "shape"):
            check_real_array("x", x)
            self.check_signals(x, "x")
        elif y is not None and hasattr(x, "shape") and hasattr(y, "shape"):
            check_real_array("x", x)
            check_real_array("y", y)
            self.check_coordinates_values(x, y, ("x", "y"))

    def get_build_config(self) -> dict:
        return {}

    def build_from_config(self, config: dict) -> None:
        pass  # every variable is made by the constructor

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(inner_steps=self.inner_steps, inner_learning_rate=self.inner_learning_rate,
                      meta_sgd=self.meta_sgd, first_order=self.first_order)
        return config


@register
class AutoDecodingINR(ModulatedINR):
    """Auto-decoding: an ``Embedding`` latent per training signal, mapped to modulations of a shared INR.

    DeepSDF (Park et al. 2019, https://arxiv.org/abs/1901.05103, section 4, eq. 9): the latents of the training
    signals and the shared network are trained jointly by ``fit(indices, signals)``, with a Gaussian prior on the
    latents (``latent_regularization * mean ||z||^2`` added to the mean squared error); a new signal's latent is
    then found by :meth:`fit_latents` with the network frozen (eq. 10). The latent maps to the modulations of
    ``modulate`` as in :class:`ModulatedINR` (functa's latent modulations, https://arxiv.org/abs/2201.12204).
    Trained by Keras' own train step (ordinary gradients; no inner loop).

    Args:
        target: a keras-inr model holding the shared weights (see :class:`ModulatedINR`).
        num_signals: number of training signals (rows of the embedding); positive.
        latent_dim: latent size; positive.
        latent_init_stddev: standard deviation of the latents' normal initialisation (DeepSDF: 0.01); positive.
        latent_regularization: weight of the latent prior; non-negative.
        modulate, in_dims, max_val, seed: see :class:`ModulatedINR`.
        **kwargs: standard ``keras.Model`` arguments.

    Call:
        ``model(indices)`` with integer indices ``(batch,)`` returns their latents ``(batch, latent_dim)``.

    Data for ``fit``: ``x`` = indices ``(batch,)`` of the signals, ``y`` = the signals on a grid, ``(batch,
    *grid_shape, out_dims)``.
    """

    fixed_loss = "the signals' mean squared error plus the latent prior"

    def __init__(self, target, num_signals: int, latent_dim: int = 64, latent_init_stddev: float = 0.01,
                 latent_regularization: float = 1e-4, modulate: str = "shift", in_dims: int | None = None,
                 max_val: float = 1.0, seed: int | None = None, **kwargs):
        if latent_dim is None:
            raise ValueError("`latent_dim` must be a positive integer (the size of each signal's latent), got None.")
        super().__init__(target, latent_dim=latent_dim, modulate=modulate, in_dims=in_dims, max_val=max_val,
                         seed=seed, **kwargs)
        self.num_signals = check_positive_int("num_signals", num_signals)
        self.latent_init_stddev = check_positive_float("latent_init_stddev", latent_init_stddev)
        latent_regularization = float(latent_regularization)
        if not math.isfinite(latent_regularization) or latent_regularization < 0:
            raise ValueError(f"`latent_regularization` must be a finite number >= 0, got {latent_regularization!r}.")
        self.latent_regularization = latent_regularization
        self.latents = keras.layers.Embedding(
            self.num_signals, self.latent_dim, name="latents",
            embeddings_initializer=keras.initializers.RandomNormal(stddev=self.latent_init_stddev, seed=self.seed),
        )
        self.latents.build((None,))
        self.built = True

    def call(self, indices, training=None):
        return ops.cast(self.latents(indices), "float32")

    def compute_output_shape(self, input_shape):
        return (*tuple(input_shape), self.latent_dim)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """Mean squared error of the INRs of the latents ``y_pred`` on the signals ``y`` plus the latent prior."""
        coordinates, values = self.coordinates_and_values(y)
        per_sample = self.per_sample_loss(y_pred, coordinates, values)
        if sample_weight is not None:
            weight = ops.reshape(ops.cast(sample_weight, "float32"), (-1,))
            loss = ops.sum(per_sample * weight) / ops.maximum(ops.sum(weight), 1e-12)
        else:
            loss = ops.mean(per_sample)
        if self.latent_regularization > 0:
            loss = loss + self.latent_regularization * ops.mean(ops.sum(ops.square(y_pred), axis=-1))
        return loss

    def fit(self, x=None, y=None, *args, **kwargs):
        """``keras.Model.fit(indices, signals)``; shapes and index range are checked before Keras starts."""
        if hasattr(y, "shape"):
            check_real_array("y", y)
            self.check_signals(y, "y")
        if hasattr(x, "shape"):
            indices = np.asarray(ops.convert_to_numpy(x))
            if indices.ndim != 1 or not np.issubdtype(indices.dtype, np.integer):
                raise ValueError(f"`x` must be integer signal indices of shape (batch,), got {indices.dtype} "
                                 f"{indices.shape}.")
            if indices.size and (indices.min() < 0 or indices.max() >= self.num_signals):
                raise ValueError(f"`x` holds indices outside [0, num_signals={self.num_signals}).")
        return super().fit(x, y, *args, **kwargs)

    def fit_latents(self, signals, steps: int = 100, learning_rate: float = 1e-2, batch_size: int = 64
                    ) -> np.ndarray:
        """Fit the latents of new signals with the network frozen (DeepSDF eq. 10): ``steps`` Adam steps on the
        reconstruction loss plus the latent prior, from zero.

        Args:
            signals: ``(num, *grid_shape, out_dims)``.
            steps: Adam steps; positive.
            learning_rate: Adam's learning rate; positive.
            batch_size: signals fitted at once; positive.

        Returns:
            numpy latents ``(num, latent_dim)`` for :meth:`render`.
        """
        steps = check_positive_int("steps", steps)
        learning_rate = check_positive_float("learning_rate", learning_rate)
        batch_size = check_positive_int("batch_size", batch_size)
        signals = check_real_array("signals", signals).astype("float32")
        self.check_signals(signals, "signals")
        if len(signals) == 0:
            raise ValueError("`signals` is empty; nothing to fit.")
        latents = []
        for start in range(0, len(signals), batch_size):
            coordinates, values = self.coordinates_and_values(ops.convert_to_tensor(signals[start:start + batch_size]))
            latents.append(np.asarray(ops.convert_to_numpy(self._adam_latents(coordinates, values, steps,
                                                                              learning_rate))))
        return np.concatenate(latents)

    def _adam_latents(self, coordinates, values, steps, learning_rate, beta_1=0.9, beta_2=0.999, epsilon=1e-8):
        """Adam (Kingma & Ba 2015, algorithm 1) on a batch's latents, written with keras.ops."""
        latents = ops.zeros((ops.shape(values)[0], self.latent_dim), dtype="float32")
        first, second = ops.zeros_like(latents), ops.zeros_like(latents)

        def loss(current):
            prior = self.latent_regularization * ops.sum(ops.square(current))
            return ops.sum(self.per_sample_loss(current, coordinates, values)) + prior

        for step in range(1, steps + 1):
            gradient = ops.stop_gradient(MetaTrainer._modulation_gradient(loss, ops.stop_gradient(latents), False))
            first = beta_1 * first + (1 - beta_1) * gradient
            second = beta_2 * second + (1 - beta_2) * ops.square(gradient)
            corrected = learning_rate * math.sqrt(1 - beta_2**step) / (1 - beta_1**step)
            latents = ops.stop_gradient(latents - corrected * first / (ops.sqrt(second) + epsilon))
        return latents

    def get_build_config(self) -> dict:
        return {}

    def build_from_config(self, config: dict) -> None:
        pass

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(num_signals=self.num_signals, latent_init_stddev=self.latent_init_stddev,
                      latent_regularization=self.latent_regularization)
        return config


class _CodesField:
    """The INRs of a batch of codes as one field for :func:`keras_inr.rendering.render`: ``(N, in_dims)`` to
    ``(N, batch * out_dims)``, sample ``i``'s values in columns ``i * out_dims : (i + 1) * out_dims``."""

    def __init__(self, model: ModulatedINR, codes):
        self.model, self.codes, self.in_dims = model, codes, model.in_dims

    def __call__(self, coordinates):
        values = self.model.evaluate_codes(self.codes, ops.expand_dims(coordinates, 0))  # (batch, N, out_dims)
        values = ops.transpose(values, (1, 0, 2))
        return ops.reshape(values, (ops.shape(values)[0], -1))


__all__ = ["MODULATE", "ModulatedINR", "MetaModulatedINR", "AutoDecodingINR"]
