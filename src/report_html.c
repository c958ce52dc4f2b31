/*
 * report_html.c: the report as one self-contained HTML page: inline CSS, inline SVG charts drawn
 * here, no script, no fonts, images or anything else fetched (a Content-Security-Policy of
 * default-src 'none' says so to the browser too), so it opens on an air-gapped admin host and
 * can be attached to an audit ticket.
 *
 * Layout: summary cards, completeness first, activity charts, then one section per topic with
 * its tables, the same facts as the text and JSON renderings. Accessibility: every table has a
 * caption and <th scope>, every chart is role="img" with a <title> and <desc> (and a <title> per
 * bar, shown as a tooltip), colours keep a contrast of at least 4.5:1 on white, and status is
 * never told by colour alone (the word is there). It reads at phone width (cards wrap, wide
 * tables scroll inside their own box) and prints (no shadows, sections kept whole where they fit).
 *
 * Escaping: every string from the logs goes through report_escape(html): & < > " ' become
 * references, control characters and direction overrides become visible escapes, and each one
 * sits in <bdi> so that even an unexpected direction cannot reorder the cells around it. Our own
 * labels are literals. Errors from the buffer are sticky (the first is returned).
 */
#include "haf/report.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_internal.h"

#define CHART_W 720
#define CHART_H 200
#define CHART_L 56 /* room for the y labels */
#define CHART_B 30 /* room for the x labels */

/* A value from the logs. */
static void
hw_name(struct report_out *w, const char *s)
{
    report_out_lit(w, "<bdi>");
    report_out_name(w, s, true, "\xE2\x80\x94");
    report_out_lit(w, "</bdi>");
}

static void
hw_time(struct report_out *w, int64_t ms)
{
    char iso[32];

    report_iso(ms, iso);
    if (iso[0])
        report_out_printf(w, "<time datetime=\"%s\">%.10s %.8s</time>", iso, iso, iso + 11);
    else
        report_out_lit(w, "\xE2\x80\x94");
}

static const char css[] =
    ":root{--fg:#1a1a1a;--muted:#4a4a4a;--line:#c8ccd2;--bg:#fff;--band:#f3f5f8;"
    "--accent:#1f4e79;--bad:#a4001c;--good:#1b5e20;--warn:#7a4a00}"
    "*{box-sizing:border-box}"
    "body{margin:0;font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',"
    "sans-serif;color:var(--fg);background:var(--bg)}"
    "header{background:var(--accent);color:#fff;padding:18px 24px}"
    "header h1{margin:0;font-size:1.5em}header p{margin:4px 0 0}"
    "main{max-width:1100px;margin:0 auto;padding:8px 24px 32px}"
    "h2{font-size:1.2em;border-bottom:2px solid var(--accent);padding-bottom:4px;margin:28px 0 "
    "10px;color:var(--accent)}"
    ".cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:10px}"
    ".card{border:1px solid var(--line);border-radius:6px;padding:10px 12px;background:var(--band)}"
    ".card .n{font-size:1.6em;font-weight:700;display:block}"
    ".card .l{color:var(--muted);font-size:.9em}"
    ".card.bad{border-left:6px solid var(--bad)}.card.good{border-left:6px solid var(--good)}"
    ".scroll{overflow-x:auto;margin:8px 0}"
    "table{border-collapse:collapse;width:100%;font-size:.92em}.scroll table{min-width:640px}"
    "caption{text-align:left;font-weight:600;padding:4px 0;color:var(--muted)}"
    "th,td{border-bottom:1px solid var(--line);padding:5px 8px;text-align:left;vertical-align:"
    "top}"
    "th{background:var(--band)}tbody "
    "th{background:none;font-weight:400}td.n,th.n{text-align:right;font-variant-numeric:tabular-"
    "nums}"
    "bdi{font-family:ui-monospace,'DejaVu Sans Mono',monospace;font-size:.95em;"
    "overflow-wrap:anywhere}"
    ".bad{color:var(--bad);font-weight:600}.good{color:var(--good);font-weight:600}"
    ".note{color:var(--muted)}"
    ".charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:14px}"
    "figure{margin:0;border:1px solid var(--line);border-radius:6px;padding:8px}"
    "figcaption{font-weight:600;margin-bottom:4px}svg{width:100%;height:auto;display:block}"
    "svg text{font:20px sans-serif;fill:#4a4a4a}"
    "footer{max-width:1100px;margin:0 auto;padding:0 24px 24px;color:var(--muted);"
    "font-size:.85em}"
    "@media (max-width:600px){main,header{padding-left:12px;padding-right:12px}"
    ".charts{grid-template-columns:1fr}"
    "body{font-size:14px}}"
    "@media print{header{background:none;color:#000;border-bottom:2px solid #000}"
    "section{break-inside:avoid-page}.scroll{overflow:visible}.card{background:none}"
    "a{color:#000}}";

