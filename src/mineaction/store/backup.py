"""Portable backups: one zip archive that restores into SQLite or PostGIS.

Archive layout (``mineaction-backup`` format 1)::

    manifest.json        format, schema revision, created_at, source dialect, program version,
                         and per table: file, row count, sha256 of the file, column types
    data/TABLE.jsonl     one JSON object per row; geometries as WKB hex, dates ISO 8601,
                         times in UTC ISO 8601, JSON columns as JSON

A backup is taken inside one read transaction (SQLite: a WAL snapshot; PostgreSQL: a
REPEATABLE READ read-only transaction), so it is consistent while others keep writing.
A restore first checks the whole archive (manifest, checksums, row counts, schema revision)
and only then writes, in one transaction: a refused archive changes nothing.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO, Any

import orjson
import shapely
from alembic import command
from alembic.script import ScriptDirectory
from shapely.geometry.base import BaseGeometry
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Connection,
    Date,
    DateTime,
    Float,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    func,
    inspect,
    select,
    text,
)
from sqlalchemy.types import TypeEngine

from mineaction import __version__
from mineaction.errors import MineActionError, StoreError
from mineaction.store import schema as s
from mineaction.store.engine import MIGRATIONS, Store
from mineaction.store.types import Geometry, JSONType

FORMAT = "mineaction-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
_BATCH = 1000

Progress = Callable[[str, int], None]


class BackupError(MineActionError):
    """A backup archive cannot be written or restored (corrupt, newer schema, target not empty)."""

    http_status = 400
    code = "backup_error"


@dataclass
class TableInfo:
    """One table in a backup: its rows, checksum and column types."""

    name: str
    file: str
    rows: int
    sha256: str
    columns: list[tuple[str, str]]


@dataclass
class Manifest:
    """The manifest of a backup archive."""

    schema_revision: str
    created_at: str
    source_dialect: str
    program_version: str
    tables: list[TableInfo] = field(default_factory=list)

    def to_json(self) -> bytes:
        """Serialise as indented JSON."""
        return orjson.dumps(
            {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "schema_revision": self.schema_revision,
                "created_at": self.created_at,
                "source_dialect": self.source_dialect,
                "program_version": self.program_version,
                "tables": [
                    {
                        "name": t.name,
                        "file": t.file,
                        "rows": t.rows,
                        "sha256": t.sha256,
                        "columns": [[c, k] for c, k in t.columns],
                    }
                    for t in self.tables
                ],
            },
            option=orjson.OPT_INDENT_2,
        )

    @classmethod
    def parse(cls, raw: bytes, where: str) -> Manifest:
        """Read and check a manifest."""
        try:
            doc = orjson.loads(raw)
            if doc.get("format") != FORMAT:
                raise BackupError(f"not a mineaction backup (format {doc.get('format')!r})")
            if doc.get("format_version") != FORMAT_VERSION:
                raise BackupError(
                    f"backup format version {doc.get('format_version')!r} is not supported by "
                    f"this program (it reads version {FORMAT_VERSION}): upgrade mineaction"
                )
            tables = [
                TableInfo(
                    name=str(t["name"]),
                    file=str(t["file"]),
                    rows=int(t["rows"]),
                    sha256=str(t["sha256"]),
                    columns=[(str(c), str(k)) for c, k in t["columns"]],
                )
                for t in doc["tables"]
            ]
            return cls(
                schema_revision=str(doc["schema_revision"]),
                created_at=str(doc["created_at"]),
                source_dialect=str(doc["source_dialect"]),
                program_version=str(doc.get("program_version", "")),
                tables=tables,
            )
        except BackupError as exc:
            exc.where = where
            raise
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
            raise BackupError(
                f"the manifest is damaged ({exc}): use another backup", where=where
            ) from exc


@dataclass
class BackupResult:
    """What a backup or restore wrote."""

    path: str
    manifest: Manifest

    @property
    def total_rows(self) -> int:
        """Rows in all tables."""
        return sum(t.rows for t in self.manifest.tables)


# --- value encoding -----------------------------------------------------------------------


def column_kind(col: Column[Any]) -> str:
    """Return the portable kind of a column: geometry, json, date, datetime, bool, int, ...

    >>> from mineaction.store import schema as s
    >>> column_kind(s.hazard.c.geom), column_kind(s.report.c.payload), column_kind(s.report.c.seq)
    ('geometry', 'json', 'int')
    """
    t = col.type
    if isinstance(t, Geometry):
        return "geometry"
    if isinstance(t, JSON):
        return "json"
    if isinstance(t, DateTime):
        return "datetime"
    if isinstance(t, Date):
        return "date"
    if isinstance(t, Boolean):
        return "bool"
    if isinstance(t, Integer):
        return "int"
    if isinstance(t, Float):
        return "float"
    if isinstance(t, LargeBinary):
        return "bytes"
    return "str"


_TYPES: dict[str, TypeEngine[Any]] = {
    "geometry": Geometry(),
    "json": JSONType,
    "datetime": DateTime(timezone=True),
    "date": Date(),
    "bool": Boolean(),
    "int": Integer(),
    "float": Float(),
    "bytes": LargeBinary(),
    "str": String(),
}


def encode_value(kind: str, value: Any) -> Any:
    """Turn a database value into its portable JSON form.

    >>> from datetime import datetime, timezone, timedelta
    >>> encode_value("datetime", datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=2))))
    '2024-01-02T01:04:05+00:00'
    >>> encode_value("datetime", datetime(2024, 1, 2, 3, 4, 5))  # naive (SQLite) means UTC
    '2024-01-02T03:04:05+00:00'
    >>> from shapely.geometry import Point
    >>> encode_value("geometry", Point(1, 2))
    '0101000000000000000000f03f0000000000000040'
    """
    if value is None:
        return None
    if kind == "geometry":
        geom = shapely.set_srid(value, 0) if isinstance(value, BaseGeometry) else value
        return shapely.to_wkb(geom, hex=True, include_srid=False).lower()
    if kind == "datetime":
        dt: datetime = value if value.tzinfo else value.replace(tzinfo=UTC)
        return dt.astimezone(UTC).isoformat()
    if kind == "date":
        return value.isoformat()
    if kind == "bytes":
        return bytes(value).hex()
    if kind == "bool":
        return bool(value)
    return value


def decode_value(kind: str, value: Any) -> Any:
    """Turn a portable JSON value back into a Python value for inserting.

    >>> decode_value("datetime", "2024-01-02T01:04:05+00:00").isoformat()
    '2024-01-02T01:04:05+00:00'
    >>> decode_value("geometry", "0101000000000000000000f03f0000000000000040").wkt
    'POINT (1 2)'
    """
    if value is None:
        return None
    if kind == "geometry":
        return shapely.from_wkb(bytes.fromhex(value))
    if kind == "datetime":
        return datetime.fromisoformat(value).astimezone(UTC)
    if kind == "date":
        return date.fromisoformat(value)
    if kind == "bytes":
        return bytes.fromhex(value)
    return value


def _dump_line(obj: Mapping[str, Any]) -> bytes:
    return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS) + b"\n"


def encode_row(columns: list[tuple[str, str]], row: Mapping[Any, Any]) -> bytes:
    """Encode one row as a JSON line (keys sorted, so equal rows give equal bytes)."""
    return _dump_line({c: encode_value(k, row[c]) for c, k in columns})


def _table_columns(table: Table) -> list[tuple[str, str]]:
    return [(c.name, column_kind(c)) for c in table.columns]


def _order_by(table: Table) -> list[Column[Any]]:
    pk = list(table.primary_key.columns)
    return pk or list(table.columns)


def iter_table_lines(conn: Connection, table: Table) -> Iterator[bytes]:
    """Yield every row of a table as an encoded JSON line, in primary-key order."""
    cols = _table_columns(table)
    result = conn.execution_options(yield_per=_BATCH).execute(
        select(table).order_by(*_order_by(table))
    )
    for row in result.mappings():
        yield encode_row(cols, row)


def dump_tables(conn: Connection) -> dict[str, list[bytes]]:
    """Return every table's encoded rows (for tests comparing two databases)."""
    return {t.name: list(iter_table_lines(conn, t)) for t in backed_up_tables()}


