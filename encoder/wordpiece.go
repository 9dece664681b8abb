package encoder

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Special tokens of the uncased BERT vocabulary.
const (
	tokenUnknown = "[UNK]"
	tokenClass   = "[CLS]"
	tokenSep     = "[SEP]"

	// maxWordChars is the longest word, in characters, that WordPiece splits;
	// longer words become [UNK], as in BERT.
	maxWordChars = 100
)

// WordPiece is an uncased BERT tokenizer: the BasicTokenizer normalisation
// (control-character cleanup, whitespace, CJK splitting, NFD accent stripping,
// lowercasing, punctuation splitting) followed by greedy longest-match-first
// WordPiece. It reproduces the Hugging Face tokenizers BertNormalizer,
// BertPreTokenizer and WordPiece model. A WordPiece is immutable and safe for
// concurrent use.
type WordPiece struct {
	words    map[string]int64 // vocabulary entries that start a word
	suffixes map[string]int64 // "##" entries, stored without the prefix
	tokens   []string         // tokens by id
	unk      int64
	cls      int64
	sep      int64
}

// LoadWordPiece reads a BERT vocab.txt file (one token per line, the line
// number being the id).
func LoadWordPiece(path string) (*WordPiece, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load vocabulary: %w", err)
	}
	defer f.Close()
	w, err := NewWordPiece(f)
	if err != nil {
		return nil, fmt.Errorf("load vocabulary %q: %w", path, err)
	}
	return w, nil
}

