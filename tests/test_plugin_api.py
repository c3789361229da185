"""flint.plugins: one getter per registry kind, hooks called through pluggy, trace and typos."""

import inspect
import logging
import re

import pytest
from click.testing import CliRunner

from flint import indicators, plugins
from flint.backtest.engine import BacktestEngine
from flint.execution.fill_models import ClosePriceFill, FillPipeline, NextBarOpenFill
from flint.models import Candle, Signal
from flint.plugins import (
    PluginNotFound,
    get_data_provider,
    get_execution_context,
    get_fill_model,
    get_indicator,
    get_strategy,
    get_venue_config,
    make_host,
)
from flint.providers.sample import SampleProvider
from flint_core import hookspecs
from flint_core.plugins import REGISTRY_HOOKS, PluginHost, metadata_version
from flint_core.registry import PluginError

#: The reader of every hook: a getter of flint.plugins (commands: the command line).
READERS = {
    "flint_register_data_providers": plugins.get_data_provider,
    "flint_register_fill_models": plugins.get_fill_model,
    "flint_register_execution_contexts": plugins.get_execution_context,
    "flint_register_venue_configs": plugins.get_venue_config,
    "flint_register_indicators": plugins.get_indicator,
    "flint_register_strategies": plugins.get_strategy,
    "flint_register_commands": PluginHost.add_commands,
}


def _sections(text):
    parts = re.split(r"^## ", text, flags=re.M)
    return {part.split("(", 1)[0]: part for part in parts if part.startswith("flint_")}


def test_every_hook_has_a_reader_and_a_doc_entry_naming_it(repo_root):
    hooks = sorted(n for n in dir(hookspecs) if n.startswith("flint_"))
    assert sorted(READERS) == hooks
    assert {hook for hook, *_ in REGISTRY_HOOKS.values()} == set(hooks) - {
        "flint_register_commands"}
    sections = _sections((repo_root / "docs" / "plugin-hooks.md").read_text())
    for hook, reader in READERS.items():
        assert reader.__doc__, f"{reader.__qualname__} has no docstring"
        name = "flint` command line" if hook == "flint_register_commands" else (
            f"flint.plugins.{reader.__name__}")
        assert name in sections[hook], f"docs/plugin-hooks.md: {hook} does not name {name}"
    for getter in READERS.values():
        if getter is not PluginHost.add_commands:
            assert getter.__name__ in plugins.__all__


def test_an_unknown_name_is_a_key_error_listing_what_is_registered():
    with pytest.raises(PluginNotFound) as err:
        get_fill_model("magic")
    assert isinstance(err.value, KeyError) and isinstance(err.value, LookupError)
    assert str(err.value).startswith("unknown fill model 'magic'; registered: close, ")
    assert "pipeline" in err.value.registered and err.value.name == "magic"
    with pytest.raises(KeyError, match="unknown indicator 'nope'; registered: adx, atr"):
        get_indicator("nope")


def test_an_unknown_venue_says_which_plugin_to_install():
    if metadata_version("flint-hyperliquid") is None:  # installed, it registers the context
        with pytest.raises(PluginNotFound) as err:
            get_execution_context("hyperliquid", "live")
        assert err.value.hint == (
            "install flint-hyperliquid to get it (`pip install flint-hyperliquid`)")
    with pytest.raises(PluginNotFound) as err:
        get_venue_config("nowhere")
    assert "unknown venue config 'nowhere'; registered: " in str(err.value)


def test_getters_return_what_the_built_ins_register():
    assert get_indicator("sma") is indicators.sma is indicators.get("sma")
    assert isinstance(get_fill_model("close"), ClosePriceFill)
    assert isinstance(get_fill_model("next_open"), NextBarOpenFill)  # an alias
    assert isinstance(get_fill_model(), FillPipeline)
    assert isinstance(get_fill_model("default", venue="binance"), FillPipeline)
    assert get_venue_config("default").name == "default"
    provider = get_data_provider("sample", days=2)
    assert isinstance(provider, SampleProvider) and provider.days == 2


def test_strategies_resolve_by_registered_or_class_name(fake_dists, process_plugins):
    process_plugins.add("flint-hold", "flint_hold", """
        from flint.models import Signal
        from flint.plugins import Strategy, hookimpl

        class HoldStrategy(Strategy):
            '''Never trades.'''
            name = "hold"
            def on_candle(self, candle, history, ctx=None):
                return Signal.HOLD
            def reset(self):
                pass

        @hookimpl
        def flint_register_strategies(register):
            register("hold", HoldStrategy)
    """, entry_point="hold")
    assert get_strategy("hold") is get_strategy("HoldStrategy")
    from flint.strategy import HoldStrategy

    assert HoldStrategy is get_strategy("hold")


