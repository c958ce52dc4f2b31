/*
 * report.h: the daily review of HSM activity (`hsm-audit-forwarder report`): an aggregation fed
 * one audit entry at a time, and three renderings of it (text, JSON, HTML) that carry the same
 * facts.
 *
 * The aggregation (src/report_agg.c) is pure: no I/O, no clock, no logging. It keeps only
 * fixed-size tables, allocated once in report_new(), so its memory does not grow with the number
 * of entries: about 1 MB whatever is read (REPORT_MAX_* below). Every table that could grow with
 * hostile or busy input (HSMs, users, opcodes, error kinds, sessions, detail rows, bursts, hour
 * buckets) is capped; what does not fit is counted in an "(other)" row or a "not shown" counter,
 * never dropped silently. Strings taken from the logs are stored as valid UTF-8 (invalid bytes
 * become U+FFFD), cut at REPORT_NAME_MAX bytes on a character boundary; the renderers escape
 * them for their output (src/report_text.c, report_json.c, report_html.c).
 */
#ifndef HAF_REPORT_H
#define HAF_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "haf/audit.h"
#include "haf/buf.h"
#include "haf/err.h"
#include "haf/opcodes.h"
#include "haf/seqtrack.h"

#define REPORT_MAX_HSMS       64   /* then "(other)" */
#define REPORT_MAX_USERS      256  /* (name, type) pairs; then "(other)" */
#define REPORT_MAX_OPCODES    128  /* then "(other)" */
#define REPORT_MAX_ERRORS     64   /* (response code, opcode) pairs; then "(other)" */
#define REPORT_MAX_REBOOTS    16   /* reboot counters listed per HSM */
#define REPORT_MAX_GAPS       64   /* gap ranges listed per HSM (all are counted) */
#define REPORT_MAX_ROWS       200  /* detail rows per section (all are counted) */
#define REPORT_MAX_SESSIONS   4096 /* session -> login user; the oldest is forgotten */
#define REPORT_MAX_BURSTS     64
#define REPORT_MAX_BUCKETS    9000 /* hours: over a year */
#define REPORT_MAX_SOURCES    32   /* source names listed (all are counted) */
#define REPORT_MAX_HSM_FILTER 32
#define REPORT_NAME_MAX       64 /* bytes kept of a name from the logs */
#define REPORT_TEXT_MAX       96 /* bytes kept of a response text */

/* Failed-login bursts: at least this many failures on one HSM within the window. */
#define REPORT_BURST_FAILURES  5
#define REPORT_BURST_WINDOW_MS (5 * 60 * 1000)

#define REPORT_OTHER "(other)"

struct report_gap {
    uint64_t reboot_counter;
    uint64_t expected; /* first missing sequence number */
    uint64_t received;
    uint64_t missing;
    int64_t time_ms; /* of the entry after the gap */
};

struct report_hsm {
    char hsm[REPORT_NAME_MAX + 4];
    size_t hsm_len;
    uint64_t entries;
    uint64_t flagged;
    int64_t first_ms, last_ms; /* 0 when no entry had a time */
    uint64_t reboots[REPORT_MAX_REBOOTS];
    size_t n_reboots;
    bool reboots_more;
    struct report_gap gaps[REPORT_MAX_GAPS];
    size_t n_gaps;
    uint64_t gaps_total;
    uint64_t missing_total;
    uint64_t out_of_order; /* entries that came after a later sequence number */
    uint64_t gap_markers;  /* our own sequence_gap events read back */
    uint64_t reboot_markers;
    uint64_t login_success, login_failed;
    struct seqtrack seq;
    int64_t fail_ring[REPORT_BURST_FAILURES]; /* times of the last failures */
    size_t fail_n;
    int burst_open; /* index+1 of the burst being extended, 0 none */
};

struct report_user {
    char name[REPORT_NAME_MAX + 4];
    char type[REPORT_NAME_MAX + 4]; /* "CN_CRYPTO_OFFICER" or "" */
    uint64_t login_success, login_failed;
    uint64_t unknown_user, wrong_password, other_reason;
};

