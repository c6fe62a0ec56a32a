"""An interrupted replay, resumed, numbers everything as a clean replay would (T5, K2, I2).

Ctrl-C during a replay raises ``KeyboardInterrupt`` wherever the process is: the
line being applied is rolled back, the lines before it stay (R1), and running the
same file again applies the rest (R4). Ticket numbers, generated contact codes and
comment seqs are taken inside the unit of work that stores what they number, so the
rolled-back line leaves no gap: the resumed replay gives every later ticket the
number a clean replay gives it, and a later line naming ``"ticket": N`` acts on the
same ticket (issue 14, defect 1).

The interruption is a :class:`KeyboardInterrupt` raised at the n-th step of the
store's port calls: just before a call, just after it, or inside
``get_or_open_ticket`` when the store calls the opener with the number it took.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ccdomain.listings import contact_rows, ticket_rows
from ccdomain.memory import MemoryStore
from ccdomain.ports import Store, UnitOfWork
from ccdomain.replay import ReplaySummary, replay
from ccdomain.sqlite import SqliteStore

ENGINES = ("memory", "sqlite")


def _ctrl_c() -> None:
    raise KeyboardInterrupt


class _Interrupter:
    """Counts the steps of the port calls made through :class:`InterruptedStore`."""

    def __init__(self, at: int | None, action: Callable[[], None]) -> None:
        self.at = at
        self.action = action
        # What each step is, by step number - 1: "get_or_open_ticket:after"...
        self.steps: list[str] = []

    def step(self, label: str) -> None:
        self.steps.append(label)
        if len(self.steps) == self.at:
            self.action()

    def wrap(self, name: str, value: Any) -> Any:
        """A callable argument (the opener) counts a step when the store calls it."""
        if not callable(value):
            return value

        def stepped(*args: Any, **kwargs: Any) -> Any:
            self.step(f"{name}:calls back")
            return value(*args, **kwargs)

        return stepped


class _InterruptedUnit:
    """A unit of work whose port calls count steps: one before, one after each call."""

    def __init__(self, interrupter: _Interrupter, uow: UnitOfWork) -> None:
        self._interrupter = interrupter
        self._uow = uow

    def __enter__(self) -> _InterruptedUnit:
        self._uow.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._uow.__exit__(exc_type, exc, tb)

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._uow, name)
        interrupter = self._interrupter

        def call(*args: Any, **kwargs: Any) -> Any:
            interrupter.step(f"{name}:before")
            result = method(
                *(interrupter.wrap(name, a) for a in args),
                **{k: interrupter.wrap(name, v) for k, v in kwargs.items()},
            )
            interrupter.step(f"{name}:after")
            return result

        return call


class InterruptedStore:
    """A store whose port calls raise ``KeyboardInterrupt`` at step ``at`` (None: never).

    ``action`` replaces the ``KeyboardInterrupt`` (the SIGKILL test pauses there).
    """

    def __init__(self, store: Store, at: int | None, action: Callable[[], None] = _ctrl_c) -> None:
        self.store = store
        self.interrupter = _Interrupter(at, action)

    @property
    def steps(self) -> list[str]:
        """What each step so far was."""
        return self.interrupter.steps

    def unit_of_work(self) -> UnitOfWork:
        uow = _InterruptedUnit(self.interrupter, self.store.unit_of_work())
        return uow  # type: ignore[return-value]

    def close(self) -> None:
        self.store.close()


@contextmanager
def new_store(engine: str) -> Iterator[Store]:
    if engine == "memory":
        yield MemoryStore()
        return
    with tempfile.TemporaryDirectory() as folder:
        store = SqliteStore(Path(folder) / "cc.db")
        try:
            yield store
        finally:
            store.close()


def held(store: Store) -> dict[str, Any]:
    """What a replay leaves: the listings, every comment, and the event log's shape."""
    with store.unit_of_work() as uow:
        tickets = uow.list_tickets()
        comments = {t.number: [(c.seq, c.text) for c in uow.comments(t.number)] for t in tickets}
        events = [(e.seq, e.kind.value, e.ticket) for e in uow.events()]
    return {
        "tickets": ticket_rows(store),
        "contacts": contact_rows(store),
        "comments": comments,
        "events": events,
    }


def clean_replay(engine: str, lines: Sequence[str]) -> tuple[dict[str, Any], ReplaySummary, int]:
    """What a replay never interrupted leaves, its summary, and how many steps it took."""
    with new_store(engine) as store:
        counted = InterruptedStore(store, None)
        summary = replay(counted, lines, keep_going=True)
        return held(store), summary, len(counted.steps)


