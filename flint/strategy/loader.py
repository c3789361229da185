"""Load strategies from source code, refusing anything outside the strategy policy.

* :func:`validate_strategy_code` reads the source (never runs it) and returns
  ``(True, None)`` or ``(False, message)``, one ``line N: ...`` per problem.
* :func:`load_user_strategy` validates, then runs the code in a fresh module
  whose builtins are the curated :func:`~flint.strategy.policy.safe_builtins` and
  whose imports yield curated module stand-ins, and instantiates its strategy.

Layers, in order: the source is checked (imports, dunders, denied names and
attributes, ``str.format`` fields, non-ASCII identifiers, the strategy class);
then, at run time, reading a ``_private`` attribute is allowed only where the
strategy's own classes or instances hold it, the few public names that reach
bars outside ``history`` (``root``, ``window``, ``base``, ...) only on its own
objects and on modules, and setting or deleting any attribute only on its own
objects. These checks are the first, friendly layer; code from the command
line, the HTTP API or MCP runs in a child process the operating system confines
(:mod:`flint.strategy.sandbox`), which holds even if they are breached.
"""

import ast
import inspect
import io
import secrets
import tokenize
import traceback
import types
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from string import Formatter
from typing import Any

from flint.strategy import policy
from flint.strategy.base import Strategy

REQUIRED_MEMBERS = ("name", "on_candle", "reset")


class StrategyLoadError(Exception):
    """The code is not an acceptable strategy, or loading it failed."""


class StrategyParameterError(StrategyLoadError):
    """The strategy class refused the parameters it was given; ``error_type`` names the
    exception it raised."""

    error_type = "StrategyParameterError"


class SandboxError(PermissionError):
    """Strategy code tried something the sandbox forbids while running."""


@dataclass(frozen=True)
class Problem:
    """One reason the code is refused, at a line and column of the source."""

    line: int
    col: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


# Static checks


def _non_ascii_identifiers(code: str) -> Iterator[Problem]:
    if code.isascii():
        return  # nothing to tokenize for
    try:
        for tok in tokenize.generate_tokens(io.StringIO(code).readline):
            if tok.type == tokenize.NAME and not tok.string.isascii():
                normal = unicodedata.normalize("NFKC", tok.string)
                yield Problem(tok.start[0], tok.start[1],
                              f"non-ASCII identifier '{tok.string}' (Python reads it as "
                              f"'{normal}'); use ASCII names")
    except (tokenize.TokenError, SyntaxError):
        return  # ast.parse reports it


def _unsafe_format_fields(template: str) -> bool:
    """Whether a format string reads attributes/items or nests fields in a spec."""
    try:
        for _, field, spec, _ in Formatter().parse(template):
            if field is not None and ("." in field or "[" in field):
                return True
            if spec and ("{" in spec or "}" in spec):
                return True
    except ValueError:
        return True
    return False


