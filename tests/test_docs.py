"""docs/rules.md names every design rule, and every test it cites exists."""

from __future__ import annotations

import importlib
import importlib.util
import json
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from ccdomain.memory import MemoryStore
from ccdomain.replay import LINE_EVENTS, replay
from ccdomain.sqlite import SqliteStore

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


def test_the_rules_page_lists_each_rule_once_with_one_tests_line() -> None:
    assert TOOL.problems(RULES) == []
    merged = RULES.replace("  Tests: ", "  Tests: x\n  Tests: ", 1)  # what a bad merge leaves
    assert any("follows no rule" in problem for problem in TOOL.problems(merged))


def _python_blocks(page: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", page.read_text(encoding="utf-8"), re.S)


def test_the_concepts_example_runs_as_written() -> None:
    (block,) = _python_blocks(ROOT / "docs" / "concepts.md")
    namespace: dict[str, Any] = {}
    exec(compile(block, "docs/concepts.md", "exec"), namespace)
    assert namespace["contact"].code == "45678912"
    assert (namespace["ticket"].number, namespace["ticket"].contact) == (1, "45678912")
    summary = namespace["summary"]
    assert str(summary.balance.amount) == "600.00"
    assert summary.days_past_due == 25
    assert summary.promises[0][1].status.value == "pending"


def _public_modules() -> set[str]:
    names = {"ccdomain"}
    for path in (ROOT / "src" / "ccdomain").rglob("*.py"):
        parts = path.relative_to(ROOT / "src").with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if not any(part.startswith("_") for part in parts):
            names.add(".".join(parts))
    return names


def test_every_public_module_has_a_place_in_the_api_reference() -> None:
    pages = (ROOT / "docs" / "reference").glob("*.md")
    documented = {
        name for page in pages for name in re.findall(r"^::: ([\w.]+)", page.read_text(), re.M)
    }
    assert "ccdomain.contacts" in documented
    missing = _public_modules() - documented
    assert not missing, f"add these modules to a page of docs/reference: {sorted(missing)}"
    assert documented <= _public_modules(), sorted(documented - _public_modules())


def test_the_site_lists_every_page_of_docs() -> None:
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    listed = set(re.findall(r"^\s+- (?:[^:\n]+: )?([\w/.-]+\.md)$", config, re.M))
    pages = {p.relative_to(ROOT / "docs").as_posix() for p in (ROOT / "docs").rglob("*.md")}
    assert pages == listed, (sorted(pages - listed), sorted(listed - pages))


EVENTS_PAGE = ROOT / "docs" / "events.md"


def _complete_file() -> list[str]:
    text = EVENTS_PAGE.read_text(encoding="utf-8")
    (block,) = re.findall(r"```jsonl\n(.*?)```", text, re.S)
    assert text.rstrip().endswith(block.rstrip() + "\n```"), "the complete file ends the page"
    return block.splitlines()


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_the_complete_file_of_the_events_page_replays_clean(kind: str, tmp_path: Path) -> None:
    # Half of the page's fragments fail alone: a reader needs one file that works.
    lines = _complete_file()
    store = MemoryStore() if kind == "memory" else SqliteStore(tmp_path / "events.sqlite")
    try:
        summary = replay(store, lines, keep_going=True)
        again = replay(store, lines, keep_going=True)
    finally:
        if isinstance(store, SqliteStore):
            store.close()
    assert summary.bad_lines == () and summary.applied == len(lines)
    # The block ... unblock and opt_out ... opt_in pairs are applied again on a second
    # replay (the page says why).
    assert again.bad_lines == () and again.already_applied == len(lines) - 4


def test_the_complete_file_holds_every_line_type_and_each_fragment_says_what_it_needs() -> None:
    types = {json.loads(line)["type"] for line in _complete_file()}
    assert types == set(LINE_EVENTS), sorted(set(LINE_EVENTS) ^ types)
    text = EVENTS_PAGE.read_text(encoding="utf-8")
    fragments = re.findall(r"```json\n.*?```\n\n(.*?)\n\n", text, re.S)
    assert len(fragments) >= 10
    assert all(f.startswith("*Needs before it:* ") for f in fragments), fragments


def test_the_notebook_page_runs_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """docs/notebook.md, every block in order, on the demo (the charts written as PNG files)."""
    pytest.importorskip("pandas", reason="the notebook page is about pandas: pip install pandas")
    pytest.importorskip("matplotlib", reason="its charts need matplotlib: pip install matplotlib")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.chdir(tmp_path)
    demo = (ROOT / "src" / "ccdomain" / "data" / "demo.jsonl").read_text(encoding="utf-8")
    (tmp_path / "events.jsonl").write_text(demo, encoding="utf-8")
    assert replay(SqliteStore(tmp_path / "cc.sqlite"), demo.splitlines()).bad_lines == ()
    namespace: dict[str, Any] = {}
    for block in _python_blocks(ROOT / "docs" / "notebook.md"):
        exec(compile(block, "docs/notebook.md", "exec"), namespace)
    assert namespace["outcome"].ticket == 14
    assert (tmp_path / "tickets_per_day.png").stat().st_size > 0
    assert (tmp_path / "promises_by_week.png").stat().st_size > 0
    by_week = namespace["by_week"]
    assert by_week.to_numpy().sum() == len(namespace["month_end"])


def _documented_objects() -> set[int]:
    """The ids of the objects the API reference renders: every name of each module a
    ``:::`` directive shows with its members, less the names its filters leave out."""
    objects: set[int] = set()
    for page in (ROOT / "docs" / "reference").glob("*.md"):
        text = page.read_text(encoding="utf-8")
        for match in re.finditer(r"^::: ([\w.]+)\n((?:    .*\n)*)", text, re.M):
            module_name, options = match.group(1), match.group(2)
            if "members: false" in options:
                continue
            try:
                module = importlib.import_module(module_name)
            except ModuleNotFoundError as missing:
                # The PostgreSQL store's pages need the postgres extra (psycopg); the
                # README's test command installs only the test extra.
                if (missing.name or "").split(".")[0] in ("psycopg", "psycopg_pool"):
                    continue
                raise
            chosen = re.search(r"members: \[(.*)\]", options)
            if chosen is not None:  # the building blocks other layers use, by name
                for name in chosen.group(1).split(","):
                    objects.add(id(getattr(module, name.strip())))
                continue
            hidden = [re.compile(f[1:]) for f in re.findall(r'"(![^"]*)"', options) if f != "!^_"]
            for name in getattr(module, "__all__", ()):
                if not any(h.search(name) for h in hidden):
                    objects.add(id(getattr(module, name)))
    return objects


def test_every_public_service_name_is_in_the_api_reference() -> None:
    """Each name in the ``__all__`` of the service modules (and of ``ccdomain.listings``)
    is rendered on some reference page, so a new service is not left out."""
    documented = _documented_objects()
    missing = [
        f"{path.stem}.{name}"
        for path in sorted((ROOT / "src" / "ccdomain" / "services").glob("[!_]*.py"))
        for module in [importlib.import_module(f"ccdomain.services.{path.stem}")]
        for name in module.__all__
        if id(getattr(module, name)) not in documented
    ]
    listings = importlib.import_module("ccdomain.listings")
    missing += [
        f"listings.{name}"
        for name in listings.__all__
        if id(getattr(listings, name)) not in documented
    ]
    assert missing == []
