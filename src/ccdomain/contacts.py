"""Contacts: campaigns, channels, avatar, addresses, custom fields, search (rules K1-K10).

The pure rules build and change frozen models from :mod:`ccdomain.models`
(re-exported here, with :class:`Document` and :func:`make_document`); the
services load through a :class:`~ccdomain.ports.Store`, apply the rules and
save in one unit of work, validating everything before the first write (E2).

- K1/K2 codes: a document's compact number, else ``C-000031`` (:func:`generated_code`).
- K4 channels: :func:`normalize_channel`, :func:`dedupe_channels`, :func:`channels_by_kind`.
- K5 phones: :func:`add_phone`, :func:`edit_phone`, :func:`delete_phone`.
- K6 templates: :func:`check_template_precondition`.
- K7 avatar: :func:`avatar` (``"JP★"``).
- K8 addresses: :func:`add_address`, :func:`remove_address`, :func:`set_primary_address`.
- K9 custom fields: :func:`convert_custom_values`.
- K10 search: :func:`fold`, :func:`contact_matches`, :func:`search_contacts`.

Choices made where DESIGN is silent (the ids are those proposed for docs/rules.md):

- K11 Codes are stable: a contact keeps its code when its document is set or
  changed later; the change is refused only when the new document's compact
  number is the code of another contact of the campaign.
- K12 Channel kinds are named by their value or a few aliases (``correo``,
  ``telefono``, ``wa``, ``ig``...); emails are lower-cased and checked for
  ``local@domain.tld``; Instagram handles lose a leading ``@`` and are
  lower-cased; Messenger ids are kept as typed (whitespace collapsed). Detail
  views group channels in the order the product lists them: WhatsApp, email,
  phone, Messenger, Instagram.
- K13 Avatar: the first letter or digit (as written, upper-cased, accents kept)
  of the first given name and of the first last name, skipping leading
  particles (de, del, la, las, los, y, da, das, do, dos, di, van, von, der)
  unless the particle is the whole last name; ``""`` when there is no name,
  the star still added for a VIP.
- K14 Custom values: blank text counts as absent; numbers are digits with an
  optional ``.`` decimal part (a comma is refused as ambiguous), at most 30
  integer digits; dates are ``YYYY-MM-DD`` or day-first ``DD/MM/YYYY``;
  booleans accept true/false, sí/si/no, yes, 1/0; a choice matches case- and
  accent-insensitively and is stored as the template spells it.
- K15 Search: each word matches as a substring of the folded names, company,
  code, document number and channel values (a word's dots and dashes are also
  ignored); a phone-looking query (digits and ``+ ( ) - .``, at least 6 digits)
  also matches the contact holding that normalized number, or, when it does not
  normalize, any phone containing its digits. An empty query matches every
  live contact.
- K16 A company's id is its tax document's compact number, else ``"N:"`` and
  its folded name; find-or-create looks up the tax id, else the folded name.
- K17 A contact code names the live contact (:func:`live_contact`): a merged
  contact's code names the contact it was merged into, for reads and edits
  alike (M5: the tombstone resolves to A). An edit that changes nothing records
  no event.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Final

import attrs
import phonenumbers
from dateutil import parser as date_parser

from ccdomain import checks
from ccdomain._folding import fold, name_key
from ccdomain.collections import CollectionsPolicy, aging_buckets
from ccdomain.documents import Document, document_code, make_document
from ccdomain.errors import (
    CcdomainError,
    DuplicateContact,
    InvalidAddress,
    InvalidChannel,
    InvalidCustomField,
    InvalidDocument,
    InvalidPhoneNumber,
    InvalidTypification,
    RuleViolation,
    UnknownCampaign,
    UnknownContact,
)
from ccdomain.errors import (
    show as _show,
)
from ccdomain.events import (
    CampaignDeclared,
    ContactCreated,
    ContactUpdated,
    Event,
    EventKind,
    LineDeclared,
)
from ccdomain.models import (
    DEFAULT_BUCKET_LIMITS,
    Address,
    Campaign,
    Channel,
    ChannelKind,
    Company,
    Contact,
    ContactChannel,
    CustomFieldDef,
    CustomValue,
    FieldType,
    Line,
)
from ccdomain.phones import normalize_phone
from ccdomain.ports import CompanyNameIndex, ContactRepository, Store, UnitOfWork

__all__ = [
    "CHANNEL_KIND_ORDER",
    "Address",
    "Campaign",
    "ChannelKind",
    "Company",
    "Contact",
    "ContactChannel",
    "ContactDetail",
    "CustomFieldDef",
    "CustomValue",
    "Document",
    "FieldType",
    "Line",
    "PersonalData",
    "add_address",
    "add_contact_address",
    "add_contact_phone",
    "add_phone",
    "avatar",
    "channel_kind",
    "channels_by_kind",
    "check_template_precondition",
    "code_for",
    "contact_avatar",
    "contact_detail_view",
    "contact_matches",
    "convert_custom_values",
    "create_contact",
    "declare_campaign",
    "declare_line",
    "dedupe_channels",
    "delete_contact_phone",
    "delete_phone",
    "edit_contact_phone",
    "edit_phone",
    "find_company",
    "find_or_create_company",
    "fold",
    "generated_code",
    "get_contact",
    "live_contact",
    "make_address",
    "make_campaign",
    "make_company",
    "make_custom_field",
    "make_document",
    "make_line",
    "name_key",
    "normalize_channel",
    "personal_data_view",
    "remove_address",
    "remove_contact_address",
    "resolve_contact_code",
    "search_contacts",
    "set_contact_primary_address",
    "set_primary_address",
    "update_contact",
]

_SHOWN: Final = 60
_MAX_TOMBSTONE_HOPS: Final = 1000
_REGIONS: Final = frozenset(phonenumbers.SUPPORTED_REGIONS)

CHANNEL_KIND_ORDER: tuple[ChannelKind, ...] = (
    ChannelKind.WHATSAPP,
    ChannelKind.EMAIL,
    ChannelKind.PHONE,
    ChannelKind.MESSENGER,
    ChannelKind.INSTAGRAM,
)
"""Order of the channel groups in a detail view (002: WhatsApp, Correo, Telefonía, ...)."""

_PHONE_KINDS: Final = frozenset({ChannelKind.PHONE, ChannelKind.WHATSAPP})
_PHONE_CHANNELS: Final = frozenset({Channel.CALL, Channel.WHATSAPP, Channel.SMS})

_KIND_ALIASES: Final[Mapping[str, ChannelKind]] = {
    "phone": ChannelKind.PHONE,
    "telefono": ChannelKind.PHONE,
    "telefonia": ChannelKind.PHONE,
    "tel": ChannelKind.PHONE,
    "celular": ChannelKind.PHONE,
    "movil": ChannelKind.PHONE,
    "mobile": ChannelKind.PHONE,
    "whatsapp": ChannelKind.WHATSAPP,
    "wa": ChannelKind.WHATSAPP,
    "email": ChannelKind.EMAIL,
    "mail": ChannelKind.EMAIL,
    "correo": ChannelKind.EMAIL,
    "correoelectronico": ChannelKind.EMAIL,
    "messenger": ChannelKind.MESSENGER,
    "facebook": ChannelKind.MESSENGER,
    "fb": ChannelKind.MESSENGER,
    "instagram": ChannelKind.INSTAGRAM,
    "ig": ChannelKind.INSTAGRAM,
}

_EMAIL_LOCAL = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
_EMAIL_LABEL = r"[^\W_](?:(?:[^\W_]|-){0,61}[^\W_])?"
_EMAIL_TLD = r"(?:[^\W\d_]{2,63}|xn--[a-z0-9-]{1,59})"
_EMAIL: Final = re.compile(rf"({_EMAIL_LOCAL})@((?:{_EMAIL_LABEL}\.)+{_EMAIL_TLD})")
_INSTAGRAM: Final = re.compile(r"[a-z0-9._]{1,30}")
_NUMBER: Final = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_MAX_INTEGER_DIGITS: Final = 30
_MAX_FRACTION_DIGITS: Final = 12
_ISO_DATE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DAY_FIRST_DATE: Final = re.compile(r"([0-9]{1,2})([/.-])([0-9]{1,2})\2([0-9]{4})")
_TRUE_WORDS: Final = frozenset({"true", "si", "yes", "1", "verdadero"})
_FALSE_WORDS: Final = frozenset({"false", "no", "0", "falso"})
_PHONE_LIKE: Final = re.compile(r"[0-9+().\-\s]+")
_MIN_PHONE_DIGITS: Final = 6
_WORD_SEPARATORS: Final = str.maketrans("", "", ".-")
_PARTICLES: Final = frozenset(
    {"de", "del", "la", "las", "los", "y", "da", "das", "do", "dos", "di", "van", "von", "der"}
)
_CONTACT_FIELDS: Final = frozenset(
    {
        "first_names",
        "last_names",
        "document",
        "company",
        "vip",
        "channels",
        "addresses",
        "custom",
        "gender",
        "tags",
        "notes",
    }
)


# --- campaigns and lines ----------------------------------------------------------------------


def make_custom_field(
    name: object,
    type: object = FieldType.TEXT,
    *,
    required: object = False,
    choices: object = (),
    label: object = "",
) -> CustomFieldDef:
    """Validate one field of a campaign's contact template (K9).

    Args:
        name: the field name values are keyed by.
        type: a :class:`FieldType` or its value (``"text"``, ``"number"``, ``"date"``,
            ``"boolean"``, ``"choice"``), any case.
        required: whether a contact must have a value.
        choices: the allowed values of a choice field (non-empty, distinct ignoring
            case and accents); empty for other types.
        label: the name shown to agents.

    Raises:
        InvalidCustomField: naming the offending value.
    """
    field_name = checks.identifier(name, "custom field name", InvalidCustomField)
    kind: FieldType | None = None
    if isinstance(type, str):
        kind = next((t for t in FieldType if t.value == type.strip().lower()), None)
    if kind is None:
        raise InvalidCustomField(
            f"custom field {field_name!r} has type {_show(type)}: expected one of "
            f"{', '.join(t.value for t in FieldType)}"
        )
    options: list[str] = []
    seen: set[str] = set()
    for choice in checks.items(choices, f"choices of {field_name!r}", InvalidCustomField):
        option = checks.identifier(choice, f"a choice of {field_name!r}", InvalidCustomField)
        if fold(option) in seen:
            raise InvalidCustomField(
                f"custom field {field_name!r} lists the choice {option!r} twice: "
                "expected distinct choices (ignoring case and accents)"
            )
        seen.add(fold(option))
        options.append(option)
    if kind is FieldType.CHOICE and not options:
        raise InvalidCustomField(
            f"custom field {field_name!r} is a choice without choices: expected at least one"
        )
    if kind is not FieldType.CHOICE and options:
        raise InvalidCustomField(
            f"custom field {field_name!r} of type {kind.value} lists choices {_show(options)}: "
            "expected choices only for a choice field"
        )
    return CustomFieldDef(
        name=field_name,
        type=kind,
        required=checks.flag(required, f"required of {field_name!r}", InvalidCustomField),
        choices=tuple(options),
        label=checks.name(label, f"label of {field_name!r}", InvalidCustomField),
    )


def _custom_field_from(value: object) -> CustomFieldDef:
    """A template field from a CustomFieldDef or a mapping {name, type, required, choices}."""
    if isinstance(value, CustomFieldDef):
        fields: dict[str, object] = attrs.asdict(value, recurse=False)
    elif isinstance(value, Mapping):
        allowed = ("name", "type", "required", "choices", "label")
        fields = checks.mapping(value, "a custom field", InvalidCustomField, keys=allowed)
    else:
        raise InvalidCustomField(
            f"{_show(value)} is not a custom field: expected a CustomFieldDef or a mapping"
        )
    if "name" not in fields:
        raise InvalidCustomField(f"custom field {_show(value)} has no name")
    name = fields.pop("name")
    kind = fields.pop("type", FieldType.TEXT)
    return make_custom_field(name, kind, **fields)


def _buckets(value: object) -> tuple[tuple[int, int | None], ...]:
    """Check aging buckets (C3) as (minimum, maximum) pairs, sorted by minimum.

    The rules on the ranges (start at 1, no overlap, no gap, last open-ended) are
    those of :class:`ccdomain.collections.CollectionsPolicy`, applied here so a bad
    campaign is refused when declared.
    """
    ranges: list[tuple[int, int | None]] = []
    for item in checks.items(value, "buckets"):
        pair = checks.items(item, "bucket")
        if len(pair) != 2:
            raise RuleViolation(f"bucket {_show(item)} is not valid: expected (minimum, maximum)")
        low = checks.whole(pair[0], "bucket minimum", minimum=1)
        high = None if pair[1] is None else checks.whole(pair[1], "bucket maximum", minimum=low)
        ranges.append((low, high))
    ranges.sort(key=lambda r: r[0])
    CollectionsPolicy(buckets=aging_buckets(ranges))
    return tuple(ranges)


def _tolerance(value: object) -> Decimal:
    """Check a promise tolerance by the rule the campaign's policy applies (C7, C13).

    A campaign whose tolerance its own collections policy refuses could be declared
    and then refuse every promise: one check, the policy's.
    """
    return CollectionsPolicy(tolerance=value).tolerance


def make_campaign(
    id: object,
    *,
    name: object = "",
    kind: object = "sales",
    region: object = "PE",
    timezone: object = "America/Lima",
    custom_fields: object = (),
    typifications: object = (),
    grace_days: object = 0,
    horizon_days: object = 30,
    tolerance: object = "0",
    buckets: object = DEFAULT_BUCKET_LIMITS,
) -> Campaign:
    """Validate and build a campaign.

    Args:
        id: the campaign id, a non-blank text.
        name: the display name.
        kind: ``"sales"``, ``"collections"``, ``"support"``... (a non-blank text).
        region: ISO 3166 alpha-2 default region of phone numbers (M1), any case.
        timezone: IANA time zone (C3 dates are taken in it).
        custom_fields: the contact template: CustomFieldDef or mappings, unique names (K9).
        typifications: paths of the typification tree, 1 to 4 levels each (T8).
        grace_days: days after an installment date before a promise breaks (C5), >= 0.
        horizon_days: how far ahead promise dates may go (C4), >= 1.
        tolerance: amount an installment may fall short and still be covered (C5), >= 0.
        buckets: aging buckets (C3).

    Raises:
        RuleViolation, InvalidCustomField, InvalidTypification: naming the bad value.

    >>> make_campaign("ventas", region="pe", tolerance="0.50").region
    'PE'
    """
    campaign_id = checks.identifier(id, "campaign id")
    template: list[CustomFieldDef] = []
    for item in checks.items(custom_fields, "custom_fields", InvalidCustomField):
        field = _custom_field_from(item)
        if any(f.name == field.name for f in template):
            raise InvalidCustomField(
                f"custom field {field.name!r} is declared twice in campaign {campaign_id!r}: "
                "expected unique names"
            )
        template.append(field)
    paths = checks.items(typifications, "typifications", InvalidTypification)
    return Campaign(
        id=campaign_id,
        name=checks.name(name, "campaign name"),
        kind=checks.identifier(kind, "campaign kind"),
        region=checks.region(region, "region", known=_REGIONS),
        timezone=checks.timezone(timezone),
        custom_fields=tuple(template),
        typifications=tuple(
            dict.fromkeys(checks.path(p, "typification path", InvalidTypification) for p in paths)
        ),
        grace_days=checks.whole(grace_days, "grace_days", minimum=0, maximum=checks.DAYS_MAX),
        horizon_days=checks.whole(horizon_days, "horizon_days", minimum=1, maximum=checks.DAYS_MAX),
        tolerance=_tolerance(tolerance),
        buckets=_buckets(buckets),
    )


def make_line(
    id: object,
    channel: object,
    address: object,
    *,
    alias: object = "",
    campaign: object = "",
    queue: object = "",
    region: object = None,
) -> Line:
    """Validate and build a line (business identifier, T6).

    With a ``region``, the address of a phone channel (call, WhatsApp, SMS) is
    normalized to E.164 and an email address is lower-cased.

    Raises:
        RuleViolation: a field is not a text or the channel is unknown.
        InvalidPhoneNumber, InvalidChannel: the address does not fit the channel.
    """
    line_id = checks.identifier(id, "line id")
    kind: Channel | None = None
    if isinstance(channel, str):
        kind = next((c for c in Channel if c.value == channel.strip().lower()), None)
    if kind is None:
        raise RuleViolation(
            f"line {line_id!r} has channel {_show(channel)}: expected one of "
            f"{', '.join(c.value for c in Channel)}"
        )
    value = checks.identifier(address, f"address of line {line_id!r}", limit=checks.ADDRESS_MAX)
    if region is not None:
        if kind in _PHONE_CHANNELS:
            value = normalize_phone(value, checks.region(region, "region", known=_REGIONS))
        elif kind is Channel.EMAIL:
            value = _email(value)
        elif kind is Channel.INSTAGRAM:
            value = _instagram(value)
    return Line(
        id=line_id,
        channel=kind,
        address=value,
        alias=checks.name(alias, f"alias of line {line_id!r}"),
        campaign=checks.identifier(campaign, f"campaign of line {line_id!r}", required=False),
        queue=checks.identifier(queue, f"queue of line {line_id!r}", required=False),
    )


def declare_campaign(
    store: Store, campaign: Campaign, *, at: dt.datetime, actor: str | None = None
) -> Campaign:
    """Store a campaign; an identical re-declaration is a no-op, a conflicting one refused.

    Returns:
        The stored campaign (validated and normalized by :func:`make_campaign`).

    Raises:
        RuleViolation: ``campaign`` is not a valid Campaign, or another campaign with
            the same id and different settings exists.
    """
    if not isinstance(campaign, Campaign):
        raise RuleViolation(f"{_show(campaign)} is not a Campaign")
    fields: dict[str, object] = attrs.asdict(campaign, recurse=False)
    checked = make_campaign(fields.pop("id"), **fields)
    when, who = checks.aware(at), checks.actor(actor)
    with store.unit_of_work() as uow:
        existing = uow.get_campaign(checked.id)
        if existing == checked:
            return existing
        if existing is not None:
            raise RuleViolation(
                f"campaign {checked.id!r} is already declared with other settings: "
                "expected an identical re-declaration"
            )
        uow.put_campaign(checked)
        uow.append_event(
            Event(
                kind=EventKind.CAMPAIGN_DECLARED,
                at=when,
                actor=who,
                campaign=checked.id,
                payload=CampaignDeclared(kind=checked.kind, region=checked.region),
            )
        )
        uow.commit()
    return checked


def declare_line(store: Store, line: Line, *, at: dt.datetime, actor: str | None = None) -> Line:
    """Store a line, its address normalized with its campaign's region (T6).

    An identical re-declaration is a no-op; a conflicting one is refused.

    Raises:
        UnknownCampaign: the line's default campaign is not declared.
        RuleViolation: the line is malformed or conflicts with a stored one.
        InvalidPhoneNumber: a phone line's address is not a valid number.
    """
    if not isinstance(line, Line):
        raise RuleViolation(f"{_show(line)} is not a Line")
    when, who = checks.aware(at), checks.actor(actor)
    with store.unit_of_work() as uow:
        campaign = _campaign(uow, line.campaign)
        checked = make_line(
            line.id,
            line.channel,
            line.address,
            alias=line.alias,
            campaign=line.campaign,
            queue=line.queue,
            region=campaign.region,
        )
        existing = uow.get_line(checked.id)
        if existing == checked:
            return existing
        if existing is not None:
            raise RuleViolation(
                f"line {checked.id!r} is already declared with other settings: "
                "expected an identical re-declaration"
            )
        uow.put_line(checked)
        uow.append_event(
            Event(
                kind=EventKind.LINE_DECLARED,
                at=when,
                actor=who,
                campaign=checked.campaign,
                payload=LineDeclared(line=checked.id, channel=checked.channel),
            )
        )
        uow.commit()
    return checked


# --- K4 channels ------------------------------------------------------------------------------


def channel_kind(kind: object) -> ChannelKind:
    """Return the channel kind named by ``kind``: a ChannelKind, its value or an alias (K12).

    >>> channel_kind("Correo")
    <ChannelKind.EMAIL: 'email'>

    Raises:
        InvalidChannel: naming the value and the known kinds.
    """
    if isinstance(kind, ChannelKind):
        return kind
    if isinstance(kind, str) and len(kind) <= checks.ID_MAX:
        found = _KIND_ALIASES.get(re.sub(r"[\s_\-]", "", fold(kind)))
        if found is not None:
            return found
    raise InvalidChannel(
        f"{_show(kind)} is not a contact channel kind: expected one of "
        f"{', '.join(k.value for k in ChannelKind)}"
    )


def _email(value: str) -> str:
    """Check an email address and return it lower-cased."""
    text = value.strip()
    match = _EMAIL.fullmatch(text)
    if match is None or len(text) > 254 or len(match.group(1)) > 64:
        raise InvalidChannel(
            f"{_show(value)} is not a valid email address: expected local@domain.tld"
        )
    return text.lower()


def _instagram(value: str) -> str:
    """Check an Instagram handle: leading '@' dropped, lower case, letters digits . _."""
    handle = value.strip().removeprefix("@").lower()
    if not _INSTAGRAM.fullmatch(handle):
        raise InvalidChannel(
            f"{_show(value)} is not a valid Instagram handle: expected 1 to 30 letters, "
            "digits, dots or underscores"
        )
    return handle


def normalize_channel(kind: object, value: object, region: str, label: str = "") -> ContactChannel:
    """Validate and normalize a contact channel (K4).

    Phone and WhatsApp values become E.164 (with ``region`` for numbers typed
    without a country code), emails are lower-cased, Instagram handles lose a
    leading ``@`` and are lower-cased, Messenger ids keep their case.

    >>> normalize_channel("email", " Jose@Example.com ", "PE")
    ContactChannel(kind=<ChannelKind.EMAIL: 'email'>, value='jose@example.com', label='')
    >>> normalize_channel("whatsapp", "987 654 321", "PE").value
    '+51987654321'

    Raises:
        InvalidChannel: unknown kind, or a value that does not fit it.
        InvalidPhoneNumber: a phone or WhatsApp value that is not a valid number.
    """
    found = channel_kind(kind)
    text = checks.identifier(
        value, f"{found.value} value", InvalidChannel, limit=checks.ADDRESS_MAX
    )
    tag = checks.identifier(
        label, "channel label", InvalidChannel, limit=checks.LABEL_MAX, required=False
    )
    if found in _PHONE_KINDS:
        normalized = normalize_phone(text, region)
    elif found is ChannelKind.EMAIL:
        normalized = _email(text)
    elif found is ChannelKind.INSTAGRAM:
        normalized = _instagram(text)
    else:
        normalized = text
    return ContactChannel(kind=found, value=normalized, label=tag)


def _channel_from(value: object, region: str) -> ContactChannel:
    """A normalized channel from a ContactChannel or a mapping {kind, value[, label]}."""
    if isinstance(value, ContactChannel):
        return normalize_channel(value.kind, value.value, region, value.label)
    if isinstance(value, Mapping):
        fields = checks.mapping(value, "a channel", InvalidChannel, keys=("kind", "value", "label"))
        if "kind" not in fields or "value" not in fields:
            raise InvalidChannel(
                f"channel {_show(value)} is not valid: expected a kind and a value"
            )
        return normalize_channel(fields["kind"], fields["value"], region, fields.get("label", ""))  # type: ignore[arg-type]
    raise InvalidChannel(
        f"{_show(value)} is not a contact channel: expected a ContactChannel or "
        "a mapping with kind and value"
    )


def dedupe_channels(channels: Iterable[ContactChannel]) -> tuple[ContactChannel, ...]:
    """Drop channels whose (kind, value) came before, keeping the first (and its label) (K4).

    Raises:
        InvalidChannel: an item is not a ContactChannel.
    """
    kept: dict[tuple[ChannelKind, str], ContactChannel] = {}
    for channel in checks.items(channels, "channels", InvalidChannel):
        if not isinstance(channel, ContactChannel):
            raise InvalidChannel(f"{_show(channel)} is not a ContactChannel")
        kept.setdefault((channel.kind, channel.value), channel)
    return tuple(kept.values())


def channels_by_kind(contact: Contact) -> dict[ChannelKind, tuple[str, ...]]:
    """Group a contact's channel values by kind, in :data:`CHANNEL_KIND_ORDER` (K4, K12).

    Kinds the contact has no channel of are left out; values keep their order.

    Raises:
        RuleViolation: ``contact`` is not a Contact.
    """
    _require_contact(contact)
    groups: dict[ChannelKind, tuple[str, ...]] = {}
    for kind in CHANNEL_KIND_ORDER:
        values = tuple(dict.fromkeys(c.value for c in contact.channels if c.kind is kind))
        if values:
            groups[kind] = values
    return groups


def _require_contact(contact: object) -> Contact:
    if not isinstance(contact, Contact):
        raise RuleViolation(f"{_show(contact)} is not a Contact")
    return contact


# --- K5 phones --------------------------------------------------------------------------------


def add_phone(
    contact: Contact,
    raw: object,
    region: str,
    kind: object = ChannelKind.PHONE,
    label: object = "",
) -> Contact:
    """Add a phone (or WhatsApp) number, normalized; a number already there is ignored (K5).

    Raises:
        InvalidPhoneNumber: ``raw`` is not a valid number for ``region``.
        InvalidChannel: ``kind`` is not phone or WhatsApp.
    """
    _require_contact(contact)
    found = channel_kind(kind)
    if found not in _PHONE_KINDS:
        raise InvalidChannel(f"{_show(kind)} is not a phone kind: expected phone or whatsapp")
    channel = normalize_channel(found, raw, region, label)  # type: ignore[arg-type]
    return attrs.evolve(contact, channels=dedupe_channels((*contact.channels, channel)))


def _phone_on(contact: Contact, value: object, region: str) -> str:
    """The E.164 phone of ``contact`` that ``value`` names (as stored or as typed)."""
    if isinstance(value, str) and value in contact.phones:
        return value
    try:
        e164 = normalize_phone(value, region)
    except InvalidPhoneNumber:
        e164 = None
    if e164 is None or e164 not in contact.phones:
        raise RuleViolation(
            f"{_show(value)} is not a phone of contact {contact.code!r}: expected one of "
            f"{', '.join(contact.phones) or '(none)'}"
        )
    return e164


def edit_phone(contact: Contact, old: object, new_raw: object, region: str) -> Contact:
    """Replace a phone number with another, re-normalized, on every channel that has it (K5).

    Raises:
        RuleViolation: ``old`` is not a phone of the contact.
        InvalidPhoneNumber: ``new_raw`` is not a valid number for ``region``.
    """
    _require_contact(contact)
    new = normalize_phone(new_raw, region)
    current = _phone_on(contact, old, region)
    channels = tuple(
        attrs.evolve(c, value=new) if c.kind in _PHONE_KINDS and c.value == current else c
        for c in contact.channels
    )
    return attrs.evolve(contact, channels=dedupe_channels(channels))


def delete_phone(contact: Contact, value: object, region: str = "PE") -> Contact:
    """Remove a phone number from every phone and WhatsApp channel holding it (K5).

    Deleting the last phone is allowed: tickets keep their own customer number.

    Raises:
        RuleViolation: ``value`` is not a phone of the contact.
    """
    _require_contact(contact)
    current = _phone_on(contact, value, region)
    channels = tuple(
        c for c in contact.channels if not (c.kind in _PHONE_KINDS and c.value == current)
    )
    return attrs.evolve(contact, channels=channels)


# --- K6 ------------------------------------------------------------------------------------------


def check_template_precondition(campaign: object, queue: object) -> None:
    """Refuse sending a WhatsApp template without a campaign and a queue (K6).

    Raises:
        RuleViolation: naming what is missing (or not a text).
    """
    missing = [
        name
        for name, value in (("campaign", campaign), ("queue", queue))
        if not isinstance(value, str) or not value.strip()
    ]
    if missing:
        raise RuleViolation(
            f"a WhatsApp template needs a campaign and a queue; missing {' and '.join(missing)} "
            f"(campaign={_show(campaign)}, queue={_show(queue)})"
        )


# --- K7 avatar ----------------------------------------------------------------------------------


def _initial(words: Sequence[str]) -> str:
    """The first letter or digit of the first word that has one, upper-cased."""
    for word in words:
        for char in word:
            if char.isalnum():
                upper = char.upper()
                return upper if len(upper) == 1 else char
    return ""


def avatar(first_names: str, last_names: str, vip: bool) -> str:
    """Initials of the first given name and first last name, plus ``★`` for a VIP (K7, K13).

    >>> avatar("José", "Pérez Soto", True)
    'JP★'
    >>> avatar("maría josé", "de la Cruz Rojas", False)
    'MC'

    Raises:
        RuleViolation: a name is not a text or ``vip`` not a bool.
    """
    first = unicodedata.normalize("NFC", checks.name(first_names, "first_names"))
    last = unicodedata.normalize("NFC", checks.name(last_names, "last_names"))
    star = "★" if checks.flag(vip, "vip") else ""
    words = [w for w in last.split() if any(c.isalnum() for c in w)]
    start = 0
    while start < len(words) - 1 and fold(words[start]) in _PARTICLES:
        start += 1
    return _initial(first.split()) + _initial(words[start:]) + star


def contact_avatar(contact: Contact) -> str:
    """The avatar of a contact (K7)."""
    _require_contact(contact)
    return avatar(contact.first_names, contact.last_names, contact.vip)


# --- K8 addresses -------------------------------------------------------------------------------


def make_address(
    line: object,
    *,
    district: object = "",
    city: object = "",
    region: object = "",
    country: object = "",
    postal_code: object = "",
    reference: object = "",
    primary: object = False,
) -> Address:
    """Validate and build an address (K8).

    Raises:
        InvalidAddress: the line is blank, a field is not a text, or the country is
            not an ISO 3166 alpha-2 code.
    """

    def part(value: object, what: str) -> str:
        return checks.name(value, f"address {what}", InvalidAddress)

    code = checks.region(country, "address country", InvalidAddress, known=_REGIONS, required=False)
    return Address(
        line=checks.name(line, "address line", InvalidAddress, required=True),
        district=part(district, "district"),
        city=part(city, "city"),
        region=part(region, "region"),
        country=code,
        postal_code=part(postal_code, "postal_code"),
        reference=part(reference, "reference"),
        primary=checks.flag(primary, "address primary", InvalidAddress),
    )


_ADDRESS_FIELDS: Final = (
    "line",
    "district",
    "city",
    "region",
    "country",
    "postal_code",
    "reference",
    "primary",
)


def _address_from(value: object) -> Address:
    """A validated address from an Address or a mapping of its fields."""
    if isinstance(value, Address):
        fields: dict[str, object] = attrs.asdict(value, recurse=False)
    elif isinstance(value, Mapping):
        fields = checks.mapping(value, "an address", InvalidAddress, keys=_ADDRESS_FIELDS)
    else:
        raise InvalidAddress(f"{_show(value)} is not an address: expected an Address or a mapping")
    if "line" not in fields:
        raise InvalidAddress(f"address {_show(value)} has no line")
    return make_address(fields.pop("line"), **fields)


def add_address(contact: Contact, address: Address, *, primary: bool = False) -> Contact:
    """Add an address; the first one is primary, a later one only when asked (K8).

    Asking (``primary=True`` or ``address.primary``) demotes the current primary.

    Raises:
        InvalidAddress: ``address`` is not a valid address.
    """
    _require_contact(contact)
    checked = _address_from(address)
    wanted = checks.flag(primary, "primary", InvalidAddress) or checked.primary
    if not contact.addresses or wanted:
        existing = tuple(attrs.evolve(a, primary=False) for a in contact.addresses)
        return attrs.evolve(contact, addresses=(*existing, attrs.evolve(checked, primary=True)))
    return attrs.evolve(
        contact, addresses=(*contact.addresses, attrs.evolve(checked, primary=False))
    )


def _address_index(contact: Contact, index: object) -> int:
    count = len(contact.addresses)
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < count:
        raise InvalidAddress(
            f"address index {_show(index)} is not valid for contact {contact.code!r}: "
            f"expected 0 to {count - 1}"
            if count
            else f"address index {_show(index)} is not valid: {contact.code!r} has no address"
        )
    return index


def remove_address(contact: Contact, index: int) -> Contact:
    """Remove the address at ``index``; removing the primary promotes the oldest remaining (K8).

    Raises:
        InvalidAddress: ``index`` is out of range.
    """
    _require_contact(contact)
    at = _address_index(contact, index)
    removed = contact.addresses[at]
    rest = contact.addresses[:at] + contact.addresses[at + 1 :]
    if removed.primary and rest:
        rest = (attrs.evolve(rest[0], primary=True), *rest[1:])
    return attrs.evolve(contact, addresses=rest)


def set_primary_address(contact: Contact, index: int) -> Contact:
    """Make the address at ``index`` the primary one, demoting the other (K8).

    Raises:
        InvalidAddress: ``index`` is out of range.
    """
    _require_contact(contact)
    at = _address_index(contact, index)
    return attrs.evolve(
        contact,
        addresses=tuple(attrs.evolve(a, primary=i == at) for i, a in enumerate(contact.addresses)),
    )


# --- K9 custom fields ---------------------------------------------------------------------------


def _is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _to_number(field: CustomFieldDef, value: object) -> Decimal:
    number: Decimal | None = None
    if isinstance(value, bool):
        number = None
    elif isinstance(value, int):
        number = Decimal(value) if abs(value) < 10**_MAX_INTEGER_DIGITS else None
    elif isinstance(value, float):
        number = Decimal(repr(value)) if math.isfinite(value) else None
    elif isinstance(value, Decimal):
        number = value
    elif isinstance(value, str) and len(value) <= 2 * _SHOWN:
        text = value.strip()
        number = Decimal(text) if _NUMBER.fullmatch(text) else None
    if (
        number is None
        or not number.is_finite()
        or number.adjusted() >= _MAX_INTEGER_DIGITS
        or int(number.as_tuple().exponent) < -_MAX_FRACTION_DIGITS
    ):
        raise InvalidCustomField(
            f"custom field {field.name!r} got {_show(value)}: expected a number such as "
            "1500 or 1500.50 (a dot for decimals, no thousands separators)"
        )
    return number


def _to_date(field: CustomFieldDef, value: object) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            if _ISO_DATE.fullmatch(text):
                return date_parser.isoparse(text).date()
            match = _DAY_FIRST_DATE.fullmatch(text)
            if match is not None:
                day, _, month, year = match.groups()
                return dt.date(int(year), int(month), int(day))
        except (ValueError, OverflowError):
            pass
    raise InvalidCustomField(
        f"custom field {field.name!r} got {_show(value)}: expected a date as YYYY-MM-DD "
        "or DD/MM/YYYY"
    )


def _to_boolean(field: CustomFieldDef, value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return value == 1
    if isinstance(value, str):
        word = fold(value.strip())
        if word in _TRUE_WORDS:
            return True
        if word in _FALSE_WORDS:
            return False
    raise InvalidCustomField(
        f"custom field {field.name!r} got {_show(value)}: expected a yes/no value "
        "(true/false, sí/no, 1/0)"
    )


def _to_choice(field: CustomFieldDef, value: object) -> str:
    if isinstance(value, str):
        text = value.strip()
        if text in field.choices:
            return text
        key = fold(text)
        for choice in field.choices:
            if fold(choice) == key:
                return choice
    raise InvalidCustomField(
        f"custom field {field.name!r} got {_show(value)}: "
        f"expected one of {', '.join(field.choices)}"
    )


def _convert(field: CustomFieldDef, value: object) -> CustomValue:
    if field.type is FieldType.NUMBER:
        return _to_number(field, value)
    if field.type is FieldType.DATE:
        return _to_date(field, value)
    if field.type is FieldType.BOOLEAN:
        return _to_boolean(field, value)
    if field.type is FieldType.CHOICE:
        return _to_choice(field, value)
    return checks.text(
        value, f"custom field {field.name!r}", InvalidCustomField, limit=checks.CUSTOM_TEXT_MAX
    )


def _template(template: object) -> tuple[CustomFieldDef, ...]:
    fields = checks.items(template, "template", InvalidCustomField)
    for field in fields:
        if not isinstance(field, CustomFieldDef):
            raise InvalidCustomField(f"{_show(field)} is not a CustomFieldDef")
    return fields  # type: ignore[return-value]


def convert_custom_values(
    template: Sequence[CustomFieldDef],
    values: Mapping[str, object],
    *,
    partial: bool = False,
) -> dict[str, CustomValue]:
    """Validate and convert custom field values against a campaign template (K9, K14).

    Text and choice become ``str``, number ``Decimal``, date ``datetime.date``,
    boolean ``bool``. ``None`` or blank text means "no value". The result holds
    the fields that have a value, in template order.

    >>> template = (CustomFieldDef(name="edad", type=FieldType.NUMBER),)
    >>> convert_custom_values(template, {"edad": "42"})
    {'edad': Decimal('42')}

    Args:
        template: the campaign's custom fields.
        values: field name -> value as typed.
        partial: when True (an edit of some fields), missing required fields are not
            refused; a required field given as ``None`` still is.

    Raises:
        InvalidCustomField: an unknown field (the message lists the known ones), a value
            of the wrong type, or a required field without value.
    """
    fields = _template(template)
    if not isinstance(values, Mapping):
        raise InvalidCustomField(f"custom values {_show(values)} are not valid: expected a mapping")
    by_name = {f.name: f for f in fields}
    given: dict[str, object] = {}
    for name, value in values.items():
        if not isinstance(name, str) or name not in by_name:
            raise InvalidCustomField(
                f"{_show(name)} is not a custom field of the campaign: expected one of "
                f"{', '.join(by_name) or '(no custom fields)'}"
            )
        given[name] = value
    result: dict[str, CustomValue] = {}
    for field in fields:
        value = given.get(field.name)
        blank = _is_blank(value)
        if blank and field.required and (not partial or field.name in given):
            raise InvalidCustomField(
                f"custom field {field.name!r} is required: got {_show(value)}, expected a value"
            )
        if not blank:
            result[field.name] = _convert(field, value)
    return result


def _merge_custom(
    template: Sequence[CustomFieldDef], current: Mapping[str, CustomValue], changes: object
) -> dict[str, CustomValue]:
    """The custom values after an edit: given fields are set, those given as None removed."""
    if not isinstance(changes, Mapping):
        raise InvalidCustomField(
            f"custom values {_show(changes)} are not valid: expected a mapping"
        )
    converted = convert_custom_values(template, changes, partial=True)
    merged = {k: v for k, v in current.items() if k not in changes}
    merged.update(converted)
    order = [f.name for f in template]
    return {name: merged[name] for name in order if name in merged}


# --- K10 search ---------------------------------------------------------------------------------


def _digits(text: str) -> str:
    return "".join(c for c in text if "0" <= c <= "9")


def _haystack(contact: Contact, company_name: str) -> str:
    parts = [contact.first_names, contact.last_names, company_name, contact.code]
    if contact.document is not None:
        parts.append(contact.document.number)
    parts.extend(c.value for c in contact.channels)
    return fold("\n".join(parts))


def _matcher(query: str, region: str) -> Callable[[Contact, str], bool]:
    """A predicate (contact, company name) -> bool for one query in one region."""
    words = [fold(w) for w in query.split()]
    variants = [(w, w.translate(_WORD_SEPARATORS)) for w in words]
    phone: str | None = None
    phone_digits = ""
    stripped = query.strip()
    if _PHONE_LIKE.fullmatch(stripped) and len(_digits(stripped)) >= _MIN_PHONE_DIGITS:
        try:
            phone = normalize_phone(stripped, region)
        except InvalidPhoneNumber:
            phone_digits = _digits(stripped)

    def matches(contact: Contact, company_name: str) -> bool:
        if phone is not None and phone in contact.phones:
            return True
        if phone_digits and any(phone_digits in _digits(p) for p in contact.phones):
            return True
        hay = _haystack(contact, company_name)
        return all(w in hay or (bool(c) and c in hay) for w, c in variants)

    return matches


def contact_matches(contact: Contact, query: str, region: str, *, company_name: str = "") -> bool:
    """Tell whether a contact matches an agent's search words (K10, K15).

    >>> jose = Contact(campaign="ventas", code="12345678", first_names="José",
    ...                last_names="Pérez")
    >>> contact_matches(jose, "perez jose", "PE")
    True

    Args:
        contact: the contact.
        query: the words typed; every word must match.
        region: the campaign's region, for a phone-looking query.
        company_name: the name of the contact's company, when it has one.

    Raises:
        RuleViolation: an argument is not of the expected type.
    """
    _require_contact(contact)
    text = checks.name(query, "search query")
    company = checks.name(company_name, "company_name")
    return _matcher(text, checks.region(region, "region", known=_REGIONS))(contact, company)


def search_contacts(store: Store, campaign: str | None, query: str) -> list[Contact]:
    """Live contacts of a campaign (or of all when ``None``) matching the query (K10).

    Results come in (campaign, code) order; an empty query lists every live contact.

    Raises:
        UnknownCampaign: the campaign is not declared.
        RuleViolation: the query is not a text.
    """
    text = checks.name(query, "search query")
    with store.unit_of_work() as uow:
        if campaign is not None:
            _campaign(uow, campaign)
        regions = {c.id: c.region for c in uow.list_campaigns()}
        matchers: dict[str, Callable[[Contact, str], bool]] = {}
        names: dict[str, str] = {}
        found: list[Contact] = []
        for contact in uow.list_contacts(campaign):
            if contact.merged_into is not None:
                continue
            region = regions.get(contact.campaign, "PE")
            match = matchers.get(region)
            if match is None:
                match = matchers[region] = _matcher(text, region)
            company = ""
            if contact.company is not None:
                if contact.company not in names:
                    stored = uow.get_company(contact.company)
                    names[contact.company] = stored.name if stored else contact.company
                company = names[contact.company]
            if match(contact, company):
                found.append(contact)
    return found


# --- K1/K2 codes, companies ---------------------------------------------------------------------


def generated_code(number: int) -> str:
    """The code of a contact created without a document (K2): ``C-`` and 6 digits.

    >>> generated_code(31)
    'C-000031'

    Raises:
        RuleViolation: ``number`` is not a whole number >= 1.
    """
    return f"C-{checks.whole(number, 'contact number', minimum=1):06d}"


def code_for(document: Document) -> str:
    """The code a document gives its contact: its compact number (K2).

    Raises:
        InvalidDocument: ``document`` is not a valid Document.
    """
    return document_code(document)


def _document_from(value: object) -> Document | None:
    """A validated document from None, a Document, a mapping {type, number} or a pair."""
    if value is None:
        return None
    if isinstance(value, Document):
        return make_document(value.type, value.number)
    if isinstance(value, Mapping):
        fields = checks.mapping(value, "a document", InvalidDocument, keys=("type", "number"))
        if "type" not in fields or "number" not in fields:
            raise InvalidDocument(
                f"document {_show(value)} is not valid: expected a type and a number"
            )
        return make_document(fields["type"], fields["number"])
    if isinstance(value, tuple | list) and len(value) == 2:
        return make_document(value[0], value[1])
    raise InvalidDocument(
        f"{_show(value)} is not a document: expected a Document, a mapping with type "
        "and number, or a (type, number) pair"
    )


def make_company(
    name: object,
    tax_id: object = None,
    address: object = None,
    phone: object = None,
    region: object = "PE",
) -> Company:
    """Validate and build a company (002 "Empresa"), its id taken from the tax id (K16).

    >>> make_company("ACME SAC", ("RUC", "20512333797")).id
    '20512333797'
    >>> make_company("  Acme   SAC ").id
    'N:acme sac'

    Args:
        name: the company name.
        tax_id: its tax document: a Document, a mapping {type, number} or a pair.
        address: an Address or a mapping of its fields.
        phone: a phone number, normalized with ``region``.
        region: default region of the phone.

    Raises:
        RuleViolation, InvalidDocument, InvalidAddress, InvalidPhoneNumber.
    """
    company_name = checks.name(name, "company name", required=True)
    document = _document_from(tax_id)
    return Company(
        id=document_code(document) if document else "N:" + name_key(company_name),
        name=company_name,
        tax_id=document,
        address=None if address is None else _address_from(address),
        phone=None
        if phone is None
        else normalize_phone(phone, checks.region(region, "region", known=_REGIONS)),
    )


def _company_by_name(uow: ContactRepository, name: str) -> Company | None:
    key = name_key(name)
    found = uow.get_company("N:" + key)
    if found is not None:
        return found
    if isinstance(uow, CompanyNameIndex):
        return uow.company_by_name_key(key)
    return next((c for c in uow.list_companies() if name_key(c.name) == key), None)


def _find_or_create(uow: ContactRepository, company: Company) -> Company:
    if company.tax_id is not None:
        found = uow.get_company(company.id)
    else:
        found = _company_by_name(uow, company.name)
    if found is None:
        uow.put_company(company)
        found = company
    return found


def find_or_create_company(
    store: Store,
    name: object,
    tax_id: object = None,
    *,
    address: object = None,
    phone: object = None,
    region: object = "PE",
    at: dt.datetime,
    actor: str | None = None,
) -> Company:
    """The company with that tax id, else (without a tax id) that name, else a new one (K16).

    Raises:
        RuleViolation, InvalidDocument, InvalidAddress, InvalidPhoneNumber: bad input.
    """
    company = make_company(name, tax_id, address, phone, region)
    checks.aware(at)
    checks.actor(actor)
    with store.unit_of_work() as uow:
        found = _find_or_create(uow, company)
        uow.commit()
    return found


def _company_ref(value: object) -> str | None:
    if value is None:
        return None
    return checks.name(value, "company", required=True)


def find_company(uow: ContactRepository, ref: object) -> Company | None:
    """The stored company a contact's ``company`` reference names, without creating one.

    The same lookup :func:`create_contact` makes (K16): the company with that id, else
    the one with that name (folded, whitespace collapsed). None when no company
    matches, or ``ref`` is not a valid reference (creating the contact would say why).

    Raises:
        RuleViolation: ``uow`` is not a unit of work.
    """
    if not callable(getattr(uow, "get_company", None)):
        raise RuleViolation(f"{_show(uow)} is not a unit of work: expected a ccdomain unit of work")
    try:
        text = _company_ref(ref)
        if text is None:
            return None
        found = uow.get_company(text)
        return found if found is not None else _company_by_name(uow, make_company(text).name)
    except CcdomainError:
        return None


def _resolve_company(uow: ContactRepository, ref: str) -> str:
    """The id of the company ``ref`` names (an id or a name), created by name if unknown."""
    if uow.get_company(ref) is not None:
        return ref
    return _find_or_create(uow, make_company(ref)).id


# --- views ---------------------------------------------------------------------------------------


@attrs.frozen
class PersonalData:
    """The "Datos personales" tab (000): personal fields, then the campaign's custom fields.

    ``custom`` lists every template field in template order, with ``None`` when unset.
    """

    personal: tuple[tuple[str, object], ...]
    custom: tuple[tuple[str, CustomValue | None], ...]


@attrs.frozen(kw_only=True)
class ContactDetail:
    """The "Ver detalle" view (002): summary, channels by kind, company, addresses."""

    contact: Contact
    avatar: str
    full_name: str
    channels: dict[ChannelKind, tuple[str, ...]] = attrs.field(hash=False)
    company: Company | None
    addresses: tuple[Address, ...]


def personal_data_view(
    campaign: Campaign, contact: Contact, company: Company | None = None
) -> PersonalData:
    """The personal data of a contact in two sections (000), for a detail tab.

    Raises:
        RuleViolation: an argument is not of the expected type.
    """
    if not isinstance(campaign, Campaign):
        raise RuleViolation(f"{_show(campaign)} is not a Campaign")
    _require_contact(contact)
    if company is not None and not isinstance(company, Company):
        raise RuleViolation(f"{_show(company)} is not a Company")
    groups = channels_by_kind(contact)
    document = contact.document
    personal: tuple[tuple[str, object], ...] = (
        ("first_names", contact.first_names),
        ("last_names", contact.last_names),
        ("document_type", document.type if document else None),
        ("document_number", document.number if document else None),
        ("emails", groups.get(ChannelKind.EMAIL, ())),
        ("phones", contact.phones),
        ("company", company.name if company else contact.company),
        ("vip", contact.vip),
        ("gender", contact.gender),
        ("tags", contact.tags),
        ("notes", contact.notes),
    )
    custom = tuple((f.name, contact.custom.get(f.name)) for f in campaign.custom_fields)
    return PersonalData(personal=personal, custom=custom)


def contact_detail_view(uow: ContactRepository, contact: Contact) -> ContactDetail:
    """The detail view of a contact (002): channels grouped by kind, company, addresses.

    Addresses come with the primary first, the others in the order added.

    Raises:
        RuleViolation: ``contact`` is not a Contact.
    """
    _require_contact(contact)
    company = uow.get_company(contact.company) if contact.company is not None else None
    addresses = sorted(contact.addresses, key=lambda a: not a.primary)
    return ContactDetail(
        contact=contact,
        avatar=contact_avatar(contact),
        full_name=contact.full_name,
        channels=channels_by_kind(contact),
        company=company,
        addresses=tuple(addresses),
    )


# --- services ------------------------------------------------------------------------------------


def _campaign(uow: ContactRepository, campaign_id: object) -> Campaign:
    found = uow.get_campaign(campaign_id) if isinstance(campaign_id, str) else None
    if found is None:
        raise UnknownCampaign(f"{_show(campaign_id)} is not a declared campaign")
    return found


def live_contact(uow: ContactRepository, campaign: object, code: object) -> Contact:
    """The live contact ``code`` names in ``campaign``, following merge tombstones (M5, K17).

    A merged contact is a tombstone that resolves to the contact it was merged into
    (through every later merge), so reads, links, products, late interactions and
    edits that name it all land on the survivor. Every module that takes a contact
    code reads it through this function. Code and campaign are identifiers: checked
    and normalised (E3) before the lookup.

    Raises:
        UnknownContact: no contact with that code in the campaign.
        RuleViolation: the tombstones form a cycle.
    """
    where = checks.identifier(campaign, "campaign", UnknownContact)
    current = checks.identifier(code, "contact code", UnknownContact)
    for _ in range(_MAX_TOMBSTONE_HOPS):
        contact = uow.get_contact(where, current)
        if contact is None:
            raise UnknownContact(f"no contact with code {_show(current)} in campaign {where!r}")
        if contact.merged_into is None:
            return contact
        current = contact.merged_into
    raise RuleViolation(f"contact {_show(code)} in campaign {where!r}: tombstones form a cycle")


def resolve_contact_code(uow: ContactRepository, campaign: str, code: str) -> str:
    """The code of the live contact ``code`` refers to (:func:`live_contact`, M5).

    Raises:
        UnknownContact: no contact with that code in the campaign.
        RuleViolation: the tombstones form a cycle.
    """
    return live_contact(uow, campaign, code).code


def get_contact(store: Store, campaign: str, code: str) -> Contact:
    """The live contact ``code`` refers to in ``campaign`` (a merged code resolves, M5).

    Raises:
        UnknownContact: no contact with that code.
    """
    with store.unit_of_work() as uow:
        return live_contact(uow, campaign, code)


def _tags(value: object) -> tuple[str, ...]:
    tags = (
        checks.identifier(t, "tag", limit=checks.LABEL_MAX) for t in checks.items(value, "tags")
    )
    return tuple(dict.fromkeys(tags))


def _addresses(value: object) -> tuple[Address, ...]:
    holder = Contact(campaign="", code="")
    for item in checks.items(value, "addresses", InvalidAddress):
        holder = add_address(holder, _address_from(item))
    return holder.addresses


def _checked_fields(
    campaign: Campaign, changes: Mapping[str, object], current: Contact | None
) -> dict[str, Any]:
    """Validate the given contact fields; the company stays a reference to resolve later."""
    unknown = sorted(set(changes) - _CONTACT_FIELDS)
    if unknown:
        raise RuleViolation(
            f"{', '.join(map(repr, unknown))} are not contact fields: expected some of "
            f"{', '.join(sorted(_CONTACT_FIELDS))}"
        )
    out: dict[str, Any] = {}
    for name, value in changes.items():
        if name in ("first_names", "last_names"):
            out[name] = checks.name(value, name)
        elif name == "document":
            out[name] = _document_from(value)
        elif name == "company":
            out[name] = _company_ref(value)
        elif name == "vip":
            out[name] = checks.flag(value, "vip")
        elif name == "channels":
            items = checks.items(value, "channels", InvalidChannel)
            out[name] = dedupe_channels(_channel_from(c, campaign.region) for c in items)
        elif name == "addresses":
            out[name] = _addresses(value)
        elif name == "custom":
            if current is None:
                out[name] = convert_custom_values(
                    campaign.custom_fields,
                    {} if value is None else value,  # type: ignore[arg-type]
                )
            else:
                edits = {} if value is None else value
                out[name] = _merge_custom(campaign.custom_fields, current.custom, edits)
        elif name == "gender":
            out[name] = checks.name(value, "gender", limit=checks.LABEL_MAX)
        elif name == "tags":
            out[name] = _tags(value)
        else:
            out[name] = checks.text(value, "notes", limit=checks.COMMENT_MAX)
    return out


def _event(
    kind: EventKind, contact: Contact, at: dt.datetime, actor: str | None, fields: Iterable[str]
) -> Event:
    # Only field names, never values: the log must hold no personal data (I4).
    names = tuple(sorted(fields))
    return Event(
        kind=kind,
        at=at,
        actor=actor,
        campaign=contact.campaign,
        contact=contact.code,
        payload=ContactCreated(fields=names)
        if kind is EventKind.CONTACT_CREATED
        else ContactUpdated(fields=names),
    )


def create_contact(
    store: Store,
    campaign: str,
    *,
    first_names: object = "",
    last_names: object = "",
    document: object = None,
    company: object = None,
    vip: object = False,
    channels: object = (),
    addresses: object = (),
    custom: object = None,
    gender: object = "",
    tags: object = (),
    notes: object = "",
    at: dt.datetime,
    actor: str | None = None,
) -> Contact:
    """Create a contact in a campaign (K1, K2), validating everything first (E2).

    The code is the document's compact number, else a generated ``C-000031``.

    Args:
        store: the store.
        campaign: the campaign id.
        first_names, last_names, gender, notes: texts.
        document: a Document, a mapping {type, number} or a (type, number) pair.
        company: a company id or name (a company unknown by both is created by name).
        vip: the VIP flag.
        channels: ContactChannel or mappings {kind, value[, label]}, normalized (K4).
        addresses: Address or mappings; the first is primary unless one asks (K8).
        custom: custom field values, checked against the campaign template (K9).
        tags: short texts.
        at: when it happened (with a UTC offset).
        actor: who did it.

    Raises:
        UnknownCampaign, DuplicateContact, InvalidDocument, InvalidChannel,
        InvalidPhoneNumber, InvalidAddress, InvalidCustomField, RuleViolation.
    """
    when, who = checks.aware(at), checks.actor(actor)
    given: dict[str, object] = {
        "first_names": first_names,
        "last_names": last_names,
        "document": document,
        "company": company,
        "vip": vip,
        "channels": channels,
        "addresses": addresses,
        "custom": custom,
        "gender": gender,
        "tags": tags,
        "notes": notes,
    }
    with store.unit_of_work() as uow:
        found = _campaign(uow, campaign)
        fields = _checked_fields(found, given, None)
        doc: Document | None = fields["document"]
        if doc is not None:
            code = document_code(doc)
            if uow.get_contact(found.id, code) is not None:
                raise DuplicateContact(
                    f"a contact with code {code!r} already exists in campaign {found.id!r}: "
                    "expected a document not used by another contact of the campaign"
                )
        else:
            code = generated_code(uow.next_contact_number(found.id))
        ref = fields.pop("company")
        fields["company"] = None if ref is None else _resolve_company(uow, ref)
        contact = Contact(campaign=found.id, code=code, **fields)
        uow.add_contact(contact)
        set_fields = [k for k, v in fields.items() if v]
        uow.append_event(_event(EventKind.CONTACT_CREATED, contact, when, who, set_fields))
        uow.commit()
    return contact


def _edit(
    store: Store,
    campaign: str,
    code: str,
    at: dt.datetime,
    actor: str | None,
    change: Callable[[UnitOfWork, Campaign, Contact], Contact],
) -> Contact:
    """Load a live contact, apply ``change`` and save it with an event, in one unit of work."""
    when, who = checks.aware(at), checks.actor(actor)
    with store.unit_of_work() as uow:
        found = _campaign(uow, campaign)
        before = live_contact(uow, found.id, code)
        after = change(uow, found, before)
        if after == before:
            return before
        changed = [
            f.name
            for f in attrs.fields(Contact)
            if getattr(before, f.name) != getattr(after, f.name)
        ]
        uow.update_contact(after)
        uow.append_event(_event(EventKind.CONTACT_UPDATED, after, when, who, changed))
        uow.commit()
    return after


def update_contact(
    store: Store,
    campaign: str,
    code: str,
    *,
    at: dt.datetime,
    actor: str | None = None,
    **changes: object,
) -> Contact:
    """Change fields of a contact: those of :func:`create_contact` (E2, K11, K17).

    ``channels`` and ``addresses`` replace the lists; ``custom`` changes only the
    fields given (``None`` removes one). The code never changes, even with a new
    document (K11). A merged contact's code edits the contact it was merged into (K17).

    Raises:
        UnknownContact, UnknownCampaign, DuplicateContact, RuleViolation (unknown field),
        and the validation errors of :func:`create_contact`.
    """

    def change(uow: UnitOfWork, found: Campaign, before: Contact) -> Contact:
        fields = _checked_fields(found, changes, before)
        doc = fields.get("document")
        if isinstance(doc, Document) and doc != before.document:
            other = uow.get_contact(found.id, document_code(doc))
            if other is not None and other.code != before.code:
                raise DuplicateContact(
                    f"document {doc.number!r} is the code of contact {other.code!r} in campaign "
                    f"{found.id!r}: expected a document not used by another contact"
                )
        if "company" in fields:
            ref = fields.pop("company")
            fields["company"] = None if ref is None else _resolve_company(uow, ref)
        return attrs.evolve(before, **fields)

    return _edit(store, campaign, code, at, actor, change)


def add_contact_phone(
    store: Store,
    campaign: str,
    code: str,
    raw: object,
    *,
    kind: object = ChannelKind.PHONE,
    label: object = "",
    at: dt.datetime,
    actor: str | None = None,
) -> Contact:
    """Add a phone to a contact, normalized with the campaign's region (K5)."""
    return _edit(
        store, campaign, code, at, actor, lambda _, c, k: add_phone(k, raw, c.region, kind, label)
    )


