package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"lander/config"
	"lander/datadir"
	"lander/eval/collectioneval"
	"lander/eval/labels"
	"lander/eval/queryeval"
	"lander/eval/report"
	"lander/eval/retrieval"
	"lander/indexer"
	"lander/indexer/topics"
	"lander/query"
	"lander/vocab"
)

const evalUsage = `usage: lander eval <report> [flags]

reports:
  collections  collection Precision@10 per attribute family, content-first
               against the search-log baseline (--data DIR --catalog PATH)
  report       the full report: collections, intents, query Precision@10
               (--labelled FILE) and attribute Recall@10, searched through
               the index with the text encoder (--data DIR --catalog PATH),
               and the attribute evidence per source with reliability plots,
               as eval attributes measures it (--attributes test|validation|none)
  queries      query resolution over labelled queries (--labelled FILE); with
               --catalog PATH, Precision@10 per kind, zero-result and relaxed
               rates through /api/v1/search on the current generation of --data
  attributes   category, colour and gender precision and recall per source
               of evidence (merchant tags, title lexicons, dual encoder with
               title+image and image only, pixel colours, arbitrated) on the
               dual encoder's held-out split, tags withheld, with
               reliability plots (--catalog PATH [--split test|validation]
               [--limit N] [--stored --data DIR] [--fit DIR]
               [--write-split FILE])

collections and report print text, or JSON with --json, and write an HTML
page with plots with --html FILE.
`

func cmdEval(ctx context.Context, args []string, stdout, stderr io.Writer, environ []string) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, evalUsage)
		return usageError{errors.New("missing report name")}
	}
	switch args[0] {
	case "queries":
		return cmdEvalQueries(ctx, args[1:], stdout, stderr, environ)
	case "collections":
		return cmdEvalReport(ctx, args[1:], stdout, stderr, environ, false)
	case "report":
		return cmdEvalReport(ctx, args[1:], stdout, stderr, environ, true)
	case "attributes":
		return cmdEvalAttributes(ctx, args[1:], stdout, stderr, environ)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, evalUsage)
		return nil
	default:
		fmt.Fprint(stderr, evalUsage)
		return usageError{fmt.Errorf("unknown report %q", args[0])}
	}
}

func cmdEvalQueries(ctx context.Context, args []string, stdout, stderr io.Writer, environ []string) error {
	f := newFlags("eval queries", stderr)
	f.common()
	labelled := f.fs.String("labelled", "", "labelled queries `file` (JSON Lines: q, expect, expect_not, title_any, kind)")
	styles := f.fs.String("styles", "", "styles.csv `file` to build the vocabulary from (default: ../fashion-small/styles.csv beside the labelled file's folder)")
	misses := f.fs.Int("misses", 0, "also list up to `N` queries that were not fully right")
	typos := f.fs.Bool("typos", true, "add a synthetic typo kind (middle letters of the longest word swapped in head queries)")
	asJSON := f.fs.Bool("json", false, "print the report as JSON")
	catalogPath := f.fs.String("catalog", "", "labelled catalog `path`: search the current generation of --data through /api/v1/search and score Precision@10 against its labels")
	cfg, err := f.load(args, environ)
	if err != nil {
		return err
	}
	if *labelled == "" {
		return usageError{errors.New("--labelled is required")}
	}
	qs, err := queryeval.LoadQueries(*labelled)
	if err != nil {
		return err
	}
	if *catalogPath != "" {
		rep, err := evalSearches(ctx, cfg, *catalogPath, qs)
		if err != nil {
			return err
		}
		if *asJSON {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(rep)
		}
		rep.Write(stdout, *misses)
		return nil
	}
	var (
		v      vocab.Vocabulary
		h      queryeval.Hierarchy
		source string
	)
	dataSet := false
	f.fs.Visit(func(fl *flag.Flag) { dataSet = dataSet || fl.Name == "data" })
	if dataSet {
		dir, err := datadir.Open(cfg.Data)
		if err != nil {
			return err
		}
		m, path, err := dir.Current()
		if err != nil {
			return err
		}
		if v, err = vocab.Load(filepath.Join(path, indexer.VocabularyFile)); err != nil {
			return err
		}
		source = fmt.Sprintf("generation %d in %s", m.Generation, cfg.Data)
	}
	stylesPath := *styles
	if stylesPath == "" {
		stylesPath = filepath.Join(filepath.Dir(*labelled), "..", "fashion-small", "styles.csv")
	}
	sv, sh, serr := queryeval.FromStyles(stylesPath)
	switch {
	case !dataSet && serr != nil:
		return serr
	case !dataSet:
		v, source = sv, stylesPath
	}
	if serr == nil {
		h = sh
	}
	if *typos {
		var head []queryeval.Query
		for _, q := range qs {
			if q.Kind == "head" {
				head = append(head, q)
			}
		}
		qs = append(qs, queryeval.TypoVariants(head)...)
	}
	rep := queryeval.Evaluate(query.NewResolver(vocab.Terms(v)), qs, h)
	rep.Vocabulary = fmt.Sprintf("%s, %d values", source, v.Size())
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	rep.Write(stdout, *misses)
	return nil
}

