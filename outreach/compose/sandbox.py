"""The template sandbox: Jinja's immutable sandbox, with limits on what one render may cost.

A template comes from anywhere (a friend's, a forum's) and its cells from strangers, so no
render may take the machine's memory or time. Every render of a part (a header, the body) has a
:class:`Budget`: each loop iteration, call (macro, method, filter), operator and item a filter
walks through is a step, and every step reads the clock, so the deadline holds to within the
cost of one step. What makes that cost small is checked *before* the work is done: sizes of
strings and of values written out (:func:`weight`, which counts a shared part once for each
reference to it, as ``str`` does), widths, and the input of the filters that work through text
in Python. Ordinary templates use a tiny fraction of each limit.
"""

from __future__ import annotations

import functools
import json
import re
import time
from collections.abc import Callable, ItemsView, Iterator, KeysView, ValuesView
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import Namespace
from jinja2.visitor import NodeTransformer

from outreach.compose.limits import MAX_RENDERED_CHARS

MAX_WIDTH = 10_000              # center/indent/wordwrap/zfill/format widths, batch and slice counts
MAX_STEPS = 50_000              # loop iterations, calls, operators and items walked, per render
MAX_SECONDS = 5.0               # wall time per render, read at every step
MAX_INT_BITS = 100_000          # (10**64)**64**64 would take minutes and gigabytes
# The input of the filters that work through text in Python (regular expressions with a callback,
# textwrap, markupsafe's striptags, which is quadratic), and the items a filter goes through one by
# one in Python (a step each, and sorting and grouping after the last): at these sizes the
# slowest call takes about 0.2 s.
MAX_TEXT_CHARS = 50_000
MAX_FILTER_ITEMS = 10_000
TEXT_FILTERS = frozenset(["pprint", "striptags", "title", "tojson", "urlencode", "urlize", "wordwrap"])
WALKING_FILTERS = frozenset(["batch", "groupby", "join", "map", "max", "min", "reject", "rejectattr", "select",
                             "selectattr", "slice", "sort", "sum", "unique"])
