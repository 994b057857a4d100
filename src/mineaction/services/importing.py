"""Import field data (ODK Central, KoboToolbox, GIS files) as *submitted* reports.

One file is one transaction: good records become submitted reports, bad records go to the
quarantine with every reason, and the batch is recorded; if the file itself is unreadable
nothing is written. ``dry_run`` does all the work and writes nothing. The HTTP API calls
:func:`import_bytes` with the uploaded bytes and filename.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, RowMapping, and_, delete, func, insert, or_, select, update

from mineaction.core.reports import normalise_report, parse_report
from mineaction.errors import (
    ConflictError,
    GeometryError,
    MineActionError,
    NotFoundError,
    UnsafeCoordinateError,
    ValidationError,
)
from mineaction.forms import FORMS, Form
from mineaction.io.detect import FileRead, read_any
from mineaction.io.formmap import to_report
from mineaction.io.gis import load_mapping
from mineaction.io.safety import MAX_FILE_BYTES
from mineaction.io.submissions import Submission
from mineaction.store import reports as ledger
from mineaction.store import reports as repo
from mineaction.store import schema as s
from mineaction.store.engine import Store
from mineaction.store.settings import programme_area

Progress = Callable[[int], None]
#: A rejected record: its outcome, the submission, and the mapped report when a repair is offered.
Rejected = tuple["RecordOutcome", Submission, dict[str, Any] | None]


@dataclass
class RecordOutcome:
    """What happened to one record of the file."""

    where: str
    form_id: str | None
    status: str  # new | duplicate | rejected
    report_id: str | None = None
    supersedes: str | None = None
    problems: list[dict[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: proposed repairs (never applied silently): field, reason, proposed GeoJSON geometry
    repairs: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class FormCounts:
    """Counts for one form: read / new / duplicate / rejected."""

    read: int = 0
    new: int = 0
    duplicate: int = 0
    rejected: int = 0


@dataclass
class ImportResult:
    """The outcome of importing one file."""

    batch_id: str
    filename: str
    format: str
    organisation: str
    dry_run: bool
    records: list[RecordOutcome] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def per_form(self) -> dict[str, FormCounts]:
        """Return counts per form id."""
        out: dict[str, FormCounts] = {}
        for r in self.records:
            c = out.setdefault(r.form_id or "(unknown form)", FormCounts())
            c.read += 1
            setattr(c, r.status, getattr(c, r.status) + 1)
        return out

    @property
    def totals(self) -> FormCounts:
        """Return counts over all forms."""
        c = FormCounts()
        for r in self.records:
            c.read += 1
            setattr(c, r.status, getattr(c, r.status) + 1)
        return c

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-compatible summary (for the API and ``--format json``)."""
        return {
            "batch_id": self.batch_id,
            "filename": self.filename,
            "format": self.format,
            "organisation": self.organisation,
            "dry_run": self.dry_run,
            "notes": self.notes,
            "totals": asdict(self.totals),
            "per_form": {k: asdict(v) for k, v in self.per_form.items()},
            "records": [asdict(r) for r in self.records],
        }


def _guess_form(sub: Submission) -> Form | None:
    keys = set(sub.answers) | set(sub.repeats)
    best, score = None, 0
    for form in FORMS.values():
        required = [n for n in form.required_fields() if n != "report_date"]
        if required and all(n in keys for n in required):
            overlap = len(keys & (set(form.fields()) | set(form.repeats())))
            if overlap > score:
                best, score = form, overlap
    return best


def _pick_form(sub: Submission, form: str | None) -> Form | None:
    if form:
        return FORMS[form]
    if sub.form_id in FORMS:
        return FORMS[sub.form_id]
    return _guess_form(sub)


def _record_key(organisation: str, sub: Submission) -> str:
    """Return the quarantine key of a record: its submission (any export format), else its data.

    The same ODK/Kobo instance read from another export format (Central OData vs CSV zip) is
    the same record; a record without an instance ID is known by its raw content.
    """
    if sub.instance_id:
        return hashlib.sha256(
            orjson.dumps({"o": organisation, "s": sub.system, "i": sub.instance_id})
        ).hexdigest()
    return _raw_key(organisation, sub)


