"""Breeding: GI operators make children, the static check decides which may be trained.

Every child passes the static check (repair + a forward pass on the meta device) before it
is accepted; a rejected child is recorded in the run store with its reason and never
trained, so almost no training time is spent on broken programs.
"""

from __future__ import annotations

import random
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING

from nnevolve.genome import Genome, GenomeError, source_hash, variant_hash
from nnevolve.operators import RecipeText, crossover, mutate
from nnevolve.operators.insert_block import transplants
from nnevolve.operators.scale import size_ladder
from nnevolve.search.candidate import Candidate, SearchCounts, edit_dicts
from nnevolve.search.evaluator import RunCancelled
from nnevolve.search.time_budget import OutOfTime

if TYPE_CHECKING:
    from nnevolve.gene_pool import GenePool
    from nnevolve.operators import Offspring
    from nnevolve.repair import RepairResult, StaticChecker
    from nnevolve.search.time_budget import TimeBudget
    from nnevolve.store import RunStore

_GENOME_CACHE = 256  # parsed genomes kept; a population is far smaller


class Breeder:
    """Children of candidates, statically checked; remembers every source the run has seen."""

    def __init__(self, *, store: RunStore, run_id: str, class_name: str, pool: GenePool,
                 checker: StaticChecker, rng: random.Random, counts: SearchCounts,
                 should_stop: Callable[[], bool] = lambda: False,
                 on_accept: Callable[[Candidate], None] = lambda candidate: None,
                 evolve_training: bool = False,
                 time_budget: TimeBudget | None = None,
                 train_file: str = "", train_source: str = "") -> None:
        self.store, self.run_id, self.class_name = store, run_id, class_name
        self.should_stop = should_stop
        self.time_budget = time_budget  # once spent, accept() raises OutOfTime
        self.on_accept = on_accept  # e.g. start training it while the next child is bred
        self.evolve_training = evolve_training  # the recipe lines are sites too
        # the project's training script (its file name and text as the user wrote it): a
        # candidate with no train_source of its own trains with it
        self.train_file, self.train_source = train_file, train_source
        self._train_hash = _hash_or_none(train_source) if train_source else None
        self._train_texts: OrderedDict[str, RecipeText | None] = OrderedDict()
        self.pool, self.checker, self.rng, self.counts = pool, checker, rng, counts
        self.generation = 0
        self.seen: set[str] = set()  # hashes of accepted candidates (to train or trained)
        self._rejected: set[str] = set()
        self._genomes: OrderedDict[str, Genome | None] = OrderedDict()

    # -- operators --------------------------------------------------------------------------

    def genome(self, candidate: Candidate) -> Genome | None:
        """The parsed genome of a candidate (memoized); None when it has no editable sites."""
        key = candidate.source_hash
        if key in self._genomes:
            self._genomes.move_to_end(key)
            return self._genomes[key]
        try:
            genome: Genome | None = Genome.parse(candidate.source, self.class_name,
                                                 live=candidate.liveness)
        except GenomeError:
            genome = None
        self._genomes[key] = genome
        if len(self._genomes) > _GENOME_CACHE:
            self._genomes.popitem(last=False)
        return genome

    def train_text(self, candidate: Candidate) -> RecipeText | None:
        """The candidate's training script, parsed (memoized); None without one."""
        source = (candidate.train_source if candidate.train_source is not None
                  else self.train_source)
        if not (self.evolve_training and source and self.train_file):
            return None
        if source not in self._train_texts:
            self._train_texts[source] = RecipeText.parse(source, self.train_file)
            if len(self._train_texts) > _GENOME_CACHE:
                self._train_texts.popitem(last=False)
        return self._train_texts[source]

    def mutant(self, parent: Candidate) -> Candidate | None:
        """One random edit of `parent` (unchecked), or None when no legal edit exists."""
        if parent.liveness is None and not parent.checked:
            # a fresh crossover child: check it first, so its sites are the ones its model uses
            result = self.check_source(parent.source)
            if result.ok:
                parent = self._repaired(parent, result)
        genome = self.genome(parent)
        offspring = (mutate(genome, self.rng, self.pool, training=self.evolve_training,
                            train=self.train_text(parent))
                     if genome is not None else None)
        return self._child(parent, offspring)

    def size_variants(self, parent: Candidate) -> list[Candidate]:
        """`parent` spread along the size axis (unchecked): every width ×¼, ×4, ×½, ×2, a step
        shallower and deeper, and two corners (operators.scale.size_ladder)."""
        genome = self.genome(parent)
        children = [self._child(parent, child) for child in size_ladder(genome)] if genome else []
        return [child for child in children if child is not None]

    def transplants(self, parent: Candidate, count: int) -> list[Candidate]:
        """Up to `count` children of `parent` (unchecked), each with another block of the gene
        pool inserted where it fits: a stem at the input among them (operators.insert_block)."""
        genome = self.genome(parent)
        found = transplants(genome, self.rng, self.pool, count) if genome is not None else []
        children = [self._child(parent, child) for child in found]
        return [child for child in children if child is not None]

    def cross(self, receiver: Candidate, donor: Candidate) -> Candidate | None:
        """Typed crossover: `receiver` takes lines from `donor` (unchecked), or None."""
        a, b = self.genome(receiver), self.genome(donor)
        if a is None or b is None:
            return None
        parents = receiver.lineage_ids() + donor.lineage_ids()
        child = crossover(a, b, self.rng, training=self.evolve_training,
                          train_a=self.train_text(receiver), train_b=self.train_text(donor))
        return self._child(receiver, child, parents=parents)

    def _child(self, parent: Candidate, offspring: Offspring | None,
               parents: tuple[int, ...] | None = None) -> Candidate | None:
        if offspring is None:
            return None
        source = offspring.source
        train = (offspring.train_source if offspring.train_source is not None
                 else parent.train_source)
        try:
            if train is not None and _hash_or_none(train) == self._train_hash:
                train = None  # the user's own script again
            digest = variant_hash(source, train)
        except GenomeError:
            return None  # an operator must not emit invalid Python; drop it if one does
        if digest == parent.source_hash:
            return None
        edits = edit_dicts(offspring.edits)
        return parent.child(source, digest, edits, parents=parents, train_source=train)

    # -- static check -----------------------------------------------------------------------

    def is_new(self, candidate: Candidate) -> bool:
        """Whether the run has neither trained, queued nor rejected this source."""
        digest = candidate.source_hash
        return digest not in self.seen and digest not in self._rejected

    def accept(self, candidate: Candidate) -> Candidate | None:
        """The checked (possibly repaired) candidate, or None when rejected or not new.

        A rejection is recorded in the run store with its reason. Raises OutOfTime once the
        run's time budget is spent (nothing more is bred).
        """
        if self.should_stop():
            raise RunCancelled()
        if self.time_budget is not None and self.time_budget.spent():
            raise OutOfTime()
        if not self.is_new(candidate):
            return None
        result = self.check_source(candidate.source)
        if not result.ok:
            if self.should_stop():
                raise RunCancelled()  # the checker may have been stopped with the run
            self._rejected.add(candidate.source_hash)
            self.counts.rejected += 1
            self.store.add_variant(
                self.run_id, source=candidate.source, source_hash=candidate.source_hash,
                parents=candidate.parents, edits=candidate.edits, generation=self.generation,
                status="rejected", reason=result.reason or "rejected by the static check",
                train_source=candidate.train_source,
            )
            return None
        checked = self._repaired(candidate, result)
        self.counts.accepted += 1
        is_new = self.remember(checked)
        self.seen.add(candidate.source_hash)  # the unrepaired text leads to the same variant
        if not is_new:
            return None
        self.on_accept(checked)
        return checked

    def check_source(self, source: str) -> RepairResult:
        """Run the static check (repair + meta-device forward pass) on one source."""
        return self.checker.check(source, self.class_name)

    def _repaired(self, candidate: Candidate, result: RepairResult) -> Candidate:
        if result.source == candidate.source:
            candidate.checked = True
            candidate.liveness = result.liveness
            return candidate
        repaired = Candidate(
            source=result.source,
            source_hash=variant_hash(result.source, candidate.train_source),
            class_name=candidate.class_name, parents=candidate.parents,
            edits=candidate.edits + edit_dicts(result.fixes), checked=True,
            liveness=result.liveness, train_source=candidate.train_source,
        )
        return repaired

    def remember_rejected(self, digest: str) -> None:
        """A source an earlier session rejected: skip it without checking it again."""
        self._rejected.add(digest)

    def remember(self, candidate: Candidate) -> bool:
        """Mark a candidate as part of the run; False when the run already has it."""
        if candidate.source_hash in self.seen:
            return False
        self.seen.add(candidate.source_hash)
        return True


def _hash_or_none(source: str) -> str | None:
    try:
        return source_hash(source)
    except GenomeError:
        return None
