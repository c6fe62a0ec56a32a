"""The README's API tour runs as written (docs stay honest)."""

from __future__ import annotations

import re
from pathlib import Path

from ccdomain.listings import ticket_rows

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_tour_runs() -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert blocks, "the README has a python tour"
    namespace: dict[str, object] = {}
    exec(compile(blocks[0], str(README), "exec"), namespace)
    result = namespace["r"]
    assert result.ticket.contact == "12345678"  # type: ignore[attr-defined]


def test_the_readme_tour_is_one_flow_end_to_end_in_under_60_lines() -> None:
    # A WhatsApp conversation, a typification, a product, a payment, a promise and its status.
    (tour, *_) = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert len(tour.splitlines()) < 60
    namespace: dict[str, object] = {}
    exec(compile(tour, str(README), "exec"), namespace)
    ticket = namespace["r"].ticket  # type: ignore[attr-defined]
    assert (ticket.number, ticket.contact, ticket.interactions) == (1, "12345678", 2)
    (row,) = ticket_rows(namespace["store"])  # type: ignore[arg-type]
    assert (row["number"], row["status"], row["interactions"]) == (1, "typified", 2)
    for call in ("declare_product(", "record_payment(", "register_promise(", "typify_ticket("):
        assert call in tour
    assert namespace["standing"] == {
        "2026-11-25": ("600.00 PEN", "pending"),
        "2026-12-10": ("600.00 PEN", "broken"),
    }
    # What the tour's comments say is what it computed.
    assert "(1, '12345678', 2)" in tour
    assert "('600.00 PEN', 'pending')" in tour and "('600.00 PEN', 'broken')" in tour
