/*
 * ner.c: a trainable named-entity tagger (model kind "ner"): aiml.ner_train,
 * aiml.ner_train_conll, aiml.ner, aiml.ner_evaluate, aiml.ner_default_model.
 *
 * The tagger is a structured perceptron (Collins 2002) with weight averaging,
 * decoded with Viterbi over BIO tags: tag 0 is O, label k has B = 1 + 2k and
 * I = 2 + 2k, and Viterbi forbids I-X after anything but B-X or I-X, so every
 * output is a well-formed set of spans.  Why a perceptron and not a CRF: it
 * needs no gradient, no learning rate and no forward-backward pass, trains in
 * seconds on 100k tokens, and with averaging reaches within a point or two of
 * a CRF on the same features; a linear model of hashed features also tags at
 * memory speed.
 *
 * Features are hashed (the "hashing trick") into 2^hash_bits buckets, each
 * holding one weight per tag, so a model's size is fixed by hash_bits and
 * the number of labels, not by the vocabulary.  Every token gets NER_NFEAT
 * features: its word (lower-cased and as written), shape (Xx, dd-dd),
 * prefixes and suffixes, neighbouring words and shapes in a window of two,
 * word pairs, capitalisation at sentence start, gazetteer hits, and the
 * word lexicon's classes of the word
 * and its neighbours (lexicon.txt: how the English word lists capitalise
 * it, its WordNet proper-noun files and the file of its first noun sense,
 * a cheap stand-in for word clusters).  Then NER_NHIST features of the
 * document's prediction history (see History below) for the token and its
 * neighbours.  Models of format version 1 have the first NER_NFEAT_V1
 * features only and no history; they are still read and tag as before.
 *
 * Averaging uses the usual lazy trick: besides the weights w we keep
 * u = sum of c * update, where c counts the sentences seen, and the averaged
 * weights are w - u / c.
 *
 * Payload, format version 2 (little-endian):
 *     u32 hash_bits, u32 flags (1 = gazetteer features, 2 = domains),
 *     u32 nlabels, nlabels strings, u32 epochs, u64 seed, u64 sentences,
 *     u64 tokens, f32 transitions[(ntags + 1) * ntags] (row ntags: from the
 *     start), f64 scale, i16 weights[ntables * 2^hash_bits * ntags]
 *     (table-, then bucket-major; weight = i16 * scale; ntables is 2 with
 *     flag 2: prose, then social media, else 1)
 * Format version 1 (still read): flags 1 only, f32 weights[2^hash_bits *
 * ntags], NER_NFEAT_V1 features and no history.
 */
#include "postgres.h"

#include <math.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
/* GCC and clang compile a function for AVX2 and tell whether the CPU has it */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define NER_AVX2
#include <immintrin.h>
#endif

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "core/json.h"
#include "core/model.h"
#include "core/options.h"
#include "core/rng.h"
#include "executor/spi.h"
#include "extract/ner.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "port/pg_bitutils.h"
#include "storage/fd.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/json.h"
#include "utils/timestamp.h"

#define NER_MAX_LABEL_LEN 63
#define NER_MIN_BITS 10
#define NER_MAX_BITS 22
#define NER_MAX_CELLS (1 << 25)	/* buckets times tags */
#define NER_NFEAT_V1 27		/* features of format version 1 */
#define NER_NFEAT 33			/* features per token, at most */
#define NER_NHIST 5				/* history features per token (version 2) */
#define NER_HIST_SLOTS 4096		/* distinct words a document's history holds */
#define HIST_KEY(h) (((h) | 1) & ~UINT64CONST(2))	/* never 0 */
#define HIST_CAPITAL UINT64CONST(2) /* key bit: the token is capitalised */
#define NER_FLAG_GAZETTEER 0x01
#define NER_FLAG_DOMAINS 0x02	/* one weight table per domain (version 2) */
#define NER_NDOMAINS 2			/* 0: edited prose, 1: social media */

struct NerModel
{
	int			bits;
	int			flags;
	int			nfeat;			/* features per token: NER_NFEAT_V1 or NER_NFEAT */
	int			ntables;		/* weight tables: 1, or NER_NDOMAINS */
	int			nlabels;
	char	  **labels;
	int			ntags;
	int			epochs;
	uint64		seed;
	uint64		sentences;
	uint64		tokens;
	float	   *trans;			/* (ntags + 1) * ntags */
	float	   *weights;		/* ntables * 2^bits * ntags, of a model trained */
	int16	   *qweights;		/* the same, of a model loaded: weight * qscale */
	double		qscale;
	bool	   *allowed;		/* (ntags + 1) * ntags: transition allowed */
	float	   *vtrans;			/* viterbi_table of trans and allowed */
	MemoryContext cxt;			/* where the model lives */
	struct WordCache *wcache[NER_NDOMAINS]; /* tagging's, made at first use */
};

#define TAG_LABEL(t) (((t) - 1) / 2)
#define TAG_IS_B(t) ((t) > 0 && (t) % 2 == 1)
#define TAG_IS_I(t) ((t) > 0 && (t) % 2 == 0)

/* ---- features ---- */

typedef struct TokInfo
{
	uint64		lower;
	uint64		raw;
	uint64		shape;
	uint64		pre[3];
	uint64		suf[4];
	bool		cap;
	int			nchars;
	int			flags;
	uint8		gaz_begin;
	uint8		gaz_inside;
	uint32		lex;			/* ner_lexicon_lookup */
	uint64		mlower;			/* ner_mix64(lower): tagging's context_mixed */
	uint64		mshape;			/* ner_mix64(shape): the same */
} TokInfo;

/* FNV-1a without lower-casing: the word as written is a feature of its own. */
static uint64
hash_raw(const char *p, int n, uint64 h)
{
	for (int i = 0; i < n; i++)
	{
		h ^= (unsigned char) p[i];
		h *= UINT64CONST(0x100000001b3);
	}
	return h;
}

/* The shape symbol of each ASCII byte: X x d, or the byte itself. */
static const char *
shape_ascii(void)
{
	static char table[128];

	if (table['a'] == 0)
		for (int c = 0; c < 128; c++)
			table[c] = c >= 'A' && c <= 'Z' ? 'X' :
				(c >= 'a' && c <= 'z') || c == '_' ? 'x' :
				c >= '0' && c <= '9' ? 'd' : (char) c;
	return table;
}

/* Shape of a word: X x d per character, runs collapsed, at most 12 symbols. */
static uint64
token_shape(const char *p, int n, bool utf8, int *nchars)
{
	const char *ascii = shape_ascii();
	char		shape[12];
	int			len = 0;

	*nchars = 0;
	for (int i = 0; i < n;)
	{
		unsigned char c = (unsigned char) p[i];
		int			clen = c < 0x80 ? 1 : Min(pg_mblen(p + i), n - i);
		char		sym;

		if (c < 0x80)
			sym = ascii[c];
		else
			sym = ner_is_upper_at(p + i, n - i, utf8) ? 'X' : 'x';
		if (len < (int) sizeof(shape) && (len == 0 || shape[len - 1] != sym))
			shape[len++] = sym;
		i += clen;
		(*nchars)++;
	}
	return hash_raw(shape, len, NER_HASH_INIT);
}

/*
 * Hashes of one token that its own and its neighbours' features are made
 * of; with gaz, also the ner_hash_lower from NER_GAZ_HASH_INIT that the
 * gazetteer keys the word by.  The lower-cased, raw and gazetteer hashes,
 * and the shape of an ASCII word, are one pass over the bytes, the same as
 * ner_hash_lower, hash_raw and token_shape (which a word with other bytes
 * still takes).
 */
static pg_attribute_always_inline void
token_info(const char *s, const NerToken *tok, bool utf8, TokInfo *ti, uint64 *gaz)
{
	const char *p = s + tok->start;
	int			n = tok->end - tok->start;
	const char *ascii = shape_ascii();
	uint64		lower = NER_HASH_INIT,
				raw = NER_HASH_INIT,
				g = NER_GAZ_HASH_INIT,
				shape = NER_HASH_INIT;
	int			symbols = 0;	/* of the shape, at most 12 */
	char		last = 0;
	bool		all_ascii = true;

	for (int i = 0; i < n; i++)
	{
		unsigned char c = (unsigned char) p[i];
		unsigned char lc = c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;

		lower = (lower ^ lc) * NER_FNV_PRIME;
		raw = (raw ^ c) * NER_FNV_PRIME;
		if (gaz)
			g = (g ^ lc) * NER_FNV_PRIME;
		if (c >= 0x80)
			all_ascii = false;
		else if (symbols < 12 && (symbols == 0 || ascii[c] != last))
		{
			last = ascii[c];
			shape = (shape ^ (unsigned char) last) * NER_FNV_PRIME;
			symbols++;
		}
	}
	ti->lower = lower;
	ti->raw = raw;
	if (gaz)
		*gaz = g;
	if (all_ascii)
	{
		ti->shape = shape;
		ti->nchars = n;
	}
	else
		ti->shape = token_shape(p, n, utf8, &ti->nchars);
	for (int k = 0; k < 3; k++)
		ti->pre[k] = ner_hash_lower(p, Min(n, k + 1), NER_HASH_INIT + k + 1);
	for (int k = 0; k < 4; k++)
		ti->suf[k] = ner_hash_lower(p + n - Min(n, k + 1), Min(n, k + 1), NER_HASH_INIT + k + 11);
	ti->cap = ner_is_upper_at(p, n, utf8);
	ti->flags = tok->flags;
	ti->gaz_begin = ti->gaz_inside = 0;
	ti->lex = 0;
}

/* Stand-ins for the neighbours before the first and after the last token. */
static const TokInfo *
boundary_info(bool end)
{
	static TokInfo bos,
				eos;
	static bool done = false;

	if (!done)
	{
		memset(&bos, 0, sizeof(bos));
		bos.lower = bos.raw = bos.shape = ner_hash_lower("<s>", 3, 7);
		eos = bos;
		eos.lower = eos.raw = eos.shape = ner_hash_lower("</s>", 4, 7);
		bos.mlower = bos.mshape = ner_mix64(bos.lower);
		eos.mlower = eos.mshape = ner_mix64(eos.lower);
		done = true;
	}
	return end ? &eos : &bos;
}

/* Bucket of a feature: template number and value hashed together. */
static inline uint32
bucket(int bits, int template, uint64 h)
{
	return (uint32) (ner_mix64(h + (uint64) template * UINT64CONST(0x9E3779B97F4A7C15)) >> (64 - bits));
}

/* Hash of two hashes, for conjunctions of features. */
static inline uint64
pair(uint64 a, uint64 b)
{
	return ner_mix64(a) ^ b;
}

/* Of word_features, those of the word lexicon (format version 2): 27, 28. */
static void
word_lex_features(int bits, const TokInfo *w, uint32 *f)
{
	int			start = (w->flags & NER_TOK_SENT_START) ? 2 : 0;

	f[27] = bucket(bits, 27, (w->lex & NER_LEX_FLAGS) * 4 + start + (w->cap ? 1 : 0));
	f[28] = bucket(bits, 28, w->lex >> NER_LEX_CLASS_SHIFT);
}

/* Of neighbour_features, those of the word lexicon: 29 and 31, or 30 and 32. */
static void
neighbour_lex_features(int bits, const TokInfo *nb, int next, uint32 *f)
{
	f[29 + next] = bucket(bits, 29 + next, nb->lex >> NER_LEX_CLASS_SHIFT);
	f[31 + next] = bucket(bits, 31 + next, (nb->lex & NER_LEX_FLAGS) * 2 + (nb->cap ? 1 : 0));
}

/*
 * The features of a token that depend on its own word only (its bytes and
 * flags), into f[template]: the tagger caches their weights per word.
 * Feature k of a token is template k (0..32), so sentence_features and the
 * cached path (WordCache) agree on every bucket.
 */
static void
word_features(int bits, bool v2, const TokInfo *w, uint32 *f)
{
	int			start = (w->flags & NER_TOK_SENT_START) ? 2 : 0;

	f[0] = bucket(bits, 0, 0);
	f[1] = bucket(bits, 1, w->lower);
	f[2] = bucket(bits, 2, w->raw);
	f[3] = bucket(bits, 3, w->shape);
	for (int j = 0; j < 3; j++)
		f[13 + j] = bucket(bits, 13 + j, w->pre[j]);
	for (int j = 0; j < 4; j++)
		f[16 + j] = bucket(bits, 16 + j, w->suf[j]);
	f[20] = bucket(bits, 20, start + (w->cap ? 1 : 0));
	f[25] = bucket(bits, 25, Min(w->nchars, 12) * 2 + (w->cap ? 1 : 0));
	f[26] = bucket(bits, 26, w->flags & ~NER_TOK_SENT_START);
	if (v2)
		word_lex_features(bits, w, f);
}

/*
 * The features a word gives its neighbour: next = 0, the token after it
 * (templates 4, 8, 29, 31, where it is p1), next = 1, the token before it
 * (templates 5, 9, 30, 32, where it is n1).
 */
static void
neighbour_features(int bits, bool v2, const TokInfo *nb, int next, uint32 *f)
{
	f[4 + next] = bucket(bits, 4 + next, nb->lower);
	f[8 + next] = bucket(bits, 8 + next, nb->shape);
	if (v2)
		neighbour_lex_features(bits, nb, next, f);
}

/*
 * The features of a token that depend on its neighbours' words together
 * with its own, or on the gazetteer phrases around it: templates 10, 11,
 * 12, 21, 22, 23, 24 into f[template].
 */
static void
context_features(int bits, const TokInfo *w, const TokInfo *p1, const TokInfo *n1, uint32 *f)
{
	f[10] = bucket(bits, 10, pair(pair(p1->shape, w->shape), n1->shape));
	f[11] = bucket(bits, 11, pair(p1->lower, w->lower));
	f[12] = bucket(bits, 12, pair(w->lower, n1->lower));
	f[21] = bucket(bits, 21, w->gaz_begin * 256 + w->gaz_inside);
	f[22] = bucket(bits, 22, p1->gaz_inside * 256 + n1->gaz_inside);
	f[23] = bucket(bits, 23, pair(p1->lower, w->shape));
	f[24] = bucket(bits, 24, pair(w->shape, n1->lower));
}

/*
 * context_features as tagging computes them: pair(a, b) is ner_mix64(a) ^ b,
 * and the word cache keeps ner_mix64 of each word's lower-cased hash and
 * shape (TokInfo.mlower, mshape), so five of its mixes are looked up; zero holds
 * templates 21 and 22 of no gazetteer hit, the usual case.  The same
 * buckets as context_features.
 */
static inline void
context_mixed(int bits, const TokInfo *w, const TokInfo *p1, const TokInfo *n1,
			  const uint32 *zero, uint32 *out)
{
	int			g21 = w->gaz_begin * 256 + w->gaz_inside;
	int			g22 = p1->gaz_inside * 256 + n1->gaz_inside;

	out[0] = bucket(bits, 10, pair(p1->mshape ^ w->shape, n1->shape));
	out[1] = bucket(bits, 11, p1->mlower ^ w->lower);
	out[2] = bucket(bits, 12, w->mlower ^ n1->lower);
	out[3] = g21 == 0 ? zero[0] : bucket(bits, 21, g21);
	out[4] = g22 == 0 ? zero[1] : bucket(bits, 22, g22);
	out[5] = bucket(bits, 23, p1->mlower ^ w->shape);
	out[6] = bucket(bits, 24, w->mshape ^ n1->lower);
}

/* The history key of a token (see History): its lower-cased word and capitalisation. */
static uint64
history_key(const TokInfo *w, unsigned char first)
{
	return w->cap ? HIST_KEY(w->lower) | HIST_CAPITAL :
		(first >= 'a' && first <= 'z') || first >= 0x80 ? HIST_KEY(w->lower) : 0;
}

/*
 * The nfeat bucket numbers of every token of one sentence (tokens
 * toks[0..n) of s) into feats[n * nfeat].  Models of format version 1 have
 * the first NER_NFEAT_V1 features only.  Training reads them; tagging
 * goes through the word cache (WordCache) to the same buckets.
 */
