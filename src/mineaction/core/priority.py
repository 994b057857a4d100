"""Multi-criteria hazard prioritisation: configuration, normalisation, scores, classes, cost.

Pure rules (no I/O). The spatial joins that measure the criteria live in
``mineaction.services.prioritise``; the shipped presets in ``mineaction/priority_presets``.

A score is ``sum over criteria of weight x normalise(value)``; every term is kept as that
criterion's *contribution*, so a score is always explained by its parts. Normalisations are
non-decreasing and weights non-negative, so a hazard never loses priority because one of its
benefit criteria grew. Feasibility is the expected effort of releasing the remaining area
through the stage chain NTS -> TS -> clearance (area x expected release ratios / rates), which
gives a value-for-money ranking (score per 1,000 of cost).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from mineaction.errors import ValidationError

CONFIG_FORMAT = 1

#: Criteria the analysis measures: name -> (label, unit).
CRITERIA: dict[str, tuple[str, str]] = {
    "people_1km": ("people living within the near radius (default 1 km)", "people"),
    "people_5km": ("people living within the far radius (default 5 km)", "people"),
    "roads_blocked": ("road and track links blocked", "links"),
    "market_access_cut": ("market access cut (sum of blocked links' weights)", "weight"),
    "farmland_m2": ("farmland blocked", "m²"),
    "infrastructure_blocked": ("infrastructure blocked (weighted count)", "weight"),
    "casualties_recent": ("recent casualties (killed + injured in the window)", "people"),
    "contamination": ("contamination type value (highest present)", "value"),
    "evidence": ("evidence strength (0 to 1)", "0-1"),
    "reported_blockages": ("blockages reported by survey", "count"),
    "beneficiaries": ("beneficiaries reported by survey", "people"),
    "protected_area": ("overlaps a protected area (1 = yes)", "0/1"),
    "near_water": ("near a water body (1 = yes)", "0/1"),
}

NORMALISATIONS = ("raw", "binary", "linear", "log")

DEFAULT_PARAMETERS: dict[str, Any] = {
    "people_near_m": 1000.0,
    "people_far_m": 5000.0,
    "blocking_distance_m": 100.0,
    "accident_radius_m": 1000.0,
    "casualty_window_months": 24,
    "road_class_weights": {
        "motorway": 1.0,
        "trunk": 1.0,
        "primary": 1.0,
        "secondary": 0.6,
        "tertiary": 0.3,
        "unclassified": 0.2,
        "residential": 0.2,
        "track": 0.1,
        "path": 0.05,
        "default": 0.2,
    },
    "infrastructure_weights": {
        "school": 1.0,
        "clinic": 1.0,
        "water_point": 1.0,
        "power_line": 0.5,
        "default": 0.5,
    },
    "contamination_values": {
        "AP_MINE": 1.0,
        "AT_MINE": 0.8,
        "IED": 1.0,
        "CLUSTER_MUNITION": 0.9,
        "UXO_AXO": 0.5,
    },
    "evidence_values": {
        "EO_OBSERVED": 1.0,
        "DETONATION": 0.9,
        "ACCIDENT_KNOWN_LOCATION": 1.0,
        "MINEFIELD_RECORD_HIGH": 0.9,
        "MARKING": 0.8,
        "ACCIDENT_UNKNOWN_LOCATION": 0.5,
        "MINEFIELD_RECORD_LOW": 0.4,
        "FORMER_FRONTLINE": 0.4,
        "SCRAP_CRATERS": 0.4,
        "LAND_NOT_USED": 0.3,
        "VERBAL_REPORT": 0.3,
        "OTHER": 0.2,
    },
}

#: Feasibility defaults. Rates are the planning priors for open terrain (planning.md section
#: 4.1 and Appendix A E2-E7: manual 10-50 m²/deminer/day, so a team of 8-10 is a few hundred
#: m²/team-day; TS 3,000; planning.md found *no* published NTS rate, so 20,000 is an explicit
#: assumption). Release ratios are the 2022 worldwide split of land released, 32 % cancelled /
#: 24 % reduced / 44 % cleared (planning.md sections 5.2 and 7). Cost per team-day: US$10 per
#: m² cleared (domain.md section 4, Harris; range US$2-39, French 2006) x 400 m²/team-day
#: = US$4,000 [inferred]. All are priors: calibrate them from the programme's own reports.
DEFAULT_FEASIBILITY: dict[str, Any] = {
    "rates_m2_per_team_day": {"NTS": 20000.0, "TS": 3000.0, "CLEARANCE": 400.0},
    "release_ratios": {
        "SHA": {"cancelled": 0.32, "reduced": 0.24, "cleared": 0.44},
        "CHA": {"cancelled": 0.0, "reduced": 0.35, "cleared": 0.65},
        "EOD_SPOT": {"cancelled": 0.0, "reduced": 0.0, "cleared": 1.0},
    },
    "stages": {
        "SHA": ["NTS", "TS", "CLEARANCE"],
        "CHA": ["TS", "CLEARANCE"],
        "EOD_SPOT": ["CLEARANCE"],
    },
    "min_team_days": 0.5,
    "cost_per_team_day": 4000.0,
    "currency": "USD",
}


@dataclass(frozen=True)
class Criterion:
    """One criterion's normalisation and weight."""

    name: str
    weight: float
    normalise: str = "linear"
    cap: float = 1.0
    threshold: float = 0.0

    def normalised(self, value: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Return the normalised value(s): non-decreasing in ``value``.

        >>> Criterion("people_1km", 1, "linear", cap=1000).normalised([0, 500, 5000]).tolist()
        [0.0, 0.5, 1.0]
        >>> Criterion("farmland_m2", 1, "log", cap=9).normalised([0, 9, 99]).round(3).tolist()
        [0.0, 1.0, 1.0]
        >>> Criterion("roads_blocked", 1, "binary").normalised([0, 1, 7]).tolist()
        [0.0, 1.0, 1.0]
        >>> Criterion("casualties_recent", 2, "raw").normalised([0, 3]).tolist()
        [0.0, 3.0]
        """
        v = np.nan_to_num(np.asarray(value, dtype=float), nan=0.0)
        v = np.maximum(v, 0.0)
        if self.normalise == "raw":
            return v
        if self.normalise == "binary":
            return (v > self.threshold).astype(float)
        if self.normalise == "linear":
            return np.minimum(v / self.cap, 1.0)
        # log
        return np.minimum(np.log1p(v) / math.log1p(self.cap), 1.0)


@dataclass(frozen=True)
class PriorityClass:
    """A priority class: scores at or above ``min`` (and below the next class up)."""

    name: str
    min: float


@dataclass(frozen=True)
class PriorityConfig:
    """A versioned prioritisation configuration (criteria, weights, classes, feasibility)."""

    name: str
    version: str
    description: str
    criteria: tuple[Criterion, ...]
    classes: tuple[PriorityClass, ...]
    default_class: str
    parameters: Mapping[str, Any]
    feasibility: Mapping[str, Any]
    source: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def as_dict(self) -> dict[str, Any]:
        """Return the canonical, fully resolved configuration (defaults filled in)."""
        return {
            "format": CONFIG_FORMAT,
            "name": self.name,
            "version": self.version,
            "description": self.description,
            "criteria": {
                c.name: {
                    "weight": c.weight,
                    "normalise": c.normalise,
                    "cap": c.cap,
                    "threshold": c.threshold,
                }
                for c in self.criteria
            },
            "classes": [{"name": k.name, "min": k.min} for k in self.classes],
            "default_class": self.default_class,
            "parameters": _plain(self.parameters),
            "feasibility": _plain(self.feasibility),
        }

    @property
    def hash(self) -> str:
        """Return the SHA-256 of the canonical configuration (changes whenever any value does)."""
        text = json.dumps(self.as_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    def classify(self, score: float) -> str:
        """Return the priority class of a score.

        >>> cfg = parse_config({"name": "t", "version": "1", "criteria": {"evidence": {"weight": 1}},
        ...     "classes": [{"name": "high", "min": 10}, {"name": "low", "min": 1}]})
        >>> cfg.classify(12), cfg.classify(3), cfg.classify(0)
        ('high', 'low', 'none')
        """
        for k in self.classes:
            if score >= k.min:
                return k.name
        return self.default_class


def _plain(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    return obj


def _merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merge ``over`` onto ``base`` (mappings merged, other values replaced)."""
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), Mapping):
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


