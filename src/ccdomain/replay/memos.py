"""What one replay remembers from line to line, so that no R4 check scans the store (R4, I3, I4).

Part of :mod:`ccdomain.replay`. Each memory answers one already-applied question
(R4) that otherwise read more of the store at every line, making some files
quadratic (docs/performance.md): the contacts by channel and name and the merge
targets (:class:`ContactKeys`), the id-less interactions of each customer
(:class:`Redeliveries`), the refusals recorded (:class:`Refusals`, I3), and the
anonymized contacts and the events about them (:class:`Anonymized`, I4). An
anonymization rewrites what they hold, so they forget it (I4).
:func:`ccdomain.replay.apply_event` alone has no memory and reads the store instead.

Memory (issue 15): :class:`Redeliveries` keeps at most :data:`REDELIVERY_CUSTOMERS`
customers and then starts again from the store; :class:`ContactKeys` holds a few keys
per contact of the store (read only by contact lines that carry neither document nor
phone, and by merges), :class:`Refusals` one key per recorded refusal and
:class:`Anonymized` what anonymized contacts left: each grows with those records, not
with the file's messages, and a file of messages and documented contacts (such as
bench/make_events.py's) leaves all three empty.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

from ccdomain import matching
from ccdomain.events import ContactCreated, ContactsMerged, Event, EventKind, personal_values
from ccdomain.models import Contact, Interaction, Ticket
from ccdomain.ports import UnitOfWork
from ccdomain.rules.identities import is_anonymous_address

__all__ = [
    "INTERACTION_FIELDS",
    "REDELIVERY_CUSTOMERS",
    "Anonymized",
    "ContactKeys",
    "Memos",
    "Redeliveries",
    "Refusals",
    "anonymized_trail",
    "interaction_key",
]


class ContactKeys:
    """The contacts of a replayed store by channel and by name, and the merge targets (R4).

    Without it, a contact event with neither document nor phone compared the new
    contact with every contact of its campaign, and one whose phone a documented
    contact holds listed every contact of the campaign for tombstones: quadratic in a
    contact file of e-mail addresses (1,000 such contacts took 10 s, 4,000 took 157 s).
    Built from the store on first use, then kept up from the event log: every change
    to a contact records an event naming it (T11), and that contact is read again.
    Entries are only added, so the index may name contacts that changed since; every
    one it gives is read from the store again, and the caller checks it in full.
    """

    def __init__(self) -> None:
        self.codes: dict[tuple[str, ...], set[str]] = {}
        self.tombstones: dict[tuple[str, str], set[str]] = {}
        self.created: dict[tuple[str, str], str] = {}  # (campaign, fingerprint) -> code
        self.seen: int | None = None  # the last event read; None: not built yet

    def _add(self, contact: Contact) -> None:
        campaign = contact.campaign
        keys = [(campaign, *matching.channel_key(channel)) for channel in contact.channels]
        if contact.first_names:
            keys.append((campaign, "first_names", contact.first_names))
        if contact.last_names:
            keys.append((campaign, "last_names", contact.last_names))
        for key in keys:
            self.codes.setdefault(key, set()).add(contact.code)
        if contact.merged_into is not None:
            target = (campaign, contact.merged_into)
            self.tombstones.setdefault(target, set()).add(contact.code)

    def catch_up(self, uow: UnitOfWork) -> bool:
        """Read the contacts that changed since the last call; False if the log has no seq."""
        if self.seen is None:
            last = 0
            for event in uow.events():
                if event.seq is None:  # pragma: no cover - a host store that numbers no event
                    return False
                self._note_creation(event)
                last = event.seq
            for contact in uow.list_contacts():
                self._add(contact)
            self.seen = last
            return True
        for event in uow.events(self.seen):
            if event.seq is None:  # pragma: no cover - a host store that numbers no event
                return False
            self._note_creation(event)
            if event.campaign is not None:
                # A merge names the contact kept; the tombstone is its "from".
                payload = event.payload
                named = (
                    (event.contact, payload.merged_from)
                    if type(payload) is ContactsMerged
                    else (event.contact,)
                )
                for code in named:
                    changed = uow.get_contact(event.campaign, code) if code else None
                    if changed is not None:
                        self._add(changed)
            self.seen = event.seq
        return True

    def _note_creation(self, event: Event) -> None:
        payload = event.payload
        if type(payload) is ContactCreated and payload.fingerprint and event.contact:
            self.created[(event.campaign or "", payload.fingerprint)] = event.contact

    def created_with(self, uow: UnitOfWork, campaign: str, fingerprint: str) -> str | None:
        """The code of the contact created from values of ``fingerprint`` (I11), if any.

        None also when the log has no seq: the caller then reads the log itself.
        """
        if not self.catch_up(uow):  # pragma: no cover - a host store that numbers no event
            return None
        return self.created.get((campaign, fingerprint))

    def holding(self, uow: UnitOfWork, new: Contact) -> list[Contact] | None:
        """The contacts of ``new``'s campaign that may hold it, by code; None: list them all.

        A contact holds ``new`` only if it has ``new``'s first channel, else its first
        names, else its last names (:mod:`ccdomain.replay.contacts` compares them
        so): those are the keys.
        """
        if new.channels:
            key: tuple[str, ...] = (new.campaign, *matching.channel_key(new.channels[0]))
        elif new.first_names:
            key = (new.campaign, "first_names", new.first_names)
        elif new.last_names:
            key = (new.campaign, "last_names", new.last_names)
        else:
            return None
        if not self.catch_up(uow):
            return None
        found = (uow.get_contact(new.campaign, code) for code in sorted(self.codes.get(key, ())))
        return [contact for contact in found if contact is not None]

    def is_merge_target(self, uow: UnitOfWork, campaign: str, code: str) -> bool:
        """Whether a tombstone of ``campaign`` points to ``code`` (M5), after :meth:`catch_up`."""
        for tomb_code in self.tombstones.get((campaign, code), ()):
            tomb = uow.get_contact(campaign, tomb_code)
            if tomb is not None and tomb.merged_into == code:
                return True
        return False


REDELIVERY_CUSTOMERS: Final = 20_000
"""How many customers' id-less interactions :class:`Redeliveries` remembers at most."""

