/*
 * model.c: the aiml.model type: construction, verification, text and binary
 * I/O, describe(), the per-query cache of deserialized models, and the
 * bounds-checked payload reader every kind uses.  The layout is documented in
 * model.h.
 */
#include "postgres.h"

#include "access/detoast.h"
#include "anomaly/iforest.h"
#include "common/base64.h"
#include "core/json.h"
#include "core/model.h"
#include "core/scaler.h"
#include "extract/ner.h"
#include "forecast/lstm.h"
#include "forecast/forecast.h"
#include "libpq/pqformat.h"
#include "utils/builtins.h"

/* Every kind this build can read.  A module adds its line here. */
static const AimlModelKindInfo kinds[] = {
	{AIML_KIND_SCALER, "scaler", SCALER_FORMAT_VERSION, scaler_describe},
	{AIML_KIND_IFOREST, "iforest", IFOREST_FORMAT_VERSION, iforest_describe},
	{AIML_KIND_NER, "ner", NER_FORMAT_VERSION, ner_describe},
	{AIML_KIND_LSTM, "lstm", LSTM_FORMAT_VERSION, lstm_describe},
	{AIML_KIND_ETS, "ets", FC_FORMAT_VERSION, ets_describe},
	{AIML_KIND_THETA, "theta", FC_FORMAT_VERSION, theta_describe},
	{AIML_KIND_BASELINE, "baseline", FC_FORMAT_VERSION, baseline_describe},
};

const AimlModelKindInfo *
aiml_kind_info(int kind)
{
	for (int i = 0; i < lengthof(kinds); i++)
		if (kinds[i].kind == kind)
			return &kinds[i];
	return NULL;
}

const char *
aiml_kind_name(int kind)
{
	const AimlModelKindInfo *info = aiml_kind_info(kind);

	return info ? info->name : "unknown";
}

static const AimlModelKindInfo *
kind_info_by_name(const char *name, int len)
{
	for (int i = 0; i < lengthof(kinds); i++)
		if (strlen(kinds[i].name) == len && strncmp(kinds[i].name, name, len) == 0)
			return &kinds[i];
	return NULL;
}

/* CRC-32C of everything after the checksum's own position but the payload's
 * header fields too, so a changed kind or length is caught as well. */
static pg_crc32c
model_checksum(const AimlModel *m)
{
	pg_crc32c	crc;

	INIT_CRC32C(crc);
	COMP_CRC32C(crc, &m->kind, offsetof(AimlModel, checksum) - offsetof(AimlModel, kind));
	COMP_CRC32C(crc, m->payload, m->payload_len);
	FIN_CRC32C(crc);
	return crc;
}

AimlModel *
aiml_model_build(AimlModelKind kind, uint16 version, const char *payload,
				 Size payload_len)
{
	AimlModel  *m;

	if (payload_len > AIML_MODEL_MAX_PAYLOAD)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("%s model would need %zu bytes, more than the 1 GB a value can hold",
						aiml_kind_name(kind), payload_len),
				 errhint("Train with fewer trees, a smaller sample or a smaller network.")));

	m = palloc(AIML_MODEL_HEADER_SIZE + payload_len);
	SET_VARSIZE(m, AIML_MODEL_HEADER_SIZE + payload_len);
	m->kind = kind;
	m->version = version;
	m->payload_len = (uint32) payload_len;
	memcpy(m->payload, payload, payload_len);
	m->checksum = model_checksum(m);
	return m;
}

static void
model_corrupt(const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("aiml.model value is corrupted"),
			 errdetail_internal("%s", detail),
			 errhint("The value was altered, truncated or damaged; retrain the model or restore it from a backup.")));
}

