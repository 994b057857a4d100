"""Interface language: locale choice, gettext catalogues and locale-aware formatting.

Catalogues live in ``mineaction/locale/<lang>/LC_MESSAGES/messages.po`` (extract with
``pybabel extract -F babel.cfg``); they are compiled in memory when first used, so no
compiled ``.mo`` file can go stale. The current locale is a context variable set for the
duration of one page render.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime
from functools import cache
from pathlib import Path

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
#: Interface languages, the first being the default.
LANGUAGES: dict[str, str] = {"en": "English", "ru": "Русский"}
DEFAULT_LANGUAGE = "en"

_current: ContextVar[str] = ContextVar("mineaction_locale", default=DEFAULT_LANGUAGE)


@cache
def translations(lang: str) -> NullTranslations:
    """Return the compiled catalogue of ``lang`` (an empty one for English or unknown)."""
    po = LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po"
    if lang == DEFAULT_LANGUAGE or not po.is_file():
        return NullTranslations()
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=lang)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return Translations(buf)


def current_language() -> str:
    """Return the language of the page being rendered."""
    return _current.get()


@contextmanager
def use_language(lang: str) -> Iterator[None]:
    """Render in ``lang`` inside the block."""
    token = _current.set(lang if lang in LANGUAGES else DEFAULT_LANGUAGE)
    try:
        yield
    finally:
        _current.reset(token)


def gettext(message: str) -> str:
    """Translate ``message`` into the current language."""
    return translations(_current.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """Translate a message with a plural form into the current language."""
    return translations(_current.get()).ngettext(singular, plural, n)


_ = gettext


def N_(message: str) -> str:
    """Mark a string for extraction without translating it (translated when shown)."""
    return message


class LazyText(str):
    """A message in English now and in the page's language when shown (see :func:`translate`).

    Raised errors and form messages are made before the page's language is known; as a ``str``
    they read as English everywhere else (logs, the JSON API).

    >>> msg = L_("no hazard with id %(id)r", id="HZ-1")
    >>> str(msg)
    "no hazard with id 'HZ-1'"
    >>> with use_language("ru"): translate(msg)
    "нет опасного района с идентификатором 'HZ-1'"
    """

    msgid: str
    params: dict[str, object]

    def __new__(cls, msgid: str, params: dict[str, object]) -> LazyText:
        """Keep the message id and its parameters next to the English text."""
        obj = super().__new__(cls, msgid % params if params else msgid)
        obj.msgid, obj.params = msgid, params
        return obj


def L_(msgid: str, **params: object) -> LazyText:
    """Mark a message for extraction; translated when shown (``%(name)s`` parameters)."""
    return LazyText(msgid, params)


def translate(value: object) -> str:
    """Translate a message into the current language when it is shown.

    A :class:`LazyText` is translated with its parameters; an error is shown as ``where:
    message``; any other text is looked up in the catalogue as it is (unknown text is
    shown unchanged).

    >>> with use_language("ru"): translate("Not found")
    'Не найдено'
    >>> with use_language("ru"): translate("text no catalogue knows")
    'text no catalogue knows'
    """
    if isinstance(value, LazyText):
        text = gettext(value.msgid)
        return text % value.params if value.params else text
    message = getattr(value, "message", None)
    if isinstance(value, Exception) and isinstance(message, str):
        where = getattr(value, "where", None)
        shown = translate(message)
        return f"{where}: {shown}" if where and where != "_" else shown
    text = "" if value is None else str(value)
    return gettext(text) if text else ""  # (the empty msgid is the catalogue's header)


def negotiate(
    query: str | None, cookie: str | None, user_pref: str | None, accept: str | None
) -> str:
    """Choose the language: ``?lang=``, then the user's setting, the cookie, Accept-Language.

    >>> negotiate(None, None, None, "ru-RU,ru;q=0.9,en;q=0.8")
    'ru'
    >>> negotiate("en", None, "ru", "ru")
    'en'
    >>> negotiate(None, None, None, "de")
    'en'
    """
    for choice in (query, user_pref, cookie):
        if choice and choice in LANGUAGES:
            return choice
    if accept:
        prefs = []
        for part in accept.split(","):
            tag, _sep, q = part.strip().partition(";q=")
            try:
                weight = float(q) if q else 1.0
            except ValueError:
                weight = 0.0
            prefs.append((weight, tag.strip().replace("-", "_")))
        ordered = [tag for _w, tag in sorted(prefs, key=lambda p: -p[0]) if tag]
        found = Locale.negotiate(ordered, list(LANGUAGES), sep="_")
        if found is not None:
            return found.language
    return DEFAULT_LANGUAGE


# --- formatting --------------------------------------------------------------------------


def fmt_number(value: float | int | None, digits: int = 0) -> str:
    """Format a number with the current locale's separators.

    >>> with use_language("en"): fmt_number(1234567.891)
    '1,234,568'
    >>> with use_language("ru"): fmt_number(1234.5, 1)
    '1\\xa0234,5'
    """
    if value is None:
        return "–"
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(value, format=pattern, locale=_current.get())


def area_parts(m2: float | None) -> tuple[str, str]:
    """Return an area (stored in m²) as number and unit: m² below 1 ha, ha below 1 km², else km².

    >>> with use_language("en"): area_parts(950), area_parts(25_000), area_parts(3_456_000)
    (('950', 'm²'), ('2.5', 'ha'), ('3.46', 'km²'))
    """
    if m2 is None:
        return "–", ""
    a = abs(m2)
    if a < 10_000:
        return fmt_number(m2), gettext("m²")
    if a < 1_000_000:
        ha = m2 / 10_000
        return fmt_number(ha, 1 if abs(ha) < 100 else 0), gettext("ha")
    km2 = m2 / 1_000_000
    return fmt_number(km2, 2 if abs(km2) < 100 else 0), gettext("km²")


def fmt_area(m2: float | None) -> str:
    """Format an area stored in m² with a sensible unit (m², ha, km²).

    >>> with use_language("ru"): fmt_area(2_500_000)
    '2,50\\xa0км²'
    """
    num, unit = area_parts(m2)
    return f"{num}\N{NO-BREAK SPACE}{unit}" if unit else num


def fmt_m2(m2: float | None) -> str:
    """Format an area in whole square metres (for exact figures such as a report's effect)."""
    return "–" if m2 is None else f"{fmt_number(m2)}\N{NO-BREAK SPACE}{gettext('m²')}"


def fmt_date(value: date | str | None, form: str = "medium") -> str:
    """Format a date in the current locale.

    >>> with use_language("en"): fmt_date("2024-05-01")
    'May 1, 2024'
    """
    if value is None or value == "":
        return "–"
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if len(value) > 10 else date.fromisoformat(value)
    if isinstance(value, datetime):
        return format_datetime(value, format=form, locale=_current.get())
    return format_date(value, format=form, locale=_current.get())
