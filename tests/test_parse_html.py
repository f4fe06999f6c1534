"""parse_html / body_blocks: sample equivalence, golden files, fallbacks and errors.

Golden files live in tests/golden/; regenerate them with ``.venv/bin/python tests/golden/regen.py``
after an intended parser change and review their diff.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from types import ModuleType
from zoneinfo import ZoneInfo

import lxml.html
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from etl.errors import ParseError
from etl.model import Block
from etl.parse_html import body_blocks, parse_html, parse_timestamp

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SAMPLES = SHARED / "samples"
GOLDEN = Path(__file__).resolve().parent / "golden"
# The page-text files end with note chrome: contest heading + name, the two recommend lines.
CHROME_LINES = 4

# Missing samples fail loudly (the samples_dir fixture), never skip.
needs_samples = pytest.mark.usefixtures("samples_dir")

HTML_PAIRS = [
    ("html/seed_note.html", SHARED / "seed" / "note_article.txt", SAMPLES / "gold" / "seed.json"),
    ("html/qa_labeled.html", SAMPLES / "text" / "qa_labeled.txt", SAMPLES / "gold" / "qa_labeled.json"),
]


def _load_regen() -> ModuleType:
    from tests.golden import regen

    return regen


def page_lines(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def texts(blocks: tuple[Block, ...] | list[Block]) -> list[str]:
    return [b.text for b in blocks]


def body(inner: str) -> str:
    return f'<html><body><div class="note-common-styles__textnote-body">{inner}</div></body></html>'


def kinds_texts(html: str) -> list[tuple[str | None, str]]:
    return [(b.kind, b.text) for b in parse_html(html).blocks]


# --- the samples ------------------------------------------------------------------------


@needs_samples
@pytest.mark.parametrize(("sample", "text_file", "gold_file"), HTML_PAIRS)
def test_html_sample_equals_page_text(sample: str, text_file: Path, gold_file: Path) -> None:
    doc = parse_html((SAMPLES / sample).read_text(encoding="utf-8"))
    lines = page_lines(text_file)
    content = [b for b in doc.blocks if b.kind != "boilerplate"]
    chrome = [b for b in doc.blocks if b.kind == "boilerplate"]
    assert texts(content) == lines[:-CHROME_LINES]
    assert texts(chrome) == lines[-CHROME_LINES:]
    assert texts(doc.blocks) == lines
    assert doc.source_format == "html"


@needs_samples
@pytest.mark.parametrize(("sample", "text_file", "gold_file"), HTML_PAIRS)
def test_html_kind_hints_agree_with_gold(sample: str, text_file: Path, gold_file: Path) -> None:
    doc = parse_html((SAMPLES / sample).read_text(encoding="utf-8"))
    gold = json.loads(gold_file.read_text(encoding="utf-8"))["blocks"]
    assert len(gold) == len(doc.blocks)
    for block, label in zip(doc.blocks, gold, strict=True):
        assert block.text.startswith(label["start"])
        if block.kind is not None:
            assert block.kind == label["kind"], block.text
        # Bold whole paragraphs are exactly the questions and answer labels.
        assert block.emphasis == (label["kind"] in ("question", "speaker_label")), block.text


@needs_samples
def test_seed_meta() -> None:
    meta = parse_html((SAMPLES / "html" / "seed_note.html").read_text(encoding="utf-8")).meta
    assert meta.title == "データの利活用で、人に優しいデジタル社会へ。現役職員が語るデジタル庁のミッション"
    assert meta.note_key == "nd9314f0e9d9f"
    assert meta.url == "https://note.com/digital_jp/n/nd9314f0e9d9f"
    assert meta.account == "digital_jp"
    assert meta.published_at == datetime(2024, 2, 1, 10, tzinfo=ZoneInfo("Asia/Tokyo"))
    assert meta.hashtags == ("#デジタル庁",)


@needs_samples
def test_seed_structure() -> None:
    blocks = parse_html((SAMPLES / "html" / "seed_note.html").read_text(encoding="utf-8")).blocks
    headings = [(b.heading_level, b.text) for b in blocks if b.kind == "heading"]
    assert headings[0] == (2, "必要なサービスを、必要な方へ。デジタル技術で“最適化”")
    assert headings[1] == (3, "現在の業務について")
    figure = [b for b in blocks if b.kind in ("image_alt", "caption")][1:3]
    assert [b.kind for b in figure] == ["image_alt", "caption"]
    assert figure[0].attrs["id"] == figure[1].attrs["id"] == "0bc25aff-47cb-5c52-a7ed-fae0a827b6b0"
    links = [b for b in blocks if b.kind == "link"]
    assert links[0].attrs["href"] == "https://note.com/digital_jp/m/m2f4a6c8e0b13"
    assert all("フォロー" not in b.text and "ヘルプセンター" not in b.text for b in blocks)
    assert not any(b.text.startswith("#") for b in blocks)


@needs_samples
@pytest.mark.parametrize("name", ["seed_note.html.json", "qa_labeled.html.json"])
def test_golden(name: str) -> None:
    regen = _load_regen()
    source, parser = regen.CASES[name]
    doc = parser((SAMPLES / source).read_text(encoding="utf-8"))
    expected = json.loads((GOLDEN / name).read_text(encoding="utf-8"))
    assert regen.snapshot(doc, source) == expected, "parser output changed: see tests/golden/regen.py"


# --- metadata and title fallbacks -------------------------------------------------------

BODY = '<div class="note-common-styles__textnote-body"><p>本文。</p></div>'


def test_title_prefers_note_h1() -> None:
    html = (
        '<html><head><meta property="og:title" content="OG題｜誰か"></head><body>'
        f'<h1 class="o-noteContentHeader__title">本当の題</h1>{BODY}</body></html>'
    )
    doc = parse_html(html)
    assert doc.meta.title == "本当の題"
    assert [(b.kind, b.text) for b in doc.blocks] == [("title", "本当の題"), (None, "本文。")]


def test_title_from_og_title_strips_account_suffix() -> None:
    html = (
        '<html><head><meta property="og:title" content="題：前編｜その他｜デジタル庁">'
        '<script type="application/ld+json">{"@type": "Article", "author": {"name": "デジタル庁"}}</script>'
        f"</head><body>{BODY}</body></html>"
    )
    assert parse_html(html).meta.title == "題：前編｜その他"


def test_title_from_og_title_without_known_account() -> None:
    html = (
        f'<html><head><meta property="og:title" content="題名｜アカウント"></head><body>{BODY}</body></html>'
    )
    assert parse_html(html).meta.title == "題名"


def test_title_from_jsonld_only() -> None:
    html = (
        "<html><head>"
        '<script type="application/ld+json">{"@graph": [{"@type": "WebSite", "name": "note"},'
        ' {"@type": "Article", "headline": "JSON-LDの題", "author": [{"name": "著者"}],'
        ' "datePublished": "2024-05-01T09:30:00",'
        ' "mainEntityOfPage": "https://note.com/x/n/nabc123def456"}]}</script>'
        f"</head><body>{BODY}</body></html>"
    )
    meta = parse_html(html).meta
    assert meta.title == "JSON-LDの題"
    assert meta.account == "著者"
    assert meta.note_key == "nabc123def456"
    assert meta.url is None
    # A naive time is Japanese local time.
    assert meta.published_at == datetime(2024, 5, 1, 9, 30, tzinfo=ZoneInfo("Asia/Tokyo"))
    assert meta.published_at is not None and meta.published_at.utcoffset() is not None


def test_title_from_title_tag() -> None:
    html = f"<html><head><title>タグの題｜誰か</title></head><body>{BODY}</body></html>"
    assert parse_html(html).meta.title == "タグの題"


def test_bad_jsonld_does_not_crash() -> None:
    html = (
        "<html><head>"
        '<script type="application/ld+json">{"headline": "壊れ</script>'
        '<script type="application/ld+json">' + "[" * 100_000 + "</script>"
        '<script type="application/ld+json">{"@type": [{"x": 1}], "headline": "正しい題"}</script>'
        '<link rel="canonical" href="https://note.com/x/n/n0123456789ab?from=top">'
        '</head><body><a class="o-noteContentHeader__name" href="/x">表示名</a>'
        '<time datetime="2024-01-02T03:04:05Z">1月2日</time>'
        f"{BODY}</body></html>"
    )
    meta = parse_html(html).meta
    assert meta.title == "正しい題"
    assert meta.note_key == "n0123456789ab"
    assert meta.url == "https://note.com/x/n/n0123456789ab?from=top"
    assert meta.account == "x"  # the urlname from the URL wins over the display name
    assert meta.published_at == datetime.fromisoformat("2024-01-02T03:04:05+00:00")


def test_hashtags_keep_hash_and_are_not_blocks() -> None:
    html = (
        f'<html><body><article>{BODY}<ul class="m-tagList"><li><a href="/h/a">#行政</a></li>'
        '<li><a href="/h/b">#DX</a></li><li><a href="/h/a">#行政</a></li></ul></article></body></html>'
    )
    doc = parse_html(html)
    assert doc.meta.hashtags == ("#行政", "#DX")
    assert texts(doc.blocks) == ["本文。"]


def test_parse_timestamp() -> None:
    assert parse_timestamp("2024-02-01T10:00:00+09:00") == datetime(2024, 2, 1, 1, tzinfo=ZoneInfo("UTC"))
    assert parse_timestamp("2024-02-01") == datetime(2024, 2, 1, tzinfo=ZoneInfo("Asia/Tokyo"))
    assert parse_timestamp("not a date") is None
    assert parse_timestamp(None) is None
    assert parse_timestamp(20240201) is None


# --- page structure: eyecatch, chrome, fallbacks ----------------------------------------


def test_chrome_outside_body_is_boilerplate_and_other_chrome_is_dropped() -> None:
    html = (
        '<html><body><header><nav><a href="/login">ログイン</a></nav></header><article>'
        '<div class="o-noteEyecatch"><img alt="見出し画像" src="x.png"></div>'
        '<h1 class="o-noteContentHeader__title">題</h1>'
        '<a class="o-noteContentHeader__name" href="/u">著者</a><button>フォロー</button>'
        f"{BODY}"
        '<section class="o-noteContestBanner"><p>この記事が参加している募集</p>'
        '<a href="/c">募集名</a></section>'
        '<div class="o-noteLikeV3"><span>10</span></div>'
        '<div class="o-noteRecommend"><p>読んでほしい?</p><button>オススメ</button><p>説明</p></div>'
        '</article><aside class="o-creatorProfile">著者</aside><footer>ヘルプ</footer>'
        "<script>var state = 1;</script></body></html>"
    )
    assert kinds_texts(html) == [
        ("image_alt", "見出し画像"),
        ("title", "題"),
        (None, "本文。"),
        ("boilerplate", "この記事が参加している募集"),
        ("boilerplate", "募集名"),
        ("boilerplate", "読んでほしい?"),
        ("boilerplate", "説明"),
    ]


def test_fallback_article_when_body_div_is_missing() -> None:
    html = (
        "<html><body><header><h1>サイト名</h1><nav>メニュー</nav></header>"
        "<article><header><h1>記事の題</h1><time datetime='2024-03-01T12:00:00+09:00'>3月1日</time></header>"
        "<p>一段落目。</p><p>二段落目。</p><form><button>送信</button></form>"
        "<footer>記事フッター</footer></article>"
        "<aside>関連記事</aside><footer>サイトフッター</footer></body></html>"
    )
    doc = parse_html(html)
    assert [(b.kind, b.text) for b in doc.blocks] == [
        ("title", "記事の題"),
        (None, "一段落目。"),
        (None, "二段落目。"),
    ]
    assert doc.meta.title == "記事の題"
    assert doc.meta.published_at == datetime(2024, 3, 1, 12, tzinfo=ZoneInfo("Asia/Tokyo"))


def test_fallback_main_then_body() -> None:
    main = "<html><body><nav>ナビ</nav><main><p>主要部。</p></main><p>外側。</p></body></html>"
    assert kinds_texts(main) == [(None, "主要部。")]
    bare = (
        "<html><head><title>題｜誰か</title></head>"
        "<body><nav>ナビ</nav>ただの文章。<p>段落。</p></body></html>"
    )
    doc = parse_html(bare)
    assert texts(doc.blocks) == ["ただの文章。", "段落。"]
    assert doc.meta.title == "題"


def test_fallback_drops_note_chrome_classes() -> None:
    # A note page whose body div class changed: the article is used, its chrome removed.
    html = (
        '<html><body><article class="o-noteContent">'
        '<div class="o-noteEyecatch"><img alt="見出し画像"></div>'
        '<div class="o-noteContentHeader"><h1 class="o-noteContentHeader__title">題</h1>'
        '<a class="o-noteContentHeader__name">著者</a></div>'
        '<div class="p-article__content"><div class="renamed-body"><p>本文。</p></div></div>'
        '<div class="o-noteContentFooter"><ul class="m-tagList"><li><a>#タグ</a></li></ul>'
        '<section class="o-noteContestBanner"><p>この記事が参加している募集</p></section></div>'
        "</article></body></html>"
    )
    doc = parse_html(html)
    assert [(b.kind, b.text) for b in doc.blocks] == [
        ("image_alt", "見出し画像"),
        ("title", "題"),
        (None, "本文。"),
        ("boilerplate", "この記事が参加している募集"),
    ]
    assert doc.meta.account == "著者"
    assert doc.meta.hashtags == ("#タグ",)


# --- body_blocks ------------------------------------------------------------------------


def test_script_style_noscript_in_body_are_dropped() -> None:
    html = body(
        '<p>前<script>var secret = "秘密";</script>後</p><style>.x { color: red }</style>'
        "<noscript>有効にしてください</noscript><p>次<!-- コメント --></p><template><p>型</p></template>"
    )
    blocks = parse_html(html).blocks
    assert texts(blocks) == ["前後", "次"]
    joined = "".join(texts(blocks))
    for hidden in ("秘密", "secret", "color", "有効", "コメント", "型"):
        assert hidden not in joined


def test_br_splits_a_paragraph_into_lines() -> None:
    blocks = body_blocks('<p id="p1" name="p1">一行目<br>二行目<br><br> <br>三行目</p><p><br></p>')
    assert texts(blocks) == ["一行目", "二行目", "三行目"]
    assert all(b.attrs == {"id": "p1", "name": "p1"} for b in blocks)


def test_bold_marks_emphasis() -> None:
    blocks = body_blocks(
        "<p><b>――まずは経歴を教えてください。</b></p>"
        "<p> <strong>山田</strong><b>:</b> </p>"
        "<p><b>太字</b>と普通</p>"
        "<p><b>山田:</b><br>答えです。</p>"
    )
    assert [(b.text, b.emphasis) for b in blocks] == [
        ("――まずは経歴を教えてください。", True),
        ("山田:", True),
        ("太字と普通", False),
        ("山田:", True),
        ("答えです。", False),
    ]


def test_link_only_paragraph_is_a_link() -> None:
    blocks = body_blocks(
        '<p><a href="https://example.jp/a">◆詳しくはこちら。</a> </p>'
        '<p>詳しくは<a href="https://example.jp/b">こちら</a>。</p>'
        '<p><a href="https://example.jp/c"><b>太字のリンク</b></a></p>'
    )
    assert [(b.kind, b.text, b.attrs.get("href")) for b in blocks] == [
        ("link", "◆詳しくはこちら。", "https://example.jp/a"),
        (None, "詳しくはこちら。", None),
        ("link", "太字のリンク", "https://example.jp/c"),
    ]


def test_headings_figures_lists_quotes_pre() -> None:
    blocks = body_blocks(
        "<h2>見出し二</h2><h4>見出し四</h4>"
        '<figure id="f1"><img alt="写真の説明"><figcaption>キャプション</figcaption></figure>'
        '<figure><img alt=""><img src="no-alt.png"></figure>'
        "<ul><li>項目一</li><li>項目二<ol><li>入れ子</li></ol></li></ul>"
        "<blockquote><p>引用一</p><p>引用二</p></blockquote>"
        "<pre>一行目\n  二行目\n</pre>"
    )
    assert [(b.kind, b.heading_level, b.text) for b in blocks] == [
        ("heading", 2, "見出し二"),
        ("heading", 4, "見出し四"),
        ("image_alt", None, "写真の説明"),
        ("caption", None, "キャプション"),
        ("list_item", None, "項目一"),
        ("list_item", None, "項目二"),
        ("list_item", None, "入れ子"),
        ("quote", None, "引用一"),
        ("quote", None, "引用二"),
        (None, None, "一行目"),
        (None, None, "二行目"),
    ]
    assert blocks[2].attrs == blocks[3].attrs == {"id": "f1"}


def test_text_is_cleaned_and_ruby_readings_dropped() -> None:
    blocks = body_blocks(
        "<p>  山田\u200b　花子\n  さん&nbsp;です </p><p>\u200b</p>"
        "<p><ruby>漢字<rp>(</rp><rt>かんじ</rt><rp>)</rp></ruby></p>"
    )
    assert texts(blocks) == ["山田　花子 さん です", "漢字"]


def test_body_blocks_accepts_an_element_and_leaves_it_alone() -> None:
    div = lxml.html.fragment_fromstring("<div><p>一<br>二</p><script>x()</script>三<!-- c -->四</div>")
    before = etree.tostring(div)
    assert texts(body_blocks(div)) == ["一", "二", "三四"]
    assert etree.tostring(div) == before


def test_ten_thousand_nested_divs() -> None:
    depth = 10_000
    nested = "<div>" * depth + "<p>深い本文。</p>" + "</div>" * depth
    assert texts(body_blocks(nested)) == ["深い本文。"]
    doc = parse_html(f"<html><body>{nested}</body></html>")
    assert texts(doc.blocks) == ["深い本文。"]
    in_note_body = parse_html(body("<div>" * depth + "深い。" + "</div>" * depth))
    assert texts(in_note_body.blocks) == ["深い。"]


@pytest.mark.parametrize("depth", [2000, 2045, 2046, 2047, 3000])
def test_nesting_around_libxml2s_tree_depth_limit(depth: int) -> None:
    # libxml2 builds trees only 2048 deep and drops the rest silently; deeper pages are
    # parsed another way, and nothing before, inside or after the deep part is lost.
    nested = "<p>前。</p>" + "<div>" * depth + "<p>深い。</p>" + "</div>" * depth + "<p>後ろ。</p>"
    assert texts(parse_html(body(nested)).blocks) == ["前。", "深い。", "後ろ。"]
    assert texts(body_blocks(f"<section>{nested}</section>")) == ["前。", "深い。", "後ろ。"]


# --- readings kept from the BeautifulSoup parser ---------------------------------------
# The parser walks libxml2's tree directly now; these pin the places where it reads that
# tree the way bs4 (over the same libxml2 parser) did, so the output did not change.


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        # Markup after </html> is a second top-level <html>: not in the body, but on the page.
        ("<html><body><p>本文。</p></body></html><p>後ろ。</p>", ["本文。"]),
        ("<title>題</title></html>後ろ", ["後ろ"]),
        # Comments and processing instructions are markup: the text around them joins up.
        (
            '<p><b>太</b><!-- c --><b>字</b></p><p><a href="/x">リ<!--c-->ンク</a></p><p>前<?pi x?>後</p>',
            ["太字", "リンク", "前後"],
        ),
        # Inside <pre> newlines (CR included) break lines and spaces stay until clean_text.
        ("<pre>  一\n\n  <b>二</b>\r\n三\r四</pre>", ["一", "二", "三", "四"]),
        # One leading BOM is dropped before parsing; one more would be text (cleaned away).
        ("\ufeff\ufeff<p>本文。</p>", ["本文。"]),
    ],
)
def test_body_blocks_tree_readings(html: str, expected: list[str]) -> None:
    assert texts(body_blocks(html)) == expected


def test_braced_attribute_names_read_as_plain_names() -> None:
    # lxml keeps an attribute literally named "{x}id" under that name; bs4 read it as "id",
    # the last spelling winning, and so does this parser.
    blocks = body_blocks(
        '<p {x}id=a id=b>一</p><p id=c {x}id=d {y}name=e>二</p><figure {z}id=f><img alt="写真"></figure>'
    )
    assert [(b.text, dict(b.attrs)) for b in blocks] == [
        ("一", {"id": "b"}),
        ("二", {"id": "d", "name": "e"}),
        ("写真", {"id": "f"}),
    ]


def test_page_readings() -> None:
    html = (
        "<html><head><template><title>型の中の題</title></template></head><body>"
        '<h1 class="o-noteContentHeader__title\u00a0x">題</h1>'
        '<div class="y\u3000note-common-styles__textnote-body"><p>本文。</p></div>'
        '</body></html><ul class="m-tagList"><li><a href="/h">#後ろのタグ</a></li></ul>'
    )
    doc = parse_html(html)
    # Class lists split on any Unicode whitespace, as CSS selectors over bs4 did.
    assert [(b.kind, b.text) for b in doc.blocks] == [("title", "題"), (None, "本文。")]
    # The tag list after </html> is still on the page.
    assert doc.meta.hashtags == ("#後ろのタグ",)
    # A <title> inside a <template> has no text, so there is no title from it.
    assert (
        parse_html(html.replace('<h1 class="o-noteContentHeader__title\u00a0x">題</h1>', "")).meta.title
        is None
    )


_MARKUP = st.sampled_from(
    [
        *(
            "<p>",
            "</p>",
            "<div>",
            "</div>",
            "<b>",
            "</b>",
            "<a href='/l'>",
            "</a>",
            "<br>",
            "<pre>",
            "</pre>",
        ),
        *(
            "<h2>",
            "</h2>",
            "<li>",
            "<ul>",
            "<figure id=f>",
            "<img alt='写真'>",
            "<script>",
            "</script>",
            "<!--",
        ),
        *(
            "-->",
            "<?x?>",
            "</html>",
            "<html>",
            "<body>",
            "<article>",
            "<nav>",
            "<h1>",
            "</h1>",
            "<title>",
            "<",
        ),
        *('<div class="note-common-styles__textnote-body">', '<h1 class="o-noteContentHeader__title">'),
        *("&amp;", "&nbsp;", "&#0;", "\x00", "\u200b", "\u3000", " ", "\n", "\r", "本文", "――Q", "#タグ"),
    ]
)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.one_of(_MARKUP, st.text(st.characters(exclude_categories=("Cs",)), max_size=5)), max_size=40)
)
def test_any_markup_gives_clean_blocks_or_a_parse_error(pieces: list[str]) -> None:
    html = "".join(pieces)
    try:
        blocks = list(parse_html(html).blocks)
    except ParseError:
        blocks = []
    blocks += body_blocks(html)
    for block in blocks:
        assert block.text
        assert block.text == block.text.strip()


# --- errors -----------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   \n\t"])
def test_empty_document_is_a_parse_error(text: str) -> None:
    with pytest.raises(ParseError, match="empty document"):
        parse_html(text)


def test_text_without_tags_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="no tags"):
        parse_html("見出し画像\nタイトル\n本文です。")


@pytest.mark.parametrize(
    "html",
    [
        "<html><head><title>題</title></head><body></body></html>",
        "<html><body><nav>ナビ</nav><footer>フッター</footer></body></html>",
        body("<p><br></p><script>only()</script>"),
    ],
)
def test_no_content_blocks_is_a_parse_error(html: str) -> None:
    with pytest.raises(ParseError, match="no content blocks found") as info:
        parse_html(html)
    assert info.value.error_type == "parse_error"
