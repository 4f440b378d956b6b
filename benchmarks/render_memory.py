"""Peak memory of rendering a large image: ``keras_inr.render`` (output in memory) vs ``render_to_file`` (a .npy).

Each measurement runs in a fresh process: a SIREN (``--width`` x ``--depth``, 3 output channels) is built and its
predict function compiled by a first render of 256x256 in batches of ``--batch-size``; then the peak resident set
size is reset (Linux ``/proc/self/clear_refs``) and the image is rendered at each size. Reported per size and mode:
the output's own size, the peak RSS above the process's resident size before the render (everything: numpy, the
backend's buffers and activations), the peak of numpy/Python allocations alone (``tracemalloc``) and the wall time.

Usage::

    python benchmarks/render_memory.py                          # 1024, 2048, 4096 on the current KERAS_BACKEND
    python benchmarks/render_memory.py --backends jax,torch --sizes 1024,4096
    python benchmarks/render_memory.py --quick                  # seconds: 128 and 256
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _rss_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field}")


def measure(size: int, mode: str, width: int, depth: int, batch_size: int) -> dict:
    """One render in this process (call in a fresh one): peak RSS and tracemalloc peak in MiB, seconds."""
    import time
    import tracemalloc

    import keras_inr
    from keras_inr.rendering import render, render_to_file

    model = keras_inr.SIREN(out_dims=3, width=width, depth=depth, in_dims=2)
    with tempfile.TemporaryDirectory() as folder:
        render(model, (256, 256), batch_size=batch_size)  # compile the predict function for this batch shape
        render_to_file(model, (256, 256), Path(folder) / "warm.npy", batch_size=batch_size)
        Path("/proc/self/clear_refs").write_text("5")  # reset the peak RSS (VmHWM) to the current RSS
        before = _rss_kib("VmRSS")
        tracemalloc.start()
        started = time.perf_counter()
        if mode == "memory":
            image = render(model, (size, size), batch_size=batch_size)
            checksum = float(image[::97, ::89].sum())
        else:
            path = render_to_file(model, (size, size), Path(folder) / "image.npy", batch_size=batch_size)
            import numpy as np

            checksum = float(np.load(path, mmap_mode="r")[::97, ::89].sum())
        seconds = time.perf_counter() - started
        _, numpy_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        peak = _rss_kib("VmHWM")
    return {
        "size": size, "mode": mode, "output_mib": size * size * 3 * 4 / 2**20,
        "peak_rss_mib": (peak - before) / 1024, "numpy_peak_mib": numpy_peak / 2**20, "seconds": seconds,
        "checksum": checksum,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1024,2048,4096", help="image sides, comma-separated")
    parser.add_argument("--backends", default=None, help="comma-separated (default: the current KERAS_BACKEND)")
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--depth", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=65536)
    parser.add_argument("--quick", action="store_true", help="sizes 128 and 256 only")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: "size,mode" measured in this process
    args = parser.parse_args(argv)
    if args.one:
        size, mode = args.one.split(",")
        print("RESULT " + json.dumps(measure(int(size), mode, args.width, args.depth, args.batch_size)))
        return 0
    sizes = [128, 256] if args.quick else [int(side) for side in args.sizes.split(",")]
    backends = (args.backends or os.environ.get("KERAS_BACKEND", "jax")).split(",")
    print(f"SIREN {args.width}x{args.depth}, 3 channels, batches of {args.batch_size} coordinates; MiB")
    print("| backend | size | output | render (in memory): peak RSS / numpy peak / s "
          "| render_to_file: peak RSS / numpy peak / s |")
    print("|---|---|---|---|---|")
    for backend in backends:
        for size in sizes:
            cells = []
            for mode in ("memory", "file"):
                command = [sys.executable, __file__, "--one", f"{size},{mode}", "--width", str(args.width),
                           "--depth", str(args.depth), "--batch-size", str(args.batch_size)]
                env = {**os.environ, "KERAS_BACKEND": backend, "PYTHONPATH": str(ROOT)}
                result = subprocess.run(command, capture_output=True, text=True, env=env)
                lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
                if result.returncode or not lines:
                    raise RuntimeError(result.stdout[-2000:] + result.stderr[-2000:])
                row = json.loads(lines[-1][len("RESULT "):])
                cells.append(f"{row['peak_rss_mib']:.0f} / {row['numpy_peak_mib']:.1f} / {row['seconds']:.1f}")
            print(f"| {backend} | {size}x{size} | {size * size * 3 * 4 / 2**20:.1f} | {cells[0]} | {cells[1]} |",
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