/* "2026-12-06T20:15:58Z" -> "2026-12-06 20:15:58"; "" -> an em dash. */
static const char *
readable(const char *iso, char out[32])
{
    if (iso[0] == '\0')
        return "\xE2\x80\x94";
    snprintf(out, 32, "%.10s %.8s", iso, iso + 11);
    return out;
}

static void
head(struct report_out *w, const struct report *r)
{
    char a[32], b[32], pa[32], pb[32];

    report_iso(r->opts.since_ms ? r->opts.since_ms : r->first_ms, a);
    report_iso(r->opts.until_ms ? r->opts.until_ms : r->last_ms, b);
    report_out_printf(
        w,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
        "style-src 'unsafe-inline'\">"
        "<meta name=\"generator\" content=\"hsm-audit-forwarder report\">"
        "<title>CloudHSM audit review %.10s to %.10s</title><style>%s</style></head>\n"
        "<body><header><h1>CloudHSM audit review</h1><p>%s to %s UTC &middot; ",
        a[0] ? a : "start", b[0] ? b : "end", css, readable(a, pa), readable(b, pb));
    report_out_printf(w, "%" PRIu64 " entries from %" PRIu64 " source%s</p></header>\n<main>\n",
                      r->entries, r->sources_total, r->sources_total == 1 ? "" : "s");
}

static void
card(struct report_out *w, uint64_t n, const char *label, int tone)
{
    report_out_printf(
        w, "<div class=\"card%s\"><span class=\"n\">%" PRIu64 "</span><span class=\"l\">%s",
        tone > 0   ? " good"
        : tone < 0 ? " bad"
                   : "",
        n, label);
    report_out_lit(w, "</span></div>");
}

static uint64_t
gaps_missing(const struct report *r, uint64_t *gaps)
{
    uint64_t m = 0;

    *gaps = 0;
    for (size_t i = 0; i <= REPORT_MAX_HSMS; i++) {
        if (i >= r->n_hsms && i != REPORT_MAX_HSMS)
            continue;
        *gaps += r->hsms[i].gaps_total + r->hsms[i].gap_markers;
        m += r->hsms[i].missing_total;
    }
    return m;
}

