"""Crash-safe file writing: write under a temporary name next to the target, then atomically rename it over the target.

A reader (or a resumed run) therefore sees either the complete old file or the complete new one, never a truncated
file, whatever interrupts the writer (Ctrl-C, an exception, the process being killed, a full disk). The temporary
name keeps the target's extensions, because Keras chooses the format from them (``model.keras`` is written as
``.model.partial.keras``, ``x.weights.h5`` as ``.x.partial.weights.h5``); :func:`is_partial` recognises such names,
so a leftover of a killed writer can be told apart from the user's files.

Example::

    from keras_inr.safe_files import atomic_path, write_text

    with atomic_path("runs/a/model.keras") as temporary:
        model.save(temporary)                     # runs/a/model.keras is replaced only once this is complete
    write_text("runs/a/metrics.json", json.dumps(metrics))
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

#: The marker :func:`partial_path` puts into a temporary name.
PARTIAL = ".partial"


def partial_path(path) -> Path:
    """The temporary name :func:`atomic_path` writes ``path`` under: hidden, in the same folder (so that the rename is
    atomic), with the same extensions: ``dir/model.keras`` -> ``dir/.model.partial.keras``."""
    path = Path(path)
    stem, dot, extensions = path.name.partition(".")
    return path.with_name(f".{stem}{PARTIAL}{dot}{extensions}")


def is_partial(name: str) -> bool:
    """Whether ``name`` (a file name) is a temporary name made by :func:`partial_path`."""
    stem, _, _ = name[1:].partition(".") if name.startswith(".") else ("", "", "")
    return bool(stem) and name[1 + len(stem):].startswith(PARTIAL)


def fsync_file(path) -> None:
    """Flush ``path``'s content to the disk (so that a rename after it never exposes an empty file after a crash)."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def fsync_directory(path) -> None:
    """Flush a folder's entries (a rename in it) to the disk; a no-op where folders cannot be opened (Windows)."""
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


@contextlib.contextmanager
def staged_path(path) -> Iterator[Path]:
    """Yield the temporary name of ``path`` (:func:`partial_path`) to write to; remove it if the block fails.

    Unlike :func:`atomic_path` this does not rename: call :func:`commit` when every file of a set is staged, so that
    the set is replaced in one quick burst of renames.
    """
    temporary = partial_path(path)
    temporary.unlink(missing_ok=True)  # a leftover of a killed writer
    try:
        yield temporary
        if not temporary.is_file():
            raise FileNotFoundError(f"nothing was written to {temporary} (the temporary name of {path}).")
        fsync_file(temporary)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def commit(path) -> Path:
    """Atomically replace ``path`` by its staged temporary file (:func:`staged_path`); return ``path``."""
    path = Path(path)
    os.replace(partial_path(path), path)
    fsync_directory(path.parent)
    return path


@contextlib.contextmanager
def atomic_path(path) -> Iterator[Path]:
    """Yield a temporary name to write ``path`` to; when the block succeeds, atomically replace ``path`` by it.

    If the block raises (or the process dies), ``path`` keeps its previous content (or stays absent) and the
    temporary file is removed (a killed process leaves it behind; the next write to ``path`` replaces it).

    Example:
        >>> with atomic_path(folder / "model.keras") as temporary:  # doctest: +SKIP
        ...     model.save(temporary)
    """
    with staged_path(path) as temporary:
        yield temporary
    commit(path)


def write_text(path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically (:func:`atomic_path`); return ``path``."""
    path = Path(path)
    with atomic_path(path) as temporary:
        temporary.write_text(text)
    return path
