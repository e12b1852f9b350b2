/*
 * model.h: the aiml.model type, shared by every module.
 *
 * A model is a varlena holding a small header and a payload of bytes that
 * only the model's kind knows how to read:
 *
 *     int32   vl_len_        varlena length word
 *     uint16  kind           AimlModelKind
 *     uint16  version        payload format version of that kind
 *     uint32  payload_len    bytes of payload that follow
 *     uint32  checksum       CRC-32C of kind, version, payload_len, payload
 *     char    payload[]
 *
 * The external form (binary send/recv, and base64 inside the text form
 * "<kind>:<base64>") is the same 12 header bytes, little-endian, followed by
 * the payload.  The checksum catches corruption and truncation; forged bytes
 * with a correct checksum must still be caught by the kind's reader, which is
 * why payloads are only ever read through AimlReader, whose every read is
 * bounds-checked.
 *
 * A module adds a kind by adding it to AimlModelKind and to the kind table in
 * model.c (name, current version, describe function).
 */
#ifndef AIML_MODEL_H
#define AIML_MODEL_H

#include "postgres.h"

#include "fmgr.h"
#include "lib/stringinfo.h"
#include "port/pg_crc32c.h"
#include "utils/memutils.h"

#ifdef WORDS_BIGENDIAN
#error "aiml stores model payloads little-endian; big-endian hosts are not supported"
#endif

typedef enum AimlModelKind
{
	AIML_KIND_SCALER = 1,
	AIML_KIND_IFOREST = 2,
	AIML_KIND_ETS = 3,
	AIML_KIND_THETA = 4,
	AIML_KIND_BASELINE = 5,		/* naive, seasonal naive, drift */
	AIML_KIND_LSTM = 6,
	AIML_KIND_NER = 10,
	AIML_KIND_MAX_				/* one past the last kind; keep last */
} AimlModelKind;

typedef struct AimlModel
{
	int32		vl_len_;
	uint16		kind;
	uint16		version;
	uint32		payload_len;
	pg_crc32c	checksum;
	char		payload[FLEXIBLE_ARRAY_MEMBER];
} AimlModel;

#define AIML_MODEL_HEADER_SIZE offsetof(AimlModel, payload)
/* bytes of the external form's header: everything but vl_len_ */
#define AIML_MODEL_WIRE_HEADER_SIZE (AIML_MODEL_HEADER_SIZE - VARHDRSZ)

/* Largest payload accepted: a varlena is at most 1 GB. */
#define AIML_MODEL_MAX_PAYLOAD (MaxAllocSize - AIML_MODEL_HEADER_SIZE)

/*
 * What core knows of each kind.  describe appends the kind's own members to
 * an open JSON object (see json.h) and must reject a payload it cannot read.
 */
typedef struct AimlModelKindInfo
{
	AimlModelKind kind;
	const char *name;
	uint16		version;		/* version written by this build */
	void		(*describe) (const AimlModel *model, StringInfo json);
} AimlModelKindInfo;

extern const AimlModelKindInfo *aiml_kind_info(int kind);
extern const char *aiml_kind_name(int kind);

/* Build a model value from a payload (checksum computed here). */
extern AimlModel *aiml_model_build(AimlModelKind kind, uint16 version,
								   const char *payload, Size payload_len);

/* Detoast and verify header and checksum; errors on anything inconsistent. */
extern AimlModel *aiml_model_verify(Datum datum);

/* aiml_model_verify, then require one kind. */
extern AimlModel *aiml_model_expect(Datum datum, AimlModelKind kind,
									const char *caller);

/*
 * Per-query cache of a deserialized model, kept in fn_extra so a function
 * called once per row deserializes a model once per query.  load turns a
 * verified model of the right kind into the module's in-memory form,
 * allocating in the given context.  Returns that form.
 */
typedef void *(*AimlModelLoader) (const AimlModel *model, MemoryContext cxt);

extern void *aiml_model_cached(FunctionCallInfo fcinfo, int argno,
							   AimlModelKind kind, const char *caller,
							   AimlModelLoader load);

/* The same with the cache in *slot, for a function that keeps more in fn_extra. */
extern void *aiml_model_cached_in(FunctionCallInfo fcinfo, int argno, void **slot,
								  AimlModelKind kind, const char *caller,
								  AimlModelLoader load);

/*
 * Payload writing and bounds-checked reading.  Readers raise
 * ERRCODE_DATA_CORRUPTED when the payload ends early, has bytes left over, or
 * holds a value its kind forbids.
 */
typedef struct AimlReader
{
	const char *data;
	Size		len;
	Size		pos;
	const char *kind_name;
} AimlReader;

extern void aiml_write_u32(StringInfo buf, uint32 v);
extern void aiml_write_i32(StringInfo buf, int32 v);
extern void aiml_write_u64(StringInfo buf, uint64 v);
extern void aiml_write_f64(StringInfo buf, double v);
extern void aiml_write_f64s(StringInfo buf, const double *v, Size n);
extern void aiml_write_f32s(StringInfo buf, const float *v, Size n);
extern void aiml_write_string(StringInfo buf, const char *s);
extern void aiml_write_bytes(StringInfo buf, const void *p, Size n);

extern void aiml_reader_init(AimlReader *r, const AimlModel *model);
extern void aiml_reader_init_bytes(AimlReader *r, const char *data, Size len,
								   const char *what);
extern uint32 aiml_read_u32(AimlReader *r);
extern int32 aiml_read_i32(AimlReader *r);
extern uint64 aiml_read_u64(AimlReader *r);
extern double aiml_read_f64(AimlReader *r);
extern void aiml_read_f64s(AimlReader *r, double *out, Size n);
extern void aiml_read_f32s(AimlReader *r, float *out, Size n);
extern char *aiml_read_string(AimlReader *r);
extern const void *aiml_read_bytes(AimlReader *r, Size n);
extern uint32 aiml_read_count(AimlReader *r, uint32 max, const char *what);
extern void aiml_reader_finish(AimlReader *r);
extern void aiml_payload_corrupt(const AimlReader *r, const char *detail) pg_attribute_noreturn();

#endif							/* AIML_MODEL_H */
