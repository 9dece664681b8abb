// Package web holds lander's HTML templates, style sheet and scripts,
// embedded into the binary so that no build step or file layout is needed
// at run time. Package server parses and renders them.
//
// The templates are html/template files: layout.html defines the page
// frame ("layout") and each page file defines its "content" block (and,
// when it needs them, "head" and "scripts"). site.css is inlined into every
// page; merch.js is the only script, used by the merchandiser console.
package web

import "embed"

// Templates holds the page templates, under templates/.
//
//go:embed templates/*.html
var Templates embed.FS

// Static holds the style sheet and the console's script, under static/.
//
//go:embed static
var Static embed.FS
