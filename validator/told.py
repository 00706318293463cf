"""How a site wrote something its values show only now and then (the order of dates written with slashes, the
decimal separator of numbers): each column as its own values tell, else as the site's other columns tell.

`told` maps (table, column) to what the column's values allow no other reading of: nothing, one way, or more
than one (MIXED: unreadable either way, the contracts report it). A given choice (not AUTO) wins everywhere.
"""

from __future__ import annotations

AUTO, MIXED = "auto", "mixed"


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