static void
summary(struct report_out *w, const struct report *r)
{
    uint64_t gaps, missing = gaps_missing(r, &gaps);

    report_out_lit(w, "<section aria-labelledby=\"h-summary\"><h2 id=\"h-summary\">Summary</h2>"
                      "<div class=\"cards\">");
    card(w, r->entries, "entries read", 0);
    card(w, (uint64_t)r->n_hsms + r->hsm_overflow, "HSMs (streams)", 0);
    card(w, r->flagged, "flagged entries", r->flagged ? -1 : 0);
    card(w, gaps, gaps == 1 ? "sequence gap" : "sequence gaps", gaps ? -1 : 1);
    card(w, missing, "entries missing in gaps", missing ? -1 : 1);
    card(w, r->logins.failed, "failed logins", r->logins.failed ? -1 : 0);
    card(w, r->user_mgmt.created, "users created", 0);
    card(w, r->keys.generated, "keys generated", 0);
    card(w, r->keys.deleted, "keys deleted", 0);
    card(w, r->critical_rows.total, "critical operations", r->critical_rows.total ? -1 : 0);
    card(w, r->errors_total, "HSM error responses", r->errors_total ? -1 : 0);
    report_out_lit(w, "</div>");
    if (r->outside_window || r->other_hsm || r->unreadable)
        report_out_printf(w,
                          "<p class=\"note\">Not counted: %" PRIu64
                          " entries outside the period, %" PRIu64 " of other HSMs, %" PRIu64
                          " unreadable events.</p>",
                          r->outside_window, r->other_hsm, r->unreadable);
    report_out_lit(w, "<p class=\"note\">Sources: ");
    for (size_t i = 0; i < r->n_sources; i++) {
        report_out_lit(w, i ? ", " : "");
        hw_name(w, r->sources[i]);
    }
    if (r->sources_total > r->n_sources)
        report_out_printf(w, " and %" PRIu64 " more", r->sources_total - r->n_sources);
    report_out_lit(w, "</p></section>\n");
}

static void
th(struct report_out *w, const char *const *cols, size_t n)
{
    report_out_lit(w, "<thead><tr>");
    for (size_t i = 0; i < n; i++)
        report_out_printf(w, "<th scope=\"col\"%s>%s</th>", cols[i][0] == '#' ? " class=\"n\"" : "",
                          cols[i][0] == '#' ? cols[i] + 1 : cols[i]);
    report_out_lit(w, "</tr></thead><tbody>");
}

static void
td_n(struct report_out *w, uint64_t v)
{
    report_out_printf(w, "<td class=\"n\">%" PRIu64 "</td>", v);
}

static void
completeness(struct report_out *w, const struct report *r)
{
    static const char *const cols[] = {
        "HSM",   "#Entries", "First entry",   "Last entry",   "Reboot counters",
        "#Gaps", "#Missing", "#Out of order", "#Gap markers", "Status"};

    report_out_lit(w,
                   "<section aria-labelledby=\"h-complete\"><h2 id=\"h-complete\">Completeness</h2>"
                   "<div class=\"scroll\"><table><caption>Per HSM: sequence continuity within each "
                   "reboot counter</caption>");
    th(w, cols, sizeof(cols) / sizeof(cols[0]));
    for (size_t i = 0; i <= r->n_hsms; i++) {
        const struct report_hsm *h = &r->hsms[i == r->n_hsms ? REPORT_MAX_HSMS : i];
        bool ok = h->gaps_total == 0 && h->out_of_order == 0 && h->gap_markers == 0;
        if (i == r->n_hsms && !r->hsm_overflow)
            break;
        report_out_lit(w, "<tr><th scope=\"row\">");
        hw_name(w, h->hsm);
        report_out_lit(w, "</th>");
        td_n(w, h->entries);
        report_out_lit(w, "<td>");
        hw_time(w, h->first_ms);
        report_out_lit(w, "</td><td>");
        hw_time(w, h->last_ms);
        report_out_lit(w, "</td><td>");
        for (size_t k = 0; k < h->n_reboots; k++)
            report_out_printf(w, "%s0x%" PRIx64, k ? ", " : "", h->reboots[k]);
        report_out_printf(w, "%s</td>", h->reboots_more ? ", &hellip;" : "");
        td_n(w, h->gaps_total);
        td_n(w, h->missing_total);
        td_n(w, h->out_of_order);
        td_n(w, h->gap_markers);
        report_out_printf(w, "<td class=\"%s\">%s</td></tr>", ok ? "good" : "bad",
                          ok ? "continuous" : "gaps");
    }
    report_out_lit(w, "</tbody></table></div>");
    for (size_t i = 0; i < r->n_hsms; i++) {
        const struct report_hsm *h = &r->hsms[i];
        if (h->n_gaps == 0)
            continue;
        report_out_lit(w, "<div class=\"scroll\"><table><caption>Sequence gaps on ");
        hw_name(w, h->hsm);
        report_out_lit(
            w, "</caption><thead><tr><th scope=\"col\">Reboot counter</th><th scope=\"col\">"
               "Expected</th><th scope=\"col\">Received</th><th scope=\"col\" class=\"n\">"
               "Missing</th><th scope=\"col\">Noticed at</th></tr></thead><tbody>");
        for (size_t k = 0; k < h->n_gaps; k++) {
            const struct report_gap *g = &h->gaps[k];
            report_out_printf(w,
                              "<tr><td>0x%" PRIx64 "</td><td>0x%" PRIx64 "</td><td>0x%" PRIx64
                              "</td><td class=\"n\">%" PRIu64 "</td><td>",
                              g->reboot_counter, g->expected, g->received, g->missing);
            hw_time(w, g->time_ms);
            report_out_lit(w, "</td></tr>");
        }
        report_out_lit(w, "</tbody></table></div>");
        if (h->gaps_total > h->n_gaps)
            report_out_printf(w, "<p class=\"note\">%" PRIu64 " more gaps not listed.</p>",
                              h->gaps_total - h->n_gaps);
    }
    report_out_printf(w, "<p class=\"note\">%s</p></section>\n", report_digest_summary(r));
}