struct report_opcode {
    char name[REPORT_NAME_MAX + 4];
    size_t name_len;
    enum opcode_category category;
    uint64_t success, error;
};

struct report_error {
    uint64_t code;
    char opcode[REPORT_NAME_MAX + 4];
    char text[REPORT_TEXT_MAX + 4];
    uint64_t count;
};

/* One line of a detail table (user management, key lifecycle, critical operations). */
struct report_row {
    int64_t time_ms;
    uint16_t hsm;     /* index into hsms */
    const char *what; /* static label: "created", "generated (asymmetric)", ... */
    char opcode[REPORT_NAME_MAX + 4];
    char subject[REPORT_NAME_MAX + 4]; /* the user the entry names (or its target) */
    char actor[REPORT_NAME_MAX + 4];   /* the session's login user, "" when not in range */
    uint64_t handle;                   /* key handle, 0 none */
    uint64_t response_code;
    bool success;
};

struct report_rows {
    struct report_row row[REPORT_MAX_ROWS];
    size_t n;
    uint64_t total; /* rows that would exist: n plus those not kept */
};

struct report_bucket {
    int64_t hour; /* epoch hours; -1 for an empty slot */
    uint64_t entries, login_success, login_failed, key_ops, errors;
};

struct report_burst {
    uint16_t hsm;
    int64_t start_ms, end_ms;
    uint64_t failures;
};

struct report_session {
    uint64_t handle;
    uint16_t hsm;
    uint16_t user; /* index + 1 into users; 0 empty */
};

struct report_opts {
    int64_t since_ms;        /* 0: open */
    int64_t until_ms;        /* exclusive; 0: open */
    const char *const *hsms; /* --hsm filter; NULL/0: all */
    size_t n_hsms;
};

struct report {
    struct report_opts opts;
    const char *hsm_filter[REPORT_MAX_HSM_FILTER];

    char sources[REPORT_MAX_SOURCES][REPORT_NAME_MAX * 2 + 4];
    size_t n_sources;
    uint64_t sources_total;

    uint64_t entries; /* audit entries counted (in window, after the HSM filter) */
    uint64_t flagged;
    uint64_t outside_window; /* entries skipped: outside --since/--until */
    uint64_t other_hsm;      /* entries skipped by --hsm */
    uint64_t untimed;        /* entries without a time (kept) */
    uint64_t cert_events;    /* certificate-storage JSON events */
    uint64_t digest_streams; /* "*.digest" streams seen (read by `verify`, not here) */
    uint64_t unreadable;     /* events that were neither an entry nor one of our markers */
    int64_t first_ms, last_ms;

    struct report_hsm hsms[REPORT_MAX_HSMS + 1]; /* the last one is "(other)" */
    size_t n_hsms;
    bool hsm_overflow;

    struct {
        uint64_t success, failed, unknown_user, wrong_password, other;
    } logins;
    struct report_user users[REPORT_MAX_USERS + 1];
    size_t n_users;
    bool user_overflow;

    struct {
        uint64_t created, deleted, crypto_officers_created, password_changes, quorum_changes;
    } user_mgmt;
    struct {
        uint64_t generated, generated_symmetric, generated_asymmetric, deleted, deleted_token,
            deleted_session, exported, imported, shared, cluster_sync;
    } keys;
    struct {
        uint64_t initialisation, zeroise, quorum_token, backup_restore, cert_auth, cert_storage,
            other;
    } critical;

    struct report_rows user_rows, key_rows, critical_rows;

    struct report_error errors[REPORT_MAX_ERRORS + 1];
    size_t n_errors;
    bool error_overflow;
    uint64_t errors_total;

    struct report_opcode opcodes[REPORT_MAX_OPCODES + 1];
    size_t n_opcodes;
    bool opcode_overflow;