static void
sentence_features(int bits, int nfeat, bool use_gaz, const char *s,
				  const NerToken *toks, int n, uint32 *feats, uint64 *keys)
{
	bool		utf8 = GetDatabaseEncoding() == PG_UTF8;
	TokInfo    *ti = palloc(sizeof(TokInfo) * n);
	bool		v2 = nfeat > NER_NFEAT_V1;

	for (int i = 0; i < n; i++)
		token_info(s, &toks[i], utf8, &ti[i], NULL);
	if (use_gaz)
	{
		NerGazHit  *hits = palloc(sizeof(NerGazHit) * n);

		ner_gazetteer_lookup(s, toks, n, hits);
		for (int i = 0; i < n; i++)
		{
			ti[i].gaz_begin = hits[i].begin;
			ti[i].gaz_inside = hits[i].inside;
		}
		pfree(hits);
		if (v2)
		{
			uint32	   *lex = palloc(sizeof(uint32) * n);

			ner_lexicon_lookup_tokens(s, toks, n, lex);
			for (int i = 0; i < n; i++)
				ti[i].lex = lex[i];
			pfree(lex);
		}
	}

	for (int i = 0; i < n; i++)
	{
		const TokInfo *w = &ti[i];
		const TokInfo *p1 = i > 0 ? &ti[i - 1] : boundary_info(false);
		const TokInfo *p2 = i > 1 ? &ti[i - 2] : boundary_info(false);
		const TokInfo *n1 = i + 1 < n ? &ti[i + 1] : boundary_info(true);
		const TokInfo *n2 = i + 2 < n ? &ti[i + 2] : boundary_info(true);
		uint32	   *f = feats + (Size) i * nfeat;

		word_features(bits, v2, w, f);
		neighbour_features(bits, v2, p1, 0, f);
		neighbour_features(bits, v2, n1, 1, f);
		f[6] = bucket(bits, 6, p2->lower);
		f[7] = bucket(bits, 7, n2->lower);
		context_features(bits, w, p1, n1, f);
		if (keys)
			keys[i] = history_key(w, (unsigned char) s[toks[i].start]);
	}
	pfree(ti);
}

/* ---- the document's prediction history ---- */

/*
 * Ratinov and Roth's "extended prediction history" (CoNLL 2009): a
 * capitalised word tends to keep its label within a document ("Carter
 * Beauford ... Beauford"), so the tagger remembers, for each capitalised
 * word of the document so far, how often its earlier occurrences were
 * tagged with each label or O, and gives the majority as a feature to its
 * later occurrences.  Training fills the history with the model's own
 * predictions, as tagging does, document by document in text order.
 */
typedef struct History
{
	int			nlabels;
	uint64	   *keys;			/* NER_HIST_SLOTS, 0 = empty */
	uint8	   *counts;			/* NER_HIST_SLOTS * (nlabels + 1): O, then labels */
	bool	   *lower;			/* NER_HIST_SLOTS: seen in lower case */
	int		   *used;			/* slots in use, to clear them */
	int			nused;
} History;

/* An empty history for a model of nlabels labels, in cxt. */
static History *
history_create(int nlabels, MemoryContext cxt)
{
	History    *h = MemoryContextAlloc(cxt, sizeof(History));

	h->nlabels = nlabels;
	h->keys = MemoryContextAllocZero(cxt, sizeof(uint64) * NER_HIST_SLOTS);
	h->counts = MemoryContextAllocZero(cxt, (Size) NER_HIST_SLOTS * (nlabels + 1));
	h->lower = MemoryContextAllocZero(cxt, sizeof(bool) * NER_HIST_SLOTS);
	h->used = MemoryContextAlloc(cxt, sizeof(int) * NER_HIST_SLOTS);
	h->nused = 0;
	return h;
}

/* Frees a history made by history_create. */
static void
history_free(History *h)
{
	pfree(h->keys);
	pfree(h->counts);
	pfree(h->lower);
	pfree(h->used);
	pfree(h);
}

/* Forgets everything: a new document starts. */
static void
history_reset(History *h)
{
	for (int i = 0; i < h->nused; i++)
	{
		h->keys[h->used[i]] = 0;
		h->lower[h->used[i]] = false;
		memset(h->counts + (Size) h->used[i] * (h->nlabels + 1), 0, h->nlabels + 1);
	}
	h->nused = 0;
}

/*
 * Tagging a text needs an empty history, and most texts are short, so one
 * history of the largest size is kept per backend and cleared slot by slot
 * after use rather than allocated and zeroed for every row.  Nothing tags
 * while a text is being tagged; a history left dirty by an error is
 * cleared whole at the next use.
 */
static History *history_cache = NULL;
static bool history_dirty = false;

static History *
history_acquire(int nlabels)
{
	if (history_cache == NULL)
		history_cache = history_create(NER_MAX_LABELS, TopMemoryContext);
	else if (history_dirty)
	{
		memset(history_cache->keys, 0, sizeof(uint64) * NER_HIST_SLOTS);
		memset(history_cache->counts, 0, (Size) NER_HIST_SLOTS * (NER_MAX_LABELS + 1));
		memset(history_cache->lower, 0, sizeof(bool) * NER_HIST_SLOTS);
		history_cache->nused = 0;
	}
	history_cache->nlabels = nlabels;
	history_dirty = true;
	return history_cache;
}

/* Gives back the history of history_acquire, cleared. */
static void
history_release(History *h)
{
	history_reset(h);
	history_dirty = false;
}

/* Slot of a word's key, or of the empty slot where it would go. */
static inline int
history_slot(const History *h, uint64 key)
{
	int			i;

	key &= ~HIST_CAPITAL;
	i = (int) (ner_mix64(key) & (NER_HIST_SLOTS - 1));

	while (h->keys[i] != 0 && h->keys[i] != key)
		i = (i + 1) & (NER_HIST_SLOTS - 1);
	return i;
}

/*
 * The history classes of a sentence's tokens (their history_key values):
 * v[i], the majority tag class of the word's earlier occurrences (0: none,
 * 1: O, 2 + k: label k), and low[i], whether a capitalised word was seen
 * in lower case (2) and starts the sentence (1), 4 for a word that is not
 * capitalised.
 */
static void
history_values(const History *h, const uint64 *keys, int n, int *v, int *low)
{
	for (int i = 0; i < n; i++)
	{
		v[i] = 0;
		low[i] = (keys[i] & HIST_CAPITAL) ? 0 : 4;
		if (keys[i] & HIST_CAPITAL)
		{
			int			slot = history_slot(h, keys[i]);

			low[i] = (h->keys[slot] != 0 && h->lower[slot] ? 2 : 0) + (i == 0 ? 1 : 0);
			if (h->keys[slot] != 0)
			{
				const uint8 *c = h->counts + (Size) slot * (h->nlabels + 1);
				int			best = 0;
				int			total = c[0];

				for (int k = 1; k <= h->nlabels; k++)
				{
					total += c[k];
					if (c[k] > c[best])
						best = k;
				}
				v[i] = total > 0 ? 1 + best : 0;
			}
		}
	}
}

/*
 * The NER_NHIST history features of a token of class v (see
 * history_values), first in its sentence or not, after a token of class
 * pv and before one of class nv (63: none), with low: v alone and with
 * first, with pv, with nv, and low.
 */
static inline void
history_buckets(int bits, int v, bool first, int pv, int nv, int low, uint32 *d)
{
	d[0] = bucket(bits, 33, v);
	d[1] = bucket(bits, 34, v * 2 + (first ? 1 : 0));
	d[2] = bucket(bits, 35, v * 64 + pv);
	d[3] = bucket(bits, 36, v * 64 + nv);
	d[4] = bucket(bits, 39, low);
}

/* The history features of a sentence's tokens into dyn[n * NER_NHIST]. */
static void
history_features(const History *h, int bits, const uint64 *keys, int n, uint32 *dyn)
{
	int			v[NER_MAX_SENTENCE];
	int			low[NER_MAX_SENTENCE];

	history_values(h, keys, n, v, low);
	for (int i = 0; i < n; i++)
		history_buckets(bits, v[i], i == 0, i > 0 ? v[i - 1] : 63,
						i + 1 < n ? v[i + 1] : 63, low[i], dyn + i * NER_NHIST);
}

/*
 * Adds a tagged sentence to the history: the tags of its capitalised words,
 * and that its lower-case words were seen in lower case.
 */
static void
history_add(History *h, const uint64 *keys, const uint8 *tags, int n)
{
	for (int i = 0; i < n; i++)
	{
		int			slot;
		uint8	   *c;

		if (keys[i] == 0)
			continue;
		slot = history_slot(h, keys[i]);
		if (h->keys[slot] == 0)
		{
			if (h->nused * 2 >= NER_HIST_SLOTS)
				continue;
			h->keys[slot] = keys[i] & ~HIST_CAPITAL;
			h->used[h->nused++] = slot;
		}
		if (!(keys[i] & HIST_CAPITAL))
		{
			h->lower[slot] = true;
			continue;
		}
		c = h->counts + (Size) slot * (h->nlabels + 1);
		c = c + (tags[i] == 0 ? 0 : 1 + TAG_LABEL(tags[i]));
		if (*c < 255)
			(*c)++;
	}
}

/*
 * The domain of a text, for models trained with the option "domains": 0
 * (edited prose) for a text of at least NER_PROSE_MIN bytes with two
 * sentence ends or more and no @mention, #hashtag or URL, else 1 (short or
 * social-media text).  Tweets and articles capitalise and punctuate
 * differently, so such a model keeps one weight table for each (see train).
 * One pass over the bytes, no tokenizing.
 */
#define NER_PROSE_MIN 100

/*
 * Whether s[i - n + 1 .. i] (n bytes ending at i) is word, at the start of
 * the text or after a space.
 */
static inline bool
domain_word_before(const char *s, int i, const char *word, int n)
{
	int			from = i - n + 1;

	return from >= 0 && memcmp(s + from, word, n) == 0 &&
		(from == 0 || isspace((unsigned char) s[from - 1]));
}

/*
 * What the byte s[i] of s[0..len), one of @ # . ! ? :, says of the text's
 * domain: true for a mention, hashtag or URL (the text is social media),
 * else it may count a sentence end.  A URL is found at its ':' or '.' (the
 * "://" of http:// and https://, the dot of www.), not at its 'h' or 'w',
 * which most words have: the same URLs, found at fewer bytes.
 */
static inline bool
domain_byte(const char *s, int len, int i, int *ends)
{
	char		c = s[i];

	switch (c)
	{
		case '@':
		case '#':
			return (i == 0 || isspace((unsigned char) s[i - 1])) && i + 1 < len &&
				isalnum((unsigned char) s[i + 1]);
		case ':':
			return len - i >= 3 && s[i + 1] == '/' && s[i + 2] == '/' &&
				(domain_word_before(s, i - 1, "http", 4) ||
				 domain_word_before(s, i - 1, "https", 5));
		case '.':
			if (domain_word_before(s, i - 1, "www", 3))
				return true;
			/* FALLTHROUGH */
		case '!':
		case '?':
			if (i + 1 == len || isspace((unsigned char) s[i + 1]))
				(*ends)++;
			return false;
	}
	return false;
}

#ifdef __SSE2__
/* Bit k set where p[k] is one of @ # : . ! ? (k < 16). */
static inline int
domain_bytes16(const char *p)
{
	__m128i		v = _mm_loadu_si128((const __m128i *) p);
	__m128i		m;

	m = _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('@')), _mm_cmpeq_epi8(v, _mm_set1_epi8('#')));
	m = _mm_or_si128(m, _mm_cmpeq_epi8(v, _mm_set1_epi8(':')));
	m = _mm_or_si128(m, _mm_cmpeq_epi8(v, _mm_set1_epi8('.')));
	m = _mm_or_si128(m, _mm_cmpeq_epi8(v, _mm_set1_epi8('!')));
	m = _mm_or_si128(m, _mm_cmpeq_epi8(v, _mm_set1_epi8('?')));
	return _mm_movemask_epi8(m);
}
#endif

/*
 * The domain of a text, for models trained with the option "domains": 0
 * (edited prose) for a text of at least NER_PROSE_MIN bytes with two
 * sentence ends or more and no @mention, #hashtag or URL, else 1 (short or
 * social-media text).  Tweets and articles capitalise and punctuate
 * differently, so such a model keeps one weight table for each (see train).
 * One pass over the bytes, no tokenizing: with SSE2 sixteen bytes a step,
 * visiting only those of interest (blocks wholly inside the text, so no
 * byte past its end is read), then the last few one by one.
 */
static int
text_domain(const char *s, int len)
{
	int			ends = 0;
	int			i = 0;

	if (len < NER_PROSE_MIN)
		return 1;
#ifdef __SSE2__
	for (; len - i >= 16; i += 16)
	{
		int			mask = domain_bytes16(s + i);

		while (mask != 0)
		{
			if (domain_byte(s, len, i + pg_rightmost_one_pos32(mask), &ends))
				return 1;
			mask &= mask - 1;
		}
	}
#endif
	for (; i < len; i++)
		if (domain_byte(s, len, i, &ends))
			return 1;
	return ends >= 2 ? 0 : 1;
}

/* ---- decoding ---- */

/* The BIO constraint as a table: I-X only after B-X or I-X (row ntags is the start). */
static bool *
allowed_transitions(int nlabels, MemoryContext cxt)
{
	int			T = 1 + 2 * nlabels;
	bool	   *allowed = MemoryContextAlloc(cxt, sizeof(bool) * (T + 1) * T);

	for (int p = 0; p <= T; p++)
		for (int t = 0; t < T; t++)
			allowed[p * T + t] = !TAG_IS_I(t) ||
				(p < T && p > 0 && TAG_LABEL(p) == TAG_LABEL(t));
	return allowed;
}

/*
 * Emission scores em[n * T] of a sentence.  The weight rows of a token are
 * NER_NFEAT random cache lines of a table larger than the cache, so the rows
 * of the next token are prefetched while this one is summed.
 */
static void
emissions(const float *weights, int T, int nfeat, const uint32 *feats, int n, float *em,
		  bool add)
{
	for (int i = 0; i < n; i++)
	{
		float	   *e = em + (Size) i * T;
		const uint32 *f = feats + (Size) i * nfeat;

		if (i + 1 < n)
			for (int k = 0; k < nfeat; k++)
				__builtin_prefetch(weights + (Size) f[nfeat + k] * T);
		if (!add)
			memset(e, 0, sizeof(float) * T);
		for (int k = 0; k < nfeat; k++)
		{
			const float *w = weights + (Size) f[k] * T;

			for (int t = 0; t < T; t++)
				e[t] += w[t];
		}
	}
}

/*
 * Tags of the default model (4 labels): the loops below get this T as a
 * constant, so the compiler unrolls and vectorizes them; other models run
 * the same code with T a variable.
 */
#define NER_COMMON_T 9

/* Tokens ahead whose weight rows tag_sentence prefetches. */
#define NER_PREFETCH_AHEAD 2

/* Columns of a Viterbi table: T rounded up to 4 floats, a vector. */
#define VT_COLS(T) (((T) + 3) & ~3)
#define VT_MAX_COLS VT_COLS(1 + 2 * NER_MAX_LABELS)
/* Rows of a Viterbi table: T + 1 of transitions, one of ranges. */
#define VT_ROWS(T) ((T) + 2)

/*
 * The transitions trans[(T + 1) * T] as Viterbi reads them: rows of
 * VT_COLS(T) columns into vt[VT_ROWS(T) * VT_COLS(T)], with -infinity where
 * allowed[] forbids the transition and in the padding.  A candidate of
 * -infinity is never taken (Viterbi takes a strictly higher score than the
 * best so far, which starts at -infinity), which is what skipping it does.
 * So the last row holds, for each group of four columns, the first and the
 * last previous tag whose row is not all -infinity there: the BIO
 * constraint leaves only B-X and I-X before I-X, so a group of I tags
 * alone (the last of the 9 tags of four labels) has two.
 */
static void
viterbi_table(const float *trans, const bool *allowed, int T, float *vt)
{
	int			cols = VT_COLS(T);
	float	   *range = vt + (T + 1) * cols;

	for (int p = 0; p <= T; p++)
		for (int t = 0; t < cols; t++)
			vt[p * cols + t] = t < T && allowed[p * T + t] ? trans[p * T + t] : -INFINITY;
	memset(range, 0, sizeof(float) * cols);
	for (int c = 0; c < cols; c += 4)
	{
		int			lo = T,
					hi = -1;

		for (int p = 0; p < T; p++)
			for (int t = c; t < c + 4; t++)
				if (vt[p * cols + t] != -INFINITY)
				{
					lo = Min(lo, p);
					hi = Max(hi, p);
				}
		range[c / 2] = lo;
		range[c / 2 + 1] = hi;
	}
}

