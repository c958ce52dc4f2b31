/*
 * audit.h: CloudHSM audit entries, the incremental parser that produces them, and the formatter
 * that turns one into a CloudWatch event message.
 *
 * The format is described in docs/audit-format.md. An entry starts at a line beginning "Time:"
 * or "{" (optionally after a CloudWatch-export ISO prefix such as "2023-04-27T18:33:55.150Z ") and
 * ends where the next one starts, at a blank line (only spaces, tabs and CRs), or when the caller
 * says the input is idle or at EOF (audit_parser_flush). A "{" entry is a certificate-storage
 * event (JSON, one line or pretty-printed): it also ends on the line where its braces balance.
 * Text that is not inside such an entry (before the first entry, or after a blank line) becomes
 * its own flagged entry: nothing fed to the parser is lost.
 *
 * Ownership: every span in a struct haf_entry points into memory owned by the parser, valid only
 * during the callback that receives the entry. The parser never allocates per field; it keeps one
 * growable buffer for the entry being assembled and one for a line split across feeds. Memory is
 * bounded by max_line_bytes and max_entry_bytes whatever the input.
 *
 * Offsets: the parser counts every byte it is fed. entry->src_start..src_end is the half-open byte
 * range of the input that the entry covers. Consecutive entries cover consecutive ranges (the first
 * starts at the reset offset); blank lines between entries belong to the range of the entry they
 * end or, when no entry is open, to the range of the next entry. Every src_end is at a line
 * boundary (or where a flush ended the input), so a parser reset to an entry's src_end and fed the
 * rest of the input reproduces the following entries exactly; only the wording of a flagged
 * entry's parse_error may differ (after a resume, a continuation or text after a blank line reads
 * "text before first entry"). Blank lines after the last entry are covered by no entry.
 */
#ifndef HAF_AUDIT_H
#define HAF_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "haf/buf.h"
#include "haf/cert_event.h"
#include "haf/err.h"
#include "haf/opcodes.h"
#include "haf/span.h"

/* "NAME (0xHEX)" or "NAME (DEC)": both kept. */
struct haf_named_code {
    struct span name;
    uint64_t code;
};

struct haf_kv {
    struct span key;
    struct span value;
};

/* Bits of haf_entry.present: which optional or common fields the entry had. */
enum haf_field {
    HAF_F_TIME = 1u << 0,
    HAF_F_SEQUENCE_NO = 1u << 1,
    HAF_F_REBOOT_COUNTER = 1u << 2,
    HAF_F_COMMAND_TYPE = 1u << 3,
    HAF_F_OPCODE = 1u << 4,
    HAF_F_SESSION_HANDLE = 1u << 5,
    HAF_F_RESPONSE = 1u << 6,
    HAF_F_LOG_TYPE = 1u << 7,
    HAF_F_USER_NAME = 1u << 8,
    HAF_F_USER_TYPE = 1u << 9,
    HAF_F_PRIV_SECRET_KEY_HANDLE = 1u << 10,
    HAF_F_PUBLIC_KEY_HANDLE = 1u << 11,
    HAF_F_KEY_HANDLE = 1u << 12,
    HAF_F_VERSION_NO = 1u << 13,
    HAF_F_USER_ID = 1u << 14,
    HAF_F_TARGET_USER_NAME = 1u << 15,
    HAF_F_TARGET_USER_TYPE = 1u << 16,
    HAF_F_TARGET_USER_ID = 1u << 17,
    HAF_F_MFA_ENABLED = 1u << 18,
    HAF_F_MECHANISM = 1u << 19,
    HAF_F_OPERATION = 1u << 20,
    HAF_F_NUMBER_OF_USERS = 1u << 21,
    HAF_F_USER_IDS = 1u << 22,
    HAF_F_LOCAL_TIME = 1u << 23,
    HAF_F_HOST_TIME = 1u << 24,
    HAF_F_PROPAGATION_DELAY = 1u << 25,
};

/* The fields every well-formed entry has; Opcode excepted in time-synchronisation entries
 * (command type TIME_INFO_CMD 0xeee2), which carry none. */
#define HAF_F_REQUIRED                                                                             \
    (HAF_F_TIME | HAF_F_SEQUENCE_NO | HAF_F_REBOOT_COUNTER | HAF_F_COMMAND_TYPE | HAF_F_OPCODE |   \
     HAF_F_SESSION_HANDLE | HAF_F_RESPONSE | HAF_F_LOG_TYPE)

#define HAF_ENTRY_MAX_EXTRA 32

/* What an entry is: a text audit entry ("Time: ..." lines) or a certificate-storage event (a JSON
 * object starting with '{' at the start of a line, possibly pretty-printed over several lines;
 * cert_event.h). */
