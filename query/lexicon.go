package query

// This file holds the resolver's built-in lexicon: shopper words that are
// not vocabulary values. Every entry names its target by key and value; an
// entry is used only when the vocabulary the resolver is built from holds
// that value, so the lexicon never invents attributes a catalog lacks.
// Vocabulary values and curated aliases always win over these entries.

// builtin is a built-in phrase group that maps onto one vocabulary value.
type builtin struct {
	key, value string
	// soft marks cue words that suggest rather than state the value
	// ("gym" suggests occasion=sports); they rank and never filter.
	soft    bool
	phrases []string
}

// builtinAliases are common shopper synonyms of vocabulary values. They
// resolve as strictly as the values themselves.
var builtinAliases = []builtin{
	// category (articleType-level product types)
	{key: "category", value: "tshirts", phrases: []string{"tee", "tees", "t shirt", "tshirt", "tee shirt", "polo", "polo shirt", "polo tshirt"}},
	{key: "category", value: "shirts", phrases: []string{"button down", "button up", "dress shirt"}},
	{key: "category", value: "casual shoes", phrases: []string{"sneaker", "sneakers", "loafer", "loafers", "canvas shoe", "plimsoll", "moccasin", "boat shoe"}},
	{key: "category", value: "sports shoes", phrases: []string{"running shoe", "trainer", "trainers", "training shoe", "athletic shoe", "gym shoe", "jogging shoe", "runner", "studs shoe", "football shoe"}},
	{key: "category", value: "formal shoes", phrases: []string{"office shoe", "dress shoe", "oxford", "oxfords", "brogue", "derby shoe", "work shoe"}},
	{key: "category", value: "flip flops", phrases: []string{"slipper", "flip flop", "flipflop", "chappal", "slide", "slider", "thong sandal", "house slipper"}},
	{key: "category", value: "sandals", phrases: []string{"sandal", "floater", "gladiator"}},
	{key: "category", value: "sports sandals", phrases: []string{"sport sandal"}},
	{key: "category", value: "heels", phrases: []string{"heel", "high heel", "stiletto", "pump", "wedge", "platform heel", "kitten heel"}},
	{key: "category", value: "flats", phrases: []string{"flat", "ballerina", "ballet flat", "flat shoe", "mojari", "jutti"}},
	{key: "category", value: "jeans", phrases: []string{"denims", "denim jean", "denim pant"}},
	{key: "category", value: "track pants", phrases: []string{"jogger", "joggers", "jogger pant", "trackpant", "sweatpant", "sweat pant", "track pant", "track bottom"}},
	{key: "category", value: "trousers", phrases: []string{"trouser", "pant", "pants", "slack", "slacks", "chino", "chinos"}},
	{key: "category", value: "shorts", phrases: []string{"bermuda", "bermudas", "half pant"}},
	{key: "category", value: "sweatshirts", phrases: []string{"hoodie", "hoody", "hoodies", "hooded sweatshirt", "sweat shirt"}},
	{key: "category", value: "sweaters", phrases: []string{"pullover", "cardigan", "jumper", "knitwear", "sweater"}},
	{key: "category", value: "jackets", phrases: []string{"jacket", "windcheater", "bomber", "coat", "parka", "puffer"}},
	{key: "category", value: "blazers", phrases: []string{"blazer", "sport coat", "suit jacket"}},
	{key: "category", value: "rain jacket", phrases: []string{"raincoat", "rain coat"}},
	{key: "category", value: "caps", phrases: []string{"cap", "baseball cap", "snapback"}},
	{key: "category", value: "hat", phrases: []string{"hats", "fedora", "sun hat"}},
	{key: "category", value: "deodorant", phrases: []string{"deo", "deos", "antiperspirant", "body spray", "deodorants"}},
	{key: "category", value: "perfume and body mist", phrases: []string{"perfume", "body mist", "cologne", "eau de toilette", "eau de parfum", "edt", "edp", "fragrance mist"}},
	{key: "category", value: "kurtis", phrases: []string{"kurti"}},
	{key: "category", value: "kurtas", phrases: []string{"kurta"}},
	{key: "category", value: "kurta sets", phrases: []string{"kurta set", "kurta pyjama", "kurta pajama"}},
	{key: "category", value: "handbags", phrases: []string{"handbag", "hand bag", "tote", "tote bag", "shoulder bag", "hobo bag", "satchel"}},
	{key: "category", value: "clutches", phrases: []string{"clutch", "evening bag"}},
	{key: "category", value: "backpacks", phrases: []string{"backpack", "back pack", "bagpack", "school bag", "daypack"}},
	{key: "category", value: "duffel bag", phrases: []string{"duffle bag", "duffel", "duffle", "gym bag", "travel bag", "weekender"}},
	{key: "category", value: "messenger bag", phrases: []string{"sling bag", "crossbody bag", "cross body bag", "messenger"}},
	{key: "category", value: "laptop bag", phrases: []string{"laptop sleeve", "laptop backpack", "office bag"}},
	{key: "category", value: "wallets", phrases: []string{"wallet", "billfold", "card holder", "money clip"}},
	{key: "category", value: "watches", phrases: []string{"watch", "wristwatch", "wrist watch", "timepiece", "chronograph", "smartwatch"}},
	{key: "category", value: "sunglasses", phrases: []string{"sunglass", "shades", "sunnies", "goggles", "aviators", "aviator", "wayfarer"}},
	{key: "category", value: "belts", phrases: []string{"belt"}},
	{key: "category", value: "socks", phrases: []string{"sock", "ankle sock"}},
	{key: "category", value: "ties", phrases: []string{"tie", "necktie", "neck tie", "bow tie"}},
	{key: "category", value: "briefs", phrases: []string{"brief", "panty", "panties", "knickers", "hipster"}},
	{key: "category", value: "trunk", phrases: []string{"trunks"}},
	{key: "category", value: "boxers", phrases: []string{"boxer", "boxer short"}},
	{key: "category", value: "bra", phrases: []string{"bras", "brassiere", "sports bra", "bralette"}},
	{key: "category", value: "innerwear vests", phrases: []string{"vest", "undershirt", "inner vest", "banian", "baniyan"}},
	{key: "category", value: "dresses", phrases: []string{"dress", "frock", "gown", "maxi dress", "midi dress", "sundress", "sun dress"}},
	{key: "category", value: "tops", phrases: []string{"top", "blouse", "crop top", "tank top", "tunic top"}},
	{key: "category", value: "tunics", phrases: []string{"tunic"}},
	{key: "category", value: "camisoles", phrases: []string{"camisole", "cami", "spaghetti top"}},
	{key: "category", value: "skirts", phrases: []string{"skirt", "miniskirt", "mini skirt"}},
	{key: "category", value: "leggings", phrases: []string{"legging", "yoga pant"}},
	{key: "category", value: "jeggings", phrases: []string{"jegging"}},
	{key: "category", value: "capris", phrases: []string{"capri", "three quarter", "3 4th pant", "cropped pant"}},
	{key: "category", value: "sarees", phrases: []string{"saree", "sari", "saris"}},
	{key: "category", value: "lehenga choli", phrases: []string{"lehenga", "lehnga", "lengha", "ghagra"}},
	{key: "category", value: "earrings", phrases: []string{"earring", "ear ring", "studs", "jhumka", "jhumkas", "hoops", "hoop earring"}},
	{key: "category", value: "necklace and chains", phrases: []string{"necklace", "chain", "chains"}},
	{key: "category", value: "ring", phrases: []string{"rings", "finger ring"}},
	{key: "category", value: "bangle", phrases: []string{"bangles", "kada"}},
	{key: "category", value: "bracelet", phrases: []string{"bracelets", "wristband bracelet"}},
	{key: "category", value: "pendant", phrases: []string{"pendants", "locket"}},
	{key: "category", value: "lipstick", phrases: []string{"lip stick", "lip colour", "lip color"}},
	{key: "category", value: "nail polish", phrases: []string{"nail paint", "nail colour", "nail color", "nail lacquer", "nail varnish"}},
	{key: "category", value: "kajal and eyeliner", phrases: []string{"kajal", "eyeliner", "eye liner", "kohl"}},
	{key: "category", value: "foundation and primer", phrases: []string{"foundation", "primer"}},
	{key: "category", value: "highlighter and blush", phrases: []string{"blush", "blusher", "highlighter"}},
	{key: "category", value: "face wash and cleanser", phrases: []string{"face wash", "facewash", "cleanser"}},
	{key: "category", value: "face moisturisers", phrases: []string{"moisturiser", "moisturizer", "face cream"}},
	{key: "category", value: "night suits", phrases: []string{"pyjamas", "pajamas", "pyjama set", "pajama set", "night suit", "nightsuit", "pj"}},
	{key: "category", value: "nightdress", phrases: []string{"nightie", "nighty", "night dress", "nightgown", "night gown"}},
	{key: "category", value: "tracksuits", phrases: []string{"tracksuit", "track suit"}},
	{key: "category", value: "swimwear", phrases: []string{"swimsuit", "bikini", "swimming costume", "swim suit", "bathing suit", "swimming trunk"}},
	{key: "category", value: "scarves", phrases: []string{"scarf"}},
	{key: "category", value: "stoles", phrases: []string{"stole"}},
	{key: "category", value: "mufflers", phrases: []string{"muffler"}},
	{key: "category", value: "waistcoat", phrases: []string{"waist coat", "gilet"}},
	{key: "category", value: "jumpsuit", phrases: []string{"jumpsuits", "playsuit", "dungaree", "dungarees", "overall"}},
	{key: "category", value: "cufflinks", phrases: []string{"cufflink", "cuff link", "cuff links"}},
	{key: "category", value: "umbrellas", phrases: []string{"umbrella"}},

	// color
	{key: "color", value: "grey", phrases: []string{"gray"}},
	{key: "color", value: "navy blue", phrases: []string{"navy"}},
	{key: "color", value: "off white", phrases: []string{"offwhite", "ivory"}},
	{key: "color", value: "multi", phrases: []string{"multicolour", "multicolor", "multi colour", "multi color", "multicoloured", "multicolored", "colourful", "colorful"}},
	{key: "color", value: "gold", phrases: []string{"golden"}},
	{key: "color", value: "silver", phrases: []string{"silvery"}},
	{key: "color", value: "turquoise blue", phrases: []string{"turquoise", "aqua"}},
	{key: "color", value: "magenta", phrases: []string{"fuchsia", "fuschia", "hot pink"}},
	{key: "color", value: "maroon", phrases: []string{"wine", "oxblood"}},
	{key: "color", value: "purple", phrases: []string{"violet"}},
	{key: "color", value: "beige", phrases: []string{"camel"}},
	{key: "color", value: "grey melange", phrases: []string{"heather grey", "heather gray", "grey marl", "gray melange"}},

	// gender: explicit words that name the wearer
	{key: "gender", value: "men", phrases: []string{"man", "male", "males", "gents", "gent", "gentleman", "gentlemen", "guy", "guys", "mens"}},
	{key: "gender", value: "women", phrases: []string{"woman", "womens", "lady", "ladies", "female", "females", "womenswear"}},
	{key: "gender", value: "boys", phrases: []string{"boy"}},
	{key: "gender", value: "girls", phrases: []string{"girl"}},

	// occasion and season values by another name
	{key: "occasion", value: "sports", phrases: []string{"sport", "sporty", "athletic", "sportswear", "activewear"}},
	{key: "occasion", value: "formal", phrases: []string{"formals", "formalwear", "formal wear"}},
	{key: "occasion", value: "casual", phrases: []string{"casuals", "casual wear", "casualwear"}},
	{key: "occasion", value: "ethnic", phrases: []string{"ethnic wear", "ethnicwear", "traditional", "traditional wear"}},
	{key: "occasion", value: "party", phrases: []string{"partywear", "party wear"}},
	{key: "season", value: "fall", phrases: []string{"autumn"}},
}

