"""The shape of a generated report: periods, scopes, tables, charts and the ledger hash.

Pure data: services/reporting fills a :class:`ReportDoc`; io/reportfiles renders it as xlsx,
csv, json, html or pdf. Every document carries its data cut-off and a reproducibility hash
of the ledger state it was computed from.
"""

from __future__ import annotations

import calendar
import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import orjson

from mineaction.errors import ValidationError

_YEAR = re.compile(r"^\d{4}$")
_MONTH = re.compile(r"^\d{4}-\d{2}$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _start(text: str) -> date:
    if _YEAR.match(text):
        return date(int(text), 1, 1)
    if _MONTH.match(text):
        y, m = (int(v) for v in text.split("-"))
        return date(y, m, 1)
    if _DAY.match(text):
        return date.fromisoformat(text)
    raise ValueError(text)


def _end(text: str) -> date:
    if _YEAR.match(text):
        return date(int(text), 12, 31)
    if _MONTH.match(text):
        y, m = (int(v) for v in text.split("-"))
        return date(y, m, calendar.monthrange(y, m)[1])
    if _DAY.match(text):
        return date.fromisoformat(text)
    raise ValueError(text)


@dataclass(frozen=True)
class Period:
    """A reporting period: first and last day, both included."""

    start: date
    end: date

    @classmethod
    def parse(cls, text: str) -> Period:
        """Parse ``2026``, ``2026-03``, ``2026-01..2026-06`` or ``2026-01-15..2026-02-10``.

        >>> Period.parse("2026")
        Period(start=datetime.date(2026, 1, 1), end=datetime.date(2026, 12, 31))
        >>> Period.parse("2026-01..2026-06").end
        datetime.date(2026, 6, 30)
        >>> Period.parse("2024-02").end
        datetime.date(2024, 2, 29)
        >>> Period.parse("2026-13")
        Traceback (most recent call last):
        ...
        mineaction.errors.ValidationError: --period: '2026-13' is not a period; ...
        """
        text = text.strip()
        first, sep, last = text.partition("..")
        try:
            start = _start(first.strip())
            end = _end(last.strip() if sep else first.strip())
        except ValueError:
            raise ValidationError(
                f"{text!r} is not a period; use YYYY, YYYY-MM, YYYY-MM..YYYY-MM or "
                "YYYY-MM-DD..YYYY-MM-DD",
                where="--period",
            ) from None
        if end < start:
            raise ValidationError(f"{text!r} ends before it starts", where="--period")
        return cls(start, end)

    def contains(self, day: date | None) -> bool:
        """Return True if ``day`` falls in the period.

        >>> Period.parse("2026-03").contains(date(2026, 3, 31))
        True
        """
        return day is not None and self.start <= day <= self.end

    def months(self) -> list[str]:
        """Return the months of the period as ``YYYY-MM``.

        >>> Period.parse("2025-11..2026-02").months()
        ['2025-11', '2025-12', '2026-01', '2026-02']
        """
        out = []
        y, m = self.start.year, self.start.month
        while (y, m) <= (self.end.year, self.end.month):
            out.append(f"{y:04d}-{m:02d}")
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        return out

    def __str__(self) -> str:
        return f"{self.start.isoformat()} to {self.end.isoformat()}"


@dataclass(frozen=True)
class Scope:
    """What a report covers: an admin area (P-code prefix) and/or one organisation."""

    area: str | None = None
    organisation: str | None = None

    @classmethod
    def parse(cls, text: str | None) -> Scope:
        """Parse ``area:UA59``, ``org:FSD`` or both joined by a comma (empty: everything).

        >>> Scope.parse("area:UA59,org:FSD")
        Scope(area='UA59', organisation='FSD')
        >>> Scope.parse(None).describe()
        'whole programme'
        """
        if not text:
            return cls()
        area = org = None
        for part in text.split(","):
            key, sep, value = part.strip().partition(":")
            if not sep or not value.strip():
                raise ValidationError(
                    f"{part!r} is not a scope; use area:PCODE_PREFIX or org:ORG_CODE",
                    where="--scope",
                )
            if key == "area":
                area = value.strip()
            elif key in ("org", "organisation"):
                org = value.strip()
            else:
                raise ValidationError(
                    f"unknown scope kind {key!r}; use area:PCODE_PREFIX or org:ORG_CODE",
                    where="--scope",
                )
        return cls(area, org)

    def has_area(self, pcode: str | None) -> bool:
        """Return True if a P-code lies in the scope's admin area (always True without one).

        >>> Scope(area="UA59").has_area("UA5902"), Scope(area="UA59").has_area(None)
        (True, False)
        """
        return self.area is None or (pcode is not None and pcode.startswith(self.area))

    def has_org(self, organisation: str | None) -> bool:
        """Return True if an organisation is in scope."""
        return self.organisation is None or organisation == self.organisation

    def describe(self) -> str:
        """Return a human description."""
        parts = []
        if self.area:
            parts.append(f"admin area {self.area}")
        if self.organisation:
            parts.append(f"organisation {self.organisation}")
        return ", ".join(parts) or "whole programme"


@dataclass(frozen=True)
class Column:
    """A table column: key in the row dicts, header label and unit/kind."""

    key: str
    label: str
    kind: str = "text"  # text | int | m2 | float | coord | date | pct

    @property
    def numeric(self) -> bool:
        """Return True for number columns (right-aligned, summed)."""
        return self.kind in ("int", "m2", "float", "coord", "pct")


@dataclass
class Table:
    """One table of a report."""

    name: str
    title: str
    columns: list[Column]
    rows: list[dict[str, Any]]
    note: str | None = None
    total: dict[str, Any] | None = None

    def add_total(self, label_key: str, label: str = "Total") -> None:
        """Add a total row summing every numeric column except percentages and rates."""
        total: dict[str, Any] = {c.key: None for c in self.columns}
        total[label_key] = label
        for c in self.columns:
            if c.kind in ("int", "m2"):
                total[c.key] = sum((r.get(c.key) or 0) for r in self.rows)
        self.total = total

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-compatible dict."""
        return {
            "name": self.name,
            "title": self.title,
            "columns": [{"key": c.key, "label": c.label, "kind": c.kind} for c in self.columns],
            "rows": [_jsonable(r) for r in self.rows],
            "total": _jsonable(self.total) if self.total else None,
            "note": self.note,
        }


@dataclass
class Chart:
    """A chart as data: ``kind`` bar|barh|stacked|stackedh, categories and named series."""

    name: str
    title: str
    kind: str
    categories: list[str]
    series: dict[str, list[float]]
    ylabel: str = ""

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-compatible dict."""
        return dict(self.__dict__)


@dataclass
class ReportDoc:
    """A generated report: identification, data cut-off, ledger hash, tables and charts."""

    name: str
    title: str
    period: Period
    scope: Scope
    cut_off: datetime
    ledger_hash: str
    report_count: int
    generated_at: datetime
    programme: str | None = None
    tables: list[Table] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def table(self, name: str) -> Table:
        """Return the table called ``name``."""
        for t in self.tables:
            if t.name == name:
                return t
        raise KeyError(name)

    def metadata(self) -> list[tuple[str, str]]:
        """Return the identification lines printed on every rendering."""
        return [
            ("Report", self.title),
            ("Programme", self.programme or ""),
            ("Period", str(self.period)),
            ("Scope", self.scope.describe()),
            ("Data cut-off", self.cut_off.strftime("%Y-%m-%d %H:%M:%S UTC")),
            ("Approved reports used", str(self.report_count)),
            ("Ledger hash (sha256)", self.ledger_hash),
            ("Generated", self.generated_at.strftime("%Y-%m-%d %H:%M UTC")),
        ]

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-compatible dict."""
        return {
            "report": self.name,
            "title": self.title,
            "programme": self.programme,
            "period": {"start": self.period.start.isoformat(), "end": self.period.end.isoformat()},
            "scope": {"area": self.scope.area, "organisation": self.scope.organisation},
            "data_cut_off": self.cut_off.isoformat(),
            "ledger_hash": self.ledger_hash,
            "approved_reports": self.report_count,
            "generated_at": self.generated_at.isoformat(),
            "notes": list(self.notes),
            "tables": [t.as_dict() for t in self.tables],
            "charts": [c.as_dict() for c in self.charts],
        }


def _jsonable(row: Mapping[str, Any] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in (row or {}).items():
        out[k] = v.isoformat() if isinstance(v, date) else v
    return out


def payload_hash(payload: Mapping[str, Any]) -> str:
    """Return the sha256 of a report payload in canonical JSON (sorted keys).

    >>> payload_hash({"b": 1, "a": [1, 2]}) == payload_hash({"a": [1, 2], "b": 1})
    True
    """
    return hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)).hexdigest()


def ledger_hash(entries: Iterable[tuple[str, str]]) -> str:
    """Return the reproducibility hash: sha256 over ``report_id`` and payload hash, in order.

    ``entries`` are the approved reports in a canonical order (by ``report_id``).

    >>> ledger_hash([]) == hashlib.sha256(b"").hexdigest()
    True
    >>> ledger_hash([("R1", "aa"), ("R2", "bb")]) != ledger_hash([("R2", "bb"), ("R1", "aa")])
    True
    """
    h = hashlib.sha256()
    for report_id, digest in entries:
        h.update(f"{report_id}\t{digest}\n".encode())
    return h.hexdigest()


def age_group(sex: str, age: int | None) -> str:
    """Return the SADD group of a person: women, men, girls, boys or unknown (under 18: child).

    >>> age_group("female", 12), age_group("male", 40), age_group("male", None)
    ('girls', 'men', 'unknown')
    """
    if age is None or sex not in ("female", "male"):
        return "unknown"
    if age < 18:
        return "girls" if sex == "female" else "boys"
    return "women" if sex == "female" else "men"


def share(part: float, whole: float) -> float | None:
    """Return part/whole as a percentage rounded to 0.1, or None when whole is 0.

    >>> share(1, 3), share(1, 0)
    (33.3, None)
    """
    return None if not whole else round(100.0 * part / whole, 1)


def sum_by(rows: Sequence[Mapping[str, Any]], key: str) -> float:
    """Return the sum of one field over rows (None counts as 0).

    >>> sum_by([{"a": 1}, {"a": None}, {"a": 2.5}], "a")
    3.5
    """
    return float(sum((r.get(key) or 0) for r in rows))
