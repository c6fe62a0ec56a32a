"""The SQLite store passes the store conformance suite (T2, T5, T9, E1, E2)."""

from ccdomain.sqlite import SqliteStore
from ccdomain.testing.conformance import StoreConformance


class TestSqliteStore(StoreConformance):
    def make_store(self) -> SqliteStore:
        return SqliteStore(self.tmp_path / "store.db")