// builtinCues are words that suggest a value without naming it: a wearer
// named by kinship ("my wife"), an activity or a place ("gym", "office").
// They resolve as soft attributes: gifts for a wife may be unisex, office
// wear need not be tagged formal, so these rank results and never filter.
var builtinCues = []builtin{
	{key: "gender", value: "women", soft: true, phrases: []string{"wife", "girlfriend", "mom", "mum", "mother", "sister", "aunt", "grandma", "grandmother", "her", "she", "bride", "fiancee", "daughter in law", "niece"}},
	{key: "gender", value: "men", soft: true, phrases: []string{"husband", "boyfriend", "dad", "father", "brother", "uncle", "grandpa", "grandfather", "him", "he", "groom", "fiance", "son in law", "nephew"}},
	{key: "gender", value: "boys", soft: true, phrases: []string{"son", "little boy", "baby boy", "kid", "kids", "child", "children"}},
	{key: "gender", value: "girls", soft: true, phrases: []string{"daughter", "little girl", "baby girl", "kid", "kids", "child", "children"}},
	{key: "occasion", value: "sports", soft: true, phrases: []string{"gym", "workout", "work out", "working out", "running", "jogging", "jog", "run", "sprint", "athletics", "training", "fitness", "exercise", "yoga", "training session", "cricket", "football", "tennis", "badminton", "basketball", "cycling", "hiking", "trekking", "marathon"}},
	{key: "occasion", value: "formal", soft: true, phrases: []string{"office", "work", "business", "meeting", "interview", "corporate", "workplace", "boardroom", "job interview", "presentation"}},
	{key: "occasion", value: "ethnic", soft: true, phrases: []string{"festival", "festive", "diwali", "eid", "puja", "pooja", "navratri", "mehendi", "sangeet", "wedding", "shaadi", "karva chauth", "durga puja"}},
	{key: "occasion", value: "casual", soft: true, phrases: []string{"everyday", "every day", "daily", "daily wear", "weekend", "college", "school", "errands", "brunch"}},
	{key: "occasion", value: "party", soft: true, phrases: []string{"clubbing", "club", "night out", "cocktail", "date night", "prom", "new year eve"}},
	{key: "occasion", value: "travel", soft: true, phrases: []string{"vacation", "holiday", "trip", "travelling", "traveling", "getaway"}},
	{key: "season", value: "summer", soft: true, phrases: []string{"beach", "hot weather", "sunny"}},
	{key: "season", value: "winter", soft: true, phrases: []string{"cold weather", "snow", "chilly", "warm clothes"}},
}

