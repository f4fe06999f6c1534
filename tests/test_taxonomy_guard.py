"""The time limits on user patterns judge CPU time, so a busy machine changes no result.

A thread the machine keeps waiting is simulated, not awaited: :class:`Stalled` wraps a
compiled regex and, like the ``regex`` module's wall clock on a thread that got no CPU,
stops every search whose wall-clock limit is below its stall, having done no work.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import regex
from hypothesis import given, settings
from hypothesis import strategies as st

import etl.facet_config
from etl.analysis import Analyzer, EtlOptions
from etl.errors import TaxonomyError
from etl.facet_config import DEFAULT_FACETS_PATH, _load
from etl.taxonomy import MATCH_TIMEOUT, PROBE_TIMEOUT, GuardedPattern, PatternTimeout, _within, load_taxonomy

from .conftest import SAMPLES, taxonomy_with_pattern

_COMPILE = regex.compile


class Stalled:
    """A compiled regex on a thread kept waiting ``stall`` seconds at each search (and, in
    ``finditer``, at each step from step ``after`` on), then given the whole CPU."""

    def __init__(self, compiled: Any, stall: float, after: int = 0) -> None:
        self.compiled, self.stall, self.after = compiled, stall, after
        self.stopped = 0  # searches the wall clock stopped

    def _left(self, timeout: float | None) -> float | None:
        """The wall-clock time left for the search once the wait is over (or a stop)."""
        if timeout is None:
            return None
        if timeout <= self.stall:
            self.stopped += 1
            raise TimeoutError("regex timed out")
        return timeout - self.stall

    def search(self, text: str, timeout: float | None = None) -> Any:
        return self.compiled.search(text, timeout=self._left(timeout))

    def fullmatch(self, text: str, timeout: float | None = None) -> Any:
        return self.compiled.fullmatch(text, timeout=self._left(timeout))

    def finditer(self, text: str, timeout: float | None = None) -> Iterator[Any]:
        left = timeout if timeout is None or timeout <= self.stall else timeout - self.stall
        step = 0
        for m in self.compiled.finditer(text, timeout=left):
            if step >= self.after:
                self._left(timeout)
            yield m
            step += 1
        if step >= self.after:
            self._left(timeout)  # the step that finds there is no further match


def stalled(source: str, stall: float, after: int = 0, timeout: float = MATCH_TIMEOUT) -> GuardedPattern:
    pattern = GuardedPattern(source, "topics.yaml:8: topic 'slow'", timeout)
    object.__setattr__(pattern, "_compiled", Stalled(pattern._compiled, stall, after))
    return pattern


def _stall_compiles(mp: pytest.MonkeyPatch, stall: float) -> list[Stalled]:
    """From here on, every regex compiled runs on a thread kept waiting ``stall`` s per search."""
    made: list[Stalled] = []

    def compile_stalled(source: str, flags: int = 0) -> Stalled:
        made.append(Stalled(_COMPILE(source, flags=flags), stall))
        return made[-1]

    mp.setattr(regex, "compile", compile_stalled)
    etl.facet_config._load_cached.cache_clear()
    return made


@pytest.fixture
def busy(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Stalled]]:
    """Probes kept waiting ten times their limit: without the CPU clock all would fail."""
    yield _stall_compiles(monkeypatch, 10 * PROBE_TIMEOUT)
    monkeypatch.undo()
    etl.facet_config._load_cached.cache_clear()


def test_a_busy_machine_refuses_no_shipped_pattern(
    busy: list[Stalled], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The shipped files load, and load the same, when every probe is kept waiting."""
    tax, facets = load_taxonomy(), _load(DEFAULT_FACETS_PATH, explicit=False)
    assert sum(s.stopped for s in busy) > 100  # the wall clock stopped the probes
    busy_patterns = [p._compiled for t in tax.topics for p in t.patterns]
    assert all(isinstance(c, Stalled) for c in busy_patterns)
    monkeypatch.undo()
    assert tax == load_taxonomy()
    assert facets == _load(DEFAULT_FACETS_PATH, explicit=False)


@pytest.mark.parametrize("pattern", ["(a|aa)+$", "(x+x+)+y", "(\\d+)*[a-z]$", "^(\\w+\\s?)+$"])
@pytest.mark.parametrize("load", ["idle", "busy"])
def test_a_catastrophic_pattern_is_refused_quickly_however_busy(
    tmp_path: Path, pattern: str, load: str, request: pytest.FixtureRequest
) -> None:
    if load == "busy":
        request.getfixturevalue("busy")
    path = taxonomy_with_pattern(tmp_path, pattern)
    start = time.thread_time()
    with pytest.raises(TaxonomyError) as caught:
        load_taxonomy(path)
    assert time.thread_time() - start < 40 * PROBE_TIMEOUT
    assert str(caught.value).startswith(
        f"{path}:8: topic 'slow': regex {pattern!r} in patterns backtracks catastrophically "
        f"(over {PROBE_TIMEOUT:g} s on "
    )


