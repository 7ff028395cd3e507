"""The compliance keywords carriers expect every SMS service to honour; no rule may claim them."""

from __future__ import annotations

OPT_OUT_WORDS = (
    "stop",
    "stopall",
    "stop all",
    "unsubscribe",
    "cancel",
    "end",
    "quit",
    "revoke",
    "optout",
    "opt out",
)
OPT_IN_WORDS = ("start", "unstop")
HELP_WORDS = ("help", "info")
RESERVED_KEYWORDS = frozenset(OPT_OUT_WORDS + OPT_IN_WORDS + HELP_WORDS)
