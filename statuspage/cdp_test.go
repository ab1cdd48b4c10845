package statuspage

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A minimal Chrome DevTools Protocol client, enough to drive one page: it talks to Chromium over
// --remote-debugging-pipe (JSON messages separated by NUL bytes on file descriptors 3 and 4), so
// the test needs no WebSocket library and no port.

// chromiumPath is where Debian's chromium package installs the browser; scripts/test.sh
// installs it when missing.
const chromiumPath = "/usr/bin/chromium"

type browser struct {
	cmd    *exec.Cmd
	stderr *lockedBuffer
	w      io.WriteCloser

	mu      sync.Mutex
	nextID  int64
	pending map[int64]chan cdpMessage
	events  []cdpMessage  // every event received, for the test to inspect
	arrived chan struct{} // closed (and replaced) when an event is received
	done    chan struct{}
}

type cdpMessage struct {
	ID        int64           `json:"id,omitempty"`
	Method    string          `json:"method,omitempty"`
	Params    json.RawMessage `json:"params,omitempty"`
	SessionID string          `json:"sessionId,omitempty"`
	Result    json.RawMessage `json:"result,omitempty"`
	Error     *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error,omitempty"`
}

// lockedBuffer collects Chromium's stderr for the failure message.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startBrowser starts a headless Chromium with a fresh profile; it fails the test, never skips
// it, when Chromium is missing.
func startBrowser(t *testing.T) *browser {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("%s not found: run scripts/test.sh, which installs Debian's chromium package "+
			"(or apt-get install -y chromium): %v", chromiumPath, err)
	}
	toChrome, fromUs, err := os.Pipe()
	require.NoError(t, err)
	fromChrome, toUs, err := os.Pipe()
	require.NoError(t, err)

	cmd := exec.Command(chromiumPath,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--no-first-run", "--no-default-browser-check", "--disable-extensions", "--mute-audio",
		"--hide-scrollbars", "--user-data-dir="+t.TempDir(), "--remote-debugging-pipe", "about:blank")
	b := &browser{cmd: cmd, stderr: &lockedBuffer{}, w: fromUs, pending: map[int64]chan cdpMessage{},
		arrived: make(chan struct{}), done: make(chan struct{})}
	cmd.Stderr = b.stderr
	cmd.ExtraFiles = []*os.File{toChrome, toUs} // fd 3: commands in, fd 4: answers out
	require.NoError(t, cmd.Start())
	_ = toChrome.Close()
	_ = toUs.Close()
	go b.read(fromChrome)
	t.Cleanup(func() { b.close(t) })
	return b
}

func (b *browser) read(r io.ReadCloser) {
	defer close(b.done)
	defer r.Close()
	br := bufio.NewReaderSize(r, 1<<20)
	for {
		raw, err := br.ReadBytes(0)
		if err != nil {
			return
		}
		var m cdpMessage
		if json.Unmarshal(raw[:len(raw)-1], &m) != nil {
			continue
		}
		b.mu.Lock()
		if m.ID != 0 {
			if ch, ok := b.pending[m.ID]; ok {
				delete(b.pending, m.ID)
				ch <- m
			}
		} else {
			b.events = append(b.events, m)
			close(b.arrived)
			b.arrived = make(chan struct{})
		}
		b.mu.Unlock()
	}
}

// call sends a command (to the browser when session is "", else to a page) and decodes its
// result into out, when not nil.
func (b *browser) call(ctx context.Context, session, method string, params, out any) error {
	b.mu.Lock()
	b.nextID++
	id := b.nextID
	ch := make(chan cdpMessage, 1)
	b.pending[id] = ch
	b.mu.Unlock()
	p, err := json.Marshal(params)
	if err != nil {
		return err
	}
	msg, err := json.Marshal(cdpMessage{ID: id, Method: method, Params: p, SessionID: session})
	if err != nil {
		return err
	}
	if _, err := b.w.Write(append(msg, 0)); err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	select {
	case m := <-ch:
		if m.Error != nil {
			return fmt.Errorf("%s: %s (%d)", method, m.Error.Message, m.Error.Code)
		}
		if out != nil {
			return json.Unmarshal(m.Result, out)
		}
		return nil
	case <-b.done:
		return fmt.Errorf("%s: chromium exited", method)
	case <-ctx.Done():
		return fmt.Errorf("%s: %w", method, ctx.Err())
	}
}

// eventCount returns how many events have been received so far.
func (b *browser) eventCount() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.events)
}

// waitEvent waits until an event of method for session has been received after the first
// `after` events.
func (b *browser) waitEvent(ctx context.Context, session, method string, after int) error {
	for {
		b.mu.Lock()
		for _, e := range b.events[after:] {
			if e.Method == method && e.SessionID == session {
				b.mu.Unlock()
				return nil
			}
		}
		arrived := b.arrived
		b.mu.Unlock()
		select {
		case <-arrived:
		case <-b.done:
			return fmt.Errorf("waiting for %s: chromium exited", method)
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", method, ctx.Err())
		}
	}
}

// eventsNamed returns the events of one method received so far.
func (b *browser) eventsNamed(method string) []cdpMessage {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []cdpMessage
	for _, e := range b.events {
		if e.Method == method {
			out = append(out, e)
		}
	}
	return out
}

func (b *browser) close(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = b.call(ctx, "", "Browser.close", struct{}{}, nil)
	_ = b.w.Close()
	exited := make(chan error, 1)
	go func() { exited <- b.cmd.Wait() }()
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		_ = b.cmd.Process.Kill()
		<-exited
	}
	if t.Failed() {
		t.Logf("chromium stderr:\n%s", b.stderr.String())
	}
}

