/*
 * report_agg.c: the aggregation behind `report` (see report.h): one pass over audit entries into
 * fixed-size tables.
 *
 * What an entry counts as comes from the opcode catalogue (opcodes.h: category first, then the
 * opcode name for the distinctions inside a category: symmetric vs asymmetric generation, token
 * vs session deletion, CO creation). Decisions a reviewer may question:
 * - Success is "Response" code 0 (or the "HSM Return: SUCCESS" text); an entry without a
 *   Response line is neither success nor error. Totals of users created, keys generated and so on
 *   count successful operations only; failed attempts appear as errors and as detail rows marked
 *   failed.
 * - Failed login reasons: 157 and 206 are "unknown user" (the reference §4.2: 157 is AWS's text,
 *   206 "This user doesn't exist"), 163 RET_USER_LOGIN_FAILURE is "wrong password", anything
 *   else "other".
 * - A CO creation is CN_CREATE_CO, or CN_CREATE_USER whose target user (when the entry names one)
 *   or else whose user is of type CN_CRYPTO_OFFICER (2) — the rule of the shipped alarm (issue 15),
 *   so an admin creating a crypto user is not counted.
 * - The actor of an operation is the user of the session's last successful CN_LOGIN on the same
 *   HSM, when that login was read (in the window); a logout forgets it. The table keeps
 *   REPORT_MAX_SESSIONS sessions and overwrites on collision: an actor may then show as unknown,
 *   never as someone else (the slot is matched on HSM and handle).
 * - Sequence continuity uses seqtrack per HSM (a gap only within one reboot counter; a new
 *   reboot counter starts a new run); SEQ_BACKWARDS is counted as out of order. Entries come in
 *   the order read: files in command-line order, CloudWatch streams in stored order.
 * - Bursts: REPORT_BURST_FAILURES failed logins on one HSM within REPORT_BURST_WINDOW_MS; a burst
 *   grows while failures keep coming within the window of its last one.
 */
#include "haf/report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "haf/utf8.h"

/* The bound report.h states: everything the aggregation keeps is this one struct. */
_Static_assert(sizeof(struct report) < (3u << 19), "struct report grew past 1.5 MiB");

#define RESP_UNKNOWN_USER   157
#define RESP_NO_SUCH_USER   206
#define RESP_WRONG_PASSWORD 163
#define USER_TYPE_CO        2
#define MS_PER_HOUR         3600000
#define BUCKET_PROBES       64
#define SESSION_PROBES      8

/* ---- strings from the logs ---- */

/* Copy as valid UTF-8 without NULs (each invalid byte or NUL becomes U+FFFD), at most `cap`
 * bytes, cut on a character boundary; always NUL-terminated. dst has cap + 4 bytes. */
static void
copy_name(char *dst, size_t cap, struct span s)
{
    size_t o = 0;

    for (size_t i = 0; i < s.len;) {
        unsigned char c = (unsigned char)s.p[i];
        size_t k = 1;
        const char *src = s.p + i;
        if (c == 0 || c >= 0x80) {
            k = c == 0 ? 0 : utf8_seq_len((const unsigned char *)s.p + i, s.len - i);
            if (k == 0) {
                src = "\xEF\xBF\xBD";
                k = 3;
                i += 1;
            } else {
                i += k;
            }
        } else {
            i++;
        }
        if (o + k > cap)
            break;
        memcpy(dst + o, src, k);
        o += k;
    }
    dst[o] = '\0';
}

/* ---- lifecycle ---- */

struct report *
report_new(const struct report_opts *opts)
{
    struct report *r = calloc(1, sizeof(*r));

    if (r == NULL)
        return NULL;
    if (opts) {
        r->opts = *opts;
        if (r->opts.n_hsms > REPORT_MAX_HSM_FILTER)
            r->opts.n_hsms = REPORT_MAX_HSM_FILTER;
        for (size_t i = 0; i < r->opts.n_hsms; i++)
            r->hsm_filter[i] = opts->hsms[i];
    }
    for (size_t i = 0; i < REPORT_MAX_BUCKETS; i++)
        r->buckets[i].hour = -1;
    snprintf(r->hsms[REPORT_MAX_HSMS].hsm, sizeof(r->hsms[0].hsm), "%s", REPORT_OTHER);
    seqtrack_init(&r->hsms[REPORT_MAX_HSMS].seq);
    snprintf(r->users[REPORT_MAX_USERS].name, sizeof(r->users[0].name), "%s", REPORT_OTHER);
    snprintf(r->opcodes[REPORT_MAX_OPCODES].name, sizeof(r->opcodes[0].name), "%s", REPORT_OTHER);
    snprintf(r->errors[REPORT_MAX_ERRORS].opcode, sizeof(r->errors[0].opcode), "%s", REPORT_OTHER);
    return r;
}

