"""Continuous signals of any dimension: interpolation of arrays, signal objects, loaders and writers.

An implicit neural representation is fitted to a *continuous* function of the coordinates. This module turns data of
any dimension into such a function and back:

* :func:`interpolate` samples an array ``(*grid, C)`` -- audio ``(T, C)``, an image ``(H, W, C)``, a video or a
  volume ``(D, H, W, C)`` -- at coordinates ``(N, d)`` in ``[-1, 1]``, n-linearly (``"linear"``) or piecewise
  constantly (``"nearest"``). It uses :func:`keras_inr.data.coordinate_grid`'s convention: axis ``k`` of size ``n``
  holds its samples at ``linspace(-1, 1, n)``, so ``-1`` and ``1`` are the centres of the first and the last sample
  (not the outer edges of the first and last pixels). Interpolating at a grid's own coordinates gives the array's
  values back exactly. Coordinates outside ``[-1, 1]`` are clamped (the border values extend outwards).
  Given numpy arrays it computes with numpy (positions in float64); given a backend tensor it computes with
  ``keras.ops``, so it runs on JAX, TensorFlow and PyTorch, inside compiled steps, and is differentiable with
  respect to the coordinates (piecewise, for ``"linear"``).
* :class:`Signal` is a continuous target: :class:`ArraySignal` wraps an array (interpolated), :class:`FunctionSignal`
  wraps any callable of the coordinates (numpy or ``keras.ops``); :func:`as_signal` makes one from either.
  :class:`keras_inr.samplers.SignalDataset` feeds ``model.fit`` from a signal and a sampler.
* Loaders (:func:`load_array`, :func:`load_wav`, :func:`load_video`, :func:`load_signal`) read ``.npy`` arrays, WAV
  audio, GIFs and folders of frames as ``float32`` arrays with a channel axis last.
* Writers: :func:`write_wav`, :func:`save_gif` (frames of a video or slices of a volume), :func:`save_signal`
  (chooses by the file's suffix), :func:`render_signal` (a model rendered on a grid of any dimension in bounded-size
  chunks, optionally written), figures (:func:`save_waveform_plot` for 1-D, :func:`save_frames_figure` for 3-D), the
  metrics :func:`snr` and :func:`frame_psnr`, and the callbacks :class:`SignalSnapshots` and :class:`SignalPSNR`
  (snapshots and PSNR/SNR of a full render for 1-D, 2-D and 3-D signals). Every writer writes under a temporary
  name and renames it over the target (:func:`keras_inr.safe_files.atomic_path`), so an interrupted write leaves the
  previous file whole.

Layouts (all ``float32``, channels last):

* audio (:func:`load_wav`): ``(T, C)`` in ``[-1, 1]`` (integer PCM divided by its full scale);
* images (:func:`keras_inr.data.load_image`): ``(H, W, C)`` in ``[0, 1]``;
* video (:func:`load_video`): ``(T, H, W, C)`` in ``[0, 1]``, ``C`` = 1 (grey) or 3 (RGB);
* ``.npy`` (:func:`load_array`): as stored, cast to ``float32``.
"""

from __future__ import annotations

import itertools
import math
import os
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import keras
import numpy as np
from keras import ops

from keras_inr.safe_files import atomic_path
from keras_inr.validation import (
    check_choice,
    check_path,
    check_positive_float,
    check_positive_int,
    check_real_array,
    check_shape,
)

#: Interpolation methods of :func:`interpolate`.
METHODS = ("linear", "nearest")

#: Frame file suffixes :func:`load_video` reads from a folder.
FRAME_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


# ----------------------------------------------------------------------------------------------------------------
# interpolation
# ----------------------------------------------------------------------------------------------------------------
def _is_tensor(value) -> bool:
    """A backend tensor (eager or traced) or a symbolic Keras tensor: the ``keras.ops`` path."""
    return isinstance(value, keras.KerasTensor) or ops.is_tensor(value)


def _static_shape(value) -> tuple:
    return tuple(value.shape)


def _check_grid_array(array, name: str = "array") -> np.ndarray:
    """A numpy signal array ``(*grid, C)``: real, finite, non-empty, at least 2-D; returned as float32."""
    array = check_real_array(name, array, allow_empty=True)
    if array.ndim < 2:
        raise ValueError(
            f"`{name}` must have shape (*grid, C) with a channel axis last (e.g. (T, 1) for mono audio, (H, W, C) "
            f"for an image), got shape {array.shape}; add a channel axis with {name}[..., None]."
        )
    if array.size == 0:
        raise ValueError(f"`{name}` is empty (shape {array.shape}); a signal needs at least one sample.")
    check_shape(array.shape[:-1], name=f"{name}.shape[:-1]")
    check_real_array(name, array)  # NaN / infinity, now that the array is known to be non-empty
    return np.ascontiguousarray(array, dtype=np.float32)


def _check_coordinates_for(coordinates, in_dims: int, name: str = "coordinates") -> np.ndarray:
    coordinates = check_real_array(name, coordinates, ndim=2, allow_empty=True)
    if coordinates.shape[1] != in_dims:
        raise ValueError(
            f"`{name}` must have shape (N, {in_dims}) for a signal with {in_dims}-D coordinates, got shape "
            f"{coordinates.shape}."
        )
    return coordinates


def _strides(shape: Sequence[int]) -> list[int]:
    """Row-major strides, in elements, of a grid of this shape."""
    strides = [1] * len(shape)
    for axis in range(len(shape) - 2, -1, -1):
        strides[axis] = strides[axis + 1] * shape[axis + 1]
    return strides


def _snap_tolerance(size: int) -> float:
    """How far (in samples) a numpy position may be from an integer and still be read as that sample: four times
    the largest error float32 coordinates make (half an ulp of values in ``[0.5, 1)``, scaled to samples)."""
    return 2.0**-24 * max(size - 1, 0)