/* Checks a model already in memory: size, kind, version, checksum. */
static void
model_check(const AimlModel *m)
{
	Size		total = VARSIZE(m);
	const AimlModelKindInfo *info;
	pg_crc32c	crc;

	if (total < AIML_MODEL_HEADER_SIZE)
		model_corrupt(psprintf("It has %zu bytes, fewer than the %zu-byte model header.",
							   total - VARHDRSZ, AIML_MODEL_WIRE_HEADER_SIZE));
	if (m->payload_len != total - AIML_MODEL_HEADER_SIZE)
		model_corrupt(psprintf("Its header announces %u payload bytes but %zu are present.",
							   m->payload_len, total - AIML_MODEL_HEADER_SIZE));

	info = aiml_kind_info(m->kind);
	if (info == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("aiml.model value has unknown kind %u", m->kind),
				 errhint("The value was made by a newer aiml, or it is damaged.")));
	if (m->version == 0 || m->version > info->version)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s model has format version %u, but this aiml reads versions 1 to %u",
						info->name, m->version, info->version),
				 errhint("Upgrade aiml to the version that made this model.")));

	crc = model_checksum(m);
	if (!EQ_CRC32C(crc, m->checksum))
		model_corrupt(psprintf("Its checksum is %08X but its contents give %08X.",
							   m->checksum, crc));
}

AimlModel *
aiml_model_verify(Datum datum)
{
	AimlModel  *m = (AimlModel *) PG_DETOAST_DATUM(datum);

	model_check(m);
	return m;
}

static void
model_wrong_kind(const AimlModel *m, AimlModelKind kind, const char *caller)
{
	ereport(ERROR,
			(errcode(ERRCODE_WRONG_OBJECT_TYPE),
			 errmsg("%s needs a model of kind %s, but this one is of kind %s",
					caller, aiml_kind_name(kind), aiml_kind_name(m->kind)),
			 errhint("aiml.describe(model) shows what a model is.")));
}

AimlModel *
aiml_model_expect(Datum datum, AimlModelKind kind, const char *caller)
{
	AimlModel  *m = aiml_model_verify(datum);

	if (m->kind != kind)
		model_wrong_kind(m, kind, caller);
	return m;
}

/* Wire bytes (header without vl_len_, then payload) to a verified model. */
static AimlModel *
model_from_wire(const char *bytes, Size len)
{
	AimlModel  *m;

	if (len < AIML_MODEL_WIRE_HEADER_SIZE)
		model_corrupt(psprintf("It has %zu bytes, fewer than the %zu-byte model header.",
							   len, AIML_MODEL_WIRE_HEADER_SIZE));
	if (len > MaxAllocSize - VARHDRSZ)
		model_corrupt("It is larger than a value can be.");
	m = palloc(len + VARHDRSZ);
	SET_VARSIZE(m, len + VARHDRSZ);
	memcpy(VARDATA(m), bytes, len);
	model_check(m);
	return m;
}

/*
 * Per-query cache (see model.h).  The raw argument is compared before it is
 * detoasted: an out-of-line value is identified by its toast pointer, an
 * in-line one by its address, size and first bytes, so a model passed as a
 * constant or an InitPlan result is recognised in O(1) per row.  Anything
 * else is detoasted and compared byte for byte before it is reloaded.
 */
#define CACHE_HEAD_BYTES 64

typedef struct ModelCache
{
	MemoryContext cxt;
	bool		valid;
	bool		external;
	varatt_external toast;
	const void *raw;
	Size		raw_size;
	char		raw_head[CACHE_HEAD_BYTES];
	AimlModel  *model;
	void	   *loaded;
} ModelCache;

static void
cache_remember_raw(ModelCache *c, const struct varlena *raw)
{
	c->raw = raw;
	c->raw_size = VARSIZE_ANY(raw);
	memcpy(c->raw_head, raw, Min(c->raw_size, CACHE_HEAD_BYTES));
}

static bool
cache_same_raw(const ModelCache *c, const struct varlena *raw)
{
	return c->raw == raw && c->raw_size == VARSIZE_ANY(raw) &&
		memcmp(c->raw_head, raw, Min(c->raw_size, CACHE_HEAD_BYTES)) == 0;
}

