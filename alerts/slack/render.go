package slack

import (
	"cmp"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	slackgo "github.com/slack-go/slack"

	"github.com/outagewatch/outagewatch/alerts"
	"github.com/outagewatch/outagewatch/incidents"
)

// Limits of what a message shows.
const (
	maxSampleError = 300 // characters of the sample error
	maxModels      = 10  // models listed before "and N more"
	maxClasses     = 5   // error classes listed
	maxHeader      = 150 // Slack's limit for a header block
)

// message is what is posted: Block Kit blocks and the fallback text notifications show.
type message struct {
	Text   string          `json:"text"`
	Blocks []slackgo.Block `json:"blocks"`
}

// renderer renders notifications, with links to the configured base URLs.
type renderer struct {
	links alerts.Links
}

// root renders the incident as its thread root shows it: what, how bad, since when, what
// fired, and where to look. A local incident's root also says whose failures they are and what
// that points to (localText), and, once they spread to the other callers, where they went.
func (r renderer) root(inc incidents.Incident, timeline []incidents.Event) message {
	header := fmt.Sprintf("%s %s %s", stateEmoji(inc), subject(inc), stateWord(inc))
	spread := inc.State == incidents.StateResolved && inc.Caller != "" && lastWidened(timeline)
	if spread {
		header = fmt.Sprintf(":twisted_rightwards_arrows: %s ended: the failures spread", subject(inc))
	}
	blocks := []slackgo.Block{
		slackgo.NewHeaderBlock(plain(truncate(header, maxHeader))),
		slackgo.NewSectionBlock(nil, r.fields(inc), nil),
	}
	if local := localText(inc, timeline); local != "" {
		blocks = append(blocks, slackgo.NewSectionBlock(mrkdwn(":dart: "+local), nil, nil))
	}
	if spread {
		blocks = append(blocks, slackgo.NewSectionBlock(mrkdwn(":twisted_rightwards_arrows: "+widenedText(inc)), nil, nil))
	}
	if vendor := vendorRootText(inc, timeline); vendor != "" {
		blocks = append(blocks, slackgo.NewSectionBlock(mrkdwn(vendor), nil, nil))
	}
	for i, ev := range firing(timeline, inc.State == incidents.StateResolved) {
		blocks = append(blocks, slackgo.NewSectionBlock(mrkdwn(evidenceText(forIncident(inc, ev), i == 0)), nil, nil))
	}
	blocks = append(blocks, slackgo.NewContextBlock("", mrkdwn(r.linksText(inc))))
	text := fmt.Sprintf("%s %s (%s): %s, since %s", subject(inc), stateWord(inc), inc.Severity,
		modelList(inc.Models, false), fallbackTime(inc.OpenedAt))
	if inc.State == incidents.StateResolved {
		text = fmt.Sprintf("%s recovered after %s: %s", subject(inc), alerts.Duration(inc.ResolvedAt.Sub(inc.OpenedAt)),
			modelList(inc.Models, false))
	}
	if spread {
		text = fmt.Sprintf("%s ended after %s: the failures spread beyond %s: see the %s incident", subject(inc),
			alerts.Duration(inc.ResolvedAt.Sub(inc.OpenedAt)), parseCaller(inc.Caller).label(), inc.Provider)
	}
	return message{Text: text, Blocks: blocks}
}

// forIncident returns ev as incident inc shows it: a local incident says whose failures they are
// once, in its verdict, so its evidence does not repeat it.
func forIncident(inc incidents.Incident, ev incidents.Event) incidents.Event {
	if inc.Caller != "" {
		ev.Evidence.ConfinedTo = ""
	}
	return ev
}

// fields are the root's facts, two columns wide.
func (r renderer) fields(inc incidents.Incident) []*slackgo.TextBlockObject {
	state := string(inc.State)
	switch inc.State {
	case incidents.StateAcknowledged:
		state = "acknowledged by " + escape(inc.AcknowledgedBy)
	case incidents.StateResolved:
		state = "resolved by " + escape(inc.ResolvedBy)
	}
	fields := []*slackgo.TextBlockObject{
		mrkdwn("*Models*\n" + modelList(inc.Models, true)),
		mrkdwn("*Severity*\n" + string(inc.Severity)),
		mrkdwn("*State*\n" + state),
		mrkdwn("*Since*\n" + slackDate(inc.OpenedAt)),
	}
	if inc.State == incidents.StateResolved {
		fields = append(fields, mrkdwn("*Duration*\n"+alerts.Duration(inc.ResolvedAt.Sub(inc.OpenedAt))))
	}
	if len(inc.Detectors) > 0 {
		fields = append(fields, mrkdwn("*Detectors*\n"+escape(strings.Join(inc.Detectors, ", "))))
	}
	if peak := peakText(inc.Peak); peak != "" {
		fields = append(fields, mrkdwn("*Peak*\n"+peak))
	}
	return fields
}

