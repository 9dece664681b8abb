package query

// Typo tolerance: a query word that is neither a vocabulary word nor a
// known English or lexicon word is corrected to the one vocabulary word
// within a small edit distance. Guards keep it from inventing matches:
//   - words of three or four letters ("blak", "whte", "jens") are corrected
//     only by one dropped letter, two swapped letters or one neighbouring
//     key on a QWERTY keyboard, never when they are common English words
//     (shortWords), and among several such readings only when the most
//     frequent in the vocabulary is at least shortTieRatio times as
//     frequent as the next;
//   - shorter words are never corrected;
//   - one edit is allowed up to 7 letters, two from 8;
//   - the first letter must agree (shoppers rarely mistype it, and most
//     false corrections change it);
//   - a tie between two vocabulary words at the same distance is no
//     correction, unless one is at least shortTieRatio times as frequent
//     in the vocabulary ("balck" is "black", not "back");
//   - words with digits are never corrected.

const minTypoLen = 5

// minShortTypoLen is the shortest word corrected, under the short-word
// rules.
const minShortTypoLen = 3

// shortTieRatio is how much more frequent the best reading of a short word
// must be than the next for the correction to be made.
const shortTieRatio = 3

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
	if len(w) < minTypoLen {
		return r.correctShort(w, folded)
	}
	if !isAlpha(w) || r.known[folded] || r.spell[w] != "" ||
		fillers[w] || fillers[folded] || negators[w] || (!common && (commonWords[w] || commonWords[folded])) {
		return "", 0
	}
	limit := maxEdits(len(w))
	best, bestD, second := "", limit+1, -1
	for _, c := range r.byFirst[w[0]] {
		if d := len(c) - len(w); d > limit || -d > limit {
			continue
		}
		d := osa(w, c, limit)
		target := r.spell[c]
		switch {
		case d > limit || target == best && d == bestD:
		case d < bestD:
			best, bestD, second = target, d, -1
		case d == bestD:
			// A tie: the more frequent reading wins only by a wide margin.
			f, fb := r.freq[target], r.freq[best]
			if f > fb {
				best, second = target, max(second, fb)
			} else {
				second = max(second, f)
			}
		}
	}
	if best == "" || bestD > limit || (second >= 0 && r.freq[best] < shortTieRatio*max(second, 1)) {
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

// correctShort corrects a word of three or four letters: see the guards at
// the top of this file.
func (r *Resolver) correctShort(w, folded string) (string, int) {
	if len(w) < minShortTypoLen || !isAlpha(w) || r.known[folded] || r.known[w] || r.spell[w] != "" ||
		fillers[w] || negators[w] || commonWords[w] || shortWords[w] {
		return "", 0
	}
	best, bestF, second := "", 0, 0
	for _, c := range r.byFirst[w[0]] {
		if len(c) < len(w) || len(c) > len(w)+1 || !shortEdit(w, c) {
			continue
		}
		target := r.spell[c]
		if target == best {
			continue
		}
		switch f := r.freq[target]; {
		case f > bestF:
			best, bestF, second = target, f, bestF
		case f > second:
			second = f
		}
	}
	if best == "" || bestF < shortTieRatio*second {
		return "", 0
	}
	return best, 1
}

// shortEdit reports whether typed is target with one letter dropped, two
// neighbouring letters swapped, or one letter replaced by a key next to
// it.
func shortEdit(typed, target string) bool {
	switch {
	case len(target) == len(typed)+1:
		for i := range len(target) {
			if target[:i]+target[i+1:] == typed {
				return true
			}
		}
		return false
	case len(target) != len(typed):
		return false
	}
	diff := -1
	for i := range len(typed) {
		if typed[i] != target[i] {
			if diff >= 0 {
				// a second difference: only a swap of neighbours
				return i == diff+1 && typed[diff] == target[i] && typed[i] == target[diff] && typed[i+1:] == target[i+1:]
			}
			diff = i
		}
	}
	return diff >= 0 && adjacentKeys(typed[diff], target[diff])
}

// qwertyRows are the letter rows of a QWERTY keyboard.
var qwertyRows = [3]string{"qwertyuiop", "asdfghjkl", "zxcvbnm"}

// adjacentKeys reports whether a and b are neighbouring letter keys on a
// QWERTY keyboard (same row side by side, or touching across rows).
func adjacentKeys(a, b byte) bool {
	pos := func(c byte) (int, int) {
		for row, keys := range qwertyRows {
			for col := range len(keys) {
				if keys[col] == c {
					return row, col
				}
			}
		}
		return -9, -9
	}
	ra, ca := pos(a)
	rb, cb := pos(b)
	switch ra - rb {
	case 0:
		return ca-cb == 1 || cb-ca == 1
	case 1: // a is on the row below b: rows are offset by about half a key
		return ca == cb || ca == cb-1
	case -1:
		return cb == ca || cb == ca-1
	}
	return false
}

// shortWords are common English words of three and four letters that the
// short-word typo rules would otherwise read as vocabulary words ("pool" is
// not "polo", "bold" not "gold", "back" not "black").
var shortWords = setOf(
	"act", "add", "age", "ago", "aid", "aim", "air", "all", "and", "ant", "ape", "arc", "arm", "art", "ash", "ask",
	"bad", "bar", "bat", "bay", "bed", "bee", "beg", "bet", "bid", "bin", "bit", "bow", "box", "bud", "bug", "bun", "bus", "but", "buy",
	"cab", "can", "car", "cat", "cow", "cry", "cub", "cup", "cut", "dad", "dam", "den", "dew", "die", "dig", "dim", "dip", "dog",
	"dot", "dry", "due", "dug", "dye", "ear", "eat", "egg", "ego", "end", "era", "eve", "eye", "fan", "far", "fat", "fee", "few",
	"fig", "fin", "fix", "fly", "fog", "fox", "fun", "fur", "gap", "gas", "gel", "gem", "god", "gum", "gun", "gut", "guy", "gym",
	"ham", "has", "hay", "hen", "hid", "him", "hip", "hit", "hop", "hot", "how", "hub", "hug", "ice", "icy", "ill", "ink", "inn",
	"jam", "jar", "jaw", "jet", "job", "jog", "joy", "key", "kid", "kit", "lab", "lad", "lag", "lap", "law", "lay", "led", "leg",
	"let", "lid", "lie", "lip", "lit", "log", "lot", "low", "mad", "map", "mat", "men", "met", "mix", "mob", "mom", "mop", "mud",
	"mug", "nap", "net", "new", "nod", "nor", "not", "now", "nut", "oak", "odd", "off", "oil", "old", "one", "our", "out", "owe",
	"own", "pad", "pal", "pan", "pat", "paw", "pay", "pea", "pen", "pet", "pie", "pig", "pin", "pit", "pop", "pot", "pub", "put",
	"rag", "ran", "rat", "raw", "ray", "rib", "rid", "rim", "rip", "rob", "rod", "row", "rub", "rug", "run", "sad", "sat", "saw",
	"say", "sea", "see", "set", "sew", "she", "shy", "sin", "sip", "sir", "sit", "six", "ski", "sky", "sly", "son", "soy", "spa",
	"spy", "sum", "sun", "tab", "tag", "tan", "tap", "tar", "tax", "tea", "ten", "the", "tin", "tip", "toe", "ton", "too", "top",
	"toy", "try", "tub", "two", "use", "van", "vet", "via", "war", "was", "wax", "way", "web", "wed", "wet", "who", "why", "win",
	"wit", "won", "wow", "yes", "yet", "zip", "zoo",
	"able", "back", "bake", "bald", "ball", "band", "bank", "bare", "bark", "barn", "base", "bath", "bead", "beak", "beam", "bean",
	"bear", "beat", "beef", "been", "beer", "bell", "bend", "best", "bike", "bill", "bind", "bird", "bite", "blow", "blur", "boat",
	"body", "boil", "bold", "bolt", "bomb", "bond", "bone", "book", "boom", "boot", "bore", "born", "boss", "both", "bowl", "bulk",
	"bull", "burn", "bury", "busy", "cafe", "cage", "cake", "calf", "call", "calm", "came", "camp", "card", "care", "cart", "case",
	"cash", "cast", "cell", "chat", "chef", "chin", "chip", "city", "clap", "clay", "clip", "club", "clue", "coal", "coat", "code",
	"coin", "cold", "come", "cook", "cool", "cope", "copy", "cord", "core", "corn", "cost", "cozy", "crew", "crop", "cure", "cute",
	"dare", "dark", "dart", "data", "date", "dawn", "days", "dead", "deal", "dear", "debt", "deck", "deep", "deer", "desk", "dial",
	"dice", "diet", "dine", "dirt", "dish", "dive", "dock", "does", "doll", "done", "door", "dose", "down", "drag", "draw", "drew",
	"drop", "drum", "duck", "dull", "dump", "dust", "duty", "each", "earn", "ease", "east", "easy", "edge", "else", "even", "ever",
	"evil", "exam", "exit", "face", "fact", "fade", "fail", "fair", "fake", "fall", "fame", "farm", "fast", "fate", "fear", "feed",
	"feel", "feet", "fell", "felt", "file", "fill", "film", "find", "fine", "fire", "firm", "fish", "five", "flag", "flew", "flip",
	"flow", "foam", "fold", "folk", "fond", "font", "food", "fool", "foot", "fork", "form", "fort", "four", "free", "frog", "from",
	"fuel", "full", "fund", "gain", "game", "gate", "gave", "gear", "gift", "girl", "give", "glad", "glow", "glue", "goal", "goat",
	"goes", "gone", "gray", "grew", "grid", "grip", "grow", "gulf", "hair", "half", "hall", "hand", "hang", "hard", "harm", "hate",
	"have", "head", "heal", "heap", "hear", "heat", "held", "hell", "help", "herb", "here", "hero", "hide", "high", "hike", "hill",
	"hint", "hire", "hold", "hole", "holy", "home", "hook", "hope", "horn", "host", "hour", "huge", "hunt", "hurt", "idea", "inch",
	"into", "iron", "item", "join", "joke", "jump", "jury", "just", "keen", "keep", "kept", "kick", "kill", "kind", "king", "kiss",
	"kite", "knee", "knew", "know", "lack", "lady", "laid", "lake", "lamb", "lamp", "land", "lane", "last", "late", "lawn", "lazy",
	"lead", "leaf", "lean", "left", "lend", "less", "lick", "life", "lift", "like", "lime", "line", "link", "lion", "list", "live",
	"load", "loan", "lock", "logo", "lone", "long", "look", "loop", "lord", "lose", "loss", "lost", "loud", "love", "luck", "lung",
	"made", "mail", "main", "make", "male", "mall", "many", "mark", "mass", "meal", "mean", "meat", "meet", "melt", "menu", "mere",
	"mess", "mild", "mile", "milk", "mill", "mind", "mine", "miss", "mode", "mood", "moon", "more", "most", "move", "much", "must",
	"myth", "nail", "name", "near", "neat", "neck", "need", "nest", "news", "next", "nice", "nine", "none", "noon", "norm", "nose",
	"note", "odds", "okay", "once", "only", "onto", "open", "oven", "over", "pace", "pack", "page", "paid", "pain", "pair", "pale",
	"palm", "park", "part", "pass", "past", "path", "peak", "pick", "pile", "pill", "pine", "pipe", "plan", "play", "plot", "plug",
	"plus", "poem", "poet", "pole", "poll", "pond", "pool", "poor", "pork", "port", "pose", "post", "pour", "pray", "pull", "pump",
	"pure", "push", "quit", "race", "rack", "rage", "raid", "rail", "rain", "rank", "rare", "rate", "read", "real", "rear", "rely",
	"rent", "rest", "rice", "rich", "ride", "ring", "rise", "risk", "road", "rock", "role", "roll", "roof", "room", "root", "rope",
	"rose", "rude", "ruin", "rule", "rush", "safe", "said", "sail", "sake", "salt", "same", "sand", "save", "seal", "seat", "seed",
	"seek", "seem", "seen", "self", "sell", "send", "sent", "ship", "shop", "shot", "show", "shut", "sick", "side", "sign", "sing",
	"sink", "site", "slip", "slow", "snow", "soap", "sock", "soft", "soil", "sold", "sole", "some", "song", "soon", "sort", "soul",
	"soup", "sour", "spin", "spot", "star", "stay", "step", "stop", "such", "suit", "sure", "swim", "tail", "take", "tale", "talk",
	"tall", "tank", "task", "team", "tear", "tell", "tend", "tent", "term", "test", "text", "than", "that", "them", "then", "they",
	"thin", "this", "tide", "tidy", "tile", "till", "time", "tiny", "tire", "toll", "tone", "took", "tool", "torn", "tour", "town",
	"trap", "tray", "tree", "trip", "true", "tube", "tune", "turn", "twin", "type", "ugly", "unit", "upon", "used", "user", "vary",
	"vast", "very", "view", "vote", "wage", "wait", "wake", "walk", "wall", "want", "ward", "warm", "warn", "wash", "wave", "weak",
	"wear", "week", "well", "went", "were", "west", "what", "when", "whip", "whit", "whom", "wide", "wife", "wild", "will", "wind",
	"wine", "wing", "wire", "wise", "wish", "with", "wolf", "wood", "wool", "word", "wore", "work", "worn", "wrap", "yard", "year",
	"yoga", "your", "zero", "zone",
)
