"""Facets from config/facets.yaml: the lexicon's validation, and which cue decides."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from etl.analysis import Analyzer, EtlOptions
from etl.classify import classify
from etl.errors import TaxonomyError
from etl.facet_config import DEFAULT_FACETS_PATH, load_facet_config
from etl.facets import FacetTag, assign_facets, content_facet, heading_facets, is_work_story
from etl.model import FACETS, Block
from etl.segment import build_segments
from etl.speakers import attribute_speakers

MINIMAL = """\
facets_version: "1"
facets:
  - id: intro
    label_ja: 導入
  - id: career
    label_ja: 経歴
    work_only: true
    heading:
      lemmas: [経歴]
  - id: other
    label_ja: その他
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "facets.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_shipped_lexicon_loads_and_names_every_facet() -> None:
    cfg = load_facet_config()
    assert cfg.source == str(DEFAULT_FACETS_PATH)
    assert set(cfg.ids) == set(FACETS)
    assert all(f.heading for f in cfg.facets if f.id not in ("other",))


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            MINIMAL.replace("label_ja: 経歴", "label_ja: 経歴\n    colour: red"),
            r":7: unknown facet key 'colour'",
        ),
        (
            MINIMAL.replace("lemmas: [経歴]", "lemmas: 経歴"),
            r":9: facet 'career' heading: lemmas must be a list",
        ),
        (
            MINIMAL.replace("lemmas: [経歴]", "lemmas: [経歴]\n      patterns: ['(経歴']"),
            r"bad regex '\(経歴'",
        ),
        (MINIMAL.replace("lemmas: [経歴]", "patterns: ['x*']"), r"matches the empty string"),
        (MINIMAL.replace("work_only: true", "work_only: yes please"), r"work_only must be true or false"),
        (MINIMAL.replace("- id: career", "- id: Career"), r"must be lower_snake_case"),
        (
            MINIMAL.replace("- id: career", "- id: intro"),
            r"duplicate facet id 'intro' \(first defined at line 3\)",
        ),
        (MINIMAL.replace("  - id: other\n    label_ja: その他\n", ""), r"facets must include 'other'"),
        (MINIMAL.replace('facets_version: "1"\n', ""), r"missing facets_version"),
        (
            MINIMAL.replace("lemmas: [経歴]", "lemmas: [経歴, 1]"),
            r"lemmas entries must be strings, got 1; quote it",
        ),
        ("facets: [", r"YAML syntax error"),
    ],
)
def test_mistakes_name_the_file_line_and_key(tmp_path: Path, edit: str, message: str) -> None:
    path = write(tmp_path, edit)
    with pytest.raises(TaxonomyError, match=message) as info:
        load_facet_config(path)
    assert str(info.value).startswith(str(path))


def test_unknown_facet_ids_are_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL.replace("- id: career", "- id: hobbies"))
    with pytest.raises(TaxonomyError, match=r"facet id 'hobbies' is not one of"):
        load_facet_config(path)


def test_lemmas_match_dictionary_forms(tmp_path: Path) -> None:
    cfg = load_facet_config(write(tmp_path, MINIMAL.replace("lemmas: [経歴]", "lemmas: [勤める]")))
    career = next(f for f in cfg.facets if f.id == "career")
    assert [h.words for h in career.heading.find("銀行に勤めていました")] == ["勤め"]
    assert career.heading.find("ＧＳＳに勤務") == []


