"""Upkeep of the store: its schema version and migrations, backup and restore.

Face: ``SCHEMA_VERSION``, ``ensure_current`` and ``stored_version`` (schema),
``backup``, ``restore`` and ``BackupError`` (portable JSON-lines backups).
"""

from .backups import BackupError, backup, restore
from .schema import SCHEMA_VERSION, ensure_current, stored_version

__all__ = ["SCHEMA_VERSION", "BackupError", "backup", "ensure_current", "restore",
           "stored_version"]
