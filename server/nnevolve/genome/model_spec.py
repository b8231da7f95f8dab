"""Which network a run evolves: a model expression read from the user, checked against the file.

A model is chosen by a class name (``Net``), a module-level factory function (``ResNet18``), or
a call with literal or in-file-name arguments (``VGG('VGG11')``,
``ResNet(BasicBlock, [2, 2, 2, 2])``, ``resnet18(num_classes=10)``). The engine passes the
canonical expression around as a string and builds the model with :func:`instantiate` in the
namespace of the executed file. No torch here: the language server uses this module too.
"""

from __future__ import annotations

import ast
import contextlib
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from nnevolve.analysis import Analysis, analyze
from nnevolve.genome.errors import GenomeError
from nnevolve.genome.model_classes import layer_building_classes, module_subclasses

# parameter names through which a network takes its number of classes, most common first
CLASS_COUNT_PARAMETERS = ("num_classes", "n_classes", "nclasses", "num_class", "classes",
                          "class_num", "num_outputs", "n_outputs", "out_classes")


@dataclass(frozen=True)
class ModelSpec:
    """A checked model expression and what it builds."""

    expression: str  # canonical: "VGG('VGG11')", "ResNet18", "Net" (a bare name is called)
    callee: str  # the class or factory function called, e.g. "VGG", "ResNet18"
    class_name: str  # the nn.Module class it builds (statically resolved), e.g. "ResNet"
    factory: bool  # True when ``callee`` is a function
    class_count_parameter: str | None = None  # "num_classes" when the callee takes one
    keywords: dict[str, object] = field(default_factory=dict)  # literal keyword arguments
    class_count_default: object = None  # that parameter's default, when a literal
    given: tuple[str, ...] = ()  # parameters the expression passes (by position or keyword)

    def with_classes(self, num_classes: int) -> ModelSpec:
        """The expression with the class count passed through its parameter (if it has one).

        The network then builds its own output width: the repair never rewrites its internals.
        Nothing changes when the parameter's default already is ``num_classes``.
        """
        if self.class_count_parameter is None:
            return self
        if self.class_count_parameter in self.given and (
                self.class_count_parameter not in self.keywords):
            return self  # passed by position: the user's own choice
        if (self.class_count_parameter not in self.keywords
                and self.class_count_default == num_classes):
            return self
        call = ast.parse(self.expression, mode="eval").body
        if not isinstance(call, ast.Call):  # a bare name
            call = ast.Call(func=call, args=[], keywords=[])
        keywords = [k for k in call.keywords if k.arg != self.class_count_parameter]
        keywords.append(ast.keyword(self.class_count_parameter, ast.Constant(num_classes)))
        call.keywords = keywords
        expression = ast.unparse(call)
        return ModelSpec(expression, self.callee, self.class_name, self.factory,
                         self.class_count_parameter,
                         {**self.keywords, self.class_count_parameter: num_classes},
                         self.class_count_default, self.given)


def _functions(tree: ast.Module) -> dict[str, ast.FunctionDef]:
    return {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}


def _classes(tree: ast.Module) -> dict[str, ast.ClassDef]:
    return {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}


def _module_names(tree: ast.Module) -> set[str]:
    """Names the file binds at module level (definitions, assignments, imports)."""
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                names.add((alias.asname or alias.name).split(".")[0])
    return names


def _init_of(cls: ast.ClassDef, classes: Mapping[str, ast.ClassDef],
             seen: frozenset[str] = frozenset()) -> ast.FunctionDef | None:
    """``__init__`` of a class, inherited from a same-file base when it has none."""
    for node in cls.body:
        if isinstance(node, ast.FunctionDef) and node.name == "__init__":
            return node
    for base in cls.bases:
        if isinstance(base, ast.Name) and base.id in classes and base.id not in seen:
            found = _init_of(classes[base.id], classes, seen | {cls.name})
            if found is not None:
                return found
    return None