/*
 * Four or eight floats, int32 (lanes of a compare, sums), int16 (a weight
 * row) and doubles, as GCC and clang vectorize them.
 */
typedef float v4sf __attribute__((vector_size(16)));
typedef int32 v4si __attribute__((vector_size(16)));
typedef float v8sf __attribute__((vector_size(32)));
typedef int32 v8si __attribute__((vector_size(32)));
typedef int16 v8hi __attribute__((vector_size(16)));
typedef double v8df __attribute__((vector_size(64)));

#ifdef __SSE2__
/*
 * One candidate previous tag p of score d for four tags, whose transitions
 * from p are at row (see viterbi_t).
 */
static pg_attribute_always_inline void
viterbi_step(float d, const float *row, int p, __m128 *score, __m128 *from)
{
	__m128		v = _mm_add_ps(_mm_set1_ps(d), _mm_loadu_ps(row));
	__m128		take = _mm_cmpgt_ps(v, *score);

	*score = _mm_max_ps(v, *score);
	*from = _mm_max_ps(*from, _mm_and_ps(take, _mm_set1_ps((float) p)));
}
#endif

#ifdef NER_AVX2
/* viterbi_step for eight tags (AVX): the same operations, lane by lane. */
__attribute__((target("avx2")))
static pg_attribute_always_inline void
viterbi_step8(float d, const float *row, int p, __m256 *score, __m256 *from)
{
	__m256		v = _mm256_add_ps(_mm256_set1_ps(d), _mm256_loadu_ps(row));
	__m256		take = _mm256_cmp_ps(v, *score, _CMP_GT_OQ);

	*score = _mm256_max_ps(v, *score);
	*from = _mm256_max_ps(*from, _mm256_and_ps(take, _mm256_set1_ps((float) p)));
}

/*
 * viterbi_t's step for the eight tags c..c+7 at once, from the previous
 * tags lo..hi of scores dp, into delta's and back's row: the same scores
 * and back pointers as two groups of four.  Only tag_sentence_avx2's copy
 * of viterbi_t calls it.
 */
__attribute__((target("avx2")))
static inline void
viterbi_group8(const float *vt, int T, int cols, int c, int lo, int hi, const float *dp,
			   const float *em, float *delta, int32 *back)
{
	__m256		score = _mm256_set1_ps(-INFINITY);
	__m256		from = _mm256_setzero_ps();

	/* all of p, in a loop the compiler unrolls, or a few */
	if (lo == 0 && hi == T - 1)
		for (int p = 0; p < T; p++)
			viterbi_step8(dp[p], vt + p * cols + c, p, &score, &from);
	else
		for (int p = lo; p <= hi; p++)
			viterbi_step8(dp[p], vt + p * cols + c, p, &score, &from);
	_mm256_storeu_ps(delta + c, _mm256_add_ps(score, _mm256_loadu_ps(em + c)));
	_mm256_storeu_si256((__m256i *) (back + c), _mm256_cvttps_epi32(from));
}
#endif

/*
 * viterbi() with T known to the compiler where the caller's is constant.
 * For each tag t, the best previous tag p is the first of the highest
 * delta[p] + vt[p][t]: the loop over p keeps, four tags t at a time, the
 * best score so far and its p, replaced only by a strictly higher score,
 * which is what a scan of p for each t finds.  With SSE, the best score
 * is MAXPS of the candidate and the best so far (the best so far when not
 * strictly lower, as the scan keeps it), and the best p, which only grows
 * with p, the maximum of the best p so far and p where the candidate is
 * taken (0 elsewhere), as floats.
 */
static pg_attribute_always_inline void
viterbi_t(const float *vt, int T, bool avx2, const float *em, int n, uint8 *tags)
{
	const int	cols = VT_COLS(T);
	const float *range = vt + (T + 1) * cols;
	float		delta[NER_MAX_SENTENCE * VT_MAX_COLS];
	int32		back[NER_MAX_SENTENCE * VT_MAX_COLS];
	int			first[VT_MAX_COLS / 4];
	int			last[VT_MAX_COLS / 4];
	int			best = 0;

	Assert(n <= NER_MAX_SENTENCE && T <= 1 + 2 * NER_MAX_LABELS);
	for (int c = 0; c < cols; c += 4)
	{
		first[c / 4] = (int) range[c / 2];
		last[c / 4] = (int) range[c / 2 + 1];
	}
	for (int t = 0; t < T; t++)
		delta[t] = vt[T * cols + t] + em[t];
	for (int i = 1; i < n; i++)
	{
		const float *dp = delta + (i - 1) * cols;
#ifndef __SSE2__
		float		bv[VT_MAX_COLS];
#endif

		for (int c = 0; c < cols; c += 4)
		{
			int			lo = first[c / 4];
			int			hi = last[c / 4];

#ifdef __SSE2__
			__m128		score = _mm_set1_ps(-INFINITY);
			__m128		from = _mm_setzero_ps();

#ifdef NER_AVX2
			/* eight tags a step: the union of two groups' ranges */
			if (avx2 && c + 8 <= cols)
			{
				viterbi_group8(vt, T, cols, c, Min(lo, first[c / 4 + 1]),
							   Max(hi, last[c / 4 + 1]), dp, em + i * T,
							   delta + i * cols, back + i * cols);
				c += 4;
				continue;
			}
#endif
			/*
			 * all of p, in a loop the compiler unrolls, or B-X and I-X
			 * alone (a group of I tags), or a few
			 */
			if (lo == 0 && hi == T - 1)
				for (int p = 0; p < T; p++)
					viterbi_step(dp[p], vt + p * cols + c, p, &score, &from);
			else if (hi == lo + 1)
			{
				viterbi_step(dp[lo], vt + lo * cols + c, lo, &score, &from);
				viterbi_step(dp[hi], vt + hi * cols + c, hi, &score, &from);
			}
			else
				for (int p = lo; p <= hi; p++)
					viterbi_step(dp[p], vt + p * cols + c, p, &score, &from);
			/* the padding columns get -infinity plus what follows em's row */
			_mm_storeu_ps(delta + i * cols + c,
						  _mm_add_ps(score, _mm_loadu_ps(em + i * T + c)));
			_mm_storeu_si128((__m128i *) (back + i * cols + c), _mm_cvttps_epi32(from));
#else
			v4sf		score = {-INFINITY, -INFINITY, -INFINITY, -INFINITY};
			v4si		from = {0, 0, 0, 0};

			for (int p = lo; p <= hi; p++)
			{
				v4sf		row,
							v;
				v4si		take;

				memcpy(&row, vt + p * cols + c, sizeof(row));
				v = dp[p] + row;
				take = v > score;
				score = (v4sf) ((take & (v4si) v) | (~take & (v4si) score));
				from = (take & p) | (~take & from);
			}
			memcpy(bv + c, &score, sizeof(score));
			memcpy(back + i * cols + c, &from, sizeof(from));
#endif
		}
#ifndef __SSE2__
		for (int t = 0; t < T; t++)
			delta[i * cols + t] = bv[t] + em[i * T + t];
#endif
	}
	for (int t = 1; t < T; t++)
		if (delta[(n - 1) * cols + t] > delta[(n - 1) * cols + best])
			best = t;
	for (int i = n - 1; i >= 0; i--)
	{
		tags[i] = best;
		if (i > 0)
			best = back[i * cols + best];
	}
}

/*
 * Viterbi over emissions em[n * T] with the transitions of viterbi_table
 * vt (the BIO constraint included); the best tags into tags[n].  With SSE
 * em is read four floats at a time, so up to three floats past em[n * T]
 * must be readable (their values do not matter).
 */
static void
viterbi(const float *vt, int T, const float *em, int n, uint8 *tags)
{
	if (T == NER_COMMON_T)
		viterbi_t(vt, NER_COMMON_T, false, em, n, tags);
	else
		viterbi_t(vt, T, false, em, n, tags);
}

/* ---- the model value ---- */

/* Labels are stored as strings in the model; keep them short and non-empty. */
static void
check_label_name(const char *label, const char *what)
{
	if (label[0] == '\0' || strlen(label) > NER_MAX_LABEL_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s label \"%s\" must have 1 to %d bytes", what, label,
						NER_MAX_LABEL_LEN)));
}

/*
 * Weights as 16-bit integers times one scale (f64, then i16 little-endian):
 * half the bytes of f32, with a step of max|w| / 32767, far below what
 * changes a tag.
 */
static void
write_weights(StringInfo buf, const float *w, Size n)
{
	double		maxabs = 0;
	double		scale;
	char	   *q = palloc_extended(n * 2, MCXT_ALLOC_HUGE);

	for (Size i = 0; i < n; i++)
		maxabs = Max(maxabs, fabs(w[i]));
	scale = maxabs > 0 ? maxabs / 32767.0 : 1.0;
	for (Size i = 0; i < n; i++)
	{
		int			v = (int) lrint(w[i] / scale);

		q[2 * i] = (char) (v & 0xff);
		q[2 * i + 1] = (char) ((v >> 8) & 0xff);
	}
	aiml_write_f64(buf, scale);
	aiml_write_bytes(buf, q, n * 2);
	pfree(q);
}

/* Weights written by write_weights, into m's qweights (in cxt) and qscale. */
static void
read_weights(AimlReader *r, Size n, NerModel *m, MemoryContext cxt)
{
	double		scale = aiml_read_f64(r);
	const unsigned char *q;

	if (!isfinite(scale) || scale <= 0)
		aiml_payload_corrupt(r, "Its weight scale is not a positive number.");
	q = aiml_read_bytes(r, n * 2);
	m->qweights = MemoryContextAllocExtended(cxt, n * sizeof(int16), MCXT_ALLOC_HUGE);
	for (Size i = 0; i < n; i++)
		m->qweights[i] = (int16) (q[2 * i] | (q[2 * i + 1] << 8));
	m->qscale = scale;
}

/*
 * The f32 weights of a version 1 model as 16-bit weights, the way
 * write_weights stores them, so both versions tag through one path.
 */
static void
quantize_weights(const float *w, Size n, NerModel *m, MemoryContext cxt)
{
	double		maxabs = 0;

	for (Size i = 0; i < n; i++)
		maxabs = Max(maxabs, fabs(w[i]));
	m->qscale = maxabs > 0 ? maxabs / 32767.0 : 1.0;
	m->qweights = MemoryContextAllocExtended(cxt, n * sizeof(int16), MCXT_ALLOC_HUGE);
	for (Size i = 0; i < n; i++)
		m->qweights[i] = (int16) lrint(w[i] / m->qscale);
}

/* The model value of m, in the payload layout documented at the top of the file. */
static AimlModel *
model_serialize(const NerModel *m)
{
	StringInfoData buf;
	int			T = m->ntags;

	initStringInfo(&buf);
	aiml_write_u32(&buf, m->bits);
	aiml_write_u32(&buf, m->flags);
	aiml_write_u32(&buf, m->nlabels);
	for (int i = 0; i < m->nlabels; i++)
		aiml_write_string(&buf, m->labels[i]);
	aiml_write_u32(&buf, m->epochs);
	aiml_write_u64(&buf, m->seed);
	aiml_write_u64(&buf, m->sentences);
	aiml_write_u64(&buf, m->tokens);
	aiml_write_f32s(&buf, m->trans, (Size) (T + 1) * T);
	write_weights(&buf, m->weights, ((Size) 1 << m->bits) * T * m->ntables);
	return aiml_model_build(AIML_KIND_NER, NER_FORMAT_VERSION, buf.data, buf.len);
}

/* f32s from the payload, checked finite, copied into cxt (huge allowed). */
static float *
read_floats(AimlReader *r, Size n, MemoryContext cxt, const char *what)
{
	const float *src = aiml_read_bytes(r, n * sizeof(float));
	float	   *dst = MemoryContextAllocExtended(cxt, n * sizeof(float), MCXT_ALLOC_HUGE);

	memcpy(dst, src, n * sizeof(float));
	for (Size i = 0; i < n; i++)
		if (!isfinite(dst[i]))
			aiml_payload_corrupt(r, psprintf("Its %s hold a value that is not finite.", what));
	return dst;
}

/* Reads and validates a ner payload into cxt; every count and index checked. */
NerModel *
ner_model_load(const AimlModel *model, MemoryContext cxt)
{
	AimlReader	r;
	NerModel   *m = MemoryContextAllocZero(cxt, sizeof(NerModel));
	int			T;

	aiml_reader_init(&r, model);
	m->bits = aiml_read_u32(&r);
	if (m->bits < NER_MIN_BITS || m->bits > NER_MAX_BITS)
		aiml_payload_corrupt(&r, psprintf("Its hash_bits %d is outside %d to %d.",
										  m->bits, NER_MIN_BITS, NER_MAX_BITS));
	m->flags = aiml_read_u32(&r);
	if (m->flags & ~(model->version == 1 ? NER_FLAG_GAZETTEER : NER_FLAG_GAZETTEER | NER_FLAG_DOMAINS))
		aiml_payload_corrupt(&r, psprintf("Its flags %d are unknown.", m->flags));
	m->ntables = (m->flags & NER_FLAG_DOMAINS) ? NER_NDOMAINS : 1;
	m->nlabels = aiml_read_u32(&r);
	if (m->nlabels < 1 || m->nlabels > NER_MAX_LABELS)
		aiml_payload_corrupt(&r, psprintf("It has %d labels, not 1 to %d.",
										  m->nlabels, NER_MAX_LABELS));
	m->labels = MemoryContextAlloc(cxt, sizeof(char *) * m->nlabels);
	for (int i = 0; i < m->nlabels; i++)
	{
		char	   *l = aiml_read_string(&r);

		if (l[0] == '\0' || strlen(l) > NER_MAX_LABEL_LEN)
			aiml_payload_corrupt(&r, "A label is empty or too long.");
		for (int j = 0; j < i; j++)
			if (strcmp(m->labels[j], l) == 0)
				aiml_payload_corrupt(&r, psprintf("Label \"%s\" appears twice.", l));
		m->labels[i] = MemoryContextStrdup(cxt, l);
	}
	m->ntags = T = 1 + 2 * m->nlabels;
	m->nfeat = model->version == 1 ? NER_NFEAT_V1 : NER_NFEAT;
	if (((Size) 1 << m->bits) * T * m->ntables > NER_MAX_CELLS)
		aiml_payload_corrupt(&r, "Its weight table is larger than aiml allows.");
	m->epochs = aiml_read_u32(&r);
	m->seed = aiml_read_u64(&r);
	m->sentences = aiml_read_u64(&r);
	m->tokens = aiml_read_u64(&r);
	m->trans = read_floats(&r, (Size) (T + 1) * T, cxt, "transitions");
	if (model->version == 1)
	{
		float	   *w = read_floats(&r, ((Size) 1 << m->bits) * T, cxt, "weights");

		quantize_weights(w, ((Size) 1 << m->bits) * T, m, cxt);
		pfree(w);
	}
	else
		read_weights(&r, ((Size) 1 << m->bits) * T * m->ntables, m, cxt);
	aiml_reader_finish(&r);
	m->allowed = allowed_transitions(m->nlabels, cxt);
	m->vtrans = MemoryContextAlloc(cxt, sizeof(float) * VT_ROWS(T) * VT_COLS(T));
	viterbi_table(m->trans, m->allowed, T, m->vtrans);
	m->cxt = cxt;
	return m;
}

/* Loader for aiml_model_cached. */
static void *
ner_loader(const AimlModel *model, MemoryContext cxt)
{
	return ner_model_load(model, cxt);
}

/* For entities.c, which maps the default model's labels to its own. */
int
ner_model_nlabels(const NerModel *m)
{
	return m->nlabels;
}

/* Name of label i of the model. */
const char *
ner_model_label(const NerModel *m, int i)
{
	return m->labels[i];
}