def _interpolate_numpy(array: np.ndarray, coordinates: np.ndarray, method: str) -> np.ndarray:
    shape = array.shape[:-1]
    channels = array.shape[-1]
    flat = array.reshape(-1, channels)
    strides = _strides(shape)
    sizes = np.asarray(shape, dtype=np.float64)
    positions = (np.clip(coordinates.astype(np.float64), -1.0, 1.0) + 1.0) * 0.5 * (sizes - 1.0)
    if method == "nearest":
        indices = np.clip(np.floor(positions + 0.5), 0, sizes - 1).astype(np.int64)
        return flat[indices @ np.asarray(strides, dtype=np.int64)].astype(np.float32)
    # a position within float32 rounding of a sample is that sample: grid coordinates give the array back exactly
    rounded = np.rint(positions)
    tolerance = np.asarray([_snap_tolerance(size) for size in shape])
    positions = np.where(np.abs(positions - rounded) <= tolerance, rounded, positions)
    lower = np.clip(np.floor(positions), 0, np.maximum(sizes - 2, 0)).astype(np.int64)
    fraction = positions - lower
    upper = np.minimum(lower + 1, np.asarray(shape) - 1)
    moving = [axis for axis, size in enumerate(shape) if size > 1]  # size-1 axes have one corner
    base = lower @ np.asarray(strides, dtype=np.int64)
    result = np.zeros((len(coordinates), channels), dtype=np.float64)
    for corner in itertools.product((0, 1), repeat=len(moving)):
        index = base.copy()
        weight = np.ones(len(coordinates), dtype=np.float64)
        for axis, bit in zip(moving, corner):
            if bit:
                index += (upper[:, axis] - lower[:, axis]) * strides[axis]
                weight *= fraction[:, axis]
            else:
                weight *= 1.0 - fraction[:, axis]
        result += flat[index] * weight[:, None]
    return result.astype(np.float32)


def _flat_index(indices, strides: Sequence[int]):
    """Row-major flat indices of per-axis integer indices ``(N, d)`` (a tensor), with Python-int strides."""
    flat = None
    for axis, stride in enumerate(strides):
        term = indices[:, axis] if stride == 1 else indices[:, axis] * stride
        flat = term if flat is None else flat + term
    return flat


def _interpolate_ops(array, coordinates, method: str):
    array = array if _is_tensor(array) else ops.convert_to_tensor(np.asarray(array, dtype=np.float32))
    grid_shape = _static_shape(array)[:-1]
    if any(size is None for size in _static_shape(array)):
        raise ValueError(f"`array` must have a static shape to be interpolated, got {_static_shape(array)}.")
    channels = _static_shape(array)[-1]
    dtype = coordinates.dtype if "float" in str(coordinates.dtype) else "float32"
    dtype = keras.backend.standardize_dtype(dtype)
    flat = ops.cast(ops.reshape(array, (-1, channels)), dtype)
    coordinates = ops.cast(coordinates, dtype)
    strides = _strides(grid_shape)
    scale = ops.convert_to_tensor(np.asarray([0.5 * (size - 1) for size in grid_shape]), dtype)
    last = np.asarray([size - 1 for size in grid_shape])
    positions = (ops.clip(coordinates, -1.0, 1.0) + 1.0) * scale
    if method == "nearest":
        indices = ops.minimum(ops.cast(ops.floor(positions + 0.5), "int32"), ops.convert_to_tensor(last, "int32"))
        return ops.take(flat, _flat_index(ops.maximum(indices, 0), strides), axis=0)
    highest_lower = ops.convert_to_tensor(np.maximum(last - 1, 0), dtype)
    lower_float = ops.minimum(ops.maximum(ops.floor(positions), 0.0), highest_lower)
    fraction = positions - lower_float  # the gradient with respect to the coordinates flows through here
    lower = ops.cast(lower_float, "int32")
    upper = ops.minimum(lower + 1, ops.convert_to_tensor(last, "int32"))
    moving = [axis for axis, size in enumerate(grid_shape) if size > 1]
    base = _flat_index(lower, strides)
    result = None
    for corner in itertools.product((0, 1), repeat=len(moving)):
        index = base
        weight = None
        for axis, bit in zip(moving, corner):
            if bit:
                index = index + (upper[:, axis] - lower[:, axis]) * strides[axis]
                factor = fraction[:, axis]
            else:
                factor = 1.0 - fraction[:, axis]
            weight = factor if weight is None else weight * factor
        term = ops.take(flat, index, axis=0)
        if weight is not None:
            term = term * ops.expand_dims(weight, -1)
        result = term if result is None else result + term
    return result


def interpolate(array, coordinates, method: str = "linear"):
    """Sample an array of any dimension at continuous coordinates in ``[-1, 1]``.

    Axis ``k`` of the array's grid, of size ``n``, holds its samples at ``linspace(-1, 1, n)``
    (:func:`keras_inr.data.coordinate_grid`'s convention: ``-1`` and ``1`` are the first and last samples' centres).
    ``"linear"`` interpolates n-linearly between the ``2^d`` surrounding samples (linear for audio, bilinear for
    images, trilinear for videos and volumes); ``"nearest"`` takes the nearest sample (piecewise constant; a point
    exactly halfway goes to the higher index). Coordinates outside ``[-1, 1]`` are clamped to it. A size-1 axis is
    constant along its coordinate.

    Args:
        array: ``(*grid, C)``: ``(T, C)`` audio, ``(H, W, C)`` image, ``(D, H, W, C)`` video or volume, ...; a
            numpy array (real, finite, non-empty) or a backend tensor of static shape.
        coordinates: ``(N, d)`` with ``d = array.ndim - 1``; numpy or a backend tensor.
        method: ``"linear"`` or ``"nearest"``.

    Returns:
        ``(N, C)`` values: a ``float32`` numpy array when both inputs are numpy (computed with numpy, positions in
        float64, and exactly the array's values at the grid's own coordinates), otherwise a tensor computed with
        ``keras.ops`` in the coordinates' float dtype (usable inside compiled train steps and differentiable with
        respect to the coordinates).

    Raises:
        ValueError: naming ``method``, ``array`` (not real, empty, NaN or infinite, no channel axis) or
            ``coordinates`` (not ``(N, d)`` with ``d`` matching the array, NaN).

    Example:
        >>> audio = np.array([[0.0], [1.0], [0.0]], dtype="float32")    # T = 3 at t = -1, 0, 1
        >>> interpolate(audio, np.array([[-0.5], [0.25]], dtype="float32"))
        array([[0.5 ],
               [0.75]], dtype=float32)
    """
    check_choice("method", method, METHODS)
    if _is_tensor(array) or _is_tensor(coordinates):
        if not _is_tensor(array):
            array = _check_grid_array(array)
        array_shape = _static_shape(array)
        if len(array_shape) < 2:
            raise ValueError(f"`array` must have shape (*grid, C) with a channel axis last, got shape {array_shape}.")
        if _is_tensor(coordinates):
            coordinate_shape = _static_shape(coordinates)
            if len(coordinate_shape) != 2 or coordinate_shape[1] != len(array_shape) - 1:
                raise ValueError(
                    f"`coordinates` must have shape (N, {len(array_shape) - 1}) for `array` of shape {array_shape}, "
                    f"got shape {coordinate_shape}."
                )
        else:
            coordinates = ops.convert_to_tensor(
                _check_coordinates_for(coordinates, len(array_shape) - 1).astype(np.float32)
            )
        return _interpolate_ops(array, coordinates, method)
    array = _check_grid_array(array)
    coordinates = _check_coordinates_for(coordinates, array.ndim - 1)
    return _interpolate_numpy(array, coordinates, method)


