"""Hostile input: fuzzed reports and import files are rejected cleanly, never half-written;
markup and SQL in every text field are stored as text and rendered escaped.

The long run (>= 10,000 cases per store) is ``python tests/reliability/run_fuzz.py``.
"""

from __future__ import annotations

import warnings

from sqlalchemy import select
from tests.factories import hazard_report
from tests.reliability import fuzzing
from tests.reliability.data import other_docs

from mineaction.services import ledger, users
from mineaction.store import schema as s
from mineaction.store.engine import Store
from mineaction.web.app import create_app

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

SCRIPT = "<script>alert('x')</script>"


def test_fuzzed_reports_are_rejected_cleanly(store: Store) -> None:
    stats = fuzzing.fuzz_submit(store, 150)
    assert not stats.crashes, stats.crashes[:5]
    assert not stats.partial_writes, stats.partial_writes[:5]
    assert stats.cases >= 150 and stats.rejected > 0 and stats.accepted > 0
    checked = ledger.check(store)
    assert not checked.differences and not checked.errors


def test_fuzzed_import_files_are_rejected_cleanly(store: Store) -> None:
    stats = fuzzing.fuzz_import(store, 80)
    assert not stats.crashes, stats.crashes[:5]
    assert not stats.partial_writes, stats.partial_writes[:5]
    assert stats.cases == 80 and stats.rejected > 0


def test_markup_and_sql_in_text_fields_are_rendered_escaped(store: Store) -> None:
    doc = hazard_report(
        "R-XSS",
        "HXSS",
        name=SCRIPT,
        description="'; DROP TABLE report; -- <img src=x onerror=alert(1)>",
    )
    ledger.submit(store, doc)
    ledger.approve(store, "R-XSS")
    acc = other_docs()[0]
    ledger.submit(store, acc)  # pending: on the review page, with victim names
    with store.read() as conn:  # stored verbatim as text (no SQL was run)
        name = conn.execute(select(s.hazard.c.name).where(s.hazard.c.hazard_id == "HXSS")).scalar()
    assert name == SCRIPT
    users.add_user(store, "im", role="im_officer", password="correct horse battery")
    token = users.create_token(store, "im").token
    auth = {"Authorization": f"Bearer {token}"}
    with TestClient(create_app(store.url)) as client:
        pages = ["/hazards/HXSS", "/hazards", "/review", f"/review/{acc['report_id']}"]
        for page in pages:
            r = client.get(page, headers=auth)
            assert r.status_code == 200, (page, r.status_code, r.text[:300])
            assert "<script>alert" not in r.text, page
            assert "<img src=x" not in r.text, page
        body = client.get("/hazards/HXSS", headers=auth).text
        assert "&lt;script&gt;" in body or "\\u003cscript" in body
        api = client.get("/api/v1/hazards/HXSS", headers=auth)
        assert api.status_code == 200 and api.headers["content-type"].startswith("application/json")


def test_api_writes_fuzzing(store: Store) -> None:
    """Authenticated submissions, review actions and task edits with hostile bodies and
    right/stale/missing/garbage If-Match: no 5xx, stale is 412, missing is 428, every error in
    the JSON error shape, refused submissions write nothing (the long run: 5,000 per store)."""
    stats = fuzzing.fuzz_api_writes(store, 100)
    assert not stats.crashes, stats.crashes[:5]
    assert not stats.partial_writes, stats.partial_writes[:5]
    assert stats.cases == 100 and stats.accepted > 5 and stats.rejected > 10


def test_ogc_fuzzing(store: Store) -> None:
    """OGC API - Features with hostile parameters and ids (the long run: 2,000 per store)."""
    stats = fuzzing.fuzz_ogc(store, 80)
    assert not stats.crashes, stats.crashes[:5]
    assert stats.cases >= 70 and stats.accepted > 0 and stats.rejected > 0


def test_upload_fuzzing(store: Store) -> None:
    """POST /api/v1/imports: zip traversal, zip bombs, KML entities, junk names and bytes, and
    bodies over the configured limit (413): never a 5xx, always the error shape, no reports
    written by a refusal or a dry run (the long run: 500 per store)."""
    stats = fuzzing.fuzz_uploads(store, 44)
    assert not stats.crashes, stats.crashes[:5]
    assert not stats.partial_writes, stats.partial_writes[:5]
    assert stats.cases >= 44 and stats.rejected >= len(fuzzing.hostile_uploads()) * 2 + 2


def test_api_fuzzing_counts_cases(sqlite_store: Store) -> None:
    """The API fuzzer of the long run works (a few cases per operation here)."""
    stats = fuzzing.fuzz_api(sqlite_store, 1, users=("admin",))
    assert not stats.crashes, stats.crashes[:5]
    assert not stats.partial_writes
    assert stats.cases >= 30 and stats.accepted > 0 and stats.rejected > 0


def test_huge_paging_offset_is_refused_not_a_crash(sqlite_store: Store) -> None:
    """Found by the long API fuzz runs: offset=2**70 was a 500 on SQLite (audit, then
    organisations and locations); every listing with an offset, and OGC items, now say 400."""
    users.add_user(sqlite_store, "admin", role="admin", password="correct horse battery")
    token = users.create_token(sqlite_store, "admin").token
    auth = {"Authorization": f"Bearer {token}"}
    with TestClient(create_app(sqlite_store.url)) as client:
        doc = client.get("/openapi.json").json()
        paths = [
            p
            for p, ops in doc["paths"].items()
            if "get" in ops
            and "{" not in p
            and any(q.get("name") == "offset" for q in ops["get"].get("parameters", []))
        ]
        assert {"/api/v1/audit", "/api/v1/organisations", "/api/v1/locations"} <= set(paths)
        cols = client.get("/ogc/collections", headers=auth).json()["collections"]
        paths += [f"/ogc/collections/{c['id']}/items" for c in cols[:3]]
        for path in paths:
            r = client.get(path, params={"offset": 2**70}, headers=auth)
            assert r.status_code in (400, 422), (path, r.status_code, r.text[:200])
            assert r.json().get("message") or r.json().get("description"), (path, r.text)


def test_huge_integer_ids_are_refused_not_a_crash(sqlite_store: Store) -> None:
    """Found by the long API fuzz run: GET /api/v1/quarantine/<40 digits> was a 500 on SQLite."""
    users.add_user(sqlite_store, "admin", role="admin", password="correct horse battery")
    auth = {"Authorization": f"Bearer {users.create_token(sqlite_store, 'admin').token}"}
    huge = 2945156802604706858573054402359197696
    with TestClient(create_app(sqlite_store.url)) as client:
        r = client.get(f"/api/v1/quarantine/{huge}", headers=auth)
        assert r.status_code == 400 and r.json()["message"], (r.status_code, r.text[:200])
        for action in ("discard", "resubmit", "accept-repair"):
            r = client.post(
                f"/api/v1/quarantine/{huge}/{action}", json={}, headers={**auth, "If-Match": '"1"'}
            )
            assert r.status_code == 400, (action, r.status_code, r.text[:200])
