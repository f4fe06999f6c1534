"""The pipeline's operating settings, from ``config/pipeline.yaml``.

What `note-etl serve` schedules and `note-etl fetch` fetches: the note accounts, where
raw/ and the warehouse are, the taxonomy, how politely to fetch, and the two deployments'
schedules. Loaded once into a frozen :class:`PipelineSettings`; every problem is a
:class:`SettingsError` naming the file and the key, so a typo never silently falls back
to a default.

Relative paths in the file are relative to ``root``, which is itself relative to the
file's folder (``config/pipeline.yaml`` says ``root: ..``: the project folder); without
``root``, to the file's folder. A copy of that file elsewhere keeps its ``root: ..``, so
``note-etl serve`` checks that every path exists and names the root it resolved when one
does not. The defaults shipped in the package have no project of their own: their paths
start at the current folder. Values with a ``scheme://`` (``s3://bucket/wh``) are fsspec
URIs and are kept as they are. No ``taxonomy`` means the shipped ``config/topics.yaml``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from etl.errors import NoteEtlError
from etl.fetch import FetchOptions, check_urlname

DEFAULT_CONFIG: Final = "config/pipeline.yaml"
DEPLOYMENT_NAMES: Final = ("fetch-and-process", "process-raw")
_TOP_KEYS: Final = frozenset(
    {"root", "accounts", "raw", "warehouse", "taxonomy", "batch_size", "fetch", "deployments"}
)
_SCHEDULE_KEYS: Final = frozenset({"cron", "interval_seconds", "timezone", "active", "full_refresh"})
_CRON_FIELD: Final = re.compile(r"^[0-9A-Za-z*/,\-?LW#]+$")


class SettingsError(NoteEtlError):
    """The settings file is missing or invalid; the message names the file and the key.

    >>> str(SettingsError("must be a list", path="config/pipeline.yaml", key="accounts"))
    'config/pipeline.yaml: accounts: must be a list'
    """

    def __init__(self, reason: str, *, path: str, key: str | None = None) -> None:
        self.reason = reason
        self.path = path
        self.key = key
        super().__init__(f"{path}: {key}: {reason}" if key else f"{path}: {reason}")


@dataclass(frozen=True, slots=True, kw_only=True)
class ScheduleSettings:
    """When one deployment runs: a cron expression or an interval, in a time zone.

    >>> ScheduleSettings(interval_seconds=900).describe()
    'every 900 s'
    """

    cron: str | None = None
    interval_seconds: float | None = None
    timezone: str = "Asia/Tokyo"
    #: False creates the deployment with its schedule paused (runs only when triggered).
    active: bool = True
    full_refresh: bool = False

    def __post_init__(self) -> None:
        if (self.cron is None) == (self.interval_seconds is None):
            raise ValueError("give exactly one of cron or interval_seconds")
        if self.interval_seconds is not None and self.interval_seconds <= 0:
            raise ValueError(f"interval_seconds must be positive, got {self.interval_seconds}")
        if self.cron is not None:
            parts = self.cron.split()
            if len(parts) not in (5, 6) or not all(_CRON_FIELD.match(p) for p in parts):
                raise ValueError(f"not a cron expression (5 fields such as '0 7 * * *'): {self.cron!r}")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {self.timezone!r}") from None

    def describe(self) -> str:
        """The schedule in words, for logs."""
        if self.cron is not None:
            return f"cron '{self.cron}' ({self.timezone})"
        return f"every {self.interval_seconds:g} s"


@dataclass(frozen=True, slots=True, kw_only=True)
class PipelineSettings:
    """Everything the scheduled deployments need, resolved and validated.

    >>> s = PipelineSettings(source="inline", raw="/data/raw", warehouse="s3://b/wh")
    >>> s.fetch.delay_seconds >= 1, s.schedules["process-raw"].describe()
    (True, 'every 3600 s')
    """

    source: str
    #: The folder relative paths started from, when the file set ``root`` (for messages).
    root: str | None = None
    accounts: tuple[str, ...] = ()
    raw: str = "raw"
    warehouse: str = "warehouse"
    taxonomy: str | None = None
    batch_size: int = 50
    fetch: FetchOptions = field(default_factory=FetchOptions)
    schedules: Mapping[str, ScheduleSettings] = field(
        default_factory=lambda: {
            "fetch-and-process": ScheduleSettings(cron="15 7 * * *"),
            "process-raw": ScheduleSettings(interval_seconds=3600),
        }
    )


def load_settings(
    path: str | os.PathLike[str] = DEFAULT_CONFIG, *, root: str | os.PathLike[str] | None = None
) -> PipelineSettings:
    """Read and validate a settings file.

    ``root``, when given, is where relative paths start instead of the file's own ``root``
    (the shipped defaults are read with the current folder as root).

    >>> import tempfile, os
    >>> d = tempfile.mkdtemp(); p = os.path.join(d, "pipeline.yaml")
    >>> _ = open(p, "w").write("accounts: [digital_jp]\\nwarehouse: wh\\n")
    >>> s = load_settings(p)
    >>> s.accounts, s.warehouse == os.path.join(d, "wh")
    (('digital_jp',), True)
    >>> _ = open(p, "w").write("acounts: [digital_jp]\\n")
    >>> load_settings(p)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    etl.settings.SettingsError: .../pipeline.yaml: acounts: unknown key (known: accounts, batch_size, ...
    """
    where = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise SettingsError(f"cannot read the settings file: {exc.strerror or exc}", path=where) from exc
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
        raise SettingsError(f"invalid YAML{at}: {getattr(exc, 'problem', exc)}", path=where) from exc
    if doc is None:
        doc = {}
    if not isinstance(doc, dict):
        raise SettingsError("the file must be a mapping of settings", path=where)
    if root is not None:
        doc = {**doc, "root": str(Path(root).resolve())}
    return settings_from_mapping(doc, path=where, base=Path(path).resolve().parent)


def settings_from_mapping(doc: Mapping[str, Any], *, path: str, base: Path) -> PipelineSettings:
    """Validate a parsed settings document; ``base`` is the folder relative paths start from.

    >>> settings_from_mapping({"batch_size": 0}, path="x.yaml", base=Path("/p"))
    Traceback (most recent call last):
    ...
    etl.settings.SettingsError: x.yaml: batch_size: must be a positive integer, got 0
    """
    for key in doc:
        if key not in _TOP_KEYS:
            raise SettingsError(
                f"unknown key (known: {', '.join(sorted(_TOP_KEYS))})", path=path, key=str(key)
            )
    root = base
    if "root" in doc:
        root = (base / _str(doc, "root", path)).resolve()

    def resolve(value: str) -> str:
        if "://" in value:
            return value
        p = Path(os.path.expanduser(value))
        return str(p if p.is_absolute() else (root / p).resolve())

    accounts_raw = doc.get("accounts") or []
    if not isinstance(accounts_raw, list) or not all(isinstance(a, str) for a in accounts_raw):
        raise SettingsError("must be a list of note account urlnames", path=path, key="accounts")
    for account in accounts_raw:
        try:
            check_urlname(account)
        except ValueError as exc:
            raise SettingsError(str(exc), path=path, key="accounts") from None

    batch_size = doc.get("batch_size", 50)
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
        raise SettingsError(f"must be a positive integer, got {batch_size!r}", path=path, key="batch_size")

    fetch_doc = doc.get("fetch") or {}
    if not isinstance(fetch_doc, dict):
        raise SettingsError("must be a mapping of fetch options", path=path, key="fetch")
    try:
        fetch = FetchOptions.from_mapping(fetch_doc)
    except (TypeError, ValueError) as exc:
        raise SettingsError(str(exc), path=path, key="fetch") from None

    schedules = dict(PipelineSettings(source=path).schedules)
    deployments = doc.get("deployments") or {}
    if not isinstance(deployments, dict):
        raise SettingsError("must be a mapping of deployment name to schedule", path=path, key="deployments")
    for name, spec in deployments.items():
        key = f"deployments.{name}"
        if name not in DEPLOYMENT_NAMES:
            raise SettingsError(
                f"unknown deployment (known: {', '.join(DEPLOYMENT_NAMES)})", path=path, key=key
            )
        if not isinstance(spec, dict):
            raise SettingsError("must be a mapping (cron or interval_seconds, timezone)", path=path, key=key)
        for k in spec:
            if k not in _SCHEDULE_KEYS:
                raise SettingsError(
                    f"unknown key {k!r} (known: {', '.join(sorted(_SCHEDULE_KEYS))})", path=path, key=key
                )
        try:
            schedules[name] = ScheduleSettings(**spec)
        except (TypeError, ValueError) as exc:
            raise SettingsError(str(exc), path=path, key=key) from None

    taxonomy = doc.get("taxonomy")
    return PipelineSettings(
        source=path,
        root=str(root) if "root" in doc else None,
        accounts=tuple(accounts_raw),
        raw=resolve(_str(doc, "raw", path, "raw")),
        warehouse=resolve(_str(doc, "warehouse", path, "warehouse")),
        taxonomy=resolve(_str(doc, "taxonomy", path)) if taxonomy is not None else None,
        batch_size=batch_size,
        fetch=fetch,
        schedules=schedules,
    )


def _str(doc: Mapping[str, Any], key: str, path: str, default: str | None = None) -> str:
    value = doc.get(key, default)
    if not isinstance(value, str) or not value.strip():
        raise SettingsError(f"must be a non-empty string, got {value!r}", path=path, key=key)
    return value.strip()
