"""The fast paths of parsing, classification, segmentation and the speaker reading give
what their plain definitions give.

Each fast path skips work its definition would do for nothing (a pattern that cannot
match, a normalisation that changes nothing, a dynamic pattern that is a literal); these
tests hold each to the definition it replaced, on the shipped samples and on adversarial
strings. The per-article digests (tests/test_same_tables.py) hold the whole.
"""

from __future__ import annotations

import random
import re
import sys
import unicodedata
from pathlib import Path

import pytest

from etl import classify as cls
from etl import cues
from etl.cues import (
    _CORPORATE_NAME_RE,
    _GREETING_RE,
    _HANDLE_NOTE_RE,
    _HANDLE_RE,
    _INTRO_PREDICATE_RE,
    _JOB_WORD_RE,
    _ORG_NAME_RE,
    _ORG_TAIL_RE,
    _QUOTED_NAME_RE,
    _SHAPE_END_RE,
    _SHAPE_RE,
    NOT_A_NAME,
    SelfIntro,
    _first_sentences,
    _job_word,
    _name_part,
    _org_unit,
    _topic_before,
    find_self_intro,
    split_affiliation,
    strip_quotes,
)
from etl.morph import tokenize
from etl.normalize import clean_text, match_key
from etl.parse_text import _clean_already, clean_line, parse_text
from etl.segment import _bracket_split, _plain_split, _split, split_sentences
from etl.speakers import _talked_about

SHARED = Path(__file__).resolve().parents[2] / "shared" / "samples"


def _sample_lines() -> list[str]:
    lines = [
        "",
        " ",
        "佐藤：はい、そうです。",
        "【伊藤】データ班の伊藤です。",
        "――まずは経歴を教えてください。",
        "Q1. 志望動機は？",
        "みどりさん→み(会社員)",
        "司会:広報課 相沢 玲",
        "(◎)こんばんは。",
        "こんにちは!総務担当の栗田です!",
        "省庁業務サービスグループ総括担当の井下です。2012年に入庁しました。",
        "私は「こはぜ」です。望月(@mochi_z)と申します。",
    ]
    if SHARED.is_dir():
        for path in sorted(SHARED.rglob("*.txt"))[:40]:
            lines.extend(
                line.strip() for line in path.read_text(encoding="utf-8", errors="replace").splitlines()
            )
    return [line for line in lines if len(line) < 2000]


LINES = _sample_lines()


def _random_texts(alphabet: str, count: int, longest: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, longest))) for _ in range(count)]


# --- parsing -----------------------------------------------------------------------------

_MESSY = "あｶﾞか\u3099\u309a e\u0301é \u3000\t\n\r\x0b\x1c\x85\u200b\u00a0\u2003\u2028\u205f\ufeffxΣ\u0323"


def test_clean_line_is_clean_text() -> None:
    for text in [*LINES, *_random_texts(_MESSY + "  ", 30_000, 10, 1)]:
        assert clean_line(text) == clean_text(text), repr(text)


