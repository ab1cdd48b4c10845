// Package slack is the Slack Notifier of the alert dispatcher, on github.com/slack-go/slack.
//
// In bot-token mode an incident is one thread: its first message is the thread root, updated in
// place (chat.update) as the incident changes; each transition is a reply in the thread, and the
// resolution is a reply and a last update of the root. In webhook mode (an incoming webhook URL)
// messages are plain, without threads, and root updates are not sent.
//
// Every bot message carries Slack message metadata (event type outagewatch_notification, with the
// incident and outbox IDs), so that a notification handed out again after a worker died is looked
// for (conversations.history, conversations.replies) before it is posted: a restart never posts a
// second root. Webhooks cannot be read back, so webhook mode delivers at least once.
//
// The package owns the messages (Block Kit, render.go) and the mapping of Slack's errors to the
// dispatcher's classes (Permanent, Unauthorized, RateLimited). It must not decide what to send or
// when: that is the dispatcher's (package alerts).
package slack