class _Checker(ast.NodeVisitor):
    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.aliases: dict[str, str] = {}  # name bound by an import -> module
        self.strategy_bases: set[str] = set()  # names bound to strategy classes by imports
        self.class_depth = 0

    def report(self, node: ast.AST, message: str) -> None:
        self.problems.append(
            Problem(getattr(node, "lineno", 1), getattr(node, "col_offset", 0), message)
        )

    # Imports

    def bind_imports(self, tree: ast.Module) -> None:
        """First pass: which names stand for modules (``np`` for numpy, ...)."""
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if not policy.is_allowed_module(alias.name):
                        continue  # refused; never looked at (let alone imported)
                    if alias.asname:
                        self.aliases[alias.asname] = alias.name
                    else:
                        root = alias.name.partition(".")[0]
                        self.aliases[root] = root
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    bound = alias.asname or alias.name
                    if policy.is_allowed_module(full):
                        self.aliases[bound] = full
                    elif node.module in ("flint.strategy", "flint.strategy.base"):
                        self.strategy_bases.add(bound)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if not policy.is_allowed_module(alias.name):
                self.report(node, f"import of '{alias.name}' is not allowed "
                                  f"(allowed: {', '.join(policy.ALLOWED_ROOTS)})")
            self.check_binding(node, alias.asname)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            self.report(node, "relative imports are not allowed")
            return
        module = node.module or ""
        if not policy.is_allowed_module(module):
            self.report(node, f"import from '{module}' is not allowed "
                              f"(allowed: {', '.join(policy.ALLOWED_ROOTS)})")
            return
        for alias in node.names:
            if alias.name == "*":
                self.report(node, f"'from {module} import *' is not allowed: name what you use")
            elif policy.is_dunder(alias.name) or alias.name.startswith("_"):
                self.report(node, f"importing private name '{alias.name}' is not allowed")
            elif not (alias.name in policy.exposed_names(module)
                      or policy.is_dynamic_strategy_name(module, alias.name)):
                self.report(node, policy.why_missing(module, alias.name))
            self.check_binding(node, alias.asname)

    def check_binding(self, node: ast.AST, name: str | None) -> None:
        if name and policy.is_dunder(name):
            self.report(node, f"dunder name '{name}' is not allowed")

    # Names and attributes

    def module_of(self, node: ast.expr) -> str | None:
        """The module an expression statically stands for (``np.linalg`` -> numpy.linalg)."""
        if isinstance(node, ast.Name):
            return self.aliases.get(node.id)
        if isinstance(node, ast.Attribute):
            base = self.module_of(node.value)
            if base and policy.is_allowed_module(f"{base}.{node.attr}"):
                return f"{base}.{node.attr}"
        return None

    def visit_Name(self, node: ast.Name) -> None:
        if policy.is_dunder(node.id):
            assignable = (isinstance(node.ctx, ast.Store) and self.class_depth
                          and node.id in policy.ASSIGNABLE_DUNDERS)
            if not assignable:
                self.report(node, f"dunder name '{node.id}' is not allowed")
        elif node.id in policy.FORBIDDEN_NAMES and isinstance(node.ctx, ast.Load):
            self.report(node, f"'{node.id}' is not available to strategies: it "
                              f"{policy.FORBIDDEN_NAMES[node.id]}")

    def visit_Attribute(self, node: ast.Attribute) -> None:
        attr = node.attr
        module = self.module_of(node.value)
        if policy.is_dunder(attr):
            via_super = (isinstance(node.value, ast.Call) and isinstance(node.value.func, ast.Name)
                         and node.value.func.id == "super" and attr in policy.DEFINABLE_DUNDERS)
            if not via_super:
                self.report(node, f"dunder attribute '.{attr}' is not allowed")
        elif attr.startswith("__"):
            self.report(node, f"name-mangled attribute '.{attr}' is not allowed "
                              "(use a single leading underscore)")
        elif module is not None:
            if not isinstance(node.ctx, ast.Load):
                self.report(node, f"cannot assign or delete module attribute '{module}.{attr}'")
            elif not (attr in policy.exposed_names(module)
                      or policy.is_dynamic_strategy_name(module, attr)):
                self.report(node, policy.why_missing(module, attr))
        elif attr in policy.DENIED_ATTRIBUTES:
            self.report(node, f"attribute '.{attr}' is not allowed: it "
                              f"{policy.DENIED_ATTRIBUTES[attr]}")
        elif attr == "format":
            literal = isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
            if not literal or _unsafe_format_fields(node.value.value):
                self.report(node, "str.format is only allowed on a string literal whose fields "
                                  "read no attributes or items (use an f-string)")
        self.generic_visit(node)

    def visit_keyword(self, node: ast.keyword) -> None:
        if node.arg and policy.is_dunder(node.arg):
            self.report(node, f"dunder keyword argument '{node.arg}' is not allowed")
        self.generic_visit(node)

    def visit_arg(self, node: ast.arg) -> None:
        self.check_binding(node, node.arg)
        self.generic_visit(node)

    def visit_Global(self, node: ast.Global) -> None:
        for name in node.names:
            self.check_binding(node, name)

    visit_Nonlocal = visit_Global

    # Definitions

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        if policy.is_dunder(node.name) and node.name not in policy.DEFINABLE_DUNDERS:
            self.report(node, f"defining '{node.name}' is not allowed (allowed dunder methods: "
                              f"{', '.join(sorted(policy.DEFINABLE_DUNDERS))})")
        saved, self.class_depth = self.class_depth, 0
        self.generic_visit(node)
        self.class_depth = saved

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.check_binding(node, node.name)
        if node.keywords:
            self.report(node, "class keywords (metaclass=...) are not allowed")
        self.class_depth += 1
        self.generic_visit(node)
        self.class_depth -= 1

    def refuse_async(self, node: ast.AST) -> None:
        self.report(node, "async code is not supported in strategies")
        self.generic_visit(node)

    visit_AsyncFunctionDef = visit_Await = visit_AsyncFor = visit_AsyncWith = refuse_async

    # Pattern matching reads attributes named in class patterns

    def visit_MatchClass(self, node: ast.MatchClass) -> None:
        if node.patterns:
            self.report(node, "positional class patterns are not allowed: they read the "
                              "attributes __match_args__ names; use keywords "
                              "(case Point(x=a, y=b))")
        for attr in node.kwd_attrs:
            if (attr.startswith("_") or attr in policy.DENIED_ATTRIBUTES
                    or attr in policy.GUARDED_ATTRIBUTES or attr == "format"):
                self.report(node, f"class pattern attribute '{attr}' is not allowed")
        self.generic_visit(node)

    def visit_MatchAs(self, node: ast.MatchAs) -> None:
        self.check_binding(node, node.name)
        self.generic_visit(node)

    def visit_MatchStar(self, node: ast.MatchStar) -> None:
        self.check_binding(node, node.name)

    def visit_MatchMapping(self, node: ast.MatchMapping) -> None:
        self.check_binding(node, node.rest)
        self.generic_visit(node)

    # The strategy class

    def check_strategy_class(self, tree: ast.Module) -> None:
        classes = {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}

        def chain(node: ast.ClassDef, seen: frozenset[str]) -> tuple[bool, set[str], bool]:
            """(is a strategy, members defined along the file's classes, reaches a built-in)."""
            members = {
                t.id for s in node.body if isinstance(s, (ast.Assign, ast.AnnAssign))
                for t in (s.targets if isinstance(s, ast.Assign) else [s.target])
                if isinstance(t, ast.Name)
            } | {s.name for s in node.body if isinstance(s, ast.FunctionDef)}
            strategy = builtin = False
            for base in node.bases:
                name = base.id if isinstance(base, ast.Name) else (
                    base.attr if isinstance(base, ast.Attribute)
                    and self.module_of(base.value) in ("flint.strategy", "flint.strategy.base")
                    else None)
                if name is None:
                    continue
                if isinstance(base, ast.Attribute) or name in self.strategy_bases:
                    strategy = True
                    builtin = builtin or name != "Strategy"
                elif name in classes and name not in seen:
                    is_s, inherited, is_b = chain(classes[name], seen | {name})
                    if is_s:
                        strategy, builtin = True, builtin or is_b
                        members |= inherited
            return strategy, members, builtin

        found = False
        incomplete: list[tuple[ast.ClassDef, list[str]]] = []
        for node in classes.values():
            is_strategy, members, builtin = chain(node, frozenset({node.name}))
            if not is_strategy:
                continue
            missing = [m for m in REQUIRED_MEMBERS if m not in members]
            if builtin or not missing:
                found = True
            else:
                incomplete.append((node, missing))
        if found:
            return
        for node, missing in incomplete:
            self.report(node, f"class {node.name} does not define {', '.join(missing)}")
        if not incomplete:
            self.report(tree, "no strategy class: define `class MyStrategy(Strategy):` (from "
                              "flint.strategy import Strategy) with name, on_candle and reset")


