// Package config holds lander's configuration: its defaults, strict YAML
// loading, LANDER_* environment overrides and validation. Only package main
// reads configuration; it maps a Config onto each package's own options.
//
// Precedence, lowest first: Default, a YAML file (Load), the environment
// (ApplyEnv), then command-line flags (applied by main).
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is the whole configuration of the lander binary.
type Config struct {
	// Data is the data directory holding index generations and overrides.
	Data string `yaml:"data"`
	// Milvus is the host:port of a Milvus server; empty means the embedded store.
	Milvus string `yaml:"milvus"`
	// Redis is the host:port of a Redis server; empty means an in-process cache.
	Redis string `yaml:"redis"`
	// Log configures logging.
	Log Log `yaml:"log"`
	// Encoder configures the ONNX Runtime text encoder.
	Encoder Encoder `yaml:"encoder"`
	// Index configures `lander index`.
	Index Index `yaml:"index"`
	// Serve configures `lander serve`.
	Serve Serve `yaml:"serve"`
}

// Log configures the structured logger.
type Log struct {
	// Level is one of debug, info, warn, error.
	Level string `yaml:"level"`
	// Format is text or json.
	Format string `yaml:"format"`
}

// Encoder configures the text encoder and the ONNX Runtime library.
type Encoder struct {
	// Library is the path of libonnxruntime.so.1.
	Library string `yaml:"library"`
	// Models is the directory holding the exported models.
	Models string `yaml:"models"`
	// Threads is the number of intra-op threads per session; 0 means one
	// per CPU, except in `lander serve`, which runs one thread per batch
	// and a batch per CPU.
	Threads int `yaml:"threads"`
	// BatchSize is the number of texts encoded per model call.
	BatchSize int `yaml:"batch_size"`
	// MaxLength is the maximum number of tokens per text.
	MaxLength int `yaml:"max_length"`
	// Dual is the directory of the trained dual encoder (model.json, the
	// product and attribute towers); empty turns model assignment off.
	Dual string `yaml:"dual"`
}

// Index configures the offline pipeline.
type Index struct {
	// Catalog is the catalog path: a Fashion Product Images folder, a Parquet or a JSON Lines file.
	Catalog string `yaml:"catalog"`
	// SearchLog is an optional query<TAB>count file for intent mining.
	SearchLog string `yaml:"search_log"`
	// Workers is the number of CPU workers for decoding and preprocessing.
	Workers int `yaml:"workers"`
	// Shard is "I/N" to index only slice I of N, or empty for all.
	Shard string `yaml:"shard"`
	// Summary is an optional path for the JSON summary.
	Summary string `yaml:"summary"`
	// Embeddings is an optional folder of precomputed embeddings (the GPU
	// embed job's output, or "lander export embeddings"), used instead of
	// running the encoders.
	Embeddings string `yaml:"embeddings"`
	// BatchSize is the number of catalog rows per pipeline batch.
	BatchSize int `yaml:"batch_size"`
	// MinSupport is the number of products a vocabulary value needs.
	MinSupport int `yaml:"min_support"`
	// ClusterThreshold is the cosine similarity at which two values of a
	// key merge during curation; above 1 disables clustering.
	ClusterThreshold float64 `yaml:"cluster_threshold"`
	// JudgeMinScore drops vocabulary values the judge scores below it; 0
	// only reports the scores.
	JudgeMinScore float64 `yaml:"judge_min_score"`
	// VLM is the vision-language model extracting attributes from images;
	// off unless its URL is set.
	VLM ModelEndpoint `yaml:"vlm"`
	// Arbitration is a directory written by lander eval attributes --fit
	// (hierarchy.json, calibration.json, classifier.json) whose arbitration
	// replaces the one shipped with the code, for instance one with a
	// VLM's curves; empty uses the shipped one.
	Arbitration string `yaml:"arbitration"`
	// Judge is the chat model judging candidates; empty URL means the
	// offline judge.
	Judge ModelEndpoint `yaml:"judge"`
	// Finalize merges the shards 0..Shards-1 of Shards, each written by a
	// run with Shard "I/N" into DATA/shards/I-of-N (stage A over its slice),
	// and builds the generation; no catalog is read.
	Finalize bool `yaml:"finalize"`
	// Shards is the number of shards Finalize merges.
	Shards int `yaml:"shards"`
}