MAPPING_FILTERS = frozenset(["dictsort", "items", "xmlattr"])  # the same, over a dict
WIDTH_METHODS = frozenset(["center", "ljust", "rjust", "zfill", "expandtabs"])
FORMAT_WIDTH = re.compile(r"\d+|\*|\{")  # widths, and "*" or nested fields that take one from data
PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?([-+ #0]*[\d*]*(?:\.[\d*]+)?)[a-zA-Z]")
BRACE_SPEC = re.compile(r"\{[^{}]*?:([^{}]*(?:\{[^{}]*\}[^{}]*)*)\}")
_SEQUENCES = (list, tuple, set, frozenset, KeysView, ValuesView, ItemsView)  # what str() writes item by item


class LimitError(Exception):
    """A template went past a resource limit; the message says which."""


class Budget:
    """Steps and a deadline for one render."""

    def __init__(self) -> None:
        self.steps = 0
        self.deadline = time.monotonic() + MAX_SECONDS

    def step(self, count: int = 1) -> None:
        self.steps += count
        if self.steps > MAX_STEPS:
            raise LimitError(f"more than {MAX_STEPS:,} steps (loop iterations, calls and items walked by filters: "
                             "nested loops or recursion?)")
        if time.monotonic() > self.deadline:
            raise LimitError(f"rendering took over {MAX_SECONDS:g} s")


def check_width(width: object, what: str) -> None:
    """``what`` names it: ``center width``, ``batch line count``."""
    if isinstance(width, int) and width > MAX_WIDTH:
        raise LimitError(f"{what} {width:,} is over {MAX_WIDTH:,}")


def check_size(size: int) -> None:
    if size > MAX_RENDERED_CHARS:
        raise LimitError(f"a value would be over {MAX_RENDERED_CHARS:,} characters")


def weight(value: object, limit: int = MAX_RENDERED_CHARS) -> int:
    """About how many characters ``value`` takes written out (``str``, ``tojson``, a ``%s``):
    each reference to a shared part counts again, as it would be written again, so
    ``[[s] * 1000] * 1000`` weighs a million times ``s``. Counting stops once past ``limit``."""
    total, pending = 0, [value]
    while pending and total <= limit:
        item = pending.pop()
        if isinstance(item, (str, bytes)):
            total += len(item) + 2
        elif isinstance(item, int):
            total += item.bit_length() // 3 + 1
        elif isinstance(item, dict):
            total += 2 + 4 * len(item)
            if total <= limit:
                pending += [*item.keys(), *item.values()]
        elif isinstance(item, _SEQUENCES):
            total += 2 + 2 * len(item)
            if total <= limit:
                pending.extend(item)
        elif isinstance(item, Namespace):
            pending.append(item._Namespace__attrs)  # what its repr writes
        else:
            total += 24
    return total


def written_size(value: object, limit: int = MAX_RENDERED_CHARS) -> int:
    """A string's length; the :func:`weight` of anything else."""
    return len(value) if isinstance(value, str) else weight(value, limit)


def check_weight(value: object) -> None:
    check_size(written_size(value))


def check_format(template: str, values: object = ()) -> None:
    """Refuse ``%99999d``, ``{:>99999}``, widths taken from data (``%*d``, ``{:{w}}``), and
    output that repeats a value too often (``('{0}' * 100000).format(note)``)."""
    for spec in PERCENT_SPEC.findall(template) + BRACE_SPEC.findall(template):
        for token in FORMAT_WIDTH.findall(spec):
            if token in ("*", "{"):
                raise LimitError("a format width taken from a value is not allowed")
            check_width(int(token), "format width")
    fields = template.count("%") + template.count("{")
    if fields:
        check_size(len(template) + fields * weight(values))


def replaced_size(text: str, old: object, new: object) -> int:
    """The most characters ``text.replace(old, new)`` can produce."""
    if not isinstance(old, str) or not isinstance(new, str):
        return len(text)
    return len(text) + (len(text) // max(len(old), 1) + 1) * len(new)


class Guarded(NodeTransformer):
    """Rewrites a parsed template before its code is generated: every ``for`` loop's iterable goes
    through ``environment.budgeted`` (a step an item), ``~`` through ``environment.bounded_concat``,
    and list, tuple and dict literals through ``environment.weighed`` (``[x, x]`` in a loop
    doubles what ``x`` writes out)."""

    def visit_For(self, node: nodes.For) -> nodes.For:
        self.generic_visit(node)  # transforms the loop's children in place
        node.iter = _environment_call("budgeted", [node.iter], node.lineno)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Call:
        self.generic_visit(node)
        return _environment_call("bounded_concat", node.nodes, node.lineno)

    def visit_List(self, node: nodes.List) -> nodes.Call:
        self.generic_visit(node)
        return _environment_call("weighed", [node], node.lineno)

    def visit_Dict(self, node: nodes.Dict) -> nodes.Call:
        self.generic_visit(node)
        return _environment_call("weighed", [node], node.lineno)

    def visit_Tuple(self, node: nodes.Tuple) -> nodes.Node:
        self.generic_visit(node)
        return _environment_call("weighed", [node], node.lineno) if node.ctx == "load" else node


def _environment_call(name: str, args: list, lineno: int) -> nodes.Call:
    return nodes.Call(nodes.EnvironmentAttribute(name), args, [], None, None, lineno=lineno)


class Sandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox (``list.append`` in a loop could fill memory), with every render
    counted against a :class:`Budget` and sizes checked before they are allocated."""

    intercepted_binops = frozenset(["*", "**", "+", "%"])

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.budget = Budget()
        self.policies["json.dumps_function"] = bounded_dumps
        for name, original in list(self.filters.items()):
            self.filters[name] = self._guard(name, original)

    def _parse(self, source, name, filename):
        return Guarded().visit(super()._parse(source, name, filename))

    @staticmethod
    def concat(pieces) -> str:  # what macros and {% set %} blocks return
        pieces = list(pieces)
        check_size(sum(map(len, pieces)))
        return "".join(pieces)

    def budgeted(self, iterable) -> Iterator:
        for item in iterable:
            self.budget.step()
            yield item

    def walked(self, name: str, iterable) -> Iterator:
        """The items a filter goes through: a step each, and at most :data:`MAX_FILTER_ITEMS`."""
        for count, item in enumerate(self.budgeted(iterable)):
            if count == MAX_FILTER_ITEMS:
                raise LimitError(f"the {name} filter goes through at most {MAX_FILTER_ITEMS:,} items")
            yield item

    def weighed(self, value):
        self.budget.step()
        check_weight(value)
        return value

    def bounded_concat(self, *values) -> str:
        self.budget.step()
        texts = [str(v) for v in values]
        check_size(sum(map(len, texts)))
        return "".join(texts)

    def call(self, context, obj, /, *args, **kwargs):
        self.budget.step()
        owner = getattr(obj, "__self__", None)
        if isinstance(owner, str):
            args = self._check_str_method(owner, getattr(obj, "__name__", ""), args)
        return self._checked_result(super().call(context, obj, *args, **kwargs))

    def _check_str_method(self, text: str, name: str, args: tuple) -> tuple:
        if name in WIDTH_METHODS:
            for arg in args:
                check_width(arg, f"{name} width")
            if name == "expandtabs" and args and isinstance(args[0], int):
                check_size(len(text) * max(args[0], 1))
        elif name == "replace" and len(args) >= 2:
            check_size(replaced_size(text, *args[:2]))
        elif name == "translate" and args:
            check_size(len(text) * weight(args[0]))
        elif name == "join" and args:
            items = list(self.budgeted(args[0]))
            check_size(len(text) * len(items) + sum(len(str(a)) for a in items))
            args = (items, *args[1:])
        return args

    def _checked_result(self, value):
        """A value a call or filter made: sized now, or item by item as a generator is read."""
        if isinstance(value, str):
            check_size(len(value))
        elif isinstance(value, Iterator):
            return _weighed_items(value)
        else:
            check_size(weight(value))
        return value

    def wrap_str_format(self, value):
        """``str.format`` and ``format_map``, sandboxed by Jinja; their widths and sizes checked here."""
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        template = value.__self__
        check_format(template)

        @functools.wraps(wrapped)
        def bounded(*args, **kwargs):
            check_format(template, (args, kwargs))
            return wrapped(*args, **kwargs)

        return bounded

    def call_binop(self, context, operator, left, right):
        self.budget.step()
        if operator == "**" and isinstance(right, int) and right > 64:
            raise SecurityError("exponent too large")
        if operator in ("*", "**") and isinstance(left, int) and isinstance(right, int):
            bits = abs(left).bit_length() * (right if operator == "**" else 1) + abs(right).bit_length()
            if bits > MAX_INT_BITS:
                raise LimitError(f"a number would have over {MAX_INT_BITS:,} bits")
        if operator == "*" and isinstance(left, int) and isinstance(right, (str, list, tuple)):
            left, right = right, left  # 3 * "ab" is "ab" * 3
        if operator == "*" and isinstance(left, (str, list, tuple)) and isinstance(right, int):
            check_size(written_size(left) * right)
        if operator == "+" and isinstance(left, (list, tuple)) and isinstance(right, (list, tuple)):
            check_size(weight(left) + weight(right))
        if operator == "+" and isinstance(left, str) and isinstance(right, str):
            check_size(len(left) + len(right))
        if operator == "%" and isinstance(left, str):
            check_format(left, right)
        return super().call_binop(context, operator, left, right)

    def _guard(self, name: str, original: Callable) -> Callable:
        """``original`` as a step, its input and arguments checked first and its result after.
        The wrapper keeps Jinja's ``pass_environment``/``pass_eval_context``/``pass_context``
        mark (``functools.wraps`` copies it), so the first argument may be one of those."""
        passes = 1 if hasattr(original, "jinja_pass_arg") else 0
        check = ARGUMENT_CHECKS.get(name)
        reads_text, walks, walks_mapping = name in TEXT_FILTERS, name in WALKING_FILTERS, name in MAPPING_FILTERS

        @functools.wraps(original)
        def guarded(*args, **kwargs):
            self.budget.step()
            value = args[passes]
            if reads_text and written_size(value, MAX_TEXT_CHARS) > MAX_TEXT_CHARS:
                raise LimitError(f"the {name} filter takes at most {MAX_TEXT_CHARS:,} characters, "
                                 "and this value has more")
            if walks_mapping and isinstance(value, dict):
                self.budget.step(len(value))
                if len(value) > MAX_FILTER_ITEMS:
                    raise LimitError(f"the {name} filter goes through at most {MAX_FILTER_ITEMS:,} items")
            if walks and not isinstance(value, jinja2.Undefined):
                value = list(self.walked(name, value)) if name == "join" else self.walked(name, value)
                args = (*args[:passes], value, *args[passes + 1:])
            if check:
                check(value, *args[passes + 1:], **kwargs)
            return self._checked_result(original(*args, **kwargs))

        return guarded


def _weighed_items(iterator: Iterator) -> Iterator:
    for item in iterator:
        check_weight(item)
        yield item


def bounded_dumps(value, **kwargs) -> str:
    """``json.dumps``, refused as soon as its text passes the size limit (``indent`` puts the
    indentation of every level on every line)."""
    size, pieces = 0, []
    for piece in json.JSONEncoder(**kwargs).iterencode(value):
        size += len(piece)
        check_size(size)
        pieces.append(piece)
    return "".join(pieces)


# -- filter arguments that multiply their input, checked before the filter runs -------------
def _width(what: str, keyword: str, position: int = 0):
    def check(value, *args, **kwargs):
        check_width(kwargs.get(keyword, args[position] if len(args) > position else 0), what)
    return check


def _indent(value, width=4, *args, **kwargs) -> None:
    width = kwargs.get("width", width)
    check_width(width, "indent width")
    text = str(value)
    check_size(len(text) + (text.count("\n") + 1) * (width if isinstance(width, int) else len(str(width))))


def _wordwrap(value, width=79, break_long_words=True, wrapstring=None, *args, **kwargs) -> None:
    check_width(kwargs.get("width", width), "wordwrap width")
    wrapstring = kwargs.get("wrapstring", wrapstring)
    check_size(len(str(value)) * (1 + len(str(wrapstring or "\n"))))


def _urlize(value, trim_url_limit=None, nofollow=False, target=None, rel=None, *args, **kwargs) -> None:
    """Each link (``www.`` and a space at the least) adds its address again, some markup, and the
    ``rel`` and ``target`` attributes."""
    extra = len(str(kwargs.get("target", target) or "")) + len(str(kwargs.get("rel", rel) or "noopener nofollow"))
    text = str(value)
    check_size(2 * len(text) + (len(text) // 4 + 1) * (50 + extra))


def _join(items, d="", attribute=None, *args, **kwargs) -> None:
    separator = str(kwargs.get("d", d))
    check_size(len(separator) * len(items) + sum(weight(item) for item in items))


def _format(value, *args, **kwargs) -> None:
    check_format(str(value), (args, kwargs))


def _replace(value, old="", new="", *args, **kwargs) -> None:
    check_size(replaced_size(str(value), kwargs.get("old", old), kwargs.get("new", new)))


ARGUMENT_CHECKS: dict[str, Callable[..., None]] = {
    "batch": _width("batch line count", "linecount"),
    "center": _width("center width", "width"),
    "format": _format,
    "indent": _indent,
    "join": _join,
    "replace": _replace,
    "slice": _width("slice count", "slices"),
    "urlize": _urlize,
    "wordwrap": _wordwrap,
}


def _default(value, default_value="", boolean=True):
    """Jinja's ``default``, but an empty CSV cell counts as missing too."""
    if isinstance(value, jinja2.Undefined) or (boolean and not value):
        return default_value
    return value


def make_environment() -> Sandbox:
    env = Sandbox(undefined=jinja2.StrictUndefined, autoescape=False,
                  keep_trailing_newline=True, auto_reload=False)
    env.filters["default"] = env.filters["d"] = env._guard("default", _default)
    del env.globals["lipsum"]  # lorem ipsum has no place in an email, and lipsum(10**6) never ends
    return env


ENVIRONMENT = make_environment()


def render_shared(template: jinja2.Template, context: dict) -> str:
    """``template.render(context)`` under a fresh :class:`Budget`, without copying the context for
    each header and the body (``context`` already holds the environment's globals). The Context
    is made directly: ``Template.new_context`` also lists the template's globals (a ChainMap
    walked on every render) for ``{% import %}``, which a template from a string cannot do.
    Errors go through Jinja's handler, which points tracebacks at template lines, as ``render``
    does."""
    ENVIRONMENT.budget = Budget()
    try:
        return bounded_join(template.root_render_func(Context(ENVIRONMENT, context, template.name, template.blocks)))
    except Exception:  # noqa: BLE001 (Jinja's handler re-raises every error, pointed at the template line)
        ENVIRONMENT.handle_exception()


def bounded_join(pieces) -> str:
    """The rendered text, refused as soon as it passes the output cap (not after building it)."""
    out, size = [], 0
    for piece in pieces:
        size += len(piece)
        if size > MAX_RENDERED_CHARS:  # thrown in at the template's yield, so the error has its line
            pieces.throw(LimitError(f"the output would be over {MAX_RENDERED_CHARS:,} characters"))
        out.append(piece)
    return "".join(out)