def check_strategy_code(code: str) -> list[Problem]:
    """Every problem with ``code`` as a strategy, by line (empty when acceptable)."""
    try:
        tree = ast.parse(code)
    except SyntaxError as exc:
        return [Problem(exc.lineno or 1, (exc.offset or 1) - 1, f"syntax error: {exc.msg}")]
    problems = list(_non_ascii_identifiers(code))
    checker = _Checker()
    checker.bind_imports(tree)
    checker.visit(tree)
    checker.check_strategy_class(tree)
    problems += checker.problems
    return sorted(set(problems), key=lambda p: (p.line, p.col, p.message))


def validate_strategy_code(code: str) -> tuple[bool, str | None]:
    """``(True, None)`` when ``code`` is an acceptable strategy, else ``(False, message)``.

    Reads the source only; nothing is executed. The message has one
    ``line N: ...`` entry per problem.
    """
    problems = check_strategy_code(code)
    if problems:
        return False, "\n".join(str(p) for p in problems)
    return True, None


# Run-time guards


class _Guard(ast.NodeTransformer):
    """Route private and guarded reads and every attribute store/delete through guards."""

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        self.generic_visit(node)
        line = ast.Constant(node.lineno)
        if isinstance(node.ctx, ast.Load):
            private = node.attr.startswith("_") and not policy.is_dunder(node.attr)
            if private or node.attr in policy.GUARDED_ATTRIBUTES:
                call = ast.Call(ast.Name("__flint_read__", ast.Load()),
                                [node.value, ast.Constant(node.attr), line], [])
                return ast.copy_location(call, node)
            return node
        node.value = ast.copy_location(
            ast.Call(ast.Name("__flint_target__", ast.Load()), [node.value, line], []), node
        )
        return node