// event renders a timeline event as a reply (or, in webhook mode, a message of its own).
func (r renderer) event(inc incidents.Incident, ev incidents.Event) message {
	series := inc.Provider
	if ev.Model != "" {
		series += "/" + ev.Model
	}
	who := subject(inc)
	var line, text string
	switch ev.Kind {
	case incidents.EventEscalated:
		line = fmt.Sprintf(":arrow_up: *%s* escalated to *%s*", escape(who), ev.Severity)
		text = fmt.Sprintf("%s escalated to %s", who, ev.Severity)
	case incidents.EventDeescalated:
		line = fmt.Sprintf(":arrow_down: *%s* de-escalated to *%s*", escape(who), ev.Severity)
		text = fmt.Sprintf("%s de-escalated to %s", who, ev.Severity)
	case incidents.EventAcknowledged:
		line = fmt.Sprintf(":eyes: *%s* acknowledged by %s", escape(who), escape(ev.Actor))
		text = fmt.Sprintf("%s acknowledged by %s", who, ev.Actor)
	case incidents.EventResolved:
		line = fmt.Sprintf(":white_check_mark: *%s* resolved by %s", escape(who), escape(ev.Actor))
		text = fmt.Sprintf("%s resolved by %s", who, ev.Actor)
	case incidents.EventVendorPosted, incidents.EventVendorResolved:
		line, text = vendorEvent(inc, ev)
	default:
		if inc.Caller != "" {
			series += " for " + parseCaller(inc.Caller).label()
		}
		line = fmt.Sprintf("%s `%s` %s → *%s*", seriesEmoji(ev.To), code(series), ev.From, ev.To)
		text = fmt.Sprintf("%s: %s → %s", series, ev.From, ev.To)
		if inc.Caller != "" && widened(ev) {
			line = fmt.Sprintf(":twisted_rightwards_arrows: `%s` local verdict ended: %s", code(series), widenedText(inc))
			text = fmt.Sprintf("%s: the failures spread beyond %s: see the %s incident", series, parseCaller(inc.Caller).label(), inc.Provider)
		}
	}
	blocks := []slackgo.Block{slackgo.NewSectionBlock(mrkdwn(line), nil, nil)}
	if ev.Evidence.Detector != "" && !widened(ev) {
		blocks = append(blocks, slackgo.NewSectionBlock(mrkdwn(evidenceText(forIncident(inc, ev), true)), nil, nil))
	}
	blocks = append(blocks, slackgo.NewContextBlock("", mrkdwn(slackDate(ev.At))))
	return message{Text: text, Blocks: blocks}
}

// resolution renders the reply that closes the thread; ev is the resolution's event. A local
// incident whose failures spread to the other callers says so, and points to the provider's
// incident.
func (r renderer) resolution(inc incidents.Incident, ev incidents.Event) message {
	end := inc.ResolvedAt
	if end.IsZero() {
		end = inc.UpdatedAt
	}
	took := alerts.Duration(end.Sub(inc.OpenedAt))
	who := subject(inc)
	line := fmt.Sprintf(":white_check_mark: *%s* recovered after *%s*", escape(who), took)
	text := fmt.Sprintf("%s recovered after %s", who, took)
	switch {
	case inc.ResolvedBy != "" && inc.ResolvedBy != incidents.Actor:
		line = fmt.Sprintf(":white_check_mark: *%s* resolved by %s after *%s*", escape(who), escape(inc.ResolvedBy), took)
	case inc.Caller != "" && widened(ev):
		line = fmt.Sprintf(":twisted_rightwards_arrows: *%s* ended after *%s*: %s", escape(who), took, widenedText(inc))
		text = fmt.Sprintf("%s ended after %s: the failures spread beyond %s: see the %s incident", who, took,
			parseCaller(inc.Caller).label(), inc.Provider)
	}
	if peak := peakText(inc.Peak); peak != "" {
		line += "\nPeak: " + peak
	}
	return message{
		Text: text,
		Blocks: []slackgo.Block{
			slackgo.NewSectionBlock(mrkdwn(line), nil, nil),
			slackgo.NewContextBlock("", mrkdwn(r.linksText(inc))),
		},
	}
}

