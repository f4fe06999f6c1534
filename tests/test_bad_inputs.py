"""Every kind of bad input: a correct article or a reject that says what is wrong.

One run over a folder holding every case plus a good article: the good one is written,
every case ends in `articles` or `rejects`, and the run's counts add up.
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

from etl.errors import UnreadableInput
from etl.pipeline import EtlOptions
from etl.reading import read_input
from etl.run import RunSummary, run_local

from .conftest import SAMPLES, SEED

MAX_BYTES = 200_000


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


@pytest.fixture(scope="module")
def matrix(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, RunSummary, Path]:
    raw = tmp_path_factory.mktemp("raw")
    shutil.copy(SEED, raw / SEED.name)
    for writer, _, _ in CASES.values():
        writer(raw)
    wh = tmp_path_factory.mktemp("wh")
    summary = run_local([str(raw)], str(wh), options=EtlOptions(max_bytes=MAX_BYTES))
    return raw, summary, wh


def test_matrix_has_at_least_30_cases() -> None:
    assert len(CASES) >= 30


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
