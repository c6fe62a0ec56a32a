"""Contacts as records: campaigns, lines, codes, channels, phones, avatar, companies (K1-K7).

Pure rules over the frozen models of :mod:`ccdomain.models`: records and raw
fields in, records out; nothing here reads a store or a clock. The services of
:mod:`ccdomain.services.contacts` apply them inside one unit of work.

- K1/K2 codes: a document's compact number (:func:`code_for`), else ``C-000031``
  (:func:`generated_code`); :func:`build_contact` turns raw fields into a valid
  Contact, :func:`edit_contact` changes some of them.
- K4 channels grouped by kind: :func:`channels_by_kind` (the channel rules, K4 and
  K12, are in :mod:`ccdomain.rules.contact_channels`).
- K5 phones: :func:`add_phone`, :func:`edit_phone`, :func:`delete_phone`.
- K6 templates: :func:`check_template_precondition`.
- K7 avatar: :func:`avatar` (``"JP★"``), :func:`contact_avatar`.
- Campaigns and lines (T6, C3-C5 settings): :func:`make_campaign`, :func:`make_line`.

Choices made where the product documents are silent:

- K11 Codes are stable: a contact keeps its code when its document is set or
  changed later (:func:`edit_contact` never changes it); the service refuses the
  change only when the new document's compact number is the code of another
  contact of the campaign.
- K13 Avatar: the first letter or digit (as written, upper-cased, accents kept)
  of the first given name and of the first last name, skipping leading
  particles (de, del, la, las, los, y, da, das, do, dos, di, van, von, der)
  unless the particle is the whole last name; ``""`` when there is no name,
  the star still added for a VIP.
- K16 A company's id is its tax document's compact number, else ``"N:"`` and
  its folded name (:func:`make_company`); a contact's company reference names
  the known company with that id, else the one with that name, else a new
  company by name (:func:`company_id`).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Final

import attrs
import phonenumbers

from ccdomain import checks
from ccdomain._folding import fold, name_key
from ccdomain.documents import Document, document_code, make_document
from ccdomain.errors import (
    InvalidAddress,
    InvalidChannel,
    InvalidCustomField,
    InvalidDocument,
    InvalidPhoneNumber,
    InvalidTypification,
    RuleViolation,
)
from ccdomain.errors import show as _show
from ccdomain.models import (
    DEFAULT_BUCKET_LIMITS,
    Address,
    Campaign,
    Channel,
    ChannelKind,
    Company,
    Contact,
    CustomFieldDef,
    CustomValue,
    Line,
)
from ccdomain.models.collections import CollectionsPolicy, aging_buckets
from ccdomain.phones import normalize_phone
from ccdomain.rules.addresses import add_address, address_from
from ccdomain.rules.contact_channels import (
    CHANNEL_KIND_ORDER,
    PHONE_KINDS,
    channel_from,
    channel_kind,
    dedupe_channels,
    email_address,
    instagram_handle,
    normalize_channel,
)
from ccdomain.rules.contact_policy import (
    parse_contact_hours,
    parse_max_daily_attempts,
    parse_stop_words,
)
from ccdomain.rules.custom_fields import (
    convert_custom_values,
    custom_field_from,
    merge_custom_values,
)
from ccdomain.rules.hours import business_calendar, holidays_from, hours_from
from ccdomain.rules.service_levels import service_levels_from

__all__ = [
    "CONTACT_FIELDS",
    "ContactDetail",
    "PersonalData",
    "add_phone",
    "avatar",
    "build_contact",
    "channels_by_kind",
    "check_template_precondition",
    "code_for",
    "company_id",
    "contact_avatar",
    "contact_detail",
    "delete_phone",
    "document_from",
    "edit_contact",
    "edit_phone",
    "generated_code",
    "make_campaign",
    "make_company",
    "make_line",
    "personal_data_view",
    "require_contact",
]

_REGIONS: Final = frozenset(phonenumbers.SUPPORTED_REGIONS)

CONTACT_FIELDS: tuple[str, ...] = (
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
)
"""The fields a contact is created or edited with (:func:`build_contact`, :func:`edit_contact`)."""

_PHONE_CHANNELS: Final = frozenset({Channel.CALL, Channel.WHATSAPP, Channel.SMS})

_PARTICLES: Final = frozenset(
    {"de", "del", "la", "las", "los", "y", "da", "das", "do", "dos", "di", "van", "von", "der"}
)


def require_contact(contact: object) -> Contact:
    """``contact`` itself when it is a Contact.

    Raises:
        RuleViolation: it is not.
    """
    return checks.instance(contact, Contact)


# --- campaigns and lines ----------------------------------------------------------------------


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
    hours: object = None,
    holidays: object = True,
    sla: object = None,
    auto_resolve_after_h: object = None,
    queue: object = "",
    contact_hours: object = None,
    max_daily_attempts: object = None,
    stop_words: object = None,
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
        hours: business hours, ``{"mon-fri": ["08:00-18:00"]}`` or a WeeklySchedule;
            None is always open (H1).
        holidays: true, false, extra dates, ``{"public": ..., "extra": [...]}`` or a
            Holidays record: the region's public holidays and the campaign's own (H1).
        sla: service-level targets, ``{"first_response_min": 30, "resolution_min":
            1440}`` or a ServiceLevels record (H3).
        auto_resolve_after_h: hours without interaction after which an open ticket is
            resolved (P3), from 1 to 24 times ``DAYS_MAX``; None never resolves one.
        queue: the queue of its tickets when neither the interaction nor the line
            names one (X4).
        contact_hours: when outbound contact is allowed (W4, the H1 shape); None: the
            kind's default.
        max_daily_attempts: calls and free-form messages per customer per local day (W5;
            0: no cap); None: the kind's default.
        stop_words: inbound texts that opt a customer out (W3); None: the defaults.

    Raises:
        RuleViolation, InvalidCustomField, InvalidTypification: naming the bad value.

    >>> make_campaign("ventas", region="pe", tolerance="0.50").region
    'PE'
    """
    campaign_id = checks.identifier(id, "campaign id")
    template: list[CustomFieldDef] = []
    for item in checks.items(custom_fields, "custom_fields", InvalidCustomField):
        field = custom_field_from(item)
        if any(f.name == field.name for f in template):
            raise InvalidCustomField(
                f"custom field {field.name!r} is declared twice in campaign {campaign_id!r}: "
                "expected unique names"
            )
        template.append(field)
    paths = checks.items(typifications, "typifications", InvalidTypification)
    code = checks.region(region, "region", known=_REGIONS)
    schedule = hours_from(hours)
    closed = holidays_from(holidays)
    if schedule is not None and closed.public:
        # Refused when declared, not when the first ticket asks for a due instant.
        business_calendar(timezone=checks.timezone(timezone), hours=schedule, region=code)
    return Campaign(
        id=campaign_id,
        name=checks.name(name, "campaign name"),
        kind=checks.identifier(kind, "campaign kind"),
        region=code,
        timezone=checks.timezone(timezone),
        custom_fields=tuple(template),
        typifications=tuple(
            dict.fromkeys(checks.path(p, "typification path", InvalidTypification) for p in paths)
        ),
        grace_days=checks.whole(grace_days, "grace_days", minimum=0, maximum=checks.DAYS_MAX),
        horizon_days=checks.whole(horizon_days, "horizon_days", minimum=1, maximum=checks.DAYS_MAX),
        tolerance=_tolerance(tolerance),
        buckets=_buckets(buckets),
        hours=schedule,
        holidays=closed,
        sla=service_levels_from(sla),
        auto_resolve_after_h=None
        if auto_resolve_after_h is None
        else checks.whole(
            auto_resolve_after_h,
            "auto_resolve_after_h",
            minimum=1,
            maximum=24 * checks.DAYS_MAX,
        ),
        queue=checks.identifier(queue, f"queue of campaign {campaign_id!r}", required=False),
        contact_hours=parse_contact_hours(contact_hours),
        max_daily_attempts=parse_max_daily_attempts(max_daily_attempts),
        stop_words=parse_stop_words(stop_words),
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
    queues: object = None,
) -> Line:
    """Validate and build a line (business identifier, T6).

    With a ``region``, the address of a phone channel (call, WhatsApp, SMS) is
    normalized to E.164 and an email address is lower-cased. ``queue`` is the queue
    of the tickets of its default ``campaign``; ``queues`` maps other campaigns to
    the queue of their tickets on this line (X4).

    >>> make_line("wa-main", "WhatsApp", "+51 1 7001234", region="PE").address
    '+5117001234'

    Raises:
        RuleViolation: a field is not a text or the channel is unknown.
        InvalidPhoneNumber, InvalidChannel: the address does not fit the channel.
    """
    line_id = checks.identifier(id, "line id")
    kind = checks.member(channel, Channel, f"line {line_id!r} has channel")
    value = checks.identifier(address, f"address of line {line_id!r}", limit=checks.ADDRESS_MAX)
    if region is not None:
        if kind in _PHONE_CHANNELS:
            value = normalize_phone(value, checks.region(region, "region", known=_REGIONS))
        elif kind is Channel.EMAIL:
            value = email_address(value)
        elif kind is Channel.INSTAGRAM:
            value = instagram_handle(value)
    return Line(
        id=line_id,
        channel=kind,
        address=value,
        alias=checks.name(alias, f"alias of line {line_id!r}"),
        campaign=checks.identifier(campaign, f"campaign of line {line_id!r}", required=False),
        queue=checks.identifier(queue, f"queue of line {line_id!r}", required=False),
        queues=_line_queues(queues, line_id),
    )


