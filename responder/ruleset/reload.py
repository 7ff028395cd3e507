"""Hot reload: a RulesetHolder per process swaps in a changed rules directory that checks clean."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from responder.ruleset.loader import ParseCache, RulesetCheck, list_rule_files, load_ruleset
from responder.ruleset.problems import Problem, RuleSetError
from responder.ruleset.ruleset import Ruleset

Fingerprint = tuple[tuple[str, int, int], ...]
NO_RULES = "none"  # the version recorded while no rule set has loaded


class RulesetHolder:
    """The live rule set; a broken edit is logged and refused, and the last good set stays."""

    def __init__(
        self,
        rules_dir: Path,
        *,
        interval_s: float = 1.0,
        logger: logging.Logger | None = None,
        checks: Sequence[RulesetCheck] = (),
    ) -> None:
        """*checks* are the deployment's own (configured compliance words): an error refuses."""
        self.rules_dir = rules_dir
        self.checks = tuple(checks)
        self.interval_s = interval_s
        self.log = logger or logging.getLogger(__name__)
        self.last_problems: list[Problem] = []
        self.loaded_at: datetime = datetime.now(UTC)
        self._lock = threading.Lock()
        self._ruleset: Ruleset | None = None
        self._fingerprint: Fingerprint | None = None
        self._checked_at = 0.0
        self._cache = ParseCache()
        self._watcher: threading.Thread | None = None
        self._stop = threading.Event()
        with self._lock:
            self._reload(self._stat())

    def watch(self) -> None:
        """Check the directory every interval in a daemon thread, not only when a message comes.

        An edit then goes live (or is refused, and logged) within about one interval even in a
        worker that gets no traffic, and the first message after an edit does not pay for it.
        """
        if self._watcher is None:
            self._watcher = threading.Thread(
                target=self._watch, name="responder-rules-watch", daemon=True
            )
            self._watcher.start()

    def stop(self) -> None:
        """Stop the watching thread, if any."""
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join(5)

    def _watch(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.current()
            except RuleSetError:
                pass  # no good set yet: already logged by _reload
            except Exception:  # the watcher must outlive a surprise; requests still reload
                self.log.exception("rules watcher error")

    def current(self) -> Ruleset:
        """The live rule set; stats the directory at most every interval_s and reloads on change."""
        now = time.monotonic()
        if now - self._checked_at >= self.interval_s:
            with self._lock:
                if now - self._checked_at >= self.interval_s:
                    fingerprint = self._stat()
                    if fingerprint != self._fingerprint:
                        self._reload(fingerprint)
                    self._checked_at = time.monotonic()
        ruleset = self._ruleset
        if ruleset is None:
            raise RuleSetError(self.last_problems)
        return ruleset

    def serving(self) -> Ruleset:
        """The live rule set, or an empty one (version "none") while no good set has loaded.

        With the empty set, messages are still stored, unanswered, instead of being refused.
        """
        try:
            return self.current()
        except RuleSetError:
            return Ruleset(files=[], rules=[], fallbacks=[], version=NO_RULES, problems=[])

    def _stat(self) -> Fingerprint:
        try:
            return tuple(
                (p.name, s.st_size, s.st_mtime_ns)
                for p in list_rule_files(self.rules_dir)
                for s in [p.stat()]
            )
        except OSError:
            return ()

    def _reload(self, fingerprint: Fingerprint) -> None:
        # The fingerprint is taken before reading, so an edit made while loading is seen next time.
        self._fingerprint = fingerprint
        self._checked_at = time.monotonic()
        try:
            ruleset = load_ruleset(
                self.rules_dir,
                cache=self._cache,
                checks=self.checks,
                # The service names rule files from the rules directory's parent
                # (rules/00-shop.yaml:28:5), in traces kept with messages and on the dashboard.
                base=self.rules_dir.parent,
            )
        except RuleSetError as exc:
            self.last_problems = exc.problems
            kept = (
                f"keeping version {self._ruleset.version}" if self._ruleset else "no rules are live"
            )
            self.log.error(
                "rules in %s refused, %s:\n%s",
                self.rules_dir,
                kept,
                "\n".join(f"  {p}" for p in exc.problems if p.is_error),
            )
            return
        except OSError as exc:
            self.last_problems = [Problem(str(self.rules_dir), None, None, "error", str(exc))]
            self.log.error("rules in %s could not be read: %s", self.rules_dir, exc)
            return
        if self._stat() != fingerprint:
            # Files changed while they were read, so what was read may be half-written;
            # forget the fingerprint so the next check reads them again.
            self._fingerprint = None
            if self._ruleset is None:
                message = "rule files changed while being read; trying again"
                self.last_problems = [Problem(str(self.rules_dir), None, None, "error", message)]
            return
        previous = self._ruleset.version if self._ruleset else None
        self._ruleset = ruleset
        self.last_problems = list(ruleset.problems)
        self.loaded_at = datetime.now(UTC)
        if previous != ruleset.version:
            self.log.info(
                "rules %s loaded from %s (%d rules)",
                ruleset.version,
                self.rules_dir,
                len(ruleset.rules),
            )
        for problem in ruleset.problems:
            self.log.warning("rules: %s", problem)
