"""The plugin host: finds plugins, isolates their failures and fills the registries.

Built-in plugins are registered first, then the entry points of group ``flint``,
so a third-party plugin can replace a default with ``override=True``.

Environment:

``FLINT_LOAD_PLUGINS``
    comma-separated entry-point or distribution names to load (``""`` loads none);
    unset loads every installed plugin.
``FLINT_DISABLE_PLUGINS``
    comma-separated plugin or distribution names never to load (built-ins included).
``FLINT_STRICT_PLUGINS``
    ``1`` turns any plugin error into an exception instead of a report.
``FLINT_TRACE_PLUGINS``
    ``1`` logs every hook call (plugin, arguments, outcome, duration) to stderr,
    through the logger ``flint.plugins.trace``.

Hooks are called through pluggy, one plugin at a time (so one plugin's failure
never stops another's), which passes each implementation only the arguments it
names: an implementation may accept fewer arguments than its hook declares.
"""

import difflib
import importlib
import logging
import os
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from importlib import metadata
from types import ModuleType
from typing import Any

import attrs
import pluggy

from flint_core import hookspecs
from flint_core.registry import PluginError, Provenance, Register, Registration, Registry
from flint_core.venues import VenueConfig

log = logging.getLogger("flint.plugins")
trace_log = logging.getLogger("flint.plugins.trace")

ENTRY_POINT_GROUP = "flint"

Validator = Callable[[str, object], str | None]


def _callable(name: str, obj: object) -> str | None:
    return None if callable(obj) else f"expected a class or callable, got {type(obj).__name__}"


def _venue_config(name: str, obj: object) -> str | None:
    if not isinstance(obj, VenueConfig):
        return f"expected a flint_core.venues.VenueConfig, got {type(obj).__name__}"
    if obj.name != name:
        return f"registered as '{name}' but the config is named '{obj.name}'"
    return None


#: registry kind -> (registration hook, label in messages, validator). The SDK
#: passes a stricter strategy validator (it knows the Strategy base class).
REGISTRY_HOOKS: dict[str, tuple[str, str, Validator]] = {
    "data_providers": ("flint_register_data_providers", "data provider", _callable),
    "fill_models": ("flint_register_fill_models", "fill model", _callable),
    "execution_contexts": ("flint_register_execution_contexts", "execution context", _callable),
    "venue_configs": ("flint_register_venue_configs", "venue config", _venue_config),
    "indicators": ("flint_register_indicators", "indicator", _callable),
    "strategies": ("flint_register_strategies", "strategy", _callable),
}


def _env_names(var: str) -> set[str] | None:
    raw = os.environ.get(var)
    if raw is None:
        return None
    return {part.strip() for part in raw.split(",") if part.strip()}


def _env_flag(var: str) -> bool:
    return os.environ.get(var, "").strip().lower() in {"1", "true", "yes", "on"}


@attrs.define
class PluginInfo:
    """What ``flint plugins`` reports about one plugin."""

    name: str
    dist: str | None = None
    version: str | None = None
    module: str = ""
    builtin: bool = False
    disabled: bool = False
    registered: dict[str, list[str]] = attrs.field(factory=dict)
    errors: list[str] = attrs.field(factory=list)

    @property
    def status(self) -> str:
        """``disabled``, ``error`` (it reported errors) or ``loaded``."""
        if self.disabled:
            return "disabled"
        return "error" if self.errors else "loaded"

    @property
    def provenance(self) -> Provenance:
        """Provenance stamped on everything this plugin registers."""
        return Provenance(self.name, self.dist, self.version)


