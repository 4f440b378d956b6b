"""Figures and image files: save an image array as PNG (Pillow) and a "target | reconstruction | error" figure
(matplotlib, drawn off-screen with the Agg canvas -- no display and no pyplot global state is touched).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from keras_inr.metrics import psnr, ssim
from keras_inr.safe_files import atomic_path
from keras_inr.validation import check_bool, check_path, check_positive_float, check_real_array


def _as_displayable(image, name: str) -> np.ndarray:
    """``(H, W)``, ``(H, W, 1)``, ``(H, W, 3)`` or ``(H, W, 4)`` finite values -> ``(H, W)`` / ``(H, W, 3|4)`` float."""
    array = check_real_array(name, image, allow_empty=True)
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[-1] not in (3, 4)) or array.size == 0:
        raise ValueError(
            f"`{name}` must be an image of shape (H, W) or (H, W, C) with C in (1, 3, 4), got shape {array.shape}."
        )
    return array.astype(np.float32)


def to_uint8(image, name: str = "image") -> np.ndarray:
    """An image with values in ``[0, 1]`` as ``uint8`` (values outside are clipped, then rounded).

    Args:
        image: ``(H, W)`` or ``(H, W, C)`` with ``C`` in 1, 3, 4.
        name: argument name used in error messages.

    Returns:
        ``uint8`` array ``(H, W)`` (grey) or ``(H, W, C)``.

    Raises:
        ValueError: naming ``name`` for an image of another shape, a non-real dtype, NaN or infinity.
    """
    if not isinstance(name, str):
        raise ValueError(f"`name` must be a string, got {name!r}.")
    array = _as_displayable(image, name)
    return np.round(np.clip(array, 0.0, 1.0) * 255.0).astype(np.uint8)


def save_image(path, image) -> Path:
    """Write an image array with values in ``[0, 1]`` to a PNG file (values outside ``[0, 1]`` are clipped).

    Args:
        path: file to write; parent directories are created. Written atomically (:mod:`keras_inr.safe_files`).
        image: ``(H, W)`` or ``(H, W, C)`` with ``C`` in 1 (grey), 3 (RGB) or 4 (RGBA).

    Returns:
        The path written.

    Raises:
        ValueError: naming ``path`` or ``image`` when invalid.
    """
    from PIL import Image  # optional dependency (extra "images")

    path = check_path("path", path)
    array = to_uint8(image)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as temporary:  # whole or not at all: an interrupted write keeps the previous file
        Image.fromarray(array).save(temporary, format="PNG")
    return path


def save_comparison(
    path,
    target,
    reconstructions,
    title: str | None = None,
    show_error: bool = True,
    dpi: int = 100,
) -> Path:
    """Save a figure comparing a target image with one or more reconstructions, with PSNR/SSIM in the titles.

    PSNR and SSIM are computed on the reconstructions as given (not clipped); only the displayed images are clipped.

    One reconstruction gives one row, ``target | reconstruction | |error|``. Several (a mapping ``name -> image``)
    give ``target | reconstruction 1 | reconstruction 2 | ...`` with, when ``show_error``, each reconstruction's
    absolute error map below it. Error maps are the per-pixel absolute error averaged over channels, on a fixed
    ``[0, 0.1]`` colour scale so figures are comparable.

    Args:
        path: PNG file to write; parent directories are created. Written atomically (:mod:`keras_inr.safe_files`).
        target: ``(H, W)`` or ``(H, W, C)`` image in ``[0, 1]``.
        reconstructions: one image of the target's shape, or a mapping from a label to such an image.
        title: optional figure title (a string).
        show_error: whether to draw the error maps (a bool).
        dpi: resolution of the saved figure; positive, at most 1000.

    Returns:
        The path written.

    Raises:
        ValueError: naming ``path``, ``target``, ``reconstructions``, ``title``, ``show_error`` or ``dpi`` when
            invalid (the reconstructions must have the target's shape).
    """
    path = check_path("path", path)
    if title is not None and not isinstance(title, str):
        raise ValueError(f"`title` must be a string or None, got {title!r}.")
    show_error = check_bool("show_error", show_error)
    dpi = check_positive_float("dpi", dpi)
    if dpi > 1000:
        raise ValueError(f"`dpi` must be at most 1000 (a figure of a few panels), got {dpi!r}.")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure  # the object API: no pyplot, no interactive backend

    target = _as_displayable(target, "target")
    if isinstance(reconstructions, Mapping):
        named = {str(label): _as_displayable(image, f"reconstructions[{label!r}]") for label, image in
                 reconstructions.items()}
        if not named:
            raise ValueError("`reconstructions` is an empty mapping; give at least one image.")
    else:
        named = {"reconstruction": _as_displayable(reconstructions, "reconstructions")}
    for label, image in named.items():
        if image.shape != target.shape:
            raise ValueError(
                f"`reconstructions` must have the shape of `target` {target.shape}: {label!r} has shape {image.shape}."
            )

    grey = target.ndim == 2
    single = len(named) == 1
    if single:
        rows, columns = 1, 3 if show_error else 2
    else:
        rows, columns = (2 if show_error else 1), 1 + len(named)
    panel = 3.0
    figure = Figure(figsize=(panel * columns, panel * rows + (0.4 if title else 0.0)), dpi=dpi)
    FigureCanvasAgg(figure)
    axes = np.asarray(figure.subplots(rows, columns, squeeze=False))
    for axis in axes.ravel():
        axis.set_axis_off()

    def show(axis, image, caption):
        axis.imshow(np.clip(image, 0.0, 1.0), cmap="gray" if grey else None, vmin=0.0, vmax=1.0,
                    interpolation="nearest")
        axis.set_title(caption, fontsize=9)

    def show_error_map(axis, image, caption):
        error = np.abs(image - target)
        error = error.mean(axis=-1) if error.ndim == 3 else error
        handle = axis.imshow(error, cmap="inferno", vmin=0.0, vmax=0.1, interpolation="nearest")
        axis.set_title(caption, fontsize=9)
        figure.colorbar(handle, ax=axis, fraction=0.046, pad=0.04)

    def caption_for(label, image):
        text = f"{label}\nPSNR {psnr(target, image):.2f} dB"
        if min(target.shape[:2]) >= 11:  # SSIM's 11x11 window needs at least that much image
            text += f", SSIM {ssim(target, image):.3f}"
        return text

    show(axes[0, 0], target, "target")
    for column, (label, image) in enumerate(named.items(), start=1):
        if single:
            show(axes[0, 1], image, caption_for(label, image))
            if show_error:
                show_error_map(axes[0, 2], image, "|error| (mean over channels)")
        else:
            show(axes[0, column], image, caption_for(label, image))
            if show_error:
                show_error_map(axes[1, column], image, f"|error| {label}")
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as temporary:  # whole or not at all
        figure.savefig(os.fspath(temporary), format="png", dpi=dpi)
    return path
