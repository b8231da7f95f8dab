"""Wall-clock durations as people write them (`90s`, `10m`, `1h30m`) and say them (`4 min left`)."""

from __future__ import annotations

import math
import re

DURATION_HELP = "a duration such as '90s', '10m', '1h' or '1h30m' (a bare number is seconds)"
_PART = r"(\d+(?:\.\d*)?|\.\d+)"
_DURATION = re.compile(rf"(?:{_PART}h)?\s*(?:{_PART}m(?:in)?)?\s*(?:{_PART}s)?")


def parse_duration(value: object) -> float:
    """Seconds in `value`: `"90s"`, `"10m"`, `"1h30m"`, `"2.5m"`, or a number of seconds.

    Raises ValueError (its message says what is accepted) for anything else or a duration of
    zero.
    """
    if isinstance(value, bool):
        raise ValueError(DURATION_HELP)
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip().lower()
        try:
            seconds = float(text)  # a bare number: seconds (what a stored config holds)
        except ValueError:
            match = _DURATION.fullmatch(text)
            if not text or match is None:
                raise ValueError(DURATION_HELP) from None
            hours, minutes, secs = (float(part or 0) for part in match.groups())
            seconds = 3600 * hours + 60 * minutes + secs
    else:
        raise ValueError(DURATION_HELP)
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(DURATION_HELP)
    return seconds


def time_left(seconds: float) -> str:
    """`4 min left`, `45 s left`, `1 h 20 min left`; `no time left` once it is spent.

    Minutes are rounded up, so `1 min left` is said until the last minute is spent.
    """
    if seconds <= 0:
        return "no time left"
    if math.ceil(seconds) < 60:
        return f"{math.ceil(seconds)} s left"
    minutes = math.ceil(seconds / 60)
    if minutes < 60:
        return f"{minutes} min left"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min left" if minutes else f"{hours} h left"
