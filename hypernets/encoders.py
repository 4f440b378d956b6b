"""Encoders for :class:`hypernets.HyperINR`: a small convolutional network that maps images to feature vectors.

:class:`ConvEncoder` is a stack of residual blocks with group normalisation (Wu & He 2018, "Group Normalization",
https://arxiv.org/abs/1803.08494; residual blocks: He et al. 2016, "Identity Mappings in Deep Residual Networks",
https://arxiv.org/abs/1603.05027, pre-activation form, figure 1b), halving the resolution between stages, followed by
global average pooling and a dense layer to ``features`` values. Group normalisation, not batch normalisation: its
statistics are per sample, so the features of a datapoint do not depend on the rest of its batch (nor on a
training/inference switch).
"""

from __future__ import annotations

from collections.abc import Sequence

import keras

from keras_inr.saving import register
from keras_inr.validation import check_positive_int


def _check_groups(groups: int, filters: Sequence[int]) -> int:
    groups = check_positive_int("groups", groups)
    for count in filters:
        if count % groups:
            raise ValueError(
                f"`groups`={groups} must divide the number of channels of every stage, but `filters` holds {count}."
            )
    return groups


@register
class ResidualBlock(keras.layers.Layer):
    """Pre-activation residual block: ``x + conv(act(norm(conv(act(norm(x))))))``.

    Group normalisation, a SiLU (``swish``) activation and a 3x3 convolution, twice; the skip connection is the
    identity when the channel count stays, else a 1x1 convolution (He et al. 2016, https://arxiv.org/abs/1603.05027,
    figure 1b).

    Args:
        filters: output channels; positive and divisible by ``groups``.
        groups: groups of the group normalisations (Wu & He 2018, https://arxiv.org/abs/1803.08494).
        **kwargs: standard layer arguments (``name``, ``dtype``).

    Call:
        ``(batch, H, W, C)`` images to ``(batch, H, W, filters)``.
    """

    def __init__(self, filters: int, groups: int = 8, **kwargs):
        super().__init__(**kwargs)
        self.filters = check_positive_int("filters", filters)
        self.groups = _check_groups(groups, [self.filters])
        policy = self.dtype_policy
        self.norm1 = keras.layers.GroupNormalization(self.groups, dtype=policy, name="norm1")
        self.conv1 = keras.layers.Conv2D(self.filters, 3, padding="same", dtype=policy, name="conv1")
        self.norm2 = keras.layers.GroupNormalization(self.groups, dtype=policy, name="norm2")
        self.conv2 = keras.layers.Conv2D(self.filters, 3, padding="same", dtype=policy, name="conv2")
        self.skip = None

    def build(self, input_shape):
        channels = input_shape[-1]
        if len(input_shape) != 4 or channels is None:
            raise ValueError(f"ResidualBlock takes images (batch, H, W, channels), got input shape {input_shape}.")
        if int(channels) % self.groups:
            raise ValueError(
                f"ResidualBlock: its input has {int(channels)} channels, which `groups`={self.groups} does not divide."
            )
        self.norm1.build(input_shape)
        self.conv1.build(input_shape)
        inner = (*input_shape[:-1], self.filters)
        self.norm2.build(inner)
        self.conv2.build(inner)
        if int(channels) != self.filters:
            self.skip = keras.layers.Conv2D(self.filters, 1, dtype=self.dtype_policy, name="skip")
            self.skip.build(input_shape)
        self.built = True

    def call(self, inputs):
        hidden = self.conv1(keras.activations.silu(self.norm1(inputs)))
        hidden = self.conv2(keras.activations.silu(self.norm2(hidden)))
        shortcut = inputs if self.skip is None else self.skip(inputs)
        return shortcut + hidden

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.filters)

    def get_config(self) -> dict:
        return {**super().get_config(), "filters": self.filters, "groups": self.groups}


