"""The frozen records every module shares: contacts, tickets, collections.

Records hold data and check their own fields; the rules that build and change
them live in :mod:`ccdomain.rules` and the services in :mod:`ccdomain.services`.
Keeping them in one package below everything else lets the stores, the
serializer and the rules depend on them without import cycles.

- :mod:`ccdomain.models.contacts`: campaigns, contacts and their channels, addresses,
  companies, custom fields (K1-K10).
- :mod:`ccdomain.models.tickets`: lines, interactions, tickets, typifications,
  comments, blocks (T1-T11, I2, I3).
- :mod:`ccdomain.models.collections`: money, products, payments, promises, aging
  buckets and the collections policy (C1-C4).
"""

from ccdomain.models.collections import (
    DEFAULT_BUCKETS,
    MINOR_UNITS,
    AgingBucket,
    CollectionsPolicy,
    Installment,
    Money,
    Payment,
    PaymentStatus,
    Product,
    ProductInstallment,
    Promise,
    aging_buckets,
    money,
)
from ccdomain.models.contacts import (
    DEFAULT_BUCKET_LIMITS,
    Address,
    Campaign,
    ChannelKind,
    Company,
    Contact,
    ContactChannel,
    CustomFieldDef,
    CustomValue,
    FieldType,
)
from ccdomain.models.tickets import (
    Block,
    Channel,
    Comment,
    Direction,
    Interaction,
    Line,
    RouteOutcome,
    Ticket,
    TicketStatus,
    Typification,
)

__all__ = [
    "DEFAULT_BUCKETS",
    "DEFAULT_BUCKET_LIMITS",
    "MINOR_UNITS",
    "Address",
    "AgingBucket",
    "Block",
    "Campaign",
    "Channel",
    "ChannelKind",
    "CollectionsPolicy",
    "Comment",
    "Company",
    "Contact",
    "ContactChannel",
    "CustomFieldDef",
    "CustomValue",
    "Direction",
    "FieldType",
    "Installment",
    "Interaction",
    "Line",
    "Money",
    "Payment",
    "PaymentStatus",
    "Product",
    "ProductInstallment",
    "Promise",
    "RouteOutcome",
    "Ticket",
    "TicketStatus",
    "Typification",
    "aging_buckets",
    "money",
]
