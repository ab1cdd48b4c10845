// outagewatch status page: live updates. The page is complete without this script; with it, the
// page follows /v1/health/stream (Server-Sent Events) and changes each series' state, since and
// reason as changes arrive, and every 10 s refreshes the rest (charts, incidents, silences) from
// GET /?fragment=live (at once when a change or snapshot concerns a model the page shows folded
// into a "61 models healthy" line: the server unfolds it). Data from the stream is only ever
// written with textContent; refreshed parts are HTML rendered (and escaped) by the server's
// templates, parsed inertly.
(function () {
  "use strict";

  var REFRESH_MS = 10000;
  var RETRY_MS = 5000;

  // Exposed for tests and the curious: proves the page was not reloaded, counts what arrived.
  var live = window.outagewatch = {
    loadedAt: Date.now(),
    version: 0,
    snapshots: 0,
    changes: 0,
    refreshes: 0,
    connection: "connecting",
  };

  var skew = 0; // server clock minus ours, from the page's data-now
  var baseTitle = document.title;
  var refreshTimer = 0;
  var source = null;

  // The same words as the server (format.go).
  var DETECTOR_LABELS = {
    error_rate: "errors",
    error_rate_mid: "errors (partial outage)",
    error_rate_down: "errors (hard outage)",
    truncation: "truncated responses",
    rate_limit: "rate limited (429)",
    ttft: "slow first token",
    latency: "slow responses",
  };
  var DETECTOR_SENTENCES = {
    warmup: "judged from its first calls",
    silence: "no calls for longer than its traffic explains",
    recovery: "the alarm cleared after its hold-down",
    rollup: "follows its models",
  };
  var MAX_SAMPLE_ERROR = 160;
  var MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  var SEVERITY = { down: 3, degraded: 2, unknown: 1, healthy: 0 };

  function now() { return Date.now() + skew; }

  function fixed(v, digits) { return Number(v).toFixed(digits); }

  function formatPercent(v) {
    var p = v * 100;
    if (p === 0) return "0%";
    if (p < 10) return fixed(p, 1) + "%";
    return fixed(p, 0) + "%";
  }

  function formatDuration(ms) {
    var s = Math.round(ms / 1000);
    if (s < 1) return "<1s";
    if (s < 60) return s + "s";
    if (s < 3600) return Math.floor(s / 60) + "m " + (s % 60) + "s";
    if (s < 48 * 3600) return Math.floor(s / 3600) + "h " + Math.floor((s % 3600) / 60) + "m";
    return Math.floor(s / 86400) + "d " + Math.floor((s % 86400) / 3600) + "h";
  }

  function formatAgo(t, at) {
    var d = at - t;
    if (d < 5000) return "just now";
    if (d < 60000) return Math.floor(d / 1000) + "s ago";
    if (d < 3600000) return Math.floor(d / 60000) + "m ago";
    if (d < 48 * 3600000) return Math.floor(d / 3600000) + "h " + Math.floor((d % 3600000) / 60000) + "m ago";
    return Math.floor(d / 86400000) + "d ago";
  }

  function pad(n) { return n < 10 ? "0" + n : String(n); }

  function formatClock(t, at) {
    var d = new Date(t), n = new Date(at);
    var hm = pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes());
    var sameYear = d.getUTCFullYear() === n.getUTCFullYear();
    if (sameYear && d.getUTCMonth() === n.getUTCMonth() && d.getUTCDate() === n.getUTCDate()) {
      return hm + ":" + pad(d.getUTCSeconds()) + " UTC";
    }
    var day = d.getUTCDate() + " " + MONTHS[d.getUTCMonth()];
    return day + (sameYear ? "" : " " + d.getUTCFullYear()) + " " + hm + " UTC";
  }

  function oneLine(s, n) {
    s = String(s || "").split(/\s+/).filter(Boolean).join(" ");
    var chars = Array.from(s);
    return chars.length <= n ? s : chars.slice(0, n - 1).join("") + "…";
  }

  // reasonLine mirrors format.go's reasonLine, from the JSON of docs/health-api.md.
  function reasonLine(r) {
    if (!r || !r.detector) return "no change recorded yet";
    if (DETECTOR_SENTENCES[r.detector]) return r.text || DETECTOR_SENTENCES[r.detector];
    var label = DETECTOR_LABELS[r.detector] || r.detector;
    var s = label + ": " + formatPercent(r.observed || 0) + " against a usual " + formatPercent(r.baseline || 0) +
      " (" + (r.events || 0) + " of " + (r.sample_size || 0) + " calls in " + formatDuration((r.window_seconds || 0) * 1000) + ")";
    (r.classes || []).forEach(function (c, i) {
      s += (i === 0 ? "; " : ", ") + c["class"] + " " + c.count;
    });
    (r.callers || []).forEach(function (c, i) {
      s += (i === 0 ? "; by caller: " : ", ") + c.service + " " + c.failures + " of " + c.calls;
    });
    if (r.confined_to) s += " (only " + r.confined_to + " fails: likely its own network, key or deploy)";
    var msg = oneLine(r.sample_error, MAX_SAMPLE_ERROR);
    if (msg) s += "; “" + msg + "”";
    return s;
  }

  // localFigure and localLine mirror localview.go: a caller failing on its own, in a few words.
  var ERROR_DETECTORS = { error_rate: true, error_rate_mid: true, error_rate_down: true };

  function localFigure(r) {
    if (!r || !r.detector) return "failures";
    var pct = formatPercent(r.observed || 0);
    if (ERROR_DETECTORS[r.detector]) {
      var classes = r.classes || [];
      return pct + (classes.length ? " " + classes[0]["class"] : "") + " errors";
    }
    if (DETECTOR_LABELS[r.detector]) return pct + " " + DETECTOR_LABELS[r.detector];
    return r.detector;
  }

  function localLine(r, provider, state) {
    var line = localFigure(r);
    if (state !== "down") line += "; the " + (provider ? "provider" : "model") + " is usable for its other callers";
    return line;
  }

  function effective(model, provider) {
    if (model === "unknown" && (provider === "down" || provider === "degraded")) return provider;
    return model;
  }

  function knownState(s) { return Object.prototype.hasOwnProperty.call(SEVERITY, s) ? s : "unknown"; }

  // Series elements, found by comparing data attributes (no selectors built from data).
  function allSeries() { return Array.prototype.slice.call(document.querySelectorAll("[data-series]")); }

  function findSeries(provider, model) {
    var list = allSeries();
    for (var i = 0; i < list.length; i++) {
      if (list[i].dataset.provider === provider && list[i].dataset.model === model) return list[i];
    }
    return null;
  }

  // Folds are a provider's healthy (or unknown) models shown as one line ("61 models healthy");
  // their models have no element of their own.
  function allFolds() { return Array.prototype.slice.call(document.querySelectorAll("[data-fold]")); }

  function foldKey(provider, state) { return provider + "\n" + state; }

  // foldsMatch reports whether the folds on the page hold exactly the models a snapshot has
  // and the page does not show, counted by provider and state.
  function foldsMatch(folded) {
    var onPage = {};
    allFolds().forEach(function (f) { onPage[foldKey(f.dataset.provider, f.dataset.state)] = Number(f.dataset.count); });
    var keys = Object.keys(folded).concat(Object.keys(onPage));
    return keys.every(function (k) { return folded[k] === onPage[k]; });
  }

  function role(el, name) { return el.querySelector('[data-role="' + name + '"]'); }

  function timeNodes(parent, iso, t) {
    var time = document.createElement("time");
    time.dateTime = iso;
    time.textContent = formatClock(t, now());
    var ago = document.createElement("span");
    ago.dataset.ago = iso;
    ago.textContent = formatAgo(t, now());
    parent.append(time, " (", ago, ")");
  }

  // setState shows a series' effective state; it returns whether it changed.
  function setState(el, state) {
    state = knownState(state);
    var badge = role(el, "state");
    var changed = el.dataset.state !== state;
    el.dataset.state = state;
    if (badge) {
      badge.className = "state state-" + state;
      badge.textContent = state;
    }
    return changed;
  }

  function setSince(el, at) {
    var p = role(el, "since");
    var t = Date.parse(at);
    if (!p || isNaN(t)) return;
    p.textContent = "since ";
    timeNodes(p, new Date(t).toISOString().replace(/\.\d+Z$/, "Z"), t);
  }

  function setReason(el, reason) {
    var p = role(el, "reason");
    if (p) p.textContent = reasonLine(reason);
  }

  // setLocal shows, updates or (when its verdict ended) removes the entry of one caller failing
  // on its own under series el. The entry is built as the server's template builds it.
  function setLocal(el, caller, kind, name, state, since, reason) {
    var list = role(el, "local");
    if (!list) return;
    var li = null;
    Array.prototype.forEach.call(list.children, function (c) { if (c.dataset.caller === caller) li = c; });
    if (state !== "down" && state !== "degraded") {
      if (li) li.remove();
      list.hidden = list.children.length === 0;
      return;
    }
    if (!li) {
      li = document.createElement("li");
      li.dataset.local = "";
      li.dataset.caller = caller;
      var label = document.createElement("strong");
      label.textContent = kind + " " + name;
      var badge = document.createElement("span");
      badge.dataset.role = "local-state";
      var when = document.createElement("span");
      when.dataset.role = "local-since";
      var why = document.createElement("span");
      why.dataset.role = "local-reason";
      li.append(label, ": ", badge, " ", when, " — ", why);
      list.append(li);
    }
    li.dataset.state = state;
    var b = li.querySelector('[data-role="local-state"]');
    b.className = "state state-" + state;
    b.textContent = state;
    var t = Date.parse(since), w = li.querySelector('[data-role="local-since"]');
    w.textContent = "since ";
    if (!isNaN(t)) {
      var time = document.createElement("time");
      time.dateTime = new Date(t).toISOString().replace(/\.\d+Z$/, "Z");
      time.textContent = formatClock(t, now());
      w.append(time);
    }
    li.querySelector('[data-role="local-reason"]').textContent = localLine(reason, !el.dataset.model, el.dataset.state);
    list.hidden = false;
  }

  // setLocals makes the entries under el those of a snapshot's "local" array.
  function setLocals(el, locals) {
    var list = role(el, "local");
    if (!list) return;
    var keep = {};
    (locals || []).forEach(function (l) {
      keep[l.caller] = true;
      setLocal(el, l.caller, l.kind, l.name, knownState(l.state), l.since, (l.reasons || [])[0]);
    });
    Array.prototype.slice.call(list.children).forEach(function (li) {
      if (!keep[li.dataset.caller]) li.remove();
    });
    list.hidden = list.children.length === 0;
  }

  // applyLocal shows a local verdict's change (a "local" event): the series' own state is
  // unchanged; only its entry for that caller is.
  function applyLocal(c) {
    live.changes++;
    live.version = Math.max(live.version, c.version || 0);
    var el = findSeries(c.provider, c.model || "");
    if (!el) { scheduleRefresh(0); return; }
    var sep = String(c.caller || "").indexOf(":");
    if (sep < 0) return;
    var kind = c.caller.slice(0, sep), name = c.caller.slice(sep + 1);
    var state = knownState(c.to);
    setLocal(el, c.caller, kind, name, state, c.at, c.reason);
    if (state === "down" || state === "degraded") {
      announce(kind + " " + name + " of " + nameOf(el) + " is now " + state + ", on its own");
    } else {
      announce(kind + " " + name + " of " + nameOf(el) + " no longer fails on its own");
    }
    scheduleRefresh(1000);
  }

  function nameOf(el) {
    return el.dataset.model ? el.dataset.provider + " " + el.dataset.model : el.dataset.provider;
  }

  function announce(text) {
    var a = document.getElementById("announcer");
    if (a) a.textContent = text;
  }

  // modelsFollow recomputes the effective state of a provider's models after its own changed. A
  // fold whose models' effective state changes with it (unknown models of a provider now down)
  // is unfolded by a refresh.
  function modelsFollow(provider, state) {
    allFolds().forEach(function (f) {
      if (f.dataset.provider === provider && effective(f.dataset.state, state) !== f.dataset.state) scheduleRefresh(0);
    });
    allSeries().forEach(function (m) {
      if (m.dataset.provider === provider && m.dataset.model) {
        if (setState(m, effective(m.dataset.ownState || "unknown", state))) {
          announce(nameOf(m) + " is now " + m.dataset.state);
        }
      }
    });
  }

  function applyChange(c) {
    live.changes++;
    live.version = Math.max(live.version, c.version || 0);
    var el = findSeries(c.provider, c.model || "");
    if (!el) { scheduleRefresh(0); return; }
    el.dataset.ownState = c.to;
    var state = c.to;
    if (c.model) {
      var p = findSeries(c.provider, "");
      state = effective(c.to, p ? p.dataset.state : "unknown");
    }
    if (setState(el, state)) announce(nameOf(el) + " is now " + el.dataset.state);
    setSince(el, c.at);
    setReason(el, c.reason);
    if (!c.model) modelsFollow(c.provider, el.dataset.state);
    summarise();
    scheduleRefresh(1000);
  }

  // applySeries shows a series of a snapshot. The snapshot gives models their effective state;
  // the own state the page knew is kept when it explains that state under the provider's.
  function applySeries(el, v, providerState) {
    var own = el.dataset.ownState || v.state;
    if (!providerState || effective(own, providerState) !== v.state) own = v.state;
    el.dataset.ownState = own;
    setState(el, v.state);
    setSince(el, v.since);
    // The "local" reasons (a caller failing on its own) are shown as entries, not as its reason.
    setReason(el, (v.reasons || []).filter(function (r) { return r.detector !== "local"; })[0]);
    setLocals(el, v.local);
  }

  function applySnapshot(rep) {
    live.snapshots++;
    live.version = Math.max(live.version, rep.version || 0);
    var seen = 0, missing = false, folded = {};
    (rep.providers || []).forEach(function (pv) {
      var el = findSeries(pv.provider, "");
      if (el) { applySeries(el, pv, null); seen++; } else { missing = true; }
      (pv.models || []).forEach(function (mv) {
        var m = findSeries(pv.provider, mv.model);
        if (m) { applySeries(m, mv, pv.state); seen++; return; }
        var k = foldKey(pv.provider, mv.state);
        folded[k] = (folded[k] || 0) + 1;
      });
    });
    summarise();
    if (missing || seen !== allSeries().length || !foldsMatch(folded)) scheduleRefresh(0);
  }

  // summarise rewrites the summary line and the title from the states on the page.
  function summarise() {
    var counts = { down: 0, degraded: 0, unknown: 0, healthy: 0 }, total = 0;
    allSeries().forEach(function (el) { counts[knownState(el.dataset.state)]++; total++; });
    allFolds().forEach(function (f) {
      var n = Number(f.dataset.count) || 0;
      counts[knownState(f.dataset.state)] += n;
      total += n;
    });
    var summary = document.getElementById("summary");
    if (summary && total > 0) {
      var parts = ["down", "degraded", "unknown", "healthy"].filter(function (s) { return counts[s] > 0; })
        .map(function (s) { return counts[s] + " " + s; });
      summary.textContent = total + " series: " + parts.join(", ") + ".";
    }
    var prefix = counts.down ? "(" + counts.down + " down) " : counts.degraded ? "(" + counts.degraded + " degraded) " : "";
    document.title = prefix + baseTitle;
  }

  function refreshAgo() {
    document.querySelectorAll("[data-ago]").forEach(function (el) {
      var t = Date.parse(el.dataset.ago);
      if (!isNaN(t)) el.textContent = formatAgo(t, now());
    });
  }

  function setConnection(state, text) {
    live.connection = state;
    var el = document.getElementById("connection");
    if (!el) return;
    el.dataset.connection = state;
    el.textContent = text;
  }

  function readClock(root) {
    var t = Date.parse(root.dataset.now || "");
    if (!isNaN(t)) skew = t - Date.now();
  }

  // parts maps each replaceable part of the live root by its data-part name.
  function parts(root) {
    var m = new Map();
    root.querySelectorAll("[data-part]").forEach(function (el) { m.set(el.dataset.part, el); });
    return m;
  }

  function sameKeys(a, b) {
    if (a.size !== b.size) return false;
    var same = true;
    a.forEach(function (_, k) { if (!b.has(k)) same = false; });
    return same;
  }

  // swap puts the server's fresh rendering in place, part by part, leaving alone a part that
  // holds the keyboard focus (it is refreshed next time).
  function swap(fresh) {
    var old = document.getElementById("live");
    if (!old) return;
    var focused = document.activeElement && document.activeElement !== document.body && old.contains(document.activeElement);
    var before = parts(old), after = parts(fresh);
    if (!focused || !sameKeys(before, after)) {
      old.replaceWith(document.adoptNode(fresh));
      return;
    }
    after.forEach(function (el, k) {
      var cur = before.get(k);
      if (!cur.contains(document.activeElement)) cur.replaceWith(document.adoptNode(el));
    });
    old.dataset.version = fresh.dataset.version;
    old.dataset.now = fresh.dataset.now;
  }

  function refresh() {
    refreshTimer = 0;
    fetch("/?fragment=live", { cache: "no-store", credentials: "same-origin" })
      .then(function (r) { if (!r.ok) throw new Error(String(r.status)); return r.text(); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("live");
        if (!fresh) return;
        // A change that arrived after this was rendered is newer: wait for the next refresh.
        if (Number(fresh.dataset.version) < live.version) { scheduleRefresh(1000); return; }
        live.version = Number(fresh.dataset.version);
        readClock(fresh);
        swap(fresh);
        live.refreshes++;
        summarise();
      })
      .catch(function () { /* the banner reports the stream; the static content stays */ });
  }

  function scheduleRefresh(ms) {
    if (refreshTimer) {
      if (ms > 0) return;
      clearTimeout(refreshTimer);
    }
    refreshTimer = setTimeout(refresh, ms);
  }

  function parse(e) {
    try { return JSON.parse(e.data); } catch (err) { return null; }
  }

  function connect() {
    setConnection("connecting", "Connecting to the live stream…");
    source = new EventSource("/v1/health/stream");
    source.onopen = function () {
      setConnection("live", "Live: changes appear as they happen.");
    };
    source.onerror = function () {
      setConnection("lost", "Connection lost, retrying… The states shown may be out of date.");
      // EventSource retries by itself unless the server refused the stream outright.
      if (source.readyState === EventSource.CLOSED) {
        source.close();
        setTimeout(connect, RETRY_MS);
      }
    };
    source.addEventListener("snapshot", function (e) {
      var rep = parse(e);
      if (rep) applySnapshot(rep);
      if (live.connection !== "live") setConnection("live", "Live: changes appear as they happen.");
    });
    source.addEventListener("change", function (e) {
      var c = parse(e);
      if (c) applyChange(c);
    });
    source.addEventListener("local", function (e) {
      var c = parse(e);
      if (c) applyLocal(c);
    });
  }

  function start() {
    var root = document.getElementById("live");
    if (!root) return;
    live.version = Number(root.dataset.version) || 0;
    readClock(root);
    summarise();
    if (!("EventSource" in window)) {
      setConnection("static", "This browser cannot follow the live stream: reload for the latest.");
    } else {
      connect();
    }
    setInterval(function () { scheduleRefresh(0); refreshAgo(); }, REFRESH_MS);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
