"""The one error type every dataset loader raises."""

from __future__ import annotations


class DatasetError(ValueError):
    """A dataset is missing, malformed or unknown; the message is one line for the user."""


def one_line(exc: BaseException) -> str:
    """``Type: first line of the message``, for wrapping a foreign error into a DatasetError."""
    first = next((line.strip() for line in str(exc).splitlines() if line.strip()), "")
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__