def _raw_key(organisation: str, sub: Submission) -> str:
    """Return the key of a record by its raw content (how records were keyed before 2026-11)."""
    raw = orjson.dumps({"o": organisation, "r": sub.raw}, option=orjson.OPT_SORT_KEYS, default=str)
    return hashlib.sha256(raw).hexdigest()


def _canonical(payload: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in payload.items() if k not in ("submitted_by", "source", "supersedes")}


CHUNK = 500


def _chunks(items: list[str]) -> list[list[str]]:
    return [items[i : i + CHUNK] for i in range(0, len(items), CHUNK)]


def _existing(
    conn: Connection, organisation: str, report_ids: list[str], roots: dict[str, list[str]]
) -> tuple[dict[str, dict[str, Any]], dict[tuple[str, str], list[str]]]:
    """Return existing payloads by report id, and earlier versions' ids by (system, root)."""
    r = s.report
    by_id: dict[str, dict[str, Any]] = {}
    for chunk in _chunks(sorted(set(report_ids))):
        for rid, payload in conn.execute(
            select(r.c.report_id, r.c.payload).where(r.c.report_id.in_(chunk))
        ):
            by_id[rid] = payload
    versions: dict[tuple[str, str], list[str]] = {}
    for system, keys in roots.items():
        for chunk in _chunks(sorted(set(keys))):
            q = (
                select(r.c.source_key, r.c.report_id)
                .where(
                    r.c.organisation == organisation,
                    r.c.source_system == system,
                    r.c.source_key.in_(chunk),
                )
                .order_by(r.c.seq.desc())
            )
            for key, rid in conn.execute(q):
                versions.setdefault((system, key), []).append(rid)
    return by_id, versions


def _problems_of(exc: MineActionError) -> list[dict[str, str]]:
    if isinstance(exc.details, list) and all(isinstance(d, dict) for d in exc.details):
        return [
            {"field": str(d.get("field", "")), "message": str(d.get("message", ""))}
            for d in exc.details
        ]
    return [{"field": exc.where or "", "message": exc.message}]


def _repairs_of(exc: MineActionError) -> list[dict[str, Any]]:
    """Return the repair an invalid polygon's error offers (make_valid), to show, not apply."""
    d = exc.details
    if isinstance(exc, GeometryError) and isinstance(d, dict) and d.get("repaired"):
        return [
            {
                "field": exc.where or "",
                "reason": str(d.get("reason", "")),
                "proposed": orjson.loads(orjson.dumps(d["repaired"])),  # JSON-native
            }
        ]
    return []


def _unknown_form(sub: Submission) -> list[dict[str, str]]:
    text = (
        f"form {sub.form_id!r} is not one of ours ({', '.join(FORMS)})"
        if sub.form_id
        else "the export does not name its form (Kobo CSV/XLSX exports do not) and it could "
        "not be recognised"
    )
    return [{"field": "", "message": text + "; give --form"}]


