"""A floor for bench/route.py: the least plain Python a routed operation needs.

Runs the same workload (bench/workload.py) with the library's phone normalization
(cold cache, as routing pays it) and, for the rest, plain slotted classes mutated in
place: a dictionary of open tickets by (campaign, customer), one of external ids, a
list of interactions per ticket and one event log. It keeps none of the library's
rules beyond those (no T6 choice by the customer's tickets, no T10, no blocks, no
contact links, no unit of work, no input checks, nothing immutable), so it is not a
prototype with the same outcomes: it is what Python costs before any of them.

    python bench/route_floor.py [--n 200000] [--customers 20000] [--repeat 3]

Prints µs per operation and the ratio floor / bare parsing (CPU time), with the cyclic
collector on and off.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import time
from typing import Any

from route import bare_parse
from workload import Workload, make_workload

from ccdomain import phones


class _Ticket:
    __slots__ = ("campaign", "closed_at", "customer", "interactions", "last_at", "number")

    def __init__(self, number: int, campaign: str, customer: str, at: dt.datetime) -> None:
        self.number = number
        self.campaign = campaign
        self.customer = customer
        self.last_at = at
        self.interactions = 0
        self.closed_at: dt.datetime | None = None


class _Interaction:
    __slots__ = ("agent", "at", "channel", "customer", "external_id", "text", "ticket")

    def __init__(self, fields: dict[str, Any], customer: str, ticket: int) -> None:
        self.at = fields["at"]
        self.channel = fields["channel"]
        self.customer = customer
        self.external_id = fields.get("external_id")
        self.agent = fields.get("agent")
        self.text = fields.get("text")
        self.ticket = ticket


class _Event:
    __slots__ = ("kind", "payload", "seq")

    def __init__(self, seq: int, kind: str, payload: object) -> None:
        self.seq = seq
        self.kind = kind
        self.payload = payload


def floor_once(work: Workload) -> tuple[float, dict[str, int]]:
    """CPU seconds to apply the workload with plain Python, and the outcome counts."""
    line_campaign = {line.id: line.campaign for line in work.lines}
    normalize = phones.normalize_phone
    phones._normalize.cache_clear()
    tickets: dict[int, _Ticket] = {}
    open_: dict[tuple[str, str], _Ticket] = {}
    by_id: dict[str, _Interaction] = {}
    interactions: dict[int, list[_Interaction]] = {}
    events: list[_Event] = []
    counts: dict[str, int] = {}
    cpu = time.process_time()
    for op in work.ops:
        fields = op.fields
        if op.kind != "route":
            customer = normalize(fields["customer"], "PE")
            ticket = open_.pop((fields["campaign"], customer))
            ticket.closed_at = fields["at"]
            events.append(_Event(len(events) + 1, op.kind, ticket.number))
            key = "resolved" if op.kind == "resolve" else "typified"
            counts[key] = counts.get(key, 0) + 1
            continue
        external_id = fields["external_id"]
        if external_id is not None and external_id in by_id:
            counts["duplicate"] = counts.get("duplicate", 0) + 1
            continue
        campaign = fields.get("campaign") or line_campaign[fields["line"]]
        customer = normalize(fields["customer"], "PE")
        ticket = open_.get((campaign, customer))
        if ticket is None:
            ticket = _Ticket(len(tickets) + 1, campaign, customer, fields["at"])
            tickets[ticket.number] = open_[(campaign, customer)] = ticket
            interactions[ticket.number] = []
            events.append(_Event(len(events) + 1, "ticket_opened", ticket))
            key = "opened"
        else:
            key = "joined"
        interaction = _Interaction(fields, customer, ticket.number)
        interactions[ticket.number].append(interaction)
        if external_id is not None:
            by_id[external_id] = interaction
        ticket.interactions += 1
        if fields["at"] > ticket.last_at:
            ticket.last_at = fields["at"]
        events.append(_Event(len(events) + 1, "interaction_added", interaction))
        counts[key] = counts.get(key, 0) + 1
    return time.process_time() - cpu, counts


def main(argv: list[str] | None = None) -> int:
    """Run the floor and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    work = make_workload(args.n, args.customers, 5, 3, args.seed)
    parse: list[float] = []
    runs: dict[str, list[float]] = {"on": [], "off": []}
    counts: dict[str, int] = {}
    for _ in range(max(args.repeat, 1)):
        parse.append(bare_parse(work.raw_customers)[0])
        for mode in runs:
            gc.collect()
            if mode == "off":
                gc.disable()
            try:
                cpu, counts = floor_once(work)
            finally:
                gc.enable()
            runs[mode].append(cpu)
    print(f"outcomes: {dict(sorted(counts.items()))}")
    base = min(parse)
    print(f"bare parsing: cpu {base:.2f} s, {base / work.interactions * 1e6:.1f} us/number")
    for mode, cpus in runs.items():
        cpu = min(cpus)
        print(
            f"floor gc {mode:<3}: cpu {cpu:.2f} s, {cpu / len(work.ops) * 1e6:.1f} us/operation, "
            f"ratio floor / bare parsing {cpu / base:.2f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
