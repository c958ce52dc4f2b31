/*
 * digest_emit.c: the daemon's side of signed digests (issue 12, docs/digests.md). Per data stream
 * a chain: the accumulator of what CloudWatch acknowledged (digest.h), the deadline of its next
 * seal, and the records sealed and queued but not yet acknowledged.
 *
 * Flow. A leaf is computed when an event is queued (digest_emit_leaf: the batch keeps only the
 * escaped body) and fed to the chain's accumulator when the batch is acknowledged
 * (digest_emit_acked, from stream_head_done; events a read-back found delivered come through the
 * late list). At most every digest.interval_s, when the accumulator is full, and once at a clean
 * stop, the chain is sealed (a heartbeat when nothing was added), signed (key file or KMS), and
 * the record is queued on the digest stream, an ordinary struct stream: its delivery is
 * exactly-once through the same ring, in-flight marker, state save and read-back.
 *
 * Crash safety. The chain (head, the leaves acknowledged since the last seal, and the records
 * queued but not acknowledged, with their event timestamps) is kept in the data stream's entry of
 * the state file (ckpt_stream.digest) and updated in memory together with the acknowledgements
 * it covers, so every state save writes both atomically. After kill -9 the restored accumulator
 * still holds the acknowledged but unsealed events, and the unacknowledged records are queued
 * again with identical bytes (the digest stream's in-flight marker makes a read-back drop those
 * that had arrived). The chain continues (seq, chain hash, previous record hash), so a crash
 * shows in `verify` as a heartbeat gap when it lasted longer than two intervals, never as a
 * break. The cost: the leaves (about 90 bytes each in the state file) are written with every
 * save; a chain is sealed early at DIGEST_EMIT_MAX_LEAVES to bound that.
 *
 * Signing through KMS is a blocking call, made at most once per seal and bounded by
 * KMS_SIGN_TIMEOUT_MS (kms.c); when it fails the accumulator is put back as it was and the seal
 * is tried again later. Since a KMS that does not answer holds the event loop for that timeout
 * on every attempt, after a failed kms:Sign no chain tries again before a back-off (5 s, doubling
 * to 60 s; sign_allowed): one blocked attempt per back-off, not one per chain and loop turn.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "daemon_internal.h"
#include "haf/digest.h"
#include "haf/digest_name.h"
#include "haf/json_write.h"
#include "haf/kms.h"
#include "haf/log.h"
#include "haf/sign.h"

#define DIGEST_EMIT_MAX_LEAVES     4096 /* sealed early beyond: bounds the state file */
#define DIGEST_FIRST_SEAL_MS       1000 /* a chain's first record after start: "up again" */
#define DIGEST_SIGN_RETRY_MS       5000
#define DIGEST_SIGN_BACKOFF_MAX_MS 60000
#define DIGEST_SOURCE_ID           UINT32_MAX /* no file: file_ack ignores it */
/* KMS signs at most KMS_MAX_MESSAGE_BYTES with MessageType RAW, and each late event adds ~80
 * bytes to a record of ~800 (more with a long stream name or key ARN): a KMS-signed chain is
 * sealed early at this many late events rather than at DIGEST_MAX_LATE. */
#define DIGEST_EMIT_KMS_MAX_LATE 24

struct digest_pending {
    int64_t ts_ms;
    uint8_t leaf[32]; /* of the record as an event: matched when it is acknowledged */
    char *text;
};

struct digest_chain {
    struct stream *st;  /* the data stream */
    struct stream *dst; /* where its records go */
    struct digest_acc acc;
    int64_t next_seal_ms; /* monotonic */
    bool stopped;         /* the stop record is queued */
    struct digest_pending *pending;
    size_t n_pending;
    size_t cap_pending;
    uint64_t not_added;     /* acknowledged events not added to the digest, not yet reported */
    int64_t not_added_next; /* monotonic: no report of them before (rate limit) */
    /* acc.leaves[0..leaves_saved) as chain_save writes them ("[ts,\"hex\"]" joined by commas),
     * appended to as leaves come: an acknowledgement costs the new leaves, not all of them.
     * Emptied whenever the accumulator may have changed otherwise (a seal sorts it). */
    struct buf leaves_text;
    size_t leaves_saved;
};

