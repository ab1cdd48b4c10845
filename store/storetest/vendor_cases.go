package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/incidents"
)

func vendorCases() []testCase {
	return []testCase{
		{"vendor post linked to an active incident", testVendorActive},
		{"vendor post linked to a resolved incident", testVendorResolved},
		{"vendor post keeps the earliest posting", testVendorEarliest},
		{"vendor resolution recorded later", testVendorResolution},
		{"vendor post keeps the first link", testVendorFirstLink},
		{"vendor events and their outbox rows", testVendorEvents},
		{"vendor post read by every path", testVendorReadPaths},
	}
}

// post is the provider's post of Anthropic's outage at t0+6m.
var post = incidents.VendorPost{
	ID: "tqx3p6lqqd5k", Name: "Elevated errors on Claude Sonnet",
	URL: "https://status.anthropic.com/incidents/tqx3p6lqqd5k", PostedAt: t0.Add(6 * time.Minute),
}

// vendorEvent is the event of the provider's post (vendor_posted) or resolution.
func vendorEvent(kind incidents.EventKind, at time.Time) incidents.EventSpec {
	return incidents.EventSpec{
		Event: incidents.Event{
			At: at, Kind: kind, Provider: "anthropic", Actor: incidents.Actor,
			Severity: incidents.SeverityCritical,
		},
		Notify: []string{incidents.NotifyEvent, incidents.NotifyUpdate},
	}
}

// link is the change that links v to incident id at at.
func link(id int64, at time.Time, v incidents.VendorPost, events ...incidents.EventSpec) incidents.Change {
	return incidents.Change{IncidentID: id, At: at, Vendor: &v, Events: events}
}

func requireVendor(t *testing.T, want, got incidents.VendorPost) {
	t.Helper()
	require.Equal(t, want.ID, got.ID)
	require.Equal(t, want.Name, got.Name)
	require.Equal(t, want.URL, got.URL)
	if want.PostedAt.IsZero() {
		require.True(t, got.PostedAt.IsZero(), "posted at %s", got.PostedAt)
	} else {
		requireTime(t, want.PostedAt, got.PostedAt, "posted at")
	}
	if want.ResolvedAt.IsZero() {
		require.True(t, got.ResolvedAt.IsZero(), "resolved at %s", got.ResolvedAt)
	} else {
		requireTime(t, want.ResolvedAt, got.ResolvedAt, "resolved at")
	}
}

func testVendorActive(t *testing.T, s Store) {
	inc := apply(t, s, opening("anthropic", "claude-sonnet-4-5", t0))
	require.False(t, inc.Vendor.Linked(), "no post until one is linked")
	require.True(t, inc.Vendor.PostedAt.IsZero())

	linked := apply(t, s, link(inc.ID, t0.Add(7*time.Minute), post))
	require.Equal(t, incidents.StateOpen, linked.State)
	require.True(t, linked.Vendor.Linked())
	requireVendor(t, post, linked.Vendor)
	stored, _ := get(t, s, inc.ID)
	require.Equal(t, linked, stored, "Apply returns the incident as stored")
}

// testVendorResolved: the provider often posts after our incident resolved; the post is
// recorded on it, and it stays resolved with its resolution's time and author.
func testVendorResolved(t *testing.T, s Store) {
	inc := apply(t, s, opening("anthropic", "claude-sonnet-4-5", t0))
	apply(t, s, incidents.Change{IncidentID: inc.ID, At: t0.Add(4 * time.Minute), State: incidents.StateResolved})

	linked := apply(t, s, link(inc.ID, t0.Add(7*time.Minute), post,
		vendorEvent(incidents.EventVendorPosted, post.PostedAt)))
	require.Equal(t, incidents.StateResolved, linked.State)
	require.Equal(t, incidents.Actor, linked.ResolvedBy)
	requireTime(t, t0.Add(4*time.Minute), linked.ResolvedAt)
	requireVendor(t, post, linked.Vendor)

	got, events := get(t, s, inc.ID)
	require.Equal(t, incidents.StateResolved, got.State)
	requireVendor(t, post, got.Vendor)
	require.Equal(t, incidents.EventVendorPosted, events[len(events)-1].Kind)
	active, err := s.Active(t.Context())
	require.NoError(t, err)
	require.Empty(t, active, "the post does not reopen the incident")
}

func testVendorEarliest(t *testing.T, s Store) {
	inc := apply(t, s, opening("anthropic", "claude-sonnet-4-5", t0))
	later := post
	later.PostedAt = t0.Add(9 * time.Minute)
	earlier := post
	earlier.PostedAt = t0.Add(3 * time.Minute)

	apply(t, s, link(inc.ID, t0.Add(10*time.Minute), later))
	got := apply(t, s, link(inc.ID, t0.Add(11*time.Minute), earlier))
	requireTime(t, earlier.PostedAt, got.Vendor.PostedAt, "the earlier posting wins")
	got = apply(t, s, link(inc.ID, t0.Add(12*time.Minute), later))
	requireTime(t, earlier.PostedAt, got.Vendor.PostedAt, "a later posting does not replace it")
	got = apply(t, s, link(inc.ID, t0.Add(13*time.Minute), incidents.VendorPost{ID: post.ID}))
	requireTime(t, earlier.PostedAt, got.Vendor.PostedAt, "a zero posting changes nothing")
}