// cmdEvalReport evaluates the current generation of --data against the
// labels of --catalog: the collections, and with full also the intents,
// query precision and attribute recall, which search the index with the
// text encoder, and the attribute evidence per source on a held-out split
// of --catalog's images (--attributes).
func cmdEvalReport(ctx context.Context, args []string, stdout, stderr io.Writer, environ []string, full bool) error {
	name := "eval collections"
	if full {
		name = "eval report"
	}
	f := newFlags(name, stderr)
	f.common()
	catalogPath := f.fs.String("catalog", "", "labelled catalog `path`: a Fashion Product Images folder or its styles.csv")
	asJSON := f.fs.Bool("json", false, "print the report as JSON")
	htmlOut := f.fs.String("html", "", "also write the report as HTML with plots to `file`")
	var labelled, attrSplit *string
	var sample *int
	if full {
		labelled = f.fs.String("labelled", "", "labelled queries `file` (default: queries/labelled.jsonl beside the catalog's folder)")
		sample = f.fs.Int("recall-sample", 5000, "products sampled for attribute recall (`N`, 0 = all)")
		attrSplit = f.fs.String("attributes", "test", "also measure the attribute evidence per source, with reliability plots, on this `split` of --catalog's images, tags withheld (test, validation; none: skip)")
		f.str("arbitration", "arbitrate that evidence as lander eval attributes --fit wrote it into `dir` instead of as shipped", func(c *config.Config) *string { return &c.Index.Arbitration })
	}
	cfg, err := f.load(args, environ)
	if err != nil {
		return err
	}
	if *catalogPath == "" {
		return usageError{errors.New("--catalog is required")}
	}
	if attrSplit != nil && *attrSplit != "none" {
		if _, ok := splits[*attrSplit]; !ok {
			return usageError{fmt.Errorf("unknown --attributes split %q (test, validation or none)", *attrSplit)}
		}
	}
	lab, err := labels.Load(*catalogPath)
	if err != nil {
		return err
	}
	dir, err := datadir.Open(cfg.Data)
	if err != nil {
		return err
	}
	m, path, err := dir.Current()
	if err != nil {
		return err
	}
	tf, err := topics.Load(filepath.Join(path, indexer.TopicsFile))
	if err != nil {
		return err
	}
	col := collectioneval.Evaluate(tf, lab)
	rep := report.Report{Source: fmt.Sprintf("generation %d in %s, labels from %s", m.Generation, cfg.Data, *catalogPath), Collections: &col}
	if full {
		rep.Intents = &tf.Intents
		if err := evalRetrieval(ctx, cfg, dir, lab, *catalogPath, *labelled, *sample, &rep); err != nil {
			return err
		}
		if *attrSplit != "none" {
			a, err := heldOutAttributes(ctx, cfg, *catalogPath, *attrSplit, lab, stderr)
			if err != nil {
				return fmt.Errorf("attribute evidence (--attributes %s): %w", *attrSplit, err)
			}
			rep.Attributes = &a
		}
	}
	if *htmlOut != "" {
		hf, err := os.Create(*htmlOut)
		if err != nil {
			return err
		}
		if err := rep.WriteHTML(hf); err != nil {
			hf.Close()
			return err
		}
		if err := hf.Close(); err != nil {
			return err
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	rep.WriteText(stdout)
	return nil
}

// evalRetrieval adds query precision and attribute recall, searching the
// generation the way the server does.
func evalRetrieval(ctx context.Context, cfg config.Config, dir *datadir.Dir, lab labels.Set, catalogPath, labelled string, sample int, rep *report.Report) error {
	if labelled == "" {
		labelled = filepath.Join(filepath.Dir(catalogFolder(catalogPath)), "queries", "labelled.jsonl")
	}
	qs, err := queryeval.LoadQueries(labelled)
	if err != nil {
		return err
	}
	enc, err := openEncoder(cfg)
	if err != nil {
		return err
	}
	defer enc.Close()
	gen, err := loadGeneration(ctx, cfg, dir)
	if err != nil {
		return err
	}
	defer gen.close()
	ix := gen.index
	qr, err := retrieval.Queries(ctx, ix.Resolver, ix.Store, enc.Embed, qs, lab)
	if err != nil {
		return err
	}
	rep.Queries = &qr
	ids := make([]string, 0, len(lab))
	for id := range lab {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	if sample > 0 && len(ids) > sample {
		step := float64(len(ids)) / float64(sample)
		picked := make([]string, 0, sample)
		for i := range sample {
			picked = append(picked, ids[int(float64(i)*step)])
		}
		ids = picked
	}
	products, err := ix.Store.Get(ctx, ids)
	if err != nil {
		return err
	}
	rr, err := retrieval.Attributes(ctx, products, ix.Vocabulary, retrieval.TextAttributes(enc.Embed), lab)
	if err != nil {
		return err
	}
	rep.Recall = &rr
	return nil
}

// catalogFolder returns the Fashion Product Images folder of a labelled
// catalog path, given as the folder or as its styles.csv.
func catalogFolder(path string) string {
	if filepath.Base(path) == "styles.csv" {
		return filepath.Dir(path)
	}
	return path
}
