package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
)

// header names the report's columns, in the order row fills them.
var header = []string{
	"case", "peak RSS MiB", "ceiling MiB", "attack requests", "attacker saw",
	"legit exporters saw", "daemon requests", "legit spans sent", "legit spans accepted",
	"accepted share", "daemon spans accepted", "RSS", "legit",
}

// row returns the cells of r.
func row(cfg config, r result) []string {
	legitAnswers := map[string]int64{}
	for _, e := range r.legit {
		for code, n := range e.answers.counts() {
			legitAnswers[e.protocol+" "+code] += n
		}
	}
	return []string{
		r.name,
		mib(r.peakRSS),
		mib(r.ceiling),
		thousands(r.attack.answers.total()),
		formatCounts(r.attack.answers.counts()),
		formatCounts(legitAnswers),
		formatCounts(r.daemonRequests),
		thousands(r.legitSent()),
		thousands(r.legitAccepted()),
		strconv.FormatFloat(100*r.share(), 'f', 2, 64) + "%",
		thousands(r.daemonAccepted),
		verdict(r.rssOK()),
		verdict(r.legitOK(cfg)),
	}
}

func mib(b int64) string { return strconv.FormatFloat(float64(b)/(1<<20), 'f', 1, 64) }

func verdict(ok bool) string {
	if ok {
		return "PASS"
	}
	return "FAIL"
}

// writeReport writes results as a Markdown table when cfg.Markdown is set, as one block of
// "column: value" lines per case otherwise, and then the notes: the targets, and any case in
// which the daemon counted fewer accepted spans than the exporters and the storm were told.
func writeReport(w io.Writer, cfg config, results []result) error {
	var b strings.Builder
	if cfg.Markdown {
		writeMarkdown(&b, cfg, results)
	} else {
		for i, r := range results {
			if i > 0 {
				b.WriteString("\n")
			}
			for j, cell := range row(cfg, r) {
				fmt.Fprintf(&b, "%-22s %s\n", header[j]+":", cell)
			}
		}
	}
	fmt.Fprintf(&b, "\ntargets: peak RSS under the %s MiB ceiling (memory.limit); at least %.2f%% of legitimate spans accepted, retried for up to %s\n",
		mib(cfg.MemoryLimit), 100*cfg.MinAccepted, cfg.RetryFor)
	b.WriteString("the daemon's request counts include the attack's last requests, abandoned by the attacker when the attack ended (counted refused or bad_request there, not by the attacker)\n")
	for _, r := range results {
		if told := r.legitAccepted() + r.attack.spansAccepted; r.daemonAccepted < told {
			fmt.Fprintf(&b, "%s: the daemon counted %s spans accepted, fewer than the %s its clients were told\n",
				r.name, thousands(r.daemonAccepted), thousands(told))
		}
		if r.daemonShed > 0 {
			fmt.Fprintf(&b, "%s: %s requests shed for memory (outagewatch_memory_shed_total)\n", r.name, thousands(r.daemonShed))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeMarkdown(b *strings.Builder, cfg config, results []result) {
	b.WriteString("| " + strings.Join(header, " | ") + " |\n|")
	for i := range header {
		if i == 0 || i == 4 || i == 5 || i == 6 {
			b.WriteString("---|")
		} else {
			b.WriteString("---:|")
		}
	}
	b.WriteString("\n")
	for _, r := range results {
		b.WriteString("| " + strings.Join(row(cfg, r), " | ") + " |\n")
	}
}
