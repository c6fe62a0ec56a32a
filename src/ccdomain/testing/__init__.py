"""Test support shipped with ccdomain: hypothesis strategies, fakes, store conformance.

Import the submodule you need; this package imports nothing heavy itself, so
``import ccdomain`` never pulls in pytest or hypothesis:

* :mod:`ccdomain.testing.strategies`: hypothesis strategies for every model.
* :mod:`ccdomain.testing.fakes`: recording fakes of the ports (channels).
* :mod:`ccdomain.testing.conformance`: the store conformance suite; a host
  subclasses ``StoreConformance`` and writes one ``make_store`` method.
"""
