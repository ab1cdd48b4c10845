package main

import (
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/outagewatch/outagewatch/detectors"
)

// delaySummary aggregates one rule's delays over the runs of a cell.
type delaySummary struct {
	mean                     float64 // over the detected runs; NaN when none
	n, detected, missed, pre int
}

func summarize(delays []float64, pre []bool) delaySummary {
	s := delaySummary{n: len(delays)}
	sum := 0.0
	for i, d := range delays {
		switch {
		case pre[i]:
			s.pre++
		case math.IsNaN(d):
			s.missed++
		default:
			s.detected++
			sum += d
		}
	}
	s.mean = math.NaN()
	if s.detected > 0 {
		s.mean = sum / float64(s.detected)
	}
	return s
}

// String is the table cell: the mean delay in seconds, "never" when no run alarmed, "on"
// when every run was already alarmed at the change, with the count of missed and already
// alarmed runs when there are some.
func (s delaySummary) String() string {
	switch {
	case s.n == 0:
		return ""
	case s.pre == s.n:
		return "on"
	case s.detected == 0:
		return "never"
	}
	var notes []string
	if s.missed > 0 {
		notes = append(notes, fmt.Sprintf("%d miss", s.missed))
	}
	if s.pre > 0 {
		notes = append(notes, fmt.Sprintf("%d on", s.pre))
	}
	if len(notes) == 0 {
		return seconds(s.mean)
	}
	return seconds(s.mean) + " (" + strings.Join(notes, ", ") + ")"
}

// seconds formats a duration in seconds with about three significant digits.
func seconds(v float64) string {
	switch {
	case v < 10:
		return strconv.FormatFloat(v, 'f', 2, 64)
	case v < 100:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 0, 64)
}

func percent(p float64) string { return strconv.FormatFloat(p*100, 'f', -1, 64) + "%" }

func rate(r float64) string { return strconv.FormatFloat(r, 'f', -1, 64) }

// column returns the delays and pre flags of rule i over runs.
func column[R any](runs []R, get func(*R) (float64, bool)) ([]float64, []bool) {
	d, p := make([]float64, len(runs)), make([]bool, len(runs))
	for j := range runs {
		d[j], p[j] = get(&runs[j])
	}
	return d, p
}

// engineIndex returns the engine's column, or -1.
func (r *results) engineIndex() int {
	for i, k := range r.kinds {
		if k.name == engineName {
			return i
		}
	}
	return -1
}

// rows builds the table: a header and one row per delay cell, false-alarm cell and scenario.
func (r *results) rows() [][]string {
	head := []string{"scenario", "λ/s", "p0", "p1"}
	for _, k := range r.kinds {
		head = append(head, k.name)
	}
	head = append(head, "optimum", "bound", "eng/opt")
	out := [][]string{head}
	eng := r.engineIndex()
	for _, d := range r.delays {
		row := []string{"step", rate(d.cell.rate), percent(d.cell.p0), percent(d.cell.p1)}
		var engMean float64
		for i := range r.kinds {
			s := summarize(column(d.runs, func(x *delayRun) (float64, bool) { return x.delay[i], x.pre[i] }))
			row = append(row, s.String())
			if i == eng && s.missed == 0 && s.pre == 0 {
				engMean = s.mean
			}
		}
		opt, _ := lookup(&optimumTable, d.cell.p0, d.cell.p1, d.cell.rate)
		bound, _ := lookup(&boundTable, d.cell.p0, d.cell.p1, d.cell.rate)
		ratio := ""
		if engMean > 0 && opt > 0 {
			ratio = strconv.FormatFloat(engMean/opt, 'f', 2, 64) + "×"
		}
		out = append(out, append(row, seconds(opt), seconds(bound), ratio))
	}
	for _, n := range r.noise {
		row := []string{"false alarms/30d", rate(n.cell.rate), percent(n.cell.p0), ""}
		for i := range r.kinds {
			cell := perMonth(n.run.onsets[i], n.days)
			if i == eng && len(n.run.causes) > 0 {
				cell += " " + causes(n.run.causes)
			}
			row = append(row, cell)
		}
		out = append(out, append(row, "", "≤"+strconv.Itoa(falseAlarmBar), ""))
	}
	for _, s := range r.scenarios {
		row := []string{s.def.name, rate(s.rate), percent(scenarioP0), ""}
		for i := range r.kinds {
			if i == eng {
				row = append(row, engineSummary(s.runs))
				continue
			}
			sum := summarize(column(s.runs, func(x *scenarioRun) (float64, bool) { return x.first[i], x.pre[i] }))
			row = append(row, sum.String())
		}
		out = append(out, append(row, "", "", ""))
	}
	return out
}