# ----------------------------------------------------------------------------------------------------------------
# continuous signals
# ----------------------------------------------------------------------------------------------------------------
class Signal:
    """A continuous target: a function from coordinates ``(N, in_dims)`` in ``[-1, 1]`` to values ``(N, out_dims)``.

    Calling a signal on numpy coordinates returns a ``float32`` numpy array (checked: the right shape, finite);
    calling it on a backend tensor returns a tensor (computed with ``keras.ops`` where the signal allows it).

    Attributes:
        in_dims: the coordinates' dimension ``d``.
        out_dims: the number of output channels.
        shape: the natural grid of the signal (an array's grid shape), or ``None`` for a function.
    """

    in_dims: int
    out_dims: int
    shape: tuple[int, ...] | None = None

    def __call__(self, coordinates):
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(in_dims={self.in_dims}, out_dims={self.out_dims})"


class ArraySignal(Signal):
    """An array of any dimension as a continuous signal, by :func:`interpolate`.

    Args:
        array: ``(*grid, C)`` numpy array (or eager tensor): real, finite, non-empty, with a channel axis last
            (``(T, 1)`` mono audio, ``(H, W, C)`` image, ``(T, H, W, C)`` video).
        method: ``"linear"`` (n-linear) or ``"nearest"`` (piecewise constant).

    Attributes:
        array: the ``float32`` array.
        shape: its grid shape ``array.shape[:-1]`` (what :func:`keras_inr.rendering.render` renders at).
        in_dims, out_dims: ``len(shape)`` and ``C``.

    Example:
        >>> signal = ArraySignal(load_video("clip.gif"))          # doctest: +SKIP
        >>> signal(np.zeros((1, 3), "float32"))                   # the centre of the middle frame  # doctest: +SKIP
    """

    def __init__(self, array, method: str = "linear"):
        self.method = check_choice("method", method, METHODS)
        self.array = _check_grid_array(array)
        self.shape = tuple(self.array.shape[:-1])
        self.in_dims = len(self.shape)
        self.out_dims = int(self.array.shape[-1])

    def __call__(self, coordinates):
        if _is_tensor(coordinates):
            # converted at every call: a tensor kept from a traced call (a tf.function graph) is unusable outside it
            return interpolate(ops.convert_to_tensor(self.array), coordinates, self.method)
        return _interpolate_numpy(self.array, _check_coordinates_for(coordinates, self.in_dims), self.method)

    def __repr__(self) -> str:
        return f"ArraySignal(shape={self.shape}, channels={self.out_dims}, method={self.method!r})"


class FunctionSignal(Signal):
    """Any function of the coordinates as a continuous signal.

    The function gets ``(N, in_dims)`` coordinates -- a ``float32`` numpy array when the signal is called on numpy,
    a tensor when it is called on a tensor -- and returns ``(N, out_dims)`` or ``(N,)`` values (numpy or a tensor;
    a function written with ``keras.ops`` serves both).

    Args:
        function: the callable.
        in_dims: the coordinates' dimension; positive.
        out_dims: the number of outputs; ``None`` evaluates the function once at two points to find it.
        name: a name for messages and ``repr``.

    Raises:
        ValueError: naming ``function`` if it is not callable or returns values of the wrong shape or NaN, and
            ``in_dims`` / ``out_dims`` when invalid.

    Example:
        >>> rings = FunctionSignal(lambda x: np.cos(20 * np.linalg.norm(x, axis=-1)), in_dims=2)
        >>> rings.out_dims
        1
    """

    def __init__(self, function: Callable, in_dims: int, out_dims: int | None = None, name: str | None = None):
        if not callable(function):
            raise ValueError(f"`function` must be a callable of coordinates (N, in_dims), got {function!r}.")
        self.function = function
        self.in_dims = check_positive_int("in_dims", in_dims)
        self.name = name if name is not None else getattr(function, "__name__", type(function).__name__)
        if out_dims is None:
            out_dims = self._evaluate(np.zeros((2, self.in_dims), dtype=np.float32)).shape[1]
        self.out_dims = check_positive_int("out_dims", out_dims)

    def _evaluate(self, coordinates: np.ndarray) -> np.ndarray:
        values = self.function(coordinates)
        if _is_tensor(values):
            values = ops.convert_to_numpy(values)
        values = check_real_array(f"the values of `function` {self.name!r}", values, allow_empty=True, finite=False)
        if values.ndim == 1:
            values = values[:, None]
        if values.ndim != 2 or values.shape[0] != len(coordinates):
            raise ValueError(
                f"`function` {self.name!r} must map coordinates ({len(coordinates)}, {self.in_dims}) to values "
                f"({len(coordinates)}, out_dims) or ({len(coordinates)},), got shape {values.shape}."
            )
        return values

    def __call__(self, coordinates):
        if _is_tensor(coordinates):
            values = self.function(coordinates)
            if len(_static_shape(values)) == 1:
                values = ops.expand_dims(values, -1)
            return values
        coordinates = _check_coordinates_for(coordinates, self.in_dims).astype(np.float32, copy=False)
        values = self._evaluate(coordinates)
        if values.shape[1] != self.out_dims:
            raise ValueError(
                f"`function` {self.name!r} returned {values.shape[1]} channels, but the signal has out_dims="
                f"{self.out_dims}."
            )
        if values.size and not np.all(np.isfinite(values)):
            bad = int(np.sum(~np.isfinite(values)))
            raise ValueError(f"`function` {self.name!r} returned {bad} NaN or infinite value(s).")
        return values.astype(np.float32, copy=False)

    def __repr__(self) -> str:
        return f"FunctionSignal({self.name!r}, in_dims={self.in_dims}, out_dims={self.out_dims})"


