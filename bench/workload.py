"""A reproducible routing workload, shared by the routing and store benchmarks.

``make_workload`` builds campaigns, lines and a list of operations (route an
interaction, resolve or typify a ticket) from a seed; ``load_workload`` declares
the campaigns and lines in a store and ``run_workload`` applies the operations
through the library's services, so any store (memory, SQLite, a host's) runs the
same work::

    from workload import make_workload, load_workload, run_workload
    work = make_workload(200_000, customers=20_000, campaigns=5, lines=3, seed=7)
    load_workload(store, work)
    outcomes = run_workload(store, work)
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import attrs

from ccdomain.models import Campaign, Channel, Line
from ccdomain.ports import Store
from ccdomain.tickets import resolve_ticket, route_interaction, typify_ticket

__all__ = ["Op", "Workload", "load_workload", "make_workload", "run_workload"]

TREE = (
    ("Contactado", "Venta", "Contado"),
    ("Contactado", "Venta", "Crédito"),
    ("Contactado", "No interesado"),
    ("No contactado", "Buzón"),
)
START = dt.datetime(2026, 11, 1, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5)))


@attrs.frozen
class Op:
    """One operation: ``kind`` is "route", "resolve" or "typify"; ``fields`` its arguments."""

    kind: str
    fields: dict[str, Any]


@attrs.frozen
class Workload:
    """Campaigns and lines to declare, the operations, and the raw customer of each route."""

    campaigns: tuple[Campaign, ...]
    lines: tuple[Line, ...]
    ops: tuple[Op, ...]
    raw_customers: tuple[str, ...]

    @property
    def interactions(self) -> int:
        """How many route operations the workload holds."""
        return len(self.raw_customers)


def _national_numbers(count: int, rnd: random.Random) -> list[str]:
    """``count`` distinct Peruvian mobile national numbers (9 digits, leading 9)."""
    numbers: set[str] = set()
    while len(numbers) < count:
        numbers.add(f"9{rnd.randrange(10**8):08d}")
    return sorted(numbers)


def make_workload(
    n: int = 200_000,
    customers: int = 20_000,
    campaigns: int = 5,
    lines: int = 3,
    seed: int = 7,
    *,
    close_rate: float = 0.05,
    late_rate: float = 0.01,
    duplicate_rate: float = 0.01,
) -> Workload:
    """A workload of ``n`` operations over ``customers`` customers.

    Half the interactions are inbound on a random line (WhatsApp lines, one call
    line), half outbound for a random campaign on a random channel. Each customer
    is typed two ways (the provider's ``51987654321`` and an agent's
    ``987 654 321``). About ``close_rate`` of the operations resolve or typify a
    ticket known to be open; ``late_rate`` of the interactions are delivered up
    to an hour late; ``duplicate_rate`` repeat an earlier external id.
    """
    rnd = random.Random(seed)
    campaign_ids = [f"camp{c}" for c in range(campaigns)]
    camps = tuple(
        Campaign(id=cid, name=cid.title(), region="PE", typifications=TREE) for cid in campaign_ids
    )
    line_objs = tuple(
        Line(
            id=f"line{k}",
            channel=Channel.CALL if k == lines - 1 and lines > 1 else Channel.WHATSAPP,
            address=f"+5117001{k:03d}",
            alias=f"Línea {k}",
            campaign=campaign_ids[k % campaigns],
            queue=f"queue{k}",
        )
        for k in range(lines)
    )
    nationals = _national_numbers(customers, rnd)
    provider_form = [f"51{nsn}" for nsn in nationals]
    agent_form = [f"{nsn[:3]} {nsn[3:6]} {nsn[6:]}" for nsn in nationals]
    ops: list[Op] = []
    raws: list[str] = []
    open_keys: list[tuple[str, int]] = []
    open_set: set[tuple[str, int]] = set()
    used_ids: list[str] = []
    out_channels = (Channel.WHATSAPP, Channel.CALL, Channel.SMS)
    for i in range(n):
        at = START + dt.timedelta(seconds=i)
        if open_keys and rnd.random() < close_rate:
            k = rnd.randrange(len(open_keys))
            key = open_keys[k]
            open_keys[k] = open_keys[-1]
            open_keys.pop()
            open_set.discard(key)
            fields: dict[str, Any] = {
                "campaign": key[0],
                "customer": agent_form[key[1]],
                "agent": f"agent{rnd.randrange(50)}",
                "at": at,
            }
            if rnd.random() < 0.5:
                ops.append(Op("resolve", fields))
            else:
                fields["path"] = rnd.choice(TREE)
                ops.append(Op("typify", fields))
            continue
        c = rnd.randrange(customers)
        late = rnd.random() < late_rate
        if late:
            at -= dt.timedelta(seconds=rnd.randrange(1, 3600))
        roll = rnd.random()
        duplicate = bool(used_ids) and roll < duplicate_rate
        if duplicate:
            external_id: str | None = rnd.choice(used_ids)
        elif roll < 0.9:
            external_id = f"x{i}"
            used_ids.append(external_id)
        else:
            external_id = None
        if rnd.random() < 0.5:
            line = rnd.choice(line_objs)
            raw = provider_form[c]
            fields = {
                "at": at,
                "channel": line.channel,
                "direction": "inbound",
                "customer": raw,
                "line": line.id,
                "external_id": external_id,
            }
            if line.channel is Channel.CALL:
                fields.update(status="answered", duration_s=rnd.randrange(5, 600))
            else:
                fields["text"] = f"mensaje {i}"
        else:
            campaign = rnd.choice(campaign_ids)
            channel = rnd.choice(out_channels)
            raw = agent_form[c]
            fields = {
                "at": at,
                "channel": channel,
                "direction": "outbound",
                "customer": raw,
                "campaign": campaign,
                "line": rnd.choice([None, *[ln.id for ln in line_objs]]),
                "external_id": external_id,
                "agent": f"agent{rnd.randrange(50)}",
            }
            if channel is Channel.CALL:
                fields.update(status="answered", duration_s=rnd.randrange(5, 600))
            else:
                fields["text"] = f"respuesta {i}"
                if channel is Channel.WHATSAPP:
                    # W1: an agent's WhatsApp message outside a window is a template; the
                    # random stream cannot know the windows, so every one is.
                    fields["template"] = "aviso"
            key = (campaign, c)
            if not late and not duplicate and key not in open_set:
                open_set.add(key)
                open_keys.append(key)
        ops.append(Op("route", fields))
        raws.append(raw)
    return Workload(camps, line_objs, tuple(ops), tuple(raws))


def load_workload(store: Store, workload: Workload) -> None:
    """Declare the workload's campaigns and lines in ``store``."""
    with store.unit_of_work() as uow:
        for campaign in workload.campaigns:
            uow.put_campaign(campaign)
        for line in workload.lines:
            uow.put_line(line)
        uow.commit()


def run_workload(store: Store, workload: Workload) -> dict[str, int]:
    """Apply every operation through the services; count the outcomes."""
    # Counted by the outcome itself (a StrEnum: equal to its value) and spelled out at the
    # end, so the loop adds as little as it can to the time of the services it measures.
    counts: dict[str, int] = {}
    get = counts.get
    for op in workload.ops:
        kind = op.kind
        if kind == "route":
            key: str = route_interaction(store, **op.fields).outcome
        elif kind == "resolve":
            resolve_ticket(store, **op.fields)
            key = "resolved"
        else:
            typify_ticket(store, **op.fields)
            key = "typified"
        counts[key] = get(key, 0) + 1
    return {str(key): count for key, count in counts.items()}
