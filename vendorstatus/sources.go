package vendorstatus

// DefaultSources are the pages of the providers outagewatch knows, with their components mapped.
// The component names were read from public copies of the pages' JSON (snapshots in other
// projects' code and fixtures, 2026-07 to 2026-10), not fetched live from here: a renamed
// component only stops matching (it is then kept unmapped, or ignored for Google), it breaks
// nothing. Each slice is new on every call: a caller may change it.
func DefaultSources() []Source {
	return []Source{anthropicSource(), openAISource(), vertexSource()}
}

// anthropicSource: status.anthropic.com redirects to status.claude.com (Atlassian Statuspage,
// page "Claude"), which is read directly. Its components (2026-10): "claude.ai", "Claude Console
// (platform.claude.com)", "Claude API (api.anthropic.com)", "Claude Code", "Claude Cowork",
// "Claude for Government". No component names a model: a model's trouble is posted as an
// incident ("Elevated errors on Claude Opus 4.5"), so the model mappings match incident names.
func anthropicSource() Source {
	return Source{
		Provider: "anthropic",
		Format:   FormatStatuspage,
		URL:      "https://status.claude.com",
		Page:     "https://status.claude.com",
		Components: []Mapping{
			// the API itself stands for the whole provider
			{Component: "Claude API*"},
			// model families as incident names (and any future component) name them
			{Component: "*Opus*", Models: []string{"claude-opus-*", "claude-3-opus*"}},
			{Component: "*Sonnet*", Models: []string{"claude-sonnet-*", "claude-3-*sonnet*"}},
			{Component: "*Haiku*", Models: []string{"claude-haiku-*", "claude-3-*haiku*"}},
		},
	}
}

// openAISource: status.openai.com is an incident.io page. Its Statuspage-compatible
// summary.json lists components such as "Chat Completions", "Responses", "Embeddings", "Batch",
// "Files", "Fine-tuning", "Moderations", "Realtime", "Audio", "Images", "Codex", "Sora", "Login"
// (2026-07..10 snapshots); ChatGPT's own components ("Conversations", "Voice mode", ...) stay
// unmapped.
func openAISource() Source {
	return Source{
		Provider: "openai",
		Format:   FormatIncidentIO,
		URL:      "https://status.openai.com",
		Page:     "https://status.openai.com",
		Components: []Mapping{
			{Component: "API*"},
			{Component: "Chat Completions"},
			{Component: "Responses"},
			{Component: "Batch"},
			{Component: "Files"},
			{Component: "Fine-tuning"},
			{Component: "Moderations"},
			{Component: "Codex API"},
			{Component: "Embeddings", Models: []string{"text-embedding-*"}},
			{Component: "Realtime", Models: []string{"*realtime*"}},
			{Component: "Audio", Models: []string{"whisper-*", "tts-*", "*transcribe*", "*-tts*", "*audio*"}},
			{Component: "Images", Models: []string{"gpt-image-*", "dall-e-*"}},
			{Component: "Sora", Models: []string{"sora-*"}},
			{Component: "Video generation", Models: []string{"sora-*"}},
			// model families as incident names name them
			{Component: "*GPT-5*", Models: []string{"gpt-5*"}},
			{Component: "*GPT-4o*", Models: []string{"gpt-4o*"}},
			{Component: "*GPT-4.1*", Models: []string{"gpt-4.1*"}},
		},
	}
}

// vertexSource: Google Cloud's incidents.json lists every Google Cloud product; only these
// count. "Vertex Gemini API" and "Vertex AI Online Prediction" are products of
// status.cloud.google.com/products.json (seen 2026-10); Google is renaming products (a title and
// a current_title), so both old and new names may be needed. outagewatch's provider for Vertex
// calls is "gcp.vertex_ai" (ingest/normalize); the Gemini Developer API ("gcp.gemini",
// generativelanguage.googleapis.com) has no product on this page and no source here.
func vertexSource() Source {
	return Source{
		Provider: "gcp.vertex_ai",
		Format:   FormatGoogle,
		URL:      "https://status.cloud.google.com/incidents.json",
		Page:     "https://status.cloud.google.com",
		Components: []Mapping{
			{Component: "Vertex Gemini API", Models: []string{"gemini-*"}},
			{Component: "Vertex AI Online Prediction"},
			{Component: "Vertex AI"},
		},
	}
}
