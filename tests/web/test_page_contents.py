"""The dashboard of a user's scope, and the hazard page, section by section: state, map data, evidence, timeline with the m² each
report released, the explanation, EO found, tasks, priority breakdown, status history and who
approved what."""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Iterator
from datetime import date, timedelta

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from mineaction.core.priority import CRITERIA
from mineaction.services import dashboard, ledger, prioritise, tasks, users
from mineaction.store.engine import Store
from mineaction.web.app import create_app
from mineaction.web.i18n import fmt_area, fmt_number, use_language
from mineaction.web.labels import code_label

HTML = {"accept": "text/html"}


@pytest.fixture(scope="module")
def client(sample_db: tuple[str, Store]) -> Iterator[TestClient]:
    """The IM officer, after a prioritisation run and with a task planned on HZ-003."""
    url, store = sample_db
    prioritise.prioritise(store, prioritise.load_config(preset="lis"), as_of=date.today())
    start = date.today() + timedelta(days=7)
    tasks.create_task(
        store,
        {
            "task_id": "T-HZ-003",
            "hazard_id": "HZ-003",
            "activity_type": "CLEARANCE",
            "team": "DRC MDT 2",
            "planned_start": start,
            "planned_end": start + timedelta(days=20),
        },
        actor="im",
    )
    token = users.create_token(store, "im").token
    with TestClient(create_app(url)) as c:
        c.headers["Authorization"] = f"Bearer {token}"
        yield c


def section(html: str, title: str) -> str:
    """The HTML of the page's card headed ``title``."""
    found = re.search(rf"<h2>{re.escape(title)}</h2>(.*?)</section>", html, re.S)
    assert found, f"no section {title!r}"
    return found.group(1)


def test_every_part_of_the_hazard_page(client: TestClient, sample_db: tuple[str, Store]) -> None:
    store = sample_db[1]
    state, steps = ledger.explain(store, "HZ-003")
    html = client.get("/hazards/HZ-003?lang=en", headers=HTML).text
    # the current state: area, released by outcome, remaining, and how the remaining is made
    current = section(html, "Current state")
    assert 'data-testid="remaining"' in current and "79,721" in current
    assert "the strongest outcome counts once" in current
    # its map: the hazard, the remaining part and each released polygon
    data = json.loads(re.search(r'id="minimap-data"[^>]*>(.*?)</script>', html, re.S).group(1))
    parts = {f["properties"]["part"] for f in data["features"]}
    assert {"hazard", "remaining", "release"} <= parts
    # the timeline: every approved report with the m² it released, and the notes
    timeline = re.search(r'data-testid="timeline">(.*?)</table>', html, re.S).group(1)
    for st in steps:
        assert st.report_id in timeline
        for m2 in (st.cancelled_m2, st.reduced_m2, st.cleared_m2):
            if m2 > 0.5:
                assert f"{m2:,.0f}" in timeline, (st.report_id, m2)
    assert "new hazard, 265,736" in timeline and "3 EO items found" in timeline
    # evidence, status history, EO found, tasks
    assert "Marking" in section(html, "Evidence")
    assert "Worked on" in html.split("<h2>Status history</h2>", 1)[1].split("</ul>", 1)[0]
    eo = html.split("<h2>EO found</h2>", 1)[1].split("<h2>", 1)[0]
    assert "PMN-2" in eo and "Destroyed in situ" in eo
    planned = html.split("<h2>Tasks</h2>", 1)[1].split("</section>", 1)[0]
    assert "T-HZ-003" in planned and "DRC MDT 2" in planned and "Clearance" in planned
    # the priority breakdown of the latest prioritisation run
    ex = prioritise.explain_score(store, "HZ-003")
    priority = section(html, "Priority")
    assert 'data-testid="priority"' in priority and ex.terms
    assert f"rank {ex.rank} of {ex.of}" in priority
    for term in ex.terms:
        label = CRITERIA[term.criterion][0]  # the criterion's label, then its name
        assert f'<td>{label} <code class="muted">{term.criterion}</code></td>' in priority
    # who did what: each report's workflow trail
    approvals = section(html, "Reports and approvals")
    assert approvals.count("Submitted: <strong>field.officer</strong>") == state.report_count
    assert approvals.count("Approved: <strong>im.officer</strong>") == state.report_count


def _fig(html: str, testid: str) -> str:
    return re.search(rf'data-testid="{testid}">([^<]+)<', html).group(1)


@pytest.mark.parametrize(
    ("username", "scope"),
    [("im", dashboard.NATIONAL), ("halo.qc", dashboard.Scope(organisation="HALO"))],
)
def test_dashboard_shows_the_figures_of_the_users_scope(
    sample_db: tuple[str, Store], username: str, scope: dashboard.Scope
) -> None:
    url, store = sample_db
    f = dashboard.figures(store, scope)
    token = users.create_token(store, username).token
    with TestClient(create_app(url)) as c, use_language("en"):
        html = c.get("/?lang=en", headers={**HTML, "Authorization": f"Bearer {token}"}).text
        assert _fig(html, "sha-count") == fmt_number(f.hazards["SHA"]["count"])
        assert _fig(html, "cha-count") == fmt_number(f.hazards["CHA"]["count"])
        for cls in ("SHA", "CHA"):
            assert f"{fmt_area(f.hazards[cls]['m2'])} remaining" in html
        assert _fig(html, "released-year") == fmt_area(sum(f.released_year.values()))
        for k in ("cancelled", "reduced", "cleared"):  # this month, this year, all time
            row = re.search(rf"{k.capitalize()}</th>(.*?)</tr>", html, re.S).group(1)
            for value in (f.released_month[k], f.released_year[k], f.released_total[k]):
                assert fmt_area(value) in row, (k, value)
        assert (
            f"{f.casualties_year['killed']} killed, {f.casualties_year['injured']} injured" in html
        )
        assert fmt_number(f.eore_year_total) in html and f.eore_year_total > 0
        for cat, n in f.eo_destroyed.items():
            assert re.search(rf"{code_label(cat)}</th><td class=\"num\">{fmt_number(n)}<", html)
        assert _fig(html, "pending") == fmt_number(f.pending_reports)
        # the two charts: land released per month, remaining contamination by area
        assert html.count("<svg") >= 3  # (the logo, then the charts)
        assert "Per month, last two years" in html and "Remaining contamination" in html
    who = re.search(r'data-testid="user">(.*?)</div>', html, re.S).group(1)
    assert ("scope: HALO" in who) == (username == "halo.qc")
    assert ("national scope" in who) == (username == "im")
