"""Administration pages: users (roles, scopes, language, passwords, API tokens), organisations,
code lists, and every user's own profile (interface language).

Server-rendered forms posting back with the session's CSRF token; the work is done by the
services (:mod:`mineaction.services.users`, :mod:`~mineaction.services.organisations`,
:mod:`~mineaction.services.codelists`), which validate and audit every write. A form with
problems is shown again with the values typed and a message at each field.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from mineaction.core import codes
from mineaction.core.access import Role
from mineaction.errors import MineActionError, StaleVersionError, ValidationError
from mineaction.services import codelists, organisations, users
from mineaction.store import schema as s
from mineaction.web.i18n import L_, LANGUAGES, LazyText
from mineaction.web.labels import code_list_label, org_kind_label
from mineaction.web.pages import LANG_COOKIE, CurrentUser, _store, at_render, env, render

router = APIRouter(include_in_schema=False)
env.filters.update(orgkind=at_render(org_kind_label), codelist=at_render(code_list_label))

#: Roles an administrator may give (the anonymous ``public`` is not an account).
ACCOUNT_ROLES = [r.value for r in Role if r != Role.PUBLIC]


def field_errors(exc: MineActionError) -> dict[str, str]:
    """Return ``{field: message}`` of an error from a service (``_`` for the whole form)."""
    if isinstance(exc, StaleVersionError):
        return {"_": stale_message()}
    details = exc.details if isinstance(exc.details, dict) else {}
    fields = details.get("fields")
    if isinstance(fields, dict) and fields:
        return {str(k): v if isinstance(v, str) else str(v) for k, v in fields.items()}
    return {exc.where or "_": exc.message}


def stale_message() -> LazyText:
    """The message of a form saved over someone else's change (optimistic concurrency)."""
    return L_(
        "Someone else changed this record after you opened the form, so nothing was saved. "
        "Reload the page to see their change, then make yours again."
    )


def _actor(user: Any) -> str | None:
    return getattr(user, "username", None)


def _choices(request: Request) -> dict[str, Any]:
    """Organisations and admin areas offered in the user form."""
    with _store(request).read() as conn:
        orgs = [
            (r.code, r.name)
            for r in conn.execute(
                select(s.organisation.c.code, s.organisation.c.name).order_by(s.organisation.c.code)
            )
        ]
        areas = [
            (r.pcode, r.name, r.admin_level)
            for r in conn.execute(
                select(s.location.c.pcode, s.location.c.name, s.location.c.admin_level)
                .where(s.location.c.admin_level <= 2)
                .order_by(s.location.c.pcode)
                .limit(2000)
            )
        ]
    return {"orgs": orgs, "areas": areas, "roles": ACCOUNT_ROLES, "languages": LANGUAGES}


# --- overview ------------------------------------------------------------------------------


@router.get("/admin", response_class=HTMLResponse)
def admin_page(request: Request, user: CurrentUser) -> Response:
    """Users and roles, organisations, approval levels and code lists (with links to edit)."""
    from mineaction.services import review

    store = _store(request)
    lists = codelists.code_lists(store)
    return render(
        request,
        "admin.html",
        user,
        users=users.list_users(store),
        orgs=organisations.all_organisations(store),
        levels=review.approval_levels(store),
        code_lists={
            name: (
                sum(1 for t in terms if t.is_base),
                sum(1 for t in terms if not t.is_base and t.active),
            )
            for name, terms in lists.items()
        },
    )


# --- users ---------------------------------------------------------------------------------


@router.get("/admin/users/new", response_class=HTMLResponse)
def user_new(request: Request, user: CurrentUser) -> Response:
    """The form for a new account."""
    return render(
        request,
        "admin_user.html",
        user,
        account=None,
        values={"role": "viewer"},
        errors={},
        tokens=[],
        **_choices(request),
    )


@router.post("/admin/users", response_class=HTMLResponse)
def user_create(
    request: Request,
    user: CurrentUser,
    username: Annotated[str, Form()] = "",
    display_name: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "",
    organisation: Annotated[str, Form()] = "",
    admin_area: Annotated[str, Form()] = "",
    locale: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
) -> Response:
    """Create an account; without a password one is generated and shown once."""
    values = {
        "username": username.strip(),
        "display_name": display_name.strip(),
        "role": role,
        "organisation": organisation,
        "admin_area": admin_area.strip(),
        "locale": locale,
    }
    secret = password or users.generate_password()
    try:
        if not values["username"]:
            raise ValidationError(L_("enter a user name"), where="username")
        users.add_user(
            _store(request),
            values["username"],
            role=role,
            password=secret,
            organisation=organisation or None,
            admin_area=values["admin_area"] or None,
            display_name=values["display_name"] or None,
            locale=locale or None,
            actor=_actor(user),
        )
    except MineActionError as exc:
        if exc.where is None and "password" in exc.message:
            exc.where = "password"
        return render(
            request,
            "admin_user.html",
            user,
            account=None,
            values=values,
            errors=field_errors(exc),
            tokens=[],
            status_code=exc.http_status,
            **_choices(request),
        )
    return render(
        request,
        "admin_secret.html",
        user,
        username=values["username"],
        kind="created",
        secret=None if password else secret,
    )


