"""Hostile input: fuzz report submission and every importer with hypothesis.

Every case must end in success or a :class:`MineActionError` with a message (a rejection that
says what is wrong); any other exception is a crash. A rejected case must leave the database as
it was (no partial data). Used by tests/reliability/test_hostile.py (few cases) and
``python tests/reliability/run_fuzz.py`` (>= 10,000 cases).
"""

from __future__ import annotations

import copy
import functools
import logging
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from tests.factories import activity_report, hazard_report, rect

from mineaction.errors import MineActionError
from mineaction.services import importing, ledger
from mineaction.store import schema as s
from mineaction.store.engine import Store

FIXTURES = Path(__file__).parents[1] / "fixtures"
NASTY = [
    "<script>alert(1)</script>",
    "'; DROP TABLE report; --",
    '" OR 1=1 --',
    "../../../../etc/passwd",
    "\x00",
    "\u202e\u0000\ud7ff",
    "A" * 10_000,
    "{{7*7}}${7*7}",
    "<!ENTITY x SYSTEM 'file:///etc/passwd'>&x;",
    "NaN",
    "-1e308",
]


@dataclass
class FuzzStats:
    """Cases run and their outcomes."""

    cases: int = 0
    accepted: int = 0
    rejected: int = 0
    crashes: list[str] = field(default_factory=list)
    partial_writes: list[str] = field(default_factory=list)
    wall: float = 0.0
    cpu: float = 0.0
    #: cases per kind of input (e.g. file type), where a fuzzer counts them
    by_kind: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        """Figures as JSON-able data."""
        return {
            "cases": self.cases,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "crashes": self.crashes[:10],
            "partial_writes": self.partial_writes[:10],
            "by_kind": dict(sorted(self.by_kind.items())),
            "wall_s": round(self.wall, 1),
            "cpu_s": round(self.cpu, 1),
        }


TABLES = (s.report, s.report_event, s.audit_log, s.quarantine, s.import_batch, s.hazard)


F = TypeVar("F", bound=Callable[..., Any])