def resumed_replay(
    store: Store, lines: Sequence[str], interrupts: Sequence[int]
) -> tuple[ReplaySummary, int]:
    """Replay, interrupted at each step of ``interrupts`` in turn, then once more to the end.

    Returns the summary of the last run and how many runs were interrupted.
    """
    stopped = 0
    for at in interrupts:
        try:
            replay(InterruptedStore(store, at), lines, keep_going=True)
        except KeyboardInterrupt:
            stopped += 1
    return replay(store, lines, keep_going=True), stopped


def _line(**fields: Any) -> str:
    return json.dumps(fields, ensure_ascii=False)


def _at(minute: int) -> str:
    return f"2026-11-20T10:{minute:02d}:00-05:00"


CAMPAIGN = _line(type="campaign", id="ventas", region="PE", timezone="America/Lima")
LINE = _line(type="line", id="wa", channel="whatsapp", address="+51 1 7001111", campaign="ventas")


def _contact(name: str, phone: str) -> str:
    return _line(
        type="contact",
        campaign="ventas",
        first_names=name,
        channels=[{"kind": "phone", "value": phone}],
    )


def _message(ident: str, customer: str, minute: int) -> str:
    return _line(
        type="interaction",
        id=ident,
        at=_at(minute),
        channel="whatsapp",
        direction="inbound",
        line="wa",
        customer=customer,
        text=f"hola {ident}",
    )


# The file of the example: a line naming "ticket": 3 must reach the third
# ticket opened, whatever was interrupted before it.
FILE = [
    CAMPAIGN,
    LINE,
    _contact("Ana", "987 000 001"),
    _message("m1", "987000001", 1),
    _message("m2", "987000002", 2),  # line 5: opens ticket 2
    _contact("Beto", "987 000 003"),  # line 6: takes code C-000002
    _line(type="comment", ticket=2, agent="ana", at=_at(3), text="llamar luego"),  # line 7
    _message("m3", "987000003", 4),  # opens ticket 3, linked to C-000002
    _line(type="cancel", ticket=3, agent="sup1", at=_at(5)),
    _line(type="resolve", ticket=2, agent="ana", at=_at(6)),
    _line(type="comment", ticket=1, agent="ana", at=_at(7), text="cliente molesto"),
    _message("m4", "987000004", 8),
    _line(type="resolve", ticket=4, agent="ana", at=_at(9)),
]


def steps_of_line(engine: str, lines: Sequence[str], number: int) -> dict[int, str]:
    """The interrupt steps that fall while line ``number`` is applied in a clean replay."""
    marks: dict[int, int] = {}
    with new_store(engine) as store:
        counted = InterruptedStore(store, None)
        replay(
            counted,
            lines,
            keep_going=True,
            progress=lambda n: marks.setdefault(n, len(counted.steps)),
        )
    return {at: counted.steps[at - 1] for at in range(marks[number - 1] + 1, marks[number] + 1)}


def _check_every_step_of(engine: str, number: int) -> None:
    clean, clean_summary, _ = clean_replay(engine, FILE)
    assert clean_summary.bad_lines == ()
    steps = steps_of_line(engine, FILE, number)
    assert len(steps) >= 6, steps  # reads, the write(s) and their events, at the least
    for at, step in steps.items():
        with new_store(engine) as store:
            summary, stopped = resumed_replay(store, FILE, [at])
            assert stopped == 1, step
            assert held(store) == clean, f"interrupted at {step} (step {at}) of line {number}"
            assert summary.bad_lines == (), step


@pytest.mark.parametrize("engine", ENGINES)
def test_T5_interrupt_at_every_step_of_opening_a_ticket_then_resume_numbers_as_a_clean_replay(
    engine: str,
) -> None:
    """Issue 14: ``cancel ticket 3`` cancels the ticket a clean replay cancels."""
    assert "get_or_open_ticket:calls back" in steps_of_line(engine, FILE, 5).values()
    _check_every_step_of(engine, 5)


@pytest.mark.parametrize("engine", ENGINES)
def test_K2_T5_interrupt_at_every_step_of_creating_a_contact_then_resume_codes_as_a_clean_replay(
    engine: str,
) -> None:
    _check_every_step_of(engine, 6)