def _user_page(
    request: Request,
    user: Any,
    username: str,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
    saved: bool = False,
) -> Response:
    store = _store(request)
    account = users.get_user(store, username)
    return render(
        request,
        "admin_user.html",
        user,
        account=account,
        values=values or account,
        errors=errors or {},
        saved=saved,
        tokens=users.list_tokens(store, username),
        status_code=status_code,
        **_choices(request),
    )


@router.get("/admin/users/{username}", response_class=HTMLResponse)
def user_edit(request: Request, user: CurrentUser, username: str, saved: str = "") -> Response:
    """An account: role, organisation and area scope, language; password, tokens, state."""
    return _user_page(request, user, username, saved=bool(saved))


#: Account fields the edit form may change (a field left out of the form stays as it is).
EDITABLE = ("display_name", "role", "organisation", "admin_area", "locale")


@router.post("/admin/users/{username}", response_class=HTMLResponse)
async def user_update(request: Request, user: CurrentUser, username: str) -> Response:
    """Save role, scopes, display name and language (refused if someone saved meanwhile)."""
    form = await request.form()
    changes = {k: str(form[k]).strip() for k in EDITABLE if k in form}
    version = str(form.get("version") or "")
    return await run_in_threadpool(_save_user, request, user, username, changes, version)


def _save_user(
    request: Request, user: Any, username: str, changes: dict[str, str], version: str
) -> Response:
    try:
        if not version.isdigit():
            raise ValidationError(
                L_("The form has no version: reload the page and try again."), where="_"
            )
        users.update_user(
            _store(request), username, changes, expected_version=int(version), actor=_actor(user)
        )
    except MineActionError as exc:
        if exc.http_status == 404:
            raise
        account = users.get_user(_store(request), username)
        if isinstance(exc, StaleVersionError):
            # keep the version the form was based on: saving again needs a reload
            account = {**account, "version": version}
        return _user_page(
            request,
            user,
            username,
            values={**account, **changes},
            errors=field_errors(exc),
            status_code=exc.http_status,
        )
    return RedirectResponse(f"/admin/users/{quote(username)}?saved=1", status_code=303)


@router.post("/admin/users/{username}/disable", response_class=HTMLResponse)
def user_disable(request: Request, user: CurrentUser, username: str) -> Response:
    """Disable an account: its sessions end and its tokens stop working."""
    try:
        users.disable_user(_store(request), username, actor=_actor(user))
    except MineActionError as exc:
        if exc.http_status == 404:
            raise
        return _user_page(
            request, user, username, errors=field_errors(exc), status_code=exc.http_status
        )
    return RedirectResponse(f"/admin/users/{quote(username)}?saved=1", status_code=303)


@router.post("/admin/users/{username}/enable", response_class=HTMLResponse)
def user_enable(request: Request, user: CurrentUser, username: str) -> Response:
    """Enable a disabled account again."""
    users.enable_user(_store(request), username, actor=_actor(user))
    return RedirectResponse(f"/admin/users/{quote(username)}?saved=1", status_code=303)


@router.post("/admin/users/{username}/password", response_class=HTMLResponse)
def user_password(request: Request, user: CurrentUser, username: str) -> Response:
    """Give the user a new generated password, shown once."""
    users.get_user(_store(request), username)
    secret = users.reset_password(_store(request), username, actor=_actor(user))
    return render(
        request, "admin_secret.html", user, username=username, kind="password", secret=secret
    )


@router.post("/admin/users/{username}/tokens", response_class=HTMLResponse)
def user_token(
    request: Request,
    user: CurrentUser,
    username: str,
    name: Annotated[str, Form()] = "",
    days: Annotated[str, Form()] = "",
) -> Response:
    """Issue an API token for the user (for scripts and GIS clients), shown once."""
    try:
        n_days = int(days) if days.strip() else None
        if n_days is not None and not 1 <= n_days <= 3650:
            raise ValueError
    except ValueError:
        return _user_page(
            request,
            user,
            username,
            errors={"days": L_("enter a number of days between 1 and 3650, or nothing")},
            status_code=400,
        )
    try:
        new = users.create_token(
            _store(request),
            username,
            name=name.strip()[:200] or None,
            days=n_days,
            actor=_actor(user),
        )
    except MineActionError as exc:
        if exc.http_status == 404:
            raise
        return _user_page(
            request, user, username, errors=field_errors(exc), status_code=exc.http_status
        )
    return render(
        request, "admin_secret.html", user, username=username, kind="token", secret=new.token
    )


