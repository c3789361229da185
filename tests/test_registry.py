import pytest

from flint_core.registry import DuplicateNameError, PluginError, Provenance, Registry


def fast():
    """A fast thing."""


def slow():
    """A slow thing."""


A = Provenance("alpha", "flint-alpha", "1.0")
B = Provenance("beta", "flint-beta", "2.0")


def test_duplicate_names_name_both_plugins_and_keep_the_first():
    registry = Registry("fill model")
    registry.add("fast", fast, A)
    with pytest.raises(DuplicateNameError) as err:
        registry.add("fast", slow, B)
    message = str(err.value)
    assert "plugin 'beta' (flint-beta 2.0)" in message
    assert "plugin 'alpha' (flint-alpha 1.0)" in message
    assert registry.get("fast") is fast


def test_override_replaces_and_remembers_what_it_replaced():
    registry = Registry("fill model")
    registry.add("fast", fast, A)
    entry = registry.add("fast", slow, B, override=True)
    assert registry.get("fast") is slow
    assert entry.overrides is not None and entry.overrides.provenance == A
    assert registry.entry("fast").description == "A slow thing."


def test_unknown_name_lists_what_is_registered():
    registry = Registry("venue config")
    registry.add("fast", fast, A)
    with pytest.raises(KeyError, match="unknown venue config 'nope'; registered: fast"):
        registry.get("nope")


def test_validator_and_empty_names_are_enforced():
    registry = Registry("indicator", lambda name, obj: None if callable(obj) else "not callable")
    with pytest.raises(PluginError, match="indicator 'x': not callable"):
        registry.add("x", 42, A)
    with pytest.raises(PluginError, match="non-empty string"):
        registry.add("  ", fast, A)
    assert len(registry) == 0


def test_listing_is_sorted_with_metadata():
    registry = Registry("strategy")
    registry.add("b", slow, A, meta={"category": "trend"})
    registry.add("a", fast, A, description="custom")
    assert registry.names() == ["a", "b"] and list(registry) == ["a", "b"]
    assert "a" in registry and "z" not in registry
    assert registry.entry("a").description == "custom"
    assert registry.entry("b").meta == {"category": "trend"}
