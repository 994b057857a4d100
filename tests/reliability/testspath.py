"""Make ``tests`` mean this repository's tests folder, whatever is installed.

Some dependencies ship a top-level ``tests`` package in site-packages; a regular package there
would win over this folder (a namespace package). Imported first by tests/conftest.py, by the
scripts here when run as files, and preloaded by the kill harness's forkserver.
"""

from __future__ import annotations

import sys
import types
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def use_repository_tests() -> None:
    """Register ``tests`` as a package whose path is this repository's tests folder."""
    mod = sys.modules.get("tests")
    if mod is not None and str(TESTS) in list(getattr(mod, "__path__", [])):
        return
    for name in [n for n in sys.modules if n == "tests" or n.startswith("tests.")]:
        del sys.modules[name]
    pkg = types.ModuleType("tests")
    pkg.__path__ = [str(TESTS)]
    pkg.__file__ = None
    sys.modules["tests"] = pkg
    root = str(TESTS.parent)
    if root not in sys.path:
        sys.path.insert(0, root)


use_repository_tests()


def use_repository_src() -> None:
    """Import ``mineaction`` from this repository's src folder (for the scripts run as files)."""
    src = str(TESTS.parent / "src")
    if src not in sys.path:
        sys.path.insert(0, src)
    for name in [n for n in sys.modules if n == "mineaction" or n.startswith("mineaction.")]:
        del sys.modules[name]
