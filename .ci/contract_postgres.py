"""Run ../shared/contract/check against PostgreSQL instead of a SQLite file.

The check cannot choose its database: it runs ``ccdomain replay ... --db FILE`` and the
listings on a file of its own. This starts a throwaway PostgreSQL server
(tests/postgres_server.py), creates a database, and puts first on PATH a ``ccdomain``
that runs the installed command with every ``--db`` pointed at that database as a
``postgresql://`` URL; then it runs the check unchanged. Exit status: the check's (0 when
it passed), or 0 with a notice when there is no PostgreSQL server binary.

    python .ci/contract_postgres.py [../shared/contract/check]
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from postgres_server import PostgresServer, find_bindir  # noqa: E402

SHIM = """#!{python}
import os, sys
args = sys.argv[1:]
for i in range(len(args) - 1):
    if args[i] == "--db":
        args[i + 1] = os.environ["CCDOMAIN_CONTRACT_DB"]
os.execv({real!r}, [{real!r}, *args])
"""


def main() -> int:
    check = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT.parent / "shared/contract/check")
    real = shutil.which("ccdomain")
    if real is None:
        print("contract on PostgreSQL: the ccdomain command is not installed", file=sys.stderr)
        return 1
    bindir = find_bindir()
    if bindir is None:
        print("contract on PostgreSQL: skipped, no PostgreSQL server binary found")
        return 0
    import psycopg

    server = PostgresServer(bindir)
    try:
        server.start()
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            conn.execute(b'CREATE DATABASE "contract"')
        with tempfile.TemporaryDirectory() as shim_dir:
            shim = Path(shim_dir) / "ccdomain"
            shim.write_text(SHIM.format(python=sys.executable, real=real), encoding="utf-8")
            shim.chmod(0o755)
            env = dict(
                os.environ,
                PATH=f"{shim_dir}{os.pathsep}{os.environ.get('PATH', '')}",
                CCDOMAIN_CONTRACT_DB=server.url("contract"),
            )
            print("contract on PostgreSQL: ", end="", flush=True)
            return subprocess.run([sys.executable, str(check)], env=env, check=False).returncode
    finally:
        server.stop()


if __name__ == "__main__":
    raise SystemExit(main())
