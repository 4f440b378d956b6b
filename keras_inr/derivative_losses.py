"""Training on derivatives: loss terms on a field's values, gradients and Laplacian, and a model that fits with them.

:class:`DerivativeModel` wraps any keras-inr model (any point-wise Keras model of coordinates) and trains it with
``model.fit`` on a sum of pluggable loss terms, on JAX, TensorFlow and PyTorch alike. Its ``compute_loss`` takes the
derivatives it needs with :func:`keras_inr.differential.derivatives` (inside Keras' compiled training step, so the
weights' gradients are second derivatives) and adds the terms:

=========================  =========================================================  ============================
term                       per point                                                  reads from ``y``
=========================  =========================================================  ============================
:class:`ValueLoss`         ``mean_c (f_c - t_c)^2``                                   ``"values"``
:class:`GradientLoss`      ``mean_c sum_j (df_c/dx_j - t_cj)^2`` (SIREN's             ``"gradients"``
                           ``gradients_mse``)
:class:`LaplacianLoss`     ``mean_c (lap f_c - t_c)^2``                               ``"laplacian"``
:class:`EikonalLoss`       ``| |grad f| - 1 |``                                       --
:class:`SurfaceLoss`       ``|f|`` on the surface                                     ``"on_surface"``
:class:`NormalLoss`        ``1 - cos(grad f, n)`` on the surface                      ``"normals"``, ``"on_surface"``
:class:`OffSurfaceLoss`    ``exp(-alpha |f|)`` off the surface                        ``"on_surface"``
=========================  =========================================================  ============================

Each term is multiplied by its ``weight`` (and by an optional per-point ``mask`` read from ``y``) and averaged over
all points of the batch, masked ones included, as in the SIREN reference code. :func:`sdf_losses` gives the signed
distance loss of SIREN (Sitzmann et al. 2020, https://arxiv.org/abs/2006.09661, equation 6) with the weights of its
reference implementation: surface ``3e3``, normals ``1e2``, eikonal ``5e1``, off-surface ``1e2`` with ``alpha = 100``.

Targets: ``y`` is a dict of arrays with one row per point (``model.fit(x, {"gradients": g})``); a single array is
accepted when the terms read exactly one key. :func:`full_batch_targets` serves the whole set at every step and
:class:`OrientedPointCloud` draws SIREN's SDF batches (surface points with normals plus uniform off-surface points).

Every term and the model serialise with ``get_config``, so ``model.save("sdf.keras")`` and
``keras.saving.load_model`` restore the terms with their weights. A term of your own: subclass :class:`DerivativeLoss`,
set ``needs`` and ``target``, implement :meth:`DerivativeLoss.per_point` and register the class with
``keras.saving.register_keras_serializable``.

Example:
    >>> inr = keras_inr.SIREN(out_dims=1, width=64, depth=3, in_dims=2)
    >>> model = DerivativeModel(inr, losses=[GradientLoss()])
    >>> model.compile(optimizer=keras.optimizers.Adam(1e-4))
    >>> model.fit(full_batch_targets(coordinates, {"gradients": g}, steps=500), epochs=1)  # doctest: +SKIP
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from keras_inr import differential
from keras_inr.data import SeededBatches
from keras_inr.saving import register
from keras_inr.validation import check_number, check_positive_int, check_real_array

__all__ = [
    "DerivativeLoss",
    "ValueLoss",
    "GradientLoss",
    "LaplacianLoss",
    "EikonalLoss",
    "SurfaceLoss",
    "NormalLoss",
    "OffSurfaceLoss",
    "sdf_losses",
    "DerivativeModel",
    "TargetBatch",
    "full_batch_targets",
    "OrientedPointCloud",
]

#: The smallest norm a gradient is divided by (cosine similarity), as in ``torch.nn.functional.cosine_similarity``.
EPSILON = 1e-8


def _norm(vectors):
    """Euclidean norm over the last axis, with a finite derivative at zero."""
    return ops.sqrt(ops.sum(ops.square(vectors), axis=-1) + 1e-12)


def _scalar_gradient(field: dict, term) -> object:
    """The gradient ``(..., in_dims)`` of a scalar field, or ``ValueError`` naming the term for a vector field."""
    jacobian = field["jacobian"]
    if jacobian.shape[-2] != 1:
        raise ValueError(
            f"{type(term).__name__} {term.name!r} needs a scalar field (out_dims=1), but the model has "
            f"{jacobian.shape[-2]} output channels."
        )
    return jacobian[..., 0, :]


class DerivativeLoss:
    """Base class of a loss term on a field's values and derivatives with respect to its coordinates.

    Subclasses set :attr:`needs` (which derivatives the term reads), :attr:`default_target` (the key of ``y`` it
    compares with, or ``None``) and implement :meth:`per_point`.

    Args:
        weight: the term's factor; a finite non-negative number.
        target: the key of ``y`` holding the term's target (default :attr:`default_target`).
        mask: optional key of ``y`` holding a per-point weight (``(N,)`` or ``(N, 1)``, e.g. 1 on a surface, 0 off
            it) that multiplies the term.
        name: the term's name in ``fit``'s logs (default :attr:`default_name`); names must differ within a model.
    """

    #: derivatives the term reads: a subset of ``("jacobian", "laplacian")``
    needs: tuple[str, ...] = ()
    #: the key of ``y`` read by default (``None``: no target)
    default_target: str | None = None
    #: the name in the logs by default
    default_name = "derivative_loss"

    def __init__(self, weight: float = 1.0, target: str | None = None, mask: str | None = None,
                 name: str | None = None):
        self.weight = check_number("`weight`", weight, positive=False)
        if self.weight < 0:
            raise ValueError(f"`weight` must be non-negative, got {weight!r}.")
        self.target = self._check_key("target", self.default_target if target is None else target)
        if self.default_target is None and target is not None:
            raise ValueError(f"{type(self).__name__} reads no target, got `target`={target!r}.")
        self.mask = self._check_key("mask", mask)
        name = self.default_name if name is None else name
        if not isinstance(name, str) or not name:
            raise ValueError(f"`name` must be a non-empty string, got {name!r}.")
        self.name = name

    @staticmethod
    def _check_key(argument: str, key):
        if key is not None and (not isinstance(key, str) or not key):
            raise ValueError(f"`{argument}` must be None or the name of an entry of `y` (a string), got {key!r}.")
        return key

    @property
    def keys(self) -> tuple[str, ...]:
        """The keys of ``y`` this term reads."""
        return tuple(key for key in (self.target, self.mask) if key is not None)

    def per_point(self, field: dict, target):
        """The unweighted loss at each point, shape ``(...)`` (the coordinates' shape without its last axis).

        Args:
            field: ``{"coordinates", "values" (..., out), "jacobian" (..., out, in), "laplacian" (..., out)}``, the
                derivatives present as :attr:`needs` asks, all float32.
            target: ``y[self.target]`` as a float32 tensor, or ``None`` for a term without target.
        """
        raise NotImplementedError

    def __call__(self, field: dict, targets: dict):
        """The weighted (and masked) loss at each point, shape ``(...)``."""
        target = None if self.target is None else ops.cast(targets[self.target], "float32")
        loss = self.per_point(field, target) * self.weight
        if self.mask is not None:
            loss = loss * _per_point(targets[self.mask], loss, self.mask)
        return loss

    def get_config(self) -> dict:
        config = {"weight": self.weight, "mask": self.mask, "name": self.name}
        if self.default_target is not None:
            config["target"] = self.target
        return config

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)

    def __repr__(self) -> str:
        arguments = ", ".join(f"{key}={value!r}" for key, value in self.get_config().items())
        return f"{type(self).__name__}({arguments})"


def _per_point(array, like, key: str):
    """``array`` (``(...)`` or ``(..., 1)``) as float32 of the per-point shape of ``like``."""
    array = ops.cast(array, "float32")
    if len(array.shape) == len(like.shape) + 1:
        if array.shape[-1] != 1:
            raise ValueError(f"`y[{key!r}]` must have one value per point, got shape {tuple(array.shape)}.")
        array = ops.squeeze(array, axis=-1)
    return array


@register
class ValueLoss(DerivativeLoss):
    """Mean squared error of the values: ``mean_c (f_c - t_c)^2`` per point (the usual fitting loss)."""

    default_target = "values"
    default_name = "value_loss"

    def per_point(self, field, target):
        return ops.mean(ops.square(field["values"] - target), axis=-1)


@register
class GradientLoss(DerivativeLoss):
    """Squared error of the gradients, summed over the coordinate axes: ``mean_c sum_j (df_c/dx_j - t_cj)^2``.

    The target is ``(N, in_dims)`` for a scalar field or ``(N, out_dims, in_dims)``; SIREN's ``gradients_mse``
    (Poisson image reconstruction from gradients).
    """

    needs = ("jacobian",)
    default_target = "gradients"
    default_name = "gradient_loss"

    def per_point(self, field, target):
        jacobian = field["jacobian"]
        if len(target.shape) == len(jacobian.shape) - 1:
            target = ops.expand_dims(target, axis=-2)
        return ops.mean(ops.sum(ops.square(jacobian - target), axis=-1), axis=-1)


@register
class LaplacianLoss(DerivativeLoss):
    """Squared error of the Laplacian: ``mean_c (lap f_c - t_c)^2`` per point (SIREN's ``laplace_mse``)."""

    needs = ("laplacian",)
    default_target = "laplacian"
    default_name = "laplacian_loss"

    def per_point(self, field, target):
        return ops.mean(ops.square(field["laplacian"] - target), axis=-1)


@register
class EikonalLoss(DerivativeLoss):
    """The eikonal term ``| |grad f| - 1 |``: a signed distance function has gradients of unit norm everywhere.

    For a field with several channels, the mean over channels of each channel's term.
    """

    needs = ("jacobian",)
    default_name = "eikonal_loss"

    def per_point(self, field, target):
        return ops.mean(ops.abs(_norm(field["jacobian"]) - 1.0), axis=-1)


@register
class SurfaceLoss(DerivativeLoss):
    """``|f|`` on the surface: a signed distance function is zero there (scalar fields).

    Args:
        mask: the key of ``y`` marking surface points (1) and off-surface points (0); default ``"on_surface"``.
        weight, name: see :class:`DerivativeLoss`.
    """

    default_name = "surface_loss"

    def __init__(self, weight: float = 1.0, mask: str | None = "on_surface", name: str | None = None):
        super().__init__(weight=weight, mask=mask, name=name)

    def per_point(self, field, target):
        return ops.mean(ops.abs(field["values"]), axis=-1)


@register
class NormalLoss(DerivativeLoss):
    """``1 - cos(grad f, n)`` on the surface: the gradient of a signed distance function is the outward normal.

    Args:
        target: the key of ``y`` holding unit normals ``(N, in_dims)``; default ``"normals"``.
        mask: the key marking surface points; default ``"on_surface"``.
        weight, name: see :class:`DerivativeLoss`.
    """

    needs = ("jacobian",)
    default_target = "normals"
    default_name = "normal_loss"

    def __init__(self, weight: float = 1.0, target: str | None = None, mask: str | None = "on_surface",
                 name: str | None = None):
        super().__init__(weight=weight, target=target, mask=mask, name=name)

    def per_point(self, field, target):
        gradient = _scalar_gradient(field, self)
        cosine = ops.sum(gradient * target, axis=-1) / ops.maximum(_norm(gradient) * _norm(target), EPSILON)
        return 1.0 - cosine


@register
class OffSurfaceLoss(DerivativeLoss):
    """``exp(-alpha |f|)`` off the surface: keeps a signed distance function away from zero where there is no surface.

    Args:
        alpha: the decay (100 in SIREN); positive.
        surface: the key of ``y`` marking surface points (1, where the term is 0) and off-surface points (0); ``None``
            applies the term at every point. Default ``"on_surface"``.
        weight, name: see :class:`DerivativeLoss`.
    """

    default_name = "off_surface_loss"

    def __init__(self, weight: float = 1.0, alpha: float = 100.0, surface: str | None = "on_surface",
                 name: str | None = None):
        super().__init__(weight=weight, name=name)
        self.alpha = check_number("`alpha`", alpha)
        self.surface = self._check_key("surface", surface)

    @property
    def keys(self) -> tuple[str, ...]:
        return () if self.surface is None else (self.surface,)

    def per_point(self, field, target):
        return ops.mean(ops.exp(-self.alpha * ops.abs(field["values"])), axis=-1)

    def __call__(self, field, targets):
        loss = self.per_point(field, None) * self.weight
        if self.surface is not None:
            loss = loss * (1.0 - _per_point(targets[self.surface], loss, self.surface))
        return loss

    def get_config(self) -> dict:
        return {"weight": self.weight, "alpha": self.alpha, "surface": self.surface, "name": self.name}


#: SIREN's signed distance loss weights (reference implementation, ``loss_functions.sdf``).
SIREN_SDF_WEIGHTS = {"surface": 3e3, "normal": 1e2, "eikonal": 5e1, "off_surface": 1e2, "alpha": 1e2}


def sdf_losses(surface: float = SIREN_SDF_WEIGHTS["surface"], normal: float = SIREN_SDF_WEIGHTS["normal"],
               eikonal: float = SIREN_SDF_WEIGHTS["eikonal"], off_surface: float = SIREN_SDF_WEIGHTS["off_surface"],
               alpha: float = SIREN_SDF_WEIGHTS["alpha"]) -> list[DerivativeLoss]:
    """SIREN's signed distance loss (Sitzmann et al. 2020, equation 6) as four terms, with its reference weights.

    ``3e3 |f|`` and ``1e2 (1 - cos(grad f, n))`` on surface points, ``5e1 | |grad f| - 1 |`` everywhere and
    ``1e2 exp(-100 |f|)`` off the surface, each averaged over all points of the batch. ``y`` must hold ``"normals"``
    ``(N, d)`` and ``"on_surface"`` ``(N, 1)`` (1 on the surface, 0 off it), as :class:`OrientedPointCloud` yields.

    Returns:
        ``[SurfaceLoss, NormalLoss, EikonalLoss, OffSurfaceLoss]`` for :class:`DerivativeModel`.
    """
    return [
        SurfaceLoss(surface),
        NormalLoss(normal),
        EikonalLoss(eikonal),
        OffSurfaceLoss(off_surface, alpha=alpha),
    ]


@register
class DerivativeModel(keras.Model):
    """A coordinate model trained with losses on its derivatives, through ``model.fit`` on every backend.

    ``call`` is the wrapped model's (``predict`` gives the field's values); ``compute_loss`` adds the loss terms,
    taking the derivatives they need in one :func:`keras_inr.differential.derivatives` call per step (one more forward
    pass than the values alone: the terms do not reuse the ``y_pred`` Keras computes first). Each term is logged
    under its name, next to ``loss``.

    Args:
        inr: the field: a keras-inr model (or any point-wise Keras model of coordinates ``(N, in_dims)``).
        losses: a non-empty list of :class:`DerivativeLoss` terms with distinct names, e.g. ``[GradientLoss()]`` or
            :func:`sdf_losses`.
        **kwargs: standard ``keras.Model`` arguments (``name``).

    Compile it without a loss (``model.compile(optimizer=keras.optimizers.Adam(1e-4))``): the terms are the loss.
    ``y`` is a dict of per-point targets keyed as the terms read them (see the module docstring); sample weights
    weight the points.

    Raises:
        ValueError: naming ``inr`` or ``losses`` when invalid; during ``fit``/``evaluate``, naming ``y`` when it lacks
            a key a term reads.
    """

    def __init__(self, inr, losses, **kwargs):
        super().__init__(**kwargs)
        if isinstance(inr, dict):
            inr = keras.saving.deserialize_keras_object(inr)
        if not isinstance(inr, keras.Layer):
            raise ValueError(f"`inr` must be a Keras model of coordinates (e.g. keras_inr.SIREN), got {inr!r}.")
        if isinstance(losses, DerivativeLoss) or not isinstance(losses, (list, tuple)) or not losses:
            raise ValueError(f"`losses` must be a non-empty list of DerivativeLoss terms, got {losses!r}.")
        terms = [keras.saving.deserialize_keras_object(term) if isinstance(term, dict) else term for term in losses]
        for term in terms:
            if not isinstance(term, DerivativeLoss):
                raise ValueError(
                    f"`losses` must hold DerivativeLoss terms (keras_inr.derivative_losses), got {term!r}."
                )
        names = [term.name for term in terms]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"The terms of `losses` must have distinct names, got {repeated} more than once.")
        self.inr = inr
        self._terms = tuple(terms)
        self.term_trackers = [keras.metrics.Mean(name=term.name) for term in terms]
        self.needs_jacobian = any("jacobian" in term.needs for term in terms)
        self.needs_laplacian = any("laplacian" in term.needs for term in terms)
        self.out_dims = getattr(inr, "out_dims", None)
        self.in_dims = getattr(inr, "in_dims", None)
        if inr.built and self.in_dims is not None:
            self.built = True

    @property
    def loss_terms(self) -> tuple[DerivativeLoss, ...]:
        """The loss terms, in order."""
        return self._terms

    @property
    def target_keys(self) -> tuple[str, ...]:
        """The keys of ``y`` the terms read, in order of first use."""
        return tuple(dict.fromkeys(key for term in self._terms for key in term.keys))

    def build(self, input_shape):
        if not self.inr.built:
            self.inr.build(input_shape)
        self.in_dims = getattr(self.inr, "in_dims", None) or int(input_shape[-1])
        self.built = True

    def call(self, inputs, training=None):
        return self.inr(inputs)

    def compute_output_shape(self, input_shape):
        return self.inr.compute_output_shape(input_shape)

    def _targets(self, y) -> dict:
        keys = self.target_keys
        if y is None:
            targets = {}
        elif isinstance(y, dict):
            targets = y
        elif len(keys) == 1:
            targets = {keys[0]: y}
        else:
            raise ValueError(
                f"`y` must be a dict with the keys {list(keys)} that the loss terms read, got a single "
                f"{type(y).__name__}."
            )
        missing = [key for key in keys if key not in targets]
        if missing:
            readers = [term.name for term in self._terms if set(term.keys) & set(missing)]
            raise ValueError(
                f"`y` has no {missing} (read by the loss terms {readers}); got keys {sorted(targets)}."
            )
        return targets

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        targets = self._targets(y)
        if self.needs_jacobian or self.needs_laplacian:
            field = differential.derivatives(
                self.inr, x, jacobian=self.needs_jacobian, laplacian=self.needs_laplacian
            )
        else:
            field = {"values": ops.cast(y_pred, "float32")}
        field["coordinates"] = x
        weights = None if sample_weight is None else ops.cast(sample_weight, "float32")
        total = None
        for term, tracker in zip(self._terms, self.term_trackers):
            per_point = term(field, targets)
            if weights is not None:  # Keras' convention: the mean of weighted losses over the batch
                per_point = per_point * _per_point(weights, per_point, "sample_weight")
            value = ops.mean(per_point)
            tracker.update_state(ops.stop_gradient(value))
            total = value if total is None else total + value
        # Terms on derivatives alone do not depend on the output bias (the field's unknown constant); a zero multiple
        # of the values gives it a zero gradient instead of none, so optimizers do not warn that it has no gradient.
        total = total + 0.0 * ops.sum(field["values"])
        for loss in self.losses:  # regularisers of the wrapped model
            total = total + ops.cast(loss, "float32")
        return total

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            inr=keras.saving.serialize_keras_object(self.inr),
            losses=[keras.saving.serialize_keras_object(term) for term in self._terms],
        )
        return config

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)


