"""The facet lexicon: ``config/facets.yaml`` loaded, validated and frozen.

Like the subject taxonomy, the facets are the user's to edit: which words in a heading, a
question or a paragraph say that it is about a career, the current work, a motivation ...
Every mistake is reported as ``<file>:<line>: <what is wrong>`` (a
:class:`~etl.errors.TaxonomyError`, the same error the taxonomy raises).

A cue set holds ``lemmas`` (literal words, matched on the NFKC text and on the UniDic
dictionary forms of its morphemes, so 入社 matches 入社した and 勤める matches 勤めて) and
``patterns`` (regular expressions searched in the NFKC text).
"""

from __future__ import annotations

import itertools
import operator
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Final

import ahocorasick
import yaml

from etl.errors import TaxonomyError
from etl.model import FACETS
from etl.morph import Memo, analyse_text, tokenize
from etl.package_data import data_file
from etl.taxonomy import _EMPTY, GuardedPattern, PatternGate, _line, _Loader

#: The project's facet lexicon, beside the taxonomy (loaded the way topics.yaml is).
DEFAULT_FACETS_PATH: Final = data_file("facets.yaml")

_TOP_KEYS: Final = frozenset({"facets_version", "facets", "work_story"})
_FACET_KEYS: Final = frozenset({"id", "label_ja", "label_en", "work_only", "heading", "content"})
_CUE_KEYS: Final = frozenset({"lemmas", "weak", "patterns", "negative_patterns"})
_WORK_KEYS: Final = frozenset({"lemmas", "patterns", "min_distinct"})
_ID_RE: Final = re.compile(r"[a-z][a-z0-9_]*\Z")
_INFLECTING: Final = frozenset({"動詞", "形容詞", "助動詞"})
#: Texts whose cues a :class:`CueIndex` remembers (then it starts afresh).
_MEMO_MAX: Final = 4096


@dataclass(frozen=True, slots=True)
class CueHit:
    """One cue found in a text: where it ends (character offset in the NFKC text) and its words."""

    start: int
    end: int
    words: str
    weak: bool = False


@dataclass(frozen=True, slots=True)
class CueSet:
    """Lemmas and patterns of one kind of evidence.

    >>> cues = CueSet.build(("入社",), ())
    >>> [h.words for h in cues.find("2020年に入社しました")]
    ['入社']
    """

    lemmas: tuple[str, ...]
    patterns: tuple[GuardedPattern, ...]
    lemma_bases: tuple[tuple[str, ...], ...]
    weak: frozenset[str] = frozenset()  # lemmas that decide only where no other cue does
    negative: tuple[GuardedPattern, ...] = ()  # a text one of these matches has none of the cues
    # Built once: every lemma in one regex (longest first, so 最後に wins over 最後 at a
    # place), and the inflecting lemmas by their first dictionary form.
    literal: re.Pattern[str] | None = None
    by_first_base: Mapping[str, tuple[tuple[str, tuple[str, ...]], ...]] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        lemmas: tuple[str, ...],
        patterns: tuple[GuardedPattern, ...],
        weak: tuple[str, ...] = (),
        negative: tuple[GuardedPattern, ...] = (),
    ) -> CueSet:
        """A cue set with each lemma's dictionary forms worked out once."""
        every = tuple(dict.fromkeys(unicodedata.normalize("NFKC", x) for x in (*lemmas, *weak)))
        bases = tuple(_bases(lemma)[0] for lemma in every)
        weak_set = frozenset(unicodedata.normalize("NFKC", x) for x in weak)
        literal = None
        if every:
            alternatives = "|".join(re.escape(x) for x in sorted(every, key=len, reverse=True))
            literal = re.compile(f"(?=({alternatives}))")
        index: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
        for lemma, want in zip(every, bases, strict=True):
            # Only a word that inflects (勤める: 勤めて, 勤めた) can occur in another spelling.
            if want and any(t.pos1 in _INFLECTING or t.base != t.surface for t in tokenize(lemma)):
                index.setdefault(want[0], []).append((lemma, want))
        by_first = {k: tuple(v) for k, v in index.items()}
        return cls(every, patterns, bases, weak_set, negative, literal, by_first)

    def __bool__(self) -> bool:
        return bool(self.lemmas or self.patterns)

    def find(self, text: str) -> list[CueHit]:
        """Every cue in ``text`` (NFKC-normalised here), in order of position.

        At one place the longest lemma counts; a lemma found both literally and by
        dictionary form counts once.
        """
        norm = unicodedata.normalize("NFKC", text)
        if any(rx.search(norm) for rx in self.negative):
            return []
        hits: dict[tuple[int, str], CueHit] = {}
        if self.literal is not None:
            for m in self.literal.finditer(norm):
                lemma, pos = m.group(1), m.start()
                hits[(pos, lemma)] = CueHit(pos, pos + len(lemma), lemma, lemma in self.weak)
        if self.by_first_base:
            text_bases, offsets = _bases(norm)
            starts = {k[0] for k in hits}
            for i, base in enumerate(text_bases):
                for lemma, want in self.by_first_base.get(base, ()):
                    n = len(want)
                    if text_bases[i : i + n] != want:
                        continue
                    start, end = offsets[i][0], offsets[i + n - 1][1]
                    if not ({start - 1, start, start + 1} & starts):
                        hits[(start, lemma)] = CueHit(start, end, norm[start:end], lemma in self.weak)
        for rx in self.patterns:
            for m in rx.finditer(norm):
                if m.end() > m.start():
                    hits.setdefault((m.start(), rx.pattern), CueHit(m.start(), m.end(), m.group(0)))
        return sorted(hits.values(), key=lambda h: (h.start, -h.end))


