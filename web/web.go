// Package web holds lander's pages and static files, embedded into the
// binary so that no build step or file layout is needed at run time.
package web

import "embed"

// Static holds the static files; index.html is the search page served at /.
//
//go:embed static
var Static embed.FS
