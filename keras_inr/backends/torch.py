"""PyTorch-specific helpers: the fused affine map of a dense layer with shared weights.

Why this exists: PyTorch runs Keras layers eagerly, op by op, so ``ops.matmul(x, W) + b`` is two passes over the
``(points, units)`` output -- the matrix product, then a separate bias addition -- where ``torch.nn.Linear`` uses one
fused ``torch.addmm``. For a SIREN 3x256 on 16,384 coordinates the separate addition was about 5% of a training step on
the benchmark CPU (``benchmarks/overhead.py``, torch profile in BENCHMARKS.md). JAX (XLA) and TensorFlow fuse or
schedule it themselves and keep the ``keras.ops`` expression.
"""

from __future__ import annotations

import torch
from keras import ops
from keras.backend import standardize_dtype


def can_fuse(inputs, kernel, bias) -> bool:
    """Whether :func:`fused_affine` applies: 2-D inputs ``(points, in)``, kernel ``(in, out)``, bias ``(out,)``, all
    of one floating dtype (otherwise the caller's ``keras.ops`` expression handles type promotion)."""
    if bias is None or len(inputs.shape) != 2 or len(kernel.shape) != 2 or len(bias.shape) != 1:
        return False
    dtypes = {standardize_dtype(value.dtype) for value in (inputs, kernel, bias)}
    return len(dtypes) == 1 and dtypes.pop() in ("float16", "bfloat16", "float32", "float64")


def fused_affine(inputs, kernel, bias):
    """``inputs @ kernel + bias`` in one ``torch.addmm``; shapes as in :func:`can_fuse`, result ``(points, out)``.

    Args:
        inputs: ``(points, in)`` tensor or array.
        kernel: ``(in, out)`` tensor or Keras variable.
        bias: ``(out,)`` tensor or Keras variable.

    Returns:
        The ``(points, out)`` tensor, differentiable in all three arguments like the unfused expression.
    """
    inputs, kernel, bias = (ops.convert_to_tensor(value) for value in (inputs, kernel, bias))
    return torch.addmm(bias, inputs, kernel)
