"""Every explanation note the projection can write is shown translated on the hazard page."""

from __future__ import annotations

import ast
import inspect
import re
import warnings
from datetime import date
from pathlib import Path
from types import ModuleType

import pytest
from sample import PASSWORD

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from mineaction.core import codes, geometry, geoparse, projection, reporting, reports
from mineaction.core.planning import cpsat, packages, planner, schedule, search
from mineaction.core.planning import model as planning_model
from mineaction.errors import ValidationError
from mineaction.forms import FORMS
from mineaction.io import detect, formmap, gis, safety, submissions
from mineaction.services import (
    codelists,
    importing,
    ledger,
    organisations,
    plan_jobs,
    planning,
    review,
    users,
)
from mineaction.services import reporting as reporting_service
from mineaction.store import projections as proj
from mineaction.store import schema as s
from mineaction.store.engine import Store
from mineaction.web import auth
from mineaction.web.app import create_app
from mineaction.web.i18n import use_language
from mineaction.web.notes import STATES, explain_note, shown, state_label

#: placeholders of the English texts that are whole numbers
_COUNTS = {"found", "days", "i"}


def _example(node: ast.expr) -> str | None:
    """An example of the text an f-string (or string) gives, or None if it is not text."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if not isinstance(node, ast.JoinedStr):
        return None
    out = []
    for part in node.values:
        if isinstance(part, ast.Constant):
            out.append(str(part.value))
        elif isinstance(part, ast.FormattedValue):
            spec = ast.unparse(part.format_spec) if part.format_spec else ""
            if ",.0f" in spec:
                out.append("12,345")
            elif ".1f" in spec:
                out.append("7.5")
            elif ".0f" in spec or ast.unparse(part.value) in _COUNTS:
                out.append("7")
            elif part.conversion == ord("r"):
                out.append("'CHA'")
            else:
                out.append("CHA")
    return "".join(out)


def texts_of(module: ModuleType) -> list[str]:
    """Examples of every note, status reason, warning and proposal a module writes."""
    found: list[str] = []
    for node in ast.walk(ast.parse(inspect.getsource(module))):
        texts: list[ast.expr] = []
        if isinstance(node, ast.Call):
            name = ast.unparse(node.func)
            if name in ("notes.append", "warnings.append"):
                texts = list(node.args)
            elif name == "_set_status" and len(node.args) >= 3:
                texts = [node.args[2]]
            elif name == "Proposal" and len(node.args) >= 2:
                texts = [node.args[1]]
        elif isinstance(node, ast.Assign) and [ast.unparse(t) for t in node.targets] == ["msg"]:
            texts = [node.value]
        found += [t for t in map(_example, texts) if t is not None]
    return found


@pytest.mark.parametrize(
    ("module", "at_least"), [(projection, 12), (review, 7), (geometry, 1)], ids=str
)
def test_every_note_warning_and_proposal_is_translated(module: ModuleType, at_least: int) -> None:
    texts = texts_of(module)
    assert len(texts) >= at_least, texts
    for text in texts:
        if text.startswith("CHA: "):  # "{where}: ..." (a warning names its field)
            text = text[len("CHA: ") :]
        with use_language("ru"):
            shown = explain_note(text)
            flag = explain_note(f"R-1: {text}")
        assert shown != text and re.search("[а-яё]", shown), f"not translated: {text!r}"
        assert flag == f"R-1: {shown}"
        with use_language("en"):
            assert re.search("[a-z]", explain_note(text))


def test_hazard_pages_show_the_notes_in_russian(
    client: TestClient, sample_db: tuple[str, Store]
) -> None:
    store = sample_db[1]
    with store.read() as conn:
        ids = [
            r[0] for r in conn.execute(s.hazard.select().with_only_columns(s.hazard.c.hazard_id))
        ]
    seen = 0
    for hazard_id in ids:
        _state, steps = ledger.explain(store, hazard_id)
        html = client.get(f"/hazards/{hazard_id}?lang=ru", headers={"accept": "text/html"}).text
        for note in (n for st in steps for n in st.notes):
            assert note not in html, f"{hazard_id}: {note!r} shown in English"
            seen += 1
    assert seen >= len(ids)  # every hazard has at least its "new hazard" note
    assert "новый опасный район" in html


def test_review_shows_warnings_and_proposals_translated(
    client: TestClient, sample_db: tuple[str, Store]
) -> None:
    store = sample_db[1]
    with store.read() as conn:
        x0, y0, x1, y1 = proj.get_hazard(conn, "HZ-003")["geom"].bounds
    # a new hazard over HZ-003, with one edge ~7 km long (a warning, not an error)
    ring = [[x0, y0], [x1, y0], [x1, y1], [x0 - 0.1, y1], [x0, y0]]
    result = ledger.submit(
        store,
        {
            "report_id": "R-NEW-2",
            "type": "hazard",
            "organisation": "DRC",
            "date_of_information": date.today().isoformat(),
            "hazard": {
                "hazard_id": "HZ-NEW-2",
                "evidence": [{"type": "FORMER_FRONTLINE"}],
                "contamination": ["AP_MINE"],
                "polygon": {"type": "Polygon", "coordinates": [ring]},
            },
        },
        submitted_by="field.officer",
    )
    assert result.warnings
    html = {"accept": "text/html"}
    inbox = client.get("/review", headers=html).text
    row = re.search(r"<tr><td><a href=\"/review/R-NEW-2\">.*?</tr>", inbox, re.S)
    assert row and "⚠ 1" in row.group(0)
    en = client.get("/review/R-NEW-2?lang=en", headers=html).text
    assert "two consecutive vertices are" in en and "km apart (more than 5 km)" in en
    assert "of this polygon overlaps approved hazard HZ-003" in en
    assert '<a href="/hazards/HZ-003">HZ-003</a>' in en
    ru = client.get("/review/R-NEW-2?lang=ru", headers=html).text
    assert "две соседние вершины отстоят на" in ru and "больше 5 км" in ru
    assert "перекрывает утверждённый опасный район HZ-003" in ru
    assert "two consecutive" not in ru and "overlaps approved" not in ru
    assert "новый опасный район" in ru  # the predicted effect's note
    client.get("/review?lang=en", headers=html)


#: error classes whose messages a web form or the error page shows (token and sign-in errors
#: are answered by the API, and the login page has its own message)
_SHOWN = {"ValidationError", "ConflictError", "StaleVersionError", "PlanningInputError"}


def form_messages(module: ModuleType) -> list[str]:
    """Examples of the messages an administration service gives the web forms."""
    found: list[str] = []
    for node in ast.walk(ast.parse(inspect.getsource(module))):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        name = ast.unparse(node.func)
        if name in _SHOWN or (name == "NotFoundError" and "`" not in ast.unparse(node.args[0])):
            text = _example(node.args[0])
        elif name == "problems.append" and isinstance(node.args[0], ast.Tuple):
            text = _example(node.args[0].elts[1])
        else:
            continue
        if text and text != "CHA":  # (a message passed on from elsewhere)
            found.append(text)
    return found


@pytest.mark.parametrize(
    ("module", "at_least"), [(users, 10), (organisations, 8), (codelists, 6), (codes, 4)], ids=str
)
def test_every_administration_message_is_translated(module: ModuleType, at_least: int) -> None:
    messages = form_messages(module)
    assert len(messages) >= at_least, messages
    for text in messages:
        with use_language("ru"):
            shown = explain_note(text)
        assert shown != text and re.search("[а-яё]", shown), f"not translated: {text!r}"


def test_admin_form_messages_are_shown_in_russian(sample_db: tuple[str, Store]) -> None:
    url, store = sample_db
    users.add_user(store, "root.ru", role="admin", password=PASSWORD, locale="ru")
    with TestClient(create_app(url)) as c:
        r = c.post("/login", data={"username": "root.ru", "password": PASSWORD})
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/profile").text).group(1)
        r = c.post(
            "/admin/organisations",
            data={"csrf_token": csrf, "code": "N MAC", "name": "", "kind": "club"},
            headers={"accept": "text/html"},
        )
    assert r.status_code == 400
    errors = dict(re.findall(r'<p class="field-error" id="err-([\w-]+)">([^<]+)</p>', r.text))
    assert set(errors) == {"code", "name", "kind"}
    assert errors["name"] == "введите название"
    assert errors["code"].startswith("используйте") and "неизвестный вид" in errors["kind"]


def test_error_pages_in_russian(client: TestClient) -> None:
    html = {"accept": "text/html"}
    for path, text in (
        ("/hazards/NOPE?lang=ru", "нет опасного района с идентификатором 'NOPE' (опасный район"),
        ("/review/NOPE?lang=ru", "нет отчёта с идентификатором 'NOPE'"),
    ):
        r = client.get(path, headers=html)
        assert r.status_code == 404 and "Не найдено" in r.text
        assert text in r.text.replace("&#39;", "'"), path
    english = client.get("/hazards/NOPE?lang=en", headers=html).text.replace("&#39;", "'")
    assert "no hazard with id 'NOPE' (hazards appear once" in english


#: messages put together from parts: examples of each shape they take
_COMPOSED = {
    "import CHA CHA": [
        "import B-1 is an import, not a dry run",
        "import B-1 was already confirmed as import B-2",
        "import B-1 has expired: upload the file again",
        "import B-1 is odd",
    ],
    "not valid YAMLCHA: CHA": ["not valid YAML line 3: mapping values", "not valid YAML: bad"],
}


def _russian(text: str) -> str:
    """The text as the pages show it in Russian (the ``tr`` filter), checked to be translated."""
    from mineaction.web.i18n import translate

    with use_language("ru"):
        shown = explain_note(translate(text))
    assert shown != text and re.search("[а-яё]", shown), f"not translated: {text!r}"
    return shown


@pytest.mark.parametrize(
    ("module", "at_least"),
    [(importing, 8), (planning, 14), (plan_jobs, 6), (packages, 24)],
    ids=str,
)
def test_every_planning_and_import_message_is_translated(module: ModuleType, at_least: int) -> None:
    messages = form_messages(module)
    assert len(messages) >= at_least, messages
    for text in messages:
        for example in _COMPOSED.get(text, [text]):
            _russian(example)
            _russian(f"teams: {example}")  # an error with its place ("where: message")


def _progress_texts(module: ModuleType) -> list[str]:
    """Examples of every step a planning run reports (progress(...), job.message = ...)."""
    found: list[str | None] = []
    for node in ast.walk(ast.parse(inspect.getsource(module))):
        if isinstance(node, ast.Call) and ast.unparse(node.func) == "progress" and node.args:
            found.append(_example(node.args[0]))
        elif isinstance(node, ast.AnnAssign) and ast.unparse(node.target) == "message":
            found.append(_example(node.value) if node.value else None)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                names = target.elts if isinstance(target, ast.Tuple) else [target]
                values = node.value.elts if isinstance(node.value, ast.Tuple) else [node.value]
                for name, value in zip(names, values, strict=False):
                    if ast.unparse(name) == "job.message":
                        found.append(_example(value))
    return [t for t in found if t is not None]  # (a variable is a message passed on)


def test_plan_run_steps_states_scenarios_and_form_titles_are_translated() -> None:
    steps = _progress_texts(planning) + _progress_texts(plan_jobs)
    assert {"waiting for the planner", "plan stored", "failed", "storing the plan"} <= set(steps)
    assert len(steps) >= 12, steps
    for text in steps:
        _russian(text)
    # every state of a plan and of a planning run
    assert {"draft", "accepted", "superseded", "queued", "running", "done", "failed"} <= set(STATES)
    with use_language("ru"):
        shown = {state_label(word) for word in STATES}
    assert len(shown) == len(STATES) and all(re.search("[а-яё]", w) for w in shown), shown
    # the scenario of a forecast: its name and its one-line description
    settings = [
        planning.ForecastSettings(),
        planning.ForecastSettings(tasking=(0.1,), pace=True),
        planning.ForecastSettings(tasking=(0.1,)),
    ]
    assert {planning.scenario_of(x) for x in settings} == set(planning.SCENARIOS)
    for x in settings:
        label = planning._scenario_text(x)
        _russian(label)
        _russian(label.split(":")[0])  # the name (the forecast table's column)
    # the titles of the import forms
    assert len(FORMS) >= 7
    for form in FORMS.values():
        _russian(form.title)


def test_import_page_and_plan_errors_in_russian(client: TestClient) -> None:
    html = {"accept": "text/html"}
    page = client.get("/import?lang=ru", headers=html).text
    for form in FORMS.values():
        assert f">{form.title}<" not in page
    assert ">Отчёт об опасном районе (нетехническое обследование)<" in page
    r = client.post(
        "/import?lang=ru",
        data={"organisation": "HALO", "form": "nope"},
        files={"file": ("x.csv", b"a,b\n1,2\n", "text/csv")},
        headers=html,
    )
    shown = r.text.replace("&#39;", "'")
    assert r.status_code >= 400 and "неизвестная форма 'nope'; известные формы" in shown, shown
    missing = client.get("/plans/NOPE?lang=ru", headers=html)
    assert missing.status_code == 404 and "нет плана 'NOPE'" in missing.text.replace("&#39;", "'")
    client.get("/plans?lang=en", headers=html)


FIXTURES = Path(__file__).parent.parent / "fixtures"
#: committed fixtures with rejected records (file, column mapping or None, form or None)
_BAD_FIXTURES = [
    ("odk_central/ma_hazard.odata.json", None, None),
    ("odk_central/ma_activity.csv.zip", None, None),
    ("kobo/ma_accident.json", None, None),
    ("gis/hazards.geojson", None, "ma_hazard"),
    ("gis/eo_mgrs.csv", "gis/eo_mgrs.yaml", None),
]
#: examples of the validators' messages the fixtures do not give (core/reports.py,
#: core/geoparse.py, io/formmap.py, services/importing.py) and of pydantic's messages
_ROW_MESSAGES = [
    "Field required",
    "Extra inputs are not permitted",
    "Input should be 'hazard', 'activity' or 'eo'",
    "Input should be greater than 0",
    "Input should be less than 5",
    "Input should be a valid number",
    "String should have at most 2000 characters",
    "List should have at least 1 item after validation, not 0",
    "status_reason is required when a hazard report sets status",
    "end_date 2024-01-01 is before start_date 2024-02-01",
    "releases[1]: a nts report cannot release land as cleared (IMAS 07.11: nts gives cancelled)",
    "date_of_information 1900-01-01 is implausibly early",
    "a 'hazard' report needs exactly one body named 'hazard'; found none",
    "the activity's end_date 2024-03-01 is after the date_of_information 2024-02-01",
    "2030-01-01 is after the submission was sent (2024-01-01)",
    "2030-01-01 is in the future",
    "2024-03-01 is after the date of information 2024-02-01",
    "'abc' is not a whole number",
    "'x' is not a date",
    "none of the fields of form ma_hazard is in this record: export with XML names as "
    "headers (Kobo: 'XML values and headers'), or give a --mapping",
    "the submission is from form ma_accident, not --form ma_eore",
    "the submission has no instance ID",
    "coordinate 'x' is not a number",
    "unreadable geometry (bad WKB)",
]


def test_row_problems_of_the_bad_fixtures_are_translated(sqlite_store: Store) -> None:
    messages: set[str] = set()
    for rel, mapping, form in _BAD_FIXTURES:
        result = importing.import_path(
            sqlite_store,
            FIXTURES / rel,
            organisation="FSD",
            dry_run=True,
            form=form,
            mapping=(FIXTURES / mapping).read_text() if mapping else None,
        )
        assert result.totals.rejected >= 1, rel
        messages |= {p["message"] for r in result.records for p in r.problems}
    assert len(messages) >= 6, messages
    for text in sorted(messages) + _ROW_MESSAGES:
        _russian(text)
    with use_language("ru"):
        shown = explain_note("Input should be 'SHA', 'CHA' or 'EOD_SPOT'")
        assert shown == "допустимые значения: 'SHA', 'CHA' или 'EOD_SPOT'"
        assert explain_note("Input should be less than or equal to 120").endswith(" 120")


def test_import_page_shows_row_problems_in_russian(client: TestClient) -> None:
    r = client.post(
        "/import?lang=ru",
        data={"organisation": "HALO", "form": ""},
        files={"file": ("ma_accident.json", (FIXTURES / "kobo/ma_accident.json").read_bytes())},
        headers={"accept": "text/html"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    r = client.get(r.headers["location"] + "?lang=ru", headers={"accept": "text/html"})
    assert r.status_code == 200, r.text
    problems = re.findall(r'<div class="problem">(.*?)</div>', r.text, re.S)
    assert problems and all(re.search("[а-яё]", p) for p in problems), problems
    assert "Input should be" not in r.text and "значение должно быть не больше 120" in r.text


#: errors whose messages reach the import page, the review pages or the error page
_RAISED = {
    "ValidationError",
    "GeometryError",
    "UnsafeCoordinateError",
    "ConflictError",
    "NotFoundError",
    "PlanningInputError",
    "PermissionDeniedError",
    "TransitionError",
    "StaleVersionError",
    "TooManyRequestsError",
    "ValueError",  # (pydantic validators of core/reports.py: a record's problem)
}
#: composed messages: examples of each shape they take
_SHAPES = {
    "CHACHA has CHA distinct vertices; a polygon needs at least 3": [
        "outer ring has 2 distinct vertices; a polygon needs at least 3",
        "hole 1 has 2 distinct vertices; a polygon needs at least 3",
        "part 2, outer ring has 1 distinct vertices; a polygon needs at least 3",
        "part 2, hole 3 has 2 distinct vertices; a polygon needs at least 3",
    ],
    "CHA; give --form": [
        "form 'ma_x' is not one of ours (ma_hazard, ma_activity); give --form",
        "the export does not name its form (Kobo CSV/XLSX exports do not) and it could not be "
        "recognised; give --form",
    ],
    "import CHA CHA": ["import B-1 is an import, not a dry run", "import B-1 is odd"],
    "not valid YAMLCHA: CHA": ["not valid YAML line 3: mapping values", "not valid YAML: bad"],
    "CHA 'CHA' is not a finite number (NaN or infinity): a corrupted or hostile file; nothing "
    "was imported": [
        f"{what} nan is not a finite number (NaN or infinity): a corrupted or hostile file; "
        "nothing was imported"
        for what in ("coordinate", "latitude", "longitude", "altitude", "accuracy")
    ],
    "CHA 'CHA' is not a number": [
        f"{what} 'x' is not a number" for what in ("coordinate", "latitude", "altitude")
    ],
    "polygon is not valid (CHA); fix the ring or accept the repaired geometry offered in the "
    "details": [
        f"polygon is not valid ({why}[35.2 51.2]); fix the ring or accept the repaired "
        "geometry offered in the details"
        for why in ("Self-intersection", "Ring Self-intersection", "Too few points")
    ],
}


def test_yaml_errors_say_where_and_what_in_russian() -> None:
    import yaml

    from mineaction.io.gis import yaml_error_text

    bad = [
        "teams: [",
        "a: b: c",
        "a:\n\t- b",
        "- {id: x",
        "a: [1, 2",
        'k: "abc',
        "a:\n  b: 1\n c: 2",
    ]
    for text in bad:
        try:
            yaml.safe_load(text)
        except yaml.YAMLError as exc:
            message = yaml_error_text(exc)
        assert message.startswith("not valid YAML (line "), message
        shown_ru = _russian(message)
        assert not re.search(r"\b(?:expected|found|while|mapping|character)\b", shown_ru), shown_ru


def raised_messages(module: ModuleType) -> list[str]:
    """Examples of every message a module raises or records as a record's problem or warning."""
    found: list[str] = []
    for node in ast.walk(ast.parse(inspect.getsource(module))):
        texts: list[ast.expr] = []
        if isinstance(node, ast.Call) and node.args:
            name = ast.unparse(node.func)
            if name.rsplit(".", 1)[-1] in _RAISED or name.endswith(
                ("warnings.append", "notes.append")
            ):
                texts = [node.args[0]]
        elif isinstance(node, ast.Dict):  # {"field": ..., "message": ...}
            texts = [
                v
                for k, v in zip(node.keys, node.values, strict=True)
                if isinstance(k, ast.Constant) and k.value == "message"
            ]
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):  # text + "; ..."
            right = node.right
            if isinstance(right, ast.Constant) and str(right.value).startswith("; "):
                found.append("CHA" + str(right.value))
        for t in texts:
            text = _example(t)
            if text and text != "CHA":  # (a message passed on from elsewhere)
                found.append(text)
    return found


