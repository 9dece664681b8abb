package main

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"lander/indexer/topics"
	"lander/server"
	"lander/store"
)

func TestTopicCollections(t *testing.T) {
	f := topics.File{Topics: []topics.Topic{{
		Slug: "navy-blue-shirts-men", Title: "Navy Blue Shirts for Men", Description: "d", Size: 12, Published: true,
		Attributes: []topics.KV{{Key: "category", Value: "shirts"}, {Key: "color", Value: "navy blue"}},
		Score:      topics.Parts{Score: 0.7},
		Feed:       []topics.Slot{{ID: "1", Score: 0.9, Matched: []float32{1, 0.8}, Sources: []string{"tag", "model"}}},
	}}}
	tc := newTopicCollections(f)
	ts, _ := tc.Topics(context.Background())
	want := server.Topic{Slug: "navy-blue-shirts-men", Title: "Navy Blue Shirts for Men", Description: "d", Size: 12, Score: 0.7, Published: true,
		Attributes: []store.KV{{Key: "category", Value: "shirts"}, {Key: "color", Value: "navy blue"}}}
	if diff := cmp.Diff([]server.Topic{want}, ts); diff != "" {
		t.Errorf("topics (-want +got):\n%s", diff)
	}
	_, feed, ok, err := tc.Feed(context.Background(), "navy-blue-shirts-men")
	wantFeed := []server.FeedItem{{ID: "1", Score: 0.9, Evidence: []store.Attribute{
		{Key: "category", Value: "shirts", Score: 1, Source: "tag"}, {Key: "color", Value: "navy blue", Score: 0.8, Source: "model"}}}}
	if diff := cmp.Diff(wantFeed, feed); diff != "" || !ok || err != nil {
		t.Errorf("feed (-want +got):\n%s ok %v err %v", diff, ok, err)
	}
	if _, _, ok, _ := tc.Feed(context.Background(), "nope"); ok {
		t.Error("unknown slug found")
	}
}

func TestNewGaps(t *testing.T) {
	gs := []topics.Gap{{
		Attributes: []topics.KV{{Key: "category", Value: "watch"}, {Key: "color", Value: "black"}}, Query: "black watches", Band: "head",
		Demand: 90, DemandShare: 0.3, Supply: 3, SupplyShare: 0.01, Reason: topics.ReasonThinSupply,
		Nearest: []topics.NearTopic{{Slug: "watch", Title: "Watches", Size: 40, Shared: 1}},
	}, {Attributes: []topics.KV{{Key: "category", Value: "hat"}}, Query: "hats", Band: "torso", Demand: 10, Reason: topics.ReasonNoProducts}}
	want := []server.Gap{{
		Attributes: []store.KV{{Key: "category", Value: "watch"}, {Key: "color", Value: "black"}}, Query: "black watches", Band: "head",
		Demand: 90, DemandShare: 0.3, Supply: 3, SupplyShare: 0.01, Reason: "thin supply",
		Nearest: []server.NearCollection{{Slug: "watch", Title: "Watches", Size: 40, Shared: 1}},
	}, {Attributes: []store.KV{{Key: "category", Value: "hat"}}, Query: "hats", Band: "torso", Demand: 10, Reason: "no products", Nearest: []server.NearCollection{}}}
	if diff := cmp.Diff(want, newGaps(gs)); diff != "" {
		t.Errorf("gaps (-want +got):\n%s", diff)
	}
	if got := newGaps(nil); len(got) != 0 {
		t.Errorf("no gaps: %v", got)
	}
}
