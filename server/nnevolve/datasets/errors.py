"""The one error type every dataset loader raises."""

from __future__ import annotations


class DatasetError(ValueError):
    """A dataset is missing, malformed or unknown; the message is one line for the user."""

