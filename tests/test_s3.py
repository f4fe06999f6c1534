"""raw/ and the warehouse on S3: a local S3-compatible server (moto) started by the test."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import fsspec
import pandas as pd
import pytest
from moto.server import ThreadedMotoServer
from s3fs.utils import FileExpired

from etl.run import run_local
from etl.warehouse import PART_FILE

from .conftest import SAMPLES, SEED


@pytest.fixture(scope="module")
def s3(monkeypatch_module: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch_module.setenv(key, value)
    # fsspec's per-protocol defaults: every s3:// path of the pipeline goes to the test server.
    monkeypatch_module.setitem(
        fsspec.config.conf, "s3", {"endpoint_url": endpoint, "skip_instance_cache": True}
    )
    fs = fsspec.filesystem("s3")
    fs.mkdir("note-etl")
    fs.put(str(SEED), f"note-etl/raw/{SEED.name}")
    for name in ("qa_labeled.txt", "roundtable.txt"):
        fs.put(str(SAMPLES / "text" / name), f"note-etl/raw/{name}")
    yield {"endpoint_url": endpoint}
    server.stop()


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as mp:
        yield mp


def test_pipeline_reads_and_writes_s3(s3: dict[str, str]) -> None:
    summary = run_local(["s3://note-etl/raw"], "s3://note-etl/wh")
    assert (summary.inputs_seen, summary.articles_written, summary.inputs_rejected) == (3, 3, 0)
    segments = pd.read_parquet("s3://note-etl/wh/segments", storage_options=s3)
    assert set(segments.speaker_name.dropna()) >= {"井下", "堀井", "山田 花子", "伊藤"}
    articles = pd.read_parquet("s3://note-etl/wh/articles", storage_options=s3)
    assert articles.source_path.str.startswith("s3://note-etl/raw/").all()
    again = run_local(["s3://note-etl/raw"], "s3://note-etl/wh")
    assert again.articles_unchanged == 3 and again.articles_written == 0


def test_s3_commit_replaces_one_object_per_partition(s3: dict[str, str]) -> None:
    """Readers polling during a commit always see the old or the new table, never a mix."""
    fs = fsspec.filesystem("s3")
    run_local(["s3://note-etl/raw"], "s3://note-etl/wh")
    old = pd.read_parquet("s3://note-etl/wh/segments", storage_options=s3)
    seed_key = f"note-etl/raw/{SEED.name}"
    text = SEED.read_text(encoding="utf-8").replace(
        "井下です。", "井下です。本日はよろしくお願いします。\n\n追加の段落です。"
    )
    with fs.open(seed_key, "w", encoding="utf-8") as fh:
        fh.write(text)

    seen: list[int] = []
    errors: list[BaseException] = []
    expired: list[int] = []
    stop = threading.Event()

    def reader() -> None:
        reader_fs = fsspec.filesystem("s3", skip_instance_cache=True, endpoint_url=s3["endpoint_url"])
        while not stop.is_set():
            try:
                files = [
                    f
                    for f in reader_fs.find("note-etl/wh/segments")
                    if not f.rsplit("/", 1)[-1].startswith(".")
                ]
                assert all(f.endswith(PART_FILE) for f in files), files
                with reader_fs.open(files[0], "rb") as fh:
                    seen.append(len(pd.read_parquet(fh)))
            except FileExpired:
                # The object was replaced while this reader was part-way through it: s3fs
                # checks the ETag of every ranged read, so the reader learns it and reads
                # again instead of mixing bytes of two versions.
                expired.append(1)
            except BaseException as exc:
                errors.append(exc)
                return

    t = threading.Thread(target=reader)
    t.start()
    run_local(["s3://note-etl/raw"], "s3://note-etl/wh")
    stop.set()
    t.join()
    assert not errors, errors
    new = pd.read_parquet("s3://note-etl/wh/segments", storage_options=s3)
    assert len(new) == len(old) + 1  # one paragraph added
    assert seen and set(seen) <= {len(old), len(new)}
    assert not [f for f in fs.find("note-etl/wh") if ".tmp" in f]
