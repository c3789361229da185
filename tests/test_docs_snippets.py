"""Every Python snippet of the README and the docs runs as written.

Each document's snippets run in order in one namespace (a later snippet may use what an
earlier one defined), in a folder holding the sample store the README creates
(``./data/sample.duckdb``). Names a document leaves to the reader (``MyStrategy``,
``candles``, ...) come from :data:`PRELUDES`. A snippet that cannot run here says why in
a ``<!-- snippet-skip: reason -->`` line right above it. Registration hooks a snippet
defines are called with a ``register`` that checks what they register.
"""

import re
import types
from pathlib import Path

import pytest
from click.testing import CliRunner

from flint.cli.main import cli
from flint.plugins import get_host

REPO = Path(__file__).resolve().parents[1]
DOCUMENTS = [
    p.relative_to(REPO).as_posix()
    for p in [REPO / "README.md", *sorted(REPO.glob("docs/*.md")),
              *sorted(REPO.glob("plugins/*/README.md"))]
    if "```python" in p.read_text()
]
SNIPPET = re.compile(r"(?:<!-- snippet-skip: (?P<skip>[^>]*?) -->\n)?```python\n(?P<code>.*?)```",
                     re.S)

#: What each document takes as given: the reader's own names, bound to real objects.
PRELUDES = {
    "docs/optimization.md": """
from flint.store import FlintStore
from flint.strategy import MACrossoverStrategy as MyStrategy
with FlintStore("./data/sample.duckdb", read_only=True) as store:
    candles = store.query_candles("SOL-PERP", 3600, venue="binance")
""",
    "docs/writing-plugins.md": """
from flint.strategy import MACrossoverStrategy as MyStrategy
""",
    "docs/plugin-hooks.md": """
from flint import hookimpl
from flint.providers.base import DataProvider as MyExchangeProvider
from flint.execution.fill_models import ClosePriceFill as MyBookFill
from flint.execution.context import ExecutionContext as MyExchangeLiveContext
from flint.strategy import MACrossoverStrategy

def typical_price(candles):
    return [(c.high + c.low + c.close) / 3 for c in candles]
""",
}


def snippets(document: str) -> list[tuple[str | None, str]]:
    """``(skip reason or None, code)`` of each Python snippet of ``document``."""
    text = (REPO / document).read_text()
    return [(m.group("skip"), m.group("code")) for m in SNIPPET.finditer(text)]


@pytest.fixture(scope="module")
def sample_folder(tmp_path_factory):
    """A folder with the README's sample store at ./data/sample.duckdb."""
    folder = tmp_path_factory.mktemp("readme")
    done = CliRunner().invoke(cli, ["data", "sample", "--days", "60",
                                    "--db", str(folder / "data" / "sample.duckdb")])
    assert done.exit_code == 0, done.output
    return folder


def test_every_document_with_python_has_its_snippets_found():
    found = {d: snippets(d) for d in DOCUMENTS}
    assert len(found["README.md"]) >= 3
    for document, items in found.items():
        for reason, _ in items:
            assert reason is None or reason.strip(), f"{document}: a skip needs a reason"


def _check_registrations(namespace: dict) -> None:
    """Call each ``flint_register_*`` hook the snippets defined; what it registers must be
    an object (a class, function or config) under a non-empty name."""
    for name, hook in list(namespace.items()):
        if not (name.startswith("flint_register_") and callable(hook)):
            continue
        if name == "flint_register_commands":
            import click

            group = click.Group()
            hook(group)
            assert group.commands, f"{name} added no command"
            continue
        registered: list[tuple[str, object]] = []
        hook(lambda key, obj, _into=registered, **meta: _into.append((key, obj)))
        assert registered and all(k and v is not None for k, v in registered), name


@pytest.mark.parametrize("document", DOCUMENTS)
def test_the_snippets_run_as_written(document, sample_folder, monkeypatch):
    items = snippets(document)
    if document != "README.md" and "ma_crossover" not in get_host().registry("strategies"):
        pytest.skip("the built-in strategies (flint-strategies) are not installed")
    monkeypatch.chdir(sample_folder)
    module = types.ModuleType("snippets")  # classes defined by snippets need a module
    monkeypatch.setitem(__import__("sys").modules, "snippets", module)
    namespace = module.__dict__
    exec(compile(PRELUDES.get(document, ""), f"{document}:prelude", "exec"), namespace)
    for i, (skip, code) in enumerate(items):
        if skip is None:
            exec(compile(code, f"{document}:snippet-{i + 1}", "exec"), namespace)
    _check_registrations(namespace)
