"""Tag every module the model source builds with the constructor call site that built it.

A *constructor call* is a call whose callee is a plain dotted name ending in a capitalised
word (``nn.Linear(...)``, ``torch.nn.Conv2d(...)``, ``Block(...)``). Each one is rewritten as
``__nnevolve_site__(INDEX, nn.Linear, ...)``; the wrapper makes the call and stamps the
returned ``nn.Module`` with ``INDEX``. A *flattening reshape* ``x.view(A, B)`` /
``x.reshape(A, B)`` (the ``x.view(-1, 16 * 5 * 5)`` idiom) becomes
``__nnevolve_reshape__(INDEX, x, "view", A, B)``, which records the width ``B`` should have.

The rewrite happens on the stdlib ``ast`` (milliseconds, line numbers kept). ``INDEX`` is the
call's place in ``InstrumentedSource.sites``; each site keeps the call's whole range, by which
``fixes`` finds the same call in the libcst tree (``genome.walk.NodeWalk.find``).
"""

from __future__ import annotations

import ast
from collections import Counter
from dataclasses import dataclass
from types import CodeType

import torch

from nnevolve.analysis.literals import SourceText
from nnevolve.genome.liveness import ConfigTable, config_tables
from nnevolve.genome.walk import Range, ast_range
from nnevolve.repair.layer_rules import with_placeholder_width

SOURCE_FILENAME = "<nnevolve variant>"
WRAPPER_NAME = "__nnevolve_site__"
RESHAPE_WRAPPER_NAME = "__nnevolve_reshape__"
RESHAPE_METHODS = ("view", "reshape")
SITE_ATTRIBUTE = "_nnevolve_site"
DECLARED_ATTRIBUTE = "_nnevolve_refused_width"  # (declared width, constructor's error message)


@dataclass(frozen=True)
class CallSite:
    """One constructor call in the source: where it is and what it calls."""

    index: int  # place among sites (constructors and reshapes), in source order
    callee: str  # dotted callee as written, e.g. "nn.Linear"; ".view" for a reshape
    span: Range  # the call's whole range: 1-based lines, 0-based code-point columns
    in_loop: bool  # inside a for/while loop or a comprehension (may build several modules)

    @property
    def line(self) -> int:
        """1-based first line of the call."""
        return self.span[0]

    @property
    def col(self) -> int:
        """0-based code-point column where the call starts."""
        return self.span[1]

    @property
    def kind(self) -> str:
        """The constructor's own name: ``"Linear"`` for ``nn.Linear``, ``"view"``."""
        return self.callee.rsplit(".", 1)[-1]

    @property
    def is_reshape(self) -> bool:
        return self.callee.startswith(".")


@dataclass(frozen=True)
class InstrumentedSource:
    """The compiled, tagging version of a source and its constructor call sites."""

    code: CodeType
    sites: tuple[CallSite, ...]
    config: tuple[ConfigTable, ...] = ()  # the file's config tables, for liveness


