"""Templates: a header block, a blank line, a body, all Jinja, rendered in the sandbox.

Each header value is its own small template and is rendered on its own, so a CSV cell with a
line break can never add a header: the rendered value is refused instead (header injection is
impossible, not filtered). Errors carry the template line, mapped back from Jinja's.

A part that is only text and ``{{ variable }}``s is recognised without Jinja and written with
one ``%``; a template made only of such parts never loads Jinja (20 ms of every start), unless a
row misses a variable and Jinja is asked to say so as it always does.
"""

from __future__ import annotations

import keyword
import mimetypes
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from email._header_value_parser import DOT_ATOM_ENDS
from email.headerregistry import Address
from email.utils import getaddresses
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from outreach.addresses import AddressValidator, InvalidAddress
from outreach.compose import headers
from outreach.compose.contacts import Contact, Problem
from outreach.compose.limits import MAX_RENDERED_CHARS, MAX_TEMPLATE_CHARS
from outreach.errors import UserError, where

if TYPE_CHECKING:
    import jinja2
    from jinja2 import nodes

    from outreach.compose.sandbox import LimitError

ADDRESS_HEADERS = ("to", "cc", "bcc", "reply-to")
KNOWN_HEADERS = ("subject", *ADDRESS_HEADERS, "attachments", "content-type", "kind")
KINDS = ("outreach", "thank-you", "follow-up")
# Characters that end a line for some reader of a header: CR, LF and Unicode's other breaks.
# "First Last <a@b>" with nothing a parser would need to unquote or split.
SIMPLE_ADDRESS = re.compile(r"\s*(?P<name>[^<>()\[\]\\,;:@\"]*?)\s*<(?P<address>[^<>\s\"]+)>\s*")
LINE_BREAKS = re.compile(r"[\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029\x00]")
JINJA_COMMENT = re.compile(r"\{#.*#\}")
JINJA_TAG = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)
# What makes a display name read as an address (or a group of them) to some parser.
ADDRESS_SYNTAX = re.compile(r"[@<>]")
NAME_COLUMNS = ("full_name", "name", "interviewer", "first_name", "last_name")  # see Contact.display_name
# Stands in for the user's own address when a header block is checked before it is sent.
PLACEHOLDER_SENDER: Address  # made below, once Recipient is defined
# A subject or display name longer than this is a slip (a note pasted into the wrong column).
MAX_HEADER_CHARS = 180
MAX_ATTACHMENTS_BYTES = 25 * 1024 * 1024  # what Gmail and Microsoft 365 accept
NO_SUCH_COLUMN = "the CSV has no such column"
# ``{{ name }}``'s inside, as Jinja reads a plain variable (ASCII names only: others go to Jinja).
FLAT_NAME = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*")
# Names Jinja reads as something else (constants, operators, the template itself), or that
# Python reserves.
NOT_VARIABLES = frozenset(["true", "false", "none", "self", *keyword.kwlist])
# The names the sandbox's globals define (tests/compose/test_flat_parts.py checks the list): a
# template that reads none of them needs no globals in its context, nor Jinja to know them.
JINJA_GLOBALS = frozenset(["range", "dict", "lipsum", "cycler", "joiner", "namespace"])


@dataclass
class Draft:
    """A rendered message before it becomes MIME: what the user will see go out."""

    contact: Contact
    subject: str
    to: list[Address]
    cc: list[Address] = field(default_factory=list)
    bcc: list[Address] = field(default_factory=list)
    reply_to: list[Address] = field(default_factory=list)
    attachments: list[Path] = field(default_factory=list)
    text: str = ""
    markdown: bool = False
    kind: str = "outreach"
    # The headers outreach.compose.headers wrote from these recipients and subject (the values, then
    # the headers): the check pass writes them to prove them, and draft writes the same lines.
    written: tuple[tuple, list] | None = field(default=None, repr=False, compare=False)
    # Its subject and body as searched for the NRMP phrases (outreach.compose.checks.scan): by the
    # checks, then for the commitment the store records with the message.
    scanned: Any = field(default=None, repr=False, compare=False)
    # (the Template, the variables) its subject and body were written from, by Template.render: the
    # NRMP scan then searches only what the cells wrote (checks.CellWindows), and drops them. Not
    # copied by replace().
    rendered: tuple[Any, dict] | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def recipients(self) -> list[str]:
        return [a.addr_spec for a in (*self.to, *self.cc, *self.bcc)]

    def goes_only_to(self, addr_spec: str) -> bool:
        """Whether :attr:`recipients` is ``[addr_spec]`` (asked of every row: without making the list)."""
        return not self.cc and not self.bcc and len(self.to) == 1 and self.to[0].addr_spec == addr_spec


