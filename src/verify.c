/*
 * verify.c: the checks of verify.h over one stream's events and digest records.
 *
 * Events are reduced on arrival to (timestamp, leaf, HSM position): 64 bytes each, so memory is
 * bounded by the event count, never by message sizes. Assigning events to records is a sort of
 * the events by (timestamp, leaf), one binary search per late entry and per record range, and a
 * counting sort of the owners, so the whole run is O(n log n) in events plus O(records).
 *
 * Decisions a reader may question:
 * - A record whose signature does not verify covers nothing, whatever it says: its events then
 *   show up as injected, and the record as forged. Forging needs the key; removing is visible as
 *   a chain break; so an attacker without the key can only make verify fail, never pass.
 * - Events after the newest valid record are "pending", not "injected": the forwarder may simply
 *   not have sealed them yet. Either way they are not proven (choose --until before the newest
 *   digest to prove a closed range).
 * - When exactly one extra event sits in a record's range and removing it makes the hash hold,
 *   that event is named as injected and the record counts as intact. With more than one extra
 *   event, finding which ones would be combinatorial: the record is reported as not matching.
 */
#include "haf/verify.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "haf/audit.h"
#include "haf/digest.h"
#include "haf/sign.h"
#include "verify_internal.h"

#define VERIFY_TRY_ONE_EXTRA_MAX 4096 /* events in a record's range for the "which one" search */
#define VERIFY_LIST_MAX          10   /* injected events named one by one per stream */

static const char *const WHAT_NAMES[] = {
    [VERIFY_FORGED] = "forged",
    [VERIFY_CHAIN_BREAK] = "chain_break",
    [VERIFY_MISSING] = "missing",
    [VERIFY_ALTERED] = "altered",
    [VERIFY_INJECTED] = "injected",
    [VERIFY_PENDING] = "pending",
    [VERIFY_HEARTBEAT_GAP] = "heartbeat_gap",
    [VERIFY_SEQUENCE_GAP] = "sequence_gap",
    [VERIFY_REBOOT] = "reboot",
    [VERIFY_STOP] = "stop",
};

const char *
verify_what_str(enum verify_what w)
{
    if ((unsigned)w > VERIFY_STOP)
        return "unknown";
    return WHAT_NAMES[w];
}

void
verify_iso_ms(int64_t ms, char out[32])
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    char day[24];

    if (ms < 0 || !gmtime_r(&secs, &tm) ||
        strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
        snprintf(out, 32, "%" PRId64 "ms", ms);
    else
        snprintf(out, 32, "%s.%03dZ", day, (int)(ms % 1000));
}

void
verify_finding(struct verify_report *rep, enum verify_what what, int64_t from, int64_t to,
               uint64_t n, const char *fmt, ...)
{
    struct verify_finding *f;
    va_list ap;

    if (rep->n_findings >= VERIFY_MAX_FINDINGS) {
        rep->findings_dropped++;
        return;
    }
    if (!rep->findings) {
        rep->findings = calloc(VERIFY_MAX_FINDINGS, sizeof(*rep->findings));
        if (!rep->findings) {
            rep->findings_dropped++;
            return;
        }
    }
    f = &rep->findings[rep->n_findings++];
    f->what = what;
    f->from_ms = from;
    f->to_ms = to;
    f->n = n;
    va_start(ap, fmt);
    vsnprintf(f->text, sizeof(f->text), fmt, ap);
    va_end(ap);
}

void
verify_report_clean_up(struct verify_report *r)
{
    if (!r)
        return;
    free(r->stream);
    free(r->findings);
    memset(r, 0, sizeof(*r));
}

struct verify_stream *
verify_stream_new(const char *name)
{
    struct verify_stream *s = calloc(1, sizeof(*s));

    if (!s)
        return NULL;
    s->name = strdup(name);
    s->ap = audit_parser_new(NULL);
    s->hasher = digest_hasher_new();
    if (!s->name || !s->ap || !s->hasher) {
        verify_stream_free(s);
        return NULL;
    }
    return s;
}

void
verify_stream_free(struct verify_stream *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nrec; i++)
        digest_record_clean_up(&s->rec[i].r);
    free(s->rec);
    free(s->late);
    free(s->skip);
    free(s->ev);
    free(s->name);
    audit_parser_free(s->ap);
    digest_hasher_free(s->hasher);
    verify_report_clean_up(&s->rep);
    free(s);
}

