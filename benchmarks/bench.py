"""Benchmark: `backflush check` against a hand-written DuckDB query and a bare read, on one generated site.

    python -m benchmarks.bench --parts 1000000 --job-mtl 10000000 --job-oper 3000000

Generates an Epicor-shaped site as Parquet (or CSV with --export csv; deterministic, about 1% defects), then
runs three phases,
each in its own process so that wall time and peak memory (max RSS) are its own:
  read        a bare read of every column the built-in rules need;
  handwritten hand-written DuckDB queries for the same built-in rules (18: one per table for rules that
              read the same joins), with plain joins (it trusts the data: no contracts, no case-insensitive
              keys) and the found keys fetched as Arrow (no messages, no JSON);
  check       `backflush check DIR --format json --output FILE` with the eligibility and integrity rules,
              compiling its passes (the compile cache emptied first);
  check-reused the same run right after, reusing the passes the check phase compiled (validator/engines/duckdb/compile_cache.py),
              as a second run on unchanged rules and tables does;
  like-for-like, like-for-like-keys, check-8-rules-compiling, check-8-rules
              the baseline of issue 20 for eight rules (BFE001-005, BFE007, BFC001, BFC003): one pass per judged
              table writing the findings `check` writes (what-if ones among them) as one JSON document (or only
              their keys), against `check --rule` for the same eight, compiling its passes (the cache emptied
              first) and right after reusing them. The run stops if the two documents' findings differ.
  like-for-like-report
              the same passes with check's own work beside them, as the expert writes it to make the same report:
              a contract scan per table read (blank keys; keys twice, read from the key order of an export in
              key order, as check reads them, else counted) and the verdicts of the judged part sites,
              sorted and written with COPY. The run stops if its verdicts differ from check's.
With --labor-dtl N it adds a year of history (N LaborDtl rows, N/5 PartTran) and two more phases:
  readiness-handwritten  hand-written DuckDB queries for the readiness rules BFR001-BFR009;
  readiness-check        `backflush check --tag readiness` (BFR010 has no attestations here: skipped), compiling.
It prints each phase's figures and the ratios. With --repeat N the phases run N times, taking turns,
and the median wall time of each is reported (with every run's time).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

SITE_SQL = {
    "Part": """SELECT 'EPIC06' AS Company, 'P' || lpad(i::VARCHAR, 7, '0') AS PartNum, 'Part ' || i AS PartDescription,
        CASE WHEN i % 20 = 0 THEN 'M' ELSE 'P' END AS TypeCode, i % 389 = 0 AS NonStock, i % 389 <> 0 AS QtyBearing,
        i % 97 = 0 AS TrackLots, i % 193 = 0 AS TrackSerialNum, i % 211 = 0 AS InActive, i % 401 = 0 AS OnHold,
        CASE WHEN i % 4 = 0 THEN 'A' ELSE 'S' END AS CostMethod, 'EA' AS IUM, uuid()::VARCHAR AS SysRowID
        FROM range({parts}) t(i)""",
    "PartPlant": """SELECT 'EPIC06' AS Company, 'MfgSys' AS Plant, 'P' || lpad(i::VARCHAR, 7, '0') AS PartNum,
        i % 3 <> 0 AS BackFlush, i % 977 = 0 AS NonStock, 'P' AS SourceType, 'S' AS CostMethod, 'MAIN' AS PrimWhse
        FROM range({parts}) t(i)""",
    "PartRev": """SELECT 'EPIC06' AS Company, 'P' || lpad(i::VARCHAR, 7, '0') AS PartNum, 'A' AS RevisionNum, '' AS AltMethod,
        'MfgSys' AS Plant, i % 1000 <> 0 AS Approved, DATE '2025-01-15' AS EffectiveDate, 0 AS FinalOpr
        FROM range(0, {parts}, 20) t(i)""",
    "PartMtl": """SELECT 'EPIC06' AS Company, 'P' || lpad((r * 20)::VARCHAR, 7, '0') AS PartNum, 'A' AS RevisionNum,
        '' AS AltMethod, (s + 1) * 10 AS MtlSeq, 'P' || lpad(((r * 8 + s) * 7919 % {parts})::VARCHAR, 7, '0') AS MtlPartNum,
        CASE WHEN (r * 8 + s) % 1009 = 0 THEN 0.0 ELSE 1.0 + s END AS QtyPer, (r * 8 + s) % 1013 = 0 AS FixedQty,
        CASE WHEN (r * 8 + s) % 997 = 0 THEN 90 WHEN (r * 8 + s) % 499 = 0 THEN 0 ELSE (s % 4 + 1) * 10 END AS RelatedOperation,
        CASE WHEN (r * 8 + s) % 1019 = 0 THEN 150.0 ELSE 2.0 END AS EstScrap, '%' AS EstScrapType
        FROM range({revs}) a(r), range(8) b(s)""",
    "PartOpr": """SELECT 'EPIC06' AS Company, 'P' || lpad((r * 20)::VARCHAR, 7, '0') AS PartNum, 'A' AS RevisionNum,
        '' AS AltMethod, (s + 1) * 10 AS OprSeq, 'OP' || s AS OpCode,
        CASE WHEN s = 3 AND r % 499 = 0 THEN 'B' WHEN s = 0 AND r % 7 = 0 THEN 'B' ELSE 'T' END AS LaborEntryMethod,
        s = 2 AND r % 331 = 0 AS SubContract, FALSE AS FinalOpr
        FROM range({revs}) a(r), range(4) b(s)""",
    "JobHead": """SELECT 'EPIC06' AS Company, lpad(j::VARCHAR, 7, '0') AS JobNum, 'P' || lpad((j % {revs} * 20)::VARCHAR, 7, '0') AS PartNum,
        'A' AS RevisionNum, 'MfgSys' AS Plant, 10.0 + j % 90 AS ProdQty, j % 10 <> 0 AS JobReleased, j % 10 >= 6 AS JobComplete,
        j % 10 = 9 AS JobClosed, CASE WHEN j % 10 >= 6 THEN DATE '2026-10-31' - CAST(j % 400 AS INTEGER) END AS JobCompletionDate
        FROM range({jobs}) t(j)""",
    "JobAsmbl": """SELECT 'EPIC06' AS Company, lpad(j::VARCHAR, 7, '0') AS JobNum, 0 AS AssemblySeq,
        'P' || lpad((j % {revs} * 20)::VARCHAR, 7, '0') AS PartNum, 'A' AS RevisionNum, 10.0 + j % 90 AS RequiredQty,
        0.0 AS PullQty FROM range({jobs}) t(j)""",
    "JobOper": """SELECT 'EPIC06' AS Company, lpad((i // 4)::VARCHAR, 7, '0') AS JobNum, 0 AS AssemblySeq, (i % 4 + 1) * 10 AS OprSeq,
        'OP' || (i % 4) AS OpCode, CASE WHEN i % 4 = 3 AND i % 4999 = 3 THEN 'B' ELSE 'T' END AS LaborEntryMethod,
        i % 4 = 2 AND (i // 4) % 331 = 0 AS SubContract, FALSE AS FinalOpr,
        CASE WHEN i % 7001 = 0 THEN 0.0 ELSE 10.0 + (i // 4) % 90 END AS RunQty,
        CASE WHEN (i // 4) % 10 >= 6 THEN 10.0 + (i // 4) % 90 ELSE 0.0 END AS QtyCompleted,
        'RG' || (i % 50) AS PrimaryResourceGrpID, CASE WHEN i % 4 = 0 THEN 2.0 ELSE 0.0 END AS EstScrap
        FROM range({job_oper}) t(i)""",
    "JobMtl": """SELECT 'EPIC06' AS Company, lpad((i // {per_job})::VARCHAR, 7, '0') AS JobNum, 0 AS AssemblySeq,
        (i % {per_job} + 1) * 10 AS MtlSeq, 'P' || lpad((i * 7919 % {parts})::VARCHAR, 7, '0') AS PartNum, 'MfgSys' AS Plant,
        CASE WHEN i % 10007 = 0 THEN -1.0 ELSE 1.0 + i % 5 END AS QtyPer, i % 10009 = 0 AS FixedQty,
        (1.0 + i % 5) * 20 AS RequiredQty, CASE WHEN i % 97 = 0 THEN 20.0 ELSE 0.0 END AS IssuedQty,
        (i // {per_job}) % 10 >= 6 AS IssuedComplete,
        CASE WHEN i % 9973 = 0 THEN 90 WHEN i % 4999 = 0 THEN 0 ELSE (i % 4 + 1) * 10 END AS RelatedOperation,
        CASE WHEN i % 1000 = 1 THEN NOT ((i * 7919 % {parts}) % 3 <> 0) ELSE (i * 7919 % {parts}) % 3 <> 0 END AS BackFlush,
        i % 20011 = 0 AS BuyIt, i % 20021 = 0 AS Direct,
        CASE WHEN i % 30011 = 0 THEN '' ELSE 'MAIN' END AS WarehouseCode,
        CASE WHEN i % 10037 = 0 THEN -3.0 ELSE 2.0 END AS EstScrap, '%' AS EstScrapType, uuid()::VARCHAR AS SysRowID
        FROM range({job_mtl}) t(i)""",
    "ResourceGroup": """SELECT 'EPIC06' AS Company, 'RG' || i AS ResourceGrpID, 'MfgSys' AS Plant,
        CASE WHEN i % 5 = 0 THEN '' ELSE 'LINE' || i END AS InputWhse, '' AS InputBinNum,
        CASE WHEN i % 5 = 0 OR i % 3 = 0 THEN '' ELSE 'MAIN' END AS BackflushWhse, '' AS BackflushBinNum FROM range(50) t(i)""",
    "Resource": """SELECT 'EPIC06' AS Company, 'R' || i AS ResourceID, 'RG' || (i % 50) AS ResourceGrpID,
        '' AS InputWhse, '' AS InputBinNum, '' AS BackflushWhse, '' AS BackflushBinNum FROM range(200) t(i)""",
    "PartWhse": """SELECT 'EPIC06' AS Company, 'P' || lpad(i::VARCHAR, 7, '0') AS PartNum, 'MAIN' AS WarehouseCode,
        'MfgSys' AS Plant, CASE WHEN i % 503 = 0 THEN -5.0 ELSE (i % 40) * 250.0 END AS OnHandQty, 30 AS CountFreq,
        DATE '2026-06-01' AS LastCCDate FROM range({parts}) t(i)""",
    "PartBin": """SELECT 'EPIC06' AS Company, 'P' || lpad(i::VARCHAR, 7, '0') AS PartNum, 'MAIN' AS WarehouseCode,
        'A-' || (i % 100) AS BinNum, '' AS LotNum, 'EA' AS DimCode,
        CASE WHEN i % 509 = 0 THEN -2.0 ELSE (i % 40) * 250.0 END AS OnhandQty FROM range({parts}) t(i)""",
}

# A year of history (--labor-dtl N): labour on the job operations and inventory transactions.
HISTORY_SQL = {
    "LaborDtl": """SELECT 'EPIC06' AS Company, i AS LaborDtlSeq, lpad(((i % {job_oper}) // 4)::VARCHAR, 7, '0') AS JobNum,
        0 AS AssemblySeq, ((i % {job_oper}) % 4 + 1) * 10 AS OprSeq, 'P' AS LaborType, 10.0 + i % 50 AS LaborQty,
        CASE WHEN i % 7 = 0 THEN 1.0 + (i // 7) % 5 WHEN i % 11 = 0 THEN 3.0 ELSE 0.0 END AS ScrapQty,
        DATE '2026-10-31' - CAST(i % 365 AS INTEGER) AS ClockInDate, 14.0 AS ClockOutTime,
        DATE '2026-10-31' - CAST(i % 365 AS INTEGER) + CAST(i % 3 = 0 AS INTEGER) AS CreateDate, 54000 AS CreateTime
        FROM range({labor_dtl}) t(i)""",
    "PartTran": """SELECT 'EPIC06' AS Company, DATE '2026-10-31' - CAST(i % 365 AS INTEGER) AS SysDate, i % 86400 AS SysTime,
        i AS TranNum, 'P' || lpad((i * 7919 % {parts})::VARCHAR, 7, '0') AS PartNum, 'MfgSys' AS Plant,
        CASE WHEN i % 13 = 0 THEN 'ADJ-QTY' ELSE 'STK-MTL' END AS TranType, 1.0 + i % 20 AS TranQty,
        DATE '2026-10-31' - CAST(i % 365 AS INTEGER) AS TranDate FROM range({part_tran}) t(i)""",
}

# The hand-written baseline: what a DBA would write for the same rules, on clean data.
HANDWRITTEN = """
CREATE TEMP VIEW pm AS SELECT m.*, r.Plant AS RevPlant, COALESCE(m_bf.BackFlush, FALSE) AS bf
  FROM PartMtl m LEFT JOIN PartRev r USING (Company, PartNum, RevisionNum, AltMethod)
  LEFT JOIN PartPlant m_bf ON m_bf.Company = m.Company AND m_bf.PartNum = m.MtlPartNum AND m_bf.Plant = r.Plant;
CREATE TEMP VIEW oj AS SELECT Company, JobNum FROM JobHead WHERE NOT COALESCE(JobComplete, FALSE) AND NOT COALESCE(JobClosed, FALSE);
CREATE TEMP VIEW jm AS SELECT * FROM JobMtl SEMI JOIN oj USING (Company, JobNum) WHERE BackFlush;
CREATE TEMP VIEW pp AS SELECT * FROM PartPlant WHERE BackFlush;
"""
HANDWRITTEN_RULES = {
    "BFE001/002/003/008 PartPlant": """SELECT pp.Company, pp.Plant, pp.PartNum, p.TrackLots, p.TrackSerialNum, p.NonStock, p.InActive
        FROM pp JOIN Part p USING (Company, PartNum)
        WHERE p.TrackLots OR p.TrackSerialNum OR p.NonStock OR pp.NonStock OR NOT p.QtyBearing OR p.InActive OR p.OnHold""",
    "BFE001/002/003/008 PartMtl": """SELECT m.Company, m.PartNum, m.RevisionNum, m.AltMethod, m.MtlSeq, p.TrackLots
        FROM pm m JOIN Part p ON p.Company = m.Company AND p.PartNum = m.MtlPartNum
        LEFT JOIN PartPlant s ON s.Company = m.Company AND s.PartNum = m.MtlPartNum AND s.Plant = m.RevPlant
        WHERE m.bf AND (p.TrackLots OR p.TrackSerialNum OR p.NonStock OR s.NonStock OR NOT p.QtyBearing OR p.InActive OR p.OnHold)""",
    "BFE001/002/003/008 JobMtl": """SELECT j.Company, j.JobNum, j.AssemblySeq, j.MtlSeq, p.TrackLots
        FROM jm j JOIN Part p USING (Company, PartNum) LEFT JOIN PartPlant s USING (Company, Plant, PartNum)
        WHERE p.TrackLots OR p.TrackSerialNum OR p.NonStock OR s.NonStock OR NOT p.QtyBearing OR p.InActive OR p.OnHold""",
    "BFE004/005": "SELECT Company, JobNum, AssemblySeq, MtlSeq FROM jm WHERE Direct OR BuyIt",
    "BFE006/BFC001 PartMtl": """SELECT m.Company, m.PartNum, m.RevisionNum, m.AltMethod, m.MtlSeq, o.SubContract FROM pm m
        LEFT JOIN PartOpr o ON o.Company = m.Company AND o.PartNum = m.PartNum AND o.RevisionNum = m.RevisionNum
        AND o.AltMethod = m.AltMethod AND o.OprSeq = m.RelatedOperation
        WHERE m.bf AND (o.SubContract OR (m.RelatedOperation <> 0 AND o.OprSeq IS NULL))""",
    "BFE006/BFC001/BFC013 JobMtl": """SELECT j.Company, j.JobNum, j.AssemblySeq, j.MtlSeq, o.SubContract FROM jm j
        LEFT JOIN JobOper o ON o.Company = j.Company AND o.JobNum = j.JobNum AND o.AssemblySeq = j.AssemblySeq
        AND o.OprSeq = j.RelatedOperation
        WHERE o.SubContract OR (j.RelatedOperation <> 0 AND o.OprSeq IS NULL) OR (j.RelatedOperation > 0 AND o.OprSeq IS NOT NULL AND j.IssuedQty > 0 AND COALESCE(o.QtyCompleted, 0) <= 0)""",
    "BFE007": """SELECT pp.Company, pp.Plant, pp.PartNum, NULL FROM pp ANTI JOIN Part p USING (Company, PartNum)
        UNION ALL SELECT m.Company, m.PartNum, m.RevisionNum, CAST(m.MtlSeq AS VARCHAR) FROM pm m
          ANTI JOIN Part p ON p.Company = m.Company AND p.PartNum = m.MtlPartNum WHERE m.bf
        UNION ALL SELECT j.Company, j.JobNum, CAST(j.AssemblySeq AS VARCHAR), CAST(j.MtlSeq AS VARCHAR) FROM jm j
          ANTI JOIN Part p USING (Company, PartNum)""",
    "BFC002/003/004/005 PartMtl": """SELECT Company, PartNum, RevisionNum, AltMethod, MtlSeq FROM pm WHERE bf AND (
        RelatedOperation = 0 OR RelatedOperation IS NULL OR (NOT FixedQty AND (QtyPer <= 0 OR QtyPer IS NULL)) OR FixedQty
        OR EstScrap < 0 OR (EstScrapType = '%' AND EstScrap > 100))""",
    "BFC002/003/004/005 JobMtl": """SELECT Company, JobNum, AssemblySeq, MtlSeq FROM jm WHERE
        RelatedOperation = 0 OR RelatedOperation IS NULL OR (NOT FixedQty AND (QtyPer <= 0 OR QtyPer IS NULL)) OR FixedQty
        OR EstScrap < 0 OR (EstScrapType = '%' AND EstScrap > 100)""",
    "BFC006": """SELECT r.Company, r.PartNum, r.RevisionNum, r.AltMethod FROM PartRev r WHERE NOT r.Approved AND EXISTS (
        SELECT 1 FROM pm m WHERE m.Company = r.Company AND m.PartNum = r.PartNum AND m.RevisionNum = r.RevisionNum
        AND m.AltMethod = r.AltMethod AND m.bf)""",
    "BFC007 JobOper": """SELECT Company, JobNum, AssemblySeq, OprSeq FROM (SELECT *, max(OprSeq) OVER (PARTITION BY Company, JobNum,
        AssemblySeq) AS last FROM JobOper SEMI JOIN oj USING (Company, JobNum)) WHERE LaborEntryMethod IN ('B', 'X') AND (FinalOpr OR OprSeq = last)""",
    "BFC007 PartOpr": """SELECT o.Company, o.PartNum, o.RevisionNum, o.AltMethod, o.OprSeq FROM (SELECT *, max(OprSeq) OVER (
        PARTITION BY Company, PartNum, RevisionNum, AltMethod) AS last FROM PartOpr) o LEFT JOIN PartRev r
        USING (Company, PartNum, RevisionNum, AltMethod) WHERE o.LaborEntryMethod IN ('B', 'X')
        AND (o.FinalOpr OR o.OprSeq = r.FinalOpr OR o.OprSeq = o.last)""",
    "BFC008": """SELECT o.Company, o.JobNum, o.AssemblySeq, o.OprSeq FROM JobOper o SEMI JOIN oj USING (Company, JobNum) WHERE COALESCE(o.RunQty, 0) <= 0 AND EXISTS (
        SELECT 1 FROM jm j WHERE j.Company = o.Company AND j.JobNum = o.JobNum AND j.AssemblySeq = o.AssemblySeq
        AND j.RelatedOperation = o.OprSeq)""",
    "BFC009": """SELECT j.Company, j.JobNum, j.AssemblySeq, j.MtlSeq FROM JobMtl j SEMI JOIN oj USING (Company, JobNum) JOIN PartPlant s USING (Company, Plant, PartNum)
        WHERE COALESCE(j.BackFlush, FALSE) <> s.BackFlush""",
    "BFC010": """SELECT j.Company, j.JobNum, j.AssemblySeq, j.MtlSeq FROM jm j
        LEFT JOIN JobOper o ON o.Company = j.Company AND o.JobNum = j.JobNum AND o.AssemblySeq = j.AssemblySeq
        AND o.OprSeq = j.RelatedOperation LEFT JOIN ResourceGroup g ON g.Company = o.Company AND g.ResourceGrpID = o.PrimaryResourceGrpID
        WHERE COALESCE(j.WarehouseCode, '') = '' AND COALESCE(g.InputWhse, '') = '' AND COALESCE(g.BackflushWhse, '') = ''
        AND NOT EXISTS (SELECT 1 FROM Resource r WHERE r.Company = o.Company AND r.ResourceGrpID = o.PrimaryResourceGrpID
        AND (COALESCE(r.InputWhse, '') <> '' OR COALESCE(r.BackflushWhse, '') <> ''))""",
    "BFC011 PartWhse": """SELECT w.Company, w.PartNum, w.WarehouseCode FROM PartWhse w JOIN pp USING (Company, PartNum, Plant)
        WHERE w.OnHandQty < 0""",
    "BFC011 PartBin": """SELECT b.Company, b.PartNum, b.WarehouseCode, b.BinNum, COALESCE(b.LotNum, ''), COALESCE(b.DimCode, '') FROM PartBin b JOIN PartWhse w USING (Company, PartNum, WarehouseCode)
        JOIN pp ON pp.Company = w.Company AND pp.PartNum = w.PartNum AND pp.Plant = w.Plant WHERE b.OnhandQty < 0""",
    "BFC012": """WITH open AS (SELECT j.Company, j.PartNum, j.WarehouseCode, j.RequiredQty - j.IssuedQty AS OpenQty FROM jm j
        JOIN JobHead h USING (Company, JobNum) WHERE h.JobReleased AND NOT h.JobComplete AND NOT h.JobClosed
        AND NOT j.IssuedComplete AND j.RequiredQty - j.IssuedQty > 0 AND COALESCE(j.WarehouseCode, '') <> ''),
        demand AS (SELECT Company, PartNum, WarehouseCode, sum(OpenQty) AS OpenDemand FROM open GROUP BY ALL)
        SELECT w.Company, w.PartNum, w.WarehouseCode, d.OpenDemand, COALESCE(w.OnHandQty, 0) AS OnHand FROM PartWhse w
        JOIN demand d USING (Company, PartNum, WarehouseCode) WHERE d.OpenDemand > COALESCE(w.OnHandQty, 0)""",
}


# The like-for-like baseline (issue 20): what a DuckDB expert writes to produce the same findings as `check` for
# eight rules (BFE001-005, BFE007, BFC001, BFC003): per judged table one pass that scans it once, joins what it needs
# once, evaluates every rule in the same pass (UNION ALL over the joined rows), formats the messages and evidence,
# computes the fingerprints, sorts, and writes the findings as one JSON document with COPY. Like `check`, it judges
# the lines that are backflushed (outcome fail) and those that would be if their component's site default were
# switched on (outcome if_enabled: rules/what_if.py), so its document holds the findings `check` writes, which the
# benchmark compares. It trusts the data (plain joins, no blanks, one company) as the generated site allows.
# `keys` is the same passes fetching only the found keys.
LIKE_FOR_LIKE_RULES = ("BFE001", "BFE002", "BFE003", "BFE004", "BFE005", "BFE007", "BFC001", "BFC003")
_FINGERPRINT = "left(sha256(concat(rule_id, chr(29), tbl, chr(29), {parts})), 32)"
# QtyPer as check writes a number: a whole one (0.0) without its decimal point, in the message and in the evidence
_QTYPER_TEXT = "CASE WHEN QtyPer = trunc(QtyPer) THEN CAST(CAST(QtyPer AS BIGINT) AS VARCHAR) ELSE CAST(QtyPer AS VARCHAR) END"
_QTYPER_JSON = "CASE WHEN QtyPer = trunc(QtyPer) THEN to_json(CAST(QtyPer AS BIGINT)) ELSE to_json(QtyPer) END"
_BOOL = "CASE WHEN {0} THEN 'True' ELSE 'False' END"


def _key_text(columns: list[str]) -> str:
    return ", chr(31), ".join(f"'{c}', chr(30), upper(rtrim(CAST({c} AS VARCHAR)))" for c in columns)


_JOBMTL = f"""
    WITH j AS (SELECT j.Company, j.JobNum, j.AssemblySeq, j.MtlSeq, j.Plant, j.PartNum, j.Direct, j.BuyIt, j.QtyPer, j.FixedQty,
            j.RelatedOperation, p.TrackLots, p.TrackSerialNum, p.QtyBearing, p.PartNum AS known,
            COALESCE(s.NonStock, p.NonStock) AS nonstock, o.OprSeq AS opr,
            CASE WHEN j.BackFlush THEN 'fail' ELSE 'if_enabled' END AS outcome
        FROM JobMtl j SEMI JOIN oj USING (Company, JobNum) LEFT JOIN Part p USING (Company, PartNum)
        LEFT JOIN PartPlant s USING (Company, Plant, PartNum)
        LEFT JOIN JobOper o ON o.Company = j.Company AND o.JobNum = j.JobNum AND o.AssemblySeq = j.AssemblySeq
            AND o.OprSeq = j.RelatedOperation
        WHERE j.BackFlush OR (s.PartNum IS NOT NULL AND NOT s.BackFlush))
    SELECT 'BFE001' AS rule_id, 'JobMtl' AS tbl, *,
        format('Job {{}} asm {{}} material {{}} backflushes lot-tracked component {{}}', JobNum, AssemblySeq, MtlSeq,
               PartNum) AS message, json_object('PartNum', PartNum) AS evidence FROM j WHERE TrackLots
    UNION ALL SELECT 'BFE002', 'JobMtl', *,
        format('Job {{}} asm {{}} material {{}} backflushes serial-tracked component {{}}', JobNum, AssemblySeq, MtlSeq,
               PartNum), json_object('PartNum', PartNum) FROM j WHERE TrackSerialNum
    UNION ALL SELECT 'BFE003', 'JobMtl', *,
        format('Job {{}} asm {{}} material {{}} backflushes non-stock or non-quantity-bearing component {{}}', JobNum,
               AssemblySeq, MtlSeq, PartNum), json_object('PartNum', PartNum) FROM j WHERE nonstock OR NOT QtyBearing
    UNION ALL SELECT 'BFE004', 'JobMtl', *,
        format('Job {{}} asm {{}} material {{}} ({{}}) is backflushed but Make Direct (JobMtl.Direct): it is supplied by '
               'another job, not from stock', JobNum, AssemblySeq, MtlSeq, PartNum), json_object('PartNum', PartNum)
        FROM j WHERE Direct
    UNION ALL SELECT 'BFE005', 'JobMtl', *,
        format('Job {{}} asm {{}} material {{}} ({{}}) is backflushed but Purchase Direct (JobMtl.BuyIt): it is bought to '
               'the job, not issued from stock', JobNum, AssemblySeq, MtlSeq, PartNum), json_object('PartNum', PartNum)
        FROM j WHERE BuyIt
    UNION ALL SELECT 'BFE007', 'JobMtl', *,
        format('Job {{}} asm {{}} material {{}} backflushes {{}}, which is not in the part master', JobNum, AssemblySeq,
               MtlSeq, PartNum), json_object('PartNum', PartNum) FROM j WHERE known IS NULL
    UNION ALL SELECT 'BFC001', 'JobMtl', *,
        format('Job {{}} asm {{}} material {{}} ({{}}) is backflushed on operation {{}}, which is not an operation of that '
               'assembly', JobNum, AssemblySeq, MtlSeq, PartNum, RelatedOperation),
        json_object('PartNum', PartNum, 'RelatedOperation', RelatedOperation) FROM j WHERE RelatedOperation <> 0 AND opr IS NULL
    UNION ALL SELECT 'BFC003', 'JobMtl', *,
        format('Job {{}} asm {{}} material {{}} ({{}}) is backflushed with QtyPer {{}}', JobNum, AssemblySeq, MtlSeq,
               PartNum, {_QTYPER_TEXT}), json_object('PartNum', PartNum, 'QtyPer', {_QTYPER_JSON})
        FROM j WHERE NOT FixedQty AND COALESCE(QtyPer, 0) = 0"""
# a part's site default judged as it is, or as if switched on where a job line of an open job or a method line
# would inherit it
_PARTPLANT = f"""
    WITH j AS (SELECT s.Company, s.Plant, s.PartNum, s.NonStock, s.BackFlush, p.NonStock AS part_nonstock, p.TrackLots,
            p.TrackSerialNum, p.QtyBearing, p.PartNum AS known, COALESCE(s.NonStock, p.NonStock) AS nonstock,
            CASE WHEN s.BackFlush THEN 'fail' ELSE 'if_enabled' END AS outcome
        FROM PartPlant s LEFT JOIN Part p USING (Company, PartNum)
        WHERE p.TrackLots OR p.TrackSerialNum OR COALESCE(s.NonStock, p.NonStock) OR NOT p.QtyBearing OR p.PartNum IS NULL),
    j_used AS (SELECT * FROM j WHERE BackFlush
        OR EXISTS (SELECT 1 FROM JobMtl m SEMI JOIN oj USING (Company, JobNum) WHERE m.Company = j.Company
            AND m.PartNum = j.PartNum AND m.Plant = j.Plant)
        OR EXISTS (SELECT 1 FROM PartMtl m WHERE m.Company = j.Company AND m.MtlPartNum = j.PartNum))
    SELECT 'BFE001' AS rule_id, 'PartPlant' AS tbl, Company, Plant, PartNum, outcome,
        format('Part {{}} is backflushed at site {{}} but lot tracked (Part.TrackLots): Epicor ignores backflush for it',
               PartNum, Plant) AS message, '{{}}'::JSON AS evidence FROM j_used WHERE TrackLots
    UNION ALL SELECT 'BFE002', 'PartPlant', Company, Plant, PartNum, outcome,
        format('Part {{}} is backflushed at site {{}} but serial tracked (Part.TrackSerialNum)', PartNum, Plant),
        '{{}}'::JSON FROM j_used WHERE TrackSerialNum
    UNION ALL SELECT 'BFE003', 'PartPlant', Company, Plant, PartNum, outcome,
        format('Part {{}} is backflushed at site {{}} but non-stock or not quantity bearing (site NonStock {{}}, part '
               'NonStock {{}}, QtyBearing {{}})', PartNum, Plant, {_BOOL.format('NonStock')},
               {_BOOL.format('part_nonstock')}, {_BOOL.format('QtyBearing')}),
        json_object('NonStock', NonStock, 'Part.NonStock', part_nonstock, 'Part.QtyBearing', QtyBearing)
        FROM j_used WHERE nonstock OR NOT QtyBearing
    UNION ALL SELECT 'BFE007', 'PartPlant', Company, Plant, PartNum, outcome,
        format('Part {{}} is backflushed at site {{}} but is not in the part master (Part)', PartNum, Plant), '{{}}'::JSON
        FROM j_used WHERE known IS NULL"""
# a method line inherits its component's default at the site of its revision
_PARTMTL = f"""
    WITH j AS (SELECT m.Company, m.PartNum, m.RevisionNum, m.AltMethod, m.MtlSeq, r.Plant, m.MtlPartNum, m.QtyPer, m.FixedQty,
            m.RelatedOperation, p.TrackLots, p.TrackSerialNum, p.QtyBearing, p.PartNum AS known,
            COALESCE(s.NonStock, p.NonStock) AS nonstock, o.OprSeq AS opr,
            CASE WHEN s.BackFlush THEN 'fail' ELSE 'if_enabled' END AS outcome
        FROM PartMtl m JOIN PartRev r USING (Company, PartNum, RevisionNum, AltMethod)
        JOIN PartPlant s ON s.Company = m.Company AND s.PartNum = m.MtlPartNum AND s.Plant = r.Plant
        LEFT JOIN Part p ON p.Company = m.Company AND p.PartNum = m.MtlPartNum
        LEFT JOIN PartOpr o ON o.Company = m.Company AND o.PartNum = m.PartNum AND o.RevisionNum = m.RevisionNum
            AND o.AltMethod = m.AltMethod AND o.OprSeq = m.RelatedOperation)
    SELECT 'BFE001' AS rule_id, 'PartMtl' AS tbl, *,
        format('Method {{}} rev {{}} line {{}} backflushes lot-tracked component {{}}', PartNum, RevisionNum, MtlSeq,
               MtlPartNum) AS message, json_object('MtlPartNum', MtlPartNum) AS evidence FROM j WHERE TrackLots
    UNION ALL SELECT 'BFE002', 'PartMtl', *,
        format('Method {{}} rev {{}} line {{}} backflushes serial-tracked component {{}}', PartNum, RevisionNum, MtlSeq,
               MtlPartNum), json_object('MtlPartNum', MtlPartNum) FROM j WHERE TrackSerialNum
    UNION ALL SELECT 'BFE003', 'PartMtl', *,
        format('Method {{}} rev {{}} line {{}} backflushes non-stock or non-quantity-bearing component {{}}', PartNum,
               RevisionNum, MtlSeq, MtlPartNum), json_object('MtlPartNum', MtlPartNum)
        FROM j WHERE nonstock OR NOT QtyBearing
    UNION ALL SELECT 'BFE007', 'PartMtl', *,
        format('Method {{}} rev {{}} line {{}} backflushes {{}}, which is not in the part master', PartNum, RevisionNum,
               MtlSeq, MtlPartNum), json_object('MtlPartNum', MtlPartNum) FROM j WHERE known IS NULL
    UNION ALL SELECT 'BFC001', 'PartMtl', *,
        format('Method {{}} rev {{}} line {{}} ({{}}) is backflushed on operation {{}}, which is not in the method''s routing',
               PartNum, RevisionNum, MtlSeq, MtlPartNum, RelatedOperation),
        json_object('MtlPartNum', MtlPartNum, 'RelatedOperation', RelatedOperation)
        FROM j WHERE RelatedOperation <> 0 AND opr IS NULL
    UNION ALL SELECT 'BFC003', 'PartMtl', *,
        format('Method {{}} rev {{}} line {{}} ({{}}) is backflushed with QtyPer {{}}', PartNum, RevisionNum, MtlSeq,
               MtlPartNum, {_QTYPER_TEXT}), json_object('MtlPartNum', MtlPartNum, 'QtyPer', {_QTYPER_JSON})
        FROM j WHERE NOT FixedQty AND COALESCE(QtyPer, 0) = 0"""
# per judged table: its key, its pass, and the part a finding is on (at the finding's Company and Plant)
LIKE_FOR_LIKE_PASSES = {"JobMtl": (["Company", "JobNum", "AssemblySeq", "MtlSeq"], _JOBMTL, "PartNum"),
                        "PartPlant": (["Company", "Plant", "PartNum"], _PARTPLANT, "PartNum"),
                        "PartMtl": (["Company", "PartNum", "RevisionNum", "AltMethod", "MtlSeq"], _PARTMTL, "MtlPartNum")}
WHAT_IF_PREFIX = "If backflush were switched on at the site: "


# check's own work (issue 20 counts it inside the 1.5x; the like-for-like baseline has none of it), as the same expert
# writes it beside the findings to make the same report: the table contracts one checks before trusting an export
# (no blank key, no key twice: DuckDB's distinct count of one hash per row, as check counts it) and the verdicts. A
# part site is judged when a job of the site that is open, or completed in the year up to the latest completion, uses
# it, or a method line made there does (the revision's site for an alternate method, every site the parent has a
# PartPlant row at for the main one); its verdict is the worst of its findings, sorted as check sorts them.
# the tables the eight rules and the verdicts read, with their keys (as the built-in registry has them: a test holds
# the two equal; written out, as the expert writes them, so the phase does not pay for loading the registry)
REPORT_KEYS = {"JobMtl": ("Company", "JobNum", "AssemblySeq", "MtlSeq"), "JobHead": ("Company", "JobNum"),
               "JobOper": ("Company", "JobNum", "AssemblySeq", "OprSeq"), "Part": ("Company", "PartNum"),
               "PartPlant": ("Company", "Plant", "PartNum"),
               "PartMtl": ("Company", "PartNum", "RevisionNum", "AltMethod", "MtlSeq"),
               "PartRev": ("Company", "PartNum", "RevisionNum", "AltMethod"),
               "PartOpr": ("Company", "PartNum", "RevisionNum", "AltMethod", "OprSeq")}
BLANK_KEYS = {"AltMethod"}  # a key column left blank on purpose: the main method's AltMethod
_VERDICTS = """
    WITH win AS (SELECT max(JobCompletionDate) AS snap FROM JobHead),
    uses AS (SELECT j.Company, j.Plant, j.PartNum FROM JobMtl j LEFT JOIN JobHead h USING (Company, JobNum), win
            WHERE NOT (COALESCE(h.JobComplete, FALSE) OR COALESCE(h.JobClosed, FALSE))
            OR h.JobCompletionDate BETWEEN win.snap - 364 AND win.snap
        UNION ALL SELECT m.Company, r.Plant, m.MtlPartNum FROM PartMtl m
            JOIN PartRev r USING (Company, PartNum, RevisionNum, AltMethod) WHERE m.AltMethod <> ''
        UNION ALL SELECT m.Company, s.Plant, m.MtlPartNum FROM PartMtl m JOIN PartPlant s USING (Company, PartNum)
            WHERE m.AltMethod = ''),
    judged AS (SELECT s.Company, s.Plant, s.PartNum, COALESCE(s.BackFlush, FALSE) AS backflushed FROM PartPlant s
        SEMI JOIN uses u ON u.Company = s.Company AND u.Plant = s.Plant AND u.PartNum = s.PartNum)
    SELECT g.Company AS company, g.Plant AS plant, g.PartNum AS part_num,
        CASE max(CASE WHEN f.rule_id LIKE 'BFE%' THEN 2 WHEN f.rule_id IS NOT NULL THEN 1 END)
            WHEN 2 THEN 'not eligible' WHEN 1 THEN 'misconfigured' ELSE 'unknown' END AS verdict,
        COALESCE(list_sort(list(DISTINCT f.rule_id) FILTER (WHERE f.rule_id IS NOT NULL)), []) AS rules,
        g.backflushed, []::VARCHAR[] AS not_judged
    FROM judged g LEFT JOIN found f ON f.Company = g.Company AND f.Plant = g.Plant AND f.part = g.PartNum
    GROUP BY g.Company, g.Plant, g.PartNum, g.backflushed ORDER BY company, plant, part_num"""


def _contract_scan(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, int]]:
    """Per table: its rows with a blank key column, and the rows that repeat a key. An export in key order shows it
    has none by its order (each key after the one before it, in a streaming scan of the key; of one company, the
    rest of the key); any other is counted by DuckDB's distinct count of one hash per row."""
    scanned = {}
    for name, key in REPORT_KEYS.items():
        types = dict(con.execute(f'SELECT column_name, column_type FROM (DESCRIBE "{name}")').fetchall())
        blank = " OR ".join(f"{c} IS NULL" + (f" OR {c} = ''" if types[c] == "VARCHAR" and c not in BLANK_KEYS else "")
                            for c in key)
        blank_rows, companies = con.execute(f'SELECT count(*) FILTER (WHERE {blank}), count(DISTINCT Company) '
                                            f'FROM "{name}"').fetchone()
        ordered = [c for c in key if c != "Company" or companies > 1]
        after = f"{ordered[-1]} > p{len(ordered) - 1}"
        for i in range(len(ordered) - 2, -1, -1):
            after = f"{ordered[i]} > p{i} OR ({ordered[i]} = p{i} AND ({after}))"
        previous = ", ".join(f"lag({c}) OVER () AS p{i}" for i, c in enumerate(ordered))
        (unordered,) = con.execute(f'SELECT count(*) FILTER (WHERE ({after}) IS NOT TRUE) '
                                   f'FROM (SELECT {", ".join(ordered)}, {previous} FROM "{name}")').fetchone()
        twice = 0 if unordered <= 1 else con.execute(
            f'SELECT count(*) - count(DISTINCT hash({", ".join(key)})) FROM "{name}"').fetchone()[0]
        scanned[name] = {"blank_key": blank_rows, "key_twice": twice}
    return scanned


def phase_like_for_like(folder: Path, keys_only: bool = False, report: bool = False) -> dict:
    """The eight rules' findings as a DuckDB expert writes the same report: one pass per judged table, messages,
    evidence, fingerprints, sorted, one JSON document written with COPY (`keys_only`: only the found keys and
    outcomes, as Arrow). `report`: with check's own work beside them, the table contracts and the verdicts (written
    to like-for-like-verdicts.json)."""
    con = duckdb.connect()
    _views(con, folder)
    con.execute(HANDWRITTEN)
    if keys_only:
        return {"rows": sum(con.execute(f"SELECT {', '.join(key)}, outcome FROM ({sql})").to_arrow_table().num_rows
                            for key, sql, _ in LIKE_FOR_LIKE_PASSES.values())}
    contracts = _contract_scan(con) if report else {}
    documents = []
    for key, sql, part in LIKE_FOR_LIKE_PASSES.values():
        pairs = ", ".join(f"'{c}', {c}" for c in key)
        documents.append(f"""SELECT rule_id, tbl AS "table", json_object({pairs}) AS key,
            CASE WHEN outcome = 'fail' THEN message ELSE '{WHAT_IF_PREFIX}' || message END AS message, evidence, outcome,
            {_FINGERPRINT.format(parts=_key_text(key))} AS fingerprint,
            [{', '.join(f'CAST({c} AS VARCHAR)' for c in key)}] AS sort_key, Company, Plant, {part} AS part
            FROM ({sql})""")
    con.execute(f"CREATE TEMP TABLE found AS {' UNION ALL '.join(documents)}")
    out = folder / "like-for-like.json"
    con.execute(f"""COPY (SELECT rule_id, 'error' AS severity, "table", key, message, evidence, outcome, fingerprint
        FROM found ORDER BY rule_id, "table", sort_key) TO '{out}' (FORMAT json, ARRAY true)""")
    # the findings counted where they were made: reading the written file back is no part of the expert's work
    result = {"rows": con.execute("SELECT count(*) FROM found").fetchone()[0]}
    if report:
        verdicts = folder / "like-for-like-verdicts.json"
        con.execute(f"COPY ({_VERDICTS}) TO '{verdicts}' (FORMAT json, ARRAY true)")
        result["contracts"] = contracts
    return result


# The hand-written readiness baseline (default profile: 365 days up to the latest history date, 3 observations).
HANDWRITTEN_READINESS = """
CREATE TEMP TABLE win AS SELECT max(d) AS snap, max(d) - 364 AS start FROM (SELECT max(ClockInDate) AS d FROM LaborDtl
  UNION ALL SELECT max(TranDate) FROM PartTran UNION ALL SELECT max(JobCompletionDate) FROM JobHead);
CREATE TEMP TABLE comp AS SELECT pp.Company, pp.Plant, pp.PartNum, COALESCE(pp.CostMethod, p.CostMethod) AS cost
  FROM PartPlant pp LEFT JOIN Part p USING (Company, PartNum)
  WHERE EXISTS (SELECT 1 FROM JobMtl j WHERE j.Company = pp.Company AND j.PartNum = pp.PartNum AND j.Plant = pp.Plant)
     OR EXISTS (SELECT 1 FROM PartMtl m WHERE m.Company = pp.Company AND m.MtlPartNum = pp.PartNum);
CREATE TEMP TABLE bom AS SELECT j.Company, j.Plant, j.PartNum, count(DISTINCT j.JobNum) AS jobs,
  abs(sum(j.IssuedQty) - sum(j.RequiredQty)) / NULLIF(sum(j.RequiredQty), 0) AS variance
  FROM JobMtl j JOIN JobHead h USING (Company, JobNum), win
  WHERE (h.JobComplete OR h.JobClosed) AND h.JobCompletionDate BETWEEN win.start AND win.snap GROUP BY ALL;
CREATE TEMP TABLE lab AS SELECT DISTINCT j.Company, j.Plant, j.PartNum, l.LaborDtlSeq, l.LaborQty, l.ScrapQty, l.ClockInDate,
  (l.CreateDate - l.ClockInDate) * 24 + l.CreateTime / 3600 - l.ClockOutTime AS delay, o.EstScrap
  FROM JobMtl j JOIN LaborDtl l ON l.Company = j.Company AND l.JobNum = j.JobNum AND l.AssemblySeq = j.AssemblySeq
  AND l.OprSeq = j.RelatedOperation LEFT JOIN JobOper o ON o.Company = l.Company AND o.JobNum = l.JobNum
  AND o.AssemblySeq = l.AssemblySeq AND o.OprSeq = l.OprSeq, win WHERE l.ClockInDate BETWEEN win.start AND win.snap;
CREATE TEMP TABLE scrap AS SELECT Company, Plant, PartNum, count(*) AS entries,
  sum(ScrapQty) / NULLIF(sum(LaborQty + ScrapQty), 0) AS rate, median(delay) AS delay,
  count(*) FILTER (WHERE EstScrap > 0) AS planned_entries, sum(ScrapQty) FILTER (WHERE EstScrap > 0) AS planned_scrap
  FROM lab GROUP BY ALL;
"""
HANDWRITTEN_READINESS_RULES = {
    "BFR001/008/009 standard": """SELECT c.* FROM comp c LEFT JOIN bom b USING (Company, Plant, PartNum)
        WHERE COALESCE(b.jobs, 0) < 12 OR b.variance > 0.02""",
    "BFR002/004/009 actual": """SELECT c.* FROM comp c LEFT JOIN scrap s USING (Company, Plant, PartNum)
        WHERE COALESCE(s.entries, 0) < 3 OR s.rate > 0.03 OR (s.planned_entries >= 3 AND s.planned_scrap = 0)
        OR (c.cost IN ('A', 'L', 'T') AND s.delay > 24)""",
    "BFR003": """WITH m AS (SELECT Company, Plant, PartNum, date_trunc('month', ClockInDate) AS month,
        sum(ScrapQty) / NULLIF(sum(LaborQty + ScrapQty), 0) AS rate FROM lab GROUP BY ALL)
        SELECT Company, Plant, PartNum FROM m GROUP BY ALL
        HAVING count(*) < 3 OR stddev_samp(rate) / NULLIF(avg(rate), 0) > 0.5""",
    "BFR005": """WITH r AS (SELECT c.Company, c.Plant, c.PartNum, m.PartNum AS parent, count(DISTINCT (v.RevisionNum, v.AltMethod)) AS n
        FROM comp c JOIN PartMtl m ON m.Company = c.Company AND m.MtlPartNum = c.PartNum
        JOIN PartRev v ON v.Company = m.Company AND v.PartNum = m.PartNum, win
        WHERE v.EffectiveDate BETWEEN win.start AND win.snap GROUP BY ALL)
        SELECT Company, Plant, PartNum FROM r GROUP BY ALL HAVING max(n) > 2""",
    "BFR006": """SELECT c.* FROM comp c, win WHERE (SELECT max(w.LastCCDate) FROM PartWhse w WHERE w.Company = c.Company
        AND w.PartNum = c.PartNum AND w.Plant = c.Plant) < win.snap - 90 OR NOT EXISTS (SELECT 1 FROM PartWhse w
        WHERE w.Company = c.Company AND w.PartNum = c.PartNum AND w.Plant = c.Plant AND w.LastCCDate IS NOT NULL)""",
    "BFR007": """SELECT t.Company, t.Plant, t.PartNum FROM PartTran t, win WHERE t.TranDate BETWEEN win.start AND win.snap
        GROUP BY ALL HAVING count(*) < 3 OR count(*) FILTER (WHERE t.TranType = 'ADJ-QTY') > 4""",
}


EXPORTS = {"parquet": "(FORMAT parquet)", "csv": "(FORMAT csv, HEADER)"}  # --export: how the site is written


def generate(folder: Path, parts: int, job_mtl: int, job_oper: int, labor_dtl: int = 0, export: str = "parquet") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    jobs = max(1, job_oper // 4)
    sizes = {"parts": parts, "revs": max(1, parts // 20), "jobs": jobs, "job_oper": jobs * 4, "job_mtl": job_mtl,
             "per_job": max(1, -(-job_mtl // jobs)), "labor_dtl": labor_dtl, "part_tran": labor_dtl // 5}
    con = duckdb.connect()
    for table, sql in {**SITE_SQL, **(HISTORY_SQL if labor_dtl else {})}.items():
        for other in EXPORTS:  # a site written before in the other form: one export per table
            (folder / f"{table}.{other}").unlink(missing_ok=True)
        con.execute(f"COPY ({sql.format(**sizes)}) TO '{folder / f'{table}.{export}'}' {EXPORTS[export]}")


def _views(con: duckdb.DuckDBPyConnection, folder: Path) -> None:
    """A view per table export; the hand-written queries read CSV as DuckDB guesses its types (trusting the data),
    a quoted "" as the empty text it was written from."""
    for path in sorted([*folder.glob("*.parquet"), *folder.glob("*.csv")]):
        read = f"read_parquet('{path}')" if path.suffix == ".parquet" else f"read_csv('{path}', allow_quoted_nulls = false)"
        con.execute(f"CREATE VIEW \"{path.stem}\" AS SELECT * FROM {read}")


CORE_TAGS = ("eligibility", "integrity")


def needed_columns() -> dict[str, set[str]]:
    """The columns the eligibility and integrity rules read (what the core `check` phase reads)."""
    from validator.rules.analysis import rules_needs
    from validator.rules.loader import BUILTIN_RULES, load_rules
    from validator.tables import builtin_registry

    registry = builtin_registry()
    rules = [r for r in load_rules([BUILTIN_RULES], registry).values() if set(r.tags) & set(CORE_TAGS)]
    return rules_needs(rules, registry)


def phase_read(folder: Path) -> dict:
    con = duckdb.connect()
    _views(con, folder)
    rows = 0
    for table, columns in sorted(needed_columns().items()):
        present = {r[0] for r in con.execute(f'DESCRIBE "{table}"').fetchall()}
        cols = [c for c in sorted(columns) if c in present]
        select = ", ".join(f'count("{c}")' for c in cols)
        rows += con.execute(f'SELECT count(*), {select} FROM "{table}"').fetchone()[0]
    return {"rows": rows}


def phase_handwritten(folder: Path, setup: str = HANDWRITTEN, queries: dict[str, str] = HANDWRITTEN_RULES) -> dict:
    con = duckdb.connect()
    _views(con, folder)
    con.execute(setup)
    found = 0
    for sql in queries.values():
        found += con.execute(sql).to_arrow_table().num_rows
    return {"rows": found}


def phase_readiness_handwritten(folder: Path) -> dict:
    return phase_handwritten(folder, HANDWRITTEN_READINESS, HANDWRITTEN_READINESS_RULES)


# a phase: its command, the exit codes that pass, its compile cache (validator/engines/duckdb/compile_cache.py) and whether that
# is emptied before each run
Phase = tuple[list[str], tuple[int, ...], Path | None, bool]


def same_findings(check: list[dict], baseline: list[dict], what: str = "finding") -> list[dict]:
    """`check`'s findings (or verdicts: `what`), when the baseline wrote the same ones in the same order; else the run
    stops naming the first that differs (a baseline that writes another report is not like for like, and its ratio
    would mislead)."""
    for index, (ours, theirs) in enumerate(zip(check, baseline, strict=False)):
        if json.dumps(ours, sort_keys=True) != json.dumps(theirs, sort_keys=True):  # 0 and 0.0 differ in JSON
            raise SystemExit(f"the like-for-like baseline differs from check at {what} {index + 1}:\n"
                             f"  check:    {json.dumps(ours)}\n  baseline: {json.dumps(theirs)}")
    if len(check) != len(baseline):
        raise SystemExit(f"check wrote {len(check):,} {what}s for the eight rules, the like-for-like baseline "
                         f"{len(baseline):,}")
    return check


def _run(args: list[str], ok: tuple[int, ...] = (0,), cache: Path | None = None, cold: bool = False) -> dict:
    """Run one phase in a child process: wall seconds, CPU seconds (user + system, all its threads: steadier
    than wall time when neighbours share the machine) and its own peak RSS in MiB."""
    env = None
    if cache is not None:
        env = {**os.environ, "BACKFLUSH_CACHE_DIR": str(cache)}
        if cold:
            shutil.rmtree(cache, ignore_errors=True)
    start = time.perf_counter()
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    out, err = process.stdout.read(), process.stderr.read()
    code = os.waitstatus_to_exitcode(status)
    if code not in ok:
        raise SystemExit(f"phase failed ({code}): {' '.join(args)}\n{err}")
    return {"seconds": round(wall, 2), "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
            "peak_mib": round(usage.ru_maxrss / 1024, 1), "output": out.strip()}


def byte_compile() -> None:
    """Compile the tool's and this benchmark's modules to bytecode, as installing a wheel does (pip compiles it):
    where Python writes no bytecode itself (PYTHONDONTWRITEBYTECODE, set in some containers), every phase would
    otherwise compile them again in its own process."""
    import compileall

    import validator

    for package in (Path(validator.__file__).parent, Path(__file__).parent):
        compileall.compile_dir(package, quiet=1)


def _interleaved(phases: dict[str, Phase], repeat: int) -> dict[str, dict]:
    """Each phase `repeat` times, taking turns (a slow spell of the machine then hits every phase alike):
    the median wall and CPU time, the largest peak memory, and every run's wall time."""
    runs: dict[str, list[dict]] = {name: [] for name in phases}
    for _ in range(repeat):
        for name, (args, ok, cache, cold) in phases.items():
            runs[name].append(_run(args, ok, cache, cold))
    return {name: {"seconds": statistics.median(r["seconds"] for r in results),
                   "cpu_seconds": statistics.median(r["cpu_seconds"] for r in results),
                   "peak_mib": max(r["peak_mib"] for r in results), "output": results[-1]["output"],
                   "runs": [r["seconds"] for r in results]}
            for name, results in runs.items()}


def _ratios(figures: dict[str, dict], phase: str, baseline: str) -> dict[str, float]:
    """Wall and CPU time of a phase as multiples of its baseline's."""
    return {f"{phase}/{baseline}": round(figures[phase]["seconds"] / figures[baseline]["seconds"], 2),
            f"{phase}/{baseline} (CPU)": round(figures[phase]["cpu_seconds"] / figures[baseline]["cpu_seconds"], 2)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parts", type=int, default=1_000_000)
    parser.add_argument("--job-mtl", type=int, default=10_000_000)
    parser.add_argument("--job-oper", type=int, default=3_000_000)
    parser.add_argument("--labor-dtl", type=int, default=0,
                        help="also generate a year of history (this many LaborDtl rows, a fifth as many PartTran) and "
                             "time the readiness rules against a hand-written query (e.g. 10000000)")
    parser.add_argument("--dir", type=Path, help="where to write the site (default: a temporary folder, removed after)")
    parser.add_argument("--export", choices=sorted(EXPORTS), default="parquet",
                        help="write the site's tables as Parquet (default) or as CSV, as most sites export them")
    parser.add_argument("--memory-limit", help="passed to backflush check --memory-limit")
    parser.add_argument("--repeat", type=int, default=1, metavar="N",
                        help="run the phases N times, taking turns, and report the median (default 1); on a "
                             "machine with noisy neighbours 3 or more gives steadier ratios")
    parser.add_argument("--phase", choices=["read", "handwritten", "readiness-handwritten", "like-for-like",
                                            "like-for-like-keys", "like-for-like-report"], help=argparse.SUPPRESS)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be 1 or more")
    if args.phase:
        result = {"read": phase_read, "handwritten": phase_handwritten,
                  "readiness-handwritten": phase_readiness_handwritten, "like-for-like": phase_like_for_like,
                  "like-for-like-keys": lambda folder: phase_like_for_like(folder, keys_only=True),
                  "like-for-like-report": lambda folder: phase_like_for_like(folder, report=True)}[args.phase](args.dir)
        print(json.dumps(result))
        return 0
    folder = args.dir or Path(tempfile.mkdtemp(prefix="backflush-bench-"))
    try:
        start = time.perf_counter()
        generate(folder, args.parts, args.job_mtl, args.job_oper, args.labor_dtl, args.export)
        print(f"generated {args.parts:,} Part, {args.job_mtl:,} JobMtl, {args.job_oper:,} JobOper, {args.labor_dtl:,} LaborDtl "
              f"as {args.export} in {folder} ({time.perf_counter() - start:.1f} s)")
        me = [sys.executable, "-m", "benchmarks.bench", "--dir", str(folder), "--phase"]
        cache = folder / ".compile-cache"  # the check phases' own, emptied before each run that compiles
        out_json = folder / "findings.json"
        check = [sys.executable, "-m", "validator", "check", str(folder), "--format", "json", "--output", str(out_json),
                 "--fail-on", "never", *(["--memory-limit", args.memory_limit] if args.memory_limit else [])]
        core = [arg for tag in CORE_TAGS for arg in ("--tag", tag)]
        phases: dict[str, Phase] = {
            "read": ([*me, "read"], (0,), None, False), "handwritten": ([*me, "handwritten"], (0,), None, False),
            "check": ([*check, *core], (0, 1), cache, True), "check-reused": ([*check, *core], (0, 1), cache, False)}
        eight = [arg for rule in LIKE_FOR_LIKE_RULES for arg in ("--rule", rule)]
        eight_json = folder / "findings-8-rules.json"
        check_eight = [arg if arg != str(out_json) else str(eight_json) for arg in check]
        phases.update({"like-for-like-keys": ([*me, "like-for-like-keys"], (0,), None, False),
                       "like-for-like": ([*me, "like-for-like"], (0,), None, False),
                       "like-for-like-report": ([*me, "like-for-like-report"], (0,), None, False),
                       "check-8-rules-compiling": ([*check_eight, *eight], (0, 1), cache, True),
                       "check-8-rules": ([*check_eight, *eight], (0, 1), cache, False)})
        byte_compile()
        figures = _interleaved(phases, args.repeat)
        findings = len(json.loads(out_json.read_text(encoding="utf-8"))["findings"])
        ratios = {**_ratios(figures, "check", "handwritten"), **_ratios(figures, "check-reused", "handwritten"),
                  **_ratios(figures, "check-8-rules", "like-for-like"), **_ratios(figures, "check-8-rules", "like-for-like-keys"),
                  **_ratios(figures, "check-8-rules", "like-for-like-report"),
                  **_ratios(figures, "check-8-rules-compiling", "like-for-like"),
                  "check/read": round(figures["check"]["seconds"] / figures["read"]["seconds"], 2)}
        if args.labor_dtl:
            figures.update(_interleaved({"readiness-handwritten": ([*me, "readiness-handwritten"], (0,), None, False),
                                         "readiness-check": ([*check, "--tag", "readiness"], (0, 1), cache, True)},
                                        args.repeat))
            ratios.update(_ratios(figures, "readiness-check", "readiness-handwritten"))
            readiness = len(json.loads(out_json.read_text(encoding="utf-8"))["findings"])
            print(f"readiness findings written: {readiness:,}")
        for name, figure in figures.items():
            spread = f"   (runs: {', '.join(f'{t:.2f}' for t in figure['runs'])} s)" if len(figure["runs"]) > 1 else ""
            print(f"{name:22} {figure['seconds']:8.2f} s   CPU {figure['cpu_seconds']:8.2f} s   "
                  f"peak {figure['peak_mib']:8.1f} MiB{spread}")
        eight = json.loads(eight_json.read_text(encoding="utf-8"))
        eight_found = same_findings(eight["findings"],
                                    json.loads((folder / "like-for-like.json").read_text(encoding="utf-8")))
        what_if = sum(f["outcome"] == "if_enabled" for f in eight_found)
        print(f"eight rules: check and the like-for-like pass wrote the same {len(eight_found):,} findings "
              f"({what_if:,} of them what-if)")
        judged = same_findings(eight["verdicts"], json.loads((folder / "like-for-like-verdicts.json").read_text(
            encoding="utf-8")), "verdict")
        print(f"eight rules: check and the like-for-like report wrote the same {len(judged):,} verdicts "
              f"({sum(v['verdict'] != 'unknown' for v in judged):,} of them not eligible or misconfigured)")
        print(f"eligibility/integrity findings written: {findings:,}   " + "   ".join(f"{k} = {v}x" for k, v in ratios.items()))
        if args.json:
            args.json.write_text(json.dumps({"figures": figures, "ratios": ratios, "findings": findings}, indent=2))
    finally:
        if args.dir is None:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
