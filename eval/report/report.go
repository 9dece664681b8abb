// Package report assembles lander's quality report (lander eval): the
// collection precision, content-first against the search-log baseline,
// query precision and attribute recall, printed as text or JSON, or
// written as an HTML page with inline SVG plots (precision per attribute
// family, topic size distribution).
package report

import (
	"fmt"
	"html/template"
	"io"
	"strings"

	"lander/eval/attreval"
	"lander/eval/collectioneval"
	"lander/eval/retrieval"
	"lander/indexer/topics"
)

// Report is the full quality report; absent parts are nil.
type Report struct {
	// Source names the generation and the label catalog.
	Source      string                  `json:"source"`
	Collections *collectioneval.Report  `json:"collections,omitempty"`
	Intents     *topics.IntentReport    `json:"intents,omitempty"`
	Queries     *retrieval.QueryReport  `json:"queries,omitempty"`
	Recall      *retrieval.RecallReport `json:"attribute_recall,omitempty"`
	// Attributes judges each source of attribute evidence (lander eval
	// attributes).
	Attributes *attreval.Report `json:"attributes,omitempty"`
}

// interval describes a side's 95% interval and the slots it rests on;
// empty when no slot was judged.
func interval(s collectioneval.Side) string {
	if s.Slots == 0 {
		return ""
	}
	return fmt.Sprintf(" (95%% interval %.3f-%.3f, %d of %d slots)", s.Interval[0], s.Interval[1], s.Right, s.Slots)
}

// WriteText prints the report as plain text.
func (r Report) WriteText(w io.Writer) {
	fmt.Fprintf(w, "lander eval: %s\n", r.Source)
	if c := r.Collections; c != nil {
		fmt.Fprintf(w, "\ncollections (Precision@10 by the catalog's labels)\n")
		fmt.Fprintf(w, "  content-first: %d generated, %d published, P@10 %.3f%s\n", c.Content.Generated, c.Content.Published, c.Content.Precision, interval(c.Content))
		fmt.Fprintf(w, "  search log:    %d generated, %d published, P@10 %.3f%s\n", c.Baseline.Generated, c.Baseline.Published, c.Baseline.Precision, interval(c.Baseline))
		fmt.Fprintf(w, "  published ratio content/baseline: %.2fx\n", c.Ratio)
		fmt.Fprintf(w, "  published collections sharing a title: %d\n", c.Content.SharedTitles)
		if wrong := c.Content.Slots - c.Content.Right; wrong > 0 {
			fmt.Fprintf(w, "  wrong top-10 slots: %d, of which %d are title/label conflicts (the product's title names the value its label denies), from %d products\n",
				wrong, c.Content.TitleConflicts, len(c.Content.Conflicts))
		}
		for i, cf := range c.Content.Conflicts {
			if i == 5 {
				fmt.Fprintf(w, "  ... %d more conflicting products in the JSON report\n", len(c.Content.Conflicts)-i)
				break
			}
			fmt.Fprintf(w, "  conflict: %s %q: %s (%d collections)\n", cf.ID, cf.Title, strings.Join(cf.Named, "; "), len(cf.Collections))
		}
		fmt.Fprintf(w, "  %-14s %11s %8s %13s %10s\n", "family", "collections", "P@10", "95% interval", "attr acc")
		for _, f := range c.Content.Families {
			fmt.Fprintf(w, "  %-14s %11d %8.3f   %.3f-%.3f %10.3f\n", f.Key, f.Collections, f.Precision, f.Interval[0], f.Interval[1], f.AttributeAccuracy)
		}
		fmt.Fprintf(w, "  sizes:")
		for _, b := range c.Content.Sizes {
			fmt.Fprintf(w, " %s:%d", b.Label, b.Count)
		}
		fmt.Fprintln(w)
		for i, x := range c.Content.Worst {
			if i == 10 {
				break
			}
			fmt.Fprintf(w, "  low: %-40q P@10 %.2f (%d products)", x.Title, x.Precision, x.Size)
			if len(x.Wrong) > 0 {
				fmt.Fprintf(w, " e.g. %s %q misses %s", x.Wrong[0].ID, x.Wrong[0].Title, strings.Join(x.Wrong[0].Missed, ","))
				if x.Wrong[0].TitleConflict {
					fmt.Fprint(w, " (its title says otherwise)")
				}
			}
			fmt.Fprintln(w)
		}
		if c.Unlabelled > 0 {
			fmt.Fprintf(w, "  (%d top-10 products had no labels and were skipped)\n", c.Unlabelled)
		}
	}
	if in := r.Intents; in != nil {
		fmt.Fprintf(w, "\nintents: %d queries (%d searches), %d resolved to a tuple, %d distinct tuples\n", in.Queries, in.Volume, in.Resolved, in.Tuples)
		for _, b := range in.Bands {
			fmt.Fprintf(w, "  %-5s %4d queries %6d searches (%.0f%%)\n", b.Name, b.Queries, b.Volume, 100*b.Share)
		}
		for _, g := range in.Thin {
			fmt.Fprintf(w, "  thin: %q demand %d (%s), %d products: %s\n", g.Query, g.Demand, g.Band, g.Supply, g.Reason)
		}
	}
	if q := r.Queries; q != nil {
		fmt.Fprintf(w, "\nqueries: Precision@10 %.3f over %d labelled queries (%d skipped)\n", q.Precision, q.Queries, q.Skipped)
		for _, k := range q.Kinds {
			fmt.Fprintf(w, "  %-9s %4d %.3f\n", k.Kind, k.Queries, k.Precision)
		}
	}
	if a := r.Attributes; a != nil {
		a.WriteText(w)
	}
	if a := r.Recall; a != nil {
		fmt.Fprintf(w, "\nattribute Recall@10 %.3f over %d products, %d vocabulary attributes\n", a.Recall, a.Products, a.Attributes)
		for _, k := range a.Keys {
			fmt.Fprintf(w, "  %-9s %.3f (%d of %d)\n", k.Key, k.Recall, k.Found, k.Total)
		}
	}
}

