"""User accounts, API tokens, web sessions and the audit log (use cases).

Passwords are hashed with argon2id. API tokens look like ``ma_<id>_<secret>``: the id finds
the row, only a SHA-256 of the secret is stored. Web sessions are server-side rows keyed by the
SHA-256 of a random id that travels in a signed cookie, so that logging out ends them.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, delete, insert, select, update

from mineaction.core.access import NEEDS_ORGANISATION, Role, Scope, parse_role, scope_for
from mineaction.core.cells import csv_row
from mineaction.core.codes import LANGUAGES
from mineaction.errors import (
    AuthenticationError,
    ConflictError,
    NotFoundError,
    StaleVersionError,
    ValidationError,
)
from mineaction.store import schema as s
from mineaction.store.engine import Store
from mineaction.store.reference import organisation_codes
from mineaction.store.reports import audit, now

_hasher = PasswordHasher()
_USERNAME = re.compile(r"^[A-Za-z0-9_.@\-]{1,100}$")
TOKEN_PREFIX = "ma_"
SESSION_HOURS = 12
MIN_PASSWORD = 10


@dataclass(frozen=True)
class User:
    """A signed-in (or anonymous) user: who, role and data scope."""

    username: str | None
    role: Role
    organisation: str | None = None
    admin_area: str | None = None
    display_name: str | None = None
    version: int = 0
    #: preferred interface language (None: the browser's Accept-Language)
    locale: str | None = None

    @property
    def scope(self) -> Scope:
        """Return the data this user may see."""
        return scope_for(self.role, self.organisation, self.admin_area)

    @property
    def is_anonymous(self) -> bool:
        """True for the anonymous public."""
        return self.username is None

    def to_dict(self) -> dict[str, Any]:
        """Return the public description of the user (no secrets)."""
        return {
            "username": self.username,
            "role": self.role.value,
            "organisation": self.organisation,
            "admin_area": self.admin_area,
            "display_name": self.display_name,
            "version": self.version,
        }


ANONYMOUS = User(None, Role.PUBLIC)


def _user(row: Any) -> User:
    return User(
        username=row["username"],
        role=Role(row["role"]),
        organisation=row["organisation"],
        admin_area=row["admin_area"],
        display_name=row["display_name"],
        version=int(row["version"]),
        locale=row.get("locale"),
    )


def hash_password(password: str) -> str:
    """Return the argon2id hash of a password."""
    return _hasher.hash(password)


def generate_password() -> str:
    """Return a new random password (about 100 bits, easy to type)."""
    return secrets.token_urlsafe(16)


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise ValidationError(f"password too short: use at least {MIN_PASSWORD} characters")


def _sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def check_locale(locale: str | None) -> str | None:
    """Return a preferred language (None: follow the browser) or raise :class:`ValidationError`."""
    if locale in (None, ""):
        return None
    if locale not in LANGUAGES:
        raise ValidationError(
            f"unknown language {locale!r}: use one of {', '.join(LANGUAGES)}", where="locale"
        )
    return locale


def _check_refs(conn: Connection, organisation: str | None, admin_area: str | None) -> None:
    """Refuse an organisation or admin area that is not registered (when any are)."""
    if organisation and organisation_codes(conn) and organisation not in organisation_codes(conn):
        raise ValidationError(
            f"organisation {organisation!r} is not registered: add it first or pick another",
            where="organisation",
        )
    if admin_area:
        loc = s.location
        has_locations = conn.execute(select(loc.c.pcode).limit(1)).first() is not None
        if (
            has_locations
            and not conn.execute(select(loc.c.pcode).where(loc.c.pcode == admin_area)).first()
        ):
            raise ValidationError(
                f"no admin area with P-code {admin_area!r}: use a registered P-code",
                where="admin_area",
            )


# --- users -----------------------------------------------------------------------------------


def add_user(
    store: Store,
    username: str,
    *,
    role: str,
    password: str,
    organisation: str | None = None,
    admin_area: str | None = None,
    display_name: str | None = None,
    locale: str | None = None,
    actor: str | None = None,
) -> User:
    """Create an account; operator roles need an organisation."""
    if not _USERNAME.match(username):
        raise ValidationError(
            f"invalid user name {username!r}: use 1-100 letters, digits, '_', '.', '@' or '-'"
        )
    try:
        r = parse_role(role)
    except ValueError as exc:
        raise ValidationError(str(exc)) from None
    if r == Role.PUBLIC:
        raise ValidationError("'public' is the anonymous role; it cannot be given to an account")
    if r in NEEDS_ORGANISATION and not organisation:
        raise ValidationError(
            f"a user with role {r.value} needs an organisation", where="organisation"
        )
    _check_password(password)
    locale = check_locale(locale)
    at = now()
    with store.write() as conn:
        _check_refs(conn, organisation, admin_area)
        if conn.execute(
            select(s.app_user.c.username).where(s.app_user.c.username == username)
        ).first():
            raise ConflictError(f"user {username!r} already exists")
        conn.execute(
            insert(s.app_user).values(
                username=username,
                display_name=display_name,
                role=r.value,
                organisation=organisation or None,
                admin_area=admin_area or None,
                password_hash=hash_password(password),
                disabled=False,
                created_at=at,
                updated_at=at,
                version=1,
                locale=locale,
            )
        )
        audit(
            conn,
            actor=actor,
            action="create",
            entity="user",
            entity_id=username,
            details={
                "role": r.value,
                "organisation": organisation,
                "admin_area": admin_area,
                "locale": locale,
            },
        )
    return User(username, r, organisation or None, admin_area or None, display_name, 1, locale)


def list_users(store: Store) -> list[dict[str, Any]]:
    """Return every account (no secrets), by name."""
    u = s.app_user
    cols = [c for c in u.c if c.name != "password_hash"]
    with store.read() as conn:
        rows = conn.execute(select(*cols).order_by(u.c.username)).mappings().all()
    return [_user_dict(r) for r in rows]


def _user_dict(r: Any) -> dict[str, Any]:
    return {
        "username": r["username"],
        "display_name": r["display_name"],
        "role": r["role"],
        "organisation": r["organisation"],
        "admin_area": r["admin_area"],
        "disabled": bool(r["disabled"]),
        "created_at": r["created_at"].isoformat() if r["created_at"] else None,
        "last_login_at": r["last_login_at"].isoformat() if r["last_login_at"] else None,
        "version": int(r["version"]),
        "locale": r.get("locale"),
    }


def get_user(store: Store, username: str) -> dict[str, Any]:
    """Return one account (no secrets) or raise :class:`NotFoundError`."""
    with store.read() as conn:
        row = (
            conn.execute(select(s.app_user).where(s.app_user.c.username == username))
            .mappings()
            .first()
        )
    if row is None:
        raise NotFoundError(f"no user {username!r}: see `mineaction users list`")
    return _user_dict(row)


def update_user(
    store: Store,
    username: str,
    changes: dict[str, Any],
    *,
    expected_version: int | None,
    actor: str | None = None,
) -> dict[str, Any]:
    """Change role, organisation, admin area, display name, language or disabled (versioned)."""
    allowed = {"role", "organisation", "admin_area", "display_name", "disabled", "locale"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationError(
            f"cannot change {', '.join(sorted(unknown))}: only {', '.join(sorted(allowed))}"
        )
    if "role" in changes:
        try:
            if parse_role(changes["role"]) == Role.PUBLIC:
                raise ValueError("'public' cannot be given to an account")
        except ValueError as exc:
            raise ValidationError(str(exc), where="role") from None
    if "locale" in changes:
        changes = {**changes, "locale": check_locale(changes["locale"])}
    for key in ("organisation", "admin_area", "display_name"):
        if key in changes and not changes[key]:
            changes = {**changes, key: None}
    u = s.app_user
    with store.write() as conn:
        row = conn.execute(select(u).where(u.c.username == username)).mappings().first()
        if row is None:
            raise NotFoundError(f"no user {username!r}")
        if expected_version is not None and int(row["version"]) != expected_version:
            raise StaleVersionError(
                f"user {username!r} is at version {row['version']}, not {expected_version}: "
                "reload it and apply your change again"
            )
        merged = {**dict(row), **changes}
        if Role(merged["role"]) in NEEDS_ORGANISATION and not merged["organisation"]:
            raise ValidationError(
                f"a user with role {merged['role']} needs an organisation", where="organisation"
            )
        _check_refs(conn, changes.get("organisation"), changes.get("admin_area"))
        result = conn.execute(
            update(u)
            .where(u.c.username == username, u.c.version == row["version"])
            .values(**changes, updated_at=now(), version=u.c.version + 1)
        )
        if result.rowcount != 1:
            raise StaleVersionError(f"user {username!r} changed meanwhile: reload it")
        if changes.get("disabled"):
            conn.execute(delete(s.web_session).where(s.web_session.c.username == username))
        audit(
            conn, actor=actor, action="update", entity="user", entity_id=username, details=changes
        )
        new = conn.execute(select(u).where(u.c.username == username)).mappings().one()
    return _user_dict(new)


def disable_user(store: Store, username: str, *, actor: str | None = None) -> None:
    """Disable an account: its sessions end and its tokens stop working."""
    if actor is not None and actor == username:
        raise ConflictError("you cannot disable your own account: ask another administrator")
    update_user(store, username, {"disabled": True}, expected_version=None, actor=actor)


def enable_user(store: Store, username: str, *, actor: str | None = None) -> None:
    """Enable a disabled account again (its old sessions stay ended)."""
    update_user(store, username, {"disabled": False}, expected_version=None, actor=actor)


def set_locale(
    store: Store, username: str, locale: str | None, *, actor: str | None = None
) -> None:
    """Set a user's preferred interface language (None: follow the browser)."""
    update_user(store, username, {"locale": locale}, expected_version=None, actor=actor)


