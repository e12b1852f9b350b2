/*
 * tokenize.c: the tokenizer of the entity extractors, and the gazetteer.
 *
 * The tokenizer walks the text once, left to right, and hands out tokens
 * with byte offsets: words (letters and digits, with inner apostrophes as in
 * O'Connor, hyphens as in Al-Sayed, dotted initials as in U.S., and numbers
 * with inner separators as in 1,000.50), a word plus its final period when
 * it is an initial or a known abbreviation (J., Dr., Inc.), URLs, e-mail
 * addresses, @mentions and #hashtags as single tokens, and every other
 * character as a token of its own.  A token after . ! ? or a line break
 * starts a sentence.  It never looks back, so a 1 GB text costs linear time
 * and constant memory.
 *
 * The gazetteer is a set of phrases (countries, regions, larger cities,
 * organizations, and for the tagger's features only first names, surnames
 * and words that mark organization and place names) shipped as text files in
 * <sharedir>/extension/aiml/gazetteer/, read once per backend into a hash
 * table of phrase hashes.  Phrases are tokenized with the same tokenizer, so
 * "Bosnia and Herzegovina" matches the tokens of a text.
 */
#include "postgres.h"

#include "extract/ner.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "utils/memutils.h"

/* ---- character classes ---- */

typedef enum CharClass
{
	CC_SPACE,
	CC_NEWLINE,
	CC_ALPHA,
	CC_DIGIT,
	CC_APOS,					/* ' and U+2019 */
	CC_HYPHEN,
	CC_OTHER
} CharClass;

/*
 * Class of each ASCII character, and whether it may be in the local part
 * of an e-mail address (isalnum() of the backend's locale, or . _ % + -),
 * filled at the first ner_tokenizer_init: the tokenizer asks at every
 * character, and most are ASCII.
 */
static uint8 ascii_class[128];
static bool ascii_alnum[256];	/* ASCII bytes of class CC_ALPHA or CC_DIGIT */
static bool ascii_email_local[128];	/* is_email_local */
static bool ascii_class_done = false;

/* Fills ascii_class. */
static void
ascii_class_init(void)
{
	for (int c = 0; c < 128; c++)
	{
		CharClass	cc = CC_OTHER;

		if (c == '\n' || c == '\r')
			cc = CC_NEWLINE;
		else if (c == ' ' || c == '\t' || c == '\f' || c == '\v')
			cc = CC_SPACE;
		else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_')
			cc = CC_ALPHA;
		else if (c >= '0' && c <= '9')
			cc = CC_DIGIT;
		else if (c == '\'')
			cc = CC_APOS;
		else if (c == '-')
			cc = CC_HYPHEN;
		ascii_class[c] = (uint8) cc;
		ascii_alnum[c] = cc == CC_ALPHA || cc == CC_DIGIT;
		ascii_email_local[c] = isalnum(c) || c == '.' || c == '_' || c == '%' ||
			c == '+' || c == '-';
	}
	ascii_class_done = true;
}

/*
 * char_class of a character that is not ASCII.  Outside UTF-8 every
 * non-ASCII character counts as a letter.  In UTF-8, the symbol and
 * punctuation blocks (general punctuation, arrows, emoji...) are not letters,
 * so "word—word" and emoji split as they should.
 */
static pg_noinline CharClass
char_class_mb(const char *p, int remain, bool utf8, int *clen)
{
	pg_wchar	cp;

	if (!utf8)
	{
		*clen = Min(pg_mblen(p), remain);
		return CC_ALPHA;
	}
	*clen = Min(pg_utf_mblen((const unsigned char *) p), remain);
	cp = utf8_to_unicode((const unsigned char *) p);
	if (cp == 0x2019)
		return CC_APOS;
	if (cp == 0x2010 || cp == 0x2011)
		return CC_HYPHEN;
	if (cp == 0xA0 || cp == 0x2028 || cp == 0x2029 || cp == 0x3000 ||
		(cp >= 0x2000 && cp <= 0x200B))
		return CC_SPACE;
	if ((cp >= 0x80 && cp <= 0xBF) || cp == 0xD7 || cp == 0xF7 ||
		(cp >= 0x2000 && cp <= 0x2BFF) || (cp >= 0x3000 && cp <= 0x303F) ||
		(cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF00 && cp <= 0xFF0F) ||
		cp >= 0x1F000)
		return CC_OTHER;
	return CC_ALPHA;
}