class CueIndex:
    """Several cue sets (every facet's heading cues, say) searched in one pass per text.

    ``find_all(text)[k]`` is ``sets[k].find(text)``: the text is normalised and analysed
    once, every lemma of every set is found by one Aho-Corasick automaton (the longest
    lemma of a set at each place, as the set's own regex finds it), and the patterns no
    text position can match are skipped (:class:`~etl.taxonomy.PatternGate`).

    >>> idx = CueIndex((CueSet.build(("入社",), ()), CueSet.build(("仕事", "仕事場"), ())))
    >>> [[h.words for h in hits] for hits in idx.find_all("入社して仕事場へ")]
    [['入社'], ['仕事場']]
    """

    def __init__(self, sets: Sequence[CueSet]) -> None:
        self.sets = tuple(sets)
        owners: dict[str, list[int]] = {}
        by_base: dict[str, list[tuple[int, str, tuple[str, ...]]]] = {}
        for k, cues in enumerate(self.sets):
            for lemma in cues.lemmas:
                owners.setdefault(lemma, []).append(k)
            for base, entries in cues.by_first_base.items():
                by_base.setdefault(base, []).extend((k, lemma, want) for lemma, want in entries)
        # An empty lemma would match everywhere in the set's regex and nowhere here.
        self._exact = "" not in owners
        self._automaton: ahocorasick.Automaton | None = None
        if owners:
            self._automaton = ahocorasick.Automaton()
            for lemma, ks in owners.items():
                self._automaton.add_word(lemma, (len(lemma), lemma, tuple(ks)))
            self._automaton.make_automaton()
        self._by_base = {base: tuple(v) for base, v in by_base.items()}
        self._gate = PatternGate(rx for cues in self.sets for rx in (*cues.patterns, *cues.negative))
        self._memo: dict[str, tuple[tuple[CueHit, ...], ...]] = {}

    def find_all(self, text: str) -> list[list[CueHit]]:
        """Every set's cues in ``text``, as :meth:`CueSet.find` finds them."""
        return [list(hits) for hits in self.found(text)]

    def found(self, text: str) -> tuple[tuple[CueHit, ...], ...]:
        """:meth:`find_all` as tuples, shared: for callers that only read the hits.

        >>> idx = CueIndex((CueSet.build(("入社",), ()),))
        >>> idx.found("入社して") == tuple(map(tuple, idx.find_all("入社して")))
        True
        """
        # A paragraph is asked about up to four times (heading-like, content, career ...).
        known = self._memo.get(text)
        if known is None:
            if self._exact:
                known = tuple(tuple(hits) for hits in self._find_all(text))
            else:
                known = tuple(tuple(cues.find(text)) for cues in self.sets)
            if len(self._memo) >= _MEMO_MAX:
                self._memo.clear()
            self._memo[text] = known
        return known

    def _find_all(self, text: str) -> list[list[CueHit]]:
        norm = unicodedata.normalize("NFKC", text)
        n_sets = len(self.sets)
        # set -> start -> the longest lemma of the set starting there
        longest: list[dict[int, str]] = [{} for _ in range(n_sets)]
        if self._automaton is not None:
            for end, (length, lemma, ks) in self._automaton.iter(norm):
                start = end + 1 - length
                for k in ks:
                    cur = longest[k].get(start)
                    if cur is None or length > len(cur):
                        longest[k][start] = lemma
        # set -> (token index, lemma, its dictionary forms) for inflecting lemmas, in the
        # order the set's own loop meets them
        by_base: list[list[tuple[int, str, tuple[str, ...]]]] = [[] for _ in range(n_sets)]
        text_bases: tuple[str, ...] = ()
        offsets: tuple[tuple[int, int], ...] = ()
        # Most texts hold no morpheme an inflecting lemma starts with: their symbols left in,
        # the dictionary forms are compared in C before any span is worked out.
        if self._by_base and any(
            not self._by_base.keys().isdisjoint(map(_BASE, tokens)) for tokens in analyse_text(norm).tokens
        ):
            text_bases, offsets = _bases(norm)
            index = self._by_base
            for i, base in enumerate(text_bases):
                entries = index.get(base)
                if entries:
                    for k, lemma, want in entries:
                        by_base[k].append((i, lemma, want))
        live = self._gate.live(norm)
        out: list[list[CueHit]] = []
        for k, cues in enumerate(self.sets):
            if any(rx.search(norm) for rx in cues.negative if rx in live):
                out.append([])
                continue
            found = longest[k]
            hits: dict[tuple[int, str], CueHit] = {}
            for pos in sorted(found):
                lemma = found[pos]
                hits[(pos, lemma)] = CueHit(pos, pos + len(lemma), lemma, lemma in cues.weak)
            if by_base[k]:
                starts = set(found)
                for i, lemma, want in by_base[k]:
                    n = len(want)
                    if text_bases[i : i + n] != want:
                        continue
                    start, end = offsets[i][0], offsets[i + n - 1][1]
                    if not ({start - 1, start, start + 1} & starts):
                        hits[(start, lemma)] = CueHit(start, end, norm[start:end], lemma in cues.weak)
            for rx in cues.patterns:
                if rx not in live:
                    continue
                for m in rx.finditer(norm):
                    if m.end() > m.start():
                        hits.setdefault((m.start(), rx.pattern), CueHit(m.start(), m.end(), m.group(0)))
            out.append(sorted(hits.values(), key=lambda h: (h.start, -h.end)) if hits else [])
        return out


