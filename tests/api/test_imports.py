"""``/api/v1/imports``: multipart upload, dry run + confirm, scoping, audit, size limit, hostile files."""

from __future__ import annotations

import io
import socket
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from anyio.from_thread import start_blocking_portal
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from tests.api.seed import Accounts, eo_file

from mineaction.services import users
from mineaction.store import schema as s
from mineaction.store.engine import Store
from mineaction.web.app import create_app

FIX = Path(__file__).parent.parent / "fixtures"
TABLES = (s.report, s.report_event, s.quarantine, s.import_batch, s.import_upload)


def counts(store: Store) -> dict[str, int]:
    with store.read() as conn:
        return {
            t.name: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
            for t in TABLES
        }


@pytest.fixture
def api(store: Store, seeded: Accounts) -> Iterator[TestClient]:
    app = create_app(store.url)
    with TestClient(app) as c:
        yield c
    app.state.store.dispose()


def post(
    c: TestClient,
    seeded: Accounts,
    who: str,
    data: bytes,
    name: str = "eo.json",
    **fields: str,
) -> Any:
    return c.post(
        "/api/v1/imports",
        files={"file": (name, data, "application/octet-stream")},
        data=fields,
        headers=seeded.headers(who),
    )


def test_dry_run_then_confirm_without_uploading_again(
    store: Store, seeded: Accounts, api: TestClient
) -> None:
    before = counts(store)
    data = eo_file(501, 502, 503, bad=(503,))
    r = post(api, seeded, "entry", data, dry_run="true")
    assert r.status_code == 201, r.text
    checked = r.json()
    assert checked["status"] == "checked" and checked["dry_run"] is True
    assert checked["organisation"] == "ORG-A"  # an operator's own organisation by default
    assert checked["totals"] == {"read": 3, "new": 2, "duplicate": 0, "rejected": 1}
    assert checked["per_form"]["ma_eo_spot"]["rejected"] == 1
    bad = next(x for x in checked["records"] if x["status"] == "rejected")
    assert "eo.json" in bad["where"] and "submission" in bad["where"]
    assert bad["problems"][0]["field"] == "eo.items[0].quantity" and bad["problems"][0]["message"]
    assert r.headers["Location"] == f"/api/v1/imports/{checked['batch_id']}"
    after = counts(store)
    assert after["report"] == before["report"] and after["quarantine"] == before["quarantine"]
    assert after["import_upload"] == before["import_upload"] + 1
    # the record can be read back, with every outcome
    again = api.get(r.headers["Location"], headers=seeded.headers("qc")).json()
    assert again["records"] == checked["records"] and again["expires_at"]
    # confirm: the kept bytes are imported as a new import record
    ok = api.post(f"{r.headers['Location']}/confirm", headers=seeded.headers("entry"))
    assert ok.status_code == 201, ok.text
    done = ok.json()
    assert done["status"] == "imported" and not done["dry_run"]
    assert done["totals"] == checked["totals"] and done["quarantined"] == 1
    assert done["sha256"] == checked["sha256"]
    final = counts(store)
    assert final["report"] == before["report"] + 2
    assert final["quarantine"] == before["quarantine"] + 1
    assert final["import_upload"] == before["import_upload"]  # bytes dropped once confirmed
    dry = api.get(r.headers["Location"], headers=seeded.headers("entry")).json()
    assert dry["status"] == "confirmed" and dry["confirmed_as"] == done["batch_id"]
    twice = api.post(f"{r.headers['Location']}/confirm", headers=seeded.headers("entry"))
    assert twice.status_code == 409 and done["batch_id"] in twice.json()["message"]
    # posting the same file again without dry_run is idempotent
    re = post(api, seeded, "entry", data)
    assert re.status_code == 201
    assert re.json()["totals"] == {"read": 3, "new": 0, "duplicate": 2, "rejected": 1}
    assert counts(store)["report"] == final["report"]
    actions = [a["action"] for a in users.list_audit(store, entity="import_batch")]
    assert {"import_check", "import_confirm", "import"} <= set(actions)
    listing = api.get(
        "/api/v1/imports", params={"status": "confirmed"}, headers=seeded.headers("entry")
    )
    assert [i["batch_id"] for i in listing.json()["items"]] == [checked["batch_id"]]


