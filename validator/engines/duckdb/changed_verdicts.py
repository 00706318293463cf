"""Which parts' verdicts differ between two runs (`backflush diff OLD NEW`), matched by DuckDB: one full outer join of
both runs' judged parts on company, site and part, sorted by DuckDB. Its hash join and its sort spill past the memory
limit, so neither run's parts are encoded in Python: at 50M job lines each run judges 5M parts, and a change made to
every part (backflush switched on across a site) changes as many verdicts (docs/performance.md)."""

from __future__ import annotations

import duckdb
import pyarrow as pa

from validator.engines.duckdb.sql_text import literal
from validator.findings import VERDICTS

# a run's verdicts as the join reads them: the keys as text (an export without Company gives a column of nulls), the
# verdict, and a mark that the run judged the part
_JUDGED = ("SELECT CAST(company AS VARCHAR) AS company, CAST(plant AS VARCHAR) AS plant, "
           "CAST(part_num AS VARCHAR) AS part_num, CAST(verdict AS VARCHAR) AS verdict, TRUE AS judged FROM {}")

# a part is the same in both runs when its company, site and part are (a missing company the same as a missing one);
# the worst new verdict first, parts NEW did not judge last, then by company (a missing one first), site and part
_CHANGED = f"""
SELECT CASE WHEN n.judged THEN n.company ELSE o.company END AS company,
       CASE WHEN n.judged THEN n.plant ELSE o.plant END AS plant,
       CASE WHEN n.judged THEN n.part_num ELSE o.part_num END AS part_num,
       o.verdict AS before, n.verdict AS after
FROM ({_JUDGED.format("new_verdicts")}) AS n
FULL OUTER JOIN ({_JUDGED.format("old_verdicts")}) AS o
  ON n.company IS NOT DISTINCT FROM o.company AND n.plant IS NOT DISTINCT FROM o.plant
 AND n.part_num IS NOT DISTINCT FROM o.part_num
WHERE o.verdict IS DISTINCT FROM n.verdict
ORDER BY coalesce(list_position([{', '.join(literal(v) for v in VERDICTS)}], after), {len(VERDICTS) + 1}),
         company NULLS FIRST, plant NULLS FIRST, part_num
"""


def changed_verdicts(con: duckdb.DuckDBPyConnection, old: pa.Table, new: pa.Table) -> pa.Table:
    """Company, plant, part_num, before and after (None: the run did not judge the part) of every part whose
    verdict differs between `old` and `new` (each a run's verdicts, a part at most once), the worst new verdict
    first and the parts `new` did not judge last, then by company, site and part."""
    con.register("old_verdicts", old)
    con.register("new_verdicts", new)
    return con.execute(_CHANGED).to_arrow_table()
