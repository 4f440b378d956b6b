"""Compiling INRs for ``model.fit``: optimiser, learning-rate schedule, loss and metrics in one place.

The defaults of ``keras-inr fit`` live in :data:`RECOMMENDED`; ``benchmarks/quality_per_time.py`` measures them
against the reference SIREN recipe (Adam, learning rate 1e-4, constant, full batch).
"""

from __future__ import annotations

import keras

from keras_inr import families
from keras_inr.metrics import PSNR
from keras_inr.validation import check_choice, check_number, check_positive_float, check_positive_int, check_real_array

#: The reference SIREN recipe (Sitzmann et al. 2020, https://arxiv.org/abs/2006.09661, supplement: Adam, 1e-4).
REFERENCE = {"learning_rate": 1e-4, "schedule": "constant"}

#: keras-inr's recommended training defaults (used by ``keras-inr fit`` and :func:`keras_inr.fit_signal`; a family's
#: ``training`` overrides them, see :func:`recommended`): Adam 1e-3 with a cosine decay to 1% of it over the run, full
#: batch. Why: BENCHMARKS.md, "Family defaults" and section 3. ``beta_2`` and ``epsilon`` are Adam's (Keras' own
#: defaults); the hash grid overrides them with the paper's 0.99 and 1e-15 (Mueller et al. 2022, section 4).
RECOMMENDED = {
    "learning_rate": 1e-3, "schedule": "cosine", "final_learning_rate_fraction": 0.01, "beta_2": 0.999, "epsilon": 1e-7,
}

#: keras-inr's recommended model (``build_model(**RECOMMENDED_MODEL)`` minus ``family``): a SIREN 3x256 with the
#: registry's recommended hyperparameters (w0 = 20). Why: BENCHMARKS.md, "Family defaults".
RECOMMENDED_MODEL = {"family": "siren", "width": 256, "depth": 3, **families.get("siren").recommended()}

SCHEDULES = ("constant", "cosine")


def recommended(family: str = "siren") -> dict:
    """keras-inr's recommended training settings for a registered family (:mod:`keras_inr.families`).

    Returns:
        A new dict with the keys of :data:`RECOMMENDED`, the family's ``training`` overrides applied (e.g. Fourier
        features train at 3e-3).

    Raises:
        ValueError: naming ``family`` for an unknown family.
    """
    return {**RECOMMENDED, **families.get(family).training}


def _model_recommended(model) -> dict:
    """:func:`recommended` for the family of a keras-inr model (its ``family`` record), else :data:`RECOMMENDED`."""
    family = getattr(model, "family", None)
    name = getattr(family, "name", None)
    if isinstance(name, str) and name in families.names():
        return recommended(name)
    return dict(RECOMMENDED)


def make_learning_rate(
    learning_rate: float,
    schedule: str = "constant",
    total_steps: int | None = None,
    final_learning_rate_fraction: float = 0.01,
):
    """A learning rate or schedule for ``keras.optimizers``.

    Args:
        learning_rate: the initial learning rate; positive.
        schedule: ``"constant"`` or ``"cosine"`` (cosine decay over ``total_steps`` to
            ``learning_rate * final_learning_rate_fraction``).
        total_steps: number of optimiser steps of the run; needed by ``"cosine"``.
        final_learning_rate_fraction: end of the cosine as a fraction of ``learning_rate``, in ``[0, 1]`` (checked
            for every schedule).

    Returns:
        A float or a ``keras.optimizers.schedules.LearningRateSchedule``.

    Raises:
        ValueError: naming the argument for a non-positive or non-finite ``learning_rate``, an unknown
            ``schedule``, a missing or non-positive ``total_steps`` with ``"cosine"``, or a
            ``final_learning_rate_fraction`` outside ``[0, 1]`` (NaN included).
    """
    learning_rate = check_positive_float("learning_rate", learning_rate)
    check_choice("schedule", schedule, SCHEDULES)
    fraction = check_number("`final_learning_rate_fraction`", final_learning_rate_fraction, positive=False)
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"`final_learning_rate_fraction` must lie in [0, 1], got {final_learning_rate_fraction!r}.")
    if schedule == "constant":
        return learning_rate
    if total_steps is None:
        raise ValueError("`total_steps` is required with schedule='cosine'.")
    total_steps = check_positive_int("total_steps", total_steps)
    return keras.optimizers.schedules.CosineDecay(
        learning_rate, decay_steps=total_steps, alpha=fraction
    )