void
report_free(struct report *r)
{
    free(r);
}

void
report_note_source(struct report *r, const char *name)
{
    r->sources_total++;
    if (r->n_sources < REPORT_MAX_SOURCES)
        copy_name(r->sources[r->n_sources++], REPORT_NAME_MAX * 2, span_cstr(name));
}

/* ---- tables ---- */

static bool
hsm_admitted(const struct report *r, struct span hsm)
{
    if (r->opts.n_hsms == 0)
        return true;
    for (size_t i = 0; i < r->opts.n_hsms; i++)
        if (span_eq(hsm, span_cstr(r->hsm_filter[i])))
            return true;
    return false;
}

static size_t
hsm_index(struct report *r, struct span name)
{
    char tmp[REPORT_NAME_MAX + 4];

    copy_name(tmp, REPORT_NAME_MAX, name.len ? name : SPAN_LIT("(unnamed)"));
    for (size_t i = 0; i < r->n_hsms; i++)
        if (strcmp(r->hsms[i].hsm, tmp) == 0)
            return i;
    if (r->n_hsms == REPORT_MAX_HSMS) {
        r->hsm_overflow = true;
        return REPORT_MAX_HSMS;
    }
    memcpy(r->hsms[r->n_hsms].hsm, tmp, sizeof(tmp));
    r->hsms[r->n_hsms].hsm_len = strlen(tmp);
    seqtrack_init(&r->hsms[r->n_hsms].seq);
    return r->n_hsms++;
}

/* Raw bytes first (the usual case: a valid name seen before), then the stored form. */
static size_t
hsm_lookup(struct report *r, struct span name)
{
    for (size_t i = r->n_hsms; i-- > 0;)
        if (r->hsms[i].hsm_len == name.len && memcmp(r->hsms[i].hsm, name.p, name.len) == 0)
            return i;
    return hsm_index(r, name);
}

static size_t
user_index(struct report *r, struct span name, struct span type)
{
    char n[REPORT_NAME_MAX + 4], t[REPORT_NAME_MAX + 4];

    copy_name(n, REPORT_NAME_MAX, name.len ? name : SPAN_LIT("(none)"));
    copy_name(t, REPORT_NAME_MAX, type);
    for (size_t i = 0; i < r->n_users; i++)
        if (strcmp(r->users[i].name, n) == 0 && strcmp(r->users[i].type, t) == 0)
            return i;
    if (r->n_users == REPORT_MAX_USERS) {
        r->user_overflow = true;
        return REPORT_MAX_USERS;
    }
    memcpy(r->users[r->n_users].name, n, sizeof(n));
    memcpy(r->users[r->n_users].type, t, sizeof(t));
    return r->n_users++;
}

static struct report_opcode *
opcode_stats(struct report *r, struct span name, enum opcode_category cat)
{
    char tmp[REPORT_NAME_MAX + 4];

    for (size_t i = 0; i < r->n_opcodes; i++)
        if (r->opcodes[i].name_len == name.len && memcmp(r->opcodes[i].name, name.p, name.len) == 0)
            return &r->opcodes[i];
    copy_name(tmp, REPORT_NAME_MAX, name);
    for (size_t i = 0; i < r->n_opcodes; i++)
        if (strcmp(r->opcodes[i].name, tmp) == 0)
            return &r->opcodes[i];
    if (r->n_opcodes == REPORT_MAX_OPCODES) {
        r->opcode_overflow = true;
        return &r->opcodes[REPORT_MAX_OPCODES];
    }
    memcpy(r->opcodes[r->n_opcodes].name, tmp, sizeof(tmp));
    r->opcodes[r->n_opcodes].name_len = strlen(tmp);
    r->opcodes[r->n_opcodes].category = cat;
    return &r->opcodes[r->n_opcodes++];
}

