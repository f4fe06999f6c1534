"""The subject taxonomy: ``config/topics.yaml`` loaded, validated and frozen.

Users edit the file without touching code, so every mistake must point at the place to fix:
each :class:`~etl.errors.TaxonomyError` reads ``<file>:<line>: <what is wrong>``. The file is
parsed with ``yaml.compose`` (not ``safe_load``) because only the node tree keeps line numbers.

Patterns run on every segment of every article, so one that backtracks catastrophically
(``(a|aa)+$``, ``(\\d+)*[a-z]$``) would hang the run. They are compiled with the ``regex``
module (the syntax of ``re``) and guarded twice: loading tries each on adversarial texts
built from its own characters and refuses one that is slow on any, and every search has
a time limit (:class:`GuardedPattern`), so a pattern slow only on some article fails that
article with a ``taxonomy_error`` naming the file and the entry, never the run.

Both limits are on the CPU time of the searching thread, not on the wall clock: a busy
machine, or other threads of a worker holding the interpreter lock, stretch a search's wall
time many times over, and a table must not depend on how busy the machine was. The
``regex`` module's own limit is a wall clock, so it serves as the first check only
(:func:`_within`); a search it stops is run again and judged by its CPU time.
"""

from __future__ import annotations

import functools
import importlib
import re
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, TypeVar

import regex
import yaml

from etl.errors import TaxonomyError
from etl.normalize import match_key
from etl.package_data import data_file

#: The shipped taxonomy (``config/topics.yaml``, package data in the wheel); ``--taxonomy`` overrides it.
DEFAULT_TAXONOMY_PATH: Final = data_file("topics.yaml")

_TOP_KEYS: Final = frozenset({"taxonomy_version", "topics"})
_TOPIC_KEYS: Final = frozenset(
    {"id", "label_ja", "label_en", "parent", "keywords", "patterns", "negative_patterns"}
)
# Ids are written to the subject tables and used in queries: keep them plain identifiers.
_ID_RE: Final = re.compile(r"[a-z][a-z0-9_]*\Z")

#: CPU seconds one search of one text may take. A linear pattern takes microseconds on a
#: paragraph and milliseconds on a 1 MB one; a backtracking one takes years on 5 KB.
MATCH_TIMEOUT: Final = 2.0
#: CPU seconds a pattern may take on one probe text (5,000 characters) when the file is
#: loaded. The shipped patterns take under a millisecond on each.
PROBE_TIMEOUT: Final = 0.05
# CPU seconds all the probes of one pattern may take together.
_PROBE_TOTAL: Final = 10 * PROBE_TIMEOUT * 40
_PROBE_CHARS: Final = 5000
# Characters a probe repeats besides the pattern's own literals: the kinds of text segments
# hold (Latin, digits, kana, kanji, spaces).
_PROBE_BASE: Final = ("a", "A", "1", "あ", "ア", "漢", " ", "a1", "あア")
# Endings that make a match fail at the last character, forcing every alternative.
_PROBE_ENDS: Final = ("", "!", "\x00", "\n")


class PatternTimeout(TaxonomyError):
    """A taxonomy pattern took longer than :data:`MATCH_TIMEOUT` on one text."""


_T = TypeVar("_T")


def _within(call: Callable[[float], _T], limit: float) -> _T:
    """``call(timeout)`` (a ``regex`` search given its wall-clock ``timeout``), which raises
    ``TimeoutError`` only if the search needs ``limit`` seconds of this thread's CPU time.

    The first try has the wall clock as its limit: it costs nothing, and a search it lets
    finish took less CPU time than that. One it stops may only have been kept waiting
    (descheduled, or waiting for the interpreter lock): :func:`_again` decides.

    >>> _within(lambda timeout: regex.search("a+$", "aaa", timeout=timeout), 0.05).group(0)
    'aaa'
    """
    try:
        return call(limit)
    except TimeoutError:
        return _again(call, limit)


