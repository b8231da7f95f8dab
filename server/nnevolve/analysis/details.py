"""The detail in words and the trainable-parameter count of one tagged call.

Parameter counts follow the shapes torch gives each layer's parameters (``Linear``: weight
``out×in`` plus bias ``out``; ``Conv2d``: ``out × in/groups × kh × kw`` plus ``out``; ...), and
exist only when every argument they depend on is a literal or a constant expression.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Mapping
from typing import Any

from nnevolve.analysis.catalog import NN_MODULES, CatalogEntry
from nnevolve.analysis.literals import UNKNOWN, SourceText, fold, format_value

ParamsOf = Callable[[ast.expr], "int | None"]  # params of a nested call (for containers)
# a rule's answer: the detail's head, the arguments it already shows, the parameter count
RuleResult = tuple[str, tuple[str, ...], "int | None"]
Rule = Callable[[CatalogEntry, "BoundArgs", ParamsOf], RuleResult]

# modules without trainable parameters, whatever their arguments
_PARAMETER_FREE = frozenset({"activation", "dropout", "reshape", "loss", "pooling"})
_HAS_PARAMETERS = frozenset({"PReLU", "AdaptiveLogSoftmaxWithLoss", "LinearCrossEntropyLoss"})


class BoundArgs:
    """A call's arguments bound to the callee's parameter names."""

    def __init__(
        self, call: ast.Call, entry: CatalogEntry, constants: Mapping[str, object], text: SourceText
    ) -> None:
        self.nodes: dict[str, ast.expr] = {}
        self.extra: list[ast.expr] = []  # positional arguments past the known parameters
        self.open = False  # *args or **kwargs: any parameter may be set where we cannot see it
        self.starred: ast.expr | None = None  # the `layers` of `*layers`
        self._constants = constants
        self._text = text
        for index, arg in enumerate(call.args):
            if arg.__class__ is ast.Starred:
                self.open = True
                self.starred = arg.value
                break  # later positions are unknown
            if index < len(entry.args):
                self.nodes[entry.args[index]] = arg
            else:
                self.extra.append(arg)
        for keyword in call.keywords:
            if keyword.arg is None:
                self.open = True
            else:
                self.nodes[keyword.arg] = keyword.value

    def value(self, name: str, default: object = UNKNOWN) -> Any:
        """The literal value of an argument, ``default`` when absent, UNKNOWN when not literal.

        Typed Any: callers check the type (``_ints``, ``_bools``) before any arithmetic.
        """
        node = self.nodes.get(name)
        if node is None:
            return UNKNOWN if self.open else default
        return fold(node, self._constants)

    def show(self, name: str, default: object = UNKNOWN) -> str:
        """An argument as the detail writes it: its value, else its source text."""
        node = self.nodes.get(name)
        if node is None:
            return "?" if default is UNKNOWN or self.open else format_value(default)
        return self.show_node(node)

    def show_node(self, node: ast.expr) -> str:
        value = fold(node, self._constants)
        return self._text.segment(node) if value is UNKNOWN else format_value(value)

    def sizes(self, name: str, dims: int, default: object = UNKNOWN) -> tuple[int, ...] | None:
        """A size argument as one int per dimension (``3`` → ``(3, 3)`` in 2-d), if literal."""
        value = self.value(name, default)
        if _is_int(value):
            return (value,) * dims
        if isinstance(value, tuple) and len(value) == dims and all(map(_is_int, value)):
            return value
        return None

    def show_sizes(self, name: str, dims: int, default: object = UNKNOWN) -> str:
        """``3`` as ``3×3`` in 2-d, ``(3, 5)`` as ``3×5``; anything else as written."""
        value = self.value(name, default)
        if isinstance(value, tuple) and value:
            return "×".join(format_value(v) for v in value)
        if value is not UNKNOWN and value is not None and not isinstance(value, (str, bool)):
            return "×".join([format_value(value)] * dims)
        return self.show(name, default)

    def show_kernel(self, dims: int) -> str:
        """The kernel size: ``3×3`` in 2-d and 3-d, ``kernel 3`` in 1-d (a bare 3 says nothing)."""
        sizes = self.show_sizes("kernel_size", dims)
        return sizes if dims > 1 else f"kernel {sizes}"


def _is_int(value: object) -> bool:
    return value.__class__ is int


def _ints(*values: object) -> bool:
    return all(v.__class__ is int for v in values)


def _bools(*values: object) -> bool:
    return all(v.__class__ is bool for v in values)


def _dims(short: str) -> int:
    """The spatial dimensions of a ``...1d``/``2d``/``3d`` name (1 when there is none)."""
    base = short.removesuffix("_with_indices")
    return int(base[-2]) if base[-1:] == "d" and base[-2:-1] in ("1", "2", "3") else 1


# -- connection layers ------------------------------------------------------------------------
def _linear(entry: CatalogEntry, b: BoundArgs, _: ParamsOf) -> RuleResult:
    bias = b.value("bias", True)
    if entry.formula == "LazyLinear":
        return f"{entry.short} →{b.show('out_features')}", ("out_features",), None
    if entry.formula == "Bilinear":
        a, c, out = b.value("in1_features"), b.value("in2_features"), b.value("out_features")
        head = f"{entry.short} {b.show('in1_features')}, {b.show('in2_features')}→{b.show('out_features')}"
        params = a * c * out + out * bias if _ints(a, c, out) and _bools(bias) else None
        return head, ("in1_features", "in2_features", "out_features"), params
    n_in, out = b.value("in_features"), b.value("out_features")
    head = f"{entry.short} {b.show('in_features')}→{b.show('out_features')}"
    params = n_in * out + out * bias if _ints(n_in, out) and _bools(bias) else None
    return head, ("in_features", "out_features"), params


def _conv(entry: CatalogEntry, b: BoundArgs, _: ParamsOf) -> RuleResult:
    dims = _dims(entry.formula or "")
    kernel = b.show_kernel(dims)
    used = ("in_channels", "out_channels", "kernel_size")
    if (entry.formula or "").startswith("Lazy"):
        return f"{entry.short} →{b.show('out_channels')}, {kernel}", used, None
    head = f"{entry.short} {b.show('in_channels')}→{b.show('out_channels')}, {kernel}"
    n_in, out = b.value("in_channels"), b.value("out_channels")
    groups, bias = b.value("groups", 1), b.value("bias", True)
    sizes = b.sizes("kernel_size", dims)
    if sizes is None or not (_ints(n_in, out, groups) and _bools(bias)) or groups < 1:
        return head, used, None
    if n_in % groups or out % groups:
        return head, used, None  # torch refuses these
    area = math.prod(sizes)
    if "Transpose" in (entry.formula or ""):
        weights = n_in * (out // groups) * area
    else:
        weights = out * (n_in // groups) * area
    return head, used, weights + out * bias


def _embedding(entry: CatalogEntry, b: BoundArgs, _: ParamsOf) -> RuleResult:
    count, dim = b.value("num_embeddings"), b.value("embedding_dim")
    head = f"{entry.short} {b.show('num_embeddings')}×{b.show('embedding_dim')}"
    frozen = b.value("_freeze", False)
    params = (0 if frozen else count * dim) if _ints(count, dim) and _bools(frozen) else None
    return head, ("num_embeddings", "embedding_dim"), params


_GATES = {"RNN": 1, "LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1,
          "RNNCell": 1, "LSTMCell": 4, "GRUCell": 3}  # fmt: skip


def _rnn(entry: CatalogEntry, b: BoundArgs, _: ParamsOf) -> RuleResult:
    head = f"{entry.short} {b.show('input_size')}→{b.show('hidden_size')}"
    used = ("input_size", "hidden_size")
    kind = b.value("mode") if entry.formula == "RNNBase" else entry.formula
    gates = _GATES.get(kind) if isinstance(kind, str) else None
    n_in, hidden = b.value("input_size"), b.value("hidden_size")
    layers, bias = b.value("num_layers", 1), b.value("bias", True)
    both, proj = b.value("bidirectional", False), b.value("proj_size", 0)
    if gates is None or not (_ints(n_in, hidden, layers, proj) and _bools(bias, both)):
        return head, used, None
    if layers < 1 or proj < 0:
        return head, used, None
    directions = 2 if both else 1
    out = proj or hidden  # the recurrent state each direction passes on

    def layer(width: int) -> int:  # one direction of one layer fed `width` features
        weights = gates * hidden * (width + out) + 2 * gates * hidden * bias
        return weights + (proj * hidden if proj else 0)

    first = layer(n_in)
    rest = layer(out * directions)
    return head, used, directions * (first + (layers - 1) * rest)


def _cell(entry: CatalogEntry, b: BoundArgs, _: ParamsOf) -> RuleResult:
    head = f"{entry.short} {b.show('input_size')}→{b.show('hidden_size')}"
    gates = b.value("num_chunks") if entry.formula == "RNNCellBase" else _GATES[entry.formula or ""]
    n_in, hidden, bias = b.value("input_size"), b.value("hidden_size"), b.value("bias", True)
    if not (_ints(n_in, hidden, gates) and _bools(bias)):
        return head, ("input_size", "hidden_size"), None
    params = gates * hidden * (n_in + hidden) + 2 * gates * hidden * bias
    return head, ("input_size", "hidden_size"), params


def _attention_params(
    dim: int, heads: int, bias: bool, kdim: int, vdim: int, bias_kv: bool
) -> int | None:
    if heads < 1 or dim % heads:
        return None  # torch refuses these
    if kdim == dim and vdim == dim:
        projections = 3 * dim * dim
    else:
        projections = dim * dim + dim * kdim + dim * vdim
    return projections + 3 * dim * bias + dim * dim + dim * bias + 2 * dim * bias_kv


def _attention(entry: CatalogEntry, b: BoundArgs, _: ParamsOf) -> RuleResult:
    head = f"{entry.short} {b.show('embed_dim')}, {b.show('num_heads')} heads"
    used = ("embed_dim", "num_heads")
    dim, heads = b.value("embed_dim"), b.value("num_heads")
    bias, bias_kv = b.value("bias", True), b.value("add_bias_kv", False)
    kdim, vdim = b.value("kdim", None), b.value("vdim", None)
    kdim = dim if kdim is None else kdim
    vdim = dim if vdim is None else vdim
    if not (_ints(dim, heads, kdim, vdim) and _bools(bias, bias_kv)):
        return head, used, None
    return head, used, _attention_params(dim, heads, bias, kdim, vdim, bias_kv)


def _transformer_parts(
    b: BoundArgs, dim_default: object, heads_default: object
) -> tuple[int, ...] | None:
    dim, heads = b.value("d_model", dim_default), b.value("nhead", heads_default)
    feedforward, bias = b.value("dim_feedforward", 2048), b.value("bias", True)
    if not (_ints(dim, heads, feedforward) and _bools(bias)):
        return None
    attention = _attention_params(dim, heads, bias, dim, dim, False)
    if attention is None:
        return None
    linears = 2 * dim * feedforward + (dim + feedforward) * bias
    norm = dim + dim * bias
    return attention, linears, norm


def _transformer(entry: CatalogEntry, b: BoundArgs, _: ParamsOf) -> RuleResult:
    used = ("d_model", "nhead")
    if entry.formula in ("TransformerEncoder", "TransformerDecoder"):
        layer = "encoder_layer" if entry.formula == "TransformerEncoder" else "decoder_layer"
        return f"{entry.short} {b.show(layer)} ×{b.show('num_layers')}", (layer, "num_layers"), None
    whole = entry.formula == "Transformer"
    dims = (512, 8) if whole else (UNKNOWN, UNKNOWN)
    head = f"{entry.short} {b.show('d_model', dims[0])}, {b.show('nhead', dims[1])} heads"
    parts = _transformer_parts(b, *dims)
    if parts is None:
        return head, used, None
    attention, linears, norm = parts
    encoder = attention + linears + 2 * norm
    decoder = 2 * attention + linears + 3 * norm
    if entry.formula == "TransformerEncoderLayer":
        return head, used, encoder
    if entry.formula == "TransformerDecoderLayer":
        return head, used, decoder
    stacks = b.value("num_encoder_layers", 6), b.value("num_decoder_layers", 6)
    custom = b.value("custom_encoder", None), b.value("custom_decoder", None)
    if not _ints(*stacks) or custom != (None, None):
        return head, used, None
    return head, used, stacks[0] * encoder + stacks[1] * decoder + 2 * norm


# -- normalization ----------------------------------------------------------------------------
def _norm(entry: CatalogEntry, b: BoundArgs, _: ParamsOf) -> RuleResult:
    formula = entry.formula or ""
    if formula.startswith("Lazy"):
        return entry.short, (), None  # sized by the first input
    if formula == "GroupNorm":
        groups, channels, affine = (
            b.value("num_groups"),
            b.value("num_channels"),
            b.value("affine", True),
        )
        head = f"{entry.short} {b.show('num_channels')}, {b.show('num_groups')} groups"
        ok = _ints(groups, channels) and _bools(affine) and groups > 0 and channels % groups == 0
        return head, ("num_groups", "num_channels"), 2 * channels * affine if ok else None
    if formula in ("LayerNorm", "RMSNorm"):
        head = f"{entry.short} {b.show_sizes('normalized_shape', 1)}"
        shape = b.value("normalized_shape")
        shape = (shape,) if _is_int(shape) else shape
        affine, bias = b.value("elementwise_affine", True), b.value("bias", formula == "LayerNorm")
        if not (isinstance(shape, tuple) and _ints(*shape) and _bools(affine, bias)):
            return head, ("normalized_shape",), None
        per_set = math.prod(shape)
        return head, ("normalized_shape",), per_set * (1 + bias) * affine
    if formula in ("LocalResponseNorm", "CrossMapLRN2d"):
        return entry.short, (), 0
    channels = b.value("num_features")
    affine = b.value("affine", not formula.startswith("InstanceNorm"))
    params = 2 * channels * affine if _is_int(channels) and _bools(affine) else None
    return f"{entry.short} {b.show('num_features')}", ("num_features",), params


# -- parameter-free layers with a size worth showing ----------------------------------------
def _pool(entry: CatalogEntry, b: BoundArgs, _: ParamsOf) -> RuleResult:
    # a same-file subclass keeps its torch base's name in `formula`
    name = entry.short if entry.formula == "pooling" else entry.formula or ""
    dims = _dims(name)
    if "adaptive" in name.lower():
        return f"{entry.short} to {b.show_sizes('output_size', dims)}", ("output_size",), 0
    return f"{entry.short} {b.show_kernel(dims)}", ("kernel_size",), 0


def _prelu(entry: CatalogEntry, b: BoundArgs, _: ParamsOf) -> RuleResult:
    count = b.value("num_parameters", 1)
    return entry.short, (), count if _is_int(count) else None


# -- containers -------------------------------------------------------------------------------
def _pairs_values(node: ast.expr) -> list[ast.expr] | None:
    """The values of ``[("a", x), ("b", y)]`` or ``{"a": x}`` or ``OrderedDict([...])``."""
    if isinstance(node, ast.Dict):
        return list(node.values)
    if isinstance(node, ast.Call) and len(node.args) == 1 and not node.keywords:
        name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
        return _pairs_values(node.args[0]) if name in ("OrderedDict", "dict") else None
    pairs = isinstance(node, (ast.List, ast.Tuple)) and all(
        isinstance(e, ast.Tuple) and len(e.elts) == 2 for e in node.elts
    )
    return [e.elts[1] for e in node.elts] if pairs else None  # type: ignore[attr-defined]


def _container_elements(entry: CatalogEntry, b: BoundArgs) -> list[ast.expr] | None:
    if b.open:
        return None
    if entry.formula == "Sequential":
        if len(b.extra) == 1 and (values := _pairs_values(b.extra[0])) is not None:
            return values  # nn.Sequential(OrderedDict([...]))
        return b.extra
    node = b.nodes.get("modules")
    if node is None:
        return []
    if entry.formula == "ModuleDict":
        return _pairs_values(node)
    return list(node.elts) if isinstance(node, (ast.List, ast.Tuple)) else None


def _container(entry: CatalogEntry, b: BoundArgs, params_of: ParamsOf) -> RuleResult:
    elements = _container_elements(entry, b)
    if elements is None:  # built elsewhere: nn.Sequential(*layers), a comprehension
        if b.starred is not None:
            return f"{entry.short} of *{b.show_node(b.starred)}", ("modules",), None
        return entry.short, ("modules",), None
    count = len(elements)
    head = f"{entry.short} of {count} module{'' if count == 1 else 's'}"
    counts = [params_of(e) for e in elements]
    return head, ("modules",), None if None in counts else sum(counts)  # type: ignore[arg-type]


def _rules() -> dict[str, Rule]:
    rules: dict[str, Rule] = {"pooling": _pool, "PReLU": _prelu}
    by_name: list[tuple[tuple[str, ...], Rule]] = [
        (("Linear", "LazyLinear", "Bilinear"), _linear),
        (("Embedding", "EmbeddingBag"), _embedding),
        (("RNN", "LSTM", "GRU", "RNNBase"), _rnn),
        (("RNNCell", "LSTMCell", "GRUCell", "RNNCellBase"), _cell),
        (("MultiheadAttention",), _attention),
        (("Transformer", "TransformerEncoder", "TransformerDecoder", "TransformerEncoderLayer",
          "TransformerDecoderLayer"), _transformer),
        (tuple(NN_MODULES["normalization"]), _norm),
        (tuple(NN_MODULES["pooling"]), _pool),
        (tuple(NN_MODULES["container"]), _container),
    ]  # fmt: skip
    for names, rule in by_name:
        rules.update(dict.fromkeys(names, rule))
    rules.update({name: _conv for name in NN_MODULES["connection"] if "Conv" in name})
    return rules


RULES = _rules()


def describe(
    entry: CatalogEntry,
    call: ast.Call,
    constants: Mapping[str, object],
    text: SourceText,
    params_of: ParamsOf,
) -> tuple[str, int | None]:
    """The detail (``Conv2d 16→32, 3×3, stride=2``) and parameter count of a tagged call."""
    bound = BoundArgs(call, entry, constants, text)
    rule = RULES.get(entry.formula) if entry.formula else None
    if rule is not None:
        head, used, params = rule(entry, bound, params_of)
    else:
        head, used, params = entry.short, (), _default_params(entry)
    if not entry.is_module:
        params = None  # a function call or an optimizer has no parameters of its own
    shown = [f"{name}={bound.show_node(node)}" for name, node in bound.nodes.items()
             if name not in used and name not in entry.hidden]  # fmt: skip
    if entry.formula not in ("Sequential",):
        shown += [bound.show_node(node) for node in bound.extra]
    detail = head
    if shown:
        detail += (" " if head == entry.short else ", ") + ", ".join(shown)
    if entry.base is not None:
        detail += f" ({entry.base})"
    return detail, params


def _default_params(entry: CatalogEntry) -> int | None:
    if entry.base is None and entry.type in _PARAMETER_FREE and entry.short not in _HAS_PARAMETERS:
        return 0
    return None
