"""The package layout is the architecture: stages import one way, and commands import only what they use."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from outreach.store import Store
from tests.seed import add_message

PACKAGE = Path(__file__).resolve().parent.parent / "outreach"

# Lower ranks never import higher ones; the support modules at the top of outreach/ are rank 0.
# The store is every stage's memory; compose is pure and shares its rank, so neither imports
# the other (test_compose_and_store_are_apart).
# discover reads the store and track's history beside mailbox's rank, and never a mail server
# (test_discover_talks_to_no_mail_server).
RANKS = {"compose": 1, "store": 1, "track": 2, "mailbox": 3, "discover": 3, "deliver": 4, "cli": 5}


def rank(module: str) -> int:
    parts = module.split(".")
    if parts[-1] == "__main__":  # `python -m outreach` is the cli
        return RANKS["cli"]
    return RANKS.get(parts[1], 0) if len(parts) > 1 else 0


def module_name(path: Path) -> str:
    relative = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
    return ".".join(parts)


def imports(path: Path, *, top_level_only: bool) -> set[str]:
    """The outreach modules ``path`` imports (anywhere, or at module level only), leaving out
    imports under ``if TYPE_CHECKING:``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = {id(node) for guard in ast.walk(tree) if isinstance(guard, ast.If)
               and "TYPE_CHECKING" in ast.unparse(guard.test) for node in ast.walk(guard)}
    nodes = tree.body if top_level_only else ast.walk(tree)
    found = set()
    for node in nodes:
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("outreach"):
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names
                         if (PACKAGE.parent / f"{node.module}.{alias.name}".replace(".", "/")).with_suffix(".py").exists())
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("outreach"))
    return found


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


@pytest.mark.parametrize("name", sorted(MODULES))
def test_stages_import_one_way(name):
    upward = sorted(m for m in imports(MODULES[name], top_level_only=False) if rank(m) > rank(name))
    assert not upward, f"{name} (rank {rank(name)}) imports a later stage: {upward}"


def test_compose_and_store_are_apart():
    """compose renders and checks without a store; the store knows nothing of templates."""
    for name, path in MODULES.items():
        stage = name.split(".")[1] if "." in name else ""
        other = {"compose": "outreach.store", "store": "outreach.compose"}.get(stage)
        if other:
            crossing = sorted(m for m in imports(path, top_level_only=False) if m.startswith(other))
            assert not crossing, f"{name} imports {crossing}"


def test_discover_talks_to_no_mail_server():
    """discover asks PubMed and reads the store; mailbox and deliver neither use it nor are used by it."""
    for name, path in MODULES.items():
        stage = name.split(".")[1] if "." in name else ""
        other = {"discover": ("outreach.mailbox", "outreach.deliver"), "mailbox": ("outreach.discover",),
                 "deliver": ("outreach.discover",)}.get(stage, ())
        crossing = sorted(m for m in imports(path, top_level_only=False) if m.startswith(other)) if other else []
        assert not crossing, f"{name} imports {crossing}"


def test_no_import_cycles():
    graph = {name: {m for m in imports(path, top_level_only=True) if m in MODULES and m != name}
             for name, path in MODULES.items()}
    done, active = set(), []

    def visit(name):
        if name in active:
            pytest.fail("import cycle: " + " -> ".join(active[active.index(name):] + [name]))
        if name in done:
            return
        active.append(name)
        for other in sorted(graph[name]):
            visit(other)
        active.pop()
        done.add(name)

    for name in sorted(graph):
        visit(name)


def test_every_stage_says_what_it_owns():
    for stage in RANKS:
        doc = ast.get_docstring(ast.parse((PACKAGE / stage / "__init__.py").read_text(encoding="utf-8")))
        assert doc and "import" in doc, f"outreach/{stage}/__init__.py needs a docstring saying what it may import"


LOADED = """
import json, sys
from outreach.cli import cli
try:
    cli(sys.argv[1:], prog_name="outreach")
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


def loaded_by(args: list[str], cwd: Path) -> set[str]:
    """The modules loaded by running ``outreach ARGS`` in ``cwd``, which must succeed (exit 0 or 1)."""
    done = subprocess.run([sys.executable, "-c", LOADED, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=60, env={"PATH": "/usr/bin:/bin", "NO_COLOR": "1",
                                           "PYTHONPATH": str(PACKAGE.parent)})
    *said, modules = done.stderr.strip().splitlines()
    assert not any(line.startswith(("error", "internal error")) for line in said), said
    assert done.stdout.strip(), f"outreach {' '.join(args)} printed nothing"
    return set(json.loads(modules))


HEAVY = {"jinja2", "imapclient", "email_validator", "sqlite3", "dotenv", "markdown_it", "flufl.bounce", "smtplib"}


@pytest.mark.parametrize("args, allowed", [
    (["--version"], set()),
    (["--help"], set()),
    (["send", "--help"], set()),
    (["discover", "--help"], set()),
    (["status"], {"sqlite3", "dotenv"}),
    (["report"], {"sqlite3", "dotenv"}),
    # check reads the store, when there is one, for what was already promised to which program
    # and for the contacts' history in other campaigns; a template of text and {{ variable }}s
    # needs no Jinja
    (["check", "t.txt", "c.csv"], {"email_validator", "dotenv", "sqlite3"}),
    (["due", "i.csv"], {"sqlite3", "email_validator", "dotenv"}),
])
def test_each_command_imports_only_what_it_uses(tmp_path, args, allowed):
    (tmp_path / "t.txt").write_text("Subject: Hello {{ first_name }}\n\nDear {{ first_name }},\n", encoding="utf-8")
    (tmp_path / "c.csv").write_text("email,first_name\na@example.org,Ann\n", encoding="utf-8")
    (tmp_path / "i.csv").write_text("email,interview_date\na@example.org,2026-11-12\n", encoding="utf-8")
    store = Store(tmp_path / "outreach.db")  # status and report read a real store, not stop at "no store"
    add_message(store, "fall", "a@example.org")
    store.close()
    heavy = {m for m in loaded_by(args, tmp_path) if m.split(".")[0] in {h.split(".")[0] for h in HEAVY}}
    unexpected = {m.split(".")[0] for m in heavy} - {a.split(".")[0] for a in allowed}
    assert not unexpected, f"outreach {' '.join(args)} imported {sorted(unexpected)}"


def test_the_cli_states_the_default_of_recent_days_as_the_options_do():
    """The cli writes --recent-days' default without loading the options' dataclasses."""
    from outreach.cli.common import RECENT_DAYS
    from outreach.options import Consent

    assert RECENT_DAYS == Consent().recent_days