/* Class and byte length of the character at p. */
static inline CharClass
char_class(const char *p, int remain, bool utf8, int *clen)
{
	unsigned char c = (unsigned char) *p;

	if (likely(c < 0x80))
	{
		*clen = 1;
		return (CharClass) ascii_class[c];
	}
	return char_class_mb(p, remain, utf8, clen);
}

/* True when the character at p is an upper-case letter (Latin, Greek, Cyrillic). */
bool
ner_is_upper_at(const char *p, int remain, bool utf8)
{
	unsigned char c = (unsigned char) *p;
	pg_wchar	cp;

	if (c < 0x80)
		return c >= 'A' && c <= 'Z';
	if (!utf8 || remain < 2)
		return false;
	cp = utf8_to_unicode((const unsigned char *) p);
	return (cp >= 0xC0 && cp <= 0xDE && cp != 0xD7) ||
		(cp >= 0x100 && cp <= 0x17F && cp % 2 == 0) ||
		(cp >= 0x391 && cp <= 0x3A9) || (cp >= 0x400 && cp <= 0x42F);
}

/* Letters and digits make words. */
static bool
is_alnum_class(CharClass cc)
{
	return cc == CC_ALPHA || cc == CC_DIGIT;
}

/* Abbreviations that keep their final period (lower case, without it). */
static const char *const abbreviations[] = {
	"mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "inc", "ltd", "co",
	"corp", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept",
	"oct", "nov", "dec", "gen", "col", "lt", "sgt", "capt", "rev", "mt",
	"ft", "vs", "etc", "no", "dept", "univ", "bros", "approx", "fig", "al",
	"gov", "sen", "rep", "hon", "mssrs", "messrs", "plc", "llc", "av", "ave",
	"blvd", "rd", "e.g", "i.e", NULL
};

/*
 * The abbreviations as numbers, sorted: the bytes of one (at most 7, none
 * 0) in a zeroed uint64, as memcpy puts them.  Filled by abbreviations_init.
 */
static uint64 abbreviation_codes[lengthof(abbreviations) - 1];

/* Number of the n (< 8) bytes at p, lower-cased (ASCII), as abbreviation_codes. */
static inline uint64
abbreviation_code(const char *p, int n)
{
	char		buf[8] = {0};
	uint64		code;

	for (int i = 0; i < n; i++)
		buf[i] = (p[i] >= 'A' && p[i] <= 'Z') ? p[i] + ('a' - 'A') : p[i];
	memcpy(&code, buf, sizeof(code));
	return code;
}

/* qsort comparator of uint64. */
static int
uint64_cmp(const void *a, const void *b)
{
	uint64		x = *(const uint64 *) a;
	uint64		y = *(const uint64 *) b;

	return x < y ? -1 : x > y ? 1 : 0;
}

/* Fills abbreviation_codes, once per backend with ascii_class_init. */
static void
abbreviations_init(void)
{
	for (int i = 0; i < lengthof(abbreviation_codes); i++)
		abbreviation_codes[i] = abbreviation_code(abbreviations[i], strlen(abbreviations[i]));
	qsort(abbreviation_codes, lengthof(abbreviation_codes), sizeof(uint64), uint64_cmp);
}

/*
 * True when p[0..n) is a known abbreviation that keeps its period: a
 * binary search of its number (a text has no zero byte, so equal numbers
 * are equal words).
 */
