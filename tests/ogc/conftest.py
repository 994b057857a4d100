"""OGC API tests reuse the seeded two-organisation programme of the API tests."""

from __future__ import annotations

from tests.api.conftest import shared  # noqa: F401  (fixture)
