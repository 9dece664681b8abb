package query

import (
	"math"
	"strconv"
	"strings"
)

// currencyWords are currency tokens (after folding) that may stand before or
// after an amount.
var currencyWords = setOf(
	"$", "€", "£", "¥", "₹", "usd", "dollar", "buck", "rs", "inr", "rupee", "eur", "euro", "gbp", "pound", "quid", "yen",
)

// priceMax, priceMin and priceAround start a bound; the second word of a
// two-word operator is optional ("less than", "up to").
var (
	priceMax = map[string][]string{
		"under": nil, "below": nil, "less": {"than"}, "cheaper": {"than"}, "max": nil, "maximum": nil,
		"upto": nil, "up": {"to"}, "within": nil, "lower": {"than"}, "budget": {"of"}, "at": {"most"},
		"till": nil, "until": nil, "not": {"more"}, "no": {"more"},
	}
	priceMin = map[string][]string{
		"over": nil, "above": nil, "more": {"than"}, "min": nil, "minimum": nil, "from": nil,
		"starting": {"at", "from"}, "least": nil, "higher": {"than"}, "costlier": {"than"}, "pricier": {"than"},
	}
	priceAround = map[string][]string{"around": nil, "about": nil, "approx": nil, "approximately": nil, "roughly": nil, "near": nil}
)

// amount reads a price amount at toks[i]: optional currency tokens, a
// number (with a "k" for thousands: "2k", "1.5k"), optional currency tokens.
// It returns the value, the tokens read, and whether a currency was named.
func amount(toks []string, i int) (v float64, n int, cur, ok bool) {
	j := i
	for j < len(toks) && currencyWords[toks[j]] {
		j, cur = j+1, true
	}
	if j >= len(toks) {
		return 0, 0, false, false
	}
	t := toks[j]
	mult, extra := 1.0, 0
	// A currency glued to the number: "rs500", "500rs", "200usd".
	for _, c := range []string{"rs", "inr", "usd", "eur", "gbp"} {
		if s, found := strings.CutPrefix(t, c); found && s != "" {
			t, cur = s, true
		}
		if s, found := strings.CutSuffix(t, c); found && s != "" {
			t, cur = s, true
		}
	}
	switch {
	case strings.HasSuffix(t, "k") && len(t) > 1:
		t, mult = t[:len(t)-1], 1000
	case j+1 < len(toks) && (toks[j+1] == "k" || toks[j+1] == "thousand"):
		mult, extra = 1000, 1
	}
	if t == "" || (t[0] < '0' || t[0] > '9') {
		return 0, 0, false, false
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || !finite(f*mult) {
		return 0, 0, false, false // "1e308k" overflows: no amount
	}
	j += 1 + extra
	for j < len(toks) && currencyWords[toks[j]] {
		j, cur = j+1, true
	}
	return f * mult, j - i, cur, true
}

// finite reports whether v is a number a price bound may hold: neither
// infinite nor NaN.
func finite(v float64) bool { return !math.IsInf(v, 0) && !math.IsNaN(v) }

// operator reports whether toks[i:] starts with an operator of ops and how
// many tokens it spans.
func operator(ops map[string][]string, toks []string, i int) (int, bool) {
	second, ok := ops[toks[i]]
	if !ok {
		return 0, false
	}
	if i+1 < len(toks) {
		for _, s := range second {
			if toks[i+1] == s {
				if i+2 < len(toks) && toks[i+2] == "than" { // "not more than"
					return 3, true
				}
				return 2, true
			}
		}
	}
	if len(second) > 0 && (toks[i] == "up" || toks[i] == "at" || toks[i] == "not" || toks[i] == "no" || toks[i] == "starting") {
		return 0, false // these need their second word
	}
	return 1, true
}

// extractPrice takes price phrases out of the tokens: "under 200",
// "below $50", "less than 2k", "over 30", "between 50 and 100 dollars",
// "from $20 to $40", "50-100 dollars", "around 500", and a bare amount with a
// currency ("$80"), which reads as a maximum. It returns the positions of
// the tokens left.
func extractPrice(toks []string) ([]int, Price) {
	var p Price
	rest := make([]int, 0, len(toks))
	set := func(dst **float64, v float64) { *dst = &v }
	for i := 0; i < len(toks); i++ {
		// between A and B, from A to B, A to B (with a currency)
		start := i
		if toks[i] == "between" || toks[i] == "from" || toks[i] == "price" || toks[i] == "range" {
			start = i + 1
		}
		if a, n, curA, ok := amount(toks, start); ok {
			j := start + n
			if j < len(toks) && (toks[j] == "and" || toks[j] == "to") {
				if b, m, curB, ok := amount(toks, j+1); ok && (start > i || curA || curB) {
					lo, hi := min(a, b), max(a, b)
					set(&p.Min, lo)
					set(&p.Max, hi)
					i = j + m
					continue
				}
			}
		}
		if n, ok := operator(priceMax, toks, i); ok {
			if v, m, _, ok := amount(toks, i+n); ok {
				set(&p.Max, v)
				i += n + m - 1
				continue
			}
		}
		if n, ok := operator(priceMin, toks, i); ok {
			if v, m, _, ok := amount(toks, i+n); ok {
				set(&p.Min, v)
				i += n + m - 1
				continue
			}
		}
		if n, ok := operator(priceAround, toks, i); ok {
			if v, m, _, ok := amount(toks, i+n); ok {
				if lo, hi := math.Round(v*0.8*100)/100, math.Round(v*1.2*100)/100; finite(lo) && finite(hi) {
					set(&p.Min, lo)
					set(&p.Max, hi)
					i += n + m - 1
					continue
				}
			}
		}
		if v, n, cur, ok := amount(toks, i); ok && cur && p.Max == nil {
			set(&p.Max, v)
			i += n - 1
			continue
		}
		rest = append(rest, i)
	}
	if p.Min != nil && p.Max != nil && *p.Min > *p.Max {
		p.Min, p.Max = p.Max, p.Min // "over 300 under 100"
	}
	return rest, p
}
