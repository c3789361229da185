import pytest

from flint.plugins import DEFAULT_PLUGINS, make_host
from flint_core.registry import PluginError
from flint_core.venues import DEFAULT_VENUE

GOOD = """
from flint import hookimpl

def swap_fill(order, candle):
    '''Fill everything at the close.'''

@hookimpl
def flint_register_fill_models(register):
    register("close_swap", swap_fill)
"""


def test_builtins_are_registered_first_and_provide_the_default_venue():
    host = make_host(load=[])
    assert list(host.plugins)[: len(DEFAULT_PLUGINS)] == list(DEFAULT_PLUGINS)
    entry = host.registry("venue_configs").entry("default")
    assert entry.obj is DEFAULT_VENUE
    assert entry.provenance.plugin == "flint._builtins.venues"
    assert entry.provenance.dist == "flint-sdk"


def test_entry_point_plugin_is_loaded_with_its_distribution(fake_dists):
    fake_dists.add("flint-good", "flint_good", GOOD, entry_point="good", version="2.3")
    host = make_host(load=["good"], strict=True)
    info = host.plugins["good"]
    assert (info.dist, info.version, info.status) == ("flint-good", "2.3", "loaded")
    assert info.registered == {"fill_models": ["close_swap"]}
    assert host.registry("fill_models").entry("close_swap").description == (
        "Fill everything at the close."
    )


def test_plugin_that_raises_on_import_is_reported_not_fatal(fake_dists):
    fake_dists.add("flint-broken", "flint_broken", "raise RuntimeError('boom at import')")
    fake_dists.add("flint-good", "flint_good", GOOD, entry_point="good")
    host = make_host(load=["flint_broken", "good"])
    broken = host.plugins["flint_broken"]
    assert broken.status == "error"
    assert "failed to import flint_broken" in broken.errors[0]
    assert "RuntimeError: boom at import" in broken.errors[0]
    assert "close_swap" in host.registry("fill_models")  # the others still load


def test_strict_mode_makes_a_broken_plugin_fatal(fake_dists, monkeypatch):
    fake_dists.add("flint-broken", "flint_broken", "raise RuntimeError('boom')")
    monkeypatch.setenv("FLINT_STRICT_PLUGINS", "1")
    monkeypatch.setenv("FLINT_LOAD_PLUGINS", "flint_broken")
    with pytest.raises(PluginError, match="plugin 'flint_broken': failed to import"):
        make_host()


def test_garbage_registration_is_rejected_and_rolled_back(fake_dists):
    fake_dists.add("flint-garbage", "flint_garbage", """
        from flint import hookimpl

        def ok_indicator(history):
            '''Fine.'''

        @hookimpl
        def flint_register_indicators(register):
            register("fine", ok_indicator)
            register("bad", 42)

        @hookimpl
        def flint_register_venue_configs(register):
            register("my-venue", {"taker_fee_bps": 1})
    """)
    host = make_host(load=["flint_garbage"])
    errors = host.plugins["flint_garbage"].errors
    assert any("indicator 'bad': expected a class or callable, got int" in e for e in errors)
    assert any("venue config 'my-venue': expected a flint_core.venues.VenueConfig" in e
               for e in errors)
    assert "fine" not in host.registry("indicators")  # the whole call is rolled back
    assert host.plugins["flint_garbage"].status == "error"


def test_hook_that_raises_is_reported_with_its_location(fake_dists):
    fake_dists.add("flint-raiser", "flint_raiser", """
        from flint import hookimpl

        @hookimpl
        def flint_register_strategies(register):
            raise ValueError("no strategies today")
    """)
    host = make_host(load=["flint_raiser"])
    [error] = host.plugins["flint_raiser"].errors
    assert "flint_register_strategies raised ValueError: no strategies today" in error
    assert "flint_raiser.py" in error


def test_unknown_hook_and_empty_plugin_are_reported(fake_dists):
    fake_dists.add("flint-typo", "flint_typo", """
        from flint import hookimpl

        @hookimpl
        def flint_register_fil_models(register):
            pass
    """)
    fake_dists.add("flint-empty", "flint_empty", "VALUE = 1\n")
    host = make_host(load=["flint_typo", "flint_empty"])
    assert "unknown hook(s): flint_register_fil_models" in host.plugins["flint_typo"].errors[0]
    assert "implements no flint hooks" in host.plugins["flint_empty"].errors[0]