class PluginHost:
    """Loads plugins into a pluggy manager and collects what they register.

    :param builtins: module names of built-in plugins, registered first.
    :param entry_points: also load the installed ``flint`` entry points.
    :param validators: extra or stricter validators per registry kind.
    :param load, disable, strict, trace: override ``FLINT_LOAD_PLUGINS``,
        ``FLINT_DISABLE_PLUGINS``, ``FLINT_STRICT_PLUGINS`` and ``FLINT_TRACE_PLUGINS``.
    """

    def __init__(
        self,
        builtins: Sequence[str] = (),
        *,
        entry_points: bool = True,
        validators: Mapping[str, Validator] | None = None,
        load: Iterable[str] | None = None,
        disable: Iterable[str] | None = None,
        strict: bool | None = None,
        trace: bool | None = None,
    ) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        if _env_flag("FLINT_TRACE_PLUGINS") if trace is None else trace:
            _trace_calls(self.pm)
        self.plugins: dict[str, PluginInfo] = {}
        self.strict = _env_flag("FLINT_STRICT_PLUGINS") if strict is None else strict
        self._load = _env_names("FLINT_LOAD_PLUGINS") if load is None else set(load)
        self._disable = (_env_names("FLINT_DISABLE_PLUGINS") or set()) if disable is None else set(
            disable
        )
        checks = dict(validators or {})
        self.registries: dict[str, Registry[Any]] = {
            kind: Registry(label, checks.get(kind, validate))
            for kind, (_, label, validate) in REGISTRY_HOOKS.items()
        }
        for module_name in builtins:
            self._add_builtin(module_name)
        if entry_points:
            self._add_entry_points()
        for kind in REGISTRY_HOOKS:
            self._collect(kind)

    # Loading

    def _fail(self, info: PluginInfo, message: str) -> None:
        info.errors.append(message)
        log.warning("flint plugin %s: %s", info.name, message)
        if self.strict:
            raise PluginError(f"plugin '{info.name}': {message}")

    def _is_disabled(self, *names: str | None) -> bool:
        return any(n in self._disable for n in names if n)

    def _add_builtin(self, module_name: str) -> None:
        info = PluginInfo(name=module_name, module=module_name, builtin=True,
                          dist="flint-sdk", version=metadata_version("flint-sdk"))
        self.plugins[info.name] = info
        if self._is_disabled(module_name):
            info.disabled = True
            return
        self._register(info, lambda: importlib.import_module(module_name))

    def _add_entry_points(self) -> None:
        seen: dict[str, str] = {}
        for ep in sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            dist = ep.dist.metadata["Name"] if ep.dist is not None else None
            version = ep.dist.version if ep.dist is not None else None
            info = PluginInfo(name=ep.name, dist=dist, version=version, module=ep.value)
            if ep.name in self.plugins or ep.name in seen:
                other = self.plugins[ep.name].dist if ep.name in self.plugins else seen[ep.name]
                info.name = f"{ep.name} ({dist})"
                self.plugins[info.name] = info
                self._fail(info, f"entry point name '{ep.name}' is already used by {other}")
                continue
            seen[ep.name] = dist or "?"
            self.plugins[info.name] = info
            if self._load is not None and ep.name not in self._load and dist not in self._load:
                info.disabled = True
                continue
            if self._is_disabled(ep.name, dist):
                info.disabled = True
                continue
            self._register(info, ep.load)

    def _register(self, info: PluginInfo, loader: Callable[[], object]) -> None:
        try:
            plugin = loader()
        except Exception as exc:  # a broken plugin must not take the host down
            self._fail(info, f"failed to import {info.module}: {_short(exc)}")
            return
        if isinstance(plugin, ModuleType):
            info.module = plugin.__name__
        try:
            self.pm.register(plugin, name=info.name)
        except Exception as exc:
            self._fail(info, f"rejected by the plugin manager: {_short(exc)}")
            return
        callers = self.pm.get_hookcallers(plugin) or []
        unknown = sorted(c.name for c in callers if not c.has_spec())
        if unknown or not callers:
            self.pm.unregister(plugin)
            if unknown:
                self._fail(info, f"implements unknown hook(s): {', '.join(map(_guess, unknown))}")
            else:
                self._fail(info, "implements no flint hooks")

    # Calling hooks

    def _callers(self, hook_name: str) -> Iterator[tuple[PluginInfo, pluggy.HookCaller]]:
        """Each plugin implementing ``hook_name`` (in load order) with a caller of its
        implementations alone."""
        plugins = self.pm.get_plugins()
        impls = getattr(self.pm.hook, hook_name).get_hookimpls()
        implementing = {impl.plugin_name for impl in impls}
        for name, info in self.plugins.items():
            if name in implementing:
                own = self.pm.get_plugin(name)
                others = [p for p in plugins if p is not own]
                yield info, self.pm.subset_hook_caller(hook_name, remove_plugins=others)

    def _collect(self, kind: str) -> None:
        hook_name = REGISTRY_HOOKS[kind][0]
        registry = self.registries[kind]
        for info, call in self._callers(hook_name):
            staged: list[tuple[str, Any, bool, str | None, dict[str, Any]]] = []
            refused: list[str] = []
            try:
                call(register=_stager(registry, staged, refused))
            except Exception as exc:
                refused.append(f"{hook_name} raised {_short(exc)}")
            names = [name for name, *_ in staged]
            for name, _, override, _, _ in staged:
                if names.count(name) > 1:
                    refused.append(f"{registry.kind} '{name}' is registered twice by this call")
                elif name in registry and not override:
                    refused.append(str(registry.duplicate(name, info.provenance)))
            for message in dict.fromkeys(refused):
                self._fail(info, message)
            if refused:
                continue  # nothing of a call with a refusal is kept
            for name, obj, override, description, meta in staged:
                registry.add(name, obj, info.provenance, override=override,
                             description=description, meta=meta)
                info.registered.setdefault(kind, []).append(name)

    def add_commands(self, cli: Any) -> None:
        """Let plugins add subcommands to ``cli`` (a click group); refuse replacements."""
        for info, call in self._callers("flint_register_commands"):
            before = dict(cli.commands)
            try:
                call(cli=cli)
            except Exception as exc:
                self._fail(info, f"flint_register_commands raised {_short(exc)}")
            for name, command in before.items():
                if cli.commands.get(name) is not command:
                    cli.commands[name] = command
                    self._fail(info, f"tried to replace the existing command '{name}'")
            added = sorted(set(cli.commands) - set(before))
            if added:
                info.registered.setdefault("commands", []).extend(added)

    # Queries

    def registry(self, kind: str) -> Registry[Any]:
        """The registry of ``kind`` (one of ``REGISTRY_HOOKS``)."""
        return self.registries[kind]

    def registered_by(self, plugin: str) -> list[Registration[Any]]:
        """Everything plugin ``plugin`` registered (and kept)."""
        return [
            e for r in self.registries.values() for e in r.entries()
            if e.provenance.plugin == plugin
        ]

    @property
    def errors(self) -> dict[str, list[str]]:
        """Plugin name -> its error messages, for plugins that had any."""
        return {name: info.errors for name, info in self.plugins.items() if info.errors}


