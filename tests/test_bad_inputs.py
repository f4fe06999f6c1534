"""Every kind of bad input: a correct article or a reject that says what is wrong.

One run over a folder holding every case plus a good article: the good one is written,
every case ends in `articles` or `rejects` (with the expected error type), and the run's
counts add up. Each case says what it must give: ``article`` (and a text its segments
hold) or the reject's ``error_type`` (and a text its message holds).
"""

from __future__ import annotations

import codecs
import os
import random
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from etl.analysis import EtlOptions
from etl.commit import RunSummary
from etl.errors import UnreadableInput
from etl.reading import read_input
from etl.run import run_local

from .conftest import SAMPLES, SEED

# Big enough for the giant-paragraph case (900 KB), small enough to test the limit cheaply.
MAX_BYTES = 1_000_000


def article(title: str) -> str:
    return f"見出し画像\n\n{title}\n\n広報部の高橋です。①の取り組みを紹介します。\n\n今後の予定\n\n来年も続けます。\n"


Write = Callable[[Path], None]


def write_bytes(name: str, data: bytes) -> tuple[str, Write]:
    return name, lambda d: (d / name).write_bytes(data)


CASES: dict[str, tuple[Write, str, str]] = {}


def case(name: str, data: bytes | Write, outcome: str, detail: str = "") -> None:
    writer: Write = data if callable(data) else (lambda d, b=data: (d / name).write_bytes(b))  # type: ignore[misc]
    CASES[name] = (writer, outcome, detail)


