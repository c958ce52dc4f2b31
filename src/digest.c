/*
 * digest.c: leaves, the canonical events hash, the chain, the digest record (serializer and
 * untrusted parser) and the daemon's accumulator. The encoding is specified in haf/digest.h.
 *
 * Serialization goes through jansson with JSON_COMPACT and insertion order, so strings are escaped
 * by one well-tested writer and the canonical bytes are a pure function of the record's values.
 * The parser is strict (every key once, exact types, no extra keys) because what it reads comes
 * from CloudWatch, where anyone with logs:PutLogEvents on the digest stream could have written it;
 * a record that parses is still only trusted after its signature verifies (verify.c).
 *
 * Trade-off: the accumulator keeps one 40-byte leaf per event until the record is sealed, because
 * the canonical order is by (timestamp, leaf) and acknowledgement order is not. DIGEST_MAX_EVENTS
 * bounds that to 2.5 MiB per stream; digest_acc_full() tells the daemon to seal early.
 */
#include "haf/json_write.h"
#include "haf/digest.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "haf/base64.h"
#include "haf/utf8.h"

static const char *const KIND_NAMES[] = {
    [DIGEST_KIND_DIGEST] = "digest",
    [DIGEST_KIND_HEARTBEAT] = "heartbeat",
    [DIGEST_KIND_STOP] = "stop",
};

const char *
digest_kind_str(enum digest_kind k)
{
    if ((unsigned)k > DIGEST_KIND_STOP)
        return "unknown";
    return KIND_NAMES[k];
}

void
digest_hex(const uint8_t *p, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
}

static void
put_be64(uint8_t out[8], uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        out[i] = (uint8_t)(v & 0xff);
        v >>= 8;
    }
}

/* ---- hashing ---- */

struct digest_hasher {
    EVP_MD *md;
    EVP_MD_CTX *ctx;
};

struct digest_hasher *
digest_hasher_new(void)
{
    struct digest_hasher *h = calloc(1, sizeof(*h));

    if (!h)
        return NULL;
    h->md = EVP_MD_fetch(NULL, "SHA256", NULL);
    h->ctx = EVP_MD_CTX_new();
    if (!h->md || !h->ctx) {
        digest_hasher_free(h);
        return NULL;
    }
    return h;
}

void
digest_hasher_free(struct digest_hasher *h)
{
    if (!h)
        return;
    EVP_MD_CTX_free(h->ctx);
    EVP_MD_free(h->md);
    free(h);
}

enum haf_err
digest_leaf_with(struct digest_hasher *h, int64_t ts_ms, struct span message, uint8_t out[32])
{
    /* The tag with its NUL, then be64(timestamp) and be64(length): one update before the
     * message. */
    static const char tag[] = "haf-leaf-v1";
    uint8_t hdr[sizeof(tag) + 16];
    struct digest_hasher *tmp = NULL;
    enum haf_err e = HAF_ECRYPTO;

    if (!h && !(h = tmp = digest_hasher_new()))
        return HAF_ENOMEM;
    memcpy(hdr, tag, sizeof(tag));
    put_be64(hdr + sizeof(tag), (uint64_t)ts_ms);
    put_be64(hdr + sizeof(tag) + 8, (uint64_t)message.len);
    if (EVP_DigestInit_ex2(h->ctx, h->md, NULL) == 1 &&
        EVP_DigestUpdate(h->ctx, hdr, sizeof(hdr)) == 1 &&
        (message.len == 0 || EVP_DigestUpdate(h->ctx, message.p, message.len) == 1) &&
        EVP_DigestFinal_ex(h->ctx, out, NULL) == 1)
        e = HAF_OK;
    digest_hasher_free(tmp);
    return e;
}

enum haf_err
digest_leaf(int64_t ts_ms, struct span message, uint8_t out[32])
{
    return digest_leaf_with(NULL, ts_ms, message, out);
}

int
digest_leaf_cmp(const void *a, const void *b)
{
    const struct digest_leaf *x = a, *y = b;

    if (x->ts_ms != y->ts_ms)
        return x->ts_ms < y->ts_ms ? -1 : 1;
    return memcmp(x->hash, y->hash, 32);
}