struct digest_emit {
    struct signer *signer;
    struct kms_client *kms;
    struct digest_hasher *hasher;
    struct digest_chain **chains;
    size_t n_chains;
    struct buf text;
    struct buf sig;
    struct buf err;
    int sign_failures;     /* kms:Sign failures in a row */
    int64_t sign_retry_ms; /* monotonic: no kms:Sign before (0: none failed) */
};

/* ---------------------------------------------------------------- setup */

/* The signer's message for one log line: sign.c ends each of its lines with '\n', which a log
 * line would show escaped ("...\n; trying again"). */
static const char *
sign_err_line(struct buf *err)
{
    while (err->len > 0 && err->p[err->len - 1] == '\n')
        err->p[--err->len] = '\0';
    return buf_cstr(err);
}

bool
digest_emit_setup(struct daemon *d)
{
    const struct haf_config *cfg = d->cfg;
    struct digest_emit *g;
    enum haf_err e;

    if (!cfg->digest.enabled)
        return true;
    g = xcalloc(1, sizeof(*g));
    d->digest = g;
    buf_init(&g->text, 0);
    buf_init(&g->sig, 0);
    buf_init(&g->err, 4096);
    if ((g->hasher = digest_hasher_new()) == NULL)
        fatal("out of memory");
    if (cfg->digest.key_file != NULL) {
        e = signer_open_file(cfg->digest.key_file, &g->signer, &g->err);
    } else {
        g->kms = kms_client_new(NULL, d->region, d->http, d->creds);
        e = g->kms == NULL ? HAF_ECONFIG
                           : signer_new_kms(g->kms, cfg->digest.kms_key_id,
                                            cfg->digest.signing_algorithm, &g->signer);
    }
    if (e != HAF_OK) {
        log_err("digest: cannot set up the signer: %s%s%s", haf_err_str(e), g->err.len ? ": " : "",
                sign_err_line(&g->err));
        return false;
    }
    log_info("digest: every %" PRIu32 " s, signed with %s (%s)", cfg->digest.interval_s,
             signer_key_id(g->signer), signer_alg(g->signer));
    return true;
}

void
digest_emit_free(struct daemon *d)
{
    struct digest_emit *g = d->digest;

    if (g == NULL)
        return;
    for (size_t i = 0; i < g->n_chains; i++) {
        struct digest_chain *c = g->chains[i];
        digest_acc_clean_up(&c->acc);
        for (size_t j = 0; j < c->n_pending; j++)
            free(c->pending[j].text);
        free(c->pending);
        buf_clean_up(&c->leaves_text);
        free(c);
    }
    free(g->chains);
    signer_free(g->signer);
    kms_client_free(g->kms);
    digest_hasher_free(g->hasher);
    buf_clean_up(&g->text);
    buf_clean_up(&g->sig);
    buf_clean_up(&g->err);
    free(g);
    d->digest = NULL;
}

/* ---------------------------------------------------------------- the state file */

static void
put_pos(struct buf *b, const char *key, const struct digest_pos *p)
{
    if (p->present)
        IGNORE_RESULT(buf_addf(b, ",\"%s\":[\"%" PRIu64 "\",\"%" PRIu64 "\"]", key,
                               p->reboot_counter, p->sequence_no));
    else
        IGNORE_RESULT(buf_addf(b, ",\"%s\":null", key));
}

/* Appends the leaves acknowledged since the last call to c->leaves_text (see struct
 * digest_chain); starts over when the accumulator holds fewer (sealed, restored). */