def test_imports_are_scoped_to_the_operators_organisation(
    store: Store, seeded: Accounts, api: TestClient
) -> None:
    foreign = post(api, seeded, "entry", eo_file(601), organisation="ORG-B")
    assert foreign.status_code == 403 and foreign.json()["code"] == "forbidden"
    assert api.get("/api/v1/imports/IMP-B", headers=seeded.headers("entry")).status_code == 404
    assert (
        api.post("/api/v1/imports/CHK-B/confirm", headers=seeded.headers("qc")).status_code == 404
    )
    mine = api.get("/api/v1/imports", headers=seeded.headers("qc")).json()
    assert mine["total"] >= 2 and {i["organisation"] for i in mine["items"]} == {"ORG-A"}
    everyone = api.get("/api/v1/imports", headers=seeded.headers("ops")).json()
    assert {i["organisation"] for i in everyone["items"]} == {"ORG-A", "ORG-B"}
    assert post(api, seeded, "viewer", eo_file(602)).status_code == 403
    unknown = post(api, seeded, "im", eo_file(603), organisation="ORG-Z")
    assert unknown.status_code == 400 and "unknown organisation" in unknown.json()["message"]
    nameless = post(api, seeded, "im", eo_file(604))
    assert nameless.status_code == 400 and nameless.json()["message"].startswith("organisation")


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


HOSTILE = [
    (
        "traversal.zip",
        _zip({"../../etc/cron.d/evil.csv": b"KEY,SubmissionDate\n1,2\n"}),
        "unsafe path",
    ),
    ("abs.zip", _zip({"/tmp/evil.json": b"{}"}), "unsafe path"),
    ("bomb.zip", (FIX / "bad/zip_bomb.zip").read_bytes(), "zip bomb"),
    ("laughs.kml", (FIX / "bad/billion_laughs.kml").read_bytes(), "DTD or entities"),
    ("nan.geojson", (FIX / "bad/nan_coords.geojson").read_bytes(), "not a number (NaN"),
    ("truncated.json", (FIX / "bad/truncated.json").read_bytes(), "truncated"),
]


