"""``mineaction users`` / ``tokens`` / ``audit`` commands."""

from __future__ import annotations

import warnings

from click.testing import CliRunner

from mineaction.cli import cli
from mineaction.services import users
from mineaction.store.engine import Store

# Cheap argon2 parameters in tests (the real ones cost ~0.1-1 s per hash by design).
users._hasher = users.PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def run(store: Store, *args: str, input: str | None = None) -> str:
    result = CliRunner().invoke(cli, ["--db", store.url, *args], input=input)
    assert result.exit_code == 0, result.output
    return result.output


def test_users_add_list_disable_and_tokens(store: Store) -> None:
    out = run(store, "users", "add", "ana", "--role", "operator_entry", "--org", "FSD")
    password = out.strip().splitlines()[-1]
    assert users.authenticate_password(store, "ana", password).organisation == "FSD"
    run(
        store,
        "users",
        "add",
        "bo",
        "--role",
        "viewer",
        "--password-stdin",
        "--language",
        "ru",
        input="a-long-secret-1\n",
    )
    bo = users.authenticate_password(store, "bo", "a-long-secret-1")
    assert bo.role.value == "viewer" and bo.locale == "ru"
    listing = run(store, "users", "list")
    assert "ana" in listing and "operator_entry" in listing
    token = run(store, "tokens", "create", "ana").strip().splitlines()[-1]
    assert users.authenticate_token(store, token).username == "ana"
    assert token.split("_")[1] in run(store, "tokens", "list")
    run(store, "tokens", "revoke", token.split("_")[1])
    run(store, "users", "disable", "bo")
    assert "disabled" in run(store, "users", "list")
    audit = run(store, "audit", "export")
    assert audit.startswith("id,at,actor") and "revoke" in audit


def test_operator_without_org_is_refused(store: Store) -> None:
    with warnings.catch_warnings():
        result = CliRunner().invoke(
            cli, ["--db", store.url, "users", "add", "x", "--role", "operator_qc"]
        )
    assert result.exit_code != 0
    assert "needs an organisation" in str(result.exception or result.output)