def dotted_name(node: ast.expr) -> str | None:
    """``nn.Linear`` for an ``Attribute(Name)`` chain, None for anything else."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


def is_constructor_name(name: str | None) -> bool:
    """True for dotted names whose last part is capitalised (classes by convention)."""
    return bool(name) and name.rsplit(".", 1)[-1][:1].isupper()  # type: ignore[union-attr]


def site_callee(node: ast.Call) -> str | None:
    """``"nn.Linear"`` for a constructor call, ``".view"`` for ``x.view(a, b)``, else None."""
    name = dotted_name(node.func)
    if is_constructor_name(name):
        return name
    func = node.func
    if (isinstance(func, ast.Attribute) and func.attr in RESHAPE_METHODS and len(node.args) == 2
            and not node.keywords and not any(isinstance(a, ast.Starred) for a in node.args)):
        return "." + func.attr
    return None


class _LoopDepth(ast.NodeVisitor):
    """Marks every constructor call that sits inside a loop or a comprehension."""

    _LOOPS = (ast.For, ast.AsyncFor, ast.While, ast.ListComp, ast.SetComp, ast.DictComp,
              ast.GeneratorExp)

    def __init__(self) -> None:
        self.depth = 0
        self.looped: set[int] = set()  # id() of Call nodes inside loops

    def generic_visit(self, node: ast.AST) -> None:
        is_loop = isinstance(node, self._LOOPS)
        # a function defined inside a loop body is still only built when called
        resets = isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
        saved = self.depth
        if resets:
            self.depth = 0
        if is_loop:
            self.depth += 1
        if isinstance(node, ast.Call) and self.depth:
            self.looped.add(id(node))
        super().generic_visit(node)
        self.depth = saved


class _WrapSites(ast.NodeTransformer):
    def __init__(self, index_of: dict[int, int]) -> None:
        self.index_of = index_of

    def visit_Call(self, node: ast.Call) -> ast.AST:
        index = self.index_of.get(id(node))
        self.generic_visit(node)  # inner calls first: they are wrapped too
        if index is None:
            return node
        # callee (or tensor) and arguments are evaluated in the original call's order
        if isinstance(node.func, ast.Attribute) and site_callee(node) == "." + node.func.attr:
            wrapped = ast.Call(
                func=ast.Name(id=RESHAPE_WRAPPER_NAME, ctx=ast.Load()),
                args=[ast.Constant(index), node.func.value, ast.Constant(node.func.attr),
                      *node.args],
                keywords=[])
        else:
            wrapped = ast.Call(
                func=ast.Name(id=WRAPPER_NAME, ctx=ast.Load()),
                args=[ast.Constant(index), node.func, *node.args],
                keywords=node.keywords)
        return ast.copy_location(wrapped, node)


def site_calls(tree: ast.AST) -> list[ast.Call]:
    """Site calls of a parsed module in source order (outer calls before the calls they hold)."""
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and site_callee(n)]
    return sorted(calls, key=lambda n: (n.lineno, n.col_offset, -(n.end_lineno or 0),
                                        -(n.end_col_offset or 0)))


def instrument(source: str) -> InstrumentedSource:
    """Compile ``source`` with every constructor call wrapped by the tagging wrapper.

    Raises
    ------
    SyntaxError
        When the source does not parse.
    """
    tree = ast.parse(source, filename=SOURCE_FILENAME)
    loops = _LoopDepth()
    loops.visit(tree)
    text = SourceText(source)
    calls = site_calls(tree)
    sites = tuple(
        CallSite(index=i, callee=site_callee(c) or "", span=ast_range(c, text),
                 in_loop=id(c) in loops.looped)
        for i, c in enumerate(calls)
    )
    config = tuple(config_tables(tree, source))  # before the rewrite: original nodes
    tree = _WrapSites({id(c): i for i, c in enumerate(calls)}).visit(tree)
    ast.fix_missing_locations(tree)
    return InstrumentedSource(compile(tree, SOURCE_FILENAME, "exec"), sites, config)


class SiteTagger:
    """The runtime side of the wrapper: builds, stamps modules, counts how many each site built.

    A layer whose constructor refuses its input width (``GroupNorm(4, 6)``) is built with a
    width it accepts instead, and remembers the declared one: the trace then rewrites it from
    the incoming tensor like any other mismatching width.
    """

    def __init__(self) -> None:
        self.built: Counter[int] = Counter()

    def __call__(self, index: int, callee: object, /, *args: object, **kwargs: object) -> object:
        try:
            obj = callee(*args, **kwargs)  # type: ignore[operator]
            declared = None
        except (ValueError, RuntimeError) as exc:
            swapped = with_placeholder_width(callee, args, kwargs)  # type: ignore[arg-type]
            if swapped is None:
                raise
            try:
                obj = callee(*swapped[0], **swapped[1])  # type: ignore[operator]
            except Exception:  # noqa: BLE001 (the width was not the problem: report the original)
                raise exc from None
            declared = (swapped[2], f"{type(exc).__name__}: {exc}")
        self._tag(index, obj, declared)
        return obj

    def _tag(self, index: int, obj: object, declared: tuple[object, str] | None) -> None:
        # a module keeps the first site that returned it: a factory returning an existing
        # module must not steal it from the call that built it
        if isinstance(obj, torch.nn.Module) and SITE_ATTRIBUTE not in obj.__dict__:
            object.__setattr__(obj, SITE_ATTRIBUTE, index)
            self.built[index] += 1
            if declared is not None:
                object.__setattr__(obj, DECLARED_ATTRIBUTE, declared)


class ReshapeRecorder:
    """The runtime side of the reshape wrapper: the width a flattening reshape should have.

    ``x.view(-1, B)`` and ``x.view(x.size(0), B)`` mean (batch, features); when ``B`` is not
    the feature count of ``x`` the reshape silently changes the batch size or fails, so the
    recorder notes the needed ``B`` and reshapes with it, as the repaired source will.
    """

    def __init__(self) -> None:
        self.needs: list[tuple[int, object, int]] = []  # (site, declared B, needed B)

    def __call__(self, index: int, tensor: object, method: str, first: object,
                 width: object) -> object:
        if (isinstance(tensor, torch.Tensor) and tensor.dim() >= 1 and tensor.shape[0] > 0
                and type(first) is int and first in (-1, tensor.shape[0])
                and type(width) is int and width > 0):
            needed = tensor.numel() // tensor.shape[0]
            self.needs.append((index, width, needed))
            width = needed
        return getattr(tensor, method)(first, width)


def site_of(module: torch.nn.Module) -> int | None:
    """The constructor site that built ``module``, None when built outside the source."""
    return module.__dict__.get(SITE_ATTRIBUTE)
