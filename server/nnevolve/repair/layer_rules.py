"""What each layer family expects from its input, and how to resize a built layer in place.

An *input rule* names the constructor argument that must equal a width of the incoming tensor
(``Linear.in_features`` = last dimension, ``Conv2d.in_channels`` = dimension 1, ...). During the
meta-device forward pass a mismatching layer is resized in place, so that one pass finds every
mismatch downstream of the first one. An *output rule* names the argument that sets the width a
layer produces, used to make the model's output ``num_classes`` wide.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.nn.modules.batchnorm import _NormBase
from torch.nn.modules.conv import _ConvNd


class Unrepairable(Exception):
    """A layer cannot take the width it receives; the message completes "N channels, which ..."."""


@dataclass(frozen=True)
class WidthRule:
    """A constructor argument that must follow (input) or sets (output) a tensor width."""

    param: str  # constructor argument name, e.g. "in_features"
    position: int  # its positional index in the constructor call
    dim: int  # the tensor dimension that carries the width
    current: Callable[[Any], int]  # reads the argument's value off a built layer
    resize: Callable[[Any, int], None] | None = None  # input rules only


def _meta_like(reference: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
    return torch.empty(shape, device=reference.device, dtype=reference.dtype)


def _resize_linear(m: nn.Linear, width: int) -> None:
    m.in_features = width
    m.weight = nn.Parameter(_meta_like(m.weight, (m.out_features, width)))


def _resize_conv(m: _ConvNd, width: int) -> None:
    if width % m.groups:
        raise Unrepairable(f"cannot be split into its {m.groups} groups")
    shape = tuple(int(s) for s in m.weight.shape)
    m.in_channels = width
    new_shape = ((shape[0], width // m.groups, *shape[2:]) if not m.transposed
                 else (width, *shape[1:]))
    m.weight = nn.Parameter(_meta_like(m.weight, new_shape))


def _resize_vectors(m: nn.Module, width: int, names: tuple[str, ...]) -> None:
    for name in names:
        old = getattr(m, name, None)
        if isinstance(old, torch.Tensor) and old.dim() == 1:
            new = _meta_like(old, (width,))
            setattr(m, name, nn.Parameter(new) if isinstance(old, nn.Parameter) else new)


def _resize_norm(m: _NormBase, width: int) -> None:
    m.num_features = width
    _resize_vectors(m, width, ("weight", "bias", "running_mean", "running_var"))


def _resize_group_norm(m: nn.GroupNorm, width: int) -> None:
    if width % m.num_groups:
        raise Unrepairable(f"cannot be split into its {m.num_groups} groups")
    m.num_channels = width
    _resize_vectors(m, width, ("weight", "bias"))


def _resize_layer_norm(m: nn.LayerNorm, width: int) -> None:
    m.normalized_shape = (width,)
    _resize_vectors(m, width, ("weight", "bias"))


def _resize_prelu(m: nn.PReLU, width: int) -> None:
    m.num_parameters = width
    _resize_vectors(m, width, ("weight",))


def input_rule(m: nn.Module) -> WidthRule | None:
    """The argument of ``m`` that must equal a width of its input, None if there is none."""
    if isinstance(m, nn.Linear):
        return WidthRule("in_features", 0, -1, lambda m: m.in_features, _resize_linear)
    if isinstance(m, _ConvNd):
        return WidthRule("in_channels", 0, 1, lambda m: m.in_channels, _resize_conv)
    if isinstance(m, _NormBase):
        return WidthRule("num_features", 0, 1, lambda m: m.num_features, _resize_norm)
    if isinstance(m, nn.GroupNorm):
        return WidthRule("num_channels", 1, 1, lambda m: m.num_channels, _resize_group_norm)
    if isinstance(m, nn.LayerNorm) and len(m.normalized_shape) == 1:
        return WidthRule("normalized_shape", 0, -1, lambda m: m.normalized_shape[0],
                         _resize_layer_norm)
    if isinstance(m, nn.PReLU) and m.num_parameters != 1:
        return WidthRule("num_parameters", 0, 1, lambda m: m.num_parameters, _resize_prelu)
    return None


# layers whose output has their input's shape once the pre-hook has checked rank and width
_SHAPE_PRESERVING = (
    nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.ELU, nn.SELU, nn.CELU, nn.GELU, nn.SiLU, nn.Mish,
    nn.Tanh, nn.Sigmoid, nn.Hardtanh, nn.Hardswish, nn.Hardsigmoid, nn.Softplus, nn.Softsign,
    nn.Tanhshrink, nn.PReLU, nn.Identity, nn.Dropout, nn.AlphaDropout, _NormBase, nn.GroupNorm,
)


def shape_only_forward(m: nn.Module) -> Callable[..., Any] | None:
    """A stand-in forward that only produces the right output shape, for layers whose meta
    kernels are slow Python decompositions (a meta ReLU costs about 1 ms, a BatchNorm 5).
    Anything but a single tensor argument still goes to the layer's own forward."""
    original = m.forward
    if isinstance(m, _SHAPE_PRESERVING) or (
            isinstance(m, nn.LayerNorm) and len(m.normalized_shape) == 1):
        def same_shape(x: Any, *args: Any, **kwargs: Any) -> Any:
            plain = isinstance(x, torch.Tensor) and not args and not kwargs
            return x if plain else original(x, *args, **kwargs)
        return same_shape
    if type(m) is nn.Linear:
        def linear_shape(x: Any, *args: Any, **kwargs: Any) -> Any:
            if isinstance(x, torch.Tensor) and x.dim() >= 1 and not args and not kwargs:
                return x.new_empty((*x.shape[:-1], m.out_features))
            return original(x, *args, **kwargs)
        return linear_shape
    return None


