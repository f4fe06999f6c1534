"""The taxonomy loader: the shipped file is valid, and every mistake names its file and line."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from etl.errors import TaxonomyError
from etl.taxonomy import DEFAULT_TAXONOMY_PATH, GuardedPattern, PatternGate, load_taxonomy

from .conftest import sample_lines

# The terms DESIGN.md section 4 requires of the first version, per topic id.
REQUIRED: dict[str, list[str]] = {
    "government_cloud": ["ガバメントクラウド"],
    "gss_workplace": ["GSS", "ガバメントソリューションサービス", "業務環境", "LAN", "PC"],
    "open_data": ["オープンデータ", "オープンガバメント", "データポータル"],
    "data_utilization": [
        "データ利活用",
        "データの利活用",
        "データ利用",
        "データ活用",
        "データ流通",
        "データ連携",
        "POSデータ",
    ],
    "dashboard": ["ダッシュボード", "見える化", "可視化"],
    "dx": ["DX", "デジタル化", "デジタルトランスフォーメーション"],
    "user_centered": ["ユーザー体験", "フィードバック", "誰一人取り残されない", "利用者の声", "利用者テスト"],
    "public_services": ["給付金", "子育て支援", "窓口", "行政手続き"],
    "diet_affairs": ["国会", "答弁", "質問通告"],
    "interagency": ["府省庁", "他省庁", "各省庁", "連携・調整"],
    "career_recruitment": ["国家公務員", "入庁", "新卒", "採用", "キャリア", "転職"],
    "diversity": ["多様なバックグラウンド", "民間企業出身", "多様な経歴"],
    "legal": ["法令", "法制", "法案"],
    "procurement": ["調達", "入札"],
    "mynumber": ["マイナンバー", "マイナポータル"],
    "security": ["セキュリティ", "情報セキュリティ"],
    "international": ["国際", "標準化", "留学", "海外"],
    "research": ["研究", "修士課程", "大学", "博士"],
}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "topics.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def error_of(path: Path) -> str:
    with pytest.raises(TaxonomyError) as info:
        load_taxonomy(path)
    return str(info.value)


# -- the shipped taxonomy ---------------------------------------------------------------------


def test_default_taxonomy_loads_from_the_project_config() -> None:
    tax = load_taxonomy()
    assert tax.version == "1"
    assert tax.source == str(DEFAULT_TAXONOMY_PATH)
    assert DEFAULT_TAXONOMY_PATH.parts[-2:] == ("config", "topics.yaml")
    assert set(REQUIRED) <= set(tax.ids)


@pytest.mark.parametrize("topic_id", sorted(REQUIRED))
def test_default_taxonomy_covers_the_required_terms(topic_id: str) -> None:
    topic = load_taxonomy().get(topic_id)
    for term in REQUIRED[topic_id]:
        # Short acronyms (GSS, LAN, PC, DX) are patterns with ASCII word boundaries.
        assert term in topic.keywords or any(p.fullmatch(term) for p in topic.patterns), term


def test_short_acronyms_are_whole_token_patterns() -> None:
    tax = load_taxonomy()
    for topic_id, acronym in [("gss_workplace", "GSS"), ("gss_workplace", "LAN"), ("gss_workplace", "PC")]:
        patterns = tax.get(topic_id).patterns
        assert any(p.search(f"新しい{acronym}等") for p in patterns)
        assert not any(p.search(f"X{acronym}Y") or p.search(f"{acronym}R") for p in patterns)
    assert not any(p.search("PCR検査") for p in tax.get("gss_workplace").patterns)


def test_legal_does_not_use_a_bare_ho() -> None:
    assert "法" not in load_taxonomy().get("legal").keywords


def test_parents_and_ancestors() -> None:
    tax = load_taxonomy()
    assert tax.get("open_data").parent_id == "data_utilization"
    assert tax.get("dashboard").parent_id == "data_utilization"
    assert tax.ancestors("dashboard") == ("data_utilization",)
    assert tax.ancestors("government_cloud") == ()
    with pytest.raises(KeyError):
        tax.get("no_such_topic")


def test_taxonomy_is_frozen() -> None:
    tax = load_taxonomy()
    with pytest.raises(dataclasses.FrozenInstanceError):
        tax.version = "2"
    with pytest.raises(dataclasses.FrozenInstanceError):
        tax.topics[0].keywords = ()
    assert isinstance(tax.topics, tuple)
    assert all(isinstance(p, GuardedPattern) for t in tax.topics for p in t.patterns)


def test_a_minimal_topic_gets_defaults(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        'taxonomy_version: "7"\ntopics:\n  - id: space\n    label_ja: 宇宙\n    keywords: [宇宙, 衛星]\n',
    )
    tax = load_taxonomy(str(path))
    (topic,) = tax.topics
    assert (tax.version, tax.source) == ("7", str(path))
    assert (topic.id, topic.label_ja, topic.label_en, topic.parent_id) == ("space", "宇宙", "space", None)
    assert topic.keywords == ("宇宙", "衛星")
    assert topic.patterns == topic.negative_patterns == ()


# -- one test per validation rule: file name and the right line in the message ----------------

HEAD = 'taxonomy_version: "1"\ntopics:\n'  # lines 1-2; topic entries start on line 3


@pytest.mark.parametrize(
    ("body", "line", "fragment"),
    [
        pytest.param(
            "  - id: a\n    label_ja: A\n    keywords: [x]\n  - id: a\n    label_ja: B\n    keywords: [y]\n",
            6,
            "duplicate topic id 'a' (first defined at line 3)",
            id="duplicate-id",
        ),
        pytest.param(
            "  - id: a\n    label_ja: A\n    keywords: [x]\n    parent: nowhere\n",
            6,
            "unknown parent 'nowhere'",
            id="unknown-parent",
        ),
        pytest.param(
            "  - id: a\n    label_ja: A\n    parent: b\n    keywords: [x]\n"
            "  - id: b\n    label_ja: B\n    parent: a\n    keywords: [y]\n",
            5,
            "parent cycle: a -> b -> a",
            id="parent-cycle",
        ),
        pytest.param(
            "  - id: a\n    label_ja: A\n    parent: a\n    keywords: [x]\n",
            5,
            "parent cycle: a -> a",
            id="parent-is-itself",
        ),
        pytest.param(
            "  - id: a\n    label_ja: A\n    keywords: [x]\n    patterns:\n      - 'ok'\n      - '(unclosed'\n",
            8,
            "bad regex '(unclosed' in patterns: missing ), unterminated subpattern",
            id="bad-regex",
        ),
        pytest.param(
            "  - id: a\n    label_ja: A\n    keywords: [x]\n    negative_patterns: ['[z-a]']\n",
            6,
            "bad regex '[z-a]' in negative_patterns: bad character range z-a",
            id="bad-negative-regex",
        ),
        pytest.param(
            "  - id: a\n    label_ja: A\n    keywords: [x]\n    patterns: ['a*']\n",
            6,
            "matches the empty string",
            id="regex-matching-everything",
        ),
        pytest.param(
            "  - id: a\n    label_ja: A\n    keywords: [x]\n  - id: b\n    label_ja: B\n    keywords: []\n",
            6,
            "topic 'b' has no keywords and no patterns",
            id="no-keywords-no-patterns",
        ),
        pytest.param(
            "  - id: b\n    label_ja: B\n    negative_patterns: [z]\n",
            3,
            "topic 'b' has no keywords and no patterns",
            id="only-negative-patterns",
        ),
        pytest.param(
            "  - id: a\n    label_ja: A\n    keywords: [x]\n  - label_ja: B\n    keywords: [y]\n",
            6,
            "topic without an id",
            id="missing-id",
        ),
        pytest.param(
            "  - id: a\n    label_en: A\n    keywords: [x]\n",
            3,
            "topic 'a' has no label_ja",
            id="missing-label-ja",
        ),
        pytest.param(
            "  - id: a\n    label_ja: ''\n    keywords: [x]\n",
            4,
            "label_ja must be a non-empty string",
            id="empty-label-ja",
        ),
        pytest.param(
            "  - id: a\n    label_ja: A\n    keywords:\n      - x\n      - yes\n",
            7,
            "keywords entries must be strings, got True; quote it",
            id="non-string-keyword-bool",
        ),
        pytest.param(
            "  - id: a\n    label_ja: A\n    keywords: [x, 110]\n",
            5,
            "keywords entries must be strings, got 110",
            id="non-string-keyword-int",
        ),
        pytest.param(
            "  - id: a\n    label_ja: A\n    keywords: ['  ']\n",
            5,
            "empty keyword",
            id="blank-keyword",
        ),
        pytest.param(
            "  - id: a\n    label_ja: A\n    keywords: x\n",
            5,
            "keywords must be a list",
            id="keywords-not-a-list",
        ),
        pytest.param(
            "  - id: a\n    label_ja: A\n    keyword: [x]\n",
            5,
            "unknown topic key 'keyword'",
            id="unknown-topic-key",
        ),
        pytest.param(
            "  - id: a\n    label_ja: A\n    keywords: [x]\n    keywords: [y]\n",
            6,
            "topic key 'keywords' is given twice",
            id="repeated-key",
        ),
        pytest.param(
            "  - id: Bad-Id\n    label_ja: A\n    keywords: [x]\n",
            3,
            "must be lower_snake_case",
            id="bad-id",
        ),
        pytest.param(
            "  - id: a\n    label_ja: A\n    keywords: [x, y\n  - id: b\n",
            6,
            "YAML syntax error",
            id="yaml-syntax-error",
        ),
        pytest.param("  - just a string\n", 3, "each topic must be a mapping", id="entry-not-a-mapping"),
        pytest.param("  []\n", 3, "topics must be a non-empty list", id="no-topics"),
    ],
)
def test_validation_names_file_and_line(tmp_path: Path, body: str, line: int, fragment: str) -> None:
    path = write(tmp_path, HEAD + body)
    message = error_of(path)
    assert message.startswith(f"{path}:{line}: "), message
    assert fragment in message


def test_yaml_syntax_error_reports_the_yaml_line(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD + "  - id: a\n    label_ja: A\n   keywords: [x]\n")
    message = error_of(path)
    assert message.startswith(f"{path}:5: YAML syntax error"), message


def test_missing_taxonomy_version(tmp_path: Path) -> None:
    path = write(tmp_path, "# comment\ntopics:\n  - id: a\n    label_ja: A\n    keywords: [x]\n")
    assert error_of(path).startswith(f"{path}:2: missing taxonomy_version")


def test_taxonomy_version_must_be_a_string(tmp_path: Path) -> None:
    path = write(tmp_path, "topics:\n  - id: a\n    label_ja: A\n    keywords: [x]\ntaxonomy_version: 1\n")
    message = error_of(path)
    assert message.startswith(f"{path}:5: taxonomy_version must be a non-empty string"), message


def test_unknown_top_level_key(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD + "  - id: a\n    label_ja: A\n    keywords: [x]\ntopic_list: []\n")
    assert error_of(path).startswith(f"{path}:6: unknown top-level key 'topic_list'")


def test_missing_topics(tmp_path: Path) -> None:
    path = write(tmp_path, 'taxonomy_version: "1"\n')
    assert error_of(path).startswith(f"{path}:1: missing topics")


def test_empty_file(tmp_path: Path) -> None:
    path = write(tmp_path, "# nothing yet\n")
    assert error_of(path).startswith(f"{path}:1: empty taxonomy file")


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "topics.yaml"
    path.write_bytes(HEAD.encode() + "  - id: a\n    label_ja: 宇宙\n".encode("shift_jis"))
    assert error_of(path).startswith(f"{path}:4: not UTF-8 text")


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    message = error_of(path)
    assert message.startswith(f"{path}: cannot read taxonomy file"), message


def test_unsafe_tags_are_rejected_with_a_line(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD + "  - id: a\n    label_ja: !!python/name:os.system A\n    keywords: [x]\n")
    message = error_of(path)
    assert message.startswith(f"{path}:4: cannot read value"), message


def _reference_live(gate: PatternGate, text: str) -> frozenset[GuardedPattern]:
    """PatternGate.live with every group searched (no needle test first)."""
    out = set(gate._always)
    for compiled, members in gate._groups:
        if compiled.search(text) is not None:
            out |= members
    return frozenset(out)


def test_gate_needles_only_skip_searches_that_find_nothing() -> None:
    from etl.facet_config import load_facet_config

    tax = load_taxonomy()
    cfg = load_facet_config()
    gates = [PatternGate(p for t in tax.topics for p in (*t.patterns, *t.negative_patterns))]
    gates += [cfg.heading_cues._gate, cfg.content_cues._gate]
    gates.append(
        PatternGate([GuardedPattern(s, "t") for s in ("ab+c", "(?:x|y)z", "Qの", "(?i)gss", "a{e<=1}")])
    )
    assert any(n is not None for n in gates[0]._needles)  # the shipped taxonomy has needles
    texts = [
        *sample_lines(),
        "GSSの業務",
        "ＧＳＳ",
        "gss",
        "abbbc",
        "yz",
        "Qの",
        "a",
        "データを活用",
        "技術を採用",
        "LAN PC DX UX",
    ]
    for text in dict.fromkeys(texts):
        for gate in gates:
            assert gate.live(text) == _reference_live(gate, text), text


def test_needles_of_patterns() -> None:
    from etl.taxonomy import _needle

    assert _needle("公務研究セミナー") == "公務研究セミナー"
    assert _needle("(?:技術|方式)を採用") == "を採用"
    assert _needle(r"\d+年(?:間|目)") == "年"
    assert _needle("(?=データ)") is None  # a lookahead's characters are not consumed, yet not top level
    assert _needle("a|b") is None and _needle("x*") is None and _needle("[[:alpha:]]") is None


def test_a_slow_pattern_is_searched_though_its_needle_is_missing() -> None:
    """A pattern that may backtrack gets no needle: its search must run (and time out)."""
    gate = PatternGate([GuardedPattern("(x+x+)+y", "t"), GuardedPattern("データ", "t")])
    assert gate._needles == [None]
    fast = PatternGate([GuardedPattern("データ", "t"), GuardedPattern("(?a)\\bPC\\b", "t")])
    assert fast._needles == [("データ",), ("PC",)]


def test_probes_are_skipped_only_for_patterns_sure_to_be_fast() -> None:
    from etl.taxonomy import _cannot_backtrack, backtracks

    for source in ("(a|aa)+$", "(x+x+)+y", r"(\d+)*[a-z]$", r"\d+\d+$", "(?:a|a)" * 20 + "b", "a{e<=1}"):
        assert not _cannot_backtrack(source), source
    tax = load_taxonomy()
    from etl.facet_config import load_facet_config

    cfg = load_facet_config()
    shipped = [p for t in tax.topics for p in (*t.patterns, *t.negative_patterns)]
    shipped += [p for f in cfg.facets for cs in (f.heading, f.content) for p in (*cs.patterns, *cs.negative)]
    skipped = [p for p in shipped if _cannot_backtrack(p.pattern)]
    assert len(skipped) > len(shipped) // 2
    assert all(backtracks(p) is None for p in skipped)  # what the probes would have said
