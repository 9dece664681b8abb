package server

// Query parameters are checked against openapi.json before a handler runs,
// so that the document is the one statement of what a route accepts: a
// request the document calls invalid is a 400 and never reaches a handler
// that would read a default in place of a bad value (a repeated limit, an
// empty one, a q longer than its maxLength). Handlers keep their own checks,
// which are never stricter than the document's.

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
)

// paramRule is one query parameter of a route as openapi.json declares it.
// Lengths count characters, as JSON Schema does.
type paramRule struct {
	name     string
	desc     string // the document's description, which errors quote
	required bool
	typ      string // "integer", "string" or "array" (of strings)
	min, max *int64
	minLen   int
	maxLen   int // -1: none
	pattern  *regexp.Regexp
	enum     []string
	minItems int
	maxItems int // -1: none
	item     *paramRule
}

// specSchema is the part of a JSON Schema that query parameters use.
type specSchema struct {
	Type      string      `json:"type"`
	Minimum   *int64      `json:"minimum"`
	Maximum   *int64      `json:"maximum"`
	MinLength int         `json:"minLength"`
	MaxLength *int        `json:"maxLength"`
	Pattern   string      `json:"pattern"`
	Enum      []string    `json:"enum"`
	MinItems  int         `json:"minItems"`
	MaxItems  *int        `json:"maxItems"`
	Items     *specSchema `json:"items"`
}

// routeParams maps "METHOD /gin/:path" to the query parameters the
// document declares for it.
var routeParams = mustRouteParams(openAPI)

func mustRouteParams(doc []byte) map[string][]paramRule {
	m, err := parseRouteParams(doc)
	if err != nil {
		panic(err) // the document is embedded: every test catches this
	}
	return m
}

// parseRouteParams reads the query parameters of every operation of doc.
func parseRouteParams(doc []byte) (map[string][]paramRule, error) {
	var spec struct {
		Paths map[string]map[string]struct {
			Parameters []struct {
				Name        string     `json:"name"`
				In          string     `json:"in"`
				Description string     `json:"description"`
				Required    bool       `json:"required"`
				Schema      specSchema `json:"schema"`
			} `json:"parameters"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(doc, &spec); err != nil {
		return nil, fmt.Errorf("parse openapi.json: %w", err)
	}
	out := map[string][]paramRule{}
	for path, ops := range spec.Paths {
		route := ginPath(path)
		for method, op := range ops {
			for _, p := range op.Parameters {
				if p.In != "query" {
					continue
				}
				r, err := newRule(p.Name, p.Schema)
				if err != nil {
					return nil, fmt.Errorf("openapi.json %s %s: %w", method, path, err)
				}
				r.required = p.Required
				r.desc = p.Description
				if r.item != nil {
					r.item.desc = p.Description
				}
				key := strings.ToUpper(method) + " " + route
				out[key] = append(out[key], r)
			}
		}
	}
	return out, nil
}

// ginPath turns /c/{slug} into gin's /c/:slug.
func ginPath(p string) string {
	for {
		i := strings.IndexByte(p, '{')
		j := strings.IndexByte(p, '}')
		if i < 0 || j < i {
			return p
		}
		p = p[:i] + ":" + p[i+1:j] + p[j+1:]
	}
}

func newRule(name string, s specSchema) (paramRule, error) {
	r := paramRule{name: name, typ: s.Type, min: s.Minimum, max: s.Maximum, minLen: s.MinLength, maxLen: -1,
		enum: s.Enum, minItems: s.MinItems, maxItems: -1}
	if s.MaxLength != nil {
		r.maxLen = *s.MaxLength
	}
	if s.MaxItems != nil {
		r.maxItems = *s.MaxItems
	}
	if s.Pattern != "" {
		re, err := regexp.Compile(s.Pattern)
		if err != nil {
			return r, fmt.Errorf("parameter %s: pattern: %w", name, err)
		}
		r.pattern = re
	}
	switch s.Type {
	case "integer", "string":
	case "array":
		if s.Items == nil || s.Items.Type != "string" {
			return r, fmt.Errorf("parameter %s: only arrays of strings are checked", name)
		}
		item, err := newRule(name, *s.Items)
		if err != nil {
			return r, err
		}
		r.item = &item
	default:
		return r, fmt.Errorf("parameter %s: type %q is not checked", name, s.Type)
	}
	return r, nil
}

// checkParams answers 400 to a request whose query parameters break what
// openapi.json declares for its route.
func (s *Server) checkParams() gin.HandlerFunc {
	return func(c *gin.Context) {
		rules := routeParams[c.Request.Method+" "+c.FullPath()]
		for _, r := range rules {
			vs, ok := c.GetQueryArray(r.name)
			if err := r.check(vs, ok); err != nil {
				s.failFor(c, err)
				return
			}
		}
		c.Next()
	}
}

// check validates the values given for r (present says it was given).
func (r paramRule) check(vs []string, present bool) error {
	if !present {
		if r.required {
			return errBadRequest("missing query parameter " + r.name + r.explain())
		}
		return nil
	}
	if r.typ == "array" {
		if len(vs) < r.minItems || (r.maxItems >= 0 && len(vs) > r.maxItems) {
			return errBadRequest(fmt.Sprintf("%s must be given %d to %d times", r.name, r.minItems, r.maxItems))
		}
		for _, v := range vs {
			if err := r.item.value(v); err != nil {
				return err
			}
		}
		return nil
	}
	if len(vs) != 1 {
		return errBadRequest(r.name + " must be given once")
	}
	return r.value(vs[0])
}

// value validates one value of a scalar parameter.
func (r paramRule) value(v string) error {
	switch r.typ {
	case "integer":
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || (r.min != nil && n < *r.min) || (r.max != nil && n > *r.max) {
			return errBadRequest(r.name + " must be an integer" + r.bounds())
		}
	case "string":
		if !utf8.ValidString(v) {
			return errBadRequest(r.name + " is not valid UTF-8")
		}
		n := utf8.RuneCountInString(v)
		if n < r.minLen || (r.maxLen >= 0 && n > r.maxLen) {
			return errBadRequest(fmt.Sprintf("%s must be %d to %d characters long", r.name, r.minLen, r.maxLen))
		}
		if r.pattern != nil && !r.pattern.MatchString(v) {
			return errBadRequest(r.name + "=" + strconv.Quote(v) + " is malformed" + r.explain())
		}
		if len(r.enum) > 0 && !slices.Contains(r.enum, v) {
			return errBadRequest(r.name + " must be one of " + strings.Join(r.enum, ", "))
		}
	}
	return nil
}

// explain is the parameter's description as the end of an error message.
func (r paramRule) explain() string {
	if r.desc == "" {
		return ""
	}
	return " (" + r.desc + ")"
}

func (r paramRule) bounds() string {
	switch {
	case r.min != nil && r.max != nil:
		return fmt.Sprintf(" in [%d, %d]", *r.min, *r.max)
	case r.min != nil:
		return fmt.Sprintf(" of at least %d", *r.min)
	case r.max != nil:
		return fmt.Sprintf(" of at most %d", *r.max)
	}
	return ""
}

// failFor answers err as the route would: an HTML page on the page routes,
// the contract's JSON error elsewhere.
func (s *Server) failFor(c *gin.Context, err error) {
	if isPageRoute(c.FullPath()) {
		s.failPage(c, err)
		return
	}
	s.fail(c, err)
}

// isPageRoute reports whether the route answers HTML.
func isPageRoute(route string) bool {
	return route == "/" || route == "/search" || strings.HasPrefix(route, "/c/") || route == "/merch" || strings.HasPrefix(route, "/merch/")
}
