package extract

import (
	"fmt"
	"strings"
)

// lexicons lists, per key, one entry per line: the canonical value first,
// then its synonyms, separated by '|'. Plural forms need no entry: matching
// folds plurals. Canonical values follow common merchant-tag forms so that
// curation can map them onto the tags' surface forms.
var lexicons = map[string]string{
	"color": `black|jet black
white|optical white
blue
brown
grey|gray
red
green
pink
navy blue|navy|navy-blue
purple
silver
yellow
beige
gold|golden
maroon
orange
olive|olive green
multi|multicolour|multicolor|multi colour|multi color|multicoloured|multicolored|multi coloured
cream
steel
charcoal|charcoal grey
peach
off white|off-white
skin
lavender
grey melange|melange grey|melange
khaki
magenta
teal
tan
mustard
bronze
copper
rust
turquoise blue|turquoise
burgundy
metallic
coffee brown|coffee
rose
mauve
nude
sea green
mushroom brown
taupe
lime green|lime
fluorescent green|neon green
rose gold
indigo
violet
ivory
aqua
fuchsia
wine
plum
sky blue
light blue
dark blue
royal blue
light grey
dark grey`,
	"category": `tshirts|tshirt|t shirt|tee|polo tshirt|polo t shirt
shirts|shirt
casual shoes|casual shoe|sneaker|loafer|moccasin
sports shoes|sports shoe|sport shoe|running shoe|training shoe
formal shoes|formal shoe|oxford|derby|brogue
shoes|shoe
watches|watch
kurtas|kurta
kurtis|kurti
kurta sets|kurta set
tops|top
handbags|handbag|hand bag|tote
heels|heel|stiletto|pump
sunglasses|sunglass|sun glass
wallets|wallet
flip flops|flip flop|flipflop|slipper
sandals|sandal
sports sandals|sports sandal|floater
briefs|brief|bikini brief|hipster
belts|belt
backpacks|backpack
rucksacks|rucksack
socks|sock
perfume and body mist|perfume|body mist|eau de parfum|eau de toilette|edt|edp|fragrance
jeans|jean
shorts|short
trousers|trouser|chino|pant
track pants|track pant|trackpant|jogger
lounge pants|lounge pant|pyjama|pajama
flats|flat|ballerina
bra
dresses|dress
sarees|saree|sari
earrings|earring|stud
deodorant|deo
nail polish|nail lacquer|nail paint|nail enamel
lipstick|lip colour|lip color
lip gloss
lip liner
clutches|clutch
sweatshirts|sweatshirt|hoodie|hooded sweatshirt
caps|cap
sweaters|sweater|pullover|cardigan
ties|tie
jackets|jacket
rain jacket|raincoat
innerwear vests|innerwear vest|vest
tunics|tunic
nightdress|night dress|nighty|nightie
night suits|night suit
pendant
capris|capri
leggings|legging
jeggings|jegging
necklace and chains|necklace|chain
trunk
boxers|boxer
skirts|skirt
ring
dupatta
scarves|scarf
stoles|stole
cufflinks|cufflink|cuff link
kajal and eyeliner|kajal|eyeliner|eye liner|kohl|eye pencil
duffel bag|duffle bag|gym bag
laptop bag
messenger bag|sling bag
mobile pouch
waist pouch
bangle
bracelet
jewellery set|jewelry set
foundation and primer|foundation|primer
face moisturisers|face moisturiser|moisturiser|moisturizer
compact
eyeshadow|eye shadow
mascara
suspenders|suspender
patiala
salwar
churidar
mufflers|muffler
camisoles|camisole
stockings|stocking
tights
tracksuits|tracksuit
face wash and cleanser|face wash|cleanser
sunscreen|sunblock
gloves|glove
swimwear|swimsuit|swim suit
waistcoat
jumpsuit
rompers|romper
blazers|blazer
umbrellas|umbrella
headband
wristbands|wristband
lehenga choli|lehenga
hat
water bottle|bottle
bath robe|bathrobe|robe
basketballs|basketball
footballs|football
booties|bootie|boot`,
	"pattern": `solid|plain
striped|stripe|stripes|pinstripe|pinstriped
checked|check|checks|checkered|chequered|plaid|gingham
printed|print
floral|flower
polka dots|polka dot|polka
graphic
embroidered|embroidery
self design
colourblocked|colour block|colourblock|color block|colorblock|colorblocked
abstract
geometric
camouflage|camo
paisley
textured|texture
typography|slogan
animal print|leopard|zebra
ethnic motifs|motif`,
	"material": `cotton|pure cotton
leather|genuine leather
denim
silk
wool|woollen|woolen|merino
linen
polyester
nylon
canvas
suede
synthetic|faux leather|pu
rubber
stainless steel
chiffon
georgette
crepe
satin
velvet
knit|knitted
fleece
lycra|spandex|elastane
rayon|viscose
jute
khadi
mesh
corduroy
terry
jersey
chambray
modal`,
	"fit": `slim fit|slim
regular fit|regular
skinny fit|skinny
relaxed fit|relaxed
loose fit|loose
straight fit|straight
tapered fit|tapered
comfort fit
tailored fit|tailored
bootcut|boot cut`,
	"sleeve": `full sleeve|long sleeve|full sleeved|long sleeved
half sleeve|short sleeve|half sleeved|short sleeved
sleeveless
three quarter sleeve|3 4 sleeve|three fourth sleeve
cap sleeve
roll up sleeve`,
	"neck": `round neck|crew neck|crew
v neck|vneck
polo collar|polo
henley
mandarin collar|mandarin
high neck|turtle neck|turtleneck
collar`,
	"occasion": `casual
formal
party|partywear|party wear
sports|sport|athletic|gym|workout
ethnic|traditional|festive
wedding|bridal
travel
smart casual
beach|beachwear`,
	"gender": `men|man|male|gent|gents
women|woman|female|lady|ladies
boys|boy
girls|girl
unisex`,
	"season": `summer
winter
spring
fall|autumn
monsoon`,
}

