"""What a run of layers does to the spatial size of its input, from the literal arguments of
its convolution and pooling calls, so that a block put in its place downsamples alike."""

from __future__ import annotations

import ast

# the positions of a layer's spatial arguments when written positionally
CONV_ARGS = {"kernel_size": 2, "stride": 3, "padding": 4, "dilation": 5, "groups": 6}
POOL_ARGS = {"kernel_size": 0, "stride": 1, "padding": 2}
SIZES = range(1, 129)  # the input sizes two runs must map alike


def argument(call: ast.Call, name: str, position: int | None) -> ast.expr | None:
    """The value of ``name`` in ``call``, given by keyword or at ``position``."""
    for keyword in call.keywords:
        if keyword.arg == name:
            return keyword.value
    if position is not None and position < len(call.args):
        return call.args[position]
    return None


def set_argument(call: ast.Call, name: str, position: int | None, value: ast.expr | None) -> None:
    """Give ``name`` the ``value`` in ``call`` (by keyword unless it is written positionally);
    ``None`` removes it (and the positional arguments after it become keywords)."""
    if position is not None and position < len(call.args):
        if value is not None:
            call.args[position] = value
            return
        names = _names_after(call, position)
        moved = [ast.keyword(arg=n, value=v) for n, v in zip(names, call.args[position + 1:])]
        call.args = call.args[:position]
        call.keywords = [*moved, *call.keywords]
        return
    call.keywords = [k for k in call.keywords if k.arg != name]
    if value is not None:
        call.keywords.append(ast.keyword(arg=name, value=value))


def _names_after(call: ast.Call, position: int) -> list[str]:
    kind = layer_kind(call)
    table = CONV_ARGS if kind.startswith("Conv") else POOL_ARGS
    by_position = {p: n for n, p in table.items()}
    return [by_position.get(p, f"_{p}") for p in range(position + 1, len(call.args))]


def layer_kind(call: ast.Call) -> str:
    """``Conv2d`` for ``nn.Conv2d(...)``."""
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def is_conv(call: ast.Call) -> bool:
    return layer_kind(call) in ("Conv1d", "Conv2d", "Conv3d")


def is_pool(call: ast.Call) -> bool:
    kind = layer_kind(call)
    return "Pool" in kind


def integer(node: ast.expr | None, default: int | None) -> int | None:
    """A literal integer (or a tuple of equal ones); ``default`` when absent; None otherwise."""
    if node is None or (isinstance(node, ast.Constant) and node.value is None):
        return default
    if isinstance(node, ast.Constant) and isinstance(node.value, int) \
            and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, ast.Tuple) and node.elts:
        values = {integer(e, None) for e in node.elts}
        return values.pop() if len(values) == 1 else None
    return None


def size_map(calls: list[ast.Call]) -> tuple[int, ...] | None:
    """The output size of ``calls`` in order for each input size of SIZES (0: too small);
    None when an argument that matters is not a literal."""
    sizes = list(SIZES)
    for call in calls:
        step = _step(call)
        if step is None:
            return None
        sizes = [step(s) if s > 0 else 0 for s in sizes]
    return tuple(sizes)


def _step(call: ast.Call):  # noqa: ANN202 - a size function
    kind = layer_kind(call)
    if not (is_conv(call) or is_pool(call)):
        return lambda size: size  # activations, norms, dropout keep the size
    if kind.startswith("Adaptive"):
        out = integer(argument(call, "output_size", 0), None)
        return None if out is None else (lambda size: out)
    table = CONV_ARGS if is_conv(call) else POOL_ARGS
    kernel = integer(argument(call, "kernel_size", table["kernel_size"]), None)
    if kernel is None:
        return None
    default_stride = 1 if is_conv(call) else kernel
    stride = integer(argument(call, "stride", table["stride"]), default_stride)
    padding = integer(argument(call, "padding", table["padding"]), 0)
    dilation = integer(argument(call, "dilation", CONV_ARGS["dilation"] if is_conv(call)
                                 else None), 1)
    ceil_node = argument(call, "ceil_mode", None)
    ceil = isinstance(ceil_node, ast.Constant) and ceil_node.value is True
    if None in (stride, padding, dilation) or kernel < 1 or stride < 1 or (
            ceil_node is not None and not isinstance(ceil_node, ast.Constant)):
        return None
    span = dilation * (kernel - 1) + 1

    def step(size: int) -> int:
        room = size + 2 * padding - span
        if room < 0:
            return 0
        out = (-(-room // stride) if ceil else room // stride) + 1
        if ceil and (out - 1) * stride >= size + padding:
            out -= 1  # PyTorch: the last window starts inside the input
        return out

    return step
