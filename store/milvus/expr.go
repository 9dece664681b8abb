package milvus

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/milvus-io/milvus/client/v2/column"
	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/milvusclient"

	"lander/store"
)

// pk is the primary key of the product with the given id.
func pk(id string) string { return hex.EncodeToString([]byte(id)) }

// idsExpr is an expression that selects the products with the given ids.
func idsExpr(ids []string) string {
	var b strings.Builder
	b.WriteString(fieldID + " in [")
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('"')
		b.WriteString(pk(id))
		b.WriteByte('"')
	}
	b.WriteByte(']')
	return b.String()
}

// attrKey is how an attribute is kept in the attrs array. Keys hold no '='.
func attrKey(key, value string) string { return key + "=" + value }

// expr turns f into a Milvus boolean expression. Where the server cannot
// evaluate "not", it first looks up the products that the exclusions remove and
// excludes them by primary key; that works up to 16384 excluded products.
func (s *Store) expr(ctx context.Context, f store.Filter) (string, error) {
	if !s.noNot || len(f.None) == 0 {
		return filterExpr(f), nil
	}
	rest := f
	rest.None = nil
	expr := filterExpr(rest)
	and := func(a, b string) string {
		if a == "" {
			return b
		}
		return a + " and " + b
	}
	rs, err := s.query(ctx, milvusclient.NewQueryOption(s.coll).
		WithFilter(and(expr, "array_contains_any("+fieldAttrs+", "+kvList(f.None)+")")).
		WithOutputFields(fieldID).WithLimit(maxWindow).WithConsistencyLevel(entity.ClStrong))
	if err != nil {
		return "", err
	}
	if rs.ResultCount == 0 {
		return expr, nil
	}
	if rs.ResultCount >= maxWindow {
		return "", fmt.Errorf("exclusion removes more than %d products, too many for a server without \"not\"", maxWindow-1)
	}
	keys, ok := rs.GetColumn(fieldID).(*column.ColumnVarChar)
	if !ok {
		return "", errors.New("unexpected result columns")
	}
	var b strings.Builder
	b.WriteString(fieldID + " not in [")
	for i, k := range keys.Data() {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Quote(k))
	}
	b.WriteByte(']')
	return and(expr, b.String()), nil
}

// filterExpr turns f into a Milvus boolean expression. The zero Filter gives "".
func filterExpr(f store.Filter) string {
	var terms []string
	if len(f.All) > 0 {
		terms = append(terms, "array_contains_all("+fieldAttrs+", "+kvList(f.All)+")")
	}
	if len(f.None) > 0 {
		terms = append(terms, "(not array_contains_any("+fieldAttrs+", "+kvList(f.None)+"))")
	}
	if f.MinPrice != nil || f.MaxPrice != nil {
		terms = append(terms, fieldHasPrice+" == true")
	}
	if f.MinPrice != nil {
		terms = append(terms, fieldPrice+" >= "+number(*f.MinPrice))
	}
	if f.MaxPrice != nil {
		terms = append(terms, fieldPrice+" <= "+number(*f.MaxPrice))
	}
	return strings.Join(terms, " and ")
}

// kvList is a list literal of attrs entries. strconv.Quote escapes quotes,
// backslashes and control characters with the escapes the Milvus grammar reads.
func kvList(list []store.KV) string {
	quoted := make([]string, len(list))
	for i, kv := range list {
		quoted[i] = strconv.Quote(attrKey(kv.Key, kv.Value))
	}
	return "[" + strings.Join(quoted, ", ") + "]"
}

// number formats a finite float without an exponent.
func number(v float64) string {
	s := strconv.FormatFloat(v, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}