@pytest.mark.parametrize(
    ("heading", "facets"),
    [
        ("入社したきっかけ", ["motivation"]),  # head-final: about the きっかけ
        ("これまでの経歴、現在の業務について", ["career", "current_work"]),
        ("県庁で働く魅力", ["appeal"]),
        ("採用は、チーム全員の仕事", ["culture"]),  # 仕事 is weak: チーム decides
        ("それぞれの仕事", ["current_work"]),  # only the weak cue: it decides
        ("これから公務員を目指す方へ", ["message"]),
        ("家具店から役場へ", ["career"]),
        ("どんな仕事をしてきたか", ["career"]),
        ("◆プロフィール", ["intro"]),
        ("ＰＲＯＦＩＬＥ", ["intro"]),  # width and case
        ("味見も大事な仕事なんですね。", ["current_work"]),  # なんです is not なんで
        ("必要なサービスを、必要な方へ。デジタル技術で", []),  # a slogan, not an address
        ("迷ったら、やる", []),
        ("「まず面白がる」が合言葉", []),  # a quotation is not a cue
        ("「「聞きやすさ」がチームを強くする」", ["culture"]),  # one quotation as a whole
        ("白樺町ってどんなまち?", ["intro"]),
        ("なぜワークサンプルがあるの?", []),  # "why" about a state, not a choice
        ("なぜ農家に?", ["motivation"]),
        ("それでも、戻ってくることにした。", ["motivation"]),
        ("お世話になった人たちへ", []),  # people thanked, not readers addressed
        ("公務員を目指している人へ", ["message"]),
        ("Q2.窓口の仕事で、大切にしていることは?", ["current_work"]),
        ("職場の雰囲気や、一緒に働くうえで大切にしていること", ["culture"]),
        ("【次のバトン】", ["message"]),  # a relay note hands over to the next writer
        ("自己紹介と普段の業務", ["current_work"]),
    ],
)
def test_heading_forms(heading: str, facets: list[str]) -> None:
    assert [f for f, _ in heading_facets(heading)] == facets


def facet_of(text: str) -> str | None:
    found = content_facet(text)
    return found[0] if found else None


def test_content_cues_count_and_present_tense() -> None:
    assert facet_of("2015年に入社し、営業を担当していました。") == "career"
    assert facet_of("現在は、採用を担当しています。") == "current_work"
    assert facet_of("転職してからは面接を見直しました。いまは選考を担当しています。") == "current_work"
    assert facet_of("今日は晴れでした。") is None


def test_work_story_needs_several_work_words() -> None:
    assert is_work_story(["入社して3年、採用を担当しています。"])
    assert not is_work_story(["冷蔵庫の残り物で、週末のごはんをつくります。会社員のふたりです。"])


def tags(*lines: str) -> list[FacetTag]:
    _, segs, _ = build_segments(classify([Block(text=t) for t in lines]))
    return assign_facets(segs, attribute_speakers(segs)[0])


def test_a_question_decides_its_answers_over_the_heading() -> None:
    got = tags(
        "新しい社員の仕事を紹介します",
        "入社の年に配属された職員を紹介します。",
        "これまでの経歴",
        "――入社のきっかけを教えてください。",
        "大学で学んだことが生かせると思ったからです。",
    )
    facets = [(t.facet, t.method) for t in got]
    assert facets[2:] == [("career", "heading"), ("motivation", "question"), ("motivation", "question")]
    assert got[4].evidence == ("きっかけ",)


def test_content_decides_under_a_slogan_and_later_paragraphs_inherit() -> None:
    got = tags(
        "採用チームの仕事",
        "人事部で採用を担当する職員の話です。",
        "迷ったら、やる",
        "現在は、新卒採用の説明会を担当しています。",
        "説明会は毎月ひらきます。",
    )
    assert [(t.facet, t.method) for t in got[2:]] == [
        ("other", "heading"),
        ("current_work", "content"),
        ("current_work", "inherited"),
    ]


def test_articles_that_are_no_work_story_are_mostly_other() -> None:
    got = tags("散歩の記録", "朝の散歩を続けています。", "散歩を始めたきっかけ", "運動不足がきっかけでした。")
    assert [t.facet for t in got[2:]] == ["other", "other"]
    assert "not a work story" in got[3].evidence