def _line_queues(value: object, line_id: str) -> dict[str, str]:
    """The ``queues`` of a line: a mapping of campaign ids to queue ids (X4)."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise RuleViolation(
            f"queues of line {line_id!r} {_show(value)} are not valid: expected a mapping of "
            'campaign ids to queue ids, like {"soporte": "soporte-n1"}'
        )
    queues: dict[str, str] = {}
    for campaign, queue in value.items():
        where = checks.identifier(campaign, f"campaign in queues of line {line_id!r}")
        queues[where] = checks.identifier(queue, f"queue of campaign {where!r} on line {line_id!r}")
    return dict(sorted(queues.items()))


# --- K4 channels ------------------------------------------------------------------------------


def channels_by_kind(contact: Contact) -> dict[ChannelKind, tuple[str, ...]]:
    """Group a contact's channel values by kind, in :data:`CHANNEL_KIND_ORDER` (K4, K12).

    Kinds the contact has no channel of are left out; values keep their order.

    Raises:
        RuleViolation: ``contact`` is not a Contact.
    """
    require_contact(contact)
    groups: dict[ChannelKind, tuple[str, ...]] = {}
    for kind in CHANNEL_KIND_ORDER:
        values = tuple(dict.fromkeys(c.value for c in contact.channels if c.kind is kind))
        if values:
            groups[kind] = values
    return groups


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
    require_contact(contact)
    found = channel_kind(kind)
    if found not in PHONE_KINDS:
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
    require_contact(contact)
    new = normalize_phone(new_raw, region)
    current = _phone_on(contact, old, region)
    channels = tuple(
        attrs.evolve(c, value=new) if c.kind in PHONE_KINDS and c.value == current else c
        for c in contact.channels
    )
    return attrs.evolve(contact, channels=dedupe_channels(channels))


def delete_phone(contact: Contact, value: object, region: str = "PE") -> Contact:
    """Remove a phone number from every phone and WhatsApp channel holding it (K5).

    Deleting the last phone is allowed: tickets keep their own customer number.

    Raises:
        RuleViolation: ``value`` is not a phone of the contact.
    """
    require_contact(contact)
    current = _phone_on(contact, value, region)
    channels = tuple(
        c for c in contact.channels if not (c.kind in PHONE_KINDS and c.value == current)
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
    require_contact(contact)
    return avatar(contact.first_names, contact.last_names, contact.vip)


# --- K1/K2 codes, K16 companies -----------------------------------------------------------------


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


def document_from(value: object) -> Document | None:
    """A validated document from None, a Document, a mapping {type, number} or a pair (K3).

    >>> document_from({"type": "DNI", "number": "12.345.678"})
    Document(type='DNI', number='12345678')

    Raises:
        InvalidDocument: naming the value.
    """
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
        RuleViolation: a name or field that is not valid.
        InvalidDocument: the tax id is not a valid document.
        InvalidAddress: an address that is not valid.
        InvalidPhoneNumber: a phone that is not valid.
    """
    company_name = checks.name(name, "company name", required=True)
    document = document_from(tax_id)
    return Company(
        id=document_code(document) if document else "N:" + name_key(company_name),
        name=company_name,
        tax_id=document,
        address=None if address is None else address_from(address),
        phone=None
        if phone is None
        else normalize_phone(phone, checks.region(region, "region", known=_REGIONS)),
    )