def _guards(module_name: str) -> dict[str, Callable[..., Any]]:
    def own(cls: type) -> bool:
        return vars(cls).get("__module__") == module_name

    def describe(obj: object) -> str:
        if isinstance(obj, types.ModuleType):
            return f"module {obj.__name__}"
        return f"class {obj.__name__}" if isinstance(obj, type) else f"a {type(obj).__name__}"

    def readable(obj: object, name: str) -> bool:
        if isinstance(obj, type):
            owner = next((k for k in obj.__mro__ if name in vars(k)), None)
            return owner is not None and own(owner)
        cls = type(obj)
        if not own(cls):
            return False
        owner = next((k for k in cls.__mro__ if name in vars(k)), None)
        if owner is not None and hasattr(type(vars(owner)[name]), "__set__"):
            return own(owner)  # a data descriptor wins over the instance dict
        instance = getattr(obj, "__dict__", None)
        if isinstance(instance, dict) and name in instance:
            return True
        return owner is None or own(owner)

    def read(obj: object, name: str, line: int) -> Any:
        reason = policy.GUARDED_ATTRIBUTES.get(name)
        if reason is not None:
            if not (isinstance(obj, policy.ModuleProxy) or readable(obj, name)):
                raise SandboxError(f"line {line}: '.{name}' of {describe(obj)} is not "
                                   f"accessible to strategies: it {reason}")
        elif not readable(obj, name):
            raise SandboxError(f"line {line}: private attribute '{name}' of {describe(obj)} "
                               "is not accessible to strategies")
        return getattr(obj, name)

    def target(obj: object, line: int) -> object:
        if not own(obj if isinstance(obj, type) else type(obj)):
            raise SandboxError(f"line {line}: strategies may only set or delete attributes of "
                               f"their own objects, not of {describe(obj)}")
        return obj

    return {"__flint_read__": read, "__flint_target__": target}


# Loading


def describe_failure(exc: BaseException, filename: str) -> str:
    """``"line N: Type: message"`` for an exception raised by strategy code in ``filename``."""
    if isinstance(exc, SandboxError):
        return str(exc)  # it names the line already
    tb = traceback.extract_tb(exc.__traceback__)
    lines = [frame.lineno for frame in tb if frame.filename == filename]
    where = f"line {lines[-1]}: " if lines else ""
    return f"{where}{type(exc).__name__}: {exc}"


def load_strategy_class(
    code: str, *, class_name: str | None = None, filename: str = "<strategy>"
) -> type[Strategy]:
    """Validate and run ``code`` in a sandboxed module; return its strategy class.

    With several concrete strategy classes, the one no other subclasses is taken,
    or the one named ``class_name``.
    """
    ok, error = validate_strategy_code(code)
    if not ok:
        raise StrategyLoadError(f"{filename} is not an acceptable strategy:\n{error}")
    tree = ast.fix_missing_locations(_Guard().visit(ast.parse(code)))
    module_name = f"flint_user_strategy_{secrets.token_hex(6)}"
    namespace: dict[str, Any] = {
        "__name__": module_name,
        "__builtins__": policy.safe_builtins(**_guards(module_name)),
    }
    try:
        exec(compile(tree, filename, "exec"), namespace)
    except (KeyboardInterrupt, MemoryError):
        raise
    except BaseException as exc:
        raise StrategyLoadError(f"{filename}: {describe_failure(exc, filename)}") from None
    found = [
        v for v in namespace.values()
        if isinstance(v, type) and issubclass(v, Strategy) and v.__module__ == module_name
        and not inspect.isabstract(v)
    ]
    if class_name is not None:
        found = [c for c in found if c.__name__ == class_name]
        if not found:
            raise StrategyLoadError(f"{filename} defines no strategy class named {class_name!r}")
    leaves = [c for c in found if not any(o is not c and issubclass(o, c) for o in found)]
    if len(leaves) != 1:
        names = ", ".join(c.__name__ for c in leaves) or "none"
        raise StrategyLoadError(
            f"{filename} must define exactly one concrete strategy class (found: {names})"
            + ("; pass class_name to choose" if leaves else "")
        )
    return leaves[0]


def load_user_strategy(
    code: str,
    params: dict[str, Any] | None = None,
    *,
    class_name: str | None = None,
    filename: str = "<strategy>",
) -> Strategy:
    """Validate, run in a sandboxed module and instantiate the strategy in ``code``.

    ``params`` are passed to the class as keyword arguments. Any failure raises
    :class:`StrategyLoadError` saying what went wrong and where.
    """
    return instantiate(load_strategy_class(code, class_name=class_name, filename=filename),
                       params, filename)


def instantiate(cls: type[Strategy], params: dict[str, Any] | None, filename: str) -> Strategy:
    """``cls(**params)``; :class:`StrategyParameterError` saying why when it fails."""
    try:
        return cls(**(params or {}))
    except (KeyboardInterrupt, MemoryError):
        raise
    except BaseException as exc:
        refused = StrategyParameterError(
            f"{filename}: cannot create {cls.__name__} with parameters {params or {}}: "
            f"{describe_failure(exc, filename)}"
        )
        refused.error_type = type(exc).__name__  # what the class raised
        raise refused from None
