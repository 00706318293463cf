"""The scaling curve: time and peak memory against JobMtl rows, for `check` on each engine and, from the same runs,
the read floor and the baselines of benchmarks/bench.py (the like-for-like pass for eight rules, its keys-only form,
and the same report with contracts and verdicts written by hand), with `check --rule` for those eight on DuckDB.

    python -m benchmarks.curve                      # 100k, 1M, 2M and 10M JobMtl rows, DuckDB and Spark
    python -m benchmarks.curve --large              # and 50M (DuckDB only: Spark on one machine takes too long)
    python -m benchmarks.curve --sizes 100000,1000000 --engines duckdb

Each site is generated as Parquet (Part a tenth of JobMtl, JobOper three tenths), each phase runs in a process of its
own. It writes docs/scaling.md (a table and a sentence on how cost grows) and docs/scaling.png (matplotlib).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

from benchmarks.bench import CORE_TAGS, LIKE_FOR_LIKE_RULES, _run, byte_compile, generate

DOCS = Path(__file__).resolve().parent.parent / "docs"
PHASES = ("read", "like-for-like-keys", "like-for-like", "like-for-like-report")


def measure(size: int, engines: list[str], memory_limit: str) -> dict[str, dict]:
    folder = Path(tempfile.mkdtemp(prefix="backflush-curve-"))
    try:
        generate(folder, max(size // 10, 1000), size, size * 3 // 10)
        me = [sys.executable, "-m", "benchmarks.bench", "--dir", str(folder), "--phase"]
        figures = {phase: _run([*me, phase]) for phase in PHASES}
        core = [arg for tag in CORE_TAGS for arg in ("--tag", tag)]
        for engine in engines:
            command = [sys.executable, "-m", "validator", "check", str(folder), "--engine", engine, *core, "--quiet",
                       "--fail-on", "never", "--format", f"json:{folder / (engine + '.json')}",
                       "--memory-limit", memory_limit]
            if engine == "spark":
                command += ["--spark-master", "local[*]"]
            figures[f"check {engine}"] = _run(command, (0, 1), folder / ".compile-cache", True)
            if engine == "duckdb":  # the eight rules the baselines write, compiling as the run above does
                eight = [arg for rule in LIKE_FOR_LIKE_RULES for arg in ("--rule", rule)]
                figures["check-8-rules duckdb"] = _run([*command[:command.index("--tag")], *eight,
                                                        *command[command.index("--quiet"):]],
                                                       (0, 1), folder / ".compile-cache", True)
        return figures
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def table(results: dict[int, dict[str, dict]]) -> str:
    phases = list(dict.fromkeys(p for figures in results.values() for p in figures))
    lines = ["| JobMtl rows | " + " | ".join(phases) + " |", "|---|" + "---|" * len(phases)]
    for size, figures in results.items():
        lines.append(f"| {size:,} | " + " | ".join(f"{figures[p]['seconds']:.2f} s, {figures[p]['peak_mib']:,.0f} MiB"
                                                   if p in figures else "-" for p in phases) + " |")
    return "\n".join(lines)


def growth(results: dict[int, dict[str, dict]]) -> str:
    """How the cost of each check grows: seconds per million rows between the smallest and the largest site."""
    small, large = min(results), max(results)
    parts = []
    for phase in (p for p in results[large] if p.startswith("check") and p in results[small]):
        extra = results[large][phase]["seconds"] - results[small][phase]["seconds"]
        per_million = extra / ((large - small) / 1e6)
        parts.append(f"`{phase}` adds {per_million:.2f} s per million JobMtl rows beyond "
                     f"{results[small][phase]['seconds']:.1f} s at {small:,} rows")
    return "; ".join(parts) + "."


def plot(results: dict[int, dict[str, dict]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = sorted(results)
    fig, (time_ax, memory_ax) = plt.subplots(1, 2, figsize=(11, 4.2))
    for phase in dict.fromkeys(p for s in sizes for p in results[s]):
        present = [s for s in sizes if phase in results[s]]
        time_ax.plot(present, [results[s][phase]["seconds"] for s in present], marker="o", label=phase)
        memory_ax.plot(present, [results[s][phase]["peak_mib"] for s in present], marker="o", label=phase)
    for ax, label in ((time_ax, "wall time (s)"), (memory_ax, "peak memory (MiB)")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("JobMtl rows")
        ax.set_ylabel(label)
        ax.grid(True, which="both", alpha=0.3)
    time_ax.legend(fontsize=8)
    fig.suptitle("backflush check: cost against site size (2 cores)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.curve", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100000,1000000,2000000,10000000",
                        help="JobMtl rows of each site, comma-separated")
    parser.add_argument("--large", action="store_true", help="also 50M JobMtl rows (DuckDB only, unless --spark-max)")
    parser.add_argument("--engines", default="duckdb,spark", help="the engines to time (comma-separated)")
    parser.add_argument("--memory-limit", default="2GB", help="passed to backflush check --memory-limit")
    parser.add_argument("--spark-max", type=int, default=10_000_000,
                        help="the largest site Spark is timed on (default 10M JobMtl rows; above it DuckDB only)")
    parser.add_argument("--out", type=Path, default=DOCS, help="where scaling.md and scaling.png go (default docs/)")
    args = parser.parse_args(argv)
    engines = [e for e in args.engines.split(",") if e]
    results: dict[int, dict[str, dict]] = {}
    byte_compile()
    for size in [int(s) for s in args.sizes.split(",")] + ([50_000_000] if args.large else []):
        chosen = [e for e in engines if e != "spark" or size <= args.spark_max]
        results[size] = measure(size, chosen, args.memory_limit)
        print(f"{size:,} JobMtl rows: " + ", ".join(f"{p} {f['seconds']:.2f} s" for p, f in results[size].items()),
              flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    plot(results, args.out / "scaling.png")
    text = (f"# Scaling curve\n\n`python -m benchmarks.curve --sizes {args.sizes}{' --large' if args.large else ''} "
            f"--engines {args.engines} --memory-limit {args.memory_limit} --spark-max {args.spark_max}` on the 2-core "
            "machine: wall time and peak "
            "memory per phase, each phase a process of its own (read: a bare read of the columns the rules need; "
            "like-for-like: the hand-written pass writing the findings of eight rules, its keys-only form, and the "
            "same findings with the table contracts and the verdicts, as the same report written by hand; check: every "
            "eligibility and integrity rule, and `--rule` for the eight, each compiling its passes). `check` runs "
            "under `--memory-limit`; the read and the baselines under "
            "DuckDB's default limit (80% of the machine's memory), as a hand-written query would.\n\n"
            + table(results) + "\n\n" + growth(results)
            + "\n\n![time and memory against rows](scaling.png)\n")
    (args.out / "scaling.md").write_text(text, encoding="utf-8")
    (args.out / "scaling.json").write_text(json.dumps({str(k): v for k, v in results.items()}, indent=1) + "\n",
                                           encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
