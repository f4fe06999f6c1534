"""The article-level reader: cue families, block kinds, cast, format, and the block sieves.

Every article here is invented for the test; each cue family is tried in several surface
forms, so a rule written for one spelling fails.
"""

from __future__ import annotations

import pytest

from etl.classify import classify
from etl.cues import (
    asks,
    cast_line,
    find_self_intro,
    label_shape,
    legend_key,
    marker_of,
    name_by_shape,
    org_intro,
    question_marker,
)
from etl.model import Block
from etl.segment import build_segments
from etl.speakers import decide_format, display_name, read_article, read_cast

Row = tuple[str, str | None, str]


def read(*lines: str) -> tuple[str, list[Row]]:
    """Format and (kind, speaker, role) per block of a page-text article."""
    _, segs, _ = build_segments(classify([Block(text=t) for t in lines]))
    r = read_article(segs)
    rows = [
        (s.kind, display_name(r.speakers, a.name), a.role)
        for s, a in zip(r.segments, r.attributions, strict=True)
    ]
    return r.format, rows


def kinds(*lines: str) -> list[str]:
    return [u.kind for u in classify([Block(text=t) for t in lines])]


# --- cues: self-introductions -------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("こんにちは、青柳町役場で子育て支援を担当しています、三好です。", "三好"),  # clause + 、
        ("はじめまして。港北電機で品質管理をしている杉浦といいます。", "杉浦"),  # verb clause + といいます
        ("こんばんは、ゆるっと広報のhina_22です。", "hina_22"),  # a Latin handle
        ("どうも!総務担当 滝口です✨", "滝口"),  # job, space, name, emoji
        ("改めまして、夜は鉄道模型を組んでいる「しろくま」といいます。", "しろくま"),  # quoted handle
        ("はじめまして。造園会社で庭師をしております、望月 颯(@mochi_z)と申します。", "望月"),  # (@handle)
        ("みなさん、こんにちは。イベント運営スタッフのくるみです。", "くるみ"),  # kana handle after a job
        ("平日は銀行で働いていて、休日は陶芸を習っている千早です。", "千早"),  # topic inside a clause
    ],
)
def test_self_intro_forms(text: str, name: str) -> None:
    si = find_self_intro(text)
    assert si is not None and si.name == name


@pytest.mark.parametrize(
    "text",
    [
        "はじめまして。東浜市広報課です。",  # an organisation
        "私の役目は、来客の受付と、よく使う書類の整理です。",  # 「XはYです」 is a statement
        "いちばん人気は、くるみのパンです。",  # a topic before the name slot
        "「倉庫係の田村です。」と電話口で名乗りました。",  # quoted speech
        "毎日がとても楽しかったです。",
    ],
)
def test_not_self_intro_forms(text: str) -> None:
    assert find_self_intro(text) is None


def test_frame_only_self_intro_is_weak() -> None:
    # 「〇〇のX です」 with X a kana word rests on the frame alone: trusted only in the opening.
    si = find_self_intro("焼き菓子のマドレーヌです。", weak=True)
    assert si is not None and si.weak
    assert find_self_intro("焼き菓子のマドレーヌです。") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("はじめまして!北辰市です!", True),
        ("はじめまして、カゼミチ人事部です。", True),
        ("人事の森です。", False),
        ("こんにちは。港川町 地域振興課です。", True),
        ("北辰市立中央図書館です。", True),
        ("はじめまして、みなと漁業協同組合 青年部です。", True),
        ("阿部です。", False),
        ("こんにちは、北町商店の野村です。", False),
    ],
)
def test_org_intro(text: str, expected: bool) -> None:
    assert org_intro(text) is expected


# --- cues: names, cast lines, labels, markers, legends, questions ----------------------


@pytest.mark.parametrize(
    ("text", "family"),
    [("営業部 課長 早川 修", "早川"), ("早川 修さん(営業部)", "早川"), ("代表 早川 修氏", "早川")],
)
def test_name_by_shape(text: str, family: str) -> None:
    person = name_by_shape(text)
    assert person is not None and person.family == family


@pytest.mark.parametrize(
    ("text", "role", "family"),
    [
        ("司会:北辰市 企画課 相沢 玲", "司会", "相沢"),
        ("ゲスト:工房ミナト 代表 樋口 朔氏", "ゲスト", "樋口"),
        ("聞き手:もりもと(編集)", "聞き手", "もりもと"),
        ("パネリスト2:相沢 玲(北辰大学)", "パネリスト", "相沢"),
    ],
)
def test_cast_lines(text: str, role: str, family: str) -> None:
    found = cast_line(text)
    assert found is not None and found[0] == role and found[1].family == family


def test_cast_line_is_not_a_turn() -> None:
    assert cast_line("司会:それでは始めましょう。") is None


@pytest.mark.parametrize(
    ("text", "shape"),
    [
        ("KT:そうですね。", "KT"),
        ("ひなこ:わかる。", "ひなこ"),
        ("【木戸】はい。", "木戸"),
        ("株式会社ミナト 城島:ええ。", "株式会社ミナト 城島"),
    ],
)
def test_label_shapes(text: str, shape: str) -> None:
    assert label_shape(text) == shape


@pytest.mark.parametrize(
    ("text", "mark"), [("(●)おはよう。", "(●)"), ("(柚) わかる。", "(柚)"), ("[B]そうかな。", "[B]")]
)
def test_markers(text: str, mark: str) -> None:
    assert marker_of(text) == mark


def test_marker_is_not_a_laugh() -> None:
    assert marker_of("(笑)それはそう。") is None


@pytest.mark.parametrize(
    ("text", "pair"),
    [
        ("みどりさん→み(会社員)", ("みどり", "み")),
        ("そうたくん→そ", ("そうた", "そ")),
        ("あおい=あ(学生)", ("あおい", "あ")),
    ],
)
def test_legend_keys(text: str, pair: tuple[str, str]) -> None:
    assert legend_key(text) == pair


@pytest.mark.parametrize(
    "text",
    ["ー 入社の決め手は?", "------この1年をふりかえってどうですか。", "質問: 休みの日は何をしていますか?"],
)
def test_question_marker_forms(text: str) -> None:
    assert question_marker(text) is not None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("最後に、ひと言お願いします。", True),
        ("それで、どうなったんですか?", True),
        ("そこが面白いのではないでしょうか。", False),  # rhetorical
        ("なるほど、よく分かりました。", False),
    ],
)
def test_asks(text: str, expected: bool) -> None:
    assert asks(text) is expected


# --- block kinds in page text -------------------------------------------------------------


