package slack

import (
	"fmt"
	"github.com/outagewatch/outagewatch/alerts"
	"strings"
	"time"

	"github.com/outagewatch/outagewatch/incidents"
)

// Provider names as their companies write them; other providers are capitalised.
var providerNames = map[string]string{
	"anthropic": "Anthropic", "openai": "OpenAI", "azure-openai": "Azure OpenAI", "vertex": "Google Vertex AI",
	"gemini": "Google Gemini", "google": "Google", "bedrock": "Amazon Bedrock", "mistral": "Mistral",
	"cohere": "Cohere", "groq": "Groq", "xai": "xAI", "deepseek": "DeepSeek",
}

// providerName is how a message names provider: "Anthropic", "OpenAI".
func providerName(provider string) string {
	if name, ok := providerNames[provider]; ok {
		return name
	}
	if provider == "" {
		return "The provider"
	}
	return strings.ToUpper(provider[:1]) + provider[1:]
}

// vendorEvent renders the reply of the provider's post (vendor_posted) or of its resolution
// there (vendor_resolved): the line in mrkdwn and the fallback text. The post's time is the
// event's; the lead is counted from the incident's opening, which the event renderer has
// (the root counts it from the opening event).
func vendorEvent(inc incidents.Incident, ev incidents.Event) (line, text string) {
	who := providerName(inc.Provider)
	title, titleText := postTitle(inc.Vendor)
	at := ev.At.UTC().Format("15:04 UTC")
	if ev.Kind == incidents.EventVendorResolved {
		line = fmt.Sprintf(":ballot_box_with_check: *%s* resolved %s on its status page at %s", escape(who), title, at)
		text = fmt.Sprintf("%s resolved %s on its status page at %s", who, titleText, at)
		return line, text
	}
	lead := leadPhrase(ev.At.Sub(inc.OpenedAt))
	line = fmt.Sprintf(":loudspeaker: *%s* posted %s at %s, %s", escape(who), title, at, lead)
	text = fmt.Sprintf("%s posted %s at %s, %s", who, titleText, at, lead)
	return line, text
}

// postTitle names the post in quotes, linked to it in mrkdwn when its URL is known.
func postTitle(v incidents.VendorPost) (markup, text string) {
	if v.Name == "" {
		return "an incident", "an incident"
	}
	text = "“" + v.Name + "”"
	markup = "“" + escape(v.Name) + "”"
	if v.URL != "" {
		markup = link(strings.NewReplacer("|", "%7C", ">", "%3E").Replace(v.URL), markup)
	}
	return markup, text
}

// leadPhrase says how the provider's post compares with our detection: "6 min after
// outagewatch detected it", "3 min before outagewatch detected it".
func leadPhrase(lead time.Duration) string {
	d := lead.Abs().Round(time.Minute)
	if d < time.Minute {
		return "within a minute of outagewatch detecting it"
	}
	amount := fmt.Sprintf("%d min", int(d/time.Minute))
	if d >= time.Hour {
		amount = alerts.Duration(d)
	}
	if lead < 0 {
		return amount + " before outagewatch detected it"
	}
	return amount + " after outagewatch detected it"
}

// vendorRootText is the root's one line on the provider's post, "" while none is linked.
func vendorRootText(inc incidents.Incident, timeline []incidents.Event) string {
	v := inc.Vendor
	if !v.Linked() || v.PostedAt.IsZero() {
		return ""
	}
	detected := inc.OpenedAt
	for _, ev := range timeline {
		if ev.Kind == incidents.EventOpened {
			detected = ev.At
			break
		}
	}
	title, _ := postTitle(v)
	line := fmt.Sprintf(":loudspeaker: *Status page*: %s posted %s at %s, %s", escape(providerName(inc.Provider)), title,
		v.PostedAt.UTC().Format("15:04 UTC"), leadPhrase(v.PostedAt.Sub(detected)))
	if !v.ResolvedAt.IsZero() {
		line += "; resolved there at " + v.ResolvedAt.UTC().Format("15:04 UTC")
	}
	return line
}
