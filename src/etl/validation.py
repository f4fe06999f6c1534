"""Contract checks, run on every batch's Arrow tables before anything is written.

Types are already enforced by the pyarrow schemas; these checks cover what types cannot:
allowed values, id formats, offsets inside the body, contiguous ordinals, score ranges.
A failing article is taken out of the batch and becomes a ``rejects`` row listing the
failed checks; the rest of the batch is written.

Every check is declared once, in :data:`CHECKS`: a name (the text a reject lists), the
columns it reads and a ``pyarrow.compute`` function of those columns returning a boolean
mask (true: the row passes). The checks run on the tables that are then written, with no
pandas conversion and no Python per row: a batch costs a few compute calls per check.

The names and their order are the ones the earlier pandera schemas reported, so a reject
reads as before: per table (tables in contract order), the table checks first, then the
column checks, column by column, each column's ``not_nullable``, ``field_uniqueness`` and
``dtype('int64')`` (an integer column holding a null) before its value checks.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeAlias

import numpy as np
import pyarrow
import pyarrow.compute as pc

from etl.analysis import ArticleRows
from etl.errors import WarehouseError
from etl.model import ARTICLE_FORMATS, BLOCK_KINDS, FACETS, SPEAKER_ROLES
from etl.rejects import Reject
from etl.schemas import ARTICLE_TABLES, TABLES
from etl.warehouse import columns_table, to_table

#: A column as the checks see it.
Column: TypeAlias = pyarrow.Array | pyarrow.ChunkedArray
#: Each row's body length, looked up from its article (a column of no contract table).
BODY_CHARS: Final = "_body_chars"


@dataclass(frozen=True)
class Check:
    """One contract check: ``test(*columns)`` is true for the rows that pass.

    ``column`` names the column a column check belongs to (the reject says
    ``table.column: name``); a table check has none (``table: name``). A null in the mask
    fails the row: column checks let their nulls pass themselves (``not_nullable`` is the
    check that catches them), table checks fail them, as pandas comparisons with a missing
    value did.
    """

    name: str
    columns: tuple[str, ...]
    test: Callable[..., Column]
    column: str | None = None

    def label(self, table: str) -> str:
        """The check as a reject lists it.

        >>> Check("marked <= count", ("marked", "count"), pc.less_equal).label("keyphrases")
        'keyphrases: marked <= count'
        """
        return f"{table}.{self.column}: {self.name}" if self.column else f"{table}: {self.name}"


# -- value checks of one column (missing values pass: not_nullable is their check) --------

ValueCheck: TypeAlias = tuple[str, Callable[[Column], Column]]


def _ge(bound: float) -> ValueCheck:
    return f"greater_than_or_equal_to({bound})", lambda c: pc.greater_equal(c, bound)


def _le(bound: float) -> ValueCheck:
    return f"less_than_or_equal_to({bound})", lambda c: pc.less_equal(c, bound)


def _in_range(lo: int, hi: int) -> ValueCheck:
    return f"in_range({lo}, {hi})", lambda c: pc.and_(pc.greater_equal(c, lo), pc.less_equal(c, hi))


def _isin(values: Sequence[str]) -> ValueCheck:
    allowed = pyarrow.array(list(values), pyarrow.string())
    return f"isin({list(values)!r})", lambda c: pc.is_in(c, value_set=allowed)


def _matches(pattern: str) -> ValueCheck:
    # The checks used Python's re.match, whose `$` also matches before one final newline;
    # RE2's `$` is the end of the text only, so the newline is allowed explicitly.
    assert pattern.startswith("^") and pattern.endswith("$")
    re2 = pattern[:-1] + r"\n?$"
    return f"str_matches('{pattern}')", lambda c: pc.match_substring_regex(c, re2)


def _min_length(n: int) -> ValueCheck:
    if n == 1:  # not empty: the byte length says it, without counting characters
        return "str_length(1, None)", lambda c: pc.greater(pc.binary_length(c), 0)
    return f"str_length({n}, None)", lambda c: pc.greater_equal(pc.utf8_length(c), n)


def _missing(c: Column) -> Column:
    # NaN counts as missing, as it did in pandas.
    if pyarrow.types.is_floating(c.type):
        return pc.is_null(c, nan_is_null=True)
    return pc.is_null(c)


def _passes_or_missing(test: Callable[[Column], Column]) -> Callable[[Column], Column]:
    return lambda c: pc.or_kleene(_missing(c), test(c))


def _unique(c: Column) -> Column:
    """False for every row of a value that occurs more than once (missing values pass)."""
    counts = pc.value_counts(c)
    dups = counts.field("values").filter(pc.greater(counts.field("counts"), 1))
    return pc.invert(pc.is_in(c, value_set=pc.drop_null(dups)))


def _column(
    name: str,
    *checks: ValueCheck,
    nullable: bool = False,
    unique: bool = False,
    integer: bool = False,
) -> list[Check]:
    """A column's checks in the order a reject lists them."""
    out: list[Check] = []
    if not nullable:
        out.append(Check("not_nullable", (name,), lambda c: pc.invert(_missing(c)), name))
    if unique:
        out.append(Check("field_uniqueness", (name,), _unique, name))
    if integer and not nullable:
        # pandas held an integer column with a null as floats, which failed its int64 type.
        out.append(Check("dtype('int64')", (name,), lambda c: pc.invert(pc.is_null(c)), name))
    out += [Check(label, (name,), _passes_or_missing(test), name) for label, test in checks]
    return out