def _parameters(function: ast.FunctionDef | None, *, method: bool) -> tuple[list[str], list[str], bool]:
    """(all named parameters, those without a default, whether it takes ``**kwargs``)."""
    if function is None:
        return [], [], False
    args = function.args
    positional = [a.arg for a in (*args.posonlyargs, *args.args)]
    if method and positional:
        positional = positional[1:]  # self
    defaults = len(args.defaults)
    required = positional[: len(positional) - defaults] if defaults else list(positional)
    required += [a.arg for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is None]
    names = positional + [a.arg for a in args.kwonlyargs]
    return names, required, args.kwarg is not None


def _default(function: ast.FunctionDef | None, name: str) -> object:
    """The literal default of parameter ``name`` (None when it has none or it is not literal)."""
    if function is None:
        return None
    args = function.args
    positional = [*args.posonlyargs, *args.args]
    pairs = list(zip(positional[len(positional) - len(args.defaults):], args.defaults))
    pairs += [(a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None]
    for arg, default in pairs:
        if arg.arg == name:
            try:
                return ast.literal_eval(default)
            except ValueError:
                return None
    return None


def _returned_class(function: ast.FunctionDef, classes: Mapping[str, ast.ClassDef],
                    functions: Mapping[str, ast.FunctionDef], depth: int = 0) -> str | None:
    """The same-file model class a factory returns (through other factories), if any."""
    if depth > 8:
        return None
    for node in ast.walk(function):
        if isinstance(node, ast.Return) and isinstance(node.value, ast.Call):
            func = node.value.func
            if isinstance(func, ast.Name) and func.id in classes:
                return func.id
            if isinstance(func, ast.Name) and func.id in functions and func.id != function.name:
                found = _returned_class(functions[func.id], classes, functions, depth + 1)
                if found:
                    return found
    # `model = ResNet(...); ...; return model`
    for node in ast.walk(function):
        if (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)
                and isinstance(node.value.func, ast.Name) and node.value.func.id in classes):
            return node.value.func.id
    return None


def model_factories(source: str | ast.Module) -> list[str]:
    """Module-level functions of the file that return one of its ``nn.Module`` classes."""
    tree = ast.parse(source) if isinstance(source, str) else source
    models = {c.name: c for c in module_subclasses(tree)}
    functions = _functions(tree)
    return [name for name, f in functions.items()
            if not name.startswith("_") and _returned_class(f, models, functions)]


def _example_call(tree: ast.Module, callee: str) -> str | None:
    """A call of ``callee`` written in the file (a factory's body, a subclass's
    ``super().__init__(...)``), to suggest it."""
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id == callee and (node.args or node.keywords)):
            return ast.unparse(node)
    for cls in tree.body:
        if not (isinstance(cls, ast.ClassDef)
                and any(isinstance(b, ast.Name) and b.id == callee for b in cls.bases)):
            continue
        for node in ast.walk(cls):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "__init__" and (node.args or node.keywords)):
                args = [a for a in node.args
                        if not (isinstance(a, ast.Name) and a.id == "self")]
                return ast.unparse(ast.Call(ast.Name(callee), args, node.keywords))
    return None


def _needs_arguments(name: str, tree: ast.Module, models: Mapping[str, ast.ClassDef],
                     classes: Mapping[str, ast.ClassDef],
                     functions: Mapping[str, ast.FunctionDef]) -> bool:
    if name in models:
        return bool(_parameters(_init_of(models[name], classes), method=True)[1])
    return bool(_parameters(functions[name], method=False)[1])


