"""docs/rules.md names every design rule, and every test it cites exists."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]
RULES = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
DESIGN_IDS = (
    [f"E{i}" for i in range(1, 3)]
    + [f"M{i}" for i in range(1, 6)]
    + [f"K{i}" for i in range(1, 11)]
    + [f"T{i}" for i in range(1, 12)]
    + [f"C{i}" for i in range(1, 7)]
    + [f"I{i}" for i in range(1, 6)]
)


def _rules_tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("rules_page", ROOT / "tools" / "rules_page.py")
    assert spec is not None and spec.loader is not None
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


TOOL = _rules_tool()


def _defined_tests() -> set[str]:
    return set(TOOL.tests_by_rule()[1])


def test_rules_page_lists_every_design_rule_with_a_test() -> None:
    listed = dict(re.findall(r"^- \*\*([A-Z]\d+)\*\* .*?\n  Tests: (.*)$", RULES, re.M))
    for rule in DESIGN_IDS:
        assert rule in listed, f"docs/rules.md does not list {rule}"
        assert "`" in listed[rule], f"docs/rules.md cites no test for {rule}"


def test_every_test_the_rules_page_cites_exists() -> None:
    cited = set(re.findall(r"::(test_\w+)`", RULES))
    assert cited, "docs/rules.md cites tests"
    assert cited <= _defined_tests(), sorted(cited - _defined_tests())


def test_the_rules_page_cites_the_tests_as_the_suite_names_them() -> None:
    assert TOOL.render(RULES) == RULES, "run: python tools/rules_page.py"
