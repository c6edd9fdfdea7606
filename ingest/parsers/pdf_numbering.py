"""The numbering a policy or legal PDF uses for its own parts, read from the start of a paragraph."""

from __future__ import annotations

import re

_UNIT_START = re.compile(r"^\(\d{1,3}\)\s")
_FINISHED = re.compile(r"([.:;!?][”’\"')\]]?|;\s*(and|or)|,\s*(and|or))$")


def opens_unit(text: str, previous: str) -> bool:
    """Whether a line that starts with a unit label begins a new unit (the line before it ends a sentence)."""
    return bool(_UNIT_START.match(text) and _FINISHED.search(previous))