MEMO_SIZE = 1024    # outputs a part remembers
MEMO_TRIAL = 256    # renders after which a part whose values seldom repeat stops remembering


class _Part:
    """One compiled piece of the template file and the line it starts on.

    A part's output depends only on the values of the variables it reads (the sandbox has no
    clock and no state between renders), but for the ``random`` filter. So each part remembers
    its last outputs by those values: a subject that says ``{{ topic }}`` is rendered once per
    topic, not once per row. A part whose values seldom repeat (the body, with its personal
    note) stops remembering after a trial, and one that reads a mapping (``contact``) never
    starts."""

    def __init__(self, name: str, line: int, source: str):
        """Parsed once. A flat source is read without Jinja (:func:`flat_source`) and compiled
        only if Jinja is ever asked to render it; any other is parsed, what it reads is read from
        the tree, and the tree is compiled (raises :class:`PartSyntaxError`)."""
        self.name, self.line, self.source = name, line, source
        self.reads: tuple[str, ...] | None = None
        self._template: jinja2.Template | None = None
        self.flat = flat_source(source)
        if self.flat is not None:
            self.used = self.bare = {name for _, name in self.flat if name is not None}
            self.defaulted: set[str] = set()
        else:
            self._read_tree(source)
        if self.flat is not None:  # "Dear %s,": one C call joins it; a missing variable is a KeyError
            names = [name for _, name in self.flat if name is not None]
            self._format = "".join("%s" if name is not None else piece.replace("%", "%%") for piece, name in self.flat)
            self._values = operator.itemgetter(*names) if len(names) > 1 else None
            self._name = names[0] if len(names) == 1 else None
        self.memo: dict[tuple, str] = {}
        self.renders = self.hits = 0

    def _read_tree(self, source: str) -> None:
        import jinja2
        from jinja2 import meta, nodes

        from outreach.compose.sandbox import ENVIRONMENT

        try:
            tree = ENVIRONMENT.parse(source)
            self.used = meta.find_undeclared_variables(tree)
            defaulted = [f.node for f in tree.find_all(nodes.Filter)
                         if f.name in ("default", "d") and isinstance(f.node, nodes.Name)]
            self.defaulted = {node.name for node in defaulted}  # read through ``default`` somewhere
            self.bare = {n.name for n in tree.find_all(nodes.Name)  # and read without it
                         if n.ctx == "load" and not any(n is node for node in defaulted)}
            self.flat = flat_pieces(tree)
            chance = any(f.name == "random" for f in tree.find_all(nodes.Filter))
            if not chance and self.flat is None:
                self.reads = tuple(sorted(meta.find_undeclared_variables(tree)))
            self._template = ENVIRONMENT.from_string(tree)  # last: compiling may rewrite the tree
        except jinja2.TemplateSyntaxError as e:
            raise PartSyntaxError(e.message or "", e.lineno) from None

    @property
    def template(self) -> jinja2.Template:
        """The part compiled by Jinja: a flat part's the first time Jinja must render it."""
        if self._template is None:
            from outreach.compose.sandbox import ENVIRONMENT

            self._template = ENVIRONMENT.from_string(self.source)
        return self._template

    def written(self, context: dict) -> str | None:
        """A flat part's output, joined here: what Jinja writes for text and ``{{ name }}``s
        (``str`` of each value). None when a variable is missing, or the output is too long:
        then Jinja renders it, and says so as it does."""
        try:
            if self._values is not None:
                text = self._format % self._values(context)
            else:
                text = self._format % (context[self._name],) if self._name is not None else self._format % ()
        except KeyError:
            return None
        return text if len(text) <= MAX_RENDERED_CHARS else None

    def key(self, context: dict) -> tuple | None:
        """What the output depends on, or None when it is not remembered."""
        if self.reads is None:
            return None
        key = tuple([context.get(name, _ABSENT) for name in self.reads])
        try:
            hash(key)
        except TypeError:  # a mapping or list: not worth a deeper key
            self.reads = None
            return None
        return key

    def remember(self, key: tuple, text: str) -> None:
        self.renders += 1
        if self.renders == MEMO_TRIAL and self.hits < MEMO_TRIAL // 4:
            self.reads, self.memo = None, {}
            return
        if len(self.memo) >= MEMO_SIZE:
            self.memo.clear()
        self.memo[key] = text


_ABSENT = object()  # a variable the context does not hold (its render fails, and is not remembered)


class PartSyntaxError(Exception):
    """Jinja's syntax error in a part: its message and the part's line it names."""

    def __init__(self, message: str, lineno: int | None):
        super().__init__(message)
        self.message, self.lineno = message, lineno


