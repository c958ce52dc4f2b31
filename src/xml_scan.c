/*
 * xml_scan.c: the element finder and text decoder of xml_scan.h.
 *
 * The finder takes the first opening tag and the first closing tag after it, so nested elements
 * of the same name are not supported (STS answers have none); the text decoder refuses '<' so
 * that a finder mistake cannot smuggle markup into a value.
 */
#include "haf/xml_scan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "haf/buf.h"

bool
xml_scan_element(struct span s, const char *tag, struct span *inner)
{
    char open[64], close[64];
    int no = snprintf(open, sizeof(open), "<%s>", tag);
    int nc = snprintf(close, sizeof(close), "</%s>", tag);
    const char *a, *b;

    if (no <= 0 || (size_t)no >= sizeof(open) || nc <= 0 || (size_t)nc >= sizeof(close))
        return false;
    a = s.len ? memmem(s.p, s.len, open, (size_t)no) : NULL;
    if (a == NULL)
        return false;
    a += no;
    b = memmem(a, s.len - (size_t)(a - s.p), close, (size_t)nc);
    if (b == NULL)
        return false;
    *inner = span_make(a, (size_t)(b - a));
    return true;
}

enum haf_err
xml_scan_text(struct span s, size_t max, char **out)
{
    static const struct {
        const char *ent;
        char c;
    } ents[] = {{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
    struct buf b;
    enum haf_err e = HAF_OK;

    buf_init(&b, max);
    s = span_trim(s);
    for (size_t i = 0; i < s.len && e == HAF_OK; i++) {
        char c = s.p[i];
        if (c == '<' || c == '\0') {
            e = HAF_EPARSE;
        } else if (c == '&') {
            size_t k;
            for (k = 0; k < sizeof(ents) / sizeof(ents[0]); k++) {
                size_t n = strlen(ents[k].ent);
                if (s.len - i >= n && memcmp(s.p + i, ents[k].ent, n) == 0) {
                    e = buf_addc(&b, ents[k].c);
                    i += n - 1;
                    break;
                }
            }
            if (k == sizeof(ents) / sizeof(ents[0]))
                e = HAF_EPARSE;
        } else {
            e = buf_addc(&b, c);
        }
    }
    if (e == HAF_OK) {
        char *p = malloc(b.len + 1);
        if (p == NULL) {
            e = HAF_ENOMEM;
        } else {
            if (b.len)
                memcpy(p, b.p, b.len);
            p[b.len] = '\0';
            *out = p;
        }
    }
    buf_wipe(&b);
    return e;
}
