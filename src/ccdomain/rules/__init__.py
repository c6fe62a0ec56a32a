"""Pure rules: records in, records or decisions out (no ports, no stores, no I/O, no clock).

Notebooks and hosts import these directly; the services in :mod:`ccdomain.services`
apply them inside a unit of work.
"""