def flat_source(source: str) -> tuple[tuple[str, str | None], ...] | None:
    """:func:`flat_pieces` of ``source``, read without Jinja: the same pieces Jinja's parser
    gives for text and ``{{ name }}``s (a property test holds the two together). None for
    anything else, which Jinja then parses: any other tag, a name Jinja may read otherwise (its
    globals too: Jinja does not count them as variables), a carriage return (Jinja rewrites line
    ends), whitespace control."""
    if "{%" in source or "{#" in source or "\r" in source:
        return None
    pieces: list[tuple[str, str | None]] = []
    position = 0
    while (start := source.find("{{", position)) >= 0:
        end = source.find("}}", start + 2)
        name = FLAT_NAME.fullmatch(source, start + 2, end) if end >= 0 else None
        if name is None or name[1] in NOT_VARIABLES or name[1] in JINJA_GLOBALS:
            return None
        if start > position:
            pieces.append((source[position:start], None))
        pieces.append(("", name[1]))
        position = end + 2
    if position < len(source):
        pieces.append((source[position:], None))
    return tuple(pieces)


def flat_pieces(tree: nodes.Template) -> tuple[tuple[str, str | None], ...] | None:
    """(text, None) and ("", variable) in order, when a part is only text and ``{{ variable }}``s
    (most subjects, names and bodies are): nothing in it can loop, call or fail but a missing
    variable. None for any other part."""
    from jinja2 import nodes

    pieces: list[tuple[str, str | None]] = []
    for statement in tree.body:
        if not isinstance(statement, nodes.Output):
            return None
        for node in statement.nodes:
            if isinstance(node, nodes.TemplateData):
                pieces.append((node.data, None))
            elif type(node) is nodes.Name and node.ctx == "load":
                pieces.append(("", node.name))
            else:
                return None
    return tuple(pieces)