static void
chain_leaves_text(struct digest_chain *c)
{
    struct buf *b = &c->leaves_text;

    if (c->acc.n < c->leaves_saved) {
        buf_reset(b);
        c->leaves_saved = 0;
    }
    /* ,[<int64 ts>,"<64 hex>"] is at most 1 + 1 + 20 + 2 + 64 + 2 = 90 bytes per leaf. */
    if (buf_reserve(b, (c->acc.n - c->leaves_saved) * 96) != HAF_OK)
        fatal("out of memory");
    for (size_t i = c->leaves_saved; i < c->acc.n; i++) {
        const struct digest_leaf *l = &c->acc.leaves[i];
        char *o = b->p + b->len;
        char dec[20];
        uint64_t v = l->ts_ms < 0 ? 0 : (uint64_t)l->ts_ms; /* the accumulator takes ts >= 0 */
        size_t n = 0;

        if (i > 0)
            *o++ = ',';
        *o++ = '[';
        do {
            dec[n++] = (char)('0' + v % 10);
            v /= 10;
        } while (v != 0);
        while (n > 0)
            *o++ = dec[--n];
        *o++ = ',';
        *o++ = '"';
        digest_hex(l->hash, 32, o);
        o += 64;
        *o++ = '"';
        *o++ = ']';
        *o = '\0';
        b->len = (size_t)(o - b->p);
    }
    c->leaves_saved = c->acc.n;
}

/* The chain into the data stream's state entry (saved with the next state_save). */
static void
chain_save(struct daemon *d, struct digest_chain *c)
{
    struct buf *b = &d->digest->text;
    const struct digest_head *h = &c->acc.head;
    char hex[65];
    enum haf_err e;

    chain_leaves_text(c);
    buf_reset(b);
    IGNORE_RESULT(buf_addf(b, "{\"seq\":%" PRIu64, h->seq));
    digest_hex(h->chain_sha256, 32, hex);
    IGNORE_RESULT(buf_addf(b, ",\"chain\":\"%s\"", hex));
    digest_hex(h->record_sha256, 32, hex);
    IGNORE_RESULT(buf_addf(b, ",\"rec\":\"%s\",\"after\":%" PRId64, hex, h->after_ms));
    put_pos(b, "first", &c->acc.first);
    put_pos(b, "last", &c->acc.last);
    IGNORE_RESULT(buf_adds(b, ",\"leaves\":["));
    IGNORE_RESULT(buf_add(b, c->leaves_text.p, c->leaves_text.len));
    IGNORE_RESULT(buf_adds(b, "],\"pending\":["));
    for (size_t i = 0; i < c->n_pending; i++) {
        IGNORE_RESULT(buf_addf(b, "%s[%" PRId64 ",", i ? "," : "", c->pending[i].ts_ms));
        IGNORE_RESULT(json_write_string(b, span_cstr(c->pending[i].text)));
        IGNORE_RESULT(buf_adds(b, "]"));
    }
    if (buf_adds(b, "]}") != HAF_OK)
        fatal("out of memory");
    if (ckpt_find_stream(&d->state, c->st->group, c->st->name) == NULL) {
        struct ckpt_stream rec = {.group = c->st->group,
                                  .stream = c->st->name,
                                  .has_seq = c->st->seq.has_acked,
                                  .reboot_counter = c->st->seq.acked_reboot,
                                  .sequence_no = c->st->seq.acked_seq};
        if (ckpt_set_stream(&d->state, &rec) != HAF_OK)
            fatal("out of memory");
    }
    e = ckpt_set_stream_digest(&d->state, c->st->group, c->st->name, buf_cstr(b));
    if (e != HAF_OK)
        fatal("out of memory");
    d->state_dirty = true;
}

static bool
hex32(const json_t *v, uint8_t out[32])
{
    const char *s = json_string_value(v);

    if (s == NULL || json_string_length(v) != 64)
        return false;
    for (size_t i = 0; i < 64; i++) {
        int x = s[i] >= '0' && s[i] <= '9'   ? s[i] - '0'
                : s[i] >= 'a' && s[i] <= 'f' ? s[i] - 'a' + 10
                                             : -1;
        if (x < 0)
            return false;
        out[i / 2] = (uint8_t)(i % 2 ? (out[i / 2] | x) : x << 4);
    }
    return true;
}

static bool
dec64(const json_t *v, uint64_t *out)
{
    const char *s = json_string_value(v);
    uint64_t n = 0;

    if (s == NULL || *s == '\0')
        return false;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || n > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
            return false;
        n = n * 10 + (uint64_t)(*s - '0');
    }
    *out = n;
    return true;
}

