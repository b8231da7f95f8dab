"""A candidate program: one individual of the search, carried through pymoo as an object."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nnevolve.genome.liveness import Liveness
    from nnevolve.operators import Edit
    from nnevolve.store import Evaluation


@dataclass(eq=False)
class Candidate:
    """The files of one variant, its lineage, and where it stands in the run.

    A variant is the model file (`source`, always) and, when an edit changed it, the
    project's training script (`train_source`; None: the script as the user wrote it);
    `source_hash` identifies both (genome.variant_hash). `edits` are cumulative from the seed
    network along the first parent, so a variant's edit list reads as "what was done to your
    network".
    """

    source: str
    source_hash: str
    class_name: str
    parents: tuple[int, ...] = ()  # variant ids in the run store
    edits: tuple[dict[str, str], ...] = ()
    checked: bool = False  # passed the static check (and carries its repairs)
    variant_id: int | None = None  # set once recorded in the run store
    metrics: Evaluation | None = None  # set once evaluated (trained or from the cache)
    # what the static check saw the model build and run: decides the genome's live sites
    liveness: Liveness | None = None
    train_source: str | None = None  # the training script when it differs from the user's
    screening: Evaluation | None = None  # its result on the run's screening share of the budget
    promoted: bool = False  # its screening earned it the full budget
    screened_out: bool = False  # it was screened and not promoted: it has no full metrics

    @property
    def evaluated(self) -> bool:
        """It has its full-budget metrics."""
        return self.metrics is not None

    @property
    def settled(self) -> bool:
        """Nothing more will be trained for it: evaluated, or screened out."""
        return self.metrics is not None or self.screened_out

    def child(self, source: str, source_hash: str, new_edits: tuple[dict[str, str], ...],
              *, parents: tuple[int, ...] | None = None,
              train_source: str | None = None) -> Candidate:
        """An unchecked child of this candidate that inherits its edit history."""
        lineage = parents if parents is not None else self.lineage_ids()
        return Candidate(source=source, source_hash=source_hash, class_name=self.class_name,
                         parents=lineage, edits=self.edits + new_edits,
                         train_source=train_source)

    def lineage_ids(self) -> tuple[int, ...]:
        """Parent ids for a child: this candidate when stored, else its own parents."""
        return (self.variant_id,) if self.variant_id is not None else self.parents


def edit_dicts(edits: Iterable[Edit | str]) -> tuple[dict[str, str], ...]:
    """Operator `Edit` records (or repair fix strings) as JSON-ready dicts."""
    out: list[dict[str, str]] = []
    for edit in edits:
        if isinstance(edit, str):
            out.append({"op": "repair", "summary": edit})
        else:
            out.append({"op": str(edit.op), "summary": str(edit.summary)})
    return tuple(out)


@dataclass
class SearchCounts:
    """What happened to the candidates of this session (for progress and statistics)."""

    accepted: int = 0  # passed the static check
    rejected: int = 0  # refused by the static check
    trained: int = 0  # with the full budget
    trained_ok: int = 0
    screened: int = 0  # trained on the screening share of the budget
    promoted: int = 0
    cached: int = 0
    failed: int = 0
    train_seconds: float = 0.0
    eval_seconds: float = 0.0