@pytest.mark.parametrize(
    ("module", "at_least"),
    [
        (detect, 4),
        (safety, 10),
        (submissions, 15),
        (gis, 18),
        (formmap, 4),
        (geoparse, 40),
        (geometry, 16),
        (importing, 14),
        (reports, 8),
        # what the review pages, the reports page and the sign-in show
        (ledger, 12),
        (review, 10),
        (reporting, 4),
        (reporting_service, 1),
        (auth, 4),
        # the plan pages: a plan's notes, a failed run's error (services/planning, core/planning)
        (planning, 18),
        (plan_jobs, 5),
        (search, 3),
        (cpsat, 2),
        (planner, 1),
        (schedule, 2),
        (planning_model, 4),
    ],
    ids=str,
)
def test_every_message_that_reaches_a_page_is_translated(module: ModuleType, at_least: int) -> None:
    messages = raised_messages(module)
    assert len(messages) >= at_least, messages
    for text in messages:
        for example in _SHAPES.get(text, [text]):
            if example.startswith("CHA: "):  # a warning names its field first
                example = example[len("CHA: ") :]
            _russian(example)
            # as the import page shows a file-level error: its place in the file, then the text
            err = ValidationError(example, where="data.json, line 4, submission 7")
            with use_language("ru"):
                page = shown(err)
            assert page.startswith("data.json, строка 4, запись 7: "), page
            assert re.search("[а-яё]", page.split(": ", 1)[1]), page
            with use_language("en"):
                assert shown(err).startswith("data.json, line 4, submission 7: ")


def test_planning_and_priority_words_are_translated() -> None:
    from mineaction.core.planning.model import DEFAULT_TERRAINS, AssetClass
    from mineaction.core.priority import CRITERIA
    from mineaction.web.notes import PLANNING_WORDS, planning_label, region_label

    words = {a.value for a in AssetClass} | set(DEFAULT_TERRAINS) | set(CRITERIA)
    words |= {"fitted", "default", "high", "medium", "low", "none"}
    assert words <= set(PLANNING_WORDS), words - set(PLANNING_WORDS)
    for word in words:
        with use_language("ru"):
            assert re.search("[а-яё]", planning_label(word)), word
    with use_language("en"):  # the criteria keep the labels of core.priority in English
        assert all(planning_label(name) == label for name, (label, _) in CRITERIA.items())
    with use_language("ru"):
        assert region_label("programme") == "вся программа"
