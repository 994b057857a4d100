"""Code lists (IMAS / GICHD MDR base terms) with English display labels.

Base terms are stored; labels are shown and can be translated or extended per country
without changing stored data (the maXML "base term / display term" pattern).
"""

from __future__ import annotations

from enum import StrEnum


class HazardClassification(StrEnum):
    """Land classification: SHA (indirect evidence), CHA (direct evidence), EOD spot task."""

    SHA = "SHA"
    CHA = "CHA"
    EOD_SPOT = "EOD_SPOT"


class HazardStatus(StrEnum):
    """Status of a hazard: open -> worked on -> closed -> handed over."""

    OPEN = "open"
    WORKED_ON = "worked_on"
    CLOSED = "closed"
    HANDED_OVER = "handed_over"


class ContaminationType(StrEnum):
    """Type of explosive ordnance contamination (Article 7 breakdown)."""

    AP_MINE = "AP_MINE"
    AT_MINE = "AT_MINE"
    CLUSTER_MUNITION = "CLUSTER_MUNITION"
    UXO_AXO = "UXO_AXO"
    IED = "IED"


class EvidenceKind(StrEnum):
    """Whether a piece of evidence is direct (CHA) or indirect (SHA)."""

    DIRECT = "direct"
    INDIRECT = "indirect"


class EvidenceType(StrEnum):
    """Evidence of contamination (IMSMA standard values; national standards decide direct/indirect)."""

    EO_OBSERVED = "EO_OBSERVED"
    DETONATION = "DETONATION"
    ACCIDENT_KNOWN_LOCATION = "ACCIDENT_KNOWN_LOCATION"
    ACCIDENT_UNKNOWN_LOCATION = "ACCIDENT_UNKNOWN_LOCATION"
    MINEFIELD_RECORD_HIGH = "MINEFIELD_RECORD_HIGH"
    MINEFIELD_RECORD_LOW = "MINEFIELD_RECORD_LOW"
    MARKING = "MARKING"
    FORMER_FRONTLINE = "FORMER_FRONTLINE"
    LAND_NOT_USED = "LAND_NOT_USED"
    VERBAL_REPORT = "VERBAL_REPORT"
    SCRAP_CRATERS = "SCRAP_CRATERS"
    OTHER = "OTHER"


#: Default (IMSMA wiki) split of evidence types into direct and indirect; a national
#: standard can override it.
DEFAULT_EVIDENCE_KIND: dict[EvidenceType, EvidenceKind] = {
    EvidenceType.EO_OBSERVED: EvidenceKind.DIRECT,
    EvidenceType.DETONATION: EvidenceKind.DIRECT,
    EvidenceType.ACCIDENT_KNOWN_LOCATION: EvidenceKind.DIRECT,
    EvidenceType.MINEFIELD_RECORD_HIGH: EvidenceKind.DIRECT,
    EvidenceType.MARKING: EvidenceKind.DIRECT,
    EvidenceType.ACCIDENT_UNKNOWN_LOCATION: EvidenceKind.INDIRECT,
    EvidenceType.MINEFIELD_RECORD_LOW: EvidenceKind.INDIRECT,
    EvidenceType.FORMER_FRONTLINE: EvidenceKind.INDIRECT,
    EvidenceType.LAND_NOT_USED: EvidenceKind.INDIRECT,
    EvidenceType.VERBAL_REPORT: EvidenceKind.INDIRECT,
    EvidenceType.SCRAP_CRATERS: EvidenceKind.INDIRECT,
    EvidenceType.OTHER: EvidenceKind.INDIRECT,
}


class ActivityType(StrEnum):
    """Land-release and EO activities (IMSMA activity types)."""

    NTS = "NTS"
    TS = "TS"
    CLEARANCE = "CLEARANCE"
    BAC = "BAC"
    EOD = "EOD"


class ActivityStage(StrEnum):
    """Whether an activity report is a progress report or the completion report."""

    PROGRESS = "progress"
    COMPLETION = "completion"


class ReleaseOutcome(StrEnum):
    """The three land-release outcomes, weakest first: cancelled (NTS), reduced (TS), cleared."""

    CANCELLED = "cancelled"
    REDUCED = "reduced"
    CLEARED = "cleared"


#: Which activity may produce which release outcome (IMAS 07.11).
ALLOWED_OUTCOMES: dict[ActivityType, frozenset[ReleaseOutcome]] = {
    ActivityType.NTS: frozenset({ReleaseOutcome.CANCELLED}),
    ActivityType.TS: frozenset({ReleaseOutcome.REDUCED}),
    ActivityType.CLEARANCE: frozenset({ReleaseOutcome.CLEARED}),
    ActivityType.BAC: frozenset({ReleaseOutcome.CLEARED}),
    ActivityType.EOD: frozenset(),
}


class EOCategory(StrEnum):
    """Explosive ordnance category (Article 7 and MDR device categories)."""

    AP_MINE = "AP_MINE"
    AT_MINE = "AT_MINE"
    SUBMUNITION = "SUBMUNITION"
    UXO = "UXO"
    AXO = "AXO"
    IED = "IED"
    SMALL_ARMS_AMMUNITION = "SAA"
    OTHER = "OTHER"


class EOCondition(StrEnum):
    """Condition of an EO item found."""

    ARMED = "armed"
    UNARMED = "unarmed"
    DAMAGED = "damaged"
    UNKNOWN = "unknown"


class DisposalMethod(StrEnum):
    """How an EO item was destroyed or disposed of."""

    DESTROYED_IN_SITU = "destroyed_in_situ"
    DESTROYED_CENTRAL = "destroyed_central"
    REMOVED = "removed"
    RENDERED_SAFE = "rendered_safe"
    NOT_DISPOSED = "not_disposed"


