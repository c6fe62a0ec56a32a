"""Contact matching: candidates for a phone, automatic and manual links, merges (M3-M14, X1-X5).

The public module of the matching family: it re-exports the rules and services
below, and keeps the names and call shapes from before the API convention
working until 1.0 (each warns with a :class:`DeprecationWarning`). Where each
part lives, with the rules it holds:

- :mod:`ccdomain.phones`: ``normalize_phone`` (M1, M2, M13) and the phone keys
  the tiers match on, re-exported here, their public home.
- :mod:`ccdomain.rules.matching`: tiers, candidates, ranking and the link
  decision (M3, M4, M6, M7, M8), a ticket's customer as a channel (M12), the
  identity keys of a contact and of a customer address (X1, X2).
- :mod:`ccdomain.rules.merge`: the merged contact, its conflicts and the "same
  value" keys (M5, M10, M11).
- :mod:`ccdomain.services.matching`: :func:`find_candidates`,
  :func:`find_identities` (X2), :func:`identity_candidates`,
  :func:`contact_activity` (M14) and :func:`auto_link_contact` (M4, X1).
- :mod:`ccdomain.services.merge`: :func:`plan_merge` and :func:`apply_merge`
  (M5, M9, M10).
- :mod:`ccdomain.services.links`: :func:`link_ticket` and
  :func:`create_contact_from_ticket` (M4, M8, M12, T19).

Deprecated names: ``link_ticket_to_contact`` (use :func:`link_ticket`).
Deprecated call shapes: positional arguments after the store of
:func:`find_candidates`, :func:`identity_candidates`, :func:`contact_activity`,
:func:`auto_link_contact`, :func:`plan_merge` (and its ``into_code=`` and
``from_code=``) and :func:`apply_merge`.
"""

from __future__ import annotations

from ccdomain import checks
from ccdomain._deprecation import deprecated_alias
from ccdomain.phones import (
    country_code,
    national_number,
    normalize_phone,
    phone_suffix,
    phone_variants,
    phone_variants_with_reason,
)
from ccdomain.rules.matching import (
    IDENTITY_KINDS,
    SUFFIX_DIGITS,
    Candidate,
    LinkDecision,
    LinkOutcome,
    MatchTier,
    customer_identity_key,
    decide_link,
    document_key,
    identity_keys,
)
from ccdomain.rules.merge import (
    FieldConflict,
    MergeMoves,
    MergePlan,
    address_key,
    channel_key,
    merged_contact,
)
from ccdomain.services.links import create_contact_from_ticket, link_ticket
from ccdomain.services.matching import (
    auto_link_contact,
    contact_activity,
    find_candidates,
    find_identities,
    identity_candidates,
)
from ccdomain.services.merge import apply_merge, plan_merge

__all__ = [
    "IDENTITY_KINDS",
    "SUFFIX_DIGITS",
    "Candidate",
    "FieldConflict",
    "LinkDecision",
    "LinkOutcome",
    "MatchTier",
    "MergeMoves",
    "MergePlan",
    "address_key",
    "apply_merge",
    "auto_link_contact",
    "channel_key",
    "contact_activity",
    "country_code",
    "create_contact_from_ticket",
    "customer_identity_key",
    "decide_link",
    "document_key",
    "find_candidates",
    "find_identities",
    "identity_candidates",
    "identity_keys",
    "link_ticket",
    "link_ticket_to_contact",
    "merged_contact",
    "national_number",
    "normalize_phone",
    "phone_suffix",
    "phone_variants",
    "phone_variants_with_reason",
    "plan_merge",
]

# --- deprecated names (removed in 1.0) ---------------------------------------------------------

# The old name required an agent (link_ticket also takes None, for a link nobody made by hand).
link_ticket_to_contact = deprecated_alias(
    link_ticket,
    "link_ticket_to_contact",
    renamed={"contact_code": "contact"},
    adapt=lambda store, *, agent, **kw: link_ticket(store, agent=checks.agent(agent), **kw),
)