/* One bar chart over the timeline; `pick` selects the series. */
static void
chart(struct report_out *w, const struct report_bucket *b, size_t n, bool daily, int pick,
      const char *title, const char *id, const char *colour)
{
    uint64_t max = 0, total = 0;
    int64_t step = daily ? 24 : 1, first, span;
    double bw;

    for (size_t i = 0; i < n; i++) {
        uint64_t v = pick == 0   ? b[i].entries
                     : pick == 1 ? b[i].login_failed
                     : pick == 2 ? b[i].key_ops
                                 : b[i].errors;
        max = v > max ? v : max;
        total += v;
    }
    first = n ? b[0].hour : 0;
    span = n ? (b[n - 1].hour - first) / step + 1 : 1;
    bw = (double)(CHART_W - CHART_L - 4) / (double)span;
    report_out_printf(
        w,
        "<figure><figcaption id=\"%s-c\">%s</figcaption><svg role=\"img\" "
        "aria-labelledby=\"%s-t %s-d\" viewBox=\"0 0 %d %d\" class=\"chart\" "
        "data-series=\"%s\"><title id=\"%s-t\">%s per %s</title><desc id=\"%s-d\">%" PRIu64
        " in total over %zu %s%s with activity; the highest bar is %" PRIu64 ".</desc>",
        id, title, id, id, CHART_W, CHART_H, id, id, title, daily ? "day" : "hour", id, total, n,
        daily ? "day" : "hour", n == 1 ? "" : "s", max);
    report_out_printf(w,
                      "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#8a8f96\"/>"
                      "<text x=\"%d\" y=\"18\" text-anchor=\"end\">%" PRIu64 "</text>"
                      "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">0</text>",
                      CHART_L, CHART_H - CHART_B, CHART_W, CHART_H - CHART_B, CHART_L - 4, max,
                      CHART_L - 4, CHART_H - CHART_B);
    for (size_t i = 0; i < n && max > 0; i++) {
        uint64_t v = pick == 0   ? b[i].entries
                     : pick == 1 ? b[i].login_failed
                     : pick == 2 ? b[i].key_ops
                                 : b[i].errors;
        double h = (double)v * (CHART_H - CHART_B - 14) / (double)max;
        double x = CHART_L + 2 + (double)((b[i].hour - first) / step) * bw;
        char iso[32];
        if (v == 0)
            continue;
        report_iso(b[i].hour * 3600000, iso);
        report_out_printf(
            w,
            "<rect class=\"bar\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
            "fill=\"%s\"><title>%.*s: %" PRIu64 "</title></rect>",
            x, CHART_H - CHART_B - h, bw > 2 ? bw - 1 : bw, h < 1 ? 1 : h, colour, daily ? 10 : 16,
            iso, v);
    }
    if (n > 0) {
        char a[32], z[32];
        report_iso(first * 3600000, a);
        report_iso(b[n - 1].hour * 3600000, z);
        report_out_printf(w,
                          "<text x=\"%d\" y=\"%d\">%.*s</text><text x=\"%d\" y=\"%d\" "
                          "text-anchor=\"end\">%.*s</text>",
                          CHART_L, CHART_H - 6, daily ? 10 : 16, a, CHART_W, CHART_H - 6,
                          daily ? 10 : 16, z);
    } else {
        report_out_printf(w, "<text x=\"%d\" y=\"%d\">no timed entries</text>", CHART_L + 8,
                          CHART_H / 2);
    }
    report_out_lit(w, "</svg></figure>");
}

