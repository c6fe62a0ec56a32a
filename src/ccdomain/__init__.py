"""ccdomain: the rule book of a contact center.

Every record of :mod:`ccdomain.models` and the most used rules and services are
re-exported here; every module documents the rules it holds (``ccdomain.contacts``
K1-K10, ``ccdomain.matching`` M1-M5, ``ccdomain.tickets`` T1-T11,
``ccdomain.collections`` C1-C6). Importing the package does no I/O.
"""

__version__ = "0.1.0"

from ccdomain.collections import (
    PromiseStatus,
    PromiseStatusKind,
    days_past_due,
    outstanding_balance,
    promise_status,
    promise_statuses,
    register_promise,
)
from ccdomain.contacts import (
    avatar,
    create_contact,
    declare_campaign,
    declare_line,
    make_campaign,
    search_contacts,
    update_contact,
)
from ccdomain.documents import Document, make_document
from ccdomain.errors import CcdomainError
from ccdomain.events import Event, EventKind
from ccdomain.identities import (
    add_comment,
    anonymize_contact,
    block_identity,
    contact_summary,
    export_contact,
    unblock_identity,
)
from ccdomain.matching import (
    Candidate,
    MatchTier,
    apply_merge,
    find_candidates,
    normalize_phone,
    plan_merge,
)
from ccdomain.memory import MemoryStore
from ccdomain.models import collections as _collections_records
from ccdomain.models import contact_policy as _contact_policy_records
from ccdomain.models import contacts as _contacts_records
from ccdomain.models import tickets as _tickets_records
from ccdomain.models.collections import *  # noqa: F403
from ccdomain.models.contact_policy import *  # noqa: F403
from ccdomain.models.contacts import *  # noqa: F403
from ccdomain.models.tickets import *  # noqa: F403
from ccdomain.ports import Store, UnitOfWork
from ccdomain.sqlite import SqliteStore
from ccdomain.tickets import (
    RouteResult,
    TypificationTree,
    resolve_ticket,
    route_interaction,
    typify_ticket,
)

# The records are re-exported whole (each part of ccdomain.models lists its names in
# its own __all__, star-imported rather than through ccdomain.models so that mypy
# sees them); the rest is picked.
__all__ = [
    "Candidate",
    "CcdomainError",
    "Document",
    "Event",
    "EventKind",
    "MatchTier",
    "MemoryStore",
    "PromiseStatus",
    "PromiseStatusKind",
    "RouteResult",
    "SqliteStore",
    "Store",
    "TypificationTree",
    "UnitOfWork",
    "__version__",
    "add_comment",
    "anonymize_contact",
    "apply_merge",
    "avatar",
    "block_identity",
    "contact_summary",
    "create_contact",
    "days_past_due",
    "declare_campaign",
    "declare_line",
    "export_contact",
    "find_candidates",
    "make_campaign",
    "make_document",
    "normalize_phone",
    "outstanding_balance",
    "plan_merge",
    "promise_status",
    "promise_statuses",
    "register_promise",
    "resolve_ticket",
    "route_interaction",
    "search_contacts",
    "typify_ticket",
    "unblock_identity",
    "update_contact",
]
__all__ += _collections_records.__all__
__all__ += _contacts_records.__all__
__all__ += _tickets_records.__all__
__all__ += _contact_policy_records.__all__