def reset_password(store: Store, username: str, *, actor: str | None = None) -> str:
    """Give a user a new generated password and return it (to be shown once, never stored)."""
    password = generate_password()
    set_password(store, username, password, actor=actor)
    return password


def set_password(store: Store, username: str, password: str, *, actor: str | None = None) -> None:
    """Set a new password (existing web sessions of the user end)."""
    _check_password(password)
    with store.write() as conn:
        result = conn.execute(
            update(s.app_user)
            .where(s.app_user.c.username == username)
            .values(password_hash=hash_password(password), updated_at=now())
        )
        if result.rowcount != 1:
            raise NotFoundError(f"no user {username!r}")
        conn.execute(delete(s.web_session).where(s.web_session.c.username == username))
        audit(conn, actor=actor, action="set_password", entity="user", entity_id=username)


_DUMMY_HASH = _hasher.hash("not-a-real-password-0")


def authenticate_password(store: Store, username: str, password: str) -> User:
    """Return the user if the password is right; raise :class:`AuthenticationError` if not."""
    with store.read() as conn:
        row = (
            conn.execute(select(s.app_user).where(s.app_user.c.username == username))
            .mappings()
            .first()
        )
    stored = row["password_hash"] if row is not None and row["password_hash"] else _DUMMY_HASH
    try:
        ok: bool = _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok or row is None or row["disabled"]:
        raise AuthenticationError("wrong user name or password")
    if _hasher.check_needs_rehash(stored):
        with store.write() as conn:
            conn.execute(
                update(s.app_user)
                .where(s.app_user.c.username == username)
                .values(password_hash=hash_password(password))
            )
    return _user(row)


