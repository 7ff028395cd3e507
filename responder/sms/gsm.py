"""The GSM 03.38 (TS 23.038) default alphabet and its extension table, as Unicode lookups."""

from __future__ import annotations

# The default table in GSM code order, 0x00 to 0x7F. Position 0x1B is the escape to the
# extension table and holds no character, so it is a placeholder here and skipped below.
_ESCAPE_SLOT = "\x1b"
_DEFAULT_IN_CODE_ORDER = (
    "@£$¥èéùìòÇ\nØø\rÅå"  # 0x00-0x0F
    "\u0394_\u03a6\u0393\u039b\u03a9\u03a0\u03a8\u03a3\u0398\u039e"  # 0x10-0x1A: Δ_ΦΓΛΩΠΨΣΘΞ
    "\x1b"  # 0x1B, the escape slot
    "ÆæßÉ"  # 0x1C-0x1F
    " !\"#¤%&'()*+,-./0123456789:;<=>?"  # 0x20-0x3F: ¤ at 0x24, not $
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"  # 0x40-0x5F
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"  # 0x60-0x7F
)

# A raw ESC in the input is not a character of the alphabet: the reference counts it as
# non-GSM, and sending it would make the phone read the next character as an escape code.
GSM_DEFAULT: dict[str, int] = {
    char: code for code, char in enumerate(_DEFAULT_IN_CODE_ORDER) if char != _ESCAPE_SLOT
}

# Extension characters travel as ESC (0x1B) followed by this code, so each costs two septets.
GSM_EXTENSION: dict[str, int] = {
    "\x0c": 0x0A,  # form feed
    "^": 0x14,
    "{": 0x28,
    "}": 0x29,
    "\\": 0x2F,
    "[": 0x3C,
    "~": 0x3D,
    "]": 0x3E,
    "|": 0x40,
    "€": 0x65,
}


# What each character costs in GSM-7: 1 septet, 2 for an extension character (ESC + code).
GSM_SEPTETS: dict[str, int] = {**dict.fromkeys(GSM_DEFAULT, 1), **dict.fromkeys(GSM_EXTENSION, 2)}


def is_gsm_char(char: str) -> bool:
    """Tell whether *char* (one code point) can be sent in GSM-7, plainly or escaped."""
    return char in GSM_SEPTETS


def septets(char: str) -> int:
    """Return what *char* costs in GSM-7: 1 septet, 2 for an extension character."""
    cost = GSM_SEPTETS.get(char)
    if cost is None:
        raise ValueError(f"{char!r} (U+{ord(char):04X}) is not in the GSM 03.38 alphabet")
    return cost
