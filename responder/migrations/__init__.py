"""Schema migrations (Alembic): bring any earlier database to the current schema, safely at once."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Connection, Engine, inspect, text

from responder.errors import SchemaError

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
FIRST_REVISION = "0001"
# Any fixed number: the PostgreSQL advisory lock that lets one process at a time migrate.
_LOCK_KEY = 0x7265_7370_6F6E_64  # "respond"


def alembic_config(connection: Connection | None = None) -> AlembicConfig:
    """The Alembic configuration of the installed package, optionally bound to *connection*."""
    config = AlembicConfig(str(HERE / "alembic.ini"))
    config.set_main_option("script_location", str(HERE))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The revision the code expects."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError("the migrations folder has no head revision")
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at; None for an empty database."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, target: str = "head") -> tuple[str | None, str | None]:
    """Migrate to *target* under a lock, so many processes may call it at once; (before, after)."""
    with engine.begin() as conn:
        # SQLite: the engine begins with BEGIN IMMEDIATE, which already holds the write lock.
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        else:
            # Batch mode rebuilds tables; their foreign keys are checked at commit instead.
            conn.exec_driver_sql("PRAGMA defer_foreign_keys=ON")
        before = MigrationContext.configure(conn).get_current_revision()
        config = alembic_config(conn)
        script = ScriptDirectory.from_config(config)
        if before is not None and not _known(script, before):
            raise SchemaError(
                f"the database is at schema revision {before}, which this version of responder "
                f"does not know (it knows up to {script.get_current_head()}); "
                "run the newer release, or restore a backup made before it upgraded"
            )
        if before is None and inspect(conn).has_table("threads"):
            # Made by create_all before the service shipped migrations: the first schema.
            log.info("database without a migration history: recording it at %s", FIRST_REVISION)
            command.stamp(config, FIRST_REVISION)
            before = FIRST_REVISION
        try:
            command.upgrade(config, target)
        except CommandError as exc:
            raise SchemaError(f"cannot upgrade the database schema: {exc}") from None
        after = MigrationContext.configure(conn).get_current_revision()
    if before != after:
        log.info("database schema upgraded from %s to %s", before or "nothing", after)
    return before, after


def _known(script: ScriptDirectory, revision: str) -> bool:
    try:
        return script.get_revision(revision) is not None
    except CommandError:
        return False