static bool
get_pos(const json_t *v, struct digest_pos *p)
{
    memset(p, 0, sizeof(*p));
    if (json_is_null(v))
        return true;
    p->present = true;
    return json_is_array(v) && json_array_size(v) == 2 &&
           dec64(json_array_get(v, 0), &p->reboot_counter) &&
           dec64(json_array_get(v, 1), &p->sequence_no);
}

static void chain_queue(struct daemon *d, struct digest_chain *c, int64_t ts, const char *text,
                        bool remember);

/* The chain from the state file (written by chain_save; the state directory is ours, but a
 * damaged entry must not crash us: it starts a new chain, which verify reports as a break). */
static bool
chain_restore(struct daemon *d, struct digest_chain *c, const char *text)
{
    json_t *o = json_loads(text, 0, NULL), *leaves, *pending;
    struct digest_head h;
    struct digest_pos first, last;
    bool ok = false;

    digest_head_init(&h);
    leaves = json_object_get(o, "leaves");
    pending = json_object_get(o, "pending");
    if (!json_is_integer(json_object_get(o, "seq")) ||
        !json_is_integer(json_object_get(o, "after")) ||
        !hex32(json_object_get(o, "chain"), h.chain_sha256) ||
        !hex32(json_object_get(o, "rec"), h.record_sha256) ||
        !get_pos(json_object_get(o, "first"), &first) ||
        !get_pos(json_object_get(o, "last"), &last) || !json_is_array(leaves) ||
        !json_is_array(pending) || json_array_size(leaves) > DIGEST_MAX_EVENTS)
        goto out;
    h.seq = (uint64_t)json_integer_value(json_object_get(o, "seq"));
    h.after_ms = json_integer_value(json_object_get(o, "after"));
    digest_acc_clean_up(&c->acc);
    digest_acc_init(&c->acc, &h);
    for (size_t i = 0; i < json_array_size(leaves); i++) {
        const json_t *l = json_array_get(leaves, i);
        uint8_t leaf[32];

        if (!json_is_integer(json_array_get(l, 0)) || !hex32(json_array_get(l, 1), leaf) ||
            digest_acc_add_leaf(&c->acc, json_integer_value(json_array_get(l, 0)), leaf, NULL) !=
                HAF_OK)
            goto out;
    }
    c->acc.first = first;
    c->acc.last = last;
    /* All or nothing: every pending record is checked before any is queued (a queued event
     * cannot be taken back from the digest stream). */
    for (size_t i = 0; i < json_array_size(pending); i++) {
        const json_t *p = json_array_get(pending, i);

        if (!json_is_integer(json_array_get(p, 0)) || !json_is_string(json_array_get(p, 1)))
            goto out;
    }
    for (size_t i = 0; i < json_array_size(pending); i++) {
        const json_t *p = json_array_get(pending, i);

        chain_queue(d, c, json_integer_value(json_array_get(p, 0)),
                    json_string_value(json_array_get(p, 1)), true);
    }
    ok = true;
out:
    json_decref(o);
    if (!ok) {
        digest_acc_clean_up(&c->acc);
        digest_head_init(&h);
        digest_acc_init(&c->acc, &h);
    }
    return ok;
}

/* ---------------------------------------------------------------- chains */

/* The digest stream of data stream st: digest.log_group (default st's), digest.log_stream with
 * {stream} replaced. */
static struct stream *
digest_stream_of(struct daemon *d, const struct stream *st)
{
    const char *tmpl = d->cfg->digest.log_stream;
    const char *at = strstr(tmpl, "{stream}");
    struct buf name;
    struct stream *dst;

    buf_init(&name, 0);
    if (at == NULL || buf_add(&name, tmpl, (size_t)(at - tmpl)) != HAF_OK ||
        buf_adds(&name, st->name) != HAF_OK || buf_adds(&name, at + 8) != HAF_OK)
        fatal("out of memory");
    dst = stream_get(d, d->cfg->digest.log_group ? d->cfg->digest.log_group : st->group,
                     buf_cstr(&name), st->format);
    dst->records_only = true; /* outside the batch budget's count (stream.c) */
    buf_clean_up(&name);
    return dst;
}

