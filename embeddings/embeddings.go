// Package embeddings reads and writes precomputed embeddings in the
// contract's layout, the exchange format between the GPU embed job
// (encoder/train, PyTorch), "lander export embeddings" and "lander index
// --embeddings":
//
//   - DIR/products-NNNNN.parquet: id (string), vector
//     (fixed_size_list<float32>, the text embedding the store searches),
//     product_vector (fixed_size_list<float32>, the dual encoder's product
//     tower; absent when no dual encoder is in use) and model (string);
//   - DIR/attributes.parquet: key, value (string), vector
//     (fixed_size_list<float32>, the attribute tower) and model.
//
// Files are plain Parquet, zstd-compressed, readable by pyarrow, DuckDB and
// Spark. Load streams the shards as Arrow record batches and refuses a set
// that does not fit the running model: another model string, another
// dimension, a duplicate id, a NaN or a vector far from unit length.
package embeddings

import (
	"fmt"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// Column and file names of the layout.
const (
	ColID            = "id"
	ColVector        = "vector"
	ColProductVector = "product_vector"
	ColModel         = "model"
	ColKey           = "key"
	ColValue         = "value"

	// AttributesFile is the attribute embeddings' file name.
	AttributesFile = "attributes.parquet"
	// ProductsGlob matches the product shards.
	ProductsGlob = "products-*.parquet"
)

// Product is one product's embeddings.
type Product struct {
	// ID is the catalog id.
	ID string
	// Vector is the unit text embedding that searches rank by.
	Vector []float32
	// ProductVector is the unit product-tower embedding (image and text)
	// that attribute assignment uses; nil without a dual encoder.
	ProductVector []float32
}

// Attribute is one vocabulary attribute's embedding.
type Attribute struct {
	// Key and Value name the attribute.
	Key, Value string
	// Vector is the unit attribute-tower embedding of the attribute.
	Vector []float32
}

// normTolerance is how far from 1 a vector's norm may be. fp16 encoders
// on a GPU land within about 1e-3; anything further is not a unit vector
// and is refused.
const normTolerance = 1e-2

// checkVector reports a NaN, an infinity or a norm far from 1, and
// returns v scaled to unit length when its norm is off by more than
// float32 rounding (so vectors exported by Go come back bit for bit).
func checkVector(v []float32) ([]float32, error) {
	var ss float64
	for i, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return nil, fmt.Errorf("value %d is %v", i, x)
		}
		ss += float64(x) * float64(x)
	}
	n := math.Sqrt(ss)
	if math.Abs(n-1) > normTolerance {
		return nil, fmt.Errorf("norm %.4f is not 1", n)
	}
	if math.Abs(n-1) > 1e-5 {
		inv := float32(1 / n)
		for i := range v {
			v[i] *= inv
		}
	}
	return v, nil
}

// vectorColumn reads row i of a fixed-size or variable list of float32 as
// a fresh slice, checking its length.
type vectorColumn struct {
	name string
	get  func(i int) ([]float32, bool) // false when null
}

func newVectorColumn(name string, a arrow.Array) (vectorColumn, error) {
	// Fixed-size lists (the layout) and plain lists (what Spark writes)
	// both expose their values and each row's offsets.
	l, ok := a.(array.ListLike)
	if !ok {
		return vectorColumn{}, fmt.Errorf("column %s has type %s, want fixed_size_list<float32>", name, a.DataType())
	}
	vals, ok := l.ListValues().(*array.Float32)
	if !ok {
		return vectorColumn{}, fmt.Errorf("column %s holds %s, want float32 values", name, l.DataType())
	}
	return vectorColumn{name: name, get: func(i int) ([]float32, bool) {
		if l.IsNull(i) {
			return nil, false
		}
		s, e := l.ValueOffsets(i)
		return append([]float32(nil), vals.Float32Values()[s:e]...), true
	}}, nil
}

// stringColumn reads row i of a string column.
func stringColumn(name string, a arrow.Array) (func(i int) (string, bool), error) {
	switch s := a.(type) {
	case *array.String:
		return func(i int) (string, bool) { return s.Value(i), s.IsValid(i) }, nil
	case *array.LargeString:
		return func(i int) (string, bool) { return s.Value(i), s.IsValid(i) }, nil
	case *array.Dictionary:
		dict, ok := s.Dictionary().(*array.String)
		if !ok {
			break
		}
		return func(i int) (string, bool) {
			if s.IsNull(i) {
				return "", false
			}
			return dict.Value(s.GetValueIndex(i)), true
		}, nil
	}
	return nil, fmt.Errorf("column %s has type %s, want string", name, a.DataType())
}