static bool
is_abbreviation(const char *p, int n)
{
	uint64		code;
	int			lo = 0,
				hi = lengthof(abbreviation_codes) - 1;

	if (n >= 8)
		return false;
	code = abbreviation_code(p, n);
	while (lo <= hi)
	{
		int			mid = (lo + hi) / 2;

		if (abbreviation_codes[mid] == code)
			return true;
		if (abbreviation_codes[mid] < code)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return false;
}

/* Starts tokenizing s[0..len). */
void
ner_tokenizer_init(NerTokenizer *tz, const char *s, int len)
{
	tz->s = s;
	tz->len = len;
	tz->pos = 0;
	tz->utf8 = GetDatabaseEncoding() == PG_UTF8;
	tz->next_starts_sentence = true;
	if (!ascii_class_done)
	{
		abbreviations_init();
		ascii_class_init();
	}
	tz->have_pending = false;
	tz->next_at = -1;
}

/* Case-insensitive prefix test that never reads past remain. */
static bool
ascii_prefix_ci(const char *p, int remain, const char *prefix)
{
	int			n = strlen(prefix);

	return remain >= n && pg_strncasecmp(p, prefix, n) == 0;
}

/* scan_url of a text starting with ht, ft or ww (any case). */
static pg_noinline int
scan_url_from(const char *p, int remain)
{
	int			n = 0;

	if (!ascii_prefix_ci(p, remain, "http://") && !ascii_prefix_ci(p, remain, "https://") &&
		!ascii_prefix_ci(p, remain, "ftp://") && !ascii_prefix_ci(p, remain, "www."))
		return 0;
	while (n < remain && !isspace((unsigned char) p[n]) && p[n] != '<' && p[n] != '>' &&
		   p[n] != '"')
		n++;
	while (n > 0 && strchr(".,;:!?'\")]}", p[n - 1]) != NULL)
		n--;
	return n > 7 ? n : 0;
}

/*
 * A URL: scheme or www. up to the next space, without trailing
 * punctuation.  Most words start with none of ht, ft, ww: they are told
 * here, inline, and skip the four comparisons.
 */
static inline int
scan_url(const char *p, int remain)
{
	char		c = (char) (*p | 0x20);

	if ((c != 'h' && c != 'f' && c != 'w') || remain < 4 ||
		(char) (p[1] | 0x20) != (c == 'w' ? 'w' : 't'))
		return 0;
	return scan_url_from(p, remain);
}

/* Characters of the local part of an e-mail address. */
static inline bool
is_email_local(char c)
{
	unsigned char u = (unsigned char) c;

	if (u < 0x80)
		return ascii_email_local[u];
	return isalnum(u);
}

/* An e-mail address starting at p: local@domain.tld, else 0. */
static int
scan_email(const char *p, int remain)
{
	int			n = 0,
				dots = 0,
				last_label = 0;

	/* a local part has at most 64 characters (RFC 5321); stop early so that a
	 * long run like "ab.ab.ab..." is not rescanned from each of its words */
	while (n < remain && n <= 64 && is_email_local(p[n]))
		n++;
	if (n == 0 || n > 64 || n >= remain || p[n] != '@')
		return 0;
	n++;
	while (n < remain && n < 320 && (isalnum((unsigned char) p[n]) || p[n] == '-' ||
						  (p[n] == '.' && n + 1 < remain && isalnum((unsigned char) p[n + 1]))))
	{
		if (p[n] == '.')
		{
			dots++;
			last_label = 0;
		}
		else
			last_label++;
		n++;
	}
	return dots > 0 && last_label >= 2 ? n : 0;
}

/*
 * Whether an @ lies within reach of an e-mail's local part from the
 * tokenizer's position: the next @ of the text is found once and kept, so
 * words far from any @ are not scanned twice.
 */
static pg_attribute_always_inline bool
email_possible(NerTokenizer *tz)
{
	if (tz->next_at < tz->pos)
	{
		const char *at = memchr(tz->s + tz->pos, '@', tz->len - tz->pos);

		tz->next_at = at ? at - tz->s : tz->len;
	}
	return tz->next_at < tz->len && tz->next_at - tz->pos <= 64;
}

/* A word from p: letters and digits with the inner joiners the header lists. */
static pg_attribute_always_inline int
scan_word(const char *p, int remain, bool utf8, bool *dotted)
{
	int			n = 0,
				seg = 0,
				clen;
	CharClass	cc,
				last = CC_OTHER;

	*dotted = false;
	while (n < remain)
	{
		int			from = n;

		/* most characters of a word: a run of ASCII letters and digits */
		while (n < remain && ascii_alnum[(unsigned char) p[n]])
			n++;
		if (n > from)
		{
			seg += n - from;
			last = (CharClass) ascii_class[(unsigned char) p[n - 1]];
			if (n == remain)
				break;
		}
		cc = char_class(p + n, remain - n, utf8, &clen);
		if (is_alnum_class(cc))
		{
			n += clen;
			seg++;
			last = cc;
			continue;
		}
		/* most words end before a space or punctuation that joins nothing */
		if (cc != CC_APOS && cc != CC_HYPHEN && p[n] != '.' && p[n] != ',' && p[n] != ':')
			break;
		if (n + clen < remain)
		{
			int			clen2;
			CharClass	next = char_class(p + n + clen, remain - n - clen, utf8, &clen2);

			if ((cc == CC_APOS && next == CC_ALPHA && last == CC_ALPHA) ||
				(cc == CC_HYPHEN && is_alnum_class(next)))
			{
				n += clen;
				seg = 0;
				continue;
			}
			if (p[n] == '.' && seg == 1 && last == CC_ALPHA && next == CC_ALPHA &&
				(n + 1 + clen2 >= remain || p[n + 1 + clen2] == '.'))
			{
				n += 1;
				seg = 0;
				*dotted = true;
				continue;
			}
			if ((p[n] == '.' || p[n] == ',' || p[n] == ':') && last == CC_DIGIT &&
				next == CC_DIGIT)
			{
				n += 1;
				seg = 0;
				continue;
			}
		}
		break;
	}
	return n;
}

/*
 * Next token, or false at the end of the text.  Inlined into
 * ner_next_sentence, the tagger's loop over every token.
 */
static pg_attribute_always_inline bool
next_token(NerTokenizer *tz, NerToken *tok)
{
	const char *s = tz->s;
	int			clen,
				n;
	CharClass	cc;

	for (;;)
	{
		if (tz->pos >= tz->len)
			return false;
		cc = char_class(s + tz->pos, tz->len - tz->pos, tz->utf8, &clen);
		if (cc == CC_NEWLINE)
			tz->next_starts_sentence = true;
		else if (cc != CC_SPACE)
			break;
		tz->pos += clen;
	}

	tok->start = tz->pos;
	tok->flags = tz->next_starts_sentence ? NER_TOK_SENT_START : 0;
	tz->next_starts_sentence = false;
	{
		const char *p = s + tz->pos;
		int			remain = tz->len - tz->pos;
		bool		dotted;

		if ((n = scan_url(p, remain)) > 0)
			tok->flags |= NER_TOK_URL;
		else if (is_alnum_class(cc) && email_possible(tz) && (n = scan_email(p, remain)) > 0)
			tok->flags |= NER_TOK_EMAIL;
		else if (is_alnum_class(cc))
		{
			n = scan_word(p, remain, tz->utf8, &dotted);
			tok->flags |= NER_TOK_WORD;
			if (n < remain && p[n] == '.' &&
				(dotted || (n == 1 && cc == CC_ALPHA) || is_abbreviation(p, n)))
				n++;
		}
		else if ((*p == '@' || *p == '#') && remain > 1 &&
				 is_alnum_class(char_class(p + 1, remain - 1, tz->utf8, &clen)))
		{
			n = 1 + scan_word(p + 1, remain - 1, tz->utf8, &dotted);
			tok->flags |= NER_TOK_MENTION;
		}
		else
		{
			char_class(p, remain, tz->utf8, &n);
			if (n == 1 && (*p == '.' || *p == '!' || *p == '?'))
				tz->next_starts_sentence = true;
		}
	}
	tz->pos += n;
	tok->end = tz->pos;
	return true;
}

bool
ner_next_token(NerTokenizer *tz, NerToken *tok)
{
	return next_token(tz, tok);
}

/*
 * The next sentence's tokens into buf (at most max); 0 at the end.  A
 * sentence ends before a token that starts one, or after max tokens.
 */
int
ner_next_sentence(NerTokenizer *tz, NerToken *buf, int max)
{
	int			n = 0;

	if (tz->have_pending)
	{
		buf[n++] = tz->pending;
		tz->have_pending = false;
	}
	while (n < max)
	{
		if (!next_token(tz, &buf[n]))
			return n;
		if (n > 0 && (buf[n].flags & NER_TOK_SENT_START))
		{
			tz->pending = buf[n];
			tz->have_pending = true;
			return n;
		}
		n++;
	}
	return n;
}

/* ---- gazetteer ---- */

/* A types bit of the table only: a longer phrase starts with this one. */
#define GAZ_PREFIX 0x100

typedef struct GazTable
{
	uint64	   *keys;			/* 0 = empty slot */
	uint16	   *types;			/* NER_GAZ_* types, GAZ_PREFIX */
	uint32		mask;			/* capacity - 1 */
	uint32		count;
	bool		starts_span[256];	/* first bytes of LOCATION and ORG phrases, both cases */
	bool		nonword_span_start; /* one of them starts with a token not a word */
} GazTable;

static GazTable *gazetteer = NULL;

static const struct
{
	const char *file;
	uint8		type;
}			gaz_files[] = {
	{"countries.txt", NER_GAZ_COUNTRY},
	{"regions.txt", NER_GAZ_REGION},
	{"cities.txt", NER_GAZ_CITY},
	{"first_names.txt", NER_GAZ_FIRSTNAME},
	{"organizations.txt", NER_GAZ_ORG},
	{"org_words.txt", NER_GAZ_ORGWORD},
	{"surnames.txt", NER_GAZ_SURNAME},
	{"location_words.txt", NER_GAZ_LOCWORD},
};

/* <sharedir>/extension/aiml/<sub>: where the data files are installed. */
char *
ner_data_directory(const char *sub)
{
	char		share[MAXPGPATH];

	get_share_path(my_exec_path, share);
	return psprintf("%s/extension/aiml/%s", share, sub);
}

/* Hash of a phrase extended by one token; never 0 (the empty slot). */
static uint64
phrase_step(uint64 h, const char *p, int n)
{
	return ner_hash_lower(p, n, h ^ 0x20) | 1;
}

/* Adds a phrase hash with its type (linear probing). */
static void
gaz_insert(GazTable *g, uint64 key, uint16 type)
{
	uint32		i = (uint32) ner_mix64(key) & g->mask;

	while (g->keys[i] != 0 && g->keys[i] != key)
		i = (i + 1) & g->mask;
	if (g->keys[i] == 0)
	{
		g->keys[i] = key;
		g->count++;
	}
	g->types[i] |= type;
}

/* Types of a phrase hash (with GAZ_PREFIX), 0 when absent. */
static uint16
gaz_get(const GazTable *g, uint64 key)
{
	uint32		i = (uint32) ner_mix64(key) & g->mask;

	while (g->keys[i] != 0)
	{
		if (g->keys[i] == key)
			return g->types[i];
		i = (i + 1) & g->mask;
	}
	return 0;
}

/* Adds every line of one file (a phrase, or # comment) to the table. */
static void
gaz_load_file(GazTable *g, const char *path, uint8 type)
{
	FILE	   *f = AllocateFile(path, "r");
	char		line[512];

	if (f == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FILE),
				 errmsg("gazetteer file \"%s\" is missing: %m", path),
				 errhint("Reinstall aiml with \"make install\".")));
	while (fgets(line, sizeof(line), f) != NULL)
	{
		NerTokenizer tz;
		NerToken	tok;
		int			len = strcspn(line, "\r\n");
		int			words = 0;
		uint64		h = NER_HASH_INIT;
		uint64		prefix[NER_GAZ_MAX_WORDS + 1];	/* hashes of its first words */
		int			first = 0;		/* where its first token starts */
		int			first_flags = 0;

		if (len == 0 || line[0] == '#')
			continue;
		if (g->count * 2 > g->mask)
			elog(ERROR, "gazetteer has more phrases than its table holds");
		ner_tokenizer_init(&tz, line, len);
		while (ner_next_token(&tz, &tok) && words < NER_GAZ_MAX_WORDS + 1)
		{
			if (words == 0)
			{
				first = tok.start;
				first_flags = tok.flags;
			}
			h = phrase_step(h, line + tok.start, tok.end - tok.start);
			prefix[words++] = h;
		}
		if (words > 0 && words <= NER_GAZ_MAX_WORDS)
		{
			if (type & (NER_GAZ_LOCATION | NER_GAZ_ORG))
			{
				unsigned char c = (unsigned char) line[first];

				g->starts_span[c] = true;
				if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')
					g->starts_span[c ^ 0x20] = true;
				if (!(first_flags & NER_TOK_WORD))
					g->nonword_span_start = true;
			}
			gaz_insert(g, h, type);
			for (int k = 0; k + 1 < words; k++)
				gaz_insert(g, prefix[k], GAZ_PREFIX);
		}
	}
	FreeFile(f);
}