class Template:
    """A template file, parsed and compiled once, rendered for each contact."""

    def __init__(self, path: str | Path, *, test_domains: bool = False):
        self.path = Path(path)
        try:
            text = self.path.read_bytes().decode("utf-8-sig")
        except FileNotFoundError:
            raise UserError(f"{self.path}: no such template") from None
        except UnicodeDecodeError as e:
            raise UserError(f"{self.path}: not UTF-8 text (byte {e.start}); save the template as UTF-8") from None
        if len(text) > MAX_TEMPLATE_CHARS:
            raise UserError(f"{self.path}: {len(text):,} characters; a template is one email, at most "
                            f"{MAX_TEMPLATE_CHARS:,} characters (is this the right file?)")
        self.headers: dict[str, _Part] = {}
        # Per address header, its items as the template writes them: (display name, address).
        self.address_items: dict[str, list[tuple[_Part | None, _Part]]] = {}
        # Address headers whose own text (outside tags) holds a line break: rendered whole too, so
        # that the break is refused as in any other header (the items are stripped of it).
        self._broken: set[str] = set()
        self._sizes: dict[Path, int] = {}
        self.validate_address = AddressValidator(test_domains=test_domains)  # Cc, Bcc, Reply-To
        self.kind = "outreach"
        self.markdown = False
        self._parse_header_block(text.replace("\r\n", "\n").replace("\r", "\n"))
        if "subject" not in self.headers:
            raise UserError(f"{where(self.path, 1)}: no Subject header; a template starts with 'Subject: ...'")
        self.variables, self.optional = self._variables()
        self.attachment_columns = self.headers["attachments"].used if "attachments" in self.headers else set()
        self._globals = self._jinja_globals()

    def _jinja_globals(self) -> dict[str, Any]:
        """What each row's context starts from: the sandbox's globals (``range``, ``namespace``),
        or nothing for a template of flat parts that names none of them (Jinja is not loaded)."""
        pieces = [piece for items in self.address_items.values() for pair in items for piece in pair if piece]
        parts = (*self.headers.values(), self.body, *pieces)
        if all(part.flat is not None for part in parts) and \
                not {name for part in parts for _, name in part.flat or () if name} & JINJA_GLOBALS:
            return {}
        from outreach.compose.sandbox import ENVIRONMENT

        return ENVIRONMENT.globals

    def _parse_header_block(self, text: str) -> None:
        lines = text.split("\n")
        pending: list[tuple[int, str]] = []  # (line, text) of one header, with continuations
        for index, line in enumerate(lines):
            number = index + 1
            if not line.strip():
                self._add_header(pending)
                self.body = self._compile("body", number + 1, "\n".join(lines[index + 1:]))
                return
            if JINJA_COMMENT.fullmatch(line.strip()):
                continue  # a commented-out header, e.g. an optional Attachments line
            if line[0] in " \t" and pending:
                pending.append((number, line.strip()))
                continue
            self._add_header(pending)
            pending = [(number, line)]
        raise UserError(f"{self.path}: no blank line after the headers; the body follows the first blank line")

    def _add_header(self, pending: list[tuple[int, str]]) -> None:
        if not pending:
            return
        number, first = pending[0]
        name, colon, value = first.partition(":")
        key = name.strip().lower()
        if not colon or key not in KNOWN_HEADERS:
            raise UserError(
                f"{where(self.path, number)}: {name.strip()!r} is not a header this tool knows "
                f"(use {', '.join(h.title() for h in KNOWN_HEADERS)}), and the headers end at the first blank line"
            )
        if key in self.headers:
            raise UserError(f"{where(self.path, number)}: {name.strip()} appears twice")
        value = " ".join([value.strip(), *(text for _, text in pending[1:])]).strip()
        if key == "kind":
            if value not in KINDS:
                raise UserError(f"{where(self.path, number)}: Kind must be one of {', '.join(KINDS)}")
            self.kind = value
        elif key == "content-type":
            if value.lower() not in ("text/plain", "text/markdown"):
                raise UserError(f"{where(self.path, number)}: Content-Type must be text/plain or text/markdown")
            self.markdown = value.lower() == "text/markdown"
        else:
            self.headers[key] = self._compile(key, number, value)
            if key in ADDRESS_HEADERS and LINE_BREAKS.search(JINJA_TAG.sub("", value)):
                self._broken.add(key)
            if key in ADDRESS_HEADERS:
                self.address_items[key] = [
                    (self._compile_piece(key, number, name) if name is not None else None,
                     self._compile_piece(key, number, addr))
                    for name, addr in self._address_items(key, number, value)]

    def _compile(self, name: str, line: int, source: str) -> _Part:
        try:
            return _Part(name, line, source)
        except PartSyntaxError as e:
            raise UserError(f"{where(self.path, line + (e.lineno or 1) - 1)}: template syntax error: "
                            f"{e.message}") from None

    def _address_items(self, key: str, number: int, source: str) -> list[tuple[str | None, str]]:
        """``source`` split where the template itself (not a cell) writes ``,`` ``<`` ``>``."""
        try:
            return address_items(source)
        except ValueError:
            raise self._address_syntax_error(key, number) from None

    def _compile_piece(self, key: str, number: int, source: str) -> _Part:
        try:
            return _Part(key, number, source)
        except PartSyntaxError:
            raise self._address_syntax_error(key, number) from None

    def _address_syntax_error(self, key: str, number: int) -> UserError:
        return UserError(f"{where(self.path, number)}: {key.title()} items are written 'Name <address>' or "
                         "'address', separated by commas, each {% %} block inside one name or one address")

    def _variables(self) -> tuple[set[str], set[str]]:
        """Variables the template reads, and those it reads only through ``default``."""
        parts = (*self.headers.values(), self.body)
        used = set().union(*(part.used for part in parts))
        defaulted = set().union(*(part.defaulted for part in parts))
        bare = set().union(*(part.bare for part in parts))
        return used, defaulted - bare

    def render(self, contact: Contact, extra: dict[str, Any] | None = None,
               hint: Callable[[str], str] | None = None) -> Draft:
        """Render every part for one contact; raise :class:`RenderError` naming line and column.

        A variable the row does not have is an error, and the row is rendered again with a stand-in
        for it (``{{ topic }}``), so that its other problems (an attachment, a placeholder) show in the
        same pass: the error then carries that draft, for checks only. ``hint(name)`` says what to do
        about a missing variable ("the CSV has no such column" without it)."""
        context = {**self._globals, **contact.fields, "email": contact.email, "contact": contact.fields,
                   **(extra or {})}
        missing: dict[str, Problem] = {}
        while True:
            try:
                draft = self._render(context, contact)
            except UndefinedVariable as e:
                if e.name is None or e.name in missing or len(missing) >= len(self.variables):
                    raise RenderError(*missing.values(), self._undefined_problem(e, hint)) from None
                missing[e.name] = self._undefined_problem(e, hint)
                context[e.name] = StandIn(e.name)
                continue
            except RenderError as e:
                raise RenderError(*missing.values(), *e.problems, draft=e.draft) from None
            if missing:
                raise RenderError(*missing.values(), draft=draft)
            return draft

    def _undefined_problem(self, error: UndefinedVariable, hint: Callable[[str], str] | None) -> Problem:
        if error.name is None or hint is None:
            return error.problem
        problem = error.problem
        return Problem(problem.severity, problem.line, problem.field,
                       problem.text.replace(NO_SUCH_COLUMN, hint(error.name)))

    def _render(self, context: dict, contact: Contact) -> Draft:
        # Every header once, in the template's order; an address header item by item (its name
        # and address pieces are what the message is made of), so a break in any piece is a break
        # in the header.
        render = self._render_part
        values: dict[str, str] = {}
        items: dict[str, list[tuple[str | None, str]]] = {}
        texts: list[tuple[str, str]] = []  # (header, text) of each piece rendered
        for name, part in self.headers.items():
            if name in self.address_items:
                rendered = items[name] = []
                for name_part, address_part in self.address_items[name]:
                    shown = None if name_part is None else render(name_part, context, contact)
                    spec = render(address_part, context, contact)
                    rendered.append((shown, spec))
                    texts += [(name, shown or ""), (name, spec)]
            if name not in self.address_items or name in self._broken:
                values[name] = render(part, context, contact)
                texts.append((name, values[name]))
        if breaks_line("".join([text for _, text in texts])):
            name = next(name for name, text in texts if breaks_line(text))
            raise RenderError(self._injection_problem(name, contact))
        if "to" not in self.headers and breaks_line(contact.display_name):
            raise RenderError(self._injection_problem("to", contact))
        subject = values["subject"].strip()
        # An attachment that is not there leaves the rest of the row to check (the draft is never sent);
        # a path made with a missing variable's stand-in names no file: that variable is the error.
        attachments, unattached = [], []
        if "attachments" in self.headers and \
                not any(isinstance(context.get(name), StandIn) for name in self.attachment_columns):
            try:
                attachments = self._attachments(values.get("attachments", ""), contact)
            except RenderError as e:
                unattached = e.problems
        draft = Draft(
            contact=contact,
            subject=subject,
            to=self._addresses("to", items, contact) if "to" in self.headers else self._default_to(contact),
            cc=self._addresses("cc", items, contact) if "cc" in items else [],
            bcc=self._addresses("bcc", items, contact) if "bcc" in items else [],
            reply_to=self._addresses("reply-to", items, contact) if "reply-to" in items else [],
            attachments=attachments,
            text=render(self.body, context, contact).replace("\r\n", "\n"),
            markdown=self.markdown,
            kind=self.kind,
        )
        if not subject:
            raise RenderError(Problem("error", contact.line, None,
                                      f"{where(self.path, self.headers['subject'].line)}: the subject is empty"))
        if (too_long := _too_long(subject, draft.to)) is not None:
            header, text = too_long
            raise RenderError(Problem("error", contact.line, None,
                                      f"the {header.title()} header would be {len(text)} characters long; "
                                      f"keep it under {MAX_HEADER_CHARS}"))
        changed = headers.written_problem(draft, PLACEHOLDER_SENDER)
        if changed:
            raise RenderError(Problem("error", contact.line, self._column_in(changed.lower(), contact),
                                      f"the {changed} header would not read back as written; refused, "
                                      "so no cell can add or change a header"))
        draft.rendered = (self, context)
        if unattached:
            raise RenderError(*unattached, draft=draft)
        return draft

    def _render_part(self, part: _Part, context: dict, contact: Contact) -> str:
        if part.flat is not None:
            text = part.written(context)
            if text is not None:
                return text
        key = part.key(context)
        if key is not None:
            text = part.memo.get(key)
            if text is not None:
                part.hits += 1
                return text
        text = self._render_jinja(part, context, contact)
        if key is not None:
            part.remember(key, text)
        return text

    def _render_jinja(self, part: _Part, context: dict, contact: Contact) -> str:
        """The part rendered by Jinja in the sandbox; each way it can fail is the row's error."""
        import jinja2
        from jinja2.exceptions import SecurityError

        from outreach.compose.sandbox import LimitError, render_shared

        try:
            text = render_shared(part.template, context)
        except LimitError as e:
            raise RenderError(self._limit_problem(e, part, contact)) from None
        except RecursionError as e:
            raise RenderError(self._limit_problem(LimitError("macros call themselves too deeply"), part, contact,
                                                  e)) from None
        except MemoryError as e:
            raise RenderError(self._limit_problem(LimitError("it needs more memory than there is"), part, contact,
                                                  e)) from None
        except SecurityError as e:
            raise RenderError(Problem("error", contact.line, None,
                                      f"{where(self.path, self._line_of(e, part))}: the template tries to reach "
                                      f"Python internals, which the sandbox refuses ({e})")) from None
        except jinja2.UndefinedError as e:
            name = _undefined_name(e)
            raise UndefinedVariable(name, Problem("error", contact.line, name,
                                                  f"{where(self.path, self._line_of(e, part))}: undefined variable "
                                                  f"{name or e.message!r}; {NO_SUCH_COLUMN}")) from None
        except jinja2.TemplateError as e:
            raise RenderError(Problem("error", contact.line, None,
                                      f"{where(self.path, self._line_of(e, part))}: {e}")) from None
        except (TypeError, ValueError, ArithmeticError) as e:
            raise RenderError(Problem("error", contact.line, None,
                                      f"{where(self.path, self._line_of(e, part))}: {type(e).__name__}: {e}")) from None
        if len(text) > MAX_RENDERED_CHARS:
            raise RenderError(Problem("error", contact.line, None,
                                      f"{where(self.path, part.line)}: renders to over "
                                      f"{MAX_RENDERED_CHARS:,} characters"))
        return text

    def _limit_problem(self, error: LimitError, part: _Part, contact: Contact,
                       cause: BaseException | None = None) -> Problem:
        line = self._line_of(cause or error, part)
        return Problem("error", contact.line, None,
                       f"{where(self.path, line)}: the template went past a resource limit: {error}")

    def _line_of(self, error: BaseException, part: _Part) -> int:
        """The template file line where ``error`` happened, from Jinja's rewritten traceback."""
        lineno = getattr(error, "lineno", None)
        if lineno is None:
            import traceback  # only for errors: not loaded otherwise

            frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename == "<template>"]
            lineno = (frames[-1].lineno if frames else None) or 1
        return part.line + lineno - 1

    def _injection_problem(self, header: str, contact: Contact) -> Problem:
        columns = [n for n, v in contact.fields.items() if LINE_BREAKS.search(v)]
        column = columns[0] if columns else None
        origin = f" ({where(self.path, self.headers[header].line)})" if header in self.headers else ""
        return Problem("error", contact.line, column,
                       f"a line break would land in the {header.title()} header{origin}; header injection refused")

    def _addresses(self, header: str, items: dict[str, list[tuple[str | None, str]]],
                   contact: Contact) -> list[Address]:
        """The header's addresses from its rendered items: a name in ``Name <address>`` is only
        ever a name."""
        result = []
        for rendered_name, rendered_address in items.get(header, []):
            text = rendered_address.strip()
            if rendered_name is None:  # an address list, written in the template or in an address column
                pairs = split_addresses(text)
            elif text:
                pairs = [(_unquote(rendered_name.strip()), text)]
            else:
                continue  # an empty address column leaves its item out
            for name, addr in pairs:
                if addr or name:
                    result.append(self._address(header, name, addr, contact))
        return result

    def _address(self, header: str, name: str, addr: str, contact: Contact) -> Address:
        try:  # the row's own address (``{{ email }}``) is its identity already
            valid = addr if addr == contact.email else self.validate_address(addr)
        except InvalidAddress as e:
            problem = Problem("error", contact.line, _column_holding(contact, addr, self._columns_of(header)),
                              f"{self._origin(header)}: {header.title()} address {addr or name!r} is not valid: {e}")
            raise RenderError(problem) from None
        if ADDRESS_SYNTAX.search(name):
            self._refuse_address_syntax(header, name, contact, self._origin(header))
        return address(" ".join(name.split()), valid)

    def _origin(self, header: str) -> str:
        return where(self.path, self.headers[header].line)

    def _default_to(self, contact: Contact) -> list[Address]:
        self._refuse_address_syntax("to", contact.display_name, contact, "the name columns", NAME_COLUMNS)
        return default_to(contact)

    def _refuse_address_syntax(self, header: str, name: str, contact: Contact, origin: str,
                               columns=None) -> None:
        found = ADDRESS_SYNTAX.search(name)
        if found:
            column = _column_holding(contact, name, columns or self._columns_of(header))
            raise RenderError(Problem("error", contact.line, column,
                                      f"{origin}: the {header.title()} name {name!r} holds {found.group()!r}, "
                                      "address syntax; a name is never an address, so it cannot add recipients"))

    def _columns_of(self, header: str) -> set[str]:
        part = self.headers.get(header)
        return set(part.used) if part else set(NAME_COLUMNS)

    def _column_in(self, header: str, contact: Contact) -> str | None:
        """The column most likely behind a header that changed: one it uses, holding ``=?`` if any."""
        used = self._columns_of(header)
        filled = [c for c in contact.fields if c in used and contact.fields[c]]
        return next((c for c in filled if "=?" in contact.fields[c]), filled[0] if filled else None)

    def _attachments(self, value: str, contact: Contact) -> list[Path]:
        """The files to attach. Paths that hold anything from the CSV stay inside the workspace."""
        if "attachments" not in self.headers:
            return []
        origin = where(self.path, self.headers["attachments"].line)
        needed = self.attachment_columns - self.optional
        empty = sorted(c for c in needed if c in contact.fields and not contact.fields[c])
        if empty:
            raise RenderError(Problem("error", contact.line, empty[0],
                                      f"{origin}: is empty, but the Attachments line needs it; "
                                      "the message would go without its attachment"))
        paths, total = [], 0
        for item in (v.strip() for v in value.split(",")):
            if item:
                path = self._attachment_path(item, contact, origin)
                total += self._size(path, item, contact, origin)
                paths.append(path)
        if total > MAX_ATTACHMENTS_BYTES:
            raise RenderError(Problem("error", contact.line, None,
                                      f"attachments add up to {total / 2**20:.1f} MiB; "
                                      "mail servers refuse over 25 MiB"))
        return paths

    def _attachment_path(self, item: str, contact: Contact, origin: str) -> Path:
        """A path written wholly in the template is the user's choice (``~`` works); one that
        holds a cell must resolve, symlinks followed, to a file in the template's folder or the
        folder outreach runs in."""
        from_cells = bool(self.attachment_columns)
        path = (self.path.parent / (Path(item) if from_cells else Path(item).expanduser())).resolve()
        column = _column_holding(contact, item, self.attachment_columns) if from_cells else None
        roots = (self.path.parent.resolve(), Path.cwd().resolve())
        inside = [root for root in roots if path.is_relative_to(root)]
        if from_cells and not inside:
            raise RenderError(Problem("error", contact.line, column,
                                      f"{origin}: attachment {item!r} leads to {path}, outside the workspace; a "
                                      "path from the CSV must name a file in the template's folder or below"))
        if from_cells and all(_hidden(path.relative_to(root)) for root in inside):
            raise RenderError(Problem("error", contact.line, column,
                                      f"{origin}: attachment {item!r} is a hidden file ({path}); hidden files "
                                      "such as .env hold settings and secrets, so a cell cannot attach one"))
        if not path.exists():
            raise RenderError(Problem("error", contact.line, column,
                                      f"{origin}: attachment {item!r} not found (looked for {path})"))
        if not path.is_file():
            raise RenderError(Problem("error", contact.line, column,
                                      f"{origin}: attachment {item!r} ({path}) is not a regular file"))
        if from_cells and _is_database(path):
            raise RenderError(Problem("error", contact.line, column,
                                      f"{origin}: attachment {item!r} is a database (the tracking store?); "
                                      "a cell cannot attach one"))
        return path

    def _size(self, path: Path, item: str, contact: Contact, origin: str) -> int:
        """The size read from the file itself (files under /proc say 0), once per run."""
        if path not in self._sizes:
            try:
                self._sizes[path] = readable_size(path, MAX_ATTACHMENTS_BYTES + 1)
            except OSError as e:
                raise RenderError(Problem("error", contact.line, None,
                                          f"{origin}: attachment {item!r} cannot be read ({e.strerror})")) from None
        return self._sizes[path]


