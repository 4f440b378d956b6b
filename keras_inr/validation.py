"""Argument checks shared by the public API: clear ``ValueError``s naming the argument and what was expected."""

from __future__ import annotations

import math
import numbers


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


def check_shape(shape, name: str = "shape") -> tuple[int, ...]:
    """Validate a grid shape: an int or a non-empty sequence of positive ints; returns it as a tuple of ints.

    Raises:
        ValueError: naming ``name`` when the shape is empty, not a sequence, or holds non-positive / non-int sizes.
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
    return tuple(check_positive_int(f"{name}[{axis}]", size) for axis, size in enumerate(shape))


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