@pytest.mark.parametrize("header", ["今回話したふたり", "出演者紹介", "PROFILE"])
def test_profile_sections_by_header(header: str) -> None:
    got = kinds(
        "題",
        header,
        "日高 美帆(北辰市 観光課)",
        "2019年入庁。観光案内所を担当。",
        "はじまりは一本の電話",
        "本文です。",
    )
    assert got[1:] == ["heading", "profile", "profile", "heading", "paragraph"]


def test_group_photo_between_header_and_people_stays_an_image() -> None:
    got = kinds(
        "題",
        "対談メンバー",
        "窓際に立つふたり",
        "写真左から",
        "日高 美帆(観光課)",
        "「案内所の担当です」",
        "本題",
        "本文です。",
    )
    assert got[1:] == ["heading", "image_alt", "caption", "profile", "profile", "heading", "paragraph"]


@pytest.mark.parametrize(
    ("alt", "caption"),
    [
        (
            "工房で木を削る樋口さん",
            "工房ミナトの樋口さん",
        ),  # no picture word: two short lines naming a person
        ("作業台の写真", "工房ミナト 樋口 朔さん(代表)"),  # a picture word
        ("店先に立つふたり", "写真右、店主の樋口さん"),  # photo order
    ],
)
def test_alt_and_caption_pairs(alt: str, caption: str) -> None:
    got = kinds("題", "はじまり", alt, caption, "もともとは会社員でした。家具が好きで通っていました。")
    assert got[2:4] == ["image_alt", "caption"]


def test_picture_then_heading_is_not_a_caption() -> None:
    assert kinds("題", "畑の画像 (2)", "これから", "来年は畑を広げます。")[1:3] == ["image_alt", "heading"]


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        ("・・・・・", "boilerplate"),
        ("＊　＊　＊", "boilerplate"),
        ("2025/07/08", "boilerplate"),
        ("※7月9日 地図を追記しました", "boilerplate"),
    ],
)
def test_separators_dates_and_update_notes_are_chrome(line: str, kind: str) -> None:
    assert kinds("題", "本文です。", line, "続きです。")[2] == kind


def test_hard_wrapped_lines_and_emoji_endings_are_prose() -> None:
    got = kinds(
        "題",
        "こんにちは🌱",
        "朝いちばんの",
        "電車に乗るのを",
        "やめてみました🚲",
        "続けるコツ",
        "無理をしないことです。",
    )
    assert got[1:] == ["paragraph", "paragraph", "paragraph", "paragraph", "heading", "paragraph"]


def test_link_card_title_after_a_url() -> None:
    got = kinds(
        "題", "本文です。", "https://example.com/page", "工房ミナト｜手に馴染む道具", "また来てください。"
    )
    assert got[2:4] == ["link", "link"]


@pytest.mark.parametrize(
    ("lines", "labelled"),
    [
        (("KT:最初は不安でした。", "MS:私もです。", "KT:でも、慣れました。"), 3),  # initials
        (("城島:ええ。始めましょう。", "ひなこ:わかる。", "城島:ですよね。"), 3),  # a nickname beside a name
        (
            ("工房ミナト 城島:", "はじめは一人でした。", "カフェ・ソラ 日高:", "私たちもです。"),
            2,
        ),  # company + name, alone
    ],
)
def test_recurring_label_prefixes_are_labels(lines: tuple[str, ...], labelled: int) -> None:
    units = classify([Block(text="題"), *(Block(text=t) for t in lines)])
    assert sum(1 for u in units if u.label) == labelled


def test_notice_fields_are_not_labels() -> None:
    units = classify([Block(text=t) for t in ("題", "持ち物:筆記用具", "服装:自由", "集合:駅前の広場")])
    assert not any(u.label for u in units)


def test_space_delimited_labels_need_a_person() -> None:
    lines = ("題", "今回は、漁師の波多野さんにお話を聞きました。")
    turns = (
        "波多野 朝は3時に起きます。港に行って船の準備をします。",
        "ゆき どうしてそんなに早いんですか。聞いてみたいです。",
        "波多野 魚が動く時間に合わせているんです。昔からそうです。",
    )
    units = classify([Block(text=t) for t in (*lines, *turns)])
    assert [u.label for u in units[2:]] == ["波多野 ", "ゆき ", "波多野 "]
    # The same shape in prose without a person named is not a label.
    units = classify(
        [
            Block(text=t)
            for t in (
                "題",
                "今日 朝から雨が降っていて外に出られませんでした。",
                "明日 晴れたら公園まで歩いてみるつもりです。",
            )
        ]
    )
    assert not any(u.label for u in units)


@pytest.mark.parametrize(
    "questions",
    [
        ("好きな色は?", "行ってみたい国は？", "最近の楽しみは?"),  # plain, one answer each
        (
            "いまのお仕事を教えてください。",
            "大変なことは何ですか。",
            "これからやりたいことはありますか?",
        ),  # polite
    ],
)
def test_unmarked_questions(questions: tuple[str, ...]) -> None:
    lines = ["題", "自己紹介の代わりに答えてみます。"]
    for q in questions:
        lines += [q, "ちゃんと答えるとこうなります。理由もいろいろあります。"]
    got = kinds(*lines)
    assert [got[i] for i in range(2, len(lines), 2)] == ["question"] * 3


def test_question_shaped_headings_in_an_essay_stay_headings() -> None:
    got = kinds(
        "題",
        "なぜ辞めたの?",
        "一段落目です。",
        "二段落目です。",
        "これからどうするの?",
        "三段落目です。",
        "四段落目です。",
    )
    assert got.count("question") == 0 and got.count("heading") == 2


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("■まずは自己紹介をお願いします。", "question"),
        ("■これからの目標は?", "question"),
        ("■ご注意ください", "heading"),
    ],
)
def test_square_mark_questions(line: str, expected: str) -> None:
    assert kinds("題", line, "本文です。")[1] == expected


def test_q_number_alone_and_arrow_answers() -> None:
    fmt, rows = read(
        "題",
        "質問に答えてみました。",
        "Q.1",
        "よく行く場所",
        "→近所の銭湯です。",
        "Q.2",
        "得意な料理",
        "→肉じゃが。",
    )
    assert [r[0] for r in rows[2:]] == ["question", "question", "paragraph"] * 2
    assert fmt == "essay" and rows[4][2] == rows[7][2] == "author"


# --- pass 1: cast ---------------------------------------------------------------------------


def test_cast_reads_profiles_cast_lines_and_legends() -> None:
    _, segs, _ = build_segments(
        classify(
            [
                Block(text=t)
                for t in (
                    "題",
                    "出演者",
                    "司会:北辰市 企画課 相沢 玲",
                    "ゲスト:工房ミナト 代表 樋口 朔氏",
                    "相沢:では、始めます。自己紹介をお願いします。",
                    "樋口:工房ミナトの樋口です。",
                    "相沢:ありがとうございます。",
                )
            ]
        )
    )
    cast = read_cast(segs)
    assert cast.hosts == {"相沢"}
    assert {"profile", "label"} <= cast.how["樋口"]
    assert cast.reg.by_family["樋口"].name == "樋口 朔"


