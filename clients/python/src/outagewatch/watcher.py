"""Watcher: follows outagewatch's health signal in a background thread.

It mirrors the Go client (health/client): until the first answer every series is unknown
(usable unless fail_unknown); a lost daemon keeps the last answer, and staleness() says how
old it is; the thread reconnects with an exponential, jittered backoff.
"""

from __future__ import annotations

import http.client
import json
import logging
import random
import socket
import threading
import time
import urllib.parse
from typing import Dict, Optional, Tuple

HEALTHY, DEGRADED, DOWN, UNKNOWN = "healthy", "degraded", "down", "unknown"

_MAX_WAIT = 300.0  # the longest long-poll the server grants
_GRACE = 10.0  # how late an answer may come after its wait
_HEARTBEAT = 15.0  # the stream's heartbeat interval (docs/health-api.md)
_SSE_RETRY = 300.0  # in long-poll mode, how often to try the stream again
_MAX_LINE = 16 << 20

log = logging.getLogger("outagewatch")


class _Policy:
    def __init__(self, fail_degraded: bool, fail_unknown: bool):
        self.fail_degraded = fail_degraded
        self.fail_unknown = fail_unknown

    def usable(self, state: str) -> bool:
        if state == DOWN:
            return False
        if state == DEGRADED:
            return not self.fail_degraded
        if state == HEALTHY:
            return True
        return not self.fail_unknown  # unknown, or a state this client does not know


def _effective(model_state: str, provider_state: str) -> str:
    """A model without evidence of its own takes its provider's state when degraded or down."""
    if model_state == UNKNOWN and provider_state in (DEGRADED, DOWN):
        return provider_state
    return model_state


class _Cache:
    """The answer held: provider -> state, (provider, model) -> (state, usable). Replaced or
    updated under a lock; readers take the same lock (a dict lookup)."""

    def __init__(self, policy: _Policy):
        self.policy = policy
        self.lock = threading.Lock()
        self.version = 0
        self.providers: Dict[str, str] = {}
        self.models: Dict[Tuple[str, str], Tuple[str, bool]] = {}

    def replace(self, report: dict) -> None:
        providers: Dict[str, str] = {}
        models: Dict[Tuple[str, str], Tuple[str, bool]] = {}
        for p in report.get("providers") or []:
            name = p.get("provider", "")
            pstate = p.get("state") or UNKNOWN
            providers[name] = pstate
            for m in p.get("models") or []:
                state = _effective(m.get("state") or UNKNOWN, pstate)
                usable = m.get("usable")
                if not isinstance(usable, bool):
                    usable = self.policy.usable(state)
                models[(name, m.get("model", ""))] = (state, usable)
        with self.lock:
            self.version = int(report.get("version") or 0)
            self.providers, self.models = providers, models

    def change(self, ev: dict) -> None:
        """Applies a stream's change event: the series' own new state, and the usable the
        server computed for it."""
        provider, model, to = ev.get("provider", ""), ev.get("model", ""), ev.get("to") or UNKNOWN
        with self.lock:
            self.version = max(self.version, int(ev.get("version") or 0))
            if model == "":
                self.providers[provider] = to
                return
            pstate = self.providers.get(provider, UNKNOWN)
            state = _effective(to, pstate)
            usable = ev.get("usable")
            if not isinstance(usable, bool):
                usable = self.policy.usable(state)
            self.models[(provider, model)] = (state, usable)
            self.providers.setdefault(provider, UNKNOWN)

    def lookup(self, provider: str, model: str) -> Tuple[str, bool, bool]:
        """(effective state, usable, known) of a series; model "" is the provider."""
        with self.lock:
            if model:
                m = self.models.get((provider, model))
                if m is not None:
                    return m[0], m[1], True
            p = self.providers.get(provider)
        if p is None:
            return UNKNOWN, self.policy.usable(UNKNOWN), False
        if not model:
            return p, self.policy.usable(p), True
        state = _effective(UNKNOWN, p)
        return state, self.policy.usable(state), False


class _Stop(Exception):
    pass


