"""Argument checks shared by the public API: clear ``ValueError``s naming the argument and what was expected.

One check, one place: every public entry point of keras-inr and hypernets validates its arguments with these, so the
same mistake gets the same message everywhere. Limits they enforce:

* :data:`MAX_GRID_POINTS`: the most points a grid (``prod(shape)``) may have;
* :data:`MAX_SEED`: seeds are integers in ``[0, MAX_SEED]``.
"""

from __future__ import annotations

import math
import numbers
import os
from pathlib import Path

import numpy as np

#: The most points a grid may have (``prod(shape)`` of :func:`keras_inr.data.coordinate_grid`, of a rendered signal,
#: of a loaded image): flat point indices must fit in a signed 32-bit integer, the default integer type of JAX and of
#: index arithmetic in compiled steps. A grid that large already takes 16 GiB as 2-D float32 coordinates; larger
#: shapes are rejected with a message naming the argument before anything is allocated.
MAX_GRID_POINTS = 2**31 - 1

#: The largest seed: seeds are integers in ``[0, 2**32 - 1]``, the range numpy's generators and every Keras backend's
#: seed state (32 bits on JAX) accept.
MAX_SEED = 2**32 - 1


def check_positive_int(name: str, value, allow_zero: bool = False) -> int:
    """Return ``value`` as ``int`` if it is a (non-negative when ``allow_zero``) positive integer, else raise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"`{name}` must be an integer, got {value!r} of type {type(value).__name__}.")
    lower = 0 if allow_zero else 1
    if value < lower:
        expected = "a non-negative integer" if allow_zero else "a positive integer"
        raise ValueError(f"`{name}` must be {expected}, got {value!r}.")
    return int(value)


def check_positive_float(name: str, value) -> float:
    """Return ``value`` as ``float`` if it is a finite number > 0, else raise ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"`{name}` must be a positive number, got {value!r} of type {type(value).__name__}.")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"`{name}` must be a positive finite number, got {value!r}.")
    return float(value)