static void
activity(struct report_out *w, const struct report *r)
{
    struct report_bucket *b = malloc(sizeof(*b) * REPORT_MAX_BUCKETS);
    bool daily = report_timeline_daily(r);
    size_t n;

    if (b == NULL) {
        w->err = HAF_ENOMEM;
        return;
    }
    n = report_timeline(r, b, REPORT_MAX_BUCKETS);
    report_out_printf(w,
                      "<section aria-labelledby=\"h-activity\"><h2 id=\"h-activity\">Activity over "
                      "time</h2><p class=\"note\">Per %s, UTC. Hover a bar for its value.</p>"
                      "<div class=\"charts\">",
                      daily ? "day" : "hour");
    chart(w, b, n, daily, 0, "Entries", "c-entries", "#1f4e79");
    chart(w, b, n, daily, 1, "Failed logins", "c-failed", "#a4001c");
    chart(w, b, n, daily, 2, "Key operations", "c-keys", "#5b3a8c");
    chart(w, b, n, daily, 3, "HSM error responses", "c-errors", "#7a4a00");
    report_out_lit(w, "</div></section>\n");
    free(b);
}

static void
logins(struct report_out *w, const struct report *r)
{
    static const char *const cols[] = {
        "User", "Type", "#Successful", "#Failed", "#Unknown user", "#Wrong password", "#Other"};

    report_out_printf(
        w,
        "<section aria-labelledby=\"h-logins\"><h2 id=\"h-logins\">Logins</h2><p>%" PRIu64
        " successful, <span class=\"%s\">%" PRIu64 " failed</span> (unknown user %" PRIu64
        ", wrong password %" PRIu64 ", other %" PRIu64 ").</p>",
        r->logins.success, r->logins.failed ? "bad" : "good", r->logins.failed,
        r->logins.unknown_user, r->logins.wrong_password, r->logins.other);
    for (size_t i = 0; i < r->n_bursts; i++) {
        report_out_printf(w, "<p class=\"bad\">Burst: %" PRIu64 " failed logins on ",
                          r->bursts[i].failures);
        hw_name(w, r->hsms[r->bursts[i].hsm].hsm);
        report_out_lit(w, " from ");
        hw_time(w, r->bursts[i].start_ms);
        report_out_lit(w, " to ");
        hw_time(w, r->bursts[i].end_ms);
        report_out_lit(w, "</p>");
    }
    report_out_lit(w, "<div class=\"scroll\"><table><caption>By user</caption>");
    th(w, cols, sizeof(cols) / sizeof(cols[0]));
    for (size_t i = 0; i <= r->n_users; i++) {
        const struct report_user *u = &r->users[i == r->n_users ? REPORT_MAX_USERS : i];
        if (i == r->n_users && !r->user_overflow)
            break;
        if (u->login_success == 0 && u->login_failed == 0)
            continue;
        report_out_lit(w, "<tr><th scope=\"row\">");
        hw_name(w, u->name);
        report_out_lit(w, "</th><td>");
        hw_name(w, u->type);
        report_out_lit(w, "</td>");
        td_n(w, u->login_success);
        td_n(w, u->login_failed);
        td_n(w, u->unknown_user);
        td_n(w, u->wrong_password);
        td_n(w, u->other_reason);
        report_out_lit(w, "</tr>");
    }
    report_out_lit(
        w, "</tbody></table></div><div class=\"scroll\"><table><caption>By HSM</caption>"
           "<thead><tr><th scope=\"col\">HSM</th><th scope=\"col\" class=\"n\">Successful</th>"
           "<th scope=\"col\" class=\"n\">Failed</th></tr></thead><tbody>");
    for (size_t i = 0; i < r->n_hsms; i++) {
        report_out_lit(w, "<tr><th scope=\"row\">");
        hw_name(w, r->hsms[i].hsm);
        report_out_lit(w, "</th>");
        td_n(w, r->hsms[i].login_success);
        td_n(w, r->hsms[i].login_failed);
        report_out_lit(w, "</tr>");
    }
    report_out_lit(w, "</tbody></table></div></section>\n");
}