def test_duplicate_name_across_plugins_names_both(fake_dists):
    fake_dists.add("flint-one", "flint_one", GOOD, entry_point="one")
    fake_dists.add("flint-two", "flint_two", GOOD, entry_point="two")
    host = make_host(load=["one", "two"])
    [error] = host.plugins["two"].errors
    assert "fill model 'close_swap' from plugin 'two' (flint-two 1.0)" in error
    assert "already registered by plugin 'one' (flint-one 1.0)" in error
    assert host.registry("fill_models").entry("close_swap").provenance.plugin == "one"


def test_plugin_can_override_a_builtin_default(fake_dists):
    fake_dists.add("flint-venue", "flint_venue", """
        from flint import hookimpl
        from flint_core.venues import DEFAULT_VENUE

        @hookimpl
        def flint_register_venue_configs(register):
            register("default", DEFAULT_VENUE.merged({"taker_fee_bps": 7}), override=True)
    """)
    host = make_host(load=["flint_venue"], strict=True)
    assert host.registry("venue_configs").get("default").taker_fee_bps == 7


def test_load_and_disable_environment_variables(fake_dists, monkeypatch):
    fake_dists.add("flint-one", "flint_one", GOOD, entry_point="one")
    monkeypatch.setenv("FLINT_LOAD_PLUGINS", "")
    assert make_host().plugins["one"].status == "disabled"
    monkeypatch.setenv("FLINT_LOAD_PLUGINS", "flint-one")  # by distribution name
    assert make_host().plugins["one"].status == "loaded"
    monkeypatch.setenv("FLINT_DISABLE_PLUGINS", "one")
    host = make_host()
    assert host.plugins["one"].status == "disabled"
    assert "close_swap" not in host.registry("fill_models")
    monkeypatch.setenv("FLINT_DISABLE_PLUGINS", "flint._builtins.venues")
    assert "default" not in make_host().registry("venue_configs")


def test_strategy_registrations_must_be_complete_strategy_classes(fake_dists):
    fake_dists.add("flint-strats", "flint_strats", """
        from flint import hookimpl
        from flint.strategy.base import Strategy

        class Incomplete(Strategy):
            '''Forgot on_candle.'''
            name = "incomplete"
            def reset(self): pass

        class BadParams(Strategy):
            '''Bad schema.'''
            name = "bad"
            def on_candle(self, candle, history, ctx=None): ...
            def reset(self): pass
            @classmethod
            def parameters(cls):
                return {"n": {"type": "int", "low": 10, "high": 1}}

        @hookimpl
        def flint_register_strategies(register):
            register("incomplete", Incomplete)

        @hookimpl(specname="flint_register_strategies")
        def more(register):
            register("bad", BadParams)

        @hookimpl(specname="flint_register_strategies")
        def not_a_class(register):
            register("text", "buy low sell high")
    """)
    errors = " | ".join(make_host(load=["flint_strats"]).plugins["flint_strats"].errors)
    assert "Incomplete does not implement on_candle" in errors
    assert "invalid parameters(): n: low 10 is above high 1" in errors
    assert "expected a subclass of flint.strategy.base.Strategy" in errors


def test_unknown_venue_says_which_plugin_provides_it():
    from flint.plugins import get_venue_config

    assert get_venue_config("default").taker_fee_bps == 5.0
    with pytest.raises(KeyError, match="unknown venue config 'nowhere'"):
        get_venue_config("nowhere")


def test_an_unknown_venue_names_its_plugin_only_when_one_provides_it():
    from flint.plugins import PluginNotFound, get_venue_config, registry

    for name, plugin in [("okx", "flint-binance"), ("drift", "flint-drift"),
                         ("hyperliquid", "flint-hyperliquid")]:
        if name in registry("venue_configs"):
            continue  # installed here: nothing to hint
        with pytest.raises(PluginNotFound, match=f"install {plugin} to get it"):
            get_venue_config(name)
    with pytest.raises(PluginNotFound) as refused:
        get_venue_config("mydex")
    assert "install" not in str(refused.value) and "venues=" in str(refused.value)
    assert "registered: " in str(refused.value)