/* describe() of kind ner: labels, training settings and sizes, not the weights. */
void
ner_describe(const AimlModel *model, StringInfo json)
{
	NerModel   *m = ner_model_load(model, CurrentMemoryContext);
	StringInfoData labels;

	initStringInfo(&labels);
	appendStringInfoChar(&labels, '[');
	for (int i = 0; i < m->nlabels; i++)
	{
		if (i > 0)
			appendStringInfoString(&labels, ", ");
		escape_json(&labels, m->labels[i]);
	}
	appendStringInfoChar(&labels, ']');
	aiml_json_key(json, "labels");
	appendStringInfoString(json, labels.data);
	aiml_json_add_string(json, "algorithm", "averaged structured perceptron, BIO Viterbi");
	aiml_json_add_int(json, "hash_bits", m->bits);
	aiml_json_add_bool(json, "gazetteer", (m->flags & NER_FLAG_GAZETTEER) != 0);
	aiml_json_add_int(json, "epochs", m->epochs);
	aiml_json_add_int(json, "seed", (int64) m->seed);
	aiml_json_add_int(json, "sentences", (int64) m->sentences);
	aiml_json_add_int(json, "tokens", (int64) m->tokens);
	aiml_json_add_bool(json, "document_history", m->nfeat > NER_NFEAT_V1);
	aiml_json_add_bool(json, "domains", m->ntables > 1);
}

/* ---- tagging ---- */

/* Squashes a margin into 0..1 for the score column. */
static double
logistic(double x)
{
	return 1.0 / (1.0 + exp(-x));
}

/*
 * Calls sink for every span the model finds in one sentence.  The score is
 * the logistic of the mean margin, over the span's tokens, of the chosen tag
 * over the runner-up tag, each scored with its emission and the transition
 * from the chosen previous tag: a confidence in 0..1, not a probability.
 */
static void
emit_spans(const NerModel *m, const NerToken *toks, int n, const uint8 *tags,
		   const float *em, NerSpanSink sink, void *arg)
{
	int			T = m->ntags;

	for (int i = 0; i < n;)
	{
		NerSpan		span;
		double		margin = 0;
		int			j;

		if (!TAG_IS_B(tags[i]))
		{
			i++;
			continue;
		}
		for (j = i; j < n && (j == i || (TAG_IS_I(tags[j]) &&
										 TAG_LABEL(tags[j]) == TAG_LABEL(tags[i]))); j++)
		{
			int			prev = j > 0 ? tags[j - 1] : T;
			const float *tr = m->trans + prev * T;
			float		other = -INFINITY;

			for (int t = 0; t < T; t++)
				if (t != tags[j] && m->allowed[prev * T + t] &&
					em[j * T + t] + tr[t] > other)
					other = em[j * T + t] + tr[t];
			margin += em[j * T + tags[j]] + tr[tags[j]] - other;
		}
		span.label = TAG_LABEL(tags[i]);
		span.start = toks[i].start;
		span.end = toks[j - 1].end;
		span.score = logistic(margin / (j - i));
		sink(&span, arg);
		i = j;
	}
}

/* ---- the word cache ---- */

/*
 * Of a token's NER_NFEAT features, 24 depend on one word alone: the
 * token's own word (its lower-cased and raw forms, shape, prefixes,
 * suffixes, length, capitalisation, token flags, lexicon classes), and the
 * word of each neighbour in a window of two.  Words repeat (a text of
 * 10,000 tokens has a few thousand distinct words), so each backend keeps,
 * per loaded model and weight table, the words it met last with their
 * weight rows summed: once as the token itself and once in each neighbour
 * role.  A token then costs five cached sums plus the rows of the features
 * that need two words or the gazetteer (context_features) and two sums of
 * its history features (history_tables): 7 instead of 38 random rows of a
 * table larger than the cache.
 *
 * The cache is a table of 2^slot_bits entries (8192 for the default
 * model; at most WC_MAX_BYTES unless that leaves fewer than 1024), one per
 * word hash: a new word replaces the one in its slot.  The key is the
 * word's bytes and token flags, compared in full, never the hash alone;
 * the sums are int32 sums of the same int16 weights, exact in any order, so
 * tagging gives bit for bit what summing every feature gives.  The words of
 * a sentence that miss are prepared together (word_prepare), so that their
 * lexicon, gazetteer and weight-row loads overlap.
 *
 * Training does not use it: its weights change after every sentence.
 */
#define WC_MAX_SLOT_BITS 13		/* at most 8192 words per cache */
#define WC_MIN_SLOT_BITS 10
#define WC_MAX_BYTES (2 * 1024 * 1024)	/* of entries, unless that is < 1024 */
#define WC_MAXLEN 24			/* longer (URLs, UUIDs) are not kept; a multiple of 8 */
#define WC_NCONTEXT 7			/* context_features */
#define WC_HIST_LABELS 8		/* history tables: 52 kB at 8 labels */

/* The roles of a word, each a T-vector of an entry's sums. */
typedef enum WordRole
{
	WC_OWN,						/* the token's own word */
	WC_AS_P1,					/* the word before a token */
	WC_AS_N1,					/* the word after a token */
	WC_AS_P2,					/* two before */
	WC_AS_N2,					/* two after */
	WC_NROLES
} WordRole;

/* Templates of each role: the first nv1 of them in version 1 models. */
static const struct
{
	int			nv1;
	int			nv2;
	uint8		templates[16];
}			wc_roles[WC_NROLES] = {
	{14, 16, {0, 1, 2, 3, 13, 14, 15, 16, 17, 18, 19, 20, 25, 26, 27, 28}},
	{2, 4, {4, 8, 29, 31}},
	{2, 4, {5, 9, 30, 32}},
	{1, 1, {6}},
	{1, 1, {7}},
};

/* A cached word: its key, what the context features need, its sums. */
typedef struct WordEntry
{
	uint64		lower;			/* TokInfo's lower, shape and their mixes */
	uint64		shape;
	uint64		mlower;
	uint64		mshape;
	NerGazWord	gaz;			/* the word alone in the gazetteer */
	uint8		len;			/* 0: an empty slot */
	uint8		flags;			/* NerToken's flags */
	uint8		capital;		/* of history_key: 0 none, 1 lower, 2 capitalised */
	uint8		stamp;			/* WordCache.stamp of the last sentence that read it */
	char		bytes[WC_MAXLEN];
	int32		sums[FLEXIBLE_ARRAY_MEMBER];	/* WC_NROLES * T */
} WordEntry;

/*
 * What a word's entry needs of the tables: its own hashes, the keys of
 * the lexicon and the gazetteer with their slots prefetched, and the
 * features that need no lexicon with their weight rows prefetched, so that
 * the misses of a sentence wait for memory together.
 */
typedef struct WordPrep
{
	TokInfo		ti;
	uint64		lexkey;
	NerGazWord	gaz;
	uint32		f[NER_NFEAT];	/* the features of all roles, by template */
} WordPrep;

/*
 * The cache of one weight table of a loaded model, in the model's memory
 * context, with the workspace of a sentence, so tagging allocates nothing
 * per row or sentence.
 */
typedef struct WordCache
{
	int			T;
	int			bits;
	bool		v2;				/* features of format version 2 */
	bool		use_gaz;
	const int16 *w;				/* the table's weights */
	Size		stride;			/* bytes per entry */
	int			slot_bits;		/* 2^slot_bits entries */
	char	   *slots;
	WordEntry  *scratch;		/* the entry of a word too long to keep */
	int32	   *edge;			/* WC_NROLES * T: "<s>" as p1 and p2, "</s>" as n1 and n2 */
	/* history features summed by class (models of at most WC_HIST_LABELS labels) */
	int			hist_classes;	/* V = nlabels + 2 classes, and P = V + 1 neighbours */
	int32	   *hist_first;		/* V * 2 * P * T: features 0-2 by (v, first, pv) */
	int32	   *hist_next;		/* V * P * 5 * T: features 3, 4 by (v, nv, low) */
	/* workspace of one sentence */
	uint64	   *hashes;			/* NER_MAX_SENTENCE each */
	uint64	   *keys;
	bool	   *prepared;		/* a word missing, prepared in prep */
	WordPrep   *prep;
	TokInfo    *ti;
	NerGazWord *gaz;
	NerGazHit  *hits;
	uint32	   *feats;			/* NER_MAX_SENTENCE * (WC_NCONTEXT + NER_NHIST) */
	uint32	   *dyn;			/* NER_MAX_SENTENCE * NER_NHIST */
	int		   *hist_v;			/* NER_MAX_SENTENCE each: history_values */
	int		   *hist_low;
	const int32 **sums_of;		/* NER_MAX_SENTENCE: each token's entry's sums */
	int32	   *kept;			/* NER_MAX_SENTENCE * WC_NROLES * T: keep_referenced */
	float	   *em;
	const char *text_end;		/* of the text being tagged */
	bool		avx2;			/* tag_sentence_avx2 runs on this CPU */
	uint8		stamp;			/* of the sentence being tagged, one more each */
	uint32		gaz_zero[2];	/* context_mixed's zero */
} WordCache;

/* Bytes of an entry of a model of T tags: whole cache lines. */
#define WC_STRIDE(T) TYPEALIGN(64, offsetof(WordEntry, sums) + sizeof(int32) * WC_NROLES * (T))
StaticAssertDecl(WC_STRIDE(NER_COMMON_T) == 256,
				 "an entry of the default model is four cache lines");

/* The slot of a word_hash h: its top bits. */
#define WC_SLOT(wc, h) \
	((WordEntry *) ((wc)->slots + (Size) ((h) >> (64 - (wc)->slot_bits)) * (wc)->stride))

/*
 * The k (1 to 8) bytes at p as a uint64 whose other bytes are 0, as
 * memcpy of the k bytes into a zeroed uint64 gives them; end is where the
 * text that holds them ends, so one 8-byte load does when it fits.
 */
static inline uint64
load_bytes(const char *p, int k, const char *end)
{
	uint64		v = 0;

	if (likely(end - p >= 8))
	{
		memcpy(&v, p, 8);
		if (k < 8)
#ifdef WORDS_BIGENDIAN
			v &= ~UINT64CONST(0) << (8 * (8 - k));
#else
			v &= (UINT64CONST(1) << (8 * k)) - 1;
#endif
	}
	else
		memcpy(&v, p, k);
	return v;
}

/* Hash of a token's n bytes at p and its flags, eight bytes a step; never 0. */
static inline uint64
word_hash(const char *p, int n, int flags, const char *end)
{
	uint64		h = NER_HASH_INIT ^ ((uint64) n << 8 | flags);

	for (int i = 0; i < n; i += 8)
	{
		h = (h ^ load_bytes(p + i, Min(8, n - i), end)) * UINT64CONST(0x9E3779B97F4A7C15);
		h ^= h >> 32;
	}
	return ner_mix64(h) | 1;
}

/*
 * role_sums with T and v2 known to the compiler where the caller's are
 * constant (so the loops over the role's templates unroll): eight tags at
 * a time in registers, then the rest.
 */
static pg_attribute_always_inline void
role_sums_t(const WordCache *wc, int T, bool v2, WordRole role, const uint32 *f, int32 *out)
{
	int			nt = v2 ? wc_roles[role].nv2 : wc_roles[role].nv1;
	const uint8 *tpl = wc_roles[role].templates;
	int			c = 0;

	for (; c + 8 <= T; c += 8)
	{
		v8si		acc = {0, 0, 0, 0, 0, 0, 0, 0};
		v8hi		row;

		for (int k = 0; k < nt; k++)
		{
			memcpy(&row, wc->w + (Size) f[tpl[k]] * T + c, sizeof(row));
			acc += __builtin_convertvector(row, v8si);
		}
		memcpy(out + c, &acc, sizeof(acc));
	}
	for (; c < T; c++)
	{
		int32		acc = 0;

		for (int k = 0; k < nt; k++)
			acc += wc->w[(Size) f[tpl[k]] * T + c];
		out[c] = acc;
	}
}

/* out[T] = the sum of the weight rows of role's templates in f[template]. */
static void
role_sums(const WordCache *wc, WordRole role, const uint32 *f, int32 *out)
{
	if (wc->T == NER_COMMON_T && wc->v2)
		role_sums_t(wc, NER_COMMON_T, true, role, f, out);
	else
		role_sums_t(wc, wc->T, wc->v2, role, f, out);
}

/*
 * The sums of every role of a word into sums[WC_NROLES * T], each role
 * spelt out so that its templates are known where T and v2 are.
 */
static pg_attribute_always_inline void
role_sums_all_t(const WordCache *wc, int T, bool v2, const uint32 *f, int32 *sums)
{
	role_sums_t(wc, T, v2, WC_OWN, f, sums + WC_OWN * T);
	role_sums_t(wc, T, v2, WC_AS_P1, f, sums + WC_AS_P1 * T);
	role_sums_t(wc, T, v2, WC_AS_N1, f, sums + WC_AS_N1 * T);
	role_sums_t(wc, T, v2, WC_AS_P2, f, sums + WC_AS_P2 * T);
	role_sums_t(wc, T, v2, WC_AS_N2, f, sums + WC_AS_N2 * T);
}

/*
 * Prefetches the weight rows of a word's features f[template], of every
 * role: those of templates that need no lexicon (the first nv1 of each
 * role), or the lexicon's (the rest, up to nv2).  wc_roles is constant and
 * so are the loops' bounds: the compiler unrolls them.
 */
static pg_attribute_always_inline void
role_prefetch_t(const WordCache *wc, int T, bool lex, const uint32 *f)
{
	for (int r = WC_OWN; r <= WC_AS_N2; r++)
	{
		int			from = lex ? wc_roles[r].nv1 : 0;
		int			to = lex ? wc_roles[r].nv2 : wc_roles[r].nv1;

		for (int k = from; k < to; k++)
			__builtin_prefetch(wc->w + (Size) f[wc_roles[r].templates[k]] * T);
	}
}

/* Prepares wp for the word of token tok of s (word_fill_t finishes it). */
static void
word_prepare(const WordCache *wc, const char *s, const NerToken *tok, bool utf8, WordPrep *wp)
{
	uint64		gh;

	token_info(s, tok, utf8, &wp->ti, &gh);
	/* the lexicon's key of a word is its mixed lower-cased hash */
	wp->ti.mlower = ner_mix64(wp->ti.lower);
	wp->ti.mshape = ner_mix64(wp->ti.shape);
	memset(&wp->gaz, 0, sizeof(wp->gaz));
	wp->lexkey = 0;
	if (wc->use_gaz)
	{
		ner_gazetteer_word_of_hash(gh, &wp->gaz);
		if (wc->v2)
			wp->lexkey = ner_lexicon_key_of_mixed(wp->ti.mlower);
	}
	word_features(wc->bits, false, &wp->ti, wp->f);
	neighbour_features(wc->bits, false, &wp->ti, 0, wp->f);
	neighbour_features(wc->bits, false, &wp->ti, 1, wp->f);
	wp->f[6] = bucket(wc->bits, 6, wp->ti.lower);
	wp->f[7] = bucket(wc->bits, 7, wp->ti.lower);
	role_prefetch_t(wc, wc->T, false, wp->f);
}

/*
 * Fills e (all but its key) for the word of token tok of s, prepared in
 * wp; inlined into tag_sentence_t, so that its sums get the caller's T.
 */
static pg_attribute_always_inline void
word_fill_t(const WordCache *wc, int T, WordEntry *e, const char *s, const NerToken *tok,
			WordPrep *wp)
{
	TokInfo    *ti = &wp->ti;
	uint32	   *f = wp->f;
	uint64		key;

	e->gaz = wp->gaz;
	if (wc->use_gaz)
	{
		ner_gazetteer_word_types(&e->gaz);
		if (wc->v2)
			ti->lex = ner_lexicon_probe(wp->lexkey);
	}
	if (wc->v2)
	{
		word_lex_features(wc->bits, ti, f);
		neighbour_lex_features(wc->bits, ti, 0, f);
		neighbour_lex_features(wc->bits, ti, 1, f);
		role_prefetch_t(wc, T, true, f);
		role_sums_all_t(wc, T, true, f, e->sums);
	}
	else
		role_sums_all_t(wc, T, false, f, e->sums);
	e->lower = ti->lower;
	e->shape = ti->shape;
	e->mlower = ti->mlower;
	e->mshape = ti->mshape;
	key = history_key(ti, (unsigned char) s[tok->start]);
	e->capital = key == 0 ? 0 : (key & HIST_CAPITAL) ? 2 : 1;
}

