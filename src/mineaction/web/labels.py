"""Translatable display labels of the code lists' base terms (stored values stay base terms)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from mineaction.core.codes import LANGUAGES
from mineaction.core.codes import label as english_label
from mineaction.web.i18n import N_, current_language, gettext

#: Country display labels of the page being rendered: ``{lang: {code: label}}`` (code lists).
_country: ContextVar[dict[str, dict[str, str]]] = ContextVar("mineaction_country_labels")


@contextmanager
def use_country_labels(labels: dict[str, dict[str, str]]) -> Iterator[None]:
    """Show the country's code-list labels (from the database) inside the block."""
    token = _country.set(labels)
    try:
        yield
    finally:
        _country.reset(token)


def _country_label(code: str) -> str | None:
    labels = _country.get({})
    if not labels:
        return None
    return labels.get(current_language(), {}).get(code)


#: Display label (msgid) of each base term shown in the interface.
LABELS: dict[str, str] = {
    "SHA": N_("Suspected hazardous area"),
    "CHA": N_("Confirmed hazardous area"),
    "EOD_SPOT": N_("EOD spot task"),
    "open": N_("Open"),
    "worked_on": N_("Worked on"),
    "closed": N_("Closed"),
    "handed_over": N_("Handed over"),
    "AP_MINE": N_("Anti-personnel mine"),
    "AT_MINE": N_("Anti-vehicle mine"),
    "CLUSTER_MUNITION": N_("Cluster munition remnants"),
    "UXO_AXO": N_("UXO / AXO"),
    "IED": N_("Improvised explosive device"),
    "SUBMUNITION": N_("Submunition"),
    "UXO": N_("Unexploded ordnance"),
    "AXO": N_("Abandoned explosive ordnance"),
    "SAA": N_("Small arms ammunition"),
    "OTHER": N_("Other"),
    "NTS": N_("Non-technical survey"),
    "TS": N_("Technical survey"),
    "CLEARANCE": N_("Clearance"),
    "BAC": N_("Battle area clearance"),
    "EOD": N_("EOD spot task"),
    "cancelled": N_("Cancelled"),
    "reduced": N_("Reduced"),
    "cleared": N_("Cleared"),
    "remaining": N_("Remaining"),
    "expansion": N_("Expansion"),
    "submitted": N_("Submitted"),
    "verified": N_("Verified by operator QC"),
    "ops_approved": N_("Approved by operations"),
    "approved": N_("Approved"),
    "rejected": N_("Rejected"),
    "unapproved": N_("Unapproved"),
    "superseded": N_("Superseded"),
    "hazard": N_("Hazard report"),
    "activity": N_("Activity report"),
    "eo": N_("EO spot report"),
    "accident": N_("Accident report"),
    "eore": N_("Risk education report"),
    "qm": N_("Quality management report"),
    "handover": N_("Handover report"),
    "planned": N_("Planned"),
    "in_progress": N_("In progress"),
    "done": N_("Done"),
    "EO_OBSERVED": N_("EO observed"),
    "DETONATION": N_("Detonation"),
    "ACCIDENT_KNOWN_LOCATION": N_("Accident at a known location"),
    "ACCIDENT_UNKNOWN_LOCATION": N_("Accident at an unknown location"),
    "MINEFIELD_RECORD_HIGH": N_("Minefield record (high reliability)"),
    "MINEFIELD_RECORD_LOW": N_("Minefield record (low reliability)"),
    "MARKING": N_("Marking"),
    "FORMER_FRONTLINE": N_("Former front line"),
    "LAND_NOT_USED": N_("Land not used"),
    "VERBAL_REPORT": N_("Verbal report"),
    "SCRAP_CRATERS": N_("Scrap metal or craters"),
    "destroyed_in_situ": N_("Destroyed in situ"),
    "destroyed_central": N_("Destroyed centrally"),
    "removed": N_("Removed"),
    "rendered_safe": N_("Rendered safe"),
    "not_disposed": N_("Not disposed"),
    "armed": N_("Armed"),
    "unarmed": N_("Unarmed"),
    "damaged": N_("Damaged"),
    "unknown": N_("Unknown"),
}

#: Short forms for tight places (chart legends, table cells).
SHORT: dict[str, str] = {
    "SHA": N_("SHA"),
    "CHA": N_("CHA"),
    "EOD_SPOT": N_("EOD spot"),
}


def code_label(code: str | None, *, short: bool = False) -> str:
    """Return the display label of a base term in the current language."""
    if code is None:
        return "–"
    if short and code in SHORT:
        return gettext(SHORT[code])
    country = _country_label(str(code))
    if country:
        return country
    msgid = LABELS.get(str(code))
    if msgid:
        return gettext(msgid)
    # a country code without a label in this language: its label in the default language
    default = _country.get({}).get(LANGUAGES[0], {}).get(str(code))
    return default or english_label(str(code))


