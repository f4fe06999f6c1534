"""`note-etl topics suggest`: proposed taxonomy entries, grouped by co-occurrence, loadable after an edit."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow.dataset as ds
import pytest

from etl.analysis import EtlOptions
from etl.cli import main
from etl.errors import WarehouseError
from etl.run import run_local
from etl.taxonomy import load_taxonomy
from etl.topic_suggest import Suggestion, suggest_from_warehouse, suggest_topics, suggestions_yaml

from .conftest import SAMPLES, SEED


def test_phrases_that_share_articles_form_one_topic() -> None:
    docs = {
        "a": {"冷凍スープ": 1.0, "規格外野菜": 0.8, "通販": 0.2},
        "b": {"冷凍スープ": 0.9, "規格外野菜": 0.7},
        "c": {"朝市": 1.0, "漁港": 0.5},
        "d": {"朝市": 0.9, "漁港": 0.6},
        "e": {"通販": 1.0},
    }
    got = suggest_topics(docs, {}, {"a": "スープの話", "b": "野菜の話"})
    assert [s.keywords for s in got] == [("冷凍スープ", "規格外野菜"), ("朝市", "漁港"), ("通販",)]
    assert got[0].articles == (("a", "スープの話"), ("b", "野菜の話"))
    assert got[0].article_count == 2


def test_rare_everyday_covered_and_quantity_phrases_are_left_out() -> None:
    docs = {str(i): {"まち": 1.0, f"話題{i}": 0.9, "朝6時": 0.8, "GSS": 0.7} for i in range(4)}
    docs["0"]["移住"] = docs["1"]["移住"] = 0.5
    got = suggest_topics(docs, {}, {}, covered=frozenset({"GSS"}))
    # まち is in every article, 話題N in one each, 朝6時 a time, GSS already in the taxonomy.
    assert [s.keywords for s in got] == [("移住",)]
    assert suggest_topics(docs, {}, {}, min_articles=3, covered=frozenset({"GSS"})) == []


def test_yaml_is_a_taxonomy_file(tmp_path: Path) -> None:
    text = suggestions_yaml(
        [Suggestion("suggested_01", "冷凍: スープ", ("冷凍: スープ", '"野菜"'), (("a", "題 #1"),), 1)],
        source="wh",
    )
    path = tmp_path / "t.yaml"
    path.write_text(text, encoding="utf-8")
    tax = load_taxonomy(path)
    assert tax.get("suggested_01").keywords == ("冷凍: スープ", '"野菜"')
    empty = tmp_path / "empty.yaml"
    empty.write_text(suggestions_yaml([], source="wh"), encoding="utf-8")
    with pytest.raises(Exception, match="non-empty list"):
        load_taxonomy(empty)  # nothing to propose: the file says so and is not a taxonomy yet


@pytest.fixture(scope="module")
def samples_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    raw = tmp_path_factory.mktemp("raw")
    shutil.copy(SEED, raw / SEED.name)
    for path in [*(SAMPLES / "text").glob("*.txt"), *(SAMPLES / "cues" / "text").glob("*.txt")]:
        shutil.copy(path, raw / path.name)
    wh = tmp_path_factory.mktemp("wh")
    run_local([str(raw)], str(wh))
    return wh


def test_suggest_on_the_samples_names_what_they_share(samples_warehouse: Path) -> None:
    got = suggest_from_warehouse(str(samples_warehouse), load_taxonomy())
    assert 3 <= len(got) <= 15
    keywords = {k for s in got for k in s.keywords}
    # Two recruiting pieces share their selection steps; three samples are by one invented agency.
    assert "カジュアル面談" in keywords and "地域デジタル推進庁" in keywords
    # The seed's subjects are in the default taxonomy already, so they are not proposed again.
    assert not keywords & {"ガバメントクラウド", "デジタル庁", "政策データダッシュボード"}
    for s in got:
        assert s.article_count >= 2 and s.articles


def test_cli_yaml_loads_with_taxonomy_after_an_edit(
    samples_warehouse: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "suggested.yaml"
    assert main(["topics", "suggest", "--warehouse", str(samples_warehouse), "--out", str(out)]) == 0
    assert "proposed topics" in capsys.readouterr().out
    text = out.read_text(encoding="utf-8")
    assert load_taxonomy(out).ids  # loads as it is
    # The user's edit: rename the entry about casual interviews and add a keyword.
    block = next(b for b in text.split("\n\n") if "カジュアル面談" in b)
    old_id = next(line.split(": ")[1] for line in block.splitlines() if "- id:" in line)
    new_block = block.replace(f"- id: {old_id}\n", "- id: hiring_process\n").replace(
        "keywords: [", 'keywords: ["選考フロー", ', 1
    )
    edited = text.replace(block, new_block)
    out.write_text(edited, encoding="utf-8")
    tax = load_taxonomy(out)
    assert "選考フロー" in tax.get("hiring_process").keywords
    # A run with the edited file tags the articles with the new topic.
    wh = tmp_path / "wh"
    raw = tmp_path / "raw"
    raw.mkdir()
    shutil.copy(SAMPLES / "cues" / "text" / "07_recruit_faq.txt", raw)
    run_local([str(raw)], str(wh), options=EtlOptions(taxonomy_path=str(out)))
    rows = (
        ds.dataset(str(wh / "segment_topics"), format="parquet", partitioning="hive").to_table().to_pylist()
    )
    assert "hiring_process" in {r["topic_id"] for r in rows if r["dimension"] == "subject"}


def test_cli_without_keyphrases_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["topics", "suggest", "--warehouse", str(tmp_path / "none")]) == 1
    assert "no keyphrases yet" in capsys.readouterr().err
    with pytest.raises(WarehouseError):
        suggest_from_warehouse(str(tmp_path / "none"))
