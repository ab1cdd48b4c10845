package agentlogs

import (
	"encoding/json"
	"regexp"

	"github.com/outagewatch/outagewatch/ingest/normalize"
)

// emailPattern matches an email address, to be removed from error messages.
var emailPattern = regexp.MustCompile(`[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}`)

// maxScanned bounds the part of an error text looked at for the sample message.
const maxScanned = 4 * normalize.MaxErrorMessage

// errorMessage is the sample error message of a call: the error text with every email address
// replaced by "<email>", cut to normalize.MaxErrorMessage bytes as the span path cuts it.
func errorMessage(msg string) string {
	if msg == "" {
		return ""
	}
	msg = normalize.CapString(msg, maxScanned)
	msg = emailPattern.ReplaceAllString(msg, "<email>")
	return normalize.CapString(msg, normalize.MaxErrorMessage)
}

// responseFailed reduces the data of a Responses API response.failed event (the whole response,
// its instructions included) to its error: "code: message", or "response.failed" when it cannot
// be read. Nothing else of the response is kept.
func responseFailed(data string) string {
	var v struct {
		Response struct {
			Error struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		} `json:"response"`
	}
	if json.Unmarshal([]byte(data), &v) != nil {
		return "response.failed"
	}
	e := v.Response.Error
	switch {
	case e.Code != "" && e.Message != "":
		return e.Code + ": " + e.Message
	case e.Code != "" || e.Message != "":
		return e.Code + e.Message
	}
	return "response.failed"
}
