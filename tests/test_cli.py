"""The command line: exit codes for CI, listing and explaining rules, help with examples, the rule reference."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import CASES, DEMO, ROOT
from validator.cli import build_parser


def _severities(out: str) -> set[str]:
    return {f["severity"] for f in json.loads(out)["findings"] if f["outcome"] != "if_enabled"}


def test_exit_code_1_when_findings_reach_fail_on(cli):
    code, out, _ = cli("check", DEMO, "--rule", "BFE004", "--format", "json")
    assert code == 1 and _severities(out) == {"error"}


def test_exit_code_0_when_findings_are_below_fail_on(cli):
    code, out, _ = cli("check", DEMO, "--rule", "BFC009", "--fail-on", "warning", "--format", "json")
    assert code == 0 and _severities(out) == {"info"}  # there are findings, all below the gate


def test_fail_on_info_counts_info_findings(cli):
    code, out, _ = cli("check", DEMO, "--rule", "BFC009", "--fail-on", "info", "--format", "json")
    assert code == 1 and _severities(out) == {"info"}


def test_fail_on_never_always_exits_0(cli):
    code, out, _ = cli("check", DEMO, "--fail-on", "never", "--format", "json")
    assert code == 0 and "error" in _severities(out)


def test_config_overrides_severity_enabled_and_params(cli, tmp_path):
    out = tmp_path / "findings.json"
    code, _, _ = cli("check", DEMO, "--config", CASES / "configs" / "overrides.yaml", "--format", "json", "--output", out)
    import json

    document = json.loads(out.read_text(encoding="utf-8"))
    rules = {r["rule_id"]: r for r in document["rules"]}
    assert "BFC004" not in rules
    assert {f["severity"] for f in document["findings"] if f["rule_id"] == "BFE002"} == {"warning"}
    assert code == 1
    code, out, _ = cli("explain", "BFC005", "--config", CASES / "configs" / "overrides.yaml")
    assert code == 0 and "percent_types = ['PCT', '%']" in out  # the params override reached the rule


def test_rules_lists_id_severity_title_and_tags(cli):
    code, out, _ = cli("rules")
    assert code == 0
    assert "BFE001" in out and "BFC013" in out and "eligibility" in out


def test_rules_filters_by_tag(cli):
    _, out, _ = cli("rules", "--tag", "eligibility")
    assert "BFE001" in out and "BFC001" not in out


def test_rules_filters_by_id(cli):
    _, out, _ = cli("rules", "--id", "bfc012")
    assert "BFC012" in out and "BFE001" not in out


def test_an_unknown_tag_lists_the_known_ones(cli):
    code, _, err = cli("rules", "--tag", "eligibilty")
    assert code == 2 and "eligibility" in err


@pytest.mark.parametrize(("dialect", "marker"), [("duckdb", '"Erp"."JobMtl"'), ("tsql", "[Erp].[JobMtl]"),
                                                 ("postgres", '"Erp"."JobMtl"'), ("spark", "`Erp`.`JobMtl`")])
def test_explain_prints_the_sql_in_each_dialect(cli, dialect, marker):
    code, out, _ = cli("explain", "BFE005", "--dialect", dialect)
    assert code == 0
    assert marker in out
    assert "SELECT" in out


def test_explain_sql_prints_only_parseable_sql(cli):
    import sqlglot

    code, out, _ = cli("explain", "BFE001", "--sql", "--dialect", "tsql")
    batches = out.split("\nGO\n")  # one batch per judged table, as SSMS runs them: each declares its parameters
    assert code == 0 and len(batches) == 3  # PartPlant, PartMtl, JobMtl
    for batch in batches:
        parsed = [s for s in sqlglot.parse(batch, read="tsql") if not isinstance(s, sqlglot.exp.Semicolon)]
        assert parsed and isinstance(parsed[-1], sqlglot.exp.Select)


def test_tsql_never_coalesces_a_predicate(cli):
    # SQL Server has no boolean type: COALESCE(x = 1, ...) and a bare bit column are not predicates there
    _, out, _ = cli("explain", "BFC012", "--sql", "--dialect", "tsql")
    assert ", (1 = 0))" not in out and ", (1 = 1)" not in out


def test_explain_shows_rationale_evidence_remediation_and_reads(cli):
    _, out, _ = cli("explain", "BFC012")
    for part in ("Why:", "Evidence:", "Remediation:", "Reads:", "PartWhse: ", "OnHandQty"):
        assert part in out


def test_explain_of_an_unknown_rule_is_exit_2(cli):
    code, _, err = cli("explain", "BFX999")
    assert code == 2 and "BFE001" in err


@pytest.mark.parametrize("command", ["check", "rules", "explain"])
def test_every_subcommand_help_has_examples(command):
    parser = build_parser()
    sub = parser._subparsers._group_actions[0].choices[command]
    text = sub.format_help()
    assert "examples:" in text and f"backflush {command}" in text


def test_the_rule_reference_is_generated_and_current(cli):
    _, out, _ = cli("rules", "--format", "markdown")
    current = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    assert out == current, "docs/rules.md is stale: run backflush rules --format markdown --output docs/rules.md"





@pytest.mark.parametrize("dialect", ["duckdb", "tsql", "postgres", "spark"])
def test_every_rule_prints_its_sql_in_every_dialect(registry, builtin_rules, dialect):
    from validator.commands.explain import sql_for

    assert builtin_rules
    for rule in builtin_rules.values():
        printed = sql_for(rule, registry, dialect)
        assert printed and all("SELECT" in sql for _, sql in printed), rule.id


def test_a_rule_a_dialect_cannot_express_is_a_clear_error(cli, monkeypatch):
    from ibis.backends.sql.compilers.mssql import MSSQLCompiler
    from ibis.common.exceptions import OperationNotDefinedError

    import validator.commands.explain

    def undefined(self, op, **_):
        raise OperationNotDefinedError("Compilation rule for 'Median' operation is not defined")

    monkeypatch.setattr(validator.commands.explain, "_tsql_median", lambda: None)  # as before SQL Server had one
    monkeypatch.setattr(MSSQLCompiler, "visit_Median", undefined)
    code, _, err = cli("explain", "BFR009", "--sql", "--dialect", "tsql")
    assert code == 2 and "BFR009 on PartPlant" in err and "Median" in err and "another dialect" in err


def test_the_config_takes_the_date_orders_the_command_takes():
    import json

    from validator.schemas import SCHEMA_DIR
    from validator.told import DATE_ORDERS as CHOICES

    schema = json.loads((SCHEMA_DIR / "config.schema.json").read_text(encoding="utf-8"))
    assert tuple(schema["properties"]["date_order"]["enum"]) == CHOICES


def test_the_config_takes_the_decimal_separators_the_command_takes():
    import json

    from validator.schemas import SCHEMA_DIR
    from validator.told import DECIMAL_SEPARATORS as CHOICES

    schema = json.loads((SCHEMA_DIR / "config.schema.json").read_text(encoding="utf-8"))
    assert tuple(schema["properties"]["decimal_separator"]["enum"]) == CHOICES


def _command(*args) -> subprocess.CompletedProcess:
    """The command as a user runs it, in its own process (`python -m validator` is what `backflush` runs), its
    output buffered as Python buffers a pipe (PYTHONUNBUFFERED, which CI runners may set, would hide a lost buffer)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    return subprocess.run([sys.executable, "-m", "validator", *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=300)


def test_the_command_exits_with_its_code_and_its_whole_report_on_stdout():
    done = _command("check", DEMO, "--rule", "BFE004", "--format", "json")
    assert done.returncode == 1
    assert [f["rule_id"] for f in json.loads(done.stdout)["findings"]] == ["BFE004"]  # nothing left unflushed


def test_the_command_reports_bad_input_with_exit_code_2_and_no_traceback(tmp_path):
    done = _command("check", tmp_path / "missing")
    assert done.returncode == 2
    assert done.stderr.startswith("backflush: error:") and "Traceback" not in done.stderr


def test_a_check_whose_report_cannot_be_written_exits_2_naming_the_folder(tmp_path, cli):
    code, _, err = cli("check", DEMO, "--format", "json", "--output", tmp_path / "no-such-folder" / "findings.json")
    assert code == 2 and "no-such-folder" in err


@pytest.mark.parametrize("command", ["check", "recommend"])
@pytest.mark.parametrize("size", ["lots", "1G", "0MB", "--memory-limit=-1GB"])
def test_a_memory_limit_that_is_not_a_size_is_exit_2_before_any_data_is_read(command, size, tmp_path):
    given = [size] if size.startswith("--") else ["--memory-limit", size]
    done = _command(command, DEMO, *given, "--output", tmp_path / "out")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "argument --memory-limit: expected a size such as 1GB" in done.stderr
    assert not list(tmp_path.iterdir())


def test_recommend_runs_on_the_engine_and_within_the_memory_it_is_given(cli, tmp_path):
    """recommend takes check's engine options: a limit too small to read the site ends the run with exit code 3."""
    code, _, err = cli("recommend", DEMO, "--memory-limit", "1KB", "--output", tmp_path / "dmt.csv")
    assert code == 3 and "ran out of memory under the memory limit of 1KB" in err
    assert not list(tmp_path.iterdir())
