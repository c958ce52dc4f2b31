/*
 * verify_feed.c: taking a stream's events and digest records in for verify.c. Each event is
 * reduced at once to its timestamp, leaf and HSM position (our JSON, or CloudHSM's raw text
 * through the audit parser), so memory is 64 bytes per event whatever the messages. Records are
 * parsed (a malformed one becomes a "forged" finding, never an error) and, with a range, kept only
 * when sealed inside it; verify_event_window then says which event times matter (see verify.h).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "haf/audit.h"
#include "haf/digest.h"
#include "haf/verify.h"
#include "verify_internal.h"

/* ---- feeding ---- */

struct raw_pos {
    bool found;
    uint64_t reboot, seq;
};

static int
raw_entry(void *ctx, const struct haf_entry *e)
{
    struct raw_pos *p = ctx;
    const uint32_t need = HAF_F_SEQUENCE_NO | HAF_F_REBOOT_COUNTER;

    if (!p->found && (e->present & need) == need && !e->parse_error) {
        p->found = true;
        p->reboot = e->reboot_counter;
        p->seq = e->sequence_no;
    }
    return 0;
}

/* CloudHSM's own raw text ("Time: ...\nSequence No : 0x5\nReboot counter : 0x107 ..."). */
static bool
raw_position(struct audit_parser *ap, struct span m, uint64_t *reboot, uint64_t *seq)
{
    struct raw_pos p = {0};

    audit_parser_reset(ap, 0);
    if (audit_parser_feed(ap, m.p, m.len, NULL, raw_entry, &p) != HAF_OK ||
        audit_parser_flush(ap, raw_entry, &p) != HAF_OK) {
        audit_parser_reset(ap, 0);
        return false;
    }
    *reboot = p.reboot;
    *seq = p.seq;
    return p.found;
}

static bool
grow(void **p, size_t *cap, size_t n, size_t size)
{
    size_t c;
    void *q;

    if (n < *cap)
        return true;
    c = *cap ? *cap * 2 : 256;
    if (c > SIZE_MAX / size)
        return false;
    q = realloc(*p, c * size); /* the old pointer is dead on success */
    if (!q)
        return false;
    *p = q;
    *cap = c;
    return true;
}

static bool
event_wanted(const struct verify_stream *s, int64_t ts_ms, const uint8_t leaf[32])
{
    struct digest_leaf key;

    if (s->keep_until_ms && ts_ms >= s->keep_until_ms)
        return false;
    key.ts_ms = ts_ms;
    memcpy(key.hash, leaf, 32);
    if (s->n_skip && bsearch(&key, s->skip, s->n_skip, sizeof(key), digest_leaf_cmp))
        return false;
    if (ts_ms >= s->keep_from_ms)
        return true;
    return s->n_late && bsearch(&key, s->late, s->n_late, sizeof(key), digest_leaf_cmp);
}

void
verify_set_range(struct verify_stream *s, int64_t since_ms, int64_t until_ms)
{
    s->since_ms = since_ms;
    s->until_ms = until_ms;
}

void
verify_event_window(struct verify_stream *s, int64_t *lo, int64_t *hi)
{
    int64_t from = INT64_MAX, late_from = INT64_MAX, last = INT64_MIN;
    size_t n_late = 0;

    for (size_t i = 0; i < s->nrec; i++) {
        const struct digest_record *r = &s->rec[i].r;

        from = r->after_ms + 1 < from ? r->after_ms + 1 : from;
        if (r->count && r->last_ms > last)
            last = r->last_ms;
        n_late += r->n_late;
    }
    s->late = n_late ? calloc(n_late, sizeof(*s->late)) : NULL;
    for (size_t i = 0; s->late && i < s->nrec; i++)
        for (size_t k = 0; k < s->rec[i].r.n_late; k++) {
            const struct digest_late *l = &s->rec[i].r.late[k];

            s->late[s->n_late].ts_ms = l->ts_ms;
            memcpy(s->late[s->n_late++].hash, l->leaf, 32);
            late_from = l->ts_ms < late_from ? l->ts_ms : late_from;
        }
    /* Without the late index (no memory) every event is kept: more reading, same verdicts. */
    if (s->n_late > 1)
        qsort(s->late, s->n_late, sizeof(*s->late), digest_leaf_cmp);
    s->keep_from_ms = INT64_MIN;
    if (s->since_ms)
        s->keep_from_ms = s->nrec ? from : s->since_ms;
    if (n_late && !s->late)
        s->keep_from_ms = INT64_MIN;
    /* Events after the last kept record belong to the records sealed after until_ms when there
     * are any (they prove them); otherwise they are pending up to until_ms. */
    s->keep_until_ms = s->until_ms;
    if (s->until_ms && s->later_records)
        s->keep_until_ms = s->nrec ? (last == INT64_MIN ? from : last + 1) : s->until_ms;
    if (s->until_ms && last >= s->keep_until_ms)
        s->keep_until_ms = last + 1;
    if (s->n_skip > 1)
        qsort(s->skip, s->n_skip, sizeof(*s->skip), digest_leaf_cmp);
    s->frozen = true;
    *lo = s->keep_from_ms == INT64_MIN ? 0 : s->keep_from_ms;
    if (*lo && late_from < *lo)
        *lo = late_from;
    if (*lo < 0)
        *lo = 0;
    *hi = s->keep_until_ms;
}

