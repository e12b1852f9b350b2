/*
 * iforest.c: isolation forests.  aiml.iforest(features [, options]) trains
 * one; aiml.anomaly_score, aiml.is_anomaly and aiml.anomaly_explain use it.
 *
 * Standard splits are axis-parallel (Liu, Ting & Zhou 2008); with
 * extension_level > 0 each split is a random hyperplane with
 * extension_level + 1 non-zero coordinates (Hariri, Carrasco Kind & Brunner,
 * "Extended Isolation Forest", 2019).
 *
 * Sampling.  The aggregate state is a bounded pool: the k rows with the
 * smallest seeded 64-bit hash of their values, ties broken by the values'
 * bytes.  That set depends only on the multiset of rows, never on their order
 * or on how a parallel plan splits them, and partial pools merge by keeping
 * the k smallest of both.  The final function sorts the pool, then each tree
 * draws its sample_size rows from it with the seeded RNG.  So the same rows
 * and options give the same model bytes, serial or parallel.
 *
 * Trees.  All trees' nodes are one flat array of 16-byte nodes in preorder:
 * a split's left child is the next node, its right child is stored; a leaf
 * holds its precomputed path length (depth + c(size)).  Extended splits keep
 * their normal vectors in a side array.  In memory a leaf is rewritten to
 * point at itself with a split feature that reads +Infinity, so the standard
 * traversal is branch-free: every tree moves max_depth steps, all trees in
 * lock step, which lets the CPU overlap their memory loads.
 *
 * Payload (format version 1), little-endian:
 *     u32 nfeatures, u32 trees, u32 sample_size, u32 sample_used,
 *     u32 max_depth, u32 extension_level, u64 seed, u32 missing,
 *     f64 contamination (0: none), f64 threshold, u64 rows_seen,
 *     u32 pool_rows, f64 path_mean, f64 path_min, f64 path_max,
 *     f64 means[nfeatures],
 *     u32 nplanes, f64 normals[nplanes * nfeatures],
 *     u32 node_count[trees],
 *     nodes: f64 value, i32 feature (-1: leaf), u32 right (0 for a leaf),
 *     u32 rows[all nodes]: training rows that reached each node (only
 *     aiml.anomaly_explain reads them, so they stay out of the node array)
 * Every count, index and value is validated when read (forest_read), so a
 * forged payload with a valid checksum cannot make scoring read out of
 * bounds or loop.
 */
#include "postgres.h"

#include <math.h>

#include "anomaly/iforest.h"
#include "common/hashfn.h"
#include "core/arrays.h"
#include "core/json.h"
#include "core/model.h"
#include "core/options.h"
#include "core/rng.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#define IF_MAX_FEATURES		1000
#define IF_MAX_TREES		10000
#define IF_MAX_SAMPLE		65536
#define IF_MAX_DEPTH		100
#define IF_DEFAULT_TREES	100
#define IF_DEFAULT_SAMPLE	256
#define IF_DEFAULT_SEED		42
/* the pool holds at most this many values (64 MB), but always sample_size rows */
#define IF_POOL_MAX_VALUES	(8 * 1024 * 1024)
#define IF_POOL_INITIAL		1024
/* extended splits: tries to find a hyperplane that cuts a node's sample */
#define IF_PLANE_TRIES		10
/* score threshold when no contamination is given (Liu et al.) */
#define IF_DEFAULT_THRESHOLD 0.5

typedef enum IfMissing
{
	IF_MISSING_ERROR = 0,		/* a NULL element is an error */
	IF_MISSING_IMPUTE_MEAN = 1	/* replaced by the sample's mean of that feature */
} IfMissing;

static const char *const missing_names[] = {"error", "impute_mean", NULL};

/* Training options. */
typedef struct IfParams
{
	int			trees;
	int			sample_size;
	int			max_depth;		/* 0: ceil(log2(sample used)) */
	int			extension_level;
	int64		seed;
	double		contamination;	/* 0: none, use IF_DEFAULT_THRESHOLD */
	IfMissing	missing;
} IfParams;

/* Aggregate state: the bottom-k pool, a max-heap on (hash, values). */
typedef struct IfState
{
	IfParams	p;
	int			nfeatures;
	int64		rows_seen;
	int			capacity;		/* k */
	int			allocated;		/* rows allocated so far (grows to k) */
	int			count;
	uint64	   *hash;
	double	   *values;			/* allocated * nfeatures */
	double	   *scratch;		/* one row, for swaps */
	MemoryContext cxt;
} IfState;

/* A node as stored, and (rewritten) as traversed; see the file comment. */
typedef struct IfNode
{
	double		value;			/* split threshold, or leaf path length */
	int32		feature;		/* split feature or hyperplane; leaf: see above */
	uint32		right;			/* right child */
} IfNode;

StaticAssertDecl(sizeof(IfNode) == 16, "an isolation tree node takes 16 bytes");

/* A model in memory, ready to score. */
typedef struct Forest
{
	int			nfeatures;
	int			ntrees;
	int			sample_size;
	int			sample_used;
	int			max_depth;
	int			extension_level;
	uint64		seed;
	IfMissing	missing;
	double		contamination;
	double		threshold;
	uint64		rows_seen;
	int			pool_rows;
	double		path_mean;
	double		path_min;
	double		path_max;
	double		cn;				/* c(sample_used): path length normaliser */
	double	   *means;
	int			nplanes;
	double	   *normals;
	int32		leaf_code;		/* feature value of a leaf in memory */
	uint32	   *root;			/* first node of each tree */
	Size		nnodes;
	IfNode	   *nodes;
	uint32	   *rows;			/* training rows that reached each node */
	uint32	   *cursor;			/* scratch: current node of each tree */
	double	   *x;				/* scratch: one row, plus +Infinity at the end */
} Forest;

/* Expected path length of an unsuccessful BST search among n points. */
static double
average_path_length(double n)
{
	if (n <= 1)
		return 0;
	if (n <= 2)
		return 1;
	return 2.0 * (log(n - 1) + 0.5772156649015329) - 2.0 * (n - 1) / n;
}

/* ---- options ---- */

