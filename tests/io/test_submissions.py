"""ODK Central and KoboToolbox export readers: the same submission reads the same in every format."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mineaction.core.reports import normalise_report, parse_report
from mineaction.errors import ValidationError
from mineaction.forms import FORMS
from mineaction.forms import synthetic as syn
from mineaction.io.detect import read_any
from mineaction.io.formmap import to_report

FIX = Path(__file__).parent.parent / "fixtures"


def _exports(form_id: str) -> dict[str, bytes]:
    filled = [syn.fill(form_id, i) for i in range(3)]
    return {
        "kobo.json": orjson.dumps(syn.kobo_json(filled)),
        "central.json": orjson.dumps(syn.central_odata(filled)),
        "central-tables.json": orjson.dumps(syn.central_odata(filled, expand=False)),
        "central.csv.zip": syn.central_csv_zip(filled),
        "kobo.xlsx": syn.kobo_xlsx(filled),
    }


@pytest.mark.parametrize("form_id", sorted(FORMS))
def test_every_format_gives_the_same_report(form_id: str) -> None:
    bodies = {}
    for name, data in _exports(form_id).items():
        read = read_any(data, name, form=form_id)
        assert len(read.records) == 3
        sub = read.records[1]
        doc, problems = to_report(sub, FORMS[form_id], organisation="FSD", report_id="FSD:x")
        assert problems == [], (name, problems)
        payload, _ = normalise_report(parse_report(doc))
        bodies[name] = orjson.loads(orjson.dumps(payload[FORMS[form_id].report_type]))
    first = next(iter(bodies.values()))
    for name, body in bodies.items():
        assert body == first, name


def test_identity_and_metadata() -> None:
    kobo = read_any((FIX / "kobo" / "ma_accident.edited.json").read_bytes(), "e.json").records[0]
    original = read_any((FIX / "kobo" / "ma_accident.json").read_bytes(), "o.json").records[0]
    assert kobo.root_id == original.instance_id == kobo.deprecated_id
    assert kobo.instance_id != original.instance_id
    assert kobo.form_id == "ma_accident" and kobo.system == "kobo"
    central = read_any((FIX / "odk_central" / "ma_hazard.odata.json").read_bytes(), "c.json")
    assert central.format == "odk-central-odata"
    sub = central.records[0]
    assert sub.form_id == "ma_hazard" and sub.submitter == "enumerator1"
    assert sub.answers["polygon"]["type"] == "Polygon"  # Central gives GeoJSON
    assert len(sub.repeats["evidence"]) == 2
    tables = read_any(
        (FIX / "odk_central" / "ma_activity.odata-tables.json").read_bytes(), "t.json"
    ).records[0]
    assert tables.repeats["releases"] and tables.repeats["eo_found"]
    zipped = read_any((FIX / "odk_central" / "ma_activity.csv.zip").read_bytes(), "a.zip")
    assert zipped.format == "odk-central-csv"
    assert zipped.records[0].repeats["releases"][0]["release_outcome"] == "cleared"
    assert zipped.records[0].answers["hazard_id"] == "HZ-00000"


def test_kobo_geo_strings_and_attachments() -> None:
    doc = syn.kobo_json([syn.fill("ma_accident", 1)])
    doc["results"][0]["_attachments"] = [
        {
            "download_url": "https://kc.example.org/media/original?media_file=x.jpg",
            "mimetype": "image/jpeg",
            "filename": "user/attachments/x.jpg",
            "question_xpath": "photo",
            "uid": "attXYZ",
        }
    ]
    sub = read_any(orjson.dumps(doc), "k.json").records[0]
    assert isinstance(sub.answers["accident_point"], str)  # Kobo keeps the raw ODK string
    assert sub.attachments[0]["mimetype"] == "image/jpeg"
    doc_, problems = to_report(sub, FORMS["ma_accident"], organisation="O", report_id="O:1")
    assert problems == []
    assert doc_["source"]["attachments"][0]["uid"] == "attXYZ"
    assert doc_["accident"]["point"]["coordinates"][:2] == pytest.approx([35.21, 51.3])


@pytest.mark.parametrize("form_id", ["ma_hazard", "ma_eo_spot"])
def test_photos_and_the_attachment_lists_of_every_export(form_id: str) -> None:
    """A photo answer is listed with its question and whether the file reached the server."""
    filled = [syn.fill(form_id, 4)]
    question = "evidence[0].evidence_photo" if form_id == "ma_hazard" else "items[0].eo_photo"
    photo = f"17750000040{1 if form_id == 'ma_hazard' else 2}.jpg"
    odata = syn.central_odata(filled)
    partial = syn.central_odata(filled)
    partial["value"][0]["__system"]["attachmentsPresent"] = 0  # not uploaded yet
    csv_zip = syn.central_csv_zip(filled)
    no_media = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(csv_zip)) as src, zipfile.ZipFile(no_media, "w") as dst:
        for n in src.namelist():
            if not n.startswith("media/"):
                dst.writestr(n, src.read(n))
    kobo = syn.kobo_json(filled)
    kobo_missing = syn.kobo_json(filled)
    kobo_missing["results"][0]["_attachments"] = []
    cases = {
        "central.json": (orjson.dumps(odata), True),
        "partial.json": (orjson.dumps(partial), False),
        "central.csv.zip": (csv_zip, True),
        "no-media.csv.zip": (no_media.getvalue(), False),
        "kobo.json": (orjson.dumps(kobo), True),
        "missing.json": (orjson.dumps(kobo_missing), False),
        "kobo.xlsx": (syn.kobo_xlsx(filled), None),  # an XLSX export lists no files
    }
    for name, (data, present) in cases.items():
        sub = read_any(data, name, form=form_id).records[0]
        doc, problems = to_report(sub, FORMS[form_id], organisation="O", report_id="O:1")
        assert problems == [], (name, problems)
        (att,) = doc["source"]["attachments"]
        assert (att["question"], att["filename"], att["present"]) == (question, photo, present), (
            name,
            att,
        )
    kobo_att = to_report(
        read_any(orjson.dumps(kobo), "k.json").records[0],
        FORMS[form_id],
        organisation="O",
        report_id="O:1",
    )[0]["source"]["attachments"][0]
    assert kobo_att["mimetype"] == "image/jpeg" and "/attachments/" in kobo_att["download_url"]


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("x.json", b'{"value": [', "not valid JSON"),
        ("x.json", b'{"hello": 1}', "neither"),
        ("x.zip", b"PK\x03\x04garbage", "zip"),
        ("x.xlsx", b"not a workbook", "XLSX"),
        ("x.exe", b"MZ", "unsupported"),
        ("x.csv", b"", "empty"),
        ("x.json", b"[" * 5000, "JSON"),
    ],
)
def test_bad_files(name: str, data: bytes, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        read_any(data, name, form="ma_hazard")


def test_zip_member_lying_about_size(tmp_path: Path) -> None:
    # A member that inflates beyond its declared size is refused while reading.
    import io

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("f.csv", b"KEY,SubmissionDate\n" + b"a,b\n" * 1000)
    data = bytearray(buf.getvalue())
    # patch the central directory's uncompressed size of the only member to 10 bytes
    cd = data.rfind(b"PK\x01\x02")
    data[cd + 24 : cd + 28] = (10).to_bytes(4, "little")
    with pytest.raises(ValidationError):
        read_any(bytes(data), "f.zip")


FIXTURES = sorted(p for p in FIX.rglob("*") if p.is_file() and p.suffix not in (".py", ".yaml"))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(FIXTURES),
    st.integers(min_value=0, max_value=10**9),
    st.binary(max_size=8),
    st.booleans(),
)
def test_corrupted_fixtures_never_crash(path: Path, pos: int, junk: bytes, truncate: bool) -> None:
    data = path.read_bytes()
    if data:
        i = pos % len(data)
        data = data[:i] if truncate else data[:i] + junk + data[i + len(junk) :]
    try:
        read = read_any(data, path.name, form="ma_hazard")
    except ValidationError as exc:
        assert str(exc)
        return
    for sub in read.records:
        form = FORMS.get(sub.form_id or "ma_hazard", FORMS["ma_hazard"])
        try:
            to_report(sub, form, organisation="O", report_id="O:1")
        except ValidationError as exc:  # pragma: no cover - to_report collects problems
            assert str(exc)


@settings(max_examples=200, deadline=None)
@given(
    st.binary(max_size=300),
    st.sampled_from(
        ["a.json", "a.csv", "a.zip", "a.xlsx", "a.kml", "a.gpkg", "a.geojson", "a.kmz"]
    ),
)
def test_random_bytes_never_crash(data: bytes, name: str) -> None:
    try:
        read_any(data, name, form="ma_eo_spot")
    except ValidationError as exc:
        assert str(exc)


def test_label_headers_are_explained() -> None:
    data = b"Date of information;Hazard ID;_uuid\n2026-04-01;H1;abc\n"
    sub = read_any(data, "labels.csv").records[0]
    _, problems = to_report(sub, FORMS["ma_hazard"], organisation="O", report_id="O:abc")
    assert "XML values and headers" in problems[0]["message"] and len(problems) == 1
