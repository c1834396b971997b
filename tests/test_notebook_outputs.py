"""The executed analysis notebooks (the book's chapters) show every table whole: pandas marks a table
it cut with '...' by a '[N rows x M columns]' footer, so a chapter with one hides numbers its prose
or the README may cite."""
import re
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("analysis_*.ipynb"))
CUT = re.compile(r"\[\d+ rows [x×] \d+ columns\]")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_table_is_cut(path):
    nb = nbformat.read(path, as_version=4)
    cut = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" for o in c.get("outputs", [])
           if CUT.search(o.get("data", {}).get("text/plain", "") or o.get("text", ""))]
    assert not cut, f"{path.name}: cells {cut} show a table cut by pandas (set display.max_rows/max_columns)"
