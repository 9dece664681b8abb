package query

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Limits that bound the work of one resolution whatever the input.
const (
	// MaxQueryBytes is the longest query read; the rest is ignored.
	MaxQueryBytes = 512
	// MaxTokens is the most tokens of a query that are resolved.
	MaxTokens = 48
)

// currencySymbols stand alone as tokens so that "$200" reads as "$ 200".
var currencySymbols = map[rune]bool{'$': true, '€': true, '£': true, '¥': true, '₹': true}

// Tokens normalises text into folded tokens: unicode-normalised (NFKD),
// accents removed, lower case, apostrophes dropped ("women's" is "womens"),
// other punctuation and whitespace split, plural endings folded. Numbers keep
// their decimal point and lose thousands separators ("2,000" is "2000"); a
// hyphen between numbers reads as "to" ("50-100" is "50 to 100"); currency
// symbols stand alone. At most MaxQueryBytes of s and MaxTokens tokens are
// kept.
func Tokens(s string) []string {
	f := words(s)
	for i, w := range f {
		f[i] = Fold(w)
	}
	return f
}

// words is Tokens without the plural folding.
func words(s string) []string {
	s = truncate(s, MaxQueryBytes)
	rs := []rune(norm.NFKD.String(s))
	var b strings.Builder
	b.Grow(len(rs) + 8)
	isDigit := func(i int) bool { return i >= 0 && i < len(rs) && unicode.IsDigit(rs[i]) }
	// nextDigit reports whether a digit follows position i, skipping
	// spaces and currency symbols ("50 - $100").
	nextDigit := func(i int) bool {
		for j := i + 1; j < len(rs); j++ {
			switch {
			case unicode.IsDigit(rs[j]):
				return true
			case rs[j] == ' ' || currencySymbols[rs[j]]:
				continue
			}
			return false
		}
		return false
	}
	prevDigit := func(i int) bool {
		for j := i - 1; j >= 0; j-- {
			switch {
			case unicode.IsDigit(rs[j]) || rs[j] == 'k' || rs[j] == 'K':
				return unicode.IsDigit(rs[j]) || isDigit(j-1)
			case rs[j] == ' ' || currencySymbols[rs[j]]:
				continue
			}
			return false
		}
		return false
	}
	for i, c := range rs {
		switch {
		case unicode.Is(unicode.Mn, c):
			continue
		case c == '\'' || c == '’' || c == '‘' || c == '`':
			continue
		case unicode.IsLetter(c) || unicode.IsDigit(c):
			b.WriteRune(unicode.ToLower(c))
		case c == '.' && isDigit(i-1) && isDigit(i+1):
			b.WriteRune(c)
		case c == ',' && isDigit(i-1) && isDigit(i+1) && isDigit(i+2) && isDigit(i+3) && !isDigit(i+4):
			// thousands separator: "2,000"
		case (c == '-' || c == '–' || c == '—') && prevDigit(i) && nextDigit(i):
			b.WriteString(" to ")
		case currencySymbols[c]:
			b.WriteByte(' ')
			b.WriteRune(c)
			b.WriteByte(' ')
		default:
			b.WriteByte(' ')
		}
	}
	f := strings.Fields(b.String())
	if len(f) > MaxTokens {
		f = f[:MaxTokens]
	}
	return f
}

// truncate cuts s to at most n bytes on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// Fold removes an English plural ending: "dresses" and "dress" both fold to
// "dress", "watches" to "watch", "shoes" to "shoe", "accessories" to
// "accessory". Words of three letters or fewer and words with digits are
// kept as they are.
func Fold(w string) string {
	if len(w) <= 3 || !isAlpha(w) {
		return w
	}
	switch {
	case strings.HasSuffix(w, "ies") && len(w) > 4:
		return w[:len(w)-3] + "y"
	case strings.HasSuffix(w, "sses"), strings.HasSuffix(w, "ches"), strings.HasSuffix(w, "shes"), strings.HasSuffix(w, "xes"):
		return w[:len(w)-2]
	case strings.HasSuffix(w, "ss"), strings.HasSuffix(w, "us"), strings.HasSuffix(w, "is"):
		return w
	case strings.HasSuffix(w, "s"):
		return w[:len(w)-1]
	}
	return w
}

func isAlpha(w string) bool {
	for _, c := range w {
		if !unicode.IsLetter(c) {
			return false
		}
	}
	return true
}