static void
rows(struct report_out *w, const struct report *r, const struct report_rows *rs,
     const char *caption)
{
    static const char *const cols[] = {
        "Time", "HSM", "What", "User", "By (session login)", "Opcode", "#Key handle", "Result"};

    if (rs->n == 0) {
        report_out_printf(w, "<p class=\"note\">No %s in the period.</p>", caption);
        return;
    }
    report_out_printf(w, "<div class=\"scroll\"><table><caption>%s</caption>", caption);
    th(w, cols, sizeof(cols) / sizeof(cols[0]));
    for (size_t i = 0; i < rs->n; i++) {
        const struct report_row *x = &rs->row[i];
        report_out_lit(w, "<tr><td>");
        hw_time(w, x->time_ms);
        report_out_lit(w, "</td><td>");
        hw_name(w, r->hsms[x->hsm].hsm);
        report_out_printf(w, "</td><td>%s</td><td>", x->what);
        hw_name(w, x->subject);
        report_out_lit(w, "</td><td>");
        hw_name(w, x->actor);
        report_out_lit(w, "</td><td>");
        hw_name(w, x->opcode);
        report_out_lit(w, "</td>");
        if (x->handle)
            td_n(w, x->handle);
        else
            report_out_lit(w, "<td class=\"n\">\xE2\x80\x94</td>");
        if (x->success)
            report_out_lit(w, "<td class=\"good\">ok</td></tr>");
        else
            report_out_printf(w, "<td class=\"bad\">failed (%" PRIu64 ")</td></tr>",
                              x->response_code);
    }
    report_out_lit(w, "</tbody></table></div>");
    if (rs->total > rs->n)
        report_out_printf(w, "<p class=\"note\">%" PRIu64 " more not listed.</p>",
                          rs->total - rs->n);
}

static void
sections(struct report_out *w, const struct report *r)
{
    report_out_printf(
        w,
        "<section aria-labelledby=\"h-users\"><h2 id=\"h-users\">User management</h2><p>"
        "%" PRIu64 " created (<span class=\"%s\">%" PRIu64 " crypto officers</span>), %" PRIu64
        " deleted, %" PRIu64 " password changes, %" PRIu64 " quorum / MFA changes.</p>",
        r->user_mgmt.created, r->user_mgmt.crypto_officers_created ? "bad" : "good",
        r->user_mgmt.crypto_officers_created, r->user_mgmt.deleted, r->user_mgmt.password_changes,
        r->user_mgmt.quorum_changes);
    rows(w, r, &r->user_rows, "user management events");
    report_out_printf(
        w,
        "</section>\n<section aria-labelledby=\"h-keys\"><h2 id=\"h-keys\">Key lifecycle</h2>"
        "<p>%" PRIu64 " generated (%" PRIu64 " symmetric, %" PRIu64 " asymmetric), %" PRIu64
        " deleted (%" PRIu64 " token, %" PRIu64 " session), %" PRIu64 " exported / wrapped, "
        "%" PRIu64 " imported / unwrapped, %" PRIu64 " shared, %" PRIu64
        " cluster synchronisations (masked objects between HSMs, not exports).</p>",
        r->keys.generated, r->keys.generated_symmetric, r->keys.generated_asymmetric,
        r->keys.deleted, r->keys.deleted_token, r->keys.deleted_session, r->keys.exported,
        r->keys.imported, r->keys.shared, r->keys.cluster_sync);
    rows(w, r, &r->key_rows, "key lifecycle events");
    report_out_printf(
        w,
        "</section>\n<section aria-labelledby=\"h-critical\"><h2 id=\"h-critical\">Critical "
        "operations</h2><p>%" PRIu64 " initialisation, %" PRIu64 " zeroise, %" PRIu64
        " quorum / token, %" PRIu64 " backup / restore, %" PRIu64 " certificate authority, %" PRIu64
        " certificate storage, %" PRIu64 " other.</p>",
        r->critical.initialisation, r->critical.zeroise, r->critical.quorum_token,
        r->critical.backup_restore, r->critical.cert_auth, r->critical.cert_storage,
        r->critical.other);
    rows(w, r, &r->critical_rows, "critical operations");
    report_out_lit(w, "</section>\n");
}

