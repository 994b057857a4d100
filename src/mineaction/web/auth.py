"""Authentication and authorization for every route: sessions, tokens, CSRF, the policy.

Three ways to sign in, tried in this order:

- ``Authorization: Bearer ma_<id>_<secret>`` (API token; scripts);
- ``Authorization: Basic`` with user name and an API token as password (GIS clients: QGIS, GDAL);
- the ``mineaction_session`` cookie (web pages), signed with the app's secret key; forms and
  other unsafe requests made with a session must carry its CSRF token (form field
  ``csrf_token`` or header ``X-CSRF-Token``).

Without credentials the caller is the anonymous ``public`` role. :func:`current_user` resolves
the caller and enforces :data:`mineaction.web.policy.POLICY` for the matched route; it runs for
every route (it is a global dependency of the app) and handlers declare it again to get the user::

    @router.get("/things/{thing_id}")
    def show(thing_id: str, user: User = Depends(current_user)) -> dict: ...
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
import threading
import time
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool

from mineaction.errors import (
    AuthenticationError,
    MineActionError,
    PermissionDeniedError,
    TooManyRequestsError,
    ValidationError,
)
from mineaction.services import users as svc
from mineaction.services.users import ANONYMOUS, Session, User
from mineaction.store import loginlimits
from mineaction.store.engine import Store
from mineaction.store.reports import audit_remote
from mineaction.store.settings import get_setting, set_setting
from mineaction.web.policy import POLICY, Access

SESSION_COOKIE = "mineaction_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
TOKEN_CACHE_SECONDS = 10.0


class PolicyMissingError(PermissionDeniedError):
    """A route has no entry in the access policy: refused until one is declared."""

    code = "no_policy"


def secret_key(store: Store) -> str:
    """Return the key that signs cookies: ``MINEACTION_SECRET_KEY`` or one kept in the database."""
    env = os.environ.get("MINEACTION_SECRET_KEY")
    if env:
        return env
    with store.read() as conn:
        value = get_setting(conn, "secret_key")
    if value:
        return str(value)
    with store.write() as conn:
        value = get_setting(conn, "secret_key")
        if not value:
            value = secrets.token_urlsafe(48)
            set_setting(conn, "secret_key", value)
    return str(value)


class RateLimiter:
    """Count failures per key in a sliding window; refuse once a key has too many.

    The failures live in the database (table ``login_failure``), so every server process and
    worker on the same database shares them: ``--workers 4`` does not give four times the
    attempts. ``clock`` is wall-clock Unix time (comparable across processes).
    """

    def __init__(
        self, store: Store, limit: int, window_s: float, clock: Callable[[], float] = time.time
    ) -> None:
        self.store = store
        self.limit = limit
        self.window_s = window_s
        self.clock = clock

    def check(self, key: str) -> None:
        """Raise :class:`TooManyRequestsError` when ``key`` has used up its failures."""
        t = self.clock()
        with self.store.read() as conn:
            count, oldest = loginlimits.failures_since(conn, key, t - self.window_s)
        if count >= self.limit:
            raise self._refusal(oldest, t)

    def _refusal(self, oldest: float | None, t: float) -> TooManyRequestsError:
        wait = int((oldest if oldest is not None else t) + self.window_s - t) + 1
        return TooManyRequestsError(
            f"too many failed attempts: try again in {wait} s", details={"retry_after": wait}
        )

    def take(self, conn: Connection, key: str, t: float) -> int:
        """Record an attempt of ``key`` as a failure, or raise 429 if it has none left (atomic).

        Runs in the caller's write transaction; returns the recorded row's id, which
        :func:`mineaction.store.loginlimits.remove_failure` forgets if the attempt succeeds.
        """
        got = loginlimits.add_failure_below(conn, key, t, self.window_s, self.limit)
        if got is None:
            _count, oldest = loginlimits.failures_since(conn, key, t - self.window_s)
            raise self._refusal(oldest, t)
        return got

    def hit(self, key: str) -> None:
        """Record one failure of ``key``; raise 429 instead if it had none left (atomic)."""
        t = self.clock()
        with self.store.write() as conn:
            self.take(conn, key, t)

    def fail(self, key: str) -> None:
        """Record one failure for ``key``."""
        with self.store.write() as conn:
            loginlimits.add_failure(conn, key, self.clock(), self.window_s)

    def reset(self, key: str) -> None:
        """Forget the failures of ``key`` (after a success)."""
        with self.store.write() as conn:
            loginlimits.clear_failures(conn, key)


class Auth:
    """The app's authentication state: store, signer, limiters and a short token cache."""

    def __init__(self, store: Store, *, secure_cookies: bool | None = None) -> None:
        self.store = store
        self.signer = URLSafeTimedSerializer(secret_key(store), salt="mineaction-session")
        self.secure_cookies = secure_cookies
        #: failed logins per user name (5 per 15 min) and per remote address (30 per 15 min)
        self.user_limiter = RateLimiter(store, 5, 900)
        self.remote_limiter = RateLimiter(store, 30, 900)
        self._tokens: dict[str, tuple[float, User]] = {}
        self._lock = threading.Lock()

    # --- tokens ---------------------------------------------------------------------------

    def cached_user(self, token: str, username: str | None) -> User | None:
        """Return the owner of a token looked up less than a few seconds ago, else None."""
        with self._lock:
            hit = self._tokens.get(f"{username or ''}\0{token}")
        if hit is not None and time.monotonic() - hit[0] < TOKEN_CACHE_SECONDS:
            return hit[1]
        return None

    def user_for_token(self, token: str, username: str | None) -> User:
        """Return the owner of a token (cached for a few seconds)."""
        key = f"{username or ''}\0{token}"
        t = time.monotonic()
        hit = self.cached_user(token, username)
        if hit is not None:
            return hit
        user = svc.authenticate_token(self.store, token, username=username)
        with self._lock:
            if len(self._tokens) > 10_000:
                self._tokens.clear()
            self._tokens[key] = (t, user)
        return user

    def forget_tokens(self) -> None:
        """Drop cached token look-ups (after a revocation or a user change)."""
        with self._lock:
            self._tokens.clear()

    # --- sessions -------------------------------------------------------------------------

    def session_from_cookie(self, value: str) -> Session | None:
        """Return the live session named by a signed cookie value."""
        try:
            sid = self.signer.loads(value, max_age=svc.SESSION_HOURS * 3600)
        except BadSignature:
            return None
        return svc.get_session(self.store, str(sid))

    def cookie_secure(self, request: Request) -> bool:
        """Whether to mark cookies ``Secure`` (always behind HTTPS, or when configured)."""
        if self.secure_cookies is not None:
            return self.secure_cookies
        return request.url.scheme == "https"