/* The training options, defaults filled in; errors name the bad option. */
static IfParams
parse_params(Jsonb *options)
{
	IfParams	p;
	char	   *missing = "error";
	bool		contamination_given = false;
	AimlOption	spec[] = {
		{"trees", AIML_OPT_INT, &p.trees, 1, IF_MAX_TREES, NULL, NULL},
		{"sample_size", AIML_OPT_INT, &p.sample_size, 2, IF_MAX_SAMPLE, NULL, NULL},
		{"max_depth", AIML_OPT_INT, &p.max_depth, 1, IF_MAX_DEPTH, NULL, NULL},
		{"seed", AIML_OPT_INT64, &p.seed, 0, 0, NULL, NULL},
		{"contamination", AIML_OPT_FLOAT, &p.contamination, 0, 0.5, NULL, &contamination_given},
		{"extension_level", AIML_OPT_INT, &p.extension_level, 0, IF_MAX_FEATURES - 1, NULL, NULL},
		{"missing", AIML_OPT_STRING, &missing, 0, 0, missing_names, NULL},
	};

	p.trees = IF_DEFAULT_TREES;
	p.sample_size = IF_DEFAULT_SAMPLE;
	p.max_depth = 0;
	p.seed = IF_DEFAULT_SEED;
	p.contamination = 0;
	p.extension_level = 0;
	aiml_parse_options(options, spec, lengthof(spec), "aiml.iforest");
	if (contamination_given && p.contamination <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"contamination\" of aiml.iforest must be greater than 0"),
				 errhint("Give the expected fraction of anomalies, e.g. 0.01, or leave it out for the fixed threshold 0.5.")));
	p.missing = strcmp(missing, "impute_mean") == 0 ? IF_MISSING_IMPUTE_MEAN : IF_MISSING_ERROR;
	return p;
}

/* Rows must all be as wide as the first row, and as the model's rows. */
static void
check_width(int expected, int got, const char *against)
{
	if (expected != got)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("features has %d elements, but %s had %d", got, against, expected),
				 errhint("Every row must have the same number of features, in the same order.")));
}

/* Options that need the number of features: checked at the first row. */
static void
check_params_for_width(const IfParams *p, int nfeatures)
{
	if (nfeatures > IF_MAX_FEATURES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("features has %d elements, more than the %d an isolation forest takes",
						nfeatures, IF_MAX_FEATURES)));
	if (p->extension_level > nfeatures - 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"extension_level\" of aiml.iforest is %d, but with %d features it can be at most %d",
						p->extension_level, nfeatures, nfeatures - 1),
				 errhint("Use 0 for axis-parallel splits, up to the number of features minus 1 for fully random hyperplanes.")));
}

/* ---- the bottom-k pool ---- */

/* k: enough rows for every tree to get its own, within the memory bound. */
static int
pool_capacity(const IfParams *p, int nfeatures)
{
	int64		want = (int64) p->trees * p->sample_size;
	int64		bound = Max((int64) p->sample_size, IF_POOL_MAX_VALUES / nfeatures);

	return (int) Min(want, bound);
}

/* An empty pool in the aggregate's context; storage grows up to k rows. */
static IfState *
state_new(MemoryContext cxt, const IfParams *p, int nfeatures)
{
	IfState    *st = MemoryContextAllocZero(cxt, sizeof(IfState));

	st->p = *p;
	st->nfeatures = nfeatures;
	st->cxt = cxt;
	st->capacity = pool_capacity(p, nfeatures);
	st->allocated = Min(st->capacity, IF_POOL_INITIAL);
	st->hash = MemoryContextAlloc(cxt, sizeof(uint64) * st->allocated);
	st->values = MemoryContextAlloc(cxt, sizeof(double) * nfeatures * st->allocated);
	st->scratch = MemoryContextAlloc(cxt, sizeof(double) * nfeatures);
	return st;
}

/* Doubles the pool's storage, never beyond its capacity k. */
static void
pool_grow(IfState *st)
{
	int			n = (int) Min((int64) st->allocated * 2, (int64) st->capacity);

	st->hash = repalloc(st->hash, sizeof(uint64) * n);
	st->values = repalloc(st->values, sizeof(double) * st->nfeatures * n);
	st->allocated = n;
}

/* The values of pool entry i. */
static inline double *
pool_row(const IfState *st, int i)
{
	return st->values + (Size) i * st->nfeatures;
}

/* The pool's total order: hash first, then the values' bytes. */
static inline int
entry_cmp(uint64 ha, const double *a, uint64 hb, const double *b, int nfeatures)
{
	if (ha != hb)
		return ha < hb ? -1 : 1;
	return memcmp(a, b, sizeof(double) * nfeatures);
}

/* Orders pool entries i and j (see entry_cmp). */
static inline int
pool_cmp(const IfState *st, int i, int j)
{
	return entry_cmp(st->hash[i], pool_row(st, i), st->hash[j], pool_row(st, j),
					 st->nfeatures);
}

/* Exchanges two pool entries, hash and values. */
static void
pool_swap(IfState *st, int i, int j)
{
	Size		bytes = sizeof(double) * st->nfeatures;
	uint64		h = st->hash[i];

	st->hash[i] = st->hash[j];
	st->hash[j] = h;
	memcpy(st->scratch, pool_row(st, i), bytes);
	memcpy(pool_row(st, i), pool_row(st, j), bytes);
	memcpy(pool_row(st, j), st->scratch, bytes);
}

/* Max-heap repair after appending: the largest entry stays at the root. */
static void
pool_sift_up(IfState *st, int i)
{
	while (i > 0 && pool_cmp(st, (i - 1) / 2, i) < 0)
	{
		pool_swap(st, (i - 1) / 2, i);
		i = (i - 1) / 2;
	}
}

/* Max-heap repair after replacing the root or building from scratch. */
static void
pool_sift_down(IfState *st, int i)
{
	for (;;)
	{
		int			l = 2 * i + 1,
					r = l + 1,
					largest = i;

		if (l < st->count && pool_cmp(st, l, largest) > 0)
			largest = l;
		if (r < st->count && pool_cmp(st, r, largest) > 0)
			largest = r;
		if (largest == i)
			return;
		pool_swap(st, i, largest);
		i = largest;
	}
}

/* Keeps the row if it is among the k smallest seen so far. */
static void
pool_offer(IfState *st, uint64 h, const double *x)
{
	Size		bytes = sizeof(double) * st->nfeatures;

	if (st->count < st->capacity)
	{
		if (st->count == st->allocated)
			pool_grow(st);
		st->hash[st->count] = h;
		memcpy(pool_row(st, st->count), x, bytes);
		st->count++;
		pool_sift_up(st, st->count - 1);
		return;
	}
	if (entry_cmp(h, x, st->hash[0], pool_row(st, 0), st->nfeatures) >= 0)
		return;
	st->hash[0] = h;
	memcpy(pool_row(st, 0), x, bytes);
	pool_sift_down(st, 0);
}

/* The seeded hash that ranks a row in the pool: the same for the same values. */
static uint64
row_hash(const double *x, int nfeatures, uint64 seed)
{
	return hash_bytes_extended((const unsigned char *) x,
							   (int) (sizeof(double) * nfeatures), seed);
}

/* ---- aggregate ---- */