VENUE_PLUGIN = """
import inspect

from flint.execution.context import ExecutionContext
from flint.plugins import FillModel, FillQuote, hookimpl

class Flat(FillModel):
    '''Fills at the base price with 7 bps of impact.'''

    def quote(self, side, size, base_price, bar, book, terms):
        return FillQuote(base_price, size, 7.0)


def stub(name):
    if isinstance(inspect.getattr_static(ExecutionContext, name), property):
        return property(lambda self: None)
    return lambda self, *args, **kwargs: None


def remember(self, mode, **options):
    self.mode, self.options = mode, options


# a context that only remembers how it was built
Paper = type("Paper", (ExecutionContext,), {
    **{name: stub(name) for name in ExecutionContext.__abstractmethods__},
    "__init__": remember, "__doc__": "Remembers how it was built.",
})


@hookimpl
def flint_register_fill_models(register):
    register("flat7", Flat, venues={"hooktest"})


@hookimpl
def flint_register_execution_contexts(register):
    register("hooktest", Paper, modes={"paper"})
    register("oddvenue", lambda mode, **options: object())
"""


class BuyThenSell:
    name = "buy-then-sell"

    def reset(self):
        self.bar = 0

    def on_candle(self, candle, history, ctx=None):
        self.bar += 1
        return {3: Signal.BUY, 6: Signal.SELL}.get(self.bar, Signal.HOLD)


def _bars(venue):
    return [Candle(3600 * i, 100.0, 101.0, 99.0, 100.0 + i, 10.0, "X-PERP", 3600, venue)
            for i in range(10)]


def test_a_fill_model_is_the_default_of_the_venues_it_names(process_plugins):
    process_plugins.add("flint-hooktest", "flint_hooktest", VENUE_PLUGIN, entry_point="hooktest")
    assert type(get_fill_model(venue="hooktest")).__name__ == "Flat"
    assert isinstance(get_fill_model(venue="binance"), FillPipeline)
    fills = BacktestEngine(BuyThenSell()).run(_bars("hooktest")).fills
    assert [f.impact_bps for f in fills] == [7.0, 7.0]
    fills = BacktestEngine(BuyThenSell()).run(_bars("binance")).fills
    assert len(fills) == 2 and 7.0 not in [f.impact_bps for f in fills]


def test_a_run_asked_for_the_default_fill_model_gets_its_venues(process_plugins):
    from flint.backtest.runs import RunSettings, run_backtest

    process_plugins.add("flint-hooktest", "flint_hooktest", VENUE_PLUGIN, entry_point="hooktest")
    settings = RunSettings("buy-then-sell", "X-PERP", ("hooktest",), fill_model="default")
    record = run_backtest(BuyThenSell(), _bars("hooktest"), [], settings)
    assert [f["impact_bps"] for f in record["result"]["fills"]] == [7.0, 7.0]
    assert plugins.default_fill_model("hooktest") == "flat7"


def test_two_defaults_for_one_venue_are_an_error(process_plugins):
    process_plugins.add("flint-hooktest", "flint_hooktest", VENUE_PLUGIN, entry_point="hooktest")
    process_plugins.add("flint-other", "flint_other", """
        from flint.plugins import hookimpl

        @hookimpl
        def flint_register_fill_models(register):
            register("also-flat", lambda: None, venues={"hooktest"},
                     description="Claims hooktest too.")
    """, entry_point="other")
    with pytest.raises(ValueError, match="both claim to be the default of venue 'hooktest'"):
        get_fill_model(venue="hooktest")


def test_execution_contexts_are_built_by_venue_and_mode(process_plugins):
    process_plugins.add("flint-hooktest", "flint_hooktest", VENUE_PLUGIN, entry_point="hooktest")
    context = get_execution_context("hooktest", "paper", api_url="http://127.0.0.1:1")
    assert (context.mode, context.options) == ("paper", {"api_url": "http://127.0.0.1:1"})
    with pytest.raises(PluginNotFound, match=r"venue 'hooktest' .* has no live mode"):
        get_execution_context("hooktest", "live")
    with pytest.raises(ValueError, match=r"mode must be one of \['live', 'paper'\]"):
        get_execution_context("hooktest", "demo")
    with pytest.raises(TypeError, match=r"'oddvenue' .* built a object, not a flint\.execution"):
        get_execution_context("oddvenue", "live")


