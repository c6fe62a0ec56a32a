"""MkDocs hook: the docstrings' Sphinx roles (``:func:`x```) as links or plain code.

The docstrings name other objects the Sphinx way, which mkdocstrings renders as the
literal role before the code (``:func:<code>x</code>``). This turns a fully qualified
name into an optional cross-reference (a link when the reference documents it, plain
code otherwise) and drops the role from the rest, so pages read as prose.
"""

from __future__ import annotations

import re
from typing import Any

_ROLE = re.compile(r":(?:mod|func|class|meth|attr|data|exc|obj):<code>(~?)([\w.]+)(\(\))?</code>")


def _replace(match: re.Match[str]) -> str:
    short, name, call = match.group(1), match.group(2), match.group(3) or ""
    shown = (name.rsplit(".", 1)[-1] if short else name) + call
    if name.startswith("ccdomain."):
        return f'<autoref identifier="{name}" optional><code>{shown}</code></autoref>'
    return f"<code>{shown}</code>"


def on_page_content(html: str, **kwargs: Any) -> str:
    """Rewrite the roles of one page, before autorefs resolves its cross-references."""
    return _ROLE.sub(_replace, html)
