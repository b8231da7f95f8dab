"""The pymoo callback: after each generation, checkpoint, report progress, honour a stop."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pymoo.core.callback import Callback

if TYPE_CHECKING:
    from pymoo.core.algorithm import Algorithm

    from nnevolve.search.context import SearchContext


class GenerationCallback(Callback):
    """Calls `SearchContext.end_generation` with the search's own generation number."""

    def __init__(self, context: SearchContext) -> None:
        super().__init__()
        self.context = context
        self.generation = context.start_generation
        self.silent = False  # set while pymoo reloads a stored population

    def notify(self, algorithm: Algorithm) -> None:
        if not self.silent:
            self.context.end_generation(self.generation)
