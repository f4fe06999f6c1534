"""The Arrow contract checks against pandera, the engine they replaced, as an oracle.

Batches of real analysed articles get random corruptions on random rows; the pandera
declaration of the contract (:mod:`tests.pandera_contract`) and :func:`validate_tables`
must reject the same articles, with the same reasons in the same order.
"""

from __future__ import annotations

import copy
import math
import os
from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

from etl import PIPELINE_VERSION
from etl.analysis import Analyzer, ArticleRows, EtlOptions
from etl.batches import _keyphrase_rows
from etl.errors import WarehouseError
from etl.schemas import TABLES
from etl.validation import CHECKS, batch_tables, validate_tables

from .conftest import SAMPLES, SEED
from .pandera_contract import pandera_failures, pandera_messages

TEXTS = sorted((SAMPLES / "text").glob("*.txt"))


def _analysed() -> list[ArticleRows]:
    analyzer = Analyzer(EtlOptions())
    results = [analyzer.process_bytes(str(p), p.read_bytes()) for p in (SEED, *TEXTS[:4])]
    _keyphrase_rows(results)
    for r in results:
        r.tables  # noqa: B018  # as rows, the form an edited article takes
        r.stamp("run", PIPELINE_VERSION)
    return results


@pytest.fixture(scope="module")
def analysed() -> list[ArticleRows]:
    # Analysis costs far more than a check: once per module, a deep copy per example.
    return _analysed()


def _kind(t: pa.DataType) -> str | None:
    if pa.types.is_integer(t):
        return "int"
    if pa.types.is_floating(t):
        return "float"
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return "str"
    return None  # lists, times, flags: no check reads them


#: The columns a corruption may hit: every number and string column of a checked table.
COLUMNS: dict[str, list[tuple[str, str]]] = {
    name: [(f.name, k) for f in TABLES[name] if (k := _kind(f.type)) is not None] for name in CHECKS
}


def _int_values(current: Any) -> st.SearchStrategy[Any]:
    near = [current - 1, current + 1] if isinstance(current, int) else []
    # 300 does not fit int8 and 2**40 no narrow integer: the batch goes through plain rows.
    return st.sampled_from([-1, 0, 1, 6, 7, 300, 10**6, 2**40, None, *near])


_FLOATS = st.sampled_from([-0.5, -1e-6, 0.0, 1.0, 1.5, math.nan, math.inf, None])


def _str_values(current: Any, others: list[Any]) -> st.SearchStrategy[Any]:
    fixed = ["", "x", "a b", "zzz:0001", None]
    if isinstance(current, str):
        fixed += [current + "\n", current + "x", current[:-1]]
    return st.sampled_from(fixed) | st.sampled_from(others)


Corruption = Callable[[list[ArticleRows]], None]


@st.composite
def set_value(draw: st.DrawFn, results: list[ArticleRows]) -> str:
    """Set one value of one row of one table of one article."""
    r = draw(st.sampled_from(results))
    name = draw(st.sampled_from([n for n in CHECKS if r.tables.get(n)]))
    rows = r.tables[name]
    row = rows[draw(st.integers(0, len(rows) - 1))]
    column, kind = draw(st.sampled_from(COLUMNS[name]))
    current = row.get(column)
    if kind == "int":
        value = draw(_int_values(current))
    elif kind == "float":
        value = draw(_FLOATS)
    else:
        # Values of the same column elsewhere in the batch: duplicated ids, other articles' segments.
        others = [x.get(column) for a in results for x in a.tables.get(name, [])[:3]] or ["y"]
        value = draw(_str_values(current, others))
    row[column] = value
    return f"{r.article_id} {name}.{column} = {value!r}"


@st.composite
def move_rows(draw: st.DrawFn, results: list[ArticleRows]) -> str:
    """Duplicate, drop or swap the ordinals of rows of a child table (ordinals, ids, counts)."""
    r = draw(st.sampled_from(results))
    name = draw(st.sampled_from([n for n in CHECKS if n != "articles" and r.tables.get(n)]))
    rows = r.tables[name]
    i = draw(st.integers(0, len(rows) - 1))
    op = draw(st.sampled_from(["duplicate", "drop", "swap"]))
    if op == "duplicate":
        rows.insert(i, dict(rows[i]))
    elif op == "drop":
        del rows[i]
    else:
        j = draw(st.integers(0, len(rows) - 1))
        if "ordinal" in rows[i]:
            rows[i]["ordinal"], rows[j]["ordinal"] = rows[j]["ordinal"], rows[i]["ordinal"]
            # A swap alone keeps 0..n-1; move one past the end half the time.
            if draw(st.booleans()):
                rows[i]["ordinal"] = len(rows)
    return f"{r.article_id} {name}[{i}] {op}"


