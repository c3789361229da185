"""Docs that must match the code: hook reference, README test command, version."""

import re
import tomllib

from flint_core import __version__, hookspecs
from flint_core.plugins import PluginHost


def test_every_hook_is_documented_with_its_exact_signature(repo_root):
    text = (repo_root / "docs" / "plugin-hooks.md").read_text()
    host = PluginHost(entry_points=False)
    for name in sorted(n for n in dir(hookspecs) if n.startswith("flint_")):
        argnames = getattr(host.pm.hook, name).spec.argnames
        heading = f"## {name}({', '.join(argnames)})"
        assert heading in text, f"docs/plugin-hooks.md lacks the heading '{heading}'"


def test_docs_mention_no_hook_that_does_not_exist(repo_root):
    text = (repo_root / "docs" / "plugin-hooks.md").read_text()
    documented = set(re.findall(r"^## (flint_\w+)\(", text, flags=re.M))
    assert documented == {n for n in dir(hookspecs) if n.startswith("flint_")}


def test_ci_runs_both_readme_commands_in_order(repo_root):
    readme = (repo_root / "README.md").read_text()
    quickstart = re.search(r"## Two commands.*?```bash\n(.+?)\n```", readme, re.S)
    command = re.search(r"<!-- test-command -->\s*```(?:bash|sh)?\n(.+?)\n```", readme, re.S)
    assert quickstart, "README.md must show the quickstart under '## Two commands'"
    assert command, "README.md must show the test command after <!-- test-command -->"
    lines = [line.strip() for line in (repo_root / ".ci" / "run").read_text().splitlines()]
    first, tests = quickstart.group(1).strip(), command.group(1).strip()
    assert first in lines and tests in lines, ".ci/run must run the README's two commands"
    assert lines.index(first) < lines.index(tests), "the quickstart runs before the tests"


def test_version_matches_pyproject(repo_root):
    pyproject = tomllib.loads((repo_root / "pyproject.toml").read_text())
    assert pyproject["project"]["version"] == __version__