PG_FUNCTION_INFO_V1(aiml_iforest_accum);
PG_FUNCTION_INFO_V1(aiml_iforest_combine);
PG_FUNCTION_INFO_V1(aiml_iforest_serialize);
PG_FUNCTION_INFO_V1(aiml_iforest_deserialize);
PG_FUNCTION_INFO_V1(aiml_iforest_final);
PG_FUNCTION_INFO_V1(aiml_anomaly_score);
PG_FUNCTION_INFO_V1(aiml_is_anomaly);
PG_FUNCTION_INFO_V1(aiml_anomaly_explain);

/* aiml_array_doubles flags for the missing-value policy: NULL elements as NaN. */
static int
missing_flags(IfMissing missing)
{
	return missing == IF_MISSING_IMPUTE_MEAN ? AIML_ARRAY_ALLOW_NULLS : 0;
}

/* aiml_iforest_accum(state, features [, options]): NULL rows are skipped. */
Datum
aiml_iforest_accum(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	IfState    *st = PG_ARGISNULL(0) ? NULL : (IfState *) PG_GETARG_POINTER(0);
	IfParams	p;
	const double *x;
	int			n;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "aiml_iforest_accum called in non-aggregate context");
	if (PG_ARGISNULL(1))
		PG_RETURN_POINTER(st);

	if (st == NULL)
		p = parse_params(PG_NARGS() > 2 && !PG_ARGISNULL(2) ? PG_GETARG_JSONB_P(2) : NULL);
	else
		p = st->p;
	x = aiml_array_doubles(PG_GETARG_ARRAYTYPE_P(1), &n, missing_flags(p.missing), "features");
	if (st == NULL)
	{
		check_params_for_width(&p, n);
		st = state_new(aggcxt, &p, n);
	}
	check_width(st->nfeatures, n, "earlier rows");

	st->rows_seen++;
	pool_offer(st, row_hash(x, n, (uint64) st->p.seed), x);
	PG_RETURN_POINTER(st);
}

/* Merges partial pools: the k smallest entries of both, as one pool would keep. */
Datum
aiml_iforest_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	IfState    *a = PG_ARGISNULL(0) ? NULL : (IfState *) PG_GETARG_POINTER(0);
	IfState    *b = PG_ARGISNULL(1) ? NULL : (IfState *) PG_GETARG_POINTER(1);

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "aiml_iforest_combine called in non-aggregate context");
	if (b == NULL)
		PG_RETURN_POINTER(a);
	if (a == NULL)
		a = state_new(aggcxt, &b->p, b->nfeatures);
	check_width(a->nfeatures, b->nfeatures, "earlier rows");

	for (int i = 0; i < b->count; i++)
	{
		CHECK_FOR_INTERRUPTS();
		pool_offer(a, b->hash[i], pool_row(b, i));
	}
	a->rows_seen += b->rows_seen;
	PG_RETURN_POINTER(a);
}

/* Options into a serialized aggregate state. */
static void
write_params(StringInfo buf, const IfParams *p)
{
	aiml_write_u32(buf, p->trees);
	aiml_write_u32(buf, p->sample_size);
	aiml_write_u32(buf, p->max_depth);
	aiml_write_u32(buf, p->extension_level);
	aiml_write_u64(buf, (uint64) p->seed);
	aiml_write_f64(buf, p->contamination);
	aiml_write_u32(buf, p->missing);
}

/* Options from a serialized state, with the bounds parse_params enforces. */
static IfParams
read_params(AimlReader *r)
{
	IfParams	p;

	p.trees = aiml_read_u32(r);
	p.sample_size = aiml_read_u32(r);
	p.max_depth = aiml_read_u32(r);
	p.extension_level = aiml_read_u32(r);
	p.seed = (int64) aiml_read_u64(r);
	p.contamination = aiml_read_f64(r);
	p.missing = aiml_read_u32(r);
	if (p.trees < 1 || p.trees > IF_MAX_TREES ||
		p.sample_size < 2 || p.sample_size > IF_MAX_SAMPLE ||
		p.max_depth < 0 || p.max_depth > IF_MAX_DEPTH ||
		p.extension_level < 0 || p.extension_level >= IF_MAX_FEATURES ||
		!(p.contamination >= 0 && p.contamination <= 0.5) ||
		p.missing > IF_MISSING_IMPUTE_MEAN)
		aiml_payload_corrupt(r, "Its options are out of range.");
	return p;
}

/* Partial state to bytes, for parallel workers: options, counts, pool. */
Datum
aiml_iforest_serialize(PG_FUNCTION_ARGS)
{
	IfState    *st = (IfState *) PG_GETARG_POINTER(0);
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoSpaces(&buf, VARHDRSZ);
	write_params(&buf, &st->p);
	aiml_write_u32(&buf, st->nfeatures);
	aiml_write_u64(&buf, st->rows_seen);
	aiml_write_u32(&buf, st->count);
	aiml_write_bytes(&buf, st->hash, sizeof(uint64) * st->count);
	aiml_write_f64s(&buf, st->values, (Size) st->count * st->nfeatures);
	SET_VARSIZE(buf.data, buf.len);
	PG_RETURN_BYTEA_P((bytea *) buf.data);
}

/* Bytes from aiml_iforest_serialize back to a state, every count checked. */
Datum
aiml_iforest_deserialize(PG_FUNCTION_ARGS)
{
	bytea	   *raw = PG_GETARG_BYTEA_PP(0);
	MemoryContext aggcxt;
	AimlReader	r;
	IfState    *st;
	IfParams	p;
	int			n;
	int			count;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "aiml_iforest_deserialize called in non-aggregate context");
	aiml_reader_init_bytes(&r, VARDATA_ANY(raw), VARSIZE_ANY_EXHDR(raw), "iforest state");
	p = read_params(&r);
	n = aiml_read_count(&r, IF_MAX_FEATURES, "features");
	if (n < 1 || p.extension_level > n - 1)
		aiml_payload_corrupt(&r, "Its number of features is out of range.");
	st = state_new(aggcxt, &p, n);
	st->rows_seen = (int64) aiml_read_u64(&r);
	count = aiml_read_count(&r, st->capacity, "pool rows");
	while (st->allocated < count)
		pool_grow(st);
	memcpy(st->hash, aiml_read_bytes(&r, sizeof(uint64) * count), sizeof(uint64) * count);
	aiml_read_f64s(&r, st->values, (Size) count * n);
	aiml_reader_finish(&r);
	st->count = count;
	/* restore the heap property rather than trust it */
	for (int i = count / 2 - 1; i >= 0; i--)
		pool_sift_down(st, i);
	PG_RETURN_POINTER(st);
}

/* ---- training ---- */

/* Grows trees for the final function. */
typedef struct Trainer
{
	const IfParams *p;
	int			nfeatures;
	int			max_depth;
	int			sample_used;
	const double *data;			/* pool rows, sorted, missing values imputed */
	AimlRng		rng;
	IfNode	   *nodes;			/* nodes of the tree being grown */
	uint32	   *rows;			/* sample rows that reached each node */
	int			nnodes;
	int			nodes_allocated;
	double	   *normals;		/* hyperplanes of all trees */
	int			nplanes;
	int			planes_allocated;
	int		   *feature_order;	/* scratch: a random order of features */
	double	   *lo;				/* scratch: bounding box of a node's sample */
	double	   *hi;
	double	   *proj;			/* scratch: projections of a node's sample */
} Trainer;

