"""ccdomain: the rule book of a contact center."""

__version__ = "0.1.0"