# --- API tokens ------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewToken:
    """A freshly created token: the secret is shown once and never stored."""

    token_id: str
    token: str
    username: str
    expires_at: datetime | None


def create_token(
    store: Store,
    username: str,
    *,
    name: str | None = None,
    days: int | None = None,
    actor: str | None = None,
) -> NewToken:
    """Create an API token for a user (Bearer, or HTTP Basic with the user name)."""
    token_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(24)
    at = now()
    expires = at + timedelta(days=days) if days else None
    with store.write() as conn:
        row = (
            conn.execute(select(s.app_user).where(s.app_user.c.username == username))
            .mappings()
            .first()
        )
        if row is None:
            raise NotFoundError(f"no user {username!r}: create it with `mineaction users add`")
        if row["disabled"]:
            raise ConflictError(f"user {username!r} is disabled")
        conn.execute(
            insert(s.api_token).values(
                token_id=token_id,
                username=username,
                name=name,
                secret_hash=_sha(secret),
                created_at=at,
                expires_at=expires,
            )
        )
        audit(
            conn,
            actor=actor or username,
            action="create",
            entity="api_token",
            entity_id=token_id,
            details={"username": username, "name": name},
        )
    return NewToken(token_id, f"{TOKEN_PREFIX}{token_id}_{secret}", username, expires)


