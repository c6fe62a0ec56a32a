"""The in-memory reference store passes the store conformance suite (T2, T5, T9, E1, E2)."""

from ccdomain.memory import MemoryStore
from ccdomain.testing.conformance import StoreConformance


class TestMemoryStore(StoreConformance):
    def make_store(self) -> MemoryStore:
        return MemoryStore()
