"""How each kind of column value is spelled in CSV, XLSX and JSON.

One function per format, driven by the column's kind, so a format's conventions (booleans as
`true`/`false` in CSV, real dates in XLSX, `null` in JSON) hold for every column at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TypeVar

from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import Cell
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from bot.exports.cells import iso_utc, naive_utc, neutralise, xlsx_text
from bot.exports.columns import Column, Kind, Value

RowT = TypeVar("RowT")
JsonScalar = str | int | float | bool | None
XlsxValue = Cell | int | float | bool | datetime | None

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


def xlsx_cell(sheet: WriteOnlyWorksheet, kind: Kind, value: Value) -> XlsxValue:
    """Text as an explicit string cell, dates as naive UTC with a readable format."""
    if value is None:
        return None
    if isinstance(value, str):
        cell = WriteOnlyCell(sheet, xlsx_text(value))
        # openpyxl guesses "f" (formula) for text starting with "="; never let it guess.
        cell.data_type = "s"
        return cell
    if isinstance(value, datetime):
        cell = WriteOnlyCell(sheet, naive_utc(value))
        cell.number_format = XLSX_DATETIME_FORMAT
        return cell
    return value


def csv_row(columns: Sequence[Column[RowT]], row: RowT) -> list[str]:
    return [csv_cell(column.kind, column.get(row)) for column in columns]


def json_object(columns: Sequence[Column[RowT]], row: RowT) -> dict[str, JsonScalar]:
    return {column.name: json_value(column.kind, column.get(row)) for column in columns}


def xlsx_row(
    sheet: WriteOnlyWorksheet, columns: Sequence[Column[RowT]], row: RowT
) -> list[XlsxValue]:
    return [xlsx_cell(sheet, column.kind, column.get(row)) for column in columns]


def xlsx_header(sheet: WriteOnlyWorksheet, columns: Sequence[Column[RowT]]) -> list[XlsxValue]:
    return [xlsx_cell(sheet, Kind.TEXT, column.spreadsheet_header) for column in columns]
