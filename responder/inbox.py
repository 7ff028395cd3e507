"""The inbox loop: in queue mode, process the callbacks that were answered, oldest first."""

from __future__ import annotations

import logging
import threading

from responder.intake import process_inbox
from responder.services import Services

log = logging.getLogger(__name__)

# After an unexpected error (the database down), wait this long before trying again.
ERROR_PAUSE_S = 1.0


class InboxLoop:
    """Runs beside a Sender, in the same process and with the same stop signal."""

    def __init__(self, services: Services, stop: threading.Event, idle_poll_s: float) -> None:
        self.services = services
        self.stop = stop
        self.idle_poll_s = idle_poll_s
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="responder-inbox", daemon=True)
        self._thread.start()

    def join(self, timeout: float | None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def run(self) -> None:
        """Process until stopped; a stop lets the transaction in flight finish first."""
        wakeup = self.services.inbox_wakeup
        while not self.stop.is_set():
            try:
                taken = process_inbox(self.services)
            except Exception:  # the loop must survive a database hiccup; the rows stay
                log.exception("inbox loop error; retrying shortly")
                self.stop.wait(ERROR_PAUSE_S)
                continue
            if not taken:
                wakeup.wait(self.idle_poll_s)
                wakeup.clear()
