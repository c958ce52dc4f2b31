/*
 * report_json.c: the report as one JSON document (schema "hsm-audit-forwarder/report/1",
 * documented in man/hsm-audit-forwarder.8, section REPORT JSON SCHEMA).
 *
 * Built with jansson: the document is written once per run, so a tree is simpler than a hand
 * writer and its escaping is jansson's (JSON_ENSURE_ASCII: every non-ASCII character, bidi
 * overrides included, is a \uXXXX escape, so the document is safe to show in any terminal or
 * viewer). Names in the report are already valid UTF-8 (report_agg.c), so json_string() never
 * refuses one. Times are ISO 8601 UTC strings ("2026-12-06T20:15:58Z") or null. The _new setters
 * steal their value references (also on failure); a failure anywhere makes the whole document
 * fail with HAF_ENOMEM.
 */
#include "haf/json_write.h"
#include "haf/report.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

/* Set o[k] = v, stealing v; false on failure. Sticky through `ok`. */
static void
put(json_t *o, const char *k, json_t *v, bool *ok)
{
    if (v == NULL || json_object_set_new(o, k, v) != 0)
        *ok = false;
}

static json_t *
time_or_null(int64_t ms)
{
    char iso[32];

    report_iso(ms, iso);
    return iso[0] ? json_string(iso) : json_null();
}

static json_t *
u64(uint64_t v)
{
    return json_integer((json_int_t)(v > INT64_MAX ? INT64_MAX : v));
}

static void
append(json_t *a, json_t *v, bool *ok)
{
    if (v == NULL || json_array_append_new(a, v) != 0)
        *ok = false;
}

static json_t *
hsm_json(const struct report_hsm *h, bool *ok)
{
    json_t *o = json_object(), *reboots = json_array(), *gaps = json_array();

    if (o == NULL || reboots == NULL || gaps == NULL) {
        json_decref(o);
        json_decref(reboots);
        json_decref(gaps);
        *ok = false;
        return NULL;
    }
    put(o, "hsm", json_string(h->hsm), ok);
    put(o, "stream", json_string(h->hsm), ok);
    put(o, "entries", u64(h->entries), ok);
    put(o, "flagged", u64(h->flagged), ok);
    put(o, "first", time_or_null(h->first_ms), ok);
    put(o, "last", time_or_null(h->last_ms), ok);
    for (size_t i = 0; i < h->n_reboots; i++)
        append(reboots, u64(h->reboots[i]), ok);
    put(o, "reboot_counters", reboots, ok);
    put(o, "reboot_counters_more", json_boolean(h->reboots_more), ok);
    for (size_t i = 0; i < h->n_gaps; i++) {
        json_t *g = json_object();
        if (g == NULL) {
            *ok = false;
            break;
        }
        put(g, "reboot_counter", u64(h->gaps[i].reboot_counter), ok);
        put(g, "expected", u64(h->gaps[i].expected), ok);
        put(g, "received", u64(h->gaps[i].received), ok);
        put(g, "missing", u64(h->gaps[i].missing), ok);
        put(g, "time", time_or_null(h->gaps[i].time_ms), ok);
        append(gaps, g, ok);
    }
    put(o, "gaps", gaps, ok);
    put(o, "gaps_total", u64(h->gaps_total), ok);
    put(o, "missing_total", u64(h->missing_total), ok);
    put(o, "out_of_order", u64(h->out_of_order), ok);
    put(o, "gap_markers", u64(h->gap_markers), ok);
    put(o, "reboot_markers", u64(h->reboot_markers), ok);
    put(o, "login_success", u64(h->login_success), ok);
    put(o, "login_failed", u64(h->login_failed), ok);
    put(o, "continuous",
        json_boolean(h->gaps_total == 0 && h->out_of_order == 0 && h->gap_markers == 0), ok);
    return o;
}