class TargetBatch(keras.utils.PyDataset):
    """The whole training set with a dict of targets, served as one batch at every step (full-batch ``fit``).

    Args:
        coordinates: ``(N, in_dims)`` array; real and finite.
        targets: a dict of arrays with ``N`` rows each (``{"gradients": (N, 2)}``); real and finite.
        steps: optimiser steps of the run; positive.
        steps_per_epoch: optional steps per epoch (``steps`` must be a multiple of it); see :attr:`epochs`.

    Attributes:
        epochs: the ``epochs`` to give ``fit`` for ``steps`` steps.

    Yields:
        ``(coordinates, targets)``: the same backend tensors at every index (converted once).
    """

    def __init__(self, coordinates, targets: dict, steps: int, steps_per_epoch: int | None = None):
        super().__init__()
        steps = check_positive_int("steps", steps)
        per_epoch = steps if steps_per_epoch is None else check_positive_int("steps_per_epoch", steps_per_epoch)
        if steps % per_epoch:
            raise ValueError(f"`steps` ({steps}) must be a multiple of `steps_per_epoch` ({per_epoch}).")
        self.steps_per_epoch, self.epochs = per_epoch, steps // per_epoch
        coordinates = check_real_array("coordinates", coordinates, ndim=2)
        if not isinstance(targets, dict) or not targets:
            raise ValueError(f"`targets` must be a non-empty dict of per-point arrays, got {type(targets).__name__}.")
        checked = {}
        for key, array in targets.items():
            array = check_real_array(f"targets[{key!r}]", array)
            if array.ndim < 1 or len(array) != len(coordinates):
                raise ValueError(
                    f"`targets[{key!r}]` must have one row per point ({len(coordinates)}), got shape {array.shape}."
                )
            checked[key] = keras.ops.convert_to_tensor(array, "float32")
        self.coordinates = keras.ops.convert_to_tensor(coordinates, "float32")
        self.targets = checked

    def __len__(self) -> int:
        return self.steps_per_epoch

    def __getitem__(self, index: int):
        return self.coordinates, self.targets


