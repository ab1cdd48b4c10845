"""fallback: call the first usable provider, and the next when it fails while down."""

from __future__ import annotations

import inspect
import itertools
import time
from typing import Any, Callable, Iterable, List, Optional, Sequence, Tuple

Candidate = Tuple[str, str, Callable[..., Any]]


class NoUsableProvider(Exception):
    """No candidate was usable, or every usable one failed while the watcher said it was down.
    .attempts lists (provider, model, exception or None when skipped as unusable)."""

    def __init__(self, attempts: List[Tuple[str, str, Optional[BaseException]]]):
        self.attempts = attempts
        tried = ", ".join(
            f"{p}/{m}: {'unusable' if e is None else type(e).__name__ + ': ' + str(e)}"
            for p, m, e in attempts) or "no candidates"
        super().__init__(f"no usable provider ({tried})")


def fallback(watcher, candidates: Sequence[Candidate], *args: Any, settle: float = 0.0,
             **kwargs: Any) -> Any:
    """Calls fn(*args, **kwargs) of the first candidate (provider, model, fn) that watcher
    says is usable, and returns its result.

    When fn raises before any output, and the watcher now says that series is unusable (within
    settle seconds, for an outage the watcher has not seen yet), the next usable candidate is
    tried; an exception while the series stays usable is the caller's, and is raised as is.
    A result that is a generator is output only once it yields: its first item is taken here,
    so a stream that fails before its first chunk falls back too; after that, its exceptions
    are the caller's.
    """
    attempts: List[Tuple[str, str, Optional[BaseException]]] = []
    for provider, model, fn in candidates:
        if not watcher.usable(provider, model):
            attempts.append((provider, model, None))
            continue
        try:
            result = fn(*args, **kwargs)
            if inspect.isgenerator(result):
                try:
                    first = next(result)
                except StopIteration:
                    return iter(())
                return itertools.chain((first,), result)
            return result
        except Exception as e:  # noqa: BLE001 - decided below
            if not _says_down(watcher, provider, model, settle):
                raise
            attempts.append((provider, model, e))
    last = next((e for _, _, e in reversed(attempts) if e is not None), None)
    raise NoUsableProvider(attempts) from last


def _says_down(watcher, provider: str, model: str, settle: float) -> bool:
    deadline = time.monotonic() + settle
    while True:
        if not watcher.usable(provider, model):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))