static json_t *
rows_json(const struct report *r, const struct report_rows *rows, bool *ok)
{
    json_t *a = json_array();

    if (a == NULL) {
        *ok = false;
        return NULL;
    }
    for (size_t i = 0; i < rows->n; i++) {
        const struct report_row *w = &rows->row[i];
        json_t *o = json_object();
        if (o == NULL) {
            *ok = false;
            break;
        }
        put(o, "time", time_or_null(w->time_ms), ok);
        put(o, "hsm", json_string(r->hsms[w->hsm].hsm), ok);
        put(o, "what", json_string(w->what), ok);
        put(o, "opcode", json_string(w->opcode), ok);
        put(o, "user", json_string(w->subject), ok);
        put(o, "session_user", w->actor[0] ? json_string(w->actor) : json_null(), ok);
        put(o, "key_handle", w->handle ? u64(w->handle) : json_null(), ok);
        put(o, "success", json_boolean(w->success), ok);
        put(o, "response_code", u64(w->response_code), ok);
        append(a, o, ok);
    }
    return a;
}

static json_t *
logins_json(const struct report *r, bool *ok)
{
    json_t *o = json_object(), *by_user = json_object(), *reason = json_object();
    json_t *users = json_array(), *by_hsm = json_object(), *bursts = json_array();

    if (!o || !by_user || !reason || !users || !by_hsm || !bursts)
        *ok = false;
    put(o, "success", u64(r->logins.success), ok);
    put(o, "failed", u64(r->logins.failed), ok);
    for (size_t i = 0; *ok && i <= REPORT_MAX_USERS; i++) {
        const struct report_user *u;
        json_t *x, *prev;
        if (i == r->n_users && i < REPORT_MAX_USERS)
            i = REPORT_MAX_USERS; /* the "(other)" row, when used */
        u = &r->users[i];
        if (u->login_success == 0 && u->login_failed == 0)
            continue;
        if (u->login_failed > 0) {
            prev = json_object_get(by_user, u->name);
            put(by_user, u->name,
                u64(u->login_failed + (prev ? (uint64_t)json_integer_value(prev) : 0)), ok);
        }
        x = json_object();
        if (x == NULL) {
            *ok = false;
            break;
        }
        put(x, "user", json_string(u->name), ok);
        put(x, "type", json_string(u->type), ok);
        put(x, "success", u64(u->login_success), ok);
        put(x, "failed", u64(u->login_failed), ok);
        put(x, "unknown_user", u64(u->unknown_user), ok);
        put(x, "wrong_password", u64(u->wrong_password), ok);
        put(x, "other", u64(u->other_reason), ok);
        append(users, x, ok);
    }
    put(o, "failed_by_user", by_user, ok);
    put(reason, "unknown_user", u64(r->logins.unknown_user), ok);
    put(reason, "wrong_password", u64(r->logins.wrong_password), ok);
    put(reason, "other", u64(r->logins.other), ok);
    put(o, "failed_by_reason", reason, ok);
    put(o, "by_user", users, ok);
    for (size_t i = 0; *ok && i < r->n_hsms; i++) {
        json_t *x = json_object();
        put(x, "success", u64(r->hsms[i].login_success), ok);
        put(x, "failed", u64(r->hsms[i].login_failed), ok);
        put(by_hsm, r->hsms[i].hsm, x, ok);
    }
    put(o, "by_hsm", by_hsm, ok);
    for (size_t i = 0; *ok && i < r->n_bursts; i++) {
        json_t *x = json_object();
        put(x, "hsm", json_string(r->hsms[r->bursts[i].hsm].hsm), ok);
        put(x, "start", time_or_null(r->bursts[i].start_ms), ok);
        put(x, "end", time_or_null(r->bursts[i].end_ms), ok);
        put(x, "failures", u64(r->bursts[i].failures), ok);
        append(bursts, x, ok);
    }
    put(o, "bursts", bursts, ok);
    put(o, "bursts_total", u64(r->bursts_total), ok);
    return o;
}