def test_parse_text_strips_lines_only_when_clean_text_would_only_strip() -> None:
    for text in _random_texts(_MESSY, 20_000, 14, 2):
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        if _clean_already(text):
            assert [line.strip() for line in text.split("\n")] == [
                clean_text(line) for line in text.split("\n")
            ], repr(text)
    for text in ["見出し画像\n\nタイトル\r\n本文です。 ", "a\u3000\n b\u200b\r\nｶﾞ"]:
        lines = [clean_text(x) for x in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
        assert [b.text for b in parse_text(text).blocks] == [x for x in lines if x]


# --- classification ----------------------------------------------------------------------


def test_unicode_facts_behind_the_page_key_bound() -> None:
    # NFKC makes at most one character of _NFD_MAX, keeps a non-space character for every
    # non-space one, composes nothing onto a space; lower() shortens nothing.
    nfd_max = 0
    for cp in range(sys.maxunicode + 1):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        c = chr(cp)
        nfd_max = max(nfd_max, len(unicodedata.normalize("NFD", c)))
        if not c.isspace():
            assert any(not x.isspace() for x in unicodedata.normalize("NFKD", c)), hex(cp)
        decomposition = unicodedata.decomposition(c).split()
        if len(decomposition) == 2 and not decomposition[0].startswith("<"):
            assert not chr(int(decomposition[0], 16)).isspace(), hex(cp)
        assert c.lower()
    assert nfd_max <= cls._NFD_MAX


def test_page_keys_are_match_keys_where_they_can_matter() -> None:
    keyed = cls.CHROME_START | cls.CHROME_LINE | {cls.HEADER_IMAGE}
    alphabet = "aAΣσς ΑΒ\u0301\u0323eé\u3000\t\n\x00ｶﾞﾟ㍿ﬁ\u1100\u1161\u11a8ＡＢ１İ\u200b\u00a0スキ"
    rng = random.Random(3)
    groups = [LINES[i : i + 30] for i in range(0, len(LINES), 30)]
    for _ in range(3_000):
        groups.append(
            ["".join(rng.choice(alphabet) for _ in range(rng.choice([0, 3, 8, 120, 200]))) for _ in range(4)]
        )
    groups.append(["スキ", "フ\u3000ォ ロ ー", " " * 500 + "シェア" + "\u3000" * 300, "\x00スキ"])
    for texts in groups:
        for text, key in zip(texts, cls._page_keys(texts), strict=True):
            if key is None:
                assert match_key(text) not in keyed, text
            else:
                assert key == match_key(text), text


def _rule_heads() -> list[re.Pattern[str]]:
    return [
        cls._SPACE_LABEL_RE,
        cls._QUOTE_LABEL_RE,
        cls._SLASH_LABEL_RE,
        cls._URL_RE,
        cls._LINK_MARK_RE,
        cls.PROFILE_HEADER_RE,
        cls._GREETING_LINE_RE,
        cls._ASIDE_RE,
        cls._Q_ALONE_RE,
        cls._Q_WORD_ALONE_RE,
        cls._A_WORD_ALONE_RE,
        cls._MARK_QUESTION_RE,
        cls._ARROW_ANSWER_RE,
        cls._LIST_RE,
        cls._QUOTE_RE,
        cls._IMAGE_ALT_HEAD_RE,
    ]  # a greeting's start and a credit decide only lines of at most 80 characters


def test_only_intro_decides_means_no_other_rule_can() -> None:
    heads = "――QＱA→⇒■◆●・-*1①>＞(（【「『http www.:：=＝ 　こんにちは皆さん、佐藤"
    prose = "朝いちばんに窯の火を見に行くのが日課で、それから店を開けます。"
    rng = random.Random(4)
    texts = [*LINES, prose * 3]
    for _ in range(20_000):
        head = "".join(rng.choice(heads) for _ in range(rng.randint(0, 4)))
        texts.append(head + prose[rng.randint(0, 10) :] * rng.randint(1, 4))
    decided = 0
    for t in texts:
        if not cls._only_intro_decides(t):
            continue
        decided += 1
        for rx in _rule_heads():
            assert rx.match(t) is None, (rx.pattern, t)
        assert cls._ASIDE_RE.fullmatch(t) is None
        assert cues.question_marker(t) is None and cues.answer_marker(t) is None, t
        assert cues.find_label(t) is None and cues.label_shape(t) is None, t
        assert cues.cast_line(t) is None and cues.legend_key(t) is None, t
        assert not cls._is_link_text(t) and not cls._is_profile_header(t), t
        assert not cls._heading_like(t) and len(t) > 80, t
    assert decided > 1000


def test_cue_gates_refuse_only_what_the_patterns_refuse() -> None:
    alphabet = "佐藤：:【】→⇒=＝(（[［)）◎ 　司会担当はい。Ａ"
    for t in [*LINES, *_random_texts(alphabet, 30_000, 10, 5)]:
        if cues.find_label(t) is None:
            for rx in (cues.BRACKET_LABEL_RE, cues.COLON_LABEL_RE):
                m = rx.match(t)
                assert m is None or not cues.label_name_ok(m.group("name")), t
        if not cues.may_be_label(t):
            assert cues.LABEL_SHAPE_RE.match(t) is None, t
        if cues.cast_line(t) is None and ":" not in t and "：" not in t:
            assert cues.CAST_WORDS_RE.match(t.strip()) is None, t
        if cues.legend_key(t) is None and not re.search("[→⇒=＝]", t):
            assert cues.LEGEND_KEY_RE.match(t.strip()) is None, t
        assert cues.marker_of(t) == (m.group(0).strip() if (m := cues.MARKER_RE.match(t)) else None), t


def _old_name_by_shape(text: str) -> cues.NamedPerson | None:
    plain = text.replace("\u3000", " ")
    bare = re.sub(r"\s*[(（][^)）]*[)）]\s*$", "", plain).strip()
    m = _SHAPE_END_RE.search(bare) or _SHAPE_RE.search(plain)
    if m is None:
        return None
    paren = re.search(r"[(（](?P<note>[^)）]+)[)）]", plain)
    note = paren.group("note") if paren else None
    if _job_word(m.group("given")):
        return None
    if _org_unit(m.group("family")) or _job_word(m.group("family")):
        given = m.group("given")
        return cues.NamedPerson(given, given, note) if re.fullmatch(r"[一-龥々ヶ]{1,4}", given) else None
    return cues.NamedPerson(m.group("family"), f"{m.group('family')} {m.group('given')}", note)


def test_name_by_shape_gate() -> None:
    alphabet = "相沢玲樋口朔代表 　\t(（)）さん総務部白井"
    for t in [*LINES, *_random_texts(alphabet, 5_000, 9, 6)]:
        assert cues.name_by_shape(t) == _old_name_by_shape(t), t


def _old_intro_in(sentence: str, known: frozenset[str], *, after_greeting: bool = False) -> SelfIntro | None:
    m = _INTRO_PREDICATE_RE.search(sentence)
    if m is None:
        return None
    complement = sentence[: m.start()].strip()
    greeted = after_greeting or bool(_GREETING_RE.match(complement))
    complement = _GREETING_RE.sub("", complement).lstrip("、,!！。 　")
    complement = re.sub(r"^(?:私は|わたしは|僕は|ぼくは|わたくし|私、)", "", complement)
    if not complement or len(complement) > 60:
        return None
    tokens = tokenize(complement)
    # A company's name is one word, whatever the dictionary makes of it (「株式会社みなも
    # フーズ」 reads a topic particle も): left out of the topic check.
    if _topic_before(
        tokenize(_CORPORATE_NAME_RE.sub("会社", complement))
        if _CORPORATE_NAME_RE.search(complement)
        else tokens
    ):
        return None
    before, name = _name_part(complement)
    fallback = False
    shaped = _SHAPE_END_RE.search(complement)
    if not name and shaped is not None and not _ORG_TAIL_RE.search(complement):
        # A given name the dictionary reads as something else (「宮坂 颯」); never a unit
        # of an organisation (「港川町 企画課」), whose shape is the same.
        before, name = (
            complement[: shaped.start("family")],
            f"{shaped.group('family')} {shaped.group('given')}",
        )
    if not name:
        # The dictionary split the name into non-nouns (「くろまめ」): take what follows the
        # last の、 or space when the predicate names (といいます) or a greeting precedes.
        cut = max(complement.rfind(c) for c in ("の", "、", ",", " ", "\u3000"))
        tail = complement[cut + 1 :]
        if _HANDLE_RE.match(tail) and (greeted or m.group("pred") != "です"):
            before, name, fallback = complement[: cut + 1], tail, True
    core = name.split()[0] if " " in name else name
    if not core or len(name) > 14 or match_key(core) in NOT_A_NAME:
        return None
    if _ORG_TAIL_RE.search(name.split()[-1]):
        return None  # 「港川町 地域振興課です」: an organisation's unit, not a person (org_intro)
    ntoks = tokenize(core)
    if _ORG_NAME_RE.search(core) and ntoks and ntoks[-1].pos3 != "人名":
        return None
    if not ntoks or (
        not fallback and any(t.pos1 not in ("名詞", "接頭辞", "補助記号", "記号") for t in ntoks)
    ):
        return None
    proper = any(t.pos2 == "固有名詞" and t.pos3 in ("人名", "地名", "一般") for t in ntoks)
    strong = m.group("pred") in ("と申します", "といいます", "と言います", "と申す者です")
    # A kana handle is one word the dictionary does not split (「ぽんず」「ハルタ」), or comes
    # right after a greeting; a Latin one is a handle anywhere.
    latin = bool(re.fullmatch(r"[A-Za-z][A-Za-z0-9_.\-]{1,15}", core))
    handle = (
        bool(_HANDLE_RE.match(core))
        and (latin or greeted or len(ntoks) == 1)
        and (greeted or strong or latin or before.rstrip().endswith(("の", "、", ",")))
    )
    after_job = bool(_JOB_WORD_RE.search(before.rstrip("の、 　"))) and len(core) <= 4
    is_known = core in known or any(k.startswith(core) for k in known if len(core) >= 2)
    if not (proper or strong or handle or after_job or is_known):
        return None
    if not before and not greeted and not strong and not any(t.pos3 == "人名" for t in ntoks):
        return None  # a bare 「Xです。」: only a person's name (UniDic 人名) introduces someone
    family = core
    if " " not in name:
        surname = next((t.surface for t in ntoks if t.is_surname), None)
        if surname and surname != core and core.startswith(surname):
            family = surname
    pre = re.sub(r"^\d{4}年(?:度)?(?:入庁|入社|入省|入所)?の?", "", before).strip(" 、の")
    # A long clause (「…で検査の仕事をしている」) is a description, not an affiliation.
    affiliation, job_title = (
        split_affiliation(pre) if pre and not re.search(r"[でをにがて、]", pre) else (None, None)
    )
    return SelfIntro(
        name=family,
        full_name=name.replace("\u3000", " "),
        affiliation=affiliation,
        job_title=job_title,
        sentence=sentence,
        weak=not (proper or strong or is_known or latin or greeted),
    )


def _old_find_self_intro(
    text: str, known: frozenset[str] = frozenset(), *, weak: bool = False
) -> SelfIntro | None:
    text = _QUOTED_NAME_RE.sub(r"\1", text)
    text = _HANDLE_NOTE_RE.sub("", text)
    plain = strip_quotes(text) if "「" in text or "『" in text else text
    sentences = _first_sentences(plain, 3)
    head: list[str] = []
    for sentence in sentences:
        head.append(sentence)
        if not _GREETING_RE.match(sentence.strip()) or len(sentence.strip()) > 16:
            break
    for k, sentence in enumerate(head):
        intro = _old_intro_in(sentence.strip(), known, after_greeting=k > 0)
        if intro is not None and (weak or not intro.weak):
            return intro
    return None


@pytest.mark.parametrize("weak", [False, True])
def test_find_self_intro_is_the_plain_definition(weak: bool) -> None:
    texts = [
        *LINES,
        "焼き菓子のマドレーヌです。",
        "こんばんは、経理担当のhina_22です。",
        "「佐藤です。」と彼は言った。",
    ]
    for known in (frozenset(), frozenset({"井下", "マドレーヌ", "くろまめ", "佐"})):
        for text in texts:
            assert find_self_intro(text, known, weak=weak) == _old_find_self_intro(text, known, weak=weak), (
                text
            )


# --- segmentation and the speaker reading ------------------------------------------------

_SPLIT_ALPHABET = "あい。！？!?」』）)】”「『（(【“ \u3000\t\nx"


def test_regex_splits_are_the_depth_count() -> None:
    texts = [*LINES, *_random_texts(_SPLIT_ALPHABET, 40_000, 24, 7)]
    texts += _random_texts("あいう。。！「」「」『』（）xx  ", 40_000, 40, 8)
    for text in texts:
        assert _plain_split(text) == _split(text, respect_brackets=False), text
        assert _bracket_split(text) == _split(text, respect_brackets=True), text
        spans = _split(text, respect_brackets=True)
        if any(b - a > 400 for a, b in spans):
            spans = _split(text, respect_brackets=False)
        assert split_sentences(text) == spans, text


def test_regex_splits_stay_linear_on_long_lines() -> None:
    # A failed match costs one pass: a long line without an ender, or with a quote left
    # open, must not take quadratic time.
    for text in ("あ" * 200_000 + "「" + "い" * 100_000, "あ" * 300_000, "「" * 50_000 + "。" * 50_000):
        assert split_sentences(text) == _split(text, respect_brackets=False) or split_sentences(text)


def test_talked_about_is_the_pattern() -> None:
    for name in ["森", "", "a.b", "(笑)", "佐藤"]:
        for plain in [
            "森さんは笑った。",
            "a.bさん",
            "axbさん",
            "(笑)氏",
            "取材の帰り道",
            "佐藤先生",
            "森氏",
            "",
        ]:
            expected = bool(
                re.search(re.escape(name) + r"(?:さん|氏|先生|教授)", plain)
                or re.search(r"取材(?:の帰り|を終え|のあと|の最後)|インタビューを終え", plain)
            )
            assert _talked_about(name, plain) is expected, (name, plain)


# --- gates of the classifier's main loop and the speaker reading ---------------------------

_HEADS = "――QＱA→⇒■◆●・-*1①>＞(（【「『http www.:：=＝ 　こんにちは皆さん、佐藤/／写真画像。？?"


def _start_rules() -> list[re.Pattern[str]]:
    # Every pattern the main loop asks only when _rule_head says one of them matches.
    return [*_rule_heads(), cues.QUESTION_RE, cues.ANSWER_RE]


def test_rule_heads_gate_the_start_anchored_rules_of_short_lines_too() -> None:
    rng = random.Random(11)
    tails = ["", "です。", "佐藤", "：はい", "」", "さん", "(笑)", "1", "?"]
    texts = [*LINES]
    for _ in range(30_000):
        head = "".join(rng.choice(_HEADS) for _ in range(rng.randint(0, 5)))
        texts.append(head + rng.choice(tails) + "".join(rng.choice(_HEADS) for _ in range(rng.randint(0, 3))))
    gated = 0
    for t in texts:
        if cls._rule_head(t):
            continue
        gated += 1
        for rx in _start_rules():
            assert rx.match(t) is None, (rx.pattern, t)
        assert cls._ASIDE_RE.fullmatch(t) is None, t
        assert cues.question_marker(t) is None and cues.answer_marker(t) is None, t
        assert not cls._is_link_text(t), t
        assert cls._is_profile_header(t) == cls._profile_header_by_end(t), t
    assert gated > 5_000


def test_page_furniture_is_the_three_patterns() -> None:
    alphabet = "2024年1月2日/.-(（月)）・*＊■―—=〜…☆ 　\t\n\x1c\x85\u2028※追記更新注:：0あ"
    texts = [
        *LINES,
        "2024年3月1日",
        " 2024/3/1 (金)\n",
        "\u30002024年3月\u3000",
        "・・・",
        "※3月2日 追記しました",
    ]
    texts += _random_texts(alphabet, 60_000, 14, 12)
    rng = random.Random(13)
    for _ in range(20_000):
        texts.append(
            rng.choice(" \u3000\t\n") * rng.randint(0, 2)
            + f"20{rng.randint(10, 99)}年{rng.randint(1, 12)}月"
            + rng.choice(["", f"{rng.randint(1, 31)}日", "1日(月)", " 1日 （火）"])
            + rng.choice(["", " ", "\n", "\u3000x"])
        )
    for t in texts:
        plain = bool(
            cls._SEPARATOR_RE.match(t) or cls._DATE_LINE_RE.match(t.strip()) or cls._UPDATE_NOTE_RE.match(t)
        )
        assert bool(cls._PAGE_FURNITURE_RE.match(t)) is plain, repr(t)


def test_end_patterns_read_the_tail_only() -> None:
    alphabet = "をがにでとのもけどれてたらなあ。\n "
    for t in [*LINES, *_random_texts(alphabet, 40_000, 12, 14)]:
        for rx in (cls._WRAPPED_RE, cls._PARTICLE_END_RE):
            assert bool(rx.search(t[-cls._END_TAIL :])) is bool(rx.search(t)), (rx.pattern, t)


def test_corporate_name_gate() -> None:
    alphabet = "株式会社有限合同一般公益社団財団法人NPO特定非営利活動のみなも 、,"
    for t in [*LINES, *_random_texts(alphabet, 30_000, 12, 15)]:
        assert cues._has_corporate_name(t) is bool(_CORPORATE_NAME_RE.search(t)), t


def _old_name_start(complement: str, run: str) -> int:
    start = len(complement)
    while start > 0 and len(re.sub(r"\s", "", complement[start - 1 :])) <= len(run):
        start -= 1
    if len(re.sub(r"\s", "", complement[start:])) > len(run):
        start += 1
    return start


def _old_name_part(complement: str) -> tuple[str, str]:
    # _name_part as it was, with the run's start found by stripping every tail again.
    tokens = tokenize(complement)
    j = len(tokens)
    while j > 0 and tokens[j - 1].pos1 in ("名詞", "接頭辞") and tokens[j - 1].pos2 != "数詞":
        j -= 1
    run = "".join(t.surface for t in tokens[j:])
    start = _old_name_start(complement, run)
    before, name = complement[:start], complement[start:].strip()
    if " " in name or "\u3000" in name:
        head, _, tail = name.replace("\u3000", " ").rpartition(" ")
        last = head.split(" ")[-1]
        ttoks = cues._tokens_of_tail(tokens[j:], len(tail))
        toks = cues._tokens_of_tail(tokens[j : len(tokens) - len(ttoks)], len(last))
        given = bool(ttoks) and ttoks[0].pos3 == "人名" and ttoks[0].pos4 == "名" and len(tail) <= 4
        if not (toks and len(toks) <= 2 and (toks[0].pos2 == "固有名詞" or given) and len(last) <= 5):
            before, name = before + head + " ", tail
        else:
            before, name = before + head[: len(head) - len(last)], f"{last} {tail}"
    return before, name


def test_name_part_is_the_plain_definition() -> None:
    alphabet = "総務担当の滝口戸田 りん\u3000\t佐藤花子データ班1"
    texts = [*(t[:60] for t in LINES), "総務担当 滝口", "戸田 りん", "検査の仕事をしている杉浦"]
    for t in [*texts, *_random_texts(alphabet, 3_000, 14, 16)]:
        assert _name_part(t) == _old_name_part(t), t
    # The tail counting itself, on runs MeCab would never give.
    for t in _random_texts("あ い\u3000\t\nう", 20_000, 10, 17):
        for k in range(0, 6):
            run = "x" * k
            start = len(t)
            solid = 0
            while start > 0 and solid + (not t[start - 1].isspace()) <= len(run):
                solid += not t[start - 1].isspace()
                start -= 1
            assert start == _old_name_start(t, run), (t, k)


def test_interview_intro_gate() -> None:
    from etl.speakers import _AFTER_ENDER_RE, _INTERVIEW_INTRO_RE

    alphabet = "佐藤さん氏にへお話聞伺ったのはゲストはです。！？\n 取材インタビュー登場する"
    for t in [*LINES, *_random_texts(alphabet, 40_000, 16, 18)]:
        if any(_INTERVIEW_INTRO_RE.search(s) for s in _AFTER_ENDER_RE.split(t)):
            assert _INTERVIEW_INTRO_RE.search(t), t
    from etl.speakers import _may_intro_interview

    quoted = alphabet + "「」『』さ氏様先生"
    for t in [*LINES, *_random_texts(quoted, 60_000, 16, 23)]:
        if not _may_intro_interview(t):
            assert _INTERVIEW_INTRO_RE.search(strip_quotes(t)) is None, t


def test_records_made_slot_by_slot_are_the_constructed_ones() -> None:
    from dataclasses import fields

    from etl.classify import Unit, classify
    from etl.model import Block, slot_setters
    from etl.segment import Segment, Sentence, build_segments

    blocks = [Block(text=t, emphasis=i % 7 == 0) for i, t in enumerate(LINES[:400])]
    units = classify([Block(text="題"), Block(text="見出し", kind="heading", heading_level=3), *blocks])
    _body, segments, sentences = build_segments(units)
    assert sentences and len(segments) == len(units)
    for cls_, records in ((Unit, units), (Segment, segments), (Sentence, sentences)):
        for rec in records:
            same = cls_(**{f.name: getattr(rec, f.name) for f in fields(cls_)})  # every slot is set
            assert type(rec) is cls_ and rec == same and repr(rec) == repr(same) and hash(rec) == hash(same)
    from etl.parse_html import parse_html

    html = (
        '<h1 class="o-noteContentHeader__title">題</h1><div class="note-common-styles__textnote-body">'
        '<h2 id="a" name="a">見出し</h2><p>本文<b>です</b>。<br><a href="/x">リンク</a></p>'
        "<ul><li>項目</li></ul><blockquote>引用</blockquote><pre>一\n二</pre></div>"
    )
    for block in parse_html(html).blocks:
        same = Block(**{f.name: getattr(block, f.name) for f in fields(Block)})
        assert type(block) is Block and block == same and repr(block) == repr(same)
    with pytest.raises(TypeError):
        slot_setters(Unit, "kind", "text")


def test_terminated_is_its_definition() -> None:
    # _terminated skips _TRAILING_SYMBOLS_RE's sub when the last character is not in it.
    alphabet = "です。ね🌿！!♪☆ \u3000\n\ufe0fよだ」)"
    for t in [*LINES, *_random_texts(alphabet, 30_000, 8, 21)]:
        bare = cls._TRAILING_SYMBOLS_RE.sub("", t)
        plain = bool(t) and (
            t.rstrip("」』）)")[-1:] in cls._SENTENCE_END
            or (bare != t and bool(cls._POLITE_END_RE.search(bare)))
        )
        assert cls._terminated(t) is plain, repr(t)


def test_label_set_gates_need_their_delimiter_where_the_pattern_puts_it() -> None:
    alphabet = "波多野さんはるあき桃子ゆう /／「」。、 \u3000\t\n1ア"
    for t in [*LINES, *_random_texts(alphabet, 60_000, 14, 22)]:
        if not cls._name_space_near(t):
            assert cls._SPACE_LABEL_RE.match(t) is None, repr(t)
        if "/" not in t[1:9] and "／" not in t[1:9]:
            assert cls._SLASH_LABEL_RE.match(t) is None, repr(t)
        if "「" not in t[1:9]:
            assert cls._QUOTE_LABEL_RE.match(t) is None, repr(t)


def test_flat_quote_split_is_the_flat_quote_sub() -> None:
    for t in [*LINES, *_random_texts("「」『』あい 。\n", 60_000, 12, 24)]:
        pieces = cues._FLAT_QUOTE_SPLIT_RE.split(t)
        assert ("".join(pieces), len(pieces) // 2) == cues._FLAT_QUOTE_RE.subn("", t), repr(t)


def test_plain_lines_skip_only_rules_that_cannot_decide_them() -> None:
    # classify's plain-line path: no rule head, no colon or 【, no legend arrow (and no
    # marker, no bold, asked of the block). The rules it skips all return nothing then.
    rng = random.Random(25)
    texts = [*LINES]
    for _ in range(30_000):
        texts.append("".join(rng.choice(_HEADS + "→=＝【】") for _ in range(rng.randint(0, 8))))
    plain_seen = 0
    for t in texts:
        if cls._rule_head(t) or cues.may_be_label(t) or cls._LEGEND_MARK_RE.search(t):
            continue
        plain_seen += 1
        assert cues.cast_line(t) is None and cues.legend_key(t) is None, t
        assert cues.find_label(t) is None and cues.label_shape(t) is None, t
        assert cls._SHAPE_LABEL_RE.match(t) is None or cues.label_shape(t) is None, t
    assert plain_seen > 5_000


def test_rule_head_gates_need_their_character_where_the_pattern_puts_it() -> None:
    rng = random.Random(26)
    words = [
        "こんにちは",
        "皆さん、はじめまして",
        "みなさま",
        "写真。",
        "画像。",
        "スライド。",
        "イラスト",
        "。",
    ]
    texts = [*LINES]
    for _ in range(40_000):
        texts.append(
            "".join(
                rng.choice(words) if rng.random() < 0.2 else rng.choice(_HEADS)
                for _ in range(rng.randint(0, 9))
            )
        )
    texts += _random_texts("店主の写真画像。ショットイラストスライド 工房", 20_000, 40, 27)
    for t in texts:
        if t[:1] not in cls._GREETING_FIRST:
            assert cls._GREETING_LINE_RE.match(t) is None, t
        if "。" not in t[3:35]:
            assert cls._IMAGE_ALT_HEAD_RE.match(t) is None, t
        plain = any(rx.match(t) for rx in _start_rules())
        assert cls._rule_head(t) is plain, t
