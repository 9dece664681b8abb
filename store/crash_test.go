package store

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// The crash test re-runs the test binary as a writer, with these variables
// telling it what to do.
const (
	crashDirEnv  = "LANDER_STORE_CRASH_DIR"
	crashStepEnv = "LANDER_STORE_CRASH_STEP"
)

// crashGenerations returns the two generations the crash test switches
// between: a (saved before the writer starts) and b (what the writer saves).
func crashGenerations() (a, b []Product) {
	r := rand.New(rand.NewPCG(3, 3))
	vec := func() []float32 {
		v := make([]float32, 32)
		for i := range v {
			v[i] = float32(r.NormFloat64())
		}
		return normalised(v)
	}
	for i := range 3000 {
		a = append(a, Product{ID: fmt.Sprintf("a%04d", i), Title: "old", Vector: vec(),
			Attributes: []Attribute{{Key: "gen", Value: "a", Score: 1}}})
	}
	b = append(b, a[500:]...)
	for i := range 1000 {
		b = append(b, Product{ID: fmt.Sprintf("b%04d", i), Title: "new", Vector: vec(),
			Attributes: []Attribute{{Key: "gen", Value: "b", Score: 1}}})
	}
	return a, b
}

func normalised(v []float32) []float32 {
	var n float32
	for _, x := range v {
		n += x * x
	}
	n = float32(1 / math.Sqrt(float64(n)))
	for i := range v {
		v[i] *= n
	}
	return v
}

// TestSaveCrash kills a writer with SIGKILL at each step of a Save, and at
// arbitrary moments of a loop of Saves, and checks that the store directory
// then opens as one complete generation: the previous one or the new one.
func TestSaveCrash(t *testing.T) {
	if dir := os.Getenv(crashDirEnv); dir != "" {
		crashWriter(dir, os.Getenv(crashStepEnv))
		return
	}
	if testing.Short() {
		t.Skip("starts writer processes")
	}
	genA, genB := crashGenerations()
	base := filepath.Join(t.TempDir(), "base")
	a := NewEmbedded(32)
	if err := a.Upsert(t.Context(), genA); err != nil {
		t.Fatal(err)
	}
	if err := a.Save(t.Context(), base); err != nil {
		t.Fatal(err)
	}
	golden, err := os.ReadFile(filepath.Join(base, FileName))
	if err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name string
		step string        // the Save step at which the writer stops to be killed
		wait time.Duration // or: how long to let a loop of Saves run
		want string        // "a", "b", or "" for either
	}{
		{name: "temp created", step: "created", want: "a"},
		{name: "vectors written", step: "vectors", want: "a"},
		{name: "all written", step: "written", want: "a"},
		{name: "synced", step: "synced", want: "a"},
		{name: "renamed", step: "renamed", want: "b"},
		{name: "loop 2ms", wait: 2 * time.Millisecond},
		{name: "loop 9ms", wait: 9 * time.Millisecond},
		{name: "loop 23ms", wait: 23 * time.Millisecond},
		{name: "loop 51ms", wait: 51 * time.Millisecond},
		{name: "loop 117ms", wait: 117 * time.Millisecond},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "store")
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, FileName), golden, 0o644); err != nil {
				t.Fatal(err)
			}
			step := c.step
			if step == "" {
				step = "loop"
			}
			killWriter(t, dir, step, c.wait)
			e, err := OpenEmbedded(t.Context(), dir)
			if err != nil {
				t.Fatalf("open after the writer was killed: %v", err)
			}
			got := generationOf(t, e, genA, genB)
			if c.want != "" && got != c.want {
				t.Fatalf("store holds generation %s, want %s", got, c.want)
			}
			t.Logf("store holds generation %s", got)
			// The next writer saves over whatever the dead one left.
			if err := e.Save(t.Context(), dir); err != nil {
				t.Fatalf("save after the crash: %v", err)
			}
		})
	}
}

// killWriter starts a writer on dir and kills it with SIGKILL when it reports
// that it reached step, or wait after it reports that its loop started.
func killWriter(t *testing.T, dir, step string, wait time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestSaveCrash$")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, crashStepEnv+"="+step)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	reached := false
	for sc.Scan() {
		if sc.Text() == "at "+step {
			reached = true
			break
		}
	}
	if !reached {
		cmd.Wait()
		t.Fatalf("writer ended before step %q", step)
	}
	time.Sleep(wait)
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
}

// crashWriter is the writer process: it opens dir, applies generation b and
// saves, stopping forever at step; with step "loop" it saves b and a in turn
// until it is killed.
func crashWriter(dir, step string) {
	ctx := context.Background()
	_, genB := crashGenerations()
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "crash writer:", err)
		os.Exit(3)
	}
	e, err := OpenEmbedded(ctx, dir)
	if err != nil {
		fail(err)
	}
	apply := func(e *Embedded) {
		var gone []string
		for _, id := range e.ids {
			if strings.HasPrefix(id, "a") && id < "a0500" {
				gone = append(gone, id)
			}
		}
		if err := e.Delete(ctx, gone); err != nil {
			fail(err)
		}
		if err := e.Upsert(ctx, genB[len(genB)-1000:]); err != nil {
			fail(err)
		}
	}
	if step != "loop" {
		saveHook = func(s string) {
			if s == step {
				fmt.Printf("at %s\n", s)
				time.Sleep(time.Hour)
			}
		}
		apply(e)
		if err := e.Save(ctx, dir); err != nil {
			fail(err)
		}
		fail(fmt.Errorf("save finished without reaching step %q", step))
	}
	a, err := OpenEmbedded(ctx, dir)
	if err != nil {
		fail(err)
	}
	apply(e)
	if err := e.Build(ctx); err != nil {
		fail(err)
	}
	fmt.Println("at loop")
	for i := 0; ; i++ {
		next := e
		if i%2 == 1 {
			next = a
		}
		if err := next.Save(ctx, dir); err != nil {
			fail(err)
		}
	}
}

// generationOf reports which of the two generations e holds, failing t when
// it is neither, complete.
func generationOf(t *testing.T, e *Embedded, genA, genB []Product) string {
	t.Helper()
	for _, g := range []struct {
		name string
		ps   []Product
	}{{"a", genA}, {"b", genB}} {
		if e.Len() != len(g.ps) {
			continue
		}
		ids := make([]string, len(g.ps))
		for i, p := range g.ps {
			ids[i] = p.ID
		}
		got, err := e.Get(t.Context(), ids)
		if err != nil || len(got) != len(g.ps) {
			continue
		}
		for i, p := range g.ps {
			if !slices.Equal(got[i].Vector, p.Vector) || got[i].Title != p.Title {
				t.Fatalf("generation %s: product %s differs", g.name, p.ID)
			}
		}
		// The graph came back too: a search answers from it.
		if e.Pending() != 0 {
			t.Fatalf("generation %s: %d rows not in the graph", g.name, e.Pending())
		}
		return g.name
	}
	t.Fatalf("store holds %d products, neither generation", e.Len())
	return ""
}
