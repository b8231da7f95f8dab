"""Decide which source fixes a traced model needs, or why no fix can make it consistent."""

from __future__ import annotations

from collections import defaultdict

from nnevolve.repair.fixes import Fix, InsertFlatten, SetWidth
from nnevolve.repair.instrument import CallSite
from nnevolve.repair.shapes import (
    BATCH,
    LayerCall,
    Rejection,
    ShapeTrace,
    WidthNeed,
    describe,
    format_shape,
)


def _built_once(site: int, trace: ShapeTrace, sites: tuple[CallSite, ...]) -> bool:
    return trace.built[site] <= 1 and not sites[site].in_loop


def _width_fixes(trace: ShapeTrace, sites: tuple[CallSite, ...]) -> list[Fix]:
    groups: dict[tuple[int, str], list[WidthNeed]] = defaultdict(list)
    for need in trace.needs:
        groups[(need.site, need.param)].append(need)
    fixes: list[Fix] = []
    for (site, param), needs in groups.items():
        if all(n.needed == n.current for n in needs):
            continue
        per_module: dict[int, list[WidthNeed]] = defaultdict(list)
        for need in needs:
            per_module[need.instance].append(need)
        widths = []
        for calls in per_module.values():
            wanted = sorted({n.needed for n in calls})
            if len(wanted) > 1:
                # one module used on inputs of different widths: no argument fits all uses
                raise Rejection(f"{describe(needs[0].kind, site, sites)} is used on inputs that "
                                f"need {param} {', '.join(map(str, wanted))}; one layer cannot "
                                "fit them all")
            # the first use saw the declared width; later uses see the resized layer
            widths.append((calls[0].current, wanted[0]))
        # a Linear kept on a >2-D input mixes along the last axis, as torch applies it
        why = "(along the last dimension of its input)" if site in trace.last_dim_sites else ""
        fixes.append(SetWidth(site, param, needs[0].position, tuple(widths), why))
    return fixes


def _flatten_fixes(trace: ShapeTrace, sites: tuple[CallSite, ...]) -> list[Fix]:
    fixes: list[Fix] = []
    for site in dict.fromkeys(trace.flatten_sites):
        if not _built_once(site, trace, sites):
            raise Rejection(f"{describe(sites[site].kind, site, sites)} receives a >2-D input and "
                            "is built in a loop: a Flatten cannot be inserted safely")
        fixes.append(InsertFlatten(site))
    return fixes


def _producer(calls: list[LayerCall], width: int) -> LayerCall | None:
    """The last resizable layer whose output width reaches the model's output unchanged."""
    for call in reversed(calls):
        # a Linear on a >2-D tensor sets the last dimension, not the channels that get here
        sets_width = call.out_param is not None and call.out_shape is not None and (
            len(call.out_shape) == 2 or call.out_param[2] == 1)
        if sets_width:
            return call if call.out_width == width else None
        # activations, norms, pooling, dropout, flatten of a 1×1 map: width passes through
        if not (call.in_shape and call.out_shape and len(call.in_shape) >= 2
                and call.in_shape[1] == call.out_shape[1] == width):
            return None
    return None


def _output_fixes(trace: ShapeTrace, sites: tuple[CallSite, ...], num_classes: int) -> list[Fix]:
    shape = trace.output_shape
    expected = format_shape((BATCH, num_classes))
    if shape is None:
        raise Rejection(f"forward returned a {trace.output_type}, expected a tensor {expected}")
    if any(s <= 0 for s in shape):
        raise Rejection(f"the output {format_shape(shape)} is empty")
    if len(shape) != 2:
        raise Rejection(f"the output has shape {format_shape(shape)}, expected {expected} "
                        "(batch, classes)")
    if shape[0] != BATCH:
        raise Rejection(f"the output has {shape[0]} rows for a batch of {BATCH}: a reshape mixes "
                        "up the batch dimension")
    if shape[1] == num_classes:
        return []
    producer = _producer(trace.calls, shape[1])
    if producer is None or producer.site is None or producer.out_param is None \
            or not _built_once(producer.site, trace, sites):
        raise Rejection(f"the output has {shape[1]} classes, expected {num_classes}, and no layer "
                        "can be resized")
    param, position, _ = producer.out_param
    # the output width of a named expression (num_classes) belongs to the model's arguments
    return [SetWidth(producer.site, param, position, ((shape[1], num_classes),),
                     f"(the output must have {num_classes} classes)", scale=False)]


def plan_fixes(trace: ShapeTrace, sites: tuple[CallSite, ...], num_classes: int) -> list[Fix]:
    """The fixes that make the traced model consistent; empty when it already is.

    Raises
    ------
    Rejection
        When the model cannot be made consistent by width edits and Flatten insertions.
    """
    if trace.problem:
        raise Rejection(trace.problem)
    fixes = _width_fixes(trace, sites) + _flatten_fixes(trace, sites)
    fixes += _output_fixes(trace, sites, num_classes)
    if trace.params == 0 and not fixes:
        raise Rejection("the model has no trainable parameters")
    return fixes