def _table(name: str, columns: Sequence[str], test: Callable[..., Column]) -> Check:
    return Check(name, tuple(columns), test)


# -- table checks ---------------------------------------------------------------------------


def _same_article(article_id: Column, segment_id: Column) -> pyarrow.Array:
    """A child row's segment belongs to the row's own article: it starts with ``{article_id}:``.

    >>> _same_article(pyarrow.array(["a", "a", "b", None]), pyarrow.array(["a:1", "ab:1", "a:1", "a:"])).to_pylist()
    [True, False, False, False]
    """
    # As bytes: a text starts with the prefix when its first bytes are the prefix's, and a
    # byte length is read off the offsets where a character count scans the text. The
    # prefix is the id, then ":" (two slices of the child: no joined prefix per row).
    ids = article_id.cast(pyarrow.binary())
    child = segment_id.cast(pyarrow.binary())
    size = pc.binary_length(ids)
    lengths = pc.unique(pc.drop_null(size)).to_pylist()

    def starts(n: int) -> Column:
        return pc.and_(
            pc.equal(pc.binary_slice(child, 0, n), ids), pc.equal(pc.binary_slice(child, n, n + 1), b":")
        )

    if len(lengths) == 1:  # ids of one length (a batch of one source): one slice, no mask
        return pc.fill_null(starts(lengths[0]), False)
    ok = pyarrow.array(np.zeros(len(ids), dtype=bool))
    # Arrow slices every string at one length: one slice per id length (the article ids of
    # a batch come in a handful of lengths). A missing id fails.
    for n in lengths:
        ok = pc.or_(ok, pc.fill_null(pc.and_(pc.equal(size, n), starts(n)), False))
    return ok


def _ordinals_contiguous(article_id: Column, ordinal: Column) -> Column:
    """Each article's ordinals are exactly 0..n-1 (every row of an article that is not fails).

    >>> _ordinals_contiguous(pyarrow.array(["a", "a", "b", "b"]), pyarrow.array([1, 0, 0, 2])).to_pylist()
    [True, True, False, False]
    """
    per_article = (
        pyarrow.table({"article_id": article_id, "ordinal": ordinal})
        .group_by("article_id", use_threads=False)
        .aggregate(
            [
                ("ordinal", "min"),
                ("ordinal", "max"),
                ("ordinal", "count_distinct"),
                ("ordinal", "count", pc.CountOptions(mode="all")),
            ]
        )
    )
    n = per_article["ordinal_count"]
    # A permutation of 0..n-1 (a missing ordinal is not counted as distinct, so it fails).
    ok = pc.and_(
        pc.and_(
            pc.equal(per_article["ordinal_min"], 0), pc.equal(per_article["ordinal_max"], pc.subtract(n, 1))
        ),
        pc.equal(per_article["ordinal_count_distinct"], n),
    )
    return pc.take(ok, pc.index_in(article_id, value_set=per_article["article_id"]))


def _ordinal_suffix(ordinal: Column) -> Column:
    """``f"{ordinal:04d}"`` (a minus sign takes one of the four places, as zfill did).

    >>> _ordinal_suffix(pyarrow.array([3, 12345, -7, None])).to_pylist()
    ['0003', '12345', '-007', None]
    """
    low = pc.min(ordinal).as_py()
    if low is None or low >= 0:  # no minus sign to place: the common batch
        return pc.utf8_lpad(pc.cast(ordinal, pyarrow.string()), 4, "0")
    digits = pc.cast(pc.abs(pc.cast(ordinal, pyarrow.int64())), pyarrow.string())
    return pc.if_else(
        pc.less(ordinal, 0),
        pc.binary_join_element_wise("-", pc.utf8_lpad(digits, 3, "0"), ""),
        pc.utf8_lpad(digits, 4, "0"),
    )


