"""outagewatch: a standard-library client of outagewatch's health signal.

    from outagewatch import Watcher, fallback
    with Watcher("http://127.0.0.1:9317") as w:
        if w.usable("anthropic", "claude-sonnet-4-5"): ...
"""

from .fallback import NoUsableProvider, fallback
from .watcher import DEGRADED, DOWN, HEALTHY, UNKNOWN, Watcher

__all__ = ["Watcher", "fallback", "NoUsableProvider", "HEALTHY", "DEGRADED", "DOWN", "UNKNOWN"]
__version__ = "0.1.0"
