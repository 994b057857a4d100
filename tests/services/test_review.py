"""The review workbench: approval levels, reject/unapprove, predicted effect, reconciliation."""

from __future__ import annotations

import copy

import orjson
import pytest

from mineaction.errors import ConflictError, PermissionDeniedError, ValidationError
from mineaction.forms import synthetic as syn
from mineaction.services import importing, ledger
from mineaction.services import review as rv
from mineaction.store import reports as repo
from mineaction.store.engine import Store


def load(store: Store, filled: list[syn.Filled], org: str = "FSD") -> list[str]:
    result = importing.import_bytes(
        store, orjson.dumps(syn.kobo_json(filled)), "k.json", organisation=org
    )
    assert result.totals.rejected == 0, result.records
    return [r.report_id or "" for r in result.records]


def state(store: Store, rid: str) -> str:
    with store.read() as conn:
        return str(repo.get_report(conn, rid)["state"])


def test_three_levels_in_order(store: Store) -> None:
    assert rv.approval_levels(store) == ["verified", "ops_approved", "approved"]
    (rid,) = load(store, [syn.fill("ma_hazard", 1)])
    with pytest.raises(ConflictError, match="operator QC verification first"):
        rv.approve(store, rid, actor="ops")
    with pytest.raises(PermissionDeniedError):
        rv.verify(store, rid, actor="x", role="operator_entry")
    assert rv.verify(store, rid, actor="qc", role="operator_qc").to_state == "verified"
    with pytest.raises(ConflictError, match="next step is 'ops_approved'"):
        rv.verify(store, rid, actor="qc")
    with pytest.raises(PermissionDeniedError):
        rv.approve(store, rid, actor="qc", role="operator_qc")
    assert rv.approve(store, rid, actor="ops", role="operations").to_state == "ops_approved"
    assert [i.report_id for i in rv.queue(store, state="ops_approved")] == [rid]
    with pytest.raises(PermissionDeniedError):
        rv.approve(store, rid, actor="ops", role="operations")
    done = rv.approve(store, rid, actor="im", role="im_officer")
    assert done.to_state == "approved" and done.effect is not None
    assert state(store, rid) == "approved"
    assert rv.queue(store) == []
    with store.read() as conn:
        actions = [e["action"] for e in repo.events(conn, rid)]
    assert actions == ["submit", "verify", "ops_approve", "approve"]
    with pytest.raises(ValidationError):
        rv.unapprove(store, rid, reason="  ")
    rv.unapprove(store, rid, reason="wrong polygon", actor="im", role="im_officer")
    assert state(store, rid) == "unapproved"


def test_configurable_levels_and_reject(store: Store) -> None:
    assert rv.set_approval_levels(store, []) == ["approved"]
    a, b = load(store, [syn.fill("ma_eore", 1), syn.fill("ma_eore", 2)])
    assert rv.approve(store, a).to_state == "approved"
    with pytest.raises(ValidationError):
        rv.reject(store, b, reason="")
    rv.reject(store, b, reason="participants double counted", actor="qc")
    assert state(store, b) == "rejected"
    with pytest.raises(ConflictError):
        rv.approve(store, b)
    assert rv.set_approval_levels(store, ["ops_approved"]) == ["ops_approved", "approved"]
    with pytest.raises(ValidationError):
        rv.set_approval_levels(store, ["approved"])
    with pytest.raises(ValidationError):
        rv.set_approval_levels(store, ["ops_approved", "verified"])
    # the existing one-step final approval keeps working whatever the levels
    (c,) = load(store, [syn.fill("ma_eore", 3)])
    ledger.approve(store, c)
    assert state(store, c) == "approved"


def test_predicted_effect_and_proposals(store: Store) -> None:
    rv.set_approval_levels(store, [])
    hazard = syn.fill("ma_hazard", 5)
    (hid,) = load(store, [hazard])
    first = rv.review(store, hid)
    assert [p.kind for p in first.proposals] == ["new_hazard"]
    assert first.effect and first.effect["status"] == {"before": None, "after": "open"}
    rv.approve(store, hid)

    # an overlapping hazard with another id, from another operator
    other = syn.fill("ma_hazard", 5)
    other.instance_id = "0b8f4c62-1d3a-4e5f-9a7b-111111111111"
    other.answers["hazard_id"] = "HZ-NEW"
    (oid,) = load(store, [other], org="HALO")
    props = rv.review(store, oid).proposals
    overlap = next(p for p in props if p.kind == "overlapping_hazard")
    assert overlap.hazard_id == "HZ-00005" and overlap.overlap_percent == pytest.approx(
        100, abs=0.5
    )

    # the same form instance submitted by two operators
    (dup,) = load(store, [copy.deepcopy(hazard)], org="HALO")
    assert any(p.kind == "same_submission" for p in rv.review(store, dup).proposals)

    # clearance inside the hazard: m² released by category, status, remaining area
    act = syn.fill("ma_activity", 5)
    (aid,) = load(store, [act])
    eff = rv.review(store, aid).effect
    assert eff is not None and eff["applies"]
    assert eff["released_m2"]["cleared"] > 1000 and eff["released_m2"]["reduced"] == 0
    assert eff["remaining_m2"]["after"] == pytest.approx(
        eff["remaining_m2"]["before"] - eff["released_m2"]["cleared"], rel=1e-6
    )
    assert eff["status"]["after"] == "worked_on"

    # EO spot reports close in space and time
    e1, e2 = syn.fill("ma_eo_spot", 9), syn.fill("ma_eo_spot", 9)
    e2.instance_id = "0b8f4c62-1d3a-4e5f-9a7b-222222222222"
    e2.repeats["items"][0]["eo_point"] = "51.3000 35.2910 0 5"  # ~70 m east
    load(store, [e1])
    (near,) = load(store, [e2], org="DDG")
    eo = next(p for p in rv.review(store, near).proposals if p.kind == "nearby_eo")
    assert 50 < (eo.distance_m or 0) < 100 and eo.days_apart == 0


