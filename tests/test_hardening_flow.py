"""The flow itself on hostile inputs: it completes, and its artifacts hold text, not markup."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from prefect.testing.utilities import prefect_test_harness

from etl.flows.note_etl import note_etl


@pytest.fixture(scope="module", autouse=True)
def prefect_backend() -> Iterator[None]:
    with prefect_test_harness(server_startup_timeout=60):
        yield


def _article(title: str) -> str:
    return f"{title}\n\n広報部の高橋です。データの利活用について紹介します。\n"


def test_flow_survives_hostile_inputs_and_escapes_its_artifacts(tmp_path: Path) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    raw = tmp_path / "raw"
    raw.mkdir()
    # A name that is not UTF-8 failed the flow before any input was written.
    with open(os.fsencode(raw) + b"/caf\xe9.txt", "wb") as fh:
        fh.write(_article("名前がUTF-8でない記事").encode())
    os.mkfifo(raw / "y.txt")  # blocked the read forever
    os.symlink("/etc/passwd", raw / "passwd.txt")
    (raw / "hostile.txt").write_text(
        _article("<script>alert(1)</script><img src=x onerror=alert(2)> [x](javascript:alert(3)) a|b"),
        encoding="utf-8",
    )
    (raw / "broken|<b>x.json").write_text("{not json", encoding="utf-8")
    wh = tmp_path / "wh"
    result = note_etl(paths=[str(raw)], warehouse=str(wh))
    assert result["articles_written"] == 2 and result["inputs_rejected"] == 3, result

    articles = pd.read_parquet(wh / "articles")
    assert sorted(Path(p).name for p in articles.source_path) == ["caf\\xe9.txt", "hostile.txt"]
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[result["run_id"]]))
        )
    texts = {a.key: str(a.data) for a in artifacts}
    md = texts["note-etl-run-summary"]
    assert "alert(1)" in md  # the title is there, as text
    for key, text in texts.items():
        assert not re.search(r"<(script|img|b)\b", text), key
        assert not re.search(r"(?<!\\)\]\(javascript:", text), key
    reject_lines = [line for line in md.splitlines() if "parse" in line and line.startswith("|")]
    assert reject_lines and all(line.replace("\\|", "").count("|") == 4 for line in reject_lines)
