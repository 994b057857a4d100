"""Spreadsheet cells from untrusted text: formula (CSV/DDE) injection is neutralised.

A report or export carries text typed by field staff or imported from files (hazard names,
organisation names, audit details). A spreadsheet program opening a CSV runs any cell that
starts with ``=``, ``+``, ``-`` or ``@`` (and tab or carriage return) as a formula, e.g.
``=HYPERLINK(...)`` or ``=cmd|' /C calc'!A0``. Exports therefore write such text so that it
is shown, never run: in CSV with a leading apostrophe (OWASP's advice), in xlsx as a text cell
with Excel's "quote prefix" (the text itself is kept exactly).
"""

from __future__ import annotations

import re
from typing import Any

#: First characters that make a spreadsheet treat a cell as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?$")


def formula_like(value: Any) -> bool:
    """Return True for text a spreadsheet would run as a formula.

    >>> formula_like("=1+1"), formula_like("@SUM(A1)"), formula_like("-2+3"), formula_like("\\t=1")
    (True, True, True, True)
    >>> formula_like("Field 3"), formula_like("-12.5"), formula_like(-3), formula_like(None)
    (False, False, False, False)
    """
    return isinstance(value, str) and value.startswith(FORMULA_START) and not _NUMBER.match(value)


def csv_cell(value: Any) -> Any:
    """Return a value safe to write into a CSV cell (formula-like text gets a leading ``'``).

    >>> csv_cell('=HYPERLINK("http://x","click")')
    '\\'=HYPERLINK("http://x","click")'
    >>> csv_cell("+7 495 000"), csv_cell("Minefield 4"), csv_cell(12.5), csv_cell("-4")
    ("'+7 495 000", 'Minefield 4', 12.5, '-4')
    """
    return "'" + value if formula_like(value) else value


def csv_row(values: Any) -> list[Any]:
    """Return a CSV row with every cell made safe (see :func:`csv_cell`).

    >>> csv_row(["a", "=1", 2])
    ['a', "'=1", 2]
    """
    return [csv_cell(v) for v in values]