// ModelEndpoint is an OpenAI-compatible chat-completions endpoint.
type ModelEndpoint struct {
	// URL is the API root, such as http://localhost:8000/v1; empty means off.
	URL string `yaml:"url"`
	// Model is the model name sent with each request.
	Model string `yaml:"model"`
	// APIKey is sent as a bearer token when set (LANDER_INDEX_VLM_API_KEY).
	APIKey string `yaml:"api_key"`
	// Timeout bounds one request.
	Timeout time.Duration `yaml:"timeout"`
	// Retries is the number of retries of a failed request.
	Retries int `yaml:"retries"`
	// Concurrency is the number of requests in flight.
	Concurrency int `yaml:"concurrency"`
	// RequestsPerSecond limits the request rate; 0 means no limit.
	RequestsPerSecond float64 `yaml:"requests_per_second"`
	// CacheDir holds answers by product content hash (VLM only); empty
	// means no cache.
	CacheDir string `yaml:"cache_dir"`
}

// Serve configures the HTTP server.
type Serve struct {
	// Addr is the listen address.
	Addr string `yaml:"addr"`
	// MerchToken is the bearer token of merchandiser write endpoints; empty refuses them.
	MerchToken string `yaml:"merch_token"`
	// CacheTTL is the lifetime of cached pages.
	CacheTTL time.Duration `yaml:"cache_ttl"`
	// CacheSize is the number of entries of the in-process cache.
	CacheSize int `yaml:"cache_size"`
	// ShutdownTimeout bounds graceful shutdown.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// BaseURL is the scheme and host that canonical links, JSON-LD, the
	// sitemap and robots.txt start with ("https://shop.example.com");
	// empty takes them from each request's Host header.
	BaseURL string `yaml:"base_url"`
	// QueryLLM is the chat model that resolves low-confidence search
	// queries; empty URL means the offline resolver alone. Its timeout is
	// the latency budget of one query (default 300ms).
	QueryLLM ModelEndpoint `yaml:"query_llm"`
	// MerchPrivate makes the console's pages, the preview and reading
	// overrides need the merchandiser token too; it needs MerchToken.
	MerchPrivate bool `yaml:"merch_private"`
	// RequireIfMatch refuses an overrides write that does not say which
	// version it replaces (If-Match), so that no edit is lost silently.
	RequireIfMatch bool `yaml:"require_if_match"`
	// PreviewRate is how many previews a second one client may ask for.
	PreviewRate int `yaml:"preview_rate"`
	// PprofAddr serves Go's profiles (/debug/pprof/) on their own listener
	// at this host:port, never through Addr; empty turns them off.
	PprofAddr string `yaml:"pprof_addr"`
	// QuantizeStore opens each generation's embedded store in its memory
	// mode: float32 vectors mapped from the store's file (read by the
	// operating system's page cache), int8 codes on the heap, searches
	// scored from the codes and re-ranked exactly. It needs the embedded
	// store (no milvus).
	QuantizeStore bool `yaml:"quantize_store"`
}

// Default returns the configuration used when nothing else is given.
func Default() Config {
	return Config{
		Data: "./data",
		Log:  Log{Level: "info", Format: "text"},
		Encoder: Encoder{
			Library:   "lib/libonnxruntime.so.1",
			Models:    "models",
			Threads:   0,
			BatchSize: 32,
			MaxLength: 128,
			Dual:      "encoder/weights",
		},
		Index: Index{
			BatchSize:        256,
			MinSupport:       5,
			ClusterThreshold: 0.88,
			VLM:              ModelEndpoint{Timeout: 60 * time.Second, Retries: 3, Concurrency: 4, CacheDir: ".cache/vlm"},
			Judge:            ModelEndpoint{Timeout: 60 * time.Second, Retries: 3, Concurrency: 4},
		},
		Serve: Serve{
			Addr:            ":8080",
			CacheTTL:        5 * time.Minute,
			CacheSize:       4096,
			ShutdownTimeout: 10 * time.Second,
			QueryLLM:        ModelEndpoint{Timeout: 300 * time.Millisecond, Concurrency: 16},
			PreviewRate:     5,
		},
	}
}

// Load reads a YAML file over c. Unknown keys are errors.
func (c *Config) Load(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("load config: %w", err)
	}
	if err := c.Decode(b); err != nil {
		return fmt.Errorf("load config %s: %w", path, err)
	}
	return nil
}