// linksText links to the dashboard, the health API and the incident, where their base URLs are
// configured.
func (r renderer) linksText(inc incidents.Incident) string {
	var links []string
	if base := strings.TrimSuffix(r.links.GrafanaURL, "/"); base != "" {
		u := base + "/d/outagewatch-provider?var-provider=" + url.QueryEscape(inc.Provider)
		links = append(links, link(u, "Grafana dashboard"))
	}
	incident := fmt.Sprintf("Incident #%d", inc.ID)
	if base := strings.TrimSuffix(r.links.APIURL, "/"); base != "" {
		links = append(links, link(base+"/v1/health/"+url.PathEscape(inc.Provider), "Health API"))
		incident = link(fmt.Sprintf("%s/v1/incidents/%d", base, inc.ID), incident)
	}
	return strings.Join(append(links, incident), " · ")
}

// maxFiring bounds the series whose evidence the root shows.
const maxFiring = 3

// firing returns the events whose evidence the root shows: the latest of each series still
// failing, down before degraded; for a resolved incident, or when none is failing, the event
// that opened it.
func firing(timeline []incidents.Event, resolved bool) []incidents.Event {
	latest := map[string]incidents.Event{}
	var first []incidents.Event
	for _, ev := range timeline {
		if ev.Kind != incidents.EventOpened && ev.Kind != incidents.EventTransition {
			continue
		}
		latest[ev.Model] = ev
		if len(first) == 0 && ev.Evidence.Detector != "" {
			first = []incidents.Event{ev}
		}
	}
	if resolved {
		return first
	}
	var out []incidents.Event
	for _, ev := range latest {
		if ev.Evidence.Detector != "" && (ev.To == "down" || ev.To == "degraded") {
			out = append(out, ev)
		}
	}
	if len(out) == 0 {
		return first
	}
	slices.SortFunc(out, func(a, b incidents.Event) int {
		return cmp.Or(cmp.Compare(b.To, a.To), cmp.Compare(a.ID, b.ID)) // "down" > "degraded"
	})
	return out[:min(len(out), maxFiring)]
}

// evidenceText shows the figures that fired against the baseline, the error-class mix and, with
// sample, one sample error.
func evidenceText(ev incidents.Event, sample bool) string {
	e := ev.Evidence
	on := ""
	if ev.Model != "" {
		on = fmt.Sprintf(" on `%s`", code(ev.Model))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "*%s*%s: *%s* observed vs %s baseline", escape(e.Detector), on, percent(e.Observed), percent(e.Baseline))
	fmt.Fprintf(&b, " · %s of %s calls over %s", thousands(e.Events), thousands(e.SampleSize),
		alerts.Duration(time.Duration(e.Window*float64(time.Second))))
	if e.CallRate > 0 {
		fmt.Fprintf(&b, " · %s calls/s", strconv.FormatFloat(e.CallRate, 'f', -1, 64))
	}
	if mix := classMix(e.Classes); mix != "" {
		b.WriteString("\n*Errors*: " + mix)
	}
	for i, c := range e.Callers {
		sep := ", "
		if i == 0 {
			sep = "\n*By caller*: "
		}
		fmt.Fprintf(&b, "%s`%s` %d of %d", sep, code(c.Service), c.Failures, c.Calls)
	}
	for i, c := range e.Endpoints {
		sep := ", "
		if i == 0 {
			sep = "\n*By endpoint*: "
		}
		fmt.Fprintf(&b, "%s`%s` %d of %d", sep, code(c.Endpoint), c.Failures, c.Calls)
	}
	if e.ConfinedTo != "" {
		c := parseCaller(e.ConfinedTo)
		if c.kind == kindEndpoint {
			fmt.Fprintf(&b, "\n*Only `%s` fails*: the other endpoints are at their baseline; likely that region or deployment", code(c.name))
		} else {
			fmt.Fprintf(&b, "\n*Only `%s` fails*: the other services are at their baseline; likely its own network, key or deploy", code(c.name))
		}
	}
	if sample && e.SampleError != "" {
		b.WriteString("\n```" + strings.ReplaceAll(escape(truncate(e.SampleError, maxSampleError)), "`", "'") + "```")
	}
	return b.String()
}