def _process(
    conn: Connection,
    subs: list[Submission],
    *,
    organisation: str,
    form: str | None,
    dry_run: bool,
    actor: str | None,
    progress: Progress | None,
) -> tuple[list[RecordOutcome], list[Rejected]]:
    area = programme_area(conn)
    outcomes: list[RecordOutcome] = []
    rejected: list[Rejected] = []
    valid: list[tuple[RecordOutcome, Submission, dict[str, Any]]] = []

    def reject(
        out: RecordOutcome,
        sub: Submission,
        problems: list[dict[str, str]],
        document: dict[str, Any] | None = None,
    ) -> None:
        out.status, out.problems = "rejected", problems
        rejected.append((out, sub, document))

    # 1. map and validate every record (pure; no database)
    for sub in subs:
        the_form = _pick_form(sub, form)
        out = RecordOutcome(
            where=sub.where, form_id=the_form.form_id if the_form else sub.form_id, status="new"
        )
        outcomes.append(out)
        if progress:
            progress(1)
        if the_form is None:
            reject(out, sub, _unknown_form(sub))
            continue
        if form and sub.form_id in FORMS and sub.form_id != form:
            reject(
                out,
                sub,
                [
                    {
                        "field": "",
                        "message": f"the submission is from form {sub.form_id}, not --form {form}",
                    }
                ],
            )
            continue
        if not sub.instance_id or not sub.root_id:
            reject(
                out,
                sub,
                [{"field": "meta/instanceID", "message": "the submission has no instance ID"}],
            )
            continue
        report_id = f"{organisation}:{sub.instance_id}"[:100]
        out.report_id = report_id
        try:
            doc, problems = to_report(sub, the_form, organisation=organisation, report_id=report_id)
        except UnsafeCoordinateError as exc:
            raise UnsafeCoordinateError(
                exc.message, where=f"{sub.where}, {exc.where}" if exc.where else sub.where
            ) from None
        if problems:
            reject(out, sub, problems)
            continue
        try:
            report = parse_report(doc, where=sub.where)
            payload, warnings = normalise_report(report, programme_area=area)
            payload = orjson.loads(orjson.dumps(payload))  # JSON-native (tuples -> lists)
        except MineActionError as exc:
            out.repairs = _repairs_of(exc)
            reject(out, sub, _problems_of(exc), doc if out.repairs else None)
            continue
        out.warnings = warnings
        valid.append((out, sub, payload))

    # 2. identity: duplicates, older versions and edits, against the store and this file
    roots: dict[str, list[str]] = {}
    for _, sub, _ in valid:
        roots.setdefault(sub.system, []).append(sub.root_id)
    by_id, versions = _existing(conn, organisation, [o.report_id or "" for o, _, _ in valid], roots)
    latest_in_file: dict[tuple[str, str], str] = {}
    seen: set[str] = set()

    def payload_of(rid: str) -> dict[str, Any]:
        if rid not in by_id:
            q = select(s.report.c.payload).where(s.report.c.report_id == rid)
            by_id[rid] = conn.execute(q).scalar_one()
        return by_id[rid]

    to_insert: list[tuple[dict[str, Any], list[str], Submission]] = []
    for out, sub, payload in valid:
        report_id = out.report_id or ""
        earlier = versions.get((sub.system, sub.root_id), [])
        existing = by_id.get(report_id)
        if report_id in seen:
            out.status = "duplicate"
        elif existing is not None:
            if _canonical(existing) == _canonical(payload):
                out.status = "duplicate"
            else:
                reject(
                    out,
                    sub,
                    [
                        {
                            "field": "",
                            "message": f"report {report_id} already exists with different "
                            "content for the same instance ID",
                        }
                    ],
                )
        elif any(
            (payload_of(rid).get("source") or {}).get("deprecated_id") == sub.instance_id
            for rid in earlier
        ):
            out.status = "duplicate"  # an older version of a submission we already hold
        else:
            prior = latest_in_file.get((sub.system, sub.root_id)) or (
                earlier[0] if earlier else None
            )
            if prior:
                payload["supersedes"] = out.supersedes = prior
            seen.add(report_id)
            latest_in_file[(sub.system, sub.root_id)] = report_id
            to_insert.append((payload, out.warnings, sub))

    # 3. write, in bulk
    if not dry_run and to_insert:
        repo.insert_reports(
            conn,
            [
                {
                    "payload": payload,
                    "warnings": warnings,
                    "submitted_by": actor or payload.get("submitted_by"),
                    "source_system": sub.system,
                    "source_key": sub.root_id,
                }
                for payload, warnings, sub in to_insert
            ],
            actor=actor,
        )
        for chunk in _chunks(sorted({sub.root_id for _, _, sub in to_insert})):
            conn.execute(
                update(s.quarantine)
                .where(
                    and_(
                        s.quarantine.c.organisation == organisation,
                        s.quarantine.c.source_key.in_(chunk),
                        s.quarantine.c.resolved.is_(False),
                    )
                )
                .values(
                    resolved=True,
                    resolution="reimported",
                    resolved_at=ledger.now(),
                    resolved_by=actor,
                    version=s.quarantine.c.version + 1,
                )
            )
    return outcomes, rejected