/* Row i of the canonical sample. */
static inline const double *
trainer_row(const Trainer *t, int i)
{
	return t->data + (Size) i * t->nfeatures;
}

/* Appends a node to the tree being grown; returns its index. */
static int
trainer_new_node(Trainer *t)
{
	if (t->nnodes == t->nodes_allocated)
	{
		t->nodes_allocated *= 2;
		t->nodes = repalloc(t->nodes, sizeof(IfNode) * t->nodes_allocated);
		t->rows = repalloc(t->rows, sizeof(uint32) * t->nodes_allocated);
	}
	return t->nnodes++;
}

/* A leaf stores its path length: its depth plus c(rows it holds). */
static void
make_leaf(Trainer *t, int node, int size, int depth)
{
	t->nodes[node].feature = -1;
	t->nodes[node].right = 0;
	/* a one-row sample: score 0.5 for every point, not 2^0 */
	t->nodes[node].value = t->sample_used == 1 ? 1.0 :
		depth + average_path_length(size);
}

/* Moves rows whose key is <= threshold to the front; returns their number. */
static int
partition_rows(int *idx, const double *key, int n, double threshold)
{
	int			left = 0;

	for (int i = 0; i < n; i++)
		if (key[i] <= threshold)
		{
			int			tmp = idx[left];

			idx[left] = idx[i];
			idx[i] = tmp;
			left++;
		}
	return left;
}

/*
 * An axis-parallel split: features in random order until one is not
 * constant on the sample, then a threshold uniform in [min, max).  Both
 * sides get at least one row.  False when every feature is constant.
 */
static bool
choose_axis_split(Trainer *t, int *idx, int n, int *feature, double *threshold)
{
	int			nf = t->nfeatures;

	for (int j = 0; j < nf; j++)
		t->feature_order[j] = j;
	for (int k = 0; k < nf; k++)
	{
		int			pick = k + (int) aiml_rng_below(&t->rng, nf - k);
		int			q = t->feature_order[pick];
		double		lo = INFINITY,
					hi = -INFINITY,
					thr;

		t->feature_order[pick] = t->feature_order[k];
		t->feature_order[k] = q;
		for (int i = 0; i < n; i++)
		{
			double		v = trainer_row(t, idx[i])[q];

			lo = Min(lo, v);
			hi = Max(hi, v);
		}
		if (!(lo < hi))
			continue;
		thr = aiml_rng_uniform_range(&t->rng, lo, hi);
		if (!(thr < hi))
			thr = lo;
		*feature = q;
		*threshold = thr;
		for (int i = 0; i < n; i++)
			t->proj[i] = trainer_row(t, idx[i])[q];
		return true;
	}
	return false;
}

/* Appends a hyperplane normal to the side array; returns it. */
static double *
trainer_new_plane(Trainer *t)
{
	if (t->nplanes == t->planes_allocated)
	{
		t->planes_allocated *= 2;
		t->normals = repalloc(t->normals,
							  sizeof(double) * t->nfeatures * t->planes_allocated);
	}
	return t->normals + (Size) t->nfeatures * t->nplanes++;
}

/*
 * An extended split: a normal with extension_level + 1 random coordinates
 * drawn N(0, 1), through a point uniform in the sample's bounding box.  A
 * plane that leaves one side empty is redrawn, a few times at most.
 */
static bool
choose_plane_split(Trainer *t, int *idx, int n, int *feature, double *threshold)
{
	int			nf = t->nfeatures;
	int			nonzero = t->p->extension_level + 1;
	double	   *normal = trainer_new_plane(t);
	bool		spread = false;

	for (int j = 0; j < nf; j++)
	{
		t->lo[j] = INFINITY;
		t->hi[j] = -INFINITY;
	}
	for (int i = 0; i < n; i++)
		for (int j = 0; j < nf; j++)
		{
			double		v = trainer_row(t, idx[i])[j];

			t->lo[j] = Min(t->lo[j], v);
			t->hi[j] = Max(t->hi[j], v);
		}
	for (int j = 0; j < nf; j++)
		spread |= t->lo[j] < t->hi[j];

	for (int attempt = 0; spread && attempt < IF_PLANE_TRIES; attempt++)
	{
		double		thr = 0;
		int			left = 0;

		memset(normal, 0, sizeof(double) * nf);
		for (int j = 0; j < nf; j++)
			t->feature_order[j] = j;
		for (int k = 0; k < nonzero; k++)
		{
			int			pick = k + (int) aiml_rng_below(&t->rng, nf - k);
			int			q = t->feature_order[pick];

			t->feature_order[pick] = t->feature_order[k];
			t->feature_order[k] = q;
			normal[q] = aiml_rng_normal(&t->rng);
		}
		for (int j = 0; j < nf; j++)
			thr += normal[j] * aiml_rng_uniform_range(&t->rng, t->lo[j], t->hi[j]);
		for (int i = 0; i < n; i++)
		{
			const double *x = trainer_row(t, idx[i]);
			double		d = 0;

			for (int j = 0; j < nf; j++)
				d += normal[j] * x[j];
			t->proj[i] = d;
			left += d <= thr;
		}
		if (left > 0 && left < n && isfinite(thr))
		{
			*feature = t->nplanes - 1;
			*threshold = thr;
			return true;
		}
	}
	t->nplanes--;
	return false;
}

/* Grows the subtree of rows idx[0..n-1] at depth, in preorder. */
static void
grow(Trainer *t, int *idx, int n, int depth)
{
	int			node = trainer_new_node(t);
	int			feature;
	double		threshold;
	bool		split;
	int			left;

	check_stack_depth();
	CHECK_FOR_INTERRUPTS();
	t->rows[node] = n;
	if (depth >= t->max_depth || n <= 1)
	{
		make_leaf(t, node, n, depth);
		return;
	}
	if (t->p->extension_level > 0)
		split = choose_plane_split(t, idx, n, &feature, &threshold);
	else
		split = choose_axis_split(t, idx, n, &feature, &threshold);
	if (!split)
	{
		make_leaf(t, node, n, depth);
		return;
	}
	left = partition_rows(idx, t->proj, n, threshold);
	Assert(left > 0 && left < n);
	t->nodes[node].value = threshold;
	t->nodes[node].feature = feature;
	grow(t, idx, left, depth + 1);
	t->nodes[node].right = t->nnodes;	/* relative to the tree's root */
	grow(t, idx + left, n - left, depth + 1);
}