html_seed = (SAMPLES / "html" / "seed_note.html").read_text(encoding="utf-8")
case("empty.txt", b"", "empty_article", "empty")
case("whitespace.txt", " \n\t\n\u3000\n".encode(), "empty_article", "whitespace")
case("garbage.txt", random.Random(7).randbytes(4096), "decode_error")
case("renamed.pdf.txt", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "decode_error", "binary")
case("nul_bytes.txt", b"\x00\x01\x02" * 400, "decode_error", "NUL")
case("stray_nul.txt", article("NULが一つ混じった記事").replace("広報", "広\x00報").encode(), "article")
case(
    "bom_utf8.txt", codecs.BOM_UTF8 + article("BOM付きUTF-8の記事").encode(), "article", "BOM付きUTF-8の記事"
)
case(
    "utf16le.txt",
    codecs.BOM_UTF16_LE + article("UTF-16LEの記事").encode("utf-16-le"),
    "article",
    "UTF-16LEの記事",
)
case(
    "utf16be.txt",
    codecs.BOM_UTF16_BE + article("UTF-16BEの記事").encode("utf-16-be"),
    "article",
    "UTF-16BEの記事",
)
case(
    "shift_jis.txt",
    article("シフトJISの記事").replace("①", "1").encode("shift_jis"),
    "article",
    "シフトJISの記事",
)
case("cp932.txt", article("CP932の記事②").encode("cp932"), "article", "CP932の記事②")
case("euc_jp.txt", article("EUC-JPの記事").replace("①", "1").encode("euc_jp"), "article", "EUC-JPの記事")
case(
    "mixed_newlines.txt",
    "改行が混在する記事\r\n\r\n本文の一行目です。\r本文の二行目です。\n".encode(),
    "article",
    "改行が混在する記事",
)
case("one_line.txt", "一行だけの記事".encode(), "article", "一行だけの記事")
case(
    "only_chrome.txt",
    "みんなにも読んでほしいですか?\n\nオススメした記事はフォロワーのタイムラインに表示されます!\n".encode(),
    "empty_article",
    "chrome",
)
case("too_large.txt", b"a" * (MAX_BYTES + 1), "too_large", str(MAX_BYTES))
html_qa = (SAMPLES / "html" / "qa_labeled.html").read_text(encoding="utf-8")
case("truncated.html", html_qa[: len(html_qa) // 2].encode(), "article", "市役所の窓口から来た職員")
case(
    "no_note_body.html",
    "<html><body><nav>メニュー</nav><article><h1>本文divのない記事</h1><p>本文です。</p></article></body></html>".encode(),
    "article",
    "本文divのない記事",
)
case(
    "script_style.html",
    (
        '<html><body><h1 class="o-noteContentHeader__title">スクリプト入りの記事</h1>'
        '<div class="note-common-styles__textnote-body"><script>alert("x")</script>'
        "<style>p{color:red}</style><p>本文です。</p></div></body></html>"
    ).encode(),
    "article",
    "スクリプト入りの記事",
)
case(
    "deep.html",
    (
        "<html><body>"
        + "<div>" * 10_000
        + "<p>深い入れ子の本文です。</p>"
        + "</div>" * 10_000
        + "</body></html>"
    ).encode(),
    "article",
)
case("empty.html", b"", "empty_article")
case("not_json.json", b"{not json", "parse_error", "JSON")
case("other_shape.json", b'{"items": [1, 2]}', "parse_error", "data")
case(
    "error_payload.json",
    b'{"error": {"code": "not_found", "message": "Not Found"}}',
    "parse_error",
    "Not Found",
)
case(
    "empty_body.json",
    '{"data": {"key": "n000000000001", "name": "題", "body": ""}}'.encode(),
    "empty_article",
)
case("slides.docx", b"PK\x03\x04 zip", "unsupported_format", ".docx")
case("no_extension", "拡張子のない記事".encode(), "unsupported_format", "(none)")
case("スペース 入り の記事.txt", article("名前に空白がある記事").encode(), "article", "名前に空白がある記事")
case("第1回..対談.txt", article("名前に点が二つある記事").encode(), "article", "名前に点が二つある記事")
case("copy_a.txt", article("同じ内容の二つのファイル").encode(), "article", "同じ内容の二つのファイル")
case("copy_b.txt", article("同じ内容の二つのファイル").encode(), "duplicate", "copy_a.txt")
case("seed_note.html", html_seed.encode(), "duplicate", "seed_note_api.json")
case(
    "seed_note_api.json",
    (SAMPLES / "json" / "seed_note_api.json").read_bytes(),
    "article",
    "データの利活用で",
)


def _folder_like_a_file(d: Path) -> None:
    (d / "folder.txt").mkdir()
    (d / "folder.txt" / "inner.txt").write_text(article("フォルダの中の記事"), encoding="utf-8")


def _symlink_loop(d: Path) -> None:
    os.symlink(d / "loop_b.txt", d / "loop_a.txt")
    os.symlink(d / "loop_a.txt", d / "loop_b.txt")


def _dangling(d: Path) -> None:
    os.symlink(d / "nowhere.txt", d / "dangling.txt")


case("folder.txt/inner.txt", _folder_like_a_file, "article", "フォルダの中の記事")
case("loop_a.txt", _symlink_loop, "unreadable", "")
case("loop_b.txt", lambda d: None, "unreadable", "")
case("dangling.txt", _dangling, "unreadable", "")


# --- encodings and text --------------------------------------------------------------------

case(
    # Cut one byte into the last character (。, three bytes in UTF-8).
    "truncated_utf8.txt",
    article("途中で切れたファイル").rstrip().encode()[:-1],
    "truncated",
    "middle of a character",
)
case(
    "truncated_bom_utf8.txt",
    codecs.BOM_UTF8 + article("BOM付きで切れたファイル").rstrip().encode()[:-2],
    "truncated",
    "truncated",
)
case(
    "truncated_utf16.txt",
    (codecs.BOM_UTF16_LE + article("UTF-16で切れたファイル").encode("utf-16-le"))[:-1],
    "truncated",
    "utf-16",
)
case("halfwidth_kana.txt", article("ﾊﾝｶｸｶﾀｶﾅの記事").encode("cp932"), "article", "ﾊﾝｶｸｶﾀｶﾅの記事")
case("emoji.txt", article("絵文字😀の記事").encode(), "article", "絵文字😀の記事")
case("combining.txt", article("か\u3099の結合文字").encode(), "article", "結合文字")
case("zero_width.txt", article("ゼロ幅\u200b文字\u200dの記事").encode(), "article", "ゼロ幅文字の記事")
case("only_zero_width.txt", "\u200b\u200c\u200d\ufeff\n\u2060\n".encode(), "empty_article")
case("controls.txt", ("本文" + "\x01\x02\x03\x04" * 50).encode(), "decode_error", "control characters")
case("bidi_override.txt", article("\u202e逆向きの記事").encode(), "article", "逆向きの記事")
case("noncharacters.txt", article("非文字\uffffと私用\ue000の記事").encode(), "article", "の記事")
case("crlf_only.txt", b"\r\n" * 100, "empty_article")
case("bom_only.txt", codecs.BOM_UTF8, "empty_article")
case("utf16_bom_only.txt", codecs.BOM_UTF16_LE, "empty_article")
case("tabs_only.txt", b"\t\t\n\t", "empty_article")
case("gzip.txt", b"\x1f\x8b\x08\x00" + bytes(200), "decode_error", "binary")
case("png.html", b"\x89PNG\r\n\x1a\n" + bytes(100), "decode_error", "binary")
case("zip.json", b"PK\x03\x04" + bytes(100), "decode_error", "binary")
# A paragraph of 300,000 katakana (900 KB): MeCab's cost grows with the square of such a run
# (and about 1 M characters of one crashes it), so it is analysed in pieces.
case("giant_paragraph.txt", ("巨大な段落\n\n" + "ア" * 300_000 + "\n").encode(), "article", "巨大な段落")
case("many_lines.txt", ("行の多い記事\n" + "短い行です。\n" * 3000).encode(), "article", "行の多い記事")
case("UPPER.TXT", article("大文字の拡張子").encode(), "article", "大文字の拡張子")
case(
    "page.htm",
    "<html><body><h1 class=o-noteContentHeader__title>htmの記事</h1><p>本文です。</p></body></html>".encode(),
    "article",
    "htmの記事",
)
case("notes.md", article("マークダウンの記事").encode(), "article", "マークダウンの記事")
case("notes.text", article("textの記事").encode(), "article", "textの記事")
case("table.csv", b"a,b\n1,2\n", "unsupported_format", ".csv")
case("x.json5", b"{}", "unsupported_format", ".json5")

# --- file names and kinds of file ----------------------------------------------------------

case("new\nline.txt", article("改行入りの名前の記事").encode(), "article", "改行入りの名前の記事")
case("<script>|x.txt", article("記号入りの名前の記事").encode(), "article", "記号入りの名前の記事")
case("長" * 80 + ".txt", article("長い名前の記事").encode(), "article", "長い名前の記事")
case("a/b/c/d/e/f/g/deep.txt", lambda d: _nested(d), "article", "深いフォルダの記事")


def _nested(d: Path) -> None:
    (d / "a/b/c/d/e/f/g").mkdir(parents=True)
    (d / "a/b/c/d/e/f/g/deep.txt").write_text(article("深いフォルダの記事"), encoding="utf-8")


def _latin1_name(d: Path) -> None:
    # A file name that is not UTF-8: the run reads it, and writes the name with \xNN escapes.
    with open(os.fsencode(d) + b"/caf\xe9.txt", "wb") as fh:
        fh.write(article("名前がUTF-8でない記事").encode())


def _fifo(d: Path) -> None:
    os.mkfifo(d / "y.txt")


def _socket(d: Path) -> None:
    import socket

    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(d / "sock.txt"))
    sock.close()


def _passwd_link(d: Path) -> None:
    os.symlink("/etc/passwd", d / "passwd.txt")


def _dev_link(d: Path) -> None:
    os.symlink("/dev/zero", d / "zero.txt")


def _dir_link(d: Path) -> None:
    os.symlink("/etc", d / "etc.txt")


def _inside_link(d: Path) -> None:
    (d / "target.txt").write_text(article("リンク先の記事"), encoding="utf-8")
    os.symlink(d / "target.txt", d / "inside_link.txt")


def _outside_link(d: Path) -> None:
    outside = d.parent / f"{d.name}-outside"
    outside.mkdir()
    (outside / "secret.txt").write_text(article("外のフォルダの記事"), encoding="utf-8")
    os.symlink(outside / "secret.txt", d / "outside_link.txt")


case("caf\\xe9.txt", _latin1_name, "article", "名前がUTF-8でない記事")
case("y.txt", _fifo, "unreadable", "FIFO")
case("sock.txt", _socket, "unreadable", "socket")
case("passwd.txt", _passwd_link, "unreadable", "outside the input folders")
case("zero.txt", _dev_link, "unreadable", "character device")
case("etc.txt", _dir_link, "unreadable", "directory")
# Same content: one article, the first path by name wins.
case("inside_link.txt", _inside_link, "article", "リンク先の記事")
case("target.txt", lambda d: None, "duplicate", "inside_link.txt")
case("outside_link.txt", _outside_link, "unreadable", "outside the input folders")

# --- note API answers ----------------------------------------------------------------------


def api(
    name: str = "題", body: str = "<p>本文です。</p>", key: str = "n000000000101", **extra: object
) -> str:
    import json

    return json.dumps({"data": {"key": key, "name": name, "body": body, **extra}}, ensure_ascii=False)


# JSON escapes of lone surrogates (SUR stands for one), which no UTF-8 column can hold.
case(
    "surrogate_title.json",
    api("孤立SURサロゲート", key="n000000000102").replace("SUR", "\\ud800").encode(),
    "article",
    "サロゲート",
)
case(
    "surrogate_body.json",
    api(body="<p>本文SURの孤立サロゲート</p>", key="n000000000103").replace("SUR", "\\udfff").encode(),
    "article",
    "の孤立サロゲート",
)
case(
    "huge_int.json",
    api("巨大な整数の記事", key="n000000000104")
    .replace('"key"', '"like_count": ' + "9" * 5000 + ', "key"')
    .encode(),
    "article",
    "巨大な整数の記事",
)


def _sidecar_bomb(d: Path) -> None:
    (d / "n000000000105.json").write_text(
        api("壊れたサイドカーの記事", key="n000000000105"), encoding="utf-8"
    )
    (d / "n000000000105.meta.json").write_text("[" * 100_000, encoding="utf-8")


def _sidecar_fifo(d: Path) -> None:
    (d / "n000000000106.json").write_text(
        api("FIFOのサイドカーの記事", key="n000000000106"), encoding="utf-8"
    )
    os.mkfifo(d / "n000000000106.meta.json")


case("n000000000105.json", _sidecar_bomb, "article", "壊れたサイドカーの記事")
case("n000000000106.json", _sidecar_fifo, "article", "FIFOのサイドカーの記事")
case(
    "far_future.json",
    api("遠い未来の記事", key="n000000000107", publish_at="9999-12-31T23:59:59-12:00").encode(),
    "article",
    "遠い未来の記事",
)
case(
    "ancient.json",
    api("大昔の記事", key="n000000000108", publish_at="0001-01-01T00:00:00+00:00").encode(),
    "article",
    "大昔の記事",
)
case(
    "junk_date.json",
    api("日付が文字の記事", key="n000000000109", publish_at="昨日").encode(),
    "article",
    "日付が文字の記事",
)
case(
    "nan_count.json",
    api("NaNの記事", key="n000000000110").replace('"key"', '"like_count": NaN, "key"').encode(),
    "article",
    "NaNの記事",
)
case(
    "json_bom.json",
    codecs.BOM_UTF8 + api("BOM付きJSONの記事", key="n000000000111").encode(),
    "article",
    "BOM付きJSONの記事",
)
case("json_array.json", b"[1, 2]", "parse_error", "array")
case("json_string.json", b'"hello"', "parse_error", "string")
case(
    "json_null_body.json",
    api(key="n000000000112").replace('"<p>本文です。</p>"', "null").encode(),
    "empty_article",
)
case(
    "json_number_body.json",
    api(key="n000000000113").replace('"<p>本文です。</p>"', "5").encode(),
    "parse_error",
    "data.body",
)
case("json_data_string.json", b'{"data": "x"}', "parse_error", "data")
case("json_missing_name.json", b'{"data": {"body": "<p>x</p>"}}', "parse_error", "data.name")
case("json_deep.json", b"[" * 100_000, "parse_error", "nested")
case("json_error_string.json", b'{"error": "boom"}', "parse_error", "boom")
case(
    "json_script_body.json",
    api(
        "スクリプト本文の記事", key="n000000000114", body="<script>alert(1)</script><p>本文です。</p>"
    ).encode(),
    "article",
    "スクリプト本文の記事",
)
case(
    "json_only_image.json",
    api(key="n000000000115", body='<figure><img src="x.png"></figure>').encode(),
    "empty_article",
)

# --- HTML pages ----------------------------------------------------------------------------


def _body(n: int) -> str:
    # Each page its own text: pages without a note key are identified by their body.
    return f'<div class="note-common-styles__textnote-body"><p>{n}番目の本文です。</p></div>'


case(
    "jsonld_surrogate.html",
    (
        '<html><head><script type="application/ld+json">{"headline": "見出し\\ud800",'
        ' "datePublished": "9999-12-31T23:59:59-12:00"}</script></head><body>'
        f"<h1 class=o-noteContentHeader__title>JSON-LDが壊れた記事</h1>{_body(1)}</body></html>"
    ).encode(),
    "article",
    "JSON-LDが壊れた記事",
)
case(
    "jsonld_deep.html",
    (
        '<html><head><script type="application/ld+json">'
        + "[" * 100_000
        + f"</script></head><body><h1 class=o-noteContentHeader__title>JSON-LDが深い記事</h1>{_body(2)}</body></html>"
    ).encode(),
    "article",
    "JSON-LDが深い記事",
)
case(
    "jsonld_huge_int.html",
    (
        '<html><head><script type="application/ld+json">{"wordCount": '
        + "9" * 5000
        + f"}}</script></head><body><h1 class=o-noteContentHeader__title>巨大な数のJSON-LD</h1>{_body(3)}</body></html>"
    ).encode(),
    "article",
    "巨大な数のJSON-LD",
)
case(
    "time_far_future.html",
    f'<html><body><h1 class=o-noteContentHeader__title>未来の日付の記事</h1><time datetime="9999-12-31T23:59:59-12:00">x</time>{_body(4)}</body></html>'.encode(),
    "article",
    "未来の日付の記事",
)
case("only_comments.html", b"<!-- nothing --><!-- here -->", "parse_error", "no content blocks")
case(
    "surrogate_entity.html",
    f"<html><body><h1 class=o-noteContentHeader__title>文字参照&#xD800;の記事</h1>{_body(5)}</body></html>".encode(),
    "article",
    "の記事",
)
case(
    "xml_declaration.html",
    f'<?xml version="1.0" encoding="UTF-8"?><html><body><h1 class=o-noteContentHeader__title>XML宣言の記事</h1>{_body(6)}</body></html>'.encode(),
    "article",
    "XML宣言の記事",
)
case(
    "cp932.html",
    f'<html><head><meta charset="shift_jis"></head><body><h1 class=o-noteContentHeader__title>シフトJISのページ</h1>{_body(7)}</body></html>'.encode(
        "cp932"
    ),
    "article",
    "シフトJISのページ",
)
case("unclosed.html", "<p>閉じていない段落の記事".encode(), "article", "閉じていない段落の記事")
case(
    "huge_attribute.html",
    f'<html><body><h1 class=o-noteContentHeader__title title="{"x" * 100_000}">長い属性の記事</h1>{_body(8)}</body></html>'.encode(),
    "article",
    "長い属性の記事",
)
case(
    "nested_lists.html",
    (
        "<html><body><h1 class=o-noteContentHeader__title>入れ子のリスト</h1>"
        + "<ul><li>項目" * 300
        + "</li></ul>" * 300
        + "</body></html>"
    ).encode(),
    "article",
    "入れ子のリスト",
)


@pytest.fixture(scope="module")
def matrix(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, RunSummary, Path]:
    raw = tmp_path_factory.mktemp("raw")
    shutil.copy(SEED, raw / SEED.name)
    for writer, _, _ in CASES.values():
        writer(raw)
    wh = tmp_path_factory.mktemp("wh")
    summary = run_local([str(raw)], str(wh), options=EtlOptions(max_bytes=MAX_BYTES))
    return raw, summary, wh


def test_matrix_has_at_least_80_cases() -> None:
    assert len(CASES) >= 80


@pytest.mark.parametrize("name", sorted(CASES))
def test_case_outcome(name: str, matrix: tuple[Path, RunSummary, Path]) -> None:
    raw, _, wh = matrix
    _, outcome, detail = CASES[name]
    path = str(raw / name)
    articles = pd.read_parquet(wh / "articles")
    rejects = pd.read_parquet(wh / "rejects")
    in_articles = articles[articles.source_path == path]
    in_rejects = rejects[rejects.source_path == path]
    assert len(in_articles) + len(in_rejects) == 1, f"{name} must be in exactly one of articles/rejects"
    if outcome == "article":
        assert len(in_articles) == 1, in_rejects.to_dict("records")
        if detail:
            segments = pd.read_parquet(wh / "segments")
            texts = segments[segments.article_id == in_articles.iloc[0].article_id].text.tolist()
            assert any(detail in t for t in texts), texts[:5]
    else:
        assert len(in_rejects) == 1, f"{name} was written as an article"
        row = in_rejects.iloc[0]
        assert row.error_type == outcome, row.error_message
        assert detail in row.error_message
        assert row.error_message.strip()


def test_good_inputs_written_and_counts_add_up(matrix: tuple[Path, RunSummary, Path]) -> None:
    raw, summary, wh = matrix
    articles = pd.read_parquet(wh / "articles")
    assert str(raw / SEED.name) in set(articles.source_path)
    assert (
        summary.inputs_seen == summary.articles_written + summary.articles_unchanged + summary.inputs_rejected
    )
    assert summary.inputs_seen == len(CASES) + 1
    segments = pd.read_parquet(wh / "segments")
    assert not segments.text.str.contains("alert").any()
    assert not segments.segment_id.duplicated().any()
    # No case is a defect of note-etl: every reject is typed.
    assert [r for r in summary.rejects if r.error_type.startswith("internal_error")] == []
    # Every input is in exactly one of the two tables, and nothing else is.
    rejects = pd.read_parquet(wh / "rejects")
    assert len(articles) + len(rejects) == summary.inputs_seen
    assert not (set(articles.source_path) & set(rejects.source_path))
    # Dates outside 1990 - now + 1 year are no dates.
    far = articles[
        articles.source_path.str.endswith(("far_future.json", "ancient.json", "time_far_future.html"))
    ]
    assert len(far) == 3 and far.published_at.isna().all()
    assert not articles.body.str.contains("root:x:0:0").any()  # /etc/passwd was not read


def test_directory_is_unreadable_as_a_file(tmp_path: Path) -> None:
    with pytest.raises(UnreadableInput, match="directory"):
        read_input(str(tmp_path))


def test_unreadable_file_permissions(tmp_path: Path) -> None:
    """A file the process may not read is a reject naming the reason, and the run goes on.

    Root reads any file, so as root the run drops the capabilities that allow it
    (util-linux ``setpriv``), which makes the kernel apply the mode bits again.
    """
    raw = tmp_path / "raw"
    raw.mkdir()
    secret = raw / "secret.txt"
    secret.write_text(article("読めない記事"), encoding="utf-8")
    secret.chmod(0o000)
    (raw / "ok.txt").write_text(article("読める記事"), encoding="utf-8")
    code = (
        "import sys, json; from etl.run import run_local; "
        "s = run_local([sys.argv[1]], sys.argv[2]); "
        "print(json.dumps([[r.source_path, r.error_type, r.error_message] for r in s.rejects]), s.articles_written)"
    )
    cmd = [sys.executable, "-c", code, str(raw), str(tmp_path / "wh")]
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        assert setpriv, "util-linux setpriv is needed to drop root's file-read override"
        cmd = [setpriv, "--bounding-set=-dac_override,-dac_read_search", *cmd]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    assert "secret.txt" in out and "unreadable" in out and "Permission denied" in out
    assert out.strip().endswith(" 1")