@pytest.mark.parametrize(
    "intro",
    [
        "今回は、北辰市観光課の日高 美帆さんにお話を伺いました。",
        "第3回のゲストは、家具職人の日高 美帆さんです。",
        "日高 美帆さんへのインタビューをお届けします。",
        "今回お話を伺ったのは、観光課の日高 美帆さんです。",
    ],
)
def test_cast_reads_the_interviewee_from_the_intro(intro: str) -> None:
    fmt, rows = read(
        "題",
        intro,
        "――お仕事を教えてください。",
        "観光案内所で働いています。",
        "――やりがいは?",
        "旅行者の笑顔です。",
    )
    assert fmt == "qa_unlabeled"
    assert rows[3][1:] == ("日高 美帆", "interviewee") and rows[5][1:] == ("日高 美帆", "interviewee")


# --- pass 2: format ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lines", "fmt"),
    [
        (("題", "朝の散歩を始めて半年が経ちました。", "毎朝、川沿いを歩いています。"), "essay"),
        (
            ("題", "4月1日(月)から窓口の受付時間が変わります。", "お申し込みはオンラインでも受け付けます。"),
            "announcement",
        ),
        (("題", "――仕事は?", "日高:案内所です。", "――やりがいは?", "日高:笑顔です。"), "qa_labeled"),
        (
            (
                "【対談】ふたりの話",
                "――出会いは?",
                "日高:大学です。",
                "樋口:そうでした。",
                "日高:懐かしいですね。",
            ),
            "dialogue",
        ),
        (("題", "――きっかけは?", "日高:友人です。", "樋口:私も。", "相沢:私は違います。"), "roundtable"),
        (
            (
                "題",
                "Q.リモートはできますか?",
                "A.はい、ご利用いただけます。",
                "Q.副業は?",
                "A.申請いただければ可能です。",
            ),
            "other",
        ),
    ],
)
def test_format_from_cue_statistics(lines: tuple[str, ...], fmt: str) -> None:
    _, segs, _ = build_segments(classify([Block(text=t) for t in lines]))
    got, confidence = decide_format(segs, read_cast(segs))
    assert got == fmt and 0.0 < confidence <= 1.0


def test_seminar_speakers_in_turn() -> None:
    fmt, rows = read(
        "題",
        "先日の説明会の様子をお伝えします。",
        "まちの仕事",
        "観光課の日高です。案内所の仕事を紹介します。",
        "旅行者の相談に毎日のっています。",
        "ものづくりの仕事",
        "工房ミナトの樋口です。家具をつくっています。",
        "休憩のあと、来場者の相談に登壇者が一人ずつ応じました。",
    )
    assert fmt == "seminar"
    assert [r[1:] for r in rows[3:5]] == [("日高", "interviewee")] * 2
    assert rows[6][1:] == ("樋口", "interviewee")
    assert rows[7][2] == "narrator"  # the report's own voice between and after the talks


# --- pass 3: block sieves --------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        ("会社を辞めて半年が経ちました。", "毎日、図書館に通っています。"),
        ("こんにちは!", "今日は週末のパンづくりの話です。"),
        ("朝いちばんの", "電車に乗るのをやめてみました。"),
    ],
)
def test_essay_with_no_name_is_the_author_throughout(body: tuple[str, ...]) -> None:
    fmt, rows = read("題", *body, "これから", "来月も続けます。")
    assert fmt == "essay"
    assert [r[1:] for r in rows if r[0] == "paragraph"] == [(None, "author")] * 3


def test_named_essay_author_and_an_editor_intro_before_them() -> None:
    fmt, rows = read(
        "部署紹介 #3 物流センター",
        "部署紹介シリーズの第3回です。今回は物流センターから。",
        "物流センターで在庫の管理をしている杉浦といいます。",
        "毎朝、棚の数を数えるところから一日が始まります。",
    )
    assert fmt == "essay"
    assert rows[1][2] == "narrator" and rows[2][1:] == rows[3][1:] == ("杉浦", "author")


def test_greeting_and_hook_before_a_late_self_intro_are_the_writers() -> None:
    _, rows = read(
        "題",
        "皆さま、おはようございます。",
        "昨日、はじめて自分で漬けた梅干しが食べごろになりました。",
        "改めまして、昼は市場で働いて、夜は梅仕事をしている「ふくろう」といいます。",
        "続きです。",
    )
    assert [r[1:] for r in rows[1:]] == [("ふくろう", "author")] * 4


def test_host_who_asks_is_the_interviewer_with_a_name() -> None:
    _, rows = read(
        "題",
        "◆出演者",
        "司会:企画課 相沢 玲",
        "ゲスト:工房ミナト 樋口 朔",
        "相沢:まずは、自己紹介をお願いします。",
        "樋口:工房ミナトの樋口です。家具をつくっています。",
        "相沢:なるほど、よく分かりました。",
    )
    assert rows[4] == ("question", "相沢 玲", "interviewer")
    assert rows[5][1:] == ("樋口 朔", "interviewee")
    assert rows[6] == ("paragraph", "相沢 玲", "interviewer")  # a remark that asks nothing


def test_caption_naming_someone_who_is_not_the_next_speaker() -> None:
    _, rows = read(
        "題",
        "PROFILE",
        "日高 美帆(ひだか みほ)",
        "観光案内所の職員。2018年入庁。",
        "――お仕事は?",
        "案内所で旅行者の相談にのっています。",
        "案内所の写真",
        "案内所を支える先輩の沢井 健さん",
        "――やりがいは?",
        "旅行者の笑顔を見ることです。",
    )
    assert rows[7][:2] == ("caption", "沢井 健")
    assert rows[9][1:] == ("日高 美帆", "interviewee")  # the caption did not take the floor


def test_reporter_who_introduces_themself_is_the_narrator() -> None:
    _, rows = read(
        "【開催報告】川辺のマルシェ交流会",
        "こんにちは!北辰市まちづくり課の広報担当、戸田です。",
        "先月、川辺の公園で出店者の交流会を開きました。",
        "野菜の話",
        "日高農園の日高です。朝採りの野菜を並べています。",
        "雨の日は、常連さんが声をかけてくれるのが励みです。",
        "休憩のあと、来場者の相談に登壇者が一人ずつ応じました。",
        "木工の話",
        "工房ミナトの樋口です。椅子や棚を作っています。",
    )
    assert rows[1][2] == rows[2][2] == "narrator"
    assert rows[4][1:] == rows[5][1:] == ("日高", "interviewee")
    assert rows[6][2] == "narrator" and rows[8][1:] == ("樋口", "interviewee")


