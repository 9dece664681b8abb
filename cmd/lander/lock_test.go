package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"lander/catalog/demo"
)

// TestIndexRefusesALockedDataDir holds DATA/.lock as a running lander
// index would and checks that a run that builds a generation fails at once
// with a clear error, while a shard run, which shares the data directory
// with its sibling shards by design, goes on.
func TestIndexRefusesALockedDataDir(t *testing.T) {
	env := models(t)
	dir := t.TempDir()
	cat, err := demo.Generate(filepath.Join(dir, "catalog"), 8, 3)
	if err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	if err := os.MkdirAll(data, 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(filepath.Join(data, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		args    []string
		refused bool
	}{
		{"run", []string{"--catalog", cat}, true},
		{"finalize", []string{"--finalize", "--shards", "1"}, true},
		{"shard", []string{"--catalog", cat, "--shard", "0/1"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			start := time.Now()
			code := run(context.Background(), append([]string{"index", "--log-level", "warn", "--data", data}, tc.args...), &out, &out, env)
			took := time.Since(start)
			msg := "another lander index holds " + filepath.Join(data, ".lock")
			if tc.refused {
				if code == 0 || !strings.Contains(out.String(), msg) || took > 2*time.Second {
					t.Errorf("exit %d after %v, output %q; want a failure within 2s naming %q", code, took, out.String(), msg)
				}
				return
			}
			if code != 0 || strings.Contains(out.String(), "holds") {
				t.Errorf("exit %d, output %q; want the shard written", code, out.String())
			}
		})
	}
}
