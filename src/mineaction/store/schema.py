"""The database schema (same on SQLite and PostGIS). Migrations in ``store/migrations``.

Ledger tables (``report``, ``report_event``, ``audit_log``) are append-only history; the
other tables marked *derived* are projections rebuilt from approved reports by ``recompute``.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    false,
)

from mineaction.store.types import Geometry, JSONTextType, JSONType

metadata = MetaData()

setting = Table(
    "setting",
    metadata,
    Column("key", String(100), primary_key=True),
    Column("value", JSONType, nullable=False),
)

organisation = Table(
    "organisation",
    metadata,
    Column("code", String(100), primary_key=True),
    Column("name", String(300), nullable=False),
    Column("kind", String(50), nullable=False, default="operator"),
    Column("country", String(100)),
)

location = Table(
    "location",
    metadata,
    Column("pcode", String(50), primary_key=True),
    Column("name", String(300), nullable=False),
    Column("admin_level", Integer, nullable=False),
    Column("parent_pcode", String(50), ForeignKey("location.pcode")),
    Column("population", Integer),
    Column("geom", Geometry),
)

# --- the ledger --------------------------------------------------------------------------

report = Table(
    "report",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("report_id", String(100), nullable=False, unique=True),
    Column("type", String(20), nullable=False),
    Column("organisation", String(100), nullable=False),
    Column("hazard_id", String(100)),
    Column("date_of_information", Date, nullable=False),
    Column("state", String(20), nullable=False),
    # json on PostgreSQL, with CHECK (payload::jsonb IS NOT NULL) (migration 0013)
    Column("payload", JSONTextType, nullable=False),
    Column("warnings", JSONType, nullable=False),
    Column("source_system", String(50)),
    Column("source_key", String(200)),
    Column("supersedes", String(100)),
    Column("submitted_at", DateTime(timezone=True), nullable=False),
    Column("submitted_by", String(100)),
    Column("approval_seq", Integer, unique=True),
    Column("approved_at", DateTime(timezone=True)),
    Column("approved_by", String(100)),
    Column("reason", Text),
    Column("version", Integer, nullable=False, default=1),
)
Index("ix_report_hazard", report.c.hazard_id, report.c.state)
Index("ix_report_state", report.c.state, report.c.seq)
Index("ix_report_source", report.c.source_system, report.c.source_key)

report_event = Table(
    "report_event",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("report_id", String(100), ForeignKey("report.report_id"), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(100)),
    Column("action", String(30), nullable=False),
    Column("from_state", String(20)),
    Column("to_state", String(20), nullable=False),
    Column("reason", Text),
)
Index("ix_report_event_report", report_event.c.report_id)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(100)),
    Column("action", String(50), nullable=False),
    Column("entity", String(50), nullable=False),
    Column("entity_id", String(200)),
    Column("remote", String(100)),
    Column("details", JSONType),
)

# --- users and access -------------------------------------------------------------------------

app_user = Table(
    "app_user",
    metadata,
    Column("username", String(100), primary_key=True),
    Column("display_name", String(200)),
    Column("role", String(30), nullable=False),
    Column("organisation", String(100)),
    Column("admin_area", String(50)),
    Column("password_hash", String(200)),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("last_login_at", DateTime(timezone=True)),
    Column("version", Integer, nullable=False, default=1),
    # interface language chosen by the user (None: the browser's Accept-Language)
    Column("locale", String(10)),
)

api_token = Table(
    "api_token",
    metadata,
    Column("token_id", String(32), primary_key=True),
    Column("username", String(100), ForeignKey("app_user.username"), nullable=False),
    Column("name", String(200)),
    Column("secret_hash", String(128), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True)),
    Column("last_used_at", DateTime(timezone=True)),
    Column("revoked_at", DateTime(timezone=True)),
)
Index("ix_api_token_user", api_token.c.username)

web_session = Table(
    "web_session",
    metadata,
    Column("session_hash", String(128), primary_key=True),
    Column("username", String(100), ForeignKey("app_user.username"), nullable=False),
    Column("csrf_token", String(100), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("remote", String(100)),
    Column("user_agent", String(300)),
)
Index("ix_web_session_user", web_session.c.username)

#: Failed sign-ins (per user name and per remote address), shared by every server process and
#: worker so that login rate limits hold across them; rows older than the window are pruned.
login_failure = Table(
    "login_failure",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(200), nullable=False),
    Column("at", Float, nullable=False),  # Unix time (seconds): comparable across processes
)
Index("ix_login_failure_key_at", login_failure.c.key, login_failure.c.at)

#: Country-specific code-list terms and display labels (the maXML "base term / display term"
#: pattern): a country code maps onto a base term of :data:`mineaction.core.codes.CODE_LISTS`;
#: a row whose code *is* the base term only overrides its labels. Base terms are never stored
#: here as deletable rows: they live in the code and cannot be removed or deactivated.
code_term = Table(
    "code_term",
    metadata,
    Column("list_name", String(50), primary_key=True),
    Column("code", String(100), primary_key=True),
    Column("base_term", String(100), nullable=False),
    Column("labels", JSONType, nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("version", Integer, nullable=False, default=1),
)

# --- import: batches and the quarantine of records that failed validation -------------------

import_batch = Table(
    "import_batch",
    metadata,
    Column("batch_id", String(40), primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(100)),
    Column("organisation", String(100), nullable=False),
    Column("filename", String(300), nullable=False),
    Column("format", String(30), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("counts", JSONType, nullable=False),
    # API imports (0010): dry runs are kept ("checked") until confirmed or expired
    Column("dry_run", Boolean, nullable=False, default=False, server_default=false()),
    Column("status", String(20), nullable=False, default="imported", server_default="imported"),
    Column("form_id", String(50)),
    Column("result", JSONType),
    Column("confirmed_as", String(40)),
    Column("expires_at", DateTime(timezone=True)),
)
Index("ix_import_batch_org", import_batch.c.organisation, import_batch.c.at)

quarantine = Table(
    "quarantine",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("batch_id", String(40), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("organisation", String(100), nullable=False),
    Column("filename", String(300), nullable=False),
    Column("record", String(300), nullable=False),
    Column("record_key", String(64), nullable=False),
    Column("source_key", String(200)),
    Column("form_id", String(50)),
    Column("field", String(200)),
    Column("message", Text, nullable=False),
    Column("problems", JSONType, nullable=False),
    Column("raw", JSONType),
    Column("resolved", Boolean, nullable=False, default=False),
    # 0010: proposed repairs (never applied silently) and how the record was resolved
    Column("repairs", JSONType),
    Column("resolution", String(20)),
    Column("resolved_at", DateTime(timezone=True)),
    Column("resolved_by", String(100)),
    Column("resolution_note", Text),
    Column("report_id", String(100)),
    Column("version", Integer, nullable=False, default=1, server_default="1"),
)
Index("ix_quarantine_batch", quarantine.c.batch_id)
Index("ix_quarantine_form", quarantine.c.form_id, quarantine.c.id)

#: The bytes of a dry-run upload, kept until it is confirmed or expires (0010).
import_upload = Table(
    "import_upload",
    metadata,
    Column("batch_id", String(40), primary_key=True),
    Column("data", LargeBinary, nullable=False),
    Column("mapping", JSONType),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)
Index("ix_quarantine_key", quarantine.c.record_key)
Index("ix_quarantine_source", quarantine.c.organisation, quarantine.c.source_key)

# --- derived (projection) tables ------------------------------------------------------------

hazard = Table(
    "hazard",
    metadata,
    Column("hazard_id", String(100), primary_key=True),
    Column("organisation", String(100), nullable=False),
    Column("name", String(200)),
    Column("classification", String(20), nullable=False),
    Column("status", String(20), nullable=False),
    Column("status_reason", Text),
    Column("location", String(50)),
    Column("contamination", JSONType, nullable=False),
    Column("area_m2", Float, nullable=False),
    Column("cancelled_m2", Float, nullable=False),
    Column("reduced_m2", Float, nullable=False),
    Column("cleared_m2", Float, nullable=False),
    Column("remaining_m2", Float, nullable=False),
    Column("expansion_m2", Float, nullable=False),
    Column("estimated_area_m2", Float),
    Column("eo_found", JSONType, nullable=False),
    Column("eo_total", Integer, nullable=False),
    Column("first_date", Date),
    Column("last_date", Date),
    Column("closed_on", Date),
    Column("handed_over_on", Date),
    Column("report_count", Integer, nullable=False),
    Column("last_report_id", String(100)),
    Column("flags", JSONType, nullable=False),
    Column("details", JSONType, nullable=False),
    Column("geom", Geometry, nullable=False),
    Column("remaining_geom", Geometry),
    Column("cancelled_geom", Geometry),
    Column("reduced_geom", Geometry),
    Column("cleared_geom", Geometry),
    Column("expansion_geom", Geometry),
    Column("benchmark", Geometry),
    Column("minx", Float, nullable=False),
    Column("miny", Float, nullable=False),
    Column("maxx", Float, nullable=False),
    Column("maxy", Float, nullable=False),
    Column("version", Integer, nullable=False),
    # ``geom`` as GeoJSON text, written with the row (OGC API items need no conversion);
    # NULL means "not made": readers convert ``geom`` then (migration 0011)
    Column("geom_geojson", Text),
)
Index("ix_hazard_status", hazard.c.status, hazard.c.classification)
Index("ix_hazard_bbox", hazard.c.minx, hazard.c.maxx, hazard.c.miny, hazard.c.maxy)
Index("ix_hazard_org", hazard.c.organisation)
Index("ix_hazard_location", hazard.c.location)
# Covers every column the map and the dashboard read, so they never touch geometry pages.
Index(
    "ix_hazard_map",
    *(
        hazard.c[c]
        for c in (
            "minx",
            "maxx",
            "miny",
            "maxy",
            "classification",
            "status",
            "organisation",
            "location",
            "remaining_m2",
            "first_date",
            "last_date",
            "hazard_id",
            "name",
        )
    ),
)

#: SQLite only (migration 0007): ``hazard_rtree``, an R*Tree virtual table of hazard bounding
#: boxes keyed by the hazard's rowid, maintained by triggers on ``hazard``.
HAZARD_RTREE = "hazard_rtree"

release_polygon = Table(
    "release_polygon",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("report_id", String(100), nullable=False),
    Column("hazard_id", String(100), nullable=False),
    Column("organisation", String(100), nullable=False),
    Column("date", Date, nullable=False),
    Column("activity_type", String(20), nullable=False),
    Column("outcome", String(20), nullable=False),
    Column("method", String(100)),
    Column("depth_cm", Float),
    Column("reported_m2", Float),
    Column("polygon_m2", Float, nullable=False),
    Column("geom", Geometry, nullable=False),
)
Index("ix_release_report", release_polygon.c.report_id)
Index("ix_release_hazard", release_polygon.c.hazard_id)

activity = Table(
    "activity",
    metadata,
    Column("report_id", String(100), primary_key=True),
    Column("hazard_id", String(100), nullable=False),
    Column("organisation", String(100), nullable=False),
    Column("activity_type", String(20), nullable=False),
    Column("stage", String(20), nullable=False),
    Column("method", String(100)),
    Column("team", String(100)),
    Column("team_days", Float),
    Column("start_date", Date, nullable=False),
    Column("end_date", Date),
    Column("date_of_information", Date, nullable=False),
    Column("depth_cm", Float),
    Column("cancelled_m2", Float, nullable=False),
    Column("reduced_m2", Float, nullable=False),
    Column("cleared_m2", Float, nullable=False),
    Column("geom", Geometry),
)
Index("ix_activity_hazard", activity.c.hazard_id)

eo_item = Table(
    "eo_item",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("report_id", String(100), nullable=False),
    Column("hazard_id", String(100)),
    Column("organisation", String(100), nullable=False),
    Column("date", Date, nullable=False),
    Column("source", String(20), nullable=False),
    Column("category", String(30), nullable=False),
    Column("model", String(100)),
    Column("quantity", Integer, nullable=False),
    Column("condition", String(20)),
    Column("disposal", String(30)),
    Column("depth_cm", Float),
    Column("geom", Geometry),
    # centroid lon/lat of ``geom``, so that map views filter by bounding box in SQL
    Column("x", Float),
    Column("y", Float),
)
Index("ix_eo_report", eo_item.c.report_id)
Index("ix_eo_xy", eo_item.c.x, eo_item.c.y)
Index("ix_eo_hazard", eo_item.c.hazard_id)

accident = Table(
    "accident",
    metadata,
    Column("accident_id", String(100), primary_key=True),
    Column("report_id", String(100), nullable=False),
    Column("organisation", String(100), nullable=False),
    Column("date", Date, nullable=False),
    Column("device_category", String(30), nullable=False),
    Column("demining", Boolean, nullable=False),
    Column("hazard_id", String(100)),
    Column("location", String(50)),
    Column("killed", Integer, nullable=False),
    Column("injured", Integer, nullable=False),
    Column("geom", Geometry, nullable=False),
    Column("x", Float),
    Column("y", Float),
)
Index("ix_accident_report", accident.c.report_id)
Index("ix_accident_xy", accident.c.x, accident.c.y)

# Victim personal data lives apart from the accident so that it can be protected.
victim = Table(
    "victim",
    metadata,
    Column("victim_id", String(100), primary_key=True),
    Column("accident_id", String(100), nullable=False),
    Column("report_id", String(100), nullable=False),
    Column("name", String(200)),
    Column("sex", String(10), nullable=False),
    Column("age", Integer),
    Column("status", String(10), nullable=False),
    Column("deminer", Boolean, nullable=False),
    Column("activity", String(200)),
    Column("tampered", Boolean),
)
Index("ix_victim_accident", victim.c.accident_id)
Index("ix_victim_report", victim.c.report_id)

eore_session = Table(
    "eore_session",
    metadata,
    Column("session_id", String(100), primary_key=True),
    Column("report_id", String(100), nullable=False),
    Column("organisation", String(100), nullable=False),
    Column("date", Date, nullable=False),
    Column("location", String(50)),
    Column("method", String(100), nullable=False),
    Column("women", Integer, nullable=False),
    Column("men", Integer, nullable=False),
    Column("girls", Integer, nullable=False),
    Column("boys", Integer, nullable=False),
    Column("with_disability", Integer),
    Column("geom", Geometry),
)
Index("ix_eore_report", eore_session.c.report_id)

qm_inspection = Table(
    "qm_inspection",
    metadata,
    Column("inspection_id", String(100), primary_key=True),
    Column("report_id", String(100), nullable=False),
    Column("organisation", String(100), nullable=False),
    Column("inspected_organisation", String(100), nullable=False),
    Column("date", Date, nullable=False),
    Column("kind", String(5), nullable=False),
    Column("hazard_id", String(100)),
    Column("activity_report_id", String(100)),
    Column("nonconformities", JSONType, nullable=False),
    Column("open_corrective_actions", Integer, nullable=False),
)
Index("ix_qm_report", qm_inspection.c.report_id)

handover = Table(
    "handover",
    metadata,
    Column("report_id", String(100), primary_key=True),
    Column("hazard_id", String(100), nullable=False),
    Column("organisation", String(100), nullable=False),
    Column("date", Date, nullable=False),
    Column("recipient", String(200), nullable=False),
    Column("certificate", String(100)),
    Column("community", JSONType),
)

# --- planning ------------------------------------------------------------------------------

task = Table(
    "task",
    metadata,
    Column("task_id", String(100), primary_key=True),
    Column("hazard_id", String(100), nullable=False),
    Column("organisation", String(100)),
    Column("activity_type", String(20), nullable=False),
    Column("team", String(100)),
    Column("planned_start", Date),
    Column("planned_end", Date),
    Column("status", String(20), nullable=False, default="planned"),
    Column("notes", Text),
    Column("plan_id", String(100)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("version", Integer, nullable=False, default=1),
)
Index("ix_task_hazard", task.c.hazard_id)

# --- prioritisation ---------------------------------------------------------------------------

#: Reference layers (settlements, roads, farmland, infrastructure, protected, water) used to
#: score hazards. ``kind`` (road class, infrastructure type, land use) and ``value`` (population,
#: market-access weight) are read from the properties on load so that scoring needs no JSON.
reference_feature = Table(
    "reference_feature",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("layer", String(30), nullable=False),
    Column("feature_id", String(100), nullable=False),
    Column("kind", String(50)),
    Column("value", Float),
    Column("properties", JSONType, nullable=False),
    Column("geom", Geometry, nullable=False),
    Column("minx", Float, nullable=False),
    Column("miny", Float, nullable=False),
    Column("maxx", Float, nullable=False),
    Column("maxy", Float, nullable=False),
    Column("source", String(300)),
    Column("loaded_at", DateTime(timezone=True), nullable=False),
)
Index(
    "ux_reference_layer_feature",
    reference_feature.c.layer,
    reference_feature.c.feature_id,
    unique=True,
)
Index(
    "ix_reference_bbox",
    reference_feature.c.layer,
    reference_feature.c.minx,
    reference_feature.c.maxx,
    reference_feature.c.miny,
    reference_feature.c.maxy,
)

#: One prioritisation run: the configuration (and its hash) and the data cut-off it used.
priority_run = Table(
    "priority_run",
    metadata,
    Column("run_id", String(60), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(100)),
    Column("config_name", String(100), nullable=False),
    Column("config_version", String(50), nullable=False),
    Column("config_hash", String(64), nullable=False),
    Column("config", JSONType, nullable=False),
    Column("data_cutoff", Date, nullable=False),
    Column("ledger_seq", Integer),
    Column("data_hash", String(64), nullable=False),
    Column("reference", JSONType, nullable=False),
    Column("scope", String(100)),
    Column("hazard_count", Integer, nullable=False),
    Column("duration_s", Float),
    Column("notes", JSONType, nullable=False),
)
Index("ix_priority_run_created", priority_run.c.created_at)

#: One hazard's score in a run: raw criteria, per-criterion contributions, class and cost.
priority_score = Table(
    "priority_score",
    metadata,
    Column("run_id", String(60), ForeignKey("priority_run.run_id"), primary_key=True),
    Column("hazard_id", String(100), primary_key=True),
    Column("hazard_version", Integer),
    Column("rank", Integer, nullable=False),
    Column("score", Float, nullable=False),
    Column("priority_class", String(30), nullable=False),
    Column("criteria", JSONType, nullable=False),
    Column("contributions", JSONType, nullable=False),
    Column("remaining_m2", Float, nullable=False),
    Column("expected_team_days", Float, nullable=False),
    Column("expected_cost", Float, nullable=False),
    Column("value_for_money", Float, nullable=False),
    Column("vfm_rank", Integer, nullable=False),
)
Index("ix_priority_score_hazard", priority_score.c.hazard_id)
Index("ix_priority_score_rank", priority_score.c.run_id, priority_score.c.rank)

# --- plans (mineaction plan) ----------------------------------------------------------------

#: A stored plan: inputs (config hash, data cut-off, calibration), objective, bound and gap.
#: ``status``: draft -> accepted (tasks created) -> superseded (a later plan was accepted).
plan_run = Table(
    "plan_run",
    metadata,
    Column("plan_id", String(60), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(100)),
    Column("status", String(20), nullable=False),
    Column("start_date", Date, nullable=False),
    Column("data_cutoff", Date, nullable=False),
    Column("ledger_seq", Integer),
    Column("config_hash", String(64), nullable=False),
    Column("objective_kind", String(40), nullable=False),
    Column("objective", Float, nullable=False),
    Column("bound", Float),
    Column("bound_method", String(100)),
    Column("gap", Float),
    Column("method", String(100), nullable=False),
    Column("package_count", Integer, nullable=False),
    Column("team_count", Integer, nullable=False),
    Column("duration_s", Float),
    Column("summary", JSONType, nullable=False),
    Column("accepted_at", DateTime(timezone=True)),
    Column("accepted_by", String(100)),
    Column("version", Integer, nullable=False, default=1),
)
Index("ix_plan_run_created", plan_run.c.created_at)

#: One stage of one work package on one team, in queue order (``task_id`` once accepted).
plan_item = Table(
    "plan_item",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("plan_id", String(60), ForeignKey("plan_run.plan_id"), nullable=False),
    Column("team", String(100), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("package_id", String(150), nullable=False),
    Column("hazard_id", String(100), nullable=False),
    Column("stage", String(20), nullable=False),
    Column("region", String(100), nullable=False),
    Column("area_m2", Float, nullable=False),
    Column("start_date", Date, nullable=False),
    Column("end_date", Date, nullable=False),
    Column("start_day", Float, nullable=False),
    Column("end_day", Float, nullable=False),
    Column("frozen", Boolean, nullable=False),
    Column("task_id", String(100)),
)
Index("ix_plan_item_plan", plan_item.c.plan_id, plan_item.c.team, plan_item.c.seq)
Index("ix_plan_item_task", plan_item.c.task_id)

#: Digests of the derived rows a recompute wrote or verified, one per table and shard range
#: (``no_hazard``: a range of report ids among reports without a hazard, else of hazard ids;
#: ``lo`` exclusive, ``hi`` inclusive, NULL open). Triggers on the derived tables delete a
#: range's digest on any other INSERT, UPDATE or DELETE (migration 0012), so a digest that is
#: still there vouches for the stored rows; a cache, not backed up (docs/recompute.md).
derived_digest = Table(
    "derived_digest",
    metadata,
    Column("tbl", String(40), nullable=False),
    Column("no_hazard", Boolean, nullable=False),
    Column("lo", String(100)),
    Column("hi", String(100)),
    Column("digest", String(64), nullable=False),
)
Index("ix_derived_digest_tbl", derived_digest.c.tbl, derived_digest.c.no_hazard)

#: Tables that only cache what can be rebuilt (left out of backups and database comparisons).
CACHE_TABLES = frozenset({"derived_digest"})

#: Tables rebuilt from the ledger by ``recompute`` (order matters for deletes).
DERIVED_TABLES = (
    hazard,
    release_polygon,
    activity,
    eo_item,
    victim,
    accident,
    eore_session,
    qm_inspection,
    handover,
)
