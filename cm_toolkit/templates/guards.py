"""The checks the sandbox runs on what a template calls, so that no call outgrows the limits.

``*`` and ``**`` were bounded from the start; these close the other ways to build a huge text
from a small template, each *before* the text is built where an argument sets its size:

- string methods with a size argument (``zfill``, ``ljust``, ``rjust``, ``center``,
  ``expandtabs``, ``replace``, ``join``, ``translate``; ``int.to_bytes``) -> ``check_method``;
- ``%`` formatting (``'%900000000s' % x``, ``|format``) -> ``percent_size``; ``str.format``
  field by field -> ``BoundedFormatter``;
- filters: every filter is wrapped when it is registered (``GuardedFilters``), the built-in
  ones and cm-toolkit's alike, including those ``map`` and ``select`` call by name. A filter
  with a size argument (``center``, ``indent``, ``wordwrap``, ``replace``, ``join``,
  ``format``, ``batch``, ``slice``, ``tojson``, ``sum``) has its result estimated first; a
  filter that turns its value into text has the value's text size estimated first
  (``limits.text_size``); every result counts against the render's budget, and a lazy result
  (``map``, ``select``...) ticks the clock at each item.

Each check reads the render's budget (``limits.current_budget``).
"""

from __future__ import annotations

import functools
import inspect
import re
import string
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from jinja2.filters import make_attrgetter
from jinja2.sandbox import SandboxedEscapeFormatter, SandboxedFormatter
from jinja2.utils import Namespace, _PassArg, generate_lorem_ipsum

from cm_toolkit.templates.limits import RenderBudget, current_budget, text_size

# Filters that read their value as a structure and never turn it into one text.
STRUCTURAL_FILTERS = frozenset({
    "abs", "attr", "batch", "bool", "count", "d", "default", "dictsort", "first", "float",
    "groupby", "int", "items", "join", "last", "length", "list", "map", "max", "min", "random",
    "reject", "rejectattr", "reverse", "round", "select", "selectattr", "slice", "sort", "sum",
    "unique", "filesizeformat",
})

CHANGED = "\0changed"  # set by a size check that replaced an argument (join reads it once)

_PERCENT = re.compile(
    r"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?[diouxXeEfFgGcrsab%]"
)


SIZED = (str, bytes, bytearray, list, tuple, dict, set, frozenset)
# Values whose text can be far larger than their memory (a list holding one list many times).
CONTAINERS = (list, tuple, dict, set, frozenset, Mapping, Namespace)


def sized(value: Any) -> int | None:
    """The size a result counts for: characters of a text, items of a list; None otherwise."""
    if isinstance(value, SIZED):
        return len(value)
    return None


def check_container(value: Any) -> None:
    """Refuse a list, tuple, dict or set whose text would be too long (its items counted as
    often as it holds them): every container a template builds is bounded this way, so that
    comparing, hashing or printing it takes bounded time."""
    if isinstance(value, (list, tuple, dict, set, frozenset)):
        budget = current_budget()
        budget.allow(text_size(value, budget.limits.characters))


def _text(budget: RenderBudget, value: Any) -> int:
    """Characters of ``str(value)``, refused before it is built when too many."""
    if isinstance(value, str):
        return len(value)
    size = text_size(value, budget.limits.characters)
    budget.allow(size)
    return size


def percent_size(budget: RenderBudget, template: str, values: Any) -> int:
    """An upper bound of ``template % values``: every width and precision counts in full."""
    arguments = values if isinstance(values, tuple) else (values,)
    size = len(template)
    stars = False
    for width, precision in _PERCENT.findall(template):
        for number in (width, precision):
            if number == "*":
                stars = True
            elif number:
                size += int(number)
    if stars:
        size += sum(abs(a) for a in arguments if isinstance(a, int) and not isinstance(a, bool))
    size += _text(budget, values)
    budget.allow(size)
    return size


def spec_size(budget: RenderBudget, value: Any, spec: str) -> None:
    """Refuse ``format(value, spec)`` when its widths and precisions make it too long."""
    size = _text(budget, value) + sum(int(n) for n in re.findall(r"\d+", spec))
    budget.allow(size)


class BoundedFormatter(SandboxedFormatter):
    """``str.format`` in the sandbox, each field checked before it is formatted."""

    def format_field(self, value: Any, format_spec: str) -> Any:
        budget = current_budget()
        budget.tick()
        spec_size(budget, value, format_spec)
        text = super().format_field(value, format_spec)
        budget.charge(len(text))
        return text


class BoundedEscapeFormatter(BoundedFormatter, SandboxedEscapeFormatter):
    """The same for a ``Markup`` text (``'...'|safe``)."""


