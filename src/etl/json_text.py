"""JSON from inputs, made safe to store: no lone surrogates, no integers too long to use.

``json.loads`` accepts ``"\\ud800"`` (a lone surrogate, which no UTF-8 column can hold) and
integers of any length (Python refuses to make one of more than 4,300 digits, raising a
bare ``ValueError``). Inputs are data, so both are repaired here rather than allowed to
fail an article far from the cause.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

#: Digits of the longest integer kept; longer ones (no count or id is that long) become None.
MAX_INT_DIGITS: Final = 30
_SURROGATE: Final = re.compile("[\ud800-\udfff]")
# A \u escape of a surrogate half; only texts holding one need the walk below.
_SURROGATE_ESCAPE: Final = re.compile(r"\\u[dD][89a-fA-F]")


def _int(digits: str) -> int | None:
    return int(digits) if len(digits.lstrip("-")) <= MAX_INT_DIGITS else None


def valid_text(text: str) -> str:
    """``text`` with every lone surrogate replaced by U+FFFD.

    >>> valid_text("a\\ud800b")
    'a\\ufffdb'
    """
    return _SURROGATE.sub("\ufffd", text)


def loads(text: str) -> Any:
    """Parse JSON text like ``json.loads``, with lone surrogates replaced (keys and values)
    and integers of more than :data:`MAX_INT_DIGITS` digits read as ``None``.

    Raises what ``json.loads`` raises for invalid JSON (``ValueError``, ``RecursionError``).

    >>> loads('{"t": "\\\\ud800x", "n": ' + "9" * 40 + "}")
    {'t': '\\ufffdx', 'n': None}
    """
    value = json.loads(text, parse_int=_int)
    if not _SURROGATE_ESCAPE.search(text):
        return value
    # Iterative: a document nested close to the parser's limit must not overflow here.
    root = [value]
    stack: list[Any] = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            for i, item in enumerate(node):
                if isinstance(item, str):
                    node[i] = valid_text(item)
                elif isinstance(item, (list, dict)):
                    stack.append(item)
        else:
            for key in list(node):
                item = node[key]
                if isinstance(key, str) and _SURROGATE.search(key):
                    del node[key]
                    key = valid_text(key)
                if isinstance(item, str):
                    item = valid_text(item)
                elif isinstance(item, (list, dict)):
                    stack.append(item)
                node[key] = item
    return root[0]


__all__ = ["MAX_INT_DIGITS", "loads", "valid_text"]
