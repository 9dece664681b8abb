// Package milvus is the Milvus backend of the lander vector store. It keeps the
// products of one store in one Milvus collection and answers the same contract
// as store.Embedded (see store/storetest), so the server and the indexer can use
// either.
//
// Filters become Milvus boolean expressions over an attrs array of "key=value"
// strings and a price with a has_price flag. Values are spliced into the
// expression as Go-quoted string literals, which the Milvus expression grammar
// reads back exactly (Milvus Lite has no expression templates). The primary key
// is the product id in hex: Milvus Lite splices primary keys into its own SQL,
// so an id with a quote would break its upserts and deletes.
//
// The index is chosen per server: HNSW with the inner-product metric on a Milvus
// server, FLAT on Milvus Lite, which refuses HNSW (and whose IVF ignores its
// parameters and loses recall on selective filters). Requests that fail with a
// transient error (the server unavailable or overloaded) are retried with
// exponential backoff; a server that cannot be reached at all fails Open
// within Options.ConnectTimeout with an error that says so.
package milvus

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"

	"lander/store"
)

// Field names of the collection.
const (
	fieldID       = "id"
	fieldVector   = "vector"
	fieldAttrs    = "attrs"
	fieldPrice    = "price"
	fieldHasPrice = "has_price"
	fieldTitle    = "title"
	fieldPayload  = "payload"
)

// Limits of the collection's fields, checked before anything is sent.
const (
	maxIDLen      = 512
	maxAttrs      = 1024
	maxAttrLen    = 1024
	maxTitleLen   = 8192
	maxPayloadLen = 65535
	// maxWindow is the largest offset+k Milvus answers.
	maxWindow = 16384
	// getBatch is how many ids one Get query asks for.
	getBatch = 1000
)

// Options configure Open.
type Options struct {
	Addr       string // host:port of the Milvus server
	Collection string // collection name; created when missing unless MustExist
	Dim        int    // vector dimension
	// MustExist makes Open fail with ErrNoCollection instead of creating a
	// missing collection: a server must not serve an empty collection in
	// place of a generation's rows.
	MustExist bool
	// MustCreate makes Open fail when the collection exists already: an
	// index run never adopts rows that another run left behind.
	MustCreate bool
	// InsertBatch is how many rows one upsert request carries; 0 means 100.
	// Milvus Lite writes batches of about 100 rows several times faster than
	// batches of 1,000.
	InsertBatch int
	// Index is the vector index of a new collection: IndexAuto (the default),
	// IndexHNSW or IndexFlat.
	Index string
	// ConnectTimeout bounds connecting to the server; 0 means 10 seconds.
	ConnectTimeout time.Duration
	// Retries is how many times a request that failed with a transient error
	// is tried again; 0 means 4, a negative number none.
	Retries int
	// CallTimeout bounds each try of a request; 0 means 30 seconds. The
	// client retries an unreachable server on its own for about 20 s, so
	// a server sets it short to answer 503 quickly while Milvus is down.
	CallTimeout time.Duration
}

// ErrNoCollection is returned by Open with Options.MustExist when the
// collection is missing.
var ErrNoCollection = errors.New("collection is missing")

// Index kinds for Options.Index.
const (
	// IndexAuto asks for HNSW and takes FLAT when the server refuses HNSW,
	// as Milvus Lite does.
	IndexAuto = ""
	IndexHNSW = "hnsw"
	IndexFlat = "flat"
)

// HNSW parameters of a new collection, and the smallest beam of a search.
const (
	hnswM              = 16
	hnswEfConstruction = 200
	hnswEf             = 128
)

// Store is a vector store backed by one Milvus collection. It is safe for
// concurrent use.
type Store struct {
	cli   *milvusclient.Client
	coll  string
	dim   int
	batch int
	// noNot is set when the server cannot evaluate "not" (Milvus Lite 2.5);
	// exclusions then become a list of excluded primary keys.
	noNot bool
	// index is the collection's index kind, IndexHNSW or IndexFlat.
	index       string
	retries     int
	callTimeout time.Duration
	addr        string
	// mustExist and mustCreate are Options.MustExist and MustCreate.
	mustExist, mustCreate bool
}

