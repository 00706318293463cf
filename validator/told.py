"""How a site wrote something its values show only now and then (the order of dates written with slashes, the
decimal separator of numbers): each column as its own values tell, else as the site's other columns tell.

`told` maps (table, column) to what the column's values allow no other reading of: nothing, one way, or more
than one (MIXED: unreadable either way, the contracts report it). A given choice (not AUTO) wins everywhere.
"""

from __future__ import annotations

AUTO, MIXED = "auto", "mixed"
# the order of a date written with slashes (engines/duckdb/date_order.py reads it), as --date-order names it
MONTH_FIRST, DAY_FIRST = "month-first", "day-first"
DATE_ORDERS = (AUTO, MONTH_FIRST, DAY_FIRST)  # --date-order, date_order in backflush.yaml
# the decimal separator of a number written as text (engines/duckdb/decimals.py), as --decimal-separator names it
POINT, COMMA = "point", "comma"
DECIMAL_SEPARATORS = (AUTO, POINT, COMMA)  # --decimal-separator, decimal_separator in backflush.yaml


def site_choice(told: dict[tuple[str, str], frozenset[str]], choice: str, default: str) -> str:
    """The reading of a site's columns that tell nothing: the one given, else the one every telling column
    tells, else `default`."""
    if choice != AUTO:
        return choice
    site = {way for ways in told.values() if len(ways) == 1 for way in ways}
    return next(iter(site)) if len(site) == 1 else default


def decide(told: dict[tuple[str, str], frozenset[str]], choice: str, default: str) -> dict[tuple[str, str], str]:
    """(table, column) -> the reading of it: the way it tells, MIXED, or the site's."""
    if choice != AUTO:
        return dict.fromkeys(told, choice)
    fallback = site_choice(told, AUTO, default)
    return {key: MIXED if len(ways) > 1 else next(iter(ways), fallback) for key, ways in told.items()}