def quiet_access_log(fn: F) -> F:
    """Run ``fn`` with the per-request access log off (one line per case), then restore it."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        logger = logging.getLogger("mineaction.access")
        old = logger.level
        logger.setLevel(logging.WARNING)
        try:
            return fn(*args, **kwargs)
        finally:
            logger.setLevel(old)

    return wrapper  # type: ignore[return-value]


def _counts(store: Store) -> tuple[int, ...]:
    with store.read() as conn:
        return tuple(
            int(conn.execute(select(func.count()).select_from(t)).scalar() or 0) for t in TABLES
        )


json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=50),
    st.sampled_from(NASTY),
)
json_value = st.recursive(
    json_leaf,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)


def _paths(obj: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += _paths(v, (*prefix, i))
    return out


def _mutate(doc: Any, rng: random.Random, value: Any) -> Any:
    """Replace, delete or add something at a random place of ``doc``."""
    doc = copy.deepcopy(doc)
    paths = [p for p in _paths(doc) if p]
    if not paths:
        return value
    path = rng.choice(paths)
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    action = rng.random()
    if action < 0.6:
        parent[path[-1]] = value
    elif action < 0.8:
        if isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent.pop(path[-1])
    elif isinstance(parent, dict):
        parent[str(value)[:20] if not isinstance(value, str) else value[:20]] = value
    else:
        parent.append(value)
    return doc


def _seed_docs(n: int) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for i in range(n):
        x = (i % 10) * 0.01
        docs.append(hazard_report(f"F-HA-{i}", f"FH{i}", polygon=rect(x, 0, x + 0.003, 0.002)))
        docs.append(
            activity_report(
                f"F-CL-{i}",
                f"FH{i}",
                releases=[("cleared", rect(x, 0, x + 0.001, 0.002))],
                eo_items=[{"category": "AP_MINE", "quantity": 1}],
            )
        )
    return docs


def _one(store: Store, stats: FuzzStats, label: str, call: Any) -> None:
    before = _counts(store)
    stats.cases += 1
    try:
        call()
    except MineActionError as exc:
        stats.rejected += 1
        if not str(exc).strip():
            stats.crashes.append(f"{label}: a rejection without a message")
        if _counts(store) != before:
            stats.partial_writes.append(f"{label}: rejected ({exc}) but the tables changed")
        return
    except Exception as exc:  # the point: nothing else may escape
        stats.crashes.append(f"{label}: {type(exc).__name__}: {str(exc)[:300]}")
        return
    stats.accepted += 1


def fuzz_submit(store: Store, cases: int, *, seed: int = 0) -> FuzzStats:
    """Submit (and try to approve) mutated reports: rejected cleanly or accepted."""
    stats = FuzzStats()
    base = _seed_docs(5)
    counter = iter(range(10**9))

    @settings(
        max_examples=cases,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.integers(min_value=0, max_value=2**32), json_value, st.integers(1, 3))
    def case(r: int, value: Any, depth: int) -> None:
        rng = random.Random(seed * 7919 + r)
        doc: Any = rng.choice(base)
        for _ in range(depth):
            doc = _mutate(doc, rng, value)
        if isinstance(doc, dict) and rng.random() < 0.7:
            doc["report_id"] = f"FZ-{next(counter)}"  # mostly new ids, sometimes clashes

        submitted: list[str] = []

        def call() -> None:
            result = ledger.submit(store, doc, submitted_by="fuzz")
            if result.status == "new":
                submitted.append(result.report_id)

        _one(store, stats, f"submit {str(doc)[:200]}", call)
        if submitted and rng.random() < 0.5:  # approving is a case of its own
            rid = submitted[0]
            _one(store, stats, f"approve {rid}", lambda: ledger.approve(store, rid, actor="fuzz"))

    case()
    return stats


def _fixture_files() -> list[Path]:
    return sorted(p for p in FIXTURES.rglob("*") if p.is_file() and p.stat().st_size < 2_000_000)


#: GIS file types: imported with a form or a column mapping (without one they are refused
#: before they are read, and the GIS reader would not be fuzzed)
GIS_SUFFIXES = (".gpkg", ".kml", ".kmz", ".fgb", ".geojson", ".zip", ".csv")


def import_args(path: Path) -> dict[str, Any]:
    """The form or column mapping a fixture file is imported with (GIS files need one)."""
    if path.suffix not in GIS_SUFFIXES or path.parent.name not in ("gis", "bad"):
        return {}
    if path.name.endswith(".csv.zip"):  # an ODK Central CSV export
        return {}
    mapping = path.with_suffix(".yaml")
    if mapping.exists():
        return {"mapping": mapping.read_text(encoding="utf-8")}
    return {"form": "ma_hazard"}


def fuzz_import(store: Store, cases: int, *, seed: int = 0) -> FuzzStats:
    """Import damaged fixture files (bit flips, cuts, splices, random bytes) under any name.

    GIS files (GeoPackage, KML/KMZ, FlatGeobuf, GeoJSON, zipped shapefiles, CSV with
    coordinates) are imported with their form or column mapping most of the time, so that
    the damaged bytes reach the GIS reader; now and then without, or under another name.
    """
    stats = FuzzStats()
    files = [(p.name, p.read_bytes(), import_args(p)) for p in _fixture_files()]
    names = [n for n, _, _ in files] + ["x.kml", "x.geojson", "x.zip", "x.csv", "x.xlsx", "x.json"]

    @settings(
        max_examples=cases,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.integers(min_value=0, max_value=2**32), st.binary(max_size=64))
    def case(r: int, junk: bytes) -> None:
        rng = random.Random(seed * 104729 + r)
        name, data, args = rng.choice(files)
        if rng.random() < 0.15:
            args = {}
        how = rng.random()
        buf = bytearray(data)
        if how < 0.35 and buf:
            for _ in range(rng.randint(1, 8)):
                buf[rng.randrange(len(buf))] = rng.randrange(256)
        elif how < 0.6:
            buf = buf[: rng.randrange(len(buf) + 1)]
        elif how < 0.8 and buf:
            at = rng.randrange(len(buf))
            buf[at:at] = junk
        elif how < 0.9:
            buf = bytearray(junk)
        if rng.random() < 0.2:
            name = rng.choice(names)
        payload = bytes(buf)

        def call() -> None:
            importing.import_bytes(store, payload, name, organisation="FSD", actor="fuzz", **args)

        stats.by_kind[Path(name).suffix + (" +form/mapping" if args else "")] += 1
        _one(store, stats, f"import {name} {sorted(args)} ({how:.2f}, {len(payload)} bytes)", call)

    case()
    return stats


@quiet_access_log
def fuzz_api(
    store: Store,
    per_operation: int,
    *,
    users: tuple[str, ...] = ("admin", "im", "entry", "viewer", "public"),
    paths: tuple[str, ...] = (),
) -> FuzzStats:
    """Schemathesis on every API operation (as each user): no 5xx, documented answers, and
    every error in the one JSON error shape with a message. ``paths``: only operations whose
    path starts with one of these (default: all).

    The two-organisation programme of tests/api/seed.py is loaded into ``store`` if needed.
    """
    import warnings

    import schemathesis
    from hypothesis import Phase
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        status_code_conformance,
    )

    client, accounts = _api_setup(store)
    client.app.openapi()  # built once and cached: the loader's 10 s timeout on a busy machine
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)

    stats = FuzzStats()
    checks = [not_a_server_error, status_code_conformance, content_type_conformance]
    for who in users:
        headers = accounts.headers(who)
        for result in schema.get_all_operations():
            op = result.ok()
            key = f"{op.method.upper()} {op.path}"
            if key == "POST /api/v1/auth/login":  # rate limited by design
                continue
            if paths and not op.path.startswith(paths):
                continue

            @settings(
                max_examples=per_operation,
                deadline=None,
                database=None,
                derandomize=True,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(case=op.as_strategy())
            def run(case: Any) -> None:
                stats.cases += 1
                response = case.call(headers=headers)  # noqa: B023 - run at once
                if response.status_code < 400:
                    stats.accepted += 1
                else:
                    stats.rejected += 1
                case.validate_response(response, checks=checks)
                problem = error_shape_problem(response)
                if problem:
                    raise AssertionError(problem)

            try:
                run()
            except BaseException as exc:  # schemathesis reports several failures as a group
                if isinstance(exc, KeyboardInterrupt | SystemExit):
                    raise
                stats.crashes.append(f"{who} {key}: {str(exc)[:400]}")
    client.app.state.store.dispose()
    checked = ledger.check(store)
    stats.partial_writes += checked.differences[:10] + checked.errors[:10]
    return stats


# --- the API with authenticated writes -------------------------------------------------------


#: What every error answer of the API must look like: JSON with a code and a message.
def error_shape_problem(response: Any) -> str | None:
    """Return what is wrong with an error answer's body (None: the one JSON error shape)."""
    if response.status_code < 400:
        return None
    try:
        body = response.json()
    except ValueError:
        return f"{response.status_code} answer is not JSON: {response.text[:200]!r}"
    if not isinstance(body, dict) or not body.get("code") or not str(body.get("message")).strip():
        return f"{response.status_code} answer without code and message: {str(body)[:200]}"
    return None


