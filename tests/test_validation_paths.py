"""The fast paths of the contract checks hold to their plain definitions."""

from __future__ import annotations

import pyarrow as pa
from hypothesis import given
from hypothesis import strategies as st

from etl.validation import _ordinal_suffix, _same_article

IDS = st.one_of(st.none(), st.sampled_from(["a", "b", "é", ":", "ab", "日本", "c0ffee", ""]))
TEXTS = st.one_of(st.none(), st.text(alphabet="abé:日本0", max_size=6))


@given(st.lists(st.tuples(IDS, TEXTS), max_size=8), st.booleans())
def test_same_article_is_starts_with_the_id_and_a_colon(
    rows: list[tuple[str | None, str | None]], chunked: bool
) -> None:
    ids = pa.array([a for a, _ in rows], pa.string())
    segments = pa.array([s for _, s in rows], pa.string())
    got = _same_article(ids, pa.chunked_array([segments]) if chunked else segments).to_pylist()
    assert got == [a is not None and s is not None and s.startswith(f"{a}:") for a, s in rows]


@given(st.lists(st.one_of(st.none(), st.integers(-(2**31), 2**31 - 1)), max_size=8))
def test_ordinal_suffix_is_the_format(ordinals: list[int | None]) -> None:
    got = _ordinal_suffix(pa.array(ordinals, pa.int32())).to_pylist()
    assert got == [None if o is None else f"{o:04d}" for o in ordinals]