void *
aiml_model_cached(FunctionCallInfo fcinfo, int argno, AimlModelKind kind,
				  const char *caller, AimlModelLoader load)
{
	return aiml_model_cached_in(fcinfo, argno, &fcinfo->flinfo->fn_extra, kind, caller, load);
}

void *
aiml_model_cached_in(FunctionCallInfo fcinfo, int argno, void **slot, AimlModelKind kind,
					 const char *caller, AimlModelLoader load)
{
	FmgrInfo   *flinfo = fcinfo->flinfo;
	ModelCache *c = (ModelCache *) *slot;
	struct varlena *raw = (struct varlena *) DatumGetPointer(PG_GETARG_DATUM(argno));
	bool		external = VARATT_IS_EXTERNAL_ONDISK(raw);
	varatt_external toast;
	AimlModel  *m;

	if (c == NULL)
	{
		c = MemoryContextAllocZero(flinfo->fn_mcxt, sizeof(ModelCache));
		c->cxt = AllocSetContextCreate(flinfo->fn_mcxt, "aiml model cache",
									   ALLOCSET_DEFAULT_SIZES);
		*slot = c;
	}

	if (external)
	{
		VARATT_EXTERNAL_GET_POINTER(toast, raw);
		if (c->valid && c->external && memcmp(&toast, &c->toast, sizeof(toast)) == 0)
			return c->loaded;
	}
	else if (c->valid && !c->external && cache_same_raw(c, raw))
		return c->loaded;

	m = (AimlModel *) PG_DETOAST_DATUM(PointerGetDatum(raw));
	if (c->valid && VARSIZE(m) == VARSIZE(c->model) &&
		memcmp(m, c->model, VARSIZE(m)) == 0)
	{
		/* same model, new address: remember the new identity */
		c->external = external;
		if (external)
			c->toast = toast;
		else
			cache_remember_raw(c, raw);
		return c->loaded;
	}

	model_check(m);
	if (m->kind != kind)
		model_wrong_kind(m, kind, caller);

	c->valid = false;
	MemoryContextReset(c->cxt);
	c->model = MemoryContextAlloc(c->cxt, VARSIZE(m));
	memcpy(c->model, m, VARSIZE(m));
	c->loaded = load(c->model, c->cxt);
	c->external = external;
	if (external)
		c->toast = toast;
	else
		cache_remember_raw(c, raw);
	c->valid = true;
	return c->loaded;
}

/* ---- payload writing ---- */

void
aiml_write_bytes(StringInfo buf, const void *p, Size n)
{
	if (n > (Size) (MaxAllocSize - buf->len - 1))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("model would be larger than the 1 GB a value can hold"),
				 errhint("Train with fewer trees, a smaller sample or a smaller network.")));
	appendBinaryStringInfo(buf, p, (int) n);
}

void
aiml_write_u32(StringInfo buf, uint32 v)
{
	aiml_write_bytes(buf, &v, sizeof(v));
}

void
aiml_write_i32(StringInfo buf, int32 v)
{
	aiml_write_bytes(buf, &v, sizeof(v));
}

void
aiml_write_u64(StringInfo buf, uint64 v)
{
	aiml_write_bytes(buf, &v, sizeof(v));
}

void
aiml_write_f64(StringInfo buf, double v)
{
	aiml_write_bytes(buf, &v, sizeof(v));
}

void
aiml_write_f64s(StringInfo buf, const double *v, Size n)
{
	aiml_write_bytes(buf, v, n * sizeof(double));
}

void
aiml_write_f32s(StringInfo buf, const float *v, Size n)
{
	aiml_write_bytes(buf, v, n * sizeof(float));
}

/* A string is its length (u32) then its bytes, without terminator. */
void
aiml_write_string(StringInfo buf, const char *s)
{
	Size		n = strlen(s);

	aiml_write_u32(buf, (uint32) n);
	aiml_write_bytes(buf, s, n);
}

/* ---- payload reading ---- */