static json_t *
sections_json(const struct report *r, json_t *root, bool *ok)
{
    json_t *users = json_object(), *keys = json_object(), *crit = json_object();

    put(users, "created", u64(r->user_mgmt.created), ok);
    put(users, "deleted", u64(r->user_mgmt.deleted), ok);
    put(users, "crypto_officers_created", u64(r->user_mgmt.crypto_officers_created), ok);
    put(users, "password_changes", u64(r->user_mgmt.password_changes), ok);
    put(users, "quorum_changes", u64(r->user_mgmt.quorum_changes), ok);
    put(users, "events", rows_json(r, &r->user_rows, ok), ok);
    put(users, "events_total", u64(r->user_rows.total), ok);
    put(root, "users", users, ok);

    put(keys, "generated", u64(r->keys.generated), ok);
    put(keys, "generated_symmetric", u64(r->keys.generated_symmetric), ok);
    put(keys, "generated_asymmetric", u64(r->keys.generated_asymmetric), ok);
    put(keys, "deleted", u64(r->keys.deleted), ok);
    put(keys, "deleted_token", u64(r->keys.deleted_token), ok);
    put(keys, "deleted_session", u64(r->keys.deleted_session), ok);
    put(keys, "exported", u64(r->keys.exported), ok);
    put(keys, "imported", u64(r->keys.imported), ok);
    put(keys, "shared", u64(r->keys.shared), ok);
    put(keys, "cluster_sync", u64(r->keys.cluster_sync), ok);
    put(keys, "events", rows_json(r, &r->key_rows, ok), ok);
    put(keys, "events_total", u64(r->key_rows.total), ok);
    put(root, "keys", keys, ok);

    put(crit, "initialisation", u64(r->critical.initialisation), ok);
    put(crit, "zeroise", u64(r->critical.zeroise), ok);
    put(crit, "quorum_token", u64(r->critical.quorum_token), ok);
    put(crit, "backup_restore", u64(r->critical.backup_restore), ok);
    put(crit, "certificate_authority", u64(r->critical.cert_auth), ok);
    put(crit, "certificate_storage", u64(r->critical.cert_storage), ok);
    put(crit, "other", u64(r->critical.other), ok);
    put(crit, "events", rows_json(r, &r->critical_rows, ok), ok);
    put(crit, "events_total", u64(r->critical_rows.total), ok);
    put(root, "critical", crit, ok);
    return root;
}

static void
tables_json(const struct report *r, json_t *root, bool *ok)
{
    json_t *errors = json_array(), *ops = json_object(), *tl = json_object(), *b = json_array();
    struct report_bucket *buckets = malloc(sizeof(*buckets) * REPORT_MAX_BUCKETS);
    size_t nb;

    if (buckets == NULL)
        *ok = false;
    for (size_t i = 0; *ok && i <= REPORT_MAX_ERRORS; i++) {
        const struct report_error *x;
        json_t *o;
        if (i == r->n_errors && i < REPORT_MAX_ERRORS)
            i = REPORT_MAX_ERRORS;
        x = &r->errors[i];
        if (x->count == 0)
            continue;
        o = json_object();
        put(o, "code", u64(x->code), ok);
        put(o, "opcode", json_string(x->opcode), ok);
        put(o, "text", json_string(x->text), ok);
        put(o, "count", u64(x->count), ok);
        append(errors, o, ok);
    }
    put(root, "errors", errors, ok);
    put(root, "errors_total", u64(r->errors_total), ok);
    for (size_t i = 0; *ok && i <= REPORT_MAX_OPCODES; i++) {
        const struct report_opcode *x;
        json_t *o;
        if (i == r->n_opcodes && i < REPORT_MAX_OPCODES)
            i = REPORT_MAX_OPCODES;
        x = &r->opcodes[i];
        if (x->success == 0 && x->error == 0 && i == REPORT_MAX_OPCODES)
            continue;
        o = json_object();
        put(o, "category", json_string(opcode_category_name(x->category)), ok);
        put(o, "success", u64(x->success), ok);
        put(o, "error", u64(x->error), ok);
        put(ops, x->name, o, ok);
    }
    put(root, "opcodes", ops, ok);
    nb = *ok ? report_timeline(r, buckets, REPORT_MAX_BUCKETS) : 0;
    put(tl, "bucket", json_string(report_timeline_daily(r) ? "day" : "hour"), ok);
    for (size_t i = 0; *ok && i < nb; i++) {
        json_t *o = json_object();
        put(o, "start", time_or_null(buckets[i].hour * 3600000), ok);
        put(o, "entries", u64(buckets[i].entries), ok);
        put(o, "login_success", u64(buckets[i].login_success), ok);
        put(o, "login_failed", u64(buckets[i].login_failed), ok);
        put(o, "key_ops", u64(buckets[i].key_ops), ok);
        put(o, "errors", u64(buckets[i].errors), ok);
        append(b, o, ok);
    }
    put(tl, "buckets", b, ok);
    put(tl, "entries_not_bucketed", u64(r->bucket_overflow + r->untimed), ok);
    put(root, "timeline", tl, ok);
    free(buckets);
}

