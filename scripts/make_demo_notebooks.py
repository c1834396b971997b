"""Write the placeholder notebook that keeps the exploration page testable.

book/exploration/widget_demo.ipynb is executed here with nbclient (which stores the widget
state) and committed with outputs, so the build renders it as is and the browser check can prove
that figures, widgets and math render offline. (The analysis page, book/analysis/variants.ipynb,
is written from notebooks/analysis_variants.ipynb by `python -m gainakt.book build`.)

An existing file is kept unless --force.
Usage: .venv/bin/python scripts/make_demo_notebooks.py [--force]
"""

import argparse
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}

WIDGET_FIG_CODE = """\
import numpy as np
import matplotlib.pyplot as plt

t = np.arange(50)
fig, ax = plt.subplots(figsize=(5, 2.5))
ax.plot(t, 1 - np.exp(-t / 10), label="mastery")
ax.plot(t, np.exp(-t / 10) / 10, label="gain")
ax.set_xlabel("interaction $t$")
ax.legend()
plt.show()"""

WIDGET_CODE = """\
import ipywidgets as widgets

# Front-end link only: it keeps working in the static page, no kernel needed.
step = widgets.IntSlider(value=3, min=0, max=49, description="step")
shown = widgets.IntText(value=3, description="value", disabled=True)
widgets.jslink((step, "value"), (shown, "value"))
widgets.HBox([step, shown])"""


def widget_demo_notebook():
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = KERNELSPEC
    nb.metadata["language_info"] = {"name": "python"}
    nb.cells = [
        nbformat.v4.new_markdown_cell(
            "# Widget and figure demo (placeholder)\n\n"
            "Proves that a pre-executed notebook renders offline: a matplotlib figure, an "
            "ipywidgets slider linked in the browser to a text box, and math such as "
            "$\\hat{y}_t = \\sigma(\\mathbf{w}^\\top \\mathbf{h}_t + b)$. "
            "To be replaced by the real exploration page."
        ),
        nbformat.v4.new_code_cell(WIDGET_FIG_CODE, metadata={"tags": ["hide-input"]}),  # chapter: code folded
        nbformat.v4.new_code_cell(WIDGET_CODE, metadata={"tags": ["hide-input"]}),
    ]
    # store_widget_state=True is nbclient's default: the page can render the widgets.
    NotebookClient(nb, timeout=120, kernel_name="python3", store_widget_state=True).execute(
        cwd=str(ROOT)
    )
    return nb


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--force", action="store_true", help="overwrite the existing notebook")
    args = ap.parse_args()
    rel = "book/exploration/widget_demo.ipynb"
    out = ROOT / rel
    if out.exists() and not args.force:
        print(f"kept {rel} (exists; --force to overwrite)")
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(widget_demo_notebook(), out)
    print("wrote", rel)


if __name__ == "__main__":
    main()