// classMix lists the most frequent error classes with their shares.
func classMix(classes map[string]int) string {
	total := 0
	for _, n := range classes {
		total += n
	}
	if total == 0 {
		return ""
	}
	names := slices.SortedFunc(maps.Keys(classes), func(a, b string) int {
		return cmp.Or(cmp.Compare(classes[b], classes[a]), cmp.Compare(a, b))
	})
	var parts []string
	for _, name := range names[:min(len(names), maxClasses)] {
		parts = append(parts, fmt.Sprintf("%s %s (%s)", escape(name), thousands(classes[name]),
			percent(float64(classes[name])/float64(total))))
	}
	if len(names) > maxClasses {
		parts = append(parts, fmt.Sprintf("%d more", len(names)-maxClasses))
	}
	return strings.Join(parts, ", ")
}

// peakText shows the worst figures of the incident that are not zero.
func peakText(p incidents.Peak) string {
	var parts []string
	for _, f := range [...]struct {
		name string
		v    float64
	}{{"errors", p.ErrorRate}, {"truncated", p.TruncationRate}, {"429s", p.RateLimitRate}} {
		if f.v > 0 {
			parts = append(parts, f.name+" "+percent(f.v))
		}
	}
	return strings.Join(parts, ", ")
}

func stateWord(inc incidents.Incident) string {
	switch {
	case inc.State == incidents.StateResolved:
		return "recovered"
	case inc.Severity == incidents.SeverityCritical:
		return "is down"
	default:
		return "is degraded"
	}
}

func stateEmoji(inc incidents.Incident) string {
	switch {
	case inc.State == incidents.StateResolved:
		return ":white_check_mark:"
	case inc.State == incidents.StateAcknowledged:
		return ":eyes:"
	case inc.Severity == incidents.SeverityCritical:
		return ":red_circle:"
	default:
		return ":large_orange_circle:"
	}
}

func seriesEmoji(state string) string {
	switch state {
	case "down":
		return ":red_circle:"
	case "degraded":
		return ":large_orange_circle:"
	case "healthy":
		return ":large_green_circle:"
	default:
		return ":white_circle:"
	}
}

// modelList names the models; "" is the provider's own series.
func modelList(models []string, markup bool) string {
	if len(models) == 0 {
		return "all models"
	}
	var names []string
	for _, m := range models[:min(len(models), maxModels)] {
		switch {
		case m == "":
			names = append(names, "all models")
		case markup:
			names = append(names, "`"+code(m)+"`")
		default:
			names = append(names, m)
		}
	}
	if len(models) > maxModels {
		names = append(names, fmt.Sprintf("and %d more", len(models)-maxModels))
	}
	return strings.Join(names, ", ")
}

// slackDate shows t in each reader's time zone, with a UTC fallback.
func slackDate(t time.Time) string {
	return fmt.Sprintf("<!date^%d^{date_short_pretty} {time}|%s>", t.Unix(), fallbackTime(t))
}

func fallbackTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

func percent(f float64) string { return strconv.FormatFloat(f*100, 'f', 1, 64) + "%" }

// thousands groups the digits of n: 12,345.
func thousands(n int) string {
	s := strconv.Itoa(n)
	if n < 0 {
		return "-" + thousands(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func link(u, label string) string { return "<" + u + "|" + label + ">" }

// escape makes text safe in mrkdwn: &, < and > would start entities, links and mentions.
func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// code makes s safe inside `code`.
func code(s string) string { return strings.ReplaceAll(escape(s), "`", "'") }

// truncate cuts s to n characters, marking the cut with an ellipsis.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

func plain(s string) *slackgo.TextBlockObject {
	return slackgo.NewTextBlockObject(slackgo.PlainTextType, s, true, false)
}

func mrkdwn(s string) *slackgo.TextBlockObject {
	return slackgo.NewTextBlockObject(slackgo.MarkdownType, s, false, false)
}