def as_signal(target, in_dims: int | None = None, method: str = "linear") -> Signal:
    """A :class:`Signal` from a signal (returned as it is), an array (:class:`ArraySignal`) or a callable
    (:class:`FunctionSignal`, which needs ``in_dims``).

    Raises:
        ValueError: naming ``target`` when it is none of these (or an invalid array), ``in_dims`` when a callable
            comes without it.
    """
    if isinstance(target, Signal):
        return target
    if callable(target) and not isinstance(target, np.ndarray) and not _is_tensor(target):
        if in_dims is None:
            raise ValueError("`in_dims` is required when `target` is a function of the coordinates.")
        return FunctionSignal(target, in_dims)
    if isinstance(target, (np.ndarray, list, tuple)) or _is_tensor(target):
        return ArraySignal(check_real_array("target", target, allow_empty=True), method=method)
    raise ValueError(
        f"`target` must be a Signal, an array (*grid, C) or a function of coordinates, got {type(target).__name__}."
    )


# ----------------------------------------------------------------------------------------------------------------
# loading
# ----------------------------------------------------------------------------------------------------------------
def _existing_file(name: str, path) -> Path:
    path = check_path(name, path)
    if not path.exists():
        raise FileNotFoundError(f"No file at `{name}` = {str(path)!r}.")
    if not path.is_file():
        raise ValueError(f"`{name}` {str(path)!r} is not a file.")
    return path


def load_array(path) -> np.ndarray:
    """Load a ``.npy`` array as ``float32``, layout and values as stored (integers and bools are cast, not scaled).

    Raises:
        FileNotFoundError: naming ``path`` when no file is there.
        ValueError: naming ``path`` when the file is not a readable ``.npy`` array (pickled objects are refused), or
            the array is not real, is empty or holds NaN or infinity.
    """
    path = _existing_file("path", path)
    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as error:
        raise ValueError(f"`path` {str(path)!r} is not a readable .npy array: {error}") from None
    if isinstance(array, np.lib.npyio.NpzFile):  # pragma: no cover - np.load of a .npz given as .npy
        array.close()
        raise ValueError(f"`path` {str(path)!r} is an .npz archive; give one .npy array.")
    return check_real_array(f"the array in `path` {str(path)!r}", array).astype(np.float32)


#: Full scale of the integer WAV sample types: ``value / scale`` lies in ``[-1, 1)``.
_WAV_SCALES = {np.dtype(np.int16): 32768.0, np.dtype(np.int32): 2147483648.0}


def load_wav(path) -> tuple[np.ndarray, int]:
    """Load a WAV file as ``(samples, sample_rate)``: ``float32`` samples ``(T, C)`` in ``[-1, 1]``.

    16- and 32-bit integer PCM are divided by their full scale (``32768``, ``2**31``; 24-bit files come as 32-bit),
    8-bit (unsigned) PCM is centred (``(x - 128) / 128``), float WAVs are read as they are (and must be finite).

    Raises:
        FileNotFoundError: naming ``path`` when no file is there.
        ValueError: naming ``path`` when the file is no readable WAV file or holds no sample.
    """
    from scipy.io import wavfile

    path = _existing_file("path", path)
    try:
        rate, samples = wavfile.read(path)
    except (OSError, ValueError, EOFError) as error:
        raise ValueError(f"`path` {str(path)!r} is not a readable WAV file: {error}") from None
    samples = np.asarray(samples)
    if samples.ndim == 1:
        samples = samples[:, None]
    if samples.size == 0:
        raise ValueError(f"`path` {str(path)!r} holds no audio sample (shape {samples.shape}).")
    if samples.dtype == np.uint8:
        samples = (samples.astype(np.float32) - 128.0) / 128.0
    elif samples.dtype in _WAV_SCALES:
        samples = samples.astype(np.float32) / np.float32(_WAV_SCALES[samples.dtype])
    else:
        samples = check_real_array(f"the samples in `path` {str(path)!r}", samples).astype(np.float32)
    return np.ascontiguousarray(samples), int(rate)


