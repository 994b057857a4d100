"""Sign-in: passwords, sessions with CSRF, API tokens (Bearer, Basic), rate limiting, audit."""

from __future__ import annotations

import base64
import threading
from typing import Any, get_args

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from tests.api.seed import PASSWORD, Accounts

from mineaction.api.users import Language
from mineaction.services import users
from mineaction.store.engine import Store
from mineaction.web.app import create_app
from mineaction.web.i18n import LANGUAGES
from mineaction.web.policy import POLICY, route_keys


def test_anonymous_is_public_and_protected_routes_need_sign_in(client: TestClient) -> None:
    me = client.get("/api/v1/auth/me")
    assert me.status_code == 200 and me.json()["role"] == "public"
    r = client.get("/api/v1/users")
    assert r.status_code == 401
    assert r.json()["code"] == "unauthenticated"
    assert set(r.json()) == {"code", "message", "details"}
    assert r.headers["WWW-Authenticate"].startswith("Basic")


def test_bearer_and_basic_tokens(client: TestClient, accounts: Accounts) -> None:
    token = accounts.tokens["admin"]
    assert client.get("/api/v1/users", headers=accounts.headers("admin")).status_code == 200
    assert client.get("/api/v1/users", auth=("admin", token)).status_code == 200
    # the token of one user cannot be used under another name
    assert client.get("/api/v1/users", auth=("viewer", token)).status_code == 401
    bad = client.get("/api/v1/users", headers={"Authorization": "Bearer ma_nope_nope"})
    assert bad.status_code == 401
    junk = base64.b64encode(b"no-colon").decode()
    assert (
        client.get("/api/v1/users", headers={"Authorization": f"Basic {junk}"}).status_code == 401
    )


def test_role_is_enforced(client: TestClient, accounts: Accounts) -> None:
    r = client.get("/api/v1/users", headers=accounts.headers("viewer"))
    assert r.status_code == 403 and r.json()["code"] == "forbidden"


def test_revoked_token_and_disabled_user_stop_working(store: Store, accounts: Accounts) -> None:
    new = users.create_token(store, "ops")
    app = create_app(store.url)
    with TestClient(app) as c:
        h = {"Authorization": f"Bearer {new.token}"}
        assert c.get("/api/v1/auth/me", headers=h).json()["username"] == "ops"
        users.revoke_token(store, new.token_id)
        app.state.auth.forget_tokens()
        assert c.get("/api/v1/auth/me", headers=h).status_code == 401
        users.disable_user(store, "viewer")
        assert c.get("/api/v1/auth/me", headers=accounts.headers("viewer")).status_code == 401


def test_session_login_csrf_and_logout(client: TestClient, accounts: Accounts) -> None:
    r = client.post("/api/v1/auth/login", json={"username": "admin", "password": PASSWORD})
    assert r.status_code == 200
    csrf = r.json()["csrf_token"]
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
    assert client.get("/api/v1/users").status_code == 200
    body = {"username": "newbie", "role": "viewer"}
    # a write with the session but without the CSRF token is refused
    refused = client.post("/api/v1/users", json=body)
    assert refused.status_code == 403 and "CSRF" in refused.json()["message"]
    made = client.post("/api/v1/users", json=body, headers={"X-CSRF-Token": csrf})
    assert made.status_code == 201 and len(made.json()["password"]) >= 10
    # a form post carries the token as a field
    out = client.post("/api/v1/auth/logout", data={"csrf_token": csrf})
    assert out.status_code == 204
    assert client.get("/api/v1/users").status_code == 401


def test_login_is_rate_limited(client: TestClient, accounts: Accounts) -> None:
    for _ in range(5):
        r = client.post("/api/v1/auth/login", json={"username": "im", "password": "wrong!"})
        assert r.status_code == 401
    r = client.post("/api/v1/auth/login", json={"username": "im", "password": PASSWORD})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
    # other users are not locked out
    ok = client.post("/api/v1/auth/login", json={"username": "ops", "password": PASSWORD})
    assert ok.status_code == 200


