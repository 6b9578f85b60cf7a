"""FHIR search lowered to SQL: ``run_search(conn, query, access)`` -> ``SearchPage``.

One predicate builder per parameter type (``string``, ``token``, ``reference``, ``ranges``
for date/number/quantity, ``uri``), composed by ``predicates``; ``sort``, ``include`` and
``run`` do the rest. Nothing here reads resource JSON to decide a match.
"""

from chartkeeper.store.search.run import SearchPage, count_matches, run_search

__all__ = ["SearchPage", "count_matches", "run_search"]