def test_faq_answers_are_the_accounts_voice() -> None:
    fmt, rows = read(
        "題",
        "はじめまして、カゼミチ人事部です。",
        "Q.在宅勤務はできますか?",
        "A.はい、週3日までご利用いただけます。",
        "申請はオンラインで受け付けています。",
        "Q.服装の決まりはありますか?",
        "A.ありません。皆さま思い思いの服で働いています。",
    )
    assert fmt == "other"
    assert [r[2] for r in rows[1:]] == [
        "narrator",
        "interviewer",
        "narrator",
        "narrator",
        "interviewer",
        "narrator",
    ]
    assert all(r[1] is None for r in rows)


def test_reporter_remark_about_the_interviewee_is_not_theirs() -> None:
    _, rows = read(
        "題",
        "こんにちは、広報の戸田です。今回は、駅前で和菓子屋を営む日高 美帆さんにお話を伺いました。",
        "――お店を継いだきっかけは?",
        "祖母が体を悪くして、誰かが続けないとと思ったんです。",
        "――看板商品は?",
        "栗の羊羹です。秋には予約でいっぱいになります。",
        "日高さんの手の動きに見とれた取材でした。",
    )
    assert rows[3][1:] == rows[5][1:] == ("日高 美帆", "interviewee")  # 「栗の羊羹です」 names no one
    assert rows[6][2] == "narrator"


def test_marker_dialogue_with_a_legend_in_a_list() -> None:
    fmt, rows = read(
        "題",
        "登場人物",
        "・みどりさん (緑) 会社員",
        "・そうたくん (草) 学生",
        "(緑)最近どう?",
        "(草)忙しいよ。",
        "(緑)そうなんだ。",
    )
    assert fmt == "dialogue"
    assert [r[1] for r in rows[4:]] == ["みどり", "そうた", "みどり"]
    assert rows[2][0] == rows[3][0] == "profile"


def test_self_dialogue_markers_are_the_author() -> None:
    fmt, rows = read(
        "題",
        "総務のmomiです。迷っています。",
        "登場人物",
        "辞めたいわたし(◇)",
        "残りたいわたし(□)",
        "(◇)もう限界。",
        "(□)まだいける。",
    )
    assert fmt == "essay"
    assert [r[1:] for r in rows[5:]] == [("momi", "author")] * 2


def test_colleague_interview_host_found_by_who_asks() -> None:
    fmt, rows = read(
        "入庁3年目、同じ課の仲間に聞く",
        "はじめまして。北辰県広報課の森下と申します。今回は、同じ年に入った井出さんに話を聞きました。",
        "森下:まずは、いまの仕事を教えてください。",
        "井出:橋の点検を担当しています。",
        "森下:やりがいは何ですか?",
        "井出:直した橋を、毎朝たくさんの人が渡っていることです。",
        "森下:受験生にひと言お願いします。",
        "井出:説明会で、気軽に職員に声をかけてみてください。",
    )
    assert fmt == "qa_labeled"
    assert rows[1][1:] == ("森下", "interviewer")  # the interviewer introduces themself
    assert [r[0] for r in rows[2:]] == ["question", "paragraph"] * 3
    assert {r[1] for r in rows[3::2]} == {"井出"}


def test_short_entries_under_a_profile_header_are_not_an_image() -> None:
    got = kinds("題", "◆参加者", "林(営業部)", "原(開発部)", "森(人事部)", "――決め手は?", "【林】社風です。")
    assert got[2:5] == ["profile"] * 3


def test_notice_field_lines_and_bullets_are_not_labels_or_headings() -> None:
    units = classify(
        [
            Block(text=t)
            for t in (
                "講座のお知らせ",
                "日時:10月12日(土)10時から",
                "場所:市民会館",
                "定員:30名",
                "申し込みは電話で受け付けます。",
                "・ホームページ:申込ページ",
            )
        ]
    )
    assert [u.kind for u in units[1:]] == ["paragraph", "paragraph", "paragraph", "paragraph", "list_item"]
    assert not any(u.label for u in units)


@pytest.mark.parametrize(
    ("account", "writer"), [("くろまめ", "くろまめ"), ("北辰市広報課", None), ("日高 美帆", "日高 美帆")]
)
def test_personal_account_names_the_writer_of_an_unsigned_essay(account: str, writer: str | None) -> None:
    _, segs, _ = build_segments(
        classify([Block(text=t) for t in ("題", "散歩を始めて1年です。", "毎朝歩いています。")])
    )
    r = read_article(segs, account=account)
    assert r.format == "essay"
    assert [display_name(r.speakers, a.name) for a in r.attributions[1:]] == [writer, writer]


def test_title_naming_the_interviewee_answers_unlabelled_questions() -> None:
    fmt, rows = read(
        "先輩に聞く 資産税課 村井 健さん",
        "市役所の仕事を、先輩の言葉でお届けします。",
        "ー入庁のきっかけは?",
        "大学で地方財政を学んだことです。",
        "ーいまのお仕事は?",
        "家屋の評価を担当しています。",
    )
    assert fmt == "qa_unlabeled"
    assert rows[3][1:] == rows[5][1:] == ("村井 健", "interviewee")


def test_talk_headings_naming_their_speakers() -> None:
    fmt, rows = read(
        "説明会レポート",
        "先日、学生向けの説明会を開きました。その一部をご紹介します。",
        "総務部 部長 石川 誠",
        "当社は創業50年の部品メーカーです。",
        "入社後は、3か月の研修があります。",
        "開発部 小林 葵",
        "私は入社3年目です。センサーの設計を担当しています。",
        "最後に、参加者からの質問に登壇者が答えました。",
    )
    assert fmt == "seminar"
    assert [r[1] for r in rows[3:5]] == ["石川 誠"] * 2 and rows[6][1] == "小林 葵"
    assert rows[1][2] == rows[7][2] == "narrator"


def test_a_bare_name_alone_before_each_turn_is_a_label() -> None:
    got = classify(
        [
            Block(text=t)
            for t in (
                "学生に聞く",
                "ゼミの2人に話を聞きました。",
                "取り組み",
                "大谷",
                "商店街の空き店舗を調べています。",
                "北村",
                "買い物を手伝う仕組みをつくっています。",
                "大変なこと",
                "大谷",
                "予定合わせです。",
            )
        ]
    )
    assert [u.kind for u in got[2:]] == [
        "heading",
        "speaker_label",
        "paragraph",
        "speaker_label",
        "paragraph",
        "heading",
        "speaker_label",
        "paragraph",
    ]
    assert got[3].label == "大谷"