def _again(call: Callable[[float], _T], limit: float) -> _T:
    """``call(timeout)`` again, after the wall clock stopped it at ``limit``: judged by the
    CPU time of this thread, with ever longer wall-clock limits, until it either finishes
    within ``limit`` CPU seconds or has used them (``TimeoutError``).

    The verdict is that of an idle machine, whatever the load: a search that needs
    ``limit`` CPU seconds or more fails even where a longer wall-clock limit let it finish.

    >>> _again(lambda timeout: regex.search("a+$", "aaa", timeout=timeout), 0.05).group(0)
    'aaa'
    """
    wall = 2 * limit  # on an idle machine, a search that needs over `limit` is stopped past it
    while True:
        start = time.thread_time()
        try:
            result = call(wall)
        except TimeoutError:
            if time.thread_time() - start >= limit:
                raise
        else:
            if time.thread_time() - start < limit:
                return result
            raise TimeoutError(f"over {limit:g} CPU seconds")
        # Kept waiting again: the thread had too small a share of the CPU for the wall
        # clock. The limit doubles, so on any load this ends after about limit / share.
        wall *= 2


class GuardedPattern:
    """A compiled taxonomy regex whose searches stop after ``timeout`` seconds of CPU time.

    ``where`` names the file and entry, for the error a timeout raises.

    >>> p = GuardedPattern("データを(?:活用|利用)", "topics.yaml:3: topic 'data'")
    >>> p.search("データを活用する").group(0), p.pattern
    ('データを活用', 'データを(?:活用|利用)')
    """

    __slots__ = ("_compiled", "pattern", "timeout", "where")

    pattern: str
    where: str
    timeout: float
    _compiled: Any

    def __init__(self, source: str, where: str, timeout: float = MATCH_TIMEOUT) -> None:
        # Immutable, like the rest of a Taxonomy: attributes are set once, here.
        object.__setattr__(self, "pattern", source)
        object.__setattr__(self, "where", where)
        object.__setattr__(self, "timeout", timeout)
        # VERSION0: the behaviour of `re`, which the file's documentation promises.
        object.__setattr__(self, "_compiled", regex.compile(source, flags=regex.VERSION0))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"GuardedPattern is immutable: cannot set {name!r}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (GuardedPattern, (self.pattern, self.where, self.timeout))

    def _timed_out(self, text: str) -> PatternTimeout:
        return PatternTimeout(
            f"{self.where}: regex {self.pattern!r} took over {self.timeout:g} s on a text of "
            f"{len(text):,} characters (catastrophic backtracking?); rewrite it without nested "
            "repetition such as (a+)+ or (a|aa)*"
        )

    # Each search tries the wall-clock limit first: it costs nothing, and only a search it
    # stops is timed by the CPU clock (_again).

    def search(self, text: str) -> Any:
        """Like ``re.Pattern.search``."""
        try:
            return self._compiled.search(text, timeout=self.timeout)
        except TimeoutError:
            pass
        try:
            return _again(lambda timeout: self._compiled.search(text, timeout=timeout), self.timeout)
        except TimeoutError:
            raise self._timed_out(text) from None

    def fullmatch(self, text: str) -> Any:
        """Like ``re.Pattern.fullmatch``."""
        try:
            return self._compiled.fullmatch(text, timeout=self.timeout)
        except TimeoutError:
            pass
        try:
            return _again(lambda timeout: self._compiled.fullmatch(text, timeout=timeout), self.timeout)
        except TimeoutError:
            raise self._timed_out(text) from None

    def finditer(self, text: str) -> Iterator[Any]:
        """Like ``re.Pattern.finditer`` (the time limit is on each step: finding one match,
        or finding that there is none after the last)."""
        found = 0
        try:
            for m in self._compiled.finditer(text, timeout=self.timeout):
                yield m
                found += 1
            return
        except TimeoutError:
            pass
        try:
            yield from self._finditer_again(text, found)
        except TimeoutError:
            raise self._timed_out(text) from None

    def _finditer_again(self, text: str, skip: int) -> Iterator[Any]:
        """The matches of ``finditer`` after the first ``skip``, once the wall clock stopped
        the step past them: as :func:`_again`, each step judged by its CPU time.

        A stopped scanner cannot go on, so a new one steps over the matches already found.
        Each of those took less than the limit once, and the scanner is deterministic, so
        only waiting can stop one again; the clock is on the new steps alone.
        """
        wall = 2 * self.timeout
        done = 0  # matches found, each within the limit
        scanner: Any = None
        while True:
            start: float | None = None
            try:
                if scanner is None:
                    scanner = self._compiled.finditer(text, timeout=wall)
                    for _ in range(done):
                        next(scanner)
                start = time.thread_time()
                m = next(scanner, None)
            except TimeoutError:
                if start is not None and time.thread_time() - start >= self.timeout:
                    raise
                scanner, wall = None, wall * 2  # kept waiting: a longer wall-clock limit
                continue
            if time.thread_time() - start >= self.timeout:
                raise TimeoutError(f"over {self.timeout:g} CPU seconds")
            if m is None:
                return
            done += 1
            if done > skip:
                yield m

    def __repr__(self) -> str:
        return f"GuardedPattern({self.pattern!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GuardedPattern) and other.pattern == self.pattern

    def __hash__(self) -> int:
        return hash(self.pattern)