class ReportType(StrEnum):
    """Kinds of field report that enter the ledger."""

    HAZARD = "hazard"
    ACTIVITY = "activity"
    EO = "eo"
    ACCIDENT = "accident"
    EORE = "eore"
    QM = "qm"
    HANDOVER = "handover"


class ReportState(StrEnum):
    """Workflow state of a report (default chain: operator QC, authority operations, IM)."""

    SUBMITTED = "submitted"
    VERIFIED = "verified"
    OPS_APPROVED = "ops_approved"
    APPROVED = "approved"
    REJECTED = "rejected"
    UNAPPROVED = "unapproved"
    SUPERSEDED = "superseded"


class Sex(StrEnum):
    """Sex of a person (SADD)."""

    FEMALE = "female"
    MALE = "male"
    UNKNOWN = "unknown"


class CasualtyStatus(StrEnum):
    """Outcome for a victim."""

    KILLED = "killed"
    INJURED = "injured"


class Severity(StrEnum):
    """Severity of a QM non-conformity."""

    MINOR = "minor"
    MAJOR = "major"
    CRITICAL = "critical"


LABELS: dict[str, str] = {
    "SHA": "Suspected hazardous area",
    "CHA": "Confirmed hazardous area",
    "EOD_SPOT": "EOD spot task",
    "open": "Open",
    "worked_on": "Worked on",
    "closed": "Closed",
    "handed_over": "Handed over",
    "AP_MINE": "Anti-personnel mine",
    "AT_MINE": "Anti-vehicle mine",
    "CLUSTER_MUNITION": "Cluster munition remnants",
    "UXO_AXO": "UXO / AXO",
    "IED": "Improvised explosive device",
    "SUBMUNITION": "Submunition",
    "UXO": "Unexploded ordnance",
    "AXO": "Abandoned explosive ordnance",
    "SAA": "Small arms ammunition",
    "NTS": "Non-technical survey",
    "TS": "Technical survey",
    "CLEARANCE": "Clearance",
    "BAC": "Battle area clearance",
    "EOD": "EOD spot task",
    "cancelled": "Cancelled",
    "reduced": "Reduced",
    "cleared": "Cleared",
    "submitted": "Submitted",
    "verified": "Verified by operator QC",
    "ops_approved": "Approved by operations",
    "approved": "Approved",
    "rejected": "Rejected",
    "unapproved": "Unapproved",
    "superseded": "Superseded",
}


def label(code: str) -> str:
    """Return the English display label for a base term (the code itself if none).

    >>> label("CHA")
    'Confirmed hazardous area'
    >>> label("XYZ")
    'XYZ'
    """
    return LABELS.get(str(code), str(code))


#: Interface and label languages (the first is the default; labels in it are required).
LANGUAGES: tuple[str, ...] = ("en", "ru")

#: The code lists a country may extend (name -> the enum of its base terms).
CODE_LISTS: dict[str, type[StrEnum]] = {
    "HazardClassification": HazardClassification,
    "HazardStatus": HazardStatus,
    "ContaminationType": ContaminationType,
    "EvidenceType": EvidenceType,
    "ActivityType": ActivityType,
    "ReleaseOutcome": ReleaseOutcome,
    "EOCategory": EOCategory,
    "EOCondition": EOCondition,
    "DisposalMethod": DisposalMethod,
}

_CODE_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.")


def base_terms(list_name: str) -> list[str]:
    """Return the base terms of a code list (``ValueError`` naming the lists if unknown).

    >>> base_terms("ReleaseOutcome")
    ['cancelled', 'reduced', 'cleared']
    >>> base_terms("Colours")
    Traceback (most recent call last):
    ...
    ValueError: unknown code list 'Colours': use one of HazardClassification, HazardStatus, ...
    """
    enum = CODE_LISTS.get(list_name)
    if enum is None:
        raise ValueError(f"unknown code list {list_name!r}: use one of {', '.join(CODE_LISTS)}")
    return [m.value for m in enum]


def is_base_term(list_name: str, code: str) -> bool:
    """True when ``code`` is one of the base terms of ``list_name``.

    >>> is_base_term("EOCategory", "AP_MINE"), is_base_term("EOCategory", "PFM_1")
    (True, False)
    """
    return code in base_terms(list_name)


def check_country_code(list_name: str, code: str, base_term: str) -> list[tuple[str, str]]:
    """Return the problems of a new country code as (field, message); empty when it is fine.

    A country code is 1-100 letters, digits, ``_``, ``-`` or ``.``, is not already a base term
    and maps onto a base term of the same list (so national reports still aggregate).

    >>> check_country_code("EOCategory", "PFM_1", "AP_MINE")
    []
    >>> check_country_code("EOCategory", "AP_MINE", "AP_MINE")
    [('code', 'AP_MINE is already a base term of EOCategory')]
    >>> check_country_code("EOCategory", "bad code", "MINE")
    [('code', 'use only letters, digits, _, - and . (no spaces)'), ('base_term', 'MINE is not a base term of EOCategory')]
    """
    terms = base_terms(list_name)
    problems: list[tuple[str, str]] = []
    if not code:
        problems.append(("code", "enter a code"))
    elif len(code) > 100 or not set(code) <= _CODE_CHARS:
        problems.append(("code", "use only letters, digits, _, - and . (no spaces)"))
    elif code in terms:
        problems.append(("code", f"{code} is already a base term of {list_name}"))
    if base_term not in terms:
        problems.append(
            ("base_term", f"{base_term or 'nothing'} is not a base term of {list_name}")
        )
    return problems