enum haf_entry_kind {
    HAF_KIND_AUDIT = 0,
    HAF_KIND_CERT_STORAGE,
};

struct haf_entry {
    enum haf_entry_kind kind;
    uint32_t present; /* enum haf_field bits (text entries) */

    /* Time: MM/DD/YY HH:MM:SS.ffffff, usecs:N. usecs is the timestamp. */
    struct span human_time;
    struct span export_time; /* "2023-...Z" CloudWatch-export prefix of the Time line, if any */
    uint64_t usecs;
    bool time_mismatch; /* human time and usecs disagree (noted, not fatal) */

    uint64_t sequence_no;
    uint64_t reboot_counter;
    struct haf_named_code command_type;
    struct haf_named_code opcode;
    uint64_t session_handle;
    uint64_t response_code;    /* "163:HSM Error: text" -> 163 */
    struct span response_text; /* -> "HSM Error: text" */
    bool response_success;     /* "HSM Return: SUCCESS" style */
    struct haf_named_code log_type;

    struct span user_name;
    struct haf_named_code user_type;
    uint64_t priv_secret_key_handle;
    uint64_t public_key_handle;
    uint64_t key_handle;
    struct span version_no;
    struct span user_id;
    struct span target_user_name;
    struct haf_named_code target_user_type;
    struct span target_user_id;
    struct span mfa_enabled;
    uint64_t mechanism;
    struct haf_named_code operation;
    uint64_t number_of_users;
    struct span user_ids;
    struct span local_time; /* TIME_INFO_LOG: human part; usec in local_time_usec. Not
                               cross-checked (the reference's only sample disagrees with itself) */
    uint64_t local_time_usec;
    struct span host_time;
    uint64_t host_time_usec;
    uint64_t propagation_delay_usec;

    /* Unknown "label: value" lines, and repeats of known labels, kept verbatim in order. */
    struct haf_kv extra[HAF_ENTRY_MAX_EXTRA];
    size_t n_extra;

    /* Set when the entry could not be fully parsed: a short static reason (the first problem
     * found). The entry is still emitted, and `raw` then matters to the formatter. NULL when all is
     * well. Set for: text outside an entry, an entry split at max_entry_bytes, a cut line, a line
     * without a label, a known field whose value does not parse (numbers over UINT64_MAX
     * included; the field is then absent), more than HAF_ENTRY_MAX_EXTRA extra lines, a missing
     * required field, invalid UTF-8 or NUL bytes replaced. */
    const char *parse_error;

    /* The verbatim entry as CloudHSM delivers it to CloudWatch: lines joined by "\n", no trailing
     * newline, CR stripped, invalid UTF-8 and NUL replaced with U+FFFD, over-long lines cut with a
     * marker "\u2026[cut N bytes]" (N input bytes dropped). The export prefix is not part of it.
     * Always valid UTF-8, never empty. */
    struct span raw;

    uint32_t invalid_utf8; /* invalid sequences replaced */
    uint32_t nul_bytes;    /* NUL bytes replaced */
    uint32_t cut_lines;    /* lines cut at the line bound */

    uint64_t src_start; /* byte range of the input this entry covers */
    uint64_t src_end;

    /* HAF_KIND_CERT_STORAGE: the event's fields (spans into raw); valid when parse_error is
     * NULL. */
    struct haf_cert_event cert;
};

/* Parser options; zero-initialised means defaults. */
struct audit_parser_opts {
    size_t max_line_bytes;  /* default 65536 (minimum 256): longer lines are cut with a marker */
    size_t max_entry_bytes; /* default 262144 (at least max_line_bytes + 64): an entry never grows
                               past this; the line that would cross it starts a new, flagged
                               entry. 256 KiB keeps a flagged entry's JSON (fields + raw) well
                               under CloudWatch's 1 MB event limit in practice. */
};

struct audit_parser;

/* Called once per complete entry; a non-zero return stops the feed and is passed back as
 * HAF_EAGAIN from audit_parser_feed (the bytes not yet consumed are reported via *consumed: feed
 * them again to continue) or from audit_parser_flush (call it again to continue). */
typedef int (*audit_entry_cb)(void *ctx, const struct haf_entry *entry);

HAF_MUST_USE struct audit_parser *audit_parser_new(const struct audit_parser_opts *opts);
void audit_parser_free(struct audit_parser *p);

/* Start counting source offsets at `offset` and forget any partial entry (after a seek). */
void audit_parser_reset(struct audit_parser *p, uint64_t offset);

/*
 * Feed bytes in any chunking. Every entry completed by these bytes is passed to cb. *consumed, when
 * not NULL, receives how many of the bytes were taken (all of them unless cb stopped the feed or
 * an error occurred). Taken bytes may sit in the parser as part of an open entry; that is fine:
 * entries are identical in any chunking, and checkpoints use src_end, not *consumed.
 * HAF_ENOMEM: growing a buffer failed; reset the parser before using it again.
 */
