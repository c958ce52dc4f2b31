/*
 * report_text.c: the report for a terminal or an email: the same sections and facts as the JSON
 * and HTML renderings, as plain aligned columns. Every name from the logs goes through
 * report_escape() (no control characters or direction overrides reach the terminal). Columns are
 * padded by bytes, so a name with non-ASCII characters may shift its row a little: the content is
 * the contract, not the alignment. Errors from the buffer are sticky (first one returned).
 */
#include "haf/report.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_internal.h"

/* A name from the logs, escaped, padded to `width` bytes (0: no padding). */
static void
tw_name(struct report_out *w, const char *s, size_t width)
{
    size_t before = w->b->len;

    if (w->err != HAF_OK)
        return;
    report_out_name(w, s, false, "-");
    while (w->err == HAF_OK && w->b->len - before < width)
        w->err = buf_addc(w->b, ' ');
    if (w->err == HAF_OK)
        w->err = buf_addc(w->b, ' ');
}

static void
tw_time(struct report_out *w, int64_t ms)
{
    char iso[32];

    report_iso(ms, iso);
    report_out_printf(w, "%-20s ", iso[0] ? iso : "-");
}

static void
scope(struct report_out *w, const struct report *r)
{
    char a[32], b[32];

    report_iso(r->opts.since_ms ? r->opts.since_ms : r->first_ms, a);
    report_iso(r->opts.until_ms ? r->opts.until_ms : r->last_ms, b);
    report_out_printf(w, "CloudHSM audit review, %s .. %s\n", a[0] ? a : "(start)",
                      b[0] ? b : "(end)");
    report_out_printf(w, "Sources (%" PRIu64 "):", r->sources_total);
    for (size_t i = 0; i < r->n_sources; i++) {
        report_out_printf(w, " ");
        tw_name(w, r->sources[i], 0);
    }
    report_out_printf(w,
                      "\nEntries: %" PRIu64 "   flagged: %" PRIu64 "   HSMs: %zu   outside the "
                      "period: %" PRIu64 "   other HSMs: %" PRIu64 "   unreadable: %" PRIu64 "\n",
                      r->entries, r->flagged, r->n_hsms + (r->hsm_overflow ? 1 : 0),
                      r->outside_window, r->other_hsm, r->unreadable);
}

static void
completeness(struct report_out *w, const struct report *r)
{
    report_out_printf(w, "\n== Completeness ==\n");
    report_out_printf(w, "%-24s %10s %-20s %-20s %-14s %6s %8s %8s %7s %s\n", "HSM", "entries",
                      "first", "last", "reboot ctrs", "gaps", "missing", "out-of-ord", "markers",
                      "status");
    for (size_t i = 0; i <= r->n_hsms; i++) {
        const struct report_hsm *h = &r->hsms[i == r->n_hsms ? REPORT_MAX_HSMS : i];
        char reb[64] = "";
        bool ok;
        if (i == r->n_hsms && !r->hsm_overflow)
            break;
        for (size_t k = 0; k < h->n_reboots && strlen(reb) < 40; k++)
            snprintf(reb + strlen(reb), sizeof(reb) - strlen(reb), "%s0x%" PRIx64, k ? "," : "",
                     h->reboots[k]);
        ok = h->gaps_total == 0 && h->out_of_order == 0 && h->gap_markers == 0;
        tw_name(w, h->hsm, 24);
        report_out_printf(w, "%10" PRIu64 " ", h->entries);
        tw_time(w, h->first_ms);
        tw_time(w, h->last_ms);
        report_out_printf(w, "%-14s %6" PRIu64 " %8" PRIu64 " %10" PRIu64 " %7" PRIu64 " %s\n",
                          reb[0] ? reb : "-", h->gaps_total, h->missing_total, h->out_of_order,
                          h->gap_markers, ok ? "continuous" : "GAPS");
        for (size_t k = 0; k < h->n_gaps; k++)
            report_out_printf(w,
                              "    gap: reboot counter 0x%" PRIx64 ", expected 0x%" PRIx64
                              ", received 0x%" PRIx64 " (%" PRIu64 " missing)\n",
                              h->gaps[k].reboot_counter, h->gaps[k].expected, h->gaps[k].received,
                              h->gaps[k].missing);
        if (h->gaps_total > h->n_gaps)
            report_out_printf(w, "    ... %" PRIu64 " more gaps not listed\n",
                              h->gaps_total - h->n_gaps);
    }
    report_out_printf(w, "Digests: %s\n", report_digest_summary(r));
}