/* ---- 1. signatures ---- */

static enum haf_err
check_signatures(struct verify_stream *s, const struct verify_opts *o)
{
    struct buf canon;
    char when[32];
    enum haf_err e = HAF_OK;

    buf_init(&canon, 0);
    for (size_t i = 0; i < s->nrec && e == HAF_OK; i++) {
        struct vrecord *v = &s->rec[i];
        enum haf_err ok;

        verify_iso_ms(v->r.time_ms, when);
        e = digest_record_canonical(&v->r, &canon);
        if (e == HAF_OK)
            e = digest_record_hash(&v->r, v->hash);
        if (e != HAF_OK)
            break;
        if (strcmp(v->r.stream, s->name) != 0) {
            verify_finding(&s->rep, VERIFY_FORGED, v->r.time_ms, v->r.time_ms, 1,
                           "record seq %" PRIu64 " of %s names stream '%.80s', not this one",
                           v->r.seq, when, v->r.stream);
            continue;
        }
        ok = o->key ? sign_verify(o->key, v->r.alg, buf_span(&canon), v->r.sig, v->r.sig_len)
                    : HAF_EINVAL;
        if (ok == HAF_OK) {
            v->valid = true;
            continue;
        }
        if (ok == HAF_ENOMEM)
            e = ok;
        verify_finding(&s->rep, VERIFY_FORGED, v->r.time_ms, v->r.time_ms, 1,
                       "record seq %" PRIu64 " of %s (%s, key %.80s): %s", v->r.seq, when, v->r.alg,
                       v->r.key_id,
                       !o->key            ? "no public key given: signature not checked"
                       : ok == HAF_EINVAL ? "algorithm does not fit the public key (another key?)"
                                          : "signature invalid (forged, altered or another key)");
    }
    for (size_t i = 0; i < s->nrec; i++)
        if (!s->rec[i].valid)
            s->rep.bad_records++;
    buf_clean_up(&canon);
    return e;
}

/* ---- 2. the chain ---- */

static int
rec_cmp_seq(const void *a, const void *b)
{
    const struct vrecord *x = a, *y = b;

    if (x->valid != y->valid)
        return x->valid ? -1 : 1; /* valid ones first */
    if (x->r.seq != y->r.seq)
        return x->r.seq < y->r.seq ? -1 : 1;
    if (x->r.time_ms != y->r.time_ms)
        return x->r.time_ms < y->r.time_ms ? -1 : 1;
    return memcmp(x->hash, y->hash, 32);
}

static void
chain_break(struct verify_report *rep, const struct vrecord *prev, const struct vrecord *v,
            const char *what)
{
    char a[32], b[32];

    verify_iso_ms(prev ? prev->r.time_ms : v->r.time_ms, a);
    verify_iso_ms(v->r.time_ms, b);
    rep->chain_breaks++;
    verify_finding(rep, VERIFY_CHAIN_BREAK, prev ? prev->r.time_ms : v->r.time_ms, v->r.time_ms,
                   prev && v->r.seq > prev->r.seq + 1 ? v->r.seq - prev->r.seq - 1 : 1,
                   "chain break between %s and %s: %s", a, b, what);
}