void
aiml_reader_init(AimlReader *r, const AimlModel *model)
{
	r->data = model->payload;
	r->len = model->payload_len;
	r->pos = 0;
	r->kind_name = aiml_kind_name(model->kind);
}

/* A reader over other bytes of ours, e.g. an aggregate's serialized state. */
void
aiml_reader_init_bytes(AimlReader *r, const char *data, Size len, const char *what)
{
	r->data = data;
	r->len = len;
	r->pos = 0;
	r->kind_name = what;
}

void
aiml_payload_corrupt(const AimlReader *r, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("%s model is corrupted", r->kind_name),
			 errdetail_internal("%s", detail),
			 errhint("The value was altered or damaged; retrain the model or restore it from a backup.")));
}

const void *
aiml_read_bytes(AimlReader *r, Size n)
{
	const void *p;

	if (n > r->len - r->pos)
		aiml_payload_corrupt(r, psprintf("Its payload ends at byte %zu, but %zu more bytes were expected at byte %zu.",
										 r->len, n, r->pos));
	p = r->data + r->pos;
	r->pos += n;
	return p;
}

uint32
aiml_read_u32(AimlReader *r)
{
	uint32		v;

	memcpy(&v, aiml_read_bytes(r, sizeof(v)), sizeof(v));
	return v;
}

int32
aiml_read_i32(AimlReader *r)
{
	int32		v;

	memcpy(&v, aiml_read_bytes(r, sizeof(v)), sizeof(v));
	return v;
}

uint64
aiml_read_u64(AimlReader *r)
{
	uint64		v;

	memcpy(&v, aiml_read_bytes(r, sizeof(v)), sizeof(v));
	return v;
}

double
aiml_read_f64(AimlReader *r)
{
	double		v;

	memcpy(&v, aiml_read_bytes(r, sizeof(v)), sizeof(v));
	return v;
}

/* n is checked against the bytes left before multiplying, so it cannot wrap. */
void
aiml_read_f64s(AimlReader *r, double *out, Size n)
{
	if (n > (r->len - r->pos) / sizeof(double))
		aiml_payload_corrupt(r, psprintf("It announces %zu numbers but has room for %zu.",
										 n, (r->len - r->pos) / sizeof(double)));
	memcpy(out, aiml_read_bytes(r, n * sizeof(double)), n * sizeof(double));
}

void
aiml_read_f32s(AimlReader *r, float *out, Size n)
{
	if (n > (r->len - r->pos) / sizeof(float))
		aiml_payload_corrupt(r, psprintf("It announces %zu numbers but has room for %zu.",
										 n, (r->len - r->pos) / sizeof(float)));
	memcpy(out, aiml_read_bytes(r, n * sizeof(float)), n * sizeof(float));
}

char *
aiml_read_string(AimlReader *r)
{
	uint32		n = aiml_read_u32(r);
	const char *p = aiml_read_bytes(r, n);

	if (memchr(p, '\0', n) != NULL)
		aiml_payload_corrupt(r, "A string in its payload contains a zero byte.");
	return pnstrdup(p, n);
}

/* A count that sizes an allocation: bounded by max and by the bytes left. */
uint32
aiml_read_count(AimlReader *r, uint32 max, const char *what)
{
	uint32		n = aiml_read_u32(r);

	if (n > max || n > r->len - r->pos)
		aiml_payload_corrupt(r, psprintf("It announces %u %s, more than its payload can hold.",
										 n, what));
	return n;
}

void
aiml_reader_finish(AimlReader *r)
{
	if (r->pos != r->len)
		aiml_payload_corrupt(r, psprintf("Its payload has %zu bytes left over after the last field.",
										 r->len - r->pos));
}

/* ---- SQL-callable functions ---- */

PG_FUNCTION_INFO_V1(aiml_model_in);
PG_FUNCTION_INFO_V1(aiml_model_out);
PG_FUNCTION_INFO_V1(aiml_model_recv);
PG_FUNCTION_INFO_V1(aiml_model_send);
PG_FUNCTION_INFO_V1(aiml_describe);
PG_FUNCTION_INFO_V1(aiml_model_kind);

