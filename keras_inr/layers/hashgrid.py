"""The multiresolution hash encoding of instant-ngp, written once in ``keras.ops`` for JAX, TensorFlow and PyTorch.

Mueller, Evans, Schied & Keller 2022, "Instant Neural Graphics Primitives with a Multiresolution Hash Encoding",
https://arxiv.org/abs/2201.05989, section 3. ``L`` grids of resolutions growing geometrically from ``N_min`` to
``N_max`` (equations 2-3) each own a table of trainable feature vectors (``F`` features per entry). A coordinate is
located in every grid; the feature vectors of the ``2^d`` corners of its cell are looked up -- directly where the
level's grid has at most ``T`` vertices, through the spatial hash of equation 4 where it has more -- and
d-linearly interpolated. The ``L`` interpolated vectors, concatenated, are the encoding (``L * F`` features).

Integer arithmetic: equation 4 hashes ``XOR_i (x_i * pi_i) mod T`` in uint32 arithmetic that wraps. The three
backends disagree on unsigned and 64-bit integers (JAX keeps int32 unless x64 is enabled; TensorFlow has no uint32
multiply on every device), so :func:`hash_indices` computes the same value in int32 *without any overflow*: ``T`` is a
power of two, so only the low ``log2 T`` bits of each product matter, and the product is assembled from 15-bit limbs
whose partial products stay below ``2^31``. The indices are therefore identical on every backend and device (tested
against a uint64 numpy reference).

Gradients: the table is read with one gather of all levels and corners. The gradient of that gather is a
scatter-add into an array of the table's shape (exactly the table's size, never larger): JAX (``keras.ops.take``)
produces it so; TensorFlow's own ``tf.gather`` gradient would be ``tf.IndexedSlices`` with one row per lookup --
several times the table for a full image, and applied wrongly by Keras' Adam where a row repeats -- so on TensorFlow
:func:`keras_inr.backends.hashgrid_tensorflow.take_rows` sums it per row into the same dense gradient. On PyTorch,
which runs the layer eagerly op by op, :func:`keras_inr.backends.hashgrid_torch.interpolate` gathers and weights the
corners in one kernel and scatter-adds the same dense gradient (``index_add_``). The cost per backend is measured in
BENCHMARKS.md, section 8.
"""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import ops

from keras_inr import initializers as inr_initializers
from keras_inr.layers.encodings import _Float32Encoding
from keras_inr.saving import register
from keras_inr.validation import check_bool, check_positive_int, check_seed

#: The hash primes ``pi_i`` of equation 4 (the paper gives the first three, for ``d <= 3``); the further four are the
#: large odd constants instant-ngp's code uses for higher dimensions. Hashed levels support ``d <= 7`` coordinates.
HASH_PRIMES = (1, 2654435761, 805459861, 3674653429, 2097192037, 1434869437, 2165219737)
#: Largest ``log2_table_size``: the int32 limb arithmetic of :func:`hash_indices` is exact up to ``T = 2^30``.
MAX_LOG2_TABLE_SIZE = 30
#: Largest grid resolution: float32 coordinates in ``[0, 1]`` have 24 significant bits, so at ``2^20`` cells per axis
#: the position inside a cell keeps 4 bits; integer corners stay far below the ``2^30`` the hash accepts.
MAX_RESOLUTION = 2**20
#: Largest total number of table entries (all levels): indices are int32.
MAX_TABLE_ENTRIES = 2**31 - 1

_LIMB = 15
_LIMB_MASK = (1 << _LIMB) - 1


