"""Contact channels: kinds, normalized values, deduplication (rules K4, K12).

- K4 Channels are phone, WhatsApp, email, Messenger and Instagram; values are
  normalized per kind (:func:`normalize_channel`) and deduplicated
  (:func:`dedupe_channels`).

Choices made where the product documents are silent:

- K12 Channel kinds are named by their value or a few aliases (``correo``,
  ``telefono``, ``wa``, ``ig``...); emails are lower-cased and checked for
  ``local@domain.tld``; Instagram handles lose a leading ``@`` and are
  lower-cased; Messenger ids are kept as typed (whitespace collapsed). Detail
  views group channels in the order the product lists them
  (:data:`CHANNEL_KIND_ORDER`): WhatsApp, email, phone, Messenger, Instagram.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Final

from ccdomain import checks
from ccdomain._folding import fold
from ccdomain.errors import InvalidChannel
from ccdomain.errors import show as _show
from ccdomain.models import ChannelKind, ContactChannel
from ccdomain.phones import normalize_phone

__all__ = [
    "CHANNEL_KIND_ORDER",
    "PHONE_KINDS",
    "channel_from",
    "channel_kind",
    "dedupe_channels",
    "email_address",
    "instagram_handle",
    "normalize_channel",
]

CHANNEL_KIND_ORDER: tuple[ChannelKind, ...] = (
    ChannelKind.WHATSAPP,
    ChannelKind.EMAIL,
    ChannelKind.PHONE,
    ChannelKind.MESSENGER,
    ChannelKind.INSTAGRAM,
)
"""Order of the channel groups in a detail view (002: WhatsApp, Correo, Telefonía, ...)."""

PHONE_KINDS: Final = frozenset({ChannelKind.PHONE, ChannelKind.WHATSAPP})
"""The channel kinds whose values are phone numbers (E.164)."""

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


def email_address(value: str) -> str:
    """An email address checked (``local@domain.tld``), trimmed and case-folded (K12, X1).

    >>> email_address(" Jose@Example.com ")
    'jose@example.com'

    Raises:
        InvalidChannel: naming the value.
    """
    text = value.strip()
    match = _EMAIL.fullmatch(text)
    if match is None or len(text) > 254 or len(match.group(1)) > 64:
        raise InvalidChannel(
            f"{_show(value)} is not a valid email address: expected local@domain.tld"
        )
    return text.casefold()


def instagram_handle(value: str) -> str:
    """An Instagram handle checked: leading ``@`` dropped, lower case, letters digits . _ (K12).

    >>> instagram_handle("@Pepe.Perez_")
    'pepe.perez_'

    Raises:
        InvalidChannel: naming the value.
    """
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
    if found in PHONE_KINDS:
        normalized = normalize_phone(text, region)
    elif found is ChannelKind.EMAIL:
        normalized = email_address(text)
    elif found is ChannelKind.INSTAGRAM:
        normalized = instagram_handle(text)
    else:
        normalized = text
    return ContactChannel(kind=found, value=normalized, label=tag)


def channel_from(value: object, region: str) -> ContactChannel:
    """A normalized channel from a ContactChannel or a mapping {kind, value[, label]} (K4).

    Raises:
        InvalidChannel, InvalidPhoneNumber: naming the value.
    """
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
