"""Runs the real watcher binary for the tests: build, start on free ports, send OTLP/JSON."""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
PKG = HERE.parent  # clients/python
ROOT = PKG.parents[1]  # the repository: two levels up from clients/python
sys.path.insert(0, str(PKG / "src"))

# Fast detection (the Go tests' fastConfig); hold-downs long enough that a down model stays
# down across a restart unless healthy calls come.
CONFIG = """\
detectors:
  warmup_calls: 10
  warmup_age: 0s
  hold_degraded: 1s
  hold_down_base: 1s
  hold_down_max: 1s
"""

_LISTENING = re.compile(r'msg="(api|otlp http) listening".* addr=(\S+)')
_binary = None


def build() -> str:
    """Builds ./cmd/watcher once per test run."""
    global _binary
    if _binary is None:
        out = Path(tempfile.mkdtemp(prefix="owpy-bin-")) / "watcher"
        subprocess.run(["go", "build", "-o", str(out), "./cmd/watcher"], cwd=ROOT, check=True)
        _binary = str(out)
    return _binary


def eventually(cond, timeout=20.0, interval=0.05, msg="condition"):
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {msg}")
        time.sleep(interval)


class Daemon:
    def __init__(self, data_dir: str, api_addr: str = "127.0.0.1:0", config: str = CONFIG):
        self.data_dir = data_dir
        cfg = Path(data_dir) / "watcher.yaml"
        cfg.write_text(config)
        env = {k: v for k, v in os.environ.items() if not k.startswith("OUTAGEWATCH_")}
        env["OUTAGEWATCH_DATA_DIR"] = str(Path(data_dir) / "data")
        self.lines = []
        self.proc = subprocess.Popen(
            [build(), "-config", str(cfg), "-api.addr", api_addr,
             "-otlp.grpc.addr", "127.0.0.1:0", "-otlp.http.addr", "127.0.0.1:0"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        threading.Thread(target=self._read, daemon=True).start()
        self.api = self.otlp = None

        def addrs():
            for line in list(self.lines):
                m = _LISTENING.search(line)
                if m and m.group(1) == "api":
                    self.api = m.group(2)
                elif m:
                    self.otlp = m.group(2)
            if self.proc.poll() is not None:
                raise AssertionError("watcher exited:\n" + "".join(self.lines))
            return self.api and self.otlp
        eventually(addrs, 30, msg="the watcher's addresses")
        self.url = "http://" + self.api

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
        self.proc.stdout.close()

    def stop(self):
        """SIGTERM: a clean shutdown, which saves the state."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(10)
        self.proc.stdout.close()

    def health(self, suffix=""):
        try:
            with urllib.request.urlopen(self.url + "/v1/health" + suffix, timeout=5) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")

    def send(self, model: str, n: int, failing: bool, provider: str = "anthropic"):
        """POSTs n GenAI chat spans as one OTLP/JSON export."""
        now = time.time_ns()
        spans = []
        for i in range(n):
            attrs = [
                {"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}},
                {"key": "gen_ai.provider.name", "value": {"stringValue": provider}},
                {"key": "gen_ai.request.model", "value": {"stringValue": model}},
            ]
            span = {
                "traceId": secrets.token_hex(16), "spanId": secrets.token_hex(8),
                "name": "chat " + model, "kind": 3,
                "startTimeUnixNano": str(now - 500_000_000 + i), "endTimeUnixNano": str(now + i),
                "attributes": attrs,
            }
            if failing:
                attrs.append({"key": "error.type", "value": {"stringValue": "OverloadedError"}})
                span["status"] = {"code": 2, "message": "Error code: 529 - overloaded_error"}
            else:
                attrs.append({"key": "gen_ai.response.finish_reasons",
                              "value": {"arrayValue": {"values": [{"stringValue": "stop"}]}}})
            spans.append(span)
        body = {"resourceSpans": [{
            "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "checkout"}}]},
            "scopeSpans": [{"scope": {"name": "test"}, "spans": spans}],
        }]}
        req = urllib.request.Request("http://" + self.otlp + "/v1/traces", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(req, timeout=5) as r:
            r.read()