static enum haf_err
check_chain(struct verify_stream *s, const struct verify_opts *o, size_t *n_valid)
{
    static const uint8_t zero[32];
    const struct vrecord *prev = NULL;
    uint8_t chain[32];
    char what[160];
    size_t n = 0;

    if (s->nrec > 1) /* qsort(NULL, 0) is undefined */
        qsort(s->rec, s->nrec, sizeof(*s->rec), rec_cmp_seq);
    while (n < s->nrec && s->rec[n].valid)
        n++;
    for (size_t i = 0; i < n; i++) {
        struct vrecord *v = &s->rec[i];

        if (prev && v->r.seq == prev->r.seq && memcmp(v->hash, prev->hash, 32) == 0) {
            v->valid = false; /* the same record delivered twice: harmless */
            continue;
        }
        if (prev && v->r.seq == prev->r.seq) {
            snprintf(what, sizeof(what), "two different records with seq %" PRIu64 "%s", v->r.seq,
                     v->r.seq == 1 ? " (a new chain: forwarder state lost?)" : "");
            chain_break(&s->rep, prev, v, what);
        } else if (!prev && v->r.seq != 1) {
            if (o->from_start) {
                snprintf(what, sizeof(what), "records seq 1..%" PRIu64 " missing", v->r.seq - 1);
                chain_break(&s->rep, NULL, v, what);
            }
        } else if (prev && v->r.seq != prev->r.seq + 1) {
            snprintf(what, sizeof(what),
                     "records seq %" PRIu64 "..%" PRIu64 " missing (digests removed)",
                     prev->r.seq + 1, v->r.seq - 1);
            chain_break(&s->rep, prev, v, what);
        } else {
            const uint8_t *pc = prev ? prev->r.chain_sha256 : zero;
            const uint8_t *ph = prev ? prev->hash : zero;
            enum haf_err e = digest_chain_next(pc, v->r.events_sha256, chain);

            if (e != HAF_OK)
                return e;
            if (memcmp(v->r.prev_sha256, ph, 32) != 0 ||
                memcmp(v->r.chain_sha256, chain, 32) != 0) {
                snprintf(what, sizeof(what), "record seq %" PRIu64 " does not follow %s", v->r.seq,
                         prev ? "the record before it" : "the start of a chain");
                chain_break(&s->rep, prev, v, what);
            }
        }
        prev = v;
    }
    *n_valid = n;
    return HAF_OK;
}

/* ---- 3. coverage ---- */

static int
ev_cmp(const void *a, const void *b)
{
    const struct vevent *x = a, *y = b;

    if (x->ts_ms != y->ts_ms)
        return x->ts_ms < y->ts_ms ? -1 : 1;
    return memcmp(x->leaf, y->leaf, 32);
}