// phrase is one lexicon entry: the value a phrase stands for.
type phrase struct {
	key, value string
}

// Lexicon maps phrases (folded token sequences) onto (key, value).
type Lexicon struct {
	phrases map[string]phrase
	maxLen  int
}

// DefaultLexicon returns the built-in fashion lexicon.
func DefaultLexicon() *Lexicon {
	lx, err := NewLexicon(lexicons)
	if err != nil {
		panic(err) // the built-in lexicon is checked by its tests
	}
	return lx
}

// NewLexicon builds a lexicon from entries in the format of the built-in
// one: per key, lines of "canonical|synonym|...". A phrase listed twice is
// an error.
func NewLexicon(entries map[string]string) (*Lexicon, error) {
	lx := &Lexicon{phrases: map[string]phrase{}}
	for key, block := range entries {
		for _, line := range strings.Split(block, "\n") {
			forms := strings.Split(line, "|")
			canon := Normalize(forms[0])
			if canon == "" {
				continue
			}
			for _, f := range forms {
				toks := foldTokens(tokens(f))
				if len(toks) == 0 {
					continue
				}
				k := strings.Join(toks, " ")
				if old, ok := lx.phrases[k]; ok && old != (phrase{key, canon}) {
					return nil, fmt.Errorf("lexicon: %q is both %s=%s and %s=%s", f, old.key, old.value, key, canon)
				}
				lx.phrases[k] = phrase{key, canon}
				lx.maxLen = max(lx.maxLen, len(toks))
			}
		}
	}
	return lx, nil
}

// Has reports whether a single token is a lexicon phrase.
func (lx *Lexicon) Has(token string) bool {
	_, ok := lx.phrases[tokenFold(token)]
	return ok
}

// match returns the longest phrase starting at folded[i] and its length.
func (lx *Lexicon) match(folded []string, i int) (phrase, int) {
	for n := min(lx.maxLen, len(folded)-i); n >= 1; n-- {
		if p, ok := lx.phrases[strings.Join(folded[i:i+n], " ")]; ok {
			return p, n
		}
	}
	return phrase{}, 0
}

// tokens splits text into normalised tokens (see Normalize), dropping the
// lone "s" a possessive leaves behind.
func tokens(s string) []string {
	toks := strings.Fields(Normalize(s))
	out := toks[:0]
	for _, t := range toks {
		if t != "s" && t != "&" && t != "-" {
			out = append(out, t)
		}
	}
	return out
}

// tokenFold is a token's identity for lexicon matching: letters and digits
// only, without a plural ending.
func tokenFold(t string) string {
	b := []byte(t)
	out := b[:0]
	for _, c := range b {
		if c != '-' && c != '&' {
			out = append(out, c)
		}
	}
	return FoldWord(string(out))
}

func foldTokens(toks []string) []string {
	out := make([]string, 0, len(toks))
	for _, t := range toks {
		if f := tokenFold(t); f != "" {
			out = append(out, f)
		}
	}
	return out
}