static void
logins(struct report_out *w, const struct report *r)
{
    report_out_printf(w, "\n== Logins ==\n");
    report_out_printf(w,
                      "successful %" PRIu64 ", failed %" PRIu64 " (unknown user %" PRIu64
                      ", wrong password %" PRIu64 ", other %" PRIu64 ")\n",
                      r->logins.success, r->logins.failed, r->logins.unknown_user,
                      r->logins.wrong_password, r->logins.other);
    report_out_printf(w, "%-24s %-24s %8s %8s %8s %8s %8s\n", "user", "type", "success", "failed",
                      "unknown", "wrong-pw", "other");
    for (size_t i = 0; i <= r->n_users; i++) {
        const struct report_user *u = &r->users[i == r->n_users ? REPORT_MAX_USERS : i];
        if (i == r->n_users && !r->user_overflow)
            break;
        if (u->login_success == 0 && u->login_failed == 0)
            continue;
        tw_name(w, u->name, 24);
        tw_name(w, u->type, 24);
        report_out_printf(w, "%8" PRIu64 " %8" PRIu64 " %8" PRIu64 " %8" PRIu64 " %8" PRIu64 "\n",
                          u->login_success, u->login_failed, u->unknown_user, u->wrong_password,
                          u->other_reason);
    }
    for (size_t i = 0; i < r->n_hsms; i++) {
        report_out_printf(w, "on ");
        tw_name(w, r->hsms[i].hsm, 0);
        report_out_printf(w, ": %" PRIu64 " successful, %" PRIu64 " failed\n",
                          r->hsms[i].login_success, r->hsms[i].login_failed);
    }
    for (size_t i = 0; i < r->n_bursts; i++) {
        report_out_printf(w, "BURST: %" PRIu64 " failed logins on ", r->bursts[i].failures);
        tw_name(w, r->hsms[r->bursts[i].hsm].hsm, 0);
        report_out_printf(w, "from ");
        tw_time(w, r->bursts[i].start_ms);
        report_out_printf(w, "to ");
        tw_time(w, r->bursts[i].end_ms);
        report_out_printf(w, "\n");
    }
}

static void
rows(struct report_out *w, const struct report *r, const struct report_rows *rs)
{
    if (rs->n == 0) {
        report_out_printf(w, "(none)\n");
        return;
    }
    report_out_printf(w, "%-20s %-18s %-28s %-20s %-16s %-16s %-10s %s\n", "time", "HSM", "what",
                      "user", "session user", "opcode", "key", "result");
    for (size_t i = 0; i < rs->n; i++) {
        const struct report_row *x = &rs->row[i];
        tw_time(w, x->time_ms);
        tw_name(w, r->hsms[x->hsm].hsm, 18);
        report_out_printf(w, "%-28s ", x->what);
        tw_name(w, x->subject, 20);
        tw_name(w, x->actor, 16);
        tw_name(w, x->opcode, 16);
        if (x->handle)
            report_out_printf(w, "%-10" PRIu64 " ", x->handle);
        else
            report_out_printf(w, "%-10s ", "-");
        if (x->success)
            report_out_printf(w, "ok\n");
        else
            report_out_printf(w, "FAILED (%" PRIu64 ")\n", x->response_code);
    }
    if (rs->total > rs->n)
        report_out_printf(w, "... %" PRIu64 " more not listed\n", rs->total - rs->n);
}