static void
model_text_invalid(const char *text, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid input syntax for type aiml.model: \"%.40s%s\"",
					text, strlen(text) > 40 ? "..." : ""),
			 errdetail("%s", detail),
			 errhint("A model's text form is \"kind:base64\", as aiml writes it; models are made by training functions.")));
}

/* Text form: "<kind name>:<base64 of the wire bytes>". */
Datum
aiml_model_in(PG_FUNCTION_ARGS)
{
	char	   *text = PG_GETARG_CSTRING(0);
	const char *colon = strchr(text, ':');
	const AimlModelKindInfo *info;
	const char *b64;
	int			b64len;
	char	   *bytes;
	int			len;
	AimlModel  *m;

	if (colon == NULL)
		model_text_invalid(text, "It has no \":\" after the kind.");
	info = kind_info_by_name(text, colon - text);
	if (info == NULL)
		model_text_invalid(text, psprintf("\"%.*s\" is not a model kind this aiml knows.",
										  (int) Min(colon - text, 40), text));

	b64 = colon + 1;
	b64len = strlen(b64);
	bytes = palloc(pg_b64_dec_len(b64len) + 1);
	len = pg_b64_decode(b64, b64len, bytes, pg_b64_dec_len(b64len) + 1);
	if (len < 0)
		model_text_invalid(text, "The text after the kind is not valid base64.");

	m = model_from_wire(bytes, len);
	if (m->kind != info->kind)
		model_corrupt(psprintf("Its text names kind %s but its bytes hold kind %s.",
							   info->name, aiml_kind_name(m->kind)));
	PG_RETURN_POINTER(m);
}

Datum
aiml_model_out(PG_FUNCTION_ARGS)
{
	AimlModel  *m = aiml_model_verify(PG_GETARG_DATUM(0));
	const char *name = aiml_kind_name(m->kind);
	int			wire_len = VARSIZE(m) - VARHDRSZ;
	int			b64len = pg_b64_enc_len(wire_len);
	StringInfoData out;
	int			written;

	initStringInfo(&out);
	enlargeStringInfo(&out, strlen(name) + 1 + b64len + 1);
	appendStringInfo(&out, "%s:", name);
	written = pg_b64_encode(VARDATA(m), wire_len, out.data + out.len, b64len + 1);
	if (written < 0)
		elog(ERROR, "base64 encoding of a %d-byte model failed", wire_len);
	out.len += written;
	out.data[out.len] = '\0';
	PG_RETURN_CSTRING(out.data);
}

Datum
aiml_model_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int			len = buf->len - buf->cursor;
	const char *bytes = pq_getmsgbytes(buf, len);

	PG_RETURN_POINTER(model_from_wire(bytes, len));
}

Datum
aiml_model_send(PG_FUNCTION_ARGS)
{
	AimlModel  *m = aiml_model_verify(PG_GETARG_DATUM(0));
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendbytes(&buf, VARDATA(m), VARSIZE(m) - VARHDRSZ);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

Datum
aiml_describe(PG_FUNCTION_ARGS)
{
	AimlModel  *m = aiml_model_verify(PG_GETARG_DATUM(0));
	const AimlModelKindInfo *info = aiml_kind_info(m->kind);
	StringInfoData json;

	initStringInfo(&json);
	appendStringInfoChar(&json, '{');
	aiml_json_add_string(&json, "kind", info->name);
	aiml_json_add_int(&json, "format_version", m->version);
	aiml_json_add_int(&json, "size_bytes", VARSIZE(m));
	info->describe(m, &json);
	appendStringInfoChar(&json, '}');
	PG_RETURN_DATUM(aiml_json_to_jsonb(&json));
}

Datum
aiml_model_kind(PG_FUNCTION_ARGS)
{
	AimlModel  *m = aiml_model_verify(PG_GETARG_DATUM(0));

	PG_RETURN_TEXT_P(cstring_to_text(aiml_kind_name(m->kind)));
}
