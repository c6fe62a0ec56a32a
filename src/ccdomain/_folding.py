"""Case- and accent-insensitive keys (K10, K16), shared by the rules and the stores.

The stores index companies by :func:`name_key`, so the function lives below both.
"""

from __future__ import annotations

import unicodedata

from ccdomain.errors import RuleViolation
from ccdomain.errors import show as _show

__all__ = ["fold", "name_key"]


def fold(text: str) -> str:
    """Return a case- and accent-insensitive key of ``text`` (K10).

    >>> fold("José PÉREZ")
    'jose perez'

    Raises:
        RuleViolation: ``text`` is not a string.
    """
    if not isinstance(text, str):
        raise RuleViolation(f"{_show(text)} cannot be folded: expected a text")
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def name_key(name: str) -> str:
    """A folded name with whitespace collapsed: the key companies are found by (K16).

    >>> name_key("  Acme   PERÚ s.a.c. ")
    'acme peru s.a.c.'
    """
    return " ".join(fold(name).split())