/* qsort_arg comparator: pool rows in their hash order. */
static int
pool_index_cmp(const void *a, const void *b, void *arg)
{
	return pool_cmp((const IfState *) arg, *(const int *) a, *(const int *) b);
}

/*
 * The pool's rows in canonical (hash, values) order, missing values replaced
 * by the means of the pool, which are returned in means.
 */
static double *
canonical_sample(const IfState *st, double *means)
{
	int			n = st->count,
				nf = st->nfeatures;
	int		   *order = palloc(sizeof(int) * n);
	double	   *data = palloc(sizeof(double) * nf * (Size) n);

	for (int i = 0; i < n; i++)
		order[i] = i;
	qsort_arg(order, n, sizeof(int), pool_index_cmp, (void *) st);
	for (int i = 0; i < n; i++)
		memcpy(data + (Size) i * nf, pool_row(st, order[i]), sizeof(double) * nf);

	for (int j = 0; j < nf; j++)
	{
		double		sum = 0;
		int			seen = 0;

		for (int i = 0; i < n; i++)
			if (!isnan(data[(Size) i * nf + j]))
			{
				sum += data[(Size) i * nf + j];
				seen++;
			}
		/* a feature NULL in every sampled row is imputed as 0 */
		means[j] = seen > 0 ? sum / seen : 0;
		for (int i = 0; i < n; i++)
			if (isnan(data[(Size) i * nf + j]))
				data[(Size) i * nf + j] = means[j];
	}
	return data;
}

/* A tree's nodes into the payload, 16 bytes each. */
static void
write_tree_nodes(StringInfo buf, const IfNode *nodes, int n)
{
	for (int i = 0; i < n; i++)
	{
		aiml_write_f64(buf, nodes[i].value);
		aiml_write_i32(buf, nodes[i].feature);
		aiml_write_u32(buf, nodes[i].right);
	}
}

static Forest *forest_read(const char *data, Size len, MemoryContext cxt);
static double forest_path_length(Forest *f, const double *x);
static double score_of_path(const Forest *f, double path);

/* qsort comparator: ascending doubles. */
static int
double_cmp(const void *a, const void *b)
{
	double		x = *(const double *) a,
				y = *(const double *) b;

	return x < y ? -1 : x > y ? 1 : 0;
}

/* Scores the training sample: path length statistics and the threshold. */
static void
sample_statistics(Forest *f, const double *data, int n, double contamination,
				  double *path_mean, double *path_min, double *path_max,
				  double *threshold)
{
	double	   *scores = palloc(sizeof(double) * n);
	double		sum = 0;

	*path_min = INFINITY;
	*path_max = -INFINITY;
	for (int i = 0; i < n; i++)
	{
		double		h = forest_path_length(f, data + (Size) i * f->nfeatures);

		if ((i & 1023) == 0)
			CHECK_FOR_INTERRUPTS();
		sum += h;
		*path_min = Min(*path_min, h);
		*path_max = Max(*path_max, h);
		scores[i] = score_of_path(f, h);
	}
	*path_mean = sum / n;

	*threshold = IF_DEFAULT_THRESHOLD;
	if (contamination > 0 && n >= 2)
	{
		int			k = (int) rint(contamination * n);

		k = Max(1, Min(n - 1, k));
		qsort(scores, n, sizeof(double), double_cmp);
		/* midway between the k-th highest score and the next below it */
		*threshold = (scores[n - k - 1] + scores[n - k]) / 2;
	}
	pfree(scores);
}

/* Writes the whole model payload; statistics are patched in afterwards. */
Datum
aiml_iforest_final(PG_FUNCTION_ARGS)
{
	IfState    *st = PG_ARGISNULL(0) ? NULL : (IfState *) PG_GETARG_POINTER(0);
	const IfParams *p;
	Trainer		t;
	StringInfoData payload;
	StringInfoData nodes;
	StringInfoData rows;
	double	   *means;
	int		   *perm;
	int		   *idx;
	uint32	   *tree_sizes;
	int			n,
				nf,
				stats_at;
	Forest	   *f;
	double		stats[4];

	if (st == NULL || st->count == 0)
		PG_RETURN_NULL();
	p = &st->p;
	n = st->count;
	nf = st->nfeatures;
	means = palloc(sizeof(double) * nf);

	memset(&t, 0, sizeof(t));
	t.p = p;
	t.nfeatures = nf;
	t.sample_used = Min(p->sample_size, n);
	t.max_depth = p->max_depth > 0 ? p->max_depth :
		Max(1, (int) ceil(log2((double) t.sample_used)));
	t.data = canonical_sample(st, means);
	aiml_rng_seed(&t.rng, (uint64) p->seed);
	t.nodes_allocated = 2 * t.sample_used;
	t.nodes = palloc(sizeof(IfNode) * t.nodes_allocated);
	t.rows = palloc(sizeof(uint32) * t.nodes_allocated);
	t.planes_allocated = 16;
	t.normals = palloc(sizeof(double) * nf * t.planes_allocated);
	t.feature_order = palloc(sizeof(int) * nf);
	t.lo = palloc(sizeof(double) * nf);
	t.hi = palloc(sizeof(double) * nf);
	t.proj = palloc(sizeof(double) * t.sample_used);

	perm = palloc(sizeof(int) * n);
	idx = palloc(sizeof(int) * t.sample_used);
	tree_sizes = palloc(sizeof(uint32) * p->trees);
	for (int i = 0; i < n; i++)
		perm[i] = i;

	initStringInfo(&nodes);
	initStringInfo(&rows);
	for (int tree = 0; tree < p->trees; tree++)
	{
		CHECK_FOR_INTERRUPTS();
		/* a partial Fisher-Yates shuffle draws sample_used distinct rows */
		for (int i = 0; i < t.sample_used; i++)
		{
			int			j = i + (int) aiml_rng_below(&t.rng, n - i);
			int			tmp = perm[i];

			perm[i] = perm[j];
			perm[j] = tmp;
			idx[i] = perm[i];
		}
		t.nnodes = 0;
		grow(&t, idx, t.sample_used, 0);
		tree_sizes[tree] = t.nnodes;
		write_tree_nodes(&nodes, t.nodes, t.nnodes);
		aiml_write_bytes(&rows, t.rows, sizeof(uint32) * t.nnodes);
	}

	initStringInfo(&payload);
	aiml_write_u32(&payload, nf);
	aiml_write_u32(&payload, p->trees);
	aiml_write_u32(&payload, p->sample_size);
	aiml_write_u32(&payload, t.sample_used);
	aiml_write_u32(&payload, t.max_depth);
	aiml_write_u32(&payload, p->extension_level);
	aiml_write_u64(&payload, (uint64) p->seed);
	aiml_write_u32(&payload, p->missing);
	aiml_write_f64(&payload, p->contamination);
	stats_at = payload.len;
	aiml_write_f64(&payload, IF_DEFAULT_THRESHOLD);
	aiml_write_u64(&payload, st->rows_seen);
	aiml_write_u32(&payload, n);
	aiml_write_f64(&payload, 0);	/* path_mean, path_min, path_max */
	aiml_write_f64(&payload, 0);
	aiml_write_f64(&payload, 0);
	aiml_write_f64s(&payload, means, nf);
	aiml_write_u32(&payload, t.nplanes);
	aiml_write_f64s(&payload, t.normals, (Size) t.nplanes * nf);
	for (int tree = 0; tree < p->trees; tree++)
		aiml_write_u32(&payload, tree_sizes[tree]);
	aiml_write_bytes(&payload, nodes.data, nodes.len);
	aiml_write_bytes(&payload, rows.data, rows.len);
	pfree(nodes.data);
	pfree(rows.data);

	/* read our own payload back (validating it), score the sample, patch */
	f = forest_read(payload.data, payload.len, CurrentMemoryContext);
	sample_statistics(f, t.data, n, p->contamination,
					  &stats[1], &stats[2], &stats[3], &stats[0]);
	memcpy(payload.data + stats_at, &stats[0], sizeof(double));
	memcpy(payload.data + stats_at + sizeof(double) + sizeof(uint64) + sizeof(uint32),
		   &stats[1], 3 * sizeof(double));

	PG_RETURN_POINTER(aiml_model_build(AIML_KIND_IFOREST, IFOREST_FORMAT_VERSION,
									   payload.data, payload.len));
}