static void
error_count(struct report *r, const struct haf_entry *e, const char *opname)
{
    char text[REPORT_TEXT_MAX + 4];
    struct report_error *x = NULL;

    r->errors_total++;
    for (size_t i = 0; i < r->n_errors; i++)
        if (r->errors[i].code == e->response_code && strcmp(r->errors[i].opcode, opname) == 0)
            x = &r->errors[i];
    if (x == NULL && r->n_errors < REPORT_MAX_ERRORS) {
        x = &r->errors[r->n_errors++];
        x->code = e->response_code;
        snprintf(x->opcode, sizeof(x->opcode), "%s", opname);
        copy_name(text, REPORT_TEXT_MAX, e->response_text);
        memcpy(x->text, text, sizeof(text));
    } else if (x == NULL) {
        r->error_overflow = true;
        x = &r->errors[REPORT_MAX_ERRORS];
    }
    x->count++;
}

static struct report_bucket *
bucket_get(struct report *r, int64_t ms)
{
    int64_t hour;
    size_t at;

    if (ms <= 0)
        return NULL;
    hour = ms / MS_PER_HOUR;
    at = (size_t)((uint64_t)hour % REPORT_MAX_BUCKETS);
    for (size_t k = 0; k < BUCKET_PROBES; k++) {
        struct report_bucket *b = &r->buckets[(at + k) % REPORT_MAX_BUCKETS];
        if (b->hour == hour)
            return b;
        if (b->hour < 0) {
            b->hour = hour;
            r->n_buckets++;
            return b;
        }
    }
    r->bucket_overflow++;
    return NULL;
}

static size_t
session_slot(uint16_t hsm, uint64_t handle)
{
    uint64_t h = (handle ^ ((uint64_t)hsm << 48)) * 0x9e3779b97f4a7c15u;

    return (size_t)(h >> 52) % REPORT_MAX_SESSIONS;
}

static void
session_put(struct report *r, uint16_t hsm, uint64_t handle, size_t user)
{
    size_t at = session_slot(hsm, handle);

    for (size_t k = 0; k < SESSION_PROBES; k++) {
        struct report_session *s = &r->sessions[(at + k) % REPORT_MAX_SESSIONS];
        if (s->user == 0 || (s->hsm == hsm && s->handle == handle)) {
            *s = (struct report_session){handle, hsm, (uint16_t)(user + 1)};
            return;
        }
    }
    /* Full around here: overwrite in turn. */
    r->sessions[(at + r->session_clock++ % SESSION_PROBES) % REPORT_MAX_SESSIONS] =
        (struct report_session){handle, hsm, (uint16_t)(user + 1)};
}

static struct report_session *
session_find(struct report *r, uint16_t hsm, uint64_t handle)
{
    size_t at = session_slot(hsm, handle);

    for (size_t k = 0; k < SESSION_PROBES; k++) {
        struct report_session *s = &r->sessions[(at + k) % REPORT_MAX_SESSIONS];
        if (s->user != 0 && s->hsm == hsm && s->handle == handle)
            return s;
    }
    return NULL;
}

/* ---- facts of one entry ---- */

struct fact {
    const struct haf_entry *e;
    size_t hsm;
    int64_t t;
    bool has_response;
    bool success;
    const char *opname; /* stored (copied) opcode name */
    struct report_bucket *bucket;
};

static void
add_row(struct report *r, struct report_rows *rows, const struct fact *f, const char *what,
        uint64_t handle)
{
    const struct haf_entry *e = f->e;
    struct report_row *w;
    struct report_session *s;

    rows->total++;
    if (rows->n == REPORT_MAX_ROWS)
        return;
    w = &rows->row[rows->n++];
    memset(w, 0, sizeof(*w));
    w->time_ms = f->t;
    w->hsm = (uint16_t)f->hsm;
    w->what = what;
    snprintf(w->opcode, sizeof(w->opcode), "%s", f->opname);
    copy_name(w->subject, REPORT_NAME_MAX,
              (e->present & HAF_F_TARGET_USER_NAME) ? e->target_user_name : e->user_name);
    s = (e->present & HAF_F_SESSION_HANDLE) ? session_find(r, (uint16_t)f->hsm, e->session_handle)
                                            : NULL;
    if (s)
        memcpy(w->actor, r->users[s->user - 1].name, sizeof(w->actor));
    w->handle = handle;
    w->response_code = e->response_code;
    w->success = f->success;
}

