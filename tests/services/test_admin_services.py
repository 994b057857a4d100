"""Administration use cases on both stores: code lists, organisations, accounts and language."""

from __future__ import annotations

import pytest

from mineaction.errors import ConflictError, NotFoundError, StaleVersionError, ValidationError
from mineaction.services import codelists, organisations, users
from mineaction.store.engine import Store
from mineaction.store.reference import upsert_organisation
from mineaction.store.schema import location

users._hasher = users.PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
PASSWORD = "correct horse battery"


def _audit(store: Store, entity: str) -> list[tuple[str, str | None]]:
    return [(a["action"], a["entity_id"]) for a in users.list_audit(store, entity=entity)]


def test_country_codes_map_onto_base_terms_and_base_terms_stay(store: Store) -> None:
    added = codelists.add_code(
        store,
        "EOCategory",
        "PFM_1",
        base_term="AP_MINE",
        labels={"en": "PFM-1 butterfly mine", "ru": "ПФМ-1 «Лепесток»"},
        actor="root",
    )
    assert (added.base_term, added.is_base, added.active) == ("AP_MINE", False, True)
    terms = {t.code: t for t in codelists.code_lists(store)["EOCategory"]}
    assert terms["PFM_1"].labels["ru"] == "ПФМ-1 «Лепесток»"
    assert terms["AP_MINE"].is_base and codelists.base_term_of(store, "EOCategory", "PFM_1") == (
        "AP_MINE"
    )
    # every problem of a bad code is named at its field; nothing is written
    with pytest.raises(ValidationError) as bad:
        codelists.add_code(store, "EOCategory", "two words", base_term="MINE", labels={})
    assert set(bad.value.details["fields"]) == {"code", "base_term", "label_en"}
    with pytest.raises(ConflictError):
        codelists.add_code(store, "EOCategory", "PFM_1", base_term="AP_MINE", labels={"en": "x"})
    # base terms cannot be removed or deactivated, country codes can
    with pytest.raises(ConflictError, match="base terms cannot be removed"):
        codelists.set_active(store, "EOCategory", "AP_MINE", False, actor="root")
    codelists.set_active(store, "EOCategory", "PFM_1", False, actor="root")
    assert "PFM_1" not in codelists.active_codes(store, "EOCategory")
    assert "AP_MINE" in codelists.active_codes(store, "EOCategory")
    # a base term gets a country label; stale edits are refused
    term = codelists.set_labels(
        store, "EOCategory", "AP_MINE", {"ru": "ПП мина"}, expected_version=0, actor="root"
    )
    assert term.labels == {"ru": "ПП мина"} and term.version == 1
    with pytest.raises(StaleVersionError):
        codelists.set_labels(store, "EOCategory", "AP_MINE", {"ru": "x"}, expected_version=0)
    with store.read() as conn:
        shown = codelists.display_labels(conn)
    assert shown["ru"]["AP_MINE"] == "ПП мина" and shown["en"]["PFM_1"] == "PFM-1 butterfly mine"
    with pytest.raises(NotFoundError):
        codelists.set_labels(store, "EOCategory", "NOPE", {"en": "x"})
    assert _audit(store, "code") == [
        ("update", "EOCategory/AP_MINE"),
        ("deactivate", "EOCategory/PFM_1"),
        ("create", "EOCategory/PFM_1"),
    ]


def test_organisations_are_created_once_and_edited(store: Store) -> None:
    organisations.create_organisation(store, "NMAC", "National MAC", kind="authority", actor="a")
    with pytest.raises(ConflictError):
        organisations.create_organisation(store, "NMAC", "Again", actor="a")
    with pytest.raises(ValidationError) as bad:
        organisations.create_organisation(store, "N M", "", kind="club", actor="a")
    assert set(bad.value.details["fields"]) == {"code", "name", "kind"}
    organisations.update_organisation(
        store, "NMAC", name="National Mine Action Centre", kind="authority", country="RU", actor="a"
    )
    assert organisations.get_organisation(store, "NMAC")["country"] == "RU"
    with pytest.raises(NotFoundError):
        organisations.update_organisation(store, "NOPE", name="x", kind="operator")
    assert [a for a, _ in _audit(store, "organisation")] == ["update", "create"]


def test_accounts_language_scopes_and_passwords(store: Store) -> None:
    with store.write() as conn:
        upsert_organisation(conn, "FSD", "FSD")
        conn.execute(location.insert().values(pcode="RU46", name="Kursk", admin_level=1))
    users.add_user(store, "root", role="admin", password=PASSWORD)
    with pytest.raises(ValidationError, match="not registered") as bad_org:
        users.add_user(store, "x", role="operator_entry", organisation="HALO", password=PASSWORD)
    assert bad_org.value.where == "organisation"
    with pytest.raises(ValidationError, match="P-code"):
        users.add_user(store, "x", role="viewer", admin_area="UA01", password=PASSWORD)
    with pytest.raises(ValidationError, match="language"):
        users.add_user(store, "x", role="viewer", locale="de", password=PASSWORD)
    olga = users.add_user(
        store,
        "olga",
        role="viewer",
        organisation="FSD",
        admin_area="RU46",
        password=PASSWORD,
        locale="ru",
        actor="root",
    )
    assert olga.locale == "ru" and olga.scope.admin_area == "RU46"
    assert users.authenticate_password(store, "olga", PASSWORD).locale == "ru"
    version = users.get_user(store, "olga")["version"]
    users.update_user(
        store, "olga", {"locale": "", "role": "operator_qc"}, expected_version=version, actor="root"
    )
    assert users.get_user(store, "olga")["locale"] is None
    with pytest.raises(StaleVersionError):
        users.update_user(store, "olga", {"locale": "en"}, expected_version=version)
    new = users.reset_password(store, "olga", actor="root")
    assert users.authenticate_password(store, "olga", new).username == "olga"
    with pytest.raises(ConflictError, match="your own account"):
        users.disable_user(store, "root", actor="root")
    users.disable_user(store, "olga", actor="root")
    users.enable_user(store, "olga", actor="root")
    assert not users.get_user(store, "olga")["disabled"]
    assert [a for a, _ in _audit(store, "user")][:4] == [
        "update",
        "update",
        "set_password",
        "update",
    ]