def compile_inr(
    model: keras.Model,
    learning_rate: float = RECOMMENDED["learning_rate"],
    schedule: str = RECOMMENDED["schedule"],
    total_steps: int | None = None,
    final_learning_rate_fraction: float = RECOMMENDED["final_learning_rate_fraction"],
    loss="mse",
    max_val: float = 1.0,
    jit_compile="auto",
    beta_2: float | None = None,
    epsilon: float | None = None,
    **compile_kwargs,
) -> keras.Model:
    """Compile an INR with Adam, the given learning-rate schedule, a loss (MSE by default) and the PSNR metric.

    Args:
        model: a keras-inr model (or any Keras model mapping coordinates to values).
        learning_rate, schedule, total_steps, final_learning_rate_fraction: see :func:`make_learning_rate`.
        beta_2: Adam's second-moment decay, in ``(0, 1)``; ``None`` takes the recommended value of the model's
            family (:func:`recommended`, e.g. 0.99 for ``"hashgrid"``) or, for models of no registered family,
            :data:`RECOMMENDED`'s 0.999.
        epsilon: Adam's epsilon, positive; ``None`` as for ``beta_2`` (1e-15 for ``"hashgrid"``, else 1e-7).
        loss: any Keras loss (name or object).
        max_val: dynamic range for PSNR.
        jit_compile: passed to ``model.compile``. ``"auto"`` gives XLA on JAX, no XLA on TensorFlow on a CPU-only
            machine and eager PyTorch; ``True`` on PyTorch uses ``torch.compile``, faster per step in steady state
            but compiling again in every ``fit`` call. Measurements: BENCHMARKS.md, section 1.
        **compile_kwargs: further ``model.compile`` arguments.

    Returns:
        The compiled model (the same object).

    Raises:
        ValueError: naming ``model`` when it is no Keras model, or its variables are bfloat16 (``dtype="bfloat16"``:
            Adam does not update them; use ``"mixed_bfloat16"``), or naming ``loss``, ``max_val``, ``jit_compile`` or
            a schedule argument, ``beta_2`` or ``epsilon`` when invalid.
    """
    if not isinstance(model, keras.Model):
        raise ValueError(f"`model` must be a keras.Model (e.g. keras_inr.SIREN(...)), got {type(model).__name__}.")
    defaults = _model_recommended(model)
    beta_2 = defaults["beta_2"] if beta_2 is None else check_positive_float("beta_2", beta_2)
    if not beta_2 < 1.0:
        raise ValueError(f"`beta_2` must lie in (0, 1), got {beta_2!r}.")
    epsilon = defaults["epsilon"] if epsilon is None else check_positive_float("epsilon", epsilon)
    max_val = check_positive_float("max_val", max_val)
    if jit_compile not in (True, False, "auto") or not isinstance(jit_compile, (bool, str)):
        raise ValueError(f"`jit_compile` must be True, False or 'auto', got {jit_compile!r}.")
    try:
        resolved = None if loss is None else keras.losses.get(loss)
    except (ValueError, TypeError):
        resolved = None
    if resolved is None:
        raise ValueError(f"`loss` must be a Keras loss (a name such as 'mse', a function or a Loss), got {loss!r}.")
    policy = getattr(model, "dtype_policy", None)
    if getattr(policy, "variable_dtype", None) == "bfloat16":
        # Keras' Adam keeps its moments in the variable dtype; in bfloat16 beta_2 = 0.999 rounds to 1, the second
        # moment never moves and the weights never change (checked by keras_inr.testing's precision tests).
        raise ValueError(
            f"`model` keeps its variables in bfloat16 (dtype policy {policy.name!r}), in which Adam does not train; "
            "use dtype='mixed_bfloat16' (bfloat16 compute, float32 variables) instead."
        )
    optimizer = keras.optimizers.Adam(
        make_learning_rate(learning_rate, schedule, total_steps, final_learning_rate_fraction),
        beta_2=beta_2, epsilon=epsilon,
    )
    model.compile(
        optimizer=optimizer, loss=loss, metrics=[PSNR(max_val=max_val)], jit_compile=jit_compile, **compile_kwargs
    )
    return model


class FullBatch(keras.utils.PyDataset):
    """The whole training set as one batch, served for full-batch ``model.fit``.

    ``model.fit(x, y, batch_size=len(x), epochs=steps)`` runs one Keras epoch per optimiser step: every step pays the
    epoch's bookkeeping (metric resets, callbacks, a shuffle and a fresh numpy-to-tensor conversion of the data).
    ``model.fit(FullBatch(x, y, steps))`` instead converts ``x`` and ``y`` to backend tensors once and serves the
    same tensors at every step, so nothing is copied or recompiled per step (the shapes never change).
    ``benchmarks/overhead.py`` measures the difference. On TensorFlow prefer :func:`full_batch`, which returns a
    ``tf.data`` pipeline instead (a ``PyDataset`` runs through a Python generator there, which slows the step).

    Keras metrics accumulate over an epoch: the ``psnr`` that ``fit`` logs for an epoch is that of the mean squared
    error over all its steps, far below the final model's PSNR when the epoch is the whole run. Give
    ``steps_per_epoch`` (and ``fit(..., epochs=dataset.epochs)``) so that the progress bar's last ``psnr`` is that of
    the run's last few steps; ``model.evaluate`` (or :func:`keras_inr.render`) gives the PSNR of the final weights.

    Args:
        coordinates: ``(N, in_dims)`` array or tensor; real and finite (checked once, here).
        values: ``(N, out_dims)`` array or tensor with the same ``N``; real and finite.
        steps: optimiser steps of the run; without ``steps_per_epoch`` these are all in one epoch
            (``len(dataset) == steps``); positive.
        steps_per_epoch: optional steps per epoch (``len(dataset)``); ``steps`` must be a multiple of it, and the
            run is ``epochs = steps // steps_per_epoch`` epochs (:attr:`epochs`).

    Attributes:
        epochs: the number of epochs that ``fit`` must run for ``steps`` steps (1 without ``steps_per_epoch``).

    Yields:
        ``(coordinates, values)``, the same backend tensors at every index.

    Example:
        >>> dataset = FullBatch(coordinates, values, steps=2000, steps_per_epoch=100)  # doctest: +SKIP
        >>> model.fit(dataset, epochs=dataset.epochs, verbose=0)  # doctest: +SKIP
    """

    def __init__(self, coordinates, values, steps: int, steps_per_epoch: int | None = None):
        super().__init__()
        self.steps_per_epoch, self.epochs = _epochs(steps, steps_per_epoch)
        self.steps = self.steps_per_epoch  # steps per epoch, as before steps_per_epoch existed
        coordinates, values = _check_pairs(coordinates, values)
        self.coordinates = keras.ops.convert_to_tensor(coordinates, "float32")
        self.values = keras.ops.convert_to_tensor(values, "float32")

    def __len__(self) -> int:
        return self.steps_per_epoch

    def __getitem__(self, index: int):
        return self.coordinates, self.values