def _probes(source: str) -> Iterator[str]:
    """Texts on which a backtracking pattern is slow: long runs of the characters it names
    (and of common ones), each ended so that a match fails at the last character."""
    literals = [ch for ch in dict.fromkeys(source) if ch.isalnum() or ch in " -_/.,:"][:16]
    units = [*_PROBE_BASE, *literals]
    if len(literals) > 1:
        units.append("".join(literals))
    for unit in units:
        run = unit * (_PROBE_CHARS // len(unit))
        for end in _PROBE_ENDS:
            yield run + end


def _search(compiled: Any, text: str, timeout: float) -> Any:
    return compiled.search(text, timeout=timeout)


def backtracks(pattern: GuardedPattern) -> str | None:
    """A probe text on which ``pattern`` is too slow (over :data:`PROBE_TIMEOUT` of CPU time), or ``None``.

    >>> backtracks(GuardedPattern("(a|aa)+$", "x")) is not None, backtracks(GuardedPattern("データ", "x"))
    (True, None)
    """
    compiled = pattern._compiled  # the bare search: a probe's timeout is no error here
    # CPU time, like each probe's limit (_within): a busy machine must not refuse a pattern.
    deadline = time.thread_time() + _PROBE_TOTAL
    for probe in _probes(pattern.pattern):
        try:
            _within(functools.partial(_search, compiled, probe), PROBE_TIMEOUT)
        except TimeoutError:
            return probe
        if time.thread_time() > deadline:  # slow overall, though no single probe timed out
            return probe
    return None


# Ways times characters up to which a pattern without unbounded repetition is known to
# be cheap at every position of any text: the probes are for the others.
_BOUNDED_WORK: Final = 4096


def _cannot_backtrack(source: str) -> bool:
    """Whether ``source`` is sure to be fast on any text, so :func:`backtracks` need not
    probe it: no unbounded repetition, no repeated group, and few ways to match at one
    position (the branches and bounded single-character repeats multiplied, times the
    pattern's length, at most :data:`_BOUNDED_WORK`).

    Catastrophic backtracking needs a repetition the engine can split many ways ((a+)+,
    (a|aa)*, \\d+\\d+$): such a pattern is never classed here and is always probed. A pattern
    with an ASCII punctuation literal is probed too (``re`` reads some ``regex`` syntax,
    such as fuzzy ``{e<=1}``, as literal characters).

    >>> _cannot_backtrack("データを(?:活用|利用)"), _cannot_backtrack(r"(?a)\\bGSS\\b")
    (True, True)
    >>> _cannot_backtrack("(a|aa)+$"), _cannot_backtrack(r"\\d+年"), _cannot_backtrack("a{e<=1}")
    (False, False, False)
    """
    try:
        with warnings.catch_warnings():  # re.compile at loading has warned already
            warnings.simplefilter("ignore")
            items = _RE_PARSER.parse(source, 0).data
    except Exception:  # whatever re cannot read is probed
        return False
    ways = _ways(items)
    return ways is not None and ways * len(source) <= _BOUNDED_WORK


def _ways(items: Any) -> int | None:
    """An upper bound on the ways a parsed sequence can match from one position (``None``:
    no bound known)."""
    c = _RE_PARSER
    total = 1
    for op, arg in items:
        if op is c.LITERAL:
            ch = chr(arg)
            if ch.isascii() and not ch.isalnum():
                return None
            continue
        if op in (c.NOT_LITERAL, c.IN, c.ANY, c.CATEGORY, c.AT, c.GROUPREF):
            continue  # one character, an assertion or a backreference: one way
        n: int | None
        if op is c.SUBPATTERN:
            n = _ways(arg[3].data)
        elif op is c.BRANCH:
            branches = [_ways(b.data) for b in arg[1]]
            n = None if None in branches else sum(b for b in branches if b is not None)
        elif op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT):
            low, high, sub = arg
            single = len(sub.data) == 1 and sub.data[0][0] in (
                c.NOT_LITERAL,
                c.IN,
                c.ANY,
                c.CATEGORY,
                c.LITERAL,
            )
            if high is c.MAXREPEAT or not single or _ways(sub.data) is None:
                return None
            n = high - low + 1
        elif op in (c.ASSERT, c.ASSERT_NOT):
            n = _ways(arg[1].data)
        elif op is c.ATOMIC_GROUP:
            n = _ways(arg.data)
        else:
            return None
        if n is None:
            return None
        total *= n
    return total


