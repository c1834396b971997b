"""Re-execute the analysis notebooks in place (they only read results/), so that their stored outputs
match the committed results; the strict nbval step of `make test` compares them.

    python scripts/execute_analysis.py [notebooks/analysis_x.ipynb ...]   # default: all of them

Execution records (timestamps) are not kept, so a re-run on unchanged results changes nothing.
The book pages (book/analysis/*.ipynb, the notebooks without outputs) are synced afterwards, so that a
changed notebook and its page are always committed together.
"""
from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]


def execute(path: Path) -> None:
    nb = nbformat.read(str(path), as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
    nbformat.write(nb, str(path))
    print(f"executed {path.relative_to(ROOT)}")


if __name__ == "__main__":
    paths = [Path(p).resolve() for p in sys.argv[1:]] or sorted((ROOT / "notebooks").glob("analysis_*.ipynb"))
    for p in paths:
        execute(p)
    sys.path.insert(0, str(ROOT))
    from gainakt.book import sync_analysis_pages
    for page in sync_analysis_pages(ROOT):
        print(f"synced {page.relative_to(ROOT)} (commit it with its notebook)")
