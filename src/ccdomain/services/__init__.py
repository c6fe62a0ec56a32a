"""Services: one unit of work each, over the store ports of :mod:`ccdomain.ports`.

Each loads through a port, applies the pure rules of :mod:`ccdomain.rules` and
saves through the same unit of work; none imports a store implementation.
"""