@lru_cache(maxsize=4096)
def _bases(text: str) -> tuple[tuple[str, ...], tuple[tuple[int, int], ...]]:
    """Dictionary forms of the morphemes of ``text`` (symbols left out) and their spans.

    The morphemes are those of ``text``'s whitespace-separated pieces, as the subject
    matcher and the keyphrases read them (:func:`~etl.morph.analyse_text`): a segment's
    text is analysed once for every stage.

    >>> _bases("入社して 勤めた")
    (('入社', 'する', 'て', '勤める', 'た'), ((0, 2), (2, 3), (3, 4), (5, 7), (7, 8)))
    """
    bases: list[str] = []
    spans: list[tuple[int, int]] = []
    pos = 0
    for tokens in analyse_text(text).tokens:
        surfaces = list(map(_SURFACE, tokens))
        start = text.find(surfaces[0], pos) if surfaces else -1
        if start >= 0 and text.startswith("".join(surfaces), start):
            # The usual case: the piece's morphemes spell it out from where its first one
            # is found, so each is found right where the one before ends (what the loop
            # below finds, worked out in C).
            ends = list(itertools.accumulate(map(len, surfaces), initial=start))
            keep = list(map(_NOT_SYMBOL.__getitem__, map(_POS1, tokens)))
            bases.extend(itertools.compress(map(_BASE, tokens), keep))
            spans.extend(itertools.compress(itertools.pairwise(ends), keep))
            pos = ends[-1]
            continue
        for tok in tokens:
            at = text.find(tok.surface, pos)
            if at < 0:
                continue
            pos = at + len(tok.surface)
            if not tok.pos1.startswith(_SYMBOLS):
                bases.append(tok.base)
                spans.append((at, pos))
    return tuple(bases), tuple(spans)


_SYMBOLS: Final = ("補助記号", "空白")
_SURFACE: Final = operator.itemgetter(0)  # Token.surface, read in C
_POS1: Final = operator.itemgetter(1)
_BASE: Final = operator.itemgetter(5)
# pos1 -> whether its morphemes count (not a symbol nor a space); a few dozen values.
_NOT_SYMBOL: Final[Memo[str, bool]] = Memo(lambda pos1: not pos1.startswith(_SYMBOLS), 10_000)