static void
burst_note(struct report *r, struct report_hsm *h, size_t hsm, int64_t t)
{
    int64_t oldest;

    if (t <= 0)
        return;
    if (h->fail_n < REPORT_BURST_FAILURES) {
        h->fail_ring[h->fail_n++] = t;
        if (h->fail_n < REPORT_BURST_FAILURES)
            return;
    } else {
        memmove(h->fail_ring, h->fail_ring + 1, (REPORT_BURST_FAILURES - 1) * sizeof(int64_t));
        h->fail_ring[REPORT_BURST_FAILURES - 1] = t;
    }
    oldest = h->fail_ring[0];
    if (t - oldest > REPORT_BURST_WINDOW_MS || t < oldest) {
        h->burst_open = 0;
        return;
    }
    if (h->burst_open > 0) {
        struct report_burst *b = &r->bursts[h->burst_open - 1];
        b->end_ms = t;
        b->failures++;
        return;
    }
    r->bursts_total++;
    if (r->n_bursts == REPORT_MAX_BURSTS)
        return;
    r->bursts[r->n_bursts] = (struct report_burst){(uint16_t)hsm, oldest, t, REPORT_BURST_FAILURES};
    h->burst_open = (int)++r->n_bursts;
}

static void
on_login(struct report *r, const struct fact *f)
{
    const struct haf_entry *e = f->e;
    struct report_hsm *h = &r->hsms[f->hsm];
    size_t u = user_index(r, e->user_name, e->user_type.name);
    struct report_user *ur = &r->users[u];

    if (!f->has_response)
        return;
    if (f->success) {
        r->logins.success++;
        ur->login_success++;
        h->login_success++;
        if (f->bucket)
            f->bucket->login_success++;
        if ((e->present & HAF_F_SESSION_HANDLE) && u < REPORT_MAX_USERS)
            session_put(r, (uint16_t)f->hsm, e->session_handle, u);
        return;
    }
    r->logins.failed++;
    ur->login_failed++;
    h->login_failed++;
    if (f->bucket)
        f->bucket->login_failed++;
    if (e->response_code == RESP_UNKNOWN_USER || e->response_code == RESP_NO_SUCH_USER) {
        r->logins.unknown_user++;
        ur->unknown_user++;
    } else if (e->response_code == RESP_WRONG_PASSWORD) {
        r->logins.wrong_password++;
        ur->wrong_password++;
    } else {
        r->logins.other++;
        ur->other_reason++;
    }
    burst_note(r, h, f->hsm, f->t);
}

static bool
is(const struct fact *f, const char *name)
{
    return strcmp(f->opname, name) == 0;
}

static bool
creates_co(const struct haf_entry *e, const struct fact *f)
{
    if (is(f, "CN_CREATE_CO"))
        return true;
    if (!is(f, "CN_CREATE_USER"))
        return false;
    if (e->present & HAF_F_TARGET_USER_TYPE)
        return e->target_user_type.code == USER_TYPE_CO;
    return (e->present & HAF_F_USER_TYPE) && e->user_type.code == USER_TYPE_CO;
}

static void
on_user_mgmt(struct report *r, const struct fact *f, enum opcode_category cat)
{
    const struct haf_entry *e = f->e;
    const char *what = "changed";

    if (cat == OPCODE_CAT_PASSWORD_CHANGE) {
        what = "password changed";
        r->user_mgmt.password_changes += f->success;
    } else if (cat == OPCODE_CAT_QUORUM_TOKEN) {
        what = "quorum / MFA";
        r->user_mgmt.quorum_changes += f->success;
    } else if (is(f, "CN_DELETE_USER")) {
        what = "deleted";
        r->user_mgmt.deleted += f->success;
    } else if (strncmp(f->opname, "CN_CREATE_", 10) == 0) {
        bool co = creates_co(e, f);
        what = co ? "created (crypto officer)" : "created";
        r->user_mgmt.created += f->success;
        r->user_mgmt.crypto_officers_created += f->success && co;
    }
    add_row(r, &r->user_rows, f, what, 0);
}

static uint64_t
key_handle_of(const struct haf_entry *e)
{
    if ((e->present & HAF_F_KEY_HANDLE) && e->key_handle)
        return e->key_handle;
    if ((e->present & HAF_F_PRIV_SECRET_KEY_HANDLE) && e->priv_secret_key_handle)
        return e->priv_secret_key_handle;
    if (e->present & HAF_F_PUBLIC_KEY_HANDLE)
        return e->public_key_handle;
    return 0;
}