enum haf_err
digest_events_hash(struct digest_leaf *leaves, size_t n, uint8_t out[32])
{
    static const char tag[] = "haf-events-v1";
    uint8_t count[8];
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    enum haf_err e = HAF_ECRYPTO;

    if (!ctx)
        return HAF_ENOMEM;
    if (n > 1)
        qsort(leaves, n, sizeof(*leaves), digest_leaf_cmp);
    put_be64(count, (uint64_t)n);
    if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
        EVP_DigestUpdate(ctx, tag, sizeof(tag)) != 1 ||
        EVP_DigestUpdate(ctx, count, sizeof(count)) != 1)
        goto out;
    /* Leaves are gathered into 4 KiB runs: one update per leaf cost more than the hashing. */
    for (size_t i = 0; i < n;) {
        uint8_t run[128 * 32];
        size_t k = 0;

        for (; i < n && k < sizeof(run); i++, k += 32)
            memcpy(run + k, leaves[i].hash, 32);
        if (EVP_DigestUpdate(ctx, run, k) != 1)
            goto out;
    }
    if (EVP_DigestFinal_ex(ctx, out, NULL) != 1)
        goto out;
    e = HAF_OK;
out:
    EVP_MD_CTX_free(ctx);
    return e;
}

enum haf_err
digest_chain_next(const uint8_t prev_chain[32], const uint8_t events_sha256[32], uint8_t out[32])
{
    static const char tag[] = "haf-chain-v1";
    uint8_t in[sizeof(tag) + 64];

    memcpy(in, tag, sizeof(tag));
    memcpy(in + sizeof(tag), prev_chain, 32);
    memcpy(in + sizeof(tag) + 32, events_sha256, 32);
    if (EVP_Digest(in, sizeof(in), out, NULL, EVP_sha256(), NULL) != 1)
        return HAF_ECRYPTO;
    return HAF_OK;
}

/* ---- the record: serializing ---- */

void
digest_record_clean_up(struct digest_record *r)
{
    if (!r)
        return;
    free(r->stream);
    free(r->key_id);
    free(r->alg);
    free(r->late);
    free(r->sig);
    memset(r, 0, sizeof(*r));
}

void
digest_head_init(struct digest_head *h)
{
    memset(h, 0, sizeof(*h));
    h->after_ms = -1;
}

/* Our own strings (config values, the stream name we built): non-empty, bounded, valid UTF-8, so
 * that json_string() accepts them and a reader gets back the same bytes. */
static bool
string_ok(const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t len, i = 0;

    if (!s)
        return false;
    len = strlen(s);
    if (len == 0 || len > DIGEST_MAX_STRING_BYTES)
        return false;
    while (i < len) {
        size_t k = u[i] < 0x80 ? 1 : utf8_seq_len(u + i, len - i);

        if (k == 0)
            return false;
        i += k;
    }
    return true;
}

static bool
u64_ok(uint64_t v)
{
    return v <= (uint64_t)INT64_MAX;
}

/* jansson setters steal the new value's reference: every call here passes a fresh value, and a
 * NULL value (allocation failure) makes json_object_set_new fail, which we report. */
static int
set_hex(json_t *o, const char *key, const uint8_t v[32])
{
    char hex[65];

    digest_hex(v, 32, hex);
    return json_object_set_new(o, key, json_string(hex));
}

