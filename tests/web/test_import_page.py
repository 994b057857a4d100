"""The web import page: checks kept in the database (any process confirms them), repairs shown."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from mineaction.forms import synthetic as syn
from mineaction.services import users
from mineaction.store import schema as s
from mineaction.store.engine import Store, open_store
from mineaction.web.app import create_app

FIX = Path(__file__).resolve().parents[1] / "fixtures"
BOWTIE = "51.2 35.2 0 0;51.21 35.21 0 0;51.2 35.21 0 0;51.21 35.2 0 0;51.2 35.2 0 0"


@pytest.fixture
def db(store: Store) -> Iterator[tuple[str, dict[str, str]]]:
    """The test store with an IM officer and a HALO operator; their Bearer headers."""
    users.add_user(store, "im", role="im_officer", password="correct horse battery")
    users.add_user(
        store, "halo.entry", role="operator_entry", organisation="HALO", password="x" * 12
    )
    yield (
        store.url,
        {
            "im": f"Bearer {users.create_token(store, 'im').token}",
            "halo": f"Bearer {users.create_token(store, 'halo.entry').token}",
        },
    )


def server(url: str, who: str) -> TestClient:
    """A client of a new app instance: another server process, or the same one restarted."""
    c = TestClient(create_app(url), follow_redirects=False)
    c.headers["Authorization"] = who
    return c


def n_reports(url: str) -> int:
    st = open_store(url)
    try:
        with st.read() as conn:
            return int(conn.execute(select(func.count()).select_from(s.report)).scalar_one())
    finally:
        st.dispose()


def upload(c: TestClient, name: str, data: bytes, **form: str) -> str:
    """Check a file on the page; return the check's page address."""
    r = c.post("/import", files={"file": (name, data)}, data=form)
    assert r.status_code == 303, r.text
    return str(r.headers["location"])


def test_a_check_is_confirmed_by_another_process_after_a_restart(
    db: tuple[str, dict[str, str]],
) -> None:
    url, who = db
    data = (FIX / "odk_central" / "ma_hazard.odata.json").read_bytes()
    with server(url, who["im"]) as first:
        where = upload(first, "ma_hazard.odata.json", data, organisation="FSD")
        page = first.get(where)
        assert page.status_code == 200
        assert 'data-testid="new">3<' in page.text and 'data-testid="rejected">1<' in page.text
        assert "required answer is missing" in page.text
    batch = where.rsplit("/", 1)[-1]
    assert n_reports(url) == 0  # a check writes no report
    # the first server is gone; a second one (another process, or after a restart) confirms it
    with server(url, who["im"]) as second:
        assert f'name="token" value="{batch}"' in second.get(where).text
        done = second.post("/import/confirm", data={"token": batch})
        assert done.status_code == 303, done.text
        shown = second.get(done.headers["location"])
        assert "waiting in the review inbox" in shown.text
        assert "1 records with errors are kept in the quarantine" in shown.text
        assert n_reports(url) == 3
        # the check now says it was confirmed; confirming it again imports nothing
        assert "This check was confirmed" in second.get(where).text
        again = second.post("/import/confirm", data={"token": batch})
        assert again.status_code == 409 and "already confirmed" in again.text
    assert n_reports(url) == 3


def test_the_proposed_repair_is_shown_and_not_applied(db: tuple[str, dict[str, str]]) -> None:
    url, who = db
    bad = syn.fill("ma_hazard", 61)
    bad.answers["polygon"] = BOWTIE
    data = orjson.dumps(syn.kobo_json([bad, syn.fill("ma_hazard", 62)]))
    with server(url, who["im"]) as c:
        page = c.get(upload(c, "h.json", data, organisation="FSD")).text
    assert page.count('data-testid="repair"') == 1
    assert "Proposed repair of hazard.polygon" in page and "MultiPolygon" in page
    assert '<svg class="sketch"' in page and page.count("<path") >= 2  # two parts drawn
    assert "Self-intersection" in page and "accept-repair" in page
    assert n_reports(url) == 0


def test_expired_and_unknown_checks_and_scope(db: tuple[str, dict[str, str]]) -> None:
    url, who = db
    data = (FIX / "kobo" / "ma_eore.csv").read_bytes()
    with server(url, who["im"]) as im, server(url, who["halo"]) as halo:
        where = upload(im, "ma_eore.csv", data, organisation="FSD")
        batch = where.rsplit("/", 1)[-1]
        # an operator of another organisation neither sees nor confirms FSD's check
        assert halo.get(where).status_code == 404
        refused = halo.post("/import/confirm", data={"token": batch})
        assert refused.status_code == 409 and "upload the file again" in refused.text
        unknown = im.post("/import/confirm", data={"token": "no-such-check"})
        assert unknown.status_code == 409 and "upload the file again" in unknown.text
        # a check nobody confirmed in time: refused with a clear message, nothing written
        st = open_store(url)
        with st.write() as conn:
            past = datetime.now(UTC) - timedelta(hours=1)
            conn.execute(update(s.import_upload).values(expires_at=past))
        st.dispose()
        late = im.post("/import/confirm", data={"token": batch})
        assert late.status_code == 409 and "expired" in late.text
        assert n_reports(url) == 0
        # operators check files of their own organisation only
        own = halo.post("/import", files={"file": ("e.csv", data)}, data={"organisation": "FSD"})
        assert own.status_code == 400 and "only for your organisation HALO" in own.text


def test_a_mapping_file_can_be_uploaded_with_the_data(db: tuple[str, dict[str, str]]) -> None:
    url, who = db
    gis = FIX / "gis"
    with server(url, who["im"]) as c:
        r = c.post(
            "/import",
            files={
                "file": ("foreign_pulkovo.gpkg", (gis / "foreign_pulkovo.gpkg").read_bytes()),
                "mapping": ("foreign_pulkovo.yaml", (gis / "foreign_pulkovo.yaml").read_bytes()),
            },
            data={"organisation": "OPS"},
        )
        assert r.status_code == 303, r.text
        batch = r.headers["location"].rsplit("/", 1)[-1]
        assert 'data-testid="new">2<' in c.get(r.headers["location"]).text
        # the mapping is kept with the check: the confirmation reads the file the same way
        done = c.post("/import/confirm", data={"token": batch})
        assert done.status_code == 303
    assert n_reports(url) == 2
