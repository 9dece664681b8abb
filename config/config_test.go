package config

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDefaultIsValid(t *testing.T) {
	if err := Default().Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v", err)
	}
}

func TestLoadGood(t *testing.T) {
	tests := []struct {
		file  string
		check func(t *testing.T, c Config)
	}{
		{"full.yaml", func(t *testing.T, c Config) {
			if c.Redis != "127.0.0.1:6379" || c.Encoder.BatchSize != 64 || c.Serve.CacheTTL != 10*time.Minute || c.Index.Shard != "1/4" {
				t.Errorf("full.yaml decoded to %+v", c)
			}
		}},
		{"minimal.yaml", func(t *testing.T, c Config) {
			if c.Serve.Addr != ":8081" {
				t.Errorf("addr = %q, want :8081", c.Serve.Addr)
			}
			if c.Data != Default().Data || c.Encoder.BatchSize != Default().Encoder.BatchSize {
				t.Errorf("defaults not kept: %+v", c)
			}
		}},
		{"curation.yaml", func(t *testing.T, c Config) {
			ix := c.Index
			if ix.MinSupport != 10 || ix.ClusterThreshold != 0.92 || ix.JudgeMinScore != 0.3 || ix.VLM.Model != "qwen2.5-vl-7b-instruct" ||
				ix.VLM.Timeout != 30*time.Second || ix.VLM.RequestsPerSecond != 4.5 || ix.VLM.Concurrency != 8 || ix.Judge.Timeout != time.Minute ||
				ix.Arbitration != "/var/lib/lander/arbitration" {
				t.Errorf("curation.yaml decoded to %+v", ix)
			}
		}},
		{"finalize.yaml", func(t *testing.T, c Config) {
			if !c.Index.Finalize || c.Index.Shards != 8 || c.Index.Shard != "" {
				t.Errorf("finalize.yaml decoded to %+v", c.Index)
			}
		}},
		{"base_url.yaml", func(t *testing.T, c Config) {
			if c.Serve.BaseURL != "https://shop.example.com" {
				t.Errorf("base_url = %q", c.Serve.BaseURL)
			}
		}},
		{"console.yaml", func(t *testing.T, c Config) {
			if !c.Serve.MerchPrivate || !c.Serve.RequireIfMatch || c.Serve.PreviewRate != 50 || c.Serve.MerchToken != "s3cret" || c.Serve.PprofAddr != "127.0.0.1:6061" || !c.Serve.QuantizeStore {
				t.Errorf("console.yaml decoded to %+v", c.Serve)
			}
		}},
		{"empty.yaml", func(t *testing.T, c Config) {
			if c != Default() {
				t.Errorf("empty file changed defaults: %+v", c)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			c := Default()
			if err := c.Load(filepath.Join("testdata", "good", tt.file)); err != nil {
				t.Fatalf("Load: %v", err)
			}
			if err := c.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			tt.check(t, c)
		})
	}
}

func TestLoadBad(t *testing.T) {
	tests := []struct {
		file string
		// want lists substrings that must all appear in the load or validate error.
		want []string
	}{
		{"unknown_key.yaml", []string{"adress"}},
		{"wrong_type.yaml", []string{"many"}},
		{"bad_values.yaml", []string{"redis:", "log.level:", "encoder.batch_size:", "serve.cache_ttl:"}},
		{"bad_curation.yaml", []string{"index.min_support:", "index.cluster_threshold:", "index.judge_min_score:",
			"index.vlm.url:", "index.vlm.model:", "index.vlm.concurrency:", "index.vlm.retries:", "index.judge.model:"}},
		{"bad_shard.yaml", []string{"index.shard:"}},
		{"bad_finalize.yaml", []string{"index.shards: must be >= 1", "index.shard: cannot be set with index.finalize"}},
		{"bad_finalize_embeddings.yaml", []string{"index.embeddings: cannot be set with index.finalize"}},
		{"bad_shards.yaml", []string{"index.shards: is read only with index.finalize"}},
		{"bad_base_url_relative.yaml", []string{"serve.base_url:", "not an absolute http(s) URL"}},
		{"bad_base_url_query.yaml", []string{"serve.base_url:", "must not have a query"}},
		{"bad_base_url_scheme.yaml", []string{"serve.base_url:", "not an absolute http(s) URL"}},
		{"bad_merch_private.yaml", []string{"serve.merch_private: needs serve.merch_token"}},
		{"bad_preview_rate.yaml", []string{"serve.preview_rate: must be in [1, 100000]"}},
		{"bad_pprof_addr.yaml", []string{`serve.pprof_addr: "localhost": not host:port`}},
		{"bad_quantize_store.yaml", []string{"serve.quantize_store: applies to the embedded store only, and milvus is set"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			c := Default()
			err := c.Load(filepath.Join("testdata", "bad", tt.file))
			if err == nil {
				err = c.Validate()
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	c := Default()
	if err := c.Load("testdata/nope.yaml"); err == nil {
		t.Fatal("no error for a missing file")
	}
}

func TestApplyEnv(t *testing.T) {
	tests := []struct {
		name    string
		env     []string
		wantErr string
		check   func(c Config) bool
	}{
		{"top level", []string{"LANDER_REDIS=10.0.0.1:6379", "PATH=/bin"}, "", func(c Config) bool { return c.Redis == "10.0.0.1:6379" }},
		{"nested", []string{"LANDER_ENCODER_BATCH_SIZE=8", "LANDER_SERVE_CACHE_TTL=1m"}, "", func(c Config) bool {
			return c.Encoder.BatchSize == 8 && c.Serve.CacheTTL == time.Minute
		}},
		{"test harness ignored", []string{"LANDER_TEST_REDIS=x", "LANDER_REQUIRE_MODELS=1"}, "", func(c Config) bool { return c == Default() }},
		{"unknown", []string{"LANDER_BOGUS=1"}, "LANDER_BOGUS: unknown setting", nil},
		{"bad int", []string{"LANDER_INDEX_WORKERS=lots"}, "LANDER_INDEX_WORKERS: not an integer", nil},
		{"bad duration", []string{"LANDER_SERVE_CACHE_TTL=soon"}, "LANDER_SERVE_CACHE_TTL", nil},
		{"float", []string{"LANDER_INDEX_CLUSTER_THRESHOLD=0.8", "LANDER_INDEX_VLM_API_KEY=k"}, "", func(c Config) bool {
			return c.Index.ClusterThreshold == 0.8 && c.Index.VLM.APIKey == "k"
		}},
		{"bad float", []string{"LANDER_INDEX_JUDGE_MIN_SCORE=high"}, "LANDER_INDEX_JUDGE_MIN_SCORE: not a number", nil},
		{"bool", []string{"LANDER_INDEX_FINALIZE=true", "LANDER_INDEX_SHARDS=4"}, "", func(c Config) bool {
			return c.Index.Finalize && c.Index.Shards == 4
		}},
		{"bad bool", []string{"LANDER_INDEX_FINALIZE=sure"}, "LANDER_INDEX_FINALIZE: not a boolean", nil},
		{"base url", []string{"LANDER_SERVE_BASE_URL=https://shop.example.com"}, "", func(c Config) bool {
			return c.Serve.BaseURL == "https://shop.example.com"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			err := c.ApplyEnv(tt.env)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(c) {
				t.Errorf("env not applied: %+v", c)
			}
		})
	}
}

func TestValidateBaseURL(t *testing.T) {
	tests := []struct {
		in   string
		want string // a substring of the error; empty: valid
	}{
		{"https://shop.example.com", ""},
		{"http://localhost:8080/", ""},
		{"https://[::1]:8443", ""},
		{"shop.example.com", "not an absolute http(s) URL"},
		{"//shop.example.com", "not an absolute http(s) URL"},
		{"ftp://shop.example.com", "not an absolute http(s) URL"},
		{"https://", "missing host"},
		{"https://:443", "missing host"},
		{"https://user:pw@shop.example.com", "must not hold a user"},
		{"https://shop.example.com/store", "must not have a path"},
		{"https://shop.example.com/?a=1", "must not have a query"},
		{"https://shop.example.com?", "must not have a query"},
		{"https://shop.example.com#top", "must not have a fragment"},
		{"https://shop.example.com/#", "must not have a fragment"},
		{"https://shop example.com", "not a URL"},
	}
	for _, tt := range tests {
		c := Default()
		c.Serve.BaseURL = tt.in
		err := c.Validate()
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%q: %v", tt.in, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), "serve.base_url") || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%q: error %v, want %q", tt.in, err, tt.want)
		}
	}
}

func TestParseShard(t *testing.T) {
	tests := []struct {
		in   string
		i, n int
		ok   bool
	}{
		{"0/1", 0, 1, true}, {"3/4", 3, 4, true}, {" 1 / 2 ", 1, 2, true},
		{"4/4", 0, 0, false}, {"-1/4", 0, 0, false}, {"1/0", 0, 0, false}, {"1", 0, 0, false}, {"a/b", 0, 0, false},
	}
	for _, tt := range tests {
		i, n, err := ParseShard(tt.in)
		if (err == nil) != tt.ok || (tt.ok && (i != tt.i || n != tt.n)) {
			t.Errorf("ParseShard(%q) = %d, %d, %v", tt.in, i, n, err)
		}
	}
}
