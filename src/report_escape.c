/*
 * report_escape.c: names from the logs made safe for the text and HTML renderings (see
 * report_escape() in report.h). The JSON rendering needs none of this: jansson escapes, with
 * JSON_ENSURE_ASCII, every non-ASCII character.
 *
 * Why the direction controls: a user name holding U+202E (RIGHT-TO-LEFT OVERRIDE) displays the
 * rest of its line reversed ("Trojan Source", CVE-2021-42574): in a report table it could make
 * "admin_evil" read as another name or flip the counts beside it. HTML escaping alone does not
 * stop that, so they are shown as escapes in both renderings (the HTML also isolates every name
 * in <bdi>, see report_html.c). U+FFFD is shown as "\uFFFD" too: it is what the parser and the
 * aggregation put where the log had invalid UTF-8 or a NUL, and an auditor should see that.
 */
#include "haf/report.h"

#include <stdarg.h>
#include <stdio.h>

#include "report_internal.h"

#include "haf/utf8.h"

static bool
invisible(uint32_t cp)
{
    return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x061c || cp == 0x200e ||
           cp == 0x200f || (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) ||
           cp == 0xfffd;
}

static uint32_t
decode(const unsigned char *p, size_t k)
{
    if (k == 2)
        return ((uint32_t)(p[0] & 0x1f) << 6) | (p[1] & 0x3f);
    if (k == 3)
        return ((uint32_t)(p[0] & 0x0f) << 12) | ((uint32_t)(p[1] & 0x3f) << 6) | (p[2] & 0x3f);
    return ((uint32_t)(p[0] & 0x07) << 18) | ((uint32_t)(p[1] & 0x3f) << 12) |
           ((uint32_t)(p[2] & 0x3f) << 6) | (p[3] & 0x3f);
}

enum haf_err
report_escape(struct buf *out, const char *s, bool html)
{
    const unsigned char *p = (const unsigned char *)s;
    enum haf_err e = HAF_OK;

    while (*p && e == HAF_OK) {
        size_t k = 1;
        uint32_t cp = *p;
        char tmp[16];

        if (*p >= 0x80) {
            k = utf8_seq_len(p, 4);
            if (k == 0) {
                snprintf(tmp, sizeof(tmp), "\\x%02X", *p);
                e = buf_adds(out, tmp);
                p++;
                continue;
            }
            cp = decode(p, k);
        }
        if (invisible(cp)) {
            snprintf(tmp, sizeof(tmp), "\\u%04X", (unsigned)cp);
            e = buf_adds(out, tmp);
        } else if (html && cp == '&') {
            e = buf_adds(out, "&amp;");
        } else if (html && cp == '<') {
            e = buf_adds(out, "&lt;");
        } else if (html && cp == '>') {
            e = buf_adds(out, "&gt;");
        } else if (html && cp == '"') {
            e = buf_adds(out, "&quot;");
        } else if (html && cp == '\'') {
            e = buf_adds(out, "&#39;");
        } else {
            e = buf_add(out, p, k);
        }
        p += k;
    }
    return e;
}

/* ---- the appender of report_internal.h ---- */

void
report_out_printf(struct report_out *w, const char *fmt, ...)
{
    va_list ap;

    if (w->err != HAF_OK)
        return;
    va_start(ap, fmt);
    w->err = buf_vaddf(w->b, fmt, ap);
    va_end(ap);
}

void
report_out_lit(struct report_out *w, const char *s)
{
    if (w->err == HAF_OK)
        w->err = buf_adds(w->b, s);
}

void
report_out_name(struct report_out *w, const char *s, bool html, const char *empty)
{
    if (w->err == HAF_OK)
        w->err = report_escape(w->b, s[0] ? s : empty, html);
}
