"""hypernets: hypernetworks that map a datapoint to the weights of an implicit neural representation (INR).

Built on keras_inr: the generated INRs have the architecture of a keras-inr model (the *target*) and are evaluated
with its layers' maths, batched over samples. Train with ``model.fit`` on JAX, TensorFlow or PyTorch.

Example:
    >>> import keras, keras_inr, hypernets
    >>> encoder = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(64, activation="relu"),
    ...                             keras.layers.Dense(64)])
    >>> model = hypernets.HyperINR(encoder, keras_inr.SIREN(out_dims=1, width=32, depth=2), head="shift")

``hypernets.tuning.HyperINRHyperModel`` searches hypernetwork architectures with KerasTuner (optional: the submodule
is imported on first use).
"""

import keras_inr  # noqa: F401  (selects the default backend before keras is imported)

# isort: split
from hypernets import encoders, functional, heads  # noqa: E402
from hypernets.data import FieldDataset, ImageFieldDataset  # noqa: E402
from hypernets.encoders import ConvEncoder, ResidualBlock  # noqa: E402
from hypernets.folder_data import ImageFolderDataset  # noqa: E402
from hypernets.heads import (  # noqa: E402
    HEADS,
    LAYER_HEADS,
    FullHead,
    LowRankHead,
    PerLayerHead,
    SharedHead,
    ShiftHead,
    WeightHead,
)
from hypernets.meta import AutoDecodingINR, MetaModulatedINR  # noqa: E402
from hypernets.models import HyperINR, SnapshotRenderer, parameter_count  # noqa: E402


def __getattr__(name: str):
    """Lazy submodule: ``hypernets.tuning`` (KerasTuner search over hypernetworks) imports KerasTuner, an optional
    dependency (``pip install 'keras-inr[tuner]'``), on first use, so ``import hypernets`` works without it."""
    if name == "tuning":
        import importlib

        return importlib.import_module("hypernets.tuning")
    raise AttributeError(f"module 'hypernets' has no attribute {name!r}")


__all__ = [
    "HyperINR",
    "MetaModulatedINR",
    "AutoDecodingINR",
    "FieldDataset",
    "ImageFieldDataset",
    "ImageFolderDataset",
    "WeightHead",
    "FullHead",
    "LowRankHead",
    "ShiftHead",
    "SharedHead",
    "PerLayerHead",
    "HEADS",
    "LAYER_HEADS",
    "ConvEncoder",
    "ResidualBlock",
    "SnapshotRenderer",
    "encoders",
    "functional",
    "heads",
    "parameter_count",
]
