"""The README's market-data example runs as written."""

import re

from click.testing import CliRunner

from flint.cli.main import cli


def test_the_readme_market_data_example_runs(repo_root, tmp_path, monkeypatch, capsys):
    readme = (repo_root / "README.md").read_text()
    section = readme.split("### Market data", 1)[1]
    commands = re.search(r"```bash\n(.+?)\n```", section, re.S).group(1)
    code = re.search(r"```python\n(.+?)\n```", section, re.S).group(1)
    monkeypatch.chdir(tmp_path)
    for line in commands.splitlines():
        args = line.split("#")[0].split()[1:]  # drop "flint" and the comment
        done = CliRunner().invoke(cli, [*args, "--days", "3"] if "sample" in args else args)
        assert done.exit_code == 0, done.output
    exec(compile(code, "README.md", "exec"), {})
    printed = capsys.readouterr().out
    assert printed.startswith("72 ") and printed.rstrip().endswith(" 3600")