@dataclass(frozen=True, slots=True)
class Topic:
    """One subject of the taxonomy.

    >>> t = Topic("dx", "DX", "Digital transformation", None, ("デジタル化",), (), ())
    >>> t.keywords
    ('デジタル化',)
    """

    id: str
    label_ja: str
    label_en: str
    parent_id: str | None
    keywords: tuple[str, ...]
    patterns: tuple[GuardedPattern, ...]
    negative_patterns: tuple[GuardedPattern, ...]


@dataclass(frozen=True, slots=True)
class Taxonomy:
    """A validated taxonomy: topics in file order, ids unique, parents acyclic.

    >>> tax = load_taxonomy()
    >>> tax.get("open_data").parent_id
    'data_utilization'
    """

    version: str
    topics: tuple[Topic, ...]
    source: str

    @property
    def ids(self) -> tuple[str, ...]:
        """Topic ids in file order."""
        return tuple(t.id for t in self.topics)

    def get(self, topic_id: str) -> Topic:
        """The topic with this id (``KeyError`` if there is none).

        >>> load_taxonomy().get("dx").label_en
        'Digital transformation'
        """
        for topic in self.topics:
            if topic.id == topic_id:
                return topic
        raise KeyError(topic_id)

    def ancestors(self, topic_id: str) -> tuple[str, ...]:
        """Parent, grand-parent, ... of a topic, nearest first (for roll-ups).

        >>> load_taxonomy().ancestors("dashboard")
        ('data_utilization',)
        """
        out: list[str] = []
        parent = self.get(topic_id).parent_id
        while parent is not None:  # terminates: load_taxonomy rejects cycles
            out.append(parent)
            parent = self.get(parent).parent_id
        return tuple(out)