enum haf_err
verify_add_event(struct verify_stream *s, int64_t ts_ms, struct span message)
{
    struct vevent *v;
    enum haf_err e;

    if (!grow((void **)&s->ev, &s->cap, s->n, sizeof(*s->ev)))
        return HAF_ENOMEM;
    v = &s->ev[s->n];
    memset(v, 0, sizeof(*v));
    v->ts_ms = ts_ms;
    v->owner = -1;
    e = digest_leaf_with(s->hasher, ts_ms, message, v->leaf);
    if (e != HAF_OK)
        return e;
    if (s->frozen && !event_wanted(s, ts_ms, v->leaf))
        return HAF_OK;
    if (message.len > 0 && message.p[0] == '{')
        v->has_pos = audit_json_position(message, &v->reboot, &v->seq);
    else if (span_starts_with(message, SPAN_LIT("Time")))
        /* CloudHSM's raw entries start with their Time line; nothing else has a position. */
        v->has_pos = raw_position(s->ap, message, &v->reboot, &v->seq);
    s->n++;
    return HAF_OK;
}

static enum haf_err
remember_later(struct verify_stream *s, const struct digest_record *r)
{
    s->later_records = true;
    for (size_t k = 0; k < r->n_late; k++) {
        if (!grow((void **)&s->skip, &s->cap_skip, s->n_skip, sizeof(*s->skip)))
            return HAF_ENOMEM;
        s->skip[s->n_skip].ts_ms = r->late[k].ts_ms;
        memcpy(s->skip[s->n_skip++].hash, r->late[k].leaf, 32);
    }
    return HAF_OK;
}

enum haf_err
verify_add_record(struct verify_stream *s, int64_t ts_ms, struct span message)
{
    struct vrecord *v;
    struct buf why;
    char when[32];
    enum haf_err e;

    if (!grow((void **)&s->rec, &s->reccap, s->nrec, sizeof(*s->rec)))
        return HAF_ENOMEM;
    v = &s->rec[s->nrec];
    memset(v, 0, sizeof(*v));
    buf_init(&why, 512);
    e = digest_record_parse(message, &v->r, &why);
    if (e == HAF_ENOMEM) {
        buf_clean_up(&why);
        return e;
    }
    if (e != HAF_OK) {
        if ((!s->since_ms || ts_ms >= s->since_ms) && (!s->until_ms || ts_ms < s->until_ms)) {
            verify_iso_ms(ts_ms, when);
            s->rep.bad_records++;
            verify_finding(&s->rep, VERIFY_FORGED, ts_ms, ts_ms, 1,
                           "digest stream event at %s: not a digest record: %s", when,
                           buf_cstr(&why));
        }
    } else if (s->until_ms && v->r.time_ms >= s->until_ms) {
        e = remember_later(s, &v->r); /* after the range: its late events are not ours */
        digest_record_clean_up(&v->r);
        if (e != HAF_OK) {
            buf_clean_up(&why);
            return e;
        }
    } else if (s->since_ms && v->r.time_ms < s->since_ms) {
        digest_record_clean_up(&v->r); /* before the range */
    } else {
        v->event_ms = ts_ms;
        s->nrec++;
    }
    buf_clean_up(&why);
    return HAF_OK;
}