static void
sections(struct report_out *w, const struct report *r)
{
    report_out_printf(w, "\n== User management ==\n");
    report_out_printf(w,
                      "created %" PRIu64 " (crypto officers %" PRIu64 "), deleted %" PRIu64
                      ", password changes %" PRIu64 ", quorum/MFA changes %" PRIu64 "\n",
                      r->user_mgmt.created, r->user_mgmt.crypto_officers_created,
                      r->user_mgmt.deleted, r->user_mgmt.password_changes,
                      r->user_mgmt.quorum_changes);
    rows(w, r, &r->user_rows);
    report_out_printf(w, "\n== Key lifecycle ==\n");
    report_out_printf(w,
                      "generated %" PRIu64 " (symmetric %" PRIu64 ", asymmetric %" PRIu64
                      "), deleted %" PRIu64 " (token %" PRIu64 ", session %" PRIu64
                      "), exported %" PRIu64 ", imported %" PRIu64 ", shared %" PRIu64
                      ", cluster sync %" PRIu64 "\n",
                      r->keys.generated, r->keys.generated_symmetric, r->keys.generated_asymmetric,
                      r->keys.deleted, r->keys.deleted_token, r->keys.deleted_session,
                      r->keys.exported, r->keys.imported, r->keys.shared, r->keys.cluster_sync);
    rows(w, r, &r->key_rows);
    report_out_printf(w, "\n== Critical operations ==\n");
    report_out_printf(w,
                      "initialisation %" PRIu64 ", zeroise %" PRIu64 ", quorum/token %" PRIu64
                      ", backup/restore %" PRIu64 ", certificate authority %" PRIu64
                      ", certificate storage %" PRIu64 ", other %" PRIu64 "\n",
                      r->critical.initialisation, r->critical.zeroise, r->critical.quorum_token,
                      r->critical.backup_restore, r->critical.cert_auth, r->critical.cert_storage,
                      r->critical.other);
    rows(w, r, &r->critical_rows);
}

static void
tables(struct report_out *w, const struct report *r)
{
    struct report_bucket *b = malloc(sizeof(*b) * REPORT_MAX_BUCKETS);
    size_t nb;

    report_out_printf(w, "\n== HSM errors by code and opcode (%" PRIu64 ") ==\n", r->errors_total);
    for (size_t i = 0; i <= r->n_errors; i++) {
        const struct report_error *x = &r->errors[i == r->n_errors ? REPORT_MAX_ERRORS : i];
        if (i == r->n_errors && !r->error_overflow)
            break;
        report_out_printf(w, "%8" PRIu64 "  %5" PRIu64 " ", x->count, x->code);
        tw_name(w, x->opcode, 32);
        tw_name(w, x->text, 0);
        report_out_printf(w, "\n");
    }
    report_out_printf(w, "\n== Commands by opcode ==\n%-34s %-16s %10s %10s\n", "opcode",
                      "category", "success", "error");
    for (size_t i = 0; i <= r->n_opcodes; i++) {
        const struct report_opcode *x = &r->opcodes[i == r->n_opcodes ? REPORT_MAX_OPCODES : i];
        if (i == r->n_opcodes && !r->opcode_overflow)
            break;
        tw_name(w, x->name, 34);
        report_out_printf(w, "%-16s %10" PRIu64 " %10" PRIu64 "\n",
                          opcode_category_name(x->category), x->success, x->error);
    }
    if (b == NULL) {
        w->err = HAF_ENOMEM;
        return;
    }
    nb = report_timeline(r, b, REPORT_MAX_BUCKETS);
    report_out_printf(w, "\n== Activity per %s ==\n%-20s %10s %10s %10s %10s %10s\n",
                      report_timeline_daily(r) ? "day" : "hour", "start", "entries", "login-ok",
                      "login-fail", "key-ops", "errors");
    for (size_t i = 0; i < nb; i++) {
        tw_time(w, b[i].hour * 3600000);
        report_out_printf(
            w, "%10" PRIu64 " %10" PRIu64 " %10" PRIu64 " %10" PRIu64 " %10" PRIu64 "\n",
            b[i].entries, b[i].login_success, b[i].login_failed, b[i].key_ops, b[i].errors);
    }
    free(b);
}

enum haf_err
report_render_text(const struct report *r, struct buf *out)
{
    struct report_out w = {out, HAF_OK};

    scope(&w, r);
    completeness(&w, r);
    logins(&w, r);
    sections(&w, r);
    tables(&w, r);
    return w.err;
}