#: Display names of the roles (mineaction.core.access.Role values).
ROLES: dict[str, str] = {
    "admin": N_("Administrator"),
    "im_officer": N_("IM officer"),
    "operations": N_("Operations"),
    "operator_entry": N_("Operator data entry"),
    "operator_qc": N_("Operator QC"),
    "viewer": N_("Viewer"),
    "public": N_("Public"),
}


def role_label(role: object) -> str:
    """Return the display name of a role in the current language."""
    key = str(getattr(role, "value", role))
    return gettext(ROLES[key]) if key in ROLES else key


#: The review step a pending report needs next (its target state) and the button doing it.
STEPS: dict[str, str] = {
    "verified": N_("Operator QC verification"),
    "ops_approved": N_("Operations approval"),
    "approved": N_("Final approval (IM)"),
}
STEP_BUTTONS: dict[str, str] = {
    "verified": N_("Verify"),
    "ops_approved": N_("Approve for operations"),
    "approved": N_("Approve"),
}


def step_label(target: str | None, *, button: bool = False) -> str:
    """Return the name of a review step (or its button) in the current language."""
    table = STEP_BUTTONS if button else STEPS
    return gettext(table[target]) if target in table else (target or "–")


#: Display names of the kinds of organisation (mineaction.services.organisations.KINDS).
ORG_KINDS: dict[str, str] = {
    "authority": N_("National authority"),
    "operator": N_("Operator"),
    "ngo": N_("NGO"),
    "commercial": N_("Commercial company"),
    "military": N_("Military"),
    "qa": N_("Quality assurance body"),
}

#: Display names of the code lists (mineaction.core.codes.CODE_LISTS).
CODE_LIST_NAMES: dict[str, str] = {
    "HazardClassification": N_("Hazard classification"),
    "HazardStatus": N_("Hazard status"),
    "ContaminationType": N_("Contamination type"),
    "EvidenceType": N_("Evidence type"),
    "ActivityType": N_("Activity type"),
    "ReleaseOutcome": N_("Land release outcome"),
    "EOCategory": N_("Explosive ordnance category"),
    "EOCondition": N_("Condition of EO"),
    "DisposalMethod": N_("Disposal method"),
}


def org_kind_label(kind: str | None) -> str:
    """Return the display name of a kind of organisation in the current language."""
    return gettext(ORG_KINDS[kind]) if kind in ORG_KINDS else (kind or "–")


def code_list_label(name: str) -> str:
    """Return the display name of a code list in the current language."""
    return gettext(CODE_LIST_NAMES[name]) if name in CODE_LIST_NAMES else name


#: Titles and descriptions of the reports (mineaction.services.reporting.REPORTS), by name.
REPORT_TEXTS: dict[str, tuple[str, str]] = {
    "apmbc-article7": (
        N_("APMBC Article 7: mined areas and anti-personnel mines destroyed"),
        N_(
            "Mined areas (location, SHA/CHA count and area by contamination) and AP mines "
            "destroyed by type"
        ),
    ),
    "oslo-action-plan": (
        N_("Oslo Action Plan: contamination and progress by admin area"),
        N_(
            "SHA/CHA with size at start and end; cancelled by NTS, reduced by TS, cleared; by admin area"
        ),
    ),
    "ccm-form-f": (
        N_("CCM Article 7 Form F: cluster munition contaminated areas and clearance"),
        N_("CMR-contaminated areas, land released and submunitions destroyed"),
    ),
    "ccm-form-g": (
        N_("CCM Article 7 Form G: explosive ordnance risk education"),
        N_("Risk education sessions and beneficiaries by sex and age"),
    ),
    "ccm-form-h": (
        N_("CCM Article 7 Form H: casualties for victim assistance (aggregate)"),
        N_("Casualties by device, sex and age (aggregate only, no personal data)"),
    ),
    "operations": (
        N_("Operations report"),
        N_("Per operator and programme: land released, productivity, EO, accidents, QA/QC, tasks"),
    ),
}


def report_title(name: str, title: str) -> str:
    """Return a report's title in the current language (``title`` for a report not listed)."""
    return gettext(REPORT_TEXTS[name][0]) if name in REPORT_TEXTS else title


def report_description(name: str, text: str) -> str:
    """Return a report's description in the current language (``text`` if not listed)."""
    return gettext(REPORT_TEXTS[name][1]) if name in REPORT_TEXTS else text


def scope_text(area: str | None, organisation: str | None) -> str:
    """Describe a report scope in the current language.

    >>> from mineaction.web.i18n import use_language
    >>> with use_language("en"): scope_text("RG1", "FSD")
    'admin area RG1, organisation FSD'
    >>> with use_language("ru"): scope_text(None, None)
    'вся программа'
    """
    parts = []
    if area:
        parts.append(gettext("admin area %(code)s") % {"code": area})
    if organisation:
        parts.append(gettext("organisation %(code)s") % {"code": organisation})
    return ", ".join(parts) or gettext("whole programme")
