"""Prefect flows of note-etl: ``note_etl`` (raw/ to warehouse/)."""
