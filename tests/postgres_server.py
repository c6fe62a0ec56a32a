"""A throwaway PostgreSQL server for the tests: found on this machine, started, stopped.

``find_bindir()`` looks for the server binaries (``initdb``, ``pg_ctl``): the
``CCDOMAIN_PG_BINDIR`` environment variable, Debian's ``/usr/lib/postgresql/<n>/bin``
(the binaries are off PATH there), ``pg_config --bindir``, then PATH. ``PostgresServer``
runs ``initdb`` in a temporary folder and starts the server on a free port, with its
unix socket in that folder and no TCP listener. ``initdb`` refuses to run as root: as
root the folder is given to the ``postgres`` user and the binaries run as it
(``runuser``); as anyone else they run as that user. ``fsync`` is off: a test server
holds nothing worth a disk flush (the crash test kills a client, never the server).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import urllib.parse
from pathlib import Path

__all__ = ["PostgresServer", "find_bindir"]


def find_bindir() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl``, or None when there is no server."""
    candidates: list[str] = []
    if os.environ.get("CCDOMAIN_PG_BINDIR"):
        candidates.append(os.environ["CCDOMAIN_PG_BINDIR"])
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    pg_config = shutil.which("pg_config")
    if pg_config is not None:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=True
            )
            candidates.append(out.stdout.strip())
    initdb = shutil.which("initdb")
    if initdb is not None:
        candidates.append(os.path.dirname(initdb))
    for folder in candidates:
        path = Path(folder)
        if (path / "initdb").is_file() and (path / "pg_ctl").is_file():
            return path
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresServer:
    """A PostgreSQL cluster in a temporary folder, reached through a unix socket."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="ccdomain-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.user = "postgres"
        # As root, the cluster belongs to the postgres user (initdb refuses root).
        self._as: list[str] = []
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
            self._as = ["runuser", "-u", "postgres", "--"]
        self.root.chmod(0o700)

    def _run(self, *args: str, timeout: float = 120) -> None:
        subprocess.run(
            [*self._as, *args],
            check=True,
            capture_output=True,
            timeout=timeout,
            cwd=self.root,
        )

    def start(self) -> None:
        """initdb, then start the server and wait until it accepts connections."""
        self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.data),
            "-U",
            self.user,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        )
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses='' -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=100 "
            "-c shared_buffers=64MB"
        )
        self._run(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.root / "server.log"),
            "-o",
            options,
            "-w",
            "start",
        )

    def stop(self) -> None:
        """Stop the server at once and remove its folder."""
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def dsn(self, dbname: str = "postgres") -> str:
        """A key=value DSN of the server's database ``dbname``."""
        return f"host={self.root} port={self.port} user={self.user} dbname={dbname}"

    def url(self, dbname: str = "postgres") -> str:
        """The same as a ``postgresql://`` URL (the form the command line takes)."""
        host = urllib.parse.quote(str(self.root), safe="")
        return f"postgresql://{self.user}@/{dbname}?host={host}&port={self.port}"

    def log(self) -> str:
        """The server's log so far (for a failing test's report)."""
        try:
            return (self.root / "server.log").read_text(errors="replace")
        except OSError:
            return ""