def list_tokens(store: Store, username: str | None = None) -> list[dict[str, Any]]:
    """Return tokens (without secrets), newest first."""
    t = s.api_token
    q = select(*[c for c in t.c if c.name != "secret_hash"]).order_by(t.c.created_at.desc())
    if username:
        q = q.where(t.c.username == username)
    with store.read() as conn:
        rows = conn.execute(q).mappings().all()
    return [
        {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in dict(r).items()}
        for r in rows
    ]


def revoke_token(store: Store, token_id: str, *, actor: str | None = None) -> None:
    """Revoke a token (by id, or the whole token string)."""
    if token_id.startswith(TOKEN_PREFIX):
        token_id = token_id[len(TOKEN_PREFIX) :].split("_", 1)[0]
    with store.write() as conn:
        result = conn.execute(
            update(s.api_token)
            .where(s.api_token.c.token_id == token_id, s.api_token.c.revoked_at.is_(None))
            .values(revoked_at=now())
        )
        if result.rowcount != 1:
            raise NotFoundError(f"no active token {token_id!r}: see `mineaction tokens list`")
        audit(conn, actor=actor, action="revoke", entity="api_token", entity_id=token_id)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=now().tzinfo)


def authenticate_token(store: Store, token: str, *, username: str | None = None) -> User:
    """Return the owner of a valid token (checking ``username`` too when given)."""
    parts = token.strip().split("_", 2)
    if len(parts) != 3 or f"{parts[0]}_" != TOKEN_PREFIX:
        raise AuthenticationError("malformed API token: it looks like ma_<id>_<secret>")
    _, token_id, secret = parts
    t, u = s.api_token, s.app_user
    q = (
        select(t.c.secret_hash, t.c.expires_at, t.c.revoked_at, u)
        .join(u, u.c.username == t.c.username)
        .where(t.c.token_id == token_id)
    )
    with store.read() as conn:
        row = conn.execute(q).mappings().first()
    if row is None or not hmac.compare_digest(row["secret_hash"], _sha(secret)):
        raise AuthenticationError("unknown or wrong API token")
    if row["revoked_at"] is not None:
        raise AuthenticationError("this API token was revoked: create a new one")
    if row["expires_at"] is not None and _aware(row["expires_at"]) < now():
        raise AuthenticationError("this API token has expired: create a new one")
    if row["disabled"]:
        raise AuthenticationError(f"user {row['username']!r} is disabled")
    if username is not None and username != row["username"]:
        raise AuthenticationError("this API token belongs to another user")
    return _user(row)


# --- web sessions ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Session:
    """A web session: the id goes in the (signed) cookie, the CSRF token in forms."""

    session_id: str
    csrf_token: str
    user: User
    expires_at: datetime


