package changes

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"lander/vocab"
)

// topicsFormat is the layout version of topics.json that Load reads
// (topics.FormatVersion).
const topicsFormat = 1

// readTopics reads the content topics of a topics.json file in one pass,
// keeping of each its slug, title, attributes, size, published flag and
// the ids of its feed's first FeedDepth slots. It skips everything else
// (the baseline, the evidence, the rest of each feed) without decoding or
// validating it: a fashion-sized topics.json holds about a hundred
// megabytes of feeds, which encoding/json takes seconds to go through.
func readTopics(b []byte) ([]Topic, error) {
	s := &scanner{b: b}
	var out []Topic
	err := s.object(func(key []byte) error {
		switch string(key) {
		case "format":
			n, err := s.integer()
			if err == nil && n != topicsFormat {
				err = fmt.Errorf("format %d, want %d", n, topicsFormat)
			}
			return err
		case "topics":
			return s.array(func(int) error {
				t, err := s.topic()
				out = append(out, t)
				return err
			})
		default:
			return s.skip()
		}
	})
	if err != nil {
		return nil, err
	}
	if s.ws(); s.i != len(s.b) {
		return nil, s.errorf("data after the top-level value")
	}
	if out == nil {
		out = []Topic{}
	}
	return out, nil
}

// topic reads one topic object.
func (s *scanner) topic() (Topic, error) {
	var t Topic
	err := s.object(func(key []byte) error {
		var err error
		switch string(key) {
		case "slug":
			t.Slug, err = s.str()
		case "title":
			t.Title, err = s.str()
		case "size":
			t.Size, err = s.integer()
		case "published":
			t.Published, err = s.boolean()
		case "attributes":
			t.Attributes = nil
			err = s.array(func(int) error {
				var kv vocab.KV
				err := s.object(func(key []byte) error {
					var err error
					switch string(key) {
					case "key":
						kv.Key, err = s.str()
					case "value":
						kv.Value, err = s.str()
					default:
						err = s.skip()
					}
					return err
				})
				t.Attributes = append(t.Attributes, kv)
				return err
			})
		case "feed":
			t.Feed = nil
			err = s.array(func(i int) error {
				if i >= FeedDepth {
					return s.skip()
				}
				id := ""
				err := s.object(func(key []byte) error {
					if string(key) == "id" {
						var err error
						id, err = s.str()
						return err
					}
					return s.skip()
				})
				t.Feed = append(t.Feed, id)
				return err
			})
		default:
			err = s.skip()
		}
		return err
	})
	return t, err
}

// scanner walks JSON text. Values it is asked to read are checked; values
// it skips are only delimited.
type scanner struct {
	b []byte
	i int
}

var errEnd = errors.New("unexpected end of JSON input")

func (s *scanner) errorf(format string, args ...any) error {
	return fmt.Errorf("offset %d: %s", s.i, fmt.Sprintf(format, args...))
}

// ws skips white space.
func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// peek skips white space and returns the next byte.
func (s *scanner) peek() (byte, error) {
	s.ws()
	if s.i >= len(s.b) {
		return 0, errEnd
	}
	return s.b[s.i], nil
}

// null consumes a null if one comes next.
func (s *scanner) null() bool {
	if c, err := s.peek(); err == nil && c == 'n' && bytes.HasPrefix(s.b[s.i:], []byte("null")) {
		s.i += 4
		return true
	}
	return false
}

// object reads an object (or null), calling fn with each key, undecoded
// unless it holds escapes; fn must consume the key's value.
func (s *scanner) object(fn func(key []byte) error) error {
	if s.null() {
		return nil
	}
	if c, err := s.peek(); err != nil {
		return err
	} else if c != '{' {
		return s.errorf("want an object, found %q", c)
	}
	s.i++
	for first := true; ; first = false {
		c, err := s.peek()
		if err != nil {
			return err
		}
		if c == '}' {
			s.i++
			return nil
		}
		if !first {
			if c != ',' {
				return s.errorf("want ',' or '}' in an object, found %q", c)
			}
			s.i++
		}
		key, escaped, err := s.rawString()
		if err != nil {
			return err
		}
		if escaped {
			var k string
			if err := json.Unmarshal(s.b[s.i-len(key)-2:s.i], &k); err != nil {
				return s.errorf("bad key: %v", err)
			}
			key = []byte(k)
		}
		if c, err := s.peek(); err != nil {
			return err
		} else if c != ':' {
			return s.errorf("want ':' after a key, found %q", c)
		}
		s.i++
		if err := fn(key); err != nil {
			return err
		}
	}
}

