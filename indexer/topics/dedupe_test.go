package topics

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// feed returns slots for ids lo..hi-1.
func feedOf(lo, hi int) []Slot {
	var out []Slot
	for i := lo; i < hi; i++ {
		out = append(out, Slot{ID: fmt.Sprint(i)})
	}
	return out
}

func topic(slug, title string, nAttrs int, score float64, feed []Slot) Topic {
	t := Topic{Slug: slug, Title: title, Published: true, Feed: feed, Score: Parts{Score: score}}
	for i := range nAttrs {
		t.Attributes = append(t.Attributes, KV{Key: fmt.Sprint("k", i), Value: slug})
	}
	return t
}

func TestDedupe(t *testing.T) {
	topics := []Topic{
		// The same feed under a longer tuple merges into the shorter one.
		topic("sports-shoes-sports", "Sports Shoes for Sports", 2, 0.9, feedOf(0, 60)),
		topic("sports-shoes", "Sports Shoes", 1, 0.5, feedOf(0, 60)),
		// 47 of 53 shared in the top 50: Jaccard 0.887 < 0.9, both stay.
		topic("casual-shoes", "Casual Shoes", 1, 0.5, feedOf(100, 150)),
		topic("casual-shoes-men", "Casual Shoes for Men", 2, 0.5, feedOf(103, 153)),
		// A different feed with a title already taken is unpublished.
		topic("sports-shoes-2", "Sports Shoes", 2, 0.8, feedOf(200, 230)),
		// Unpublished topics are left alone.
		{Slug: "other", Title: "Sports Shoes", Feed: feedOf(0, 60), Attributes: []KV{{Key: "a", Value: "b"}}},
	}
	feeds, titles := dedupe(topics)
	if feeds != 1 || titles != 1 {
		t.Errorf("merged %d by feed, %d by title; want 1 and 1", feeds, titles)
	}
	got := map[string]string{}
	for _, tp := range topics {
		state := "published"
		if !tp.Published {
			state = "unpublished"
		}
		if tp.MergedInto != "" {
			state = tp.MergedBy + " -> " + tp.MergedInto
		}
		got[tp.Slug] = state
	}
	want := map[string]string{
		"sports-shoes-sports": "feed -> sports-shoes",
		"sports-shoes":        "published",
		"casual-shoes":        "published",
		"casual-shoes-men":    "published",
		"sports-shoes-2":      "title -> sports-shoes",
		"other":               "unpublished",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if n := len(topics[0].Feed); n != 10 {
		t.Errorf("merged topic keeps %d feed slots, want 10", n)
	}
	r := Result{Topics: topics}
	if c := r.Counts(); c.Merged != 2 || c.MergedFeeds != 1 || c.MergedTitles != 1 || c.Published != 3 {
		t.Errorf("counts %+v", c)
	}
}