static bool
is_digest_stream(const struct digest_emit *g, const struct stream *st)
{
    for (size_t i = 0; i < g->n_chains; i++)
        if (g->chains[i]->dst == st)
            return true;
    return false;
}

static struct digest_chain *
chain_of(const struct digest_emit *g, const struct stream *st)
{
    for (size_t i = 0; i < g->n_chains; i++)
        if (g->chains[i]->st == st)
            return g->chains[i];
    return NULL;
}

static void
chain_new(struct daemon *d, struct stream *st)
{
    struct digest_emit *g = d->digest;
    struct digest_chain *c = xcalloc(1, sizeof(*c)), **grown;
    const struct ckpt_stream *cs = ckpt_find_stream(&d->state, st->group, st->name);
    struct digest_head h;

    grown = realloc(g->chains, (g->n_chains + 1) * sizeof(*grown));
    if (grown == NULL)
        fatal("out of memory");
    g->chains = grown;
    g->chains[g->n_chains++] = c;
    c->st = st;
    c->dst = digest_stream_of(d, st);
    digest_head_init(&h);
    digest_acc_init(&c->acc, &h);
    c->next_seal_ms = d->now_ms + DIGEST_FIRST_SEAL_MS;
    if (cs != NULL && cs->digest != NULL) {
        if (chain_restore(d, c, cs->digest))
            log_info("digest %s/%s: chain continues after record %" PRIu64 " (%zu events "
                     "acknowledged since, %zu records to deliver)",
                     st->group, st->name, c->acc.head.seq, c->acc.n, c->n_pending);
        else
            log_err("digest %s/%s: the chain in the state file is damaged; starting a new chain "
                    "(verify will report a break here)",
                    st->group, st->name);
    }
}

/* Every data stream has a chain (streams appear as files are opened). */
static void
chains_update(struct daemon *d)
{
    for (size_t i = 0; i < d->n_streams; i++) {
        struct stream *st = d->streams[i];
        if (!is_digest_stream(d->digest, st) && !health_emit_owns(d, st) &&
            chain_of(d->digest, st) == NULL)
            chain_new(d, st);
    }
}

/* ---------------------------------------------------------------- queueing and sealing */

/* A record as an event of the digest stream; remembered as pending until acknowledged. */
static void
chain_queue(struct daemon *d, struct digest_chain *c, int64_t ts, const char *text, bool remember)
{
    struct stream *dst = c->dst;
    struct span msg = span_cstr(text);
    struct batch_event meta = {.source_id = DIGEST_SOURCE_ID, .has_leaf = true};

    if (digest_leaf_with(d->digest->hasher, ts, msg, meta.leaf) != HAF_OK)
        fatal("out of memory");
    if (!stream_add_event(d, dst, ts, msg, &meta, 0)) {
        log_err("digest %s/%s: a record of %zu bytes does not fit batch.max_bytes; not sent",
                dst->group, dst->name, msg.len);
        return;
    }
    if (!remember)
        return;
    if (c->n_pending == c->cap_pending) {
        size_t cap = c->cap_pending ? c->cap_pending * 2 : 8;
        struct digest_pending *p = realloc(c->pending, cap * sizeof(*p));
        if (p == NULL)
            fatal("out of memory");
        c->pending = p;
        c->cap_pending = cap;
    }
    c->pending[c->n_pending] = (struct digest_pending){.ts_ms = ts, .text = xstrdup(text)};
    memcpy(c->pending[c->n_pending++].leaf, meta.leaf, 32);
}

/* Whether a kms:Sign may be tried now: not within the back-off after a failed one. A key file
 * signs locally and is never held back. */
static bool
sign_allowed(const struct digest_emit *g, int64_t now_ms)
{
    return g->kms == NULL || now_ms >= g->sign_retry_ms;
}

