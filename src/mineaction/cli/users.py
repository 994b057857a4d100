"""``mineaction users``, ``mineaction tokens`` and ``mineaction audit``: accounts and access."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from mineaction.cli._common import Context, echo_json, echo_table, pass_ctx
from mineaction.core.access import Role
from mineaction.core.codes import LANGUAGES
from mineaction.errors import ValidationError
from mineaction.services import users as svc

ROLE_NAMES = [r.value for r in Role if r != Role.PUBLIC]


@click.group()
def users() -> None:
    """User accounts: roles (admin, im_officer, operations, operator_entry, operator_qc, viewer)."""


@users.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(ROLE_NAMES), help="What the user may do.")
@click.option("--org", "organisation", help="Organisation (required for operator roles).")
@click.option("--area", "admin_area", help="Limit to an admin area (location P-code prefix).")
@click.option("--display-name", help="Full name shown in the web pages.")
@click.option(
    "--language",
    "locale",
    type=click.Choice(list(LANGUAGES)),
    help="Interface language of the web pages (default: the browser's).",
)
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from standard input (one line)."
)
@pass_ctx
def add(
    ctx: Context,
    name: str,
    role: str,
    organisation: str | None,
    admin_area: str | None,
    display_name: str | None,
    locale: str | None,
    password_stdin: bool,
) -> None:
    """Create user NAME; prints a generated password unless --password-stdin is given."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise ValidationError("--password-stdin: no password on standard input")
    else:
        password = svc.generate_password()
    user = svc.add_user(
        ctx.store(),
        name,
        role=role,
        password=password,
        organisation=organisation,
        admin_area=admin_area,
        display_name=display_name,
        locale=locale,
        actor="cli",
    )
    scope = user.scope
    where = (
        ", ".join(
            x
            for x in (
                scope.organisation and f"org {scope.organisation}",
                scope.admin_area and f"area {scope.admin_area}*",
            )
            if x
        )
        or "all data"
    )
    click.echo(f"created user {name} ({role}; sees {where})")
    if not password_stdin:
        click.echo("password (shown once):")
        click.echo(password)


@users.command("list")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@pass_ctx
def list_(ctx: Context, fmt: str) -> None:
    """List user accounts."""
    rows = svc.list_users(ctx.store())
    if fmt == "json":
        echo_json(rows)
        return
    echo_table(
        [
            (
                r["username"],
                r["role"],
                r["organisation"] or "",
                r["admin_area"] or "",
                "disabled" if r["disabled"] else "active",
                (r["last_login_at"] or "")[:19],
            )
            for r in rows
        ],
        ["user", "role", "organisation", "area", "state", "last login"],
    )


@users.command("disable")
@click.argument("name")
@pass_ctx
def disable(ctx: Context, name: str) -> None:
    """Disable user NAME: sessions end, tokens stop working (the account stays for the audit)."""
    svc.disable_user(ctx.store(), name, actor="cli")
    click.echo(f"disabled user {name}")


@users.command("enable")
@click.argument("name")
@pass_ctx
def enable(ctx: Context, name: str) -> None:
    """Enable a disabled user NAME again."""
    svc.update_user(ctx.store(), name, {"disabled": False}, expected_version=None, actor="cli")
    click.echo(f"enabled user {name}")


@users.command("password")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the new password from standard input.")
@pass_ctx
def password(ctx: Context, name: str, password_stdin: bool) -> None:
    """Set a new password for NAME (prints a generated one unless --password-stdin)."""
    new = sys.stdin.readline().rstrip("\r\n") if password_stdin else svc.generate_password()
    svc.set_password(ctx.store(), name, new, actor="cli")
    click.echo(f"password of {name} changed")
    if not password_stdin:
        click.echo(new)


@click.group()
def tokens() -> None:
    """API tokens: for scripts (Bearer) and GIS clients (HTTP Basic: user name + token)."""


@tokens.command("create")
@click.argument("name")
@click.option("--label", help="What the token is for (e.g. 'QGIS on laptop 3').")
@click.option("--days", type=click.IntRange(1, 3650), help="Expire after this many days.")
@pass_ctx
def create(ctx: Context, name: str, label: str | None, days: int | None) -> None:
    """Create an API token for user NAME; the token is the last line of the output."""
    new = svc.create_token(ctx.store(), name, name=label, days=days, actor="cli")
    exp = new.expires_at.date().isoformat() if new.expires_at else "never"
    click.echo(f"token {new.token_id} for {name} (expires: {exp}); shown once:")
    click.echo(new.token)


@tokens.command("list")
@click.argument("name", required=False)
@pass_ctx
def list_tokens(ctx: Context, name: str | None) -> None:
    """List API tokens (all, or of user NAME)."""
    rows = svc.list_tokens(ctx.store(), name)
    echo_table(
        [
            (
                r["token_id"],
                r["username"],
                r["name"] or "",
                (r["created_at"] or "")[:19],
                (r["expires_at"] or "")[:10],
                "revoked" if r["revoked_at"] else "active",
            )
            for r in rows
        ],
        ["token", "user", "label", "created", "expires", "state"],
    )


@tokens.command("revoke")
@click.argument("token_id")
@pass_ctx
def revoke(ctx: Context, token_id: str) -> None:
    """Revoke a token by its id (or the whole token); running servers stop accepting it within 10 s."""
    svc.revoke_token(ctx.store(), token_id, actor="cli")
    click.echo(
        f"revoked token {token_id.split('_')[1] if token_id.startswith('ma_') else token_id}"
    )


@click.group()
def audit() -> None:
    """The audit log: every write and every read of personal data."""


@audit.command("list")
@click.option("--actor")
@click.option("--entity")
@click.option("--limit", type=int, default=50, show_default=True)
@pass_ctx
def audit_list(ctx: Context, actor: str | None, entity: str | None, limit: int) -> None:
    """Show the latest audit lines."""
    rows = svc.list_audit(ctx.store(), actor=actor, entity=entity, limit=limit)
    echo_table(
        [
            (
                r["at"][:19],
                r["actor"] or "",
                r["action"],
                r["entity"],
                r["entity_id"] or "",
                r["remote"] or "",
            )
            for r in rows
        ],
        ["at", "actor", "action", "entity", "id", "from"],
    )


@audit.command("export")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="CSV file (default: stdout).",
)
@pass_ctx
def audit_export(ctx: Context, output: Path | None) -> None:
    """Export the whole audit log as CSV."""
    text = svc.audit_csv(svc.list_audit(ctx.store(), limit=None))
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)