def _quarantine(
    conn: Connection,
    batch_id: str,
    organisation: str,
    filename: str,
    rejected: list[Rejected],
) -> None:
    at = ledger.now()
    rows = []
    keys = [_record_key(organisation, sub) for _, sub, _ in rejected]
    # quarantine rows written before records were keyed by instance carry the raw-content key
    older = {
        _raw_key(organisation, sub): key for (_, sub, _), key in zip(rejected, keys, strict=True)
    }
    known: set[str] = set()
    for chunk in _chunks(sorted(set(keys) | set(older))):
        # held already, or set aside by a reviewer (discarded, corrected, repaired): not again
        q = select(s.quarantine.c.record_key).where(
            s.quarantine.c.record_key.in_(chunk),
            or_(
                s.quarantine.c.resolved.is_(False),
                s.quarantine.c.resolution.in_(["discarded", "resubmitted", "repaired"]),
            ),
        )
        known |= {older.get(k, k) for (k,) in conn.execute(q)}
    for (out, sub, document), key in zip(rejected, keys, strict=True):
        if key in known:
            continue
        known.add(key)
        first = out.problems[0] if out.problems else {"field": "", "message": "rejected"}
        rows.append(
            {
                "batch_id": batch_id,
                "at": at,
                "organisation": organisation,
                "filename": filename[:300],
                "record": out.where[:300],
                "record_key": key,
                "source_key": sub.root_id[:200] if sub.root_id else None,
                "form_id": out.form_id,
                "field": first["field"][:200] or None,
                "message": "; ".join(
                    f"{p['field']}: {p['message']}" if p["field"] else p["message"]
                    for p in out.problems
                ),
                "problems": out.problems,
                "raw": orjson.loads(orjson.dumps(sub.raw, default=str)),
                "resolved": False,
                "repairs": (
                    orjson.loads(
                        orjson.dumps(
                            [
                                {**r, "document": document, "system": sub.system}
                                for r in out.repairs
                            ],
                            default=str,
                        )
                    )
                    if out.repairs
                    else None
                ),
                "version": 1,
            }
        )
    if rows:
        conn.execute(insert(s.quarantine), rows)


def _read(
    data: bytes,
    filename: str,
    organisation: str,
    form: str | None,
    mapping: dict[str, Any] | str | bytes | None,
) -> tuple[FileRead, dict[str, Any] | None]:
    if not organisation or len(organisation) > 100:
        raise ValidationError("an import needs the organisation code (--org)")
    if form is not None and form not in FORMS:
        raise ValidationError(
            f"unknown form {form!r}; known forms: {', '.join(FORMS)}", where="--form"
        )
    if isinstance(mapping, str | bytes):
        mapping = load_mapping(mapping)
    return read_any(data, filename, form=form, mapping=mapping), mapping


def _run(
    conn: Connection,
    read: FileRead,
    data: bytes,
    filename: str,
    *,
    organisation: str,
    form: str | None,
    dry_run: bool,
    actor: str | None,
    progress: Progress | None,
    batch_id: str | None = None,
) -> ImportResult:
    """Validate and (unless ``dry_run``) store one read file inside an open transaction."""
    result = ImportResult(
        batch_id=batch_id or uuid.uuid4().hex,
        filename=filename,
        format=read.format,
        organisation=organisation,
        dry_run=dry_run,
    )
    outcomes, rejected = _process(
        conn,
        read.records,
        organisation=organisation,
        form=form,
        dry_run=dry_run,
        actor=actor,
        progress=progress,
    )
    result.records = outcomes
    if read.format == "kobo-csv" and any(
        r.form_id in FORMS and FORMS[r.form_id].repeats() for r in outcomes if r.form_id
    ):
        result.notes.append(
            "KoboToolbox CSV exports leave out repeat groups: export as XLSX (or JSON) to "
            "import released polygons, EO items, victims, evidence and non-conformities"
        )
    if not dry_run:
        _quarantine(conn, result.batch_id, organisation, filename, rejected)
        conn.execute(
            insert(s.import_batch).values(
                batch_id=result.batch_id,
                at=ledger.now(),
                actor=actor,
                organisation=organisation,
                filename=filename[:300],
                format=read.format,
                sha256=hashlib.sha256(data).hexdigest(),
                counts={k: asdict(v) for k, v in result.per_form.items()},
                dry_run=False,
                status="imported",
                form_id=form,
                result=_stored_result(result),
            )
        )
        ledger.audit(
            conn,
            actor=actor,
            action="import",
            entity="import_batch",
            entity_id=result.batch_id,
            details={"filename": filename[:300], "totals": asdict(result.totals)},
        )
    return result


