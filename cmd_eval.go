package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"

	"lander/datadir"
	"lander/eval/queryeval"
	"lander/indexer"
	"lander/indexer/vocab"
	"lander/query"
)

const evalUsage = `usage: lander eval <report> [flags]

reports:
  queries  query resolution over labelled queries (--labelled FILE)
`

func cmdEval(ctx context.Context, args []string, stdout, stderr io.Writer, environ []string) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, evalUsage)
		return usageError{errors.New("missing report name")}
	}
	switch args[0] {
	case "queries":
		return cmdEvalQueries(ctx, args[1:], stdout, stderr, environ)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, evalUsage)
		return nil
	default:
		fmt.Fprint(stderr, evalUsage)
		return usageError{fmt.Errorf("unknown report %q", args[0])}
	}
}

func cmdEvalQueries(_ context.Context, args []string, stdout, stderr io.Writer, environ []string) error {
	f := newFlags("eval queries", stderr)
	f.common()
	labelled := f.fs.String("labelled", "", "labelled queries `file` (JSON Lines: q, expect, expect_not, title_any, kind)")
	styles := f.fs.String("styles", "", "styles.csv `file` to build the vocabulary from (default: ../fashion-small/styles.csv beside the labelled file's folder)")
	misses := f.fs.Int("misses", 0, "also list up to `N` queries that were not fully right")
	typos := f.fs.Bool("typos", true, "add a synthetic typo kind (middle letters of the longest word swapped in head queries)")
	asJSON := f.fs.Bool("json", false, "print the report as JSON")
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
	rep := queryeval.Evaluate(query.NewResolver(queryeval.Terms(v)), qs, h)
	rep.Vocabulary = fmt.Sprintf("%s, %d values", source, v.Size())
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	rep.Write(stdout, *misses)
	return nil
}
