// Package parquetfile opens Parquet files that may be damaged. The Arrow
// schema that writers store in the footer is dropped before arrow-go sees
// it (a damaged one can make arrow-go allocate without bound before any
// check runs), so columns take their types from the Parquet schema alone;
// and the panics with which the Parquet reader meets some corrupt data
// become errors wrapping ErrCorrupt.
package parquetfile

import (
	"errors"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
)

// ErrCorrupt is wrapped by the errors of reads that panicked.
var ErrCorrupt = errors.New("corrupt parquet file")

// arrowSchemaKey is the footer key under which writers store the Arrow
// schema.
const arrowSchemaKey = "ARROW:schema"

// Open opens the Parquet file at path, streaming its column chunks so
// that memory stays bounded, with the footer's Arrow schema dropped.
func Open(path string) (pf *file.Reader, err error) {
	err = Guard(func() error {
		props := parquet.NewReaderProperties(memory.DefaultAllocator)
		props.BufferedStreamEnabled = true
		pf, err = file.OpenParquetFile(path, false, file.WithReadProps(props))
		if err != nil {
			return err
		}
		if md := pf.MetaData(); md != nil && md.FileMetaData != nil {
			kept := md.FileMetaData.KeyValueMetadata[:0:0]
			for _, kv := range md.FileMetaData.KeyValueMetadata {
				if kv != nil && kv.Key != arrowSchemaKey {
					kept = append(kept, kv)
				}
			}
			md.FileMetaData.KeyValueMetadata = kept
		}
		return nil
	})
	if err != nil && pf != nil {
		pf.Close()
		pf = nil
	}
	return pf, err
}

// Guard runs fn and turns a panic in it into an error wrapping
// ErrCorrupt.
func Guard(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", ErrCorrupt, r)
		}
	}()
	return fn()
}