def _argument(args: tuple, kwargs: dict, name: str, position: int, default: object) -> object:
    return kwargs[name] if name in kwargs else args[position] if len(args) > position else default


def with_placeholder_width(cls: type, args: tuple,
                           kwargs: dict) -> tuple[tuple, dict, object] | None:
    """Constructor arguments whose input width is swapped for one the constructor accepts,
    and the width they replaced.

    The input width is rewritten from the incoming tensor anyway, so a value the constructor
    refuses (``GroupNorm(4, 6)``, ``Conv2d(3, 8, 3, groups=2)``, a negative width) must not
    stop the trace. None when ``cls`` has no input width.
    """
    if not isinstance(cls, type):
        return None
    if issubclass(cls, _ConvNd):  # in_channels = groups is always accepted
        param, position, value = "in_channels", 0, _argument(args, kwargs, "groups", 6, 1)
    elif issubclass(cls, nn.GroupNorm):
        param, position, value = "num_channels", 1, _argument(args, kwargs, "num_groups", 0, 1)
    else:
        param = next((p for family, p in _FIRST_ARGUMENT_WIDTHS if issubclass(cls, family)), "")
        if not param:
            return None
        position, value = 0, 1
    if param in kwargs:
        return args, {**kwargs, param: value}, kwargs[param]
    if len(args) > position:
        return (*args[:position], value, *args[position + 1:]), kwargs, args[position]
    return None


_FIRST_ARGUMENT_WIDTHS = ((nn.Linear, "in_features"), (_NormBase, "num_features"),
                          (nn.LayerNorm, "normalized_shape"))


def output_rule(m: nn.Module) -> WidthRule | None:
    """The argument of ``m`` that sets the width of its output, None if there is none."""
    if isinstance(m, nn.Linear):
        return WidthRule("out_features", 1, -1, lambda m: m.out_features)
    if isinstance(m, _ConvNd) and m.groups == 1:
        return WidthRule("out_channels", 1, 1, lambda m: m.out_channels)
    return None


_SPATIAL = {1: (nn.Conv1d, nn.ConvTranspose1d, nn.MaxPool1d, nn.AvgPool1d, nn.AdaptiveAvgPool1d,
                 nn.AdaptiveMaxPool1d),
            2: (nn.Conv2d, nn.ConvTranspose2d, nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d,
                nn.AdaptiveMaxPool2d, nn.BatchNorm2d, nn.InstanceNorm2d),
            3: (nn.Conv3d, nn.ConvTranspose3d, nn.MaxPool3d, nn.AvgPool3d, nn.AdaptiveAvgPool3d,
                nn.AdaptiveMaxPool3d, nn.BatchNorm3d, nn.InstanceNorm3d)}
_LAYOUTS = {1: "batch, channels, length", 2: "batch, channels, height, width",
            3: "batch, channels, depth, height, width"}


def spatial_dims(m: nn.Module) -> int | None:
    """How many spatial dimensions a convolution, pooling or norm layer works on (2: Conv2d)."""
    for dims, families in _SPATIAL.items():
        if isinstance(m, families):
            return dims
    return None


def accepted_dims(m: nn.Module) -> tuple[tuple[int, ...], str] | None:
    """The input ranks ``m`` accepts (batch included) and their layout in words, or None."""
    if isinstance(m, (nn.BatchNorm1d, nn.InstanceNorm1d)):
        return (2, 3), "batch, features or batch, channels, length"
    dims = spatial_dims(m)
    if dims is None:
        return None
    return (dims + 2,), _LAYOUTS[dims]


def _as_tuple(value: Any, n: int) -> tuple[int, ...]:
    return tuple(int(v) for v in value) if isinstance(value, (tuple, list)) else (int(value),) * n


def window_problem(m: nn.Module, x: torch.Tensor) -> str | None:
    """Why a convolution or pooling window does not fit the incoming spatial size, or None."""
    n = spatial_dims(m)
    layer: Any = m  # convolutions and poolings share these attributes, nn.Module does not
    if n is None or not hasattr(layer, "kernel_size") or getattr(layer, "transposed", False) \
            or x.dim() != n + 2 or layer.padding == "same":
        return None
    size = tuple(int(s) for s in x.shape[2:])
    kernel = _as_tuple(layer.kernel_size, n)
    padding = _as_tuple(0 if layer.padding == "valid" else layer.padding, n)
    dilation = _as_tuple(getattr(layer, "dilation", 1), n)
    window = tuple(d * (k - 1) + 1 for d, k in zip(dilation, kernel))
    if all(s + 2 * p >= w for s, p, w in zip(size, padding, window)):
        return None
    given = "×".join(map(str, size))
    needed = "×".join(map(str, kernel))
    what = "kernel" if isinstance(m, _ConvNd) else "window"
    return f"receives {given} input, smaller than its {needed} {what}"