def test_a_busy_machine_changes_no_table() -> None:
    """Every search of every pattern kept waiting past its limit: the rows are the same."""
    paths = sorted((SAMPLES / "text").glob("*.txt"))[:3] + sorted((SAMPLES / "json").glob("*.json"))[:2]
    assert paths

    def rows(analyzer: Analyzer) -> list[dict[str, list[Any]]]:
        out = [analyzer.process_bytes(str(p), p.read_bytes()).tables for p in paths]
        for tables in out:  # the clock of the analysis, not its result
            for row in tables["articles"]:
                row.pop("processed_at")
        return out

    etl.facet_config._load_cached.cache_clear()
    idle = rows(Analyzer(EtlOptions()))
    with pytest.MonkeyPatch.context() as mp:
        # Longer than MATCH_TIMEOUT: every search of an article is stopped by the wall clock.
        made = _stall_compiles(mp, 2.5 * MATCH_TIMEOUT)
        etl.facet_config._load_cached.cache_clear()
        try:
            analyzer = Analyzer(EtlOptions())
            etl.facet_config.load_facet_config()
            mp.undo()  # what is compiled stays stalled; the rest of the run compiles as usual
            before = sum(s.stopped for s in made)
            busy = rows(analyzer)
        finally:
            etl.facet_config._load_cached.cache_clear()
    assert sum(s.stopped for s in made) > before  # searches of the articles were stopped too
    assert busy == idle


PATTERNS = ["a+", "x*", "(?=a)", "b|ab", "(?i)A.b", "^a", "a$", "\\bab", "(?<=a)b", "a{2,}"]


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(PATTERNS),
    st.text(alphabet="abx \n", max_size=12),
    st.integers(min_value=0, max_value=6),
)
def test_a_stalled_search_finds_what_the_plain_regex_finds(source: str, text: str, after: int) -> None:
    plain = regex.compile(source, flags=regex.VERSION0)
    pattern = stalled(source, stall=2.5 * MATCH_TIMEOUT, after=after)

    def spans(found: Iterator[Any]) -> list[tuple[tuple[int, int], str]]:
        return [(m.span(), m.group(0)) for m in found]

    assert spans(pattern.finditer(text)) == spans(plain.finditer(text))
    found, want = pattern.search(text), plain.search(text)
    assert (found and found.span()) == (want and want.span())
    found, want = pattern.fullmatch(text), plain.fullmatch(text)
    assert (found and found.span()) == (want and want.span())


def test_a_pattern_that_backtracks_on_one_text_still_fails_it_when_busy() -> None:
    """Stopped by the wall clock, run again by the CPU clock: it still needs too long."""
    for pattern in (
        GuardedPattern("(x+x+)+y", "t", timeout=0.2),
        stalled("(x+x+)+y", stall=0.3, timeout=0.2),
    ):
        start = time.thread_time()
        with pytest.raises(PatternTimeout, match=r"regex '\(x\+x\+\)\+y' took over 0\.2 s"):
            pattern.search("x" * 3000)
        with pytest.raises(PatternTimeout):
            list(pattern.finditer("x" * 3000))
        assert time.thread_time() - start < 3.0


def _burn(seconds: float) -> None:
    start = time.thread_time()
    while time.thread_time() - start < seconds:
        pass


def _needs(cpu: float) -> Any:
    """A search that needs ``cpu`` seconds of CPU time (and gets all of it)."""

    def search(timeout: float) -> str:
        if timeout < cpu:
            _burn(timeout)
            raise TimeoutError("regex timed out")
        _burn(cpu)
        return "found"

    return search


def test_a_search_over_the_limit_fails_though_a_longer_wall_limit_lets_it_finish() -> None:
    """The retry has a longer wall-clock limit; CPU time past the limit still fails it."""
    assert _within(_needs(0.01), 0.05) == "found"
    with pytest.raises(TimeoutError):
        _within(_needs(0.08), 0.05)  # stopped at 0.05, then finishes at 0.08 under 0.1


def test_a_thread_kept_waiting_is_given_time_until_it_has_used_its_cpu() -> None:
    """Each try stopped with no CPU used: the wall-clock limit doubles until one finishes."""
    limits: list[float] = []

    def search(timeout: float) -> str:
        limits.append(timeout)
        if timeout < 1.0:
            raise TimeoutError("regex timed out")  # kept waiting: no CPU used
        return "found"

    assert _within(search, 0.05) == "found"
    assert limits == [0.05, 0.1, 0.2, 0.4, 0.8, 1.6]