// negators open an exclusion that covers the next attribute named within a
// few words; the multi-word ones are matched first.
var negators = map[string]bool{
	"not": true, "no": true, "without": true, "except": true, "excluding": true, "exclude": true,
	"non": true, "never": true, "nothing": true, "avoid": true, "minus": true, "dont": true, "isnt": true,
}

// negatorPhrases are negators of two words.
var negatorPhrases = map[[2]string]bool{
	{"other", "than"}: true, {"anything", "but"}: true, {"but", "not"}: true, {"free", "of"}: true,
	{"rather", "than"}: true, {"instead", "of"}: true, {"apart", "from"}: true,
}

// negationJoins continue an exclusion over a list: "not black or brown".
var negationJoins = map[string]bool{"or": true, "and": true, "nor": true}

// fillers carry no attribute: conversational glue, politeness, request
// verbs and generic shopping nouns. They are dropped before the vibe
// fallback sees the leftover words. A filler that is also a vocabulary
// phrase resolves as the phrase: the lexicon is consulted after matching.
var fillers = setOf(
	"a", "an", "the", "of", "in", "on", "at", "to", "for", "with", "and", "or", "by", "from", "into", "as", "about",
	"i", "im", "ive", "me", "my", "mine", "we", "our", "us", "you", "your", "it", "its", "this", "that", "these", "those",
	"his", "hers", "their", "them", "they", "someone", "somebody", "anyone", "everyone",
	"what", "which", "who", "where", "when", "how", "why", "should", "could", "would", "can", "will", "shall", "may", "might",
	"do", "does", "did", "is", "are", "was", "were", "be", "been", "being", "am", "have", "has", "had", "get", "got",
	"wear", "wearing", "worn", "wore", "look", "looking", "find", "finding", "show", "showing", "need", "needs", "needed",
	"want", "wants", "wanted", "buy", "buying", "shop", "shopping", "search", "searching", "suggest", "suggestion",
	"recommend", "recommendation", "help", "please", "pls", "plz", "thanks", "hi", "hello", "hey",
	"gift", "gifts", "gifting", "present", "presents", "idea", "ideas", "option", "options",
	"nice", "good", "great", "best", "cool", "cute", "pretty", "beautiful", "lovely", "stylish", "trendy", "fashionable",
	"new", "latest", "popular", "perfect", "ideal", "awesome", "amazing", "classic", "quality", "premium", "cheap",
	"affordable", "budget", "sale", "deal", "deals", "offer", "discount", "online", "price", "priced", "cost",
	"pair", "pairs", "piece", "pieces", "set", "one", "ones", "some", "any", "something", "anything", "everything",
	"item", "items", "stuff", "thing", "things", "product", "products", "collection", "range", "clothes", "clothing",
	"outfit", "outfits", "apparel", "wardrobe", "style", "styles", "look", "looks", "type", "types", "kind", "kinds",
	"color", "colour", "colored", "coloured", "shade", "season", "occasion", "event", "go", "goes", "going", "with",
	"match", "matches", "matching", "like", "just", "really", "very", "too", "so", "also", "more", "most", "much",
	"here", "there", "now", "today", "tonight", "year", "time", "upcoming", "next", "special", "day",
	"need", "nice", "wear", "pretty", "good", "little", "big", "bit", "lot", "all", "only", "else", "other",
)