// array reads an array (or null), calling fn with the index of each
// element; fn must consume the element.
func (s *scanner) array(fn func(i int) error) error {
	if s.null() {
		return nil
	}
	if c, err := s.peek(); err != nil {
		return err
	} else if c != '[' {
		return s.errorf("want an array, found %q", c)
	}
	s.i++
	for n := 0; ; n++ {
		c, err := s.peek()
		if err != nil {
			return err
		}
		if c == ']' {
			s.i++
			return nil
		}
		if n > 0 {
			if c != ',' {
				return s.errorf("want ',' or ']' in an array, found %q", c)
			}
			s.i++
		}
		if err := fn(n); err != nil {
			return err
		}
	}
}

// rawString reads a string and returns its content between the quotes,
// escapes left as they are, and whether it holds any. Strings here are
// short (keys, ids, slugs), so a plain loop beats bytes.IndexByte.
func (s *scanner) rawString() ([]byte, bool, error) {
	if c, err := s.peek(); err != nil {
		return nil, false, err
	} else if c != '"' {
		return nil, false, s.errorf("want a string, found %q", c)
	}
	start, escaped := s.i+1, false
	for j := start; j < len(s.b); {
		switch s.b[j] {
		case '"':
			s.i = j + 1
			return s.b[start:j], escaped, nil
		case '\\':
			escaped = true
			j += 2
		default:
			j++
		}
	}
	s.i = len(s.b)
	return nil, false, errEnd
}

// str reads a string (null reads as "").
func (s *scanner) str() (string, error) {
	if s.null() {
		return "", nil
	}
	raw, escaped, err := s.rawString()
	if err != nil {
		return "", err
	}
	if !escaped {
		return string(raw), nil
	}
	var out string
	if err := json.Unmarshal(s.b[s.i-len(raw)-2:s.i], &out); err != nil {
		return "", s.errorf("bad string: %v", err)
	}
	return out, nil
}

// literal reads a number, true, false or null and returns its text.
func (s *scanner) literal() ([]byte, error) {
	if _, err := s.peek(); err != nil {
		return nil, err
	}
	start := s.i
	for s.i < len(s.b) && !delimiter(s.b[s.i]) {
		s.i++
	}
	if s.i == start {
		return nil, s.errorf("want a value, found %q", s.b[s.i])
	}
	return s.b[start:s.i], nil
}

// delimiter tells whether c ends a literal.
func delimiter(c byte) bool {
	switch c {
	case ',', '}', ']', ' ', '\t', '\n', '\r', ':', '"', '{', '[':
		return true
	}
	return false
}

// integer reads an integer (null reads as 0).
func (s *scanner) integer() (int, error) {
	lit, err := s.literal()
	if err != nil {
		return 0, err
	}
	if string(lit) == "null" {
		return 0, nil
	}
	n, err := strconv.Atoi(string(lit))
	if err != nil {
		return 0, s.errorf("want an integer, found %q", lit)
	}
	return n, nil
}

// boolean reads true or false (null reads as false).
func (s *scanner) boolean() (bool, error) {
	lit, err := s.literal()
	if err != nil {
		return false, err
	}
	switch string(lit) {
	case "true":
		return true, nil
	case "false", "null":
		return false, nil
	}
	return false, s.errorf("want a boolean, found %q", lit)
}

// skip consumes one value of any kind, checking only that strings end and
// that brackets balance.
func (s *scanner) skip() error {
	c, err := s.peek()
	if err != nil {
		return err
	}
	switch c {
	case '"':
		_, _, err := s.rawString()
		return err
	case '{', '[':
		var buf [16]byte
		stack := buf[:0]
		for s.i < len(s.b) {
			switch c := s.b[s.i]; c {
			case '"':
				if _, _, err := s.rawString(); err != nil {
					return err
				}
				continue
			case '{', '[':
				stack = append(stack, c)
			case '}', ']':
				if open := stack[len(stack)-1]; open+2 != c { // '{'+2 == '}', '['+2 == ']'
					return s.errorf("%q closed by %q", open, c)
				}
				stack = stack[:len(stack)-1]
				if len(stack) == 0 {
					s.i++
					return nil
				}
			}
			s.i++
		}
		return errEnd
	default:
		_, err := s.literal()
		return err
	}
}