def test_login_limits_are_shared_by_every_process(store: Store, accounts: Accounts) -> None:
    """Two apps on one database (two workers, two servers) share the failed-login count."""
    apps = [create_app(store.url), create_app(store.url)]
    try:
        with TestClient(apps[0]) as one, TestClient(apps[1]) as two:
            for i in range(5):
                c = (one, two)[i % 2]  # alternate between the workers
                r = c.post("/api/v1/auth/login", json={"username": "im", "password": "wrong"})
                assert r.status_code == 401
            for c in (one, two):
                r = c.post("/api/v1/auth/login", json={"username": "im", "password": PASSWORD})
                assert r.status_code == 429, r.text
            # a fresh worker started now (a restart) still refuses
            with TestClient(create_app(store.url)) as three:
                r = three.post("/api/v1/auth/login", json={"username": "im", "password": PASSWORD})
                assert r.status_code == 429
    finally:
        for app in apps:
            app.state.store.dispose()


def test_login_limit_window_slides_and_success_resets(store: Store) -> None:
    from mineaction.errors import TooManyRequestsError
    from mineaction.web.auth import RateLimiter

    now = [1_000_000.0]
    a = RateLimiter(store, 3, 60, clock=lambda: now[0])
    b = RateLimiter(store, 3, 60, clock=lambda: now[0])  # another process, same database
    for _ in range(3):
        a.check("user:x")
        b.fail("user:x")
        now[0] += 10
    with pytest.raises(TooManyRequestsError) as exc:
        a.check("user:x")
    # the oldest failure (30 s ago) leaves the 60 s window in 31 s
    assert exc.value.details == {"retry_after": 31}
    a.check("user:y")  # other keys are not affected
    now[0] += 31
    b.check("user:x")  # the oldest failure left the window
    a.fail("user:x")
    with pytest.raises(TooManyRequestsError):
        b.check("user:x")
    a.reset("user:x")
    b.check("user:x")


def _race(store: Store, attempt: Any, n: int) -> list[str]:
    """Run ``attempt(limiter)`` in ``n`` threads, each like its own process (own engine).

    Every thread reads the clock at the same moment (a barrier inside it), so a check and a
    record made as separate steps would all pass the check before anyone records.
    """
    from mineaction.errors import TooManyRequestsError
    from mineaction.web.auth import RateLimiter

    barrier = threading.Barrier(n)
    outcomes: list[str] = []
    lock = threading.Lock()

    def clock() -> float:
        barrier.wait(timeout=60)
        return 1_000_000.0

    def worker() -> None:
        own = Store(store.url)
        try:
            attempt(RateLimiter(own, 3, 60, clock=clock))
            got = "recorded"
        except TooManyRequestsError:
            got = "refused"
        except threading.BrokenBarrierError:
            got = "barrier"
        finally:
            own.dispose()
        with lock:
            outcomes.append(got)

    threads = [threading.Thread(target=worker) for _ in range(n)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=120)
    return sorted(outcomes)


def test_racing_failed_attempts_get_no_extra_tries(store: Store) -> None:
    """8 processes failing at once on a limit of 3: 3 recorded, 5 refused (both stores)."""
    from sqlalchemy import text

    outcomes = _race(store, lambda limiter: limiter.hit("user:racer"), 8)
    assert outcomes == ["recorded"] * 3 + ["refused"] * 5
    with store.read() as conn:
        n = conn.execute(text("SELECT count(*) FROM login_failure WHERE key = 'user:racer'"))
        assert n.scalar() == 3


def test_racing_password_attempts_get_no_extra_tries(store: Store, accounts: Accounts) -> None:
    """Concurrent wrong passwords for one user: only 5 are even checked, the rest get 429."""
    apps = [create_app(store.url) for _ in range(2)]
    barrier = threading.Barrier(10)
    codes: list[int] = []

    def worker(i: int) -> None:
        with TestClient(apps[i % 2]) as c:
            barrier.wait(timeout=60)
            r = c.post("/api/v1/auth/login", json={"username": "im", "password": "wrong"})
            codes.append(r.status_code)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(10)]
    try:
        for th in threads:
            th.start()
        for th in threads:
            th.join(timeout=120)
    finally:
        for app in apps:
            app.state.store.dispose()
    assert sorted(codes) == [401] * 5 + [429] * 5


def test_passwords_are_argon2_hashed(store: Store, accounts: Accounts) -> None:
    from sqlalchemy import select

    from mineaction.store import schema as s

    with store.read() as conn:
        hashed = conn.execute(
            select(s.app_user.c.password_hash).where(s.app_user.c.username == "admin")
        ).scalar()
    assert hashed.startswith("$argon2id$") and PASSWORD not in hashed


