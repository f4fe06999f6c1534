"""Each speaker cue on invented examples: variants of width, spacing, honorifics, brackets."""

from __future__ import annotations

import pytest

from etl.cues import (
    answer_marker,
    caption_person,
    find_label,
    find_self_intro,
    question_marker,
    split_affiliation,
    strip_quotes,
)


@pytest.mark.parametrize(
    ("text", "label", "name", "rest"),
    [
        ("古賀:", "古賀:", "古賀", ""),
        ("鈴木：", "鈴木：", "鈴木", ""),
        ("佐藤：はい、そう思います。", "佐藤：", "佐藤", "はい、そう思います。"),
        ("佐藤 : はい。", "佐藤 :", "佐藤", "はい。"),
        ("山崎さん(以下、敬称略):", "山崎さん(以下、敬称略):", "山崎", ""),
        ("株式会社ソラノメ 田中:", "株式会社ソラノメ 田中:", "田中", ""),
        ("増井氏：本日はよろしくお願いします。", "増井氏：", "増井", "本日はよろしくお願いします。"),
        ("古賀 葵：こんにちは。", "古賀 葵：", "古賀", "こんにちは。"),
        ("【伊藤】データ班の伊藤です。", "【伊藤】", "伊藤", "データ班の伊藤です。"),
        ("【渡辺さん】はい。", "【渡辺さん】", "渡辺", "はい。"),
        ("【司会】それでは始めます。", "【司会】", "司会", "それでは始めます。"),
        ("司会：最初の質問です。", "司会：", "司会", "最初の質問です。"),
    ],
)
def test_labels(text: str, label: str, name: str, rest: str) -> None:
    found = find_label(text)
    assert found is not None
    assert (found.label, found.name, found.rest) == (label, name, rest)


@pytest.mark.parametrize(
    "text",
    [
        "注: 事前登録が必要です。",
        "URL: https://example.com/",
        "10:30 開始",
        "日時：2024年4月1日",
        "【対談】入社10年目と2年目",
        "【お知らせ】サービスを開始しました。",
        "ポイント：三つあります。",
        "https://example.com/page",
        "これは普通の文です。",
    ],
)
def test_not_labels(text: str) -> None:
    assert find_label(text) is None


def test_label_for_a_known_name_not_in_the_dictionary() -> None:
    assert find_label("ミカ：はい。") is not None  # short katakana nickname
    assert find_label("李：はい。", frozenset({"李"})) is not None


@pytest.mark.parametrize(
    ("text", "marker"),
    [
        ("――まずは経歴を教えてください。", "――"),
        ("―入社のきっかけは？", "―"),
        ("—どんな仕事ですか。", "—"),
        ("─最後に一言。", "─"),
        ("──最後に一言。", "──"),
        ("ーなぜですか？", "ー"),
        ("Q. 志望動機は？", "Q. "),
        ("Q1：現在の業務は？", "Q1："),
        ("Q 最後に一言", "Q "),
        ("Ｑ．好きな言葉は？", "Ｑ．"),
    ],
)
def test_question_markers(text: str, marker: str) -> None:
    assert question_marker(text) == marker


@pytest.mark.parametrize(
    "text", ["QRコードを読み取ってください。", "Qiitaに記事を書きました。", "――", "これは質問ですか？"]
)
def test_not_question_markers(text: str) -> None:
    assert question_marker(text) is None


@pytest.mark.parametrize("text", ["A. はい。", "A：そうです。", "Ａ．違います。"])
def test_answer_markers(text: str) -> None:
    assert answer_marker(text) is not None


@pytest.mark.parametrize(
    ("text", "name", "affiliation", "job_title"),
    [
        (
            "省庁業務サービスグループ総括担当の井下です。2012年に入庁しました。",
            "井下",
            "省庁業務サービスグループ",
            "総括担当",
        ),
        ("2023年入庁の西野真菜です。", "西野", None, None),
        ("こんにちは。人事担当の小林です。", "小林", None, "人事担当"),
        ("ファクト&データユニット所属の堀井です。", "堀井", "ファクト&データユニット", None),
        ("データ班の伊藤です。全国のデータを整えています。", "伊藤", "データ班", None),
        ("広報部の高橋と申します。", "高橋", "広報部", None),
    ],
)
def test_self_intro(text: str, name: str, affiliation: str | None, job_title: str | None) -> None:
    si = find_self_intro(text)
    assert si is not None
    assert (si.name, si.affiliation, si.job_title) == (name, affiliation, job_title)


@pytest.mark.parametrize(
    "text",
    [
        "彼は「佐藤です。」と名乗った。",  # 「です。」 inside a quotation introduces nobody
        "今回登場するのは、申請サービスの改善に取り組む山田です。",  # the narrator introducing someone
        "これは私の担当です。",
        "ポイントは三つです。",
    ],
)
def test_not_self_intro(text: str) -> None:
    assert find_self_intro(text) is None


@pytest.mark.parametrize(
    ("text", "name", "affiliation"),
    [
        ("省庁業務サービスグループの井下", "井下", "省庁業務サービスグループ"),
        ("市民課の田中さん", "田中", "市民課"),
        ("開発班の加藤（右）", "加藤", "開発班"),
    ],
)
def test_caption_person(text: str, name: str, affiliation: str) -> None:
    assert caption_person(text) == (name, affiliation)


@pytest.mark.parametrize("text", ["会場の様子", "新しいオフィスの外観", "イベントのポスター"])
def test_caption_without_person(text: str) -> None:
    assert caption_person(text) is None


def test_split_affiliation_and_strip_quotes() -> None:
    assert split_affiliation("株式会社ソラノメ開発部エンジニア") == ("株式会社ソラノメ開発部", "エンジニア")
    assert strip_quotes("「鈴木です。」と言った") == "「」と言った"