/* Reads the gazetteer files once per backend; a failed read is retried later. */
static pg_noinline const GazTable *
gaz_load_table(void)
{
	MemoryContext cxt;
	GazTable   *g;

	cxt = AllocSetContextCreate(TopMemoryContext, "aiml gazetteer", ALLOCSET_DEFAULT_SIZES);
	PG_TRY();
	{
		char	   *dir = ner_data_directory("gazetteer");

		g = MemoryContextAllocZero(cxt, sizeof(GazTable));
		g->mask = (1 << 16) - 1;
		g->keys = MemoryContextAllocZero(cxt, sizeof(uint64) * (g->mask + 1));
		g->types = MemoryContextAllocZero(cxt, sizeof(uint16) * (g->mask + 1));
		for (int i = 0; i < lengthof(gaz_files); i++)
			gaz_load_file(g, psprintf("%s/%s", dir, gaz_files[i].file), gaz_files[i].type);
	}
	PG_CATCH();
	{
		MemoryContextDelete(cxt);
		PG_RE_THROW();
	}
	PG_END_TRY();
	gazetteer = g;
	return g;
}

/* The gazetteer, read at the first call: inline, every token asks. */
static inline const GazTable *
gaz_get_table(void)
{
	return likely(gazetteer != NULL) ? gazetteer : gaz_load_table();
}