// bar is one bar of a plot.
type bar struct {
	Label       string
	Value       float64
	Text        string
	X, Y, W, H  float64
	LX, LY, TXY float64
}

// plot is a vertical bar chart.
type plot struct {
	Title         string
	Width, Height float64
	Bars          []bar
	Axis          float64
}

func newPlot(title string, labels []string, values []float64, texts []string, maxV float64) plot {
	const w, h, top, bottom, left = 640.0, 260.0, 30.0, 60.0, 20.0
	p := plot{Title: title, Width: w, Height: h, Axis: h - bottom}
	if maxV <= 0 {
		maxV = 1
	}
	n := float64(max(len(values), 1))
	slot := (w - 2*left) / n
	for i, v := range values {
		bh := (h - top - bottom) * v / maxV
		x := left + float64(i)*slot + slot*0.15
		p.Bars = append(p.Bars, bar{Label: labels[i], Value: v, Text: texts[i], X: x, W: slot * 0.7, Y: h - bottom - bh, H: bh,
			LX: x + slot*0.35, LY: h - bottom + 16, TXY: h - bottom - bh - 4})
	}
	return p
}

var page = template.Must(template.New("report").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>lander eval</title>
<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:60em}table{border-collapse:collapse}td,th{padding:2px 10px;text-align:right}th:first-child,td:first-child{text-align:left}svg{display:block;margin:1em 0}</style>
</head><body>
<h1>lander eval</h1><p>{{.R.Source}}</p>
{{with .R.Collections}}<h2>Collections</h2>
<table><tr><th></th><th>generated</th><th>published</th><th>Precision@10</th></tr>
<tr><td>content-first</td><td>{{.Content.Generated}}</td><td>{{.Content.Published}}</td><td>{{printf "%.3f" .Content.Precision}} ({{printf "%.3f" (index .Content.Interval 0)}}–{{printf "%.3f" (index .Content.Interval 1)}})</td></tr>
<tr><td>search log</td><td>{{.Baseline.Generated}}</td><td>{{.Baseline.Published}}</td><td>{{printf "%.3f" .Baseline.Precision}}{{if .Baseline.Slots}} ({{printf "%.3f" (index .Baseline.Interval 0)}}–{{printf "%.3f" (index .Baseline.Interval 1)}}){{end}}</td></tr></table>
<p>In brackets: the 95% Wilson interval over the judged top-10 slots.</p>
<p>Published ratio: {{printf "%.2f" .Ratio}}x</p>
<p>Title/label conflicts among the wrong top-10 slots (the product's title names the value its label denies): {{.Content.TitleConflicts}}</p>
<table><tr><th>family</th><th>collections</th><th>P@10</th><th>95% interval</th><th>attribute accuracy</th></tr>
{{range .Content.Families}}<tr><td>{{.Key}}</td><td>{{.Collections}}</td><td>{{printf "%.3f" .Precision}}</td><td>{{printf "%.3f" (index .Interval 0)}}–{{printf "%.3f" (index .Interval 1)}}</td><td>{{printf "%.3f" .AttributeAccuracy}}</td></tr>{{end}}</table>
{{end}}
{{range .Plots}}<svg xmlns="http://www.w3.org/2000/svg" width="{{.Width}}" height="{{.Height}}" role="img" aria-label="{{.Title}}">
<text x="20" y="18" font-size="14" font-weight="bold">{{.Title}}</text>
<line x1="20" x2="{{.Width}}" y1="{{.Axis}}" y2="{{.Axis}}" stroke="#999"/>
{{range .Bars}}<rect x="{{printf "%.1f" .X}}" y="{{printf "%.1f" .Y}}" width="{{printf "%.1f" .W}}" height="{{printf "%.1f" .H}}" fill="#4a78b5"><title>{{.Label}}: {{.Text}}</title></rect>
<text x="{{printf "%.1f" .LX}}" y="{{printf "%.1f" .TXY}}" font-size="10" text-anchor="middle">{{.Text}}</text>
<text x="{{printf "%.1f" .LX}}" y="{{printf "%.1f" .LY}}" font-size="10" text-anchor="end" transform="rotate(-35 {{printf "%.1f" .LX}} {{printf "%.1f" .LY}})">{{.Label}}</text>
{{end}}</svg>{{end}}
{{with .R.Attributes}}<h2>Attributes by source</h2><p>{{.Split}}, {{.Products}} products. Precision / recall (values assigned); the reliability plots below give, per source and key, the observed precision of the values in each band of stated score (a calibrated source's bars follow the band).</p>
<table><tr><th>source</th>{{range (index .Sources 0).Keys}}<th>{{.Key}}</th>{{end}}</tr>
{{range .Sources}}<tr><td>{{.Source}}</td>{{range .Keys}}<td>{{printf "%.3f / %.3f (%d)" .Precision .Recall .Assigned}}</td>{{end}}</tr>{{end}}</table>
<p>Calibration error: the mean, over the values, of |observed precision &minus; stated score| in their band (0 is calibrated; &ndash; no values).</p>
<table><tr><th>source</th>{{range (index .Sources 0).Keys}}<th>{{.Key}}</th>{{end}}</tr>
{{range .Sources}}<tr><td>{{.Source}}</td>{{range .Keys}}<td>{{if .Assigned}}{{printf "%.3f" .CalibrationError}}{{else}}&ndash;{{end}}</td>{{end}}</tr>{{end}}</table>{{end}}
{{with .R.Queries}}<h2>Queries</h2><p>Precision@10 {{printf "%.3f" .Precision}} over {{.Queries}} labelled queries</p>
<table><tr><th>kind</th><th>queries</th><th>P@10</th></tr>{{range .Kinds}}<tr><td>{{.Kind}}</td><td>{{.Queries}}</td><td>{{printf "%.3f" .Precision}}</td></tr>{{end}}</table>{{end}}
{{with .R.Recall}}<h2>Attribute recall</h2><p>Recall@10 {{printf "%.3f" .Recall}} over {{.Products}} products</p>
<table><tr><th>key</th><th>recall@10</th></tr>{{range .Keys}}<tr><td>{{.Key}}</td><td>{{printf "%.3f" .Recall}}</td></tr>{{end}}</table>{{end}}
{{with .R.Intents}}<h2>Intents</h2><p>{{.Queries}} queries, {{.Volume}} searches, {{.Resolved}} resolved.</p>
<table><tr><th>band</th><th>queries</th><th>searches</th></tr>{{range .Bands}}<tr><td>{{.Name}}</td><td>{{.Queries}}</td><td>{{.Volume}}</td></tr>{{end}}</table>
{{if .Thin}}<h3>Strong demand, thin coverage</h3><table><tr><th>query</th><th>demand</th><th>products</th><th>why</th></tr>{{range .Thin}}<tr><td>{{.Query}}</td><td>{{.Demand}}</td><td>{{.Supply}}</td><td>{{.Reason}}</td></tr>{{end}}</table>{{end}}{{end}}
</body></html>
`))

// reliabilityPlots draws one reliability plot per source and key: the
// observed precision of each band of stated score that holds values.
func reliabilityPlots(a *attreval.Report) []plot {
	var out []plot
	for _, s := range a.Sources {
		for _, k := range s.Keys {
			var ls, ts []string
			var vs []float64
			for _, b := range k.Reliability {
				if b.N == 0 {
					continue
				}
				ls = append(ls, fmt.Sprintf("%.1f-%.1f (n=%d)", b.Lo, b.Hi, b.N))
				vs = append(vs, b.Observed())
				ts = append(ts, fmt.Sprintf("%.2f", b.Observed()))
			}
			if len(vs) == 0 {
				continue
			}
			out = append(out, newPlot(fmt.Sprintf("Reliability: %s, %s (observed precision per score band; calibration error %.3f)", s.Source, k.Key, k.CalibrationError), ls, vs, ts, 1))
		}
	}
	return out
}

// WriteHTML writes the report as one HTML page with inline SVG plots.
func (r Report) WriteHTML(w io.Writer) error {
	var plots []plot
	if c := r.Collections; c != nil {
		var ls, ts []string
		var vs []float64
		for _, f := range c.Content.Families {
			ls = append(ls, f.Key)
			vs = append(vs, f.Precision)
			ts = append(ts, fmt.Sprintf("%.3f", f.Precision))
		}
		plots = append(plots, newPlot("Collection Precision@10 per attribute family", ls, vs, ts, 1))
		ls, ts, vs = nil, nil, nil
		top := 0.0
		for _, b := range c.Content.Sizes {
			ls = append(ls, b.Label)
			vs = append(vs, float64(b.Count))
			ts = append(ts, fmt.Sprint(b.Count))
			top = max(top, float64(b.Count))
		}
		plots = append(plots, newPlot("Published topics by feed size (products)", ls, vs, ts, top))
	}
	if a := r.Attributes; a != nil {
		plots = append(plots, reliabilityPlots(a)...)
	}
	if err := page.Execute(w, struct {
		R     Report
		Plots []plot
	}{r, plots}); err != nil {
		return fmt.Errorf("write html report: %w", err)
	}
	return nil
}
