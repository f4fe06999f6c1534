"""Japanese sentence splitting and offsets."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from etl.classify import Unit
from etl.segment import build_segments, split_sentences


def sentences(text: str) -> list[str]:
    return [text[a:b] for a, b in split_sentences(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("「はい。そうです。」と彼は言った。", ["「はい。そうです。」と彼は言った。"]),
        ("本当ですか！？ええ、本当です。", ["本当ですか！？", "ええ、本当です。"]),
        ("いつも刺激を受けています", ["いつも刺激を受けています"]),
        ("一文目。二文目。いつも刺激を受けています", ["一文目。", "二文目。", "いつも刺激を受けています"]),
        ("彼は言った。「行こう。」", ["彼は言った。", "「行こう。」"]),
        ("『本の題。』を読んだ。次へ。", ["『本の題。』を読んだ。", "次へ。"]),
        ("（注：これは補足です。）以上です。", ["（注：これは補足です。）以上です。"]),
        ("Really? Yes!", ["Really?", "Yes!"]),
        ("終わりました。」", ["終わりました。」"]),
        ("すごい!!本当に?", ["すごい!!", "本当に?"]),
        ("", []),
    ],
)
def test_split_sentences(text: str, expected: list[str]) -> None:
    assert sentences(text) == expected


def test_unbalanced_bracket_does_not_swallow_the_block() -> None:
    text = "「閉じない括弧で始まる文。" + "次の文です。" * 100
    assert len(sentences(text)) > 50


@given(st.text(alphabet="あいう。！？「」『』（）ab .\n", max_size=200))
def test_sentences_cover_text_in_order(text: str) -> None:
    spans = split_sentences(text)
    last = 0
    for a, b in spans:
        assert last <= a < b <= len(text)
        assert text[a:b] == text[a:b].strip()
        last = b
    # Nothing but whitespace is left out.
    covered = "".join(text[a:b] for a, b in spans)
    assert covered == "".join(text[a:b] for a, b in spans)
    assert len("".join(text.split())) == len("".join(covered.split()))


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["paragraph", "heading", "question", "speaker_label", "link"]),
            st.text(alphabet="あい。「」？ ", min_size=1, max_size=40),
            st.sampled_from([None, "佐藤：", "――"]),
        ),
        min_size=1,
        max_size=15,
    )
)
def test_offsets_slice_back(units: list[tuple[str, str, str | None]]) -> None:
    built = [
        Unit(kind=k, text=t, label=lbl, heading_level=2 if k == "heading" else None) for k, t, lbl in units
    ]  # type: ignore[arg-type]
    body, segs, sents = build_segments(built)
    for seg in segs:
        assert body[seg.char_start : seg.char_end] == (seg.label or "") + seg.text
    for sent in sents:
        seg = segs[sent.segment_ordinal]
        assert body[sent.char_start : sent.char_end] == sent.text
        assert seg.char_start <= sent.char_start < sent.char_end <= seg.char_end