def load_taxonomy(path: str | Path | None = None) -> Taxonomy:
    """Load and validate a taxonomy file; ``None`` means the project's ``config/topics.yaml``.

    Raises :class:`~etl.errors.TaxonomyError` naming the file and line of the first problem.

    >>> tax = load_taxonomy()
    >>> tax.version, "government_cloud" in tax.ids
    ('1', True)
    """
    file = Path(path) if path is not None else DEFAULT_TAXONOMY_PATH
    source = str(file)
    try:
        raw = file.read_bytes()
    except OSError as exc:
        hint = "" if path is not None else " (the default taxonomy; pass a path explicitly)"
        raise TaxonomyError(f"{source}: cannot read taxonomy file{hint}: {exc.strerror or exc}") from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise TaxonomyError(f"{source}:{line}: not UTF-8 text: {exc.reason}") from exc
    return _Loader(source).load(text)


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


class _Loader:
    """Walks the YAML node tree, so each check can name the line of the node it rejects."""

    def __init__(self, source: str) -> None:
        self.source = source
        # Used only to turn scalar nodes into Python values with YAML's own typing rules
        # (so `keywords: [yes]` is reported as a bool, exactly as safe_load would read it).
        self._constructor = yaml.SafeLoader("")

    def error(self, node_or_line: yaml.Node | int, message: str) -> TaxonomyError:
        line = node_or_line if isinstance(node_or_line, int) else _line(node_or_line)
        return TaxonomyError(f"{self.source}:{line}: {message}")

    def load(self, text: str) -> Taxonomy:
        try:
            root = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark is not None else 1
            problem = exc.problem or "invalid YAML"
            if exc.context:  # e.g. "while parsing a flow sequence", and where that began
                began = exc.context_mark.line + 1 if exc.context_mark is not None else line
                problem += f" ({exc.context}" + (f" started at line {began})" if began != line else ")")
            raise self.error(line, f"YAML syntax error: {problem}") from exc
        except yaml.YAMLError as exc:  # e.g. a reader error on a control character
            raise self.error(1, f"YAML error: {exc}") from exc
        if root is None:
            raise self.error(1, "empty taxonomy file (expected taxonomy_version and topics)")
        if not isinstance(root, yaml.MappingNode):
            raise self.error(root, "the top level must be a mapping with taxonomy_version and topics")
        fields = self.mapping(root, _TOP_KEYS, "top-level")

        if "taxonomy_version" not in fields:
            raise self.error(root, 'missing taxonomy_version (e.g. taxonomy_version: "1")')
        version_node = fields["taxonomy_version"]
        version = self.scalar(version_node)
        if not isinstance(version, str) or not version.strip():
            raise self.error(version_node, 'taxonomy_version must be a non-empty string; quote it: "1"')

        if "topics" not in fields:
            raise self.error(root, "missing topics (a list of topic entries)")
        topics_node = fields["topics"]
        if not isinstance(topics_node, yaml.SequenceNode) or not topics_node.value:
            raise self.error(topics_node, "topics must be a non-empty list of topic entries")

        topics: list[Topic] = []
        first_line: dict[str, int] = {}
        parent_nodes: dict[str, yaml.Node] = {}
        for entry in topics_node.value:
            topic, id_node, parent_node = self.topic(entry)
            if topic.id in first_line:
                raise self.error(
                    id_node, f"duplicate topic id {topic.id!r} (first defined at line {first_line[topic.id]})"
                )
            first_line[topic.id] = _line(id_node)
            if parent_node is not None:
                parent_nodes[topic.id] = parent_node
            topics.append(topic)

        self.check_parents(topics, parent_nodes)
        return Taxonomy(version=version.strip(), topics=tuple(topics), source=self.source)

    def mapping(self, node: yaml.MappingNode, allowed: frozenset[str], what: str) -> dict[str, yaml.Node]:
        """Key -> value node; rejects unknown and repeated keys (YAML would keep the last silently)."""
        out: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            key = self.scalar(key_node)
            if not isinstance(key, str):
                raise self.error(key_node, f"{what} keys must be strings, got {key!r}")
            if key not in allowed:
                raise self.error(
                    key_node, f"unknown {what} key {key!r} (allowed: {', '.join(sorted(allowed))})"
                )
            if key in out:
                raise self.error(key_node, f"{what} key {key!r} is given twice")
            out[key] = value_node
        return out

    def scalar(self, node: yaml.Node) -> object:
        try:
            return self._constructor.construct_object(node, deep=True)
        except yaml.MarkedYAMLError as exc:  # an unsupported tag such as !!python/object
            raise self.error(node, f"cannot read value: {exc.problem}") from exc

    def text(self, node: yaml.Node, what: str, where: str = "") -> str:
        value = self.scalar(node)
        if not isinstance(value, str) or not value.strip():
            raise self.error(node, f"{where}{what} must be a non-empty string, got {value!r}")
        return value.strip()

    def strings(self, node: yaml.Node, what: str, where: str) -> Iterator[tuple[str, yaml.Node]]:
        if isinstance(node, yaml.ScalarNode) and self.scalar(node) is None:
            return  # `keywords:` with nothing after it: an empty list
        if not isinstance(node, yaml.SequenceNode):
            raise self.error(node, f"{where}: {what} must be a list, e.g. {what}: [a, b]")
        for item in node.value:
            value = self.scalar(item)
            if not isinstance(value, str):
                # Unquoted yes/no/1.5 become bool/float in YAML: tell the user to quote them.
                raise self.error(item, f"{where}: {what} entries must be strings, got {value!r}; quote it")
            yield value, item

    def topic(self, entry: yaml.Node) -> tuple[Topic, yaml.Node, yaml.Node | None]:
        if not isinstance(entry, yaml.MappingNode):
            raise self.error(entry, "each topic must be a mapping (id, label_ja, keywords, ...)")
        fields = self.mapping(entry, _TOPIC_KEYS, "topic")
        if "id" not in fields:
            raise self.error(entry, "topic without an id")
        id_node = fields["id"]
        topic_id = self.text(id_node, "id")
        if not _ID_RE.match(topic_id):
            raise self.error(id_node, f"topic id {topic_id!r} must be lower_snake_case ([a-z][a-z0-9_]*)")
        where = f"topic {topic_id!r}"
        if "label_ja" not in fields:
            raise self.error(entry, f"{where} has no label_ja")
        label_ja = self.text(fields["label_ja"], "label_ja", f"{where}: ")
        label_en = (
            self.text(fields["label_en"], "label_en", f"{where}: ") if "label_en" in fields else topic_id
        )

        parent_node = fields.get("parent")
        parent_id: str | None = None
        if parent_node is not None and self.scalar(parent_node) is not None:
            parent_id = self.text(parent_node, "parent", f"{where}: ")
        else:
            parent_node = None

        keywords: list[str] = []
        for keyword, node in self.strings(fields.get("keywords", _EMPTY), "keywords", where):
            if not match_key(keyword):
                raise self.error(node, f"{where}: empty keyword")
            keywords.append(keyword.strip())
        patterns = tuple(self.regexes(fields.get("patterns", _EMPTY), "patterns", where))
        negative = tuple(self.regexes(fields.get("negative_patterns", _EMPTY), "negative_patterns", where))
        if not keywords and not patterns:
            raise self.error(entry, f"{where} has no keywords and no patterns, so it could never match")
        topic = Topic(topic_id, label_ja, label_en, parent_id, tuple(keywords), patterns, negative)
        return topic, id_node, parent_node

    def regexes(self, node: yaml.Node, what: str, where: str) -> Iterator[GuardedPattern]:
        for source, item in self.strings(node, what, where):
            place = f"{self.source}:{_line(item)}: {where}"
            try:
                re.compile(source)  # the file promises Python's syntax: refuse anything else
                compiled = GuardedPattern(source, place)
            except (re.error, regex.error) as exc:
                raise self.error(item, f"{where}: bad regex {source!r} in {what}: {exc}") from exc
            # A pattern that matches "" would tag (or, negative, suppress) every text.
            if compiled.search("") is not None:
                raise self.error(item, f"{where}: regex {source!r} in {what} matches the empty string")
            probe = None if _cannot_backtrack(source) else backtracks(compiled)
            if probe is not None:
                shown = probe[:12] + ("…" if len(probe) > 12 else "")
                raise self.error(
                    item,
                    f"{where}: regex {source!r} in {what} backtracks catastrophically (over "
                    f"{PROBE_TIMEOUT:g} s on {len(probe):,} characters of {shown!r}); rewrite it "
                    "without nested repetition such as (a+)+ or (a|aa)*",
                )
            yield compiled

    def check_parents(self, topics: list[Topic], parent_nodes: dict[str, yaml.Node]) -> None:
        parents = {t.id: t.parent_id for t in topics}
        for topic in topics:
            if topic.parent_id is not None and topic.parent_id not in parents:
                raise self.error(
                    parent_nodes[topic.id], f"topic {topic.id!r}: unknown parent {topic.parent_id!r}"
                )
        for topic in topics:  # file order, so the first topic of a cycle is the one reported
            chain = [topic.id]
            parent = topic.parent_id
            while parent is not None:
                if parent == topic.id:
                    cycle = " -> ".join([*chain, parent])
                    raise self.error(parent_nodes[topic.id], f"parent cycle: {cycle}")
                if parent in chain:
                    break  # a cycle not through this topic: reported when its own member is checked
                chain.append(parent)
                parent = parents[parent]