@pytest.mark.parametrize(
    ("q", "a"),
    [
        ("【Q】好きな食べ物は?", "【A】カレーです。"),
        ("Q1 好きな食べ物は?", "A1. カレーです。"),
        ("1. 好きな食べ物は何ですか?", "カレーです。"),
    ],
)
def test_bracketed_and_numbered_questions(q: str, a: str) -> None:
    lines = ["題", "よく聞かれる質問に答えます。"]
    for k in range(3):
        lines += [q.replace("好きな食べ物", f"好きなもの{k}"), a]
    got = kinds(*lines)
    assert [got[i] for i in range(2, len(lines), 2)] == ["question"] * 3
    assert [got[i] for i in range(3, len(lines), 2)] == ["paragraph"] * 3


# --- generalisation: notes, slash labels, job + name labels, bylines, seminar zones ------

CHROME = ("みんなにも読んでほしいですか?",)


@pytest.mark.parametrize(
    "note",
    ["※注:雨天の場合は体育館で行います。", "★追記:申込の締切を延長しました。", "☆注記:価格は税込です。"],
)
def test_editor_notes_with_a_tag_word_are_boilerplate(note: str) -> None:
    got = kinds("題", "今年も市民農園の募集を始めます。", note, "ご応募をお待ちしています。")
    assert got == ["title", "paragraph", "boilerplate", "paragraph"]


@pytest.mark.parametrize(
    ("a", "b", "slash"),
    [("みお", "そうた", "/"), ("ケイ", "ナナ", "／"), ("春野", "秋元", "/")],
)
def test_slash_labels_that_recur_are_turns(a: str, b: str, slash: str) -> None:
    fmt, rows = read(
        "同期ふたりの雑談",
        f"{a}{slash}新しい部署に移って、もう一か月たったよ。",
        f"{b}{slash}まだ半分くらいかな。覚えることが多くて。",
        f"{a}{slash}わかる。最初の一か月は長いよね。",
        f"{b}{slash}でも先輩がやさしいから助かってる。",
        *CHROME,
    )
    assert fmt == "dialogue"
    assert [r[1] for r in rows[1:5]] == [a, b, a, b]
    assert all(r[2] == "interviewee" for r in rows[1:5])


def test_a_slash_profile_line_is_not_a_turn() -> None:
    got = kinds("題", "書いている人", "まるやま/経理部", "数字と猫が好きです。")
    assert got[2] == "profile"


@pytest.mark.parametrize(
    ("a", "fa", "b", "fb"),
    [
        ("店長 木戸", "木戸", "新人 浅見", "浅見"),
        ("部長 尾形", "尾形", "主任 萩野", "萩野"),
        ("先輩 宇野", "宇野", "後輩 里中", "里中"),
    ],
)
def test_job_and_family_name_alone_before_each_turn_are_labels(a: str, fa: str, b: str, fb: str) -> None:
    fmt, rows = read(
        "はじめての決算",
        a,
        "決算の月は、毎日少しずつ伝票を片づけておくのがこつです。",
        b,
        "私は今回が初めてで、書類の多さに驚きました。",
        a,
        "慣れると流れが見えてきますよ。",
        b,
        "次はもっと早く終わらせたいです。",
        *CHROME,
    )
    assert fmt == "dialogue"
    assert [r[0] for r in rows[1:3]] == ["speaker_label", "paragraph"]
    assert [r[1] for r in rows[1:9]] == [fa, fa, fb, fb, fa, fa, fb, fb]


@pytest.mark.parametrize(
    ("text", "family"),
    [("総務部 白井", "白井"), ("広報課 奥田", "奥田"), ("店長 久住", "久住")],
)
def test_a_unit_or_job_before_a_family_name_is_not_the_family(text: str, family: str) -> None:
    person = name_by_shape(text)
    assert person is not None and person.family == family
    assert name_by_shape("岡部 玲").family == "岡部"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("byline", "intro", "name"),
    [
        ("本日の担当:総務部 白井", "こんにちは、総務部の白井です。", "白井"),
        ("今回の書き手:企画課 大槻", "こんにちは。企画課の大槻です。", "大槻"),
        ("担当:経理部 椎名", "どうも、経理部の椎名です。", "椎名"),
    ],
)
def test_a_writer_byline_names_the_essay_writer(byline: str, intro: str, name: str) -> None:
    fmt, rows = read(
        "ベランダ菜園の記録",
        byline,
        intro + "今日は春から続けている菜園の話をします。",
        "最初は苗を2株だけ買ってきました。",
        "収穫の日",
        "7月のはじめに、ようやく赤い実がなりました。",
        *CHROME,
    )
    assert fmt == "essay"
    assert rows[1][0] == "profile"
    assert [(r[1], r[2]) for r in rows[2:4]] == [(name, "author")] * 2
    assert rows[5][1:] == (name, "author")


@pytest.mark.parametrize("header", ["書いている人", "この記事を書いた人", "◆筆者紹介"])
def test_a_profile_header_at_the_end_of_an_essay(header: str) -> None:
    got = kinds(
        "題",
        "週末は川沿いを走っています。",
        "今日は10km走りました。",
        header,
        "はしもと/広報課",
        "走るのと写真が好きです。",
    )
    assert got[3:] == ["heading", "profile", "profile"]


@pytest.mark.parametrize(
    ("talk", "bridge"),
    [
        ("第1部 店の一日(野村 千尋さん)", "続いて、平井さんに三代続く店の話を伺いました。"),
        ("Part 1 店の一日", "次に、平井さんが地域とのつながりについて話しました。"),
        ("1. 店の一日", "休憩を挟んで、平井さんの講演です。"),
    ],
)
def test_seminar_profile_ends_at_a_numbered_section_and_a_bridge_is_the_narrator(
    talk: str, bridge: str
) -> None:
    fmt, rows = read(
        "商店街トークイベントを開催しました",
        "先日、市内の店主を招いたトークイベントを開催しました。",
        "登壇者",
        "野村 千尋(のむら商店 店主)",
        "2015年に開業。",
        "平井 大和(平井書店 代表)",
        "祖父の代から続く店の三代目。",
        talk,
        "のむら商店の野村です。うちは開店前の1時間で、その日の品ぞろえを決めています。",
        "棚を毎日少しずつ変えると、常連さんが気づいてくれるんです。",
        bridge,
        "会場の様子",
        "登壇中の平井さん(平井書店)",
        "祖父が店を開いたころは、雑誌がよく売れていたそうです。",
        "おわりに",
        "参加者からは、次回の開催を望む声が多く寄せられました。",
        *CHROME,
    )
    assert fmt == "seminar"
    assert [r[0] for r in rows[3:7]] == ["profile"] * 4
    assert rows[7][0] in ("heading", "list_item")  # the talks begin: no longer a profile
    assert rows[8][2] == "interviewee" and str(rows[8][1]).startswith("野村")
    assert rows[10][1:] == (None, "narrator")
    assert rows[13][2] == "interviewee" and str(rows[13][1]).startswith("平井")
    assert rows[14][0] == "heading"
    assert rows[15][1:] == (None, "narrator")