/* First index whose (ts, leaf) >= (ts, leaf); leaf NULL: first with ts > ts_ms. */
static size_t
ev_lower(const struct verify_stream *s, int64_t ts_ms, const uint8_t *leaf)
{
    size_t lo = 0, hi = s->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct vevent *v = &s->ev[mid];
        bool before =
            leaf ? (v->ts_ms < ts_ms || (v->ts_ms == ts_ms && memcmp(v->leaf, leaf, 32) < 0))
                 : v->ts_ms <= ts_ms;

        if (before)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Late entries first, for every record: a late event's timestamp also lies in an earlier
 * record's range, which must not take it. Then each record's range, in seq order. */
static void
assign_owners(struct verify_stream *s, size_t n_valid, uint64_t *found)
{
    for (size_t i = 0; i < n_valid; i++) {
        const struct digest_record *r = &s->rec[i].r;

        if (!s->rec[i].valid)
            continue;
        for (size_t k = 0; k < r->n_late; k++) {
            size_t j = ev_lower(s, r->late[k].ts_ms, r->late[k].leaf);

            while (j < s->n && s->ev[j].ts_ms == r->late[k].ts_ms &&
                   memcmp(s->ev[j].leaf, r->late[k].leaf, 32) == 0 && s->ev[j].owner >= 0)
                j++;
            if (j < s->n && s->ev[j].ts_ms == r->late[k].ts_ms &&
                memcmp(s->ev[j].leaf, r->late[k].leaf, 32) == 0) {
                s->ev[j].owner = (int32_t)i;
                found[i]++;
            }
        }
    }
    for (size_t i = 0; i < n_valid; i++) {
        const struct digest_record *r = &s->rec[i].r;

        if (!s->rec[i].valid || r->count == 0)
            continue;
        for (size_t j = ev_lower(s, r->after_ms, NULL); j < s->n && s->ev[j].ts_ms <= r->last_ms;
             j++)
            if (s->ev[j].owner < 0) {
                s->ev[j].owner = (int32_t)i;
                found[i]++;
            }
    }
}

/* Exactly one extra event: which one, if any, makes the hash hold? Its index in `idx`, or -1. */
static ssize_t
find_one_extra(const struct verify_stream *s, const struct digest_record *r, const size_t *idx,
               size_t n, struct digest_leaf *tmp)
{
    uint8_t h[32];

    if (n > VERIFY_TRY_ONE_EXTRA_MAX)
        return -1;
    for (size_t skip = 0; skip < n; skip++) {
        size_t m = 0;

        for (size_t k = 0; k < n; k++)
            if (k != skip) {
                tmp[m].ts_ms = s->ev[idx[k]].ts_ms;
                memcpy(tmp[m].hash, s->ev[idx[k]].leaf, 32);
                m++;
            }
        if (digest_events_hash(tmp, m, h) == HAF_OK && memcmp(h, r->events_sha256, 32) == 0)
            return (ssize_t)skip;
    }
    return -1;
}

static void
record_mismatch(struct verify_stream *s, size_t i, uint64_t found)
{
    struct vrecord *v = &s->rec[i];
    const struct digest_record *r = &v->r;
    char a[32], b[32];

    verify_iso_ms(r->first_ms, a);
    verify_iso_ms(r->last_ms, b);
    if (found < r->count) {
        s->rep.missing += r->count - found;
        verify_finding(&s->rep, VERIFY_MISSING, r->first_ms, r->last_ms, r->count - found,
                       "record seq %" PRIu64 " covers %" PRIu64 " events from %s to %s; %" PRIu64
                       " of them are missing (deleted, or the stream re-created with less)",
                       r->seq, r->count, a, b, r->count - found);
    } else if (found > r->count) {
        s->rep.injected += found - r->count;
        verify_finding(&s->rep, VERIFY_INJECTED, r->first_ms, r->last_ms, found - r->count,
                       "record seq %" PRIu64 " covers %" PRIu64 " events from %s to %s; %" PRIu64
                       " more are there (injected)",
                       r->seq, r->count, a, b, found - r->count);
    } else {
        s->rep.altered++;
        verify_finding(&s->rep, VERIFY_ALTERED, r->first_ms, r->last_ms, r->count,
                       "record seq %" PRIu64 ": its %" PRIu64
                       " events from %s to %s are there but hash "
                       "differently (at least one altered or replaced)",
                       r->seq, r->count, a, b);
    }
}

/* Hash each record's events and compare. */
static enum haf_err
check_records(struct verify_stream *s, size_t n_valid, const uint64_t *found)
{
    size_t *start = calloc(n_valid + 1, sizeof(*start)), *idx = calloc(s->n + 1, sizeof(*idx));
    struct digest_leaf *tmp = calloc(s->n + 1, sizeof(*tmp));
    enum haf_err e = HAF_ENOMEM;

    if (!start || !idx || !tmp)
        goto out;
    for (size_t i = 0; i < n_valid; i++)
        start[i + 1] = start[i] + found[i];
    {
        size_t *fill = calloc(n_valid + 1, sizeof(*fill));

        if (!fill)
            goto out;
        for (size_t j = 0; j < s->n; j++)
            if (s->ev[j].owner >= 0) {
                size_t o = (size_t)s->ev[j].owner;
                idx[start[o] + fill[o]++] = j;
            }
        free(fill);
    }
    for (size_t i = 0; i < n_valid; i++) {
        struct vrecord *v = &s->rec[i];
        size_t n = found[i];
        uint8_t h[32];
        ssize_t extra;

        if (!v->valid)
            continue;
        for (size_t k = 0; k < n; k++) {
            tmp[k].ts_ms = s->ev[idx[start[i] + k]].ts_ms;
            memcpy(tmp[k].hash, s->ev[idx[start[i] + k]].leaf, 32);
        }
        e = digest_events_hash(tmp, n, h);
        if (e != HAF_OK)
            goto out;
        if (n == v->r.count && memcmp(h, v->r.events_sha256, 32) == 0) {
            v->intact = true;
            s->rep.covered += n;
            continue;
        }
        if (n == v->r.count + 1 &&
            (extra = find_one_extra(s, &v->r, idx + start[i], n, tmp)) >= 0) {
            s->ev[idx[start[i] + (size_t)extra]].owner = -1; /* reported with the uncovered */
            v->intact = true;
            s->rep.covered += n - 1;
            continue;
        }
        record_mismatch(s, i, n);
    }
    e = HAF_OK;
out:
    free(start);
    free(idx);
    free(tmp);
    return e;
}

/* Events no valid record took: pending after the newest record, injected elsewhere. */
static void
check_uncovered(struct verify_stream *s, size_t n_valid)
{
    int64_t horizon = INT64_MIN;
    uint64_t named = 0, injected = 0, pending = 0;
    int64_t pend_from = 0, pend_to = 0, inj_from = 0, inj_to = 0;
    char a[32], b[32];

    for (size_t i = 0; i < n_valid; i++) {
        const struct digest_record *r = &s->rec[i].r;

        if (!s->rec[i].valid)
            continue;
        if (r->after_ms > horizon)
            horizon = r->after_ms;
        if (r->count && r->last_ms > horizon)
            horizon = r->last_ms;
    }
    for (size_t j = 0; j < s->n; j++) {
        const struct vevent *v = &s->ev[j];

        if (v->owner >= 0)
            continue;
        if (n_valid > 0 && v->ts_ms > horizon) {
            if (pending++ == 0)
                pend_from = v->ts_ms;
            pend_to = v->ts_ms;
            continue;
        }
        if (injected++ == 0)
            inj_from = v->ts_ms;
        inj_to = v->ts_ms;
        if (named++ < VERIFY_LIST_MAX && s->rep.has_records) {
            verify_iso_ms(v->ts_ms, a);
            verify_finding(
                &s->rep, VERIFY_INJECTED, v->ts_ms, v->ts_ms, 1,
                "event at %s is covered by no valid digest (injected, or its digest removed)", a);
        }
    }
    s->rep.injected += injected;
    s->rep.pending = n_valid > 0 ? pending : 0;
    if (injected > VERIFY_LIST_MAX && s->rep.has_records) {
        verify_iso_ms(inj_from, a);
        verify_iso_ms(inj_to, b);
        verify_finding(&s->rep, VERIFY_INJECTED, inj_from, inj_to, injected,
                       "%" PRIu64 " events from %s to %s are covered by no valid digest", injected,
                       a, b);
    }
    if (pending) {
        verify_iso_ms(pend_from, a);
        verify_iso_ms(pend_to, b);
        verify_finding(&s->rep, VERIFY_PENDING, pend_from, pend_to, pending,
                       "%" PRIu64
                       " events from %s to %s come after the newest digest (not covered yet)",
                       pending, a, b);
    }
    if (!s->rep.has_records)
        s->rep.injected = 0; /* without any digest nothing can be called injected */
}

/* ---- 4. liveness ---- */

static int
rec_cmp_time(const void *a, const void *b)
{
    const struct vrecord *const *x = a, *const *y = b;

    if ((*x)->r.time_ms != (*y)->r.time_ms)
        return (*x)->r.time_ms < (*y)->r.time_ms ? -1 : 1;
    return (*x)->r.seq < (*y)->r.seq ? -1 : (*x)->r.seq > (*y)->r.seq;
}

static void
heartbeat_gap(struct verify_report *rep, const struct digest_record *a, int64_t to_ms,
              bool until_now)
{
    char from[32], to[32];

    verify_iso_ms(a->time_ms, from);
    verify_iso_ms(to_ms, to);
    rep->heartbeat_gaps++;
    verify_finding(rep, VERIFY_HEARTBEAT_GAP, a->time_ms, to_ms,
                   (uint64_t)(to_ms - a->time_ms) / 1000,
                   "no digest from %s to %s%s (%" PRId64 " s; interval %" PRIu32
                   " s): the forwarder was down or blocked",
                   from, to, until_now ? " (now)" : "", (to_ms - a->time_ms) / 1000, a->interval_s);
}

static enum haf_err
check_liveness(struct verify_stream *s, const struct verify_opts *o, size_t n_valid)
{
    const struct vrecord **by_time = calloc(n_valid + 1, sizeof(*by_time));
    size_t n = 0;

    if (!by_time)
        return HAF_ENOMEM;
    for (size_t i = 0; i < n_valid; i++)
        if (s->rec[i].valid)
            by_time[n++] = &s->rec[i];
    qsort(by_time, n, sizeof(*by_time), rec_cmp_time);
    for (size_t i = 0; i + 1 < n; i++) {
        const struct digest_record *a = &by_time[i]->r, *b = &by_time[i + 1]->r;

        if (a->kind != DIGEST_KIND_STOP && b->time_ms - a->time_ms > 2000 * (int64_t)a->interval_s)
            heartbeat_gap(&s->rep, a, b->time_ms, false);
    }
    if (n > 0 && o->now_ms > 0) {
        const struct digest_record *last = &by_time[n - 1]->r;

        if (last->kind != DIGEST_KIND_STOP &&
            o->now_ms - last->time_ms > 2000 * (int64_t)last->interval_s)
            heartbeat_gap(&s->rep, last, o->now_ms, true);
    }
    free(by_time);
    return HAF_OK;
}

/* ---- 5. HSM continuity ---- */

struct vpos {
    uint64_t reboot, seq;
    int64_t ts_ms;
};

static int
pos_cmp(const void *a, const void *b)
{
    const struct vpos *x = a, *y = b;

    if (x->reboot != y->reboot)
        return x->reboot < y->reboot ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static enum haf_err
check_sequence(struct verify_stream *s)
{
    struct vpos *p = calloc(s->n + 1, sizeof(*p));
    size_t n = 0;

    if (!p)
        return HAF_ENOMEM;
    for (size_t j = 0; j < s->n; j++)
        if (s->ev[j].has_pos)
            p[n++] = (struct vpos){s->ev[j].reboot, s->ev[j].seq, s->ev[j].ts_ms};
    qsort(p, n, sizeof(*p), pos_cmp);
    for (size_t i = 1; i < n; i++) {
        const struct vpos *a = &p[i - 1], *b = &p[i];
        char when[32];

        if (b->reboot != a->reboot) {
            s->rep.reboots++;
            verify_iso_ms(b->ts_ms, when);
            verify_finding(&s->rep, VERIFY_REBOOT, b->ts_ms, b->ts_ms, 1,
                           "HSM reboot counter %" PRIu64 " -> %" PRIu64 " at %s", a->reboot,
                           b->reboot, when);
        } else if (b->seq > a->seq + 1) {
            s->rep.sequence_gaps++;
            s->rep.sequence_missing += b->seq - a->seq - 1;
            verify_iso_ms(a->ts_ms, when);
            verify_finding(&s->rep, VERIFY_SEQUENCE_GAP, a->ts_ms, b->ts_ms, b->seq - a->seq - 1,
                           "HSM sequence gap in reboot counter %" PRIu64 ": %" PRIu64 " missing "
                           "after sequence_no %" PRIu64 " (%s)",
                           a->reboot, b->seq - a->seq - 1, a->seq, when);
        }
    }
    free(p);
    return HAF_OK;
}

/* ---- the run ---- */

enum haf_err
verify_stream_run(struct verify_stream *s, const struct verify_opts *o, struct verify_report *out)
{
    uint64_t *found = NULL;
    size_t n_valid = 0;
    enum haf_err e;

    if (s->ran)
        return HAF_EINVAL;
    s->ran = true;
    s->rep.stream = strdup(s->name);
    if (!s->rep.stream)
        return HAF_ENOMEM;
    s->rep.has_records = s->nrec > 0 || s->rep.bad_records > 0;
    s->rep.events = s->n;
    if (s->n > 1)
        qsort(s->ev, s->n, sizeof(*s->ev), ev_cmp);
    if (s->n) {
        s->rep.first_ms = s->ev[0].ts_ms;
        s->rep.last_ms = s->ev[s->n - 1].ts_ms;
    }
    e = check_signatures(s, o);
    if (e == HAF_OK)
        e = check_chain(s, o, &n_valid);
    if (e == HAF_OK && !(found = calloc(n_valid + 1, sizeof(*found))))
        e = HAF_ENOMEM;
    if (e == HAF_OK) {
        assign_owners(s, n_valid, found);
        e = check_records(s, n_valid, found);
    }
    for (size_t i = 0; e == HAF_OK && i < n_valid; i++)
        s->rep.records += s->rec[i].valid;
    if (e == HAF_OK) {
        check_uncovered(s, n_valid);
        e = check_liveness(s, o, n_valid);
    }
    if (e == HAF_OK)
        e = check_sequence(s);
    free(found);
    if (e != HAF_OK)
        return e;
    s->rep.continuity = s->rep.sequence_gaps == 0;
    s->rep.proven = s->rep.has_records && s->rep.records > 0 && s->rep.bad_records == 0 &&
                    s->rep.chain_breaks == 0 && s->rep.covered == s->rep.events &&
                    s->rep.injected == 0 && s->rep.pending == 0 && s->rep.missing == 0 &&
                    s->rep.altered == 0 && s->rep.heartbeat_gaps == 0 && s->rep.sequence_gaps == 0;
    *out = s->rep;
    memset(&s->rep, 0, sizeof(s->rep));
    return HAF_OK;
}
