"""Store conformance suite: run it against your own store to prove it keeps the contract.

The store ports of :mod:`ccdomain.ports` are a contract; this module is its test
suite, shipped in the package so a host can run it against its own store (the
way pyeventsourcing ships the tests of its recorders). Both stores ccdomain
ships, :class:`ccdomain.memory.MemoryStore` and
:class:`ccdomain.sqlite.SqliteStore`, pass it.

To use it, subclass :class:`StoreConformance` (or one class per port) in a
pytest test module and write one factory method returning a new, empty store::

    from ccdomain.testing.conformance import StoreConformance
    from myapp.store import PostgresStore

    class TestPostgresStore(StoreConformance):
        def make_store(self):
            return PostgresStore(dsn=..., schema=fresh_schema())

``self.tmp_path`` (pytest's temporary directory of the test) is set before
``make_store`` is called, for stores kept in files::

    class TestSqliteStore(StoreConformance):
        def make_store(self):
            return SqliteStore(self.tmp_path / "store.db")

Override ``close_store(store)`` when a store needs more than ``store.close()``
to be released. A test that the store cannot support (there should be none)
can be overridden in the subclass.

The classes, one per port, each in its own module of this package:
:class:`ContactRepositoryConformance` (``contacts``),
:class:`TicketRepositoryConformance` (``tickets``),
:class:`CollectionsRepositoryConformance` (``collections``),
:class:`IdentityRepositoryConformance` (``identities``),
:class:`EventLogConformance` (``events``) and :class:`UnitOfWorkConformance`
(``units``), :class:`ContactPolicyRepositoryConformance` (``contact_policy``),
:class:`ServiceLevelReadsConformance` (``service_levels``, the
optional bulk reads of the tickets listing: skipped for a store without them),
and :class:`AssignmentRepositoryConformance` (``assignment``), for the optional
assignment port (its tests skip when a store's unit of work has none), over
:class:`StoreCase` (``case``). Their names do not start
with ``Test``, so pytest collects only your subclasses. Test names carry the rule they check
(``test_T2_...``, an id of docs/rules.md); ``E2`` (a rejected operation changes nothing) is
checked throughout. The suite needs ``pytest`` and ``hypothesis``.
"""

# AT and the phone numbers were public names of the single-module suite: kept importable.
from ccdomain.testing.conformance.assignment import AssignmentRepositoryConformance
from ccdomain.testing.conformance.case import AT as AT
from ccdomain.testing.conformance.case import OTHER_PHONE as OTHER_PHONE
from ccdomain.testing.conformance.case import PHONE as PHONE
from ccdomain.testing.conformance.case import StoreCase
from ccdomain.testing.conformance.collections import CollectionsRepositoryConformance
from ccdomain.testing.conformance.contact_policy import ContactPolicyRepositoryConformance
from ccdomain.testing.conformance.contacts import ContactRepositoryConformance
from ccdomain.testing.conformance.events import EventLogConformance
from ccdomain.testing.conformance.identities import IdentityRepositoryConformance
from ccdomain.testing.conformance.service_levels import ServiceLevelReadsConformance
from ccdomain.testing.conformance.tickets import TicketRepositoryConformance
from ccdomain.testing.conformance.units import UnitOfWorkConformance

__all__ = [
    "AssignmentRepositoryConformance",
    "CollectionsRepositoryConformance",
    "ContactPolicyRepositoryConformance",
    "ContactRepositoryConformance",
    "EventLogConformance",
    "IdentityRepositoryConformance",
    "ServiceLevelReadsConformance",
    "StoreCase",
    "StoreConformance",
    "TicketRepositoryConformance",
    "UnitOfWorkConformance",
]


class StoreConformance(
    ContactRepositoryConformance,
    TicketRepositoryConformance,
    CollectionsRepositoryConformance,
    IdentityRepositoryConformance,
    EventLogConformance,
    UnitOfWorkConformance,
    ServiceLevelReadsConformance,
    AssignmentRepositoryConformance,
    ContactPolicyRepositoryConformance,
):
    """Every port of the store contract: subclass it and write ``make_store``."""
