"""Faults any command may meet, each with a message that says what to do and an exit status of
its own: the store written by another process (STORE_BUSY), no space left to write (DISK_FULL).
"""

from __future__ import annotations

import errno

from policykg.graph.store import StoreBusy

STORE_BUSY = 4
DISK_FULL = 5
_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EFBIG, errno.EDQUOT})
# How the libraries underneath say it when they give no errno (RocksDB, SQLite, tantivy).
_FULL_WORDS = ("no space left on device", "file too large", "disk quota exceeded",
               "database or disk is full")


def disk_full(error: BaseException) -> bool:
    """Whether an error, or one it was raised from, says that there is no room to write."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno in _FULL_ERRNOS:
            return True
        if any(words in str(seen).lower() for words in _FULL_WORDS):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def fault(error: BaseException) -> tuple[int, str] | None:
    """The exit status and message of a fault of this kind, or None for any other error."""
    if isinstance(error, StoreBusy):
        return STORE_BUSY, f"{error}; run this again once it has finished"
    if disk_full(error):
        return DISK_FULL, (f"no space left to write: {error}\nfree some space (or give policykg "
                           "a --home with room), then run the same command again: what was "
                           "written before stays whole, and a load or harvest goes on from it")
    return None