@register
class ConvEncoder(keras.layers.Layer):
    """A small convolutional image encoder for :class:`hypernets.HyperINR`: images to feature vectors.

    A 3x3 convolution to ``filters[0]`` channels, then for each stage ``s`` (one per entry of ``filters``)
    ``blocks_per_stage`` :class:`ResidualBlock` s with ``filters[s]`` channels, a 2x2 average pooling between
    stages, then group normalisation, SiLU, global average pooling and a dense layer to ``features`` values.
    Works on any image size (the pooling is global); it needs images of at least ``2**(len(filters) - 1)`` pixels
    per side.

    Args:
        features: size of the output feature vector; positive.
        filters: channels of each stage, e.g. ``(32, 64)``; positive, each divisible by ``groups``.
        blocks_per_stage: residual blocks per stage; positive.
        groups: groups of every group normalisation; positive.
        **kwargs: standard layer arguments (``name``, ``dtype``).

    Call:
        ``(batch, H, W, channels)`` images to ``(batch, features)``.

    Raises:
        ValueError: naming ``features``, ``filters``, ``blocks_per_stage`` or ``groups`` for bad values, or the input
            shape when it is not ``(batch, H, W, channels)``.

    Example:
        >>> encoder = ConvEncoder(features=64, filters=(16, 32))
        >>> model = hypernets.HyperINR(encoder, keras_inr.SIREN(out_dims=1, width=64, depth=2))  # doctest: +SKIP
    """

    def __init__(self, features: int = 64, filters: Sequence[int] = (32, 64), blocks_per_stage: int = 1,
                 groups: int = 8, **kwargs):
        super().__init__(**kwargs)
        self.features = check_positive_int("features", features)
        if isinstance(filters, (int, str)) or not isinstance(filters, Sequence) or not filters:
            raise ValueError(
                f"`filters` must be a non-empty sequence of channel counts, e.g. (32, 64), got {filters!r}."
            )
        self.filters = tuple(check_positive_int("filters", count) for count in filters)
        self.blocks_per_stage = check_positive_int("blocks_per_stage", blocks_per_stage)
        self.groups = _check_groups(groups, self.filters)
        policy = self.dtype_policy
        self.stem = keras.layers.Conv2D(self.filters[0], 3, padding="same", dtype=policy, name="stem")
        self.blocks = [
            ResidualBlock(count, self.groups, dtype=policy, name=f"stage{stage}_block{block}")
            for stage, count in enumerate(self.filters) for block in range(self.blocks_per_stage)
        ]
        self.pool = keras.layers.AveragePooling2D(2, padding="same", dtype=policy, name="downsample")
        self.norm = keras.layers.GroupNormalization(self.groups, dtype=policy, name="norm")
        self.global_pool = keras.layers.GlobalAveragePooling2D(dtype=policy, name="global_pool")
        self.dense = keras.layers.Dense(self.features, dtype=policy, name="features")

    def build(self, input_shape):
        if len(input_shape) != 4 or input_shape[-1] is None:
            raise ValueError(
                f"ConvEncoder takes images (batch, H, W, channels), got input shape {tuple(input_shape)} (grey images "
                "(batch, H, W) need a channel axis: images[..., None])."
            )
        shape = tuple(input_shape)
        self.stem.build(shape)
        shape = (*shape[:-1], self.filters[0])
        for index, block in enumerate(self.blocks):
            if index and index % self.blocks_per_stage == 0:
                shape = self.pool.compute_output_shape(shape)
            block.build(shape)
            shape = block.compute_output_shape(shape)
        self.norm.build(shape)
        self.dense.build((shape[0], self.filters[-1]))
        self.built = True

    def call(self, inputs):
        hidden = self.stem(inputs)
        for index, block in enumerate(self.blocks):
            if index and index % self.blocks_per_stage == 0:
                hidden = self.pool(hidden)
            hidden = block(hidden)
        hidden = self.global_pool(keras.activations.silu(self.norm(hidden)))
        return self.dense(hidden)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.features)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "features": self.features,
            "filters": list(self.filters),
            "blocks_per_stage": self.blocks_per_stage,
            "groups": self.groups,
        }


__all__ = ["ConvEncoder", "ResidualBlock"]