def _api_setup(store: Store) -> tuple[Any, Any]:
    """Seed the programme of tests/api/seed.py once; return (TestClient, Accounts)."""
    import warnings

    from sqlalchemy import select as sa_select
    from tests.api.conftest import Accounts
    from tests.api.seed import ACCOUNTS, seed

    from mineaction.services import users as user_svc
    from mineaction.web.app import create_app

    with store.read() as conn:
        seeded = conn.execute(
            sa_select(s.app_user.c.username).where(s.app_user.c.username == "admin")
        ).first()
    if seeded is None:
        tokens = seed(store)
    else:
        tokens = {name: user_svc.create_token(store, name).token for name, _, _ in ACCOUNTS}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

        # a 500 is an answer to count, not an exception in the client
        client = TestClient(create_app(store.url), raise_server_exceptions=False)
    return client, Accounts(tokens)


def _json(value: Any) -> bytes:
    """JSON as a hostile client may send it: NaN/Infinity literals and lone surrogates too."""
    import json

    return json.dumps(value, allow_nan=True).encode()


def _ct(headers: dict[str, str]) -> dict[str, str]:
    return {**headers, "Content-Type": "application/json"}


def _write_docs() -> list[dict[str, Any]]:
    """Valid ORG-A reports inside the seeded programme (hazard, NTS, clearance, EO)."""
    docs: list[dict[str, Any]] = []
    for i in range(4):
        x = 0.001 * i
        hid = f"WH{i}"
        docs.append(
            hazard_report(
                f"W-HA-{i}",
                hid,
                org="ORG-A",
                polygon=rect(x, 0.013, x + 0.0008, 0.014),
                location="UA0101",
                name="Field",
            )
        )
        docs.append(
            activity_report(
                f"W-CL-{i}",
                hid,
                org="ORG-A",
                activity="CLEARANCE",
                releases=[("cleared", rect(x, 0.013, x + 0.0004, 0.014))],
                eo_items=[{"category": "AP_MINE", "quantity": 1}],
            )
        )
    return docs