def get_auth(request: Request) -> Auth:
    """Return the app's :class:`Auth`."""
    auth: Auth = request.app.state.auth
    return auth


def remote_address(request: Request) -> str | None:
    """Return the caller's address (the proxy's view when behind ``--proxy-headers``)."""
    return request.client.host if request.client else None


def _credentials(request: Request, auth: Auth) -> tuple[User, Session | None, str]:
    header = request.headers.get("authorization")
    if header:
        scheme, _, value = header.partition(" ")
        scheme = scheme.lower()
        if scheme == "bearer":
            return auth.user_for_token(value.strip(), None), None, "token"
        if scheme == "basic":
            try:
                raw = base64.b64decode(value.strip(), validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                raise AuthenticationError("malformed HTTP Basic credentials") from None
            name, sep, token = raw.partition(":")
            if not sep:
                raise AuthenticationError("malformed HTTP Basic credentials")
            return auth.user_for_token(token, name), None, "basic"
        raise AuthenticationError(
            f"unsupported Authorization scheme {scheme!r}: use Bearer TOKEN or Basic user:token"
        )
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        session = auth.session_from_cookie(cookie)
        if session is not None:
            return session.user, session, "session"
    return ANONYMOUS, None, "anonymous"


def known_user(request: Request) -> User | None:
    """Return who sent a request no route handled (for its error page), or None; never raises."""
    cached: User | None = getattr(request.state, "user", None)
    if cached is not None:
        return cached
    try:
        return _credentials(request, get_auth(request))[0]
    except MineActionError:
        return None


def _cached_credentials(request: Request, auth: Auth) -> tuple[User, str] | None:
    """Return the caller of a token header already in the token cache (no database, no thread).

    None when there is no token header, it is malformed or not cached: :func:`_credentials`
    decides then (in a worker thread, as it may read the database).
    """
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    scheme = scheme.lower()
    user: User | None = None
    if scheme == "bearer":
        user, via = auth.cached_user(value.strip(), None), "token"
    elif scheme == "basic":
        try:
            raw = base64.b64decode(value.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        name, sep, token = raw.partition(":")
        user, via = (auth.cached_user(token, name) if sep else None), "basic"
    return None if user is None else (user, via)


def route_key(request: Request) -> str | None:
    """Return ``"METHOD /path/{param}"`` of the matched route (the policy key)."""
    route = request.scope.get("route")
    path = getattr(route, "path_format", None) or getattr(route, "path", None)
    return f"{request.method} {path}" if path else None


def policy_for(request: Request) -> Access:
    """Return the declared access of the matched route or raise :class:`PolicyMissingError`."""
    key = route_key(request)
    policies: dict[str, Access] = getattr(request.app.state, "policy", POLICY)
    access = policies.get(key or "")
    if access is None:
        raise PolicyMissingError(
            f"no access policy for {key}: declare it in mineaction.web.policy.POLICY"
        )
    return access


async def _check_csrf(request: Request, session: Session) -> None:
    token = request.headers.get(CSRF_HEADER)
    ctype = request.headers.get("content-type", "")
    if token is None and (
        ctype.startswith("application/x-www-form-urlencoded")
        or ctype.startswith("multipart/form-data")
    ):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        token = value if isinstance(value, str) else None
    if not token or not secrets.compare_digest(token, session.csrf_token):
        raise PermissionDeniedError(
            "missing or wrong CSRF token: reload the page and submit the form again",
            details={"field": CSRF_FIELD},
        )


async def current_user(request: Request) -> User:
    """Return the caller (anonymous ``public`` without credentials) after checking the policy.

    Raises 401 when credentials are wrong or the route needs a signed-in user, 403 when the
    role may not call the route or the CSRF token of a session is missing, 429 after too many
    failures from the same address.
    """
    cached: User | None = getattr(request.state, "user", None)
    if cached is not None:
        return cached
    if "\x00" in request.url.path or "%00" in request.url.query:
        raise ValidationError("NUL characters are not allowed in URLs")
    auth = get_auth(request)
    remote = remote_address(request)
    audit_remote.set(remote)
    access = policy_for(request)
    key = f"remote:{remote}"
    known = _cached_credentials(request, auth)
    try:
        if known is not None:
            (user, via), session = known, None
        else:
            user, session, via = await run_in_threadpool(_credentials, request, auth)
    except AuthenticationError:
        # a wrong token counts against the address: recorded, or 429 once the address has
        # used up its failures (one atomic statement: racing requests get no extra tries)
        await run_in_threadpool(auth.remote_limiter.hit, key)
        raise
    request.state.user = user
    request.state.session = session
    request.state.auth_via = via
    if not access.allows(user.role):
        if user.is_anonymous:
            raise AuthenticationError("sign in first: this needs a user account or an API token")
        raise PermissionDeniedError(
            f"role {user.role.value} may not do this ({route_key(request)})"
        )
    if session is not None and request.method not in SAFE_METHODS:
        await _check_csrf(request, session)
    return user


def csrf_token(request: Request) -> str | None:
    """Return the CSRF token of the caller's web session (put it in forms as ``csrf_token``)."""
    session: Session | None = getattr(request.state, "session", None)
    return session.csrf_token if session is not None else None


def login(request: Request, response: Response, username: str, password: str) -> Session:
    """Check a password (rate limited), open a web session and set its cookie on ``response``."""
    auth = get_auth(request)
    remote = remote_address(request)
    ukey, rkey = f"user:{username.lower()}", f"remote:{remote}"
    # Take an attempt from both limits before checking the password, atomically (one
    # conditional insert each, in one write transaction): racing requests and processes
    # cannot get more tries than the limits. It is recorded as a failure; a success forgets it.
    t = auth.user_limiter.clock()
    with auth.store.write() as conn:
        auth.user_limiter.take(conn, ukey, t)
        remote_attempt = auth.remote_limiter.take(conn, rkey, t)
    try:
        user = svc.authenticate_password(auth.store, username, password)
    except AuthenticationError:
        raise  # the attempt stays recorded as a failure
    with auth.store.write() as conn:
        loginlimits.clear_failures(conn, ukey)
        loginlimits.remove_failure(conn, remote_attempt)
    session = svc.start_session(
        auth.store, user, remote=remote, user_agent=request.headers.get("user-agent")
    )
    response.set_cookie(
        SESSION_COOKIE,
        auth.signer.dumps(session.session_id),
        max_age=svc.SESSION_HOURS * 3600,
        httponly=True,
        secure=auth.cookie_secure(request),
        samesite="lax",
        path="/",
    )
    request.state.session = session
    request.state.user = user
    return session


def logout(request: Request, response: Response) -> None:
    """End the caller's web session and clear its cookie."""
    auth = get_auth(request)
    session: Session | None = getattr(request.state, "session", None)
    if session is not None:
        svc.end_session(auth.store, session.session_id, remote=remote_address(request))
    response.delete_cookie(SESSION_COOKIE, path="/")


def error_headers(exc: MineActionError) -> dict[str, str]:
    """Return extra response headers for an error (WWW-Authenticate, Retry-After)."""
    headers: dict[str, str] = {}
    if isinstance(exc, AuthenticationError):
        headers["WWW-Authenticate"] = 'Basic realm="mineaction", charset="UTF-8"'
    if isinstance(exc, TooManyRequestsError) and isinstance(exc.details, dict):
        headers["Retry-After"] = str(exc.details.get("retry_after", 60))
    return headers


def require(user: User, allowed: Any) -> None:
    """Raise 403 unless ``user``'s role is in ``allowed`` (for finer checks inside a handler)."""
    if user.role not in allowed:
        raise PermissionDeniedError(f"role {user.role.value} may not do this")


#: Handler parameter type for the signed-in caller: ``user: CurrentUser``.
CurrentUser = Annotated[User, Depends(current_user)]