static void
sign_note(struct digest_emit *g, int64_t now_ms, bool ok)
{
    int64_t wait = DIGEST_SIGN_RETRY_MS;

    if (ok || g->kms == NULL) {
        g->sign_failures = 0;
        g->sign_retry_ms = 0;
        return;
    }
    if (g->sign_failures < 16)
        g->sign_failures++;
    for (int i = 1; i < g->sign_failures && wait < DIGEST_SIGN_BACKOFF_MAX_MS; i++)
        wait *= 2;
    g->sign_retry_ms =
        now_ms + (wait < DIGEST_SIGN_BACKOFF_MAX_MS ? wait : DIGEST_SIGN_BACKOFF_MAX_MS);
}

/* Seal, sign and queue one record. False when it could not be signed (the accumulator is as it
 * was; the caller tries again later). */
static bool
chain_seal(struct daemon *d, struct digest_chain *c, enum digest_kind kind)
{
    struct digest_emit *g = d->digest;
    struct digest_acc saved = c->acc;
    struct digest_record r;
    enum haf_err e;

    /* Sealing sorts the leaves in place, even when signing then fails and they are kept. */
    buf_reset(&c->leaves_text);
    c->leaves_saved = 0;
    e = digest_acc_seal(&c->acc, kind, c->st->name, d->wall_ms, d->cfg->digest.interval_s,
                        signer_key_id(g->signer), signer_alg(g->signer), &r);
    if (e != HAF_OK) {
        log_err("digest %s/%s: cannot seal: %s", c->st->group, c->st->name, haf_err_str(e));
        return false;
    }
    buf_reset(&g->sig);
    buf_reset(&g->err);
    e = digest_record_canonical(&r, &g->text);
    if (e == HAF_OK) {
        e = signer_sign(g->signer, buf_span(&g->text), &g->sig, &g->err);
        if (g->kms != NULL)
            daemon_clock_read(d); /* a blocking call: the back-off counts from its end */
        sign_note(g, d->now_ms, e == HAF_OK);
    }
    if (e == HAF_OK && (r.sig = malloc(g->sig.len ? g->sig.len : 1)) == NULL)
        e = HAF_ENOMEM;
    if (e == HAF_OK) {
        memcpy(r.sig, g->sig.p, g->sig.len);
        r.sig_len = g->sig.len;
        e = digest_record_json(&r, &g->text);
    }
    if (e != HAF_OK) {
        /* Sealing only sorted the leaves in place (not state) and moved these fields. */
        c->acc.head = saved.head;
        c->acc.n = saved.n;
        c->acc.n_late = saved.n_late;
        c->acc.first = saved.first;
        c->acc.last = saved.last;
        log_err("digest %s/%s: cannot sign record %" PRIu64 ": %s%s%s; trying again", c->st->group,
                c->st->name, r.seq, haf_err_str(e), g->err.len ? ": " : "", sign_err_line(&g->err));
        digest_record_clean_up(&r);
        return false;
    }
    log_debug("digest %s/%s: record %" PRIu64 " (%s, %" PRIu64 " events)", c->st->group,
              c->st->name, r.seq, digest_kind_str(r.kind), r.count);
    chain_queue(d, c, r.time_ms, buf_cstr(&g->text), true);
    digest_record_clean_up(&r);
    chain_save(d, c);
    return true;
}

/* Acknowledged events that could not be added to the digest (the accumulator is full and the
 * record cannot be signed): one line per sign back-off with their count, not one per event; at a
 * stop (force) what is left is reported. */
static void
not_added_report(struct daemon *d, struct digest_chain *c, bool force)
{
    int64_t next = d->now_ms + DIGEST_SIGN_RETRY_MS;

    if (c->not_added == 0 || (!force && d->now_ms < c->not_added_next))
        return;
    log_err("digest %s/%s: %" PRIu64 " acknowledged events could not be added to the digest (the "
            "record could not be signed); verify will report them as not covered",
            c->st->group, c->st->name, c->not_added);
    c->not_added = 0;
    c->not_added_next = d->digest->sign_retry_ms > next ? d->digest->sign_retry_ms : next;
}

