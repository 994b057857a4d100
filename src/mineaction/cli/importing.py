"""``mineaction import``, ``mineaction forms`` and ``mineaction quarantine``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from mineaction.cli._common import Context, echo_json, echo_table, pass_ctx
from mineaction.errors import ValidationError
from mineaction.forms import FORMS, export
from mineaction.services import importing
from mineaction.services import quarantine as qsvc


@click.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--org", "organisation", required=True, help="Organisation code the data comes from.")
@click.option(
    "--form",
    type=click.Choice(sorted(FORMS)),
    default=None,
    help="Form the records fill (needed for Kobo CSV/XLSX and GIS files).",
)
@click.option(
    "--mapping",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="YAML column mapping for files whose columns are not ours (see docs/import.md).",
)
@click.option("--dry-run", is_flag=True, help="Check and show everything; write nothing.")
@click.option("--by", "actor", default=None, help="Who imports (recorded).")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@pass_ctx
def import_(
    ctx: Context,
    path: Path,
    organisation: str,
    form: str | None,
    mapping: Path | None,
    dry_run: bool,
    actor: str | None,
    fmt: str,
) -> None:
    """Import field data as submitted reports: ODK Central, KoboToolbox or a GIS file.

    \b
    ODK Central: OData JSON (Submissions, with or without $expand=*), submissions.csv.zip
    KoboToolbox: API v2 JSON, CSV or XLSX export (XML names as headers)
    GIS: .gpkg .geojson .shp (with its .shx/.dbf/.prj, or zipped) .kml .kmz .fgb,
         or .csv/.xlsx with coordinate columns (any EPSG CRS, MGRS, Gauss-Kruger)

    Good records become submitted reports; bad ones go to the quarantine with every reason
    (`mineaction quarantine list`). Re-importing the same file changes nothing.
    """
    from tqdm import tqdm

    store = ctx.store()
    mapping_text = mapping.read_text(encoding="utf-8") if mapping else None
    bar = tqdm(total=0, desc=path.name, unit=" records", disable=None, leave=False, file=None)

    def on_read(n: int) -> None:
        bar.total = n
        bar.refresh()

    try:
        result = importing.import_path(
            store,
            path,
            organisation=organisation,
            form=form,
            mapping=mapping_text,
            dry_run=dry_run,
            actor=actor,
            progress=bar.update,
            on_read=on_read,
        )
    finally:
        bar.close()
    if fmt == "json":
        echo_json(result.to_dict())
        return
    for r in result.records:
        if r.status == "rejected":
            click.echo(f"rejected  {r.where}")
            for p in r.problems:
                click.echo(f"  - {p['field'] + ': ' if p['field'] else ''}{p['message']}")
            for rp in r.repairs:
                click.echo(f"  proposed repair of {rp['field']}: {_describe(rp['proposed'])}")
                click.echo(
                    "    (never applied silently: accept it after the import with "
                    "`mineaction quarantine accept-repair ID`, see `mineaction quarantine list`)"
                )
        elif r.supersedes:
            click.echo(f"new       {r.report_id} (edit: supersedes {r.supersedes})")
        for w in r.warnings:
            click.echo(f"  warning ({r.report_id}): {w}")
    for note in result.notes:
        click.echo(f"note: {note}")
    rows = [
        (name, c.read, c.new, c.duplicate, c.rejected)
        for name, c in sorted(result.per_form.items())
    ]
    t = result.totals
    rows.append(("total", t.read, t.new, t.duplicate, t.rejected))
    click.echo(f"{path.name} ({result.format}) from {organisation}:")
    echo_table(rows, ["form", "read", "new", "duplicate", "rejected"])
    if dry_run:
        click.echo("dry run: nothing was written")
    else:
        click.echo(
            f"batch {result.batch_id}: {t.new} submitted for review, {t.rejected} in quarantine"
        )


def _describe(geojson: dict[str, Any]) -> str:
    """Describe a proposed geometry in one line: type, parts and area on the ellipsoid."""
    from shapely.geometry import shape

    from mineaction.core.geometry import geodesic_area_m2

    geom = shape(geojson)
    parts = len(getattr(geom, "geoms", [geom]))
    return (
        f"{geojson['type']} of {parts} part{'s' * (parts != 1)}, {geodesic_area_m2(geom):,.0f} m²"
    )


@click.group()
def forms() -> None:
    """XLSForm templates for ODK Collect / KoboToolbox."""


@forms.command("export")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def forms_export(directory: Path) -> None:
    """Write every form as an XLSForm .xlsx into DIRECTORY (upload to ODK Central or Kobo)."""
    for path in export(directory):
        click.echo(str(path))


@forms.command("list")
def forms_list() -> None:
    """List the forms and the report type each produces."""
    echo_table(
        [(f.form_id, f.report_type, f.title) for f in FORMS.values()], ["form", "report", "title"]
    )


@click.group()
def quarantine() -> None:
    """Records that failed validation on import, with every reason."""


@quarantine.command("list")
@click.option("--org", "organisation", default=None)
@click.option("--batch", "batch_id", default=None)
@click.option("--form", "form_id", default=None, help="Only records of this form.")
@click.option("--all", "include_resolved", is_flag=True, help="Include resolved records.")
@click.option("--limit", default=100, show_default=True)
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)
@pass_ctx
def quarantine_list(
    ctx: Context,
    organisation: str | None,
    batch_id: str | None,
    form_id: str | None,
    include_resolved: bool,
    limit: int,
    fmt: str,
) -> None:
    """List quarantined records, newest first (`quarantine show ID` for every reason)."""
    if limit < 1:
        raise ValidationError("--limit must be at least 1")
    rows, _total = qsvc.list_records(
        ctx.store(),
        organisation=organisation,
        batch_id=batch_id,
        form_id=form_id,
        status="all" if include_resolved else "open",
        limit=limit,
    )
    if fmt == "json":
        echo_json(
            [
                {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in r.items()}
                for r in rows
            ]
        )
        return
    echo_table(
        [
            (
                r["id"],
                r["organisation"],
                r["form_id"],
                r["record"],
                r["resolution"] or ("repair proposed" if r["repair_proposed"] else ""),
                r["message"][:120],
            )
            for r in rows
        ],
        ["id", "org", "form", "record", "state", "problems"],
    )


@quarantine.command("show")
@click.argument("record_id", type=int)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@pass_ctx
def quarantine_show(ctx: Context, record_id: int, fmt: str) -> None:
    """Show one quarantined record: every reason, the raw record and any proposed repair."""
    rec = qsvc.get_record(ctx.store(), record_id)
    if fmt == "json":
        echo_json(rec)
        return
    state = f"resolved ({rec['resolution']})" if rec["resolved"] else "open"
    click.echo(f"{rec['id']}: {rec['record']} [{rec['form_id'] or '-'}] from {rec['organisation']}")
    click.echo(f"import {rec['batch_id']} at {rec['at'][:16]}, {state}, version {rec['version']}")
    for p in rec["problems"]:
        click.echo(f"  - {p['field'] + ': ' if p['field'] else ''}{p['message']}")
    for r in rec["repairs"]:
        click.echo(
            f"  proposed repair of {r['field']} ({r['reason']}): "
            f"{r['proposed']['type']}; accept it with `mineaction quarantine accept-repair "
            f"{rec['id']}`"
        )
    if rec["resolution_note"]:
        click.echo(f"  note: {rec['resolution_note']}")


@quarantine.command("discard")
@click.argument("record_id", type=int)
@click.option("--reason", required=True, help="Why the record is set aside.")
@click.option("--by", "actor", default=None)
@pass_ctx
def quarantine_discard(ctx: Context, record_id: int, reason: str, actor: str | None) -> None:
    """Set a quarantined record aside for good, with a reason (kept, marked discarded)."""
    qsvc.discard(ctx.store(), record_id, reason=reason, actor=actor)
    click.echo(f"{record_id}: discarded")


@quarantine.command("accept-repair")
@click.argument("record_id", type=int)
@click.option("--by", "actor", default=None)
@pass_ctx
def quarantine_accept_repair(ctx: Context, record_id: int, actor: str | None) -> None:
    """Submit a record with its proposed repaired geometry (accepted explicitly; for review)."""
    result = qsvc.accept_repair(ctx.store(), record_id, actor=actor)
    click.echo(f"{record_id}: repaired; report {result.report_id} submitted for review")


@quarantine.command("resubmit")
@click.argument("record_id", type=int)
@click.argument("document", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--by", "actor", default=None)
@pass_ctx
def quarantine_resubmit(ctx: Context, record_id: int, document: Path, actor: str | None) -> None:
    """Submit a corrected report document (JSON) in place of a quarantined record."""
    import orjson

    try:
        doc = orjson.loads(document.read_bytes())
    except orjson.JSONDecodeError as exc:
        raise ValidationError(f"not valid JSON ({exc})", where=document.name) from None
    result = qsvc.resubmit(ctx.store(), record_id, doc, actor=actor)
    click.echo(f"{record_id}: resubmitted as report {result.report_id} ({result.status})")
