"""Merge rules: the contact A becomes when B is merged into it, and the "same value" keys.

Pure functions over records (M5, M10, M11); :mod:`ccdomain.services.merge`
plans and applies a merge in the store.

- M5 :func:`merged_contact` is A after the merge, with every
  :class:`FieldConflict`; a :class:`MergePlan` lists it with what moves
  (:class:`MergeMoves`) for review before it is applied.
- M10 The tombstone B leaves (:func:`tombstone`) keeps only its campaign, code,
  last activity and ``merged_into``: every personal value lives on in A, so
  anonymizing A later leaves none behind.
- M11 Merged values dedupe by normalized value: phones by E.164, other channels
  case-insensitively per kind (:func:`channel_key`), tags and addresses case- and
  accent-insensitively with whitespace collapsed (:func:`address_key`: every part,
  the reference included, the primary flag aside); A's spelling and label are
  kept. The replay's already-applied check (R4) compares with the same keys.
  Custom values merge like fields: the non-blank wins, A's when both are set.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, cast

import attrs

from ccdomain._folding import name_key
from ccdomain.documents import Document
from ccdomain.errors import RuleViolation
from ccdomain.errors import show as _show
from ccdomain.models import Address, ChannelKind, Contact, ContactChannel, CustomValue
from ccdomain.rules.matching import latest

__all__ = [
    "FieldConflict",
    "MergeMoves",
    "MergePlan",
    "address_key",
    "channel_key",
    "merged_contact",
    "tombstone",
]

_PHONE_KINDS: Final = frozenset({ChannelKind.PHONE, ChannelKind.WHATSAPP})
_MERGED_TEXT_FIELDS: Final = ("first_names", "last_names", "company", "gender", "notes")


@attrs.frozen(kw_only=True)
class FieldConflict:
    """A field both contacts have set, to different values; ``winner`` is the value kept (M5).

    Under M5 the kept value is A's (the contact merged into), since a non-empty
    field wins and A's wins when both are set; it is spelled out so a review
    screen can show it. Custom fields are named ``custom.<name>``.
    """

    field: str
    a_value: object
    b_value: object
    winner: object


@attrs.frozen(kw_only=True)
class MergeMoves:
    """What a merge repoints from B to A: tickets and products (M5).

    Typifications and comments follow their ticket; payments and promises
    follow their product: they are listed for review, not rewritten.
    """

    tickets: tuple[int, ...] = ()
    products: tuple[str, ...] = ()
    payments: tuple[str, ...] = ()
    promises: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class MergePlan:
    """What merging ``source`` (B) into ``into`` (A) will do, for review before it is applied.

    Attributes:
        into: contact A as read when planning (keeps its code).
        source: contact B as read when planning (becomes a tombstone).
        conflicts: every field both set to different values, with the value kept.
        merged: the contact A will become.
        open_ticket_pairs: (A's ticket, B's ticket) for every pair of open tickets.
        moves: the tickets and products that will point to A.
    """

    into: Contact
    source: Contact
    conflicts: tuple[FieldConflict, ...]
    merged: Contact
    open_ticket_pairs: tuple[tuple[int, int], ...]
    moves: MergeMoves

    @property
    def campaign(self) -> str:
        """The campaign of both contacts."""
        return self.into.campaign


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def channel_key(channel: ContactChannel) -> tuple[str, str]:
    """The "same channel" key (M11): phones by E.164, other values case-insensitively.

    A merge keeps one channel per key, and a replayed contact holds a channel when
    the stored contact has one with its key (R4).
    """
    if channel.kind in _PHONE_KINDS:
        return (channel.kind.value, channel.value.strip())
    return (channel.kind.value, channel.value.strip().casefold())


def address_key(address: Address) -> tuple[str, ...]:
    """The "same address" key (M11): every part but ``primary``, reference included,
    case-, accent- and spacing-insensitive (:func:`ccdomain.contacts.name_key`).

    A merge keeps one address per key, and a replayed contact holds an address when
    the stored contact has one with its key (R4).

    >>> address_key(Address(line="Av. Perú  123", city="LIMA"))
    ('av. peru 123', '', 'lima', '', '', '', '')
    """
    return tuple(
        name_key(str(getattr(address, f.name)))
        for f in attrs.fields(Address)
        if f.name != "primary"
    )


def _union_channels(a: Contact, b: Contact) -> tuple[ContactChannel, ...]:
    kept: dict[tuple[str, str], ContactChannel] = {}
    for channel in (*a.channels, *b.channels):
        kept.setdefault(channel_key(channel), channel)
    return tuple(kept.values())


def _union_addresses(a: Contact, b: Contact) -> tuple[Address, ...]:
    """A's addresses (its primary stays primary), then B's new ones; one primary (K8)."""
    kept: dict[tuple[str, ...], Address] = {}
    for address in a.addresses:
        kept.setdefault(address_key(address), address)
    for address in b.addresses:
        key = address_key(address)
        if key not in kept:
            kept[key] = attrs.evolve(address, primary=address.primary and not a.addresses)
    result = tuple(kept.values())
    if result and sum(1 for x in result if x.primary) != 1:
        first = next((i for i, x in enumerate(result) if x.primary), 0)
        result = tuple(attrs.evolve(x, primary=i == first) for i, x in enumerate(result))
    return result


def _union_tags(a: Contact, b: Contact) -> tuple[str, ...]:
    kept: dict[str, str] = {}
    for tag in (*a.tags, *b.tags):
        kept.setdefault(name_key(tag), tag)
    return tuple(kept.values())


def _pick(name: str, a_value: object, b_value: object, conflicts: list[FieldConflict]) -> object:
    """Non-empty wins, A's when both are set; a difference is recorded as a conflict."""
    if _blank(a_value):
        return b_value if not _blank(b_value) else a_value
    if not _blank(b_value) and a_value != b_value:
        conflicts.append(
            FieldConflict(field=name, a_value=a_value, b_value=b_value, winner=a_value)
        )
    return a_value