static void
chain_add(struct daemon *d, struct digest_chain *c, int64_t ts, const uint8_t leaf[32],
          const struct digest_pos *pos)
{
    bool late_full = d->digest->kms != NULL && ts <= c->acc.head.after_ms &&
                     c->acc.n_late >= DIGEST_EMIT_KMS_MAX_LATE;

    if ((late_full || digest_acc_full(&c->acc) ||
         digest_acc_count(&c->acc) >= DIGEST_EMIT_MAX_LEAVES) &&
        sign_allowed(d->digest, d->now_ms))
        IGNORE_RESULT(chain_seal(d, c, DIGEST_KIND_DIGEST));
    if (digest_acc_add_leaf(&c->acc, ts, leaf, pos) != HAF_OK) {
        c->not_added++;
        not_added_report(d, c, false);
    }
}

/* ---------------------------------------------------------------- hooks */

void
digest_emit_leaf(struct daemon *d, int64_t ts, struct span msg, bool *has_leaf, uint8_t leaf[32])
{
    *has_leaf = false;
    if (d->digest == NULL)
        return;
    if (digest_leaf_with(d->digest->hasher, ts, msg, leaf) != HAF_OK)
        fatal("out of memory");
    *has_leaf = true;
}

/*
 * An event a read-back found delivered is covered as CloudWatch stores it, which may differ from
 * what we queued this time: an entry read again after a restart from a rotated file names
 * another source, and readback_match then finds it by its (reboot_counter, sequence_no); a
 * reclocked entry gets a new time. So the late acknowledgement takes the leaf (and timestamp)
 * of the stored event: the one with the same message, else the one with the same pair.
 */
void
digest_emit_leaf_as_stored(struct late_ack *la, const struct batch_event *ev,
                           const struct readback_event *read, size_t n_read)
{
    const struct readback_event *by_pair = NULL;

    for (size_t i = 0; i < n_read; i++) {
        if (!read[i].has_leaf)
            continue;
        if (read[i].hash == ev->msg_hash) {
            memcpy(la->leaf, read[i].leaf, 32);
            la->ts_ms = read[i].ts_ms;
            return;
        }
        if (by_pair == NULL && ev->has_seq && read[i].has_pair &&
            read[i].reboot == ev->reboot_counter && read[i].seq == ev->sequence_no)
            by_pair = &read[i];
    }
    if (by_pair != NULL) {
        memcpy(la->leaf, by_pair->leaf, 32);
        la->ts_ms = by_pair->ts_ms;
    }
}

/* The head batch of st (and its late list) is acknowledged: feed a data stream's chain, or
 * forget a digest stream's records that arrived. */
void
digest_emit_acked(struct daemon *d, struct stream *st, const struct batch *b)
{
    struct digest_emit *g = d->digest;
    struct digest_chain *c;

    if (g == NULL)
        return;
    if ((c = chain_of(g, st)) != NULL) {
        for (size_t i = 0; i < b->n_ev; i++) {
            const struct batch_event *ev = &b->ev[i];
            struct digest_pos pos = {ev->has_seq, ev->reboot_counter, ev->sequence_no};
            if (ev->has_leaf)
                chain_add(d, c, ev->timestamp_ms, ev->leaf, &pos);
        }
        for (size_t i = 0; i < st->n_late; i++) {
            const struct late_ack *la = &st->late[i];
            struct digest_pos pos = {la->has_seq, la->reboot_counter, la->sequence_no};
            if (la->has_leaf)
                chain_add(d, c, la->ts_ms, la->leaf, &pos);
        }
        chain_save(d, c);
        return;
    }
    for (size_t k = 0; k < g->n_chains; k++) {
        bool changed = false;

        c = g->chains[k];
        if (c->dst != st)
            continue;
        for (size_t i = 0; i < c->n_pending;) {
            bool acked = false;
            for (size_t j = 0; j < b->n_ev && !acked; j++)
                acked = b->ev[j].has_leaf && memcmp(b->ev[j].leaf, c->pending[i].leaf, 32) == 0;
            for (size_t j = 0; j < st->n_late && !acked; j++)
                acked =
                    st->late[j].has_leaf && memcmp(st->late[j].leaf, c->pending[i].leaf, 32) == 0;
            if (!acked) {
                i++;
                continue;
            }
            free(c->pending[i].text);
            memmove(&c->pending[i], &c->pending[i + 1],
                    (c->n_pending - i - 1) * sizeof(*c->pending));
            c->n_pending--;
            changed = true;
        }
        if (changed)
            chain_save(d, c);
    }
}

