"""How one value becomes one cell: formula neutralising, dates, and XLSX-safe text.

Answers are typed by participants, and facilitators open exports in Excel or LibreOffice. A
cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return can be run as a formula
("CSV injection", OWASP), for example `=HYPERLINK("http://evil", "click")`. Following OWASP's
guidance, such a cell gets a leading apostrophe: spreadsheets then show it as text, and the
reader still sees exactly what was typed after the apostrophe.

CSV and XLSX apply `neutralise` to every text cell (the user-typed ones are the answers and the
words of an "other" role; the rest are our own identifiers, which never start with those
characters, so neutralising them costs nothing and keeps one rule). In XLSX the cell is also
stored with the string type, so even a value that slipped through could not become a formula.

JSON keeps the original text: a JSON document is data for programs and is never evaluated, and
an analyst who loads it expects the answer exactly as given, not a spreadsheet workaround.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# The most characters one XLSX cell can hold; answers are far shorter (2,000), but be safe.
XLSX_MAX_TEXT = 32_767
# Shown in place of control characters XML 1.0 cannot carry. Replaced, not removed: removing
# one could bring a `=` to the front of the text after `neutralise` has looked at it.
REPLACEMENT = "\ufffd"
# The C0 control characters XML 1.0 cannot carry: all but tab, LF and CR (the same set
# openpyxl refuses). XlsxWriter would store them as `_xHHHH_` escapes, which not every
# reader turns back into the character, so they are replaced before they get there.
ILLEGAL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
# Anything `xlsx_text` has to change after neutralising: most answers contain none of it.
_XLSX_UNSAFE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\r]")


def neutralise(value: str) -> str:
    """The value, with a leading apostrophe if a spreadsheet would run it as a formula."""
    if value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def iso_utc(value: datetime) -> str:
    """UTC, ISO 8601, whole seconds, `Z`: sorts as text and parses everywhere."""
    if value.tzinfo is None:  # the storage layer hands back aware datetimes; be safe anyway
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def naive_utc(value: datetime) -> datetime:
    """The UTC wall-clock time without a zone, because Excel dates cannot carry one."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.replace(microsecond=0)


def xlsx_text(value: str) -> str:
    """A neutralised text that an XLSX file can hold and that reads back as written.

    Control characters other than tab and line breaks cannot be stored in XLSX XML, and XML
    readers turn every CR and CRLF into LF, so we do that ourselves: the file then holds
    exactly what Excel, LibreOffice and openpyxl will show.
    """
    text = neutralise(value)
    if _XLSX_UNSAFE.search(text) is not None:
        text = ILLEGAL_CHARACTERS.sub(REPLACEMENT, text)
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text if len(text) <= XLSX_MAX_TEXT else text[:XLSX_MAX_TEXT]