# ---------------------------------------------------------------------------------------------
# methods


def _width(args: tuple[Any, ...], kwargs: Mapping[str, Any], name: str, default: int) -> int:
    value = args[0] if args else kwargs.get(name, default)
    return value if isinstance(value, int) else default


def _replace_size(text: Any, old: Any, new: Any, count: Any) -> int:
    if not all(isinstance(v, (str, bytes)) for v in (text, old, new)):
        return 0
    found = text.count(old) if old else len(text) + 1
    if isinstance(count, int) and 0 <= count < found:
        found = count
    return len(text) + found * max(len(new) - len(old), 0)


def _read_joined(budget: RenderBudget, items: Iterable[Any], separator: int,
                 size: Callable[[Any], int]) -> list[Any]:
    """The items to join, read one by one (a tick each), refused as soon as the joined text
    would be too long, before it is built."""
    read: list[Any] = []
    total = -separator
    for item in budget.guard(items):
        total += separator + (size(item) if isinstance(item, (str, bytes)) or size is not len
                              else 0)
        budget.allow(total)
        read.append(item)
    return read


def check_method(obj: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    """Refuse a method call on a text (or an int) whose result would be too big, before it is
    made; returns the arguments to call with (an iterable given to ``join`` is read once, here)."""
    owner = getattr(obj, "__self__", None)
    name = getattr(obj, "__name__", "")
    budget = current_budget()
    if isinstance(owner, (str, bytes, bytearray)):
        if name in ("center", "ljust", "rjust", "zfill"):
            budget.allow(max(len(owner), _width(args, kwargs, "width", 0)))
        elif name == "expandtabs":
            tabs = owner.count("\t") if isinstance(owner, str) else owner.count(b"\t")
            budget.allow(len(owner) + tabs * _width(args, kwargs, "tabsize", 8))
        elif name == "replace" and len(args) >= 2:
            budget.allow(_replace_size(owner, args[0], args[1],
                                       args[2] if len(args) > 2 else kwargs.get("count", -1)))
        elif name == "join" and args:
            return (_read_joined(budget, args[0], len(owner), len), *args[1:])
        elif name == "translate" and args and isinstance(args[0], Mapping):
            longest = max((len(v) for v in args[0].values() if isinstance(v, str)), default=1)
            budget.allow(len(owner) * max(longest, 1))
    elif isinstance(owner, int) and name == "to_bytes":
        budget.allow(_width(args, kwargs, "length", 1))
    return args


# ---------------------------------------------------------------------------------------------
# filters


def _join(arguments: dict[str, Any], budget: RenderBudget) -> None:
    items: Iterable[Any] = arguments["value"]
    attribute = arguments.get("attribute")
    if attribute is not None:
        getter = make_attrgetter(arguments["eval_ctx"].environment, attribute)
        items = (getter(item) for item in budget.guard(items))
        arguments["attribute"] = None
    separator = len(str(arguments.get("d", "")))
    arguments["value"] = _read_joined(budget, items, separator, lambda item: _text(budget, item))
    arguments[CHANGED] = True


def _indent(arguments: dict[str, Any], budget: RenderBudget) -> None:
    text = arguments["s"]
    width = arguments.get("width", 4)
    each = len(width) if isinstance(width, str) else width if isinstance(width, int) else 0
    budget.allow(_text(budget, text) + (str(text).count("\n") + 1) * each)


def _wordwrap(arguments: dict[str, Any], budget: RenderBudget) -> None:
    text = str(arguments["s"])
    width = arguments.get("width", 79)
    wrap = arguments.get("wrapstring") or "\n"
    lines = 2 * len(text) // max(width if isinstance(width, int) else 1, 1) + text.count("\n")
    budget.allow(len(text) + (lines + 1) * len(str(wrap)))


def _sum(arguments: dict[str, Any], budget: RenderBudget) -> Any:
    start = arguments.get("start", 0)
    if isinstance(start, (int, float)):
        return None
    # Adding lists or texts one by one copies the total each time: done here, a tick an item.
    items = budget.guard(arguments["iterable"])
    attribute = arguments.get("attribute")
    if attribute is not None:
        getter = make_attrgetter(arguments["environment"], attribute)
        items = (getter(item) for item in items)
    total = start
    for item in items:
        budget.allow((sized(total) or 0) + (sized(item) or 0))
        total = total + item
    return total


def _sized_argument(name: str, default: int = 0) -> Callable[[dict[str, Any], RenderBudget], None]:
    def check(arguments: dict[str, Any], budget: RenderBudget) -> None:
        value = arguments.get(name, default)
        if isinstance(value, int):
            budget.allow(value)
    return check


def _tojson(arguments: dict[str, Any], budget: RenderBudget) -> None:
    indent = arguments.get("indent") or 0
    budget.allow(_text(budget, arguments["value"]) * (2 + (indent if isinstance(indent, int)
                                                           else len(str(indent)))))


def _center(arguments: dict[str, Any], budget: RenderBudget) -> None:
    budget.allow(max(_text(budget, arguments["value"]), arguments.get("width", 80)))


def _replace(arguments: dict[str, Any], budget: RenderBudget) -> None:
    budget.allow(_replace_size(str(arguments["s"]), arguments["old"], arguments["new"],
                               arguments.get("count")))


def _format(arguments: dict[str, Any], budget: RenderBudget) -> None:
    values = arguments.get("kwargs") or tuple(arguments.get("args", ()))
    percent_size(budget, str(arguments["value"]), values)


def _batch(arguments: dict[str, Any], budget: RenderBudget) -> None:
    if arguments.get("fill_with") is not None:
        budget.allow(arguments["linecount"])


SIZE_CHECKS: dict[str, Callable[[dict[str, Any], RenderBudget], Any]] = {
    "center": _center, "indent": _indent, "wordwrap": _wordwrap, "replace": _replace,
    "join": _join, "format": _format, "batch": _batch, "slice": _sized_argument("slices"),
    "tojson": _tojson, "sum": _sum,
}


def _binder(func: Callable[..., Any]) -> Callable[[tuple[Any, ...], dict[str, Any]], dict[str, Any]]:
    """A quick ``inspect.Signature.bind`` (it costs 10 us a call; a post calls filters often):
    argument name -> value, defaults included; ``*args`` as ``args``, ``**kwargs`` as ``kwargs``."""
    parameters = inspect.signature(func).parameters.values()
    named = [p.name for p in parameters
             if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    defaults = {p.name: p.default for p in parameters
                if p.default is not p.empty and p.name in named}
    rest = next((p.name for p in parameters if p.kind is p.VAR_POSITIONAL), None)
    extra = next((p.name for p in parameters if p.kind is p.VAR_KEYWORD), None)

    def bind(args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        arguments = dict(defaults)
        arguments.update(zip(named, args))
        if rest is not None:
            arguments[rest] = args[len(named):]
        if extra is not None:
            arguments[extra] = {k: v for k, v in kwargs.items() if k not in named}
            arguments.update((k, v) for k, v in kwargs.items() if k in named)
        else:
            arguments.update(kwargs)
        return arguments

    return bind


def guard_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    """``func`` checked against the render's budget (see the module docstring)."""
    if getattr(func, "cm_guarded", False):
        return func
    if getattr(func, "jinja_async_variant", False):  # never async here: its sync function
        func = func.__wrapped__  # type: ignore[attr-defined]
    check = SIZE_CHECKS.get(name)
    bind = _binder(func) if check is not None else None
    value_at = 0 if _PassArg.from_obj(func) is None else 1
    stringifies = name not in STRUCTURAL_FILTERS

    @functools.wraps(func)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        budget = current_budget()
        budget.tick()
        if bind is not None and check is not None:
            arguments = bind(args, kwargs)
            done = check(arguments, budget)
            if done is not None:
                return done
            if arguments.pop(CHANGED, False):  # the check read an iterable: pass its list
                args, kwargs = (), arguments
        elif stringifies and len(args) > value_at and isinstance(args[value_at], CONTAINERS):
            _text(budget, args[value_at])
        result = func(*args, **kwargs)
        if type(result) is str:
            budget.charge(len(result))
            return result
        size = sized(result)
        if size is not None:
            budget.charge(size)
            check_container(result)
        elif isinstance(result, Iterator):
            return budget.guard(result)
        return result

    guarded.cm_guarded = True  # type: ignore[attr-defined]
    return guarded


class GuardedFilters(dict[str, Callable[..., Any]]):
    """The environment's filters: each one guarded when it is registered."""

    def __init__(self, filters: Mapping[str, Callable[..., Any]]) -> None:
        super().__init__()
        self.update(filters)

    def __setitem__(self, name: str, func: Callable[..., Any]) -> None:
        super().__setitem__(name, guard_filter(name, func))

    def update(self, *args: Any, **kwargs: Any) -> None:
        for name, func in dict(*args, **kwargs).items():
            self[name] = func


def bounded_lipsum(n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> str:
    """Jinja's ``lipsum``, refused when asked for more text than a render may build."""
    budget = current_budget()
    budget.allow(n * max * 12)
    text = generate_lorem_ipsum(n, html, min, max)
    budget.charge(len(text))
    return str(text)


FORMATTERS: dict[bool, type[string.Formatter]] = {
    False: BoundedFormatter, True: BoundedEscapeFormatter
}