HAF_MUST_USE enum haf_err audit_parser_feed(struct audit_parser *p, const char *data, size_t len,
                                            size_t *consumed, audit_entry_cb cb, void *ctx);

/* The input is idle or at EOF: complete the partial last line, if any, and emit the pending entry,
 * if any. Call it only when the writer is really idle (a line cut in two by a flush stays cut). */
HAF_MUST_USE enum haf_err audit_parser_flush(struct audit_parser *p, audit_entry_cb cb, void *ctx);

/* True when bytes of an unfinished entry or a non-blank partial line are held. */
bool audit_parser_pending(const struct audit_parser *p);

/* Offset just past the last byte fed. */
uint64_t audit_parser_offset(const struct audit_parser *p);

/* Counters since creation. */
struct audit_parser_stats {
    uint64_t entries;
    uint64_t flagged; /* entries with parse_error */
    uint64_t invalid_utf8;
    uint64_t nul_bytes;
    uint64_t cut_lines;
};
void audit_parser_get_stats(const struct audit_parser *p, struct audit_parser_stats *out);

/* Parse one complete entry held in memory (e.g. a CloudWatch message read back). Same rules as the
 * incremental parser; cb receives zero or more entries. */
HAF_MUST_USE enum haf_err audit_parse_text(const char *data, size_t len, audit_entry_cb cb,
                                           void *ctx);

/* ---- formatting ---- */

enum audit_format { AUDIT_FORMAT_JSON, AUDIT_FORMAT_RAW };

/* What the formatter adds that the entry itself does not know. NULL members are left out. */
struct audit_format_ctx {
    const char *host;   /* "host" */
    const char *source; /* "source": file path */
    const char *hsm_id; /* "hsm_id" */
    bool reclocked;     /* adds "reclocked":true: sent with the current time, not the entry's */
    /* Optional: the four members above as audit_format_ctx_render wrote them, copied as they are
     * after each entry's own members instead of being measured and checked again per entry. Set it
     * again whenever a member above changes; empty (the zero value) writes them from the members.
     */
    struct span rendered;
};

/* Append to out the JSON members that ctx adds to every message (",\"host\":...", "" when it adds
 * none), for ctx->rendered. out is left as it was on error (HAF_ENOMEM, HAF_ETOOLONG). */
HAF_MUST_USE enum haf_err audit_format_ctx_render(const struct audit_format_ctx *ctx,
                                                  struct buf *out);

/*
 * Append the CloudWatch message for `e` to `out` (not NUL-counted, valid UTF-8, never empty).
 * json: exactly the object in DESIGN.md "Event message" (the shapes of the optional fields are
 * listed at the top of src/audit_format.c); raw: e->raw. On error (HAF_ENOMEM, or HAF_ETOOLONG
 * past out->max) out is left as it was.
 */
HAF_MUST_USE enum haf_err audit_format(const struct haf_entry *e, enum audit_format fmt,
                                       const struct audit_format_ctx *ctx, struct buf *out);

/* The (reboot_counter, sequence_no) of a message audit_format wrote as JSON for an audit entry
 * (not a marker, "event", nor a flagged entry, "parse_error"), read from untrusted text. False
 * when it has none; *reboot and *seq are written only on success. */
HAF_MUST_USE bool audit_json_position(struct span msg, uint64_t *reboot, uint64_t *seq);

/* The CloudWatch event timestamp of an entry, in ms (usecs / 1000, or a certificate-storage
 * event's timestamp); 0 when it has no time. */
static inline int64_t
audit_entry_time_ms(const struct haf_entry *e)
{
    if (e->kind == HAF_KIND_CERT_STORAGE)
        return (e->parse_error == NULL && (e->cert.present & CERT_F_TIMESTAMP))
                   ? (int64_t)e->cert.timestamp_ms
                   : 0;
    return (e->present & HAF_F_TIME) ? (int64_t)(e->usecs / 1000) : 0;
}

/* The entry's opcode category (opcodes.h): its opcode's in the catalogue, "time" for a
 * time-synchronisation entry, else unknown. */
static inline enum opcode_category
audit_entry_category(const struct haf_entry *e)
{
    if (e->present & HAF_F_OPCODE) {
        /* The common case in one call; the rest (time entries, unknown opcodes) below. */
        const struct opcode_info *o = opcode_classify(e->opcode.name, e->opcode.code);
        if (o != NULL)
            return o->category;
    }
    return opcode_entry_category(false, SPAN_NULL, 0, (e->present & HAF_F_COMMAND_TYPE) != 0,
                                 e->command_type.code, (e->present & HAF_F_LOG_TYPE) != 0,
                                 e->log_type.code);
}

#endif