class RenderError(Exception):
    """A row that cannot be rendered; carries the :class:`Problem` (or several) to report, and
    ``draft`` when it was rendered with stand-ins for missing variables (to be checked, never sent)."""

    def __init__(self, *problems: Problem, draft: Draft | None = None):
        super().__init__(problems[0].text)
        self.problems = list(problems)
        self.draft = draft

    @property
    def problem(self) -> Problem:
        return self.problems[0]


class UndefinedVariable(RenderError):
    """A variable the row does not have (``name``: None when it is not a plain variable)."""

    def __init__(self, name: str | None, problem: Problem):
        super().__init__(problem)
        self.name = name


class StandIn(str):
    """What a missing variable renders as once reported, ``{{ topic }}``, so that the rest of the
    row can be checked in the same pass."""

    def __new__(cls, name: str) -> Self:
        return super().__new__(cls, "{{ " + name + " }}")


def _too_long(subject: str, to: list[Address]) -> tuple[str, str] | None:
    """The first of the subject and the To names longer than :data:`MAX_HEADER_CHARS`, with its
    header's name; None on the usual row (asked of every row: no list is made for it)."""
    if len(subject) > MAX_HEADER_CHARS:
        return "subject", subject
    for recipient in to:
        if len(recipient.display_name) > MAX_HEADER_CHARS:
            return "to", recipient.display_name
    return None


