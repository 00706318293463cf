"""The tool installed from its wheel, outside the checkout, carries its rules and schemas and checks a site."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from tests.conftest import DEMO, ROOT


def test_the_wheel_installed_outside_the_checkout_checks_the_demo(tmp_path):
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(wheels),
                    str(ROOT)], check=True, capture_output=True, timeout=300)
    (wheel,) = wheels.glob("backflush_validator-*.whl")
    env = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(env)], check=True, capture_output=True, timeout=300)
    python = env / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", str(wheel)], check=True, capture_output=True,
                   timeout=300)
    # the dependencies come from this environment: its site-packages joins the new one's path (a plain path
    # entry: the .pth files in it, this checkout's editable install among them, are not run)
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    Path(site, "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    exports = tmp_path / "exports"
    shutil.copytree(DEMO, exports)
    done = subprocess.run([str(env / "bin" / "backflush"), "check", str(exports), "--format", "json", "--fail-on", "never"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    where = subprocess.run([str(python), "-c", "import validator.rules.loader as l; print(l.BUILTIN_RULES)"],
                           cwd=tmp_path, check=True, capture_output=True, text=True).stdout.strip()
    assert Path(where).is_relative_to(site) and Path(where, "BFE001.yaml").is_file()  # the wheel's own rules
    document = json.loads(done.stdout)
    shipped = {path.stem for path in (ROOT / "rules").glob("BF*.yaml")}
    assert {r["rule_id"] for r in document["rules"]} == shipped and document["findings"]
