"""Our XLSForms compile with pyxform and their field names are exactly what the importer maps."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pyxform.xls2xform import convert

from mineaction.forms import FORMS, export, paths
from mineaction.forms import synthetic as syn
from mineaction.io.formmap import to_report
from mineaction.io.submissions import Submission

META = {"start", "end", "deviceid", "username"}


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("forms")
    return {p.stem: p for p in export(out)}


@pytest.mark.parametrize("form_id", sorted(FORMS))
def test_form_compiles_and_binds_match(form_id: str, exported: dict[str, Path]) -> None:
    warnings: list[str] = []
    result = convert(xlsform=str(exported[form_id]), validate=False, warnings=warnings)
    assert f'id="{form_id}"' in result.xform
    binds = set(re.findall(r'<bind nodeset="/data/([^"]+)"', result.xform))
    form = FORMS[form_id]
    # every question is bound at the path the Kobo/Central readers expect
    assert {paths(form)[n] for n in form.fields()} <= binds
    assert "meta/instanceID" in binds
    assert not [w for w in warnings if "error" in w.lower()]


@pytest.mark.parametrize("form_id", sorted(FORMS))
def test_importer_reads_every_field(form_id: str) -> None:
    form = FORMS[form_id]
    filled = syn.fill(form_id, 1)
    sub = Submission(
        system="kobo",
        form_id=form_id,
        instance_id=filled.instance_id,
        root_id=filled.instance_id,
        where="t",
        answers=dict(filled.answers),
        repeats=filled.repeats,
    )
    reads: set[str] = set()
    doc, problems = to_report(sub, form, organisation="FSD", report_id="FSD:1", reads=reads)
    assert problems == []
    assert reads == set(form.fields()) - META, "form fields and importer mapping differ"
    assert doc["type"] == form.report_type


def test_export_writes_xlsx(exported: dict[str, Path]) -> None:
    assert set(exported) == set(FORMS)
    for path in exported.values():
        assert path.read_bytes()[:2] == b"PK"