/* ---- the word lexicon ---- */

/*
 * One 8-byte slot per word, so a lookup costs one cache line: a 32-bit
 * fingerprint of the word's hash (never 0; 0 = empty) and its value.
 */
typedef struct LexTable
{
	uint64	   *slots;
	uint32		mask;			/* capacity - 1 */
	uint32		count;
} LexTable;

static LexTable *lexicon = NULL;

/* Mixed lower-cased hash of a word: low bits the slot, high bits the fingerprint. */
static inline uint64
lex_key(const char *p, int n)
{
	return ner_mix64(ner_hash_lower(p, n, NER_HASH_INIT));
}

#define LEX_FINGERPRINT(key) ((uint32) ((key) >> 32) | 1)

/* Flags of one line's class letters and number (see make_lexicon.sh). */
static uint32
lex_value(const char *p)
{
	uint32		v = 0;
	int			cls = -1;

	for (; *p && *p != '\n'; p++)
	{
		switch (*p)
		{
			case 'l': v |= NER_LEX_LOWER; break;
			case 'c': v |= NER_LEX_CAPITAL; break;
			case 'u': v |= NER_LEX_UPPER; break;
			case 'P': v |= NER_LEX_PERSON; break;
			case 'L': v |= NER_LEX_LOCATION; break;
			case 'O': v |= NER_LEX_OBJECT; break;
			case 'G': v |= NER_LEX_GROUP; break;
			case 'W': v |= NER_LEX_PROPER; break;
			case 'D': v |= NER_LEX_PROPER_ADJ; break;
			case 'n': v |= NER_LEX_NOUN; break;
			case 'v': v |= NER_LEX_VERB; break;
			case 'a': v |= NER_LEX_ADJ; break;
			case 'r': v |= NER_LEX_ADV; break;
			default:
				if (*p >= '0' && *p <= '9')
					cls = (cls < 0 ? 0 : cls * 10) + (*p - '0');
				break;
		}
	}
	if (cls >= 0 && cls < 255)
		v |= (uint32) (cls + 1) << NER_LEX_CLASS_SHIFT;
	return v;
}