/* out[T] = the sum of the weight rows of buckets f[0..nf). */
static void
rows_sum(const WordCache *wc, const uint32 *f, int nf, int32 *out)
{
	memset(out, 0, sizeof(int32) * wc->T);
	for (int k = 0; k < nf; k++)
	{
		const int16 *row = wc->w + (Size) f[k] * wc->T;

		for (int t = 0; t < wc->T; t++)
			out[t] += row[t];
	}
}

/*
 * The history features of a token depend on five small numbers (see
 * history_buckets), so their rows are summed once for every value: by
 * (v, first, pv) for the first three features and (v, nv, low) for the
 * other two, in the current memory context.  A class index of V stands
 * for 63, no neighbour.
 */
static void
history_tables(WordCache *wc, int nlabels)
{
	int			V = nlabels + 2;
	int			P = V + 1;
	int			T = wc->T;
	uint32		d[NER_NHIST];

	wc->hist_classes = V;
	wc->hist_first = palloc(sizeof(int32) * V * 2 * P * T);
	wc->hist_next = palloc(sizeof(int32) * V * P * 5 * T);
	for (int v = 0; v < V; v++)
		for (int nb = 0; nb < P; nb++)
		{
			int			other = nb == V ? 63 : nb;

			for (int first = 0; first < 2; first++)
			{
				history_buckets(wc->bits, v, first, other, 0, 0, d);
				rows_sum(wc, d, 3, wc->hist_first + ((v * 2 + first) * P + nb) * T);
			}
			for (int low = 0; low < 5; low++)
			{
				history_buckets(wc->bits, v, false, 0, other, low, d);
				rows_sum(wc, d + 3, 2, wc->hist_next + ((v * P + nb) * 5 + low) * T);
			}
		}
}

/* The cache of m's weight table domain, made at its first use. */
static WordCache *
word_cache(const NerModel *m, int domain)
{
	/* the caches are the only part of a loaded model that tagging changes */
	NerModel   *mm = (NerModel *) m;
	WordCache  *wc = mm->wcache[domain];
	MemoryContext old;
	uint32		f[NER_NFEAT];
	int			T = m->ntags;

	if (wc != NULL)
		return wc;
	old = MemoryContextSwitchTo(mm->cxt);
	wc = palloc0(sizeof(WordCache));
	wc->T = T;
	wc->bits = m->bits;
	wc->v2 = m->nfeat > NER_NFEAT_V1;
	wc->use_gaz = (m->flags & NER_FLAG_GAZETTEER) != 0;
	wc->w = m->qweights + ((Size) domain << m->bits) * T;
	wc->stride = WC_STRIDE(T);
	wc->slot_bits = WC_MAX_SLOT_BITS;
	while (wc->slot_bits > WC_MIN_SLOT_BITS && (wc->stride << wc->slot_bits) > WC_MAX_BYTES)
		wc->slot_bits--;
	wc->slots = palloc0(wc->stride << wc->slot_bits);
	wc->scratch = palloc0(wc->stride);
	wc->edge = palloc0(sizeof(int32) * WC_NROLES * T);
	neighbour_features(wc->bits, wc->v2, boundary_info(false), 0, f);
	f[6] = bucket(wc->bits, 6, boundary_info(false)->lower);
	role_sums(wc, WC_AS_P1, f, wc->edge + WC_AS_P1 * T);
	role_sums(wc, WC_AS_P2, f, wc->edge + WC_AS_P2 * T);
	neighbour_features(wc->bits, wc->v2, boundary_info(true), 1, f);
	f[7] = bucket(wc->bits, 7, boundary_info(true)->lower);
	role_sums(wc, WC_AS_N1, f, wc->edge + WC_AS_N1 * T);
	role_sums(wc, WC_AS_N2, f, wc->edge + WC_AS_N2 * T);
	if (wc->v2 && m->nlabels <= WC_HIST_LABELS)
		history_tables(wc, m->nlabels);
	wc->hashes = palloc(sizeof(uint64) * NER_MAX_SENTENCE);
	wc->keys = palloc(sizeof(uint64) * NER_MAX_SENTENCE);
	wc->prepared = palloc(sizeof(bool) * NER_MAX_SENTENCE);
	wc->prep = palloc(sizeof(WordPrep) * NER_MAX_SENTENCE);
	wc->ti = palloc0(sizeof(TokInfo) * NER_MAX_SENTENCE);
	wc->gaz = palloc(sizeof(NerGazWord) * NER_MAX_SENTENCE);
	wc->hits = palloc0(sizeof(NerGazHit) * NER_MAX_SENTENCE);
	wc->feats = palloc(sizeof(uint32) * NER_MAX_SENTENCE * (WC_NCONTEXT + NER_NHIST));
	wc->dyn = palloc(sizeof(uint32) * NER_MAX_SENTENCE * NER_NHIST);
	wc->hist_v = palloc(sizeof(int) * NER_MAX_SENTENCE);
	wc->hist_low = palloc(sizeof(int) * NER_MAX_SENTENCE);
	wc->sums_of = palloc(sizeof(int32 *) * NER_MAX_SENTENCE);
	wc->kept = palloc(sizeof(int32) * NER_MAX_SENTENCE * WC_NROLES * T);
	/* Viterbi reads em in groups of four, past a sentence's last T */
	wc->em = palloc0(sizeof(float) * (NER_MAX_SENTENCE * T + 4));
	wc->gaz_zero[0] = bucket(wc->bits, 21, 0);
	wc->gaz_zero[1] = bucket(wc->bits, 22, 0);
#ifdef NER_AVX2
	wc->avx2 = __builtin_cpu_supports("avx2");
#endif
	MemoryContextSwitchTo(old);
	mm->wcache[domain] = wc;
	return wc;
}

/*
 * Whether e holds the word of token tok of s: its length, flags and bytes
 * compared in full, eight at a time (an entry's bytes are padded with
 * zeros; an empty entry's length is 0, which no token has).
 */
static inline bool
word_matches(const WordCache *wc, const WordEntry *e, const char *s, const NerToken *tok)
{
	int			n = tok->end - tok->start;

	if (e->len != n || e->flags != tok->flags)
		return false;
	for (int i = 0; i < n; i += 8)
	{
		uint64		kept;

		memcpy(&kept, e->bytes + i, 8);
		if (kept != load_bytes(s + tok->start + i, Min(8, n - i), wc->text_end))
			return false;
	}
	return true;
}

/*
 * Fills e, the slot of token tok of s (or the scratch entry for a word too
 * long to keep), with its word, from wp when the caller prepared it, else
 * prepared here.  T is wc->T, as tag_sentence_t has it.
 */
static pg_attribute_always_inline void
word_store_t(WordCache *wc, int T, WordEntry *e, const char *s, const NerToken *tok,
			 bool utf8, WordPrep *wp)
{
	int			n = tok->end - tok->start;
	WordPrep	own;

	if (wp == NULL)
	{
		word_prepare(wc, s, tok, utf8, &own);
		wp = &own;
	}
	if (e == wc->scratch)
	{
		word_fill_t(wc, T, e, s, tok, wp);
		return;
	}
	/* empty while it is filled: an error in between leaves no half entry */
	e->len = 0;
	word_fill_t(wc, T, e, s, tok, wp);
	e->flags = tok->flags;
	memset(e->bytes, 0, WC_MAXLEN);
	memcpy(e->bytes, s + tok->start, n);
	e->len = n;
}

/*
 * Before the entry e is filled with another word, the tokens of the
 * sentence so far (0..i) that read their sums from it get a copy of them
 * in wc->kept, so that the sums of a whole sentence stay readable until
 * its scores are summed.
 */
static void
keep_referenced(WordCache *wc, const WordEntry *e, int i)
{
	Size		r = (Size) WC_NROLES * wc->T;
	int32	   *copy = NULL;

	for (int j = 0; j < i; j++)
		if (wc->sums_of[j] == e->sums)
		{
			if (copy == NULL)
			{
				copy = wc->kept + j * r;
				memcpy(copy, e->sums, sizeof(int32) * r);
			}
			wc->sums_of[j] = copy;
		}
}

/*
 * The emission scores em[T] of one token: the sum of the np cached sums
 * part[] and of the nf weight rows of buckets f[], times qscale, as
 * float(double(sum) * qscale).  The sum is exact int32 arithmetic, so its
 * order does not matter; eight tags at a time, kept in registers.  With
 * nine tags (the default model), the ninth is summed in the same pass as
 * the first eight, from the same row and part addresses.
 */
static pg_attribute_always_inline void
token_scores_t(int T, const int32 *const *part, int np, const int16 *w, const uint32 *f,
			   int nf, double qscale, float *em)
{
	int			c = 0;

	if (T == 9)
	{
		v8si		acc,
					x;
		v8hi		row;
		v8sf		out;
		int32		acc8 = part[0][8];

		memcpy(&acc, part[0], sizeof(acc));
		for (int p = 1; p < np; p++)
		{
			memcpy(&x, part[p], sizeof(x));
			acc += x;
			acc8 += part[p][8];
		}
		for (int k = 0; k < nf; k++)
		{
			const int16 *r = w + (Size) f[k] * T;

			memcpy(&row, r, sizeof(row));
			acc += __builtin_convertvector(row, v8si);
			acc8 += r[8];
		}
		out = __builtin_convertvector(__builtin_convertvector(acc, v8df) * qscale, v8sf);
		memcpy(em, &out, sizeof(out));
		em[8] = (float) (acc8 * qscale);
		return;
	}
	for (; c + 8 <= T; c += 8)
	{
		v8si		acc,
					x;
		v8hi		row;
		v8sf		out;

		memcpy(&acc, part[0] + c, sizeof(acc));
		for (int p = 1; p < np; p++)
		{
			memcpy(&x, part[p] + c, sizeof(x));
			acc += x;
		}
		for (int k = 0; k < nf; k++)
		{
			memcpy(&row, w + (Size) f[k] * T + c, sizeof(row));
			acc += __builtin_convertvector(row, v8si);
		}
		out = __builtin_convertvector(__builtin_convertvector(acc, v8df) * qscale, v8sf);
		memcpy(em + c, &out, sizeof(out));
	}
	for (; c < T; c++)
	{
		int32		acc = part[0][c];

		for (int p = 1; p < np; p++)
			acc += part[p][c];
		for (int k = 0; k < nf; k++)
			acc += w[(Size) f[k] * T + c];
		em[c] = (float) (acc * qscale);
	}
}

/* tag_sentence with T known to the compiler where the caller's is constant. */
static pg_attribute_always_inline void
tag_sentence_t(const NerModel *m, WordCache *wc, int T, bool avx2, History *hist, const char *s,
			   const NerToken *toks, int n, uint8 *tags)
{
	bool		utf8 = GetDatabaseEncoding() == PG_UTF8;
	int			nf = WC_NCONTEXT + (hist && wc->hist_first == NULL ? NER_NHIST : 0);
	const int32 *const *sums = wc->sums_of;
	uint8		stamp = ++wc->stamp;

	for (int i = 0; i < n; i++)
	{
		int			len = toks[i].end - toks[i].start;
		const char *e;

		wc->hashes[i] = word_hash(s + toks[i].start, len, toks[i].flags, wc->text_end);
		e = (const char *) WC_SLOT(wc, wc->hashes[i]);
		/* WC_STRIDE(T) is constant where T is: the loop unrolled */
		for (Size b = 0; b < WC_STRIDE(T); b += 64)
			__builtin_prefetch(e + b);
	}
	/* the words missing, prepared together so that their table probes overlap */
	for (int i = 0; i < n; i++)
	{
		wc->prepared[i] = toks[i].end - toks[i].start > WC_MAXLEN ||
			!word_matches(wc, WC_SLOT(wc, wc->hashes[i]), s, &toks[i]);
		if (wc->prepared[i])
			word_prepare(wc, s, &toks[i], utf8, &wc->prep[i]);
	}
	for (int i = 0; i < n; i++)
	{
		WordEntry  *e = toks[i].end - toks[i].start > WC_MAXLEN ? wc->scratch :
			WC_SLOT(wc, wc->hashes[i]);
		/*
		 * A word that matched above still does unless its slot was filled
		 * since, which only a slot this sentence read can have been (or
		 * one read 256 sentences ago: checked again, no harm); only the
		 * tokens of such a slot need keep_referenced.
		 */
		bool		read = e->stamp == stamp;

		if ((wc->prepared[i] || read) &&
			(e == wc->scratch || !word_matches(wc, e, s, &toks[i])))
		{
			if (read)
				keep_referenced(wc, e, i);
			word_store_t(wc, T, e, s, &toks[i], utf8,
						 wc->prepared[i] ? &wc->prep[i] : NULL);
		}
		e->stamp = stamp;
		wc->sums_of[i] = e->sums;
		wc->ti[i].lower = e->lower;
		wc->ti[i].shape = e->shape;
		wc->ti[i].mlower = e->mlower;
		wc->ti[i].mshape = e->mshape;
		wc->gaz[i] = e->gaz;
		wc->keys[i] = e->capital == 0 ? 0 : e->capital == 1 ? HIST_KEY(e->lower) :
			HIST_KEY(e->lower) | HIST_CAPITAL;
	}

	if (wc->use_gaz)
		ner_gazetteer_lookup_words(s, toks, wc->gaz, n, wc->hits);
	for (int i = 0; i < n; i++)
	{
		TokInfo    *w = &wc->ti[i];

		w->gaz_begin = wc->use_gaz ? wc->hits[i].begin : 0;
		w->gaz_inside = wc->use_gaz ? wc->hits[i].inside : 0;
	}
	for (int i = 0; i < n; i++)
	{
		const TokInfo *p1 = i > 0 ? &wc->ti[i - 1] : boundary_info(false);
		const TokInfo *n1 = i + 1 < n ? &wc->ti[i + 1] : boundary_info(true);

		context_mixed(wc->bits, &wc->ti[i], p1, n1, wc->gaz_zero, wc->feats + i * nf);
	}
	if (hist && wc->hist_first)
		history_values(hist, wc->keys, n, wc->hist_v, wc->hist_low);
	else if (hist)
	{
		history_features(hist, wc->bits, wc->keys, n, wc->dyn);
		for (int i = 0; i < n; i++)
			memcpy(wc->feats + i * nf + WC_NCONTEXT, wc->dyn + i * NER_NHIST,
				   sizeof(uint32) * NER_NHIST);
	}
	for (int i = 0; i < n; i++)
	{
		const uint32 *f = wc->feats + i * nf;
		const int32 *part[WC_NROLES + 2];
		int			np = WC_NROLES;

		if (i + NER_PREFETCH_AHEAD < n)
			for (int k = 0; k < nf; k++)
			{
				const int16 *row = wc->w + (Size) f[NER_PREFETCH_AHEAD * nf + k] * T;

				/* a row may straddle two cache lines */
				__builtin_prefetch(row);
				__builtin_prefetch(row + T - 1);
			}
		part[0] = sums[i] + WC_OWN * T;
		part[1] = (i > 0 ? sums[i - 1] : wc->edge) + WC_AS_P1 * T;
		part[2] = (i > 1 ? sums[i - 2] : wc->edge) + WC_AS_P2 * T;
		part[3] = (i + 1 < n ? sums[i + 1] : wc->edge) + WC_AS_N1 * T;
		part[4] = (i + 2 < n ? sums[i + 2] : wc->edge) + WC_AS_N2 * T;
		if (hist && wc->hist_first)
		{
			int			V = wc->hist_classes;
			int			P = V + 1;
			const int  *v = wc->hist_v;
			int			pv = i > 0 ? v[i - 1] : V;
			int			nv = i + 1 < n ? v[i + 1] : V;

			part[np++] = wc->hist_first + ((v[i] * 2 + (i == 0)) * P + pv) * T;
			part[np++] = wc->hist_next + ((v[i] * P + nv) * 5 + wc->hist_low[i]) * T;
		}
		token_scores_t(T, part, np, wc->w, f, nf, m->qscale, wc->em + i * T);
	}
	viterbi_t(m->vtrans, T, avx2, wc->em, n, tags);
	if (hist)
		history_add(hist, wc->keys, tags, n);
}