def start_session(
    store: Store, user: User, *, remote: str | None = None, user_agent: str | None = None
) -> Session:
    """Open a web session for a user who has just signed in."""
    assert user.username is not None
    sid = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(24)
    at = now()
    expires = at + timedelta(hours=SESSION_HOURS)
    with store.write() as conn:
        conn.execute(delete(s.web_session).where(s.web_session.c.expires_at < at))
        conn.execute(
            insert(s.web_session).values(
                session_hash=_sha(sid),
                username=user.username,
                csrf_token=csrf,
                created_at=at,
                expires_at=expires,
                remote=remote,
                user_agent=(user_agent or "")[:300] or None,
            )
        )
        conn.execute(
            update(s.app_user)
            .where(s.app_user.c.username == user.username)
            .values(last_login_at=at)
        )
        audit(
            conn,
            actor=user.username,
            action="login",
            entity="user",
            entity_id=user.username,
            remote=remote,
        )
    return Session(sid, csrf, user, expires)


def get_session(store: Store, session_id: str) -> Session | None:
    """Return the live session with this id, or None (expired, ended, user disabled)."""
    w, u = s.web_session, s.app_user
    q = (
        select(w.c.csrf_token, w.c.expires_at, u)
        .join(u, u.c.username == w.c.username)
        .where(w.c.session_hash == _sha(session_id))
    )
    with store.read() as conn:
        row = conn.execute(q).mappings().first()
    if row is None or row["disabled"] or _aware(row["expires_at"]) < now():
        return None
    return Session(session_id, row["csrf_token"], _user(row), _aware(row["expires_at"]))


def end_session(store: Store, session_id: str, *, remote: str | None = None) -> None:
    """End a web session (log out)."""
    with store.write() as conn:
        row = conn.execute(
            select(s.web_session.c.username).where(s.web_session.c.session_hash == _sha(session_id))
        ).first()
        conn.execute(delete(s.web_session).where(s.web_session.c.session_hash == _sha(session_id)))
        if row is not None:
            audit(
                conn, actor=row[0], action="logout", entity="user", entity_id=row[0], remote=remote
            )


# --- audit log -------------------------------------------------------------------------------

AUDIT_FIELDS = ("id", "at", "actor", "action", "entity", "entity_id", "remote", "details")


def list_audit(
    store: Store,
    *,
    actor: str | None = None,
    entity: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int | None = 100,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Return audit log lines, newest first, matching the filters."""
    a = s.audit_log
    q = select(a).order_by(a.c.id.desc()).offset(offset)
    if limit is not None:
        q = q.limit(limit)
    if actor:
        q = q.where(a.c.actor == actor)
    if entity:
        q = q.where(a.c.entity == entity)
    if action:
        q = q.where(a.c.action == action)
    if since:
        q = q.where(a.c.at >= since)
    if until:
        q = q.where(a.c.at < until)
    with store.read() as conn:
        rows = conn.execute(q).mappings().all()
    return [{**dict(r), "at": r["at"].isoformat()} for r in rows]


def audit_csv(rows: Iterable[dict[str, Any]]) -> str:
    """Return audit lines as CSV (details as JSON text; formula-like text neutralised)."""
    import orjson

    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(AUDIT_FIELDS)
    for r in rows:
        details = r.get("details")
        w.writerow(
            csv_row(
                [
                    *(r.get(f) for f in AUDIT_FIELDS[:-1]),
                    orjson.dumps(details).decode() if details is not None else "",
                ]
            )
        )
    return buf.getvalue()


def record(
    conn: Connection,
    user: User,
    action: str,
    entity: str,
    entity_id: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Append an audit line for something a user did (remote address from the request)."""
    audit(
        conn,
        actor=user.username,
        action=action,
        entity=entity,
        entity_id=entity_id,
        details=details,
    )


def record_read(
    store: Store,
    user: User,
    entity: str,
    entity_id: str | None,
    details: dict[str, Any] | None = None,
) -> None:
    """Audit a read of personal data (e.g. victims)."""
    with store.write() as conn:
        record(conn, user, "read", entity, entity_id, details)