/* ---- reading a model ---- */

/*
 * Validates one tree's nodes (indices relative to the tree) and rewrites
 * them for traversal: absolute indices, leaves pointing at themselves.  The
 * tree must be a proper binary tree in preorder, no deeper than max_depth,
 * reaching every node exactly once.
 */
static void
check_tree(AimlReader *r, Forest *f, IfNode *nodes, const uint32 *rows,
		   uint32 count, uint32 base,
		   int nsplit_codes, bool *visited, uint32 *stack, int *depth_of)
{
	int			top = 0;
	uint32		reached = 0;

	for (uint32 i = 0; i < count; i++)
	{
		IfNode	   *nd = &nodes[i];

		if (!isfinite(nd->value))
			aiml_payload_corrupt(r, psprintf("Node %u of a tree holds a non-finite value.", i));
		if (nd->feature == -1)
		{
			if (nd->right != 0 || nd->value < 0)
				aiml_payload_corrupt(r, psprintf("Leaf %u of a tree is malformed.", i));
		}
		else if (nd->feature < 0 || nd->feature >= nsplit_codes)
			aiml_payload_corrupt(r, psprintf("Node %u of a tree splits on %s %d, but the model has %d.",
											 i, f->extension_level > 0 ? "hyperplane" : "feature",
											 nd->feature, nsplit_codes));
		else if (nd->right <= i + 1 || nd->right >= count)
			aiml_payload_corrupt(r, psprintf("Node %u of a tree has child index %u, outside its %u nodes.",
											 i, nd->right, count));
		else if ((uint64) rows[i + 1] + rows[nd->right] != rows[i])
			aiml_payload_corrupt(r, psprintf("Node %u of a tree has %u rows, but its children %u and %u.",
											 i, rows[i], rows[i + 1], rows[nd->right]));
		if (rows[i] < 1)
			aiml_payload_corrupt(r, psprintf("Node %u of a tree has no rows.", i));
		visited[i] = false;
	}

	if (rows[0] != (uint32) f->sample_used)
		aiml_payload_corrupt(r, psprintf("A tree's root has %u rows, but its sample had %d.",
										 rows[0], f->sample_used));
	stack[top] = 0;
	depth_of[top++] = 0;
	while (top > 0)
	{
		uint32		i = stack[--top];
		int			depth = depth_of[top];

		if (visited[i])
			aiml_payload_corrupt(r, psprintf("Node %u of a tree is reached twice.", i));
		visited[i] = true;
		reached++;
		if (nodes[i].feature == -1)
		{
			if (depth > f->max_depth)
				aiml_payload_corrupt(r, "A tree is deeper than its max_depth.");
			continue;
		}
		if (depth >= f->max_depth || top + 2 > (int) count)
			aiml_payload_corrupt(r, "A tree is deeper than its max_depth.");
		stack[top] = nodes[i].right;
		depth_of[top++] = depth + 1;
		stack[top] = i + 1;
		depth_of[top++] = depth + 1;
	}
	if (reached != count)
		aiml_payload_corrupt(r, psprintf("A tree has %u nodes its root does not reach.",
										 count - reached));

	for (uint32 i = 0; i < count; i++)
	{
		if (nodes[i].feature == -1)
		{
			nodes[i].feature = f->leaf_code;
			nodes[i].right = base + i;
		}
		else
			nodes[i].right += base;
	}
}

/* All nodes from the payload (bounds checked before the call). */
static void
read_nodes(AimlReader *r, IfNode *nodes, Size n)
{
	for (Size i = 0; i < n; i++)
	{
		nodes[i].value = aiml_read_f64(r);
		nodes[i].feature = aiml_read_i32(r);
		nodes[i].right = aiml_read_u32(r);
	}
}

/* Rejects model parameters no training could have produced. */
static void
check_header(AimlReader *r, const Forest *f)
{
	if (f->nfeatures < 1 || f->ntrees < 1 || f->ntrees > IF_MAX_TREES ||
		f->sample_size < 2 || f->sample_size > IF_MAX_SAMPLE ||
		f->sample_used < 1 || f->sample_used > f->sample_size ||
		f->max_depth < 1 || f->max_depth > IF_MAX_DEPTH ||
		f->extension_level < 0 || f->extension_level > f->nfeatures - 1 ||
		f->missing > IF_MISSING_IMPUTE_MEAN ||
		!(f->contamination >= 0 && f->contamination <= 0.5) ||
		!(f->threshold >= 0 && f->threshold <= 1) ||
		f->pool_rows < f->sample_used)
		aiml_payload_corrupt(r, "Its parameters are out of range.");
	if (!isfinite(f->path_mean) || !isfinite(f->path_min) || !isfinite(f->path_max))
		aiml_payload_corrupt(r, "Its path length statistics are not finite.");
}

