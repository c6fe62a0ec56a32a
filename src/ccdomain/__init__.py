"""ccdomain: the rule book of a contact center.

The most used names are re-exported here; every module documents the rules it
holds (``ccdomain.contacts`` K1-K10, ``ccdomain.matching`` M1-M5,
``ccdomain.tickets`` T1-T11, ``ccdomain.collections`` C1-C6). Importing the
package does no I/O.
"""

__version__ = "0.1.0"

from ccdomain.collections import (
    CollectionsPolicy,
    Installment,
    Money,
    Payment,
    PaymentStatus,
    Product,
    Promise,
    PromiseStatus,
    PromiseStatusKind,
    days_past_due,
    money,
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
from ccdomain.models import (
    Address,
    Campaign,
    Channel,
    ChannelKind,
    Company,
    Contact,
    ContactChannel,
    CustomFieldDef,
    Direction,
    FieldType,
    Interaction,
    Line,
    Ticket,
    TicketStatus,
    Typification,
)
from ccdomain.ports import Store, UnitOfWork
from ccdomain.sqlite import SqliteStore
from ccdomain.tickets import (
    RouteOutcome,
    RouteResult,
    TypificationTree,
    resolve_ticket,
    route_interaction,
    typify_ticket,
)

__all__ = [
    "Address",
    "Campaign",
    "Candidate",
    "CcdomainError",
    "Channel",
    "ChannelKind",
    "CollectionsPolicy",
    "Company",
    "Contact",
    "ContactChannel",
    "CustomFieldDef",
    "Direction",
    "Document",
    "Event",
    "EventKind",
    "FieldType",
    "Installment",
    "Interaction",
    "Line",
    "MatchTier",
    "MemoryStore",
    "Money",
    "Payment",
    "PaymentStatus",
    "Product",
    "Promise",
    "PromiseStatus",
    "PromiseStatusKind",
    "RouteOutcome",
    "RouteResult",
    "SqliteStore",
    "Store",
    "Ticket",
    "TicketStatus",
    "Typification",
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
    "money",
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
