"""Planning runs started from the plans page: form errors, background job, progress, result."""

from __future__ import annotations

import re
import threading
import time
import warnings
from collections.abc import Callable

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from mineaction.errors import ConflictError
from mineaction.services import plan_jobs, users
from mineaction.services import planning as svc
from mineaction.store.engine import Store
from mineaction.web.app import create_app
from mineaction.web.i18n import use_language
from mineaction.web.notes import field_label

TEAMS_YAML = """teams:
  - {id: W-NTS, asset: nts}
  - {id: W-TS, asset: ts}
  - {id: W-MAN, asset: manual, availability: {weekly_rest: [5]}}
"""


def _wait(client: TestClient, job: str, timeout: float = 120.0) -> dict:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        state = client.get(f"/plans/runs/{job}.json").json()
        if state["status"] in ("done", "failed"):
            return state
        time.sleep(0.2)
    raise AssertionError(f"run {job} did not finish: {state}")


def test_run_form_plans_in_the_background_with_forecast(client: TestClient) -> None:
    page = client.get("/plans")
    assert page.status_code == 200 and 'data-testid="run-form"' in page.text
    form = {
        "time_limit": "0.3",
        "bound": "1",
        "bound_time": "2",
        "teams_yaml": TEAMS_YAML,
        "forecast": "1",
        "samples": "3",
        "deadline": "2040-12-31",
        "marginal": "1",
    }
    r = client.post("/plans/run", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text
    job = r.headers["location"].rsplit("/", 1)[1]
    state = _wait(client, job)
    assert state["status"] == "done", state
    assert state["fraction"] == 1.0 and state["plan_id"]
    follow = client.get(f"/plans/runs/{job}", follow_redirects=False)
    assert follow.status_code == 303 and state["plan_id"] in follow.headers["location"]
    plan = client.get(follow.headers["location"])
    assert 'data-testid="plan-forecast"' in plan.text and 'data-testid="marginal"' in plan.text
    # the plan's forecast says which scenario its dates are
    assert 'data-testid="forecast-scenario"' in plan.text and "observed pace" in plan.text
    assert "2040-12-31" in plan.text
    # in Russian: the plan's state, the scenario, the run's state and step (page and JSON)
    ru = client.get(follow.headers["location"] + "&lang=ru").text
    assert 'data-testid="plan-status">черновик<' in ru
    scenario = ru.split('data-testid="forecast-scenario">', 1)[1].split("</p>", 1)[0]
    assert "в наблюдаемом темпе программы" in scenario and "pace" not in scenario
    state_ru = client.get(f"/plans/runs/{job}.json?lang=ru").json()
    assert (state_ru["status_text"], state_ru["message_text"]) == ("готово", "план сохранён")
    plans_ru = client.get("/plans?lang=ru").text
    assert "<td>готово</td><td>план сохранён</td>" in plans_ru
    assert ">черновик</span>" in plans_ru and ">draft</span>" not in plans_ru
    client.get("/plans?lang=en")
    stored = svc.get_plan(client.app.state.store, state["plan_id"], items=False)
    fc = stored["summary"]["forecast"]
    assert fc["samples"] == 3 and 0 <= fc["p_deadline"] <= 1
    assert {m["asset"] for m in fc["marginal"]} == {"nts", "ts", "manual"}
    teams = stored["summary"]["config"]["teams"]
    assert next(t for t in teams if t["id"] == "W-MAN")["availability"]["weekly_rest"] == [5]
    assert stored["created_by"] == "im"
    assert job in client.get("/plans").text  # listed under recent runs


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("time_limit", "abc", "Search time must be a number"),
        ("time_limit", "5000", "between 0 and 900"),
        ("deadline", "31/12/2040", "Treaty deadline must be a date"),
        ("teams_yaml", "teams: [", "not valid YAML"),
        ("teams_yaml", "- {id: X, asset: tanks}", "unknown asset class"),
        ("calendars_yaml", "default: {weekly_rest: [9]}", "weekly_rest"),
    ],
)
def test_run_form_errors_are_shown_on_the_form(
    client: TestClient, field: str, value: str, message: str
) -> None:
    r = client.post("/plans/run", data={"time_limit": "1", "forecast": "1", field: value})
    assert r.status_code in (400, 422), r.text
    assert 'data-testid="run-error"' in r.text and message in r.text
    assert 'data-testid="run-form"' in r.text
    # in Russian the same error is translated (its field name and values kept)
    ru = client.post(
        "/plans/run?lang=ru", data={"time_limit": "1", "forecast": "1", field: value}
    ).text

    def error(page: str) -> str:
        return page.split('data-testid="run-error">', 1)[1].split("</p>", 1)[0]

    english = error(r.text)
    assert not re.search("[а-яё]", english) and re.search("[а-яё]{4}", error(ru)), error(ru)
    # the same field named first in both (by its label where it has one)
    for key in (field, english.split(":")[0]):
        with use_language("en"):
            named_en = field_label(key)
        with use_language("ru"):
            named_ru = field_label(key)
        if english.startswith(named_en):
            assert error(ru).startswith(named_ru), (named_ru, error(ru))
            break
    else:
        raise AssertionError(f"the error does not name its field: {english}")
    client.get("/plans?lang=en")


