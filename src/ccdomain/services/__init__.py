"""Services: one unit of work per call, over the ports (never a store module).

Each module holds the services of one family; the public modules (``ccdomain.tickets``,
``ccdomain.contacts``...) re-export them.
"""
