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
- :mod:`ccdomain.models.hours`: weekly business hours, holidays and service-level
  targets of a campaign (H1, H3).
- :mod:`ccdomain.models.assignment`: agents, their presence and load, waiting
  tickets (A1-A6).
- :mod:`ccdomain.models.contact_policy`: opt-outs (W3).
"""

from ccdomain.models import assignment, collections, contact_policy, contacts, hours, tickets
from ccdomain.models.assignment import *  # noqa: F403
from ccdomain.models.collections import *  # noqa: F403
from ccdomain.models.contact_policy import *  # noqa: F403
from ccdomain.models.contacts import *  # noqa: F403
from ccdomain.models.hours import *  # noqa: F403
from ccdomain.models.tickets import *  # noqa: F403

# Each part lists its names once, in its own __all__ (mypy follows these additions).
__all__: list[str] = []
__all__ += collections.__all__
__all__ += contacts.__all__
__all__ += tickets.__all__
__all__ += hours.__all__
__all__ += assignment.__all__
__all__ += contact_policy.__all__
