package ingest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/detectors"
	"github.com/outagewatch/outagewatch/ingest/assemble"
	"github.com/outagewatch/outagewatch/ingest/hosts"
	"github.com/outagewatch/outagewatch/ingest/wire"
	"github.com/outagewatch/outagewatch/internal/sdkfixtures"
)

// expected is what every call of a matrix cell must be counted as.
type expected struct {
	outcome  detectors.Outcome
	class    detectors.ErrorClass
	attempts int
	// blind says why the spans cannot show the fault (the instrumentation hides it): the
	// cell is then expected as the spans tell it.
	blind string
}

// truth is the expected count of the calls of a cell (stack, mode, fault): docs/normalisation.md
// has the table and says why.
func truth(stack, mode, fault string) expected {
	vercel := strings.HasPrefix(stack, "vercel-")
	openai := strings.HasPrefix(stack, "openai-")
	switch fault {
	case "ok":
		return expected{outcome: detectors.OutcomeOK, attempts: 1}
	case "overloaded":
		return expected{outcome: detectors.OutcomeError, class: detectors.ClassOverloaded, attempts: 3}
	case "rate_limited":
		return expected{outcome: detectors.OutcomeError, class: detectors.ClassRateLimited, attempts: 3}
	case "server_error":
		return expected{outcome: detectors.OutcomeError, class: detectors.ClassServerError, attempts: 3}
	case "cut_body":
		// A 200 whose body was cut: the response began, then the connection failed.
		e := expected{outcome: detectors.OutcomeTruncated, class: detectors.ClassNetwork, attempts: 1}
		if vercel && mode == "json" {
			e.attempts = 3 // the Vercel AI SDK retries a cut JSON body
		}
		return e
	case "stream_error":
		switch {
		case openai:
			// Both OpenAI instrumentations drop the LLM span: only the 200 attempt arrives.
			return expected{outcome: detectors.OutcomeIncomplete, attempts: 1}
		case vercel:
			// json: "Invalid JSON response" on a 200; stream: only finishReason "error".
			return expected{outcome: detectors.OutcomeTruncated, class: detectors.ClassOther, attempts: 1}
		case mode == "stream":
			return expected{outcome: detectors.OutcomeTruncated, class: detectors.ClassOverloaded, attempts: 1}
		default:
			return expected{outcome: detectors.OutcomeOK, attempts: 1,
				blind: "the Anthropic SDK returns an empty message for a JSON error body in a 200: no span fails"}
		}
	case "no_finish":
		switch {
		case vercel:
			// The SDK reports finishReason "other" (json) or "unknown": not a normal stop.
			return expected{outcome: detectors.OutcomeTruncated, class: detectors.ClassOther, attempts: 1}
		case mode == "json":
			return expected{outcome: detectors.OutcomeOK, attempts: 1}
		case stack == "openai-openllmetry":
			return expected{outcome: detectors.OutcomeOK, attempts: 1,
				blind: "OpenLLMetry reports finish_reasons [\"stop\"] on a stream that sent none"}
		default:
			return expected{outcome: detectors.OutcomeTruncated, attempts: 1}
		}
	}
	panic("unknown fault " + fault)
}

// TestSDKMatrix replays every cell of the fault matrix recorded from real SDK stacks
// (internal/sdkfixtures: the official OpenAI and Anthropic SDKs with OpenLLMetry and
// OpenInference, the Vercel AI SDK with its own telemetry; JSON and streaming; seven faults on
// every attempt; four calls a cell), each after the good calls of its stack (as an application
// makes them before a fault), and checks one call per SDK call, with the outcome, class and
// attempts of truth().
func TestSDKMatrix(t *testing.T) {
	cells, err := sdkfixtures.Matrix()
	require.NoError(t, err)
	okCells := map[string][]sdkfixtures.Cell{}
	for _, c := range cells {
		if c.Fault == "ok" {
			okCells[c.Stack] = append(okCells[c.Stack], c)
		}
	}
	var table strings.Builder
	table.WriteString("| stack | mode | cut_body | no_finish | ok | overloaded | rate_limited | server_error | stream_error |\n|---|---|---|---|---|---|---|---|---|\n")
	row := ""
	for _, cell := range cells {
		provider := "openai"
		if strings.Contains(cell.Stack, "anthropic") {
			provider = "anthropic"
		}
		cfg := DefaultConfig()
		cfg.ProviderHosts = map[string]string{cell.Host: provider}
		for _, ok := range okCells[cell.Stack] {
			cfg.ProviderHosts[ok.Host] = provider
		}
		a := assemble.New(assembleConfig(cfg, hosts.New()))
		dec := wireDecoder(cfg)
		now := time.Unix(1_782_000_000, 0)
		replayCell := func(c sdkfixtures.Cell) []detectors.Call {
			var calls []detectors.Call
			for _, body := range c.Requests {
				var b wire.Batch
				require.NoError(t, dec.DecodeProto(body, &b))
				calls = a.Add(now, b.Records, calls)
				now = now.Add(5 * time.Second)
				calls = a.Tick(now, calls)
			}
			return a.Tick(now.Add(time.Minute), calls)
		}
		for _, ok := range okCells[cell.Stack] {
			if ok.Mode != cell.Mode || cell.Fault != "ok" {
				replayCell(ok)
			}
		}
		calls := replayCell(cell)
		want := truth(cell.Stack, cell.Mode, cell.Fault)
		name := cell.Stack + "/" + cell.Mode + "/" + cell.Fault
		require.Len(t, calls, cell.Calls, "%s: one call per SDK call", name)
		for _, c := range calls {
			require.Equal(t, want.outcome, c.Outcome, name)
			require.Equal(t, want.class, c.ErrorClass, name)
			require.Equal(t, want.attempts, c.Attempts, "%s: attempts", name)
			require.Equal(t, provider, c.Provider, name)
			require.NotEqual(t, detectors.UnknownModel, c.Model, "%s: the model of the service's other calls when its span is missing", name)
			if c.Outcome == detectors.OutcomeIncomplete {
				require.Contains(t, c.ErrorMessage, "no LLM span after an HTTP 200", name)
			}
		}
		label := want.outcome.String()
		if want.class != detectors.ClassNone {
			label += " " + want.class.String()
		}
		if want.attempts > 1 {
			label += fmt.Sprintf(" ×%d", want.attempts)
		}
		if want.blind != "" {
			label += " (blind)"
		}
		key := cell.Stack + " | " + cell.Mode
		if !strings.HasPrefix(row, "| "+key+" |") {
			if row != "" {
				table.WriteString(row + "\n")
			}
			row = "| " + key + " |"
		}
		row += " " + label + " |"
	}
	table.WriteString(row + "\n")
	t.Logf("matrix:\n%s", table.String())
}