// Open connects to Milvus, creates the collection when it is missing (with its
// index) and loads it. An existing collection must have the same dimension.
func Open(ctx context.Context, opts Options) (*Store, error) {
	s, err := open(ctx, opts, schema)
	if err != nil {
		return nil, fmt.Errorf("open milvus collection %q: %w", opts.Collection, err)
	}
	return s, nil
}

func open(ctx context.Context, opts Options, schema func(name string, dim int) *entity.Schema) (*Store, error) {
	if opts.MustExist && opts.MustCreate {
		return nil, errors.New("invalid options: MustExist and MustCreate")
	}
	if opts.Addr == "" || opts.Collection == "" || opts.Dim <= 0 {
		return nil, fmt.Errorf("invalid options: addr %q, dim %d", opts.Addr, opts.Dim)
	}
	if opts.InsertBatch <= 0 {
		opts.InsertBatch = 100
	}
	if opts.ConnectTimeout <= 0 {
		opts.ConnectTimeout = 10 * time.Second
	}
	if opts.CallTimeout <= 0 {
		opts.CallTimeout = 30 * time.Second
	}
	switch {
	case opts.Retries == 0:
		opts.Retries = 4
	case opts.Retries < 0:
		opts.Retries = 0
	}
	switch opts.Index {
	case IndexAuto, IndexHNSW, IndexFlat:
	default:
		return nil, fmt.Errorf("unknown index kind %q", opts.Index)
	}
	cctx, cancel := context.WithTimeout(ctx, opts.ConnectTimeout)
	cli, err := milvusclient.New(cctx, &milvusclient.ClientConfig{Address: opts.Addr})
	cancel()
	if err != nil {
		if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("cannot reach Milvus at %s within %v; is it running?", opts.Addr, opts.ConnectTimeout)
		}
		return nil, fmt.Errorf("connect to Milvus at %s: %w", opts.Addr, err)
	}
	s := &Store{cli: cli, coll: opts.Collection, dim: opts.Dim, batch: opts.InsertBatch, index: opts.Index, retries: opts.Retries,
		callTimeout: opts.CallTimeout, addr: opts.Addr,
		mustExist: opts.MustExist, mustCreate: opts.MustCreate}
	if err := s.ensure(ctx, schema); err != nil {
		cli.Close(ctx)
		return nil, err
	}
	return s, nil
}

func (s *Store) ensure(ctx context.Context, schema func(name string, dim int) *entity.Schema) error {
	has, err := s.cli.HasCollection(ctx, milvusclient.NewHasCollectionOption(s.coll))
	if err != nil {
		return err
	}
	switch {
	case has && s.mustCreate:
		return errors.New("collection exists already; refusing to adopt rows another run left")
	case !has && s.mustExist:
		return ErrNoCollection
	}
	if has {
		coll, err := s.cli.DescribeCollection(ctx, milvusclient.NewDescribeCollectionOption(s.coll))
		if err != nil {
			return err
		}
		if err := checkSchema(coll.Schema, schema(s.coll, s.dim), s.dim); err != nil {
			return err
		}
	} else {
		err := s.cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(s.coll, schema(s.coll, s.dim)).
			WithConsistencyLevel(entity.ClStrong))
		if err != nil {
			return err
		}
		if err := s.createIndex(ctx); err != nil {
			// Leave no collection without an index behind.
			s.cli.DropCollection(ctx, milvusclient.NewDropCollectionOption(s.coll))
			return err
		}
	}
	if s.index == IndexAuto {
		desc, err := s.cli.DescribeIndex(ctx, milvusclient.NewDescribeIndexOption(s.coll, fieldVector))
		s.index = IndexFlat
		if err == nil && desc.Index != nil && desc.Index.IndexType() == index.HNSW {
			s.index = IndexHNSW
		}
	}
	task, err := s.cli.LoadCollection(ctx, milvusclient.NewLoadCollectionOption(s.coll))
	if err != nil {
		return err
	}
	if err := task.Await(ctx); err != nil {
		return err
	}
	// Milvus Lite 2.5 rejects any "not" with "unsupported expr proto node".
	_, err = s.query(ctx, milvusclient.NewQueryOption(s.coll).
		WithFilter("not ("+fieldHasPrice+" == true)").WithOutputFields("count(*)"))
	s.noNot = err != nil
	return nil
}