@dataclass(frozen=True, slots=True)
class FacetDef:
    """One facet: its id, labels and the cues of its headings/questions and of its content."""

    id: str
    label_ja: str
    label_en: str
    work_only: bool
    heading: CueSet
    content: CueSet


@dataclass(frozen=True, slots=True)
class FacetConfig:
    """A validated facet lexicon, facets in file order.

    >>> cfg = load_facet_config()
    >>> "career" in cfg.ids and "other" in cfg.ids
    True
    """

    version: str
    facets: tuple[FacetDef, ...]
    work_story: CueSet
    work_min_distinct: int
    source: str
    # Built once: the facets' heading and content cues, each kind searched in one pass.
    heading_cues: CueIndex = field(init=False, repr=False, compare=False)
    content_cues: CueIndex = field(init=False, repr=False, compare=False)
    work_cues: CueIndex = field(init=False, repr=False, compare=False)  # work_story alone
    # facet id -> its rank among heading cues that end at one place: message first, then
    # file order (see facets.heading_facets).
    heading_rank: Mapping[str, tuple[int, int]] = field(init=False, repr=False, compare=False)
    # What facets.heading_facets and facets.content_facet found in a text, remembered (they
    # are functions of the text and this lexicon; headings and closing lines recur).
    heading_memo: dict[str, tuple[tuple[str, str], ...]] = field(init=False, repr=False, compare=False)
    content_memo: dict[tuple[str, tuple[str, ...] | None], tuple[str, tuple[str, ...]] | None] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "heading_cues", CueIndex(tuple(f.heading for f in self.facets)))
        object.__setattr__(self, "content_cues", CueIndex(tuple(f.content for f in self.facets)))
        object.__setattr__(self, "work_cues", CueIndex((self.work_story,)))
        rank = {f.id: (0 if f.id == "message" else 1, i) for i, f in enumerate(self.facets)}
        object.__setattr__(self, "heading_rank", rank)
        object.__setattr__(self, "heading_memo", {})
        object.__setattr__(self, "content_memo", {})

    @property
    def ids(self) -> tuple[str, ...]:
        """Facet ids in file order."""
        return tuple(f.id for f in self.facets)


@lru_cache(maxsize=8)
def _load_cached(path: str, _stamp: tuple[int, int]) -> FacetConfig:
    return _load(Path(path), explicit=path != str(DEFAULT_FACETS_PATH))


def load_facet_config(path: str | Path | None = None) -> FacetConfig:
    """Load and validate a facet file; ``None`` means the project's ``config/facets.yaml``.

    Cached per path and modification time: every article asks for it, and an edited file
    is read again.

    >>> load_facet_config().version
    '1'
    """
    file = Path(path) if path is not None else DEFAULT_FACETS_PATH
    try:
        st = file.stat()
        stamp = (st.st_mtime_ns, st.st_size)
    except OSError:
        stamp = (0, 0)  # _load reports the unreadable file
    return _load_cached(str(file), stamp)


def _load(file: Path, *, explicit: bool) -> FacetConfig:
    source = str(file)
    try:
        raw = file.read_bytes()
    except OSError as exc:
        hint = "" if explicit else " (the default facet file)"
        raise TaxonomyError(f"{source}: cannot read facet file{hint}: {exc.strerror or exc}") from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise TaxonomyError(f"{source}:{line}: not UTF-8 text: {exc.reason}") from exc
    return _FacetLoader(source).load_facets(text)


