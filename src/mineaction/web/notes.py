"""Notes, warnings and proposals of the core and services, in the page's language.

The projection's explanation notes, status reasons and flags, a submission's geometry warnings
and the review inbox's reconciliation proposals are written in English by the core and the
services, with areas in whole m² (``new hazard, 265,736 m²``); they stay free of any locale.
Here each known shape is recognised and shown translated, with its areas and codes formatted
for the page's language. Text of an unknown shape (or free text typed by a user, such as a
closing reason) is shown as it is.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from mineaction.web import notes_import
from mineaction.web.i18n import N_, fmt_m2, fmt_number, gettext, ngettext, translate
from mineaction.web.labels import code_label, code_list_label, org_kind_label, role_label

_NUM = r"(-?[\d,]+)"


def _m2(text: str) -> str:
    return fmt_m2(float(text.replace(",", "")))


def _code(text: str) -> str:
    return code_label(text)


def _short(text: str) -> str:
    return code_label(text, short=True)


def _keep(text: str) -> str:
    return text


def _decimal(text: str) -> str:
    return fmt_number(float(text), 1)


def _named(text: str) -> str:
    if text == "it names none":
        return gettext("it names no hazard")
    m = re.fullmatch(r"it names (\S+)", text)
    return gettext("it names %(id)s") % {"id": m.group(1)} if m else text


def _role(text: str) -> str:
    return role_label(text)


def _list(text: str) -> str:
    return code_list_label(text)


def _why(text: str) -> str:
    return gettext(_WHY[text]) if text in _WHY else text


#: (pattern, message, one formatter per group) of every note the projection writes.
_NOTES: list[tuple[re.Pattern[str], str, tuple[Callable[[str], str], ...]]] = [
    (
        re.compile(r"classification (\w+) given, but the evidence suggests (\w+)"),
        N_("classification %(a)s given, but the evidence suggests %(b)s"),
        (_short, _short),
    ),
    (
        re.compile(r"classification (\w+) -> (\w+)"),
        N_("classification %(a)s → %(b)s"),
        (_short, _short),
    ),
    (re.compile(rf"new hazard, {_NUM} m²"), N_("new hazard, %(a)s"), (_m2,)),
    (
        re.compile(rf"boundary changed \(baseline change\): {_NUM} m² -> {_NUM} m²"),
        N_("boundary changed (baseline change): %(a)s → %(b)s"),
        (_m2, _m2),
    ),
    (re.compile(r"status set to (\w+): (.*)"), N_("status set to %(a)s: %(b)s"), (_code, _keep)),
    (
        re.compile(rf"releases\[(\w+)\]: reported {_NUM} m² (\w+) but the polygon is {_NUM} m²"),
        N_("release %(a)s: reported %(b)s %(c)s, but the polygon is %(d)s"),
        (_keep, _m2, _code, _m2),
    ),
    (
        re.compile(rf"reported {_NUM} m² (\w+) in total but the polygons give {_NUM} m²"),
        N_("reported %(a)s %(b)s in total, but the polygons give %(c)s"),
        (_m2, _code, _m2),
    ),
    (re.compile(r"([A-Z][A-Z_]*) started"), N_("%(a)s started"), (_code,)),
    (re.compile(r"all land released"), N_("all land released"), ()),
    (
        re.compile(rf"closed with {_NUM} m² remaining: (.*)"),
        N_("closed with %(a)s remaining: %(b)s"),
        (_m2, _keep),
    ),
    (
        re.compile(
            rf"completion report leaves {_NUM} m² remaining; the hazard stays (\w+) "
            r"\(give close_reason to close it\)"
        ),
        N_(
            "the completion report leaves %(a)s remaining; the hazard stays %(b)s (give a closing reason to close it)"
        ),
        (_m2, _code),
    ),
    (re.compile(r"handed over to (.*)"), N_("handed over to %(a)s"), (_keep,)),
    # warnings of a submission (mineaction.core.geometry)
    (
        re.compile(r"two consecutive vertices are ([\d.]+) km apart \(more than (\d+) km\)"),
        N_("two consecutive vertices are %(a)s km apart (more than %(b)s km)"),
        (_decimal, _keep),
    ),
    # reconciliation proposals of the review inbox (mineaction.services.review)
    (
        re.compile(
            r"updates existing hazard (\S+) \((\w+)\); (\d+)% of the new polygon lies inside it"
        ),
        N_("updates existing hazard %(a)s (%(b)s); %(c)s %% of the new polygon lies inside it"),
        (_keep, _code, _keep),
    ),
    (
        re.compile(
            r"(\d+)% of this polygon overlaps approved hazard (\S+) \((\w+)\): "
            r"update or link to \S+ instead of creating a new hazard\?"
        ),
        N_(
            "%(a)s %% of this polygon overlaps approved hazard %(b)s (%(c)s): update or link to "
            "%(b)s instead of creating a new hazard?"
        ),
        (_keep, _keep, _code),
    ),
    (
        re.compile(r"(\d+)% of this polygon overlaps pending report (\S+) \(hazard (\S+), (.+)\)"),
        N_("%(a)s %% of this polygon overlaps pending report %(b)s (hazard %(c)s, %(d)s)"),
        (_keep, _keep, _keep, _keep),
    ),
    (
        re.compile(
            r"EO reported (\d+) m away and (\d+) days apart in (\S+) \((.+)\): the same item\(s\)\?"
        ),
        N_("EO reported %(a)s m away and %(b)s days apart in %(c)s (%(d)s): the same items?"),
        (_keep, _keep, _keep, _keep),
    ),
    (
        re.compile(r"(.+?) was also submitted by (.+) as (\S+) \((\w+)\): keep one"),
        N_("%(a)s was also submitted by %(b)s as %(c)s (%(d)s): keep one"),
        (_why, _keep, _keep, _code),
    ),
    (
        re.compile(r"creates new hazard (\S+); no approved hazard overlaps it"),
        N_("creates new hazard %(a)s; no approved hazard overlaps it"),
        (_keep,),
    ),
    (
        re.compile(
            r"lies inside approved hazard (\S+) \((\w+)\) but (.+): link the report to \S+\?"
        ),
        N_("lies inside approved hazard %(a)s (%(b)s) but %(c)s: link the report to %(a)s?"),
        (_keep, _code, _named),
    ),
    (
        re.compile(r"an edited version: approving it supersedes (\S+)"),
        N_("an edited version: approving it supersedes %(a)s"),
        (_keep,),
    ),
]
# messages of the administration services shown on the forms (users, organisations, codes)
_Q = r"('[^'\n]*'|[^'\s]+)"  # a value as the services write it (quoted by !r, or not)
_NOTES += [
    (re.compile(r"enter the name"), N_("enter the name"), ()),
    (re.compile(r"enter a code"), N_("enter a code"), ()),
    (re.compile(r"enter the label in English"), N_("enter the label in English"), ()),
    (re.compile(r"at most (\w+) characters"), N_("at most %(a)s characters"), (_keep,)),
    (
        re.compile(r"use 1-100 letters, digits and \. : / _ - \(no spaces\)"),
        N_("use 1-100 letters, digits and . : / _ - (no spaces)"),
        (),
    ),
    (
        re.compile(r"use only letters, digits, _, - and \. \(no spaces\)"),
        N_("use only letters, digits, _, - and . (no spaces)"),
        (),
    ),
    (
        re.compile(rf"unknown kind {_Q}: use one of (.+)"),
        N_("unknown kind %(a)s: use one of %(b)s"),
        (_keep, lambda t: _kinds(t)),
    ),
    (
        re.compile(rf"unknown language {_Q}: use one of (.+)"),
        N_("unknown language %(a)s: use one of %(b)s"),
        (_keep, _keep),
    ),
    (re.compile(rf"unknown language {_Q}"), N_("unknown language %(a)s"), (_keep,)),
    (
        re.compile(rf"organisation {_Q} is already registered: edit it instead"),
        N_("organisation %(a)s is already registered: edit it instead"),
        (_keep,),
    ),
    (re.compile(rf"{_Q} is already registered"), N_("%(a)s is already registered"), (_keep,)),
    (
        re.compile(rf"organisation {_Q} is not registered: add it first or pick another"),
        N_("organisation %(a)s is not registered: add it first or pick another"),
        (_keep,),
    ),
    (
        re.compile(rf"no admin area with P-code {_Q}: use a registered P-code"),
        N_("no admin area with P-code %(a)s: use a registered P-code"),
        (_keep,),
    ),
    (
        re.compile(rf"invalid user name {_Q}: use 1-100 letters, digits, '_', '\.', '@' or '-'"),
        N_("invalid user name %(a)s: use 1-100 letters, digits, '_', '.', '@' or '-'"),
        (_keep,),
    ),
    (
        re.compile(r"'public' is the anonymous role; it cannot be given to an account"),
        N_("'public' is the anonymous role; it cannot be given to an account"),
        (),
    ),
    (
        re.compile(r"a user with role (\w+) needs an organisation"),
        N_("a user with role %(a)s needs an organisation"),
        (_role,),
    ),
    (
        re.compile(r"cannot change (.+): only (.+)"),
        N_("cannot change %(a)s: only %(b)s"),
        (_keep, _keep),
    ),
    (
        re.compile(r"password too short: use at least (\w+) characters"),
        N_("password too short: use at least %(a)s characters"),
        (_keep,),
    ),
    (re.compile(rf"user {_Q} already exists"), N_("user %(a)s already exists"), (_keep,)),
    (re.compile(rf"user {_Q} is disabled"), N_("user %(a)s is disabled"), (_keep,)),
    (
        re.compile(r"you cannot disable your own account: ask another administrator"),
        N_("you cannot disable your own account: ask another administrator"),
        (),
    ),
    (re.compile(rf"no user {_Q}"), N_("no user %(a)s"), (_keep,)),
    # records not found (mineaction.store): the error page
    (
        re.compile(
            rf"no hazard with id {_Q} \(hazards appear once their first report is approved\)"
        ),
        N_("no hazard with id %(a)s (hazards appear once their first report is approved)"),
        (_keep,),
    ),
    (re.compile(rf"no report with id {_Q}"), N_("no report with id %(a)s"), (_keep,)),
    # (a form refused as stale shows its own message; these reach the error page)
    (
        re.compile(
            rf"(?:user |organisation )?{_Q} (?:is at version \S+, not \S+|changed meanwhile|"
            r"was changed by someone else(?: since it was read| meanwhile)?): "
            r"reload(?: it)?(?: and apply your change again)?"
        ),
        N_("%(a)s was changed by someone else: reload it and apply your change again"),
        (_keep,),
    ),
    (re.compile(rf"no organisation {_Q}"), N_("no organisation %(a)s"), (_keep,)),
    (
        re.compile(rf"no code {_Q} in the code list (\S+)"),
        N_("no code %(a)s in the code list %(b)s"),
        (_keep, _list),
    ),
    (
        re.compile(r"the code (\S+) is already in (\S+): edit it instead"),
        N_("the code %(a)s is already in %(b)s: edit it instead"),
        (_keep, _list),
    ),
    (
        re.compile(
            r"(\S+) is a base term of (\S+) \(IMAS / MDR\): base terms cannot be removed or "
            r"deactivated; change its label instead"
        ),
        N_(
            "%(a)s is a base term of %(b)s (IMAS / MDR): base terms cannot be removed or "
            "deactivated; change its label instead"
        ),
        (_keep, _list),
    ),
    (
        re.compile(r"(\S+) is already a base term of (\S+)"),
        N_("%(a)s is already a base term of %(b)s"),
        (_keep, _list),
    ),
    (
        re.compile(r"(\S+) is not a base term of (\S+)"),
        N_("%(a)s is not a base term of %(b)s"),
        (_keep, _list),
    ),
]
# messages of the planning and import services (services/planning.py, plan_jobs.py,
# importing.py) that reach the plan and import pages' errors or the error page
_NOTES += [
    (
        re.compile(rf"unknown form {_Q}; known forms: (.+)"),
        N_("unknown form %(a)s; known forms: %(b)s"),
        (_keep, _keep),
    ),
    (re.compile(rf"no import with id {_Q}"), N_("no import with id %(a)s"), (_keep,)),
    (
        re.compile(
            r"the Shapefile's (.+) file is missing next to it \(a Shapefile is several files: "
            r"keep them together, or zip them\)"
        ),
        N_(
            "the Shapefile's %(a)s file is missing next to it (a Shapefile is several files: "
            "keep them together, or zip them)"
        ),
        (_keep,),
    ),
    (
        re.compile(r"import (\S+) is an import, not a dry run"),
        N_("import %(a)s is an import, not a dry run"),
        (_keep,),
    ),
    (
        re.compile(r"import (\S+) was already confirmed as import (\S+)"),
        N_("import %(a)s was already confirmed as import %(b)s"),
        (_keep, _keep),
    ),
    (
        re.compile(r"import (\S+) has expired: upload the file again"),
        N_("import %(a)s has expired: upload the file again"),
        (_keep,),
    ),
    (re.compile(r"import (\S+) is (\w+)"), N_("import %(a)s is %(b)s"), (_keep, _keep)),
    (
        re.compile(r"the file is (\d+) MB; the limit is (\d+) MB \(split the export\)"),
        N_("the file is %(a)s MB; the limit is %(b)s MB (split the export)"),
        (_keep, _keep),
    ),
    (re.compile(r"cannot read the file: (.+)"), N_("cannot read the file: %(a)s"), (_keep,)),
    (
        re.compile(r"as-of date (\S+) must be in the past \(after 1900\)"),
        N_("as-of date %(a)s must be in the past (after 1900)"),
        (_keep,),
    ),
    (
        re.compile(r"plan start (\S+) must be between 1900 and 2200"),
        N_("plan start %(a)s must be between 1900 and 2200"),
        (_keep,),
    ),
    (
        re.compile(r"planner produced an infeasible plan: (.+)"),
        N_("the planner produced an infeasible plan: %(a)s"),
        (_keep,),
    ),
    (
        re.compile(r"nothing happened after (\S+): the latest approved activity is dated (\S+)"),
        N_("nothing happened after %(a)s: the latest approved activity is dated %(b)s"),
        (_keep, _keep),
    ),
    (re.compile(r"no open hazard as of (\S+)"), N_("no open hazard as of %(a)s"), (_keep,)),
    (re.compile(r"(\w+) file not found"), N_("%(a)s file not found"), (_keep,)),
    (
        re.compile(r"not valid YAML line (\d+): (.*)", re.S),
        N_("not valid YAML (line %(a)s): %(b)s"),
        (_keep, _keep),
    ),
    (re.compile(r"not valid YAML: (.*)", re.S), N_("not valid YAML: %(a)s"), (_keep,)),
    (
        re.compile(r"team home regions (.+) are not planning regions; use one of (.+)"),
        N_("team home regions %(a)s are not planning regions; use one of %(b)s"),
        (_keep, _keep),
    ),
    (
        re.compile(
            rf"scope {_Q} matches no open hazard \(region P-code prefix or organisation code\)"
        ),
        N_("scope %(a)s matches no open hazard (region P-code prefix or organisation code)"),
        (_keep,),
    ),
    (re.compile(rf"no plan {_Q}"), N_("no plan %(a)s"), (_keep,)),
    (
        re.compile(
            r"plan (\S+) is (\w+), not a draft: its tasks were created when it was accepted; "
            r"run a new plan to change them"
        ),
        N_(
            "plan %(a)s is %(b)s, not a draft: its tasks were created when it was accepted; "
            "run a new plan to change them"
        ),
        (_keep, lambda w: state_label(w)),
    ),
    (
        re.compile(r"hazard (\S+) of plan (\S+) no longer exists; run a new plan"),
        N_("hazard %(a)s of plan %(b)s no longer exists; run a new plan"),
        (_keep, _keep),
    ),
    (
        re.compile(rf"plan run {_Q} not found \(runs are kept in memory until a restart\)"),
        N_("plan run %(a)s not found (runs are kept in memory until a restart)"),
        (_keep,),
    ),
    (
        re.compile(r"(\S+) plan runs are already waiting: try again when one has finished"),
        N_("%(a)s plan runs are already waiting: try again when one has finished"),
        (_keep,),
    ),
    (
        re.compile(r"(\S+) must be between (\S+) and (\S+)"),
        N_("%(a)s must be between %(b)s and %(c)s"),
        (lambda w: field_label(w), _keep, _keep),
    ),
    (
        re.compile(
            r"a forecast of (\S+) work packages with (\S+) samples is too large to run inside a "
            r"web request; start a planning run with a forecast on the plans page \(it runs in "
            r"the background\) or run `mineaction plan forecast` on the server"
        ),
        N_(
            "a forecast of %(a)s work packages with %(b)s samples is too large to run inside a "
            "web request; start a planning run with a forecast on the plans page (it runs in "
            "the background) or run `mineaction plan forecast` on the server"
        ),
        (_keep, _keep),
    ),
    (
        re.compile(r"(\S+) must be a number"),
        N_("%(a)s must be a number"),
        (lambda w: field_label(w),),
    ),
    (
        re.compile(r"(\S+) must be a date YYYY-MM-DD"),
        N_("%(a)s must be a date YYYY-MM-DD"),
        (lambda w: field_label(w),),
    ),
    # a planning run's progress (services/plan_jobs.py, services/planning.py)
    (
        re.compile(r"planning (\S+) work packages on (\S+) teams"),
        N_("planning %(a)s work packages on %(b)s teams"),
        (_keep, _keep),
    ),
    (re.compile(r"forecast: (\S+) samples"), N_("forecast: %(a)s samples"), (_keep,)),
    (
        re.compile(r"replaying the ledger as of (\S+)"),
        N_("replaying the ledger as of %(a)s"),
        (_keep,),
    ),
    (
        re.compile(r"forecast from (\S+): (\S+) samples"),
        N_("forecast from %(a)s: %(b)s samples"),
        (_keep, _keep),
    ),
    # the scenario a completion forecast assumes (services/planning.py, _scenario_text)
    (
        re.compile(
            r"at the programme's observed pace: hazards taken up as the record shows for "
            r"(\d+) months, then ([\d.]+) never-worked hazards and ([\d.]+) going-on take-ups "
            r"a month \(fitted counts, in the record's order\); new contamination not included"
        ),
        N_(
            "at the programme's observed pace: hazards taken up as the record shows for "
            "%(a)s months, then %(b)s never-worked hazards and %(c)s going-on take-ups a month "
            "(fitted counts, in the record's order); new contamination not included"
        ),
        (_keep, _decimal, _decimal),
    ),
]
# the teams and calendars of a planning run (mineaction.core.planning.packages): form errors
_NOTES += [
    (
        re.compile(rf"unknown asset class {_Q}: use manual, dogs \(mdd\), mechanical, ts or nts"),
        N_("unknown asset class %(a)s: use manual, dogs (mdd), mechanical, ts or nts"),
        (_keep,),
    ),
    (re.compile(rf"{_Q} is not a date YYYY-MM-DD"), N_("%(a)s is not a date YYYY-MM-DD"), (_keep,)),
    (
        re.compile(rf"{_Q} is not a month-day MM-DD"),
        N_("%(a)s is not a month-day MM-DD"),
        (_keep,),
    ),
    (re.compile(r"not a valid calendar: (.+)"), N_("not a valid calendar: %(a)s"), (_keep,)),
    (
        re.compile(r"unknown calendar keys (.+): use (.+)"),
        N_("unknown calendar keys %(a)s: use %(b)s"),
        (_keep, _keep),
    ),
    (
        re.compile(r"closure ends (\S+) before it starts (\S+)"),
        N_("the closure ends %(a)s before it starts %(b)s"),
        (_keep, _keep),
    ),
    (
        re.compile(r"unknown keys (.+): use default, regions, travel"),
        N_("unknown keys %(a)s: use default, regions, travel"),
        (_keep,),
    ),
    (re.compile(r"(\S+) must be a mapping"), N_("%(a)s must be a mapping"), (_keep,)),
    (
        re.compile(r"travel days must be numbers: (.+)"),
        N_("travel days must be numbers: %(a)s"),
        (_keep,),
    ),
    (re.compile(rf"team id {_Q} appears twice"), N_("team id %(a)s appears twice"), (_keep,)),
    (re.compile(r"rate on (\S+) must be >= 0"), N_("rate on %(a)s must be >= 0"), (_keep,)),
]


def _or(text: str) -> str:
    return text.replace("' or '", "' " + gettext("or") + " '")


_WHAT = {
    "a whole number": N_("a whole number"),
    "a number": N_("a number"),
    "a date": N_("a date"),
}


def _what(text: str) -> str:
    return gettext(_WHAT[text]) if text in _WHAT else text


# problems of an imported record (row-level): pydantic's messages for our report models
# (core/reports.py) and our validators (core/reports.py, core/geoparse.py, io/formmap.py,
# io/gis.py, services/importing.py); field names and quoted values stay as written
_NOTES += [
    (
        re.compile(r"Input should be ('[^']*'(?:, '[^']*')*(?: or '[^']*')?)"),
        N_("Input should be %(a)s"),
        (_or,),
    ),
    (
        re.compile(r"Input should be greater than or equal to (\S+)"),
        N_("Input should be greater than or equal to %(a)s"),
        (_keep,),
    ),
    (
        re.compile(r"Input should be greater than (\S+)"),
        N_("Input should be greater than %(a)s"),
        (_keep,),
    ),
    (
        re.compile(r"Input should be less than or equal to (\S+)"),
        N_("Input should be less than or equal to %(a)s"),
        (_keep,),
    ),
    (
        re.compile(r"Input should be less than (\S+)"),
        N_("Input should be less than %(a)s"),
        (_keep,),
    ),
    (
        re.compile(r"String should have at most (\d+) characters?"),
        N_("String should have at most %(a)s characters"),
        (_keep,),
    ),
    (
        re.compile(r"String should have at least (\d+) characters?"),
        N_("String should have at least %(a)s characters"),
        (_keep,),
    ),
    (
        re.compile(r"List should have at least (\d+) items? after validation, not (\d+)"),
        N_("List should have at least %(a)s items after validation, not %(b)s"),
        (_keep, _keep),
    ),
    (
        re.compile(r"end_date (\S+) is before start_date (\S+)"),
        N_("end_date %(a)s is before start_date %(b)s"),
        (_keep, _keep),
    ),
    (
        re.compile(r"a (\w+) report cannot release land as (\w+) \(IMAS 07\.11: \w+ gives (.+)\)"),
        N_("a %(a)s report cannot release land as %(b)s (IMAS 07.11: %(a)s gives %(c)s)"),
        (_keep, _keep, _keep),
    ),
    (
        re.compile(r"date_of_information (\S+) is implausibly early"),
        N_("date_of_information %(a)s is implausibly early"),
        (_keep,),
    ),
    (
        re.compile(r"a ('\w+') report needs exactly one body named '\w+'; found (.+)"),
        N_("a %(a)s report needs exactly one body named %(a)s; found %(b)s"),
        (_keep, _keep),
    ),
    (
        re.compile(r"the activity's (\w+) (\S+) is after the date_of_information (\S+)"),
        N_("the activity's %(a)s %(b)s is after the date_of_information %(c)s"),
        (_keep, _keep, _keep),
    ),
    (
        re.compile(r"(\S+) is after the submission was sent \((\S+)\)"),
        N_("%(a)s is after the submission was sent (%(b)s)"),
        (_keep, _keep),
    ),
    (re.compile(r"(\S+) is in the future"), N_("%(a)s is in the future"), (_keep,)),
    (
        re.compile(r"(\S+) is after the date of information (\S+)"),
        N_("%(a)s is after the date of information %(b)s"),
        (_keep, _keep),
    ),
    (
        re.compile(r"('.*') is not (a whole number|a number|a date)"),
        N_("%(a)s is not %(b)s"),
        (_keep, _what),
    ),
    (
        re.compile(
            r"none of the fields of form (\S+) is in this record: export with XML names as "
            r"headers \(Kobo: 'XML values and headers'\), or give a --mapping"
        ),
        N_(
            "none of the fields of form %(a)s is in this record: export with XML names as "
            "headers (Kobo: 'XML values and headers'), or give a --mapping"
        ),
        (_keep,),
    ),
    (
        re.compile(r"the submission is from form (\S+), not --form (\S+)"),
        N_("the submission is from form %(a)s, not --form %(b)s"),
        (_keep, _keep),
    ),
    (
        re.compile(
            r"position (\[.*\]) is out of range \(GeoJSON order is \[longitude, latitude\]\)"
        ),
        N_("position %(a)s is out of range (GeoJSON order is [longitude, latitude])"),
        (_keep,),
    ),
    (
        re.compile(r"coordinate (.+) is not a number"),
        N_("coordinate %(a)s is not a number"),
        (_keep,),
    ),
    (
        re.compile(r"unreadable geometry \((.*)\)", re.S),
        N_("unreadable geometry (%(a)s)"),
        (notes_import.detail,),
    ),
]
_VALID = {  # what pydantic says an input should be ("Input should be a valid ...")
    "date": N_("a date"),
    "date or datetime": N_("a date or a date and time"),
    "datetime or date": N_("a date and time or a date"),
    "datetime": N_("a date and time"),
    "time": N_("a time of day"),
    "dictionary": N_("a mapping (key: value)"),
    "list": N_("a list"),
    "tuple": N_("a list"),
    "set": N_("a set"),
    "boolean": N_("yes or no"),
    "integer": N_("a whole number"),
    "number": N_("a number"),
    "string": N_("a text value"),
    "UUID": N_("a UUID"),
}
_WHY_INVALID = {  # and why it is not (pydantic-core's parsing errors)
    "input is too short": N_("the value is too short"),
    "input is too long": N_("the value is too long"),
    "day value is outside expected range": N_("the day is out of range"),
    "month value is outside expected range of 1-12": N_("the month is not in 1-12"),
    "unexpected extra characters at the end of the input": N_("extra characters at the end"),
    "got a number with a fractional part": N_("the number has a fractional part"),
    "unable to parse string as an integer": N_("the text is not a whole number"),
    "unable to parse string as a number": N_("the text is not a number"),
    "unable to interpret input": N_("the value is not understood"),
    "invalid date separator, expected `-`": N_("wrong date separator: use '-'"),
}
_PARTS = {
    "year": N_("invalid character in the year"),
    "month": N_("invalid character in the month"),
    "day": N_("invalid character in the day"),
    "hour": N_("invalid character in the hour"),
}


def _valid(text: str) -> str:
    return gettext(_VALID[text]) if text in _VALID else text


def _why_invalid(text: str) -> str:
    m = re.fullmatch(r"invalid character in (\w+)", text)
    if m and m.group(1) in _PARTS:
        return gettext(_PARTS[m.group(1)])
    return gettext(_WHY_INVALID[text]) if text in _WHY_INVALID else text


def _roles(text: str) -> str:
    return ", ".join(role_label(r) for r in text.split(", "))


def _quoted_code(text: str) -> str:
    return f"'{code_label(text.strip(chr(39)))}'"


def _kinds(text: str) -> str:
    return ", ".join(org_kind_label(k) for k in text.split(", "))


# pydantic's other messages, by the type of value (any model: reports, forms, settings)
_NOTES += [
    (
        re.compile(r"Input should be a valid ([\w ]+?), (.+)"),
        N_("Input should be a valid %(a)s, %(b)s"),
        (_valid, _why_invalid),
    ),
    (
        re.compile(r"Input should be a valid ([\w ]+)"),
        N_("Input should be a valid %(a)s"),
        (_valid,),
    ),
]
# the planner's notes on a plan (services/planning.py, core/planning) and its input errors
_NOTES += [
    (
        re.compile(r"(\S+) (\w+) team\(s\) left out: no planning asset class for (\w+)"),
        N_("%(a)s team(s) of kind %(b)s left out: no planning asset class for %(c)s"),
        (_keep, _keep, _keep),
    ),
    (
        re.compile(
            r"(\S+) hazard\(s\) not in the latest prioritisation run: weight = lowest score"
        ),
        N_("%(a)s hazard(s) not in the latest prioritisation run: they weigh as the lowest score"),
        (_keep,),
    ),
    (
        re.compile(
            r"environmental rules \(IMAS 07\.13\): (\S+) hazard\(s\) in a protected area or "
            r"near water \(latest prioritisation run\): no mechanical assets there"
        ),
        N_(
            "environmental rules (IMAS 07.13): %(a)s hazard(s) in a protected area or near water "
            "(latest prioritisation run): no mechanical assets there"
        ),
        (_keep,),
    ),
    (
        re.compile(
            r"(\w+) rates x (\S+): utilisation over the last 12 months \((\S+) reported "
            r"team-days of (\S+) workable\)"
        ),
        N_(
            "%(a)s rates x %(b)s: utilisation over the last 12 months (%(c)s team-days "
            "reported of %(d)s workable)"
        ),
        (_keep, _keep, _keep, _keep),
    ),
    (
        re.compile(r"task (\S+) in progress not kept in place: unknown stage"),
        N_("task %(a)s in progress not kept in place: unknown stage"),
        (_keep,),
    ),
    (
        re.compile(rf"task (\S+) in progress not kept in place: team {_Q} not in the teams"),
        N_("task %(a)s in progress not kept in place: team %(b)s is not among the teams"),
        (_keep, _keep),
    ),
    (
        re.compile(r"local search: (\S+) improving moves in (\S+) tries"),
        N_("local search: %(a)s improving moves in %(b)s tries"),
        (_keep, _keep),
    ),
    (
        re.compile(r"(\S+) layer: (\S+) moves / (\S+) tries, kept=(\S+)"),
        N_("layer %(a)s: %(b)s moves in %(c)s tries, kept: %(d)s"),
        (_keep, _keep, _keep, _keep),
    ),
    (
        re.compile(r"CP-SAT (\w+): no solution in the time limit"),
        N_("CP-SAT %(a)s: no solution in the time limit"),
        (_keep,),
    ),
    (
        re.compile(r"CP-SAT (\w+), objective (\S+) \(approximate durations\), bound (\S+)"),
        N_("CP-SAT %(a)s, objective %(b)s (approximate durations), bound %(c)s"),
        (_keep, _keep, _keep),
    ),
    (
        re.compile(r"parallel search: (\S+) processes x (\S+) rounds"),
        N_("parallel search: %(a)s processes x %(b)s rounds"),
        (_keep, _keep),
    ),
    (
        re.compile(r"round (\d+): (.*) \((.*)\)"),
        N_("round %(a)s: %(b)s (%(c)s)"),
        (_keep, _keep, lambda t: explain_note(t)),
    ),
    (
        re.compile(
            r"work package ('[^']*')(?: \((\w+), terrain ('[^']*')\))?: no team may work on it "
            r"\(rates 0, stage or environmental rules\); add a team or record an exemption"
        ),
        N_(
            "no team may work on work package %(a)s (rates 0, stage or environmental rules): "
            "add a team or record an exemption"
        ),
        (_keep, _keep, _keep),
    ),
    (
        re.compile(r"release ratios (.+) must be >= 0 and sum to 1; fix the calibration input"),
        N_("release ratios %(a)s must be >= 0 and sum to 1; fix the calibration input"),
        (_keep,),
    ),
    (
        re.compile(
            r"frozen work on ('[^']*') starts on day (\S+) < 0: re-plan from today with the "
            r"remaining area and start_day=0"
        ),
        N_(
            "frozen work on %(a)s starts on day %(b)s < 0: plan again from today with the "
            "remaining area and start_day=0"
        ),
        (_keep, _keep),
    ),
    # access, periods and code lists (web/auth.py, core/reporting.py, core/codes.py)
    (
        re.compile(r"role (\w+) may not do this \((.+)\)"),
        N_("the role %(a)s may not do this (%(b)s)"),
        (_role, _keep),
    ),
    (re.compile(r"role (\w+) may not do this"), N_("the role %(a)s may not do this"), (_role,)),
    (
        re.compile(
            rf"{_Q} is not a period; use YYYY, YYYY-MM, YYYY-MM\.\.YYYY-MM or "
            r"YYYY-MM-DD\.\.YYYY-MM-DD"
        ),
        N_("%(a)s is not a period; use YYYY, YYYY-MM, YYYY-MM..YYYY-MM or YYYY-MM-DD..YYYY-MM-DD"),
        (_keep,),
    ),
]
# the review workflow (services/ledger.py, services/review.py): errors of approve / reject /
# link on the review pages; reports and scopes (core/reporting.py); sign-in and forms (web/auth)
_NOTES += [
    (
        re.compile(
            rf"unknown organisation {_Q}; registered: (.*) \(add it with `mineaction orgs add`\)"
        ),
        N_("unknown organisation %(a)s; registered: %(b)s (add it with `mineaction orgs add`)"),
        (_keep, _keep),
    ),
    (
        re.compile(
            rf"report_id {_Q} already exists with different content; to correct it submit a new "
            r'report with a new report_id and "supersedes": "(.*)"'
        ),
        N_(
            "report_id %(a)s already exists with different content; to correct it, submit a new "
            'report with a new report_id and "supersedes": "%(b)s"'
        ),
        (_keep, _keep),
    ),
    (
        re.compile(
            r"report (\S+) is at version (\S+) \((\w+)\), not (\S+): someone acted on it "
            r"meanwhile; reload it"
        ),
        N_(
            "report %(a)s is at version %(b)s (%(c)s), not %(d)s: someone acted on it meanwhile; "
            "reload it"
        ),
        (_keep, _keep, _code, _keep),
    ),
    (
        re.compile(rf"no approved reports for hazard {_Q}"),
        N_("no approved reports for hazard %(a)s"),
        (_keep,),
    ),
    (
        re.compile(r"report (\S+) is (\w+); only submitted reports can be approved"),
        N_("report %(a)s is %(b)s; only submitted reports can be approved"),
        (_keep, _code),
    ),
    (
        re.compile(
            r"cannot approve report (\S+): a record it carries \(accident, victim, EORE session or "
            r"inspection id\) is already in the database from another report; correct the id, or "
            r'submit it as a correction with "supersedes"'
        ),
        N_(
            "cannot approve report %(a)s: a record it carries (accident, victim, EORE session or "
            "inspection id) is already in the database from another report; correct the id, or "
            'submit it as a correction with "supersedes"'
        ),
        (_keep,),
    ),
    (
        re.compile(r"cannot approve report (\S+): (.+)", re.S),
        N_("cannot approve report %(a)s: %(b)s"),
        (_keep, lambda t: explain_note(t)),
    ),
    (
        re.compile(r"report (\S+) is (\w+); it cannot be rejected"),
        N_("report %(a)s is %(b)s; it cannot be rejected"),
        (_keep, _code),
    ),
    (
        re.compile(r"report (\S+) is (\w+), not approved"),
        N_("report %(a)s is %(b)s, not approved"),
        (_keep, _code),
    ),
    (
        re.compile(
            r"cannot unapprove report (\S+): later approved reports of hazard (\S+) depend on it "
            r"\((.*)\); unapprove those first"
        ),
        N_(
            "cannot unapprove report %(a)s: later approved reports of hazard %(b)s depend on it "
            "(%(c)s); unapprove those first"
        ),
        (_keep, _keep, _keep),
    ),
    (
        re.compile(
            r"approval levels must be an ordered subset of (.+) \(the final level 'approved' is "
            r"implicit\); got (.+)"
        ),
        N_(
            "approval levels must be an ordered subset of %(a)s (the final level 'approved' is "
            "implicit); got %(b)s"
        ),
        (_keep, _keep),
    ),
    (
        re.compile(r"role ('\w+') cannot move a report to ('\w+') \(allowed: (.+)\)"),
        N_("the role %(a)s cannot move a report to %(b)s (allowed: %(c)s)"),
        (lambda r: role_label(r.strip("'")), lambda w: code_label(w.strip("'")), _roles),
    ),
    (
        re.compile(r"report (\S+) waits for another approval level: (.+)", re.S),
        N_("report %(a)s waits for another approval level: %(b)s"),
        (_keep, lambda t: explain_note(t)),
    ),
    (
        re.compile(r"report (\S+) needs operator QC verification first \(review verify\)"),
        N_("report %(a)s needs operator QC verification first"),
        (_keep,),
    ),
    (
        re.compile(r"report (\S+) is (\w+); only pending reports are reviewed"),
        N_("report %(a)s is %(b)s; only pending reports are reviewed"),
        (_keep, _code),
    ),
    (
        re.compile(r"report (\S+) is (\w+); its next step is ('\w+'), not ('\w+')"),
        N_("report %(a)s is %(b)s; its next step is %(c)s, not %(d)s"),
        (_keep, _code, _quoted_code, _quoted_code),
    ),
    (
        re.compile(r"report (\S+) is (\w+); only pending reports"),
        N_("report %(a)s is %(b)s; only pending reports can be linked"),
        (_keep, _code),
    ),
    (
        re.compile(r"a (\w+) report does not refer to a hazard"),
        N_("a report of type %(a)s does not refer to a hazard"),
        (_code,),
    ),
    (
        re.compile(r"report (\S+) already refers to hazard (\S+)"),
        N_("report %(a)s already refers to hazard %(b)s"),
        (_keep, _keep),
    ),
    (
        re.compile(rf"no approved hazard {_Q} to attach the report to"),
        N_("no approved hazard %(a)s to attach the report to"),
        (_keep,),
    ),
    (re.compile(rf"{_Q} ends before it starts"), N_("%(a)s ends before it starts"), (_keep,)),
    (
        re.compile(rf"{_Q} is not a scope; use area:PCODE_PREFIX or org:ORG_CODE"),
        N_("%(a)s is not a scope; use area:PCODE_PREFIX or org:ORG_CODE"),
        (_keep,),
    ),
    (
        re.compile(rf"unknown scope kind {_Q}; use area:PCODE_PREFIX or org:ORG_CODE"),
        N_("unknown scope kind %(a)s; use area:PCODE_PREFIX or org:ORG_CODE"),
        (_keep,),
    ),
    (
        re.compile(rf"no report called {_Q}; known reports: (.+) \(see `mineaction report list`\)"),
        N_("no report called %(a)s; known reports: %(b)s"),
        (_keep, lambda names: ", ".join(f"'{n}'" for n in names.split(", "))),
    ),
    (
        re.compile(r"too many failed attempts: try again in (\S+) s"),
        N_("too many failed attempts: try again in %(a)s s"),
        (_keep,),
    ),
]
# the readers of imported files and the geometry checks (web/notes_import.py)
_NOTES += notes_import.PATTERNS
# a code form sent without a base term ("nothing is not a base term"): before the general one
_NOTES.insert(
    0,
    (
        re.compile(r"nothing is not a base term of (\S+)"),
        N_("choose a base term of %(a)s"),
        (_list,),
    ),
)
#: fixed texts of the services, shown translated as they are
_FIXED = (
    frozenset(
        {
            # problems of an imported record (pydantic and our validators)
            N_("Field required"),
            N_("Extra inputs are not permitted"),
            N_("Input should be a valid number"),
            N_("Input should be a valid integer"),
            N_("Input should be a valid string"),
            N_("Input should be a valid date"),
            N_("Input should be a finite number"),
            N_("required answer is missing"),
            N_("the submission has no instance ID"),
            N_("status_reason is required when a hazard report sets status"),
            N_(
                "cleared land needs the clearance depth (depth_cm on the release or "
                "clearance_depth_cm on the activity; IMAS 09.10)"
            ),
            # errors of the import and planning services
            N_("an import needs the organisation code (--org)"),
            N_("the column mapping is not UTF-8 text"),
            N_(
                "no teams: the database has none (setting 'teams'); give --teams FILE "
                "(YAML list of id, asset, home)"
            ),
            N_("no open hazard with remaining area to plan"),
            N_("no plan yet: run `mineaction plan run`"),
            N_("weights are priority or equal"),
            N_("max team-days per work package must be > 0"),
            N_("a calendar is a mapping of its keys"),
            N_("monthly_fraction needs 12 values in [0, 1] (Jan..Dec)"),
            N_("weekly_rest days are 0 (Monday) .. 6 (Sunday)"),
            N_("a closure needs start and end dates"),
            N_("closure fraction must be in [0, 1]"),
            N_("rotation is a mapping {days_on: N, days_off: N, start: DATE}"),
            N_("rotation needs days_on >= 1, days_off >= 0, days_on + days_off <= 366"),
            N_("calendars file must be a mapping"),
            N_("travel pairs is a list"),
            N_("travel pairs are [REGION_A, REGION_B, DAYS >= 0]"),
            N_("travel default_days must be in [0, 365]"),
            N_("each team is a mapping with id and asset"),
            N_("team has no id"),
            N_("rates is a mapping terrain: m2 per team-day"),
            # a planning run's progress
            N_("waiting for the planner"),
            N_("loading approved data"),
            N_("calibrating and cutting work packages"),
            N_("lower bound (time-indexed LP)"),
            N_("marginal effect of one more team per class"),
            N_("storing the plan"),
            N_("plan stored"),
            # forecast scenarios (services.planning.SCENARIOS and their one-line descriptions)
            N_("at the programme's observed pace"),
            N_("whole stock at reported rates"),
            N_("take-up curves with a capped tail (previous model)"),
            N_(
                "whole stock at reported rates: every open hazard available from the start, the "
                "teams working through it by the plan's priorities (a what-if: not how the "
                "programme has taken hazards up)"
            ),
            N_(
                "take-up curves with a capped tail (previous model): take-up drawn from the "
                "curves' tails, capped at 20 years"
            ),
            # planning, review and pydantic texts without a pattern
            N_("no prioritisation run: every hazard has weight 1 (run `mineaction prioritise`)"),
            N_(
                "stage lags (WorkPackage.stage_lags) are timed by dispatching only; the local "
                "search's incremental timing does not know them"
            ),
            N_("Calendar.monthly_fraction needs 12 values (Jan..Dec)"),
            N_("Calendar.rotation is (days on >= 1, days off >= 0)"),
            N_("CP-SAT found no solution in the time limit"),
            N_("a rejection needs a reason for the submitter"),
            N_("unapproving needs a reason"),
            N_("operator QC verification ('verified') comes before 'ops_approved'"),
            N_("missing or wrong CSRF token: reload the page and submit the form again"),
            N_("NUL characters are not allowed in URLs"),
            N_("Datetimes provided to dates should have zero time - e.g. be exact dates"),
            N_("Unable to parse input string as an integer, exceeded maximum size"),
            # titles of the import forms (mineaction.forms)
            N_("Hazard report (non-technical survey)"),
            N_("Survey and clearance progress / completion"),
            N_("EO spot report"),
            N_("Accident and victim report"),
            N_("EORE session"),
            N_("QA/QC inspection"),
            N_("Handover of released land"),
        }
    )
    | notes_import.FIXED
)
#: the states of a plan (services.planning) and of a planning run (services.plan_jobs)
STATES = {
    "draft": N_("draft"),
    "accepted": N_("accepted"),
    "superseded": N_("superseded"),
    "queued": N_("queued"),
    "running": N_("running"),
    "done": N_("done"),
    "failed": N_("failed"),
}


#: the planner's asset classes (core.planning.model.AssetClass), terrains and rate sources,
#: the priority classes and criteria of a prioritisation
PLANNING_WORDS = {
    "manual": N_("manual clearance"),
    "dogs": N_("mine detection dogs"),
    "mechanical": N_("mechanical clearance"),
    "ts": N_("technical survey"),
    "nts": N_("non-technical survey"),
    "open": N_("open ground"),
    "vegetated": N_("vegetated ground"),
    "steep": N_("steep ground"),
    "fitted": N_("fitted to the reports"),
    "default": N_("default"),
    # priority classes of the presets (mineaction/priority_presets)
    "high": N_("high"),
    "medium": N_("medium"),
    "low": N_("low"),
    "none": N_("none"),
    # the criteria of a prioritisation (core.priority.CRITERIA, same English labels)
    "people_1km": N_("people living within the near radius (default 1 km)"),
    "people_5km": N_("people living within the far radius (default 5 km)"),
    "roads_blocked": N_("road and track links blocked"),
    "market_access_cut": N_("market access cut (sum of blocked links' weights)"),
    "farmland_m2": N_("farmland blocked"),
    "infrastructure_blocked": N_("infrastructure blocked (weighted count)"),
    "casualties_recent": N_("recent casualties (killed + injured in the window)"),
    "contamination": N_("contamination type value (highest present)"),
    "evidence": N_("evidence strength (0 to 1)"),
    "reported_blockages": N_("blockages reported by survey"),
    "beneficiaries": N_("beneficiaries reported by survey"),
    "protected_area": N_("overlaps a protected area (1 = yes)"),
    "near_water": N_("near a water body (1 = yes)"),
}


#: where an imported report came from (Submission.system of mineaction.io)
SOURCES = {"kobo": "KoboToolbox", "odk-central": "ODK Central", "gis": N_("GIS file or table")}


def source_label(system: str | None) -> str:
    """Return where a report came from, in the current language (proper names kept).

    >>> from mineaction.web.i18n import use_language
    >>> with use_language("ru"): source_label("gis"), source_label("kobo"), source_label(None)
    ('ГИС-файл или таблица', 'KoboToolbox', '–')
    """
    if not system:
        return "–"
    return gettext(SOURCES[system]) if system in SOURCES else system


def planning_label(word: str | None) -> str:
    """Return an asset class, terrain or rate source of the planner in the current language.

    >>> from mineaction.web.i18n import use_language
    >>> with use_language("ru"): planning_label("nts"), planning_label("rocky")
    ('нетехническое обследование', 'rocky')
    """
    if not word:
        return ""
    return gettext(PLANNING_WORDS[word]) if word in PLANNING_WORDS else word


def state_label(word: str | None) -> str:
    """Return the state of a plan or of a planning run in the current language.

    >>> from mineaction.web.i18n import use_language
    >>> with use_language("ru"): state_label("draft"), state_label("odd")
    ('черновик', 'odd')
    """
    if not word:
        return ""
    return gettext(STATES[word]) if word in STATES else word


_WHY = {
    "the same form instance": N_("the same form instance"),
    "identical content": N_("identical content"),
}
_EO_FOUND = re.compile(r"(\d+) EO item\(s\) found")
_FLAG = re.compile(r"([^\s:]+): (.+)")


def explain_note(text: str | None) -> str:
    """Return a note of the projection (or a status reason, or a flag) in the current language.

    >>> from mineaction.web.i18n import use_language
    >>> with use_language("en"): explain_note("new hazard, 265,736 m²")
    'new hazard, 265,736\\xa0m²'
    >>> with use_language("ru"): explain_note("new hazard, 265,736 m²")
    'новый опасный район, 265\\xa0736\\xa0м²'
    >>> with use_language("ru"): explain_note("3 EO item(s) found")
    'найдено 3 ВОП'
    >>> with use_language("ru"): explain_note("R-7: reported 1,000 m² cleared in total but the polygons give 900 m²")
    'R-7: всего заявлено 1\\xa0000\\xa0м² (Очищено), но по полигонам 900\\xa0м²'
    >>> explain_note("a closing reason typed by someone")
    'a closing reason typed by someone'
    """
    if not text:
        return ""
    found = _EO_FOUND.fullmatch(text)
    if text in _FIXED:
        return gettext(text)
    if found:
        n = int(found.group(1))
        return ngettext("%(num)d EO item found", "%(num)d EO items found", n) % {"num": n}
    for pattern, message, formats in _NOTES:
        m = pattern.fullmatch(text)
        if m:
            values = {k: f(v) for k, f, v in zip("abcd", formats, m.groups(), strict=False)}
            return gettext(message) % values
    flag = _FLAG.fullmatch(text)
    if flag:  # "R-7: ..." (a report's flag) or "hazard.polygon: ..." (where a warning is)
        inner = explain_note(flag.group(2))
        if inner != flag.group(2):
            return f"{flag.group(1)}: {inner}"
    return text


def region_label(region: str | None) -> str:
    """Return a forecast's region, the whole programme's row named in the current language.

    >>> from mineaction.web.i18n import use_language
    >>> with use_language("ru"): region_label("programme"), region_label("RG1")
    ('вся программа', 'RG1')
    """
    return gettext("whole programme") if region == "programme" else (region or "")


#: the fields errors of the web forms name (``where``), as their forms call them
_FIELDS = {
    "organisation": N_("Organisation"),
    "--org": N_("Organisation"),
    "--form": N_("Form"),
    "form": N_("Form"),
    "mapping": N_("Column mapping"),
    "--period": N_("Period"),
    "teams": N_("Teams"),
    "teams_yaml": N_("Teams"),
    "calendars": N_("Calendars"),
    "calendars_yaml": N_("Calendars"),
    "reason": N_("Reason"),
    "weights": N_("Weights"),
    # the fields of the plan run form (services/plan_jobs.py: options_from_form)
    "time_limit": N_("Search time"),
    "bound_time": N_("Bound time"),
    "max_team_days": N_("Largest work package"),
    "horizon_years": N_("Horizon"),
    "start": N_("Start date"),
    "seed": N_("Seed"),
    "samples": N_("Samples"),
    "deadline": N_("Treaty deadline"),
}


def field_label(where: str) -> str:
    """Return the place an error names: a form's field by its label, a record in its file.

    >>> from mineaction.web.i18n import use_language
    >>> with use_language("ru"): field_label("organisation"), field_label("f.csv, row 3")
    ('Организация', 'f.csv, строка 3')
    """
    return gettext(_FIELDS[where]) if where in _FIELDS else notes_import.place(where)


def shown(value: object) -> str:
    """Return a message (text, marked text or error) as the pages show it, translated.

    An error is shown as ``where: message``, where the place of a record in its file is
    translated too.

    >>> from mineaction.errors import ValidationError
    >>> from mineaction.web.i18n import use_language
    >>> err = ValidationError("not a KoboToolbox export (needs 'results')", where="my file.json")
    >>> with use_language("ru"): shown(err)
    "my file.json: это не выгрузка KoboToolbox (нужен ключ 'results')"
    """
    message = getattr(value, "message", None)
    if isinstance(value, Exception) and isinstance(message, str):
        where = getattr(value, "where", None)
        text = explain_note(translate(message))
        if not where or where == "_" or message.startswith(f"{where} "):  # (names it already)
            return text
        return f"{field_label(where)}: {text}"
    return explain_note(translate(value))