def _default_model(tree: ast.Module, analysis: Analysis, models: Mapping[str, ast.ClassDef],
                   classes: Mapping[str, ast.ClassDef],
                   functions: Mapping[str, ast.FunctionDef]) -> str:
    """The last model class that builds layers, or, when it needs arguments, the last
    subclass or factory of it that needs none (``class VGG11(VGG)``, ``def ResNet18()``)."""
    builders = [c.name for c in layer_building_classes(tree, analysis)]
    if not builders:
        raise GenomeError("no nn.Module subclass that builds layers was found in the file")
    last = builders[-1]
    if not _needs_arguments(last, tree, models, classes, functions):
        return last
    wrappers = [name for name, cls in models.items()
                if any(isinstance(b, ast.Name) and b.id == last for b in cls.bases)]
    wrappers += [name for name in model_factories(tree)
                 if _returned_class(functions[name], models, functions) == last]
    ready = [w for w in wrappers if not _needs_arguments(w, tree, models, classes, functions)]
    return ready[-1] if ready else last


def _check_argument(value: ast.expr, names: set[str], expression: str) -> None:
    """Arguments are literals or names the file defines: nothing else is evaluated."""
    for node in ast.walk(value):
        if isinstance(node, ast.Name) and node.id not in names:
            raise GenomeError(f"model expression {expression!r}: {node.id!r} is not defined in "
                              "the file")
        if isinstance(node, (ast.Call, ast.Lambda, ast.Attribute, ast.Subscript, ast.NamedExpr,
                             ast.ListComp, ast.DictComp, ast.SetComp, ast.GeneratorExp,
                             ast.Await, ast.Yield, ast.YieldFrom, ast.Starred)):
            raise GenomeError(f"model expression {expression!r}: arguments must be literals or "
                              f"names of the file, not {ast.unparse(node)!r}")


def resolve_model(source: str, text: str | None = None, *, tree: ast.Module | None = None,
                  analysis: Analysis | None = None, check_arguments: bool = True) -> ModelSpec:
    """Check a model expression (or choose the default one) against the file.

    ``None`` means the last model class that builds layers. Raises :class:`GenomeError` with
    the fix when the expression does not name a class or factory of the file, uses anything
    but literals and in-file names as arguments, or leaves required arguments out.
    """
    if tree is None:
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError) as exc:
            raise GenomeError(f"the model file is not valid Python: {exc}") from exc
    models = {c.name: c for c in module_subclasses(tree)}
    classes = _classes(tree)
    functions = _functions(tree)
    factories = model_factories(tree)
    if text is not None:
        _, text = split_package(text)
    if text is None or not text.strip():
        if analysis is None:
            analysis = analyze(source)
        text = _default_model(tree, analysis, models, classes, functions)
    text = text.strip()
    try:
        expr = ast.parse(text, mode="eval").body
    except SyntaxError as exc:
        raise GenomeError(f"model expression {text!r} is not a Python expression") from exc
    if isinstance(expr, ast.Name):
        call = ast.Call(func=expr, args=[], keywords=[])
    elif isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name):
        call = expr
    else:
        raise GenomeError(f"model expression {text!r}: write a class or function name of the "
                          "file, or a call of one, e.g. VGG('VGG11')")
    callee = call.func.id  # type: ignore[union-attr]
    known = sorted(models) + [f for f in factories if f not in models]
    if callee in models:
        factory, class_name = False, callee
        function = _init_of(models[callee], classes)
        names, required, kwargs = _parameters(function, method=True)
    elif callee in functions:
        class_name = _returned_class(functions[callee], models, functions) or ""
        if not class_name:
            raise GenomeError(f"{callee}() does not return a model class of the file "
                              f"(models: {', '.join(known) or 'none'})")
        factory = True
        function = functions[callee]
        names, required, kwargs = _parameters(function, method=False)
    else:
        raise GenomeError(f"no model class {callee!r} (models found: {', '.join(known) or 'none'})")
    in_file = _module_names(tree)
    for arg in [*call.args, *(k.value for k in call.keywords)]:
        _check_argument(arg, in_file, text)
    given = set(names[: len(call.args)]) | {k.arg for k in call.keywords if k.arg}
    missing = [p for p in required if p not in given]
    if missing and check_arguments:
        example = _example_call(tree, callee)
        fix = example or f"{callee}({', '.join(f'{p}=...' for p in missing)})"
        raise GenomeError(f"{callee} needs {'an argument' if len(missing) == 1 else 'arguments'} "
                          f"({', '.join(missing)}): pass {'it' if len(missing) == 1 else 'them'}: "
                          f"--model \"{fix}\" (model = \"{fix}\" in [tool.nnevolve])")
    parameter = next((p for p in CLASS_COUNT_PARAMETERS if p in names), None)
    default = _default(function, parameter) if parameter else None
    if parameter is None and factory and kwargs and class_name in models:
        # `def resnet18(**kwargs): return ResNet(BasicBlock, [2, 2, 2, 2], **kwargs)`
        init = _init_of(models[class_name], classes)
        class_names, _, _ = _parameters(init, method=True)
        parameter = next((p for p in CLASS_COUNT_PARAMETERS if p in class_names), None)
        default = _default(init, parameter) if parameter else None
    keywords: dict[str, object] = {}
    for k in call.keywords:
        if k.arg:
            try:
                keywords[k.arg] = ast.literal_eval(k.value)
            except ValueError:
                keywords[k.arg] = ast.unparse(k.value)
    # a call without arguments is written as the bare name, as runs have always stored it
    expression = callee if not (call.args or call.keywords) else ast.unparse(call)
    return ModelSpec(expression, callee, class_name, factory, parameter, keywords, default,
                     tuple(sorted(given)))


