"""Where the built-in rules and schemas are: inside the installed package, or at the top of the checkout.

rules/ and schemas/ are the source, at the top of the repository. A wheel carries them as validator/_rules and
validator/_schemas (pyproject.toml maps them); an editable install (pip install -e) reads them where they are.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent


def bundled(name: str) -> Path:
    """The folder `rules` or `schemas` the tool ships."""
    installed = PACKAGE / f"_{name}"
    return installed if installed.is_dir() else PACKAGE.parent / name
