"""A list and a dict that refuse changes, for answers a context hands out more than once.

The backtest context keeps its answers (open positions, pending orders, funding
history) until what they show changes, so several calls return the same object:
it must not be changed in place. These are a real ``list`` and ``dict`` for every
read (equality, iteration, ``isinstance``); every in-place change raises
``TypeError`` (copy first: ``list(x)``, ``dict(x)``).

Not compiled (mypyc's native classes cannot subclass ``list`` or ``dict``).
"""

from typing import Any, NoReturn, TypeVar

T = TypeVar("T")
K = TypeVar("K")
V = TypeVar("V")


def _refuse(self: object, *args: Any, **kwargs: Any) -> NoReturn:
    raise TypeError(
        f"this {type(self).__name__} is shared by later calls and cannot be changed; "
        f"copy it first (list(...) or dict(...))"
    )


class ReadOnlyList(list[T]):
    """A list whose contents cannot change."""

    __slots__ = ()
    __setitem__ = __delitem__ = __iadd__ = __imul__ = _refuse
    append = extend = insert = pop = remove = clear = sort = reverse = _refuse

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (list(self),))


class ReadOnlyDict(dict[K, V]):
    """A dict whose contents cannot change."""

    __slots__ = ()
    __setitem__ = __delitem__ = __ior__ = _refuse
    pop = popitem = clear = update = setdefault = _refuse

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (dict(self),))


#: The empty answers.
EMPTY_LIST: ReadOnlyList[Any] = ReadOnlyList()
EMPTY_DICT: ReadOnlyDict[Any, Any] = ReadOnlyDict()
