"""Messages of reading an imported file and checking its geometry, in the page's language.

The readers (mineaction.io: detect, submissions, gis, safety, formmap), the geometry checks
(mineaction.core.geoparse, mineaction.core.geometry) and the import service write their
messages in English; :mod:`mineaction.web.notes` shows them translated with these patterns.
Values (file names, quoted values, field names, numbers) stay as written; the technical detail
a library adds (JSON parser, GEOS, zip) is translated where it is one of the known texts.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from mineaction.web.i18n import N_, gettext

Formats = tuple[Callable[[str], str], ...]


def _keep(text: str) -> str:
    return text


_WHAT = {
    "coordinate": N_("coordinate"),
    "latitude": N_("latitude"),
    "longitude": N_("longitude"),
    "altitude": N_("altitude"),
    "accuracy": N_("accuracy"),
}
_KINDS = {
    "geopoint": N_("geopoint"),
    "geotrace": N_("geotrace"),
    "geoshape": N_("geoshape"),
}


def _what(text: str) -> str:
    return gettext(_WHAT[text]) if text in _WHAT else text


def _kind(text: str) -> str:
    return gettext(_KINDS[text]) if text in _KINDS else text


def _none(text: str) -> str:
    return "'(" + gettext("none") + ")'" if text == "'(none)'" else text


#: what the libraries say about a broken file (orjson, zipfile, GEOS via shapely)
_DETAILS = {
    "unexpected end of data": N_("the data ends too early"),
    "unexpected character, expected a JSON value": N_(
        "unexpected character, a JSON value was expected"
    ),
    "unexpected content after document": N_("unexpected content after the document"),
    "unexpected character, expected ':' after key": N_(
        "unexpected character, ':' was expected after a key"
    ),
    "unexpected character, expected a string key": N_(
        "unexpected character, a key in quotes was expected"
    ),
    "unexpected character, expected ',' or ']'": N_(
        "unexpected character, ',' or ']' was expected"
    ),
    "unexpected character, expected ',' or '}'": N_(
        "unexpected character, ',' or '}' was expected"
    ),
    "trailing comma is not allowed": N_("a comma before the closing bracket is not allowed"),
    "Input is a zero-length, empty document": N_("the document is empty"),
    "str is not valid UTF-8: surrogates not allowed": N_("the text is not valid UTF-8"),
    "File is not a zip file": N_("the file is not a zip archive"),
    "IllegalArgumentException: Points of LinearRing do not form a closed linestring": N_(
        "the points of a ring do not form a closed line (the last point must repeat the first)"
    ),
    "IllegalArgumentException: point array must contain 0 or >1 elements": N_(
        "a line needs at least 2 points"
    ),
}
_AT = re.compile(r"(.+): line (\d+) column (\d+) \(char \d+\)")
_FORMAT = re.compile(r"\w+: (.+) not recognized as being in a supported file format\.?")
_XML = {
    "DTDForbidden": N_("DTDs are not allowed"),
    "EntitiesForbidden": N_("entities are not allowed"),
    "ExternalReferenceForbidden": N_("external references are not allowed"),
}
_RINGS = re.compile(
    r"IllegalArgumentException: Invalid number of points in LinearRing found (\d+) - must be "
    r"0 or >= 4"
)
_LITERAL = re.compile(r"invalid literal, expected ('\w+')")


def detail(text: str) -> str:
    """Return a library's text about a broken file in the current language (known ones).

    >>> from mineaction.web.i18n import use_language
    >>> with use_language("ru"): detail("unexpected end of data: line 250 column 14 (char 5975)")
    'данные обрываются: строка 250, столбец 14'
    >>> with use_language("ru"): detail("something GEOS said")
    'something GEOS said'
    """
    at = _AT.fullmatch(text)
    if at:
        return gettext("%(a)s: line %(b)s, column %(c)s") % {
            "a": detail(at.group(1)),
            "b": at.group(2),
            "c": at.group(3),
        }
    if text in _DETAILS:
        return gettext(_DETAILS[text])
    if text in _XML:
        return gettext(_XML[text])
    unknown = _FORMAT.fullmatch(text)
    if unknown:
        return gettext("%(a)s is not in a supported file format") % {"a": unknown.group(1)}
    rings = _RINGS.fullmatch(text)
    if rings:
        return gettext("a ring has %(a)s points; it needs at least 4") % {"a": rings.group(1)}
    literal = _LITERAL.fullmatch(text)
    if literal:
        return gettext("invalid value, %(a)s was expected") % {"a": literal.group(1)}
    return text


#: why shapely finds a polygon invalid (shapely.is_valid_reason, GEOS), before "[x y]"
_REASONS = {
    text: text
    for text in (
        N_("Self-intersection"),
        N_("Ring Self-intersection"),
        N_("Too few points"),
        N_("Too few distinct points in geometry component"),
        N_("Interior is disconnected"),
        N_("Hole lies outside shell"),
        N_("Nested holes"),
        N_("Holes are nested"),
        N_("Nested shells"),
        N_("Duplicate Rings"),
        N_("Invalid Coordinate"),
        N_("Ring is not closed"),
        N_("Repeated Point"),
    )
}
_REASON = re.compile(r"([A-Za-z -]+?)\s*(\[[^\]]*\])?")


def reason(text: str) -> str:
    """Return why a polygon is not valid (``Self-intersection[35.2 51.2]``), translated.

    >>> from mineaction.web.i18n import use_language
    >>> with use_language("ru"): reason("Self-intersection[35.205 51.205]")
    'самопересечение [35.205 51.205]'
    >>> with use_language("ru"): reason("Something new[1 2]")
    'Something new[1 2]'
    """
    m = _REASON.fullmatch(text or "")
    if not m or m.group(1) not in _REASONS:
        return text
    shown = gettext(_REASONS[m.group(1)])
    return f"{shown} {m.group(2)}" if m.group(2) else shown


#: what PyYAML says is wrong (``problem`` of a YAMLError)
_YAML = {
    "mapping values are not allowed here": N_(
        "a mapping value is not allowed here (a ':' too many, or a missing indent?)"
    ),
    "found unexpected end of stream": N_("the text ends too early (a quote not closed?)"),
    "could not find expected ':'": N_("an expected ':' is missing"),
    "did not find expected key": N_("an expected key is missing (check the indents)"),
    "did not find expected '-' indicator": N_("an expected '-' is missing (check the indents)"),
    "found undefined alias": N_("an undefined alias"),
}
_YAML_THINGS = {
    "the node content": N_("a value"),
    "<block end>": N_("the end of the block"),
    "<document start>": N_("the start of a document"),
    "',' or ']'": N_("',' or ']'"),
    "',' or '}'": N_("',' or '}'"),
}
_YAML_FOUND = {
    "'<stream end>'": N_("the end of the text"),
    "'<block mapping start>'": N_("the start of a mapping"),
    "'<block sequence start>'": N_("the start of a list"),
    "'<block end>'": N_("the end of the block"),
    "'<flow mapping start>'": N_("'{'"),
    "'<flow sequence start>'": N_("'['"),
    "'<scalar>'": N_("a value"),
    "'?'": N_("a key"),
}
_YAML_CHAR = re.compile(r"found character ('.+') that cannot start any token")


def yaml_problem(text: str) -> str:
    """Return what PyYAML says is wrong in a YAML text, in the current language (known texts).

    >>> from mineaction.web.i18n import use_language
    >>> with use_language("ru"): yaml_problem("expected the node content, but found '<stream end>'")
    'ожидается: значение; найдено: конец текста'
    """
    if text in _YAML:
        return gettext(_YAML[text])
    char = _YAML_CHAR.fullmatch(text)
    if char:
        return gettext("the character %(a)s cannot start a value (a tab instead of spaces?)") % {
            "a": char.group(1)
        }
    m = re.fullmatch(r"expected (.+), but (?:found|got) (.+)", text)
    if m:
        what, found = m.groups()
        return gettext("expected %(a)s, but found %(b)s") % {
            "a": gettext(_YAML_THINGS[what]) if what in _YAML_THINGS else what,
            "b": gettext(_YAML_FOUND[found]) if found in _YAML_FOUND else found,
        }
    return text


#: (pattern, message, one formatter per group) of the readers' and checks' messages
PATTERNS: list[tuple[re.Pattern[str], str, Formats]] = [
    (
        re.compile(r"not valid YAML \(line (\S+), column (\S+)\): (.*)", re.S),
        N_("not valid YAML (line %(a)s, column %(b)s): %(c)s"),
        (_keep, _keep, yaml_problem),
    ),
    # recognising the file (io/detect.py, io/safety.py)
    (
        re.compile(
            r"unsupported file type ('[^']*'): give ODK Central \.json/\.csv\.zip, Kobo "
            r"\.json/\.csv/\.xlsx, or \.gpkg/\.geojson/\.shp\(\.zip\)/\.kml/\.kmz/\.fgb/\.csv/\.xlsx"
        ),
        N_(
            "unsupported file type %(a)s: upload an ODK Central export (.json, .csv.zip), a "
            "KoboToolbox export (.json, .csv, .xlsx) or a GIS file or table "
            "(.gpkg, .geojson, .shp in a .zip, .kml, .kmz, .fgb, .csv, .xlsx)"
        ),
        (_none,),
    ),
    (
        re.compile(r"the file is (\S+) MB; the limit is (\S+) MB"),
        N_("the file is %(a)s MB; the limit is %(b)s MB"),
        (_keep, _keep),
    ),
    (
        re.compile(r"the archive has more than (\S+) files"),
        N_("the archive has more than %(a)s files"),
        (_keep,),
    ),
    (
        re.compile(r"the archive expands to (\S+) MB; the limit is (\S+) MB"),
        N_("the archive expands to %(a)s MB; the limit is %(b)s MB"),
        (_keep, _keep),
    ),
    (
        re.compile(r"('.*') is larger than its declared size; refused"),
        N_("%(a)s is larger than its declared size; refused"),
        (_keep,),
    ),
    (
        re.compile(r"not a readable zip archive \((.*)\); is the file truncated\?", re.S),
        N_("not a readable zip archive (%(a)s); is the file truncated?"),
        (detail,),
    ),
    (
        re.compile(r"unsafe path in archive: ('.*')"),
        N_("unsafe path in the archive: %(a)s"),
        (_keep,),
    ),
    (
        re.compile(r"('.*') expands (\S+) times \(a zip bomb\?\); refused"),
        N_("%(a)s expands %(b)s times (a zip bomb?); refused"),
        (_keep, _keep),
    ),
    (
        re.compile(r"cannot read ('.*') from the archive \((.*)\); is it truncated\?", re.S),
        N_("cannot read %(a)s from the archive (%(b)s); is it truncated?"),
        (_keep, detail),
    ),
    (
        re.compile(r"the XML declares a DTD or entities \((.*)\); refused as unsafe"),
        N_("the XML declares a DTD or entities (%(a)s); refused as unsafe"),
        (detail,),
    ),
    (
        re.compile(r"not well-formed XML \((.*)\); is it truncated\?", re.S),
        N_("not well-formed XML (%(a)s); is it truncated?"),
        (_keep,),
    ),
    # reading ODK Central and KoboToolbox exports (io/submissions.py)
    (
        re.compile(
            r"a value that is not a number \((\S+), line (\S+), char (\S+)\) where JSON needs a "
            r"number, e\.g\. a coordinate: a corrupted file or a broken export; nothing was "
            r"imported"
        ),
        N_(
            "a value that is not a number (%(a)s, line %(b)s, character %(c)s) where JSON needs "
            "a number, such as a coordinate: a corrupted file or a broken export; nothing was "
            "imported"
        ),
        (_keep, _keep, _keep),
    ),
    (
        re.compile(r"not valid JSON \((.*)\); is the file truncated\?", re.S),
        N_("not valid JSON (%(a)s); is the file truncated?"),
        (detail,),
    ),
    (re.compile(r"not UTF-8 text \((.*)\)", re.S), N_("not UTF-8 text (%(a)s)"), (_keep,)),
    (re.compile(r"malformed CSV \((.*)\)", re.S), N_("malformed CSV (%(a)s)"), (_keep,)),
    (
        re.compile(r"line (\S+) has more cells than the header; is the file truncated or mixed\?"),
        N_("line %(a)s has more cells than the header; is the file truncated or mixed?"),
        (_keep,),
    ),
    (
        re.compile(r"(.+) has no KEY column: not an ODK Central CSV export"),
        N_("%(a)s has no KEY column: not an ODK Central CSV export"),
        (_keep,),
    ),
    (re.compile(r"result (\S+) is not an object"), N_("result %(a)s is not an object"), (_keep,)),
    (
        re.compile(r"not a readable XLSX workbook \((.*)\)", re.S),
        N_("not a readable XLSX workbook (%(a)s)"),
        (_keep,),
    ),
    # GIS files and tables, column mappings (io/gis.py, io/formmap.py)
    (
        re.compile(r"unknown keys (.+); allowed: (.+)"),
        N_("unknown keys %(a)s; allowed: %(b)s"),
        (_keep, _keep),
    ),
    (
        re.compile(r"unknown form ('[^']*'); known: (.+)"),
        N_("unknown form %(a)s; known forms: %(b)s"),
        (_keep, _keep),
    ),
    (
        re.compile(r"('.*') is not a field of form (\S+)"),
        N_("%(a)s is not a field of form %(b)s"),
        (_keep, _keep),
    ),
    (
        re.compile(r"no layer ('[^']*'); layers: (.*)"),
        N_("no layer %(a)s; layers: %(b)s"),
        (_keep, _keep),
    ),
    (
        re.compile(
            r"cannot read the GIS file \((.*)\); is it truncated or of another format\?", re.S
        ),
        N_("cannot read the GIS file (%(a)s); is it truncated or of another format?"),
        (detail,),
    ),
    (
        re.compile(
            r"cannot read as a GIS file \((.*)\); give a GeoPackage, Shapefile, GeoJSON or "
            r"FlatGeobuf file \(and --source-layer for multi-layer files\)",
            re.S,
        ),
        N_(
            "cannot read as a GIS file (%(a)s); give a GeoPackage, Shapefile, GeoJSON or "
            "FlatGeobuf file (and --source-layer for multi-layer files)"
        ),
        (_keep,),
    ),
    (
        re.compile(r"unknown CRS ('[^']*'): give --crs EPSG:NNNN"),
        N_("unknown CRS %(a)s: give --crs EPSG:NNNN"),
        (_keep,),
    ),
    (
        re.compile(r"cannot transform from (\S+): (.*)", re.S),
        N_("cannot transform from %(a)s: %(b)s"),
        (_keep, _keep),
    ),
    (re.compile(r"more than (\S+) features"), N_("more than %(a)s features"), (_keep,)),
    (re.compile(r"more than (\S+) rows"), N_("more than %(a)s rows"), (_keep,)),
    (re.compile(r"no mapping for form ('[^']*')"), N_("no mapping for form %(a)s"), (_keep,)),
    (
        re.compile(r"coordinates cannot be transformed from (.+)"),
        N_("the coordinates cannot be transformed from %(a)s"),
        (_keep,),
    ),
    (
        re.compile(r"X=('.*') Y=('.*') are not numbers"),
        N_("X=%(a)s Y=%(b)s are not numbers"),
        (_keep, _keep),
    ),
    (
        re.compile(r"coordinates ('.*'), ('.*') are not numbers"),
        N_("coordinates %(a)s, %(b)s are not numbers"),
        (_keep, _keep),
    ),
    # geometry answers and positions (core/geoparse.py)
    (
        re.compile(
            r"(\w+) (\S+) is not a finite number \(NaN or infinity\): a corrupted or hostile "
            r"file; nothing was imported"
        ),
        N_(
            "%(a)s %(b)s is not a finite number (NaN or infinity): a corrupted or hostile file; "
            "nothing was imported"
        ),
        (_what, _keep),
    ),
    (
        re.compile(
            r"(\w+) (\S+) is absurdly large \(beyond (\S+) in any CRS\): a corrupted or hostile "
            r"file; nothing was imported"
        ),
        N_(
            "%(a)s %(b)s is absurdly large (beyond %(c)s in any CRS): a corrupted or hostile "
            "file; nothing was imported"
        ),
        (_what, _keep, _keep),
    ),
    (
        re.compile(r"(\w+) ('.*') is not a number"),
        N_("%(a)s %(b)s is not a number"),
        (_what, _keep),
    ),
    (
        re.compile(r"point ('.*') must be 'latitude longitude \[altitude \[accuracy\]\]'"),
        N_("point %(a)s must be 'latitude longitude [altitude [accuracy]]'"),
        (_keep,),
    ),
    (
        re.compile(
            r"point ('.*') is out of range \(\|latitude\| <= 90, \|longitude\| <= 180; ODK order "
            r"is latitude first\)"
        ),
        N_(
            "point %(a)s is out of range (|latitude| <= 90, |longitude| <= 180; in ODK the "
            "latitude comes first)"
        ),
        (_keep,),
    ),
    (
        re.compile(r"altitude (\S+) m is implausible"),
        N_("altitude %(a)s m is implausible"),
        (_keep,),
    ),
    (re.compile(r"accuracy (\S+) is negative"), N_("accuracy %(a)s is negative"), (_keep,)),
    (
        re.compile(r"unknown geo type ('[^']*'); expected one of (.+)"),
        N_("unknown geo type %(a)s; expected one of %(b)s"),
        (_keep, _keep),
    ),
    (
        re.compile(r"a (\w+) must be text, got (\w+)"),
        N_("a %(a)s answer must be text, not %(b)s"),
        (_kind, _keep),
    ),
    (
        re.compile(r"(\w+) answer is longer than (\S+) characters"),
        N_("the %(a)s answer is longer than %(b)s characters"),
        (_kind, _keep),
    ),
    (re.compile(r"(\w+) answer is empty"), N_("the %(a)s answer is empty"), (_kind,)),
    (
        re.compile(r"(\w+) has more than (\S+) points"),
        N_("the %(a)s has more than %(b)s points"),
        (_kind, _keep),
    ),
    (
        re.compile(r"a geopoint has one point, got (\S+)"),
        N_("a geopoint has one point, not %(a)s"),
        (_keep,),
    ),
    (re.compile(r"malformed WKT: (.*)", re.S), N_("malformed WKT: %(a)s"), (_keep,)),
    (
        re.compile(
            r"position (\[.*\]|\S+) is out of range \(GeoJSON order is \[longitude, latitude\]\)"
        ),
        N_("position %(a)s is out of range (GeoJSON order is [longitude, latitude])"),
        (_keep,),
    ),
    (re.compile(r"more than (\S+) positions"), N_("more than %(a)s positions"), (_keep,)),
    (
        re.compile(r"unsupported GeoJSON type ('.*')"),
        N_("unsupported GeoJSON type %(a)s"),
        (_keep,),
    ),
    (
        re.compile(r"a (\w+) must be a (\w+), got (\w+)"),
        N_("a %(a)s must be a %(b)s, not %(c)s"),
        (_kind, _keep, _keep),
    ),
    (
        re.compile(r"a (\w+) answer must be text or GeoJSON"),
        N_("a %(a)s answer must be text or GeoJSON"),
        (_kind,),
    ),
    (
        re.compile(r"('.*') is not an MGRS reference \(e\.g\. '37U DB 12345 67890'\)"),
        N_("%(a)s is not an MGRS reference (such as '37U DB 12345 67890')"),
        (_keep,),
    ),
    (
        re.compile(r"Pulkovo 1942 Gauss-Kruger zone (\S+) does not exist \(4\.\.32\)"),
        N_("Pulkovo 1942 Gauss-Kruger zone %(a)s does not exist (4..32)"),
        (_keep,),
    ),
    (
        re.compile(r"USK-2000 Gauss-Kruger zone (\S+) does not exist \(4\.\.7\)"),
        N_("USK-2000 Gauss-Kruger zone %(a)s does not exist (4..7)"),
        (_keep,),
    ),
    (
        re.compile(r"unknown Gauss-Kruger datum ('[^']*'): use pulkovo1942 or usk2000"),
        N_("unknown Gauss-Kruger datum %(a)s: use pulkovo1942 or usk2000"),
        (_keep,),
    ),
    (
        re.compile(r"unknown CRS ('[^']*'): give an EPSG code such as EPSG:28407"),
        N_("unknown CRS %(a)s: give an EPSG code such as EPSG:28407"),
        (_keep,),
    ),
    (
        re.compile(
            r"X=(\S+) Y=(\S+) are not Gauss-Kruger zone (\S+) coordinates \(X is the northing, "
            r"Y the easting with the zone number in front\)"
        ),
        N_(
            "X=%(a)s Y=%(b)s are not Gauss-Kruger zone %(c)s coordinates (X is the northing, Y "
            "the easting with the zone number in front)"
        ),
        (_keep, _keep, _keep),
    ),
    (
        re.compile(r"\((\S+), (\S+)\) in (\S+) does not give a position on Earth: check the CRS"),
        N_("(%(a)s, %(b)s) in %(c)s does not give a position on Earth: check the CRS"),
        (_keep, _keep, _keep),
    ),
    (
        re.compile(r"('.*') is out of range \(latitude first\)"),
        N_("%(a)s is out of range (the latitude comes first)"),
        (_keep,),
    ),
    (
        re.compile(
            r"('.*') is not a position: write 'latitude, longitude', an MGRS reference or "
            r"Gauss-Kruger 'X=… Y=…'"
        ),
        N_(
            "%(a)s is not a position: write 'latitude, longitude', an MGRS reference or "
            "Gauss-Kruger 'X=… Y=…'"
        ),
        (_keep,),
    ),
    # polygons and their checks (core/geometry.py)
    (
        re.compile(r"bbox ('.*') must be four numbers: min_lon,min_lat,max_lon,max_lat"),
        N_("bbox %(a)s must be four numbers: min_lon,min_lat,max_lon,max_lat"),
        (_keep,),
    ),
    (re.compile(r"bbox ('.*') has min >= max"), N_("bbox %(a)s has min >= max"), (_keep,)),
    (
        re.compile(
            r"unknown coordinate reference system ('[^']*'): give an EPSG code such as EPSG:4326"
        ),
        N_("unknown coordinate reference system %(a)s: give an EPSG code such as EPSG:4326"),
        (_keep,),
    ),
    (
        re.compile(r"malformed (\S+) coordinates: (.*)", re.S),
        N_("malformed %(a)s coordinates: %(b)s"),
        (_keep, detail),
    ),
    (
        re.compile(r"geometry \(bounds (\S+)\) lies outside the programme area (.+)"),
        N_("the geometry (bounds %(a)s) lies outside the programme area %(b)s"),
        (_keep, _keep),
    ),
    (
        re.compile(r"expected a Polygon or MultiPolygon, got (\w+)"),
        N_("expected a Polygon or MultiPolygon, not %(a)s"),
        (_keep,),
    ),
    (
        re.compile(
            r"part (\d+), outer ring has (\S+) distinct vertices; a polygon needs at least 3"
        ),
        N_("part %(a)s: the outer ring has %(b)s distinct vertices; a polygon needs at least 3"),
        (_keep, _keep),
    ),
    (
        re.compile(
            r"part (\d+), hole (\d+) has (\S+) distinct vertices; a polygon needs at least 3"
        ),
        N_("part %(a)s: hole %(b)s has %(c)s distinct vertices; a polygon needs at least 3"),
        (_keep, _keep, _keep),
    ),
    (
        re.compile(r"outer ring has (\S+) distinct vertices; a polygon needs at least 3"),
        N_("the outer ring has %(a)s distinct vertices; a polygon needs at least 3"),
        (_keep,),
    ),
    (
        re.compile(r"hole (\d+) has (\S+) distinct vertices; a polygon needs at least 3"),
        N_("hole %(a)s has %(b)s distinct vertices; a polygon needs at least 3"),
        (_keep, _keep),
    ),
    (
        re.compile(
            r"two consecutive vertices are ([\d.]+) km apart \(limit (\d+) km\): check for a "
            r"mistyped coordinate"
        ),
        N_(
            "two consecutive vertices are %(a)s km apart (the limit is %(b)s km): check for a "
            "mistyped coordinate"
        ),
        (_keep, _keep),
    ),
    (
        re.compile(
            r"polygon is not valid \((.*)\); fix the ring or accept the repaired geometry "
            r"offered in the details",
            re.S,
        ),
        N_(
            "the polygon is not valid (%(a)s); fix the ring or accept the proposed repair of "
            "the geometry"
        ),
        (reason,),
    ),
    (re.compile(r"expected a Point, got (\w+)"), N_("expected a Point, not %(a)s"), (_keep,)),
    # the import service (services/importing.py)
    (
        re.compile(r"form ('[^']*') is not one of ours \((.+)\); give --form"),
        N_("form %(a)s is not one of ours (%(b)s); choose the form"),
        (_keep, _keep),
    ),
    (
        re.compile(r"report (\S+) already exists with different content for the same instance ID"),
        N_("report %(a)s already exists with different content for the same instance ID"),
        (_keep,),
    ),
]

#: fixed texts of the readers, checks and the import service, shown translated as they are
FIXED = frozenset(
    {
        N_(
            "JSON that is neither an ODK Central OData export, a KoboToolbox API v2 export nor GeoJSON"
        ),
        N_("the archive holds no CSV, JSON, Shapefile, KML, GeoPackage or FlatGeobuf"),
        N_("not an XLSX workbook (wrong format or truncated)"),
        N_("the file is empty"),
        N_("not an ODK Central OData response (needs '@odata.context' and 'value')"),
        N_("no 'Submissions' table in the OData export"),
        N_("binary data in a CSV file"),
        N_("the CSV has no header row"),
        N_("no CSV files in the archive"),
        N_("not a KoboToolbox export (needs 'results')"),
        N_("the workbook has no sheets"),
        N_("a column mapping is a YAML mapping (key: value)"),
        N_("a GIS file or table needs --form (e.g. ma_hazard) or a mapping with 'form'"),
        N_("the file has no layers"),
        N_(
            "a Shapefile is several files (.shp, .shx, .dbf, .prj): zip them together and "
            "upload the .zip"
        ),
        N_("no .shp, .kml, .gpkg, .fgb or .geojson in the archive"),
        N_("file not found"),
        N_("a geotrace needs at least 2 points"),
        N_("a geoshape needs at least 3 distinct points (4 with the closing point)"),
        N_("a position must be [longitude, latitude(, altitude)]"),
        N_("malformed GeoJSON coordinates"),
        N_("a line needs at least 2 positions"),
        N_("polygon has no rings"),
        N_("a polygon ring needs at least 4 positions, the last equal to the first"),
        N_("malformed GeoJSON text"),
        N_("coordinates could not be transformed"),
        N_("position is empty"),
        N_("position text is too long"),
        N_("not a GeoJSON geometry (needs 'type' and 'coordinates')"),
        N_("coordinates contain NaN or infinity"),
        N_("geometry is empty"),
        N_(
            "coordinates out of range for longitude/latitude (|lon| <= 180, |lat| <= 90); "
            "name the file's CRS if they are projected metres"
        ),
        N_(
            "latitude and longitude look swapped (the swapped geometry lies in the programme "
            "area); GeoJSON order is [longitude, latitude]"
        ),
        N_("polygon has zero area"),
        N_(
            "the export does not name its form (Kobo CSV/XLSX exports do not) and it could not "
            "be recognised; give --form"
        ),
        N_(
            "KoboToolbox CSV exports leave out repeat groups: export as XLSX (or JSON) to import "
            "released polygons, EO items, victims, evidence and non-conformities"
        ),
        N_("rejected"),
        N_("a report must be a JSON object"),
    }
)

#: the parts of a record's place in a file (io/submissions.py, io/gis.py, core/geoparse.py)
_PLACES = [
    (re.compile(r"submission (\S+)"), N_("submission %(a)s")),
    (re.compile(r"line (\d+) \((.*)\)"), N_("line %(a)s (%(b)s)")),
    (re.compile(r"line (\d+)"), N_("line %(a)s")),
    (re.compile(r"sheet ('.*') row (\d+)"), N_("sheet %(a)s, row %(b)s")),
    (re.compile(r"feature (\d+)"), N_("feature %(a)s")),
    (re.compile(r"row (\d+)"), N_("row %(a)s")),
    (re.compile(r"point (\d+)"), N_("point %(a)s")),
    (re.compile(r"geometry"), N_("geometry")),
]


def place(text: str | None) -> str:
    """Return where a record is in its file (``file.json, submission 7``) in the current language.

    >>> from mineaction.web.i18n import use_language
    >>> with use_language("ru"): place("bad.json, submission 100001")
    'bad.json, запись 100001'
    >>> with use_language("ru"): place("hazards.geojson, feature 3, geometry")
    'hazards.geojson, объект 3, геометрия'
    >>> with use_language("ru"): place("something else")
    'something else'
    """
    parts = (text or "").split(", ")
    for i, part in enumerate(parts[1:], 1):  # (the first part is the file's name)
        for pattern, message in _PLACES:
            m = pattern.fullmatch(part)
            if m:
                parts[i] = gettext(message) % dict(zip("ab", m.groups(), strict=False))
                break
    return ", ".join(parts)