# Stands in for an absent optional list: a null scalar, which strings() reads as "no items".
_EMPTY: Final = yaml.ScalarNode("tag:yaml.org,2002:null", "")


# Global flags a pattern may open with and still be searched in a group (see PatternGate);
# the verbose flag (x) changes how the rest reads, and locale (L) is for bytes.
_GATE_FLAGS: Final = re.compile(r"\(\?([aimsu]+)\)")
# What may follow "(?" in a grouped pattern: non-capturing, lookaround, named groups,
# comments and scoped flags, whose meaning does not depend on the rest of the pattern.
_GATE_GROUPS: Final = re.compile(r"\(\?(?::|=|!|<=|<!|P<|<[A-Za-z_]|#|[aimsu-]+:)")


def _gate_parts(source: str) -> tuple[str, str] | None:
    """``(flags, body)`` of a pattern that means the same inside an alternation, else ``None``.

    A backreference (by number or name), a recursion, a conditional or a global flag past
    the start refer to the whole pattern, so such a pattern is never grouped.

    >>> _gate_parts("(?ia)GSS|PC"), _gate_parts("(?P<x>a)(?P=x)"), _gate_parts("a(?i)b")
    (('ai', 'GSS|PC'), None, None)
    """
    flags = ""
    m = _GATE_FLAGS.match(source)
    if m:
        flags, source = "".join(sorted(set(m.group(1)))), source[m.end() :]
    i = 0
    while i < len(source):
        ch = source[i]
        if ch == "\\":
            nxt = source[i + 1 : i + 2]
            if (nxt.isdigit() and nxt != "0") or nxt in ("g", "k"):
                return None
            i += 2
            continue
        if source.startswith("(?", i) and (source.startswith("(?P=", i) or not _GATE_GROUPS.match(source, i)):
            return None
        i += 1
    return flags, source


