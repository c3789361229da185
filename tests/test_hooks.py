"""One test per hook (``test_hook_<hook name>``), and a guard that keeps it that way."""

import click
from click.testing import CliRunner

from flint.plugins import make_host
from flint_core import hookspecs


def _hook_names():
    return sorted(n for n in dir(hookspecs) if n.startswith("flint_"))


def test_every_hook_has_a_test_of_its_own():
    tests = {name for name in globals() if name.startswith("test_hook_")}
    missing = [h for h in _hook_names() if f"test_hook_{h}" not in tests]
    assert not missing, f"hooks without a test_hook_<name> in {__file__}: {missing}"


def _host_with(fake_dists, code):
    fake_dists.add("flint-hooktest", "flint_hooktest", code, entry_point="hooktest")
    return make_host(load=["hooktest"], strict=True)


def test_hook_flint_register_data_providers(fake_dists):
    host = _host_with(fake_dists, """
        from flint import hookimpl

        class CsvProvider:
            '''Reads candles from CSV files.'''

        @hookimpl
        def flint_register_data_providers(register):
            register("csv-test", CsvProvider, capabilities={"candles"})
    """)
    entry = host.registry("data_providers").entry("csv-test")
    assert entry.meta == {"capabilities": {"candles"}}
    assert entry.description == "Reads candles from CSV files."


def test_hook_flint_register_fill_models(fake_dists):
    host = _host_with(fake_dists, """
        from flint import hookimpl

        class VenueFill:
            '''Venue-specific fills.'''

        @hookimpl
        def flint_register_fill_models(register):
            register("venue-fill", VenueFill, venues={"hooktest"})
    """)
    assert host.registry("fill_models").entry("venue-fill").meta["venues"] == {"hooktest"}


def test_hook_flint_register_execution_contexts(fake_dists):
    host = _host_with(fake_dists, """
        from flint import hookimpl

        class PaperContext:
            '''Paper trading on the hooktest venue.'''

        @hookimpl
        def flint_register_execution_contexts(register):
            register("hooktest", PaperContext, modes={"paper"})
    """)
    entry = host.registry("execution_contexts").entry("hooktest")
    assert entry.obj.__name__ == "PaperContext" and entry.meta["modes"] == {"paper"}


def test_hook_flint_register_venue_configs(fake_dists):
    host = _host_with(fake_dists, """
        from flint import hookimpl
        from flint_core.venues import DEFAULT_VENUE

        @hookimpl
        def flint_register_venue_configs(register):
            register("hooktest", DEFAULT_VENUE.merged({"name": "hooktest", "maker_fee_bps": -1}))
    """)
    config = host.registry("venue_configs").get("hooktest")
    assert config.maker_fee_rate == -0.0001 and "default" in host.registry("venue_configs")


def test_hook_flint_register_indicators(fake_dists):
    host = _host_with(fake_dists, """
        from flint import hookimpl

        def last_close(history):
            '''Close of the newest bar.'''
            return history[-1].close

        @hookimpl
        def flint_register_indicators(register):
            register("last_close", last_close)
    """)
    assert host.registry("indicators").get("last_close").__name__ == "last_close"


def test_hook_flint_register_strategies(fake_dists):
    host = _host_with(fake_dists, """
        from flint import hookimpl
        from flint.models import Signal
        from flint.strategy.base import Strategy

        class Hold(Strategy):
            '''Never trades.'''
            @property
            def name(self):
                return "hold"
            def on_candle(self, candle, history, ctx=None):
                return Signal.HOLD
            def reset(self):
                pass

        @hookimpl
        def flint_register_strategies(register):
            register("hold", Hold, category="monitor", style="v1")
    """)
    entry = host.registry("strategies").entry("hold")
    assert entry.obj().name == "hold" and entry.meta["category"] == "monitor"


def test_hook_flint_register_commands(fake_dists):
    host = _host_with(fake_dists, """
        import click
        from flint import hookimpl

        @hookimpl
        def flint_register_commands(cli):
            @cli.command()
            def hello():
                '''Say hello.'''
                click.echo("hello from a plugin")

            @cli.command(name="plugins")
            def hijack():
                click.echo("hijacked")
    """)

    @click.group()
    def cli():
        pass

    @cli.command(name="plugins")
    def plugins():
        click.echo("real plugins command")

    host.strict = False  # report the hijack instead of raising
    host.add_commands(cli)
    runner = CliRunner()
    assert runner.invoke(cli, ["hello"]).output == "hello from a plugin\n"
    assert runner.invoke(cli, ["plugins"]).output == "real plugins command\n"
    info = host.plugins["hooktest"]
    assert info.registered["commands"] == ["hello"]
    assert "tried to replace the existing command 'plugins'" in info.errors[0]