// causes lists the engine's alarm onsets by detector: "[error_rate:1 latency:2]".
func causes(m map[detectors.Detector]int) string {
	keys := slices.Sorted(maps.Keys(m))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s:%d", k, m[k])
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// perMonth scales a count over days to 30 days.
func perMonth(n, days int) string {
	if days == 30 {
		return strconv.Itoa(n)
	}
	return strconv.FormatFloat(float64(n)*30/float64(days), 'f', 1, 64)
}

// engineSummary describes what the engine's model series did after a scenario's change: the
// most common sequence of states with the mean time of each step ("degraded(truncation) +41 s
// → healthy +1200 s"), and how many runs followed it when not all did.
func engineSummary(runs []scenarioRun) string {
	if len(runs) == 0 || !runs[0].engine {
		return ""
	}
	counts := map[string]int{}
	best, bestN := "", 0
	for i := range runs {
		k := pathKey(runs[i])
		counts[k]++
		if counts[k] > bestN {
			best, bestN = k, counts[k]
		}
	}
	var same []scenarioRun
	for i := range runs {
		if pathKey(runs[i]) == best {
			same = append(same, runs[i])
		}
	}
	out := describePath(same)
	if bestN < len(runs) {
		out += fmt.Sprintf(" [%d/%d]", bestN, len(runs))
	}
	return out
}

func pathKey(r scenarioRun) string {
	var b strings.Builder
	b.WriteString(r.atChange.String())
	for _, s := range r.path {
		b.WriteString(">" + s.to.String())
	}
	return b.String()
}

// describePath renders the common path of runs, which all have the same states.
func describePath(runs []scenarioRun) string {
	first := runs[0]
	if len(first.path) == 0 {
		return "stays " + first.atChange.String()
	}
	if len(first.path) > 4 {
		counts := map[detectors.State]int{}
		for _, s := range first.path {
			counts[s.to]++
		}
		var parts []string
		for _, st := range detectors.States() {
			if counts[st] > 0 {
				parts = append(parts, fmt.Sprintf("%s×%d", st, counts[st]))
			}
		}
		return fmt.Sprintf("%d transitions: %s", len(first.path), strings.Join(parts, " "))
	}
	parts := make([]string, len(first.path))
	for j, s := range first.path {
		sum := 0.0
		for _, r := range runs {
			sum += r.path[j].after
		}
		name := s.to.String()
		if s.to == detectors.StateDegraded || s.to == detectors.StateDown {
			name += "(" + string(s.detector) + ")"
		}
		parts[j] = fmt.Sprintf("%s +%ss", name, seconds(sum/float64(len(runs))))
	}
	return strings.Join(parts, " → ")
}

// write renders the tables as aligned text or Markdown, each followed by its legend: the main
// table (left out when only the engine-only sections were asked for), the cold-start table and
// the callers table.
func (r *results) write(w io.Writer, markdown bool) error {
	main := len(r.delays)+len(r.noise)+len(r.scenarios) > 0 || len(r.cold)+len(r.callers) == 0
	var tables []func() error
	if main {
		tables = append(tables, func() error {
			if err := writeRows(w, r.rows(), markdown); err != nil {
				return err
			}
			_, err := io.WriteString(w, r.legend(markdown))
			return err
		})
	}
	if len(r.cold) > 0 {
		tables = append(tables, func() error { return r.writeCold(w, markdown) })
	}
	if len(r.callers) > 0 {
		tables = append(tables, func() error {
			if err := writeRows(w, r.callersRows(), markdown); err != nil {
				return err
			}
			_, err := io.WriteString(w, r.callersLegend(markdown, !main))
			return err
		})
	}
	for i, t := range tables {
		if i > 0 {
			if _, err := io.WriteString(w, "\n"); err != nil {
				return err
			}
		}
		if err := t(); err != nil {
			return err
		}
	}
	return nil
}

// writeCold renders the cold-start table and its legend.
func (r *results) writeCold(w io.Writer, markdown bool) error {
	if err := writeRows(w, r.coldRows(), markdown); err != nil {
		return err
	}
	_, err := io.WriteString(w, r.coldLegend(markdown))
	return err
}

// writeRows renders rows (the first is the head) as a Markdown table or aligned text.
func writeRows(w io.Writer, rows [][]string, markdown bool) error {
	if markdown {
		writeMarkdown(w, rows)
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, row := range rows {
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	return tw.Flush()
}

// coldLegend explains the cold-start table.
func (r *results) coldLegend(markdown bool) string {
	var b strings.Builder
	b.WriteString("\n")
	bullet := ""
	if markdown {
		bullet = "- "
	}
	fmt.Fprintf(&b, bullet+"cold start: %s alone on series with no history, %d runs per delay cell (%d at λ<1), "+
		"\"(k miss)\": nothing within %s; \"(k on)\": alarmed before the fault; warm daemon: %s of the model's traffic first.\n",
		engineName, r.plan.runs, r.plan.runsFor(0.1), r.plan.set.cap, r.plan.set.warmup)
	for _, c := range coldColumns {
		fmt.Fprintf(&b, bullet+"%s: %s.\n", c.name, c.about)
	}
	return b.String()
}

func writeMarkdown(w io.Writer, rows [][]string) {
	for i, row := range rows {
		fmt.Fprintf(w, "| %s |\n", strings.Join(row, " | "))
		if i == 0 {
			fmt.Fprintf(w, "|%s\n", strings.Repeat("---|", len(row)))
		}
	}
}

// legend explains the table's columns and units.
func (r *results) legend(markdown bool) string {
	p := r.plan
	var b strings.Builder
	b.WriteString("\n")
	bullet := ""
	if markdown {
		bullet = "- "
	}
	line := func(format string, args ...any) { fmt.Fprintf(&b, bullet+format+"\n", args...) }
	line("step: mean seconds from the change p0→p1 to the first alarm over %d runs (%d at λ<1); "+
		"\"(k miss)\": no alarm within %s; \"on\": alarmed already at the change; warm-up ≥ %s at p0.",
		p.runs, p.runsFor(0.1), p.set.cap, p.set.warmup)
	line("optimum: Table A of docs/bench.md; bound: its closed-form delay bound; eng/opt: %s mean / optimum.", engineName)
	if p.days > 0 {
		line("false alarms: alarm onsets in %d days of p0 noise (after the warm-up) with a 3-attempt retry storm every ~%d requests, scaled to 30 days.",
			p.days, p.set.stormEvery)
	}
	if p.scenarios {
		line("scenarios (%d runs, p0 1%%, %s after the change): rules give their first alarm; %s its model series' "+
			"states (+seconds after the change), [k/n] when only k runs took that path.",
			p.scenarioRuns, p.set.horizon, engineName)
	}
	for _, k := range r.kinds {
		line("%s: %s.", k.name, k.about)
	}
	line("elapsed %s on %d worker(s).", r.elapsed.Round(1e8), p.workers)
	return b.String()
}
