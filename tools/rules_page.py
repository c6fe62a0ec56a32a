"""Rewrite the ``Tests:`` lines of docs/rules.md from the names of the tests.

Run: ``python tools/rules_page.py`` from the repository root (``--check`` only reports).

A rule's tests are those whose name carries its id (``test_T3_...``), in the order of
the files (tests/ by name, then the shipped conformance suite), followed by the tests
the page already cites for it under another id (decisions checked by the tests of the
design rule they refine). Rule texts are edited by hand in the page itself; this
script only keeps the citations in step with the suite. A line shows six tests and
counts the rest, so a citation under another id is kept only while it is shown: add
one to a rule with fewer than six tests of its own, or rename the test.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "rules.md"
SHOWN = 6
_RULE = re.compile(r"^- \*\*([A-Z]\d+)\*\* ")
_TESTS = re.compile(r"^  Tests: (.*)$")
_CITED = re.compile(r"`([^`]+)::(test_\w+)`")


def _sources() -> list[tuple[str, Path]]:
    tests = sorted((ROOT / "tests").glob("test_*.py"))
    # The shipped suite is a package; its classes are all importable from the package.
    conformance = sorted((ROOT / "src" / "ccdomain" / "testing" / "conformance").glob("*.py"))
    return [(f"tests/{p.name}", p) for p in tests] + [
        ("ccdomain.testing.conformance", p) for p in conformance
    ]


def tests_by_rule() -> tuple[dict[str, list[str]], dict[str, str]]:
    """Citations per rule id from test names, and where each test is defined."""
    by_rule: dict[str, list[str]] = {}
    where: dict[str, str] = {}
    for label, path in _sources():
        for name in re.findall(r"def (test_\w+)", path.read_text(encoding="utf-8")):
            where.setdefault(name, label)
            for rule in dict.fromkeys(re.findall(r"(?<=_)([EMKTCIRLHPAXW]\d+)(?=_)", name + "_")):
                by_rule.setdefault(rule, []).append(f"`{label}::{name}`")
    return by_rule, where


def _other_citations(line: str, rule: str, where: dict[str, str]) -> list[str]:
    """The tests a ``Tests:`` line cites that do not carry ``rule`` in their name."""
    return [
        f"`{where.get(name, label)}::{name}`"
        for label, name in _CITED.findall(line)
        if f"_{rule}_" not in f"{name}_"
    ]


def render(page: str) -> str:
    """The page with every ``Tests:`` line recomputed."""
    by_rule, where = tests_by_rule()
    out: list[str] = []
    rule: str | None = None
    for line in page.split("\n"):
        found = _RULE.match(line)
        if found:
            rule = found.group(1)
        elif rule is not None and _TESTS.match(line):
            extra = _other_citations(line, rule, where)
            cited = list(dict.fromkeys(by_rule.get(rule, []) + extra))
            shown = ", ".join(cited[:SHOWN])
            if len(cited) > SHOWN:
                shown += f", and {len(cited) - SHOWN} more"
            line = f"  Tests: {shown or '(none yet)'}"
            rule = None
        out.append(line)
    return "\n".join(out)


def problems(page: str) -> list[str]:
    """What a merge can leave behind: a rule listed twice, a Tests line under no rule."""
    found: list[str] = []
    seen: set[str] = set()
    after_rule = False
    for number, line in enumerate(page.split("\n"), 1):
        rule = _RULE.match(line)
        if rule:
            if rule.group(1) in seen:
                found.append(f"line {number}: rule {rule.group(1)} is listed twice")
            seen.add(rule.group(1))
            after_rule = True
        elif _TESTS.match(line):
            if not after_rule:
                found.append(f"line {number}: a Tests line that follows no rule")
            after_rule = False
    return found


def main(argv: list[str]) -> int:
    page = PAGE.read_text(encoding="utf-8")
    wrong = problems(page)
    if wrong:
        print("docs/rules.md: " + "; ".join(wrong))
        return 1
    new = render(page)
    if new == page:
        print("docs/rules.md: up to date")
        return 0
    if "--check" in argv:
        print("docs/rules.md: Tests lines out of date; run python tools/rules_page.py")
        return 1
    PAGE.write_text(new, encoding="utf-8")
    print("docs/rules.md: Tests lines rewritten")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