#ifdef NER_AVX2
/*
 * tag_sentence_t of the default model's T compiled for AVX2, which sums
 * eight tags of a token in one instruction and needs fewer register copies
 * in Viterbi; the same integer sums and float operations, so the same tags
 * and scores.  Used when the CPU has AVX2 (WordCache.avx2).
 */
__attribute__((target("avx2")))
static void
tag_sentence_avx2(const NerModel *m, WordCache *wc, History *hist, const char *s,
				  const NerToken *toks, int n, uint8 *tags)
{
	tag_sentence_t(m, wc, NER_COMMON_T, true, hist, s, toks, n, tags);
}
#endif

/*
 * Tags one sentence, tokens toks[0..n) of s[0..len), into tags[n] through
 * the word cache wc; leaves the emission scores in wc->em.  With a history
 * (models of format version 2), adds its features first and the
 * sentence's tags after.
 */
static void
tag_sentence(const NerModel *m, WordCache *wc, History *hist, const char *s, int len,
			 const NerToken *toks, int n, uint8 *tags)
{
	wc->text_end = s + len;
#ifdef NER_AVX2
	if (wc->T == NER_COMMON_T && wc->avx2)
		tag_sentence_avx2(m, wc, hist, s, toks, n, tags);
	else
#endif
	if (wc->T == NER_COMMON_T)
		tag_sentence_t(m, wc, NER_COMMON_T, false, hist, s, toks, n, tags);
	else
		tag_sentence_t(m, wc, wc->T, false, hist, s, toks, n, tags);
}

/* A history for a document tagged by m, or NULL when m has no history features. */
static History *
model_history(const NerModel *m)
{
	return m->nfeat > NER_NFEAT_V1 ? history_acquire(m->nlabels) : NULL;
}

/* Tags s[0..len), sentence by sentence, calling sink for every span. */
void
ner_tag_text(const NerModel *m, const char *s, int len, NerSpanSink sink, void *arg)
{
	ner_tag_text_sentences(m, s, len, sink, NULL, arg);
}

/*
 * ner_tag_text that also hands each sentence's tokens to sentences (when not
 * NULL), for a caller that would otherwise tokenize the text a second time.
 */
void
ner_tag_text_sentences(const NerModel *m, const char *s, int len, NerSpanSink sink,
					   NerSentenceSink sentences, void *arg)
{
	NerTokenizer tz;
	NerToken	toks[NER_MAX_SENTENCE];
	uint8		tags[NER_MAX_SENTENCE];
	History    *hist = model_history(m);
	WordCache  *wc = word_cache(m, m->ntables > 1 ? text_domain(s, len) : 0);
	int			n;
	int			count = 0;

	ner_tokenizer_init(&tz, s, len);
	while ((n = ner_next_sentence(&tz, toks, NER_MAX_SENTENCE)) > 0)
	{
		if (sentences)
			sentences(s, toks, n, arg);
		tag_sentence(m, wc, hist, s, len, toks, n, tags);
		emit_spans(m, toks, n, tags, wc->em, sink, arg);
		if (++count % 1024 == 0)
			CHECK_FOR_INTERRUPTS();
	}
	if (hist)
		history_release(hist);
}

/* ---- training data ---- */

typedef struct Sentence
{
	int			n;
	uint32	   *feats;			/* n * NER_NFEAT */
	uint64	   *keys;			/* n history keys */
	uint8	   *gold;			/* n tags */
	uint8		domain;			/* sentence_domain */
} Sentence;

/* Labels of a training or evaluation run: fixed (given), or found in the data. */
typedef struct LabelSet
{
	int			n;
	char	   *names[NER_MAX_LABELS];
	bool		fixed;			/* unknown labels: ignored (training) */
	bool		strict;			/* unknown labels: error (evaluation) */
} LabelSet;

typedef struct TrainData
{
	MemoryContext cxt;
	int			bits;
	bool		use_gaz;
	bool		domains;		/* option "domains" */
	LabelSet	labels;
	int			nsent;
	int			cap;
	Sentence   *sents;
	int			ndocs;
	int			doccap;
	int		   *doc_first;		/* first sentence of each document */
	uint64		ntokens;
	int			nrows;
} TrainData;

/* Index of label name (len bytes) in ls; -1 when it is to be ignored. */
static int
label_index(LabelSet *ls, const char *name, int len)
{
	char	   *label;

	for (int i = 0; i < ls->n; i++)
		if (strlen(ls->names[i]) == len && memcmp(ls->names[i], name, len) == 0)
			return i;
	label = pnstrdup(name, len);
	if (ls->strict)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("label \"%s\" is not one the model knows", label),
				 errhint("aiml.describe(model) lists the model's labels.")));
	if (ls->fixed)
		return -1;
	check_label_name(label, "annotation");
	if (ls->n == NER_MAX_LABELS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("training data has more than %d labels", NER_MAX_LABELS),
				 errhint("Restrict them with the option \"labels\".")));
	ls->names[ls->n] = label;
	return ls->n++;
}

/*
 * Adds one document (tokens of s, gold tags) as sentences: split before a
 * token that starts a sentence and every NER_MAX_SENTENCE tokens; a chunk
 * that starts inside an entity starts it with B.
 */
static void
add_document(TrainData *td, const char *s, const NerToken *toks, uint8 *gold, int n)
{
	MemoryContext old = MemoryContextSwitchTo(td->cxt);
	int			domain = td->domains ? text_domain(s, n > 0 ? toks[n - 1].end : 0) : 0;

	if (n == 0)
	{
		MemoryContextSwitchTo(old);
		return;
	}
	if (td->ndocs == td->doccap)
	{
		td->doccap = td->doccap ? td->doccap * 2 : 1024;
		td->doc_first = td->doc_first ? repalloc_huge(td->doc_first, sizeof(int) * td->doccap)
			: palloc(sizeof(int) * td->doccap);
	}
	td->doc_first[td->ndocs++] = td->nsent;
	for (int i = 0; i < n;)
	{
		int			j = i + 1;
		Sentence   *st;

		while (j < n && j - i < NER_MAX_SENTENCE && !(toks[j].flags & NER_TOK_SENT_START))
			j++;
		if (td->nsent == td->cap)
		{
			td->cap = td->cap ? td->cap * 2 : 1024;
			td->sents = td->sents ? repalloc_huge(td->sents, sizeof(Sentence) * td->cap)
				: palloc(sizeof(Sentence) * td->cap);
		}
		st = &td->sents[td->nsent++];
		st->n = j - i;
		st->feats = palloc(sizeof(uint32) * st->n * NER_NFEAT);
		st->keys = palloc(sizeof(uint64) * st->n);
		st->gold = palloc(st->n);
		sentence_features(td->bits, NER_NFEAT, td->use_gaz, s, toks + i, st->n, st->feats,
						  st->keys);
		st->domain = domain;
		memcpy(st->gold, gold + i, st->n);
		if (TAG_IS_I(st->gold[0]))
			st->gold[0]--;
		td->ntokens += st->n;
		i = j;
	}
	MemoryContextSwitchTo(old);
}

/* Tokens of a whole text (not split into sentences), growing as needed. */
static NerToken *
tokenize_all(const char *s, int len, int *ntoks)
{
	NerTokenizer tz;
	int			cap = 64,
				n = 0;
	NerToken   *toks = palloc(sizeof(NerToken) * cap);

	ner_tokenizer_init(&tz, s, len);
	for (;;)
	{
		if (n == cap)
		{
			cap *= 2;
			toks = repalloc_huge(toks, sizeof(NerToken) * cap);
		}
		if (!ner_next_token(&tz, &toks[n]))
			break;
		n++;
	}
	*ntoks = n;
	return toks;
}

/* A gold span of the annotation form, in bytes. */
typedef struct GoldSpan
{
	int			start;
	int			end;
	int			label;			/* -1: ignored */
	int			cstart;			/* 1-based characters, for messages */
	int			cend;
} GoldSpan;

/* Orders gold spans by start, then end, for the overlap check. */
static int
goldspan_cmp(const void *a, const void *b)
{
	const GoldSpan *x = a,
			   *y = b;

	return x->start != y->start ? (x->start < y->start ? -1 : 1) :
		(x->end < y->end ? -1 : x->end > y->end);
}

/* A numeric member of an annotation object, with an error naming the row. */
static double
jsonb_member_number(JsonbContainer *obj, const char *key, int row, bool *found)
{
	JsonbValue *v = getKeyJsonValueFromContainer(obj, key, strlen(key), NULL);

	*found = v != NULL;
	if (v == NULL)
		return 0;
	if (v->type != jbvNumeric)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("annotation \"%s\" of row %d must be a number", key, row)));
	return DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(v->val.numeric)));
}

/* One error for every malformed annotation, with the expected shape in the hint. */
static void
bad_annotation(int row, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid annotation in row %d", row),
			 errdetail("%s", detail),
			 errhint("Annotations are a JSON array of {\"label\": ..., \"start\": ..., \"end\": ...} with 1-based character positions, end exclusive, not overlapping.")));
}

/*
 * Parses one row's annotations against a text of nchars characters whose
 * character i starts at byte offs[i]; returns spans sorted, in bytes.
 */
static GoldSpan *
parse_annotations(Jsonb *ann, const int *offs, int nchars, LabelSet *ls, int row,
				  int *nspans)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	int			cap = 8,
				n = 0;
	GoldSpan   *spans = palloc(sizeof(GoldSpan) * cap);

	if (!JB_ROOT_IS_ARRAY(ann) || JB_ROOT_IS_SCALAR(ann))
		bad_annotation(row, "The annotations are not a JSON array.");
	it = JsonbIteratorInit(&ann->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		JsonbValue *lv;
		double		start,
					end;
		bool		has_start,
					has_end;

		if (tok != WJB_ELEM)
			continue;
		if (v.type != jbvBinary || !JsonContainerIsObject(v.val.binary.data))
			bad_annotation(row, "An annotation is not a JSON object.");
		lv = getKeyJsonValueFromContainer(v.val.binary.data, "label", 5, NULL);
		if (lv == NULL || lv->type != jbvString || lv->val.string.len == 0)
			bad_annotation(row, "An annotation has no \"label\" string.");
		start = jsonb_member_number(v.val.binary.data, "start", row, &has_start);
		end = jsonb_member_number(v.val.binary.data, "end", row, &has_end);
		if (!has_start || !has_end)
			bad_annotation(row, "An annotation has no \"start\" or \"end\".");
		if (start != floor(start) || end != floor(end) || start < 1 || end <= start ||
			end > (double) nchars + 1)
			bad_annotation(row, psprintf("The span [%g, %g) is not inside the text of %d characters (positions 1 to %d, end exclusive, end after start).",
										 start, end, nchars, nchars + 1));
		if (n == cap)
		{
			cap *= 2;
			spans = repalloc(spans, sizeof(GoldSpan) * cap);
		}
		spans[n].cstart = (int) start;
		spans[n].cend = (int) end;
		spans[n].start = offs[(int) start - 1];
		spans[n].end = offs[(int) end - 1];
		spans[n].label = label_index(ls, lv->val.string.val, lv->val.string.len);
		n++;
	}
	qsort(spans, n, sizeof(GoldSpan), goldspan_cmp);
	for (int i = 1; i < n; i++)
		if (spans[i].start < spans[i - 1].end)
			bad_annotation(row, psprintf("The spans [%d, %d) and [%d, %d) overlap.",
										 spans[i - 1].cstart, spans[i - 1].cend,
										 spans[i].cstart, spans[i].cend));
	*nspans = n;
	return spans;
}

/* Byte offset of every character of s, plus one past the end. */
static int *
char_offsets(const char *s, int len, int *nchars)
{
	int		   *offs = palloc(sizeof(int) * (len + 1));
	int			n = 0;

	for (int b = 0; b < len; b += pg_mblen(s + b))
		offs[n++] = b;
	offs[n] = len;
	*nchars = n;
	return offs;
}

/* BIO tags of tokens from sorted gold spans: a token starting inside a span. */
static uint8 *
tags_from_spans(const NerToken *toks, int ntoks, const GoldSpan *spans, int nspans)
{
	uint8	   *tags = palloc0(Max(ntoks, 1));
	int			k = 0;
	int			last_span = -1;

	for (int i = 0; i < ntoks; i++)
	{
		while (k < nspans && spans[k].end <= toks[i].start)
			k++;
		if (k < nspans && spans[k].start <= toks[i].start && spans[k].label >= 0)
		{
			tags[i] = (last_span == k ? 2 : 1) + 2 * spans[k].label;
			last_span = k;
		}
	}
	return tags;
}

/* ---- reading the training query ---- */

typedef void (*RowHandler) (HeapTuple tup, TupleDesc desc, void *arg);

/* Runs sql through a cursor in batches, calling handle for every row. */
static void
for_each_row(const char *sql, RowHandler handle, void *arg)
{
	SPIPlanPtr	plan;
	Portal		portal;

	plan = SPI_prepare(sql, 0, NULL);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
	portal = SPI_cursor_open(NULL, plan, NULL, NULL, true);
	for (;;)
	{
		SPI_cursor_fetch(portal, true, 1000);
		if (SPI_processed == 0)
			break;
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			handle(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, arg);
			CHECK_FOR_INTERRUPTS();
		}
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_cursor_close(portal);
}

/* A text column of an SPI row, or NULL. */
static text *
column_text(HeapTuple tup, TupleDesc desc, int col, bool *isnull)
{
	Datum		d = SPI_getbinval(tup, desc, col, isnull);

	return *isnull ? NULL : DatumGetTextPP(d);
}

/* The query of the annotation form, as (text, jsonb) whatever its column types. */
static char *
annotated_query(const char *query)
{
	return psprintf("SELECT q.t::text, q.a::jsonb FROM (%s) AS q(t, a)", query);
}

/* The query of the CoNLL form, as (text, int8, text, text), in document order. */
static char *
conll_query(const char *query)
{
	return psprintf("SELECT q.d::text, q.p::int8, q.w::text, q.g::text FROM (%s) AS q(d, p, w, g) ORDER BY q.d, q.p",
					query);
}

/* One row of the annotation form: tokenize, tag from the spans, add as sentences. */
static void
train_annotated_row(HeapTuple tup, TupleDesc desc, void *arg)
{
	TrainData  *td = arg;
	bool		null_text,
				null_ann;
	text	   *t = column_text(tup, desc, 1, &null_text);
	Datum		a = SPI_getbinval(tup, desc, 2, &null_ann);
	const char *s;
	int			len,
				nchars,
				ntoks,
				nspans = 0;
	int		   *offs;
	NerToken   *toks;
	GoldSpan   *spans = NULL;
	uint8	   *tags;

	td->nrows++;
	if (null_text)
		return;
	s = VARDATA_ANY(t);
	len = VARSIZE_ANY_EXHDR(t);
	offs = char_offsets(s, len, &nchars);
	if (!null_ann)
		spans = parse_annotations(DatumGetJsonbP(a), offs, nchars, &td->labels,
								  td->nrows, &nspans);
	toks = tokenize_all(s, len, &ntoks);
	tags = tags_from_spans(toks, ntoks, spans, nspans);
	add_document(td, s, toks, tags, ntoks);
}

/* A CoNLL document being gathered: its text (tokens joined by spaces). */
typedef struct ConllDoc
{
	char	   *id;
	StringInfoData text;
	int			n;
	int			cap;
	NerToken   *toks;
	uint8	   *tags;
	int			prev_label;		/* label of the previous token, -1 for O */
} ConllDoc;

typedef struct ConllState
{
	ConllDoc	doc;
	LabelSet   *labels;
	int			nrows;
	void		(*finish) (ConllDoc *doc, void *arg);
	void	   *arg;
} ConllState;

/* Tag of a CoNLL tag string: O, B-X, I-X (IOB1 and BIO), E-X, S-X. */
static uint8
conll_tag(ConllState *cs, const char *tag, int row)
{
	ConllDoc   *d = &cs->doc;
	int			label;
	bool		inside;

	if (strcmp(tag, "O") == 0 || tag[0] == '\0')
	{
		d->prev_label = -1;
		return 0;
	}
	if (strlen(tag) < 3 || tag[1] != '-' || strchr("BIES", tag[0]) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("tag \"%s\" of row %d is not O, B-label or I-label", tag, row),
				 errhint("Tags follow the BIO scheme (IOB1, E- and S- are accepted too).")));
	label = label_index(cs->labels, tag + 2, strlen(tag + 2));
	inside = (tag[0] == 'I' || tag[0] == 'E') && d->prev_label == label && label >= 0;
	d->prev_label = label;
	if (label < 0)
		return 0;
	return inside ? 2 + 2 * label : 1 + 2 * label;
}

