package topics

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// titleOrder orders the modifiers of a title before the category noun:
// brand first, then colour, pattern, material and the other descriptive
// keys, then season and occasion ("Nike Yellow Summer Party Dresses").
// Keys not listed come after the listed modifiers, alphabetically.
var titleOrder = []string{"brand", "color", "pattern", "material", "fit", "sleeve", "neck", "season", "occasion"}

func modifierRank(k string) int {
	if i := slices.Index(titleOrder, k); i >= 0 {
		return i
	}
	return len(titleOrder)
}

// displayForms spells category and value words whose title case is not
// their usual spelling.
var displayForms = map[string]string{
	"tshirts": "T-Shirts", "tshirt": "T-Shirt", "tshirt dresses": "T-Shirt Dresses",
	"bra": "Bras", "edt": "EDT", "usa": "USA",
}

// smallWords stay lower case inside a title.
var smallWords = map[string]bool{"and": true, "or": true, "of": true, "for": true, "with": true, "the": true, "a": true, "in": true}

// titleCase capitalises each word of s, keeping small words lower case
// after the first.
func titleCase(s string) string {
	if d, ok := displayForms[s]; ok {
		return d
	}
	ws := strings.Fields(s)
	for i, w := range ws {
		if d, ok := displayForms[w]; ok {
			ws[i] = d
			continue
		}
		if i > 0 && smallWords[w] {
			continue
		}
		r, n := utf8.DecodeRuneInString(w)
		ws[i] = string(unicode.ToUpper(r)) + w[n:]
	}
	return strings.Join(ws, " ")
}

// plural returns the plural of a category noun phrase: its last word made
// plural unless it already is ("casual shoes", "jeans"), or its first word
// for "X and Y" phrases ("perfume and body mist" stays as it is: the
// merchant form is a department name).
func plural(s string) string {
	if strings.Contains(s, " and ") || s == "" {
		return s
	}
	ws := strings.Fields(s)
	last := ws[len(ws)-1]
	switch {
	case strings.HasSuffix(last, "ss"):
		last += "es" // dress, glass
	case strings.HasSuffix(last, "s"):
		return s
	case strings.HasSuffix(last, "sh"), strings.HasSuffix(last, "ch"), strings.HasSuffix(last, "x"):
		last += "es"
	case strings.HasSuffix(last, "y") && len(last) > 1 && !strings.ContainsRune("aeiou", rune(last[len(last)-2])):
		last = last[:len(last)-1] + "ies"
	default:
		last += "s"
	}
	ws[len(ws)-1] = last
	return strings.Join(ws, " ")
}

// genderPhrase turns a gender value into the phrase that ends a title
// ("for Men"), or a prefix for values that read as adjectives ("Unisex").
func genderPhrase(v string) (prefix, suffix string) {
	switch v {
	case "unisex":
		return "Unisex", ""
	case "":
		return "", ""
	}
	return "", "for " + titleCase(v)
}

// Title names a tuple for people: modifiers in a fixed order before the
// category noun in its plural display form, the gender last ("Navy Blue
// Casual Shoes for Men"). A modifier whose words the title already holds
// is left out of the title ("Casual Shoes", not "Casual Casual Shoes");
// the tuple, the slug and the description keep it. A tuple without a
// category ends with its last modifier ("Black for Men").
func Title(attrs []KV) string {
	var mods []KV
	var cat, gender string
	for _, a := range attrs {
		switch a.Key {
		case "category":
			cat = a.Value
		case "gender":
			gender = a.Value
		case "subcategory", "mastercategory":
			if cat == "" {
				cat = a.Value
			}
		default:
			mods = append(mods, a)
		}
	}
	slices.SortStableFunc(mods, func(a, b KV) int { return modifierRank(a.Key) - modifierRank(b.Key) })
	pre, suf := genderPhrase(gender)
	var parts []string
	if pre != "" {
		parts = append(parts, pre)
	}
	have := map[string]bool{}
	for _, w := range strings.Fields(cat) {
		have[w] = true
	}
	for _, m := range mods {
		ws := strings.Fields(m.Value)
		dup := len(ws) > 0
		for _, w := range ws {
			dup = dup && have[w]
		}
		if dup {
			continue
		}
		for _, w := range ws {
			have[w] = true
		}
		parts = append(parts, titleCase(m.Value))
	}
	if cat != "" {
		parts = append(parts, titleCase(plural(cat)))
	}
	if suf != "" {
		parts = append(parts, suf)
	}
	if len(parts) == 0 {
		return "All Products"
	}
	return strings.Join(parts, " ")
}

// Slug is a tuple's stable URL name: its values in title order, gender
// last, lower case, joined by hyphens ("navy-blue-casual-shoes-men"). It
// depends on the tuple alone.
func Slug(attrs []KV) string {
	ordered := slices.Clone(attrs)
	rank := func(k string) int {
		switch k {
		case "gender":
			return 1000
		case "category", "subcategory", "mastercategory":
			return 999
		}
		return modifierRank(k)
	}
	slices.SortStableFunc(ordered, func(a, b KV) int {
		if r := rank(a.Key) - rank(b.Key); r != 0 {
			return r
		}
		return strings.Compare(a.Key, b.Key)
	})
	var b strings.Builder
	for _, a := range ordered {
		for _, r := range strings.ToLower(a.Value) {
			switch {
			case unicode.IsLetter(r) || unicode.IsDigit(r):
				if r < utf8.RuneSelf {
					b.WriteRune(r)
				}
			default:
				if b.Len() > 0 && !strings.HasSuffix(b.String(), "-") {
					b.WriteByte('-')
				}
			}
		}
		if b.Len() > 0 && !strings.HasSuffix(b.String(), "-") {
			b.WriteByte('-')
		}
	}
	s := strings.Trim(b.String(), "-")
	if s == "" {
		return "all"
	}
	return s
}

// Description writes a meta description of at most 160 characters for a
// topic of size products whose best product is titled top.
func Description(title string, attrs []KV, size int, top string) string {
	var facts []string
	for _, a := range attrs {
		switch a.Key {
		case "season":
			facts = append(facts, "for "+a.Value)
		case "occasion":
			facts = append(facts, "for "+a.Value+" wear")
		}
	}
	d := fmt.Sprintf("Shop %d %s", size, strings.ToLower(title))
	if title == "All Products" {
		d = fmt.Sprintf("Shop all %d products", size)
	}
	if len(facts) > 0 {
		d += ", picked " + strings.Join(facts, " and ")
	}
	d += "."
	if top != "" {
		d += " Featuring " + top + " and more."
	}
	if len(d) > 160 {
		cut := strings.LastIndex(d[:157], " ")
		if cut < 0 {
			cut = 157
		}
		d = strings.TrimRight(d[:cut], " ,.") + "..."
	}
	return d
}
