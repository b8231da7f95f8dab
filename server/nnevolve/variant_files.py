"""A variant as the files it changes: the model file always, the project's training script
(``train_file``) when one of its edits changed it.

Every view of a variant goes through these: its ``changes`` (:mod:`nnevolve.changes`), the
output folder's files, ``nnevolve show``, and the editor's edit of each file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from nnevolve.analysis import Analysis
from nnevolve.changes import variant_changes
from nnevolve.store import RunRecord, Variant

MODEL, TRAIN = "model", "train"


@dataclass(frozen=True)
class VariantFile:
    """One file of a variant: the user's file, its text when the run started, the variant's."""

    role: str  # MODEL | TRAIN
    path: str  # the user's file (resolved, as the run store names it)
    base: str  # its text when the run started
    text: str  # the variant's text of it

    @property
    def name(self) -> str:
        return Path(self.path).name

    def changes(self, base_analysis: Analysis | None = None) -> list[str]:
        """One phrase per changed line; a training script's name the file."""
        return variant_changes(self.base, self.text, base_analysis=base_analysis,
                               file=self.name if self.role == TRAIN else None)


def variant_files(run: RunRecord, variant: Variant) -> list[VariantFile]:
    """The model file, then the training script when the variant changes it."""
    files = [VariantFile(MODEL, run.file, run.base_source, variant.source)]
    if variant.train_source is not None and run.train_file and run.train_source is not None:
        files.append(VariantFile(TRAIN, run.train_file, run.train_source, variant.train_source))
    return files


def files_changes(files: Sequence[VariantFile], *,
                  base_analysis: Analysis | None = None) -> list[str]:
    """The changes of every file, the model file's first (``base_analysis``: of its base)."""
    return [phrase for f in files
            for phrase in f.changes(base_analysis if f.role == MODEL else None)]


def changes_of(run: RunRecord, variant: Variant, *,
               base_analysis: Analysis | None = None) -> list[str]:
    """A variant's net changes against the user's files, one phrase per changed line."""
    return files_changes(variant_files(run, variant), base_analysis=base_analysis)
