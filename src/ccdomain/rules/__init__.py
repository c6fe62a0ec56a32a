"""Pure rules: records in, records or decisions out (no ports, no stores, no I/O, no clock).

Each module holds the rules of one family; the module docstrings name the rule ids.
Notebooks and hosts import them directly.
"""
