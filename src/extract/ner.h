/*
 * ner.h: what the entity extractors share: a tokenizer with byte offsets,
 * the gazetteer shipped as data files, and the trainable sequence tagger
 * (model kind "ner") that aiml.ner and aiml.extract_entities run.
 *
 * Offsets inside C are byte offsets into the text; the SQL functions turn
 * them into 1-based character offsets at the end, in one left-to-right pass.
 */
#ifndef AIML_EXTRACT_NER_H
#define AIML_EXTRACT_NER_H

#include "postgres.h"

#include "core/model.h"
#include "fmgr.h"

/* ---- tokenizer ---- */

#define NER_TOK_SENT_START	0x01	/* first token of a sentence */
#define NER_TOK_URL			0x02
#define NER_TOK_EMAIL		0x04
#define NER_TOK_MENTION		0x08	/* @user or #tag */
#define NER_TOK_WORD		0x10	/* starts with a letter or digit */

typedef struct NerToken
{
	int			start;			/* byte offset, inclusive */
	int			end;			/* byte offset, exclusive */
	int			flags;
} NerToken;

typedef struct NerTokenizer
{
	const char *s;
	int			len;
	int			pos;
	bool		utf8;
	bool		next_starts_sentence;
	bool		have_pending;
	NerToken	pending;
	int			next_at;		/* position of the next @ (len: none; -1 unknown) */
} NerTokenizer;

/* Longest sequence the tagger decodes at once; longer sentences are split. */
#define NER_MAX_SENTENCE 256

extern void ner_tokenizer_init(NerTokenizer *tz, const char *s, int len);
extern bool ner_next_token(NerTokenizer *tz, NerToken *tok);
extern int	ner_next_sentence(NerTokenizer *tz, NerToken *buf, int max);

#define NER_FNV_PRIME UINT64CONST(0x100000001b3)

/*
 * Hashes for features and gazetteer keys: FNV-1a over p[0..n) with ASCII
 * lower-cased, continuing from h.  Inline: the tagger hashes a word's
 * prefixes and suffixes of one to four bytes with it.
 */
static inline uint64
ner_hash_lower(const char *p, int n, uint64 h)
{
	for (int i = 0; i < n; i++)
	{
		unsigned char c = (unsigned char) p[i];

		if (c >= 'A' && c <= 'Z')
			c += 'a' - 'A';
		h ^= c;
		h *= NER_FNV_PRIME;
	}
	return h;
}

/* Final mixer of splitmix64: spreads FNV's weak low bits over all bits. */
static inline uint64
ner_mix64(uint64 x)
{
	x ^= x >> 30;
	x *= UINT64CONST(0xbf58476d1ce4e5b9);
	x ^= x >> 27;
	x *= UINT64CONST(0x94d049bb133111eb);
	x ^= x >> 31;
	return x;
}

#define NER_HASH_INIT UINT64CONST(0xcbf29ce484222325)
/* ner_hash_lower of a word from this is its gazetteer hash (ner_gazetteer_word_of_hash) */
#define NER_GAZ_HASH_INIT (NER_HASH_INIT ^ 0x20)

/* Character classes the rules share with the tokenizer. */
extern bool ner_is_upper_at(const char *p, int remain, bool utf8);

/* ---- gazetteer ---- */

#define NER_GAZ_COUNTRY		0x01
#define NER_GAZ_REGION		0x02
#define NER_GAZ_CITY		0x04
#define NER_GAZ_FIRSTNAME	0x08
#define NER_GAZ_ORG			0x10
#define NER_GAZ_ORGWORD		0x20	/* features only: "Records", "FC", "Council" */
#define NER_GAZ_SURNAME		0x40	/* features only */
#define NER_GAZ_LOCWORD		0x80	/* features only: "River", "County", "San" */
#define NER_GAZ_LOCATION	(NER_GAZ_COUNTRY | NER_GAZ_REGION | NER_GAZ_CITY)
#define NER_GAZ_MAX_WORDS	4

/*
 * For each token, the gazetteer types of the longest phrase starting there
 * (begin) and the types of phrases covering it (inside), and how many tokens
 * the longest phrase starting there has (0 when none).
 */
typedef struct NerGazHit
{
	uint8		begin;
	uint8		inside;
	uint8		length;
} NerGazHit;

/*
 * The word lexicon (gazetteer/lexicon.txt, derived from WordNet and SCOWL by
 * make_lexicon.sh): for a lower-cased word, NER_LEX_* flags in the low bits
 * and the WordNet lexicographer file of its first noun sense + 1 (0: none)
 * from bit NER_LEX_CLASS_SHIFT; 0 for a word it does not hold.
 */
