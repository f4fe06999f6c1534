"""Encodings people really use, and inputs that are not text."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from etl.errors import DecodeError, InputTooLarge, UnreadableInput
from etl.reading import decode, read_input

TEXT = "見出し画像\n\nデジタル庁の魅力・特色について\n\n①データ利活用を進めています。"


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (TEXT.encode("utf-8"), "utf-8"),
        (codecs.BOM_UTF8 + TEXT.encode("utf-8"), "utf-8-sig"),
        (codecs.BOM_UTF16_LE + TEXT.encode("utf-16-le"), "utf-16"),
        (codecs.BOM_UTF16_BE + TEXT.encode("utf-16-be"), "utf-16"),
        (TEXT.encode("cp932"), "cp932"),
        (TEXT.replace("①", "1").encode("shift_jis"), "cp932"),
        (TEXT.replace("①", "1").encode("euc_jp"), "euc_jp"),
    ],
)
def test_decodes_real_encodings(data: bytes, encoding: str) -> None:
    text, used = decode(data)
    assert used == encoding
    assert "デジタル庁の魅力・特色について" in text


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3 binary",
        b"\x89PNG\r\n\x1a\n\x00\x00",
        b"a\x00b\x00c\x00" * 50,
        bytes(range(256)) * 4,
    ],
)
def test_binary_is_a_decode_error(data: bytes) -> None:
    with pytest.raises(DecodeError):
        decode(data)


def test_size_limit_and_unreadable(tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    big.write_bytes(b"a" * 2048)
    with pytest.raises(InputTooLarge, match=r"big\.txt"):
        read_input(str(big), max_bytes=1024)
    with pytest.raises(UnreadableInput, match="directory"):
        read_input(str(tmp_path))
    with pytest.raises(UnreadableInput, match=r"missing\.txt"):
        read_input(str(tmp_path / "missing.txt"))


def test_a_stray_nul_is_dropped() -> None:
    text, encoding = decode(("見出し\x00画像です。" + "本文です。" * 10).encode())
    assert "\x00" not in text and encoding == "utf-8"