INTERACTION_FIELDS: Final = (
    "at",
    "channel",
    "direction",
    "line",
    "agent",
    "text",
    "status",
    "duration_s",
)


def interaction_key(interaction: Interaction) -> tuple[Any, ...]:
    """The fields an id-less interaction is a redelivery by: equal keys, same interaction (R4)."""
    return tuple(getattr(interaction, f) for f in INTERACTION_FIELDS)


class Redeliveries:
    """The interactions of each customer a replay has looked at, for R4 without an id.

    An interaction without an external id is a redelivery when one with the same
    fields is on a ticket of the customer. Comparing it with every interaction of
    the customer's tickets made a customer's n id-less messages cost n^2/2
    comparisons (1,000 took 5.8 s on SQLite, 3,000 took 48 s). A customer's tickets
    are read once, the first time one of their interactions has no id; after that
    the interactions this replay records are added, once the line that recorded
    them is kept (a line undone leaves nothing behind).
    """

    def __init__(self) -> None:
        self.customers: dict[str, dict[tuple[Any, ...], int]] = {}
        self.pending: list[tuple[Interaction, int]] = []

    def forget(self) -> None:
        """Read the customers' tickets again (anonymization rewrote interactions)."""
        self.customers.clear()
        self.pending.clear()

    def ticket_holding(self, uow: UnitOfWork, probe: Interaction) -> int | None:
        """The first ticket of ``probe``'s customer holding an identical interaction."""
        keys = self.customers.get(probe.customer)
        if keys is None:
            keys = self.customers[probe.customer] = {}
            for ticket in uow.tickets_for_customer(probe.customer):
                for interaction in uow.interactions(ticket.number):
                    keys.setdefault(interaction_key(interaction), ticket.number)
        return keys.get(interaction_key(probe))

    def recorded(self, interaction: Interaction, ticket: int) -> None:
        """Note an interaction the current line recorded on ``ticket``.

        Only for a customer already read: another is read whole when first needed.
        """
        if interaction.customer in self.customers:
            self.pending.append((interaction, ticket))

    def settle(self, kept: bool) -> None:
        """The current line is over: keep what it recorded, or drop it if it was undone.

        Past :data:`REDELIVERY_CUSTOMERS` customers remembered, all are forgotten: the
        next id-less interaction of each reads its customer's tickets again (R4 as
        before, a few reads more), and memory stays bounded in a long file.
        """
        if kept:
            for interaction, ticket in self.pending:
                keys = self.customers[interaction.customer]
                key = interaction_key(interaction)
                keys[key] = min(keys.get(key, ticket), ticket)  # tickets come by number
        self.pending.clear()
        if len(self.customers) > REDELIVERY_CUSTOMERS:
            self.customers.clear()