@pytest.mark.parametrize(
    ("a", "fa", "b", "fb"),
    [
        ("宗田(猟師)", "宗田", "乙川(料理人)", "乙川"),
        ("岸本さん(農家)", "岸本", "滝沢さん(パン職人)", "滝沢"),
        ("村瀬（司書）", "村瀬", "葛西（編集者）", "葛西"),
    ],
)
def test_a_name_with_a_note_alone_before_each_turn_is_a_label(a: str, fa: str, b: str, fb: str) -> None:
    fmt, rows = read(
        "山の恵みを語る",
        a,
        "鹿が増えすぎて、畑の被害が年々ひどくなっているんです。",
        b,
        "処理が早いので、臭みがまったくないんですよ。",
        a,
        "獲ってから1時間以内に血抜きをするのが大事なんです。",
        b,
        "うちの店では、ローストにして出すのがいちばん人気です。",
        *CHROME,
    )
    assert fmt == "dialogue"
    assert [r[0] for r in rows[1:3]] == ["speaker_label", "paragraph"]
    assert [r[1] for r in rows[2:9:2]] == [fa, fb, fa, fb]


@pytest.mark.parametrize(
    "bridge",
    [
        "最後に、審査員から講評がありました。",
        "続いて、会場との質疑応答が行われました。",
        "休憩のあと、2組目の発表に移りました。",
    ],
)
def test_a_bridge_reporting_in_the_past_is_the_narrator(bridge: str) -> None:
    fmt, rows = read(
        "政策提案発表会レポート",
        "今月、若手職員による政策提案の発表会が開かれました。",
        "第1部 空き家を使った居場所づくり(小野 萌さん)",
        "私たちのチームは、町内に増えている空き家に注目しました。",
        "第2部 バス停を待合所に(桑田 亮さん)",
        "バスを待つ時間を、少しでも快適にしたいと思いました。",
        bridge,
        *CHROME,
    )
    assert fmt == "seminar"
    assert rows[3][2] == "interviewee" and str(rows[3][1]).startswith("小野")
    assert rows[5][2] == "interviewee" and str(rows[5][1]).startswith("桑田")
    assert rows[6][1:] == (None, "narrator")


@pytest.mark.parametrize(
    ("text", "family"),
    [("林業家 榊山 聡さん", "榊山"), ("防災士 新垣 誠", "新垣"), ("看護師 三船", "三船")],
)
def test_a_job_word_with_a_job_suffix_is_not_the_family(text: str, family: str) -> None:
    person = name_by_shape(text)
    assert person is not None and person.family == family


@pytest.mark.parametrize(
    "credits",
    [
        "話し手:林業家 榊山 聡さん/聞き手:まちのノート編集部",
        "話し手:林業家 榊山 聡さん／聞き手:もりした",
        "話し手:林業家 榊山 聡さん|聞き手・文:編集部",
    ],
)
def test_credits_at_the_end_name_the_one_who_answers(credits: str) -> None:
    fmt, rows = read(
        "林業の仕事、続けて20年",
        "山の木を育て、切り出す仕事について、現役の林業家に伺いました。",
        "林業の一年は、どんなふうに回っているのですか。",
        "春に苗を植えて、夏は下草を刈ります。秋から冬が、木を切り出す季節です。",
        "危険な仕事だと聞きますが、気をつけていることはありますか。",
        "必ず二人一組で山に入ることです。",
        "これから林業を始めたい人に、ひとことお願いします。",
        "焦らず覚えていけば大丈夫です。",
        credits,
        *CHROME,
    )
    assert fmt == "qa_unlabeled"
    assert [r[0] for r in rows[2:8]] == ["question", "paragraph"] * 3
    assert [r[1:] for r in rows[3:8:2]] == [("榊山 聡", "interviewee")] * 3
    assert rows[8][0] == "profile"


@pytest.mark.parametrize("host", ["編集部", "聞き手", "インタビュアー"])
def test_an_unnamed_interviewer_word_alone_over_each_question(host: str) -> None:
    fmt, rows = read(
        "駅前の古着屋、店主に聞く",
        host,
        "お店を始めたきっかけは何ですか?",
        "宇田さん",
        "学生のころから古着が好きで、集めた服が部屋に入りきらなくなったんです。",
        host,
        "仕入れはどうしているんですか?",
        "宇田さん",
        "年に2回、海外の倉庫まで買い付けに行きます。",
        *CHROME,
    )
    assert fmt == "qa_labeled"
    assert [r[0] for r in rows[1:5]] == ["speaker_label", "question", "speaker_label", "paragraph"]
    assert rows[2][1:] == (None, "interviewer")
    assert rows[4][1:] == ("宇田", "interviewee")
    assert rows[8][1:] == ("宇田", "interviewee")


@pytest.mark.parametrize(
    "caption", ["登壇中の東さん(古道具店 代表)", "講演する東さん", "質問に答える東さん(古道具店)"]
)
def test_a_photo_of_a_listed_speaker_hands_the_floor(caption: str) -> None:
    fmt, rows = read(
        "起業セミナー「小さく始める」レポート",
        "商工会議所で起業セミナーを開きました。二人の先輩起業家に話していただきました。",
        "登壇者紹介",
        "今泉 遥(焼き菓子店 店主)",
        "会社員を経て2019年に開業。",
        "東 慎吾(古道具店 代表)",
        "古い家具の修理と販売を手がける。",
        "セミナー会場の様子",
        "焼き菓子店をしている今泉です。最初はマルシェに月2回出店するところから始めました。",
        caption,
        "私は最初の1年、自宅のガレージで営業していました。",
        "参加者からは、資金の集め方について多くの質問が出ました。",
        *CHROME,
    )
    assert fmt == "seminar"
    assert rows[9][0] == "caption"
    assert rows[10][2] == "interviewee" and str(rows[10][1]).startswith("東")
    assert rows[11][1:] == (None, "narrator")


@pytest.mark.parametrize(
    "closing",
    [
        "取材の帰り道、港には修理を終えた船が並んでいました。",
        "取材を終えて外に出ると、雨はもうやんでいました。",
        "インタビューを終えたあと、工房の前で写真を撮らせてもらいました。",
    ],
)
def test_the_last_question_before_a_closing_remark(closing: str) -> None:
    fmt, rows = read(
        "港町の船大工に会いに行く",
        "今回お話を聞いたのは、港町で木造船の修理を続けている船大工の宮下 渉さん。",
        "船大工になったのはいつですか？",
        "18歳で親方に弟子入りしました。最初の5年は、道具の手入ればかりでした。",
        "木の船ならではの難しさは？",
        "木は季節で伸び縮みするので、同じ寸法で削っても合わないことがあるんです。",
        "いま手がけている仕事は？",
        "漁師さんの小さな船の、底板の張り替えです。",
        closing,
        *CHROME,
    )
    assert fmt == "qa_unlabeled"
    assert [r[0] for r in rows[2:8]] == ["question", "paragraph"] * 3
    assert str(rows[7][1]).startswith("宮下")
    assert rows[8][1:] == (None, "narrator")