def _number(value: Any, where: str, *, minimum: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValidationError(f"must be a number, got {value!r}", where=where)
    if minimum is not None and value < minimum:
        raise ValidationError(f"must be >= {minimum}, got {value}", where=where)
    return float(value)


def parse_config(data: Any, *, where: str = "priority config") -> PriorityConfig:
    """Validate a configuration mapping (as read from YAML) and fill in defaults.

    >>> cfg = parse_config({"name": "t", "version": "1",
    ...     "criteria": {"people_1km": {"weight": 2, "normalise": "linear", "cap": 100}}})
    >>> cfg.criteria[0].weight, cfg.parameters["people_near_m"]
    (2.0, 1000.0)
    >>> parse_config({"name": "t", "version": "1", "criteria": {"cows": {"weight": 1}}})
    Traceback (most recent call last):
    ...
    mineaction.errors.ValidationError: priority config: criteria.cows: unknown criterion...
    """
    if not isinstance(data, Mapping):
        raise ValidationError("must be a mapping with name, version and criteria", where=where)
    known = {"format", "name", "version", "description", "criteria", "classes", "default_class"}
    known |= {"parameters", "feasibility"}
    extra = sorted(set(data) - known)
    if extra:
        raise ValidationError(
            f"unknown key(s) {', '.join(extra)}; allowed: {', '.join(sorted(known))}", where=where
        )
    fmt = data.get("format", CONFIG_FORMAT)
    if fmt != CONFIG_FORMAT:
        raise ValidationError(
            f"format {fmt!r} is not supported (this program reads {CONFIG_FORMAT})", where=where
        )
    for key in ("name", "version"):
        if not isinstance(data.get(key), str | int | float) or str(data.get(key)).strip() == "":
            raise ValidationError(f"{key}: required (a short text)", where=where)
    raw_criteria = data.get("criteria")
    if not isinstance(raw_criteria, Mapping) or not raw_criteria:
        raise ValidationError("criteria: give at least one criterion with a weight", where=where)
    criteria = []
    for name, spec in raw_criteria.items():
        w = f"{where}: criteria.{name}"
        if name not in CRITERIA:
            raise ValidationError(
                f"criteria.{name}: unknown criterion; use one of {', '.join(CRITERIA)}", where=where
            )
        if not isinstance(spec, Mapping):
            raise ValidationError("must be a mapping with weight (and normalise, cap)", where=w)
        bad = sorted(set(spec) - {"weight", "normalise", "cap", "threshold"})
        if bad:
            raise ValidationError(f"unknown key(s) {', '.join(bad)}", where=w)
        weight = _number(spec.get("weight"), f"{w}.weight", minimum=0.0)
        norm = spec.get("normalise", "linear")
        if norm not in NORMALISATIONS:
            raise ValidationError(
                f"normalise {norm!r} unknown; use one of {', '.join(NORMALISATIONS)}", where=w
            )
        cap = _number(spec.get("cap", 1.0), f"{w}.cap")
        if norm in ("linear", "log") and cap <= 0:
            raise ValidationError("cap must be > 0 for linear and log normalisation", where=w)
        threshold = _number(spec.get("threshold", 0.0), f"{w}.threshold")
        criteria.append(Criterion(str(name), weight, str(norm), cap, threshold))
    raw_classes = data.get("classes", [])
    if not isinstance(raw_classes, list):
        raise ValidationError("classes: must be a list of {name, min}", where=where)
    classes = []
    for i, k in enumerate(raw_classes):
        if not isinstance(k, Mapping) or "name" not in k or "min" not in k:
            raise ValidationError(f"classes[{i}]: needs name and min", where=where)
        classes.append(
            PriorityClass(str(k["name"]), _number(k["min"], f"{where}: classes[{i}].min"))
        )
    classes.sort(key=lambda k: -k.min)
    params = data.get("parameters", {}) or {}
    feas = data.get("feasibility", {}) or {}
    if not isinstance(params, Mapping) or not isinstance(feas, Mapping):
        raise ValidationError("parameters and feasibility must be mappings", where=where)
    unknown_p = sorted(set(params) - set(DEFAULT_PARAMETERS))
    if unknown_p:
        raise ValidationError(f"parameters: unknown key(s) {', '.join(unknown_p)}", where=where)
    unknown_f = sorted(set(feas) - set(DEFAULT_FEASIBILITY))
    if unknown_f:
        raise ValidationError(f"feasibility: unknown key(s) {', '.join(unknown_f)}", where=where)
    parameters = _merge(DEFAULT_PARAMETERS, params)
    for key in ("people_near_m", "people_far_m", "blocking_distance_m", "accident_radius_m"):
        parameters[key] = _number(parameters[key], f"{where}: parameters.{key}", minimum=0.0)
    if parameters["people_near_m"] > parameters["people_far_m"]:
        raise ValidationError("parameters: people_near_m must be <= people_far_m", where=where)
    parameters["casualty_window_months"] = int(
        _number(
            parameters["casualty_window_months"],
            f"{where}: parameters.casualty_window_months",
            minimum=0,
        )
    )
    feasibility = _merge(DEFAULT_FEASIBILITY, feas)
    for stage, rate in feasibility["rates_m2_per_team_day"].items():
        _number(rate, f"{where}: feasibility.rates_m2_per_team_day.{stage}", minimum=1e-9)
    for cls, ratios in feasibility["release_ratios"].items():
        total = sum(
            _number(v, f"{where}: feasibility.release_ratios.{cls}", minimum=0)
            for v in ratios.values()
        )
        if abs(total - 1.0) > 1e-6:
            raise ValidationError(
                f"feasibility.release_ratios.{cls}: shares must sum to 1, got {total:g}",
                where=where,
            )
    return PriorityConfig(
        name=str(data["name"]),
        version=str(data["version"]),
        description=str(data.get("description", "")),
        criteria=tuple(criteria),
        classes=tuple(classes),
        default_class=str(data.get("default_class", "none")),
        parameters=parameters,
        feasibility=feasibility,
        source=dict(data),
    )


# --- scoring ---------------------------------------------------------------------------------


def score_arrays(
    config: PriorityConfig, values: Mapping[str, npt.ArrayLike], n: int
) -> tuple[npt.NDArray[np.float64], dict[str, npt.NDArray[np.float64]]]:
    """Score ``n`` hazards at once: return the scores and each criterion's contributions.

    Criteria missing from ``values`` count as zero.

    >>> cfg = parse_config({"name": "t", "version": "1", "criteria": {
    ...     "casualties_recent": {"weight": 2, "normalise": "raw"},
    ...     "roads_blocked": {"weight": 1, "normalise": "binary"}}})
    >>> s, c = score_arrays(cfg, {"casualties_recent": [3, 0], "roads_blocked": [0, 4]}, 2)
    >>> s.tolist(), c["casualties_recent"].tolist()
    ([6.0, 1.0], [6.0, 0.0])
    """
    total = np.zeros(n, dtype=float)
    contributions: dict[str, npt.NDArray[np.float64]] = {}
    for c in config.criteria:
        v = values.get(c.name)
        arr = np.zeros(n) if v is None else np.asarray(v, dtype=float)
        contrib = c.weight * c.normalised(arr)
        contributions[c.name] = contrib
        total = total + contrib
    return total, contributions


@dataclass(frozen=True)
class Term:
    """One criterion's part of a score."""

    criterion: str
    label: str
    unit: str
    value: float
    normalised: float
    weight: float
    contribution: float
    share: float  # contribution / score (0 when the score is 0)

    def as_dict(self) -> dict[str, Any]:
        """Return the JSON shape."""
        return {
            "criterion": self.criterion,
            "label": self.label,
            "unit": self.unit,
            "value": self.value,
            "normalised": self.normalised,
            "weight": self.weight,
            "contribution": self.contribution,
            "share": self.share,
        }


def breakdown(config: PriorityConfig, values: Mapping[str, float]) -> tuple[float, list[Term]]:
    """Return one hazard's score and its terms, largest contribution first.

    >>> cfg = parse_config({"name": "t", "version": "1", "criteria": {
    ...     "people_1km": {"weight": 30, "normalise": "linear", "cap": 1000},
    ...     "evidence": {"weight": 10, "normalise": "linear", "cap": 1}}})
    >>> score, terms = breakdown(cfg, {"people_1km": 250, "evidence": 1.0})
    >>> score, [(t.criterion, t.contribution) for t in terms]
    (17.5, [('evidence', 10.0), ('people_1km', 7.5)])
    """
    terms = []
    for c in config.criteria:
        v = float(values.get(c.name, 0.0) or 0.0)
        norm = float(c.normalised([v])[0])
        terms.append((c, v, norm, c.weight * norm))
    score = float(sum(t[3] for t in terms))
    out = [
        Term(
            criterion=c.name,
            label=CRITERIA[c.name][0],
            unit=CRITERIA[c.name][1],
            value=v,
            normalised=norm,
            weight=c.weight,
            contribution=contrib,
            share=(contrib / score) if score > 0 else 0.0,
        )
        for c, v, norm, contrib in terms
    ]
    out.sort(key=lambda t: (-t.contribution, t.criterion))
    return score, out


def rank_order(scores: npt.ArrayLike, ids: Sequence[str]) -> npt.NDArray[np.int64]:
    """Return 1-based ranks: highest score first, ties broken by id (deterministic).

    >>> rank_order([1.0, 3.0, 3.0], ["c", "b", "a"]).tolist()
    [3, 2, 1]
    """
    s = np.asarray(scores, dtype=float)
    order = np.lexsort((np.asarray(ids, dtype=object).astype(str), -s))
    ranks = np.empty(len(s), dtype=np.int64)
    ranks[order] = np.arange(1, len(s) + 1)
    return ranks


# --- feasibility -----------------------------------------------------------------------------


def expected_team_days(
    config: PriorityConfig,
    remaining_m2: npt.ArrayLike,
    classification: Sequence[str],
) -> npt.NDArray[np.float64]:
    """Expected team-days to release the remaining area through the class's stage chain.

    NTS works the whole area, TS the share not cancelled, clearance the share cleared, each at
    its rate; at least ``min_team_days`` per hazard.

    >>> cfg = parse_config({"name": "t", "version": "1", "criteria": {"evidence": {"weight": 1}}})
    >>> # SHA 10,000 m2: 10,000/20,000 + 6,800/3,000 + 4,400/400 = 0.5 + 2.2667 + 11 = 13.77
    >>> expected_team_days(cfg, [10_000], ["SHA"]).round(2).tolist()
    [13.77]
    """
    feas = config.feasibility
    rates = feas["rates_m2_per_team_day"]
    area = np.asarray(remaining_m2, dtype=float)
    cls = np.asarray(classification, dtype=object)
    days = np.zeros(len(area))
    for name in sorted(set(cls.tolist())):
        mask = cls == name
        key = name if name in feas["release_ratios"] else "SHA"
        ratios = feas["release_ratios"][key]
        stages = feas["stages"].get(key, ["NTS", "TS", "CLEARANCE"])
        per_m2 = 0.0
        for stage in stages:
            share = {
                "NTS": 1.0,
                "TS": 1.0 - ratios["cancelled"],
                "CLEARANCE": ratios["cleared"],
            }[stage]
            per_m2 += share / float(rates[stage])
        days[mask] = area[mask] * per_m2
    return np.maximum(days, float(feas["min_team_days"]))


def value_for_money(scores: npt.ArrayLike, cost: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Return score points per 1,000 of expected cost (0 when the cost is 0).

    >>> value_for_money([10, 5], [4000, 0]).tolist()
    [2.5, 0.0]
    """
    s = np.asarray(scores, dtype=float)
    c = np.asarray(cost, dtype=float)
    out = np.zeros(len(s))
    pos = c > 0
    out[pos] = s[pos] / (c[pos] / 1000.0)
    return out


# --- hazard attribute criteria ---------------------------------------------------------------


def contamination_value(config: PriorityConfig, contamination: Sequence[str]) -> float:
    """Return the highest configured value of the contamination types present (0 if none).

    >>> cfg = parse_config({"name": "t", "version": "1", "criteria": {"contamination": {"weight": 1}}})
    >>> contamination_value(cfg, ["UXO_AXO", "AT_MINE"]), contamination_value(cfg, [])
    (0.8, 0.0)
    """
    table = config.parameters["contamination_values"]
    return max((float(table.get(c, 0.0)) for c in contamination), default=0.0)


def evidence_strength(
    config: PriorityConfig, evidence: Sequence[Mapping[str, Any]], *, eo_found: int = 0
) -> float:
    """Combine evidence as a noisy-OR of each piece's strength (EO found on site counts 1).

    >>> cfg = parse_config({"name": "t", "version": "1", "criteria": {"evidence": {"weight": 1}}})
    >>> round(evidence_strength(cfg, [{"type": "VERBAL_REPORT"}, {"type": "FORMER_FRONTLINE"}]), 2)
    0.58
    >>> evidence_strength(cfg, [], eo_found=2)
    1.0
    """
    if eo_found > 0:
        return 1.0
    table = config.parameters["evidence_values"]
    miss = 1.0
    for ev in evidence:
        p = min(max(float(table.get(str(ev.get("type")), 0.0)), 0.0), 1.0)
        miss *= 1.0 - p
    return 1.0 - miss
