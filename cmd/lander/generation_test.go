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