/* Flags of a pre-tokenized token, as the tokenizer would give them. */
static int
conll_token_flags(const char *w, int len, bool first, bool after_stop)
{
	NerTokenizer tz;
	NerToken	tok;
	int			flags = 0;

	ner_tokenizer_init(&tz, w, len);
	if (ner_next_token(&tz, &tok))
		flags = tok.flags & ~NER_TOK_SENT_START;
	if (first || after_stop)
		flags |= NER_TOK_SENT_START;
	return flags;
}

/* Hands the gathered document to its consumer and starts a new one. */
static void
conll_flush(ConllState *cs)
{
	if (cs->doc.id != NULL && cs->doc.n > 0)
		cs->finish(&cs->doc, cs->arg);
	if (cs->doc.id)
		pfree(cs->doc.id);
	cs->doc.id = NULL;
	resetStringInfo(&cs->doc.text);
	cs->doc.n = 0;
	cs->doc.prev_label = -1;
}

/* One CoNLL row: a token appended to the current document (a new document id flushes it). */
static void
conll_row(HeapTuple tup, TupleDesc desc, void *arg)
{
	ConllState *cs = arg;
	ConllDoc   *d = &cs->doc;
	bool		null_doc,
				null_word,
				null_tag;
	char	   *id = SPI_getvalue(tup, desc, 1);
	text	   *w = column_text(tup, desc, 3, &null_word);
	text	   *g = column_text(tup, desc, 4, &null_tag);
	char	   *tag;
	int			wlen;
	bool		after_stop;

	(void) SPI_getbinval(tup, desc, 1, &null_doc);
	cs->nrows++;
	if (null_word || VARSIZE_ANY_EXHDR(w) == 0)
		return;
	if (d->id == NULL || null_doc || strcmp(d->id, id ? id : "") != 0)
	{
		conll_flush(cs);
		d->id = pstrdup(id ? id : "");
	}
	if (d->n == d->cap)
	{
		d->cap = d->cap ? d->cap * 2 : 256;
		d->toks = d->toks ? repalloc_huge(d->toks, sizeof(NerToken) * d->cap)
			: palloc(sizeof(NerToken) * d->cap);
		d->tags = d->tags ? repalloc_huge(d->tags, d->cap) : palloc(d->cap);
	}
	tag = null_tag ? "O" : text_to_cstring(g);
	wlen = VARSIZE_ANY_EXHDR(w);
	after_stop = d->n > 0 && d->toks[d->n - 1].end - d->toks[d->n - 1].start == 1 &&
		strchr(".!?", d->text.data[d->toks[d->n - 1].start]) != NULL;
	if (d->n > 0)
		appendStringInfoChar(&d->text, ' ');
	d->toks[d->n].start = d->text.len;
	appendBinaryStringInfo(&d->text, VARDATA_ANY(w), wlen);
	d->toks[d->n].end = d->text.len;
	d->toks[d->n].flags = conll_token_flags(VARDATA_ANY(w), wlen, d->n == 0, after_stop);
	d->tags[d->n] = conll_tag(cs, tag, cs->nrows);
	d->n++;
}

/* Reads the CoNLL query document by document, calling finish for each. */
static void
conll_read(const char *query, LabelSet *labels, void (*finish) (ConllDoc *, void *),
		   void *arg)
{
	ConllState	cs;

	memset(&cs, 0, sizeof(cs));
	initStringInfo(&cs.doc.text);
	cs.doc.prev_label = -1;
	cs.labels = labels;
	cs.finish = finish;
	cs.arg = arg;
	for_each_row(conll_query(query), conll_row, &cs);
	conll_flush(&cs);
}

/* A gathered CoNLL document becomes training sentences. */
static void
train_conll_doc(ConllDoc *doc, void *arg)
{
	TrainData  *td = arg;

	add_document(td, doc->text.data, doc->toks, doc->tags, doc->n);
}

/* ---- training ---- */

typedef struct TrainOptions
{
	int			epochs;
	int64		seed;
	int			bits;
	bool		gazetteer;
	bool		domains;
	AimlStringList labels;
	bool		labels_given;
} TrainOptions;

/* Options of both training forms, with their defaults. */
static void
parse_train_options(Jsonb *options, TrainOptions *o, const char *caller)
{
	AimlOption	spec[] = {
		{"epochs", AIML_OPT_INT, &o->epochs, 1, 1000, NULL, NULL},
		{"seed", AIML_OPT_INT64, &o->seed, 0, (double) PG_INT64_MAX, NULL, NULL},
		{"hash_bits", AIML_OPT_INT, &o->bits, NER_MIN_BITS, NER_MAX_BITS, NULL, NULL},
		{"gazetteer", AIML_OPT_BOOL, &o->gazetteer, 0, 0, NULL, NULL},
		{"domains", AIML_OPT_BOOL, &o->domains, 0, 0, NULL, NULL},
		{"labels", AIML_OPT_STRINGS, &o->labels, 0, 0, NULL, &o->labels_given},
	};

	o->epochs = 10;
	o->seed = 42;
	o->bits = 18;
	o->gazetteer = true;
	o->domains = false;
	o->labels.n = 0;
	o->labels_given = false;
	aiml_parse_options(options, spec, lengthof(spec), caller);
}

/* qsort comparator for label names. */
static int
label_name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/* Sorts labels found in the data by name and renumbers the gold tags. */
static void
sort_labels(TrainData *td)
{
	char	   *sorted[NER_MAX_LABELS];
	int			map[NER_MAX_LABELS];

	memcpy(sorted, td->labels.names, sizeof(char *) * td->labels.n);
	qsort(sorted, td->labels.n, sizeof(char *), label_name_cmp);
	for (int i = 0; i < td->labels.n; i++)
		for (int j = 0; j < td->labels.n; j++)
			if (sorted[j] == td->labels.names[i])
				map[i] = j;
	for (int s = 0; s < td->nsent; s++)
		for (int i = 0; i < td->sents[s].n; i++)
		{
			uint8		t = td->sents[s].gold[i];

			if (t > 0)
				td->sents[s].gold[i] = (TAG_IS_B(t) ? 1 : 2) + 2 * map[TAG_LABEL(t)];
		}
	memcpy(td->labels.names, sorted, sizeof(char *) * td->labels.n);
}

typedef struct Perceptron
{
	int			T;
	int			bits;
	Size		nw;
	float	   *w;
	double	   *u;
	int			ndom;			/* 1, or NER_NDOMAINS with the option "domains" */
	float	   *dw[NER_NDOMAINS];	/* per-domain weights */
	double	   *du[NER_NDOMAINS];
	float	   *tr;
	double	   *tu;
	int64		c;
} Perceptron;

/* One perceptron update of weight i, and its share in the average. */
static inline void
update(float *w, double *u, Size i, float d, int64 c)
{
	w[i] += d;
	u[i] += (double) c * d;
}

/*
 * One perceptron step on a sentence, the next one of its document (whose
 * history the model's tags so far are in); returns the number of wrong tags.
 */
static int
train_sentence(Perceptron *p, const bool *allowed, History *hist, const Sentence *st,
			   uint8 *pred, float *em)
{
	int			T = p->T;
	int			dom = st->domain;
	int			wrong = 0;
	uint32		dyn[NER_MAX_SENTENCE * NER_NHIST];
	float		vt[VT_ROWS(1 + 2 * NER_MAX_LABELS) * VT_MAX_COLS];

	emissions(p->w, T, NER_NFEAT, st->feats, st->n, em, false);
	history_features(hist, p->bits, st->keys, st->n, dyn);
	emissions(p->w, T, NER_NHIST, dyn, st->n, em, true);
	if (p->ndom > 1)
	{
		emissions(p->dw[dom], T, NER_NFEAT, st->feats, st->n, em, true);
		emissions(p->dw[dom], T, NER_NHIST, dyn, st->n, em, true);
	}
	viterbi_table(p->tr, allowed, T, vt);
	viterbi(vt, T, em, st->n, pred);
	history_add(hist, st->keys, pred, st->n);
	for (int i = 0; i < st->n; i++)
	{
		int			g = st->gold[i],
					y = pred[i];
		int			pg = i > 0 ? st->gold[i - 1] : T,
					py = i > 0 ? pred[i - 1] : T;

		if (g != y)
		{
			const uint32 *f = st->feats + (Size) i * NER_NFEAT;

			wrong++;
			for (int k = 0; k < NER_NFEAT; k++)
			{
				update(p->w, p->u, (Size) f[k] * T + g, 1, p->c);
				update(p->w, p->u, (Size) f[k] * T + y, -1, p->c);
				if (p->ndom > 1)
				{
					update(p->dw[dom], p->du[dom], (Size) f[k] * T + g, 1, p->c);
					update(p->dw[dom], p->du[dom], (Size) f[k] * T + y, -1, p->c);
				}
			}
			for (int k = 0; k < NER_NHIST; k++)
			{
				update(p->w, p->u, (Size) dyn[i * NER_NHIST + k] * T + g, 1, p->c);
				update(p->w, p->u, (Size) dyn[i * NER_NHIST + k] * T + y, -1, p->c);
				if (p->ndom > 1)
				{
					update(p->dw[dom], p->du[dom], (Size) dyn[i * NER_NHIST + k] * T + g, 1, p->c);
					update(p->dw[dom], p->du[dom], (Size) dyn[i * NER_NHIST + k] * T + y, -1, p->c);
				}
			}
		}
		if (g != y || pg != py)
		{
			update(p->tr, p->tu, pg * T + g, 1, p->c);
			update(p->tr, p->tu, py * T + y, -1, p->c);
		}
	}
	p->c++;
	return wrong;
}

/* Fisher-Yates with the seeded generator, so a seed fixes the training order. */
static void
shuffle(int *order, int n, AimlRng *rng)
{
	for (int i = n - 1; i > 0; i--)
	{
		int			j = (int) aiml_rng_below(rng, i + 1);
		int			t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
}

/* Averaged weights w - u / c, in place in w. */
static void
average(float *w, const double *u, Size n, int64 c)
{
	for (Size i = 0; i < n; i++)
		w[i] = (float) (w[i] - u[i] / (double) c);
}

/*
 * Trains on td for o->epochs passes in a seeded random order, with a NOTICE
 * at most once a second, and returns the model.
 */
static AimlModel *
train(TrainData *td, const TrainOptions *o, const char *caller)
{
	NerModel	m;
	Perceptron	p;
	AimlRng		rng;
	int		   *order;
	uint8		pred[NER_MAX_SENTENCE];
	float	   *em;
	bool	   *allowed;
	History    *hist;
	float	   *weights;
	TimestampTz last = GetCurrentTimestamp();

	if (td->nsent == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s: the training query returned no tokens", caller),
				 errhint("The query must return at least one row with a non-empty text.")));
	if (td->labels.n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s: the training data has no entity labels", caller),
				 errhint("Annotate at least one span, or give the option \"labels\".")));
	if (!td->labels.fixed)
		sort_labels(td);

	memset(&p, 0, sizeof(p));
	p.T = 1 + 2 * td->labels.n;
	p.bits = td->bits;
	if (((Size) 1 << td->bits) * p.T > NER_MAX_CELLS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("%s: hash_bits %d is too large for %d labels", caller, td->bits,
						td->labels.n),
				 errhint("Use a smaller hash_bits; 2^hash_bits * (2 * labels + 1) must stay below 2^25.")));
	p.nw = ((Size) 1 << td->bits) * p.T;
	p.w = palloc_extended(sizeof(float) * p.nw, MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	p.u = palloc_extended(sizeof(double) * p.nw, MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	p.ndom = td->domains ? NER_NDOMAINS : 1;
	for (int d = 0; d < p.ndom && p.ndom > 1; d++)
	{
		p.dw[d] = palloc_extended(sizeof(float) * p.nw, MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
		p.du[d] = palloc_extended(sizeof(double) * p.nw, MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	}
	p.tr = palloc0(sizeof(float) * (p.T + 1) * p.T);
	p.tu = palloc0(sizeof(double) * (p.T + 1) * p.T);
	p.c = 1;
	allowed = allowed_transitions(td->labels.n, CurrentMemoryContext);
	em = palloc0(sizeof(float) * (NER_MAX_SENTENCE * p.T + 4));	/* see viterbi */
	hist = history_create(td->labels.n, CurrentMemoryContext);
	order = palloc(sizeof(int) * td->ndocs);
	for (int i = 0; i < td->ndocs; i++)
		order[i] = i;
	aiml_rng_seed(&rng, (uint64) o->seed);

	for (int e = 0; e < o->epochs; e++)
	{
		uint64		wrong = 0;

		shuffle(order, td->ndocs, &rng);
		for (int i = 0; i < td->ndocs; i++)
		{
			int			d = order[i];
			int			end = d + 1 < td->ndocs ? td->doc_first[d + 1] : td->nsent;
			TimestampTz now;

			CHECK_FOR_INTERRUPTS();
			history_reset(hist);
			for (int k = td->doc_first[d]; k < end; k++)
				wrong += train_sentence(&p, allowed, hist, &td->sents[k], pred, em);
			if (i % 64 == 0 &&
				TimestampDifferenceExceeds(last, now = GetCurrentTimestamp(), 1000))
			{
				ereport(NOTICE,
						(errmsg("%s: epoch %d of %d, %d of %d documents", caller,
								e + 1, o->epochs, i, td->ndocs)));
				last = now;
			}
		}
		if (TimestampDifferenceExceeds(last, GetCurrentTimestamp(), 1000))
		{
			ereport(NOTICE,
					(errmsg("%s: epoch %d of %d done, %.2f%% of training tokens mistagged",
							caller, e + 1, o->epochs, 100.0 * wrong / td->ntokens)));
			last = GetCurrentTimestamp();
		}
	}
	history_free(hist);
	average(p.w, p.u, p.nw, p.c);
	pfree(p.u);
	weights = p.w;
	if (p.ndom > 1)
	{
		/* Daume's augmentation folded in: domain d tags with shared + own weights. */
		weights = palloc_extended(sizeof(float) * p.nw * p.ndom, MCXT_ALLOC_HUGE);
		for (int d = 0; d < p.ndom; d++)
		{
			average(p.dw[d], p.du[d], p.nw, p.c);
			for (Size i = 0; i < p.nw; i++)
				weights[d * p.nw + i] = p.w[i] + p.dw[d][i];
			pfree(p.dw[d]);
			pfree(p.du[d]);
		}
		pfree(p.w);
	}
	average(p.tr, p.tu, (Size) (p.T + 1) * p.T, p.c);

	memset(&m, 0, sizeof(m));
	m.bits = td->bits;
	m.flags = (td->use_gaz ? NER_FLAG_GAZETTEER : 0) | (p.ndom > 1 ? NER_FLAG_DOMAINS : 0);
	m.ntables = p.ndom;
	m.nlabels = td->labels.n;
	m.labels = td->labels.names;
	m.ntags = p.T;
	m.epochs = o->epochs;
	m.seed = (uint64) o->seed;
	m.sentences = td->nsent;
	m.tokens = td->ntokens;
	m.nfeat = NER_NFEAT;
	m.trans = p.tr;
	m.weights = weights;
	return model_serialize(&m);
}

/* Empty training data; a labels option fixes the label set up front. */
static void
train_data_init(TrainData *td, const TrainOptions *o)
{
	memset(td, 0, sizeof(*td));
	td->cxt = AllocSetContextCreate(CurrentMemoryContext, "aiml ner training data",
									ALLOCSET_DEFAULT_SIZES);
	td->bits = o->bits;
	td->use_gaz = o->gazetteer;
	td->domains = o->domains;
	if (o->labels_given)
	{
		if (o->labels.n == 0 || o->labels.n > NER_MAX_LABELS)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"labels\" must name 1 to %d labels", NER_MAX_LABELS)));
		for (int i = 0; i < o->labels.n; i++)
		{
			check_label_name(o->labels.values[i], "option");
			for (int j = 0; j < i; j++)
				if (strcmp(o->labels.values[i], o->labels.values[j]) == 0)
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("option \"labels\" names \"%s\" twice", o->labels.values[i])));
			td->labels.names[i] = o->labels.values[i];
		}
		td->labels.n = o->labels.n;
		td->labels.fixed = true;
	}
}