# re's own parser (the syntax the file promises), to read which characters a match must hold.
_RE_PARSER: Final[Any] = importlib.import_module("re._parser")


def _needle(body: str) -> str | None:
    """A string every match of the pattern ``body`` contains, or ``None`` if none is known.

    It is the longest run of literal characters at the pattern's top level (outside groups,
    alternatives, repetitions and lookarounds), which every match spells out in order. A
    pattern with an ASCII punctuation literal there gets none: `re` reads some syntax only
    the ``regex`` module knows (``{e<=1}``, ``[[:alpha:]]``) as literal characters.

    >>> _needle("データを(?:活用|利用)"), _needle(r"\\bGSS\\b"), _needle("(?:a|b)+"), _needle("a{e<=1}")
    ('データを', 'GSS', None, None)
    """
    try:
        with warnings.catch_warnings():  # re.compile at loading has warned already
            warnings.simplefilter("ignore")
            items = _RE_PARSER.parse(body, 0).data
    except Exception:  # whatever re cannot read gets no needle
        return None
    best = run = ""
    for op, arg in items:
        if op is not _RE_PARSER.LITERAL:
            run = ""
            continue
        ch = chr(arg)
        if ch.isascii() and not ch.isalnum():
            return None
        run += ch
        if len(run) > len(best):
            best = run
    return best or None


