package query

// Typo tolerance: a query word that is neither a vocabulary word nor a
// known English or lexicon word is corrected to the one vocabulary word
// within a small edit distance. Guards keep it from inventing matches:
//   - words shorter than minTypoLen letters are never corrected;
//   - one edit is allowed up to 7 letters, two from 8;
//   - the first letter must agree (shoppers rarely mistype it, and most
//     false corrections change it);
//   - a tie between two vocabulary words at the same distance is no
//     correction;
//   - words with digits are never corrected.

const minTypoLen = 5

// maxEdits returns the edits allowed for a word of n letters.
func maxEdits(n int) int {
	if n >= 8 {
		return 2
	}
	return 1
}

// correct returns the folded vocabulary token that w (as written; folded
// is its folded form) is a typo of, and the edit distance, or "", 0. With
// common false, real English words are left alone.
func (r *Resolver) correct(w, folded string, common bool) (string, int) {
	if len(w) < minTypoLen || !isAlpha(w) || r.known[folded] || r.spell[w] != "" ||
		fillers[w] || fillers[folded] || negators[w] || (!common && (commonWords[w] || commonWords[folded])) {
		return "", 0
	}
	limit := maxEdits(len(w))
	best, bestD, tie := "", limit+1, false
	for _, c := range r.byFirst[w[0]] {
		if d := len(c) - len(w); d > limit || -d > limit {
			continue
		}
		d := osa(w, c, limit)
		target := r.spell[c]
		switch {
		case d < bestD:
			best, bestD, tie = target, d, false
		case d == bestD && target != best:
			tie = true
		}
	}
	if best == "" || tie || bestD > limit {
		return "", 0
	}
	return best, bestD
}

// osa returns the optimal string alignment distance (Levenshtein with
// adjacent transpositions) between a and b over bytes, or limit+1 as soon as
// it must exceed limit.
func osa(a, b string, limit int) int {
	if len(a) > 32 || len(b) > 32 {
		return limit + 1
	}
	var rows [3][33]int
	prev2, prev, cur := &rows[0], &rows[1], &rows[2]
	for j := 0; j <= len(b); j++ {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			v := min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				v = min(v, prev2[j-2]+1)
			}
			cur[j] = v
			rowMin = min(rowMin, v)
		}
		if rowMin > limit {
			return limit + 1
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
