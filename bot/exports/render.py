"""How each kind of column value is spelled in CSV, XLSX and JSON.

One function per format, driven by the column's kind, so a format's conventions (booleans as
`true`/`false` in CSV, real dates in XLSX, `null` in JSON) hold for every column at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar

from bot.exports.cells import iso_utc, naive_utc, neutralise, xlsx_text
from bot.exports.columns import Column, Kind, Value

RowT = TypeVar("RowT")
JsonScalar = str | int | float | bool | None
# XlsxWriter ships no type information, so its worksheets and formats are `Any` to mypy.
XlsxSheet = Any
XlsxFormat = Any

XLSX_DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"


def csv_cell(kind: Kind, value: Value) -> str:
    if value is None:
        return ""
    if kind is Kind.BOOL:
        return "true" if value else "false"
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, str):
        return neutralise(value)
    return str(value)


def json_value(kind: Kind, value: Value) -> JsonScalar:
    """Original text (JSON is never evaluated), ISO dates, and native numbers and booleans."""
    if isinstance(value, datetime):
        return iso_utc(value)
    return value


def csv_row(columns: Sequence[Column[RowT]], row: RowT) -> list[str]:
    return [csv_cell(column.kind, column.get(row)) for column in columns]


def json_object(columns: Sequence[Column[RowT]], row: RowT) -> dict[str, JsonScalar]:
    return {column.name: json_value(column.kind, column.get(row)) for column in columns}


def xlsx_row(
    sheet: XlsxSheet,
    row_index: int,
    columns: Sequence[Column[RowT]],
    row: RowT,
    date_format: XlsxFormat,
) -> None:
    """Write `row` as sheet row `row_index` (zero-based; row 0 is the header).

    Each cell is written with the `write_*` method of its type, so XlsxWriter never guesses:
    text is always a string cell (never a formula, number or link, whatever it looks like),
    dates are naive UTC with a readable format, and None is a blank, so nothing is written.
    This is the innermost loop of a big export, hence the methods looked up once per row.
    """
    write_string = sheet.write_string
    write_number = sheet.write_number
    for col, column in enumerate(columns):
        value = column.get(row)
        if value is None:
            continue
        if isinstance(value, str):
            write_string(row_index, col, xlsx_text(value))
        elif isinstance(value, datetime):
            sheet.write_datetime(row_index, col, naive_utc(value), date_format)
        elif isinstance(value, bool):  # before the numbers: a bool is an int to Python
            sheet.write_boolean(row_index, col, value)
        else:
            write_number(row_index, col, value)


def xlsx_header(sheet: XlsxSheet, columns: Sequence[Column[RowT]]) -> None:
    for col, column in enumerate(columns):
        sheet.write_string(0, col, xlsx_text(column.spreadsheet_header))