def _company_ref(value: object) -> str | None:
    if value is None:
        return None
    return checks.name(value, "company", required=True)


def _known_companies(companies: object) -> tuple[Company, ...]:
    known = checks.items(companies, "companies")
    for company in known:
        if not isinstance(company, Company):
            raise RuleViolation(f"companies holds {_show(company)}: expected only Company items")
    return known  # type: ignore[return-value]


def company_id(ref: object, companies: Iterable[Company] = ()) -> str | None:
    """The id of the company a contact's ``company`` reference names (K16).

    The reference is a company id or name: the known company with that id, else
    the one whose name is the same (folded, whitespace collapsed), else the id a
    new company of that name gets (:func:`make_company`). ``None`` names no company.

    >>> acme = make_company("ACME SAC", ("RUC", "20512333797"))
    >>> company_id(" acme  sac", [acme]), company_id("Otra SRL", [acme])
    ('20512333797', 'N:otra srl')

    Raises:
        RuleViolation: ``ref`` is not a text, or ``companies`` not Company records.
    """
    text = _company_ref(ref)
    known = _known_companies(companies)
    if text is None:
        return None
    key = name_key(text)
    by_id = {c.id: c for c in known}
    found = by_id.get(text) or by_id.get("N:" + key)
    if found is None:
        found = next((c for c in known if name_key(c.name) == key), None)
    return found.id if found is not None else "N:" + key