// commonWords are real English words that the typo tolerance never
// "corrects" into a vocabulary word (a shopper who types "style" does not
// mean "stole"). Fillers, cue words and negators are protected as well.
var commonWords = setOf(
	"style", "means", "mean", "winner", "format", "normal", "sweet", "short", "sport", "sorts", "spots", "shoot",
	"while", "whole", "write", "white", "whine", "block", "black", "blank", "track", "truck", "trick", "trunk",
	"plain", "plane", "place", "plate", "print", "point", "paint", "pants", "parts", "party", "pasty", "pasta",
	"bells", "bolts", "balls", "belly", "bolt", "press", "dregs", "dross", "drive", "dries", "drink",
	"green", "greet", "greed", "great", "grand", "brown", "crown", "frown", "grown", "round", "sound", "bound",
	"night", "might", "light", "right", "eight", "fight", "sight", "tight", "weight", "height", "bright",
	"match", "water", "waste", "waist", "watch", "worth", "world", "words", "works", "worse",
	"socks", "sucks", "rocks", "locks", "looks", "books", "boots", "boost", "boats", "beats", "bears", "beard",
	"floats", "flats", "flaps", "flags", "float", "flour", "floor", "flower", "flowers", "flora", "floral",
	"sweeter", "swatter", "simmer", "summit", "sinner", "dinner", "winter", "wither", "willow", "window",
	"rings", "wings", "kings", "sings", "things", "thing", "think", "thank", "thick", "thin",
	"brief", "grief", "chief", "thief", "belief", "ethic", "ethics", "causal", "cause", "cases", "cased",
	"heels", "hells", "helps", "holes", "hills", "wheels", "tapes", "tops", "taps", "types",
	"jeans", "beans", "leans", "lens", "dress", "tress", "cress", "chess", "skirt", "shirt", "shirts", "skirts",
	"tease", "these", "those", "there", "three", "throw", "threw", "other", "others", "mother", "father", "brother",
	"woman", "women", "human", "humans", "roman", "omen", "manly", "mainly", "merely",
	"cream", "dream", "steam", "steal", "steel", "stole", "stale", "stall", "still", "stile",
	"shorter", "shorten", "longer", "longest", "large", "larger", "small", "smaller", "medium", "extra",
	"loose", "looser", "tighter", "comfy", "comfortable", "warm", "warmer", "cool", "cooler", "light", "lighter",
	"heavy", "thicker", "thinner", "simple", "fancy", "elegant", "smart", "sharp", "bold", "dark", "darker",
	"bright", "pastel", "neutral", "vintage", "retro", "modern", "minimal", "chunky", "slim", "skinny", "regular",
	"fitted", "relaxed", "straight", "wide", "narrow", "cropped", "oversized", "stretch", "printed", "striped",
	"checked", "solid", "plain", "graphic", "embroidered", "sequin", "sequins", "leather", "cotton", "linen",
	"silk", "satin", "velvet", "denim", "woollen", "wool", "suede", "canvas", "lace", "mesh", "nylon",
	"every", "never", "ever", "under", "above", "below", "between", "within", "around", "without", "except",
	"would", "could", "should", "shall", "might", "maybe", "please", "thanks", "going", "doing", "being",
	"summer", "spring", "winter", "autumn", "rainy", "sunny", "cloudy", "beach", "party", "travel", "trips",
	"italian", "indian", "french", "korean", "japanese", "british", "american", "european", "western", "eastern",
	"wedding", "weddings", "festival", "office", "school", "college", "church", "temple", "dinner", "lunch",
	"birthday", "anniversary", "valentine", "christmas", "holiday", "holidays", "vacation", "weekend",
	"husband", "friend", "friends", "family", "children", "child", "kids", "baby", "babies", "toddler", "teen",
	"teens", "teenager", "student", "students", "adult", "adults", "elder", "older", "young", "younger",
	"stripes", "stripe", "spotted", "dotted", "polka", "floral", "paisley", "tropical", "animal", "leopard",
	"outdoor", "indoor", "outside", "inside", "house", "home", "garden", "street", "streetwear", "urban",
	"shine", "shiny", "matte", "glossy", "glitter", "sparkle", "sparkly", "metal", "plastic", "rubber", "wooden",
	"nights", "lights", "shoes", "shoe", "shore", "share", "shade", "shady", "shape", "sharp", "shark",
	"bangs", "banks", "bands", "hands", "lands", "sands", "sandy", "candy", "handy", "dandy",
	"grace", "trace", "place", "space", "brace", "price", "prize", "pride", "bride", "bridge",
	"caper", "paper", "cater", "later", "layer", "lawyer", "player", "prayer", "purse", "nurse", "horse", "house",
	"shirk", "shrink", "shrug", "shrub", "truss", "trust", "crust", "first", "worst", "burst",
	"weave", "leave", "heave", "sleeve", "sleeves", "sleeved", "sleeveless", "collar", "collared", "hooded", "button",
	"zipper", "pocket", "pockets", "strap", "straps", "strapless", "neckline", "vneck", "round", "length", "ankle",
	"knee", "maxi", "midi", "mini", "petite", "plus", "size", "sizes", "fit", "fits", "fitting",
)

func setOf(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}