def _natural_key(path: Path):
    """Sort key putting ``frame2`` before ``frame10``."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", path.name)]


def _stack_frames(frames: list[np.ndarray], what: str) -> np.ndarray:
    shapes = {frame.shape[:2] for frame in frames}
    if len(shapes) != 1:
        raise ValueError(f"The frames of {what} must all have the same size, got sizes {sorted(shapes)}.")
    if any(frame.shape[-1] == 3 for frame in frames):
        frames = [np.repeat(frame, 3, axis=-1) if frame.shape[-1] == 1 else frame for frame in frames]
    return np.ascontiguousarray(np.stack(frames), dtype=np.float32)


def _read_gif(path: Path) -> np.ndarray:
    from PIL import Image, ImageSequence

    try:
        with Image.open(path) as handle:
            frames = [np.asarray(frame.convert("RGB"), dtype=np.float32) / 255.0 for frame in
                      ImageSequence.Iterator(handle)]
    except OSError as error:
        raise ValueError(f"`source` {str(path)!r} is not a readable GIF file: {error}") from None
    video = np.stack(frames)
    if np.array_equal(video[..., 0], video[..., 1]) and np.array_equal(video[..., 0], video[..., 2]):
        video = video[..., :1]  # a grey GIF
    return np.ascontiguousarray(video, dtype=np.float32)


def load_video(source) -> np.ndarray:
    """Load a video as ``float32`` ``(T, H, W, C)`` in ``[0, 1]``, from a GIF file or a folder of frames.

    A GIF gives its frames in order (composited as a viewer shows them); grey GIFs (every frame with equal red,
    green and blue) come back with ``C = 1``, others with ``C = 3``. A folder gives its image files (``.png``,
    ``.jpg``, ... of :data:`FRAME_SUFFIXES`) in natural name order (``frame2`` before ``frame10``), each read by
    :func:`keras_inr.data.load_image`; grey frames are repeated to RGB when other frames are in colour.

    Raises:
        FileNotFoundError: naming ``source`` when nothing is there.
        ValueError: naming ``source`` for a folder without frames, an unreadable GIF or frame, frames of different
            sizes, or a file that is not a GIF.
    """
    from keras_inr.data import load_image

    path = check_path("source", source)
    if not path.exists():
        raise FileNotFoundError(f"No GIF file or folder of frames at `source` = {str(path)!r}.")
    if path.is_dir():
        files = sorted((p for p in path.iterdir() if p.is_file() and p.suffix.lower() in FRAME_SUFFIXES),
                       key=_natural_key)
        if not files:
            raise ValueError(
                f"`source` folder {str(path)!r} holds no frame files (suffixes {', '.join(FRAME_SUFFIXES)})."
            )
        frames = []
        for file in files:
            try:
                frames.append(load_image(file))
            except ValueError as error:
                raise ValueError(f"`source` frame {str(file)!r} could not be read: {error}") from None
        return _stack_frames(frames, f"`source` folder {str(path)!r}")
    if path.suffix.lower() != ".gif":
        raise ValueError(
            f"`source` {str(path)!r} must be a GIF file or a folder of frames, got a {path.suffix!r} file."
        )
    return _read_gif(path)


def load_signal(path) -> np.ndarray:
    """Load any supported signal file as an array, by its suffix: ``.npy`` (:func:`load_array`), ``.wav``
    (:func:`load_wav`'s samples ``(T, C)``), ``.gif`` or a folder (:func:`load_video`, ``(T, H, W, C)``), other image
    files (:func:`keras_inr.data.load_image`, ``(H, W, C)``).

    Raises:
        FileNotFoundError, ValueError: as the loader it picks, naming ``path``.
    """
    from keras_inr.data import load_image

    path = check_path("path", path)
    suffix = path.suffix.lower()
    if path.is_dir() or suffix == ".gif":
        return load_video(path)
    if suffix == ".npy":
        return load_array(path)
    if suffix == ".wav":
        return load_wav(path)[0]
    if not path.exists():
        raise FileNotFoundError(f"No file at `path` = {str(path)!r}.")
    if suffix in FRAME_SUFFIXES:
        return load_image(path)
    raise ValueError(
        f"`path` {str(path)!r} has an unsupported suffix {suffix!r}; use .npy, .wav, .gif, a folder of frames or an "
        f"image ({', '.join(FRAME_SUFFIXES)})."
    )


# ----------------------------------------------------------------------------------------------------------------
# writing
# ----------------------------------------------------------------------------------------------------------------
def _check_sample_rate(sample_rate) -> int:
    return check_positive_int("sample_rate", sample_rate)


def write_wav(path, samples, sample_rate: int) -> Path:
    """Write audio as a 16-bit PCM WAV file (values clipped to ``[-1, 1]``; the parent folder is created).

    Args:
        path: the file to write.
        samples: ``(T,)`` or ``(T, C)`` values in ``[-1, 1]``; real and finite.
        sample_rate: samples per second; positive.

    Returns:
        The path written.

    Raises:
        ValueError: naming ``path``, ``samples`` or ``sample_rate`` when invalid.
    """
    from scipy.io import wavfile

    path = check_path("path", path)
    sample_rate = _check_sample_rate(sample_rate)
    samples = check_real_array("samples", samples, ndim=(1, 2)).astype(np.float64)
    pcm = np.round(np.clip(samples, -1.0, 1.0) * 32767.0).astype(np.int16)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as temporary:  # whole or not at all: an interrupted write keeps the previous file
        wavfile.write(temporary, sample_rate, pcm)
    return path


def _as_frames(frames, name: str, axis: int = 0) -> np.ndarray:
    """``(T, H, W)`` or ``(T, H, W, C)`` (C in 1, 3, 4) -> uint8 ``(T, H, W)`` / ``(T, H, W, 3|4)``."""
    array = check_real_array(name, frames, ndim=(3, 4))
    if array.ndim == 3:
        array = array[..., None]
    if array.shape[-1] not in (1, 3, 4):
        raise ValueError(f"`{name}` must have 1, 3 or 4 channels (last axis), got shape {array.shape}.")
    if isinstance(axis, bool) or not isinstance(axis, int) or not 0 <= axis <= 2:
        raise ValueError(f"`axis` must be 0, 1 or 2 (the axis of {name} to step through), got {axis!r}.")
    array = np.moveaxis(array, axis, 0)
    pixels = np.round(np.clip(array, 0.0, 1.0) * 255.0).astype(np.uint8)
    return pixels[..., 0] if pixels.shape[-1] == 1 else pixels


def save_gif(path, frames, fps: float = 8.0, axis: int = 0) -> Path:
    """Write frames (or slices of a volume) with values in ``[0, 1]`` as a looping GIF (the parent folder is created).

    Grey frames are written exactly (8-bit); colour frames go through GIF's 256-colour palette per frame, so they
    come back from :func:`load_video` close to, not equal to, the 8-bit values. Identical consecutive frames may be
    merged into one longer frame by the GIF writer.

    Args:
        path: the file to write.
        frames: ``(T, H, W)`` or ``(T, H, W, C)`` with ``C`` in 1, 3, 4; values outside ``[0, 1]`` are clipped.
        fps: frames per second; positive.
        axis: the axis of ``frames`` to step through (0: frames of a video; 1 or 2: slices of a volume).

    Returns:
        The path written.

    Raises:
        ValueError: naming ``path``, ``frames``, ``fps`` or ``axis`` when invalid.
    """
    from PIL import Image

    path = check_path("path", path)
    fps = check_positive_float("fps", fps)
    pixels = _as_frames(frames, "frames", axis)
    images = [Image.fromarray(frame) for frame in pixels]
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as temporary:  # whole or not at all
        images[0].save(temporary, format="GIF", save_all=True, append_images=images[1:],
                       duration=max(1, round(1000 / fps)), loop=0)
    return path


def save_signal(path, values, sample_rate: int | None = None, fps: float = 8.0, axis: int = 0) -> Path:
    """Write a signal array in the format of ``path``'s suffix.

    * ``.wav``: audio ``(T,)`` or ``(T, C)`` in ``[-1, 1]`` (:func:`write_wav`; needs ``sample_rate``);
    * ``.gif``: frames ``(T, H, W[, C])`` in ``[0, 1]``, or slices of a volume along ``axis`` (:func:`save_gif`);
    * ``.png``: an image ``(H, W[, C])`` in ``[0, 1]`` (:func:`keras_inr.plotting.save_image`);
    * ``.npy``: any array, as ``float32``.

    Raises:
        ValueError: naming ``path`` for another suffix, ``sample_rate`` when a WAV file has none, or the writer's
            argument that is invalid.
    """
    path = check_path("path", path)
    suffix = path.suffix.lower()
    if suffix == ".wav":
        if sample_rate is None:
            raise ValueError("`sample_rate` is required to write a .wav file.")
        return write_wav(path, values, sample_rate)
    if suffix == ".gif":
        return save_gif(path, values, fps=fps, axis=axis)
    if suffix == ".png":
        from keras_inr.plotting import save_image

        return save_image(path, values)
    if suffix == ".npy":
        array = check_real_array("values", values, finite=False).astype(np.float32)
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as temporary:  # whole or not at all (the temporary name keeps the .npy suffix)
            np.save(temporary, array)
        return path
    raise ValueError(f"`path` {str(path)!r} must end in .wav, .gif, .png or .npy, got {suffix!r}.")


def render_signal(model, shape, path=None, batch_size: int | None = None, **save_kwargs) -> np.ndarray:
    """Render ``model`` on the grid ``coordinate_grid(shape)`` of any dimension, in bounded-size chunks, and
    optionally write the result with :func:`save_signal`.

    Rendering is :func:`keras_inr.rendering.render` (fixed-size batches, the grid generated chunk by chunk, so a
    large volume costs one batch of coordinates plus the output).

    Args:
        model: a Keras model (or callable) mapping ``(N, len(shape))`` coordinates to ``(N, C)`` values.
        shape: the grid, e.g. ``(T,)`` audio, ``(H, W)`` image, ``(T, H, W)`` video; an int means 1-D.
        path: optional file to write (``.wav``, ``.gif``, ``.png``, ``.npy``).
        batch_size: coordinates per model call (default :data:`keras_inr.rendering.DEFAULT_RENDER_BATCH_SIZE`).
        **save_kwargs: ``sample_rate``, ``fps``, ``axis`` for :func:`save_signal`.

    Returns:
        ``float32`` array ``(*shape, C)``.
    """
    from keras_inr.rendering import DEFAULT_RENDER_BATCH_SIZE, render

    values = render(model, shape, batch_size=DEFAULT_RENDER_BATCH_SIZE if batch_size is None else batch_size)
    if path is not None:
        save_signal(path, values, **save_kwargs)
    return values


# ----------------------------------------------------------------------------------------------------------------
# metrics
# ----------------------------------------------------------------------------------------------------------------
def snr(target, prediction) -> float:
    """Signal-to-noise ratio ``10 log10(sum(target^2) / sum((target - prediction)^2))`` in dB (float64).

    The audio measure: unlike PSNR it does not depend on a peak value. An exact prediction gives ``inf``; a
    prediction holding NaN gives NaN.

    Raises:
        ValueError: naming ``target`` (not real and finite, or all zero) or ``prediction`` (not real, or another
            shape).
    """
    target = check_real_array("target", target).astype(np.float64)
    prediction = check_real_array("prediction", prediction, finite=False).astype(np.float64)
    if prediction.shape != target.shape:
        raise ValueError(f"`prediction` must have the shape of `target` {target.shape}, got {prediction.shape}.")
    power = float(np.sum(target**2))
    if power == 0.0:
        raise ValueError("`target` is all zero: its SNR is undefined.")
    noise = float(np.sum((target - prediction) ** 2))
    if math.isnan(noise):
        return float("nan")
    return float("inf") if noise == 0.0 else 10.0 * math.log10(power / noise)


def frame_psnr(target, prediction, max_val: float = 1.0) -> np.ndarray:
    """PSNR of every frame of a video (or slice along axis 0 of a volume): ``(T,)`` float64, in dB.

    ``target`` and ``prediction`` are ``(T, ...)`` arrays of the same shape (:func:`keras_inr.metrics.psnr` over all
    axes but the first).
    """
    from keras_inr.metrics import psnr

    target = check_real_array("target", target)
    if target.ndim < 2:
        raise ValueError(f"`target` must be (T, ...) frames, got shape {target.shape}.")
    return np.atleast_1d(psnr(target, prediction, max_val=max_val, axis=tuple(range(1, target.ndim))))


# ----------------------------------------------------------------------------------------------------------------
# figures
# ----------------------------------------------------------------------------------------------------------------
def _figure(columns: int, rows: int, width: float, height: float, dpi: int):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure  # the object API: no pyplot, no interactive backend

    figure = Figure(figsize=(width, height), dpi=dpi)
    FigureCanvasAgg(figure)
    return figure, np.asarray(figure.subplots(rows, columns, squeeze=False))


def _check_title(title):
    if title is not None and not isinstance(title, str):
        raise ValueError(f"`title` must be a string or None, got {title!r}.")


def save_waveform_plot(path, target, reconstructions, sample_rate: int, zoom_seconds: float = 0.02,
                       zoom_centre: float = 0.5, title: str | None = None, dpi: int = 100) -> Path:
    """Save a figure of a 1-D signal and its reconstructions: the whole clip, a ``zoom_seconds`` window, and the
    error; each reconstruction's SNR in the legend.

    Args:
        path: PNG file to write; the parent folder is created.
        target: ``(T,)`` or ``(T, 1)`` samples (the first channel is drawn).
        reconstructions: one array of the target's shape, or a mapping ``label -> array``.
        sample_rate: samples per second (for the time axis); positive.
        zoom_seconds: length of the zoomed window; positive.
        zoom_centre: where the window is centred, as a fraction of the clip in ``[0, 1]`` (0.5: the middle).
        title: optional figure title.
        dpi: resolution; positive, at most 1000.

    Returns:
        The path written.
    """
    path = check_path("path", path)
    sample_rate = _check_sample_rate(sample_rate)
    zoom_seconds = check_positive_float("zoom_seconds", zoom_seconds)
    if isinstance(zoom_centre, bool) or not isinstance(zoom_centre, (int, float)) or not 0.0 <= zoom_centre <= 1.0:
        raise ValueError(f"`zoom_centre` must be a fraction of the clip in [0, 1], got {zoom_centre!r}.")
    dpi = check_positive_int("dpi", dpi)
    if dpi > 1000:
        raise ValueError(f"`dpi` must be at most 1000, got {dpi}.")
    _check_title(title)
    target = check_real_array("target", target, ndim=(1, 2))
    target = target if target.ndim == 1 else target[:, 0]
    named = reconstructions if isinstance(reconstructions, Mapping) else {"reconstruction": reconstructions}
    if not named:
        raise ValueError("`reconstructions` is an empty mapping; give at least one array.")
    curves = {}
    for label, values in named.items():
        values = check_real_array(f"reconstructions[{label!r}]", values, ndim=(1, 2), finite=False)
        values = values if values.ndim == 1 else values[:, 0]
        if values.shape != target.shape:
            raise ValueError(
                f"`reconstructions` must have the target's length {target.shape[0]}: {label!r} has {values.shape}."
            )
        curves[str(label)] = values
    time = np.arange(len(target)) / sample_rate
    window = max(2, min(len(target), round(zoom_seconds * sample_rate)))
    start = min(max(0, round(zoom_centre * len(target)) - window // 2), len(target) - window)
    part = slice(start, start + window)
    figure, axes = _figure(1, 3, 10.0, 7.5, dpi)
    axes[0, 0].plot(time, target, color="black", linewidth=0.6, label="target")
    axes[1, 0].plot(time[part], target[part], color="black", linewidth=1.2, marker=".", markersize=3, label="target")
    for label, values in curves.items():
        caption = f"{label} (SNR {snr(target, values):.2f} dB)"
        axes[0, 0].plot(time, values, linewidth=0.6, alpha=0.7, label=caption)
        axes[1, 0].plot(time[part], values[part], linewidth=1.0, label=caption)
        axes[2, 0].plot(time, values - target, linewidth=0.6, label=label)
    axes[0, 0].set_title("whole clip")
    axes[1, 0].set_title(f"{1000 * window / sample_rate:.1f} ms from {start / sample_rate:.3f} s (dots: samples)")
    axes[2, 0].set_title("error (reconstruction - target)")
    for axis in axes[:, 0]:
        axis.set_xlabel("time (s)")
        axis.legend(loc="upper right", fontsize=8)
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as temporary:  # whole or not at all
        figure.savefig(os.fspath(temporary), format="png", dpi=dpi)
    return path


def save_frames_figure(path, target, reconstruction, frames: Sequence[int] | None = None, title: str | None = None,
                       dpi: int = 100) -> Path:
    """Save a figure of a video (or volume slices) and its reconstruction: chosen frames (target above,
    reconstruction below, PSNR in the captions) and the PSNR of every frame as a curve.

    Args:
        path: PNG file to write; the parent folder is created.
        target: ``(T, H, W)`` or ``(T, H, W, C)`` in ``[0, 1]``.
        reconstruction: the same shape.
        frames: the frame indices to show (default: four spread over the clip).
        title: optional figure title.
        dpi: resolution; positive, at most 1000.

    Returns:
        The path written.
    """
    path = check_path("path", path)
    dpi = check_positive_int("dpi", dpi)
    if dpi > 1000:
        raise ValueError(f"`dpi` must be at most 1000, got {dpi}.")
    _check_title(title)
    target = check_real_array("target", target, ndim=(3, 4))
    reconstruction = check_real_array("reconstruction", reconstruction, ndim=(3, 4), finite=False)
    if reconstruction.shape != target.shape:
        raise ValueError(
            f"`reconstruction` must have the shape of `target` {target.shape}, got {reconstruction.shape}."
        )
    count = target.shape[0]
    if frames is None:
        frames = sorted({round(i * (count - 1) / 3) for i in range(4)}) if count > 1 else [0]
    try:
        frames = [int(frame) for frame in frames if not isinstance(frame, bool) and float(frame) == int(frame)]
    except (TypeError, ValueError):
        frames = []
    if not frames or any(not 0 <= frame < count for frame in frames):
        raise ValueError(f"`frames` must be a non-empty list of frame indices in [0, {count}), got {frames!r}.")
    values = frame_psnr(target, reconstruction)
    grey = target.ndim == 3 or target.shape[-1] == 1

    def shown(image):
        image = np.clip(image, 0.0, 1.0)
        return image[..., 0] if image.ndim == 3 and image.shape[-1] == 1 else image

    figure, axes = _figure(len(frames) + 1, 2, 2.6 * (len(frames) + 1.6), 5.6, dpi)
    for column, frame in enumerate(frames):
        for row, (image, label) in enumerate(((target, "target"), (reconstruction, "reconstruction"))):
            axis = axes[row, column]
            axis.imshow(shown(image[frame]), cmap="gray" if grey else None, vmin=0.0, vmax=1.0,
                        interpolation="nearest")
            caption = f"{label}, frame {frame}"
            if row == 1:
                caption += f"\nPSNR {values[frame]:.2f} dB"
            axis.set_title(caption, fontsize=9)
            axis.set_axis_off()
    curve = axes[0, -1]
    curve.plot(np.arange(count), values, marker=".")
    curve.set_xlabel("frame")
    curve.set_ylabel("PSNR (dB)")
    curve.set_title(f"PSNR per frame (mean {np.mean(values):.2f} dB)", fontsize=9)
    axes[1, -1].set_axis_off()
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as temporary:  # whole or not at all
        figure.savefig(os.fspath(temporary), format="png", dpi=dpi)
    return path


# ----------------------------------------------------------------------------------------------------------------
# callbacks
# ----------------------------------------------------------------------------------------------------------------
def _due(epoch: int, every_n_epochs: int) -> bool:
    return (epoch + 1) % every_n_epochs == 0


def _check_model_dims(model, shape: tuple[int, ...], who: str) -> None:
    in_dims = getattr(model, "in_dims", None)
    if in_dims is not None and int(in_dims) != len(shape):
        raise ValueError(
            f"{who} renders a grid of shape {shape} ({len(shape)}-D coordinates), but the model takes {in_dims}-D "
            "coordinates."
        )


class SignalSnapshots(keras.callbacks.Callback):
    """Render the model on a grid of any dimension every ``every_n_epochs`` epochs and write it to a file:
    a WAV file for 1-D grids, a PNG for 2-D, a GIF (frames along axis 0) for 3-D, or ``.npy`` for any.

    Files are named ``filename.format(epoch=e)`` (``e`` 1-based) in ``directory``; the suffix of ``filename``
    chooses the format (:func:`save_signal`).

    Args:
        shape: the grid, e.g. ``(T,)``, ``(H, W)``, ``(T, H, W)``.
        directory: folder for the files; created when needed.
        every_n_epochs: render after epochs ``n, 2n, ...``; positive.
        filename: ``str.format`` pattern with an ``epoch`` field; default ``epoch_{epoch:05d}`` and the suffix of the
            grid's dimension (``.wav``, ``.png``, ``.gif``, ``.npy`` above 3-D).
        sample_rate: for WAV files.
        fps: for GIF files.
        batch_size: coordinates per model call while rendering.

    Attributes:
        paths: the files written so far.
    """

    def __init__(self, shape, directory, every_n_epochs: int = 1, filename: str | None = None,
                 sample_rate: int | None = None, fps: float = 8.0, batch_size: int | None = None):
        super().__init__()
        self.shape = check_shape(shape)
        self.directory = check_path("directory", directory)
        if self.directory.exists() and not self.directory.is_dir():
            raise ValueError(f"`directory` {str(self.directory)!r} exists and is not a directory.")
        self.every_n_epochs = check_positive_int("every_n_epochs", every_n_epochs)
        if filename is None:
            filename = "epoch_{epoch:05d}" + {1: ".wav", 2: ".png", 3: ".gif"}.get(len(self.shape), ".npy")
        if not isinstance(filename, str):
            raise ValueError(f"`filename` must be a format string with an `epoch` field, got {filename!r}.")
        try:
            example = filename.format(epoch=1)
        except (KeyError, IndexError, ValueError) as error:
            raise ValueError(f"`filename` must be a format string whose only field is `epoch`, got {filename!r} "
                             f"({error}).") from None
        suffix = Path(example).suffix.lower()
        if suffix not in (".wav", ".gif", ".png", ".npy"):
            raise ValueError(f"`filename` must end in .wav, .gif, .png or .npy, got {filename!r}.")
        if suffix == ".wav":
            if len(self.shape) != 1:
                raise ValueError(f"`filename` {filename!r} writes WAV files, which need a 1-D `shape`, got {shape}.")
            if sample_rate is None:
                raise ValueError("`sample_rate` is required to write WAV snapshots.")
            sample_rate = _check_sample_rate(sample_rate)
        if suffix == ".gif" and len(self.shape) != 3:
            raise ValueError(f"`filename` {filename!r} writes GIFs, which need a 3-D `shape`, got {shape}.")
        if suffix == ".png" and len(self.shape) != 2:
            raise ValueError(f"`filename` {filename!r} writes PNG images, which need a 2-D `shape`, got {shape}.")
        self.filename = filename
        self.sample_rate = sample_rate
        self.fps = check_positive_float("fps", fps)
        self.batch_size = None if batch_size is None else check_positive_int("batch_size", batch_size)
        self.paths: list[Path] = []

    def on_train_begin(self, logs=None):
        _check_model_dims(self.model, self.shape, "SignalSnapshots")

    def on_epoch_end(self, epoch, logs=None):
        if not _due(epoch, self.every_n_epochs):
            return
        path = self.directory / self.filename.format(epoch=epoch + 1)
        render_signal(self.model, self.shape, path=path, batch_size=self.batch_size, sample_rate=self.sample_rate,
                      fps=self.fps)
        self.paths.append(path)


class SignalPSNR(keras.callbacks.Callback):
    """Add the PSNR (or SNR) of a full render against a target signal of any dimension to the epoch logs.

    Args:
        target: ``(*grid, C)`` array (audio ``(T, C)``, image ``(H, W, C)``, video ``(T, H, W, C)``); the model is
            rendered at ``target.shape[:-1]``.
        every_n_epochs: render after epochs ``n, 2n, ...``; positive.
        name: the key added to the logs (and to ``model.fit``'s history).
        metric: ``"psnr"`` (:func:`keras_inr.metrics.psnr` with ``max_val``) or ``"snr"`` (:func:`snr`, for audio).
        max_val: the PSNR's dynamic range (1 for images in ``[0, 1]``, 2 for audio in ``[-1, 1]``).
        batch_size: coordinates per model call while rendering.

    Attributes:
        values: ``(epoch, value)`` pairs, epochs 1-based.
    """

    def __init__(self, target, every_n_epochs: int = 1, name: str = "render_psnr", metric: str = "psnr",
                 max_val: float = 1.0, batch_size: int | None = None):
        super().__init__()
        self.target = _check_grid_array(target, "target")
        self.shape = self.target.shape[:-1]
        self.every_n_epochs = check_positive_int("every_n_epochs", every_n_epochs)
        if not isinstance(name, str) or not name:
            raise ValueError(f"`name` must be a non-empty string, got {name!r}.")
        self.name = name
        self.metric = check_choice("metric", metric, ("psnr", "snr"))
        self.max_val = check_positive_float("max_val", max_val)
        self.batch_size = None if batch_size is None else check_positive_int("batch_size", batch_size)
        self.values: list[tuple[int, float]] = []

    def on_train_begin(self, logs=None):
        _check_model_dims(self.model, self.shape, "SignalPSNR")

    def on_epoch_end(self, epoch, logs=None):
        if not _due(epoch, self.every_n_epochs):
            return
        from keras_inr.metrics import psnr

        values = render_signal(self.model, self.shape, batch_size=self.batch_size)
        if values.shape != self.target.shape:
            raise ValueError(
                f"The model renders {values.shape[-1]} channels but `target` has {self.target.shape[-1]}."
            )
        value = snr(self.target, values) if self.metric == "snr" else psnr(self.target, values, max_val=self.max_val)
        self.values.append((epoch + 1, value))
        if logs is not None:
            logs[self.name] = value