@router.post("/admin/users/{username}/tokens/revoke", response_class=HTMLResponse)
def user_token_revoke(
    request: Request, user: CurrentUser, username: str, token_id: Annotated[str, Form()] = ""
) -> Response:
    """Revoke one of the user's API tokens (named by the form field ``token_id``)."""
    store = _store(request)
    active = {t["token_id"] for t in users.list_tokens(store, username) if t["revoked_at"] is None}
    if token_id not in active:
        users.get_user(store, username)  # 404 for an unknown user
        return _user_page(
            request,
            user,
            username,
            errors={
                "token_id": L_(
                    "%(user)s has no active token %(token)r", user=username, token=token_id
                )
            },
            status_code=400,
        )
    users.revoke_token(store, token_id, actor=_actor(user))
    request.app.state.auth.forget_tokens()
    return RedirectResponse(f"/admin/users/{quote(username)}?saved=1", status_code=303)


# --- organisations -------------------------------------------------------------------------


def _org_form(
    request: Request,
    user: Any,
    org: dict[str, Any] | None,
    values: dict[str, Any],
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "admin_org.html",
        user,
        org=org,
        values=values,
        errors=errors,
        kinds=organisations.KINDS,
        status_code=status_code,
    )


@router.get("/admin/organisations/new", response_class=HTMLResponse)
def org_new(request: Request, user: CurrentUser) -> Response:
    """The form for a new organisation."""
    return _org_form(request, user, None, {"kind": "operator"}, {})


@router.post("/admin/organisations", response_class=HTMLResponse)
def org_create(
    request: Request,
    user: CurrentUser,
    code: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    kind: Annotated[str, Form()] = "operator",
    country: Annotated[str, Form()] = "",
) -> Response:
    """Register an organisation."""
    values = {"code": code, "name": name, "kind": kind, "country": country}
    try:
        organisations.create_organisation(
            _store(request), code, name, kind=kind, country=country, actor=_actor(user)
        )
    except MineActionError as exc:
        return _org_form(request, user, None, values, field_errors(exc), exc.http_status)
    return RedirectResponse(f"/admin?saved={quote(code.strip())}#organisations", status_code=303)


@router.get("/admin/organisations/{code:path}", response_class=HTMLResponse)
def org_edit(request: Request, user: CurrentUser, code: str) -> Response:
    """Edit an organisation's name, kind and country."""
    org = organisations.get_organisation(_store(request), code)
    return _org_form(request, user, org, org, {})


@router.post("/admin/organisations/{code:path}", response_class=HTMLResponse)
def org_update(
    request: Request,
    user: CurrentUser,
    code: str,
    name: Annotated[str, Form()] = "",
    kind: Annotated[str, Form()] = "operator",
    country: Annotated[str, Form()] = "",
    version: Annotated[str, Form()] = "",
) -> Response:
    """Save an organisation (refused if someone saved it since the form was opened)."""
    org = organisations.get_organisation(_store(request), code)
    values = {"code": code, "name": name, "kind": kind, "country": country}
    try:
        if not version:
            raise ValidationError(
                L_("The form has no version: reload the page and try again."), where="_"
            )
        organisations.update_organisation(
            _store(request),
            code,
            name=name,
            kind=kind,
            country=country,
            actor=_actor(user),
            expected_version=version,
        )
    except MineActionError as exc:
        # the form keeps the version it was based on: after a refusal, saving needs a reload
        org = {**org, "version": version}
        return _org_form(request, user, org, values, field_errors(exc), exc.http_status)
    return RedirectResponse(f"/admin?saved={quote(code)}#organisations", status_code=303)


# --- code lists ----------------------------------------------------------------------------


def _codes_page(
    request: Request,
    user: Any,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
    saved: str = "",
) -> Response:
    return render(
        request,
        "admin_codes.html",
        user,
        lists=codelists.code_lists(_store(request)),
        values=values or {},
        errors=errors or {},
        saved=saved,
        status_code=status_code,
    )


@router.get("/admin/codes", response_class=HTMLResponse)
def codes_page(request: Request, user: CurrentUser, saved: str = "") -> Response:
    """Every code list: base terms with country labels, country codes; add a code."""
    return _codes_page(request, user, saved=saved)