def breaks_line(text: str) -> bool:
    """Whether ``text`` holds a character that ends a line for some reader (:data:`LINE_BREAKS`);
    each of them is unprintable, so printable text (nearly every header) is told in C."""
    return not text.isprintable() and LINE_BREAKS.search(text) is not None


def split_addresses(value: str) -> list[tuple[str, str]]:
    """(name, address) pairs of an address header; the common ``Name <addr>`` without a parser."""
    if not value.strip():
        return []
    simple = SIMPLE_ADDRESS.fullmatch(value)
    if simple:
        return [(" ".join(simple["name"].split()), simple["address"])]
    return getaddresses([value])


def address_items(source: str) -> list[tuple[str | None, str]]:
    """An address header's template split into (name, address) sources, at the commas and angle
    brackets the template itself writes (outside ``{{ }}``, ``{% %}``, and ``"..."``).

    ``'{{ name }} <{{ email }}>'`` -> ``[('{{ name }}', '{{ email }}')]``; a bare item has no name
    (``None``). Raises ValueError for brackets that do not pair up."""
    items, start, quoted = [], 0, False
    for index, char in _literal_chars(source):
        if char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            items.append(source[start:index])
            start = index + 1
    items.append(source[start:])
    result: list[tuple[str | None, str]] = []
    for item in filter(str.strip, items):
        opens = [i for i, c in _literal_chars(item) if c == "<"]
        closes = [i for i, c in _literal_chars(item) if c == ">"]
        if not opens and not closes:
            result.append((None, item.strip()))
        elif len(opens) == len(closes) == 1 and opens[0] < closes[0] and not item[closes[0] + 1:].strip():
            result.append((item[:opens[0]].strip(), item[opens[0] + 1:closes[0]].strip()))
        else:
            raise ValueError(item)
    return result