def test_writes_are_audited_with_remote_address(client: TestClient, accounts: Accounts) -> None:
    h = accounts.headers("admin")
    client.post("/api/v1/users", json={"username": "x1", "role": "viewer"}, headers=h)
    lines = client.get("/api/v1/audit", params={"entity": "user"}, headers=h).json()
    made = [ln for ln in lines if ln["entity_id"] == "x1"]
    assert made[0]["actor"] == "admin" and made[0]["action"] == "create"
    assert made[0]["remote"] == "testclient"
    csv = client.get("/api/v1/audit.csv", headers=h)
    assert csv.status_code == 200 and csv.text.splitlines()[0].startswith("id,at,actor")
    assert client.get("/api/v1/audit", headers=accounts.headers("im")).status_code == 403


def test_user_update_needs_if_match(client: TestClient, accounts: Accounts) -> None:
    h = accounts.headers("admin")
    r = client.get("/api/v1/users/viewer", headers=h)
    tag = r.headers["ETag"]
    missing = client.patch("/api/v1/users/viewer", json={"display_name": "V"}, headers=h)
    assert missing.status_code == 428
    first = client.patch(
        "/api/v1/users/viewer", json={"display_name": "V"}, headers={**h, "If-Match": tag}
    )
    assert first.status_code == 200 and first.headers["ETag"] != tag
    second = client.patch(
        "/api/v1/users/viewer", json={"display_name": "W"}, headers={**h, "If-Match": tag}
    )
    assert second.status_code == 412 and second.json()["code"] == "stale_version"


def test_admin_sets_a_users_language(client: TestClient, accounts: Accounts) -> None:
    assert get_args(Language) == tuple(LANGUAGES)  # the API accepts every interface language
    h = accounts.headers("admin")
    made = client.post(
        "/api/v1/users", json={"username": "lang1", "role": "viewer", "locale": "ru"}, headers=h
    )
    assert made.status_code == 201 and made.json()["locale"] == "ru"
    tag = client.get("/api/v1/users/lang1", headers=h).headers["ETag"]
    bad = client.patch("/api/v1/users/lang1", json={"locale": "de"}, headers={**h, "If-Match": tag})
    assert bad.status_code == 400 and "locale" in bad.text
    en = client.patch("/api/v1/users/lang1", json={"locale": "en"}, headers={**h, "If-Match": tag})
    assert en.status_code == 200 and en.json()["locale"] == "en"
    # null: follow the browser again
    browser = client.patch(
        "/api/v1/users/lang1", json={"locale": None}, headers={**h, "If-Match": en.headers["ETag"]}
    )
    assert browser.status_code == 200 and browser.json()["locale"] is None
    assert [
        u["locale"]
        for u in client.get("/api/v1/users", headers=h).json()
        if u["username"] == "lang1"
    ] == [None]
    # the account's language is what the web pages use
    client.patch(
        "/api/v1/users/lang1",
        json={"locale": "ru"},
        headers={**h, "If-Match": browser.headers["ETag"]},
    )
    token = client.post("/api/v1/users/lang1/tokens", json={}, headers=h).json()["token"]
    page = client.get("/", headers={"Authorization": f"Bearer {token}", "accept": "text/html"})
    assert page.status_code == 200 and '<html lang="ru"' in page.text
    audit = client.get("/api/v1/audit", params={"entity": "user"}, headers=h).json()
    assert {"locale": "ru"} in [ln["details"] for ln in audit if ln["entity_id"] == "lang1"]
    # only administrators change accounts (the authorization matrix covers every role)
    im = client.patch(
        "/api/v1/users/viewer",
        json={"locale": "ru"},
        headers={**accounts.headers("im"), "If-Match": "*"},
    )
    assert im.status_code == 403


def _app_routes(app: FastAPI) -> list[str]:
    return route_keys(app)


def test_every_route_has_a_policy_entry(store: Store) -> None:
    app = create_app(store.url)
    missing = [k for k in _app_routes(app) if k not in POLICY]
    assert not missing, f"routes without an access policy entry: {missing}"


def test_a_route_without_policy_is_refused(store: Store, accounts: Accounts) -> None:
    app = create_app(store.url)

    @app.get("/api/v1/forgotten")
    def forgotten() -> dict[str, str]:
        return {"secret": "data"}

    with TestClient(app) as c:
        r = c.get("/api/v1/forgotten", headers=accounts.headers("admin"))
    assert r.status_code == 403 and r.json()["code"] == "no_policy"
    assert "GET /api/v1/forgotten" in _app_routes(app)
    assert "GET /api/v1/forgotten" not in POLICY