/* Each loop turn, before send_due: seal the chains that are due or full. */
void
digest_emit_tick(struct daemon *d)
{
    struct digest_emit *g = d->digest;

    if (g == NULL)
        return;
    chains_update(d);
    for (size_t i = 0; i < g->n_chains; i++) {
        struct digest_chain *c = g->chains[i];

        if (c->stopped || (d->now_ms < c->next_seal_ms && !digest_acc_full(&c->acc) &&
                           digest_acc_count(&c->acc) < DIGEST_EMIT_MAX_LEAVES))
            continue;
        if (sign_allowed(g, d->now_ms) && chain_seal(d, c, DIGEST_KIND_DIGEST))
            c->next_seal_ms = d->now_ms + (int64_t)d->cfg->digest.interval_s * 1000;
        else /* not before the back-off a failed kms:Sign set */
            c->next_seal_ms = d->now_ms + DIGEST_SIGN_RETRY_MS > g->sign_retry_ms
                                  ? d->now_ms + DIGEST_SIGN_RETRY_MS
                                  : g->sign_retry_ms;
    }
}

/* At a clean stop, once the data streams are idle: queue each chain's stop record. True when
 * something was queued (the caller then keeps running until it is delivered). */
bool
digest_emit_stop(struct daemon *d)
{
    struct digest_emit *g = d->digest;
    bool queued = false, tried_kms = false;

    if (g == NULL)
        return false;
    chains_update(d);
    for (size_t i = 0; i < g->n_chains; i++) {
        struct digest_chain *c = g->chains[i];

        not_added_report(d, c, true);
        if (c->stopped)
            continue;
        c->stopped = true;
        /* One kms:Sign failure at the stop holds the others back (each could wait as long). */
        if ((sign_allowed(g, d->now_ms) || !tried_kms) && chain_seal(d, c, DIGEST_KIND_STOP)) {
            queued = true;
        } else {
            tried_kms = true;
            log_err("digest %s/%s: the stop record could not be signed; verify will see a gap "
                    "until the next start",
                    c->st->group, c->st->name);
            if (d->opts->once)
                d->failed = true;
        }
    }
    return queued;
}

int64_t
digest_emit_deadline(struct daemon *d)
{
    int64_t t = DEADLINE_NEVER;

    if (d->digest == NULL)
        return t;
    for (size_t i = 0; i < d->digest->n_chains; i++)
        if (!d->digest->chains[i]->stopped && d->digest->chains[i]->next_seal_ms < t)
            t = d->digest->chains[i]->next_seal_ms;
    return t;
}

/* ---------------------------------------------------------------- data stream names */

void
digest_emit_data_name(struct daemon *d, const char *group, const char *path, struct buf *name)
{
    const char *dg = d->cfg->digest.log_group ? d->cfg->digest.log_group : group;
    struct buf old;
    bool changed = false;

    if (!d->cfg->digest.enabled || strcmp(dg, group) != 0 ||
        !digest_name_match(d->cfg->digest.log_stream, buf_cstr(name)))
        return;
    buf_init(&old, 0);
    if (buf_add(&old, name->p, name->len) != HAF_OK ||
        digest_name_unreserve(d->cfg->digest.log_stream, name, &changed) == HAF_ENOMEM)
        fatal("out of memory");
    if (changed)
        log_err("%s: stream %s/%s has the form of a digest stream name (digest.log_stream %s): "
                "its entries go to stream %s instead",
                path, group, buf_cstr(&old), d->cfg->digest.log_stream, buf_cstr(name));
    buf_clean_up(&old);
}