# --- building and editing a contact -------------------------------------------------------------


def _tags(value: object) -> tuple[str, ...]:
    tags = (
        checks.identifier(t, "tag", limit=checks.LABEL_MAX) for t in checks.items(value, "tags")
    )
    return tuple(dict.fromkeys(tags))


def _addresses(value: object) -> tuple[Address, ...]:
    holder = Contact(campaign="", code="")
    for item in checks.items(value, "addresses", InvalidAddress):
        holder = add_address(holder, address_from(item))
    return holder.addresses


def _checked_fields(
    campaign: Campaign,
    changes: Mapping[str, object],
    current: Contact | None,
    companies: tuple[Company, ...],
) -> dict[str, Any]:
    """Validate the given contact fields, in the order given; the company becomes its id."""
    unknown = sorted(set(changes) - set(CONTACT_FIELDS))
    if unknown:
        raise RuleViolation(
            f"{', '.join(map(repr, unknown))} are not contact fields: expected some of "
            f"{', '.join(sorted(CONTACT_FIELDS))}"
        )
    out: dict[str, Any] = {}
    for name, value in changes.items():
        if name in ("first_names", "last_names"):
            out[name] = checks.name(value, name)
        elif name == "document":
            out[name] = document_from(value)
        elif name == "company":
            out[name] = company_id(value, companies)
        elif name == "vip":
            out[name] = checks.flag(value, "vip")
        elif name == "channels":
            items = checks.items(value, "channels", InvalidChannel)
            out[name] = dedupe_channels(channel_from(c, campaign.region) for c in items)
        elif name == "addresses":
            out[name] = _addresses(value)
        elif name == "custom":
            edits = {} if value is None else value
            out[name] = (
                convert_custom_values(campaign.custom_fields, edits)  # type: ignore[arg-type]
                if current is None
                else merge_custom_values(campaign.custom_fields, current.custom, edits)
            )
        elif name == "gender":
            out[name] = checks.name(value, "gender", limit=checks.LABEL_MAX)
        elif name == "tags":
            out[name] = _tags(value)
        else:
            out[name] = checks.text(value, "notes", limit=checks.COMMENT_MAX)
    return out


def _require_campaign(campaign: object) -> Campaign:
    return checks.instance(campaign, Campaign)