def _merge_custom(
    a: Mapping[str, CustomValue], b: Mapping[str, CustomValue], conflicts: list[FieldConflict]
) -> dict[str, CustomValue]:
    merged: dict[str, CustomValue] = {}
    for name in (*a, *(n for n in b if n not in a)):
        value = _pick(f"custom.{name}", a.get(name), b.get(name), conflicts)
        if value is not None:
            merged[name] = cast(CustomValue, value)
    return merged


def merged_contact(a: Contact, b: Contact) -> tuple[Contact, tuple[FieldConflict, ...]]:
    """The contact A becomes when B is merged into it, and the conflicts (M5, M11).

    A keeps its code; channels, addresses and tags are the union, deduplicated by
    normalized value (A's first); VIP is A or B; a non-empty field wins, A's
    when both are set; custom values merge the same way; the latest activity stays.

    Raises:
        RuleViolation: ``a`` or ``b`` is not a Contact.
    """
    for contact in (a, b):
        if not isinstance(contact, Contact):
            raise RuleViolation(f"{_show(contact)} is not a Contact")
    conflicts: list[FieldConflict] = []
    texts = {
        name: _pick(name, getattr(a, name), getattr(b, name), conflicts)
        for name in _MERGED_TEXT_FIELDS
    }
    document = _pick("document", a.document, b.document, conflicts)
    custom = _merge_custom(a.custom, b.custom, conflicts)
    merged = attrs.evolve(
        a,
        first_names=cast(str, texts["first_names"]),
        last_names=cast(str, texts["last_names"]),
        company=cast("str | None", texts["company"]),
        gender=cast(str, texts["gender"]),
        notes=cast(str, texts["notes"]),
        document=cast("Document | None", document),
        vip=a.vip or b.vip,
        channels=_union_channels(a, b),
        addresses=_union_addresses(a, b),
        tags=_union_tags(a, b),
        custom=custom,
        last_activity=latest(a.last_activity, b.last_activity),
    )
    return merged, tuple(conflicts)


def tombstone(b: Contact, into: str) -> Contact:
    """B after the merge: only what resolves it to A remains (M10)."""
    return Contact(
        campaign=b.campaign, code=b.code, last_activity=b.last_activity, merged_into=into
    )
