"""The cheaper forms of the rows stage and the checks agree with their plain definitions.

An article's keyphrases are handed over as columns (:class:`etl.analysis.PhraseColumns`)
where the plain form is the (segment_id, Phrase) pairs; the check that a child row's segment
belongs to its article compares two slices of the child where the plain definition joins
``{article_id}:`` per row.
"""

from __future__ import annotations

import pickle
import random

import pyarrow as pa
import pytest

from etl.analysis import Analyzer, ArticleRows, EtlOptions, PhraseColumns
from etl.keyphrases import Phrase
from etl.schemas import keyphrase_columns
from etl.validation import _same_article

from .conftest import SAMPLES, SEED

INPUTS = [SEED, *sorted((SAMPLES / "text").glob("*.txt"))[:3], *sorted((SAMPLES / "html").glob("*.html"))[:2]]


@pytest.fixture(scope="module")
def analysed() -> list[ArticleRows]:
    analyzer = Analyzer(EtlOptions())
    return [analyzer.process_bytes(str(p), p.read_bytes()) for p in INPUTS]


def test_phrase_columns_are_the_pairs(analysed: list[ArticleRows]) -> None:
    assert any(r.phrases for r in analysed)
    for r in pickle.loads(pickle.dumps(analysed)):
        columns = r.keyphrase_columns()  # from the columns the analysis handed over
        pairs = r.phrases  # the pairs, for good
        assert columns == keyphrase_columns(pairs)
        assert r.keyphrase_columns() == columns  # now from the pairs
        assert PhraseColumns.of(pairs).pairs() == pairs


def test_phrases_set_by_hand_replace_the_columns(analysed: list[ArticleRows]) -> None:
    r = pickle.loads(pickle.dumps(analysed[0]))
    r.phrases = [("x:0001", Phrase("庁", "庁", 2, 1, 1))]
    assert r.keyphrase_columns()["marked"] == [1]
    r.phrases = []
    assert r.phrases == [] and r.keyphrase_columns()["segment_id"] == []
    assert PhraseColumns.of([]).pairs() == []


def _same_article_plain(article_id: list[str | None], segment_id: list[str | None]) -> list[bool]:
    return [
        a is not None and s is not None and s.encode().startswith(f"{a}:".encode())
        for a, s in zip(article_id, segment_id, strict=True)
    ]


def test_same_article_is_the_plain_prefix_test() -> None:
    rng = random.Random(17)
    ids = ["a", "b", "ab", "庁", ":", "c1", "", None]
    for _ in range(2000):
        article_id = [rng.choice(ids) for _ in range(rng.randint(0, 10))]
        segment_id: list[str | None] = []
        for a in article_id:
            if a is not None and rng.random() < 0.4:
                segment_id.append(a + ":" + rng.choice(["1", "", "x:"]))
            elif rng.random() < 0.15:
                segment_id.append(None)
            else:
                segment_id.append("".join(rng.choice("ab:庁1") for _ in range(rng.randint(0, 4))))
        got = _same_article(pa.array(article_id, pa.string()), pa.array(segment_id, pa.string()))
        assert got.to_pylist() == _same_article_plain(article_id, segment_id), (article_id, segment_id)
        cut = len(article_id) // 2
        chunked = _same_article(
            pa.chunked_array(
                [pa.array(article_id[:cut], pa.string()), pa.array(article_id[cut:], pa.string())]
            ),
            pa.chunked_array([pa.array(segment_id, pa.string())]),
        )
        assert chunked.to_pylist() == _same_article_plain(article_id, segment_id)
