package server

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the server's Prometheus series, in a registry of its own so
// that several servers (tests) can live in one process.
type metrics struct {
	registry     *prometheus.Registry
	requests     *prometheus.HistogramVec
	cacheLookups *prometheus.CounterVec
	cacheErrors  *prometheus.CounterVec
	store        *prometheus.HistogramVec
	encode       prometheus.Histogram
	generation   prometheus.Gauge
	// stages times the steps of a search, by stage (see searchStages).
	stages            *prometheus.HistogramVec
	stage             searchStages
	embedCacheLookups *prometheus.CounterVec
	// searchZero and searchRelaxed count computed searches (not cache
	// hits) that found nothing, and that relaxed a constraint.
	searchZero, searchRelaxed prometheus.Counter
	// queryLLM counts calls of the model resolver by outcome.
	queryLLM *prometheus.CounterVec
}

// searchStages are the observers of the search stages: resolve (the query
// resolver, with the embedding fallback of its leftover words), encode (the
// query's embedding, computed alongside resolve), store (the filtered search
// and the loading of the hits' products) and render (re-ranking, the result
// list, the matching collection, and the JSON with its compressed forms).
type searchStages struct {
	resolve, encode, store, render prometheus.Observer
}

// latencyBuckets cover 100µs to 5s.
var latencyBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .02, .05, .1, .25, .5, 1, 2.5, 5}

func newMetrics() *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "lander_http_request_duration_seconds",
			Help:    "HTTP request latency by route template, method and status.",
			Buckets: latencyBuckets,
		}, []string{"route", "method", "status"}),
		cacheLookups: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lander_cache_lookups_total",
			Help: "Response cache lookups by backend and result (hit, miss, error, skipped while the backend rests after a failure).",
		}, []string{"backend", "result"}),
		cacheErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lander_cache_errors_total",
			Help: "Failed cache calls by backend and operation; the request was answered uncached.",
		}, []string{"backend", "op"}),
		store: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "lander_store_duration_seconds",
			Help:    "Vector store call latency by operation.",
			Buckets: latencyBuckets,
		}, []string{"op"}),
		encode: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "lander_encode_duration_seconds",
			Help:    "Query encoding latency.",
			Buckets: latencyBuckets,
		}),
		generation: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "lander_index_generation",
			Help: "The index generation being served (0: none).",
		}),
		stages: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "lander_search_stage_duration_seconds",
			Help:    "Uncached search latency by stage: resolve, encode (alongside resolve), store and render.",
			Buckets: latencyBuckets,
		}, []string{"stage"}),
		embedCacheLookups: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lander_embed_cache_lookups_total",
			Help: "Texts looked up in the query-embedding cache, by result (hit, miss).",
		}, []string{"result"}),
		searchZero: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "lander_search_zero_results_total",
			Help: "Computed searches (cache misses) that found no product, after relaxing.",
		}),
		searchRelaxed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "lander_search_relaxed_total",
			Help: "Computed searches (cache misses) that relaxed at least one strict constraint to fill a page.",
		}),
		queryLLM: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lander_query_llm_total",
			Help: "Low-confidence queries sent to the model resolver, by outcome (answered, cached, timeout, error, invalid, out_of_vocabulary, empty); all but answered and cached fell back to the offline resolver.",
		}, []string{"outcome"}),
	}
	m.stage = searchStages{
		resolve: m.stages.WithLabelValues("resolve"),
		encode:  m.stages.WithLabelValues("encode"),
		store:   m.stages.WithLabelValues("store"),
		render:  m.stages.WithLabelValues("render"),
	}
	m.registry.MustRegister(m.requests, m.cacheLookups, m.cacheErrors, m.store, m.encode, m.generation, m.stages, m.embedCacheLookups, m.searchZero, m.searchRelaxed, m.queryLLM,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// handler serves the registry in the Prometheus text format.
func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

// observe records the latency of a request by its route template.
func (m *metrics) observe() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		m.requests.WithLabelValues(route, c.Request.Method, strconv.Itoa(c.Writer.Status())).Observe(time.Since(start).Seconds())
	}
}

// since records the time since start in h.
func since(h prometheus.Observer, start time.Time) { h.Observe(time.Since(start).Seconds()) }
