"""Run the docstring examples of the web modules (formatting, locale choice, chart axes)."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "mineaction.web.i18n",
    "mineaction.web.charts",
    "mineaction.services.mapdata",
    "mineaction.services.organisations",
    "mineaction.web.notes",
    "mineaction.web.notes_import",
    "mineaction.web.labels",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(
        importlib.import_module(name),
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
        verbose=False,
    )
    assert result.attempted > 0 and result.failed == 0