def _refusal_key(event: Event) -> tuple[Any, ...]:
    return (event.at, event.campaign, event.actor, event.payload)


class Refusals:
    """The refusals a replay has seen in the event log, read once (I3, R4).

    Without it every refused interaction read the whole log to tell whether the same
    refusal was recorded before: quadratic in a log with many messages from a blocked
    number. Events are read from the last one seen; the one a line undoes (a refusal
    already recorded) is forgotten, so its number, given again, is read again.
    """

    def __init__(self) -> None:
        self.keys: set[tuple[Any, ...]] = set()
        self.seen = 0

    def forget(self) -> None:
        """Read the whole log again at the next refusal (events were rewritten)."""
        self.keys.clear()
        self.seen = 0

    def recorded_before(self, uow: UnitOfWork) -> bool:
        """Whether the refusal just recorded (the log's last) repeats an earlier one."""
        new = [e for e in uow.events(self.seen) if e.kind is EventKind.INTERACTION_REFUSED]
        if not new and self.seen:  # a host store numbered events otherwise: read them all
            self.forget()
            new = [e for e in uow.events() if e.kind is EventKind.INTERACTION_REFUSED]
        if not new:
            return False
        for event in new[:-1]:
            self.keys.add(_refusal_key(event))
        last = new[-1]
        key = _refusal_key(last)
        if key in self.keys:
            self.seen = (last.seq or 1) - 1
            return True
        self.keys.add(key)
        self.seen = last.seq or 0
        return False


def _anonymized_code(code: str | None) -> bool:
    # Codes are document numbers or C-000001: only anonymization writes ANON- (I11).
    return code is not None and code.startswith("ANON-")


def _about_anonymized(event: Event, tickets: set[int]) -> bool:
    """Whether anonymization rewrote ``event``: it names one of its tickets, codes or addresses."""
    if event.ticket in tickets or _anonymized_code(event.contact):
        return True
    return any(
        is_anonymous_address(value) or _anonymized_code(value)
        for _, value in personal_values(event.payload)
    )


def anonymized_trail(uow: UnitOfWork) -> dict[dt.datetime, list[Event]]:
    """The events about anonymized contacts, tickets and addresses, by time (R4, I4).

    Anonymization keeps every event but rewrites its personal values: a line that
    recorded one can still be told by the rest (type, time, agent, campaign...).
    """
    tickets = {t.number for t in uow.list_tickets() if is_anonymous_address(t.customer)}
    trail: dict[dt.datetime, list[Event]] = {}
    for event in uow.events():
        if _about_anonymized(event, tickets):
            trail.setdefault(event.at, []).append(event)
    return trail


