package encoder

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync/atomic"
	"testing"
	"time"
)

// benchTexts are catalog-like queries of a few words each.
var benchTexts = []string{
	"red running shoes", "women's waterproof hiking boots size 38", "usb-c charger 65w",
	"organic green tea 100g", "stainless steel water bottle 750ml", "4k uhd 55-inch smart tv",
	"kids' toys & games", "crème brûlée set", "iphone 15 pro max case", "wireless noise cancelling headphones",
}

func benchEmbed(b *testing.B, batch int) {
	enc := newTestText(b, TextOptions{BatchSize: batch})
	texts := make([]string, batch)
	for i := range texts {
		texts[i] = benchTexts[i%len(benchTexts)]
	}
	ctx := context.Background()
	for b.Loop() {
		if _, err := enc.Embed(ctx, texts); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "queries/s")
}

// BenchmarkEmbedBatch1 embeds one short query per call.
func BenchmarkEmbedBatch1(b *testing.B) { benchEmbed(b, 1) }

// BenchmarkEmbedBatch32 embeds 32 short queries per call.
func BenchmarkEmbedBatch32(b *testing.B) { benchEmbed(b, 32) }

// BenchmarkEmbedLatency reports the median and 95th percentile latency of
// embedding one short query, over at least 200 calls after a warm-up.
func BenchmarkEmbedLatency(b *testing.B) {
	enc := newTestText(b, TextOptions{BatchSize: 1})
	ctx := context.Background()
	query := []string{"red running shoes"}
	for range 10 {
		if _, err := enc.Embed(ctx, query); err != nil {
			b.Fatal(err)
		}
	}
	var lat []time.Duration
	for b.Loop() {
		for range 200 {
			start := time.Now()
			if _, err := enc.Embed(ctx, query); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(start))
		}
	}
	slices.Sort(lat)
	ms := func(q float64) float64 { return float64(lat[int(q*float64(len(lat)-1))]) / float64(time.Millisecond) }
	b.ReportMetric(ms(0.50), "p50_ms")
	b.ReportMetric(ms(0.95), "p95_ms")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkEmbedThreads compares intra-op thread counts at batch 32.
func BenchmarkEmbedThreads(b *testing.B) {
	for _, threads := range []int{1, 2} {
		b.Run(fmt.Sprintf("threads=%d", threads), func(b *testing.B) {
			enc := newTestText(b, TextOptions{BatchSize: 32, Threads: threads})
			texts := make([]string, 32)
			for i := range texts {
				texts[i] = benchTexts[i%len(benchTexts)]
			}
			for b.Loop() {
				if _, err := enc.Embed(context.Background(), texts); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*32)/b.Elapsed().Seconds(), "queries/s")
		})
	}
}

// BenchmarkEmbedServing embeds one short query per call from 8 concurrent
// callers (-cpu sets GOMAXPROCS), as a server does: straight on encoders of
// 1 and GOMAXPROCS intra-op threads, and through a Batcher over a
// one-thread encoder running GOMAXPROCS batches at once.
func BenchmarkEmbedServing(b *testing.B) {
	procs := runtime.GOMAXPROCS(0)
	run := func(b *testing.B, e BatchEmbedder) {
		b.SetParallelism(8 / procs)
		var next atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				q := benchTexts[next.Add(1)%int64(len(benchTexts))]
				if _, err := e.Embed(context.Background(), []string{q}); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "queries/s")
	}
	for _, threads := range []int{1, procs} {
		b.Run(fmt.Sprintf("direct/threads=%d", threads), func(b *testing.B) {
			run(b, newTestText(b, TextOptions{Threads: threads}))
		})
	}
	b.Run("batcher/threads=1", func(b *testing.B) {
		bt := NewBatcher(newTestText(b, TextOptions{Threads: 1}), BatcherOptions{})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- bt.Run(ctx) }()
		run(b, bt)
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
	})
}