// Decode reads YAML bytes over c. Unknown keys are errors.
func (c *Config) Decode(b []byte) error {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

// EnvPrefix starts every environment variable that ApplyEnv reads.
const EnvPrefix = "LANDER_"

// ApplyEnv applies LANDER_* variables from environ (as os.Environ returns it).
// Names follow the YAML path: encoder.batch_size is LANDER_ENCODER_BATCH_SIZE;
// the top-level keys also go by their short names (LANDER_DATA, LANDER_REDIS).
// An unknown LANDER_* variable is an error, so typos do not pass silently.
func (c *Config) ApplyEnv(environ []string) error {
	fields := map[string]reflect.Value{}
	collectFields(reflect.ValueOf(c).Elem(), "", fields)
	var errs []error
	for _, kv := range environ {
		name, val, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, EnvPrefix) {
			continue
		}
		key := strings.TrimPrefix(name, EnvPrefix)
		if strings.HasPrefix(key, "TEST_") || key == "REQUIRE_MODELS" || key == "REQUIRE_SERVICES" || key == "MODELS_DIR" {
			continue // test harness variables, not configuration
		}
		f, ok := fields[key]
		if !ok {
			errs = append(errs, fmt.Errorf("%s: unknown setting", name))
			continue
		}
		if err := setScalar(f, val); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

// collectFields maps env-style names onto settable scalar fields.
func collectFields(v reflect.Value, prefix string, out map[string]reflect.Value) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		tag := strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0]
		if tag == "" || tag == "-" {
			continue
		}
		name := prefix + strings.ToUpper(tag)
		f := v.Field(i)
		if f.Kind() == reflect.Struct {
			collectFields(f, name+"_", out)
			continue
		}
		out[name] = f
	}
}

func setScalar(f reflect.Value, s string) error {
	switch f.Interface().(type) {
	case string:
		f.SetString(s)
	case time.Duration:
		d, err := time.ParseDuration(s)
		if err != nil {
			return err
		}
		f.SetInt(int64(d))
	case int:
		n, err := strconv.Atoi(s)
		if err != nil {
			return fmt.Errorf("not an integer: %q", s)
		}
		f.SetInt(int64(n))
	case float64:
		x, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return fmt.Errorf("not a number: %q", s)
		}
		f.SetFloat(x)
	case bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("not a boolean: %q", s)
		}
		f.SetBool(b)
	default:
		return fmt.Errorf("unsupported type %s", f.Type())
	}
	return nil
}

// Validate checks every field and names each bad one.
func (c Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	if strings.TrimSpace(c.Data) == "" {
		bad("data", "must not be empty")
	}
	for field, addr := range map[string]string{"milvus": c.Milvus, "redis": c.Redis} {
		if addr != "" {
			if err := hostPort(addr, true); err != nil {
				bad(field, "%q: %v", addr, err)
			}
		}
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level", "%q is not one of debug, info, warn, error", c.Log.Level)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		bad("log.format", "%q is not one of text, json", c.Log.Format)
	}
	if c.Encoder.Library == "" {
		bad("encoder.library", "must not be empty")
	}
	if c.Encoder.Models == "" {
		bad("encoder.models", "must not be empty")
	}
	if c.Encoder.Threads < 0 {
		bad("encoder.threads", "must be >= 0 (0 means the runtime's default), got %d", c.Encoder.Threads)
	}
	if c.Encoder.BatchSize < 1 || c.Encoder.BatchSize > 1024 {
		bad("encoder.batch_size", "must be in [1, 1024], got %d", c.Encoder.BatchSize)
	}
	if c.Encoder.MaxLength < 8 || c.Encoder.MaxLength > 512 {
		bad("encoder.max_length", "must be in [8, 512], got %d", c.Encoder.MaxLength)
	}
	if c.Index.Workers < 0 {
		bad("index.workers", "must be >= 0 (0 means one per CPU), got %d", c.Index.Workers)
	}
	if c.Index.BatchSize < 1 {
		bad("index.batch_size", "must be >= 1, got %d", c.Index.BatchSize)
	}
	if c.Index.Shard != "" {
		if _, _, err := ParseShard(c.Index.Shard); err != nil {
			bad("index.shard", "%v", err)
		}
	}
	switch {
	case c.Index.Finalize && c.Index.Shards < 1:
		bad("index.shards", "must be >= 1 with index.finalize, got %d", c.Index.Shards)
	case !c.Index.Finalize && c.Index.Shards != 0:
		bad("index.shards", "is read only with index.finalize (a shard run takes index.shard I/N)")
	}
	if c.Index.Finalize && c.Index.Shard != "" {
		bad("index.shard", "cannot be set with index.finalize (finalize merges every shard)")
	}
	if c.Index.Finalize && c.Index.Embeddings != "" {
		bad("index.embeddings", "cannot be set with index.finalize (the shards read the embeddings)")
	}
	if c.Index.MinSupport < 1 {
		bad("index.min_support", "must be >= 1, got %d", c.Index.MinSupport)
	}
	if !(c.Index.ClusterThreshold > 0 && c.Index.ClusterThreshold <= 2) {
		bad("index.cluster_threshold", "must be in (0, 2] (above 1 disables clustering), got %v", c.Index.ClusterThreshold)
	}
	if !(c.Index.JudgeMinScore >= 0 && c.Index.JudgeMinScore <= 1) {
		bad("index.judge_min_score", "must be in [0, 1], got %v", c.Index.JudgeMinScore)
	}
	for name, m := range map[string]ModelEndpoint{"index.vlm": c.Index.VLM, "index.judge": c.Index.Judge, "serve.query_llm": c.Serve.QueryLLM} {
		m.validate(name, bad)
	}
	if err := hostPort(c.Serve.Addr, false); err != nil {
		bad("serve.addr", "%q: %v", c.Serve.Addr, err)
	}
	if c.Serve.CacheTTL <= 0 {
		bad("serve.cache_ttl", "must be positive, got %s", c.Serve.CacheTTL)
	}
	if c.Serve.CacheSize < 1 {
		bad("serve.cache_size", "must be >= 1, got %d", c.Serve.CacheSize)
	}
	if c.Serve.ShutdownTimeout <= 0 {
		bad("serve.shutdown_timeout", "must be positive, got %s", c.Serve.ShutdownTimeout)
	}
	if c.Serve.BaseURL != "" {
		if err := baseURL(c.Serve.BaseURL); err != nil {
			bad("serve.base_url", "%q: %v", c.Serve.BaseURL, err)
		}
	}
	if c.Serve.MerchPrivate && strings.TrimSpace(c.Serve.MerchToken) == "" {
		bad("serve.merch_private", "needs serve.merch_token (a private console without a token would be closed to everyone)")
	}
	if c.Serve.PreviewRate < 1 || c.Serve.PreviewRate > 100000 {
		bad("serve.preview_rate", "must be in [1, 100000] previews a second per client, got %d", c.Serve.PreviewRate)
	}
	if c.Serve.PprofAddr != "" {
		if err := hostPort(c.Serve.PprofAddr, false); err != nil {
			bad("serve.pprof_addr", "%q: %v", c.Serve.PprofAddr, err)
		} else if c.Serve.PprofAddr == c.Serve.Addr {
			bad("serve.pprof_addr", "%q is serve.addr too (profiles must not be reachable through the site)", c.Serve.PprofAddr)
		}
	}
	if c.Serve.QuantizeStore && c.Milvus != "" {
		bad("serve.quantize_store", "applies to the embedded store only, and milvus is set")
	}
	return errors.Join(errs...)
}