// createIndex creates the vector index: HNSW unless the options ask for FLAT
// or the server refuses HNSW.
func (s *Store) createIndex(ctx context.Context) error {
	create := func(idx index.Index) error {
		task, err := s.cli.CreateIndex(ctx, milvusclient.NewCreateIndexOption(s.coll, fieldVector, idx))
		if err != nil {
			return err
		}
		return task.Await(ctx)
	}
	if s.index != IndexFlat {
		err := create(index.NewHNSWIndex(entity.IP, hnswM, hnswEfConstruction))
		if err == nil {
			s.index = IndexHNSW
			return nil
		}
		// Milvus Lite: "invalid index type: HNSW, local mode only support FLAT
		// IVF_FLAT AUTOINDEX".
		if s.index == IndexHNSW || !strings.Contains(err.Error(), "only support") {
			return fmt.Errorf("create HNSW index: %w", err)
		}
	}
	s.index = IndexFlat
	return create(index.NewFlatIndex(entity.IP))
}

// Index returns the kind of the collection's vector index: IndexHNSW or
// IndexFlat.
func (s *Store) Index() string { return s.index }

// transient reports whether err is worth retrying: the server unavailable,
// overloaded or rate limiting.
func transient(err error) bool {
	st, ok := status.FromError(err)
	if ok {
		switch st.Code() {
		case codes.Unavailable, codes.ResourceExhausted, codes.Aborted:
			return true
		}
	}
	msg := strings.ToLower(err.Error())
	return strings.Contains(msg, "rate limit") || strings.Contains(msg, "service unavailable") ||
		strings.Contains(msg, "connection refused")
}

