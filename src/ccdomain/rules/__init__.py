"""Pure rules: frozen records in, records or decisions out; no ports, stores, I/O or clock.

Each module's docstring names the rule ids it holds. Notebooks import these.
"""
