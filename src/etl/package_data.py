"""Files note-etl ships beside its code: the taxonomy, the view SQL, the default settings.

They live in the project's ``config/`` (``*.yaml``) and ``sql/`` (``*.sql``) folders, where
users read and edit them, and the wheel carries them as the package data ``etl/config/`` and
``etl/sql/`` (``pyproject.toml`` maps the folders). :func:`data_file` finds one either way:
inside the installed package first (read through :mod:`importlib.resources`), else in the
source checkout the package runs from. A user's own file always wins by being given as a
path; this module is only the default.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Final

from etl.errors import NoteEtlError

#: The folder of each kind of shipped file, by suffix (the same name in the wheel and the checkout).
FOLDERS: Final = {".yaml": "config", ".yml": "config", ".sql": "sql"}
#: The project folder when note-etl runs from a source checkout (``src/etl/`` two levels down).
_CHECKOUT: Final = Path(__file__).resolve().parents[2]


class PackageDataError(NoteEtlError):
    """A shipped file is missing: the installation is broken (not a user mistake)."""


def data_file(name: str) -> Path:
    """The path of a shipped data file such as ``topics.yaml`` or ``views.sql``.

    >>> data_file("topics.yaml").parts[-2:]
    ('config', 'topics.yaml')
    >>> data_file("views.sql").read_text(encoding="utf-8").count("CREATE OR REPLACE VIEW") > 4
    True
    >>> data_file("nope.yaml")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    etl.package_data.PackageDataError: note-etl ships no file config/nope.yaml (looked in ...); reinstall note-etl
    """
    folder = FOLDERS.get(Path(name).suffix)
    if folder is None or Path(name).name != name:
        raise ValueError(f"not a shipped data file name: {name!r} (expected *.yaml or *.sql)")
    # An installed wheel: etl/config/topics.yaml. Wheels install unpacked, so the
    # resource is a real file and callers may read it as a Path (error messages name it).
    installed = files("etl").joinpath(folder, name)
    if installed.is_file():
        return Path(str(installed))
    checkout = _CHECKOUT / folder / name
    if checkout.is_file():
        return checkout
    raise PackageDataError(
        f"note-etl ships no file {folder}/{name} (looked in {installed} and {checkout}); reinstall note-etl"
    )


__all__ = ["FOLDERS", "PackageDataError", "data_file"]
