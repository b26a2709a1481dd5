"""The worker's daily backup (``[backup] enabled``): one a day after ``hour``, oldest pruned.

The worker's slow chores call ``tick()`` every few seconds; a due backup runs in a thread
of its own (``backup``), so the chores and the modem threads never wait for it. The day's
backup is known by its file name, so a restarted worker does not take a second one.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from gateway.app import Gateway
from gateway.backup import take_backup

logger = logging.getLogger(__name__)

NAME_FORMAT = "smsgw-%Y%m%d-%H%M%S.backup"
_NAME = re.compile(r"smsgw-(\d{8})-\d{6}\.backup")
# What a worker stopped mid-backup leaves: an encrypted, unfinished file.
_UNFINISHED = re.compile(r"\.smsgw-\d{8}-\d{6}\.backup\.[0-9a-f]+\.part")
RETRY_AFTER = timedelta(hours=1)


def backup_directory(gateway: Gateway) -> Path:
    configured = gateway.config.backup.directory
    return Path(configured) if configured else gateway.config.data_dir / "backups"


def daily_backups(directory: Path) -> list[Path]:
    """The daily backups in ``directory``, oldest first (names sort by time)."""
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if _NAME.fullmatch(p.name))


def prune(directory: Path, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` daily backups, and unfinished ones; other files
    are never touched. Called by the only thread that writes daily backups."""
    backups = daily_backups(directory)
    doomed = backups[: max(len(backups) - keep, 0)]
    doomed += [p for p in directory.iterdir() if _UNFINISHED.fullmatch(p.name)]
    for path in doomed:
        path.unlink(missing_ok=True)
    return doomed


class DailyBackups:
    def __init__(
        self, gateway: Gateway, now: Callable[[], datetime] = lambda: datetime.now().astimezone()
    ) -> None:
        self.gateway = gateway
        self._now = now
        self._failed_at: datetime | None = None
        self._thread: threading.Thread | None = None

    def due(self) -> bool:
        settings = self.gateway.config.backup
        if not settings.enabled or self.gateway.engine.dialect.name != "sqlite":
            return False
        if self._thread is not None and self._thread.is_alive():
            return False
        now = self._now()
        if now.hour < settings.hour:
            return False
        if self._failed_at is not None and now - self._failed_at < RETRY_AFTER:
            return False
        today = now.strftime("%Y%m%d")
        return not any(
            _NAME.fullmatch(p.name)[1] == today  # type: ignore[index]
            for p in daily_backups(backup_directory(self.gateway))
        )

    def tick(self) -> bool:
        """Start the day's backup in its own thread if it is due; True if started."""
        if not self.due():
            return False
        # A daemon: a stop need not wait for a backup; its plain temporary copy is removed
        # by the next backup if the process ends first.
        self._thread = threading.Thread(target=self.run_once, name="backup", daemon=True)
        self._thread.start()
        return True

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def run_once(self) -> Path | None:
        directory = backup_directory(self.gateway)
        now = self._now()
        try:
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            backup = take_backup(self.gateway, directory / now.strftime(NAME_FORMAT))
        except Exception as exc:  # the thread's boundary: logged, retried later
            # BackupError, a key file or disk problem: none of them quotes customer data.
            self._failed_at = now
            logger.warning("daily backup failed, trying again in an hour: %s", exc)
            return None
        self._failed_at = None
        removed = prune(directory, self.gateway.config.backup.keep)
        logger.info(
            "daily backup %s (%d bytes); %d old backup(s) removed",
            backup.path,
            backup.size,
            len(removed),
        )
        return backup.path
