package query

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

func TestFold(t *testing.T) {
	for in, want := range map[string]string{
		"dresses": "dress", "dress": "dress", "watches": "watch", "watch": "watch", "shoes": "shoe",
		"accessories": "accessory", "jeans": "jean", "men": "men", "mens": "men", "casual": "casual",
		"tshirts": "tshirt", "glasses": "glass", "boxes": "box", "bus": "bus", "200": "200",
	} {
		if got := Fold(in); got != want {
			t.Errorf("Fold(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTokens(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"  Women's Crème T-Shirts, under $19.99!", []string{"women", "creme", "t", "shirt", "under", "$", "19.99"}},
		{"ＢＬＡＣＫ\u00a0Dress\t\n", []string{"black", "dress"}},
		{"under 2,000", []string{"under", "2000"}},
		{"$50-$100", []string{"$", "50", "to", "$", "100"}},
		{"20–40 usd", []string{"20", "to", "40", "usd"}},
		{"t-shirt", []string{"t", "shirt"}},
		{"1,2,3", []string{"1", "2", "3"}},
		{"", []string{}},
		{"!!!", []string{}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, Tokens(tt.in)); diff != "" {
			t.Errorf("Tokens(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
	if n := len(Tokens(strings.Repeat("shoe ", 1000))); n > MaxTokens {
		t.Errorf("%d tokens, want at most %d", n, MaxTokens)
	}
}

func f(v float64) *float64 { return &v }

func TestPrice(t *testing.T) {
	tests := []struct {
		q    string
		want Price
	}{
		{"under $200", Price{Max: f(200)}},
		{"below 5000", Price{Max: f(5000)}},
		{"under 2k", Price{Max: f(2000)}},
		{"less than 1.5k rupees", Price{Max: f(1500)}},
		{"not more than 300", Price{Max: f(300)}},
		{"up to 40 euros", Price{Max: f(40)}},
		{"between 50 and 100 dollars", Price{Min: f(50), Max: f(100)}},
		{"from $20 to $40", Price{Min: f(20), Max: f(40)}},
		{"between 100 and 50", Price{Min: f(50), Max: f(100)}},
		{"50-100 usd", Price{Min: f(50), Max: f(100)}},
		{"over 30", Price{Min: f(30)}},
		{"at least 30", Price{Min: f(30)}},
		{"around 100", Price{Min: f(80), Max: f(120)}},
		{"£45", Price{Max: f(45)}},
		{"rs500", Price{Max: f(500)}},
		{"over 300 under 100", Price{Min: f(100), Max: f(300)}},
		{"size 8", Price{}},
		{"501 jeans", Price{}},
		{"under the sea", Price{}},
		// Amounts, and around's bounds, that overflow a float64 are no
		// price: never an infinite bound.
		{"under 1e308k", Price{}},
		{"under 1e308 k", Price{}},
		{"1e306k usd", Price{}},
		{"around 1.7e308", Price{}},
		{"between 1 and 1e308k dollars", Price{}},
		{"under 1e300k", Price{Max: f(1e303)}},
	}
	for _, tt := range tests {
		folded := Tokens(tt.q)
		_, got := extractPrice(folded)
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%q (-want +got):\n%s", tt.q, diff)
		}
	}
}

func TestOSA(t *testing.T) {
	tests := []struct {
		a, b  string
		limit int
		want  int
	}{
		{"tshrit", "tshirt", 1, 1},
		{"watch", "watch", 1, 0},
		{"wacth", "watch", 1, 1},
		{"sunglases", "sunglasses", 2, 1},
		{"abc", "xyz", 1, 2},
		{"kitten", "sitting", 3, 3},
	}
	for _, tt := range tests {
		if got := osa(tt.a, tt.b, tt.limit); got != tt.want {
			t.Errorf("osa(%q, %q, %d) = %d, want %d", tt.a, tt.b, tt.limit, got, tt.want)
		}
	}
}

// kvs renders attributes as "key=value" ("~" marks soft ones).
func kvs(attrs []Attribute) string {
	var s []string
	for _, a := range attrs {
		p := a.Key + "=" + a.Value
		if !a.Strict {
			p += "~"
		}
		s = append(s, p)
	}
	return strings.Join(s, ",")
}

func TestResolve(t *testing.T) {
	r := NewResolver([]Term{
		{Key: "category", Value: "watches"},
		{Key: "category", Value: "casual shoes"},
		{Key: "category", Value: "tshirts"},
		{Key: "category", Value: "jackets"},
		{Key: "category", Value: "jeans"},
		{Key: "subcategory", Value: "shoes"},
		{Key: "subcategory", Value: "watches"},
		{Key: "color", Value: "black"},
		{Key: "color", Value: "navy blue", Aliases: []string{"navy"}},
		{Key: "color", Value: "brown"},
		{Key: "color", Value: "olive"},
		{Key: "color", Value: "green"},
		{Key: "gender", Value: "men"},
		{Key: "gender", Value: "women"},
		{Key: "occasion", Value: "casual"},
		{Key: "occasion", Value: "formal"},
		{Key: "occasion", Value: "sports"},
	})
	tests := []struct {
		q        string
		attrs    string
		excluded string
	}{
		{"black watch for men", "color=black,category=watches,gender=men", ""},
		{"Black Watches for Men", "color=black,category=watches,gender=men", ""},
		{"navy casual shoes for women", "color=navy blue,category=casual shoes,gender=women", ""},
		{"casual t-shirts", "occasion=casual,category=tshirts", ""},
		{"men's shoes without brown", "gender=men,subcategory=shoes", "color=brown"},
		{"no black ones", "", "color=black"},
		{"not black or brown", "", "color=black,color=brown"},
		{"without lace", "", ""},
		{"tshrit for men", "category=tshirts,gender=men", ""},
		{"tee for my wife", "category=tshirts,gender=women~", ""},
		{"watch for my wife, for women", "category=watches,gender=women", ""},
		{"casual office shirt", "occasion=casual", ""},
		{"gym tee", "occasion=sports,category=tshirts", ""}, // a context cue filters until the search relaxes it
		{"denim jacket", "category=jackets", ""},
		{"black or brown watches", "color=black~,color=brown~,category=watches", ""},
		{"olive green tshirts", "color=olive,category=tshirts", ""},
		{"black tshirts not black", "category=tshirts", "color=black"},
		{"something nice", "", ""},
		{"", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.q, func(t *testing.T) {
			got := r.Resolve(tt.q)
			var e []string
			for _, x := range got.Excluded {
				e = append(e, x.Key+"="+x.Value)
			}
			if s := kvs(got.Attributes); s != tt.attrs {
				t.Errorf("attributes = %q, want %q", s, tt.attrs)
			}
			if s := strings.Join(e, ","); s != tt.excluded {
				t.Errorf("excluded = %q, want %q", s, tt.excluded)
			}
		})
	}
}

func TestBuiltinsNeedVocabulary(t *testing.T) {
	// Without a "tshirts" value the synonym "tee" resolves to nothing, and
	// without "women" no cue word suggests it.
	r := NewResolver([]Term{{Key: "color", Value: "black"}})
	if got := r.Resolve("black tee for my wife"); kvs(got.Attributes) != "color=black" {
		t.Errorf("attributes = %s, want color=black only", kvs(got.Attributes))
	}
}

func TestVocabularyAliasWinsOverBuiltin(t *testing.T) {
	// The curated vocabulary maps "sneakers" to sports shoes; the built-in
	// lexicon's casual shoes must not override it.
	r := NewResolver([]Term{
		{Key: "category", Value: "casual shoes"},
		{Key: "category", Value: "sports shoes", Aliases: []string{"sneakers"}},
	})
	got := r.Resolve("white sneakers")
	want := []Attribute{{Key: "category", Value: "sports shoes", Strict: true, Confidence: 0.95}}
	if diff := cmp.Diff(want, got.Attributes); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestTypoGuards(t *testing.T) {
	r := testResolver(t)
	tests := []struct {
		q, want string
	}{
		{"tshrit", "category=tshirts"},
		{"sunglases", "category=sunglasses"},
		{"shrt", "category=shirts"},               // a dropped letter in a short word
		{"blak", "color=black"},                   // a dropped letter
		{"whte", "color=white"},                   // a dropped letter
		{"jens", "category=jeans"},                // a dropped letter
		{"bkue", "color=blue"},                    // a neighbouring key
		{"pool", ""},                              // a real short word: not "polo"
		{"bold", ""},                              // a real short word: not "gold"
		{"blzk", ""},                              // z is not next to a: no reading
		{"ab", ""},                                // too short to correct
		{"style", ""},                             // a real word: not "stole"
		{"means", ""},                             // a real word: not "jeans"
		{"causal shoes", "category=casual shoes"}, // a real word, corrected only in a phrase
		{"causal", ""},
		{"xshirt", ""}, // the first letter must agree
	}
	for _, tt := range tests {
		if got := kvs(r.Resolve(tt.q).Attributes); got != tt.want {
			t.Errorf("%q: attributes = %q, want %q", tt.q, got, tt.want)
		}
	}
}

// TestTypoFrequency: a tie between two readings at the same distance goes
// to the far more frequent one, and is no correction when they are close.
func TestTypoFrequency(t *testing.T) {
	tests := []struct {
		black, backpacks int
		q, want          string
	}{
		{9000, 600, "balck", "color=black"}, // "back" (of "back pack") is 15 times rarer
		{9000, 600, "blak", "color=black"},  // a short word: one reading only
		{1000, 600, "balck", ""},            // too close to call
		{9000, 600, "bqck", ""},             // q is next to a but "back" is no vocabulary word alone
	}
	for _, tt := range tests {
		r := NewResolver([]Term{
			{Key: "color", Value: "black", Count: tt.black},
			{Key: "category", Value: "backpacks", Count: tt.backpacks, Aliases: []string{"back pack"}},
		})
		if got := kvs(r.Resolve(tt.q).Attributes); got != tt.want {
			t.Errorf("%q with counts %d/%d: attributes = %q, want %q", tt.q, tt.black, tt.backpacks, got, tt.want)
		}
	}
}

// fakeEmbed embeds each text as a one-hot vector over a few concepts, so
// that similarities are known exactly.
func fakeEmbed(concepts map[string][]float32) EmbedFunc {
	return func(_ context.Context, texts []string) ([][]float32, error) {
		out := make([][]float32, len(texts))
		for i, t := range texts {
			v, ok := concepts[t]
			if !ok {
				v = []float32{0, 0, 0, 0}
			}
			out[i] = v
		}
		return out, nil
	}
}

func TestResolveContextVibes(t *testing.T) {
	r := testResolver(t)
	concepts := map[string][]float32{
		"italian": {0.8, 0.6, 0, 0},
		"grunge":  {0, 0, 0.3, 0.95},
		"picnic":  {0.9, 0.1, 0, 0},
		"summer":  {1, 0, 0, 0},
		"travel":  {0, 1, 0, 0},
		"party":   {0, 0, 1, 0},
		"multi":   {0, 0, 0.6, 0.8},
	}
	v := &Vibes{
		Embed:      fakeEmbed(concepts),
		Attributes: []KV{{Key: "season", Value: "summer"}, {Key: "occasion", Value: "travel"}, {Key: "occasion", Value: "party"}, {Key: "color", Value: "multi"}},
	}
	for _, kv := range v.Attributes {
		v.Vectors = append(v.Vectors, concepts[kv.Value])
	}
	tests := []struct {
		q    string
		want []Attribute
	}{
		// "italian" is near summer (0.8) and travel (0.6); summer is
		// already named, so only the occasion is suggested.
		{"italian summer dress", []Attribute{
			{Key: "season", Value: "summer", Strict: true, Confidence: 1},
			{Key: "category", Value: "dresses", Strict: true, Confidence: 1},
			{Key: "occasion", Value: "travel", Strict: false, Confidence: 0.6},
		}},
		{"picnic", []Attribute{{Key: "season", Value: "summer", Strict: false, Confidence: 0.99}}},
		{"grunge", []Attribute{{Key: "color", Value: "multi", Strict: false, Confidence: 0.94}}},
		// Below the similarity floor nothing is suggested.
		{"zzz", []Attribute{}},
		// A negated leftover word never becomes a wish.
		{"dress without picnic", []Attribute{{Key: "category", Value: "dresses", Strict: true, Confidence: 1}}},
	}
	for _, tt := range tests {
		got, err := r.ResolveContext(context.Background(), tt.q, v)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tt.want, got.Attributes); diff != "" {
			t.Errorf("%q (-want +got):\n%s", tt.q, diff)
		}
	}
	boom := errors.New("boom")
	v.Embed = func(context.Context, []string) ([][]float32, error) { return nil, boom }
	if _, err := r.ResolveContext(context.Background(), "picnic", v); !errors.Is(err, boom) {
		t.Errorf("err = %v, want it to wrap boom", err)
	}
	if _, err := r.ResolveContext(context.Background(), "black dress", v); err != nil {
		t.Errorf("no leftover words must not embed: %v", err)
	}
	if got, err := r.ResolveContext(context.Background(), "picnic", nil); err != nil || len(got.Attributes) != 0 {
		t.Errorf("nil Vibes: %+v, %v", got, err)
	}
}

func TestConcurrentUse(t *testing.T) {
	r := testResolver(t)
	want := r.Resolve("black tshrit for men under $20")
	done := make(chan Resolved, 8)
	for range 8 {
		go func() { done <- r.Resolve("black tshrit for men under $20") }()
	}
	for range 8 {
		if diff := cmp.Diff(want, <-done); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	}
}

// check asserts the invariants of any resolution.
func check(t *testing.T, q string, got Resolved) {
	t.Helper()
	if got.Attributes == nil || got.Excluded == nil {
		t.Fatalf("%q: nil lists", q)
	}
	strict := map[string]int{}
	for _, a := range got.Attributes {
		if a.Confidence < 0 || a.Confidence > 1 || math.IsNaN(a.Confidence) {
			t.Errorf("%q: confidence %v", q, a.Confidence)
		}
		if a.Strict {
			strict[a.Key]++
		}
		if slices.Contains(got.Excluded, KV{Key: a.Key, Value: a.Value}) {
			t.Errorf("%q: %s=%s both wanted and excluded", q, a.Key, a.Value)
		}
	}
	for k, n := range strict {
		if n > 1 {
			t.Errorf("%q: %d strict values of %s", q, n, k)
		}
	}
	p := got.Price
	for _, b := range []*float64{p.Min, p.Max} {
		if b != nil && (math.IsNaN(*b) || math.IsInf(*b, 0) || *b < 0) {
			t.Errorf("%q: price bound %v", q, *b)
		}
	}
	if p.Min != nil && p.Max != nil && *p.Min > *p.Max {
		t.Errorf("%q: price min %v > max %v", q, *p.Min, *p.Max)
	}
	if !utf8.ValidString(got.Rest) {
		t.Errorf("%q: rest is not UTF-8", q)
	}
}

func FuzzResolve(f *testing.F) {
	r := testResolver(f)
	for _, s := range goldenQueries(f) {
		f.Add(s)
	}
	for _, s := range []string{"between 1 and", "not", "€€€", "\x00\xff", "1e400 dollars", "under -5", "9999999999999999999999k",
		"under 1e308k", "around 1.7e308", "over 1.7e308 thousand", "between 1e308k and 1e308k",
		strings.Repeat("not ", 300), strings.Repeat("a-1,000-", 200), strings.Repeat("é", 600)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		// Work is bounded by MaxQueryBytes and MaxTokens; the generous
		// limit only catches runaway loops, not scheduler noise.
		start := time.Now()
		got := r.Resolve(s)
		if d := time.Since(start); d > 500*time.Millisecond {
			t.Errorf("%d-byte query took %v", len(s), d)
		}
		check(t, s, got)
	})
}

// worstCaseInputs are long repetitive queries that would expose work
// growing faster than the input (BenchmarkWorstCaseInputs measures them).
var worstCaseInputs = []string{
	strings.Repeat("not ", 5000), strings.Repeat("tshrit ", 5000), strings.Repeat("1,000-", 5000),
	strings.Repeat("between 1 and ", 5000), strings.Repeat("é", 100000), strings.Repeat("casual shoes ", 5000),
}

// TestWorstCaseInputsAreCheap guards against runaway work on the worst
// inputs: quadratic work on them would take seconds. The limit is far
// above their few milliseconds (BenchmarkWorstCaseInputs), so that a
// loaded machine does not fail it; speed itself is the benchmark's.
func TestWorstCaseInputsAreCheap(t *testing.T) {
	r := testResolver(t)
	for _, s := range worstCaseInputs {
		start := time.Now()
		got := r.Resolve(s)
		if d := time.Since(start); d > 500*time.Millisecond {
			t.Errorf("%.20q...: %v per resolution", s, d)
		}
		check(t, s, got)
	}
}

func BenchmarkWorstCaseInputs(b *testing.B) {
	r := testResolver(b)
	for _, s := range worstCaseInputs {
		b.Run(fmt.Sprintf("%.12s", strings.ReplaceAll(s, " ", "_")), func(b *testing.B) {
			for b.Loop() {
				r.Resolve(s)
			}
		})
	}
}

func TestInvariantsOnGolden(t *testing.T) {
	r := testResolver(t)
	for _, q := range goldenQueries(t) {
		check(t, q, r.Resolve(q))
	}
}

// benchQueries mixes head, tail, negation, price and typo queries.
var benchQueries = []string{
	"black tshirt for men", "navy blue casual shoes women", "handbags without brown",
	"looking for a red dress for a wedding under $200", "tshrit for men", "what should i wear to the office",
	"grey hoodie for my son", "kurta below 5000", "sunglases", "need a nice watch in gold for my wife",
	"puma sneakers", "olive green kurta", "casual shoes not black", "between 50 and 100 dollars watches",
}

func BenchmarkResolve(b *testing.B) {
	r := testResolver(b)
	durs := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		start := time.Now()
		r.Resolve(benchQueries[i%len(benchQueries)])
		durs = append(durs, time.Since(start))
	}
	b.StopTimer()
	if len(durs) > 0 {
		sort.Slice(durs, func(i, j int) bool { return durs[i] < durs[j] })
		b.ReportMetric(float64(durs[len(durs)/2].Nanoseconds()), "p50-ns")
		b.ReportMetric(float64(durs[len(durs)*99/100].Nanoseconds()), "p99-ns")
	}
}

func BenchmarkNewResolver(b *testing.B) {
	for b.Loop() {
		testResolver(b)
	}
}