def edit_contact_phone(
    store: Store,
    campaign: str,
    code: str,
    old: object,
    new_raw: object,
    *,
    at: dt.datetime,
    actor: str | None = None,
) -> Contact:
    """Replace a phone of a contact, re-normalized (K5)."""
    return _edit(
        store, campaign, code, at, actor, lambda _, c, k: edit_phone(k, old, new_raw, c.region)
    )


def delete_contact_phone(
    store: Store,
    campaign: str,
    code: str,
    value: object,
    *,
    at: dt.datetime,
    actor: str | None = None,
) -> Contact:
    """Delete a phone of a contact; the last one may go too (K5)."""
    return _edit(store, campaign, code, at, actor, lambda _, c, k: delete_phone(k, value, c.region))


def add_contact_address(
    store: Store,
    campaign: str,
    code: str,
    address: object,
    *,
    primary: bool = False,
    at: dt.datetime,
    actor: str | None = None,
) -> Contact:
    """Add an address (an Address or a mapping) to a contact (K8)."""
    return _edit(
        store,
        campaign,
        code,
        at,
        actor,
        lambda _, c, k: add_address(k, _address_from(address), primary=primary),
    )


def remove_contact_address(
    store: Store,
    campaign: str,
    code: str,
    index: int,
    *,
    at: dt.datetime,
    actor: str | None = None,
) -> Contact:
    """Remove the address at ``index`` of a contact; the oldest left becomes primary (K8)."""
    return _edit(store, campaign, code, at, actor, lambda _, c, k: remove_address(k, index))


def set_contact_primary_address(
    store: Store,
    campaign: str,
    code: str,
    index: int,
    *,
    at: dt.datetime,
    actor: str | None = None,
) -> Contact:
    """Make the address at ``index`` the contact's primary address (K8)."""
    return _edit(store, campaign, code, at, actor, lambda _, c, k: set_primary_address(k, index))
