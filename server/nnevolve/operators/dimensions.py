"""What data a layer works on (images, sequences, flat features), so new lines fit their place."""

from __future__ import annotations

from nnevolve.genome import Genome, Site


def dimension(name: str) -> str | None:
    """The data a layer works on: "2d" (images), "1d" (sequences), "3d", "flat", or None (any)."""
    last = name.rsplit(".", 1)[-1]
    if last == "BatchNorm1d":
        return None  # normalizes flat (N, C) features and (N, C, L) sequences alike
    for suffix in ("1d", "2d", "3d"):
        if last.endswith(suffix):
            return suffix
    if last in ("Linear", "Bilinear", "LazyLinear", "Flatten", "flatten"):
        return "flat"
    return None


def fits(gene_name: str, context: str | None) -> bool:
    """Whether a layer of ``gene_name`` can work on the data found at an insertion point."""
    if gene_name.rsplit(".", 1)[-1] == "BatchNorm1d":
        return context in (None, "flat", "1d")
    own = dimension(gene_name)
    if own is None or context is None:
        return True
    return own == context


def context_at(genome: Genome, site: Site, *, after: bool) -> str | None:
    """The data dimension at the point just after (or before) ``site`` in forward order."""
    ordered = genome.in_flow_order()
    position = ordered.index(site)
    before = ordered[: position + 1] if after else ordered[:position]
    for earlier in reversed(before):
        found = dimension(earlier.name)
        if found is not None:
            return found
    for later in ordered[position + (1 if after else 0) :]:
        if later.name.rsplit(".", 1)[-1] in ("Flatten", "flatten"):
            return None  # what comes before a flatten can have any shape
        found = dimension(later.name)
        if found is not None:
            return found
    return None