PENDING = ("submitted", "verified", "ops_approved")
#: Review decisions of ``POST /api/v1/reports/{id}/review`` and the roles that hold each level.
LEVEL_DECISIONS = ("verify", "ops_approve", "approve", "reject")
LEVEL_DECISION_ROLES = {
    "verify": {"operator_qc", "im_officer", "admin"},
    "ops_approve": {"operations", "im_officer", "admin"},
    "approve": {"im_officer", "admin"},
    "reject": {"operator_qc", "operations", "im_officer", "admin"},
}
ROLE_OF = {
    "admin": "admin",
    "im": "im_officer",
    "ops": "operations",
    "entry": "operator_entry",
    "qc": "operator_qc",
    "viewer": "viewer",
}


@quiet_access_log
def fuzz_api_writes(store: Store, cases: int, *, seed_value: int = 0) -> FuzzStats:
    """Authenticated writes over HTTP: submissions (mutated reports, as an operator and an IM
    officer), review actions (approve, reject, unapprove) and task edits with right, stale,
    missing, wildcard and garbage If-Match values, by every role.

    Each case is one write request. Checks: never a 5xx; every error is the JSON error shape
    with a message; a stale If-Match is always 412 and a missing one 428 (for a caller allowed
    to act, with a valid body); a refused submission leaves the tables unchanged; afterwards
    the ledger and projections agree (``recompute --check``) and the bookkeeping is complete.
    """

    from tests.reliability.killing import consistency_problems

    client, accounts = _api_setup(store)
    stats = FuzzStats()
    base = _write_docs()
    counter = iter(range(10**9))
    report_ids: list[str] = ["R-A-PEND-1", "R-B-PEND-1", "R-A-HAZ", "R-B-ACT", "R-A-EO"]
    task_ids = ["T-A", "T-B"]
    writers = ("entry", "im")
    reviewers = ("im", "admin", "qc", "ops", "entry", "viewer")
    review_route = (
        "/api/v1/reports/{report_id}/review" in client.get("/openapi.json").json()["paths"]
    )
    levels: list[dict[str, str]] = [{}]  # next decision by state, for the levels in force

    def check(label: str, r: Any, allowed: set[int], must: int | None = None) -> None:
        stats.cases += 1
        if r.status_code < 400:
            stats.accepted += 1
        else:
            stats.rejected += 1
        problem = error_shape_problem(r)
        if r.status_code >= 500:
            problem = f"{r.status_code} {r.text[:300]}"
        elif r.status_code not in allowed:
            problem = f"unexpected {r.status_code}: {r.text[:300]}"
        elif must is not None and r.status_code != must:
            problem = f"expected {must}, got {r.status_code}: {r.text[:300]}"
        if problem:
            stats.crashes.append(f"{label}: {problem}")

    def if_match(rng: random.Random, version: int, value: Any) -> tuple[str | None, str]:
        how = rng.random()
        if how < 0.55:
            return f'"{version}"', "current"
        if how < 0.7:
            return f'"{version - rng.randint(1, 3)}"', "stale"
        if how < 0.78:
            return None, "missing"
        if how < 0.84:
            return "*", "any"
        if how < 0.9:
            return f'W/"{version}"', "current"
        text = "".join(c for c in str(value)[:200] if " " <= c <= "~")  # a header is ASCII
        return text or "garbage", "garbage"

    @settings(
        max_examples=cases,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.integers(min_value=0, max_value=2**32), json_value, st.integers(0, 3))
    def case(r: int, value: Any, depth: int) -> None:
        try:
            one_case(r, value, depth)
        except Exception as exc:  # the harness itself must not stop the run
            stats.crashes.append(f"case {r}: {type(exc).__name__}: {str(exc)[:300]}")

    def one_case(r: int, value: Any, depth: int) -> None:
        if review_route and stats.cases in (0, cases // 2):
            # first half: the three-level chain; second half: one step (reports are left at
            # levels no longer configured, which must still move on)
            from mineaction.services import review

            three = stats.cases == 0
            review.set_approval_levels(
                store, ["verified", "ops_approved"] if three else [], actor="fuzz"
            )
            levels.append(
                {"submitted": "verify", "verified": "ops_approve", "ops_approved": "approve"}
                if three
                else {"submitted": "approve", "verified": "approve", "ops_approved": "approve"}
            )
        rng = random.Random(seed_value * 7919 + r)
        what = rng.random()
        if what < 0.4:  # submit
            who = rng.choice(writers)
            doc: Any = copy.deepcopy(rng.choice(base))
            for _ in range(depth):
                doc = _mutate(doc, rng, value)
            if isinstance(doc, dict) and rng.random() < 0.8:
                n = next(counter)
                doc["report_id"] = f"WZ-{n}"
                for body in doc.values():  # a new hazard id too, mostly
                    if isinstance(body, dict) and "hazard_id" in body and rng.random() < 0.7:
                        body["hazard_id"] = f"WZH{n % 200}"
            before = _counts(store)
            resp = client.post(
                "/api/v1/reports", content=_json(doc), headers=_ct(accounts.headers(who))
            )
            check(f"{who} submit {str(doc)[:160]}", resp, {200, 201, 400, 403, 409})
            if resp.status_code in (200, 201):
                if resp.status_code == 201:
                    report_ids.append(resp.json()["report_id"])
            elif _counts(store) != before:
                stats.partial_writes.append(f"submit refused ({resp.status_code}) but wrote")
            return
        if what < 0.9:  # a review action on a known report
            for _try in range(4):  # mostly a pending report: decisions on those move things
                rid = rng.choice(report_ids[-40:] if rng.random() < 0.8 else report_ids)
                got = client.get(f"/api/v1/reports/{rid}", headers=accounts.headers("admin"))
                if got.status_code != 200:
                    stats.crashes.append(f"read {rid}: {got.status_code} {got.text[:200]}")
                    return
                if got.json()["report"]["state"] in PENDING or rng.random() < 0.2:
                    break
            version = int(got.headers["ETag"].strip('"'))
            who = "im" if rng.random() < 0.5 else rng.choice(reviewers)
            actions = ["approve", "approve", "approve", "reject", "unapprove"]
            actions += ["review"] * (5 if review_route else 0)  # the per-level decisions
            action = rng.choice(actions)
            header, kind = if_match(rng, version, value)
            headers = accounts.headers(who)
            if header is not None:
                headers["If-Match"] = header
            body: Any = None
            reason = rng.choice([*NASTY[:6], "check the polygon", "check the polygon"])
            if action == "review":
                decision = rng.choice(LEVEL_DECISIONS)
                if rng.random() < 0.75:  # mostly the report's real next step
                    decision = levels[-1].get(got.json()["report"]["state"], decision)
                body = {"decision": decision}
                if decision == "reject" or rng.random() < 0.2:
                    body["reason"] = reason
                if rng.random() < 0.15:
                    body = _mutate(body, rng, value)
            elif action != "approve":
                body = {"reason": reason} if rng.random() < 0.8 else value
            resp = client.post(
                f"/api/v1/reports/{rid}/{action}",
                content=None if body is None else _json(body),
                headers=_ct(headers),
            )
            if action == "review":
                may_act = (
                    isinstance(body, dict)
                    and body.get("decision") in LEVEL_DECISIONS
                    and ROLE_OF[who] in LEVEL_DECISION_ROLES[body["decision"]]
                    and who in ("im", "admin")  # others are scoped: ORG-B reports are 404
                )
                reason_given = body.get("reason") if isinstance(body, dict) else None
                valid_body = (
                    may_act
                    and set(body) <= {"decision", "reason"}
                    and (reason_given is None or isinstance(reason_given, str))
                    and (body.get("decision") != "reject" or str(reason_given or "").strip() != "")
                )
            else:
                may_act = who in ("im", "admin")
                valid_body = action == "approve" or (
                    isinstance(body, dict) and isinstance(body.get("reason"), str)
                )
            must = None
            if may_act and valid_body and kind == "stale":
                must = 412
            elif may_act and valid_body and kind == "missing":
                must = 428
            check(
                f"{who} {action} {rid} If-Match={header!r} ({kind}), body={str(body)[:80]}",
                resp,
                {200, 400, 403, 404, 409, 412, 428},
                must,
            )
            return
        tid = rng.choice(task_ids)  # a task edit
        got = client.get(f"/api/v1/tasks/{tid}", headers=accounts.headers("im"))
        version = int(got.headers["ETag"].strip('"'))
        header, kind = if_match(rng, version, value)
        headers = accounts.headers(rng.choice(("im", "admin", "ops", "viewer")))
        if header is not None:
            headers["If-Match"] = header
        patch: Any = (
            {"notes": rng.choice(NASTY[:6])}
            if rng.random() < 0.5
            else _mutate({"notes": "x", "team": "T1", "status": "planned"}, rng, value)
        )
        resp = client.patch(f"/api/v1/tasks/{tid}", content=_json(patch), headers=_ct(headers))
        check(f"edit {tid} {kind} {str(patch)[:80]}", resp, {200, 400, 403, 404, 409, 412, 428})

    try:
        case()
    finally:
        client.close()
        client.app.state.store.dispose()
    stats.partial_writes += consistency_problems(store)[:10]
    return stats


# --- OGC API - Features (not in the OpenAPI document schemathesis reads) -----------------------

_CRS = [
    "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
    "http://www.opengis.net/def/crs/EPSG/0/4326",
    "http://www.opengis.net/def/crs/EPSG/0/3857",
    "http://www.opengis.net/def/crs/EPSG/0/32636",
]


def _ogc_value(rng: random.Random, name: str, value: Any) -> str:
    """A plausible, borderline or hostile value for an OGC query parameter."""
    how = rng.random()
    if how < 0.3:
        return "".join(c for c in str(value)[:120] if c.isprintable())
    if name in ("limit", "offset"):
        return str(rng.choice([0, 1, 10, 10_000, 10_001, -1, 2**31, 2**63, 2**70, "1.5", "1e3"]))
    if name in ("bbox",):
        n = rng.choice([4, 4, 6, 3, 5])
        nums = [
            rng.uniform(-400, 400) if rng.random() < 0.3 else rng.uniform(35, 36) for _ in range(n)
        ]
        if rng.random() < 0.1:
            nums[0] = float(rng.choice(["nan", "inf", "-inf"]))
        return ",".join(f"{x:.6f}" for x in nums)
    if name in ("crs", "bbox-crs"):
        return rng.choice([*_CRS, "EPSG:4326", "http://www.opengis.net/def/crs/EPSG/0/999999"])
    if name == "datetime":
        return rng.choice(
            [
                "2024-01-01",
                "2024-01-01/..",
                "../2024-12-31",
                "2024-02-30",
                "2024-01-01T00:00:00Z/x",
                "../..",
                "99999-01-01",
                "2024-12-31/2024-01-01",
            ]
        )
    if name == "f":
        return rng.choice(["json", "html", "geojson", "xml", ""])
    return str(value)[:50]


@quiet_access_log
def fuzz_ogc(store: Store, cases: int, *, seed_value: int = 0) -> FuzzStats:
    """OGC API - Features as three users: random, borderline and hostile query parameters and
    feature ids on every collection; never a 5xx, every error in the JSON error shape."""

    client, accounts = _api_setup(store)
    stats = FuzzStats()
    cols = [
        c["id"]
        for c in client.get("/ogc/collections", headers=accounts.headers("admin")).json()[
            "collections"
        ]
    ]
    params = ("limit", "offset", "bbox", "bbox-crs", "crs", "datetime", "f", "unknown")

    @settings(
        max_examples=cases,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.integers(min_value=0, max_value=2**32), json_leaf)
    def case(r: int, value: Any) -> None:
        rng = random.Random(seed_value * 31337 + r)
        who = rng.choice(("admin", "viewer", "public"))
        col = rng.choice([*cols, "nope", "../hazards", "%00"] if rng.random() < 0.1 else cols)
        how = rng.random()
        if how < 0.7:
            path = f"/ogc/collections/{col}/items"
            query = {p: _ogc_value(rng, p, value) for p in rng.sample(params, rng.randint(0, 4))}
        elif how < 0.9:
            fid = rng.choice(["HA", "HB", "1", "x' OR '1'='1", "A" * 300, str(value)[:60]])
            path = f"/ogc/collections/{col}/items/{fid}"
            query = {"f": _ogc_value(rng, "f", value)} if rng.random() < 0.3 else {}
        else:
            path = rng.choice(
                [
                    "/ogc",
                    "/ogc/conformance",
                    "/ogc/collections",
                    f"/ogc/collections/{col}",
                    "/ogc/api",
                ]
            )
            query = {"f": _ogc_value(rng, "f", value)} if rng.random() < 0.5 else {}
        stats.cases += 1
        try:
            resp = client.get(path, params=query, headers=accounts.headers(who))
        except Exception as exc:  # a client-side refusal of the URL is not a server answer
            stats.cases -= 1
            if "Invalid" not in type(exc).__name__ and "URL" not in str(exc):
                stats.crashes.append(f"{path} {query}: {type(exc).__name__}: {exc}")
            return
        if resp.status_code < 400:
            stats.accepted += 1
            return
        stats.rejected += 1
        problem = error_shape_problem(resp)
        if resp.status_code >= 500:
            problem = f"{resp.status_code} {resp.text[:300]}"
        if problem:
            stats.crashes.append(f"{who} GET {path} {query}: {problem}")

    try:
        case()
    finally:
        client.close()
        client.app.state.store.dispose()
    return stats


# --- the upload endpoint: hostile files over HTTP ----------------------------------------------

XXE_KML = b"""<?xml version="1.0"?>
<!DOCTYPE kml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document><Placemark><name>&xxe;</name>
<Polygon><outerBoundaryIs><LinearRing><coordinates>35.2,51.2 35.21,51.2 35.21,51.21 35.2,51.2
</coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark></Document></kml>"""
LAUGHS_KML = b"""<?xml version="1.0"?>
<!DOCTYPE kml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
<!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;"><!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;">
<!ENTITY g "&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;"><!ENTITY h "&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;">]>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document><name>&h;</name></Document></kml>"""


def _zip(members: list[tuple[str, bytes]]) -> bytes:
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members:
            zf.writestr(name, data)
    return buf.getvalue()


def hostile_uploads() -> list[tuple[str, str, bytes]]:
    """(label, file name, bytes) of hostile uploads: traversal, bombs, entities, junk."""
    csv_body = b"latitude,longitude,name\n51.2,35.2,x\n"
    bomb = _zip([("submissions.csv", b"0" * (24 * 1024 * 1024))])  # ratio ~1000:1
    nested = _zip([("inner.zip", bomb)])
    return [
        ("zip traversal ../", "evil.zip", _zip([("../../../../tmp/evil.csv", csv_body)])),
        ("zip absolute path", "evil.zip", _zip([("/etc/cron.d/evil.csv", csv_body)])),
        ("zip backslash traversal", "evil.zip", _zip([("..\\..\\evil.csv", csv_body)])),
        ("shapefile zip traversal", "evil.shp.zip", _zip([("../x.shp", b"\0" * 100)])),
        ("zip bomb", "bomb.zip", bomb),
        ("nested zip bomb", "nested.zip", nested),
        ("kml external entity", "xxe.kml", XXE_KML),
        ("kml billion laughs", "laughs.kml", LAUGHS_KML),
        ("kmz with entity", "xxe.kmz", _zip([("doc.kml", XXE_KML)])),
        ("empty file", "empty.geojson", b""),
        ("binary as json", "x.json", bytes(range(256)) * 4),
        ("name with traversal", "../../../etc/passwd", csv_body),
        ("name with NUL", "a\x00b.csv", csv_body),
    ]


@quiet_access_log
def fuzz_uploads(store: Store, cases: int, *, seed_value: int = 0) -> FuzzStats:
    """``POST /api/v1/imports`` with hostile files (every case of :func:`hostile_uploads`, then
    damaged fixture files as in :func:`fuzz_import`), dry runs and real imports, as an operator
    and an IM officer. Never a 5xx; every refusal is the JSON error shape with a message; a
    refused or rejected file adds no report; afterwards ``recompute --check`` passes."""

    from tests.reliability.killing import consistency_problems

    client, accounts = _api_setup(store)
    stats = FuzzStats()
    files = [(p.name, p.read_bytes(), import_args(p)) for p in _fixture_files()]
    hostile = hostile_uploads()

    def post(
        label: str,
        name: str,
        data: bytes,
        *,
        who: str,
        dry_run: bool,
        args: dict[str, str] | None = None,
        words: str = "",
    ) -> None:
        before = _counts(store)[:3]  # report, report_event, audit... of the ledger
        fields = {"organisation": "ORG-A", "dry_run": "true" if dry_run else "false"}
        args = dict(args or {})
        parts = {"file": (name, data, "application/octet-stream")}
        if "mapping" in args:  # the column mapping is a file of its own
            parts["mapping"] = ("mapping.yaml", args.pop("mapping").encode(), "application/yaml")
        fields.update(args)
        resp = client.post(
            "/api/v1/imports",
            files=parts,
            data=fields,
            headers=accounts.headers(who),
        )
        stats.cases += 1
        if resp.status_code < 400:
            stats.accepted += 1
        else:
            stats.rejected += 1
        problem = error_shape_problem(resp)
        if resp.status_code >= 500:
            problem = f"{resp.status_code} {resp.text[:300]}"
        if not problem and words and (resp.status_code != 400 or words not in resp.text):
            problem = f"expected a 400 saying {words!r}: {resp.status_code} {resp.text[:200]}"
        if problem:
            stats.crashes.append(f"{label} ({name}, {who}): {problem}")
        if (dry_run or resp.status_code >= 400) and _counts(store)[0] != before[0]:
            stats.partial_writes.append(f"{label}: reports added by a dry run or refusal")

    for label, name, data in hostile:
        for who, dry in (("entry", True), ("im", False)):
            post(label, name, data, who=who, dry_run=dry)
            if name.endswith((".kml", ".kmz", ".geojson", ".shp.zip")):
                # with a form, so that the file is read: the XML entity tricks reach the parser
                words = "DTD or entities" if "entit" in label or "laughs" in label else ""
                post(
                    label, name, data, who=who, dry_run=dry, args={"form": "ma_hazard"}, words=words
                )
    # over the configured limit (1 MB here): 413 in the error shape, nothing read or written
    from mineaction.web.app import create_app

    small = type(client)(create_app(store.url, max_upload_mb=1), raise_server_exceptions=False)
    for size in (1024 * 1024 + 1, 3 * 1024 * 1024):
        before = _counts(store)[0]
        resp = small.post(
            "/api/v1/imports",
            files={"file": ("big.geojson", b" " * size, "application/geo+json")},
            data={"organisation": "ORG-A"},
            headers=accounts.headers("im"),
        )
        stats.cases += 1
        stats.rejected += resp.status_code >= 400
        if resp.status_code != 413 or error_shape_problem(resp):
            stats.crashes.append(
                f"{size} bytes over a 1 MB limit: {resp.status_code} {resp.text[:200]}"
            )
        if _counts(store)[0] != before:
            stats.partial_writes.append("an oversized upload wrote reports")
    small.close()
    small.app.state.store.dispose()

    @settings(
        max_examples=max(0, cases - stats.cases),
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.integers(min_value=0, max_value=2**32), st.binary(max_size=64))
    def case(r: int, junk: bytes) -> None:
        rng = random.Random(seed_value * 7 + r)
        name, data, args = rng.choice(files)
        buf = bytearray(data)
        how = rng.random()
        if how < 0.4 and buf:
            for _ in range(rng.randint(1, 8)):
                buf[rng.randrange(len(buf))] = rng.randrange(256)
        elif how < 0.7:
            buf = buf[: rng.randrange(len(buf) + 1)]
        elif how < 0.8:
            buf = bytearray(junk)
        post(
            f"damaged {name} ({how:.2f})",
            name,
            bytes(buf),
            who=rng.choice(("entry", "im")),
            dry_run=rng.random() < 0.5,
            args=args if rng.random() < 0.85 else {},
        )

    if cases > stats.cases:
        case()
    client.close()
    client.app.state.store.dispose()
    stats.partial_writes += consistency_problems(store)[:10]
    return stats
