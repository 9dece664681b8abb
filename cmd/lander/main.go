// Command lander turns a product catalog into shopping collections and
// serves them. See README.md for the subcommands and the contract.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"lander/config"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Environ())
	stop()
	os.Exit(code)
}

const usage = `usage: lander <command> [flags]

commands:
  index    read a catalog and build a new index generation (or one shard of
           it with --shard I/N, merged by --finalize --shards N)
  serve    serve the current index over HTTP
  demo     generate a synthetic catalog, index it and serve it
  eval     quality reports: eval queries | collections | report
  diff     what changed between two kept generations (--from N --to M, --json)
  export   export embeddings|attributes|trainset: the index's embeddings, the enriched catalog, training data
  bench    "bench store": measure the vector stores (recall, QPS, p99);
           "bench bare --url U": serve the bytes of page U through a bare
           gin handler, the baseline of scripts/bench-serve.sh
  version  print the version

Run "lander <command> -h" for the flags of a command.
`

// exitUsage is the exit status for bad flags or configuration.
const exitUsage = 2

func run(ctx context.Context, args []string, stdout, stderr io.Writer, environ []string) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	cmd, rest := args[0], args[1:]
	var err error
	switch cmd {
	case "version", "--version", "-version":
		fmt.Fprintf(stdout, "lander %s\n", version)
		return 0
	case "index":
		err = cmdIndex(ctx, rest, stdout, stderr, environ)
	case "serve":
		err = cmdServe(ctx, rest, stderr, environ)
	case "demo":
		err = cmdDemo(ctx, rest, stdout, stderr, environ)
	case "eval":
		err = cmdEval(ctx, rest, stdout, stderr, environ)
	case "diff":
		err = cmdDiff(ctx, rest, stdout, stderr, environ)
	case "bench":
		err = cmdBench(ctx, rest, stdout, stderr, environ)
	case "export":
		err = cmdExport(ctx, rest, stdout, stderr, environ)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "lander: unknown command %q\n\n%s", cmd, usage)
		return exitUsage
	}
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "lander %s: %v\n", cmd, err)
		return exitUsage
	default:
		fmt.Fprintf(stderr, "lander %s: %v\n", cmd, err)
		return 1
	}
}

// usageError marks bad flags or configuration.
type usageError struct{ error }

// flags binds the flags common to every command onto a Config, applying
// them last so that flags win over the file and the environment.
type flags struct {
	fs      *flag.FlagSet
	cfgFile string
	binds   map[string]func(*config.Config, string) error
}

func newFlags(name string, stderr io.Writer) *flags {
	fs := flag.NewFlagSet("lander "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	f := &flags{fs: fs, binds: map[string]func(*config.Config, string) error{}}
	fs.StringVar(&f.cfgFile, "config", "", "YAML config `file`")
	return f
}

// str declares a string flag that, when given, sets *dst.
func (f *flags) str(name, usage string, dst func(*config.Config) *string) {
	f.fs.String(name, "", usage)
	f.bind(name, func(c *config.Config, v string) error { *dst(c) = v; return nil })
}

// boolean declares a bool flag that, when given, sets *dst.
func (f *flags) boolean(name, usage string, dst func(*config.Config) *bool) {
	f.fs.Bool(name, false, usage)
	f.bind(name, func(c *config.Config, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("-%s: not a boolean: %q", name, v)
		}
		*dst(c) = b
		return nil
	})
}

// synopsis sets the text printed above the flags by -h.
func (f *flags) synopsis(text string) {
	f.fs.Usage = func() {
		fmt.Fprint(f.fs.Output(), text)
		f.fs.PrintDefaults()
	}
}

// integer declares an int flag that, when given, sets *dst.
func (f *flags) integer(name, usage string, dst func(*config.Config) *int) {
	f.fs.Int(name, 0, usage)
	f.bind(name, func(c *config.Config, v string) error {
		var n int
		if _, err := fmt.Sscan(v, &n); err != nil {
			return fmt.Errorf("-%s: not an integer: %q", name, v)
		}
		*dst(c) = n
		return nil
	})
}

func (f *flags) bind(name string, fn func(*config.Config, string) error) { f.binds[name] = fn }

// load parses args and builds the configuration: defaults, file,
// environment, flags; then validates it.
func (f *flags) load(args []string, environ []string) (config.Config, error) {
	cfg := config.Default()
	if err := f.fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return cfg, err
		}
		return cfg, usageError{err}
	}
	if f.fs.NArg() > 0 {
		return cfg, usageError{fmt.Errorf("unexpected arguments: %s", strings.Join(f.fs.Args(), " "))}
	}
	if f.cfgFile != "" {
		if err := cfg.Load(f.cfgFile); err != nil {
			return cfg, usageError{err}
		}
	}
	for _, kv := range environ {
		if v, ok := strings.CutPrefix(kv, "ONNXRUNTIME_LIB="); ok && v != "" {
			cfg.Encoder.Library = v
		}
	}
	if err := cfg.ApplyEnv(environ); err != nil {
		return cfg, usageError{err}
	}
	var errs []error
	f.fs.Visit(func(fl *flag.Flag) {
		if fn := f.binds[fl.Name]; fn != nil {
			if err := fn(&cfg, fl.Value.String()); err != nil {
				errs = append(errs, err)
			}
		}
	})
	if err := errors.Join(errs...); err != nil {
		return cfg, usageError{err}
	}
	if err := cfg.Validate(); err != nil {
		return cfg, usageError{fmt.Errorf("invalid configuration:\n%w", err)}
	}
	return cfg, nil
}

func (f *flags) common() {
	f.str("data", "data `dir` (default ./data)", func(c *config.Config) *string { return &c.Data })
	f.str("milvus", "Milvus `host:port`; vectors go there instead of the embedded store", func(c *config.Config) *string { return &c.Milvus })
	f.str("log-level", "debug, info, warn or error", func(c *config.Config) *string { return &c.Log.Level })
	f.str("log-format", "text or json", func(c *config.Config) *string { return &c.Log.Format })
	f.str("onnxruntime", "ONNX Runtime library `path` (or ONNXRUNTIME_LIB)", func(c *config.Config) *string { return &c.Encoder.Library })
	f.str("models", "models `dir`", func(c *config.Config) *string { return &c.Encoder.Models })
}

func newLogger(c config.Config, w io.Writer) *slog.Logger {
	var lvl slog.Level
	lvl.UnmarshalText([]byte(c.Log.Level))
	opts := &slog.HandlerOptions{Level: lvl}
	if c.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