static void
on_key(struct report *r, const struct fact *f, enum opcode_category cat)
{
    const char *what = "key operation";
    uint64_t ok = f->success;

    switch (cat) {
    case OPCODE_CAT_KEY_GENERATION:
        r->keys.generated += ok;
        if (is(f, "CN_GENERATE_KEY_PAIR")) {
            what = "generated (asymmetric)";
            r->keys.generated_asymmetric += ok;
        } else {
            what = is(f, "CN_DERIVE_KEY") ? "derived (symmetric)" : "generated (symmetric)";
            r->keys.generated_symmetric += ok;
        }
        break;
    case OPCODE_CAT_KEY_DELETION:
        r->keys.deleted += ok;
        if (is(f, "CN_TOMBSTONE_OBJECT")) {
            what = "deleted (token key)";
            r->keys.deleted_token += ok;
        } else if (is(f, "CN_DESTROY_OBJECT")) {
            what = "deleted (session key)";
            r->keys.deleted_session += ok;
        } else {
            what = "deleted";
        }
        break;
    case OPCODE_CAT_KEY_EXPORT:
        what = "exported / wrapped";
        r->keys.exported += ok;
        break;
    case OPCODE_CAT_KEY_IMPORT:
        what = "imported / unwrapped";
        r->keys.imported += ok;
        break;
    case OPCODE_CAT_KEY_SHARING:
        what = "shared / unshared";
        r->keys.shared += ok;
        break;
    case OPCODE_CAT_CLUSTER_SYNC:
        what = "cluster sync (masked object)";
        r->keys.cluster_sync += ok;
        break;
    default:
        break;
    }
    if (f->bucket)
        f->bucket->key_ops++;
    add_row(r, &r->key_rows, f, what, key_handle_of(f->e));
}

static void
on_critical(struct report *r, const struct fact *f, enum opcode_category cat)
{
    const char *what = "critical";

    if (cat == OPCODE_CAT_BACKUP_RESTORE) {
        what = "backup / restore";
        r->critical.backup_restore++;
    } else if (cat == OPCODE_CAT_CERT_AUTH) {
        what = "certificate authority";
        r->critical.cert_auth++;
    } else if (cat == OPCODE_CAT_QUORUM_TOKEN) {
        what = "quorum / token";
        r->critical.quorum_token++;
    } else if (is(f, "CN_ZEROIZE")) {
        what = "zeroise";
        r->critical.zeroise++;
    } else if (is(f, "CN_INIT_TOKEN") || is(f, "CN_INIT_DONE")) {
        what = "initialisation";
        r->critical.initialisation++;
    } else {
        r->critical.other++;
    }
    add_row(r, &r->critical_rows, f, what, 0);
}

static void
on_sequence(struct report_hsm *h, const struct haf_entry *e, int64_t t)
{
    struct seq_gap gap;
    enum seq_verdict v;
    bool known = false;

    if ((e->present & (HAF_F_SEQUENCE_NO | HAF_F_REBOOT_COUNTER)) !=
        (HAF_F_SEQUENCE_NO | HAF_F_REBOOT_COUNTER))
        return;
    for (size_t i = 0; i < h->n_reboots && !known; i++)
        known = h->reboots[i] == e->reboot_counter;
    if (!known) {
        if (h->n_reboots < REPORT_MAX_REBOOTS)
            h->reboots[h->n_reboots++] = e->reboot_counter;
        else
            h->reboots_more = true;
    }
    v = seqtrack_check(&h->seq, e->reboot_counter, e->sequence_no, &gap);
    if (v == SEQ_BACKWARDS) {
        h->out_of_order++;
    } else if (v == SEQ_GAP) {
        uint64_t missing = gap.received - gap.expected;
        h->gaps_total++;
        h->missing_total += missing;
        if (h->n_gaps < REPORT_MAX_GAPS)
            h->gaps[h->n_gaps++] =
                (struct report_gap){gap.reboot_counter, gap.expected, gap.received, missing, t};
    }
}