@router.post("/admin/codes", response_class=HTMLResponse)
def code_add(
    request: Request,
    user: CurrentUser,
    list_name: Annotated[str, Form()] = "",
    code: Annotated[str, Form()] = "",
    base_term: Annotated[str, Form()] = "",
    label_en: Annotated[str, Form()] = "",
    label_ru: Annotated[str, Form()] = "",
) -> Response:
    """Add a country-specific code mapped onto a base term, with its labels."""
    values = {
        "list_name": list_name,
        "code": code,
        "base_term": base_term,
        "label_en": label_en,
        "label_ru": label_ru,
    }
    try:
        codelists.add_code(
            _store(request),
            list_name,
            code,
            base_term=base_term,
            labels={"en": label_en, "ru": label_ru},
            actor=_actor(user),
        )
    except MineActionError as exc:
        return _codes_page(
            request, user, values=values, errors=field_errors(exc), status_code=exc.http_status
        )
    return RedirectResponse(
        f"/admin/codes?saved={quote(list_name)}/{quote(code.strip())}#list-{quote(list_name)}",
        status_code=303,
    )


def _code_form(
    request: Request,
    user: Any,
    term: codelists.CodeTerm,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    from mineaction.web.labels import LABELS

    return render(
        request,
        "admin_code.html",
        user,
        term=term,
        builtin=LABELS.get(term.code) or codes.label(term.code),
        values=values or {f"label_{k}": v for k, v in term.labels.items()},
        errors=errors or {},
        status_code=status_code,
    )


@router.get("/admin/codes/{list_name}/{code}", response_class=HTMLResponse)
def code_edit(request: Request, user: CurrentUser, list_name: str, code: str) -> Response:
    """Edit the labels of a code; deactivate or reactivate a country code."""
    return _code_form(request, user, codelists.get_term(_store(request), list_name, code))


@router.post("/admin/codes/{list_name}/{code}", response_class=HTMLResponse)
def code_update(
    request: Request,
    user: CurrentUser,
    list_name: str,
    code: str,
    version: Annotated[str, Form()] = "",
    label_en: Annotated[str, Form()] = "",
    label_ru: Annotated[str, Form()] = "",
) -> Response:
    """Save the labels of a code."""
    term = codelists.get_term(_store(request), list_name, code)
    values = {"label_en": label_en, "label_ru": label_ru}
    try:
        codelists.set_labels(
            _store(request),
            list_name,
            code,
            {"en": label_en, "ru": label_ru},
            expected_version=int(version) if version.isdigit() else None,
            actor=_actor(user),
        )
    except MineActionError as exc:
        return _code_form(
            request,
            user,
            term,
            values=values,
            errors=field_errors(exc),
            status_code=exc.http_status,
        )
    return RedirectResponse(
        f"/admin/codes?saved={quote(list_name)}/{quote(code)}#list-{quote(list_name)}",
        status_code=303,
    )


@router.post("/admin/codes/{list_name}/{code}/active", response_class=HTMLResponse)
def code_active(
    request: Request,
    user: CurrentUser,
    list_name: str,
    code: str,
    active: Annotated[str, Form()] = "0",
) -> Response:
    """Deactivate (``active=0``) or reactivate (``active=1``) a country code."""
    term = codelists.get_term(_store(request), list_name, code)
    try:
        codelists.set_active(_store(request), list_name, code, active == "1", actor=_actor(user))
    except MineActionError as exc:
        return _code_form(
            request, user, term, errors=field_errors(exc), status_code=exc.http_status
        )
    return RedirectResponse(
        f"/admin/codes?saved={quote(list_name)}/{quote(code)}#list-{quote(list_name)}",
        status_code=303,
    )


# --- profile (every signed-in user) ---------------------------------------------------------


def _safe_next(target: str) -> str:
    return target if target.startswith("/") and not target.startswith("//") else "/profile"


@router.get("/profile", response_class=HTMLResponse)
def profile_page(request: Request, user: CurrentUser, saved: str = "") -> Response:
    """The signed-in user's account and interface language."""
    from datetime import date

    return render(
        request,
        "profile.html",
        user,
        saved=bool(saved),
        sample_date=date.today(),
        sample_number=1234567.5,
        sample_area=2_500_000,
    )


@router.post("/profile")
def profile_save(
    request: Request,
    user: CurrentUser,
    locale: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/profile?saved=1",
) -> Response:
    """Save the user's preferred language (empty: follow the browser)."""
    username = _actor(user)
    assert username is not None  # the policy lets only signed-in users here
    users.set_locale(_store(request), username, locale or None, actor=username)
    resp = RedirectResponse(_safe_next(next), status_code=303)
    if locale in LANGUAGES:
        resp.set_cookie(LANG_COOKIE, locale, max_age=365 * 86400, samesite="lax", path="/")
    else:
        resp.delete_cookie(LANG_COOKIE, path="/")
    return resp