/* Both training forms: read the query through SPI, train, return the model. */
static Datum
ner_train_common(FunctionCallInfo fcinfo, bool conll, const char *caller)
{
	char	   *query;
	TrainOptions o;
	TrainData	td;
	AimlModel  *model;
	AimlModel  *result;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s: query must not be NULL", caller)));
	query = text_to_cstring(PG_GETARG_TEXT_PP(0));
	parse_train_options(PG_ARGISNULL(1) ? NULL : PG_GETARG_JSONB_P(1), &o, caller);
	train_data_init(&td, &o);

	SPI_connect();
	if (conll)
		conll_read(query, &td.labels, train_conll_doc, &td);
	else
		for_each_row(annotated_query(query), train_annotated_row, &td);
	model = train(&td, &o, caller);
	MemoryContextDelete(td.cxt);
	result = SPI_palloc(VARSIZE(model));
	memcpy(result, model, VARSIZE(model));
	SPI_finish();
	PG_RETURN_POINTER(result);
}

PG_FUNCTION_INFO_V1(aiml_ner_train);
PG_FUNCTION_INFO_V1(aiml_ner_train_conll);
PG_FUNCTION_INFO_V1(aiml_ner);
PG_FUNCTION_INFO_V1(aiml_ner_evaluate);
PG_FUNCTION_INFO_V1(aiml_ner_default_model);

/* aiml.ner_train(query, options): rows of (text, annotations jsonb). */
Datum
aiml_ner_train(PG_FUNCTION_ARGS)
{
	return ner_train_common(fcinfo, false, "aiml.ner_train");
}

/* aiml.ner_train_conll(query, options): rows of (document, position, token, tag). */
Datum
aiml_ner_train_conll(PG_FUNCTION_ARGS)
{
	return ner_train_common(fcinfo, true, "aiml.ner_train_conll");
}

/* ---- aiml.ner ---- */

typedef struct SpanRows
{
	const NerModel *m;
	const char *s;
	EntityRow  *rows;
	int			n;
	int			cap;
} SpanRows;

/* Collapses runs of whitespace (a span may cross a line break) to one space. */
static char *
collapse_spaces(const char *p, int n)
{
	char	   *out = palloc(n + 1);
	int			k = 0;

	for (int i = 0; i < n; i++)
	{
		if (isspace((unsigned char) p[i]))
		{
			if (k > 0 && out[k - 1] != ' ')
				out[k++] = ' ';
		}
		else
			out[k++] = p[i];
	}
	out[k] = '\0';
	return out;
}

/* Sink of aiml.ner: every span becomes an output row. */
static void
collect_span(const NerSpan *span, void *arg)
{
	SpanRows   *sr = arg;
	EntityRow  *row;

	if (sr->n == sr->cap)
	{
		sr->cap = sr->cap ? sr->cap * 2 : 64;
		sr->rows = sr->rows ? repalloc_huge(sr->rows, sizeof(EntityRow) * sr->cap)
			: palloc(sizeof(EntityRow) * sr->cap);
	}
	row = &sr->rows[sr->n++];
	row->label = sr->m->labels[span->label];
	row->start = span->start;
	row->end = span->end;
	row->text = NULL;
	row->normalized = collapse_spaces(sr->s + span->start, span->end - span->start);
	row->score = span->score;
}

static AimlModel *default_model_value = NULL;
static NerModel *default_model = NULL;

/*
 * A model argument (aiml.ner, extract_entities).  aiml.ner_default_model() hands out the
 * backend's loaded default model value itself, recognized here by its
 * address, so aiml.ner(aiml.ner_default_model(), text) in a per-row query
 * neither copies nor compares 4 MB per row; any other value goes through the
 * per-query model cache.
 */
const NerModel *
ner_model_arg(FunctionCallInfo fcinfo, int argno, void **cache, const char *caller)
{
	if (default_model_value != NULL &&
		DatumGetPointer(PG_GETARG_DATUM(argno)) == (Pointer) default_model_value)
		return default_model;
	return aiml_model_cached_in(fcinfo, argno, cache, AIML_KIND_NER, caller, ner_loader);
}

/* aiml.ner(model, text): the model's spans, as extract_entities returns them. */
Datum
aiml_ner(PG_FUNCTION_ARGS)
{
	const NerModel *m = ner_model_arg(fcinfo, 0, &fcinfo->flinfo->fn_extra, "aiml.ner");
	text	   *t = PG_GETARG_TEXT_PP(1);
	SpanRows	sr;

	memset(&sr, 0, sizeof(sr));
	sr.m = m;
	sr.s = VARDATA_ANY(t);
	ner_tag_text(m, sr.s, VARSIZE_ANY_EXHDR(t), collect_span, &sr);
	entity_rows_emit(fcinfo, sr.s, sr.rows, sr.n);
	return (Datum) 0;
}

/* ---- aiml.ner_evaluate ---- */

typedef struct EvalCounts
{
	const NerModel *m;
	LabelSet	labels;			/* the model's, strict */
	int64		tp[NER_MAX_LABELS];
	int64		fp[NER_MAX_LABELS];
	int64		fn[NER_MAX_LABELS];
	int			nrows;
} EvalCounts;

typedef struct EvalSpan
{
	int			start;
	int			end;
	int			label;
} EvalSpan;

/* Counts matches between sorted gold and predicted spans: exact span and label. */
static void
count_matches(EvalCounts *ec, const EvalSpan *gold, int ng, const EvalSpan *pred, int np)
{
	int			i = 0,
				j = 0;

	for (int k = 0; k < ng; k++)
		ec->fn[gold[k].label]++;
	for (int k = 0; k < np; k++)
		ec->fp[pred[k].label]++;
	while (i < ng && j < np)
	{
		if (gold[i].start == pred[j].start && gold[i].end == pred[j].end)
		{
			if (gold[i].label == pred[j].label)
			{
				ec->tp[gold[i].label]++;
				ec->fn[gold[i].label]--;
				ec->fp[pred[j].label]--;
			}
			i++, j++;
		}
		else if (gold[i].start < pred[j].start ||
				 (gold[i].start == pred[j].start && gold[i].end < pred[j].end))
			i++;
		else
			j++;
	}
}

/* Spans of a tag sequence, in token indexes. */
static EvalSpan *
spans_of_tags(const uint8 *tags, int n, int *nspans)
{
	EvalSpan   *spans = palloc(sizeof(EvalSpan) * (n + 1));
	int			k = 0;

	for (int i = 0; i < n; i++)
	{
		if (!TAG_IS_B(tags[i]))
			continue;
		spans[k].start = i;
		spans[k].label = TAG_LABEL(tags[i]);
		while (i + 1 < n && TAG_IS_I(tags[i + 1]) && TAG_LABEL(tags[i + 1]) == spans[k].label)
			i++;
		spans[k].end = i + 1;
		k++;
	}
	*nspans = k;
	return spans;
}

/* Evaluation of one CoNLL document, sentence by sentence, on its own tokens. */
static void
eval_conll_doc(ConllDoc *doc, void *arg)
{
	EvalCounts *ec = arg;
	const NerModel *m = ec->m;
	uint8		pred[NER_MAX_SENTENCE];
	uint8		gold[NER_MAX_SENTENCE];
	History    *hist = model_history(m);
	WordCache  *wc = word_cache(m, m->ntables > 1 ? text_domain(doc->text.data, doc->text.len) : 0);

	for (int i = 0; i < doc->n;)
	{
		int			j = i + 1,
					ng,
					np;
		EvalSpan   *gs,
				   *ps;

		while (j < doc->n && j - i < NER_MAX_SENTENCE &&
			   !(doc->toks[j].flags & NER_TOK_SENT_START))
			j++;
		tag_sentence(m, wc, hist, doc->text.data, doc->text.len, doc->toks + i, j - i, pred);
		memcpy(gold, doc->tags + i, j - i);
		if (TAG_IS_I(gold[0]))
			gold[0]--;
		gs = spans_of_tags(gold, j - i, &ng);
		ps = spans_of_tags(pred, j - i, &np);
		count_matches(ec, gs, ng, ps, np);
		i = j;
	}
	if (hist)
		history_release(hist);
}

/* Sink of evaluation: spans with their label number kept in the score field. */
static void
collect_eval_span(const NerSpan *span, void *arg)
{
	SpanRows   *sr = arg;

	if (sr->n == sr->cap)
	{
		sr->cap = sr->cap ? sr->cap * 2 : 64;
		sr->rows = sr->rows ? repalloc_huge(sr->rows, sizeof(EntityRow) * sr->cap)
			: palloc(sizeof(EntityRow) * sr->cap);
	}
	sr->rows[sr->n].start = span->start;
	sr->rows[sr->n].end = span->end;
	sr->rows[sr->n].score = span->label;
	sr->n++;
}

/* Evaluation of one annotated row: the model's spans against the gold spans. */
static void
eval_annotated_row(HeapTuple tup, TupleDesc desc, void *arg)
{
	EvalCounts *ec = arg;
	bool		null_text,
				null_ann;
	text	   *t = column_text(tup, desc, 1, &null_text);
	Datum		a = SPI_getbinval(tup, desc, 2, &null_ann);
	const char *s;
	int			len,
				nchars,
				nspans = 0;
	int		   *offs;
	GoldSpan   *spans = NULL;
	EvalSpan   *gold,
			   *pred;
	SpanRows	sr;

	ec->nrows++;
	if (null_text)
		return;
	s = VARDATA_ANY(t);
	len = VARSIZE_ANY_EXHDR(t);
	offs = char_offsets(s, len, &nchars);
	if (!null_ann)
		spans = parse_annotations(DatumGetJsonbP(a), offs, nchars, &ec->labels,
								  ec->nrows, &nspans);
	gold = palloc(sizeof(EvalSpan) * (nspans + 1));
	for (int i = 0; i < nspans; i++)
	{
		gold[i].start = spans[i].start;
		gold[i].end = spans[i].end;
		gold[i].label = spans[i].label;
	}
	memset(&sr, 0, sizeof(sr));
	sr.m = ec->m;
	ner_tag_text(ec->m, s, len, collect_eval_span, &sr);
	pred = palloc(sizeof(EvalSpan) * (sr.n + 1));
	for (int i = 0; i < sr.n; i++)
	{
		pred[i].start = sr.rows[i].start;
		pred[i].end = sr.rows[i].end;
		pred[i].label = (int) sr.rows[i].score;
	}
	count_matches(ec, gold, nspans, pred, sr.n);
}

/* One output row of ner_evaluate; NULL where a ratio has no denominator. */
static void
eval_row_out(Tuplestorestate *ts, TupleDesc desc, const char *label, int64 tp,
			 int64 fp, int64 fn)
{
	Datum		values[5];
	bool		nulls[5] = {false, false, false, false, false};
	double		p = tp + fp > 0 ? (double) tp / (tp + fp) : 0;
	double		r = tp + fn > 0 ? (double) tp / (tp + fn) : 0;

	values[0] = label ? CStringGetTextDatum(label) : (Datum) 0;
	nulls[0] = label == NULL;
	values[1] = Float8GetDatum(p);
	nulls[1] = tp + fp == 0;
	values[2] = Float8GetDatum(r);
	nulls[2] = tp + fn == 0;
	values[3] = Float8GetDatum(p + r > 0 ? 2 * p * r / (p + r) : 0);
	nulls[3] = nulls[1] && nulls[2];
	values[4] = Int64GetDatum(tp + fn);
	tuplestore_putvalues(ts, desc, values, nulls);
}

/*
 * aiml.ner_evaluate(model, query): entity-level precision, recall and F1 per
 * label (exact span and label), then the micro average over all labels in a
 * row whose label is NULL.  The query has the shape of either training
 * form: two columns (text, annotations) or four (document, position, token,
 * tag).
 */
Datum
aiml_ner_evaluate(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	AimlModel  *model = aiml_model_expect(PG_GETARG_DATUM(0), AIML_KIND_NER, "aiml.ner_evaluate");
	char	   *query = text_to_cstring(PG_GETARG_TEXT_PP(1));
	EvalCounts *ec = palloc0(sizeof(EvalCounts));
	SPIPlanPtr	plan;
	int			ncols;
	int64		tp = 0,
				fp = 0,
				fn = 0;

	ec->m = ner_model_load(model, CurrentMemoryContext);
	for (int i = 0; i < ec->m->nlabels; i++)
		ec->labels.names[i] = ec->m->labels[i];
	ec->labels.n = ec->m->nlabels;
	ec->labels.fixed = ec->labels.strict = true;

	SPI_connect();
	plan = SPI_prepare(psprintf("SELECT * FROM (%s) AS q LIMIT 0", query), 0, NULL);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
	SPI_execute_plan(plan, NULL, NULL, true, 0);
	ncols = SPI_tuptable->tupdesc->natts;
	if (ncols == 2)
		for_each_row(annotated_query(query), eval_annotated_row, ec);
	else if (ncols == 4)
		conll_read(query, &ec->labels, eval_conll_doc, ec);
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("aiml.ner_evaluate: the query returns %d columns, not 2 or 4", ncols),
				 errhint("Return (text, annotations jsonb) as for aiml.ner_train, or (document, position, token, tag) as for aiml.ner_train_conll.")));
	SPI_finish();

	InitMaterializedSRF(fcinfo, 0);
	for (int i = 0; i < ec->m->nlabels; i++)
	{
		eval_row_out(rsinfo->setResult, rsinfo->setDesc, ec->m->labels[i], ec->tp[i],
					 ec->fp[i], ec->fn[i]);
		tp += ec->tp[i];
		fp += ec->fp[i];
		fn += ec->fn[i];
	}
	eval_row_out(rsinfo->setResult, rsinfo->setDesc, NULL, tp, fp, fn);
	return (Datum) 0;
}

/* ---- the default model ---- */


/* Reads <share>/extension/aiml/ner/english.model (wire bytes) once per backend. */
static AimlModel *
default_model_read(MemoryContext cxt)
{
	char	   *path = psprintf("%s/english.model", ner_data_directory("ner"));
	FILE	   *f = AllocateFile(path, PG_BINARY_R);
	long		size;
	AimlModel  *m;

	if (f == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FILE),
				 errmsg("default NER model \"%s\" is missing: %m", path),
				 errhint("Reinstall aiml with \"make install\".")));
	if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0 ||
		size > (long) (MaxAllocSize - VARHDRSZ))
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not read default NER model \"%s\": %m", path)));
	m = MemoryContextAlloc(cxt, size + VARHDRSZ);
	if (fread((char *) m + VARHDRSZ, 1, size, f) != (size_t) size)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not read default NER model \"%s\": %m", path)));
	FreeFile(f);
	SET_VARSIZE(m, size + VARHDRSZ);
	(void) aiml_model_expect(PointerGetDatum(m), AIML_KIND_NER, "the default NER model");
	return m;
}

/* The default model, loaded into a long-lived context at first use. */
const NerModel *
ner_default_model(void)
{
	MemoryContext cxt;

	if (default_model != NULL)
		return default_model;
	cxt = AllocSetContextCreate(TopMemoryContext, "aiml default ner model",
								ALLOCSET_DEFAULT_SIZES);
	PG_TRY();
	{
		default_model_value = default_model_read(cxt);
		default_model = ner_model_load(default_model_value, cxt);
	}
	PG_CATCH();
	{
		default_model_value = NULL;
		MemoryContextDelete(cxt);
		PG_RE_THROW();
	}
	PG_END_TRY();
	return default_model;
}

/*
 * aiml.ner_default_model(): the shipped English model as a value.  It is the
 * backend's own loaded copy, not a new one per call: PostgreSQL never
 * modifies or frees a function's by-reference result in place (storing it
 * copies it), and aiml.ner knows it by its address.
 */
Datum
aiml_ner_default_model(PG_FUNCTION_ARGS)
{
	(void) ner_default_model();
	PG_RETURN_POINTER(default_model_value);
}
