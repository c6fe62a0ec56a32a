"""bench/make_events.py writes only valid lines (issue 15).

Its promises have no time of their own, so replay dates them at the latest time seen
(R3); the generator used to date ``made_on`` by a clock that had already moved past
midnight, and the promise was refused as made after today. Seed 10 at 20,000 events
drew such a promise (line 15,904) before the fix.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

from ccdomain.memory import MemoryStore
from ccdomain.replay import replay

BENCH = Path(__file__).resolve().parents[1] / "bench"


def _make_events() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_events", BENCH / "make_events.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generated_file_replays_without_a_bad_line() -> None:
    make_events = _make_events()
    lines = [json.dumps(e, ensure_ascii=False) for e in make_events.events(20_000, 10)]
    assert sum('"type": "promise"' in line for line in lines) > 100  # the case is exercised
    summary = replay(MemoryStore(), lines, keep_going=True)
    assert summary.bad_lines == ()
    assert summary.lines == 20_000
    assert summary.promises_made > 100
