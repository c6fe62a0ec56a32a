"""Generate a large synthetic event log for ``ccdomain replay`` (docs/events.md format).

Run: ``python bench/make_events.py 100000 --seed 7 > events.jsonl``

The log is deterministic for a given N and seed: three Peruvian campaigns (sales, support,
collections), their lines, contacts with DNI codes, then about five days of WhatsApp
messages and calls from customers typing their numbers every usual way, with resolves and
typifications closing tickets, a few redelivered webhooks (duplicates), and products,
payments and promises in the collections campaign. Every line is a valid event.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sys
from collections.abc import Iterator
from typing import Any

LIMA = dt.timezone(dt.timedelta(hours=-5))
START = dt.datetime(2026, 11, 16, 8, 0, tzinfo=LIMA)
CAMPAIGNS = ("ventas", "soporte", "cobranzas")
LINES = {
    "wa-ventas": ("whatsapp", "+51 1 7001111", "ventas"),
    "tel-ventas": ("call", "+51 1 7001112", "ventas"),
    "wa-soporte": ("whatsapp", "+51 1 7002221", "soporte"),
    "tel-soporte": ("call", "+51 1 7002222", "soporte"),
    "tel-cobranzas": ("call", "+51 1 7003333", "cobranzas"),
}
TREES = {
    "ventas": [
        ["Contactado", "Venta", "Contado"],
        ["Contactado", "Sin interés"],
        ["No contactado"],
    ],
    "soporte": [["Atendido", "Resuelto"], ["Atendido", "Derivado"], ["No atendido"]],
    "cobranzas": [["Contactado", "Promesa de pago"], ["Contactado", "Se niega"], ["No contactado"]],
}
FIRST = ("José", "María", "Luis", "Rosa", "Carlos", "Ana", "Jorge", "Carmen", "Pedro", "Lucía")
LAST = ("Quispe", "Huamán", "Flores", "Mamani", "Rojas", "Chávez", "Vargas", "Torres", "Díaz")
TEXTS = ("Hola", "¿Precio?", "Buenas tardes", "Quiero información", "Gracias", "Ok", "¿Hay stock?")


def typed(nsn: str, rng: random.Random) -> str:
    """A Peruvian mobile number (9 digits) written the way people type it."""
    roll = rng.randrange(7)
    if roll == 0:
        return nsn
    if roll == 1:
        return f"{nsn[:3]} {nsn[3:6]} {nsn[6:]}"
    if roll == 2:
        return f"+51 {nsn[:3]} {nsn[3:6]} {nsn[6:]}"
    if roll == 3:
        return f"51{nsn}"
    if roll == 4:
        return f"0051-{nsn[:3]}-{nsn[3:6]}-{nsn[6:]}"
    if roll == 5:
        return f"+51{nsn}"
    return f"{nsn[:3]}.{nsn[3:6]}.{nsn[6:]}"


def events(n: int, seed: int) -> Iterator[dict[str, Any]]:
    """Yield ``n`` events (fewer only when ``n`` is below the fixed declarations)."""
    rng = random.Random(seed)
    emitted = 0

    def out(event: dict[str, Any]) -> dict[str, Any]:
        nonlocal emitted
        emitted += 1
        return event

    for cid in CAMPAIGNS:
        event: dict[str, Any] = {
            "type": "campaign",
            "id": cid,
            "name": cid.capitalize(),
            "region": "PE",
            "timezone": "America/Lima",
            "kind": {"ventas": "sales", "soporte": "support"}.get(cid, "collections"),
            "typifications": TREES[cid],
        }
        if cid == "cobranzas":
            event |= {"grace_days": 1, "horizon_days": 30, "tolerance": "0.00"}
            # The traffic runs around the clock, several calls a day: lift the collections
            # defaults of W4 and W5 so that every line of the file replays.
            event |= {"contact_hours": "always", "max_daily_attempts": 0}
        yield out(event)
    for lid, (channel, address, campaign) in LINES.items():
        yield out(
            {
                "type": "line",
                "id": lid,
                "channel": channel,
                "address": address,
                "alias": lid,
                "campaign": campaign,
                "queue": campaign,
            }
        )

    customers = max(50, n // 8)
    phones = [f"9{n_:08d}" for n_ in rng.sample(range(10_000_000, 99_999_999), customers)]
    # One contact for every second customer, in one campaign; collections debtors get a product.
    debtors: list[tuple[str, str, str]] = []  # (phone, contact code, product id)
    contact_count = min(customers // 2, max(10, n // 20))
    for i in range(contact_count):
        campaign = CAMPAIGNS[i % 3]
        code = f"{40_000_000 + i:08d}"
        yield out(
            {
                "type": "contact",
                "campaign": campaign,
                "first_names": rng.choice(FIRST),
                "last_names": f"{rng.choice(LAST)} {rng.choice(LAST)}",
                "document": {"type": "DNI", "number": code},
                "vip": rng.random() < 0.05,
                "channels": [{"kind": "phone", "value": typed(phones[i], rng)}],
            }
        )
        if campaign == "cobranzas":
            product = f"L-{i}"
            debt = rng.randrange(500, 5000)
            yield out(
                {
                    "type": "product",
                    "id": product,
                    "campaign": "cobranzas",
                    "contact": code,
                    "kind": "loan",
                    "currency": "PEN",
                    "debt": f"{debt}.00",
                    "due": "2026-10-15",
                }
            )
            debtors.append((phones[i], code, product))

    now = START
    # The latest time written so far: a promise has no time of its own, so replay gives it
    # this one (R3), and its made_on must not be after that day (C4). ``now`` has already
    # moved on when a promise is drawn, past midnight at times.
    latest = START
    seen: list[dict[str, Any]] = []
    open_: dict[tuple[str, str], bool] = {}
    promised: set[str] = set()
    serial = 0
    lines_by_campaign = {c: [lid for lid, v in LINES.items() if v[2] == c] for c in CAMPAIGNS}
    while emitted < n:
        now += dt.timedelta(seconds=rng.randrange(1, 8))
        at = now.isoformat()
        roll = rng.random()
        if roll < 0.02 and seen:  # a webhook delivered twice
            yield out(dict(rng.choice(seen[-50:])))
            continue
        phone = rng.choice(phones)
        campaign = rng.choice(CAMPAIGNS)
        if roll < 0.14 and open_.get((campaign, phone)):
            closing: dict[str, Any] = {
                "campaign": campaign,
                "customer": typed(phone, rng),
                "agent": f"agente{rng.randrange(20)}",
                "at": at,
            }
            if rng.random() < 0.5:
                closing = {"type": "resolve", **closing}
            else:
                path = rng.choice(TREES[campaign])
                closing = {"type": "typify", **closing, "path": path, "comment": ""}
            open_[(campaign, phone)] = False
            latest = now
            yield out(closing)
            continue
        if roll < 0.18 and debtors:
            debtor_phone, _, product = rng.choice(debtors)
            if product not in promised and open_.get(("cobranzas", debtor_phone)):
                promised.add(product)
                day = latest.date()
                yield out(
                    {
                        "type": "promise",
                        "id": f"PR-{product}",
                        "product": product,
                        "agent": "rosa",
                        "made_on": day.isoformat(),
                        "campaign": "cobranzas",
                        "customer": typed(debtor_phone, rng),
                        "installments": [
                            {"amount": "100.00", "date": (day + dt.timedelta(days=3)).isoformat()}
                        ],
                    }
                )
                if emitted < n and rng.random() < 0.6:
                    pay_day = day + dt.timedelta(days=rng.randrange(0, 6))
                    yield out(
                        {
                            "type": "payment",
                            "id": f"PAY-{product}",
                            "product": product,
                            "amount": "100.00",
                            "date": pay_day.isoformat(),
                            "status": "made",
                        }
                    )
                continue
        serial += 1
        line = rng.choice(lines_by_campaign[campaign])
        channel = LINES[line][0]
        interaction: dict[str, Any] = {
            "type": "interaction",
            "id": f"{'wamid' if channel == 'whatsapp' else 'call'}.{serial}",
            "at": at,
            "channel": channel,
            "direction": "inbound" if rng.random() < 0.8 else "outbound",
            "line": line,
            "customer": typed(phone, rng),
        }
        if interaction["direction"] == "outbound":
            interaction |= {"campaign": campaign, "agent": f"agente{rng.randrange(20)}"}
        if channel == "whatsapp":
            interaction["text"] = rng.choice(TEXTS)
            if interaction["direction"] == "outbound":
                interaction["template"] = "seguimiento"  # W1: outside a window, a template
        else:
            interaction |= {"status": "answered", "duration_s": rng.randrange(5, 600)}
        # An inbound message may land in another campaign holding an open ticket (T6); the
        # generator only tracks its own campaign, which is good enough to close tickets.
        open_[(campaign, phone)] = True
        latest = now
        seen.append(interaction)
        yield out(interaction)


def main(argv: list[str] | None = None) -> int:
    """Write N events as JSON lines on stdout."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("n", type=int, help="number of events to write")
    parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    args = parser.parse_args(argv)
    write = sys.stdout.write
    for event in events(args.n, args.seed):
        write(json.dumps(event, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