def level_resolutions(levels: int, base_resolution: int, finest_resolution: int) -> list[int]:
    """Grid resolutions ``N_l = floor(N_min * b^l)``, ``b = exp((ln N_max - ln N_min) / (L - 1))``.

    Mueller et al. 2022, https://arxiv.org/abs/2201.05989, equations 2 and 3. With one level, ``b = 1``.

    Args:
        levels: ``L``.
        base_resolution: ``N_min``, cells per axis of the coarsest grid.
        finest_resolution: ``N_max``, cells per axis of the finest grid.

    Returns:
        ``L`` integers, non-decreasing, from ``N_min`` to ``N_max``.
    """
    if levels == 1:
        return [int(base_resolution)]
    growth = math.exp((math.log(finest_resolution) - math.log(base_resolution)) / (levels - 1))
    # The small epsilon keeps floor(16 * b^(L-1)) at N_max where b^(L-1) rounds just below N_max / N_min.
    return [int(math.floor(base_resolution * growth**level * (1.0 + 1e-9))) for level in range(levels)]


def _hash_terms(x, primes, log2_table_size: int):
    """``(x * pi) mod 2^k`` element-wise in int32 without overflow, ``pi`` broadcast against ``x``.

    The limb arithmetic of :func:`hash_indices`: ``x = x0 + 2^15 x1`` and ``pi mod 2^30 = p0 + 2^15 p1`` give
    ``x pi = x0 p0 + 2^15 (x0 p1 + x1 p0) mod 2^k`` for ``k <= 30``, every partial product below ``2^31``.

    Args:
        x: int32 tensor of grid coordinates in ``[0, 2^30)``.
        primes: Python int, or int array broadcastable against ``x`` (one prime per axis).
        log2_table_size: ``k`` in ``[1, MAX_LOG2_TABLE_SIZE]``.

    Returns:
        int32 tensor of ``x``'s broadcast shape, values in ``[0, 2^k)``.
    """
    mask = (1 << log2_table_size) - 1
    high_mask = (1 << max(log2_table_size - _LIMB, 0)) - 1
    primes = np.asarray(primes, dtype=np.int64) & ((1 << (2 * _LIMB)) - 1)
    p0, p1 = primes & _LIMB_MASK, primes >> _LIMB
    if p0.ndim:  # per-axis limbs as int32 tensors (PyTorch warns on numpy-tensor arithmetic)
        p0, p1 = ops.convert_to_tensor(p0.astype("int32")), ops.convert_to_tensor(p1.astype("int32"))
    else:
        p0, p1 = int(p0), int(p1)
    x0 = ops.bitwise_and(x, _LIMB_MASK)
    low = ops.bitwise_and(x0 * p0, mask)
    if not high_mask:
        return low
    x1 = ops.right_shift(x, _LIMB)
    middle = ops.left_shift(ops.bitwise_and(x0 * p1 + x1 * p0, high_mask), _LIMB)
    return ops.bitwise_and(low + middle, mask)


def hash_indices(corners, log2_table_size: int):
    """Spatial hash ``(XOR_i x_i pi_i) mod T`` of integer grid corners, exact in int32 on every backend.

    Mueller et al. 2022, https://arxiv.org/abs/2201.05989, equation 4, with ``T = 2^log2_table_size``. Each product
    ``x_i pi_i mod 2^k`` is built from 15-bit limbs ``x = x0 + 2^15 x1`` and ``pi = p0 + 2^15 p1`` (only ``pi mod
    2^30`` matters for ``k <= 30``): ``x0 p0 + 2^15 (x0 p1 + x1 p0)`` modulo ``2^k``, every partial product below
    ``2^31``.

    Args:
        corners: int32 tensor ``(..., d)`` of grid coordinates in ``[0, 2^30)``, ``d <= len(HASH_PRIMES)``.
        log2_table_size: ``k`` in ``[1, MAX_LOG2_TABLE_SIZE]``.

    Returns:
        int32 tensor ``(...)`` of indices in ``[0, 2^k)``.
    """
    dims = corners.shape[-1]
    if dims > len(HASH_PRIMES):
        raise ValueError(f"the spatial hash takes at most {len(HASH_PRIMES)}-D coordinates, got {dims}-D corners.")
    result = None
    for axis in range(dims):
        term = _hash_terms(corners[..., axis], HASH_PRIMES[axis], log2_table_size)
        result = term if result is None else ops.bitwise_xor(result, term)
    return result