#define NER_LEX_LOWER		0x0001	/* word lists: lower case */
#define NER_LEX_CAPITAL		0x0002	/* word lists: capitalised */
#define NER_LEX_UPPER		0x0004	/* word lists: all capitals */
#define NER_LEX_PERSON		0x0008	/* WordNet proper noun, noun.person */
#define NER_LEX_LOCATION	0x0010	/* noun.location */
#define NER_LEX_OBJECT		0x0020	/* noun.object: rivers, mountains */
#define NER_LEX_GROUP		0x0040	/* noun.group: organizations, peoples */
#define NER_LEX_PROPER		0x0080	/* another noun file: works, products */
#define NER_LEX_NOUN		0x0100
#define NER_LEX_VERB		0x0200
#define NER_LEX_ADJ			0x0400
#define NER_LEX_ADV			0x0800
#define NER_LEX_PROPER_ADJ	0x1000	/* WordNet: capitalised adjective (Danish) */
#define NER_LEX_FLAGS		0x1fff
#define NER_LEX_CLASS_SHIFT 16

extern uint32 ner_lexicon_lookup(const char *word, int len);
extern uint64 ner_lexicon_key(const char *word, int len);
extern uint64 ner_lexicon_key_of_mixed(uint64 mixed);
extern uint32 ner_lexicon_probe(uint64 key);
extern void ner_lexicon_lookup_tokens(const char *s, const NerToken *toks, int n,
									  uint32 *out);

/* A word alone in the gazetteer: its phrase hash and types (opaque). */
typedef struct NerGazWord
{
	uint64		hash;
	uint16		types;
} NerGazWord;

extern void ner_gazetteer_lookup(const char *s, const NerToken *toks, int n,
								 NerGazHit *hits);
extern NerGazHit ner_gazetteer_longest(const char *s, const NerToken *toks, int n,
										const NerGazWord *first);
extern bool ner_gazetteer_word_may_start(const NerGazWord *gw, uint8 types, bool *longer);
extern const bool *ner_gazetteer_span_starts(bool *nonword);
extern void ner_gazetteer_word_hash(const char *p, int n, NerGazWord *gw);
extern void ner_gazetteer_word_of_hash(uint64 h, NerGazWord *gw);
extern void ner_gazetteer_word_types(NerGazWord *gw);
extern void ner_gazetteer_lookup_words(const char *s, const NerToken *toks,
									   const NerGazWord *words, int n, NerGazHit *hits);
extern char *ner_data_directory(const char *sub);

/* ---- the tagger ---- */

typedef struct NerModel NerModel;

#define NER_MAX_LABELS 32

#define NER_FORMAT_VERSION 2

/* describe() of kind "ner", for core's kind table. */
extern void ner_describe(const AimlModel *model, StringInfo json);

/* A span found by the tagger: tokens [first, last], byte offsets, label. */
typedef struct NerSpan
{
	int			label;			/* index into the model's labels */
	int			start;			/* byte offsets */
	int			end;
	double		score;			/* 0..1 */
} NerSpan;

typedef void (*NerSpanSink) (const NerSpan *span, void *arg);

extern NerModel *ner_model_load(const AimlModel *model, MemoryContext cxt);
extern int	ner_model_nlabels(const NerModel *m);
extern const char *ner_model_label(const NerModel *m, int i);
typedef void (*NerSentenceSink) (const char *s, const NerToken *toks, int n, void *arg);

extern void ner_tag_text_sentences(const NerModel *m, const char *s, int len,
								   NerSpanSink sink, NerSentenceSink sentences, void *arg);
extern void ner_tag_text(const NerModel *m, const char *s, int len,
						 NerSpanSink sink, void *arg);

/* The default English model, read once per backend from the data directory. */
extern const NerModel *ner_default_model(void);

/*
 * A model argument of kind ner, loaded once per query into *cache (a slot of
 * fn_extra); the default model is never loaded again.
 */
extern const NerModel *ner_model_arg(FunctionCallInfo fcinfo, int argno, void **cache,
									 const char *caller);

/* Output of the entity functions: rows of (label, text, normalized, pos...). */
typedef struct EntityRow
{
	const char *label;
	int			start;			/* byte offsets */
	int			end;
	char	   *text;			/* NULL: the span's own text */
	char	   *normalized;		/* NULL: SQL NULL */
	double		score;
} EntityRow;

extern void entity_rows_emit(FunctionCallInfo fcinfo, const char *s,
							 EntityRow *rows, int n);

#endif							/* AIML_EXTRACT_NER_H */