def _stored_result(result: ImportResult) -> dict[str, Any]:
    """Return what an import record keeps of the result (notes and every record's outcome)."""
    return orjson.loads(
        orjson.dumps(
            {"notes": result.notes, "records": [asdict(r) for r in result.records]}, default=str
        )
    )


def import_bytes(
    store: Store,
    data: bytes,
    filename: str,
    *,
    organisation: str,
    form: str | None = None,
    mapping: dict[str, Any] | str | bytes | None = None,
    dry_run: bool = False,
    actor: str | None = None,
    progress: Progress | None = None,
    on_read: Callable[[int], None] | None = None,
    batch_id: str | None = None,
) -> ImportResult:
    """Import one file given as bytes (the API's multipart upload) and return the summary.

    Raises :class:`ValidationError` when the file as a whole cannot be read (truncated, wrong
    format, unsafe): then nothing is written. ``batch_id`` names the import record (default:
    a new random id).
    """
    read, _ = _read(data, filename, organisation, form, mapping)
    if on_read:
        on_read(len(read.records))
    ctx = store.read() if dry_run else store.write()
    with ctx as conn:
        return _run(
            conn,
            read,
            data,
            filename,
            organisation=organisation,
            form=form,
            dry_run=dry_run,
            actor=actor,
            progress=progress,
            batch_id=batch_id,
        )


#: How long a checked (dry-run) upload waits for confirmation.
CHECK_KEEP_HOURS = 24


def check_upload(
    store: Store,
    data: bytes,
    filename: str,
    *,
    organisation: str,
    form: str | None = None,
    mapping: str | bytes | None = None,
    actor: str | None = None,
    keep_hours: float = CHECK_KEEP_HOURS,
    batch_id: str | None = None,
) -> ImportResult:
    """Dry-run a file and keep it as a *checked* import record that can be confirmed later.

    Nothing of the file's content is written (no reports, no quarantine): only the import
    record with the dry run's result, and the uploaded bytes until :func:`confirm_import` or
    expiry (``keep_hours``).
    """
    mapping_text = None
    if mapping:
        try:
            mapping_text = mapping.decode("utf-8") if isinstance(mapping, bytes) else mapping
        except UnicodeDecodeError:
            raise ValidationError("the column mapping is not UTF-8 text", where="mapping") from None
    mapping_doc = load_mapping(mapping_text) if mapping_text else None
    read, _ = _read(data, filename, organisation, form, mapping_doc)
    with store.read() as conn:
        result = _run(
            conn,
            read,
            data,
            filename,
            organisation=organisation,
            form=form,
            dry_run=True,
            actor=actor,
            progress=None,
            batch_id=batch_id,
        )
    now = ledger.now()
    expires = now + timedelta(hours=keep_hours)
    with store.write() as conn:
        _expire_uploads(conn, now)
        conn.execute(
            insert(s.import_batch).values(
                batch_id=result.batch_id,
                at=now,
                actor=actor,
                organisation=organisation,
                filename=filename[:300],
                format=read.format,
                sha256=hashlib.sha256(data).hexdigest(),
                counts={k: asdict(v) for k, v in result.per_form.items()},
                dry_run=True,
                status="checked",
                form_id=form,
                result=_stored_result(result),
                expires_at=expires,
            )
        )
        conn.execute(
            insert(s.import_upload).values(
                batch_id=result.batch_id,
                data=data,
                mapping={"yaml": mapping_text} if mapping_text else None,
                expires_at=expires,
            )
        )
        ledger.audit(
            conn,
            actor=actor,
            action="import_check",
            entity="import_batch",
            entity_id=result.batch_id,
            details={"filename": filename[:300], "totals": asdict(result.totals)},
        )
    return result


