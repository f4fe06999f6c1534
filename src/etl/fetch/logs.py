"""The fetch's logger and the type of logger its functions accept (a Prefect run logger too)."""

from __future__ import annotations

import logging
from typing import Any

LogLike = logging.Logger | logging.LoggerAdapter[Any]

#: One logger for the whole package, under the name the module had before it was split.
log = logging.getLogger("etl.fetch")