def test_a_fill_model_cannot_be_named_default(fake_dists):
    fake_dists.add("flint-bad", "flint_bad", """
        from flint.plugins import hookimpl

        @hookimpl
        def flint_register_fill_models(register):
            register("default", lambda: None, description="Shadows the venue defaults.")
    """)
    errors = make_host(load=["flint_bad"]).plugins["flint_bad"].errors
    assert "'default' is reserved" in errors[0]


# Calling hooks


def test_an_implementation_may_take_fewer_arguments_than_its_hook(fake_dists):
    fake_dists.add("flint-lazy", "flint_lazy", """
        from flint.plugins import hookimpl

        CALLS = []

        @hookimpl
        def flint_register_indicators():
            CALLS.append("indicators")

        @hookimpl
        def flint_register_commands():
            CALLS.append("commands")
    """)
    host = make_host(load=["flint_lazy"], strict=True)
    import click

    host.add_commands(click.Group())
    import flint_lazy

    assert flint_lazy.CALLS == ["indicators", "commands"]
    assert host.plugins["flint_lazy"].status == "loaded"


def test_trace_logs_every_hook_call(fake_dists, monkeypatch, caplog):
    fake_dists.add("flint-traced", "flint_traced", """
        from flint.plugins import hookimpl

        def last(history):
            '''The newest close.'''
            return history[-1].close

        @hookimpl
        def flint_register_indicators(register):
            register("last", last)
    """)
    monkeypatch.setenv("FLINT_TRACE_PLUGINS", "1")
    caplog.set_level(logging.DEBUG, logger="flint.plugins.trace")
    make_host(load=["flint_traced"])
    lines = [r.getMessage() for r in caplog.records if r.name == "flint.plugins.trace"]
    assert any(line.startswith("flint_register_indicators(register=") and
               line.endswith("-> plugin flint_traced") for line in lines), lines
    assert "flint_register_indicators of plugin flint_traced returned after" in " ".join(lines)
    calls = [line for line in lines if "-> plugin flint._builtins" in line]
    assert len(calls) == len(plugins.DEFAULT_PLUGINS)  # the built-ins' calls too
    caplog.clear()
    monkeypatch.delenv("FLINT_TRACE_PLUGINS")
    make_host(load=["flint_traced"])
    assert not [r for r in caplog.records if r.name == "flint.plugins.trace"]


TYPO = """
from flint.plugins import hookimpl

@hookimpl
def flint_register_fil_models(register):
    pass
"""


def test_a_misspelled_hook_is_reported_with_the_closest_real_name(fake_dists, process_plugins):
    fake_dists.add("flint-typo", "flint_typo", TYPO)
    hint = "flint_register_fil_models (did you mean flint_register_fill_models?)"
    errors = make_host(load=["flint_typo"]).plugins["flint_typo"].errors
    assert errors == [f"implements unknown hook(s): {hint}"]
    with pytest.raises(PluginError, match=re.escape(hint)):
        make_host(load=["flint_typo"], strict=True)
    from flint.cli.main import cli

    listing = CliRunner().invoke(cli, ["plugins"]).output
    assert "did you mean flint_register_fill_models?" in " ".join(listing.split())


def test_a_refused_call_keeps_nothing_and_reports_everything(fake_dists):
    fake_dists.add("flint-twice", "flint_twice", """
        from flint.plugins import hookimpl

        def one(history):
            '''One.'''

        @hookimpl
        def flint_register_indicators(register):
            register("one", one)
            register("one", one)
            register("sma", one)
    """)
    host = make_host(load=["flint_twice"])
    errors = host.plugins["flint_twice"].errors
    assert "indicator 'one' is registered twice by this call" in errors
    assert any("indicator 'sma' from plugin 'flint_twice'" in e and
               "already registered by plugin 'flint._builtins.indicators'" in e for e in errors)
    assert "one" not in host.registry("indicators")
    assert host.registry("indicators").get("sma") is indicators.sma


def test_plugin_authors_names_come_from_flint_plugins():
    from flint.plugins import (
        FillModel,
        FillQuote,
        Register,
        Strategy,
        VenueConfig,
        VenueTerms,
        hookimpl,
        series_indicator,
    )

    assert FillModel.__module__ == "flint.execution.fill_models"
    assert Strategy.__module__ == "flint.strategy.base"
    assert inspect.isclass(FillQuote) and inspect.isclass(VenueConfig)
    assert inspect.isclass(VenueTerms) and callable(series_indicator)
    assert Register.__module__ == "flint_core.registry" and hookimpl is hookspecs.hookimpl