void
report_add_entry(struct report *r, const struct haf_entry *e, struct span hsm, int64_t event_ms)
{
    int64_t t = (e->present & HAF_F_TIME) ? (int64_t)(e->usecs / 1000) : event_ms;
    struct fact f = {.e = e, .t = t};
    struct report_hsm *h;
    enum opcode_category cat;
    struct report_opcode *op;

    if (e->kind == HAF_KIND_CERT_STORAGE && e->parse_error == NULL) {
        report_add_cert_event(r, hsm, audit_entry_time_ms(e), e->cert.op_code,
                              cert_event_success(&e->cert));
        return;
    }
    if (!hsm_admitted(r, hsm)) {
        r->other_hsm++;
        return;
    }
    if (t > 0 && ((r->opts.since_ms > 0 && t < r->opts.since_ms) ||
                  (r->opts.until_ms > 0 && t >= r->opts.until_ms))) {
        r->outside_window++;
        return;
    }
    f.hsm = hsm_lookup(r, hsm);
    h = &r->hsms[f.hsm];
    r->entries++;
    h->entries++;
    if (e->parse_error) {
        r->flagged++;
        h->flagged++;
    }
    if (t > 0) {
        if (r->first_ms == 0 || t < r->first_ms)
            r->first_ms = t;
        if (t > r->last_ms)
            r->last_ms = t;
        if (h->first_ms == 0 || t < h->first_ms)
            h->first_ms = t;
        if (t > h->last_ms)
            h->last_ms = t;
    } else {
        r->untimed++;
    }
    on_sequence(h, e, t);
    f.bucket = bucket_get(r, t);
    if (f.bucket)
        f.bucket->entries++;

    cat = opcode_entry_category((e->present & HAF_F_OPCODE) != 0, e->opcode.name, e->opcode.code,
                                (e->present & HAF_F_COMMAND_TYPE) != 0, e->command_type.code,
                                (e->present & HAF_F_LOG_TYPE) != 0, e->log_type.code);
    op = opcode_stats(r,
                      (e->present & HAF_F_OPCODE) && e->opcode.name.len ? e->opcode.name
                      : cat == OPCODE_CAT_TIME                          ? SPAN_LIT("TIME_INFO")
                                                                        : SPAN_LIT("(none)"),
                      cat);
    f.opname = op->name;
    f.has_response = (e->present & HAF_F_RESPONSE) != 0;
    f.success = f.has_response && (e->response_success || e->response_code == 0);
    if (f.has_response) {
        if (f.success) {
            op->success++;
        } else {
            op->error++;
            error_count(r, e, op->name);
            if (f.bucket)
                f.bucket->errors++;
        }
    }

    switch (cat) {
    case OPCODE_CAT_LOGIN_LOGOUT:
        if (is(&f, "CN_LOGIN"))
            on_login(r, &f);
        else if ((e->present & HAF_F_SESSION_HANDLE) && f.success) {
            struct report_session *s = session_find(r, (uint16_t)f.hsm, e->session_handle);
            if (s)
                s->user = 0;
        }
        break;
    case OPCODE_CAT_USER_MANAGEMENT:
    case OPCODE_CAT_PASSWORD_CHANGE:
        on_user_mgmt(r, &f, cat);
        break;
    case OPCODE_CAT_QUORUM_TOKEN:
        on_user_mgmt(r, &f, cat);
        on_critical(r, &f, cat);
        break;
    case OPCODE_CAT_KEY_GENERATION:
    case OPCODE_CAT_KEY_DELETION:
    case OPCODE_CAT_KEY_EXPORT:
    case OPCODE_CAT_KEY_IMPORT:
    case OPCODE_CAT_KEY_SHARING:
    case OPCODE_CAT_CLUSTER_SYNC:
        on_key(r, &f, cat);
        break;
    case OPCODE_CAT_BACKUP_RESTORE:
    case OPCODE_CAT_INIT_CRITICAL:
    case OPCODE_CAT_CERT_AUTH:
        on_critical(r, &f, cat);
        break;
    default:
        break;
    }
}

void
report_add_gap_marker(struct report *r, struct span hsm)
{
    if (!hsm_admitted(r, hsm))
        return;
    r->hsms[hsm_lookup(r, hsm)].gap_markers++;
}

void
report_add_reboot_marker(struct report *r, struct span hsm)
{
    if (!hsm_admitted(r, hsm))
        return;
    r->hsms[hsm_lookup(r, hsm)].reboot_markers++;
}