def test_segment_topics_say_which_cue_decided(tmp_path: Path) -> None:
    text = "\n\n".join(
        [
            "採用チームの記事",
            "人事部で採用を担当する職員に話を聞きました。",
            "入社したきっかけ",
            "――なぜこの会社に？",
            "前職で仕事をしていて、説明会で惹かれました。",
        ]
    )
    rows = Analyzer(EtlOptions()).process_bytes("raw/a.txt", text.encode()).tables["segment_topics"]
    facet_rows = [(r["topic_id"], r["method"], r["evidence"]) for r in rows if r["dimension"] == "facet"]
    assert facet_rows[0][:2] == ("intro", "position")
    assert facet_rows[1] == ("motivation", "heading", ["きっかけ"])
    assert [m for _, m, _ in facet_rows[2:]] == ["question", "question"]


def test_a_question_asking_for_a_self_introduction_is_answered_with_a_background() -> None:
    got = tags(
        "新しい社員の仕事を紹介します",
        "入社の年に配属された職員を紹介します。",
        "――まずは自己紹介をお願いします。",
        "大学で建築を学びました。",
    )
    assert [t.facet for t in got[2:]] == ["career", "career"]


def test_a_question_about_self_and_everyday_work_is_answered_with_the_work() -> None:
    got = tags(
        "物流の現場から",
        "配送センターで働く職員に話を聞きました。",
        "――まずは自己紹介と普段の仕事を教えてください。",
        "配送課の森です。毎朝、トラックの出発順を決めています。",
    )
    assert [t.facet for t in got[2:]] == ["current_work", "current_work"]


def test_the_cast_list_counts_as_work_vocabulary() -> None:
    # The talk itself is about a hobby club; the cast list says the people are workers.
    got = tags(
        "【座談会】週末は川辺の清掃。3人が語る「続けるコツ」",
        "川辺の清掃を続ける3人に集まってもらいました。",
        "参加者紹介",
        "森田 健二(会社員/活動歴5年)",
        "平日は商社で経理を担当。",
        "野口 彩(看護師/活動歴2年)",
        "病院の職員として夜勤もこなす。",
        "はじめた理由",
        "――参加したきっかけを教えてください。",
        "森田:友だちに誘われたのが始まりです。",
        "野口:散歩のときに見かけて、声をかけました。",
    )
    assert [t.facet for t in got][-3:] == ["motivation", "motivation", "motivation"]


def test_a_speaker_the_dictionary_does_not_know_still_introduces_themselves() -> None:
    # 朝凪 is no dictionary name: the reader's attribution says who speaks.
    segs = build_segments(
        classify(
            [
                Block(text="自治体と協働する"),
                Block(text="行政の業務をデジタル化する会社の社員が、仕事の工夫を話しました。"),
                Block(text="話題提供:スタートアップの視点"),
                Block(text="ソラマドの朝凪です。私たちは、予約システムをつくる小さな会社です。"),
            ]
        )
    )[1]
    atts = attribute_speakers(segs)[0]
    atts[-1] = replace(atts[-1], name="朝凪", role="interviewee")
    got = assign_facets(segs, atts)
    assert (got[-1].facet, got[-1].evidence[:1]) == ("current_work", ("self-introduction",))


def test_remembered_facets_equal_the_ones_worked_out() -> None:
    import etl.facets as facets_module

    cfg = load_facet_config()
    texts = ["入社したきっかけ", "これまでの経歴、現在の業務について", "ぜひ一度、遊びに来てください。"]
    texts += ["2015年に入社し、営業を経て、現在は人事を担当しています。", "朝の散歩", ""]
    for _ in range(2):  # the second round is answered from the memo
        for text in texts:
            assert heading_facets(text, cfg) == facets_module._heading_facets(text, cfg), text
            for allowed in (None, ("career",), ["career", "message"]):
                got = content_facet(text, cfg, allowed)
                assert got == facets_module._content_facet(text, cfg, allowed), text
    assert cfg.content_cues.found(texts[3]) == tuple(map(tuple, cfg.content_cues.find_all(texts[3])))