// tab is one page of the browser, attached in flat mode.
type tab struct {
	b       *browser
	session string
}

func (b *browser) newTab(ctx context.Context, t *testing.T) *tab {
	t.Helper()
	var created struct {
		TargetID string `json:"targetId"`
	}
	require.NoError(t, b.call(ctx, "", "Target.createTarget", map[string]any{"url": "about:blank"}, &created))
	var attached struct {
		SessionID string `json:"sessionId"`
	}
	require.NoError(t, b.call(ctx, "", "Target.attachToTarget", map[string]any{"targetId": created.TargetID, "flatten": true}, &attached))
	tb := &tab{b: b, session: attached.SessionID}
	for _, domain := range []string{"Page.enable", "Runtime.enable", "Log.enable"} {
		require.NoError(t, tb.call(ctx, domain, struct{}{}, nil))
	}
	return tb
}

func (tb *tab) call(ctx context.Context, method string, params, out any) error {
	return tb.b.call(ctx, tb.session, method, params, out)
}

// viewport sets the page's size, as a phone (mobile) or a desktop.
func (tb *tab) viewport(ctx context.Context, t *testing.T, width, height int, mobile bool) {
	t.Helper()
	require.NoError(t, tb.call(ctx, "Emulation.setDeviceMetricsOverride", map[string]any{
		"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile,
	}, nil))
}

// navigate loads url in the tab and waits for the page's load event (Page.loadEventFired),
// which Chromium sends even when the page's scripts are disabled.
func (tb *tab) navigate(ctx context.Context, t *testing.T, url string) {
	t.Helper()
	seen := tb.b.eventCount()
	var nav struct {
		ErrorText string `json:"errorText"`
	}
	require.NoError(t, tb.call(ctx, "Page.navigate", map[string]any{"url": url}, &nav))
	require.Empty(t, nav.ErrorText)
	loaded, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	require.NoError(t, tb.b.waitEvent(loaded, tb.session, "Page.loadEventFired", seen))
}

// eval evaluates a JavaScript expression in the page and decodes its value into out.
func (tb *tab) eval(ctx context.Context, expr string, out any) error {
	var res struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text string `json:"text"`
		} `json:"exceptionDetails"`
	}
	if err := tb.call(ctx, "Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true}, &res); err != nil {
		return err
	}
	if res.ExceptionDetails != nil {
		return errors.New("evaluate: " + res.ExceptionDetails.Text)
	}
	if out == nil || len(res.Result.Value) == 0 {
		return nil
	}
	return json.Unmarshal(res.Result.Value, out)
}

// waitFor waits until a JavaScript expression is true. The page signals it: the expression is
// evaluated once, then again on every change of the document (a MutationObserver: every state,
// banner and snapshot the live script applies writes the DOM) and of its loading state, inside
// one promise that Runtime.evaluate awaits; no round trip per check, no interval. A navigation
// that replaces the document while waiting rejects the evaluation ("context destroyed"); the
// wait then starts again in the new document. In a tab whose scripts are disabled the observer
// never calls back, so there only the first evaluation counts: navigate has waited for the load.
func (tb *tab) waitFor(ctx context.Context, t *testing.T, what, expr string, timeout time.Duration) {
	t.Helper()
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	wait := `new Promise(function (resolve) {
	  function check() { try { return !!(` + expr + `); } catch (e) { return false; } }
	  function recheck() {
	    if (!check()) return;
	    observer.disconnect();
	    document.removeEventListener("readystatechange", recheck);
	    window.removeEventListener("load", recheck);
	    resolve(true);
	  }
	  var observer = new MutationObserver(recheck);
	  observer.observe(document, { subtree: true, childList: true, attributes: true, characterData: true });
	  document.addEventListener("readystatechange", recheck);
	  window.addEventListener("load", recheck);
	  recheck();
	})`
	var lastErr error
	for wctx.Err() == nil {
		var res struct {
			Result struct {
				Value bool `json:"value"`
			} `json:"result"`
			ExceptionDetails *struct {
				Text string `json:"text"`
			} `json:"exceptionDetails"`
		}
		lastErr = tb.call(wctx, "Runtime.evaluate", map[string]any{"expression": wait, "awaitPromise": true, "returnByValue": true}, &res)
		if lastErr == nil && res.ExceptionDetails != nil {
			lastErr = errors.New("evaluate: " + res.ExceptionDetails.Text)
		}
		if lastErr == nil && res.Result.Value {
			return
		}
	}
	t.Fatalf("waited %s for %s (%s): last error %v", timeout, what, expr, lastErr)
}

// screenshot saves the whole page (not only the viewport) as PNG.
func (tb *tab) screenshot(ctx context.Context, t *testing.T, path string) {
	t.Helper()
	var metrics struct {
		CSSContentSize struct {
			Width  float64 `json:"width"`
			Height float64 `json:"height"`
		} `json:"cssContentSize"`
	}
	require.NoError(t, tb.call(ctx, "Page.getLayoutMetrics", struct{}{}, &metrics))
	var shot struct {
		Data string `json:"data"`
	}
	require.NoError(t, tb.call(ctx, "Page.captureScreenshot", map[string]any{
		"format": "png", "captureBeyondViewport": true,
		"clip": map[string]any{"x": 0, "y": 0, "width": metrics.CSSContentSize.Width, "height": metrics.CSSContentSize.Height, "scale": 1},
	}, &shot))
	png, err := base64.StdEncoding.DecodeString(shot.Data)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, png, 0o644))
	t.Logf("screenshot: %s (%d bytes)", path, len(png))
}