void
report_add_cert_event(struct report *r, struct span hsm, int64_t time_ms, struct span op, bool ok)
{
    struct haf_entry e;
    struct fact f;

    if (!hsm_admitted(r, hsm)) {
        r->other_hsm++;
        return;
    }
    if (time_ms > 0 && ((r->opts.since_ms > 0 && time_ms < r->opts.since_ms) ||
                        (r->opts.until_ms > 0 && time_ms >= r->opts.until_ms))) {
        r->outside_window++;
        return;
    }
    memset(&e, 0, sizeof(e));
    e.response_code = ok ? 0 : 1;
    f = (struct fact){.e = &e, .hsm = hsm_lookup(r, hsm), .t = time_ms, .success = ok};
    f.opname = opcode_stats(r, op, OPCODE_CAT_OTHER)->name;
    r->cert_events++;
    r->critical.cert_storage++;
    add_row(r, &r->critical_rows, &f, "certificate storage", 0);
}

void
report_note_digest_stream(struct report *r)
{
    r->digest_streams++;
}

const char *
report_digest_summary(const struct report *r)
{
    if (r->digest_streams > 0)
        return "Digest streams exist: run hsm-audit-forwarder verify on this log group to prove "
               "that nothing in it was altered, removed or injected (not checked here).";
    return "No digest streams were read: integrity is not provable from these inputs, only "
           "the sequence continuity above (see hsm-audit-forwarder verify).";
}

void
report_add_unreadable(struct report *r)
{
    r->unreadable++;
}

static int
bucket_cmp(const void *a, const void *b)
{
    int64_t x = ((const struct report_bucket *)a)->hour;
    int64_t y = ((const struct report_bucket *)b)->hour;

    /* Empty slots (-1) last. */
    if (x < 0 || y < 0)
        return (x < 0) - (y < 0);
    return (x > y) - (x < y);
}

static int
error_cmp(const void *a, const void *b)
{
    const struct report_error *x = a, *y = b;

    if (x->count != y->count)
        return (x->count < y->count) - (x->count > y->count);
    if (x->code != y->code)
        return (x->code > y->code) - (x->code < y->code);
    return strcmp(x->opcode, y->opcode);
}

static int
opcode_cmp(const void *a, const void *b)
{
    const struct report_opcode *x = a, *y = b;
    uint64_t nx = x->success + x->error, ny = y->success + y->error;

    return nx != ny ? (nx < ny) - (nx > ny) : strcmp(x->name, y->name);
}

static int
user_cmp(const void *a, const void *b)
{
    const struct report_user *x = a, *y = b;

    if (x->login_failed != y->login_failed)
        return (x->login_failed < y->login_failed) - (x->login_failed > y->login_failed);
    if (x->login_success != y->login_success)
        return (x->login_success < y->login_success) - (x->login_success > y->login_success);
    return strcmp(x->name, y->name);
}

void
report_finish(struct report *r)
{
    /* The "(other)" rows live past the n_* entries and stay last. Sessions name users by index:
     * forget them, they are of no use once no entry follows. */
    qsort(r->buckets, REPORT_MAX_BUCKETS, sizeof(r->buckets[0]), bucket_cmp);
    qsort(r->errors, r->n_errors, sizeof(r->errors[0]), error_cmp);
    qsort(r->opcodes, r->n_opcodes, sizeof(r->opcodes[0]), opcode_cmp);
    qsort(r->users, r->n_users, sizeof(r->users[0]), user_cmp);
    memset(r->sessions, 0, sizeof(r->sessions));
}

bool
report_timeline_daily(const struct report *r)
{
    return r->last_ms - r->first_ms > 3 * 24 * (int64_t)MS_PER_HOUR;
}

size_t
report_timeline(const struct report *r, struct report_bucket *out, size_t max)
{
    bool daily = report_timeline_daily(r);
    size_t n = 0;

    for (size_t i = 0; i < REPORT_MAX_BUCKETS && r->buckets[i].hour >= 0; i++) {
        const struct report_bucket *b = &r->buckets[i];
        int64_t key = daily ? b->hour / 24 * 24 : b->hour;
        if (n == 0 || out[n - 1].hour != key) {
            if (n == max)
                break;
            out[n++] = (struct report_bucket){.hour = key};
        }
        out[n - 1].entries += b->entries;
        out[n - 1].login_success += b->login_success;
        out[n - 1].login_failed += b->login_failed;
        out[n - 1].key_ops += b->key_ops;
        out[n - 1].errors += b->errors;
    }
    return n;
}

void
report_iso(int64_t ms, char out[32])
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;

    out[0] = '\0';
    if (ms > 0 && gmtime_r(&secs, &tm) != NULL)
        (void)strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