def _literal_chars(source: str):
    """(index, character) of the text the template writes itself, outside Jinja's tags."""
    position = 0
    for tag in (*JINJA_TAG.finditer(source), None):
        end = tag.start() if tag else len(source)
        yield from ((i, source[i]) for i in range(position, end))
        position = tag.end() if tag else end


def _unquote(name: str) -> str:
    return name[1:-1] if len(name) >= 2 and name[0] == name[-1] == '"' else name


def _column_holding(contact: Contact, text: str, columns=None) -> str | None:
    """The column (of ``columns``, if given) whose cell put ``text`` or part of it into a header."""
    cells = [(c, v) for c, v in contact.fields.items() if v and (columns is None or c in columns)]
    return next((c for c, v in cells if v in text or text in v), None)


def _hidden(relative: Path) -> bool:
    return any(part.startswith(".") for part in relative.parts)


def _is_database(path: Path) -> bool:
    """An SQLite file (``outreach.db`` and its kin hold every contact and message)."""
    try:
        with path.open("rb") as file:
            return file.read(16) == b"SQLite format 3\x00"
    except OSError:
        return False  # reported when its size is read


def readable_size(path: Path, limit: int) -> int:
    """Bytes read from ``path``, stopping once past ``limit``."""
    size = 0
    with path.open("rb") as file:
        while size <= limit and (chunk := file.read(1 << 20)):
            size += len(chunk)
    return size