class PatternGate:
    """A cheap test of which of some patterns cannot match a text.

    Patterns run on every segment, and most segments match none: the patterns with the
    same flags are searched as one alternation first, and only when it finds something are
    they run one by one. An alternation finds a match wherever one of its members does
    (each is tried at every position), so a miss means none of them matches; the results
    are those of the patterns themselves. A pattern whose meaning could change inside an
    alternation (:func:`_gate_parts`) is always live.

    >>> tax = load_taxonomy()
    >>> gate = PatternGate(p for t in tax.topics for p in (*t.patterns, *t.negative_patterns))
    >>> len(gate.live("GSSの業務")), gate.live("散歩")
    (5, frozenset())
    """

    def __init__(self, patterns: Iterable[GuardedPattern]) -> None:
        always: set[GuardedPattern] = set()
        by_flags: dict[str, dict[GuardedPattern, str]] = {}
        for pattern in patterns:
            parts = _gate_parts(pattern.pattern)
            if parts is None:
                always.add(pattern)
            else:
                by_flags.setdefault(parts[0], {}).setdefault(pattern, parts[1])
        self._groups: list[tuple[Any, frozenset[GuardedPattern]]] = []
        # Per group, strings one of which every match holds (None: no such list): a text
        # holding none of them is a miss without a search (which would have found nothing).
        self._needles: list[tuple[str, ...] | None] = []
        for flags, members in by_flags.items():
            source = (f"(?{flags})" if flags else "") + "|".join(f"(?:{body})" for body in members.values())
            try:
                compiled = regex.compile(source, flags=regex.VERSION0)
            except (regex.error, ValueError, OverflowError, RecursionError):
                always.update(members)
                continue
            self._groups.append((compiled, frozenset(members)))
            # Only where every member is sure to be fast (_cannot_backtrack): a slow one's
            # search must still run and fail its text by its time limit.
            needles = [
                _needle(body) if "i" not in flags and _cannot_backtrack(p.pattern) else None
                for p, body in members.items()
            ]
            self._needles.append(None if None in needles else tuple(dict.fromkeys(n for n in needles if n)))
        self._always = frozenset(always)
        self._by_mask: dict[int, frozenset[GuardedPattern]] = {}

    def live(self, text: str) -> frozenset[GuardedPattern]:
        """The patterns that may match ``text`` (all that do, and perhaps a few more)."""
        mask = 0
        for bit, (compiled, _) in enumerate(self._groups):
            needles = self._needles[bit]
            if needles is not None and not any(map(text.__contains__, needles)):
                continue
            try:
                found = compiled.search(text, timeout=MATCH_TIMEOUT) is not None
            except TimeoutError:
                # The wall clock is enough here, however busy the machine: a stopped search
                # only means "maybe", and the patterns then decide, under their own limit.
                found = True
            if found:
                mask |= 1 << bit
        out = self._by_mask.get(mask)
        if out is None:
            chosen = [g for bit, (_, g) in enumerate(self._groups) if mask >> bit & 1]
            out = self._by_mask[mask] = self._always.union(*chosen)
        return out
