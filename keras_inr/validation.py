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


def check_choice(name: str, value, choices) -> str:
    """Return ``value`` if it is one of ``choices``, else raise ``ValueError`` listing them."""
    if value not in choices:
        raise ValueError(f"`{name}` must be one of {tuple(choices)}, got {value!r}.")
    return value