func testVendorResolution(t *testing.T, s Store) {
	inc := apply(t, s, opening("anthropic", "claude-sonnet-4-5", t0))
	apply(t, s, link(inc.ID, t0.Add(7*time.Minute), post))

	resolved := apply(t, s, link(inc.ID, t0.Add(time.Hour), incidents.VendorPost{ResolvedAt: t0.Add(55 * time.Minute)}))
	want := post
	want.ResolvedAt = t0.Add(55 * time.Minute)
	requireVendor(t, want, resolved.Vendor)
	require.Equal(t, incidents.StateOpen, resolved.State, "the provider's resolution is not ours")

	got := apply(t, s, link(inc.ID, t0.Add(2*time.Hour), incidents.VendorPost{ResolvedAt: t0.Add(50 * time.Minute)}))
	requireTime(t, want.ResolvedAt, got.Vendor.ResolvedAt, "the latest resolution is kept")
	got = apply(t, s, link(inc.ID, t0.Add(3*time.Hour), incidents.VendorPost{ResolvedAt: t0.Add(80 * time.Minute)}))
	requireTime(t, t0.Add(80*time.Minute), got.Vendor.ResolvedAt, "a later resolution replaces it")
	got = apply(t, s, link(inc.ID, t0.Add(4*time.Hour), incidents.VendorPost{}))
	requireTime(t, t0.Add(80*time.Minute), got.Vendor.ResolvedAt, "a zero resolution changes nothing")
	requireVendor(t, incidents.VendorPost{
		ID: post.ID, Name: post.Name, URL: post.URL, PostedAt: post.PostedAt, ResolvedAt: t0.Add(80 * time.Minute),
	}, got.Vendor)
}

func testVendorFirstLink(t *testing.T, s Store) {
	inc := apply(t, s, opening("anthropic", "claude-sonnet-4-5", t0))
	apply(t, s, link(inc.ID, t0.Add(7*time.Minute), post))
	other := incidents.VendorPost{
		ID: "other", Name: "Elevated errors on Claude Opus", URL: "https://status.anthropic.com/incidents/other",
		PostedAt: t0.Add(8 * time.Minute),
	}
	got := apply(t, s, link(inc.ID, t0.Add(9*time.Minute), other))
	requireVendor(t, post, got.Vendor)

	// A change without Vendor leaves the post alone.
	c := opening("anthropic", "claude-opus-4-1", t0.Add(10*time.Minute))
	c.IncidentID = inc.ID
	got = apply(t, s, c)
	requireVendor(t, post, got.Vendor)
}

func testVendorEvents(t *testing.T, s Store) {
	inc := apply(t, s, opening("anthropic", "claude-sonnet-4-5", t0))
	apply(t, s, link(inc.ID, t0.Add(7*time.Minute), post, vendorEvent(incidents.EventVendorPosted, post.PostedAt)))
	resolvedAt := t0.Add(55 * time.Minute)
	apply(t, s, link(inc.ID, t0.Add(time.Hour), incidents.VendorPost{ResolvedAt: resolvedAt},
		vendorEvent(incidents.EventVendorResolved, resolvedAt)))

	_, events := get(t, s, inc.ID)
	require.Len(t, events, 3)
	posted, resolved := events[1], events[2]
	require.Equal(t, incidents.EventVendorPosted, posted.Kind)
	requireTime(t, post.PostedAt, posted.At)
	require.Equal(t, "anthropic", posted.Provider)
	require.Equal(t, incidents.Actor, posted.Actor)
	require.Equal(t, incidents.SeverityCritical, posted.Severity)
	require.Equal(t, incidents.EventVendorResolved, resolved.Kind)
	requireTime(t, resolvedAt, resolved.At)

	rows := drain(t, s, t0.Add(2*time.Hour))
	require.Equal(t, []string{
		fmt.Sprintf("open inc:%d:open", inc.ID),
		fmt.Sprintf("event inc:%d:event:%d", inc.ID, posted.ID),
		fmt.Sprintf("update inc:%d:update:%d", inc.ID, posted.ID),
		fmt.Sprintf("event inc:%d:event:%d", inc.ID, resolved.ID),
		fmt.Sprintf("update inc:%d:update:%d", inc.ID, resolved.ID),
	}, kinds(rows))
	for _, r := range rows[1:] {
		requireTime(t, map[int64]time.Time{posted.ID: t0.Add(7 * time.Minute), resolved.ID: t0.Add(time.Hour)}[r.EventID],
			r.CreatedAt, "outbox rows are created at the change's time")
	}
}

// testVendorReadPaths: List, Active and Get all return the post.
func testVendorReadPaths(t *testing.T, s Store) {
	inc := apply(t, s, opening("anthropic", "claude-sonnet-4-5", t0))
	linked := apply(t, s, link(inc.ID, t0.Add(7*time.Minute), post))

	listed, err := s.List(t.Context(), incidents.Filter{Provider: "anthropic"})
	require.NoError(t, err)
	require.Len(t, listed, 1)
	require.Equal(t, linked, listed[0])
	active, err := s.Active(t.Context())
	require.NoError(t, err)
	require.Len(t, active, 1)
	require.Equal(t, linked, active[0])
	got, _ := get(t, s, inc.ID)
	require.Equal(t, linked, got)
}
