"""Printable maps: PNG and PDF, A4/A3, with hazards, marking and cut-off; not blank."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pypdfium2
import pytest
from click.testing import CliRunner
from PIL import Image
from pypdf import PdfReader

from golden_programme import golden_sqlite
from mineaction.cli import cli
from mineaction.core.reporting import Scope
from mineaction.errors import ValidationError
from mineaction.services import maps
from mineaction.store.engine import Store


@pytest.fixture
def golden(tmp_path: Path) -> Iterator[Store]:
    store = golden_sqlite(tmp_path)
    yield store
    store.dispose()


OPEN_RED = np.array([0xD7, 0x30, 0x1F])


def colour_share(img: np.ndarray, rgb: np.ndarray, tol: int = 40) -> float:
    return float((np.abs(img[:, :, :3].astype(int) - rgb).sum(axis=2) < tol).mean())


def test_png_and_pdf_maps(golden: Store, tmp_path: Path) -> None:
    png = tmp_path / "map.png"
    data = maps.render(golden, png)
    assert sorted(h.hazard_id for h in data.hazards) == ["H1", "H2", "H3", "H5"]
    assert {h.hazard_id: h.status for h in data.hazards}["H2"] == "worked_on"
    img = np.asarray(Image.open(png).convert("RGB"))
    assert img.shape[:2] == (1654, 2338)  # A4 landscape at 200 dpi
    grey = img.mean(axis=2)
    assert 0.005 < (grey < 128).mean() < 0.5 and grey.std() > 20
    assert colour_share(img, OPEN_RED) > 0  # open hazards drawn (legend and H1/H5)
    # The marking is printed in red at the top.
    assert colour_share(img[:80], np.array([0xB0, 0x00, 0x20])) > 0

    pdf = tmp_path / "map.pdf"
    maps.render(golden, pdf, size="A3", scope=Scope(area="UA59"), marking="RESTRICTED")
    reader = PdfReader(pdf)
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (1191, 842)  # A3 landscape
    text = reader.pages[0].extract_text()
    for expected in ("RESTRICTED", "Data cut-off", "H1", "H2", "Sadky", "km", "N"):
        assert expected in text
    assert "H3" not in text  # outside the UA59 scope
    page = np.asarray(pypdfium2.PdfDocument(str(pdf))[0].render(scale=0.5).to_pil().convert("L"))
    assert page.std() > 20


def test_map_errors_and_cli(golden: Store, tmp_path: Path) -> None:
    with pytest.raises(ValidationError):
        maps.render(golden, tmp_path / "m.jpg")
    with pytest.raises(ValidationError):
        maps.render(golden, tmp_path / "m.png", scope=Scope(area="XX"))
    out = tmp_path / "m.pdf"
    res = CliRunner().invoke(
        cli,
        [
            "--db",
            golden.url,
            "map",
            "--out",
            str(out),
            "--scope",
            "area:UA63",
            "--as-of",
            "2100-01-01",
        ],
        catch_exceptions=False,
    )
    assert res.exit_code == 0, res.output
    assert "1 hazards" in res.output and out.read_bytes().startswith(b"%PDF")
