"""The long-poll fallback against a server without the stream (a stand-in: the real binary
always has it)."""

import json
import threading
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import daemon  # noqa: F401 - puts src on sys.path
from daemon import eventually

from outagewatch import Watcher


class _NoStream(BaseHTTPRequestHandler):
    state = {"version": 1, "providers": [{"provider": "anthropic", "state": "healthy", "models": [
        {"model": "claude-sonnet", "state": "healthy", "usable": True}]}]}
    polls = []

    def do_GET(self):
        if self.path.startswith("/v1/health/stream"):
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        type(self).polls.append(self.path)
        body = json.dumps(type(self).state).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


class LongPollFallback(unittest.TestCase):
    def test_no_stream_falls_back_to_long_poll(self):
        srv = ThreadingHTTPServer(("127.0.0.1", 0), _NoStream)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        try:
            with Watcher(f"http://127.0.0.1:{srv.server_address[1]}", wait=1, min_backoff=0.05) as w:
                self.assertTrue(w.ready(5))
                self.assertEqual(w.mode, "poll")
                self.assertTrue(w.usable("anthropic", "claude-sonnet"))
                _NoStream.state = {"version": 2, "providers": [{"provider": "anthropic", "state": "down",
                                                                "models": []}]}
                eventually(lambda: not w.usable("anthropic", "claude-sonnet"), 5, msg="down via poll")
                self.assertEqual(w.state("anthropic", "claude-sonnet"), ("down", False))
                self.assertTrue(any("after=" in p and "wait=1s" in p for p in _NoStream.polls), _NoStream.polls)
        finally:
            srv.shutdown()
            srv.server_close()
