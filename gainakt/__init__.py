"""gainakt: GainAKT3Exp re-implemented with every audit switch, for an executable research book."""
from pathlib import Path

__version__ = "0.1.0"
# the folder holding gainakt/: the project root in a source checkout
PACKAGE_ROOT = Path(__file__).resolve().parents[1]