class Anonymized:
    """What a replay knows of the store's anonymized contacts (R4, I4, I11).

    - ``campaigns``: the campaigns holding an anonymized contact, read once (a
      ``contact`` line of another campaign is not looked up by fingerprint);
    - ``lines``: what the ``contact`` lines found anonymized in this replay said, by
      the anonymous code they were found by (in memory only; a merge found so joins
      two of them as it joined the contacts, M5), so a later line repeating part of
      one is found too;
    - ``blocked``, ``merged``, ``linked``: the addresses, merged codes and links whose
      line was found anonymized since in this replay, so a later line repeating it
      (which recorded nothing the first time) is too;
    - ``tickets``: the anonymous tickets an interaction line of this replay was found
      on, by campaign and the address the line names (anonymization replaced it), so
      the closings and links naming that customer find them;
    - ``codes`` and ``claimed``: the codes an ``anonymize`` line of this replay
      anonymized or found anonymized, and the event of each: one event stands for
      one code (two anonymizations at the same time by the same agent are two);
    - :meth:`trail`: :func:`anonymized_trail` as the store held it before this replay
      anonymized anything, for the lines that would otherwise apply (interactions,
      blocks): an event this replay anonymized is not one a later line of the same
      file may be a repeat of, it is another message or block of that address;
    - :meth:`live_trail`: :func:`anonymized_trail` now, for the lines that would
      otherwise be bad lines (a closing, a link or a merge naming what is gone),
      read again after each anonymization of this replay.
    """

    def __init__(self) -> None:
        self.campaigns: set[str] | None = None
        self.merging: set[str] = set()  # campaigns holding a merge tombstone, read with them
        self.lines: dict[tuple[str, str], Contact] = {}  # (campaign, anonymous code)
        self.absorbed: set[tuple[str, str]] = set()  # those lines a merge joined another to
        self.blocked: set[tuple[str, str]] = set()  # (campaign, address) found so
        self.merged: set[tuple[str, str]] = set()  # (campaign, from) found so
        self.linked: dict[tuple[str, str, str], int | None] = {}  # (campaign, customer, code)
        self.codes: set[tuple[str, str]] = set()  # (campaign, code) anonymized or found so
        self.tickets: dict[tuple[str, str], list[int]] = {}  # (campaign, address) -> tickets
        self.claimed: set[str | None] = set()  # the anonymous codes of their events
        self._trail: dict[dt.datetime, list[Event]] | None = None
        self._live: dict[dt.datetime, list[Event]] | None = None

    def _campaigns(self, uow: UnitOfWork) -> set[str]:
        if self.campaigns is None:
            self.campaigns = set()
            for contact in uow.list_contacts():
                if contact.anonymized:
                    self.campaigns.add(contact.campaign)
                if contact.merged_into is not None:
                    self.merging.add(contact.campaign)
        return self.campaigns

    def has_tombstones(self, uow: UnitOfWork, campaign: str) -> bool:
        """Whether ``campaign`` holds a merge tombstone (M5), read with the campaigns."""
        self._campaigns(uow)
        return campaign in self.merging

    def merge_applied(self, campaign: str) -> None:
        """This replay merged two contacts of ``campaign`` (a tombstone is there now)."""
        self.merging.add(campaign)

    def in_campaign(self, uow: UnitOfWork, campaign: str) -> bool:
        """Whether ``campaign`` holds an anonymized contact."""
        return campaign in self._campaigns(uow)

    def trail(self, uow: UnitOfWork) -> dict[dt.datetime, list[Event]]:
        if self._trail is None:
            self._trail = anonymized_trail(uow) if self._campaigns(uow) else {}
        return self._trail

    def live_trail(self, uow: UnitOfWork) -> dict[dt.datetime, list[Event]]:
        if self._live is None:
            self._live = anonymized_trail(uow) if self._campaigns(uow) else {}
        return self._live

    def note_ticket(self, campaign: str, address: str, number: int) -> None:
        numbers = self.tickets.setdefault((campaign, address), [])
        if number not in numbers:
            numbers.append(number)

    def tickets_of(self, uow: UnitOfWork, campaign: str, address: str) -> list[Ticket]:
        """The anonymous tickets noted for ``address`` in ``campaign``, as stored now."""
        found = (uow.get_ticket(n) for n in self.tickets.get((campaign, address), ()))
        return [t for t in found if t is not None]

    def claim(self, campaign: str, code: str, anonymous: str | None) -> None:
        """``code`` is the contact of the CONTACT_ANONYMIZED event naming ``anonymous``."""
        self.codes.add((campaign, code))
        self.claimed.add(anonymous)

    def anonymizing(self, uow: UnitOfWork, campaign: str) -> None:
        """Called before this replay anonymizes a contact of ``campaign``."""
        self.trail(uow)
        self._campaigns(uow).add(campaign)
        self._live = None  # read again, with what this anonymization rewrites


class Memos:
    """What one replay remembers from line to line, each keeping a scan from repeating."""

    def __init__(self) -> None:
        self.refusals = Refusals()
        self.contacts = ContactKeys()
        self.redeliveries = Redeliveries()
        self.anonymized = Anonymized()

    def forget(self) -> None:
        """An anonymization rewrote data the memos hold (I4)."""
        self.refusals.forget()
        self.redeliveries.forget()
