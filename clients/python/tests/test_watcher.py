"""The Python client against the real watcher binary (built from ./cmd/watcher)."""

import socket
import tempfile
import time
import unittest

import daemon
from daemon import eventually

from outagewatch import NoUsableProvider, Watcher, fallback

SONNET, OPUS, HAIKU = "claude-sonnet", "claude-opus", "claude-haiku"
FAST = dict(min_backoff=0.05, max_backoff=0.3)


def setUpModule():
    daemon.build()


def drive_down(d, w, model, timeout=20):
    def down():
        d.send(model, 6, True)
        return not w.usable("anthropic", model)
    eventually(down, timeout, msg=f"{model} unusable")


class BeforeFirstAnswer(unittest.TestCase):
    def test_unreachable_daemon(self):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()  # nothing listens there
        with Watcher(f"http://127.0.0.1:{port}", **FAST) as w, \
                Watcher(f"http://127.0.0.1:{port}", fail_unknown=True, **FAST) as closed:
            self.assertFalse(w.ready(0.2))
            self.assertTrue(w.usable("anthropic", SONNET), "fail open before the first answer")
            self.assertEqual(w.state("anthropic", SONNET), ("unknown", False))
            self.assertFalse(closed.usable("anthropic", SONNET), "fail_unknown fails closed")
            self.assertGreaterEqual(w.staleness(), 0.2)

    def test_bad_arguments(self):
        with self.assertRaises(ValueError):
            Watcher("ftp://x", start=False)
        with self.assertRaises(ValueError):
            Watcher("http://x:1", service="a", endpoint="b", start=False)


class Outage(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.TemporaryDirectory()
        cls.d = daemon.Daemon(cls.dir.name)

    @classmethod
    def tearDownClass(cls):
        cls.d.kill()
        cls.dir.cleanup()

    def _outage_fallback_recovery(self, transport):
        d = self.d
        with Watcher(d.url, transport=transport, wait=5, **FAST) as w:
            self.assertTrue(w.ready(5))
            self.assertEqual(w.mode, transport)
            self.assertEqual(w.staleness(), 0.0)
            d.send(SONNET, 15, False)
            d.send(OPUS, 15, False)
            eventually(lambda: w.state("anthropic", SONNET) == ("healthy", True)
                       and w.state("anthropic", OPUS) == ("healthy", True), msg="healthy")
            self.assertTrue(w.usable("anthropic", SONNET))

            drive_down(d, w, SONNET)
            self.assertEqual(w.state("anthropic", SONNET), ("down", True))
            self.assertEqual(d.health("/anthropic/" + SONNET)[0], 503)
            self.assertTrue(w.usable("anthropic", OPUS))

            called = []

            def call(model):
                def fn(prompt):
                    called.append(model)
                    return f"{model}: {prompt}"
                return fn
            got = fallback(w, [("anthropic", SONNET, call(SONNET)), ("anthropic", OPUS, call(OPUS))], "hi")
            self.assertEqual(got, f"{OPUS}: hi")
            self.assertEqual(called, [OPUS], "the down model is not called")

            # Recovery: healthy calls after the hold-down.
            def recovered():
                d.send(SONNET, 6, False)
                return w.usable("anthropic", SONNET)
            eventually(recovered, 20, msg="recovery")
            self.assertIn(w.state("anthropic", SONNET)[0], ("degraded", "healthy"))
            got = fallback(w, [("anthropic", SONNET, call(SONNET)), ("anthropic", OPUS, call(OPUS))], "hi")
            self.assertEqual(got, f"{SONNET}: hi")

    def test_sse(self):
        self._outage_fallback_recovery("sse")

    def test_long_poll(self):
        self._outage_fallback_recovery("poll")

    def test_fallback_on_failure_while_going_down(self):
        d = self.d
        with Watcher(d.url, **FAST) as w:
            self.assertTrue(w.ready(5))
            d.send(HAIKU, 15, False)
            d.send(OPUS, 15, False)
            eventually(lambda: w.state("anthropic", HAIKU) == ("healthy", True), msg="haiku healthy")

            def failing_haiku():
                # The provider fails now; outagewatch learns it from the traffic.
                eventually(lambda: d.send(HAIKU, 6, True) or d.health("/anthropic/" + HAIKU)[0] == 503,
                           10, msg="haiku 503")
                raise TimeoutError("haiku timed out")

            def streaming_opus():
                yield "chunk-1"
                yield "chunk-2"
            out = fallback(w, [("anthropic", HAIKU, failing_haiku), ("anthropic", OPUS, streaming_opus)],
                           settle=5)
            self.assertEqual(list(out), ["chunk-1", "chunk-2"])
            self.assertFalse(w.usable("anthropic", HAIKU))

            # An exception from a usable series is the caller's.
            def bad_request():
                raise ValueError("400 bad request")
            with self.assertRaises(ValueError):
                fallback(w, [("anthropic", OPUS, bad_request), ("anthropic", HAIKU, lambda: "x")])
            # Nothing usable.
            with self.assertRaises(NoUsableProvider) as cm:
                fallback(w, [("anthropic", HAIKU, lambda: "x")])
            self.assertEqual(cm.exception.attempts, [("anthropic", HAIKU, None)])


HOLD = daemon.CONFIG.replace("hold_down_base: 1s", "hold_down_base: 10m").replace(
    "hold_down_max: 1s", "hold_down_max: 10m")


class LostAndRestarted(unittest.TestCase):
    def test_lost_daemon_then_restart_on_same_port(self):
        with tempfile.TemporaryDirectory() as tmp:
            d = daemon.Daemon(tmp, config=HOLD)
            try:
                with Watcher(d.url, **FAST) as w:
                    self.assertTrue(w.ready(5))
                    d.send(SONNET, 15, False)
                    d.send(OPUS, 15, False)
                    eventually(lambda: w.state("anthropic", OPUS) == ("healthy", True), msg="healthy")
                    drive_down(d, w, SONNET)

                    # Lost (SIGTERM: the stream's shutdown event, then nothing answers).
                    d.stop()
                    first = eventually(lambda: w.staleness(), 5, msg="staleness > 0")
                    version = w.version()  # the stream flushed its last changes before its end
                    time.sleep(0.3)
                    self.assertGreater(w.staleness(), first, "staleness grows")
                    self.assertFalse(w.usable("anthropic", SONNET), "last answer kept")
                    self.assertTrue(w.usable("anthropic", OPUS))
                    self.assertEqual(w.version(), version)

                    # Restarted on the same API port, same data dir: states restored.
                    reconnects = w.reconnects
                    d = daemon.Daemon(tmp, api_addr=d.api, config=HOLD)
                    eventually(lambda: w.staleness() == 0 and w.reconnects > reconnects, 10,
                               msg="reconnected")
                    self.assertEqual(w.state("anthropic", SONNET), ("down", True))
                    self.assertTrue(w.usable("anthropic", OPUS))

                    # Lost again, hard (SIGKILL): the answer is kept.
                    d.kill()
                    eventually(lambda: w.staleness() > 0.2, 5, msg="stale after SIGKILL")
                    self.assertFalse(w.usable("anthropic", SONNET))
                    self.assertTrue(w.usable("anthropic", OPUS))
            finally:
                d.kill()


if __name__ == "__main__":
    unittest.main()