/* Reads gazetteer/lexicon.txt once per backend; a failed read is retried later. */
static pg_noinline const LexTable *
lex_load_table(void)
{
	MemoryContext cxt;
	LexTable   *t;

	cxt = AllocSetContextCreate(TopMemoryContext, "aiml lexicon", ALLOCSET_DEFAULT_SIZES);
	PG_TRY();
	{
		char	   *path = psprintf("%s/lexicon.txt", ner_data_directory("gazetteer"));
		FILE	   *f = AllocateFile(path, "r");
		char		line[256];

		if (f == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_FILE),
					 errmsg("lexicon file \"%s\" is missing: %m", path),
					 errhint("Reinstall aiml with \"make install\".")));
		t = MemoryContextAllocZero(cxt, sizeof(LexTable));
		t->mask = (1 << 19) - 1;
		t->slots = MemoryContextAllocExtended(cxt, sizeof(uint64) * (t->mask + 1),
											  MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
		while (fgets(line, sizeof(line), f) != NULL)
		{
			int			n = strcspn(line, " \r\n");
			uint64		key;
			uint32		fp,
						i;

			if (n == 0 || line[0] == '#')
				continue;
			if (t->count * 4 > t->mask * 3)
				elog(ERROR, "lexicon has more words than its table holds");
			key = lex_key(line, n);
			fp = LEX_FINGERPRINT(key);
			i = (uint32) key & t->mask;
			while (t->slots[i] != 0 && (uint32) (t->slots[i] >> 32) != fp)
				i = (i + 1) & t->mask;
			if (t->slots[i] == 0)
				t->count++;
			t->slots[i] = ((uint64) fp << 32) | (uint32) t->slots[i] | lex_value(line + n);
		}
		FreeFile(f);
	}
	PG_CATCH();
	{
		MemoryContextDelete(cxt);
		PG_RE_THROW();
	}
	PG_END_TRY();
	lexicon = t;
	return t;
}

