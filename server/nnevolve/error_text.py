"""Foreign errors in a user's words: one line, whoever raised it (datasets, training, workers)."""

from __future__ import annotations


def one_line(exc: BaseException) -> str:
    """``Type: first line of the message``, for wrapping a foreign error into one of ours."""
    first = next((line.strip() for line in str(exc).splitlines() if line.strip()), "")
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__
