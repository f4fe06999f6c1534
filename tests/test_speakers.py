"""Rules of the floor and roles, on short invented articles."""

from __future__ import annotations

from etl.classify import classify
from etl.model import Block
from etl.segment import build_segments
from etl.speakers import Attribution, Speaker, attribute_speakers, display_name, read_article, speaker_key


def run(*lines: str) -> tuple[list[tuple[str, str | None, str]], list[Speaker]]:
    _, segs, _ = build_segments(classify([Block(text=t) for t in lines]))
    reading = read_article(segs)
    speakers = reading.speakers
    return [
        (s.kind, display_name(speakers, a.name), a.role)
        for s, a in zip(reading.segments, reading.attributions, strict=True)
    ], speakers


def test_moderator_from_profile_and_label_speaks_as_interviewer() -> None:
    rows, speakers = run(
        "オンラインイベント開催レポート",
        "先日開催したイベントの模様をお届けします。",
        "◆参加者",
        "モデレーター 佐々木",
        "松本(ソラノメ開発部)",
        "佐々木：本日はよろしくお願いします。まずは自己紹介をお願いします。",
        "松本：開発部の松本です。気象データの配信を担当しています。",
        "司会：ありがとうございました。",
    )
    assert rows[5] == ("question", "佐々木", "interviewer")  # a named host's prompt is a question
    assert rows[6] == ("paragraph", "松本", "interviewee")
    assert rows[7] == ("paragraph", "司会", "interviewer")
    assert rows[3][0] == rows[4][0] == "profile"
    assert {s.family: s.role for s in speakers}["佐々木"] == "interviewer"


def test_floor_survives_headings_and_images_and_quotes() -> None:
    rows, _ = run(
        "題",
        "インタビューをお届けします。",
        "広報部の高橋と申します。入社して5年になります。",
        "現在の仕事",
        "オフィスの様子の写真",
        "お客様から「鈴木です。いつもありがとう。」と言われたことがあります。",
    )
    assert rows[1][1:] == (None, "narrator")
    assert rows[2][1:] == ("高橋", "interviewee")
    assert rows[5][1:] == ("高橋", "interviewee")  # quoted 「鈴木です。」 does not change the speaker


def test_unlabelled_answers_go_to_the_person_the_intro_names() -> None:
    rows, _ = run(
        "題",
        "今回は、企画課の中村さんに話を聞きました。",
        "――担当している仕事を教えてください。",
        "市の広報誌をつくっています。",
        "――やりがいは？",
        "読者からの手紙です。",
    )
    assert [r[2] for r in rows[2:]] == ["interviewer", "interviewee", "interviewer", "interviewee"]
    assert rows[3][1] == rows[5][1] == "中村"


def test_label_for_someone_not_introduced_makes_a_speaker_and_announcement_is_narrator() -> None:
    rows, speakers = run("題", "佐藤：はい、担当です。", "鈴木：私もです。")
    assert [r[1] for r in rows[1:]] == ["佐藤", "鈴木"]
    assert [s.name for s in speakers] == ["佐藤", "鈴木"]
    rows, speakers = run("新サービスのお知らせ", "本日、新しいサービスを開始しました。", "・申請が簡単に")
    assert [r[2] for r in rows[1:]] == ["narrator", "narrator"] and speakers == []


def test_speaker_key_and_confidences() -> None:
    assert speaker_key("古賀 葵") == speaker_key("古賀　葵さん") == "古賀葵"
    assert speaker_key("増井氏") == "増井"
    _, segs, _ = build_segments(classify([Block(text="題"), Block(text="佐藤：はい。")]))
    atts = attribute_speakers(segs)[0]
    assert atts[1] == Attribution("佐藤", "interviewee", "label", 0.95)