def _compare(batch: list[ArticleRows]) -> None:
    expected = pandera_messages(batch)
    in_hypothesis = currently_in_test_context()
    if in_hypothesis:  # seen with --hypothesis-show-statistics
        event(f"{len(expected)} of {len(batch)} rejected")
    try:
        kept, rejects, _ = validate_tables(batch)
    except WarehouseError:
        if in_hypothesis:
            event("no contract type, no failed check")
        # A value of no contract type that no check catches (a count past int16, say): the
        # batch cannot be written, as it could not be under pandera.
        with pytest.raises(WarehouseError):
            batch_tables([r for r in batch if r.source_path not in expected])
        return
    got = {rj.source_path: rj.error_message for rj in rejects}
    assert got == expected, "\n".join(
        f"{p}:\n  arrow:   {got.get(p)}\n  pandera: {expected.get(p)}"
        for p in sorted(set(got) | set(expected))
        if got.get(p) != expected.get(p)
    )
    assert [r.source_path for r in kept] == [r.source_path for r in batch if r.source_path not in expected]


@settings(
    max_examples=int(os.environ.get("ORACLE_EXAMPLES", "80")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_arrow_checks_reject_what_pandera_rejects(analysed: list[ArticleRows], data: st.DataObject) -> None:
    picked = data.draw(st.lists(st.integers(0, len(analysed) - 1), min_size=1, max_size=4, unique=True))
    batch = copy.deepcopy([analysed[i] for i in picked])
    for _ in range(data.draw(st.integers(1, 4), label="corruptions")):
        data.draw(st.one_of(set_value(batch), move_rows(batch)), label="corruption")
    _compare(batch)


def test_the_analysed_articles_pass_both() -> None:
    batch = _analysed()
    assert pandera_failures(batch) == {}
    assert not validate_tables(batch)[1]


def _edit(table: str, row: int, column: str, value: Any) -> Corruption:
    def edit(batch: list[ArticleRows]) -> None:
        r = next(r for r in batch if len(r.tables[table]) > max(row, -row - 1))
        r.tables[table][row][column] = value(r) if callable(value) else value

    return edit


FIXED: dict[str, list[Corruption]] = {
    "offset past the body": [_edit("sentences", -1, "char_end", 10**6)],
    "bad article id": [_edit("articles", 0, "article_id", "no spaces")],
    "duplicate article id": [
        lambda b: (
            b[1].tables["articles"][0].__setitem__("article_id", b[0].tables["articles"][0]["article_id"])
        )
    ],
    "kind, role, format": [
        _edit("segments", 0, "kind", "table"),
        _edit("sentences", 0, "speaker_role", "narrator"),
        _edit("articles", 0, "format", "poem"),
    ],
    "ordinal gap": [_edit("sentences", 1, "ordinal", 5)],
    "scores out of range": [_edit("keyphrases", 0, "score", 1.5), _edit("segment_topics", 0, "score", -0.5)],
    "duplicate segment id": [
        _edit("segments", 1, "segment_id", lambda r: r.tables["segments"][0]["segment_id"])
    ],
    "missing values": [_edit("segments", 0, "kind", None), _edit("sentences", 0, "ordinal", None)],
    "negative counts": [_edit("speakers", 0, "char_count", -1), _edit("segments", 0, "sentence_count", -1)],
    "counts past int16": [_edit("keyphrases", 0, "count", 2**20), _edit("keyphrases", 0, "marked", 2**21)],
    "heading level past int8": [_edit("segments", 0, "heading_level", 300)],
}


@pytest.mark.parametrize("case", sorted(FIXED))
def test_fixed_corruptions_agree_with_pandera(analysed: list[ArticleRows], case: str) -> None:
    batch = copy.deepcopy(analysed)
    for edit in FIXED[case]:
        edit(batch)
    assert pandera_failures(batch), "the corruption must fail the contract"
    _compare(batch)
