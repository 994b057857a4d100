"""Code lists: country-specific codes and display labels on top of the IMAS/MDR base terms.

Base terms (:data:`mineaction.core.codes.CODE_LISTS`) are fixed: they cannot be removed or
deactivated, only given country display labels (in any interface language). A country adds its
own codes, each mapped onto a base term of the same list so that national and international
reports still aggregate; a country code can be deactivated (kept for the records that use it,
offered no more) and reactivated. Every change is audited.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, insert, select, update

from mineaction.core import codes
from mineaction.errors import ConflictError, NotFoundError, StaleVersionError, ValidationError
from mineaction.store import schema as s
from mineaction.store.engine import Store
from mineaction.store.reports import audit, now

MAX_LABEL = 200


@dataclass
class CodeTerm:
    """One code of a list: a base term (with any country labels) or a country code."""

    list_name: str
    code: str
    base_term: str
    labels: dict[str, str] = field(default_factory=dict)
    active: bool = True
    is_base: bool = True
    version: int = 0


def field_error(problems: list[tuple[str, str]], what: str) -> ValidationError:
    """Return a :class:`ValidationError` naming every field problem (``details.fields``)."""
    first_field, first = problems[0]
    return ValidationError(
        f"{what}: {first}" + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""),
        where=first_field,
        details={"fields": dict(problems)},
    )


def _clean_labels(labels: Mapping[str, str | None], *, need_default: bool) -> dict[str, str]:
    problems: list[tuple[str, str]] = []
    out: dict[str, str] = {}
    for lang, text in labels.items():
        if lang not in codes.LANGUAGES:
            problems.append((f"label_{lang}", f"unknown language {lang!r}"))
            continue
        value = (text or "").strip()
        if len(value) > MAX_LABEL:
            problems.append((f"label_{lang}", f"at most {MAX_LABEL} characters"))
        elif value:
            out[lang] = value
    default = codes.LANGUAGES[0]
    if need_default and default not in out:
        problems.append((f"label_{default}", "enter the label in English"))
    if problems:
        raise field_error(problems, "the labels are not valid")
    return out


def _check_list(list_name: str) -> list[str]:
    try:
        return codes.base_terms(list_name)
    except ValueError as exc:
        raise ValidationError(str(exc), where="list_name") from None


def _rows(conn: Connection) -> dict[tuple[str, str], Any]:
    t = s.code_term
    return {(r.list_name, r.code): r for r in conn.execute(select(t))}


def code_lists(store: Store) -> dict[str, list[CodeTerm]]:
    """Return every code list: base terms first (with country labels), then country codes."""
    with store.read() as conn:
        rows = _rows(conn)
    out: dict[str, list[CodeTerm]] = {}
    for name in codes.CODE_LISTS:
        terms = codes.base_terms(name)
        items = []
        for term in terms:
            r = rows.get((name, term))
            items.append(
                CodeTerm(
                    name,
                    term,
                    term,
                    dict(r.labels) if r is not None else {},
                    True,
                    True,
                    int(r.version) if r is not None else 0,
                )
            )
        extra = sorted(
            (r for (lst, code), r in rows.items() if lst == name and code not in terms),
            key=lambda r: r.code,
        )
        items += [
            CodeTerm(name, r.code, r.base_term, dict(r.labels), bool(r.active), False, r.version)
            for r in extra
        ]
        out[name] = items
    return out


def get_term(store: Store, list_name: str, code: str) -> CodeTerm:
    """Return one code of a list or raise :class:`NotFoundError`."""
    _check_list(list_name)
    for term in code_lists(store)[list_name]:
        if term.code == code:
            return term
    raise NotFoundError(f"no code {code!r} in the code list {list_name}")


def add_code(
    store: Store,
    list_name: str,
    code: str,
    *,
    base_term: str,
    labels: Mapping[str, str | None],
    actor: str | None = None,
) -> CodeTerm:
    """Add a country code to a list, mapped onto one of its base terms (English label needed)."""
    _check_list(list_name)
    code = code.strip()
    problems = codes.check_country_code(list_name, code, base_term)
    try:
        clean = _clean_labels(labels, need_default=True)
    except ValidationError as exc:
        problems += list(exc.details["fields"].items())
        clean = {}
    if problems:
        raise field_error(problems, f"cannot add the code to {list_name}")
    at = now()
    t = s.code_term
    with store.write() as conn:
        if conn.execute(
            select(t.c.code).where(t.c.list_name == list_name, t.c.code == code)
        ).first():
            raise ConflictError(
                f"the code {code} is already in {list_name}: edit it instead",
                where="code",
                details={"fields": {"code": f"{code} is already in {list_name}"}},
            )
        conn.execute(
            insert(t).values(
                list_name=list_name,
                code=code,
                base_term=base_term,
                labels=clean,
                active=True,
                created_at=at,
                updated_at=at,
                version=1,
            )
        )
        audit(
            conn,
            actor=actor,
            action="create",
            entity="code",
            entity_id=f"{list_name}/{code}",
            details={"base_term": base_term, "labels": clean},
        )
    return CodeTerm(list_name, code, base_term, clean, True, False, 1)


def set_labels(
    store: Store,
    list_name: str,
    code: str,
    labels: Mapping[str, str | None],
    *,
    expected_version: int | None = None,
    actor: str | None = None,
) -> CodeTerm:
    """Set the display labels of a code (a base term's labels override the built-in ones).

    Empty labels fall back to the built-in translation (base terms) or to English.
    """
    terms = _check_list(list_name)
    is_base = code in terms
    clean = _clean_labels(labels, need_default=not is_base)
    t = s.code_term
    at = now()
    with store.write() as conn:
        row = conn.execute(select(t).where(t.c.list_name == list_name, t.c.code == code)).first()
        if row is None and not is_base:
            raise NotFoundError(f"no code {code!r} in the code list {list_name}")
        current = int(row.version) if row is not None else 0
        if expected_version is not None and expected_version != current:
            raise StaleVersionError(
                f"{list_name}/{code} was changed by someone else meanwhile: reload and "
                "apply your change again"
            )
        if row is None:
            conn.execute(
                insert(t).values(
                    list_name=list_name,
                    code=code,
                    base_term=code,
                    labels=clean,
                    active=True,
                    created_at=at,
                    updated_at=at,
                    version=1,
                )
            )
        else:
            done = conn.execute(
                update(t)
                .where(t.c.list_name == list_name, t.c.code == code, t.c.version == current)
                .values(labels=clean, updated_at=at, version=current + 1)
            )
            if done.rowcount != 1:
                raise StaleVersionError(f"{list_name}/{code} changed meanwhile: reload it")
        audit(
            conn,
            actor=actor,
            action="update",
            entity="code",
            entity_id=f"{list_name}/{code}",
            details={"labels": clean},
        )
    return get_term(store, list_name, code)


def set_active(
    store: Store, list_name: str, code: str, active: bool, *, actor: str | None = None
) -> CodeTerm:
    """Deactivate (or reactivate) a country code; base terms cannot be deactivated or removed."""
    terms = _check_list(list_name)
    if code in terms:
        raise ConflictError(
            f"{code} is a base term of {list_name} (IMAS / MDR): base terms cannot be removed "
            "or deactivated; change its label instead"
        )
    t = s.code_term
    with store.write() as conn:
        done = conn.execute(
            update(t)
            .where(t.c.list_name == list_name, t.c.code == code)
            .values(active=active, updated_at=now(), version=t.c.version + 1)
        )
        if done.rowcount != 1:
            raise NotFoundError(f"no code {code!r} in the code list {list_name}")
        audit(
            conn,
            actor=actor,
            action="activate" if active else "deactivate",
            entity="code",
            entity_id=f"{list_name}/{code}",
        )
    return get_term(store, list_name, code)


def display_labels(conn: Connection) -> dict[str, dict[str, str]]:
    """Return the country display labels by language: ``{lang: {code: label}}``.

    Inactive country codes keep their labels (records that use them are still shown).
    """
    out: dict[str, dict[str, str]] = {}
    for r in conn.execute(select(s.code_term.c.code, s.code_term.c.labels)):
        for lang, text in (r.labels or {}).items():
            out.setdefault(lang, {})[r.code] = text
    return out


def active_codes(store: Store, list_name: str) -> list[str]:
    """Return the codes that may be chosen in ``list_name`` now: base terms and active codes."""
    return [t.code for t in code_lists(store).get(list_name, []) if t.active]


def base_term_of(store: Store, list_name: str, code: str) -> str:
    """Return the base term a code stands for (itself for base terms) or raise NotFoundError."""
    return get_term(store, list_name, code).base_term
