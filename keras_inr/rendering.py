"""Rendering: evaluate an INR on a full coordinate grid in bounded memory.

:func:`render` never materialises the whole grid. It generates the coordinates of one batch at a time from flat
pixel indices (so a ``512^3`` volume costs no more host memory than one batch of coordinates plus the output), and
every batch has the same shape -- the last one is padded -- so a jit-compiled predict function (JAX, TensorFlow's
``tf.function``) is traced once rather than once more for the ragged tail. The output is an array in memory, or an
array the caller passes (``out``, e.g. a ``numpy.memmap``); :func:`render_to_file` streams it into a ``.npy`` file
instead, so that a render larger than memory costs one batch of coordinates and values. Peak memory at 1024^2 to
4096^2: BENCHMARKS.md, section 9.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Sequence

import keras
import numpy as np

from keras_inr.data import coordinate_grid
from keras_inr.validation import check_positive_int, check_shape

#: Default number of coordinates evaluated per batch. At width 256 one float32 activation of a batch is 64 MiB.
DEFAULT_RENDER_BATCH_SIZE = 65536


def _model_in_dims(model) -> int | None:
    """The coordinate dimensionality the model was built for, when it is known."""
    in_dims = getattr(model, "in_dims", None)
    if in_dims is not None:
        return int(in_dims)
    inputs = getattr(model, "_inputs_struct", None)  # functional models: their Input's last axis
    if inputs is not None and hasattr(inputs, "shape") and inputs.shape[-1] is not None:
        return int(inputs.shape[-1])
    return None


def render(model, shape: Sequence[int], batch_size: int = DEFAULT_RENDER_BATCH_SIZE, out=None) -> np.ndarray:
    """Evaluate ``model`` on every point of ``coordinate_grid(shape)``, one fixed-size batch at a time.

    Args:
        model: a Keras model mapping coordinates ``(N, len(shape))`` to values ``(N, out_dims)`` (any keras-inr
            model, or any Keras model with that signature). Unbuilt models are built by the first batch.
        shape: spatial shape of the signal, e.g. ``(H, W)`` for an image, ``(T,)`` for audio, ``(D, H, W)`` for a
            volume. An int means a 1-D shape. At most :data:`keras_inr.validation.MAX_GRID_POINTS` points.
        batch_size: coordinates per model call; bounds memory. Batches all have ``min(batch_size, prod(shape))``
            rows: the last is padded (and the padding dropped) so the predict function is compiled only once.
        out: optional array to write the render into instead of a new one: a writable ``float32`` array of shape
            ``(*shape, out_dims)``, e.g. ``numpy.lib.format.open_memmap(path, "w+", "float32", (*shape, out_dims))``.

    Returns:
        ``float32`` numpy array ``(*shape, out_dims)`` (``out`` when given).

    Raises:
        ValueError: if ``shape``, ``batch_size`` or ``out`` is invalid, or the model was built for coordinates of
            another dimension than ``len(shape)``.
        MemoryError: naming ``shape`` when the output array does not fit in memory.

    Example:
        >>> image = render(SIREN(out_dims=3, in_dims=2), (64, 64))  # doctest: +SKIP
        >>> image.shape
        (64, 64, 3)
    """
    shape = check_shape(shape)
    if out is not None and (not isinstance(out, np.ndarray) or out.dtype != np.float32 or out.shape[:-1] != shape
                            or out.ndim != len(shape) + 1 or not out.flags.writeable or not out.flags.c_contiguous):
        raise ValueError(
            f"`out` must be a writable, C-contiguous float32 array of shape (*shape, out_dims) = {(*shape, 'C')}, "
            f"got {type(out).__name__} {getattr(out, 'shape', '')} {getattr(out, 'dtype', '')}."
        )
    flat = None if out is None else out.reshape(-1, out.shape[-1])  # a view: out is C-contiguous
    for start, stop, values in _batches(model, shape, batch_size):
        if flat is None:
            total = math.prod(shape)
            try:
                flat = np.empty((total, values.shape[1]), dtype=np.float32)
            except MemoryError:
                gib = total * values.shape[1] * 4 / 2**30
                raise MemoryError(
                    f"The rendering of `shape` {shape} ({total:,} points x {values.shape[1]} channels, {gib:.1f} GiB "
                    "of float32) does not fit in memory; render a smaller shape, or into a file with "
                    "keras_inr.rendering.render_to_file."
                ) from None
        elif flat.shape[1] != values.shape[1]:
            raise ValueError(f"`out` has {flat.shape[1]} channels but the model outputs {values.shape[1]}.")
        flat[start:stop] = values
    return out if out is not None else flat.reshape(*shape, flat.shape[-1])


def render_to_file(model, shape: Sequence[int], path, batch_size: int = DEFAULT_RENDER_BATCH_SIZE):
    """Render ``model`` on the grid of ``shape`` straight into a ``.npy`` file, one batch at a time.

    Memory stays at one batch of coordinates and values (plus the model's activations for a batch), whatever the size
    of the output; the file is written under a temporary name and renamed when complete
    (:mod:`keras_inr.safe_files`), so an interrupted render leaves no partial file at ``path``. Read it back with
    ``numpy.load(path, mmap_mode="r")`` to use it without loading it whole.

    Args:
        model, shape, batch_size: as for :func:`render`.
        path: the ``.npy`` file to write (its folder must exist); an existing file is replaced.

    Returns:
        ``pathlib.Path`` of the file, which holds a ``float32`` array ``(*shape, out_dims)``, equal to
        ``render(model, shape)``.

    Raises:
        ValueError: as :func:`render`, or naming ``path`` when it does not end in ``.npy`` or its folder does not
            exist.
    """
    from pathlib import Path

    from keras_inr.safe_files import atomic_path

    shape = check_shape(shape)
    if not isinstance(path, (str, os.PathLike)) or Path(path).suffix != ".npy":
        raise ValueError(f"`path` must be a file path ending in .npy, got {path!r}.")
    path = Path(path)
    if not path.parent.is_dir():
        raise ValueError(f"`path` {str(path)!r}: the folder {str(path.parent)!r} does not exist.")
    with atomic_path(path) as temporary, open(temporary, "wb") as handle:
        for start, _, values in _batches(model, shape, batch_size):
            if start == 0:  # the header needs the channel count, known from the first batch
                header = {"descr": "<f4", "fortran_order": False, "shape": (*shape, values.shape[1])}
                np.lib.format.write_array_header_1_0(handle, header)
            handle.write(np.ascontiguousarray(values, dtype="<f4").tobytes())
    return path


def _batches(model, shape: tuple[int, ...], batch_size: int) -> Iterator[tuple[int, int, np.ndarray]]:
    """``(start, stop, values (stop - start, out_dims))`` of the grid of ``shape``, batch by batch, every model call
    on ``min(batch_size, prod(shape))`` coordinates (the tail padded)."""
    batch_size = check_positive_int("batch_size", batch_size)
    if not callable(model):
        raise ValueError(f"`model` must be a Keras model (callable on coordinates), got {type(model).__name__}.")
    in_dims = _model_in_dims(model)
    if in_dims is not None and in_dims != len(shape):
        raise ValueError(
            f"`model` takes {in_dims}-D coordinates but `shape` {shape} has {len(shape)} dimensions; "
            f"pass a shape with {in_dims} entries."
        )
    if isinstance(model, keras.Model):
        from keras_inr.distribution import prepare_model

        prepare_model(model)  # TensorFlow under a strategy: predict_on_batch must return one copy of the output
    total = math.prod(shape)
    rows = min(batch_size, total)  # every call gets exactly this many coordinates
    for start in range(0, total, rows):
        stop = min(start + rows, total)
        coordinates = coordinate_grid(shape, start, stop)
        if stop - start < rows:  # pad the tail by repeating its last point, so the batch shape never changes
            padding = np.repeat(coordinates[-1:], rows - (stop - start), axis=0)
            coordinates = np.concatenate([coordinates, padding], axis=0)
        values = _predict(model, coordinates)
        if values.ndim != 2 or values.shape[0] != rows:
            raise ValueError(
                f"`model` must map coordinates (N, {len(shape)}) to values (N, out_dims); for N={rows} it returned "
                f"shape {values.shape}."
            )
        yield start, stop, values[: stop - start]


def _predict(model, coordinates: np.ndarray) -> np.ndarray:
    """One batch through the model's compiled predict function (or a plain call for non-Keras callables)."""
    if isinstance(model, keras.Model):
        values = model.predict_on_batch(coordinates)
    else:
        values = model(keras.ops.convert_to_tensor(coordinates))
    return np.asarray(keras.ops.convert_to_numpy(values), dtype=np.float32)
