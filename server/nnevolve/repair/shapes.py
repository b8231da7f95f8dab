"""Build a model from its source on the meta device and trace the shapes of a forward pass.

Nothing is allocated and nothing is trained: parameters and activations are meta tensors,
which carry shapes only. Forward pre-hooks on every leaf layer record the incoming shape,
compare it with the layer's declared width and, on a mismatch, resize the layer in place so
the pass goes on and finds the mismatches further down in the same pass.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import sys
import traceback
import types
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

from nnevolve.genome.liveness import LineTrace, Liveness, Position, track_config
from nnevolve.genome.model_spec import instantiate, package_context, split_package
from nnevolve.repair.instrument import (
    DECLARED_ATTRIBUTE,
    RESHAPE_WRAPPER_NAME,
    SOURCE_FILENAME,
    WRAPPER_NAME,
    CallSite,
    InstrumentedSource,
    ReshapeRecorder,
    SiteTagger,
    site_of,
)
from nnevolve.repair.layer_rules import (
    Unrepairable,
    accepted_dims,
    input_rule,
    output_rule,
    shape_only_forward,
    window_problem,
)

BATCH = 2  # two samples: BatchNorm in training mode needs more than one value per channel
CPU_FALLBACK_MAX_PARAMS = 20_000_000  # beyond this a real-tensor retry would cost too much
_variant_ids = itertools.count()


class Rejection(Exception):
    """The model cannot be repaired; the message says why in words."""


class _FlattenedTooEarly(Rejection):
    """A layer after a (simulated) Flatten needs the dimensions that the Flatten removed."""

    def __init__(self, reason: str, site: int) -> None:
        super().__init__(reason)
        self.site = site  # the Linear whose flattening to undo


@dataclass(frozen=True)
class LayerCall:
    """One call of a leaf layer during the traced forward pass."""

    site: int | None
    kind: str  # class name, e.g. "Conv2d"
    in_shape: tuple[int, ...] | None
    out_shape: tuple[int, ...] | None
    out_width: int | None  # the width its output rule sets (out_features...), if it has one
    out_param: tuple[str, int, int] | None  # that rule's argument name, position and dim


@dataclass(frozen=True)
class WidthNeed:
    """A layer argument and the value the incoming tensor asks for (equal when consistent)."""

    site: int
    kind: str
    param: str
    position: int
    current: object  # usually an int; whatever a constructor refused otherwise
    needed: int
    instance: int  # which module (its id()), or which run of a reshape


@dataclass
class ShapeTrace:
    """Everything one traced forward pass learnt about a model."""

    calls: list[LayerCall] = field(default_factory=list)
    needs: list[WidthNeed] = field(default_factory=list)
    flatten_sites: list[int] = field(default_factory=list)  # Linear sites fed a >2-D tensor
    last_dim_sites: set[int] = field(default_factory=set)  # ... that act on its last dim instead
    built: Counter[int] = field(default_factory=Counter)  # modules built per site
    output_shape: tuple[int, ...] | None = None
    output_type: str = ""
    params: int = 0
    problem: str | None = None  # rejection reason; everything else is then partial
    built_lines: frozenset[int] = frozenset()  # lines of the file run while building
    liveness: Liveness | None = None  # what the model used (set when the pass completes)


def describe(kind: str, site: int | None, sites: tuple[CallSite, ...]) -> str:
    """``"Conv2d at line 12"``, or a note that the layer was built outside the source."""
    if site is None or site >= len(sites):
        return f"{kind} (built outside the model source)"
    return f"{kind} at line {sites[site].line}"


def _shape(value: object) -> tuple[int, ...] | None:
    return tuple(int(s) for s in value.shape) if isinstance(value, torch.Tensor) else None


def format_shape(shape: Sequence[int]) -> str:
    """``(2, 16, 4, 4)``."""
    return "(" + ", ".join(map(str, shape)) + ")"


def _error_reason(phase: str, exc: BaseException, layer: str | None) -> str:
    """``"forward raised RuntimeError in Linear at line 14 (called from line 30): ..."``."""
    lines = [f.lineno for f in traceback.extract_tb(exc.__traceback__)
             if f.filename == SOURCE_FILENAME]
    where = f" in {layer}" if layer else ""
    if lines and lines[-1]:
        where += f" (called from line {lines[-1]})" if layer else f" at line {lines[-1]}"
    message = (str(exc).strip().splitlines() or [""])[0][:300]
    return f"{phase} raised {type(exc).__name__}{where}" + (f": {message}" if message else "")


class _Tracer:
    """Forward hooks that record shapes, check inputs and resize mismatching layers."""

    def __init__(self, trace: ShapeTrace, sites: tuple[CallSite, ...],
                 last_dim_sites: set[int]) -> None:
        self.trace = trace
        self.sites = sites
        self.last_dim_sites = last_dim_sites
        self.active: list[nn.Module] = []  # layers whose forward is running now

    def name(self, m: nn.Module) -> str:
        return describe(type(m).__name__, site_of(m), self.sites)

    def before(self, m: nn.Module, args: tuple) -> tuple | None:
        self.active.append(m)
        x = args[0] if args else None
        if not isinstance(x, torch.Tensor):
            return None
        accepted = accepted_dims(m)
        if accepted is not None and x.dim() not in accepted[0]:
            ranks = " or ".join(map(str, accepted[0]))
            reason = (f"{self.name(m)} receives {x.dim()}-D input {format_shape(x.shape)}; "
                      f"it needs {ranks}-D ({accepted[1]})")
            if x.dim() == 2 and self.trace.flatten_sites:
                raise _FlattenedTooEarly(reason, self.trace.flatten_sites[-1])
            raise Rejection(reason)
        problem = window_problem(m, x)
        if problem:
            raise Rejection(f"{self.name(m)} {problem}")
        replaced = None
        site = site_of(m)
        if isinstance(m, nn.Linear) and x.dim() > 2 and site in self.last_dim_sites:
            self.trace.last_dim_sites.add(site)  # a Linear mixing along the width axis
        elif isinstance(m, nn.Linear) and x.dim() > 2:
            # a Linear after a convolutional stack: the repair flattens its input
            if site is None:
                raise Rejection(f"{self.name(m)} receives {x.dim()}-D input and cannot be moved")
            self.trace.flatten_sites.append(site)
            x = x.flatten(1)
            replaced = (x, *args[1:])
        if isinstance(m, nn.Linear) and x.dim() < 2:
            raise Rejection(f"{self.name(m)} receives 1-D input (the batch dimension is lost)")
        self._follow_width(m, x)
        return replaced

    def _follow_width(self, m: nn.Module, x: torch.Tensor) -> None:
        rule = input_rule(m)
        if rule is None or x.dim() < (rule.dim + 1 if rule.dim >= 0 else -rule.dim):
            return
        needed, current = int(x.shape[rule.dim]), rule.current(m)
        # a width the constructor refused counts as declared, though a placeholder was built
        current = m.__dict__.pop(DECLARED_ATTRIBUTE, (current,))[0]
        site = site_of(m)
        if site is None:
            if needed != current:
                raise Rejection(f"{self.name(m)} expects {rule.param}={current} but receives "
                                f"{needed} and cannot be edited")
            return
        self.trace.needs.append(WidthNeed(site, type(m).__name__, rule.param, rule.position,
                                          current, needed, id(m)))
        if needed != current and rule.resize is not None:
            try:
                rule.resize(m, needed)
            except Unrepairable as exc:
                raise Rejection(f"{self.name(m)} receives {needed} channels, which {exc}") from None

    def after(self, m: nn.Module, args: tuple, output: object) -> None:
        self.active.pop()
        out_shape = _shape(output)
        if out_shape is not None and 0 in out_shape:
            raise Rejection(f"{self.name(m)} outputs an empty tensor {format_shape(out_shape)}")
        rule = output_rule(m)
        in_shape = _shape(args[0]) if args else None
        self.trace.calls.append(LayerCall(
            site_of(m), type(m).__name__, in_shape, out_shape, rule.current(m) if rule else None,
            (rule.param, rule.position, rule.dim) if rule else None))


@contextlib.contextmanager
def _quiet():
    # user code may print or warn; neither belongs in the engine's output
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), \
            contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        yield


def _build(instrumented: InstrumentedSource, class_name: str, trace: ShapeTrace,
           reshapes: ReshapeRecorder, config_reads: set[Position] | None = None) -> nn.Module:
    """Run the file and build ``class_name`` (a model expression: ``Net``, ``VGG('VGG11')``)."""
    name = f"_nnevolve_variant_{next(_variant_ids)}"
    module = types.ModuleType(name)
    tagger = SiteTagger()
    module.__dict__.update({WRAPPER_NAME: tagger, RESHAPE_WRAPPER_NAME: reshapes,
                            "__file__": SOURCE_FILENAME})
    sys.modules[name] = module  # dataclasses and typing look the defining module up
    try:
        package, class_name = split_package(class_name)
        try:
            with package_context(module.__dict__, package):
                exec(instrumented.code, module.__dict__)  # noqa: S102 (building the model is the point)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # noqa: BLE001 (user code: any failure is a rejection)
            raise Rejection(_error_reason("running the file", exc, None)) from None
        if config_reads is not None:
            track_config(module.__dict__, list(instrumented.config), config_reads)
        building = class_name if class_name.isidentifier() else class_name.split("(", 1)[0]
        if not callable(module.__dict__.get(building.strip())):
            raise Rejection(f"the file defines no nn.Module class named {building.strip()!r}")
        lines = LineTrace(SOURCE_FILENAME)
        try:
            with lines:
                model = instantiate(module.__dict__, class_name)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # noqa: BLE001
            shown = f"{class_name}()" if class_name.isidentifier() else class_name
            raise Rejection(_error_reason(f"building {shown}", exc, None)) from None
        if not isinstance(model, nn.Module):
            raise Rejection(f"{building} builds a {type(model).__name__}, not an nn.Module")
    finally:
        sys.modules.pop(name, None)
    trace.built = tagger.built
    trace.built_lines = frozenset(lines.lines)
    return model


def _run(instrumented: InstrumentedSource, class_name: str, input_shape: tuple[int, ...],
         device: str, last_dim_sites: set[int]) -> ShapeTrace:
    trace = ShapeTrace()
    tracer = _Tracer(trace, instrumented.sites, last_dim_sites)
    reshapes = ReshapeRecorder()
    config_reads: set[Position] = set()
    with _quiet(), torch.device(device):
        model = _build(instrumented, class_name, trace, reshapes, config_reads)
        for layer in model.modules():
            if next(layer.children(), None) is None:  # leaves: the layers that compute
                layer.register_forward_pre_hook(tracer.before)
                layer.register_forward_hook(tracer.after)
                stand_in = shape_only_forward(layer)
                if stand_in is not None:  # shapes are all the trace needs from these
                    layer.forward = stand_in
        model.train()
        x = torch.zeros((BATCH, *input_shape))
        forward_lines = LineTrace(SOURCE_FILENAME)
        try:
            with torch.no_grad(), forward_lines:
                output = model(x)
        except (Rejection, KeyboardInterrupt):
            raise
        except BaseException as exc:  # user code: any failure (sys.exit too) is a rejection
            running = tracer.name(tracer.active[-1]) if tracer.active else None
            raise Rejection(_error_reason("forward", exc, running)) from exc
        for layer in model.modules():
            if DECLARED_ATTRIBUTE in layer.__dict__:  # refused its width and never ran
                raise Rejection(f"building {tracer.name(layer)} raised "
                                f"{layer.__dict__[DECLARED_ATTRIBUTE][1]}")
        trace.params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    trace.needs += [WidthNeed(site, instrumented.sites[site].kind, "width", 1, declared, needed,
                              run) for run, (site, declared, needed) in enumerate(reshapes.needs)]
    trace.output_shape = _shape(output)
    trace.output_type = type(output).__name__
    sites = instrumented.sites
    trace.liveness = Liveness(
        built_lines=trace.built_lines,
        forward_lines=frozenset(forward_lines.lines),
        used_calls=frozenset((sites[c.site].line, sites[c.site].col) for c in trace.calls
                             if c.site is not None and c.site < len(sites)),
        config_reads=frozenset(config_reads),
        instances=tuple(((sites[i].line, sites[i].col), n) for i, n in sorted(trace.built.items())
                        if i < len(sites)))
    return trace


def _meta_unsupported(exc: BaseException) -> bool:
    cause = exc.__cause__
    return isinstance(cause, NotImplementedError) or "meta" in str(cause or "").lower()


def _run_choosing_flattens(instrumented: InstrumentedSource, class_name: str,
                           input_shape: tuple[int, ...], device: str) -> ShapeTrace:
    """Run, flattening the input of each Linear fed a >2-D tensor unless a later layer needs
    those dimensions: then that Linear acts on the last dimension, as torch applies it."""
    last_dim_sites: set[int] = set()
    while True:
        try:
            return _run(instrumented, class_name, input_shape, device, last_dim_sites)
        except _FlattenedTooEarly as exc:
            if exc.site in last_dim_sites:
                raise Rejection(str(exc)) from None
            last_dim_sites.add(exc.site)


def _backward_problem(instrumented: InstrumentedSource, class_name: str,
                      input_shape: tuple[int, ...]) -> str | None:
    """Why training would fail where forward does not: a backward pass on the meta device
    (the trace's stand-in layers keep no autograd graph), e.g. an in-place ``+=`` on the
    output of a layer whose gradient needs it (a ReLU). Other meta failures say nothing."""
    try:
        with _quiet(), torch.device("meta"):
            model = _build(instrumented, class_name, ShapeTrace(), ReshapeRecorder())
            model.train()
            output = model(torch.zeros((BATCH, *input_shape)))
            if isinstance(output, torch.Tensor) and output.requires_grad:
                output.float().sum().backward()
    except RuntimeError as exc:
        text = str(exc)
        if "modified by an inplace operation" in text:
            which = text.split("which is ", 1)[-1].split(", is at version", 1)[0]
            return ("training would fail: an in-place operation (such as `+=`) changes a tensor "
                    f"the backward pass needs ({which})")
    except BaseException as exc:  # noqa: BLE001 - the trace already judged forward
        if isinstance(exc, KeyboardInterrupt):
            raise
    return None


def trace_shapes(instrumented: InstrumentedSource, class_name: str,
                 input_shape: tuple[int, ...]) -> ShapeTrace:
    """Build ``class_name`` from the instrumented source and trace one forward pass.

    Runs on the meta device; when an operation has no meta implementation (``.item()``,
    data-dependent shapes) and the model is small, it retries once on real CPU tensors.
    Never raises for problems in the user's code: they come back in ``problem``.
    """
    try:
        trace = _run_choosing_flattens(instrumented, class_name, input_shape, "meta")
        problem = _backward_problem(instrumented, class_name, input_shape)
        return trace if problem is None else ShapeTrace(problem=problem)
    except Rejection as exc:
        if not _meta_unsupported(exc):
            return ShapeTrace(problem=str(exc))
        meta_problem = str(exc)
    try:
        with _quiet(), torch.device("meta"):
            model = _build(instrumented, class_name, ShapeTrace(), ReshapeRecorder())
            size = sum(p.numel() for p in model.parameters())
        if size > CPU_FALLBACK_MAX_PARAMS:
            return ShapeTrace(problem=meta_problem)
        return _run_choosing_flattens(instrumented, class_name, input_shape, "cpu")
    except Rejection as exc:
        return ShapeTrace(problem=str(exc))