static void
scope_json(const struct report *r, json_t *root, bool *ok)
{
    json_t *period = json_object(), *sources = json_array(), *hsms = json_array();

    put(root, "schema", json_string("hsm-audit-forwarder/report/1"), ok);
    put(period, "since", time_or_null(r->opts.since_ms), ok);
    put(period, "until", time_or_null(r->opts.until_ms), ok);
    put(period, "first_entry", time_or_null(r->first_ms), ok);
    put(period, "last_entry", time_or_null(r->last_ms), ok);
    put(root, "period", period, ok);
    for (size_t i = 0; *ok && i < r->n_sources; i++)
        append(sources, json_string(r->sources[i]), ok);
    put(root, "sources", sources, ok);
    put(root, "sources_total", u64(r->sources_total), ok);
    put(root, "entries", u64(r->entries), ok);
    put(root, "flagged", u64(r->flagged), ok);
    put(root, "outside_window", u64(r->outside_window), ok);
    put(root, "other_hsm", u64(r->other_hsm), ok);
    put(root, "untimed", u64(r->untimed), ok);
    put(root, "unreadable", u64(r->unreadable), ok);
    put(root, "certificate_events", u64(r->cert_events), ok);
    for (size_t i = 0; *ok && i < r->n_hsms; i++)
        append(hsms, hsm_json(&r->hsms[i], ok), ok);
    if (*ok && r->hsm_overflow)
        append(hsms, hsm_json(&r->hsms[REPORT_MAX_HSMS], ok), ok);
    put(root, "hsms", hsms, ok);
    {
        json_t *d = json_object();
        put(d, "streams", u64(r->digest_streams), ok);
        put(d, "summary", json_string(report_digest_summary(r)), ok);
        put(root, "digests", d, ok);
    }
}

enum haf_err
report_render_json(const struct report *r, struct buf *out)
{
    json_t *root = json_object();
    bool ok = root != NULL;
    char *s = NULL;
    enum haf_err e = HAF_ENOMEM;

    if (ok) {
        scope_json(r, root, &ok);
        put(root, "logins", logins_json(r, &ok), &ok);
        sections_json(r, root, &ok);
        tables_json(r, root, &ok);
    }
    if (ok)
        s = json_dumps(root, JSON_INDENT(2) | JSON_ENSURE_ASCII | JSON_PRESERVE_ORDER);
    if (s) {
        e = buf_adds(out, s);
        if (e == HAF_OK)
            e = buf_addc(out, '\n');
    }
    json_dump_free(s);
    json_decref(root);
    return e;
}