/* Reads and validates an iforest payload into cxt. */
static Forest *
forest_read(const char *data, Size len, MemoryContext cxt)
{
	MemoryContext old = MemoryContextSwitchTo(cxt);
	AimlReader	r;
	Forest	   *f = palloc0(sizeof(Forest));
	uint32	   *sizes;
	uint32		max_nodes;
	Size		total = 0;
	bool	   *visited;
	uint32	   *stack;
	int		   *depth_of;
	int			nf;

	aiml_reader_init_bytes(&r, data, len, "iforest");
	f->nfeatures = nf = aiml_read_count(&r, IF_MAX_FEATURES, "features");
	f->ntrees = aiml_read_count(&r, IF_MAX_TREES, "trees");
	f->sample_size = aiml_read_u32(&r);
	f->sample_used = aiml_read_u32(&r);
	f->max_depth = aiml_read_u32(&r);
	f->extension_level = aiml_read_u32(&r);
	f->seed = aiml_read_u64(&r);
	f->missing = aiml_read_u32(&r);
	f->contamination = aiml_read_f64(&r);
	f->threshold = aiml_read_f64(&r);
	f->rows_seen = aiml_read_u64(&r);
	f->pool_rows = aiml_read_u32(&r);
	f->path_mean = aiml_read_f64(&r);
	f->path_min = aiml_read_f64(&r);
	f->path_max = aiml_read_f64(&r);
	check_header(&r, f);

	f->means = palloc(sizeof(double) * nf);
	aiml_read_f64s(&r, f->means, nf);
	for (int j = 0; j < nf; j++)
		if (!isfinite(f->means[j]))
			aiml_payload_corrupt(&r, psprintf("The mean of feature %d is not finite.", j + 1));

	max_nodes = 2 * f->sample_used - 1;
	f->nplanes = aiml_read_count(&r, (uint32) Min((uint64) f->ntrees * max_nodes, PG_INT32_MAX),
								 "hyperplanes");
	if ((f->extension_level == 0) != (f->nplanes == 0))
		aiml_payload_corrupt(&r, "Its hyperplanes do not match its extension level.");
	if ((Size) f->nplanes > (r.len - r.pos) / (sizeof(double) * nf))
		aiml_payload_corrupt(&r, psprintf("It announces %d hyperplanes, more than its payload can hold.",
										  f->nplanes));
	f->normals = palloc(sizeof(double) * nf * Max(f->nplanes, 1));
	aiml_read_f64s(&r, f->normals, (Size) f->nplanes * nf);
	for (Size i = 0; i < (Size) f->nplanes * nf; i++)
		if (!isfinite(f->normals[i]))
			aiml_payload_corrupt(&r, "A hyperplane has a non-finite coordinate.");

	sizes = palloc(sizeof(uint32) * f->ntrees);
	f->root = palloc(sizeof(uint32) * f->ntrees);
	for (int t = 0; t < f->ntrees; t++)
	{
		sizes[t] = aiml_read_u32(&r);
		if (sizes[t] < 1 || sizes[t] > max_nodes)
			aiml_payload_corrupt(&r, psprintf("Tree %d announces %u nodes; a tree on %d rows has 1 to %u.",
											  t + 1, sizes[t], f->sample_used, max_nodes));
		f->root[t] = (uint32) total;
		total += sizes[t];
	}
	if (total > (r.len - r.pos) / sizeof(IfNode))
		aiml_payload_corrupt(&r, psprintf("It announces %zu nodes, more than its payload can hold.",
										  total));
	f->nnodes = total;
	f->nodes = palloc(sizeof(IfNode) * total);
	read_nodes(&r, f->nodes, total);
	if (total > (r.len - r.pos) / sizeof(uint32))
		aiml_payload_corrupt(&r, "It ends before the row counts of its nodes.");
	f->rows = palloc(sizeof(uint32) * total);
	memcpy(f->rows, aiml_read_bytes(&r, sizeof(uint32) * total), sizeof(uint32) * total);
	aiml_reader_finish(&r);

	f->leaf_code = f->extension_level > 0 ? -1 : nf;
	visited = palloc(sizeof(bool) * max_nodes);
	stack = palloc(sizeof(uint32) * (max_nodes + 2));
	depth_of = palloc(sizeof(int) * (max_nodes + 2));
	for (int t = 0; t < f->ntrees; t++)
		check_tree(&r, f, f->nodes + f->root[t], f->rows + f->root[t], sizes[t], f->root[t],
				   f->extension_level > 0 ? f->nplanes : nf,
				   visited, stack, depth_of);
	pfree(visited);
	pfree(stack);
	pfree(depth_of);
	pfree(sizes);

	f->cn = f->sample_used >= 2 ? average_path_length(f->sample_used) : 1;
	f->cursor = palloc(sizeof(uint32) * f->ntrees);
	f->x = palloc(sizeof(double) * (nf + 1));
	f->x[nf] = INFINITY;
	MemoryContextSwitchTo(old);
	return f;
}

/* aiml_model_cached loader: the model's payload read into the cache. */
static void *
forest_load(const AimlModel *model, MemoryContext cxt)
{
	return forest_read(model->payload, model->payload_len, cxt);
}

/* Whether an in-memory node is a leaf (see leaf_code). */
static inline bool
node_is_leaf(const Forest *f, const IfNode *nd)
{
	return nd->feature == f->leaf_code;
}

/* ---- scoring ---- */

/*
 * Mean path length of the row in f->x over all trees.  Standard trees move
 * in lock step, branch-free (leaves point at themselves and compare against
 * the +Infinity after the row), so the loads of all trees overlap.
 */
static double
forest_path_length_prepared(Forest *f)
{
	const IfNode *nodes = f->nodes;
	const double *x = f->x;
	uint32	   *cur = f->cursor;
	int			ntrees = f->ntrees;
	double		sum = 0;

	if (f->extension_level == 0)
	{
		memcpy(cur, f->root, sizeof(uint32) * ntrees);
		for (int d = 0; d < f->max_depth; d++)
			for (int t = 0; t < ntrees; t++)
			{
				const IfNode *nd = &nodes[cur[t]];
				uint32		left = cur[t] + 1;
				uint32		right = nd->right;

				/* a mask, not a branch: the direction is a coin toss */
				uint32		go_left = -(uint32) (x[nd->feature] <= nd->value);

				cur[t] = right ^ ((right ^ left) & go_left);
			}
		for (int t = 0; t < ntrees; t++)
			sum += nodes[cur[t]].value;
	}
	else
	{
		int			nf = f->nfeatures;

		for (int t = 0; t < ntrees; t++)
		{
			uint32		i = f->root[t];

			while (!node_is_leaf(f, &nodes[i]))
			{
				const double *normal = f->normals + (Size) nodes[i].feature * nf;
				double		dot = 0;

				for (int j = 0; j < nf; j++)
					dot += normal[j] * x[j];
				i = dot <= nodes[i].value ? i + 1 : nodes[i].right;
			}
			sum += nodes[i].value;
		}
	}
	return sum / ntrees;
}

/* Mean path length of the row x over all trees. */
static double
forest_path_length(Forest *f, const double *x)
{
	memcpy(f->x, x, sizeof(double) * f->nfeatures);
	return forest_path_length_prepared(f);
}

/* Liu et al.'s score: 2^(-E(h) / c(n)). */
static double
score_of_path(const Forest *f, double path)
{
	return pow(2.0, -path / f->cn);
}

