/*
 * export_read.h: reading what users have on disk as CloudHSM audit input, whatever its shape:
 *   audit     plain audit files (what `parse` always read: text entries, certificate events);
 *   cwl-json  the JSON printed by `aws logs get-log-events` / `filter-log-events`
 *             ({"events":[{"timestamp":ms,"message":"...","logStreamName":...}, ...]}), also
 *             several such documents one after another, a bare array of events (--query events)
 *             and a subscription payload ({"logStream":...,"logEvents":[...]});
 *   s3-export the files of a CloudWatch Logs export to S3: "<ISO timestamp> <message>" lines,
 *             a message's further lines unprefixed, usually gzip (<task>/<stream>/000000.gz).
 * Any of them may be gzip-compressed: a file starting with the gzip magic is inflated with zlib
 * on the fly (concatenated members included).
 *
 * Detection (EXPORT_INPUT_AUTO) looks at the first bytes after decompression, a UTF-8 BOM and
 * whitespace: '[' is cwl-json; '{' is cwl-json when the object's first member is one of the
 * CLI's or a subscription's ("events", "nextForwardToken", "nextBackwardToken", "nextToken",
 * "searchedLogStreams", "logEvents", "logGroup", "logStream", "messageType", "owner",
 * "subscriptionFilters"), else audit (a certificate-storage event); a first line
 * "YYYY-MM-DDTHH:MM:SS<non-blank>* <text>" is s3-export; anything else is audit. The caller may
 * force a format instead.
 *
 * Two ways to consume a reader:
 *  - export_read: the (decompressed) bytes, for audit and s3-export input, which an audit_parser
 *    takes as they are (it understands the export's timestamp prefix);
 *  - export_events: one callback per CloudWatch event, (timestamp_ms, message, stream name if
 *    known), for every format: for audit input an event is one parsed entry (its raw text, its
 *    own time); for s3-export the prefix gives the time and the file's directory the stream name.
 * Memory: audit and s3-export are streamed (an s3 message is capped at EXPORT_MESSAGE_MAX_BYTES,
 * a longer one is passed on in pieces); cwl-json is read whole (jansson), so its size is bounded
 * by memory and by EXPORT_JSON_MAX_BYTES.
 */
#ifndef HAF_EXPORT_READ_H
#define HAF_EXPORT_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "haf/err.h"
#include "haf/span.h"

#define EXPORT_MESSAGE_MAX_BYTES (4u << 20)
#define EXPORT_JSON_MAX_BYTES    (1ull << 31)

enum export_input {
    EXPORT_INPUT_AUTO,
    EXPORT_INPUT_AUDIT,
    EXPORT_INPUT_CWL_JSON,
    EXPORT_INPUT_S3,
};

struct export_event {
    int64_t timestamp_ms; /* the CloudWatch event time; 0 when the input does not say */
    struct span message;  /* valid during the callback */
    const char *stream;   /* log stream name, NULL when unknown */
};

/* Non-zero stops export_events, which then returns HAF_EAGAIN. */
typedef int (*export_event_cb)(void *ctx, const struct export_event *ev);

struct export_reader;

/*
 * Open `path` ("-" is standard input, never closed). Reads up to 64 KiB ahead to detect the
 * format when `want` is EXPORT_INPUT_AUTO. HAF_EIO (cannot open or read: errno kept), HAF_EPARSE
 * (corrupt gzip), HAF_ENOMEM; *why then holds a short static reason.
 */
HAF_MUST_USE enum haf_err export_open(const char *path, enum export_input want,
                                      struct export_reader **out, const char **why);
void export_close(struct export_reader *r);

/* The format in use (never AUTO), whether the file was gzip, and the stream name taken from the
 * path of an s3-export file (its directory, when the file name ends in .gz; else NULL). */
enum export_input export_input_of(const struct export_reader *r);
bool export_is_gzip(const struct export_reader *r);
const char *export_stream_hint(const struct export_reader *r);

/* Up to cap decompressed bytes into dst; *n == 0 at the end. Errors as export_open. */
HAF_MUST_USE enum haf_err export_read(struct export_reader *r, char *dst, size_t cap, size_t *n,
                                      const char **why);

/* Every event of the input, in order (see above). HAF_EPARSE for a cwl-json document that is not
 * valid JSON or an event without a string message (events before it were delivered). */
HAF_MUST_USE enum haf_err export_events(struct export_reader *r, export_event_cb cb, void *ctx,
                                        const char **why);

/* "auto", "audit", "cwl-json", "s3-export"; parse returns false for anything else. */
const char *export_input_name(enum export_input in);
bool export_input_parse(const char *s, enum export_input *out);

/* "YYYY-MM-DDTHH:MM:SS[.f...]Z" (the export prefix) to epoch ms; false when it is not one. */
bool export_iso_to_ms(struct span s, int64_t *ms);

#endif
