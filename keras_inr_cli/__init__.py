"""The ``keras-inr`` console script's entry point: parse the command line first, import Keras after.

``keras_inr`` imports Keras and its backend when it is imported (about 2-5 s), so the console script does not start
in that package: :func:`main` here parses the command (``fit`` or ``tune``), answers ``keras-inr --help``,
``--version`` and a missing or unknown command, and checks ``KERAS_BACKEND``, all without importing Keras; only then
does it hand the arguments to :func:`keras_inr.cli.main`, which builds the command's options from the family
registry and runs it.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

#: The backends keras-inr supports (:data:`keras_inr.backend_setup.SUPPORTED_BACKENDS`, repeated here so that
#: checking ``KERAS_BACKEND`` imports nothing of keras_inr).
SUPPORTED_BACKENDS = ("jax", "tensorflow", "torch")

#: The sub-commands and their one-line help.
COMMANDS = {
    "fit": "fit an INR to an image",
    "tune": "search INR architectures with KerasTuner",
}


def version() -> str:
    try:
        from importlib.metadata import version as installed_version

        return installed_version("keras-inr")
    except Exception:  # not installed (run from a checkout)
        return "unknown"


def new_parser() -> tuple[argparse.ArgumentParser, argparse._SubParsersAction]:
    """The top-level ``keras-inr`` parser and its (empty) sub-command group."""
    parser = argparse.ArgumentParser(
        prog="keras-inr",
        description="Implicit neural representations with Keras 3 (JAX, TensorFlow, PyTorch). The backend is "
        f"chosen with KERAS_BACKEND={'|'.join(SUPPORTED_BACKENDS)} (default: jax). See `keras-inr COMMAND --help`.",
    )
    parser.add_argument("--version", action="version", version=f"keras-inr {version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    return parser, commands


def light_parser() -> argparse.ArgumentParser:
    """The top-level parser with each command's options left unparsed (they are parsed by :mod:`keras_inr.cli`)."""
    parser, commands = new_parser()
    for name, text in COMMANDS.items():
        commands.add_parser(name, help=text, add_help=False)  # parse with parse_known_args
    return parser


def backend_error() -> str | None:
    """The one-line error for an unsupported ``KERAS_BACKEND``, or ``None`` when it is unset or supported."""
    requested = os.environ.get("KERAS_BACKEND")
    if requested is None or requested in SUPPORTED_BACKENDS:
        return None
    return (
        f"KERAS_BACKEND={requested!r} is not a backend keras-inr supports; set it to one of "
        f"{', '.join(SUPPORTED_BACKENDS)} (or leave it unset for jax)."
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``keras-inr`` console script (exit codes as :func:`keras_inr.cli.main`; 2 for an unsupported
    ``KERAS_BACKEND``)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args, _ = light_parser().parse_known_args(argv)
    except SystemExit as exit_:  # --help / --version (0), no or an unknown command (2)
        return int(exit_.code or 0)
    error = backend_error()
    if error is not None:
        print(f"keras-inr {args.command}: error: {error}", file=sys.stderr)
        return 2
    from keras_inr import cli

    return cli.main(argv)


if __name__ == "__main__":
    sys.exit(main())