def _expire_uploads(conn: Connection, now: datetime) -> None:
    """Drop the bytes of dry runs nobody confirmed in time; their records say ``expired``."""
    old = [
        bid
        for (bid,) in conn.execute(
            select(s.import_upload.c.batch_id).where(s.import_upload.c.expires_at < now)
        )
    ]
    for chunk in _chunks(old):
        conn.execute(delete(s.import_upload).where(s.import_upload.c.batch_id.in_(chunk)))
        conn.execute(
            update(s.import_batch)
            .where(s.import_batch.c.batch_id.in_(chunk), s.import_batch.c.status == "checked")
            .values(status="expired")
        )


def confirm_import(
    store: Store,
    batch_id: str,
    *,
    actor: str | None = None,
    organisation: str | None = None,
) -> ImportResult:
    """Import the file of a checked dry run (as a new import record) and mark it confirmed.

    The file is validated again against the database as it is now, so the result may differ
    from the dry run's (e.g. records imported meanwhile are duplicates). ``organisation``
    limits the records the caller may confirm (operators: their own).
    """
    with store.write() as conn:
        row = _batch_row(conn, batch_id, organisation)
        if row["status"] != "checked":
            state = {
                "imported": "is an import, not a dry run",
                "confirmed": f"was already confirmed as import {row['confirmed_as']}",
                "expired": "has expired: upload the file again",
            }.get(row["status"], f"is {row['status']}")
            raise ConflictError(f"import {batch_id} {state}")
        upload = (
            conn.execute(select(s.import_upload).where(s.import_upload.c.batch_id == batch_id))
            .mappings()
            .first()
        )
        now = ledger.now()
        expires = upload["expires_at"] if upload is not None else None
        if expires is not None and expires.tzinfo is None:
            expires = expires.replace(tzinfo=UTC)
        if upload is None or (expires is not None and expires < now):
            raise ConflictError(f"import {batch_id} has expired: upload the file again")
        data = bytes(upload["data"])
        read, _ = _read(
            data, row["filename"], row["organisation"], row["form_id"], _kept_mapping(upload)
        )
        result = _run(
            conn,
            read,
            data,
            row["filename"],
            organisation=row["organisation"],
            form=row["form_id"],
            dry_run=False,
            actor=actor,
            progress=None,
        )
        conn.execute(delete(s.import_upload).where(s.import_upload.c.batch_id == batch_id))
        conn.execute(
            update(s.import_batch)
            .where(s.import_batch.c.batch_id == batch_id)
            .values(status="confirmed", confirmed_as=result.batch_id)
        )
        ledger.audit(
            conn,
            actor=actor,
            action="import_confirm",
            entity="import_batch",
            entity_id=batch_id,
            details={"import": result.batch_id},
        )
    return result


def _kept_mapping(upload: RowMapping) -> str | dict[str, Any] | None:
    """Return the column mapping kept with a checked upload (its YAML text)."""
    kept = upload["mapping"]
    if isinstance(kept, dict) and isinstance(kept.get("yaml"), str):
        return str(kept["yaml"])
    return kept if isinstance(kept, dict) else None


def _batch_row(conn: Connection, batch_id: str, organisation: str | None) -> RowMapping:
    q = select(s.import_batch).where(s.import_batch.c.batch_id == batch_id)
    row = conn.execute(q).mappings().first()
    if row is None or (organisation is not None and row["organisation"] != organisation):
        raise NotFoundError(f"no import with id {batch_id!r}")
    return row


def import_record(
    store: Store, batch_id: str, *, organisation: str | None = None
) -> dict[str, Any]:
    """Return one import record: who, when, file, counts per form and every record's outcome."""
    with store.read() as conn:
        row = _batch_row(conn, batch_id, organisation)
        n_quarantined = conn.execute(
            select(func.count())
            .select_from(s.quarantine)
            .where(s.quarantine.c.batch_id == batch_id)
        ).scalar_one()
    return _record_dict(row, full=True) | {"quarantined": int(n_quarantined)}


def _totals(counts: dict[str, Any]) -> dict[str, int]:
    out = {"read": 0, "new": 0, "duplicate": 0, "rejected": 0}
    for c in (counts or {}).values():
        for k in out:
            out[k] += int(c.get(k, 0))
    return out


