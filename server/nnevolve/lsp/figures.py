"""A run's figures in words: accuracy, size and latency, alone or against the original network."""

from __future__ import annotations

from nnevolve.duration import time_left

MINUS = "\u2212"  # a typographic minus: "−38%" reads as a figure, "-38%" as a dash


def _signed(value: float, digits: int) -> str:
    text = f"{abs(value):.{digits}f}"
    if float(text) == 0:
        return "\u00b1" + text
    return ("+" if value > 0 else MINUS) + text


def accuracy(value: float) -> str:
    """``97.8%`` for 0.978."""
    return f"{value * 100:.1f}%"


def accuracy_change(value: float, original: float | None) -> str:
    """Percentage points against the original: ``+0.4``, ``−1.2``, ``±0.0``."""
    if original is None:
        return ""
    return f" ({_signed((value - original) * 100, 1)})"


def relative_change(value: float, original: float | None) -> str:
    """Change relative to the original in whole percent: `` (−38%)``; empty when unknown."""
    if original is None or original <= 0:
        return ""
    return f" ({_signed((value / original - 1) * 100, 0)}%)"


def params(value: int) -> str:
    """``18,204 params``."""
    return f"{value:,} param{'' if value == 1 else 's'}"


def compact_params(value: int) -> str:
    """``812``, ``9.5k``, ``21k``, ``1.2M`` parameters, for a progress line."""
    if value < 1000:
        return f"{value}"
    if value < 10_000:
        return f"{value / 1000:.1f}k".replace(".0k", "k")
    if value < 1_000_000:
        return f"{value / 1000:.0f}k"
    return f"{value / 1_000_000:.1f}M".replace(".0M", "M")


def latency(value: float) -> str:
    """``0.21 ms``, ``3.4 ms``, ``120 ms``: about two significant digits."""
    if value >= 100:
        return f"{value:.0f} ms"
    if value >= 10:
        return f"{value:.1f} ms"
    return f"{value:.2f} ms"


def variant_figures(
    *,
    acc: float | None,
    size: int | None,
    time_ms: float | None,
    base_acc: float | None = None,
    base_size: int | None = None,
    base_time_ms: float | None = None,
) -> str:
    """``98.2% (+0.4), 18,204 params (−38%), 0.21 ms (−12%)``: what is known, in that order."""
    parts = []
    if acc is not None:
        parts.append(accuracy(acc) + accuracy_change(acc, base_acc))
    if size is not None:
        parts.append(params(size) + relative_change(size, base_size))
    if time_ms is not None:
        parts.append(latency(time_ms) + relative_change(time_ms, base_time_ms))
    return ", ".join(parts)


def stage(progress: dict[str, object]) -> str:
    """Where a run is, in the words the notification, the status bar and the lens all show:
    ``generation 3/10`` during the search (``generation 3 · 4 min left`` under a time budget,
    ``generation 3 · 40% of the budget`` when screening lets the budget end the search),
    the phase's own words (``writing the variants``) outside it."""
    phase = progress.get("phase")
    message = str(progress.get("message") or "")
    if phase != "search" and message:
        return message
    generation = f"generation {_count(progress.get('generation'))}"
    left = progress.get("seconds_left")
    if isinstance(left, (int, float)) and not isinstance(left, bool):
        return f"{generation} · {time_left(float(left))}"
    if progress.get("generations") is None and "generations" in progress:
        # a screened run: its budget, not a number of generations, ends it
        share = progress.get("percent")
        used = share if isinstance(share, (int, float)) and not isinstance(share, bool) else 0
        return f"{generation} · {used:.0f}% of the budget"
    return f"{generation}/{_count(progress.get('generations'))}"


def progress_line(progress: dict[str, object]) -> str:
    """A run's progress report: ``generation 3/10 · 27 variants (4 cached, 5 rejected, 1
    failed) · best 97.8% / 21k params`` (``, 12 screened out`` inside the brackets when the
    run screens), or the phase's own words outside the search."""
    where = stage(progress)
    if progress.get("phase") != "search" and progress.get("message"):
        return where
    counts = {
        key: _count(progress.get(key))
        for key in ("evaluated", "cached", "rejected", "failed", "screened")
    }
    total = sum(counts.values())
    parts = [where]
    details = [f"{counts[key]} {key}" for key in ("cached", "rejected", "failed")]
    if counts["screened"]:  # trained on a share of the budget only (screening)
        details.append(f"{counts['screened']} screened out")
    parts.append(f"{total} variant{'' if total == 1 else 's'} ({', '.join(details)})")
    best, smallest = progress.get("best_accuracy"), progress.get("smallest_params")
    if isinstance(best, (int, float)) and isinstance(smallest, int):
        parts.append(f"best {accuracy(best)} / {compact_params(smallest)} params")
    return " · ".join(parts)


def _count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
