package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"lander/catalog/demo"
	"lander/datadir"
	"lander/store/milvus"
	"lander/store/storetest"
)

// TestServeRefusesAMissingMilvusCollection: when the current generation's
// collection is gone, lander serve fails with an error that says so, and
// creates no empty collection in its place (it used to, and then reported
// ready with zero products).
func TestServeRefusesAMissingMilvusCollection(t *testing.T) {
	env := models(t)
	addr := milvusAddr(t)
	dir := t.TempDir()
	cat, err := demo.Generate(filepath.Join(dir, "catalog"), 20, 5)
	if err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	runOK(t, env, "index", "--catalog", cat, "--data", data, "--milvus", addr)
	d, _ := datadir.Open(data)
	m, _, err := d.Current()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := milvus.DropGenerations(ctx, addr, []string{m.MilvusCollection}); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	sctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	code := run(sctx, []string{"serve", "--addr", freeAddr(t), "--data", data, "--milvus", addr, "--log-level", "warn"}, &out, &out, env)
	if code == 0 || !strings.Contains(out.String(), m.MilvusCollection+" is missing") {
		t.Errorf("serve with its collection dropped: exit %d, output %q", code, out.String())
	}
	if has, err := milvus.HasCollection(ctx, addr, m.MilvusCollection); err != nil || has {
		t.Errorf("collection %s exists %v after serve (%v), want not created", m.MilvusCollection, has, err)
	}
}

// TestKilledMilvusRunIsDroppedByTheNextRun: a run killed after writing
// rows leaves a temporary folder that records its collection; the next
// run commits a collection of its own and drops the leftover.
func TestKilledMilvusRunIsDroppedByTheNextRun(t *testing.T) {
	env := models(t)
	addr := milvusAddr(t)
	dir := t.TempDir()
	cat, err := demo.Generate(filepath.Join(dir, "catalog"), 20, 6)
	if err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	if _, err := datadir.Open(data); err != nil {
		t.Fatal(err)
	}
	// What a killed run of generation 1 leaves: its folder and collection.
	ctx := context.Background()
	tmp := filepath.Join(data, ".tmp-gen-000001-killed")
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	leftover := milvus.CollectionName("gen-000001", milvus.NewRunID())
	if err := datadir.RecordExternal(tmp, "milvus", leftover); err != nil {
		t.Fatal(err)
	}
	killed, err := milvus.OpenTarget(ctx, milvus.Options{Addr: addr}, leftover, 384)
	if err != nil {
		t.Fatal(err)
	}
	if err := killed.Upsert(ctx, storetest.Catalog(7, 384, 1)); err != nil {
		t.Fatal(err)
	}
	killed.Commit(ctx)

	runOK(t, env, "index", "--catalog", cat, "--data", data, "--milvus", addr)
	d, _ := datadir.Open(data)
	m, _, err := d.Current()
	if err != nil {
		t.Fatal(err)
	}
	if m.Generation != 1 || m.MilvusCollection == leftover || !strings.HasPrefix(m.MilvusCollection, "lander_gen_000001_") {
		t.Errorf("generation %d in collection %s; the killed run's was %s", m.Generation, m.MilvusCollection, leftover)
	}
	if has, err := milvus.HasCollection(ctx, addr, leftover); err != nil || has {
		t.Errorf("the killed run's collection %s exists %v after the next run (%v)", leftover, has, err)
	}
	if _, err := os.Stat(filepath.Join(data, m.Name, ".external.json")); !os.IsNotExist(err) {
		t.Errorf("committed generation keeps its build record: %v", err)
	}
	t.Cleanup(func() { milvus.DropGenerations(context.Background(), addr, []string{m.MilvusCollection}) })
}
