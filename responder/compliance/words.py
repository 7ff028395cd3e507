"""The compliance keywords carriers expect every SMS service to honour; no rule may claim them."""

from __future__ import annotations

import unicodedata

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
# YES opts back in only right after an opt-out; otherwise it is an ordinary word for the rules.
OPT_IN_AFTER_OPT_OUT = ("yes",)
HELP_WORDS = ("help", "info")
RESERVED_KEYWORDS = frozenset(OPT_OUT_WORDS + OPT_IN_WORDS + HELP_WORDS)

# Plain-language opt-outs honoured by default. Each must be the whole message, so a sentence
# that merely contains them ("do not stop my order") is never taken for an opt-out.
DEFAULT_OPT_OUT_PHRASES = (
    "stop texting me",
    "stop messaging me",
    "stop sending me messages",
    "please stop",
    "unsubscribe me",
    "remove me",
    "opt me out",
    "do not text me",
    "dont text me",
)


def normalise_words(text: str) -> str:
    """Case-fold *text* and keep only its words: `' Stop! '` and `'stop.'` both give `'stop'`."""
    folded = unicodedata.normalize("NFKC", text).casefold().replace("'", "").replace("\u2019", "")
    kept = [ch if unicodedata.category(ch)[0] in "LNM" else " " for ch in folded]
    return " ".join("".join(kept).split())