def _segment_id_is(article_id: Column, ordinal: Column, segment_id: Column) -> Column:
    return pc.equal(segment_id, pc.binary_join_element_wise(article_id, _ordinal_suffix(ordinal), ":"))


def _speaker_id_is(article_id: Column, name: Column, speaker_id: Column) -> Column:
    return pc.equal(speaker_id, pc.binary_join_element_wise(article_id, name, ":"))


def _span_is_text(start: Column, end: Column, text: Column) -> Column:
    span = pc.subtract(pc.cast(end, pyarrow.int64()), pc.cast(start, pyarrow.int64()))
    return pc.equal(span, pc.utf8_length(text))


def _both_or_neither(a: Column, b: Column) -> Column:
    return pc.equal(pc.is_null(a), pc.is_null(b))


_ROLES = sorted(SPEAKER_ROLES)
_UNIT = (_ge(0.0), _le(1.0))
_OFFSETS = (
    _table("char_start <= char_end", ("char_start", "char_end"), pc.less_equal),
    _table("offsets inside the article body", ("char_end", BODY_CHARS), pc.less_equal),
)
_CONTIGUOUS = _table("ordinals contiguous from 0", ("article_id", "ordinal"), _ordinals_contiguous)
_SAME_ARTICLE = _table("segment of the same article", ("article_id", "segment_id"), _same_article)
_METHODS = ["heading", "question", "content", "inherited", "position", "keyword", "model"]

#: The checks of every per-article table, in the order a reject lists them.
CHECKS: Final[dict[str, tuple[Check, ...]]] = {
    "articles": (
        _table("body_chars == len(body)", (BODY_CHARS, "body_chars"), pc.equal),
        *_column("article_id", _matches(r"^[0-9A-Za-z_-]+$"), unique=True),
        *_column("source_path"),
        *_column("source_format", _isin(["text", "html", "note_api"])),
        *_column("content_sha256", _matches(r"^[0-9a-f]{64}$")),
        *_column("body_chars", _ge(0), integer=True),
        *_column("segment_count", _ge(1), integer=True),
        *_column("format", _isin(sorted(ARTICLE_FORMATS))),
        *_column("format_confidence", *_UNIT),
    ),
    "segments": (
        *_OFFSETS,
        _table(
            "segment_id == {article_id}:{ordinal:04d}",
            ("article_id", "ordinal", "segment_id"),
            _segment_id_is,
        ),
        _CONTIGUOUS,
        _table(
            "speaker_id set exactly when speaker_name is", ("speaker_name", "speaker_id"), _both_or_neither
        ),
        *_column("segment_id", unique=True),
        *_column("ordinal", _ge(0), integer=True),
        *_column("kind", _isin(sorted(BLOCK_KINDS))),
        *_column("heading_level", _in_range(1, 6), nullable=True),
        *_column("char_start", _ge(0), integer=True),
        *_column("sentence_count", _ge(0), integer=True),
        *_column("speaker_role", _isin(_ROLES)),
        *_column("speaker_confidence", *_UNIT),
        *_column("facet", _isin(list(FACETS)), nullable=True),
    ),
    "sentences": (
        *_OFFSETS,
        _table("span length == len(text)", ("char_start", "char_end", "text"), _span_is_text),
        _CONTIGUOUS,
        _SAME_ARTICLE,
        *_column("sentence_id", unique=True),
        *_column("ordinal", _ge(0), integer=True),
        *_column("text", _min_length(1)),
        *_column("speaker_role", _isin(_ROLES)),
    ),
    "speakers": (
        _table("speaker_id == {article_id}:{name}", ("article_id", "name", "speaker_id"), _speaker_id_is),
        *_column("speaker_id", unique=True),
        *_column("name", _min_length(1)),
        *_column("role", _isin(_ROLES)),
        *_column("segment_count", _ge(0), integer=True),
        *_column("char_count", _ge(0), integer=True),
    ),
    "segment_topics": (
        _SAME_ARTICLE,
        *_column("dimension", _isin(["facet", "subject"])),
        *_column("topic_id", _min_length(1)),
        *_column("score", *_UNIT),
        *_column("method", _isin(_METHODS)),
    ),
    "keyphrases": (
        _SAME_ARTICLE,
        # A phrase cannot be marked as a term more often than it occurs.
        _table("marked <= count", ("marked", "count"), pc.less_equal),
        *_column("phrase", _min_length(1)),
        *_column("count", _ge(1), integer=True),
        *_column("marked", _ge(0), integer=True),
        *_column("score", *_UNIT),
    ),
}


