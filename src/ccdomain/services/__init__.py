"""Services: one unit of work per function, over the ports; they never import a store.

Each takes the store (or a unit of work) first and everything else by keyword.
"""