def _corner_product(sides, combine):
    """Combine per-axis values of a cell's two sides into its ``2^d`` corners: corner ``c`` takes side
    ``(c >> i) & 1`` along axis ``i``.

    Args:
        sides: ``d`` pairs ``(low, high)`` of tensors of one shape ``(...)``, the values of axis ``i`` at the cell's
            lower and upper side.
        combine: the binary operation, called as ``combine(side of axis i, combination of axes < i)``.

    Returns:
        ``(..., 2^d)``: the combinations, built axis by axis (``2^(i+1)`` operations on ``(...)``-shaped tensors at
        axis ``i``, then one stack), instead of ``d`` operations per corner on ``(..., 2^d, d)`` tensors.
    """
    result = list(sides[0])
    for low, high in sides[1:]:
        result = [combine(side, earlier) for side in (low, high) for earlier in result]
    return ops.stack(result, axis=-1)


@register
class HashGridEncoding(_Float32Encoding):
    """Multiresolution hash encoding (instant-ngp): trainable feature grids at ``L`` resolutions, d-linearly read.

    Mueller et al. 2022, "Instant Neural Graphics Primitives with a Multiresolution Hash Encoding",
    https://arxiv.org/abs/2201.05989, section 3 (equations 2-4) and section 4 (``L = 16``, ``F = 2``,
    ``T = 2^14 .. 2^24``, ``N_min = 16``, tables initialised from ``U(-1e-4, 1e-4)``).

    Coordinates in ``[-1, 1]`` (keras-inr's convention) are mapped to ``[0, 1]``; values outside are clamped to the
    boundary. Level ``l`` divides each axis into ``N_l`` cells (:func:`level_resolutions`); its grid has
    ``(N_l + 1)^d`` vertices. Where that is at most ``T`` the level's table has one entry per vertex (direct
    indexing, no collisions); otherwise it has ``T`` entries addressed by :func:`hash_indices`. All levels live in one
    trainable table of shape ``(total_entries, F)`` (one gather per call). Works for coordinates of any dimension
    ``d`` (hashed levels need ``d <= 7``).

    Args:
        levels: ``L``, the number of resolutions; a positive integer.
        features_per_level: ``F``, features per table entry; a positive integer.
        log2_table_size: ``log2 T``, the most entries a level's table has; an integer in ``[1, 30]`` (the paper
            uses 14 to 24; 19 is instant-ngp's default).
        base_resolution: ``N_min``, cells per axis of the coarsest level; a positive integer.
        finest_resolution: ``N_max``, cells per axis of the finest level; an integer in
            ``[base_resolution, 2^20]``. For an image, about its size in pixels (512: up to 512x512 images).
        seed: optional integer seed of the table initialisation, in ``[0, 2**32 - 1]``.
        trainable: whether the table is trained; a bool.
        **kwargs: standard layer arguments (``name``, ``dtype``).

    Shapes:
        input ``(..., d)`` float coordinates; output ``(..., L * F)`` in the compute dtype, level by level (the ``F``
        features of the coarsest level first). Interpolation is computed in float32 under every dtype policy.

    Raises:
        ValueError: naming the argument for a bad value, or (when built) for coordinates of unknown dimension, more
            than 7 dimensions with a hashed level, or more than ``2^31 - 1`` table entries in all.

    Example:
        >>> encoding = HashGridEncoding(levels=4, features_per_level=2, log2_table_size=12, finest_resolution=64)
        >>> encoding(keras.ops.zeros((10, 2))).shape
        (10, 8)
    """

    def __init__(
        self,
        levels: int = 16,
        features_per_level: int = 2,
        log2_table_size: int = 19,
        base_resolution: int = 16,
        finest_resolution: int = 512,
        seed: int | None = None,
        trainable: bool = True,
        **kwargs,
    ):
        super().__init__(trainable=check_bool("trainable", trainable), **kwargs)
        self.levels = check_positive_int("levels", levels)
        self.features_per_level = check_positive_int("features_per_level", features_per_level)
        self.log2_table_size = check_positive_int("log2_table_size", log2_table_size)
        if self.log2_table_size > MAX_LOG2_TABLE_SIZE:
            raise ValueError(
                f"`log2_table_size` must be at most {MAX_LOG2_TABLE_SIZE} (tables of up to 2^30 entries per level), "
                f"got {log2_table_size!r}."
            )
        self.base_resolution = check_positive_int("base_resolution", base_resolution)
        self.finest_resolution = check_positive_int("finest_resolution", finest_resolution)
        if not self.base_resolution <= self.finest_resolution <= MAX_RESOLUTION:
            raise ValueError(
                f"`finest_resolution` must lie in [base_resolution, 2^20] = [{self.base_resolution}, {MAX_RESOLUTION}]"
                f", got {finest_resolution!r}."
            )
        self.seed = check_seed("seed", seed)
        self.resolutions = level_resolutions(self.levels, self.base_resolution, self.finest_resolution)

    @property
    def table_size(self) -> int:
        """``T``, the most entries of one level's table."""
        return 1 << self.log2_table_size

    def level_sizes(self, in_dims: int) -> list[int]:
        """Entries of each level's table for ``in_dims``-D coordinates: ``min((N_l + 1)^d, T)``."""
        return [min((resolution + 1) ** in_dims, self.table_size) for resolution in self.resolutions]

    def build(self, input_shape):
        in_dims = input_shape[-1]
        if in_dims is None:
            raise ValueError(f"The last dimension of the inputs of {self.name} must be known, got {input_shape}.")
        self.in_dims = int(in_dims)
        sizes = self.level_sizes(self.in_dims)
        hashed = [(resolution + 1) ** self.in_dims > self.table_size for resolution in self.resolutions]
        if any(hashed) and self.in_dims > len(HASH_PRIMES):
            raise ValueError(
                f"{self.name}: {self.in_dims}-D coordinates need the spatial hash at some level, which takes at most "
                f"{len(HASH_PRIMES)} dimensions; raise `log2_table_size` or lower `finest_resolution` so that every "
                "level is indexed directly."
            )
        total = sum(sizes)
        if total > MAX_TABLE_ENTRIES:
            raise ValueError(
                f"{self.name}: the tables would hold {total} entries in all, more than int32 indices address "
                f"({MAX_TABLE_ENTRIES}); lower `log2_table_size` or `levels`."
            )
        # Resolutions grow with the level, so the directly indexed levels come first and the hashed ones last.
        self._num_direct = hashed.index(True) if any(hashed) else self.levels
        self._offsets = np.cumsum([0, *sizes[:-1]]).astype("int32")
        self._strides = np.array(
            [[(resolution + 1) ** axis for axis in range(self.in_dims)] if not is_hashed else [0] * self.in_dims
             for resolution, is_hashed in zip(self.resolutions, hashed)],
            dtype="int32",
        )
        # The 2^d corners of a cell as 0/1 offsets along each axis, and for the directly indexed levels each
        # corner's row relative to the cell's origin vertex (the level's offset included).
        self._corner_bits = np.array(
            [[(corner >> axis) & 1 for axis in range(self.in_dims)] for corner in range(2**self.in_dims)],
            dtype="int32",
        )
        self._direct_corner_rows = (
            self._offsets[: self._num_direct, None] + self._strides[: self._num_direct] @ self._corner_bits.T
        ).astype("int32")  # (L_direct, 2^d)
        self.table = self.add_weight(
            name="table", shape=(total, self.features_per_level),
            initializer=inr_initializers.HashTableUniform(seed=self.seed), trainable=self.trainable, autocast=False,
        )
        self.input_spec = keras.layers.InputSpec(min_ndim=1, axes={-1: self.in_dims})

    def corner_indices(self, coordinates):
        """Table rows and interpolation weights of the ``2^d`` cell corners of every level.

        Corner ``c`` of a cell lies at ``origin + bits(c)``, with bit ``i`` of ``c`` the offset along axis ``i``.
        Directly indexed levels read row ``offset_l + sum_i x_i stride_i`` (``stride_i = (N_l + 1)^i``), computed
        once per cell plus a constant per corner; hashed levels XOR the per-axis hash terms ``x_i pi_i mod T`` of
        the cell's two sides (equation 4), and the d-linear weights are products of the per-axis factors
        ``1 - f_i`` and ``f_i`` -- so the per-corner work is one addition, XOR or product per corner.

        Args:
            coordinates: float32 ``(..., d)`` in ``[-1, 1]`` (clamped).

        Returns:
            ``(indices, weights)``: int32 ``(..., L, 2^d)`` rows of :attr:`table` and float32 ``(..., L, 2^d)``
            d-linear weights (summing to 1 over the corners).
        """
        unit = ops.clip((coordinates + 1.0) * 0.5, 0.0, 1.0)
        constant = ops.convert_to_tensor  # numpy constants as tensors (PyTorch warns on numpy-tensor arithmetic)
        resolutions = np.asarray(self.resolutions, dtype="float32")
        positions = unit[..., None, :] * constant(resolutions[:, None])  # (..., L, d)
        cells = ops.minimum(ops.floor(positions), constant((resolutions - 1.0)[:, None]))
        fractions = positions - cells  # in [0, 1]
        origin = ops.cast(cells, "int32")  # (..., L, d)
        direct = self._num_direct
        parts = []
        if direct:
            base = ops.sum(origin[..., :direct, :] * constant(self._strides[:direct]), axis=-1)  # (..., L_direct)
            parts.append(base[..., None] + constant(self._direct_corner_rows))
        if direct < self.levels:
            sides = ops.stack([origin[..., direct:, :], origin[..., direct:, :] + 1], axis=-1)  # (..., L_hash, d, 2)
            primes = np.asarray(HASH_PRIMES[: self.in_dims])[:, None]
            terms = _hash_terms(sides, primes, self.log2_table_size)  # (..., L_hash, d, 2)
            hashed = _corner_product([(terms[..., i, 0], terms[..., i, 1]) for i in range(self.in_dims)],
                                     ops.bitwise_xor)
            parts.append(hashed + constant(self._offsets[direct:, None]))
        indices = parts[0] if len(parts) == 1 else ops.concatenate(parts, axis=-2)
        complements = 1.0 - fractions
        weights = _corner_product([(complements[..., i], fractions[..., i]) for i in range(self.in_dims)],
                                  ops.multiply)  # (..., L, 2^d)
        return indices, weights

    def call(self, inputs, training=None):
        coordinates = ops.cast(inputs, "float32")
        indices, weights = self.corner_indices(coordinates)
        backend = keras.backend.backend()
        if backend == "torch":  # gather and weighted sum in one kernel, with a cheap table-shaped gradient
            from keras_inr.backends.hashgrid_torch import interpolate

            features = interpolate(self.table.value, indices, weights)  # (..., L, F)
        else:
            if backend == "tensorflow":  # a dense table-shaped gradient, as on JAX and PyTorch
                from keras_inr.backends.hashgrid_tensorflow import take_rows

                corner_features = take_rows(self.table.value, indices)  # (..., L, 2^d, F)
            else:
                corner_features = ops.take(self.table, indices, axis=0)
            if keras.backend.standardize_dtype(corner_features.dtype) != "float32":
                corner_features = ops.cast(corner_features, "float32")
            features = ops.sum(weights[..., None] * corner_features, axis=-2)  # (..., L, F)
        shape = ops.shape(features)
        features = ops.reshape(features, (*shape[:-2], self.levels * self.features_per_level))
        return self._output(features)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.levels * self.features_per_level)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            levels=self.levels, features_per_level=self.features_per_level, log2_table_size=self.log2_table_size,
            base_resolution=self.base_resolution, finest_resolution=self.finest_resolution, seed=self.seed,
        )
        return config
