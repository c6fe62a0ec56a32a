"""Shared fixtures: counting a store method's calls (scans that must not repeat)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest


class Calls:
    """How many calls a wrapped method got, or how many items it returned."""

    def __init__(self) -> None:
        self.count = 0


@pytest.fixture
def count_calls(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Calls]:
    """Wrap ``owner.name`` for the test; ``items=True`` counts the items it returns."""

    def wrap(owner: type, name: str, *, items: bool = False) -> Calls:
        calls = Calls()
        original = getattr(owner, name)

        def counting(self: Any, *args: Any, **kwargs: Any) -> Any:
            found = original(self, *args, **kwargs)
            if not items:
                calls.count += 1
                return found
            found = list(found)
            calls.count += len(found)
            return found

        monkeypatch.setattr(owner, name, counting)
        return calls

    return wrap