def test_reconcile_attaches_to_existing_hazard(store: Store) -> None:
    rv.set_approval_levels(store, ["verified"])
    hazard = syn.fill("ma_hazard", 6)
    (hid,) = load(store, [hazard])
    rv.verify(store, hid)
    rv.approve(store, hid)
    other = syn.fill("ma_hazard", 6)
    other.instance_id = "0b8f4c62-1d3a-4e5f-9a7b-333333333333"
    other.answers["hazard_id"] = "HZ-DUP"
    (oid,) = load(store, [other], org="HALO")
    rv.verify(store, oid)
    with pytest.raises(ValidationError, match="no approved hazard"):
        rv.reconcile(store, oid, hazard_id="HZ-NOPE")
    new_id = rv.reconcile(store, oid, hazard_id="HZ-00006", actor="im")
    assert state(store, oid) == "superseded"
    assert state(store, new_id) == "verified"  # keeps its review level
    kinds = {p.kind for p in rv.review(store, new_id).proposals}
    assert "update_hazard" in kinds and "same_submission" in kinds  # identical to FSD's
    rv.approve(store, new_id)
    with store.read() as conn:
        row = repo.get_report(conn, new_id)
    assert row["state"] == "approved" and row["hazard_id"] == "HZ-00006"
    assert row["payload"]["extensions"]["reconciled_from"] == oid


def test_rejected_report_corrected_in_the_field_comes_back_as_an_edit(store: Store) -> None:
    rv.set_approval_levels(store, [])
    hazard = syn.fill("ma_eo_spot", 11)
    (rid,) = load(store, [hazard])
    rv.reject(store, rid, reason="quantity looks wrong: count again", actor="qc")
    assert state(store, rid) == "rejected" and rv.queue(store) == []
    # the operator edits the submission in ODK/Kobo: a new instance ID naming the old one
    edited = copy.deepcopy(hazard)
    edited.deprecated_id, edited.root_id = hazard.instance_id, hazard.instance_id
    edited.instance_id = "0b8f4c62-1d3a-4e5f-9a7b-444444444444"
    edited.repeats["items"][0]["eo_quantity"] = "3"
    (new_id,) = load(store, [edited])
    with store.read() as conn:
        row = repo.get_report(conn, new_id)
    assert row["supersedes"] == rid and row["state"] == "submitted"
    assert [i.report_id for i in rv.queue(store)] == [new_id]
    assert any(p.kind == "edit" for p in rv.review(store, new_id).proposals)
    rv.approve(store, new_id)
    assert state(store, new_id) == "approved"


def test_report_inside_a_hazard_is_proposed_a_link_and_linked(store: Store) -> None:
    rv.set_approval_levels(store, [])
    (hid,) = load(store, [syn.fill("ma_hazard", 5)])  # HZ-00005 around 51.3 N 35.25 E
    eo = syn.fill("ma_eo_spot", 5)  # its item lies at the hazard's centre; names no hazard
    far = syn.fill("ma_eo_spot", 6)
    far.repeats["items"][0]["eo_point"] = "51.4000000 35.4000000 152.0 4.0"
    eid, fid = load(store, [eo, far])
    assert not [p for p in rv.review(store, eid).proposals if p.kind == "link_hazard"]
    rv.approve(store, hid)
    link = [p for p in rv.review(store, eid).proposals if p.kind == "link_hazard"]
    assert [p.hazard_id for p in link] == ["HZ-00005"] and "it names none" in link[0].message
    assert not [p for p in rv.review(store, fid).proposals if p.kind == "link_hazard"]
    linked = rv.reconcile(store, eid, hazard_id="HZ-00005", actor="im")
    assert state(store, eid) == "superseded"
    assert not [p for p in rv.review(store, linked).proposals if p.kind == "link_hazard"]
    rv.approve(store, linked)
    with store.read() as conn:
        row = repo.get_report(conn, linked)
    assert row["state"] == "approved" and row["hazard_id"] == "HZ-00005"
    assert row["payload"]["eo"]["hazard_id"] == "HZ-00005"