def _record_dict(row: RowMapping, *, full: bool) -> dict[str, Any]:
    stored = row["result"] or {}
    out: dict[str, Any] = {
        "batch_id": row["batch_id"],
        "at": row["at"].isoformat(),
        "actor": row["actor"],
        "organisation": row["organisation"],
        "filename": row["filename"],
        "format": row["format"],
        "form": row["form_id"],
        "sha256": row["sha256"],
        "dry_run": bool(row["dry_run"]),
        "status": row["status"],
        "confirmed_as": row["confirmed_as"],
        "expires_at": row["expires_at"].isoformat() if row["expires_at"] else None,
        "totals": _totals(row["counts"]),
        "per_form": row["counts"] or {},
    }
    if full:
        out["notes"] = list(stored.get("notes") or [])
        out["records"] = list(stored.get("records") or [])
    return out


def list_imports(
    store: Store,
    *,
    organisation: str | None = None,
    status: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """Return import records (newest first, without per-record outcomes) and their total."""
    b = s.import_batch
    conds = []
    if organisation:
        conds.append(b.c.organisation == organisation)
    if status:
        conds.append(b.c.status == status)
    with store.read() as conn:
        total = conn.execute(select(func.count()).select_from(b).where(*conds)).scalar_one()
        rows = conn.execute(
            select(b)
            .where(*conds)
            .order_by(b.c.at.desc(), b.c.batch_id)
            .limit(limit)
            .offset(offset)
        ).mappings()
        return [_record_dict(r, full=False) for r in rows], int(total)


def import_path(store: Store, path: Path, **kwargs: Any) -> ImportResult:
    """Import a file from disk (see :func:`import_bytes`)."""
    parts = shapefile_parts(path) if path.suffix.lower() == ".shp" else [path]
    try:
        size = sum(p.stat().st_size for p in parts)
        if size > MAX_FILE_BYTES:
            raise ValidationError(
                f"the file is {size / 1e6:.0f} MB; the limit is {MAX_FILE_BYTES / 1e6:.0f} MB "
                "(split the export)",
                where=path.name,
            )
        data = path.read_bytes() if len(parts) == 1 else _zip_parts(parts)
    except OSError as exc:
        raise ValidationError(f"cannot read the file: {exc.strerror}", where=str(path)) from None
    return import_bytes(store, data, path.name, **kwargs)


#: The files of a Shapefile next to its .shp (the first three are required).
SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")


def shapefile_parts(path: Path) -> list[Path]:
    """Return a Shapefile's files (.shp, .shx, .dbf and, when present, .prj, .cpg).

    Raises :class:`ValidationError` naming a missing required part.
    """
    found = {p.suffix.lower(): p for p in path.parent.glob(f"{path.stem}.*") if p.is_file()}
    found[".shp"] = path
    missing = [ext for ext in SHAPEFILE_PARTS[:3] if ext not in found]
    if missing:
        raise ValidationError(
            f"the Shapefile's {', '.join(missing)} file is missing next to it (a Shapefile is "
            "several files: keep them together, or zip them)",
            where=path.name,
        )
    return [found[ext] for ext in SHAPEFILE_PARTS if ext in found]


def _zip_parts(parts: list[Path]) -> bytes:
    """Return the files zipped together (uncompressed), named as on disk."""
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for p in parts:
            zf.writestr(p.name, p.read_bytes())
    return buf.getvalue()


def list_quarantine(
    store: Store,
    *,
    organisation: str | None = None,
    batch_id: str | None = None,
    include_resolved: bool = False,
    limit: int = 200,
) -> list[dict[str, Any]]:
    """Return quarantined records (newest first) with their reasons and raw data."""
    q = select(s.quarantine).order_by(s.quarantine.c.id.desc()).limit(limit)
    if organisation:
        q = q.where(s.quarantine.c.organisation == organisation)
    if batch_id:
        q = q.where(s.quarantine.c.batch_id == batch_id)
    if not include_resolved:
        q = q.where(s.quarantine.c.resolved.is_(False))
    with store.read() as conn:
        return [dict(r) for r in conn.execute(q).mappings()]
