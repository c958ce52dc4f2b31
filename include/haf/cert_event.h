/*
 * cert_event.h: CloudHSM certificate-storage audit events, the JSON objects CloudHSM writes to
 * the cluster-named stream of a cluster's log group (docs/audit-format.md "Certificate-storage
 * events"):
 *   {"object_handle": 463180677312929947, "op_code": "CreateObject", "response": "OK",
 *    "attributes": null, "timestamp": 1725482483671}
 *
 * Two pieces, both pure (no I/O, no allocation, no logging):
 *  - cert_json_track_*: a brace counter fed line by line, so the audit parser can tell where a
 *    JSON object that may be pretty-printed over several lines ends;
 *  - cert_event_parse: a strict RFC 8259 reader of one complete object into its fields. Numbers
 *    are read from their digits, never through a double: object_handle values exceed 2^53 and
 *    stay exact up to UINT64_MAX (one past is an error, not a wrap).
 * Spans in struct haf_cert_event point into the parsed text. String members keep their JSON
 * escapes (they are written back into JSON as they are); `attributes` and unknown members keep
 * their whole JSON value text.
 */
#ifndef HAF_CERT_EVENT_H
#define HAF_CERT_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "haf/err.h"
#include "haf/span.h"

/* ---- where an object ends ---- */

struct cert_json_track {
    uint32_t depth; /* open braces and brackets */
    bool opened;    /* saw the first '{' */
    bool closed;    /* depth came back to 0 after opening */
};

static inline void
cert_json_track_init(struct cert_json_track *t)
{
    t->depth = 0;
    t->opened = t->closed = false;
}

/* s[i] is a '"' opening a JSON string: the index just past its closing quote (escapes skipped),
 * or n when it is not closed before n. */
size_t cert_json_string_end(const char *s, size_t n, size_t i);

/* One line (without its '\n'). A string cannot span lines in JSON, so string state ends with the
 * line; braces inside strings are not counted. */
void cert_json_track_line(struct cert_json_track *t, const char *s, size_t n);

/* ---- the fields of one object ---- */

#define CERT_EVENT_MAX_EXTRA 8

enum cert_field {
    CERT_F_OBJECT_HANDLE = 1u << 0, /* a number, or null (object_handle_null) */
    CERT_F_OP_CODE = 1u << 1,
    CERT_F_RESPONSE = 1u << 2,
    CERT_F_ATTRIBUTES = 1u << 3,
    CERT_F_TIMESTAMP = 1u << 4,
};

struct cert_member {
    struct span key;   /* string contents, escapes kept */
    struct span value; /* the JSON value's text */
};

struct haf_cert_event {
    uint32_t present; /* enum cert_field bits */
    bool object_handle_null;
    uint64_t object_handle;
    struct span op_code;    /* string contents, escapes kept: "CreateObject" */
    struct span response;   /* "OK", "MaxObjectsReached", ... */
    struct span attributes; /* JSON value text: null, ["Label"], ... */
    uint64_t timestamp_ms;  /* ms since the epoch, <= INT64_MAX */
    struct cert_member extra[CERT_EVENT_MAX_EXTRA];
    size_t n_extra;
};

/*
 * Parse `text` (one JSON object, surrounding whitespace allowed). HAF_OK fills *out;
 * HAF_EPARSE sets *why to a short static reason ("invalid JSON", "object_handle is not an
 * unsigned integer", "missing op_code", ...) and leaves *out unspecified. Required: op_code and
 * response (strings) and timestamp (an integer of ms); object_handle (unsigned integer or null)
 * and attributes (any value) are optional; other members are kept in extra (up to
 * CERT_EVENT_MAX_EXTRA, more is an error). Nesting deeper than 64 is refused.
 */
HAF_MUST_USE enum haf_err cert_event_parse(struct span text, struct haf_cert_event *out,
                                           const char **why);

/* True when response is "OK" (the documented success value). */
static inline bool
cert_event_success(const struct haf_cert_event *c)
{
    return (c->present & CERT_F_RESPONSE) && span_eq(c->response, SPAN_LIT("OK"));
}

#endif