/* Copies the argument's features into f->x, imputing NULLs if the model says so. */
static void
forest_take_input(Forest *f, ArrayType *arr)
{
	int			n;
	const double *v = aiml_array_doubles(arr, &n, missing_flags(f->missing), "features");

	check_width(f->nfeatures, n, "the model was trained on rows that");
	if (f->missing == IF_MISSING_IMPUTE_MEAN)
		for (int j = 0; j < n; j++)
			f->x[j] = isnan(v[j]) ? f->means[j] : v[j];
	else
		memcpy(f->x, v, sizeof(double) * n);
}

/* The forest of argument 0, read once per query. */
static Forest *
forest_cached(FunctionCallInfo fcinfo, const char *caller)
{
	return aiml_model_cached(fcinfo, 0, AIML_KIND_IFOREST, caller, forest_load);
}

/* aiml.anomaly_score(model, features): higher is stranger. */
Datum
aiml_anomaly_score(PG_FUNCTION_ARGS)
{
	Forest	   *f = forest_cached(fcinfo, "aiml.anomaly_score");

	forest_take_input(f, PG_GETARG_ARRAYTYPE_P(1));
	PG_RETURN_FLOAT8(score_of_path(f, forest_path_length_prepared(f)));
}

/* aiml.is_anomaly(model, features): the score against the model's threshold. */
Datum
aiml_is_anomaly(PG_FUNCTION_ARGS)
{
	Forest	   *f = forest_cached(fcinfo, "aiml.is_anomaly");

	forest_take_input(f, PG_GETARG_ARRAYTYPE_P(1));
	PG_RETURN_BOOL(score_of_path(f, forest_path_length_prepared(f)) > f->threshold);
}

/*
 * Credits each split on the row's path through one tree to its feature (for
 * a hyperplane, shared by the absolute size of its coordinates) by how much
 * of the training sample it cut away from the row, log2(rows before / rows
 * after), weighted by 1 / the tree's path length, so trees that isolate the
 * row quickly count most.  Returns the path length.
 */
static double
explain_tree(const Forest *f, int t, double *credit)
{
	const IfNode *nodes = f->nodes;
	int			nf = f->nfeatures;
	uint32		path[IF_MAX_DEPTH + 1];
	int			len = 0;
	uint32		i = f->root[t];
	double		h;

	while (!node_is_leaf(f, &nodes[i]) && len < IF_MAX_DEPTH)
	{
		const IfNode *nd = &nodes[i];

		path[len++] = i;
		if (f->extension_level == 0)
			i = f->x[nd->feature] <= nd->value ? i + 1 : nd->right;
		else
		{
			const double *normal = f->normals + (Size) nd->feature * nf;
			double		dot = 0;

			for (int j = 0; j < nf; j++)
				dot += normal[j] * f->x[j];
			i = dot <= nd->value ? i + 1 : nd->right;
		}
	}
	h = nodes[i].value;
	if (h <= 0)
		return h;
	path[len] = i;
	for (int k = 0; k < len; k++)
	{
		const IfNode *nd = &nodes[path[k]];
		double		w = log2((double) f->rows[path[k]] / f->rows[path[k + 1]]) / h;

		if (f->extension_level == 0)
			credit[nd->feature] += w;
		else
		{
			const double *normal = f->normals + (Size) nd->feature * nf;
			double		norm = 0;

			for (int j = 0; j < nf; j++)
				norm += fabs(normal[j]);
			for (int j = 0; j < nf && norm > 0; j++)
				credit[j] += fabs(normal[j]) / norm * w;
		}
	}
	return h;
}

/* aiml.anomaly_explain(model, features): score and each feature's share. */
Datum
aiml_anomaly_explain(PG_FUNCTION_ARGS)
{
	Forest	   *f = forest_cached(fcinfo, "aiml.anomaly_explain");
	int			nf = f->nfeatures;
	double	   *credit = palloc0(sizeof(double) * nf);
	double		total = 0,
				path = 0,
				score;
	int			top = 0;
	StringInfoData json;

	forest_take_input(f, PG_GETARG_ARRAYTYPE_P(1));
	for (int t = 0; t < f->ntrees; t++)
		path += explain_tree(f, t, credit);
	path /= f->ntrees;
	score = score_of_path(f, path);

	for (int j = 0; j < nf; j++)
	{
		total += credit[j];
		if (credit[j] > credit[top])
			top = j;
	}
	for (int j = 0; j < nf; j++)
		credit[j] = total > 0 ? credit[j] / total : 0;

	initStringInfo(&json);
	appendStringInfoChar(&json, '{');
	aiml_json_add_float(&json, "score", score);
	aiml_json_add_bool(&json, "is_anomaly", score > f->threshold);
	aiml_json_add_float(&json, "path_length", path);
	aiml_json_key(&json, "top_feature");
	if (total > 0)
		appendStringInfo(&json, "%d", top + 1);
	else
		appendStringInfoString(&json, "null");
	aiml_json_add_floats(&json, "feature_shares", credit, nf);
	appendStringInfoChar(&json, '}');
	PG_RETURN_DATUM(aiml_json_to_jsonb(&json));
}

/* describe() members of an iforest model. */
void
iforest_describe(const AimlModel *model, StringInfo json)
{
	Forest	   *f = forest_read(model->payload, model->payload_len, CurrentMemoryContext);

	aiml_json_add_int(json, "features", f->nfeatures);
	aiml_json_add_int(json, "trees", f->ntrees);
	aiml_json_add_int(json, "sample_size", f->sample_size);
	aiml_json_add_int(json, "sample_used", f->sample_used);
	aiml_json_add_int(json, "max_depth", f->max_depth);
	aiml_json_add_int(json, "extension_level", f->extension_level);
	aiml_json_add_int(json, "seed", (int64) f->seed);
	aiml_json_add_string(json, "missing", missing_names[f->missing]);
	aiml_json_key(json, "contamination");
	if (f->contamination > 0)
		aiml_json_float_value(json, f->contamination);
	else
		appendStringInfoString(json, "null");
	aiml_json_add_float(json, "threshold", f->threshold);
	aiml_json_add_int(json, "rows", (int64) f->rows_seen);
	aiml_json_add_int(json, "pool_rows", f->pool_rows);
	aiml_json_add_int(json, "nodes", (int64) f->nnodes);
	aiml_json_add_float(json, "expected_path_length", f->cn);
	aiml_json_key(json, "path_length");
	appendStringInfoChar(json, '{');
	aiml_json_add_float(json, "mean", f->path_mean);
	aiml_json_add_float(json, "min", f->path_min);
	aiml_json_add_float(json, "max", f->path_max);
	appendStringInfoChar(json, '}');
	aiml_json_add_floats(json, "means", f->means, f->nfeatures);
}
