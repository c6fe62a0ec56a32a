"""Pausing the cyclic garbage collector around bulk work that builds no reference cycles.

Evaluating a million promises allocates millions of small frozen objects that all stay
alive; every 700 of them the collector starts a pass that walks the new objects and
touches whatever they refer to, which takes half of the run (bench/promise_status.py).
Those objects form no cycles, so pausing the collector loses nothing: reference
counting frees everything as before, and the first pass after the pause looks at the
new objects once. The same trick, for the same reason, is Mercurial's ``util.nogc``.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Disable the cyclic collector inside the block; restore its state after, on any exit.

    The collector is process-wide: while the block runs, other threads' garbage cycles
    wait for the next pass (reference counting still frees everything else). A block
    entered with the collector already disabled leaves it disabled.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