def default_to(contact: Contact) -> list[Address]:
    """The contact, named from the sheet's name columns, on one line of plain spaces."""
    return [address(" ".join(contact.display_name.split()), contact.email)] if contact.email else []


class Recipient(Address):
    """An Address made from an addr-spec the validator wrote (``validated``, as a plain dot-atom
    it is already the addr-spec), and worked out once: each row's is read by the header writer,
    the read-back check and the recipients list. Made on every row, so without the base class's
    generic ``__init__``; it refuses what that refuses of such parts, a CR or LF."""

    def __init__(self, display_name: str, validated: str):
        if "\r" in display_name or "\n" in display_name or "\r" in validated or "\n" in validated:
            raise ValueError("invalid arguments; address parts cannot contain CR or LF")
        username, at, domain = validated.rpartition("@")
        self._display_name, self._username, self._domain = display_name, username, domain
        self._addr_spec: str = validated if at and domain and DOT_ATOM_ENDS.isdisjoint(username) else \
            Address.addr_spec.fget(self)  # type: ignore[attr-defined]

    @property
    def addr_spec(self) -> str:
        return self._addr_spec


def address(display_name: str, validated: str) -> Address:
    """An Address from an already validated addr-spec, without parsing it a second time."""
    return Recipient(display_name, validated)


PLACEHOLDER_SENDER = Recipient("You", "you@example.org")


def guess_mime_type(path: Path) -> tuple[str, str]:
    mime, encoding = mimetypes.guess_type(path.name)
    if mime is None or encoding is not None:
        return "application", "octet-stream"
    maintype, _, subtype = mime.partition("/")
    return maintype, subtype


def _undefined_name(error: jinja2.UndefinedError) -> str | None:
    match = re.match(r"'([^']+)' is undefined", error.message or "")
    return match.group(1) if match else None

