"""The objects one process shares (config, database, rules, provider, clock)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from flask import current_app
from sqlalchemy import Engine

from responder.config import Config
from responder.metrics import Metrics
from responder.providers.base import SmsProvider
from responder.ruleset import RulesetHolder

if TYPE_CHECKING:
    from responder.sender import Sender


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Services:
    """Everything a request, a CLI command or the sender needs, built once per process."""

    config: Config
    engine: Engine
    rules: RulesetHolder
    provider: SmsProvider
    clock: Callable[[], datetime] = utc_now
    wakeup: threading.Event = field(default_factory=threading.Event)  # the outbox has work
    inbox_wakeup: threading.Event = field(default_factory=threading.Event)  # queued callbacks
    sender: Sender | None = None
    metrics: Metrics = field(default_factory=Metrics)
    inbox_engine: Engine | None = None  # queue mode's inbox, when not in the database itself

    @property
    def inbox(self) -> Engine:
        """The engine of the inbox (store/inbox.py): a SQLite file of its own, or the database."""
        return self.inbox_engine or self.engine


def current_services() -> Services:
    """The Services of the Flask app serving this request or running this CLI command."""
    return current_app.extensions["responder"]  # type: ignore[no-any-return]