def instantiate(namespace: Mapping[str, object], expression: str) -> object:
    """Build the model: evaluate ``expression`` in the executed file's namespace.

    A bare name (``Net``, as older runs store it) is called without arguments. Arguments were
    checked by :func:`resolve_model` to be literals and names of the file.
    """
    value = eval(compile(expression, "<model expression>", "eval"),  # noqa: S307 (checked above)
                 dict(namespace))
    if isinstance(expression, str) and expression.strip().isidentifier() and callable(value):
        value = value()
    return value


# -- files inside packages --------------------------------------------------------------------

_PACKAGE_MARK = "\x00"  # never in a Python expression: separates a package from the model


def package_of(path: Path) -> tuple[str, str] | None:
    """(import root, dotted package) of a file inside a package (its folder has
    ``__init__.py``), else None: ``torchvision/models/vgg.py`` → (site-packages,
    "torchvision.models")."""
    folder = path.resolve().parent
    parts: list[str] = []
    while (folder / "__init__.py").is_file() and folder.name.isidentifier():
        parts.append(folder.name)
        folder = folder.parent
    return (str(folder), ".".join(reversed(parts))) if parts else None


def in_package(model: str, package: tuple[str, str] | None) -> str:
    """The model expression the engine's workers build for a file of ``package``: they run the
    variant as a member of that package, so its relative imports work."""
    if package is None:
        return model
    return _PACKAGE_MARK.join((*package, model))


def split_package(model: str) -> tuple[tuple[str, str] | None, str]:
    """The inverse of :func:`in_package`: (package or None, the plain expression)."""
    if _PACKAGE_MARK not in model:
        return None, model
    root, package, expression = model.split(_PACKAGE_MARK, 2)
    return (root, package), expression


@contextlib.contextmanager
def package_context(namespace: dict[str, object], package: tuple[str, str] | None) -> Iterator[None]:
    """Run a variant's code as a member of its package: ``__package__`` set, the import root
    importable, and registries that refuse a second definition of a name (torchvision's
    ``@register_model``) given a fresh table while the variant's file runs."""
    if package is None:
        yield
        return
    root, dotted = package
    namespace["__package__"] = dotted
    if root not in sys.path:
        sys.path.append(root)  # appended: the package must not shadow what is installed
    registry = None
    if dotted.split(".")[0] == "torchvision":
        try:
            from torchvision.models import _api  # noqa: PLC0415

            registry = _api.BUILTIN_MODELS
            _api.BUILTIN_MODELS = {}
        except (ImportError, AttributeError):
            registry = None
    try:
        yield
    finally:
        if registry is not None:
            _api.BUILTIN_MODELS = registry