def _epochs(steps, steps_per_epoch) -> tuple[int, int]:
    """``(steps_per_epoch, epochs)`` of a run of ``steps`` steps, validated."""
    steps = check_positive_int("steps", steps)
    if steps_per_epoch is None:
        return steps, 1
    steps_per_epoch = check_positive_int("steps_per_epoch", steps_per_epoch)
    if steps % steps_per_epoch:
        raise ValueError(
            f"`steps` ({steps}) must be a multiple of `steps_per_epoch` ({steps_per_epoch}), so that the run is a "
            "whole number of epochs."
        )
    return steps_per_epoch, steps // steps_per_epoch


def _check_pairs(coordinates, values):
    """``coordinates`` and ``values`` as numpy arrays, checked once: real, finite, 2-D, with the same number of rows.

    Raises:
        ValueError: naming ``coordinates`` or ``values`` otherwise.
    """
    coordinates = check_real_array("coordinates", coordinates, ndim=2)
    values = check_real_array("values", values, ndim=2)
    if coordinates.shape[0] != values.shape[0]:
        raise ValueError(
            "`coordinates` and `values` must have the same number of rows (N), got shapes "
            f"{tuple(coordinates.shape)} and {tuple(values.shape)}."
        )
    return coordinates, values


def full_batch(coordinates, values, steps: int, steps_per_epoch: int | None = None):
    """The recommended way to feed full-batch INR fitting to ``model.fit``: ``steps`` steps on the whole set.

    On JAX and PyTorch this is :class:`FullBatch` (tensors converted once, served at every step). On TensorFlow it
    is a ``tf.data.Dataset`` built from the tensors (:func:`keras_inr.backends.tensorflow.full_batch_dataset`):
    a ``PyDataset`` reaches TensorFlow through a Python generator that slows the step on small CPUs (measured in
    BENCHMARKS.md, section 1). ``shuffle=False`` in ``fit`` only silences TensorFlow's warning that a
    ``tf.data.Dataset`` cannot be shuffled.

    Recommended: epochs of a few dozen to a hundred steps,
    ``model.fit(full_batch(x, y, steps, steps_per_epoch=100), epochs=steps // 100, shuffle=False)``. Keras averages
    the ``psnr`` metric over an epoch, so the progress bar's last ``psnr`` is then that of the run's last 100 steps,
    close to the final model's; with a single epoch (``steps_per_epoch=None``, ``epochs=1``) it is the average of
    the whole run, several dB below the final model's.

    Args:
        coordinates: ``(N, in_dims)`` array or tensor; real and finite (checked once, here, not at every step).
        values: ``(N, out_dims)`` array or tensor with the same ``N``; real and finite.
        steps: optimiser steps of the run; without ``steps_per_epoch``, all in one epoch (the dataset yields
            ``steps`` batches, as before ``steps_per_epoch`` existed); positive.
        steps_per_epoch: optional steps per epoch: the dataset yields ``steps_per_epoch`` batches and ``fit`` must
            run ``steps // steps_per_epoch`` epochs; ``steps`` must be a multiple of it.

    Returns:
        A :class:`FullBatch` (JAX, PyTorch) or a ``tf.data.Dataset`` (TensorFlow) of ``steps_per_epoch`` (or
        ``steps``) batches ``(coordinates, values)``.

    Raises:
        ValueError: for non-positive ``steps``/``steps_per_epoch``, ``steps`` not a multiple of ``steps_per_epoch``,
            or ``coordinates`` and ``values`` that are not 2-D arrays of real, finite numbers with the same number of
            rows (each named).
    """
    if keras.backend.backend() != "tensorflow":
        return FullBatch(coordinates, values, steps, steps_per_epoch)
    from keras_inr.backends.tensorflow import full_batch_dataset

    per_epoch, _ = _epochs(steps, steps_per_epoch)
    coordinates, values = _check_pairs(coordinates, values)
    return full_batch_dataset(coordinates, values, per_epoch)
