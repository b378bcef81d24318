"""Text as people typed it, minus the invisible characters that make it display as something
else: bidirectional overrides and isolates (a name typed with U+202E prints reordered: 李live明),
other format characters and control characters.

Every way in uses the same function: the API cleans every string of a JSON body
(mediation.api), the web forms clean what they read, the CLI what it is given, and the printed
documents clean every value they print (for text stored before this rule). Stripping, not
refusing: such characters come unseen with text pasted from chat apps and web pages, and an
elderly volunteer cannot see, let alone remove, what an error would point at.

Kept: line breaks and tabs in multi-line text, and the zero-width (non-)joiners U+200C/U+200D
that emoji sequences and some scripts need. NUL and unpaired surrogates are not this module's
business: the API refuses them as unstorable before cleaning.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any, TypeVar

T = TypeVar("T")

# Joiners that legitimate text needs (emoji sequences, Indic and Arabic shaping).
_KEPT_FORMAT = {"\u200c", "\u200d"}
_NEWLINES = re.compile(r"\r\n?|[\u0085\u2028\u2029]")


def _invisible(ch: str) -> bool:
    """A control (Cc) or format (Cf) character that printing would act on, not show."""
    if ch in ("\n", "\t") or ch in _KEPT_FORMAT:
        return False
    return unicodedata.category(ch) in ("Cc", "Cf")


def has_invisible(value: str) -> bool:
    """Whether ``value`` holds a character :func:`clean_text` would remove (line breaks other
    than a plain line feed included)."""
    return any(ch in "\r\u2028\u2029" or _invisible(ch) for ch in value)


def clean_text(value: str, *, multiline: bool = True) -> str:
    """``value`` without control and format characters (bidi overrides, isolates and marks,
    zero-width spaces, BOMs, C0/C1 controls). Line breaks (CR, CRLF, NEL, U+2028/2029) become
    line feeds; for a one-line field (``multiline=False``) line breaks and tabs become spaces."""
    text = _NEWLINES.sub("\n", value)
    if any(_invisible(ch) for ch in text):
        text = "".join(ch for ch in text if not _invisible(ch))
    if not multiline:
        text = text.replace("\n", " ").replace("\t", " ")
    return text


def clean_data(value: T) -> T:
    """``value`` with :func:`clean_text` applied to every string in it (dict keys included),
    through dicts and lists (a parsed JSON body); anything else is returned as it is."""
    stack: list[tuple[Any, Any, Any]] = []
    root = _clean_node(value, stack)
    while stack:  # iterative: nesting depth is bounded only by the JSON parser
        container, key, item = stack.pop()
        container[key] = _clean_node(item, stack)
    return root


def _clean_node(value: Any, stack: list[tuple[Any, Any, Any]]) -> Any:
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        out: dict[Any, Any] = {}
        for key, item in value.items():
            new_key = clean_text(key) if isinstance(key, str) else key
            out[new_key] = None
            stack.append((out, new_key, item))
        return out
    if isinstance(value, list):
        items: list[Any] = [None] * len(value)
        stack.extend((items, i, item) for i, item in enumerate(value))
        return items
    return value