def build_contact(
    campaign: Campaign,
    *,
    code: object = None,
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
    companies: Iterable[Company] = (),
) -> Contact:
    """A valid new contact of ``campaign`` from raw fields, as :func:`create_contact` takes them.

    The fields are checked in the order listed (the first bad one is named) and
    normalized: channels by kind with the campaign's region (K4), addresses with
    the first primary (K8), custom values against the template (K9), the document
    by its type (K3). Nothing is read or written: the service adds the store's
    part (a generated code, the duplicate check, creating a new company).

    >>> ventas = make_campaign("ventas")
    >>> jose = build_contact(ventas, first_names="José", last_names="Pérez",
    ...                      document=("DNI", "12.345.678"), vip=True, company="ACME SAC")
    >>> jose.code, jose.company, contact_avatar(jose)
    ('12345678', 'N:acme sac', 'JP★')

    Args:
        campaign: the contact's campaign.
        code: the contact's code. By default the document's compact number (K2); a
            contact without a document needs one (:func:`generated_code` of the
            campaign's next contact number, which only the store knows).
        first_names: the first names.
        last_names: the last names.
        gender: the gender, as typed.
        notes: free notes.
        document: a Document, a mapping {type, number} or a (type, number) pair.
        company: a company id or name, resolved among ``companies`` (:func:`company_id`).
        vip: the VIP flag.
        channels: ContactChannel or mappings {kind, value[, label]}.
        addresses: Address or mappings of their fields.
        custom: custom field values.
        tags: short texts.
        companies: the stored companies ``company`` may name.

    Raises:
        RuleViolation: ``campaign`` is not a Campaign; a code is missing or is not the
            document's; a field is not valid.
        InvalidDocument: naming the bad document.
        InvalidChannel: naming the bad channel.
        InvalidPhoneNumber: naming the bad phone.
        InvalidAddress: naming the bad address.
        InvalidCustomField: naming the bad custom field.
    """
    found = _require_campaign(campaign)
    given = {
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
    fields = _checked_fields(found, given, None, _known_companies(companies))
    doc: Document | None = fields["document"]
    if code is None:
        if doc is None:
            raise RuleViolation(
                "a contact without a document has no code: expected a code "
                "(generated_code of the campaign's next contact number)"
            )
        checked = document_code(doc)
    else:
        checked = checks.identifier(code, "contact code")
        if doc is not None and checked != document_code(doc):
            raise RuleViolation(
                f"code {checked!r} is not the code of document {doc.number!r}: expected "
                f"{document_code(doc)!r} (K2)"
            )
    return Contact(campaign=found.id, code=checked, **fields)


def edit_contact(
    campaign: Campaign,
    contact: Contact,
    changes: Mapping[str, object],
    *,
    companies: Iterable[Company] = (),
) -> Contact:
    """``contact`` with some of the fields of :func:`build_contact` changed (K11).

    ``channels`` and ``addresses`` replace the lists; ``custom`` changes only the
    fields given (``None`` removes one). The code never changes, even with a new
    document (K11).

    >>> ventas = make_campaign("ventas")
    >>> ana = build_contact(ventas, code="C-000001", first_names="Ana")
    >>> edit_contact(ventas, ana, {"document": ("DNI", "87654321")}).code
    'C-000001'

    Raises:
        RuleViolation: an unknown field, or ``campaign``/``contact`` of the wrong type;
            and the validation errors of :func:`build_contact`.
    """
    found = _require_campaign(campaign)
    before = require_contact(contact)
    if not isinstance(changes, Mapping):
        raise RuleViolation(f"contact changes {_show(changes)} are not valid: expected a mapping")
    known = _known_companies(companies)
    return attrs.evolve(before, **_checked_fields(found, changes, before, known))


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


def _optional_company(company: object) -> Company | None:
    if company is not None and not isinstance(company, Company):
        raise RuleViolation(f"{_show(company)} is not a Company")
    return company


def personal_data_view(
    campaign: Campaign, contact: Contact, company: Company | None = None
) -> PersonalData:
    """The personal data of a contact in two sections (000), for a detail tab.

    Raises:
        RuleViolation: an argument is not of the expected type.
    """
    _require_campaign(campaign)
    require_contact(contact)
    _optional_company(company)
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


def contact_detail(contact: Contact, company: Company | None = None) -> ContactDetail:
    """The detail view of a contact (002): channels grouped by kind, its company, addresses.

    Addresses come with the primary first, the others in the order added.

    Raises:
        RuleViolation: ``contact`` is not a Contact, or ``company`` not a Company.
    """
    require_contact(contact)
    addresses = sorted(contact.addresses, key=lambda a: not a.primary)
    return ContactDetail(
        contact=contact,
        avatar=contact_avatar(contact),
        full_name=contact.full_name,
        channels=channels_by_kind(contact),
        company=_optional_company(company),
        addresses=tuple(addresses),
    )