@pytest.mark.parametrize(("a", "b"), [("まる", "こむぎ"), ("ぽぷら", "ミント"), ("Yuki", "Sora")])
def test_nicknames_alone_before_turns_are_labels_by_recurrence(a: str, b: str) -> None:
    fmt, rows = read(
        "ゆるっと家計簿トーク",
        a,
        "家計簿、3日で挫折したことあります。レシートを貼るのが面倒で。",
        b,
        "わかります。私はアプリに変えてから続くようになりました。",
        a,
        "アプリって、カードと連携できるんですよね。",
        b,
        "そうそう。使ったらすぐ通知が来るので、使いすぎにも気づけます。",
        *CHROME,
    )
    assert fmt == "dialogue"
    assert [r[0] for r in rows[1:3]] == ["speaker_label", "paragraph"]
    assert [r[1] for r in rows[2:9:2]] == [a, b, a, b]


def test_a_repeated_heading_word_is_not_a_label() -> None:
    got = kinds("題", "まとめ", "今日は朝から雨でした。", "まとめ", "明日は晴れるそうです。")
    assert "speaker_label" not in got


@pytest.mark.parametrize("name", ["ホセ・ロドリゲス", "ミナ", "Alex"])
def test_a_talk_heading_names_its_speaker_in_brackets(name: str) -> None:
    fmt, rows = read(
        "農業フォーラム 当日レポート",
        "11月に開催した農業フォーラムの様子をお届けします。",
        "第1部 有機栽培の10年(田所 信也さん)",
        "有機栽培を始めて10年になります。最初の3年は、ほとんど収穫がありませんでした。",
        f"第2部 若手就農者の声({name}さん)",
        "日本に来て5年、いまは町でトマトを育てています。",
        *CHROME,
    )
    assert fmt == "seminar"
    assert str(rows[3][1]).startswith("田所")
    assert rows[5][1:] == (name, "interviewee")


@pytest.mark.parametrize(("a", "b"), [("桃子", "杏"), ("はる", "なつ"), ("ケン", "リサ")])
def test_name_and_bracketed_turn_lines_are_a_dialogue(a: str, b: str) -> None:
    fmt, rows = read(
        "姉妹で営むカフェの朝",
        f"{a}「朝いちばんにするのは、コーヒー豆の焙煎です。」",
        f"{b}「私はその間に、ケーキの生地を仕込みます。」",
        f"{a}「開店は8時なので、6時には二人とも店にいます。」",
        f"{b}「眠いけど、焼きたての匂いで目が覚めるんです。」",
        *CHROME,
    )
    assert fmt == "dialogue"
    assert [r[1:] for r in rows[1:5]] == [(a, "interviewee"), (b, "interviewee")] * 2


def test_an_essay_quoting_now_and_then_keeps_its_voice() -> None:
    fmt, rows = read(
        "母と台所",
        "休みの日は、実家の台所で母の手伝いをしています。",
        "野菜を切るのは私の担当で、味つけは母の担当です。",
        "母「もう少し薄く切って」",
        "私「これくらい?」",
        "母「そうそう、それでいい」",
        "そんなやりとりをしながら、夕方までに三品が仕上がりました。",
        "来週は魚のさばき方を教わる約束をしています。",
        "帰り道、台所の匂いがまだ手に残っていました。",
        *CHROME,
    )
    assert fmt == "essay"
    assert all(r[2] == "author" for r in rows[1:9] if r[0] == "paragraph")
    assert all(r[1] is None for r in rows)


@pytest.mark.parametrize(("q", "a"), [("Q", "A"), ("質問", "回答"), ("Question", "Answer")])
def test_question_and_answer_words_alone_on_their_lines(q: str, a: str) -> None:
    fmt, rows = read(
        "よくある質問",
        "はじめまして。青浜市 市民課です。よくいただく質問にお答えします。",
        q,
        "住民票はどこで取れますか?",
        a,
        "市役所の1階、市民課の窓口で取れます。",
        q,
        "土曜日も開いていますか?",
        a,
        "第2土曜日の午前中だけ開いています。",
        *CHROME,
    )
    assert fmt == "other"
    assert [r[0] for r in rows[2:6]] == ["question", "question", "paragraph", "paragraph"]
    assert all(r[1] is None for r in rows)
    assert [r[2] for r in rows[4:6]] == ["narrator", "narrator"]


@pytest.mark.parametrize(
    ("a", "b", "fa", "fb"),
    [
        ("森田のアイコン", "川口のアイコン", "森田", "川口"),
        ("ぽぷらアイコン", "ミントのアイコン画像", "ぽぷら", "ミント"),
        ("店長のアバター", "新人のアバター", "店長", "新人"),
    ],
)
def test_chat_bubble_icons_before_each_turn_are_labels(a: str, b: str, fa: str, fb: str) -> None:
    fmt, rows = read(
        "朝ごはんの話",
        a,
        "最近、朝ごはん何食べてる?",
        b,
        "パンとコーヒーだけだよ。",
        a,
        "私はおにぎり派。",
        b,
        "いいね、今度まねしてみる。",
        *CHROME,
    )
    assert fmt == "dialogue"
    assert rows[1][0] == "speaker_label"
    assert [r[1] for r in rows[2:9:2]] == [fa, fb, fa, fb]


def test_a_single_icon_line_is_not_a_label() -> None:
    got = kinds("題", "森田のアイコン", "今日は朝から雨でした。", "明日は晴れるそうです。")
    assert "speaker_label" not in got


@pytest.mark.parametrize(
    ("a", "b", "sep"),
    [
        ("田中 健太", "田中 美咲", ":"),
        ("野口 紗英さん", "野口 真由さん", ""),
        ("森 一平", "森 和子", "："),
    ],
)
def test_labels_sharing_a_family_name_are_different_people(a: str, b: str, sep: str) -> None:
    lines = ["夫婦で営む宿"]
    turns = [
        "宿を始めたのは10年前です。",
        "最初は二人とも素人でした。",
        "今は常連さんも増えました。",
        "朝ごはんが自慢です。",
    ]
    for k, turn in enumerate(turns):
        who = a if k % 2 == 0 else b
        lines += [f"{who}{sep}{turn}"] if sep else [who, turn]
    fmt, rows = read(*lines, *CHROME)
    assert fmt == "dialogue"
    spoken = [r[1] for r in rows if r[0] == "paragraph"]
    assert spoken == [a.removesuffix("さん"), b.removesuffix("さん")] * 2


