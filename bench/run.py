"""Benchmark note-etl on a generated corpus: throughput, stages, memory, overhead ratios.

One markdown table (printed, and written to ``<out>/bench-<MB>MB.md`` with the raw numbers
in ``.json``) for a corpus of ``--mb`` MB made by :mod:`make_corpus`:

- end to end, library (:func:`etl.run.run_local`) and Prefect flow (``etl.flows.note_etl``),
  with 1 and ``--workers`` processes: MB/s, articles/s, peak RSS;
- the unchanged rerun (rerun / full run) and the Prefect overhead (flow / library);
- the anchor on the same HTML pages: ``trafilatura.extract`` in one process, and
  note-etl / trafilatura; note-etl's own scaling with ``--workers``; page-text input;
- peak RSS on the whole corpus against its first 20 % (the 20 MB figure when ``--mb 100``);
- per stage (parse, classify + segment, speakers, topics, keyphrases, rows, validation,
  write), calling the stage functions directly on a slice of the corpus in this process.

Every end-to-end figure is measured in a child process of its own (``--child``), timing
only the call (not interpreter start-up or imports), and its peak RSS is that child's
own high-water mark (``VmHWM``; ``ru_maxrss`` where there is no /proc), so this
process's memory does not count. The flow child first runs an
empty flow so Prefect's temporary API server is up before the clock starts; that start-up
is reported in the notes. Ratios are the results: these machines are noisy, and a ratio
of two figures measured in the same run cancels most of the noise.

Example (what ``make bench`` runs)::

    python bench/run.py --mb 2            # about 1 minute on 2 cores
    python bench/run.py --mb 100          # the full figures (about 13 minutes)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_corpus import GENERATOR_VERSION, INPUT_FORMATS, make_corpus, read_manifest

ROOT: Final = Path(__file__).resolve().parents[1]
DEFAULT_OUT: Final = ROOT / "bench" / "out"
MB: Final = 1_000_000
RSS_PREFIX: Final = 0.2  # peak RSS is compared with the run on the first 20 % of the corpus
RSS_LIMIT_MB: Final = 1024

COLUMNS: Final = (
    "measurement",
    "input",
    "workers",
    "MB",
    "articles",
    "s",
    "MB/s",
    "articles/s",
    "peak RSS MB",
    "CPU/wall",
    "ratio",
    "target",
    "met",
)


@dataclass(slots=True)
class Row:
    """One line of the table. ``key`` is stable (tests and the JSON refer to it)."""

    key: str
    measurement: str
    input: str = ""
    workers: int | None = None
    mb: float | None = None
    articles: int | None = None
    seconds: float | None = None
    rss_mb: float | None = None
    cpu: float | None = None  # CPU seconds (all processes of the run) per wall second
    ratio: float | None = None
    target: str = ""
    met: str = ""
    note: str = ""

    @property
    def mb_per_s(self) -> float | None:
        return self.mb / self.seconds if self.mb and self.seconds else None

    @property
    def articles_per_s(self) -> float | None:
        return self.articles / self.seconds if self.articles and self.seconds else None

    def cells(self) -> list[str]:
        """The row's markdown cells, in :data:`COLUMNS` order.

        >>> Row("k", "m", "HTML", 1, 2.0, 10, 4.0).cells()[:8]
        ['m', 'HTML', '1', '2.00', '10', '4.00', '0.50', '2.5']
        """
        return [
            self.measurement,
            self.input,
            "" if self.workers is None else str(self.workers),
            _num(self.mb, 2),
            "" if self.articles is None else str(self.articles),
            _num(self.seconds, 2),
            _num(self.mb_per_s, 2),
            _num(self.articles_per_s, 1),
            _num(self.rss_mb, 0),
            _num(self.cpu, 2),
            _num(self.ratio, 3),
            self.target,
            self.met,
        ]


def _num(value: float | None, digits: int) -> str:
    return "" if value is None else f"{value:.{digits}f}"


@dataclass(slots=True)
class Report:
    """The benchmark's result: corpus facts, rows, notes; renders as markdown."""

    corpus: dict[str, Any]
    settings: dict[str, Any]
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def row(self, key: str) -> Row:
        return next(r for r in self.rows if r.key == key)

    def markdown(self) -> str:
        c, s = self.corpus, self.settings
        lines = [
            f"## note-etl benchmark: {c['mb']:.1f} MB, {c['articles']} articles",
            "",
            f"Corpus: seed {c['seed']}, {c['by_format']}; {s['cpus']} CPUs, Python {s['python']}, "
            f"batch size {s['batch_size']}, {s['date']}. MB = 10^6 bytes of input files.",
            "",
            "| " + " | ".join(COLUMNS) + " |",
            "|" + "|".join("---" for _ in COLUMNS) + "|",
        ]
        lines += ["| " + " | ".join(r.cells()) + " |" for r in self.rows]
        notes = [f"- {r.measurement}: {r.note}" for r in self.rows if r.note] + [f"- {n}" for n in self.notes]
        if notes:
            lines += ["", "Notes:", "", *notes]
        return "\n".join(lines) + "\n"

    def to_json(self) -> dict[str, Any]:
        rows = [asdict(r) | {"mb_per_s": r.mb_per_s, "articles_per_s": r.articles_per_s} for r in self.rows]
        return {"corpus": self.corpus, "settings": self.settings, "rows": rows, "notes": self.notes}