def check_number(what: str, value, kind: str = "float", positive: bool = True):
    """Return ``value`` as ``int`` (``kind="int"``) or ``float`` if it is a finite (positive) number, else raise.

    Args:
        what: how the messages name the value, e.g. ``"`w0` low"`` or ``"default of 'w0'"``.
        value: the value to check.
        kind: ``"float"`` or ``"int"`` (an integral value, ``3.0`` accepted).
        positive: whether the value must be > 0.

    Raises:
        ValueError: ``"<what> must be a finite number / an integer / positive, got ..."``.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"{what} must be a finite number, got {value!r}.")
    if kind == "int" and float(value) != int(value):
        raise ValueError(f"{what} must be an integer, got {value!r}.")
    if positive and value <= 0:
        raise ValueError(f"{what} must be positive, got {value!r}.")
    return int(value) if kind == "int" else float(value)


def check_choice(name: str, value, choices) -> str:
    """Return ``value`` if it is one of ``choices``, else raise ``ValueError`` listing them."""
    if value not in choices:
        raise ValueError(f"`{name}` must be one of {tuple(choices)}, got {value!r}.")
    return value


def check_shape(shape, name: str = "shape", max_points: int = MAX_GRID_POINTS) -> tuple[int, ...]:
    """Validate a grid shape: an int or a non-empty sequence of positive ints; returns it as a tuple of ints.

    Args:
        shape: the shape to check.
        name: the argument's name, for the messages.
        max_points: the most points (``prod(shape)``) the grid may have; :data:`MAX_GRID_POINTS` by default.

    Raises:
        ValueError: naming ``name`` when the shape is empty, not a sequence, holds non-positive / non-int sizes, or
            has more than ``max_points`` points.
    """
    if isinstance(shape, numbers.Integral) and not isinstance(shape, bool):
        shape = (int(shape),)
    if isinstance(shape, (str, bytes)):
        raise ValueError(f"`{name}` must be a sequence of positive integers, got {shape!r}.")
    try:
        shape = tuple(shape)
    except TypeError:
        raise ValueError(f"`{name}` must be a sequence of positive integers, got {shape!r}.") from None
    if not shape:
        raise ValueError(f"`{name}` must have at least one dimension, got ().")
    shape = tuple(check_positive_int(f"{name}[{axis}]", size) for axis, size in enumerate(shape))
    points = math.prod(shape)
    if points > max_points:
        raise ValueError(
            f"`{name}` {shape} has {points:,} points, more than the limit of {max_points:,} "
            f"(keras_inr.validation.MAX_GRID_POINTS = 2**31 - 1 points per grid); use a smaller `{name}`."
        )
    return shape


def check_image_size(size, name: str = "size") -> tuple[int, int]:
    """An image size as ``(height, width)``: a positive int (square) or a pair of positive ints, at most
    :data:`MAX_GRID_POINTS` pixels; raises ``ValueError`` naming ``name`` otherwise (a bool
    is refused, not read as 1)."""
    if isinstance(size, numbers.Integral) and not isinstance(size, bool):
        size = (size, size)
    if isinstance(size, (bool, str, bytes)) or not hasattr(size, "__len__") or len(size) != 2:
        raise ValueError(f"`{name}` must be an int (square) or a (height, width) pair of ints, got {size!r}.")
    return check_shape(size, name)


def check_bool(name: str, value) -> bool:
    """Return ``value`` as ``bool`` if it is a bool (Python or numpy), else raise ``ValueError``.

    Strings such as ``"no"`` and numbers are refused rather than read by truthiness.
    """
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"`{name}` must be True or False, got {value!r} of type {type(value).__name__}.")
    return bool(value)


def check_seed(name: str, value, allow_none: bool = True) -> int | None:
    """Return a seed as ``int``: an integer in ``[0, MAX_SEED]`` (or ``None`` when ``allow_none``), else raise.

    Raises:
        ValueError: naming ``name`` for a non-integer (floats, strings, bools included), a negative seed or one
            above :data:`MAX_SEED`.
    """
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        expected = "an integer or None" if allow_none else "an integer"
        raise ValueError(f"`{name}` must be {expected}, got {value!r} of type {type(value).__name__}.")
    if not 0 <= value <= MAX_SEED:
        raise ValueError(f"`{name}` must be an integer in [0, 2**32 - 1], got {value!r}.")
    return int(value)


def check_path(name: str, value) -> Path:
    """Return ``value`` as a ``pathlib.Path`` if it is a non-empty ``str`` or ``os.PathLike``, else raise."""
    if not isinstance(value, (str, os.PathLike)) or not os.fspath(value):
        raise ValueError(f"`{name}` must be a non-empty path (str or os.PathLike), got {value!r}.")
    return Path(value)


def check_real_array(name: str, value, ndim=None, finite: bool = True, allow_empty: bool = False) -> np.ndarray:
    """Return ``value`` as a numpy array of real numbers, checked once at the boundary, else raise ``ValueError``.

    Args:
        name: the argument's name, for the messages.
        value: an array, an array-like or an eager backend tensor.
        ndim: ``None``, or the number of dimensions required (an int or a tuple of accepted ones).
        finite: whether NaN and infinite values are refused (they would train a model to NaN).
        allow_empty: whether an array with no element passes.

    Returns:
        The numpy array (``value`` itself when it is one); its dtype is unchanged (integer, bool or float).

    Raises:
        ValueError: naming ``name`` for a non-numeric or complex dtype (complex values would silently lose their
            imaginary part when cast to float), a wrong number of dimensions, an empty array, or NaN / infinity.
    """
    if not isinstance(value, np.ndarray):
        from keras import ops

        if ops.is_tensor(value):  # an eager backend tensor (a torch tensor on a GPU cannot go through np.asarray)
            value = ops.convert_to_numpy(value)
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as error:
        raise ValueError(f"`{name}` must be a numeric array, got {type(value).__name__} ({error}).") from None
    if np.issubdtype(array.dtype, np.complexfloating):
        raise ValueError(
            f"`{name}` must hold real numbers, got dtype {array.dtype} (complex values would lose their imaginary "
            "part); pass the real and imaginary parts as separate channels."
        )
    if array.dtype != bool and not np.issubdtype(array.dtype, np.number):
        raise ValueError(f"`{name}` must be a numeric array, got dtype {array.dtype}.")
    if ndim is not None:
        accepted = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if array.ndim not in accepted:
            expected = " or ".join(f"{n}-D" for n in accepted)
            raise ValueError(f"`{name}` must be a {expected} array, got shape {array.shape}.")
    if array.size == 0 and not allow_empty:
        raise ValueError(f"`{name}` is empty (shape {array.shape}).")
    if finite and np.issubdtype(array.dtype, np.floating):
        bad = ~np.isfinite(array)
        if bad.any():
            first = tuple(int(i) for i in np.argwhere(bad)[0])
            raise ValueError(
                f"`{name}` contains {int(bad.sum())} NaN or infinite value(s) (the first at index {first}: "
                f"{float(array[first])}); remove or replace them."
            )
    return array


def check_name_list(argument: str, names, allowed, noun: str, resolve=None) -> tuple[str, ...]:
    """Validate a list of names: a non-empty sequence (or comma-separated string) of distinct allowed names.

    Args:
        argument: the argument's name, for the error messages (``"families"``, ``"heads"``).
        names: a sequence of names or a comma-separated string (``"siren,ffn"``, as given on a command line).
        allowed: the accepted names, listed in the messages.
        noun: the singular of what the names name (``"family"``, ``"head"``).
        resolve: optional ``name -> canonical name`` that raises ``ValueError`` for unknown names (aliases); by
            default a name must be in ``allowed``.

    Returns:
        The (resolved) names, in the given order.

    Raises:
        ValueError: naming ``argument`` for an empty list, an unknown name or a repeated name.
    """
    allowed = tuple(allowed)
    if isinstance(names, str):
        names = [name.strip() for name in names.split(",") if name.strip()]
    try:
        names = tuple(names)
    except TypeError:
        raise ValueError(f"`{argument}` must be a sequence of {noun} names, got {names!r}.") from None
    if not names:
        raise ValueError(f"`{argument}` must name at least one {noun} of {allowed}, got an empty list.")
    resolved = []
    for name in names:
        if resolve is not None:
            resolved.append(resolve(name))
        elif name in allowed:
            resolved.append(name)
        else:
            raise ValueError(f"`{argument}` must hold names from {allowed}, got unknown {noun} {name!r}.")
    if len(set(resolved)) != len(resolved):
        raise ValueError(f"`{argument}` must not repeat a {noun}, got {names!r}.")
    return tuple(resolved)
