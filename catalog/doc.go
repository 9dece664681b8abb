// Package catalog reads product catalogs for lander.
//
// Three layouts are accepted (see the "Catalog input" section of the
// contract):
//
//   - a directory in the Fashion Product Images layout: styles.csv plus
//     images/<id>.jpg;
//   - a Parquet file, read with Arrow record batches;
//   - a JSON Lines file (.jsonl, or .json holding one object per line).
//
// A [Reader] streams the catalog in batches of [Product] with bounded memory.
// Every row is either delivered in a batch or reported once through the
// reject callback as a [Rejection] with one of the Reason* codes; rows are
// never dropped silently. Blank lines in the text formats are not rows.
//
// Images are loaded (inline bytes, a path relative to the catalog's folder,
// or, when [Options.Remote] is set, an http(s) URL) and verified
// decodable by a pool of worker goroutines; the output order is the input
// order regardless of the number of workers.
//
// Tags follow one rule across formats: keys are lowercased and trimmed,
// values trimmed; empty values and the placeholders "NA", "N/A" and "null"
// are dropped; several values for one key are joined with ", " in input
// order. A tag list element "k:v" or "k=v" yields key k; an element without
// a separator goes under the key "tag". The brand is also stored as the tag
// "brand". Structured columns other than the named fields become tags keyed
// by their lowercased column name.
package catalog