def checked_columns(name: str) -> list[str]:
    """The contract columns the checks of a table read (with ``article_id``, whose rows fail).

    >>> checked_columns("keyphrases")
    ['article_id', 'segment_id', 'marked', 'count', 'phrase', 'score']
    """
    cols = ["article_id", *(c for check in CHECKS[name] for c in check.columns)]
    if name == "articles":
        cols.append("body")  # read for its length
    return [c for c in dict.fromkeys(cols) if c != BODY_CHARS]


# -- running the checks ---------------------------------------------------------------------


def validate_tables(
    results: Sequence[ArticleRows],
) -> tuple[list[ArticleRows], list[Reject], dict[str, pyarrow.Table]]:
    """Check every table of a batch: the valid articles, a reject per invalid one, and the
    valid articles' rows as Arrow tables.

    The tables (one per per-article table, rows in batch order) are built once and checked
    as they are, so the caller writes exactly what was validated.

    >>> kept, rejects, tables = validate_tables([])
    >>> tables["articles"].num_rows
    0
    """
    try:
        tables = batch_tables(results)
    except WarehouseError:
        # A value that does not fit its column type (an overflowing count, say): check the
        # rows as wider types, so that an article a check catches becomes a reject as
        # before; the tables of the others are built again, and raise if still at fault.
        frames, failures = _frames_of_rows(results)
        failures = _failures(frames, failures)
        kept = [r for r in results if r.article_id not in failures]
        tables = batch_tables(kept)
    else:
        failures = _failures(_frames_of_tables(tables))
        kept = [r for r in results if r.article_id not in failures]
        if failures:
            # The rows of the kept articles, by position (as building from ``kept`` would).
            keep = np.array([r.article_id not in failures for r in results], dtype=bool)
            tables = {
                name: t.filter(pyarrow.array(keep[row_owners(results, name)])) for name, t in tables.items()
            }
    rejects = [
        Reject(
            r.source_path,
            r.content_sha256,
            "validation_error",
            "failed checks: " + "; ".join(failures[r.article_id]),
        )
        for r in results
        if r.article_id in failures
    ]
    return kept, rejects, tables


def batch_tables(results: Sequence[ArticleRows]) -> dict[str, pyarrow.Table]:
    """The rows of every per-article table of a batch as contract tables, in batch order.

    >>> sorted(batch_tables([])) == sorted(ARTICLE_TABLES)
    True
    """
    if all(r.columns is not None for r in results):
        return {name: _table_of_columns(results, name) for name in ARTICLE_TABLES}
    return {
        name: to_table(name, [row for r in results for row in r.tables.get(name, [])])
        for name in ARTICLE_TABLES
    }


def _table_of_columns(results: Sequence[ArticleRows], name: str) -> pyarrow.Table:
    """:func:`batch_tables` of one table from the articles' columns (the same table as from
    their rows): each column's lists joined, the article's and the run's columns added."""
    counts = [r.row_count(name) for r in results]
    pieces = [cols for r in results if (cols := (r.columns or {}).get(name))]
    columns: dict[str, list[Any] | pyarrow.Array] = {}
    for column in pieces[0] if pieces else ():
        # Each article's list appended at once (a copy of its references, no step per value):
        # a batch's columns hold some million values.
        joined: list[Any] = []
        for cols in pieces:
            joined += cols[column]
        columns[column] = joined
    owners = pyarrow.array(np.repeat(np.arange(len(results)), counts))
    columns["article_id"] = pyarrow.array([r.article_id for r in results], pyarrow.string()).take(owners)
    runs = [r.run_id for r in results]
    versions = [r.pipeline_version for r in results]
    for column, values in (("run_id", runs), ("pipeline_version", versions)):
        if len(set(values)) == 1:  # the usual batch, stamped for one run
            columns[column] = pyarrow.repeat(pyarrow.scalar(values[0], pyarrow.string()), len(owners))
        else:
            columns[column] = pyarrow.array(values, pyarrow.string()).take(owners)
    return columns_table(name, columns, sum(counts))


def row_owners(results: Sequence[ArticleRows], name: str) -> np.ndarray:
    """For each row of a batch table, the position of the article it came from.

    >>> row_owners([], "articles").tolist()
    []
    """
    counts = [r.row_count(name) for r in results]
    return np.repeat(np.arange(len(results)), counts)