/* The lexicon, read at the first call: inline, every new word asks. */
static inline const LexTable *
lex_get_table(void)
{
	return likely(lexicon != NULL) ? lexicon : lex_load_table();
}

/* The value of a key in the lexicon, 0 when absent. */
static inline uint32
lex_probe(const LexTable *t, uint64 key)
{
	uint32		fp = LEX_FINGERPRINT(key);
	uint32		i = (uint32) key & t->mask;

	while (t->slots[i] != 0)
	{
		if ((uint32) (t->slots[i] >> 32) == fp)
			return (uint32) t->slots[i];
		i = (i + 1) & t->mask;
	}
	return 0;
}

/* The lexicon's flags and class of a word (any case), 0 when it has none. */
uint32
ner_lexicon_lookup(const char *word, int len)
{
	return lex_probe(lex_get_table(), lex_key(word, len));
}

/* The lexicon key of a word, its table slot prefetched for ner_lexicon_probe. */
uint64
ner_lexicon_key(const char *word, int len)
{
	return ner_lexicon_key_of_mixed(lex_key(word, len));
}

/*
 * ner_lexicon_key of a word from mixed, ner_mix64 of its ner_hash_lower
 * from NER_HASH_INIT, for a caller that has it already.
 */
uint64
ner_lexicon_key_of_mixed(uint64 mixed)
{
	const LexTable *t = lex_get_table();

	__builtin_prefetch(t->slots + ((uint32) mixed & t->mask));
	return mixed;
}

/* ner_lexicon_lookup of the word of a ner_lexicon_key. */
uint32
ner_lexicon_probe(uint64 key)
{
	return lex_probe(lex_get_table(), key);
}

/*
 * ner_lexicon_lookup of tokens toks[0..n) of s into out[n]: all slots are
 * prefetched first, so the table's cache misses overlap.
 */
void
ner_lexicon_lookup_tokens(const char *s, const NerToken *toks, int n, uint32 *out)
{
	const LexTable *t = lex_get_table();
	uint64		keys[NER_MAX_SENTENCE];

	for (int i = 0; i < n; i += NER_MAX_SENTENCE)
	{
		int			m = Min(n - i, NER_MAX_SENTENCE);

		for (int k = 0; k < m; k++)
		{
			keys[k] = lex_key(s + toks[i + k].start, toks[i + k].end - toks[i + k].start);
			__builtin_prefetch(t->slots + ((uint32) keys[k] & t->mask));
		}
		for (int k = 0; k < m; k++)
			out[i + k] = lex_probe(t, keys[k]);
	}
}

/*
 * For each byte, whether a LOCATION or ORG phrase starts with a token whose
 * first byte it is (the lookups hash ASCII letters lower-cased, so both
 * cases count); *nonword: whether one starts with a token that is not a word
 * (a URL, a mention, punctuation).
 */
const bool *
ner_gazetteer_span_starts(bool *nonword)
{
	const GazTable *g = gaz_get_table();

	*nonword = g->nonword_span_start;
	return g->starts_span;
}

/* ner_gazetteer_word_of_hash, inlined into both its callers. */
static inline void
gaz_word_of_hash(uint64 h, NerGazWord *gw)
{
	const GazTable *g = gaz_get_table();

	gw->hash = h | 1;
	gw->types = 0;
	__builtin_prefetch(g->keys + ((uint32) ner_mix64(gw->hash) & g->mask));
}

/*
 * The phrase hash of one word alone into gw, its table slot prefetched for
 * ner_gazetteer_word_types.
 */
void
ner_gazetteer_word_hash(const char *p, int n, NerGazWord *gw)
{
	gaz_word_of_hash(ner_hash_lower(p, n, NER_GAZ_HASH_INIT), gw);
}

