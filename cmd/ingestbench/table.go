package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
)

// result is one measured run: a cell on one decode path.
type result struct {
	cell
	fast    bool
	load    loadReport
	peakRSS int64 // bytes
}

func (r result) path() string {
	if r.fast {
		return "fast"
	}
	return "pdata"
}

// header names the columns; each cell is padded to the column's width. The ratios are filled on
// fast rows only: fast spans/s over pdata's, and pdata's CPU per span over fast's, that is, fast
// spans per CPU second over pdata's. Above 1 the fast path is better.
var header = []string{
	"protocol", "spans/request", "path", "spans/s", "daemon CPU-s/M spans", "request bytes",
	"refused", "failed", "peak RSS MB", "fast/pdata spans/s", "fast/pdata spans/CPU-s",
}

// textColumns is how many leading columns are left-aligned; the numbers after them are
// right-aligned.
const textColumns = 3

// width is the width of column i: its header's, and at least that of "pdata".
func width(i int) int { return max(len(header[i]), len("pdata")) }

// table writes results as a Markdown table, a pair of rows as soon as a cell is measured, so that
// a long bench shows its progress and a failure keeps what was measured.
type table struct {
	w     io.Writer
	notes []string // last errors of runs with failures, written under the table
}

// newTable writes the header to w.
func newTable(w io.Writer) (*table, error) {
	t := &table{w: w}
	rule := make([]string, len(header))
	for i := range header {
		rule[i] = strings.Repeat("-", width(i))
		if i >= textColumns {
			rule[i] = rule[i][1:] + ":"
		}
	}
	if err := t.line(header); err != nil {
		return nil, err
	}
	return t, t.line(rule)
}

// addPair writes the rows of one cell, pdata then fast.
func (t *table) addPair(pdata, fast result) error {
	for _, r := range []result{pdata, fast} {
		if r.load.LastError != "" {
			t.notes = append(t.notes, fmt.Sprintf("%s, %s: %s", r.cell, r.path(), r.load.LastError))
		}
	}
	if err := t.line(row(pdata, nil)); err != nil {
		return err
	}
	return t.line(row(fast, &pdata))
}

// close writes the notes.
func (t *table) close() error {
	if len(t.notes) == 0 {
		return nil
	}
	_, err := fmt.Fprintf(t.w, "\nlast errors:\n- %s\n", strings.Join(t.notes, "\n- "))
	return err
}

func (t *table) line(cells []string) error {
	var b strings.Builder
	b.WriteString("|")
	for i, c := range cells {
		if i < textColumns {
			fmt.Fprintf(&b, " %-*s |", width(i), c)
		} else {
			fmt.Fprintf(&b, " %*s |", width(i), c)
		}
	}
	b.WriteString("\n")
	_, err := io.WriteString(t.w, b.String())
	return err
}

// row returns the cells of r; with the pdata result of the same cell it adds the ratios.
func row(r result, pdata *result) []string {
	cells := []string{
		r.protocol,
		strconv.Itoa(r.size),
		r.path(),
		strconv.FormatFloat(r.load.SpansPerSecond, 'f', 0, 64),
		optional(r.load.CPUPerMillionSpans),
		strconv.Itoa(r.load.RequestBytes),
		strconv.FormatInt(r.load.RequestsRefused, 10),
		strconv.FormatInt(r.load.RequestsFailed, 10),
		strconv.FormatFloat(float64(r.peakRSS)/(1<<20), 'f', 1, 64),
		"", "",
	}
	if pdata != nil {
		cells[9] = ratio(r.load.SpansPerSecond, pdata.load.SpansPerSecond)
		cells[10] = ratio(deref(pdata.load.CPUPerMillionSpans), deref(r.load.CPUPerMillionSpans))
	}
	return cells
}

func optional(v *float64) string {
	if v == nil {
		return "-"
	}
	return strconv.FormatFloat(*v, 'f', 2, 64)
}

func deref(v *float64) float64 {
	if v == nil {
		return 0
	}
	return *v
}

// ratio is num/den as "1.23x", or "-" unless both are positive.
func ratio(num, den float64) string {
	if !(num > 0 && den > 0) {
		return "-"
	}
	return strconv.FormatFloat(num/den, 'f', 2, 64) + "x"
}
