"""The tokeniser is safe to call from several threads at once (Prefect runs tasks in threads)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from etl.morph import _tokenize

from .conftest import SAMPLES, SEED


def test_threads_get_the_same_tokens_as_one_thread() -> None:
    texts = [SEED.read_text(encoding="utf-8")] + [
        p.read_text(encoding="utf-8") for p in sorted((SAMPLES / "text").glob("*.txt"))
    ]
    lines = [
        f"{line}{i}" for i, line in enumerate(line for t in texts for line in t.splitlines() if line.strip())
    ]
    _tokenize.cache_clear()
    expected = [_tokenize.__wrapped__(line) for line in lines]
    for _ in range(3):
        with ThreadPoolExecutor(4) as pool:
            got = list(pool.map(_tokenize.__wrapped__, lines * 4))
        assert got == expected * 4
