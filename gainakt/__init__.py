"""gainakt: GainAKT3Exp re-implemented with every audit switch, for an executable research book."""
__version__ = "0.1.0"