    struct report_bucket buckets[REPORT_MAX_BUCKETS];
    size_t n_buckets;
    uint64_t bucket_overflow; /* entries whose hour found no free bucket */

    struct report_burst bursts[REPORT_MAX_BURSTS];
    size_t n_bursts;
    uint64_t bursts_total;

    struct report_session sessions[REPORT_MAX_SESSIONS];
    size_t session_clock;
};

/* NULL on ENOMEM. The filter strings are borrowed: keep them alive as long as the report. */
HAF_MUST_USE struct report *report_new(const struct report_opts *opts);
void report_free(struct report *r);

/* Name a source that was read (file path, "log group / prefix"). */
void report_note_source(struct report *r, const char *name);

/*
 * One audit entry. `hsm` names its HSM (the hsm_id of our JSON, the CloudWatch stream, or the
 * file); `event_ms` is its CloudWatch timestamp, used when the entry has no time (0 unknown).
 */
void report_add_entry(struct report *r, const struct haf_entry *e, struct span hsm,
                      int64_t event_ms);

/* Our own markers, read back (daemon.c queue_marker). */
void report_add_gap_marker(struct report *r, struct span hsm);
void report_add_reboot_marker(struct report *r, struct span hsm);

/* A certificate-storage event (JSON, issue 15): op_code and whether the response was OK. */
void report_add_cert_event(struct report *r, struct span hsm, int64_t time_ms, struct span op,
                           bool ok);

/* A digest stream was seen in the log group (its records are `verify`'s to check). */
void report_note_digest_stream(struct report *r);

/* One line about digests for the renderings: whether any exist and what proves them. Static. */
const char *report_digest_summary(const struct report *r);

/* Something that was neither (counted, shown as "unreadable"). */
void report_add_unreadable(struct report *r);

/* Order the tables for rendering: timeline buckets by hour, errors by count and opcodes by use
 * (most first), users by failed then successful logins. Call it once, after the last entry: the
 * buckets are a hash table and the sessions point at users until then. HSMs keep their order. */
void report_finish(struct report *r);

/* Whether the period spans more than 3 days (then the renderings bucket per day). */
bool report_timeline_daily(const struct report *r);

/* The sorted timeline, merged per day when report_timeline_daily(): at most max buckets into
 * out (hour = the bucket's first epoch hour); returns how many. After report_finish(). */
size_t report_timeline(const struct report *r, struct report_bucket *out, size_t max);

/* "2026-12-06T20:15:58Z" (UTC) for epoch ms > 0, "" otherwise. */
void report_iso(int64_t ms, char out[32]);

/*
 * Append a name from the logs for a terminal (html false) or inside HTML text or a quoted
 * attribute (html true). Control characters (C0, DEL, C1) and the invisible direction controls
 * (U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069) become a visible "\u202E"-style escape,
 * so a hostile user name can neither move the cursor nor reverse the text around it; with html,
 * & < > " ' become character references. The input is valid UTF-8 (stored names are); an invalid
 * byte would be escaped as "\xNN".
 */
HAF_MUST_USE enum haf_err report_escape(struct buf *out, const char *s, bool html);

/* --since / --until: ISO 8601 UTC ("2026-12-06", "2026-12-06T08:00:00Z", fractions of a second
 * allowed) or a duration before now_ms ("90s", "30m", "24h", "7d", "2w"). HAF_EINVAL otherwise
 * (also before 1970, or a duration reaching before 1970); *out_ms written only on success. */
HAF_MUST_USE enum haf_err report_parse_time(const char *text, int64_t now_ms, int64_t *out_ms);

/* Renderings. Each appends to out (HAF_ENOMEM / HAF_ETOOLONG past out->max). */
HAF_MUST_USE enum haf_err report_render_text(const struct report *r, struct buf *out);
HAF_MUST_USE enum haf_err report_render_json(const struct report *r, struct buf *out);
HAF_MUST_USE enum haf_err report_render_html(const struct report *r, struct buf *out);

#endif