def test_viewers_may_not_start_runs(sample_db: tuple[str, Store]) -> None:
    url, store = sample_db
    token = users.create_token(store, "viewer").token
    with TestClient(create_app(url)) as c:
        c.headers["Authorization"] = f"Bearer {token}"
        assert c.post("/plans/run", data={"time_limit": "1"}).status_code == 403
        assert c.get("/plans/runs/x.json").status_code == 403


def test_jobs_run_one_at_a_time_queue_is_bounded_and_failures_are_kept(
    sample_db: tuple[str, Store],
) -> None:
    _, store = sample_db
    gate = threading.Event()
    seen: list[str] = []

    def runner(job: plan_jobs.PlanJob, _: Store, progress: Callable[[str], None]) -> str:
        progress("planning 1 work packages on 1 teams")
        seen.append(job.job_id)
        gate.wait(30)
        if job.options.seed == 1:
            raise ValueError("no team may work on it")
        return f"P-{job.job_id}"

    jobs = plan_jobs.PlanJobs(store, runner=runner)
    first = jobs.submit(svc.PlanOptions(time_limit=10, seed=1), created_by="im")
    while first.status != "running":
        time.sleep(0.01)
    assert 0.15 <= first.fraction() < 0.75  # inside the planning phase
    queued = [jobs.submit(svc.PlanOptions(), created_by="im") for _ in range(plan_jobs.MAX_QUEUED)]
    with pytest.raises(ConflictError):
        jobs.submit(svc.PlanOptions(), created_by="im")
    assert seen == [first.job_id] and all(j.status == "queued" for j in queued)
    gate.set()
    end = time.monotonic() + 30
    while any(j.finished is None for j in [first, *queued]) and time.monotonic() < end:
        time.sleep(0.01)
    assert first.status == "failed" and "no team may work on it" in (first.error or "")
    assert [j.status for j in queued] == ["done"] * plan_jobs.MAX_QUEUED
    assert seen == [first.job_id] + [j.job_id for j in queued]  # in order, one at a time
    assert jobs.recent(1)[0].job_id == queued[-1].job_id
    with pytest.raises(Exception, match="not found"):
        jobs.get("nope")


def test_forecast_page_states_its_scenario_and_compares(client: TestClient) -> None:
    from mineaction.store.settings import get_setting, set_setting

    store = client.app.state.store
    teams = [
        {"code": f"F-{k}", "kind": k, "organisation": "ORG-A"} for k in ("nts", "ts", "manual")
    ]
    with store.read() as conn:
        before = get_setting(conn, "teams")
    with store.write() as conn:
        set_setting(conn, "teams", teams)
    try:
        page = client.get("/forecast", params={"run": "1", "samples": "2", "compare": "1"})
    finally:
        with store.write() as conn:
            set_setting(conn, "teams", before)
    assert page.status_code == 200, page.text
    assert 'data-testid="forecast-scenario"' in page.text and "observed pace" in page.text
    assert "P50, whole stock at reported rates" in page.text  # side by side
