"""The HTML pre-go-live report, opened in headless Chromium: no console error, nothing fetched from the network,
the numbers shown equal the JSON report's, values from the data escaped; its screenshot is docs/report.png."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.conftest import DEMO, ROOT
from validator.cli import main

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium package is not installed "
                                                              "(.ci/run installs it)")


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> tuple[Path, dict]:
    folder = tmp_path_factory.mktemp("html")
    code = main(["check", str(DEMO), "--fail-on", "never", "--format", f"html:{folder / 'report.html'}",
                 "--format", f"json:{folder / 'report.json'}"])
    assert code == 0
    return folder / "report.html", json.loads((folder / "report.json").read_text(encoding="utf-8"))


def chromium(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                           "--enable-logging=stderr", "--v=0", *args], capture_output=True, text=True, timeout=120,
                          check=False)


class Checked(HTMLParser):
    """The numbers the report marks with data-check, by name."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}
        self._open: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._open = dict(attrs).get("data-check")

    def handle_data(self, data: str) -> None:
        if self._open and data.strip():
            self.values[self._open] = data.strip()
            self._open = None


def test_the_report_is_self_contained(report):
    text = report[0].read_text(encoding="utf-8")
    assert "<script" not in text and "<link" not in text and "@import" not in text
    assert not re.findall(r"(?:src|href)=\"https?://", text)
    assert set(re.findall(r"https?://[^\s\"']+", text)) <= {"http://www.w3.org/2000/svg"}  # a name, never fetched


@needs_chromium
def test_chromium_renders_it_without_a_console_error_and_shows_the_json_reports_numbers(report):
    path, document = report
    rendered = chromium("--dump-dom", path.as_uri())
    assert rendered.returncode == 0
    assert not [line for line in rendered.stderr.splitlines() if "CONSOLE" in line or "Failed to load" in line]
    parser = Checked()
    parser.feed(rendered.stdout)
    shown = {name: int(value.replace(",", "")) for name, value in parser.values.items()}
    by = document["summary"]["by_severity"]
    expected = {f"by_severity.{severity}": n for severity, n in by.items()} | {"by_severity.total": sum(by.values())}
    expected |= {f"rules.{r['rule_id']}.failed": r["failed"] for r in document["rules"]}
    expected |= {f"site|{s['company'] or ''}|{s['plant']}|{v}": s[v] for s in document["summary"]["sites"]
                 for v in ("not eligible", "misconfigured", "at risk", "unknown", "ready")}
    assert shown == expected


@needs_chromium
def test_the_screenshot_in_the_docs_is_of_the_report(report, tmp_path):
    shot = tmp_path / "report.png"
    assert chromium("--window-size=1200,2000", f"--screenshot={shot}", report[0].as_uri()).returncode == 0
    assert shot.stat().st_size > 50_000
    assert (ROOT / "docs" / "report.png").is_file() and "docs/report.png" in (ROOT / "README.md").read_text()


def test_values_from_the_data_are_escaped(tmp_path, demo_document):
    import io

    import pyarrow as pa

    from validator.findings import Findings, Verdicts
    from validator.formats import html
    from validator.report import Report

    evil = "<img src=x onerror=alert(1)>"
    finding = {**demo_document["findings"][0], "key": {"PartNum": evil}, "message": f"part {evil}"}
    findings = Findings(pa.table({"rule_id": [finding["rule_id"]], "severity": [finding["severity"]],
                                  "outcome": ["fail"], "site_plant": pa.array([None], pa.string()),
                                  "component": [json.dumps({"PartNum": evil})], "line": [json.dumps(finding)]}))
    verdicts = Verdicts(pa.table({"company": [evil], "plant": [evil], "part_num": [evil], "verdict": ["ready"],
                                  "rules": [[]], "backflushed": [False], "not_judged": [[]], "line": ["{}"]}))
    out = io.StringIO()
    html.write(Report(evil, {}, [], findings, verdicts), out)
    assert "<img" not in out.getvalue() and "&lt;img src=x onerror=alert(1)&gt;" in out.getvalue()
