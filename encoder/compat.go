package encoder

import "sort"

// charClass is how the reference tokenizer treats a code point whose Unicode
// properties changed after the tables it was built with.
type charClass uint8

const (
	classDefault charClass = iota // follow Go's unicode tables
	classDrop                     // removed during normalisation
	classPunct                    // split off as a word of its own
	classLetter                   // kept inside words
)

// compatRange maps the code points lo..hi to a class.
type compatRange struct {
	lo, hi rune
	class  charClass
}

// compatClass returns the reference class of r, or classDefault when Go's
// tables agree with the reference.
func compatClass(r rune) charClass {
	i := sort.Search(len(compatRanges), func(i int) bool { return compatRanges[i].hi >= r })
	if i < len(compatRanges) && compatRanges[i].lo <= r {
		return compatRanges[i].class
	}
	return classDefault
}