/*
 * ner_gazetteer_word_hash of a word from h, its ner_hash_lower from
 * NER_GAZ_HASH_INIT (what phrase_step gives for the word alone, before its
 * lowest bit is set), for a caller that hashes the word's bytes for more
 * than this.
 */
void
ner_gazetteer_word_of_hash(uint64 h, NerGazWord *gw)
{
	gaz_word_of_hash(h, gw);
}

/* The gazetteer's types of the word of ner_gazetteer_word_hash, into gw. */
void
ner_gazetteer_word_types(NerGazWord *gw)
{
	gw->types = gaz_get(gaz_get_table(), gw->hash);
}

/*
 * The types and length of the longest phrase starting at toks[0] (of
 * toks[0..n)), from the hash h and types t of toks[0] alone: one more probe
 * for each following token while a longer phrase starts with the tokens so far.
 */
static NerGazHit
longest_phrase(const GazTable *g, const char *s, const NerToken *toks, int n, uint64 h,
			   uint16 t)
{
	NerGazHit	hit = {0, 0, 0};

	for (int k = 0;;)
	{
		if (t & ~GAZ_PREFIX)
		{
			hit.begin = (uint8) (t & ~GAZ_PREFIX);
			hit.length = k + 1;
		}
		if (!(t & GAZ_PREFIX) || ++k == NER_GAZ_MAX_WORDS || k == n)
			break;				/* no longer phrase starts with these tokens */
		h = phrase_step(h, s + toks[k].start, toks[k].end - toks[k].start);
		t = gaz_get(g, h);
	}
	return hit;
}

/*
 * Gazetteer hits of tokens toks[0..n) of s: for each start, the longest
 * phrase of up to NER_GAZ_MAX_WORDS tokens that the gazetteer holds.  With
 * words (ner_gazetteer_word of each token, as the tagger caches them), only
 * phrases of two tokens or more need hashing and probing.
 */
void
ner_gazetteer_lookup_words(const char *s, const NerToken *toks, const NerGazWord *words,
						   int n, NerGazHit *hits)
{
	const GazTable *g = gaz_get_table();

	memset(hits, 0, sizeof(NerGazHit) * n);
	for (int i = 0; i < n; i++)
	{
		uint64		h;
		uint16		t;

		if (words)
		{
			h = words[i].hash;
			t = words[i].types;
		}
		else
		{
			h = phrase_step(NER_HASH_INIT, s + toks[i].start, toks[i].end - toks[i].start);
			t = gaz_get(g, h);
		}
		/*
		 * hits[i] is set whole here, which drops the inside bits that the
		 * phrases before it gave it, as it always has: the features of
		 * the models trained depend on that.  Most words are no phrase
		 * and start none.
		 */
		if (t == 0)
		{
			hits[i] = (NerGazHit) {0, 0, 0};
			continue;
		}
		hits[i] = longest_phrase(g, s, toks + i, n - i, h, t);
		for (int k = 0; k < hits[i].length; k++)
			hits[i + k].inside |= hits[i].begin;
	}
}

/* ner_gazetteer_lookup_words, every token hashed here. */
void
ner_gazetteer_lookup(const char *s, const NerToken *toks, int n, NerGazHit *hits)
{
	ner_gazetteer_lookup_words(s, toks, NULL, n, hits);
}

/*
 * Whether a phrase of one of types can start with the word of gw (after
 * ner_gazetteer_word_types): it is one, or *longer: a longer phrase of any
 * type starts with it.
 */
bool
ner_gazetteer_word_may_start(const NerGazWord *gw, uint8 types, bool *longer)
{
	*longer = (gw->types & GAZ_PREFIX) != 0;
	return *longer || (gw->types & types) != 0;
}

/*
 * The longest phrase starting at toks[0] (of toks[0..n)), from first, the
 * ner_gazetteer_word_types of toks[0]: its types and length as hits[0] of
 * ner_gazetteer_lookup (inside is left 0), without the lookups of the
 * phrases starting at the other tokens.
 */
NerGazHit
ner_gazetteer_longest(const char *s, const NerToken *toks, int n, const NerGazWord *first)
{
	if (n == 0)
		return (NerGazHit) {0, 0, 0};
	return longest_phrase(gaz_get_table(), s, toks, n, first->hash, first->types);
}