class _FacetLoader(_Loader):
    """The taxonomy's node walker, with the facet file's keys."""

    def load_facets(self, text: str) -> FacetConfig:
        try:
            root = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark is not None else 1
            raise self.error(line, f"YAML syntax error: {exc.problem or 'invalid YAML'}") from exc
        except yaml.YAMLError as exc:
            raise self.error(1, f"YAML error: {exc}") from exc
        if root is None:
            raise self.error(1, "empty facet file (expected facets_version and facets)")
        if not isinstance(root, yaml.MappingNode):
            raise self.error(root, "the top level must be a mapping with facets_version and facets")
        fields = self.mapping(root, _TOP_KEYS, "top-level")
        if "facets_version" not in fields:
            raise self.error(root, 'missing facets_version (e.g. facets_version: "1")')
        version = self.scalar(fields["facets_version"])
        if not isinstance(version, str) or not version.strip():
            raise self.error(
                fields["facets_version"], 'facets_version must be a non-empty string; quote it: "1"'
            )
        if "facets" not in fields:
            raise self.error(root, "missing facets (a list of facet entries)")
        node = fields["facets"]
        if not isinstance(node, yaml.SequenceNode) or not node.value:
            raise self.error(node, "facets must be a non-empty list of facet entries")
        facets: list[FacetDef] = []
        first_line: dict[str, int] = {}
        for entry in node.value:
            facet, id_node = self.facet(entry)
            if facet.id in first_line:
                raise self.error(
                    id_node, f"duplicate facet id {facet.id!r} (first defined at line {first_line[facet.id]})"
                )
            first_line[facet.id] = _line(id_node)
            facets.append(facet)
        for needed in ("intro", "other"):
            if needed not in first_line:
                raise self.error(node, f"facets must include {needed!r} (the pipeline assigns it itself)")
        work, min_distinct = CueSet.build((), ()), 0
        if "work_story" in fields:
            work, min_distinct = self.work_story(fields["work_story"])
        return FacetConfig(version.strip(), tuple(facets), work, min_distinct, self.source)

    def facet(self, entry: yaml.Node) -> tuple[FacetDef, yaml.Node]:
        if not isinstance(entry, yaml.MappingNode):
            raise self.error(entry, "each facet must be a mapping (id, label_ja, heading, content, ...)")
        fields = self.mapping(entry, _FACET_KEYS, "facet")
        if "id" not in fields:
            raise self.error(entry, "facet without an id")
        id_node = fields["id"]
        facet_id = self.text(id_node, "id")
        if not _ID_RE.match(facet_id):
            raise self.error(id_node, f"facet id {facet_id!r} must be lower_snake_case ([a-z][a-z0-9_]*)")
        if facet_id not in FACETS:
            # The warehouse views keep one column per facet: a new id needs a code change there.
            raise self.error(id_node, f"facet id {facet_id!r} is not one of {', '.join(FACETS)}")
        where = f"facet {facet_id!r}"
        if "label_ja" not in fields:
            raise self.error(entry, f"{where} has no label_ja")
        label_ja = self.text(fields["label_ja"], "label_ja", f"{where}: ")
        label_en = (
            self.text(fields["label_en"], "label_en", f"{where}: ") if "label_en" in fields else facet_id
        )
        work_only = False
        if "work_only" in fields:
            value = self.scalar(fields["work_only"])
            if not isinstance(value, bool):
                raise self.error(
                    fields["work_only"], f"{where}: work_only must be true or false, got {value!r}"
                )
            work_only = value
        heading = self.cues(fields.get("heading", _EMPTY), f"{where} heading", _CUE_KEYS)[0]
        content = self.cues(fields.get("content", _EMPTY), f"{where} content", _CUE_KEYS)[0]
        return FacetDef(facet_id, label_ja, label_en, work_only, heading, content), id_node

    def work_story(self, node: yaml.Node) -> tuple[CueSet, int]:
        cues, fields = self.cues(node, "work_story", _WORK_KEYS)
        min_distinct = 1
        if "min_distinct" in fields:
            value = self.scalar(fields["min_distinct"])
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise self.error(
                    fields["min_distinct"], f"work_story: min_distinct must be an integer >= 0, got {value!r}"
                )
            min_distinct = value
        return cues, min_distinct

    def cues(
        self, node: yaml.Node, where: str, allowed: frozenset[str]
    ) -> tuple[CueSet, dict[str, yaml.Node]]:
        if isinstance(node, yaml.ScalarNode) and self.scalar(node) is None:
            return CueSet.build((), ()), {}
        if not isinstance(node, yaml.MappingNode):
            raise self.error(node, f"{where} must be a mapping with lemmas and/or patterns")
        fields = self.mapping(node, allowed, where)
        lemmas: list[str] = []
        for lemma, item in self.strings(fields.get("lemmas", _EMPTY), "lemmas", where):
            if not lemma.strip():
                raise self.error(item, f"{where}: empty lemma")
            lemmas.append(lemma.strip())
        weak: list[str] = []
        for lemma, item in self.strings(fields.get("weak", _EMPTY), "weak", where):
            if not lemma.strip():
                raise self.error(item, f"{where}: empty lemma in weak")
            weak.append(lemma.strip())
        patterns = tuple(self.regexes(fields.get("patterns", _EMPTY), "patterns", where))
        negative = tuple(self.regexes(fields.get("negative_patterns", _EMPTY), "negative_patterns", where))
        return CueSet.build(tuple(lemmas), patterns, tuple(weak), negative), fields
