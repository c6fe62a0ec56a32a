"""Errors raised by ccdomain (E1).

Every rejection raises a subclass of :class:`CcdomainError`, which subclasses
:class:`ValueError`. Messages name the offending value and what was expected::

    >>> raise InvalidPhoneNumber("'98765' is not a valid phone number for region PE")
    Traceback (most recent call last):
    ...
    ccdomain.errors.InvalidPhoneNumber: '98765' is not a valid phone number for region PE

Each class has a default message used when it is raised without arguments.
"""

from __future__ import annotations

import datetime as dt

__all__ = [
    "BlockedIdentity",
    "CcdomainError",
    "CommentImmutable",
    "ContactNotAllowed",
    "CurrencyMismatch",
    "DuplicateContact",
    "InvalidAddress",
    "InvalidChannel",
    "InvalidCustomField",
    "InvalidData",
    "InvalidDocument",
    "InvalidEvent",
    "InvalidMoney",
    "InvalidPhoneNumber",
    "InvalidPromise",
    "InvalidTypification",
    "RuleViolation",
    "StoreError",
    "StoreUnavailable",
    "TicketClosed",
    "UnknownAgent",
    "UnknownCampaign",
    "UnknownContact",
    "UnknownLine",
    "UnknownPayment",
    "UnknownProduct",
    "UnknownPromise",
    "UnknownTicket",
    "WindowClosed",
    "require_aware",
    "show",
]


class CcdomainError(ValueError):
    """Base class of every error ccdomain raises on bad input or a broken rule."""

    default_message = "the value was rejected by a ccdomain rule"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message if message is not None else self.default_message)

    @property
    def message(self) -> str:
        """The human-readable message."""
        return str(self.args[0])


class InvalidPhoneNumber(CcdomainError):
    """A phone number that cannot be parsed or is not valid for its region (M1, M2)."""

    default_message = "the value is not a valid phone number"


class InvalidDocument(CcdomainError):
    """An identity document whose type is unknown or whose number fails its format (K3)."""

    default_message = "the value is not a valid identity document"


class DuplicateContact(CcdomainError):
    """A contact code that already exists in the campaign (K1, K2)."""

    default_message = "a contact with that code already exists in the campaign"


class UnknownContact(CcdomainError):
    """A contact code that the store does not hold."""

    default_message = "no contact with that code"


class UnknownCampaign(CcdomainError):
    """A campaign id that the store does not hold."""

    default_message = "no campaign with that id"


class UnknownLine(CcdomainError):
    """A line (business identifier) that the store does not hold (T6)."""

    default_message = "no line with that id"


class UnknownTicket(CcdomainError):
    """A ticket number that the store does not hold."""

    default_message = "no ticket with that number"


class UnknownProduct(CcdomainError):
    """A product id that the store does not hold."""

    default_message = "no product with that id"


class UnknownPayment(CcdomainError):
    """A payment id that the store does not hold."""

    default_message = "no payment with that id"


class UnknownPromise(CcdomainError):
    """A promise id that the store does not hold."""

    default_message = "no promise with that id"


class UnknownAgent(CcdomainError):
    """An agent id that the store does not hold (A1, A4)."""

    default_message = "no agent with that id"


class InvalidCustomField(CcdomainError):
    """A custom field unknown to the campaign template, or a value of the wrong type (K9)."""

    default_message = "the custom field value does not fit the campaign template"


class InvalidAddress(CcdomainError):
    """A postal address that is empty or malformed (K8)."""

    default_message = "the address is not valid"


class InvalidChannel(CcdomainError):
    """A contact channel (email, Messenger, ...) whose kind or value is not valid (K4)."""

    default_message = "the contact channel is not valid"


class InvalidMoney(CcdomainError):
    """An amount or currency that is not valid money (C1)."""

    default_message = "the amount is not valid money"


class CurrencyMismatch(InvalidMoney):
    """Two amounts in different currencies were combined (C1)."""

    default_message = "the amounts are in different currencies"


class InvalidPromise(CcdomainError):
    """A promise to pay that breaks a rule of C4."""

    default_message = "the promise to pay breaks a rule"


class InvalidTypification(CcdomainError):
    """A typification path that is not in the campaign's tree (T8)."""

    default_message = "the typification path is not in the campaign's tree"


class TicketClosed(CcdomainError):
    """An operation that needs an open ticket was asked of a closed one (T3)."""

    default_message = "the ticket is closed"


class BlockedIdentity(CcdomainError):
    """An interaction from or to a blocked identity (I3)."""

    default_message = "the identity is blocked in this campaign"


class CommentImmutable(CcdomainError):
    """An attempt to edit or delete a case comment (I2)."""

    default_message = "case comments cannot be edited or deleted"


class InvalidEvent(CcdomainError):
    """A malformed event: a line of a replay file, or an Event whose payload is not its kind's."""

    default_message = "the event is malformed"


class RuleViolation(CcdomainError):
    """A domain rule refused the operation; the message says which and why."""

    default_message = "the operation breaks a domain rule"


class StoreError(CcdomainError):
    """A store could not complete an operation (the database is locked, corrupt, ...)."""

    default_message = "the store could not complete the operation"


class StoreUnavailable(StoreError):
    """The store cannot read or write its database, whatever the operation (E1).

    The database is read-only, full, failing (disk I/O), locked by another writer past
    the timeout, damaged, or the store is closed. The failure is the storage's, not
    the values': any other call would fail the same way, so a replay stops at it
    (``ccdomain replay`` exits with status 2) instead of reporting every later line as
    bad. Other store errors are about the operation and its values.
    """

    default_message = "the store cannot read or write its database"


class InvalidData(CcdomainError):
    """Serialized data (JSON) that does not read back as the expected model."""

    default_message = "the data does not describe the expected model"


class ContactNotAllowed(RuleViolation):
    """An outbound contact the campaign's contact policy refuses (W3-W6).

    The customer opted out of the channel (W3), it is outside the campaign's contact
    hours (W4), or the day's attempts are used up (W5). The message names the rule,
    the customer and the time (W6); nothing was sent or recorded.
    """

    default_message = "the contact policy refuses this outbound contact"


class WindowClosed(ContactNotAllowed):
    """A free-form message outside the customer-service window of its line (W1, W2).

    The message names the last inbound message's time (or says there is none) and
    when the window closed; only a template may be sent (W1).
    """

    default_message = "the customer-service window is closed"


def show(value: object, limit: int = 60) -> str:
    """``repr(value)`` cut to about ``limit`` characters, for error messages (E1).

    A value whose ``__repr__`` fails is shown by its type, so the real error is
    never hidden behind another one.

        >>> show("x" * 100)[-5:]
        'xx...'
    """
    try:
        text = repr(value)
    except Exception:
        text = f"<{type(value).__name__} object>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def require_aware(value: object, what: str = "at") -> dt.datetime:
    """``value`` when it is a datetime with a UTC offset (event times always carry one).

    Kept for callers of earlier versions: :func:`ccdomain.checks.aware` is the check.

    Raises:
        RuleViolation: naming ``what`` and the value otherwise.
    """
    from ccdomain.checks import aware  # checks imports this module

    return aware(value, what)
