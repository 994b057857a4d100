"""Hostile input: fuzz report submission and every importer with hypothesis.

Every case must end in success or a :class:`MineActionError` with a message (a rejection that
says what is wrong); any other exception is a crash. A rejected case must leave the database as
it was (no partial data). Used by tests/reliability/test_hostile.py (few cases) and
``python tests/reliability/run_fuzz.py`` (>= 10,000 cases).
"""

from __future__ import annotations

import copy
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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

    def as_dict(self) -> dict[str, Any]:
        """Figures as JSON-able data."""
        return {
            "cases": self.cases,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "crashes": self.crashes[:10],
            "partial_writes": self.partial_writes[:10],
        }


TABLES = (s.report, s.report_event, s.audit_log, s.quarantine, s.import_batch, s.hazard)


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


def fuzz_import(store: Store, cases: int, *, seed: int = 0) -> FuzzStats:
    """Import damaged fixture files (bit flips, cuts, splices, random bytes) under any name."""
    stats = FuzzStats()
    files = [(p.name, p.read_bytes()) for p in _fixture_files()]
    names = [n for n, _ in files] + ["x.kml", "x.geojson", "x.zip", "x.csv", "x.xlsx", "x.json"]

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
        name, data = rng.choice(files)
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
            importing.import_bytes(store, payload, name, organisation="FSD", actor="fuzz")

        _one(store, stats, f"import {name} ({how:.2f}, {len(payload)} bytes)", call)

    case()
    return stats


def fuzz_api(
    store: Store, per_operation: int, *, users: tuple[str, ...] = ("admin", "entry")
) -> FuzzStats:
    """Schemathesis on every API operation (as each user): no 5xx, documented answers.

    ``store`` must be empty: the two-organisation programme of tests/api/seed.py is loaded.
    """
    import warnings

    import schemathesis
    from hypothesis import Phase
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        status_code_conformance,
    )
    from tests.api.conftest import Accounts
    from tests.api.seed import seed

    from mineaction.web.app import create_app

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

        accounts = Accounts(seed(store))
        client = TestClient(create_app(store.url))
        schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)
    import logging

    logging.getLogger("mineaction.access").setLevel(logging.WARNING)  # one line per case
    stats = FuzzStats()
    checks = [not_a_server_error, status_code_conformance, content_type_conformance]
    for who in users:
        headers = accounts.headers(who)
        for result in schema.get_all_operations():
            op = result.ok()
            key = f"{op.method.upper()} {op.path}"
            if key == "POST /api/v1/auth/login":  # rate limited by design
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

            try:
                run()
            except Exception as exc:
                stats.crashes.append(f"{who} {key}: {str(exc)[:400]}")
    checked = ledger.check(store)
    stats.partial_writes += checked.differences[:10] + checked.errors[:10]
    return stats