@pytest.mark.parametrize("contact", ["担当:市民課 山田", "担当：企画課 佐久間", "担当者:広報係 西"])
def test_a_contact_line_under_a_notice_is_not_a_byline(contact: str) -> None:
    fmt, rows = read(
        "窓口の時間が変わります",
        "こんにちは。青浜市 市民課です。4月から窓口の受付時間が変わります。",
        "新しい受付時間は8時30分から17時までです。",
        contact,
        *CHROME,
    )
    assert fmt in ("announcement", "other")
    assert rows[3] == ("paragraph", None, "narrator")


@pytest.mark.parametrize("head", ["おわりに", "第3部 おわりに", "【さいごに】"])
def test_closing_headings_ending_in_a_particle_are_headings(head: str) -> None:
    got = kinds("題", "今日は畑で玉ねぎを植えました。", head, "来週は水やりの当番です。")
    assert got == ["title", "paragraph", "heading", "paragraph"]


@pytest.mark.parametrize(
    "guest",
    ["今回のゲスト:染物職人 早瀬 凛さん", "話し手:染物職人 早瀬 凛さん", "ゲスト:早瀬 凛さん(染物職人)"],
)
def test_plain_questions_with_long_answers_when_a_guest_is_named(guest: str) -> None:
    fmt, rows = read(
        "となりの仕事人",
        guest,
        "毎回、身近な仕事をしている人に話をしてもらう連載です。",
        "染物を始めたきっかけは？",
        "祖母が藍染めをしていたんです。",
        "小さいころから、手が青くなるのが好きでした。",
        "いちばん難しい工程は？",
        "染める前の下準備です。",
        "布を洗って、のりを落とすのに一日かかります。",
        "これからの目標は？",
        "藍の畑を自分で持つことです。",
        *CHROME,
    )
    assert fmt == "qa_unlabeled"
    assert [r[0] for r in rows[3:6]] == ["question", "paragraph", "paragraph"]
    assert all(str(r[1]).startswith("早瀬") for r in rows[4:11] if r[0] == "paragraph")


def test_question_headings_over_an_essay_without_a_guest_stay_headings() -> None:
    got = kinds(
        "題",
        "引っ越して一年がたちました。",
        "なぜ引っ越したの？",
        "通勤がつらくなったからです。",
        "駅まで歩くのに30分かかっていました。",
        "何が変わった？",
        "朝の時間に余裕ができました。",
        "散歩をするようになりました。",
        "次はどうする？",
        "庭で野菜を育てたいです。",
        "小さな畑を借りる予定です。",
    )
    assert "question" not in got


@pytest.mark.parametrize(
    ("alt", "caption"),
    [
        ("マイクを持って話す登壇者", "講演する北浦さん(北浦農園)"),
        ("資料を指さして説明する参加者", "発表する沢井さん(市民課)"),
        ("会場で笑うゲスト", "登壇中の日高さん"),
    ],
)
def test_a_photo_alt_naming_a_role_word_is_no_profile_header(alt: str, caption: str) -> None:
    got = kinds(
        "題",
        "先日、公開講座を開きました。",
        "登壇者",
        "北浦 直(北浦農園)",
        "第1部 畑の話",
        alt,
        caption,
        "畑を始めて十年になります。毎朝、土の様子を見て回ります。",
        "季節ごとに育てる野菜を変えています。",
    )
    assert got[5:9] == ["image_alt", "caption", "paragraph", "paragraph"]


@pytest.mark.parametrize(
    ("text", "name", "affiliation"),
    [
        ("株式会社みなもフーズ 物流企画チームの栗田です。", "栗田", "株式会社みなもフーズ 物流企画チーム"),
        ("ことのは株式会社の有馬です。", "有馬", "ことのは株式会社"),
        ("NPO法人もりのわ 事務局の白石と申します。", "白石", "NPO法人もりのわ 事務局"),
    ],
)
def test_a_company_name_is_one_word_in_a_self_introduction(text: str, name: str, affiliation: str) -> None:
    # Kana company names are often misread (a particle inside them): the name stays whole.
    si = find_self_intro(text)
    assert si is not None and si.name == name and si.affiliation == affiliation


@pytest.mark.parametrize(
    "intro",
    [
        "こんにちは!株式会社みなもフーズ 物流企画チームの栗田です!",
        "はじめまして!総務部の有馬です!",
        "こんばんは、企画課の白石です♪",
    ],
)
def test_a_greeting_self_introduction_line_is_text_not_a_heading(intro: str) -> None:
    got = kinds(
        "題",
        intro,
        "社内報のバトンが回ってきたので、今日は部活の話をします。",
        "部活は昼休みだけ",
        "毎週水曜に集まります。",
    )
    assert got[1] == "paragraph"
    assert got[3] == "heading"


@pytest.mark.parametrize(
    ("a", "b"), [("真田社長", "宮野工場長"), ("北浦先生", "日高店主"), ("相沢部長", "樋口所長")]
)
def test_family_name_and_title_alone_before_each_turn_are_labels(a: str, b: str) -> None:
    got = kinds(
        "題",
        a,
        "最初に会ったのは十年前です。工場の見学に来てくれました。",
        b,
        "よく覚えています。熱心に質問してくれましたね。",
        a,
        "あの日がなければ、いまの会社はありません。",
        b,
        "これからも一緒にやっていきましょう。",
    )
    assert got[1:9:2] == ["speaker_label"] * 4


def test_names_under_a_profile_header_are_entries_not_labels() -> None:
    got = kinds(
        "題",
        "おふたりのプロフィール",
        "真田 浩介(さなだ・こうすけ)",
        "代表取締役。商社勤務を経て、家業を継ぎました。",
        "宮越 誠(みやこし・まこと)",
        "工場長。旋盤ひと筋三十年。",
        "出会いの話",
        "真田社長",
        "小学生のころ、夏休みに工場へ遊びに来ていました。",
        "宮越工場長",
        "そんなこともありましたね。",
        "真田社長",
        "いまでも覚えています。",
    )
    assert got[2:6] == ["profile"] * 4
    assert got[7:13:2] == ["speaker_label"] * 3


@pytest.mark.parametrize(
    "text",
    [
        "申し遅れました。港川の商店街で古書店を営んでいる、戸川 湊と申します。",
        "申し遅れましたが、企画課の戸川です。",
        "自己紹介が遅れました。戸川 湊といいます。",
    ],
)
def test_a_late_self_introduction_after_its_opener(text: str) -> None:
    si = find_self_intro(text)
    assert si is not None and si.name == "戸川"