def full_batch_targets(coordinates, targets: dict, steps: int, steps_per_epoch: int | None = None) -> TargetBatch:
    """``TargetBatch(coordinates, targets, steps, steps_per_epoch)``: full-batch ``fit`` of a
    :class:`DerivativeModel` (``model.fit(dataset, epochs=dataset.epochs)``)."""
    return TargetBatch(coordinates, targets, steps, steps_per_epoch)


class OrientedPointCloud(SeededBatches):
    """SIREN's signed distance batches from an oriented point cloud (surface points and their unit normals).

    Each batch holds ``batch_size // 2`` surface points drawn from the cloud (with their normals, ``on_surface = 1``)
    and as many points drawn uniformly in ``[-bound, bound]^d`` (``on_surface = 0``, normals 0), as the reference
    implementation's point-cloud dataset does. Draws are seeded by ``(seed, epoch, index)`` (see
    :class:`keras_inr.data.SeededBatches`).

    Args:
        points: ``(P, d)`` surface points, inside ``[-bound, bound]^d``; real and finite.
        normals: ``(P, d)`` outward normals (normalised here); real, finite and non-zero.
        batch_size: points per batch (even; half on the surface); positive.
        steps_per_epoch: batches per epoch.
        bound: half-width of the cube the off-surface points are drawn in (1: the coordinate domain).
        seed: seed of the draws.

    Yields:
        ``(coordinates (batch_size, d), {"normals": (batch_size, d), "on_surface": (batch_size, 1)})`` in float32,
        the targets :func:`sdf_losses` reads.
    """

    def __init__(self, points, normals, batch_size: int = 4096, steps_per_epoch: int = 100, bound: float = 1.0,
                 seed: int = 0, **kwargs):
        super().__init__(batch_size, steps_per_epoch, seed, **kwargs)
        points = check_real_array("points", points, ndim=2).astype(np.float32)
        normals = check_real_array("normals", normals, ndim=2).astype(np.float64)
        if normals.shape != points.shape:
            raise ValueError(
                f"`normals` must have the shape of `points` {points.shape} (one normal per point), got {normals.shape}."
            )
        lengths = np.linalg.norm(normals, axis=-1, keepdims=True)
        if (lengths == 0).any():
            raise ValueError(f"`normals` has {int((lengths == 0).sum())} zero vector(s); normals must be non-zero.")
        if self.batch_size < 2 or self.batch_size % 2:
            raise ValueError(f"`batch_size` must be even (half surface, half off-surface points), got {batch_size}.")
        self.bound = check_number("`bound`", bound)
        self.points, self.normals = points, (normals / lengths).astype(np.float32)

    def draw(self, rng: np.random.Generator):
        half = self.batch_size // 2
        dims = self.points.shape[1]
        chosen = rng.integers(0, len(self.points), size=half)
        off = rng.uniform(-self.bound, self.bound, size=(half, dims)).astype(np.float32)
        coordinates = np.concatenate([self.points[chosen], off])
        normals = np.concatenate([self.normals[chosen], np.zeros((half, dims), np.float32)])
        on_surface = np.concatenate([np.ones((half, 1), np.float32), np.zeros((half, 1), np.float32)])
        return coordinates, {"normals": normals, "on_surface": on_surface}