func (m ModelEndpoint) validate(name string, bad func(field, format string, args ...any)) {
	if m.URL != "" {
		u, err := url.Parse(m.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad(name+".url", "%q is not an http(s) URL", m.URL)
		}
		if m.Model == "" {
			bad(name+".model", "must be set with %s.url", name)
		}
	}
	if m.Timeout <= 0 {
		bad(name+".timeout", "must be positive, got %s", m.Timeout)
	}
	if m.Retries < 0 || m.Retries > 10 {
		bad(name+".retries", "must be in [0, 10], got %d", m.Retries)
	}
	if m.Concurrency < 1 || m.Concurrency > 256 {
		bad(name+".concurrency", "must be in [1, 256], got %d", m.Concurrency)
	}
	if !(m.RequestsPerSecond >= 0) {
		bad(name+".requests_per_second", "must be >= 0 (0 means no limit), got %v", m.RequestsPerSecond)
	}
}

// ParseShard parses "I/N" with 0 <= I < N.
func ParseShard(s string) (i, n int, err error) {
	a, b, ok := strings.Cut(s, "/")
	if !ok {
		return 0, 0, fmt.Errorf("%q is not I/N", s)
	}
	i, err1 := strconv.Atoi(strings.TrimSpace(a))
	n, err2 := strconv.Atoi(strings.TrimSpace(b))
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("%q is not I/N", s)
	}
	if n < 1 || i < 0 || i >= n {
		return 0, 0, fmt.Errorf("%q: need 0 <= I < N", s)
	}
	return i, n, nil
}

// baseURL checks that s is an absolute http(s) URL of a host alone: no
// user, path, query or fragment.
func baseURL(s string) error {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return errors.New("not a URL")
	case u.Scheme != "http" && u.Scheme != "https":
		return errors.New("not an absolute http(s) URL")
	case u.Host == "" || u.Hostname() == "":
		return errors.New("missing host")
	case u.User != nil:
		return errors.New("must not hold a user")
	case u.Path != "" && u.Path != "/":
		return errors.New("must not have a path")
	case u.RawQuery != "" || u.ForceQuery:
		return errors.New("must not have a query")
	case u.Fragment != "" || strings.Contains(s, "#"):
		return errors.New("must not have a fragment")
	}
	return nil
}

func hostPort(addr string, needHost bool) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return errors.New("not host:port")
	}
	if needHost && host == "" {
		return errors.New("missing host")
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 0 || p > 65535 {
		return errors.New("bad port")
	}
	return nil
}