def _stager(
    registry: Registry[Any],
    staged: list[tuple[str, Any, bool, str | None, dict[str, Any]]],
    refused: list[str],
) -> Register:
    """A ``register`` callback that checks each object and stages it for commit,
    or notes why it is refused (every refusal of a call is reported)."""

    def register(
        name: str,
        obj: Any,
        *,
        override: bool = False,
        description: str | None = None,
        **meta: Any,
    ) -> None:
        try:
            registry.check(name, obj)
        except PluginError as exc:
            refused.append(str(exc))
            return
        staged.append((name, obj, override, description, meta))

    return register


def _guess(hook_name: str) -> str:
    """``hook_name``, with the closest real hook name when there is one."""
    real = [name for name in dir(hookspecs) if name.startswith("flint_")]
    close = difflib.get_close_matches(hook_name, real, n=1)
    return f"{hook_name} (did you mean {close[0]}?)" if close else hook_name


def _trace_calls(pm: pluggy.PluginManager) -> None:
    """Log every hook call of ``pm`` to ``flint.plugins.trace`` (stderr unless configured)."""
    if not trace_log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("flint trace: %(message)s"))
        trace_log.addHandler(handler)
    trace_log.setLevel(logging.DEBUG)
    started: list[float] = []

    def before(
        hook_name: str, impls: Sequence[pluggy.HookImpl], kwargs: Mapping[str, Any]
    ) -> None:
        plugins = ", ".join(impl.plugin_name for impl in impls)
        args = ", ".join(f"{key}={value!r}" for key, value in kwargs.items())
        trace_log.debug("%s(%s) -> plugin %s", hook_name, args, plugins)
        started.append(time.perf_counter())

    def after(
        outcome: pluggy.Result[Any],
        hook_name: str,
        impls: Sequence[pluggy.HookImpl],
        kwargs: Mapping[str, Any],
    ) -> None:
        ms = (time.perf_counter() - started.pop()) * 1e3
        plugins = ", ".join(impl.plugin_name for impl in impls)
        failure = outcome.exception
        result = f"raised {failure!r}" if failure is not None else "returned"
        trace_log.debug("%s of plugin %s %s after %.2f ms", hook_name, plugins, result, ms)

    pm.add_hookcall_monitoring(before, after)


def metadata_version(dist: str) -> str | None:
    """Installed version of distribution ``dist``, or ``None``."""
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _short(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" (at {frames[-1].filename}:{frames[-1].lineno})" if frames else ""
    return f"{type(exc).__name__}: {exc}{where}"