// NewWordPiece builds a tokenizer from a vocab.txt stream. The vocabulary must
// contain [UNK], [CLS] and [SEP].
func NewWordPiece(r io.Reader) (*WordPiece, error) {
	w := &WordPiece{words: map[string]int64{}, suffixes: map[string]int64{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for id := int64(0); sc.Scan(); id++ {
		tok := strings.TrimRight(sc.Text(), "\r")
		if rest, ok := strings.CutPrefix(tok, "##"); ok && rest != "" {
			if _, dup := w.suffixes[rest]; !dup {
				w.suffixes[rest] = id
			}
		} else if _, dup := w.words[tok]; !dup {
			w.words[tok] = id
		}
		w.tokens = append(w.tokens, tok)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	for _, s := range []struct {
		tok string
		id  *int64
	}{{tokenUnknown, &w.unk}, {tokenClass, &w.cls}, {tokenSep, &w.sep}} {
		id, ok := w.words[s.tok]
		if !ok {
			return nil, fmt.Errorf("vocabulary has no %s token", s.tok)
		}
		*s.id = id
	}
	return w, nil
}

// VocabSize returns the number of entries in the vocabulary; every id that
// Encode returns is below it.
func (w *WordPiece) VocabSize() int { return len(w.tokens) }

// Encode returns the token ids of text framed as [CLS] tokens [SEP], keeping
// the first maxLength-2 word pieces when the text is longer (maxLength counts
// [CLS] and [SEP]; values below 2 are treated as 2).
func (w *WordPiece) Encode(text string, maxLength int) []int64 {
	maxLength = max(maxLength, 2)
	ids := make([]int64, 1, min(maxLength, len(text)+2))
	ids[0] = w.cls
	limit := maxLength - 1 // leave room for [SEP]
	if limit > 1 {
		forEachWord(normalize(text), func(word string) bool {
			ids = w.appendWord(ids, word)
			if len(ids) >= limit {
				ids = ids[:limit]
				return false
			}
			return true
		})
	}
	return append(ids, w.sep)
}

// Tokenize returns the word pieces of text without [CLS]/[SEP] and without
// truncation; it is meant for inspection and tests.
func (w *WordPiece) Tokenize(text string) []string {
	var out []string
	forEachWord(normalize(text), func(word string) bool {
		for _, id := range w.appendWord(nil, word) {
			out = append(out, w.tokens[id])
		}
		return true
	})
	return out
}

// appendWord appends the WordPiece ids of one pre-tokenized word.
func (w *WordPiece) appendWord(ids []int64, word string) []int64 {
	if utf8.RuneCountInString(word) > maxWordChars {
		return append(ids, w.unk)
	}
	mark := len(ids)
	for start := 0; start < len(word); {
		vocab := w.words
		if start > 0 {
			vocab = w.suffixes
		}
		end := len(word)
		id, found := int64(0), false
		for end > start {
			if id, found = vocab[word[start:end]]; found {
				break
			}
			_, size := utf8.DecodeLastRuneInString(word[start:end])
			end -= size
		}
		if !found {
			return append(ids[:mark], w.unk)
		}
		ids = append(ids, id)
		start = end
	}
	return ids
}

// normalize applies the BertNormalizer steps in the order Hugging Face
// tokenizers does: clean text, pad CJK characters, strip accents (NFD, drop
// nonspacing marks), lowercase.
func normalize(text string) string {
	var b strings.Builder
	b.Grow(len(text) + 8)
	ascii := true
	for _, r := range text {
		switch {
		case r >= utf8.RuneSelf && compatClass(r) != classDefault:
			if compatClass(r) != classDrop {
				b.WriteRune(r)
				ascii = false
			}
		case r == 0 || r == utf8.RuneError || isControl(r):
			continue
		case isWhitespace(r):
			b.WriteByte(' ')
		case isCJK(r):
			b.WriteByte(' ')
			b.WriteRune(r)
			b.WriteByte(' ')
			ascii = false
		case r < utf8.RuneSelf:
			if 'A' <= r && r <= 'Z' {
				r += 'a' - 'A'
			}
			b.WriteByte(byte(r))
		default:
			b.WriteRune(r)
			ascii = false
		}
	}
	if ascii {
		return b.String()
	}
	decomposed := norm.NFD.String(b.String())
	b.Reset()
	for _, r := range decomposed {
		if c := compatClass(r); c == classDefault && !unicode.Is(unicode.Mn, r) || c == classLetter || c == classPunct {
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// forEachWord splits normalized text on whitespace and around punctuation,
// calling fn for each word until fn returns false.
func forEachWord(text string, fn func(word string) bool) {
	start := -1
	for i, r := range text {
		switch {
		case isWhitespace(r):
			if start >= 0 && !fn(text[start:i]) {
				return
			}
			start = -1
		case isPunctuation(r):
			if start >= 0 && !fn(text[start:i]) {
				return
			}
			start = -1
			if !fn(text[i : i+utf8.RuneLen(r)]) {
				return
			}
		default:
			if start < 0 {
				start = i
			}
		}
	}
	if start >= 0 {
		fn(text[start:])
	}
}

// isWhitespace reports the characters BERT treats as spaces: Unicode
// White_Space, which includes \t, \n and \r.
func isWhitespace(r rune) bool { return unicode.IsSpace(r) }

// isControl reports the characters the normalizer removes: categories Cc, Cf
// and Co, except \t, \n and \r, which count as whitespace.
func isControl(r rune) bool {
	if r == '\t' || r == '\n' || r == '\r' {
		return false
	}
	return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Co)
}

// isPunctuation reports ASCII punctuation (which includes symbols such as $,
// + and ^) and every character of Unicode category P.
func isPunctuation(r rune) bool {
	if r < utf8.RuneSelf {
		return ('!' <= r && r <= '/') || (':' <= r && r <= '@') ||
			('[' <= r && r <= '`') || ('{' <= r && r <= '~')
	}
	if c := compatClass(r); c != classDefault {
		return c == classPunct
	}
	return unicode.IsPunct(r)
}

// isCJK reports the CJK ideograph blocks split into single characters. The
// ranges are those of Hugging Face tokenizers, which start the Extension E/F
// block at U+2B920 where Python BERT uses U+2B820.
func isCJK(r rune) bool {
	return (r >= 0x4E00 && r <= 0x9FFF) ||
		(r >= 0x3400 && r <= 0x4DBF) ||
		(r >= 0x20000 && r <= 0x2A6DF) ||
		(r >= 0x2A700 && r <= 0x2B73F) ||
		(r >= 0x2B740 && r <= 0x2B81F) ||
		(r >= 0x2B920 && r <= 0x2CEAF) ||
		(r >= 0xF900 && r <= 0xFAFF) ||
		(r >= 0x2F800 && r <= 0x2FA1F)
}
