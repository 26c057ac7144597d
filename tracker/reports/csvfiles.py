"""CSV cells that a spreadsheet can never run as formulas, and that come back unchanged on import.

A text cell starting with = + - @ tab or carriage return gets a leading apostrophe on export (the
OWASP advice: quoting alone does not stop a formula). A cell that already starts with an
apostrophe followed by one of those gets one more, so `unguard(guard(x)) == x` for every text.
"""
from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def guard(text: str) -> str:
    if text.startswith(FORMULA_STARTS) or (text.startswith("'") and text.lstrip("'").startswith(FORMULA_STARTS)):
        return "'" + text
    return text


def unguard(text: str) -> str:
    if text.startswith("'") and text[1:].lstrip("'").startswith(FORMULA_STARTS):
        return text[1:]
    return text
