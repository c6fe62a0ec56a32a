"""Phone normalization and contact matching (M1-M5).

``normalize_phone`` lives in :mod:`ccdomain.phones` and is re-exported here,
its public home. This module finds which contact a phone belongs to.
"""

from __future__ import annotations

from ccdomain.phones import normalize_phone
from ccdomain.ports import ContactRepository

__all__ = ["auto_link_contact", "normalize_phone"]


def auto_link_contact(uow: ContactRepository, campaign: str, customer: str) -> str | None:
    """The code of the contact a ticket of ``customer`` in ``campaign`` links to (M4).

    A ticket is linked automatically only when exactly one contact of the
    ticket's campaign has the customer's E.164 number (one EXACT candidate);
    otherwise it stays unlinked (``None``) and the candidates are offered.
    """
    exact = [c for c in uow.contacts_by_phone(customer) if c.campaign == campaign]
    return exact[0].code if len(exact) == 1 else None