def backed_up_tables() -> list[Table]:
    """Return the tables a backup holds: every table but caches (``schema.CACHE_TABLES``).

    A cache left out (the digests of derived rows) starts empty after a restore: the first
    recompute then compares every stored row, so a restored database never trusts a digest.
    """
    return [t for t in s.metadata.sorted_tables if t.name not in s.CACHE_TABLES]


# --- backup ---------------------------------------------------------------------------------


def _snapshot(store: Store) -> Any:
    """A read transaction seeing one consistent snapshot of the whole database."""
    if store.dialect == "postgresql":
        conn = store.engine.connect().execution_options(
            isolation_level="REPEATABLE READ", postgresql_readonly=True
        )
        return _pg_snapshot(conn)
    return store.read()


class _pg_snapshot:  # noqa: N801 - used like a function
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def __enter__(self) -> Connection:
        self.conn.begin()
        return self.conn

    def __exit__(self, *exc: object) -> None:
        try:
            self.conn.rollback()
        finally:
            self.conn.close()


def backup(
    store: Store, out: str | os.PathLike[str], *, progress: Progress | None = None
) -> BackupResult:
    """Write a consistent, checksummed backup of the whole database to the zip file ``out``.

    The archive is written to a temporary file beside ``out`` and renamed when complete, so a
    crash never leaves a half-written backup under the final name.
    """
    out_path = Path(out)
    store.check_schema()
    manifest = Manifest(
        schema_revision=store.head_revision(),
        created_at="",
        source_dialect=store.dialect,
        program_version=__version__,
    )
    directory = out_path.parent if str(out_path.parent) else Path(".")
    if not directory.is_dir():
        raise BackupError(f"folder {directory} does not exist: create it or choose another path")
    fd, tmp = tempfile.mkstemp(prefix=f".{out_path.name}.", suffix=".part", dir=directory)
    try:
        with os.fdopen(fd, "wb") as raw:
            with zipfile.ZipFile(raw, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
                with _snapshot(store) as conn:
                    manifest.created_at = datetime.now(UTC).isoformat()
                    for table in backed_up_tables():
                        info = TableInfo(
                            name=table.name,
                            file=f"data/{table.name}.jsonl",
                            rows=0,
                            sha256="",
                            columns=_table_columns(table),
                        )
                        digest = hashlib.sha256()
                        with zf.open(info.file, "w", force_zip64=True) as member:
                            for line in iter_table_lines(conn, table):
                                digest.update(line)
                                member.write(line)
                                info.rows += 1
                        info.sha256 = digest.hexdigest()
                        manifest.tables.append(info)
                        if progress:
                            progress(table.name, info.rows)
                zf.writestr(MANIFEST, manifest.to_json())
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(tmp, out_path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return BackupResult(str(out_path), manifest)


# --- restore ---------------------------------------------------------------------------------


def _known_revisions() -> list[str]:
    script = ScriptDirectory(str(MIGRATIONS))
    return [rev.revision for rev in script.walk_revisions()]


def read_manifest(path: str | os.PathLike[str]) -> Manifest:
    """Open an archive and return its manifest (no data checked yet)."""
    where = str(path)
    try:
        with zipfile.ZipFile(path) as zf:
            try:
                raw = zf.read(MANIFEST)
            except KeyError as exc:
                raise BackupError(
                    "no manifest.json: not a mineaction backup, or truncated", where=where
                ) from exc
    except FileNotFoundError as exc:
        raise BackupError("file not found", where=where) from exc
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise BackupError(
            f"not a readable backup archive ({exc}): it is damaged or truncated; use another copy",
            where=where,
        ) from exc
    return Manifest.parse(raw, where)


def _check_revision(manifest: Manifest, where: str) -> None:
    known = _known_revisions()
    if manifest.schema_revision not in known:
        head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
        raise BackupError(
            f"the backup has schema {manifest.schema_revision}, newer than this program "
            f"(schema {head}, mineaction {__version__}): restore it with a newer mineaction",
            where=where,
        )


def _open_member(zf: zipfile.ZipFile, info: TableInfo) -> IO[bytes]:
    return zf.open(info.file)


def verify(path: str | os.PathLike[str]) -> Manifest:
    """Check a backup completely (manifest, schema revision, every checksum and row count)."""
    where = str(path)
    manifest = read_manifest(path)
    _check_revision(manifest, where)
    try:
        with zipfile.ZipFile(path) as zf:
            for info in manifest.tables:
                digest = hashlib.sha256()
                rows = 0
                with _open_member(zf, info) as member:
                    for line in member:
                        digest.update(line)
                        rows += 1
                if digest.hexdigest() != info.sha256:
                    raise BackupError(
                        f"{info.file}: checksum mismatch (archive damaged): use another copy",
                        where=where,
                    )
                if rows != info.rows:
                    raise BackupError(
                        f"{info.file}: {rows} rows, the manifest says {info.rows}: "
                        "use another copy",
                        where=where,
                    )
    except KeyError as exc:
        raise BackupError(f"missing table file ({exc}): use another copy", where=where) from exc
    except (zipfile.BadZipFile, OSError, EOFError, zipfile.LargeZipFile) as exc:
        raise BackupError(
            f"archive damaged or truncated ({exc}): use another copy", where=where
        ) from exc
    return manifest


def _portable_table(info: TableInfo) -> Table:
    md = MetaData()
    return Table(info.name, md, *(Column(c, _TYPES[k]) for c, k in info.columns))


def _reset_sequences(conn: Connection, manifest: Manifest) -> None:
    """Move PostgreSQL id sequences past the restored ids."""
    for info in manifest.tables:
        for col, kind in info.columns:
            if kind != "int":
                continue
            seq = conn.execute(
                text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": info.name, "c": col}
            ).scalar()
            if seq:
                table = _portable_table(info)
                top = conn.execute(select(func.coalesce(func.max(table.c[col]), 0))).scalar()
                conn.execute(
                    text("SELECT setval(:seq, :v, false)"), {"seq": seq, "v": int(top or 0) + 1}
                )


def restore(
    store: Store, path: str | os.PathLike[str], *, progress: Progress | None = None
) -> BackupResult:
    """Restore a backup into an empty database (new, or initialised and empty), then upgrade.

    The archive is verified first; the schema creation, every row and the upgrade to this
    program's schema happen in one transaction, so a failure leaves the database as it was.
    """
    where = str(path)
    manifest = verify(path)
    current = store.current_revision()
    if current is not None and current != manifest.schema_revision:
        raise BackupError(
            f"the target database {store.safe_url} already has schema {current} and the backup "
            f"has {manifest.schema_revision}: restore into a new, empty database",
            where=where,
        )
    if store.dialect == "postgresql":
        with store.engine.connect() as c:
            c.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
            c.commit()
    try:
        with (
            store.engine.connect().execution_options(write=True) as conn,
            conn.begin(),
            zipfile.ZipFile(path) as zf,
        ):
            if current is None:
                command.upgrade(store._alembic(conn), manifest.schema_revision)
            existing = set(inspect(conn).get_table_names())
            for info in manifest.tables:
                if info.name not in existing:
                    raise BackupError(
                        f"table {info.name} of the backup does not exist at schema "
                        f"{manifest.schema_revision}: the archive is inconsistent",
                        where=where,
                    )
                table = _portable_table(info)
                if conn.execute(select(func.count()).select_from(table)).scalar():
                    raise BackupError(
                        f"the target database {store.safe_url} is not empty (table "
                        f"{info.name} has rows): restore into a new, empty database",
                        where=where,
                    )
            for info in manifest.tables:
                table = _portable_table(info)
                batch: list[dict[str, Any]] = []
                digest = hashlib.sha256()
                with _open_member(zf, info) as member:
                    for line in member:
                        digest.update(line)
                        doc = orjson.loads(line)
                        batch.append({c: decode_value(k, doc.get(c)) for c, k in info.columns})
                        if len(batch) >= _BATCH:
                            conn.execute(table.insert(), batch)
                            batch = []
                if batch:
                    conn.execute(table.insert(), batch)
                if digest.hexdigest() != info.sha256:  # changed since verify()
                    raise BackupError(f"{info.file}: checksum mismatch", where=where)
                count = conn.execute(select(func.count()).select_from(table)).scalar()
                if count != info.rows:
                    raise BackupError(
                        f"{info.name}: {count} rows restored, the manifest says {info.rows}",
                        where=where,
                    )
                if progress:
                    progress(info.name, info.rows)
            if store.dialect == "postgresql":
                _reset_sequences(conn, manifest)
            command.upgrade(store._alembic(conn), "head")
    except MineActionError:
        raise
    except Exception as exc:  # a database refusing a row: say so in one line
        raise StoreError(
            f"restore of {where} into {store.safe_url} failed, nothing was written: {exc}"
        ) from exc
    return BackupResult(where, manifest)