@pytest.mark.parametrize("engine", ENGINES)
def test_I2_T5_interrupt_at_every_step_of_a_comment_then_resume_seqs_as_a_clean_replay(
    engine: str,
) -> None:
    _check_every_step_of(engine, 7)


# -- property: any interrupt points in a generated file ------------------------------------------

_PHONES = [f"98700{n:04d}" for n in range(1, 6)]


@st.composite
def event_files(draw: st.DrawFn) -> list[str]:
    """A valid event file: messages opening and joining tickets, contacts with generated
    codes, comments and closings naming tickets by number (only tickets open then)."""
    lines = [CAMPAIGN, LINE]
    opened = 0
    open_by_phone: dict[str, int] = {}
    for minute in range(1, draw(st.integers(3, 16)) + 1):
        at = f"2026-11-20T{10 + minute // 60:02d}:{minute % 60:02d}:00-05:00"
        action = draw(st.sampled_from(["message", "message", "contact", "comment", "close"]))
        if action in ("comment", "close") and not open_by_phone:
            action = "message"
        if action == "message":
            phone = draw(st.sampled_from(_PHONES))
            if phone not in open_by_phone:
                opened += 1
                open_by_phone[phone] = opened
            lines.append(
                _line(
                    type="interaction",
                    id=f"m{len(lines)}",
                    at=at,
                    channel="whatsapp",
                    direction="inbound",
                    line="wa",
                    customer=phone,
                    text="hola",
                )
            )
        elif action == "contact":
            lines.append(_contact(f"Cliente {len(lines)}", draw(st.sampled_from(_PHONES))))
        else:
            phone = draw(st.sampled_from(sorted(open_by_phone)))
            number = open_by_phone[phone]
            if action == "comment":
                lines.append(
                    _line(type="comment", ticket=number, agent="ana", at=at, text=f"c{len(lines)}")
                )
            else:
                kind = draw(st.sampled_from(["resolve", "cancel"]))
                lines.append(_line(type=kind, ticket=number, agent="ana", at=at))
                del open_by_phone[phone]
    return lines


@pytest.mark.parametrize("engine", ENGINES)
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.differing_executors],
)
@given(lines=event_files(), points=st.lists(st.floats(0, 1), min_size=1, max_size=3))
def test_T5_K2_I2_resumed_replay_after_random_interrupts_equals_a_clean_replay(
    engine: str, lines: list[str], points: list[float]
) -> None:
    """Interrupted at 1-3 steps anywhere in the replay (a fraction of its steps), resumed."""
    clean, clean_summary, steps = clean_replay(engine, lines)
    assert clean_summary.bad_lines == ()
    with new_store(engine) as store:
        summary, _ = resumed_replay(store, lines, [1 + int(p * (steps - 1)) for p in points])
        assert summary.bad_lines == ()
        assert held(store) == clean


# -- a killed process -----------------------------------------------------------------------------


def replay_until_paused(path: str, lines: list[str], at: int, paused: Any) -> None:
    """The child: replay in batches of two lines, and wait to be killed at step ``at``."""

    def pause() -> None:
        paused.set()
        time.sleep(120)

    replay(InterruptedStore(SqliteStore(path), at, pause), lines, keep_going=True, batch=2)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_T5_E2_replay_killed_while_opening_a_ticket_resumes_as_a_clean_replay(
    tmp_path: Path,
) -> None:
    """SIGKILL with ticket 2's number taken and its transaction open: nothing of it stays."""
    clean, _, _ = clean_replay("sqlite", FILE)
    steps = steps_of_line("sqlite", FILE, 5)
    (at,) = [n for n, step in steps.items() if step == "get_or_open_ticket:calls back"]
    path = tmp_path / "killed.db"
    context = multiprocessing.get_context("spawn")
    paused = context.Event()
    child = context.Process(target=replay_until_paused, args=(str(path), FILE, at, paused))
    child.start()
    try:
        assert paused.wait(timeout=120), "the replay did not reach the step"
    finally:
        assert child.pid is not None
        os.kill(child.pid, signal.SIGKILL)
        child.join(timeout=30)
    assert child.exitcode == -signal.SIGKILL
    store = SqliteStore(path)
    try:
        with store.unit_of_work() as uow:  # the batches before line 5's stayed
            assert [t.number for t in uow.list_tickets()] == [1]
        summary = replay(store, FILE, keep_going=True)
        assert summary.bad_lines == ()
        assert held(store) == clean
    finally:
        store.close()
