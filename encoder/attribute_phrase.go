package encoder

// AttributePhrase is the text the attribute tower embeds for an attribute:
// "key: value", for example "color: navy blue". Training and serving both
// use it.
func AttributePhrase(key, value string) string { return key + ": " + value }