@pytest.mark.parametrize("name,data,words", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_uploads_are_a_clear_4xx_and_write_nothing(
    store: Store, seeded: Accounts, api: TestClient, name: str, data: bytes, words: str
) -> None:
    before = counts(store)
    for dry in ("true", "false"):
        r = post(
            api, seeded, "im", data, name, organisation="ORG-A", form="ma_eo_spot", dry_run=dry
        )
        assert r.status_code == 400, r.text
        body = r.json()
        assert set(body) == {"code", "message", "details"} and "Traceback" not in r.text
        assert name in body["message"] and words in body["message"]
    assert counts(store) == before


def test_oversized_upload_is_413_in_the_error_shape(store: Store, seeded: Accounts) -> None:
    app = create_app(store.url, max_upload_mb=0.01)  # 10 KB
    assert app.state.max_upload_bytes == 10_485
    before = counts(store)
    with TestClient(app) as c:
        big = b"x" * 20_000
        # over the file limit, under the body limit: the handler measures the file
        r = post(c, seeded, "im", big, "big.json", organisation="ORG-A")
        assert r.status_code == 413, r.text
        body = r.json()
        assert body["code"] == "too_large" and "10.2 KB" in body["message"]
        assert "big.json" in body["message"] and body["details"] == {"limit_bytes": 10_485}
        # far over: refused by its Content-Length before anything is read
        huge = post(c, seeded, "im", b"y" * 400_000, "huge.json", organisation="ORG-A")
        assert huge.status_code == 413 and huge.json()["code"] == "too_large"
        # the web import page uses the same setting
        page = c.post(
            "/import",
            files={"file": ("big.json", big, "application/json")},
            data={"organisation": "ORG-A"},
            headers={**seeded.headers("im"), "Accept": "text/html"},
        )
        assert page.status_code == 413 and "10.2 KB" in page.text
    app.state.store.dispose()
    assert counts(store) == before


def test_a_streamed_body_is_cut_off_at_the_limit(store: Store, seeded: Accounts) -> None:
    """A chunked body with no Content-Length is not read past the limit (ASGI level)."""
    app = create_app(store.url, max_upload_mb=0.05)
    chunk, chunks = b"z" * 65_536, 2_000  # 131 MB offered
    consumed = 0
    sent: list[dict[str, Any]] = []

    head = (
        b'--BOUNDARY\r\nContent-Disposition: form-data; name="file"; filename="big.json"\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n"
    )

    async def receive() -> dict[str, Any]:
        nonlocal consumed
        consumed += 1
        body = head + chunk if consumed == 1 else chunk
        return {"type": "http.request", "body": body, "more_body": consumed < chunks}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    token = seeded.tokens["im"]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/v1/imports",
        "raw_path": b"/api/v1/imports",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"testserver"),
            (b"content-type", b"multipart/form-data; boundary=BOUNDARY"),
            (b"transfer-encoding", b"chunked"),
            (b"authorization", f"Bearer {token}".encode()),
        ],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
        "state": {},
    }
    # In a thread of its own, as TestClient does: after a Playwright sync-API test the main
    # thread stays marked as running Playwright's event loop (see ``chromium_browser``), and
    # asyncio.run() refuses to start there.
    with start_blocking_portal() as portal:
        portal.call(app, scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    assert start["status"] == 413 and orjson.loads(body)["code"] == "too_large"
    assert consumed * len(chunk) < 1_000_000  # stopped within the limit + slack, not 131 MB
    app.state.store.dispose()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_declared_huge_body_is_refused_before_it_is_sent(store: Store, seeded: Accounts) -> None:
    """Over real HTTP: a 10 GB Content-Length gets its 413 at once, without sending the body."""
    import uvicorn

    app = create_app(store.url, max_upload_mb=1)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            head = (
                "POST /api/v1/imports HTTP/1.1\r\nHost: localhost\r\n"
                f"Authorization: Bearer {seeded.tokens['im']}\r\n"
                "Content-Type: multipart/form-data; boundary=B\r\n"
                "Content-Length: 10000000000\r\n\r\n"
            )
            sock.sendall(head.encode() + b"--B\r\n")
            answer = b""
            while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
                part = sock.recv(65536)
                if not part:
                    break
                answer += part
        status, _, rest = answer.partition(b"\r\n")
        assert b" 413 " in status, answer[:300]
        doc = orjson.loads(rest.split(b"\r\n\r\n", 1)[1])
        assert doc["code"] == "too_large" and "1 MB" in doc["message"]
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        app.state.store.dispose()


def test_bad_limit_settings_are_clear(monkeypatch: pytest.MonkeyPatch) -> None:
    from mineaction.errors import ValidationError
    from mineaction.web.limits import ENV, max_upload_bytes

    monkeypatch.setenv(ENV, "lots")
    with pytest.raises(ValidationError, match=ENV):
        max_upload_bytes()
    monkeypatch.setenv(ENV, "2.5")
    assert max_upload_bytes() == int(2.5 * 1024 * 1024)
    assert max_upload_bytes(1) == 1024 * 1024  # the serve option wins over the environment
    with pytest.raises(ValidationError, match="at most 512 MB"):
        max_upload_bytes(100_000)


def test_gis_file_with_a_mapping_checked_then_confirmed(
    store: Store, seeded: Accounts, api: TestClient
) -> None:
    gpkg = (FIX / "gis/foreign_pulkovo.gpkg").read_bytes()
    mapping = (FIX / "gis/foreign_pulkovo.yaml").read_bytes()  # has a date default
    r = api.post(
        "/api/v1/imports",
        files={"file": ("minefields.gpkg", gpkg), "mapping": ("m.yaml", mapping)},
        data={"organisation": "ORG-A", "dry_run": "true"},
        headers=seeded.headers("im"),
    )
    assert r.status_code == 201, r.text
    assert r.json()["totals"]["new"] == 2 and r.json()["format"] == "gpkg"
    ok = api.post(f"{r.headers['Location']}/confirm", headers=seeded.headers("im"))
    assert ok.status_code == 201 and ok.json()["totals"]["new"] == 2  # the kept mapping applied
    bomb = b"form: ma_hazard\nx: &a [1, 1]\ny: [*a, *a]\n"
    refused = api.post(
        "/api/v1/imports",
        files={"file": ("minefields.gpkg", gpkg), "mapping": ("bomb.yaml", bomb)},
        data={"organisation": "ORG-A"},
        headers=seeded.headers("im"),
    )
    assert refused.status_code == 400 and "aliases" in refused.json()["message"]