# -- Child processes: one measured configuration each ---------------------------------------


def _own_peak_kib(status: str) -> float | None:
    """The peak resident size in ``/proc/self/status`` (its ``VmHWM`` line, KiB), if any.

    >>> _own_peak_kib("Name:\\tpython\\nVmHWM:\\t  417600 kB\\nVmRSS:\\t 1 kB\\n")
    417600.0
    """
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return float(line.split()[1])
    return None


def _rss_mb() -> tuple[float, float]:
    """Peak RSS of this process and of its largest waited-for child, in MB (Linux: KiB units).

    This process's own figure is its memory's high-water mark (Linux: ``VmHWM``), not
    ``ru_maxrss``: Linux carries ``ru_maxrss`` over an exec, so a child started by a parent
    that once held 600 MB (generating the corpus) reported at least 600 MB itself.
    """
    scale = 1 / 1024 if sys.platform != "darwin" else 1 / 1024 / 1024
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale
    try:
        peak = _own_peak_kib(Path("/proc/self/status").read_text(encoding="utf-8"))
    except OSError:  # no /proc (macOS)
        peak = None
    if peak is not None:
        own = peak / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * scale
    return own, children


def _cpu_s() -> float:
    """CPU seconds used so far by this process and its waited-for children (pool workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _child_lib(run: Mapping[str, Any]) -> dict[str, Any]:
    from etl.run import run_local

    started = time.perf_counter()
    summary = run_local(
        run["paths"],
        run["warehouse"],
        workers=run["workers"],
        batch_size=run["batch_size"],
        full_refresh=run.get("full_refresh", False),
    )
    return {
        "seconds": time.perf_counter() - started,
        "inputs": summary.inputs_seen,
        "written": summary.articles_written,
        "unchanged": summary.articles_unchanged,
        "rejected": summary.inputs_rejected,
    }


def _child_flow(run: Mapping[str, Any]) -> dict[str, Any]:
    import inspect

    from etl.flows.note_etl import note_etl

    accepted = inspect.signature(note_etl.fn).parameters
    params: dict[str, Any] = {
        "paths": run["paths"],
        "warehouse": run["warehouse"],
        "batch_size": run["batch_size"],
        "full_refresh": run.get("full_refresh", False),
    }
    for name in ("workers", "dask_address"):
        if run.get(name) not in (None, 1) or (name == "workers" and name in accepted):
            if name not in accepted:
                return {"skipped": f"the flow has no {name!r} parameter"}
            params[name] = run[name]
    inside = (
        _time_note_etl_work() if params.get("workers", 1) == 1 and not params.get("dask_address") else None
    )
    started = time.perf_counter()
    result = note_etl(**params)
    return {
        "seconds": time.perf_counter() - started,
        "work_s": sum(inside) if inside is not None else None,
        "inputs": result["inputs_seen"],
        "written": result["articles_written"],
        "unchanged": result["articles_unchanged"],
        "rejected": result["inputs_rejected"],
    }


_WORK_SPENT: list[float] | None = None


def _time_note_etl_work() -> list[float]:
    """Time note-etl's own code inside the flow's tasks (not artifacts, not Prefect's engine).

    Returns the list the seconds are appended to, emptied for the next run (the functions
    are wrapped once per process). With one worker everything runs in this process, so
    flow wall time minus this is what Prefect itself costs, measured in the same run
    (unlike flow / library, which compares two runs minutes apart).
    """
    global _WORK_SPENT
    if _WORK_SPENT is not None:
        _WORK_SPENT.clear()
        return _WORK_SPENT
    import functools

    import etl.flows.note_etl as m

    spent: list[float] = []

    def timed(fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def call(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent.append(time.perf_counter() - started)

        return call

    for task_ in (m.discover_task, m.start_task, m.process_task, m.stage_task, m.report_task):
        task_.fn = timed(task_.fn)
    m._write_warehouse = timed(m._write_warehouse)  # type: ignore[assignment]
    _WORK_SPENT = spent
    return spent


def _child_trafilatura(run: Mapping[str, Any]) -> dict[str, Any]:
    import trafilatura

    extracted = 0
    started = time.perf_counter()
    for path in run["paths"]:
        text = Path(path).read_bytes().decode("utf-8")
        if trafilatura.extract(text):
            extracted += 1
    return {"seconds": time.perf_counter() - started, "inputs": len(run["paths"]), "written": extracted}


def _child_tokenizer(run: Mapping[str, Any]) -> dict[str, Any]:
    """MeCab alone (fugashi + unidic-lite, the tokenizer note-etl runs) over every line of
    the page texts: the physical limit of a run on them, measured on this machine."""
    import fugashi
    import unidic_lite

    dicdir = unidic_lite.DICDIR
    tagger = fugashi.GenericTagger(f'-d "{dicdir}" -r "{dicdir}/dicrc" -Owakati')
    lines = [
        line
        for path in run["paths"]
        for line in Path(path).read_bytes().decode("utf-8").split("\n")
        if line.strip()
    ]
    started = time.perf_counter()
    for line in lines:
        tagger.parse(line)
    return {
        "seconds": time.perf_counter() - started,
        "inputs": len(run["paths"]),
        "written": len(run["paths"]),
    }


def _child_prefect_warmup() -> float:
    from prefect import flow

    @flow(name="bench-warmup")
    def warmup() -> int:
        return 1

    started = time.perf_counter()
    warmup()
    return time.perf_counter() - started


_CHILD_KINDS: Final[dict[str, Callable[[Mapping[str, Any]], dict[str, Any]]]] = {
    "lib": _child_lib,
    "flow": _child_flow,
    "trafilatura": _child_trafilatura,
    "tokenizer": _child_tokenizer,
}


def child_main(spec_path: str) -> int:
    """Run the runs of one spec file in this process; write their results next to it.

    Peak RSS is read after each run; it is a high-water mark, so only the first run of a
    child has a figure of its own (later runs of the same child are reruns or ratios).
    """
    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    out: dict[str, Any] = {"runs": []}
    if spec["kind"] == "flow":
        out["startup_s"] = _child_prefect_warmup()
    for run in spec["runs"]:
        cpu_before = _cpu_s()
        result = _CHILD_KINDS[spec["kind"]](run)
        result["rss_mb"], result["rss_children_mb"] = _rss_mb()
        if result.get("seconds"):
            result["cpu"] = (_cpu_s() - cpu_before) / result["seconds"]
        result["load"] = os.getloadavg()[0]
        out["runs"].append(result)
    Path(spec["result"]).write_text(json.dumps(out), encoding="utf-8")
    return 0


def _child_env(out: Path) -> dict[str, str]:
    env = dict(os.environ)
    if not env.get("PREFECT_API_URL"):
        # Its own Prefect home: the bench's runs neither mix with `make run`'s history nor
        # wait on its SQLite database.
        env["PREFECT_HOME"] = str(out / "prefect-home")
    env.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    env.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    env.setdefault("DO_NOT_TRACK", "1")
    return env


def run_child(
    kind: str,
    runs: Sequence[Mapping[str, Any]],
    out: Path,
    *,
    repeat: int = 1,
    timeout: float | None = None,
) -> dict[str, Any]:
    """Measure ``runs`` in a fresh child process (``repeat`` children: median seconds, max RSS).

    Warehouses named in the runs are emptied before each child and removed after it. A
    child still running after ``timeout`` seconds is killed with its process group (the
    flow's Prefect server too), and the answer is ``{"timeout": timeout, "runs": []}``.
    """
    results: list[dict[str, Any]] = []
    for _ in range(max(repeat, 1)):
        for run in runs:
            if "warehouse" in run:
                shutil.rmtree(run["warehouse"], ignore_errors=True)
        with tempfile.TemporaryDirectory(dir=out) as tmp:
            spec_path, result_path = Path(tmp) / "spec.json", Path(tmp) / "result.json"
            spec_path.write_text(json.dumps({"kind": kind, "runs": list(runs), "result": str(result_path)}))
            proc = subprocess.Popen(
                [sys.executable, str(Path(__file__).resolve()), "--child", str(spec_path)],
                cwd=ROOT,
                env=_child_env(out),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
                start_new_session=True,  # its own process group, so a timeout ends all of it
            )
            try:
                _, stderr = proc.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.communicate()
                for run in runs:
                    if "warehouse" in run:
                        shutil.rmtree(run["warehouse"], ignore_errors=True)
                return {"timeout": timeout, "runs": []}
            if proc.returncode != 0 or not result_path.exists():
                raise RuntimeError(
                    f"benchmark child ({kind}) failed with {proc.returncode}:\n{stderr[-4000:]}"
                )
            results.append(json.loads(result_path.read_text(encoding="utf-8")))
        for run in runs:
            if "warehouse" in run:
                shutil.rmtree(run["warehouse"], ignore_errors=True)
    merged = results[0]
    for i, run in enumerate(merged["runs"]):
        if "seconds" in run:
            run["seconds_all"] = [r["runs"][i]["seconds"] for r in results]
            run["seconds"] = statistics.median(run["seconds_all"])
            run["rss_mb"] = max(r["runs"][i]["rss_mb"] for r in results)
            run["rss_children_mb"] = max(r["runs"][i]["rss_children_mb"] for r in results)
            run["cpu"] = statistics.median(r["runs"][i].get("cpu", 0.0) for r in results)
    if "startup_s" in merged:
        merged["startup_s"] = statistics.median(r["startup_s"] for r in results)
    return merged


# -- Stages, in this process ----------------------------------------------------------------


def _clear_caches() -> None:
    """Empty the memo caches (``functools.lru_cache``) of note-etl's modules.

    One-slot caches (the tokenizer itself, the schemas) hold what a run builds once and
    are kept; the others remember results for texts, and a second pass over the same
    texts must not find them there.
    """
    for name, module in list(sys.modules.items()):
        if name != "etl" and not name.startswith("etl."):
            continue
        for obj in list(vars(module).values()):
            info = getattr(obj, "cache_info", None)
            if callable(info) and getattr(obj, "__module__", None) == name and info().maxsize != 1:
                obj.cache_clear()


def stage_rows(paths: Sequence[Path], warehouse: Path, batch_size: int) -> list[Row]:
    """Time each stage of a real run on ``paths`` (one process, one worker).

    The run is :func:`etl.run.run_local` itself, with a :class:`etl.timing.Stopwatch` as its
    stage timer: the analyser and the run time their own stages, so nothing here copies
    the stage order. Rows: parse (read, decode, parser), classify + segment, speakers,
    topics (facets and subject keywords), keyphrases, rows and ids, validation, and write
    (building and checking the tables, staging, merging and re-scoring). ``ratio`` is each
    stage's share of the run's wall time.
    """
    from etl.run import run_local
    from etl.timing import Stopwatch

    size = sum(p.stat().st_size for p in paths) / MB
    shutil.rmtree(warehouse, ignore_errors=True)
    # A first article warms what a run builds once (imports, the tokenizer's dictionary).
    run_local([str(paths[0])], str(warehouse / "warm"))
    _clear_caches()
    watch = Stopwatch()
    started = time.perf_counter()
    run_local([str(p) for p in paths], str(warehouse / "run"), batch_size=batch_size, timer=watch)
    total = time.perf_counter() - started
    shutil.rmtree(warehouse, ignore_errors=True)
    s = watch.seconds
    t = {
        "parse": s["read"] + s["parse"],
        "segment": s["segment"],
        "speakers": s["speakers"],
        "tokens": s["tokens"],
        "topics": s["facets"] + s["subjects"],
        "keyphrases": s["keyphrases"],
        "rows": s["rows"],
        "validation": s["validation"],
        "write": s["tables"] + s["stage"] + s["finish"],
    }
    labels = {
        "parse": "stage: parse (read, decode, parser)",
        "segment": "stage: classify + segment",
        "speakers": "stage: speakers",
        "tokens": "stage: tokenise segments (shared by subjects and keyphrases)",
        "topics": "stage: topics (facets + subjects)",
        "keyphrases": "stage: keyphrases",
        "rows": "stage: rows and ids",
        "validation": "stage: validation, part of write",
        "write": "stage: write (tables, validation, stage, merge, re-score)",
    }
    n = len(paths)
    rows = [
        Row(f"stage_{k}", label, "slice, all formats", 1, size, n, t[k], ratio=t[k] / total)
        for k, label in labels.items()
    ]
    rows.append(
        Row("stage_total", "stages: the whole run", "slice, all formats", 1, size, n, total, ratio=1.0)
    )
    rows[0].note = (
        "stage rows: seconds on the slice, timed inside one library run by its stage timer; "
        "ratio = share of that run's wall time"
    )
    return rows


def ginza_row(paths: Sequence[Path]) -> Row:
    """GiNZA's full pipeline on ~1 MB of page text, when GiNZA is installed (it is optional)."""
    try:
        import spacy

        nlp = spacy.load("ja_ginza")
    except Exception as exc:  # not a dependency of note-etl: its absence is a note, not a failure
        return Row(
            "ginza",
            "anchor: GiNZA full pipeline",
            "page text, 1 MB slice",
            note=f"not run ({type(exc).__name__})",
        )
    texts: list[str] = []
    size = 0
    for p in paths:
        if size >= MB:
            break
        texts.append(p.read_text(encoding="utf-8"))
        size += p.stat().st_size
    started = time.perf_counter()
    for text in texts:
        nlp(text)
    return Row(
        "ginza",
        "anchor: GiNZA full pipeline",
        "page text, 1 MB slice",
        1,
        size / MB,
        len(texts),
        time.perf_counter() - started,
    )


# -- The benchmark -----------------------------------------------------------------------------


def ensure_corpus(out: Path, mb: float, seed: int) -> tuple[Path, list[Path]]:
    """The corpus folder for (mb, seed), generated unless an identical one is there."""
    folder = out / f"corpus-{mb:g}MB-seed{seed}"
    manifest = read_manifest(folder)
    same = (manifest or {}).get("generator_version") == GENERATOR_VERSION
    if manifest is not None and same and manifest.get("seed") == seed and manifest.get("total_mb") == mb:
        files = [folder / str(e["path"]) for e in manifest["files"]]
        sizes = [int(e["bytes"]) for e in manifest["files"]]
        if all(p.exists() and p.stat().st_size == n for p, n in zip(files, sizes, strict=True)):
            return folder, files
    return folder, make_corpus(folder, mb, seed=seed, formats=INPUT_FORMATS)


def _size_mb(paths: Sequence[Path]) -> float:
    return sum(p.stat().st_size for p in paths) / MB


def _check(ok: bool | None) -> str:
    return "—" if ok is None else ("yes" if ok else "**no**")


def flow_rows(
    folder: Path,
    wh: Path,
    out: Path,
    *,
    workers: int,
    batch_size: int,
    repeat: int,
    timeout: float | None,
    library: tuple[Mapping[str, Any], Mapping[str, Any]],
    mb: float,
    dask_address: str | None,
    log: Callable[[str], None],
) -> list[Row]:
    """The flow's rows: 1 worker (+ unchanged rerun) in one child, ``workers`` in another.

    ``library`` is the library's (1 worker, ``workers``) results, for the overhead ratios.
    """
    lib1, libw = library
    base: dict[str, Any] = {"paths": [str(folder)], "batch_size": batch_size}
    target = "≤ 1.10"
    rows: list[Row] = []
    flow_one: dict[str, Any] | None = None

    def unfinished(key: str, w: int | None, measurement: str = "end to end, Prefect flow") -> Row:
        return Row(
            key, measurement, "all formats", w, mb, note=f"not finished within the {timeout:.0f} s timeout"
        )

    log("flow: 1 worker, then the unchanged rerun")
    one = base | {"warehouse": str(wh / "flow-1"), "workers": 1}
    fl = run_child("flow", [one, one], out, repeat=repeat, timeout=timeout)
    if "timeout" in fl:
        rows.append(unfinished("flow_all_1", 1))
        rows.append(
            Row(
                "prefect_overhead_1",
                "Prefect overhead (flow / library)",
                "all formats",
                1,
                ratio=(timeout or 0) / lib1["seconds"],
                target=target,
                met=_check(False),
                note="a lower bound: the flow did not finish",
            )
        )
    else:
        ff, fr = fl["runs"]
        overhead = ff["seconds"] / lib1["seconds"]
        flow_one = ff
        rows += [
            Row(
                "flow_all_1",
                "end to end, Prefect flow",
                "all formats",
                1,
                mb,
                ff["written"],
                ff["seconds"],
                ff["rss_mb"],
                ff.get("cpu"),
                note=f"Prefect start-up before the clock (temporary API server + first flow): {fl['startup_s']:.1f} s",
            ),
            Row(
                "prefect_overhead_1",
                "Prefect overhead (flow / library)",
                "all formats",
                1,
                ratio=overhead,
                target=target,
                met=_check(overhead <= 1.10),
            ),
            Row(
                "prefect_own_1",
                "Prefect's own time in the flow run (flow / note-etl work in its tasks)",
                "all formats",
                1,
                seconds=ff["seconds"] - ff["work_s"] if ff.get("work_s") else None,
                ratio=ff["seconds"] / ff["work_s"] if ff.get("work_s") else None,
                note="both figures from the same run, so the machine's drift between runs does not count; "
                "the work includes the HTML report, which the library run does not draw",
            ),
            Row(
                "flow_rerun",
                "unchanged rerun, Prefect flow (rerun / full)",
                "all formats",
                1,
                mb,
                fr["unchanged"],
                fr["seconds"],
                cpu=fr.get("cpu"),
                ratio=fr["seconds"] / ff["seconds"],
            ),
        ]

    log(f"flow: {workers} workers")
    runs = [base | {"warehouse": str(wh / f"flow-{workers}"), "workers": workers}]
    if dask_address:
        runs.append(
            base | {"warehouse": str(wh / "flow-dask"), "workers": workers, "dask_address": dask_address}
        )
    fw_all = run_child("flow", runs, out, repeat=repeat, timeout=timeout)
    if "timeout" in fw_all:
        rows.append(unfinished("flow_all_w", workers))
        return rows
    fw = fw_all["runs"][0]
    if "skipped" in fw:
        rows.append(
            Row(
                "flow_all_w",
                "end to end, Prefect flow",
                "all formats",
                workers,
                note=f"not run: {fw['skipped']}",
            )
        )
    else:
        overhead = fw["seconds"] / libw["seconds"]
        rows += [
            Row(
                "flow_all_w",
                "end to end, Prefect flow",
                "all formats",
                workers,
                mb,
                fw["written"],
                fw["seconds"],
                fw["rss_mb"],
                fw.get("cpu"),
                note=_spreads({"flow_all_1": flow_one or {}, "flow_all_w": fw}),
            ),
            Row(
                "prefect_overhead_w",
                "Prefect overhead (flow / library)",
                "all formats",
                workers,
                ratio=overhead,
                target=target,
                met=_check(overhead <= 1.10),
                note=_per_run("flow / library per run", fw, libw),
            ),
        ]
        if flow_one is not None:
            speedup = flow_one["seconds"] / fw["seconds"]
            rows.append(
                Row(
                    "flow_speedup",
                    "end to end, Prefect flow (speed-up over 1 worker)",
                    "all formats",
                    workers,
                    ratio=speedup,
                    target="≥ 1.70" if workers == 2 else "",
                    met=_check(speedup >= 1.7) if workers == 2 else "",
                    note=_per_run("flow 1 worker / flow N workers per run", flow_one, fw),
                )
            )
    if dask_address:
        fd = fw_all["runs"][1]
        rows.append(
            Row(
                "flow_dask",
                "end to end, Prefect flow on Dask",
                "all formats",
                None,
                mb,
                fd.get("written"),
                fd.get("seconds"),
                note=fd.get("skipped", dask_address),
            )
        )
    return rows


def _per_run(label: str, a: Mapping[str, Any], b: Mapping[str, Any]) -> str:
    """``a``'s seconds over ``b``'s, run by run (the i-th repeat of each), when repeated.

    >>> _per_run("x", {"seconds_all": [2.0, 3.0]}, {"seconds_all": [1.0, 2.0]})
    'x: 2.00, 1.50'
    """
    xs, ys = a.get("seconds_all") or [], b.get("seconds_all") or []
    if len(xs) < 2 or len(xs) != len(ys):
        return ""
    return f"{label}: " + ", ".join(f"{x / y:.2f}" for x, y in zip(xs, ys, strict=True))


def _spreads(results: Mapping[str, Mapping[str, Any]]) -> str:
    """The min–max seconds of each repeated measurement, for the notes.

    >>> _spreads({"lib_all_1": {"seconds_all": [2.0, 2.5, 2.2]}})
    'spread over 3 runs (min–max s; the table shows medians): lib_all_1 2.00–2.50'
    """
    parts = [
        f"{key} {min(r['seconds_all']):.2f}–{max(r['seconds_all']):.2f}"
        for key, r in results.items()
        if len(r.get("seconds_all") or []) > 1
    ]
    if not parts:
        return ""
    n = max(len(r["seconds_all"]) for r in results.values() if r.get("seconds_all"))
    return f"spread over {n} runs (min–max s; the table shows medians): " + ", ".join(parts)


def run_benchmark(
    mb: float,
    *,
    seed: int = 0,
    workers: int = 2,
    batch_size: int = 50,
    out: Path = DEFAULT_OUT,
    flow: bool = True,
    stage_mb: float = 1.0,
    repeat: int = 1,
    dask_address: str | None = None,
    flow_timeout: float | None = None,
    log: Callable[[str], None] = lambda _: None,
) -> Report:
    """Generate (or reuse) the corpus, measure every configuration, return the report."""
    out.mkdir(parents=True, exist_ok=True)
    log(f"corpus: {mb:g} MB, seed {seed}")
    folder, files = ensure_corpus(out, mb, seed)
    by_ext: dict[str, list[Path]] = {".txt": [], ".html": [], ".json": []}
    for p in files:
        by_ext[p.suffix].append(p)
    html, text = by_ext[".html"], by_ext[".txt"]
    corpus: dict[str, Any] = {
        "path": str(folder),
        "seed": seed,
        "mb": _size_mb(files),
        "articles": len(files),
        "by_format": ", ".join(f"{len(v)} {k[1:]} ({_size_mb(v):.1f} MB)" for k, v in by_ext.items()),
    }
    settings = {
        "workers": workers,
        "batch_size": batch_size,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "repeat": repeat,
    }
    report = Report(corpus, settings)
    wh = out / "wh"
    all_mb = corpus["mb"]

    def lib(
        label: str, paths: Sequence[str], w: int, *, reruns: Sequence[Sequence[str]] = ()
    ) -> dict[str, Any]:
        """Measure a run on ``paths``, then reruns on the same warehouse (same child)."""
        log(f"library: {label}, {w} worker(s)")
        run = {"paths": list(paths), "warehouse": str(wh / label), "workers": w, "batch_size": batch_size}
        return run_child("lib", [run, *(run | {"paths": list(p)} for p in reruns)], out, repeat=repeat)

    # End to end, library: a full run, the unchanged rerun, and a rerun like a daily run's,
    # which finds one new article (a copy of the first page text with a line added).
    extra = out / "incremental" / "new-article.txt"
    extra.parent.mkdir(parents=True, exist_ok=True)
    extra.write_bytes((text or files)[0].read_bytes() + "\n追記: この記事は更新されました。\n".encode())
    lib1 = lib("all-1", [str(folder)], 1, reruns=[[str(folder)], [str(folder), str(extra)]])
    full1, rerun1, incr1 = lib1["runs"]
    libw = lib(f"all-{workers}", [str(folder)], workers)["runs"][0]
    report.rows += [
        Row(
            "lib_all_1",
            "end to end, library",
            "all formats",
            1,
            all_mb,
            full1["written"],
            full1["seconds"],
            full1["rss_mb"],
        ),
        Row(
            "lib_all_w",
            "end to end, library",
            "all formats",
            workers,
            all_mb,
            libw["written"],
            libw["seconds"],
            libw["rss_mb"],
            ratio=full1["seconds"] / libw["seconds"],
            target="≥ 1.80" if workers == 2 else "",
            met=_check(full1["seconds"] / libw["seconds"] >= 1.8) if workers == 2 else "",
            note="ratio = speed-up over 1 worker"
            + (
                f"; worker processes' peak RSS {libw['rss_children_mb']:.0f} MB"
                if libw["rss_children_mb"]
                else ""
            ),
        ),
    ]

    report.rows.append(
        Row(
            "lib_rerun",
            "unchanged rerun, library (rerun / full)",
            "all formats",
            1,
            all_mb,
            rerun1["unchanged"],
            rerun1["seconds"],
            ratio=rerun1["seconds"] / full1["seconds"],
            target="≤ 0.05",
            met=_check(rerun1["seconds"] / full1["seconds"] <= 0.05),
        )
    )
    report.rows.append(
        Row(
            "lib_incremental",
            "rerun with 1 new article, library (rerun / full)",
            "all formats",
            1,
            all_mb,
            incr1["written"],
            incr1["seconds"],
            ratio=incr1["seconds"] / full1["seconds"],
            note="what a daily run costs on a warehouse of this size: the rerun writes 1 article",
        )
    )

    # Anchors on the same HTML pages.
    html_mb = _size_mb(html)
    log("trafilatura on the HTML pages")
    tr = run_child("trafilatura", [{"paths": [str(p) for p in html]}], out, repeat=repeat)["runs"][0]
    h1 = lib("html-1", [str(folder / "html")], 1)["runs"][0]
    hw = lib(f"html-{workers}", [str(folder / "html")], workers)["runs"][0]
    vs_traf = (html_mb / h1["seconds"]) / (html_mb / tr["seconds"])
    report.rows += [
        Row(
            "trafilatura",
            "anchor: trafilatura.extract",
            "note HTML",
            1,
            html_mb,
            tr["inputs"],
            tr["seconds"],
            tr["rss_mb"],
        ),
        Row(
            "lib_html_1",
            "end to end, library (note-etl / trafilatura)",
            "note HTML",
            1,
            html_mb,
            h1["written"],
            h1["seconds"],
            h1["rss_mb"],
            ratio=vs_traf,
            target="≥ 0.60",
            met=_check(vs_traf >= 0.60),
        ),
        Row(
            "lib_html_w",
            "end to end, library (speed-up over 1 worker)",
            "note HTML",
            workers,
            html_mb,
            hw["written"],
            hw["seconds"],
            hw["rss_mb"],
            ratio=h1["seconds"] / hw["seconds"],
            target="≥ 1.80" if workers == 2 else "",
            met=_check(h1["seconds"] / hw["seconds"] >= 1.8) if workers == 2 else "",
        ),
    ]

    # Page-text input, and the tokenizer alone on it: the limit of a run, on this machine
    # today (absolute MB/s differ by a third between runs on these machines).
    text_mb = _size_mb(text)
    log("tokenizer alone on the page texts")
    tok = run_child("tokenizer", [{"paths": [str(p) for p in text]}], out, repeat=repeat)["runs"][0]
    t1 = lib("text-1", [str(folder / "text")], 1)["runs"][0]
    tw = lib(f"text-{workers}", [str(folder / "text")], workers)["runs"][0]
    report.rows += [
        Row(
            "tokenizer",
            "anchor: MeCab alone (fugashi + unidic-lite)",
            "page text",
            1,
            text_mb,
            tok["inputs"],
            tok["seconds"],
            tok["rss_mb"],
            note="every line of the page texts tokenised, nothing else: a run's physical limit",
        ),
        Row(
            "lib_text_1",
            "end to end, library",
            "page text",
            1,
            text_mb,
            t1["written"],
            t1["seconds"],
            t1["rss_mb"],
        ),
        Row(
            "lib_text_w",
            "end to end, library (speed-up over 1 worker)",
            "page text",
            workers,
            text_mb,
            tw["written"],
            tw["seconds"],
            tw["rss_mb"],
            ratio=t1["seconds"] / tw["seconds"],
            target="≥ 3 MB/s" if workers == 2 else "",
            met=_check(text_mb / tw["seconds"] >= 3) if workers == 2 else "",
            note=(
                f"MB/s = {tok['seconds'] / tw['seconds']:.3f} of the tokenizer alone in one process "
                f"({text_mb / tok['seconds']:.2f} MB/s)"
            ),
        ),
    ]

    # Memory: the whole corpus against its first 20 % (a prefix: the same first articles).
    prefix = files[: max(1, round(len(files) * RSS_PREFIX))]
    pr = lib("prefix-1", [str(p) for p in prefix], 1)["runs"][0]
    rss_ratio = full1["rss_mb"] / pr["rss_mb"]
    report.rows += [
        Row(
            "lib_prefix_1",
            "end to end, library, first 20 % of the corpus",
            "all formats",
            1,
            _size_mb(prefix),
            pr["written"],
            pr["seconds"],
            pr["rss_mb"],
        ),
        Row(
            "rss_ratio",
            "peak RSS: whole corpus / first 20 % (1 worker)",
            "all formats",
            1,
            rss_mb=full1["rss_mb"],
            ratio=rss_ratio,
            target=f"≤ {RSS_LIMIT_MB} MB, ratio ≤ 1.10",
            met=_check(full1["rss_mb"] <= RSS_LIMIT_MB and rss_ratio <= 1.1),
        ),
    ]

    results = {
        "lib_all_1": full1,
        "lib_all_w": libw,
        "lib_rerun": rerun1,
        "lib_incremental": incr1,
        "trafilatura": tr,
        "lib_html_1": h1,
    }
    results |= {"lib_html_w": hw, "tokenizer": tok, "lib_text_1": t1, "lib_text_w": tw, "lib_prefix_1": pr}
    for key, result in results.items():
        report.row(key).cpu = result.get("cpu")
    if spread := _spreads(results):
        report.notes.append(f"library {spread}")

    # Stages, in this process, on a slice (the first stage_mb MB of the corpus).
    slice_files: list[Path] = []
    size = 0
    for p in files:
        if size >= stage_mb * MB:
            break
        slice_files.append(p)
        size += p.stat().st_size
    log(f"stages on a {size / MB:.1f} MB slice")
    try:
        report.rows += stage_rows(slice_files, wh / "stages", batch_size)
    except Exception as exc:  # a library change mid-way must not cost the end-to-end figures
        report.rows.append(Row("stage_total", "stages", "slice, all formats", note=f"failed: {exc!r}"))
    report.rows.append(ginza_row(text))

    # End to end, Prefect flow (last: the slowest, and the one a timeout may cut short).
    if flow:
        report.rows += flow_rows(
            folder,
            wh,
            out,
            workers=workers,
            batch_size=batch_size,
            repeat=repeat,
            timeout=flow_timeout,
            library=(full1, libw),
            mb=all_mb,
            dask_address=dask_address,
            log=log,
        )

    report.notes += [
        "Seconds are wall time of the call alone in a fresh child process (peak RSS = that child's "
        "own VmHWM); ratios compare figures of this same run. CPU/wall is the CPU time of the run's "
        "processes per wall second: well under 1 per worker means the run waited (for the CPU, "
        "taken by other work on the machine, or for I/O).",
        "The Prefect flow also writes the HTML report and artifacts; the library run does not.",
    ]
    shutil.rmtree(wh, ignore_errors=True)
    return report


def profile_runs(folder: Path, out: Path, *, workers: int, batch_size: int, flow: bool = True) -> list[Path]:
    """pyinstrument profiles (text) of a library run with 1 and ``workers`` processes and of
    a flow run, on the corpus in ``folder``; written to ``<out>/profile-*.txt``.

    With workers, the profile is the main process's: what it waits for and what it does
    itself (unpickling results, committing) while the pool works.
    """
    from pyinstrument import Profiler

    from etl.run import run_local

    written: list[Path] = []

    def profiled(label: str, call: Callable[[str], object]) -> None:
        wh = out / "wh" / f"profile-{label}"
        shutil.rmtree(wh, ignore_errors=True)
        profiler = Profiler(interval=0.001)
        profiler.start()
        call(str(wh))
        profiler.stop()
        shutil.rmtree(wh, ignore_errors=True)
        path = out / f"profile-{label}.txt"
        path.write_text(profiler.output_text(unicode=True, color=False), encoding="utf-8")
        written.append(path)

    profiled("library-1", lambda wh: run_local([str(folder)], wh, workers=1, batch_size=batch_size))
    if workers > 1:
        profiled(
            f"library-{workers}",
            lambda wh: run_local([str(folder)], wh, workers=workers, batch_size=batch_size),
        )
    if flow:
        os.environ.update({k: v for k, v in _child_env(out).items() if k.startswith("PREFECT_")})
        from etl.flows.note_etl import note_etl

        _child_prefect_warmup()
        profiled("flow-1", lambda wh: note_etl(paths=[str(folder)], warehouse=wh, batch_size=batch_size))
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Benchmark note-etl on a generated corpus (see bench/README.md)."
    )
    parser.add_argument(
        "--mb",
        type=float,
        default=float(os.environ.get("BENCH_MB") or 2),
        help="corpus size in MB (default: $BENCH_MB or 2)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2, help="processes for the parallel rows (default 2)")
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help="corpus, warehouses and results (default bench/out)"
    )
    parser.add_argument(
        "--stage-mb", type=float, default=1.0, help="size of the slice the stages are timed on"
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="children per configuration; seconds are their median"
    )
    parser.add_argument("--no-flow", action="store_true", help="skip the Prefect flow rows")
    parser.add_argument(
        "--flow-timeout", type=float, help="give up on a flow child after this many seconds (its row says so)"
    )
    parser.add_argument(
        "--dask-address", help="also run the flow's batches on this Dask scheduler (tcp://...)"
    )
    parser.add_argument(
        "--json", type=Path, help="also write the raw numbers here (default <out>/bench-<MB>MB.json)"
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="instead of the table: pyinstrument profiles into <out>/profile-*.txt",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child_main(args.child)
    if args.profile:
        out = args.out.resolve()
        out.mkdir(parents=True, exist_ok=True)
        folder, _ = ensure_corpus(out, args.mb, args.seed)
        for path in profile_runs(
            folder, out, workers=args.workers, batch_size=args.batch_size, flow=not args.no_flow
        ):
            print(path)
        return 0
    started = time.perf_counter()
    report = run_benchmark(
        args.mb,
        seed=args.seed,
        workers=args.workers,
        batch_size=args.batch_size,
        out=args.out.resolve(),
        flow=not args.no_flow,
        stage_mb=args.stage_mb,
        repeat=args.repeat,
        dask_address=args.dask_address,
        flow_timeout=args.flow_timeout,
        log=lambda msg: print(
            f"[bench {time.perf_counter() - started:6.1f}s] {msg}", file=sys.stderr, flush=True
        ),
    )
    text = report.markdown()
    print(text)
    stem = args.out / f"bench-{args.mb:g}MB"
    Path(f"{stem}.md").write_text(text, encoding="utf-8")
    (args.json or Path(f"{stem}.json")).write_text(
        json.dumps(report.to_json(), indent=1, ensure_ascii=False), encoding="utf-8"
    )
    print(f"(written to {stem}.md/.json in {time.perf_counter() - started:.0f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
