package catalog

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// fashionDir returns the shared fashion-small catalog, skipping when absent.
func fashionDir(tb testing.TB) string {
	tb.Helper()
	dir := filepath.Join("..", "..", "shared", "data", "fashion-small")
	if _, err := os.Stat(filepath.Join(dir, "styles.csv")); err != nil {
		tb.Skipf("fashion-small not available: %v", err)
	}
	return dir
}

const fashionRows = 39991

func TestFashionSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 40k images")
	}
	dir := fashionDir(t)
	r, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Format() != FormatFashion {
		t.Errorf("format %q", r.Format())
	}
	start := time.Now()
	delivered := 0
	counts := map[string]int{}
	var commaTitles, greyOrOdd int
	err = r.Read(context.Background(), func(ps []Product) error {
		for _, p := range ps {
			delivered++
			if p.ID == "" || len(p.Image) == 0 || p.ImageFormat != "jpeg" {
				t.Fatalf("bad product %+v", p)
			}
			if slices.Contains([]byte(p.Title), ',') {
				commaTitles++
			}
			if _, ok := p.Tags["usage"]; !ok {
				greyOrOdd++
			}
			for k, v := range p.Tags {
				if v == "" || v == "NA" || k != lower(k) {
					t.Fatalf("product %s: tag %q=%q", p.ID, k, v)
				}
			}
		}
		return nil
	}, func(j Rejection) {
		counts[j.Reason]++
		if counts[j.Reason] <= 3 {
			t.Logf("rejected row %d id %s: %s (%s)", j.Row, j.ID, j.Reason, j.Detail)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	rejected := 0
	for _, n := range counts {
		rejected += n
	}
	el := time.Since(start)
	t.Logf("fashion-small: %d delivered, %d rejected %v, %d titles with commas, %d without usage; %.0f rows/s",
		delivered, rejected, counts, commaTitles, greyOrOdd, float64(fashionRows)/el.Seconds())
	if delivered+rejected != fashionRows {
		t.Errorf("%d delivered + %d rejected != %d rows", delivered, rejected, fashionRows)
	}
	if commaTitles < 22 {
		t.Errorf("%d titles with commas, want at least 22", commaTitles)
	}
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}

func BenchmarkReadFashionSmall(b *testing.B) {
	dir := fashionDir(b)
	for _, mode := range []struct {
		name       string
		headerOnly bool
	}{{"full", false}, {"header", true}} {
		b.Run(mode.name, func(b *testing.B) {
			r, err := Open(dir, Options{HeaderOnly: mode.headerOnly})
			if err != nil {
				b.Fatal(err)
			}
			rows := 0
			for b.Loop() {
				err := r.Read(context.Background(), func(ps []Product) error { rows += len(ps); return nil },
					func(Rejection) { rows++ })
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
