"""The progress display shows on a terminal only: in CI logs, pipes and with --quiet nothing is added to stderr."""

from __future__ import annotations

import sys

from tests.conftest import DEMO


def test_no_progress_is_shown_when_stderr_is_not_a_terminal(cli):
    _, _, err = cli("check", DEMO, "--fail-on", "never", "--format", "markdown")
    assert "rows" not in err and "rules on" not in err and err == ""


def test_on_a_terminal_a_long_run_shows_the_tables_read_and_the_findings(cli, monkeypatch):
    import validator.commands.progress_display as display

    monkeypatch.setattr(display, "DELAY", 0.0)  # a run of any length counts as long
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    _, _, err = cli("check", DEMO, "--fail-on", "never", "--format", "markdown")
    assert "JobMtl:" in err and "rows" in err and "finding(s)" in err


def test_quiet_turns_it_off_on_a_terminal_too(cli, monkeypatch):
    import validator.commands.progress_display as display

    monkeypatch.setattr(display, "DELAY", 0.0)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    _, _, err = cli("check", DEMO, "--fail-on", "never", "--format", "markdown", "--quiet")
    assert err == ""


def test_a_long_diff_shows_both_runs_each_line_saying_which(cli, monkeypatch):
    import validator.commands.progress_display as display

    monkeypatch.setattr(display, "DELAY", 0.0)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    _, _, err = cli("diff", DEMO, DEMO, "--fail-on", "never", "--format", "markdown")
    assert "OLD: JobMtl:" in err and "NEW: JobMtl:" in err and "rows" in err
    assert "OLD: " in err.split("NEW: ")[0]  # OLD's lines come first


def test_quiet_turns_off_the_progress_of_a_diff_on_a_terminal(cli, monkeypatch):
    import validator.commands.progress_display as display

    monkeypatch.setattr(display, "DELAY", 0.0)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    _, _, err = cli("diff", DEMO, DEMO, "--fail-on", "never", "--format", "markdown", "--quiet")
    assert err == ""
