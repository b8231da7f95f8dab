"""Generation 0 spreads the user's network along the size axis (the method's "simple network
that can be extended upon, of varying sizes"), on the search-level stand-in fitness."""

from __future__ import annotations

from pathlib import Path

import pytest

from test_search_level import run


def test_generation_0_spans_an_order_of_magnitude_of_sizes_around_the_seed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _, variants = run(tmp_path, "nsga2", 0, monkeypatch, generations=1)
    seed = next(v for v in variants if v.is_base).evaluation.params
    first = [v for v in variants if v.generation == 0 and not v.is_base
             and v.evaluation is not None and v.evaluation.status == "ok"]
    sizes = [v.evaluation.params for v in first]
    assert min(sizes) < seed < max(sizes)
    assert max(sizes) / min(sizes) >= 10, sorted(sizes)
    scaled = {e["summary"].split(":")[0] for v in first for e in v.edits if e["op"] == "scale"}
    assert {"widths ×0.5", "widths ×4", "shallower"} <= scaled, scaled
    assert len(first) > len(scaled)  # random mutants as well