class Watcher:
    """Follows GET /v1/health/stream (Server-Sent Events) of the outagewatch API at url (like
    http://127.0.0.1:9317) in a daemon thread, and answers usable() from memory.

    On a lost stream it keeps the last answer, backs off (min_backoff doubling up to
    max_backoff, jittered) and reconnects with Last-Event-ID. When the server has no stream
    (an answer that is not text/event-stream), it long-polls GET /v1/health?wait=&after=
    instead, and tries the stream again every five minutes.
    """

    def __init__(
        self,
        url: str,
        *,
        fail_degraded: bool = False,
        fail_unknown: bool = False,
        service: Optional[str] = None,
        endpoint: Optional[str] = None,
        wait: float = 30.0,
        min_backoff: float = 0.1,
        max_backoff: float = 5.0,
        read_timeout: float = 3 * _HEARTBEAT,
        transport: str = "sse",
        start: bool = True,
    ):
        u = urllib.parse.urlsplit(url)
        if u.scheme not in ("http", "https") or not u.netloc:
            raise ValueError(f"url {url!r}: want http://host:port or https://host:port")
        if service and endpoint:
            raise ValueError("service and endpoint: give at most one")
        if not 0 < wait <= _MAX_WAIT:
            raise ValueError(f"wait: {wait} is not between 0 and {_MAX_WAIT}")
        if transport not in ("sse", "poll"):
            raise ValueError(f"transport {transport!r}: want sse or poll")
        if min_backoff < 0 or max_backoff < min_backoff:
            raise ValueError("backoff: want 0 <= min_backoff <= max_backoff")
        self._scheme, self._netloc = u.scheme, u.netloc
        self._base = u.path.rstrip("/")
        self._policy = _Policy(fail_degraded, fail_unknown)
        q = {}
        if fail_degraded:
            q["fail_degraded"] = "1"
        if fail_unknown:
            q["fail_unknown"] = "1"
        if service:
            q["service"] = service
        elif endpoint:
            q["endpoint"] = endpoint
        self._query = q
        self._wait = wait
        self._min_backoff, self._max_backoff = min_backoff, max_backoff
        self._read_timeout = read_timeout
        self._cache = _Cache(self._policy)
        self._created = time.monotonic()
        self._last_ok: Optional[float] = None  # monotonic time of the last sign of life
        self._connected = False  # a stream is open, or the last long-poll succeeded
        self._ready = threading.Event()
        self._stop = threading.Event()
        self._conn_lock = threading.Lock()
        self._conn: Optional[http.client.HTTPConnection] = None
        self._last_event_id: Optional[str] = None
        self._thread: Optional[threading.Thread] = None
        self._transport = transport
        self.mode = transport  # "sse" or "poll": which transport the thread uses now
        self.reconnects = 0  # streams or polls (re)established after a failure
        self._failures = 0
        if start:
            self.start()

    # -- the answers ---------------------------------------------------------------------

    def usable(self, provider: str, model: str = "") -> bool:
        """Whether a router may send to provider's model (model "" asks about the provider).
        A series not down is usable, unless fail_degraded/fail_unknown say otherwise; a series
        the answer does not list is unknown, except a model of a degraded or down provider."""
        return self._cache.lookup(provider, model)[1]

    def state(self, provider: str, model: str = "") -> Tuple[str, bool]:
        """(effective state, whether the answer lists the series itself)."""
        s, _, known = self._cache.lookup(provider, model)
        return s, known

    def version(self) -> int:
        """The version of the answer held (0 before the first)."""
        with self._cache.lock:
            return self._cache.version

    def staleness(self) -> float:
        """Seconds the answer held is old: 0 while connected, else the time since the last
        sign of life from the daemon; before the first answer, the time since creation."""
        now = time.monotonic()
        last = self._last_ok
        if last is None:
            return now - self._created
        if self._connected and now - last <= self._read_timeout + _GRACE:
            return 0.0
        return now - last

    def ready(self, timeout: Optional[float] = None) -> bool:
        """Waits until the first answer came (or timeout); reports whether it did."""
        return self._ready.wait(timeout)

    # -- life cycle ----------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("watcher already started")
        self._thread = threading.Thread(target=self._run, name="outagewatch-watcher", daemon=True)
        self._thread.start()

    def close(self, timeout: float = 5.0) -> None:
        """Stops the thread and closes its connection."""
        self._stop.set()
        self._abort()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def __enter__(self) -> "Watcher":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- the thread ----------------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._loop()
        except _Stop:
            pass
        finally:
            self._connected = False
            self._abort()

    def _loop(self) -> None:
        sse_failed_at = 0.0
        while not self._stop.is_set():
            if self._transport == "sse" and self.mode == "poll" and time.monotonic() - sse_failed_at > _SSE_RETRY:
                self.mode = "sse"
            try:
                if self.mode == "sse":
                    if self._stream() is None:  # the server has no stream: long-poll
                        self.mode, sse_failed_at = "poll", time.monotonic()
                        continue
                    # The stream ended cleanly (its shutdown event): reconnect after a pause.
                    self._connected = False
                    self._failures = 1
                    self._sleep(self._backoff(1))
                else:
                    self._poll()
            except _Stop:
                raise
            except Exception as e:  # noqa: BLE001 - the thread must survive any failure
                # (also http.client's AttributeError when close() aborts a read)
                if self._stop.is_set():
                    return
                self._connected = False
                self._failures += 1
                d = self._backoff(self._failures)
                (log.warning if self._failures == 1 else log.debug)(
                    "outagewatch %s failed (%d): %s; retry in %.2fs", self.mode, self._failures, e, d)
                self._sleep(d)
            finally:
                self._abort()

    def _backoff(self, n: int) -> float:
        d = min(self._min_backoff * (2 ** min(n - 1, 30)), self._max_backoff)
        return d / 2 + random.uniform(0, d / 2)

    def _sleep(self, d: float) -> None:
        if self._stop.wait(d):
            raise _Stop()

    def _alive(self) -> None:
        self._last_ok = time.monotonic()
        self._connected = True
        if self._failures:
            log.info("outagewatch answers resumed after %d failures", self._failures)
            self.reconnects += 1
            self._failures = 0

    def _connect(self, timeout: float) -> http.client.HTTPConnection:
        cls = http.client.HTTPSConnection if self._scheme == "https" else http.client.HTTPConnection
        conn = cls(self._netloc, timeout=timeout)
        with self._conn_lock:
            if self._stop.is_set():
                raise _Stop()
            self._conn = conn
        return conn

    def _abort(self) -> None:
        """Closes the current connection; from close(), this wakes a blocked read."""
        with self._conn_lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            sock = conn.sock
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            conn.close()

    def _path(self, suffix: str, extra: Optional[dict] = None) -> str:
        q = dict(self._query)
        if extra:
            q.update(extra)
        p = self._base + "/v1/health" + suffix
        return p + ("?" + urllib.parse.urlencode(q) if q else "")

    def _get_json(self, path: str, timeout: float) -> dict:
        conn = self._connect(timeout)
        conn.request("GET", path, headers={"Accept": "application/json"})
        resp = conn.getresponse()
        body = resp.read()
        if resp.status != 200:
            raise http.client.HTTPException(f"GET {path}: status {resp.status}: {body[:256]!r}")
        return json.loads(body)

    def _accept(self, report: dict) -> None:
        self._cache.replace(report)
        self._alive()
        self._ready.set()

    def _poll(self) -> None:
        """One request of the long-poll fallback: a full answer, then long-polls from it."""
        if not self._connected:
            rep = self._get_json(self._path(""), _GRACE)
            self._accept(rep)
            return
        after = self.version()
        start = time.monotonic()
        rep = self._get_json(self._path("", {"wait": f"{self._wait:g}s", "after": str(after)}),
                             self._wait + _GRACE)
        self._abort()
        self._accept(rep)
        if int(rep.get("version") or 0) == after and time.monotonic() - start < self._wait / 2:
            self._sleep(1.0)  # answered early with no change: do not spin

    def _stream(self) -> Optional[bool]:
        """Follows the stream until it ends. Returns True when it ended cleanly, None when the
        server has no stream; raises on a failure."""
        conn = self._connect(self._read_timeout)
        headers = {"Accept": "text/event-stream", "Cache-Control": "no-cache"}
        if self._last_event_id is not None:
            headers["Last-Event-ID"] = self._last_event_id
        conn.request("GET", self._path("/stream"), headers=headers)
        resp = conn.getresponse()
        ctype = resp.getheader("Content-Type", "")
        if resp.status == 404 or (resp.status == 200 and not ctype.startswith("text/event-stream")):
            resp.read()
            return None
        if resp.status != 200:
            raise http.client.HTTPException(f"GET stream: status {resp.status}: {resp.read(256)!r}")
        self._alive()
        event, data, ev_id = "", [], None
        while True:
            line = resp.readline(_MAX_LINE)
            if not line:
                if self._stop.is_set():
                    raise _Stop()
                raise ConnectionError("stream ended without a shutdown event")
            self._alive()
            line = line.decode("utf-8").rstrip("\r\n")
            if line == "":
                if data:
                    if self._dispatch(event or "message", "\n".join(data), ev_id):
                        return True
                event, data, ev_id = "", [], None
                continue
            if line.startswith(":"):
                continue  # a heartbeat
            field, _, value = line.partition(":")
            if value.startswith(" "):
                value = value[1:]
            if field == "event":
                event = value
            elif field == "data":
                data.append(value)
            elif field == "id":
                ev_id = value

    def _dispatch(self, event: str, data: str, ev_id: Optional[str]) -> bool:
        """Applies one event; returns True on the shutdown event."""
        if ev_id is not None:
            self._last_event_id = ev_id
        if event == "shutdown":
            log.info("outagewatch is shutting down: reconnecting")
            return True
        payload = json.loads(data)
        if event == "snapshot":
            if self._last_event_id is None or ev_id is None:
                self._last_event_id = str(payload.get("version", 0))
            self._accept(payload)
        elif event == "change":
            if payload.get("model", "") == "":
                # A provider's change moves the effective state of its models without traffic
                # of their own: take the whole answer again.
                self._accept(self._refetch())
            else:
                self._cache.change(payload)
            if ev_id is None:
                self._last_event_id = str(payload.get("version", 0))
        # "local": another caller's verdict; it does not change the plain answer.
        return False

    def _refetch(self) -> dict:
        cls = http.client.HTTPSConnection if self._scheme == "https" else http.client.HTTPConnection
        conn = cls(self._netloc, timeout=_GRACE)
        try:
            conn.request("GET", self._path(""), headers={"Accept": "application/json"})
            resp = conn.getresponse()
            body = resp.read()
            if resp.status != 200:
                raise http.client.HTTPException(f"GET /v1/health: status {resp.status}")
            return json.loads(body)
        finally:
            conn.close()