def _with_body_chars(
    frames: dict[str, pyarrow.Table], ids: Column, lengths: Column
) -> dict[str, pyarrow.Table]:
    """Each frame with its rows' body length (``articles``: its own; others: their article's)."""
    out: dict[str, pyarrow.Table] = {}
    for name, frame in frames.items():
        if name == "articles":
            frame = frame.append_column(BODY_CHARS, lengths)
        elif "char_end" in frame.column_names:
            frame = frame.append_column(
                BODY_CHARS, pc.take(lengths, pc.index_in(frame["article_id"], value_set=ids))
            )
        out[name] = frame
    return out


def _frames_of_tables(tables: Mapping[str, pyarrow.Table]) -> dict[str, pyarrow.Table]:
    """The columns the checks read, with each row's body length (the contract tables' own
    buffers: nothing is copied but the lengths)."""
    articles = tables["articles"]
    frames = {name: tables[name].select(checked_columns(name)) for name in CHECKS if name in tables}
    return _with_body_chars(frames, articles["article_id"], pc.utf8_length(articles["body"]))


def _wide_schema(name: str) -> pyarrow.Schema:
    """The checked columns of a table, integers and floats at 64 bits: any number fits."""
    fields = []
    for col in checked_columns(name):
        f = TABLES[name].field(col)
        if pyarrow.types.is_integer(f.type):
            f = f.with_type(pyarrow.int64())
        elif pyarrow.types.is_floating(f.type):
            f = f.with_type(pyarrow.float64())
        fields.append(f)
    return pyarrow.schema(fields)


def _frames_of_rows(
    results: Sequence[ArticleRows],
) -> tuple[dict[str, pyarrow.Table], dict[str, list[str]]]:
    """The frames from plain rows, for a batch whose values do not fit the contract types.

    Numbers are read as 64 bits, so a check sees the value that did not fit. An article
    with a value of no such type (a string for a count) fails that column's type and is
    left out of the frames; the second result lists those failures.
    """
    failures: dict[str, list[str]] = {}
    schemas = {name: _wide_schema(name) for name in CHECKS}

    def fits(r: ArticleRows) -> bool:
        for name, schema in schemas.items():
            rows = r.tables.get(name, [])
            for f in schema:
                try:
                    pyarrow.array([row.get(f.name) for row in rows], f.type)
                except (pyarrow.ArrowInvalid, pyarrow.ArrowTypeError, OverflowError, TypeError):
                    kind = (
                        "str"
                        if pyarrow.types.is_string(f.type) or pyarrow.types.is_large_string(f.type)
                        else f.type
                    )
                    failures.setdefault(r.article_id, []).append(f"{name}.{f.name}: dtype('{kind}')")
        return r.article_id not in failures

    def frame(name: str, rows: Sequence[Mapping[str, Any]]) -> pyarrow.Table:
        schema = schemas[name]
        return pyarrow.Table.from_pylist(
            [{c: row.get(c) for c in schema.names} for row in rows], schema=schema
        )

    try:
        frames = {
            name: frame(name, [row for r in results for row in r.tables.get(name, [])]) for name in CHECKS
        }
    except (pyarrow.ArrowInvalid, pyarrow.ArrowTypeError, OverflowError, TypeError):
        fitting = [r for r in results if fits(r)]
        frames = {
            name: frame(name, [row for r in fitting for row in r.tables.get(name, [])]) for name in CHECKS
        }
    articles = frames["articles"]
    return _with_body_chars(frames, articles["article_id"], pc.utf8_length(articles["body"])), failures


def _failures(
    frames: Mapping[str, pyarrow.Table], failures: Mapping[str, list[str]] | None = None
) -> dict[str, list[str]]:
    """The failed checks of each invalid article (article id -> checks, in :data:`CHECKS` order).

    ``failures`` holds checks already failed (they come first).
    """
    out = {aid: list(checks) for aid, checks in (failures or {}).items()}
    for name, checks in CHECKS.items():
        frame = frames.get(name)
        if frame is None or not frame.num_rows:
            continue
        for check in checks:
            ok = check.test(*(frame[c] for c in check.columns))
            # Not skipping nulls, all() is true only when every row passes (a null fails).
            if pc.all(ok, skip_nulls=False, min_count=0).as_py():
                continue
            ok = pc.fill_null(ok, False)
            label = check.label(name)
            for article_id in pc.unique(frame["article_id"].filter(pc.invert(ok))).to_pylist():
                if article_id is None:
                    continue  # a row of no article: its article fails other checks
                listed = out.setdefault(article_id, [])
                if label not in listed:
                    listed.append(label)
    return out