static void
tables(struct report_out *w, const struct report *r)
{
    static const char *const ecols[] = {"#Count", "#Code", "Opcode", "Response"};
    static const char *const ocols[] = {"Opcode", "Category", "#Success", "#Error"};

    report_out_printf(
        w,
        "<section aria-labelledby=\"h-errors\"><h2 id=\"h-errors\">HSM errors</h2><p>%" PRIu64
        " error responses, grouped by code and opcode.</p>",
        r->errors_total);
    if (r->errors_total > 0) {
        report_out_lit(w, "<div class=\"scroll\"><table><caption>Error responses</caption>");
        th(w, ecols, 4);
        for (size_t i = 0; i <= r->n_errors; i++) {
            const struct report_error *x = &r->errors[i == r->n_errors ? REPORT_MAX_ERRORS : i];
            if (i == r->n_errors && !r->error_overflow)
                break;
            report_out_lit(w, "<tr>");
            td_n(w, x->count);
            td_n(w, x->code);
            report_out_lit(w, "<td>");
            hw_name(w, x->opcode);
            report_out_lit(w, "</td><td>");
            hw_name(w, x->text);
            report_out_lit(w, "</td></tr>");
        }
        report_out_lit(w, "</tbody></table></div>");
    }
    report_out_lit(
        w, "</section>\n<section aria-labelledby=\"h-opcodes\"><h2 id=\"h-opcodes\">Commands "
           "by opcode</h2><div class=\"scroll\"><table><caption>Every opcode seen</caption>");
    th(w, ocols, 4);
    for (size_t i = 0; i <= r->n_opcodes; i++) {
        const struct report_opcode *x = &r->opcodes[i == r->n_opcodes ? REPORT_MAX_OPCODES : i];
        if (i == r->n_opcodes && !r->opcode_overflow)
            break;
        report_out_lit(w, "<tr><th scope=\"row\">");
        hw_name(w, x->name);
        report_out_printf(w, "</th><td>%s</td>", opcode_category_name(x->category));
        td_n(w, x->success);
        td_n(w, x->error);
        report_out_lit(w, "</tr>");
    }
    report_out_lit(w, "</tbody></table></div></section>\n");
}

enum haf_err
report_render_html(const struct report *r, struct buf *out)
{
    struct report_out w = {out, HAF_OK};

    head(&w, r);
    summary(&w, r);
    completeness(&w, r);
    activity(&w, r);
    logins(&w, r);
    sections(&w, r);
    tables(&w, r);
    report_out_lit(&w,
                   "</main><footer>Made by <code>hsm-audit-forwarder report</code>. Times are UTC. "
                   "Counts of created, generated, deleted, exported and imported are of successful "
                   "operations; failed attempts are listed with their response code.</footer>"
                   "</body></html>\n");
    return w.err;
}