// retry runs fn until it succeeds, fails with an error that is not
// transient, or has been retried s.retries times, waiting 100ms, 200ms, 400ms,
// ... (at most 5s) between tries. Each try gets s.callTimeout; a try that
// runs out of it counts as transient. An error that is still transient
// after the last try wraps store.ErrUnavailable. Every request the store
// retries is idempotent.
func (s *Store) retry(ctx context.Context, fn func(context.Context) error) error {
	wait := 100 * time.Millisecond
	for try := 0; ; try++ {
		cctx, cancel := context.WithTimeout(ctx, s.callTimeout)
		err := fn(cctx)
		timedOut := err != nil && cctx.Err() != nil && ctx.Err() == nil
		cancel()
		if err == nil || ctx.Err() != nil || !(timedOut || transient(err)) {
			return err
		}
		if try >= s.retries {
			return fmt.Errorf("milvus at %s: %w: %w", s.addr, store.ErrUnavailable, err)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		wait = min(2*wait, 5*time.Second)
	}
}

// query runs a query. Milvus Lite 2.5 answers a query that matches nothing
// with every field, the array field carrying no element type, which the
// client refuses to parse; that answer is an empty result.
func (s *Store) query(ctx context.Context, opt milvusclient.QueryOption) (milvusclient.ResultSet, error) {
	var rs milvusclient.ResultSet
	err := s.retry(ctx, func(ctx context.Context) (err error) { rs, err = s.cli.Query(ctx, opt); return err })
	if err != nil && strings.Contains(err.Error(), "unsupported element type None") {
		return milvusclient.ResultSet{}, nil
	}
	return rs, err
}

func schema(name string, dim int) *entity.Schema {
	return entity.NewSchema().WithName(name).WithAutoID(false).WithDynamicFieldEnabled(false).
		WithField(entity.NewField().WithName(fieldID).WithDataType(entity.FieldTypeVarChar).WithIsPrimaryKey(true).WithMaxLength(maxIDLen)).
		WithField(entity.NewField().WithName(fieldVector).WithDataType(entity.FieldTypeFloatVector).WithDim(int64(dim))).
		WithField(entity.NewField().WithName(fieldAttrs).WithDataType(entity.FieldTypeArray).WithElementType(entity.FieldTypeVarChar).
			WithMaxCapacity(maxAttrs).WithMaxLength(maxAttrLen)).
		WithField(entity.NewField().WithName(fieldPrice).WithDataType(entity.FieldTypeDouble)).
		WithField(entity.NewField().WithName(fieldHasPrice).WithDataType(entity.FieldTypeBool)).
		WithField(entity.NewField().WithName(fieldTitle).WithDataType(entity.FieldTypeVarChar).WithMaxLength(maxTitleLen)).
		WithField(entity.NewField().WithName(fieldPayload).WithDataType(entity.FieldTypeVarChar).WithMaxLength(maxPayloadLen))
}

// checkSchema checks that an existing collection's schema has the fields of
// the expected one, and vectors of dimension dim.
func checkSchema(sch, expected *entity.Schema, dim int) error {
	want := map[string]bool{}
	for _, f := range expected.Fields {
		want[f.Name] = true
	}
	for _, f := range sch.Fields {
		delete(want, f.Name)
		if f.Name == fieldVector {
			got, err := strconv.Atoi(f.TypeParams["dim"])
			if err != nil || got != dim {
				return fmt.Errorf("existing collection has dimension %q, want %d", f.TypeParams["dim"], dim)
			}
		}
	}
	if len(want) > 0 {
		return errors.New("existing collection has another schema")
	}
	return nil
}

// Dim returns the dimension of the store's vectors.
func (s *Store) Dim() int { return s.dim }

// Collection returns the name of the store's collection.
func (s *Store) Collection() string { return s.coll }

// Ping checks that the server answers and still holds the collection.
func (s *Store) Ping(ctx context.Context) error {
	has, err := s.cli.HasCollection(ctx, milvusclient.NewHasCollectionOption(s.coll))
	if err != nil {
		return fmt.Errorf("ping milvus: %w", err)
	}
	if !has {
		return fmt.Errorf("ping milvus: collection %q is gone", s.coll)
	}
	return nil
}

// Close closes the connection to Milvus. The collection stays.
func (s *Store) Close(ctx context.Context) error {
	if err := s.cli.Close(ctx); err != nil {
		return fmt.Errorf("close milvus: %w", err)
	}
	return nil
}

// Drop deletes the collection and everything in it.
func (s *Store) Drop(ctx context.Context) error {
	if err := s.cli.DropCollection(ctx, milvusclient.NewDropCollectionOption(s.coll)); err != nil {
		return fmt.Errorf("drop milvus collection %q: %w", s.coll, err)
	}
	return nil
}

// dial connects to Milvus at addr for a one-off request, giving up after
// 10 seconds.
func dial(ctx context.Context, addr string) (*milvusclient.Client, error) {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	cli, err := milvusclient.New(cctx, &milvusclient.ClientConfig{Address: addr})
	cancel()
	if err != nil {
		return nil, fmt.Errorf("connect to Milvus at %s: %w", addr, err)
	}
	return cli, nil
}

// DropCollections connects to Milvus at addr and drops the named
// collections that exist; missing ones are skipped. Pruning old index
// generations uses it.
func DropCollections(ctx context.Context, addr string, names []string) error {
	cli, err := dial(ctx, addr)
	if err != nil {
		return err
	}
	defer cli.Close(ctx)
	var errs []error
	for _, name := range names {
		has, err := cli.HasCollection(ctx, milvusclient.NewHasCollectionOption(name))
		if err == nil && has {
			err = cli.DropCollection(ctx, milvusclient.NewDropCollectionOption(name))
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("drop milvus collection %q: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

// HasCollection reports whether Milvus at addr holds the collection name.
func HasCollection(ctx context.Context, addr, name string) (bool, error) {
	cli, err := dial(ctx, addr)
	if err != nil {
		return false, err
	}
	defer cli.Close(ctx)
	has, err := cli.HasCollection(ctx, milvusclient.NewHasCollectionOption(name))
	if err != nil {
		return false, fmt.Errorf("has milvus collection %q: %w", name, err)
	}
	return has, nil
}

// Collections lists the collections of Milvus at addr whose names start
// with prefix: the fault tests look for collections that runs left behind.
func Collections(ctx context.Context, addr, prefix string) ([]string, error) {
	cli, err := dial(ctx, addr)
	if err != nil {
		return nil, err
	}
	defer cli.Close(ctx)
	names, err := cli.ListCollections(ctx, milvusclient.NewListCollectionOption())
	if err != nil {
		return nil, fmt.Errorf("list milvus collections: %w", err)
	}
	var out []string
	for _, n := range names {
		if strings.HasPrefix(n, prefix) {
			out = append(out, n)
		}
	}
	return out, nil
}