static json_t *
pos_json(const struct digest_pos *p)
{
    json_t *o;

    if (!p->present)
        return json_null();
    o = json_object();
    if (!o ||
        json_object_set_new(o, "reboot_counter", json_integer((json_int_t)p->reboot_counter)) ||
        json_object_set_new(o, "sequence_no", json_integer((json_int_t)p->sequence_no))) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *
late_json(const struct digest_record *r)
{
    json_t *a = json_array();
    char hex[65];

    for (size_t i = 0; a && i < r->n_late; i++) {
        json_t *pair = json_array();

        digest_hex(r->late[i].leaf, 32, hex);
        if (!pair || json_array_append_new(pair, json_integer(r->late[i].ts_ms)) ||
            json_array_append_new(pair, json_string(hex)) || json_array_append_new(a, pair)) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

static bool
record_valid(const struct digest_record *r)
{
    if ((unsigned)r->kind > DIGEST_KIND_STOP || !string_ok(r->stream) || !string_ok(r->key_id) ||
        !string_ok(r->alg))
        return false;
    if (!u64_ok(r->seq) || !u64_ok(r->count) || r->time_ms < 0 || r->after_ms < -1 ||
        r->first_ms < 0 || r->last_ms < 0)
        return false;
    if (r->first.present && (!u64_ok(r->first.reboot_counter) || !u64_ok(r->first.sequence_no)))
        return false;
    if (r->last.present && (!u64_ok(r->last.reboot_counter) || !u64_ok(r->last.sequence_no)))
        return false;
    if (r->count == 0 &&
        (r->first.present || r->last.present || r->n_late || r->first_ms || r->last_ms))
        return false;
    if (r->n_late > DIGEST_MAX_LATE || r->n_late > r->count)
        return false;
    for (size_t i = 0; i < r->n_late; i++)
        if (r->late[i].ts_ms < 0)
            return false;
    return true;
}

/* The record as a jansson object, with "sig" when with_sig. */
static json_t *
record_object(const struct digest_record *r, bool with_sig)
{
    json_t *o = json_object();
    int bad;

    if (!o)
        return NULL;
    bad = json_object_set_new(o, "haf_digest", json_integer(DIGEST_SCHEMA_VERSION));
    bad |= json_object_set_new(o, "kind", json_string(digest_kind_str(r->kind)));
    bad |= json_object_set_new(o, "stream", json_string(r->stream));
    bad |= json_object_set_new(o, "seq", json_integer((json_int_t)r->seq));
    bad |= json_object_set_new(o, "time_ms", json_integer(r->time_ms));
    bad |= json_object_set_new(o, "interval_s", json_integer(r->interval_s));
    bad |= json_object_set_new(o, "after_ms", json_integer(r->after_ms));
    bad |= json_object_set_new(o, "first_ms", json_integer(r->first_ms));
    bad |= json_object_set_new(o, "last_ms", json_integer(r->last_ms));
    bad |= json_object_set_new(o, "count", json_integer((json_int_t)r->count));
    bad |= json_object_set_new(o, "first", pos_json(&r->first));
    bad |= json_object_set_new(o, "last", pos_json(&r->last));
    bad |= json_object_set_new(o, "late", late_json(r));
    bad |= set_hex(o, "events_sha256", r->events_sha256);
    bad |= set_hex(o, "chain_sha256", r->chain_sha256);
    bad |= set_hex(o, "prev_sha256", r->prev_sha256);
    bad |= json_object_set_new(o, "key_id", json_string(r->key_id));
    bad |= json_object_set_new(o, "alg", json_string(r->alg));
    if (with_sig) {
        struct buf b64;

        buf_init(&b64, 0);
        bad |= base64_encode(r->sig, r->sig_len, &b64) != HAF_OK;
        bad |= json_object_set_new(o, "sig", json_string(buf_cstr(&b64)));
        buf_clean_up(&b64);
    }
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static enum haf_err
record_dump(const struct digest_record *r, bool with_sig, struct buf *out)
{
    json_t *o;
    char *text = NULL;
    enum haf_err e = HAF_EINVAL;

    if (!record_valid(r))
        return HAF_EINVAL;
    if (with_sig && (!r->sig || r->sig_len == 0 || r->sig_len > DIGEST_MAX_SIG_BYTES))
        return HAF_EINVAL;
    o = record_object(r, with_sig);
    if (!o)
        return HAF_ENOMEM;
    text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (!text) {
        e = HAF_ENOMEM;
        goto out;
    }
    buf_reset(out);
    e = buf_adds(out, text);
out:
    json_dump_free(text);
    json_decref(o);
    return e;
}

enum haf_err
digest_record_canonical(const struct digest_record *r, struct buf *out)
{
    return record_dump(r, false, out);
}

enum haf_err
digest_record_json(const struct digest_record *r, struct buf *out)
{
    return record_dump(r, true, out);
}

enum haf_err
digest_record_hash(const struct digest_record *r, uint8_t out[32])
{
    struct buf b;
    enum haf_err e;

    buf_init(&b, 0);
    e = digest_record_canonical(r, &b);
    if (e == HAF_OK && EVP_Digest(b.p, b.len, out, NULL, EVP_sha256(), NULL) != 1)
        e = HAF_ECRYPTO;
    buf_clean_up(&b);
    return e;
}

/* ---- the accumulator ---- */

void
digest_acc_init(struct digest_acc *a, const struct digest_head *head)
{
    memset(a, 0, sizeof(*a));
    a->head = *head;
}

void
digest_acc_clean_up(struct digest_acc *a)
{
    if (!a)
        return;
    free(a->leaves);
    digest_hasher_free(a->hasher);
    memset(a, 0, sizeof(*a));
}

bool
digest_acc_full(const struct digest_acc *a)
{
    return a->n >= DIGEST_MAX_EVENTS || a->n_late >= DIGEST_MAX_LATE;
}

enum haf_err
digest_acc_add(struct digest_acc *a, int64_t ts_ms, struct span message,
               const struct digest_pos *pos)
{
    uint8_t leaf[32];
    enum haf_err e;

    if (ts_ms < 0)
        return HAF_EINVAL;
    if (digest_acc_full(a))
        return HAF_ETOOLONG;
    if (!a->hasher && !(a->hasher = digest_hasher_new()))
        return HAF_ENOMEM;
    e = digest_leaf_with(a->hasher, ts_ms, message, leaf);
    return e == HAF_OK ? digest_acc_add_leaf(a, ts_ms, leaf, pos) : e;
}

enum haf_err
digest_acc_add_leaf(struct digest_acc *a, int64_t ts_ms, const uint8_t leaf[32],
                    const struct digest_pos *pos)
{
    if (ts_ms < 0)
        return HAF_EINVAL;
    if (digest_acc_full(a))
        return HAF_ETOOLONG;
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 64;
        struct digest_leaf *p;

        if (cap > DIGEST_MAX_EVENTS)
            cap = DIGEST_MAX_EVENTS;
        p = realloc(a->leaves, cap * sizeof(*p)); /* the old pointer is dead on success */
        if (!p)
            return HAF_ENOMEM;
        a->leaves = p;
        a->cap = cap;
    }
    a->leaves[a->n].ts_ms = ts_ms;
    memcpy(a->leaves[a->n].hash, leaf, 32);
    a->n++;
    if (ts_ms <= a->head.after_ms)
        a->n_late++;
    if (a->n == 1 || ts_ms < a->min_ms)
        a->min_ms = ts_ms;
    if (a->n == 1 || ts_ms > a->max_ms)
        a->max_ms = ts_ms;
    if (pos && pos->present) {
        if (!a->first.present)
            a->first = *pos;
        a->last = *pos;
    }
    return HAF_OK;
}

/* The late leaves of the interval, in canonical order (leaves are sorted by then). */
static enum haf_err
acc_late(const struct digest_acc *a, struct digest_record *r)
{
    size_t k = 0;

    if (a->n_late == 0)
        return HAF_OK;
    r->late = calloc(a->n_late, sizeof(*r->late));
    if (!r->late)
        return HAF_ENOMEM;
    for (size_t i = 0; i < a->n && k < a->n_late; i++) {
        if (a->leaves[i].ts_ms > a->head.after_ms)
            continue;
        r->late[k].ts_ms = a->leaves[i].ts_ms;
        memcpy(r->late[k].leaf, a->leaves[i].hash, 32);
        k++;
    }
    r->n_late = k;
    return HAF_OK;
}

enum haf_err
digest_acc_seal(struct digest_acc *a, enum digest_kind kind, const char *stream, int64_t time_ms,
                uint32_t interval_s, const char *key_id, const char *alg, struct digest_record *out)
{
    struct digest_record r;
    struct digest_head next;
    enum haf_err e;

    memset(&r, 0, sizeof(r));
    if (kind == DIGEST_KIND_DIGEST && a->n == 0)
        kind = DIGEST_KIND_HEARTBEAT;
    if (kind == DIGEST_KIND_HEARTBEAT && a->n > 0)
        kind = DIGEST_KIND_DIGEST;
    r.kind = kind;
    r.seq = a->head.seq + 1;
    r.time_ms = time_ms;
    r.interval_s = interval_s;
    r.after_ms = a->head.after_ms;
    r.count = a->n;
    r.first_ms = a->n ? a->min_ms : 0;
    r.last_ms = a->n ? a->max_ms : 0;
    r.first = a->first;
    r.last = a->last;
    memcpy(r.prev_sha256, a->head.record_sha256, 32);
    e = HAF_ENOMEM;
    r.stream = strdup(stream ? stream : "");
    r.key_id = strdup(key_id ? key_id : "");
    r.alg = strdup(alg ? alg : "");
    if (!r.stream || !r.key_id || !r.alg)
        goto out;
    /* Sorting in place is harmless on failure: the order of the leaves is not state. */
    e = digest_events_hash(a->leaves, a->n, r.events_sha256);
    if (e == HAF_OK)
        e = acc_late(a, &r);
    if (e == HAF_OK)
        e = digest_chain_next(a->head.chain_sha256, r.events_sha256, r.chain_sha256);
    if (e == HAF_OK)
        e = digest_record_hash(&r, next.record_sha256);
    if (e != HAF_OK)
        goto out;
    next.seq = r.seq;
    memcpy(next.chain_sha256, r.chain_sha256, 32);
    next.after_ms = a->n && a->max_ms > a->head.after_ms ? a->max_ms : a->head.after_ms;
    a->head = next;
    a->n = 0;
    a->n_late = 0;
    memset(&a->first, 0, sizeof(a->first));
    memset(&a->last, 0, sizeof(a->last));
    *out = r;
    return HAF_OK;
out:
    digest_record_clean_up(&r);
    return e;
}

/* ---- the record: parsing (untrusted) ---- */

static const char *const RECORD_KEYS[] = {
    "haf_digest",   "kind",        "stream", "seq",   "time_ms", "interval_s", "after_ms",
    "first_ms",     "last_ms",     "count",  "first", "last",    "late",       "events_sha256",
    "chain_sha256", "prev_sha256", "key_id", "alg",   "sig",
};

/* Formats into `why` (may be NULL) and returns HAF_EPARSE, so every check is one line. */
static enum haf_err __attribute__((format(printf, 2, 3)))
parse_fail(struct buf *why, const char *fmt, ...)
{
    va_list ap;

    if (why) {
        buf_reset(why);
        va_start(ap, fmt);
        /* A message lost to ENOMEM still leaves HAF_EPARSE, the answer that matters. */
        if (buf_vaddf(why, fmt, ap) != HAF_OK)
            buf_reset(why);
        va_end(ap);
    }
    return HAF_EPARSE;
}

static enum haf_err
get_int(json_t *o, const char *key, int64_t min, int64_t *out, struct buf *why)
{
    json_t *v = json_object_get(o, key);

    if (!json_is_integer(v))
        return parse_fail(why, "%s: not an integer", key);
    if (json_integer_value(v) < min)
        return parse_fail(why, "%s: below %lld", key, (long long)min);
    *out = json_integer_value(v);
    return HAF_OK;
}

static enum haf_err
get_str(json_t *o, const char *key, char **out, struct buf *why)
{
    json_t *v = json_object_get(o, key);
    size_t len;

    if (!json_is_string(v))
        return parse_fail(why, "%s: not a string", key);
    len = json_string_length(v);
    if (len == 0 || len > DIGEST_MAX_STRING_BYTES)
        return parse_fail(why, "%s: empty or longer than %d bytes", key, DIGEST_MAX_STRING_BYTES);
    /* jansson refuses \u0000 unless given JSON_ALLOW_NUL, so the value holds no NUL and strdup
     * copies all of it. */
    *out = strdup(json_string_value(v));
    return *out ? HAF_OK : HAF_ENOMEM;
}

static bool
hex32(const char *s, size_t len, uint8_t out[32])
{
    if (len != 64)
        return false;
    for (size_t i = 0; i < 32; i++) {
        int hi = span_hex_digit((unsigned char)s[2 * i]);
        int lo = span_hex_digit((unsigned char)s[2 * i + 1]);

        if (hi < 0 || lo < 0 || (s[2 * i] >= 'A' && s[2 * i] <= 'F') ||
            (s[2 * i + 1] >= 'A' && s[2 * i + 1] <= 'F'))
            return false;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

static enum haf_err
get_hex(json_t *o, const char *key, uint8_t out[32], struct buf *why)
{
    json_t *v = json_object_get(o, key);

    if (!json_is_string(v) || !hex32(json_string_value(v), json_string_length(v), out))
        return parse_fail(why, "%s: not 64 lower-case hex digits", key);
    return HAF_OK;
}

static enum haf_err
get_pos(json_t *o, const char *key, struct digest_pos *out, struct buf *why)
{
    json_t *v = json_object_get(o, key), *rc, *sq;

    memset(out, 0, sizeof(*out));
    if (json_is_null(v))
        return HAF_OK;
    rc = json_object_get(v, "reboot_counter");
    sq = json_object_get(v, "sequence_no");
    if (!json_is_object(v) || json_object_size(v) != 2 || !json_is_integer(rc) ||
        !json_is_integer(sq) || json_integer_value(rc) < 0 || json_integer_value(sq) < 0)
        return parse_fail(why, "%s: not null or {reboot_counter, sequence_no}", key);
    out->present = true;
    out->reboot_counter = (uint64_t)json_integer_value(rc);
    out->sequence_no = (uint64_t)json_integer_value(sq);
    return HAF_OK;
}

static enum haf_err
get_late(json_t *o, struct digest_record *r, struct buf *why)
{
    json_t *v = json_object_get(o, "late");
    size_t n;

    if (!json_is_array(v))
        return parse_fail(why, "late: not an array");
    n = json_array_size(v);
    if (n > DIGEST_MAX_LATE)
        return parse_fail(why, "late: more than %d entries", DIGEST_MAX_LATE);
    if (n == 0)
        return HAF_OK;
    r->late = calloc(n, sizeof(*r->late));
    if (!r->late)
        return HAF_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        json_t *pair = json_array_get(v, i), *ts, *leaf;

        ts = json_array_get(pair, 0);
        leaf = json_array_get(pair, 1);
        if (!json_is_array(pair) || json_array_size(pair) != 2 || !json_is_integer(ts) ||
            json_integer_value(ts) < 0 || !json_is_string(leaf) ||
            !hex32(json_string_value(leaf), json_string_length(leaf), r->late[i].leaf))
            return parse_fail(why, "late[%zu]: not [timestamp, leaf hex]", i);
        r->late[i].ts_ms = json_integer_value(ts);
        r->n_late = i + 1;
    }
    return HAF_OK;
}

static enum haf_err
get_sig(json_t *o, struct digest_record *r, struct buf *why)
{
    json_t *v = json_object_get(o, "sig");
    enum haf_err e;

    if (!json_is_string(v))
        return parse_fail(why, "sig: not a string");
    e = base64_decode(span_make(json_string_value(v), json_string_length(v)), DIGEST_MAX_SIG_BYTES,
                      &r->sig, &r->sig_len);
    if (e == HAF_EPARSE || e == HAF_ETOOLONG)
        return parse_fail(why, "sig: not canonical base64 of 1..%d bytes", DIGEST_MAX_SIG_BYTES);
    return e;
}

static enum haf_err
parse_kind(json_t *o, enum digest_kind *out, struct buf *why)
{
    const char *s = json_string_value(json_object_get(o, "kind"));

    for (unsigned k = 0; s && k <= DIGEST_KIND_STOP; k++)
        if (strcmp(s, KIND_NAMES[k]) == 0) {
            *out = (enum digest_kind)k;
            return HAF_OK;
        }
    return parse_fail(why, "kind: not digest, heartbeat or stop");
}

static enum haf_err
parse_fields(json_t *o, struct digest_record *r, struct buf *why)
{
    int64_t v = 0, seq = 0, count = 0, interval = 0;
    enum haf_err e;

    if ((e = get_int(o, "haf_digest", 0, &v, why)) != HAF_OK)
        return e;
    if (v != DIGEST_SCHEMA_VERSION)
        return parse_fail(why, "haf_digest: schema version %lld is not %d", (long long)v,
                          DIGEST_SCHEMA_VERSION);
    if ((e = parse_kind(o, &r->kind, why)) != HAF_OK ||
        (e = get_str(o, "stream", &r->stream, why)) || (e = get_int(o, "seq", 1, &seq, why)) ||
        (e = get_int(o, "time_ms", 0, &r->time_ms, why)) ||
        (e = get_int(o, "interval_s", 1, &interval, why)) ||
        (e = get_int(o, "after_ms", -1, &r->after_ms, why)) ||
        (e = get_int(o, "first_ms", 0, &r->first_ms, why)) ||
        (e = get_int(o, "last_ms", 0, &r->last_ms, why)) ||
        (e = get_int(o, "count", 0, &count, why)) || (e = get_pos(o, "first", &r->first, why)) ||
        (e = get_pos(o, "last", &r->last, why)) || (e = get_late(o, r, why)) ||
        (e = get_hex(o, "events_sha256", r->events_sha256, why)) ||
        (e = get_hex(o, "chain_sha256", r->chain_sha256, why)) ||
        (e = get_hex(o, "prev_sha256", r->prev_sha256, why)) ||
        (e = get_str(o, "key_id", &r->key_id, why)) || (e = get_str(o, "alg", &r->alg, why)) ||
        (e = get_sig(o, r, why)))
        return e;
    if (interval > UINT32_MAX)
        return parse_fail(why, "interval_s: too large");
    r->seq = (uint64_t)seq;
    r->count = (uint64_t)count;
    r->interval_s = (uint32_t)interval;
    if (!record_valid(r))
        return parse_fail(why, "inconsistent record (count 0 with positions, late entries or "
                               "times; more late entries than events; invalid UTF-8)");
    if (r->count > 0 && r->first_ms > r->last_ms)
        return parse_fail(why, "first_ms after last_ms");
    return HAF_OK;
}

enum haf_err
digest_record_parse(struct span text, struct digest_record *out, struct buf *why)
{
    struct digest_record r;
    json_error_t jerr;
    json_t *o;
    enum haf_err e;

    if (text.len > DIGEST_RECORD_MAX_BYTES) {
        (void)parse_fail(why, "record longer than %d bytes", DIGEST_RECORD_MAX_BYTES);
        return HAF_ETOOLONG;
    }
    memset(&r, 0, sizeof(r));
    o = json_loadb(text.p ? text.p : "", text.len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(o)) {
        e = parse_fail(why, "not a JSON object: %s", o ? "other type" : jerr.text);
        goto out;
    }
    if (json_object_size(o) != sizeof(RECORD_KEYS) / sizeof(RECORD_KEYS[0])) {
        e = parse_fail(why, "has %zu keys, a digest record has %zu", json_object_size(o),
                       sizeof(RECORD_KEYS) / sizeof(RECORD_KEYS[0]));
        goto out;
    }
    for (size_t i = 0; i < sizeof(RECORD_KEYS) / sizeof(RECORD_KEYS[0]); i++)
        if (!json_object_get(o, RECORD_KEYS[i])) {
            e = parse_fail(why, "%s: missing", RECORD_KEYS[i]);
            goto out;
        }
    e = parse_fields(o, &r, why);
    if (e == HAF_OK) {
        *out = r;
        memset(&r, 0, sizeof(r));
    }
out:
    digest_record_clean_up(&r);
    json_decref(o);
    return e;
}
