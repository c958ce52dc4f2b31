/*
 * daemon.c: the event loop that turns the modules into a service.
 *
 * One process, one thread. The loop sleeps in curl_multi_poll() (http_poll) together with the
 * inotify fd of the tail and a signalfd; its timeout is the nearest of: a batch's flush deadline,
 * a retry, a partial entry's idle deadline, the tail's rescan, the systemd watchdog and status.
 *
 * Data flow per file: tail_read -> audit_parser_feed -> on_entry (sequence tracking, out-of-range
 * handling, formatting) -> the stream's open batch. Per stream, batches form a short ring: the
 * head is the one being sent (one request in flight per stream keeps the stream's events in
 * order), the tail is the one being filled. While a stream has a full batch waiting, its files
 * are not read: the file on disk is the buffer, so memory stays bounded with any backlog and with
 * a dead endpoint.
 *
 * Delivery (DESIGN.md "Delivery semantics"): a file's checkpoint advances only when every entry
 * before it was acknowledged; every event carries its file and the end offset of its entry for
 * that. Before a request is submitted, the state file records the stream as "in flight" (one
 * atomic save covers the acknowledgements processed so far and the new in-flight markers), so
 * after a crash the daemon knows which streams may hold events it has no record of, and reads
 * them back before sending again. An ambiguous failure (request sent, no answer) is resolved the
 * same way. Entries at or before the last acknowledged (reboot_counter, sequence_no) of a stream
 * are replays and are skipped; jumps in the sequence are marked in the stream.
 *
 * Reload (SIGHUP) validates the new configuration first; only then does it stop reading, wait for
 * the requests in flight, save the state and rebuild everything from the new configuration and
 * the saved state. Entries that were read but not yet sent lie after the checkpoints and are
 * simply read again. Stop (SIGTERM) sends what is batched, waits for the answers within a
 * deadline, saves the state and exits 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "haf/audit.h"
#include "haf/batch.h"
#include "haf/buf.h"
#include "haf/checkpoint.h"
#include "haf/cmd.h"
#include "haf/config.h"
#include "haf/creds.h"
#include "haf/cwl.h"
#include "haf/http.h"
#include "haf/log.h"
#include "haf/sdnotify.h"
#include "haf/seqtrack.h"
#include "haf/stats.h"
#include "haf/tail.h"

/* RING_BATCHES: per stream, the batch being sent, one waiting, the open one, and room for one
 * entry's marker and message parts (on_entry stops the feed when the stream stops accepting). */
#define READ_CHUNK_BYTES   (64 * 1024)
#define READ_BUDGET_BYTES  (4 * 1024 * 1024) /* per file per loop turn, for fairness */
#define ENTRY_IDLE_MS      200  /* a held entry whose last line is complete ships after this */
#define ENTRY_IDLE_MAX_MS  5000 /* ... and one that ends mid-line after this */
#define RING_BATCHES       8
#define RETRY_BASE_MS      250
#define RETRY_CAP_MS       30000
#define RETRY_SLOW_MS      60000 /* access denied, invalid parameter: logged loudly, retried slowly */
#define READBACK_DELAY_MS  2000 /* CloudWatch makes accepted events readable within a moment */
#define STOP_DEADLINE_MS   20000
#define STATUS_INTERVAL_MS 5000
#define SAVE_RETRY_MS      1000
#define MAX_AGE_MS         ((14LL * 24 - 1) * 3600 * 1000) /* CloudWatch rejects older than 14 days */
#define MAX_FUTURE_MS      ((2LL * 60 - 5) * 60 * 1000)    /* ... and more than 2 h ahead */
#define ONCE_MAX_ATTEMPTS  8
#define ONCE_RETRY_CAP_MS  2000 /* --once gives up after ONCE_MAX_ATTEMPTS: within about 12 s */
#define PART_PREFIX_MAX    48
#define CKPT_PRUNE_AGE_MS  (7LL * 24 * 3600 * 1000)

/* gcc's warn_unused_result is not silenced by a (void) cast. */
#define IGNORE_RESULT(x)                                                                           \
    do {                                                                                           \
        if (x) {                                                                                   \
        }                                                                                          \
    } while (0)

struct daemon;

/* Acknowledgement bookkeeping for events removed from a batch because a read-back showed they had
 * arrived already: applied when the rest of the batch is acknowledged. */
struct late_ack {
    uint32_t source_id;
    uint64_t src_end;
    bool has_seq;
    uint64_t reboot_counter;
    uint64_t sequence_no;
};

struct stream {
    struct daemon *d;
    char *group;
    char *name;
    enum audit_format format;
    struct batch ring[RING_BATCHES];
    int64_t ring_first_ms[RING_BATCHES]; /* when the oldest event of each batch was read */
    size_t head;                         /* oldest batch */
    size_t n; /* batches in use, >= 1; ring[(head + n - 1) % RING] is the open one */
    bool in_flight;
    bool ready;  /* group and stream exist */
    bool verify; /* read back before sending the head batch */
    int64_t verify_not_before_ms;
    int attempts;
    int64_t retry_at_ms;
    struct seqtrack seq;
    bool start_acked; /* the acknowledged pair restored from the state when this process started */
    uint64_t start_reboot;
    uint64_t start_seq;
    struct late_ack *late;
    size_t n_late;
    size_t cap_late;
    bool warned_no_readback;
    struct file_rt *reader;   /* the file read this turn */
    struct file_rt *last_fed; /* the file the stream's last entry came from */
};

struct file_rt {
    struct daemon *d;
    struct tail_file *tf; /* NULL once the tail released it */
    struct audit_parser *parser;
    struct stream *st;
    const struct config_source *src;
    uint32_t id;
    char *path;
    uint64_t dev;
    uint64_t ino;
    struct tail_fingerprint fp;
    uint64_t acked;     /* checkpoint: every entry before it is acknowledged */
    uint64_t processed; /* end of the last entry taken from the parser */
    uint64_t pending;   /* its events in unacknowledged batches */
    bool superseded;    /* truncated: a newer generation owns the checkpoint */
    bool fresh;         /* opened without a matching checkpoint: may repeat delivered entries */
    uint64_t open_seq;  /* age order (file_age_key), for reading a stream's files oldest first */
    int64_t last_data_ms;
    bool last_byte_nl;
    int64_t first_held_ms; /* when the bytes of the held partial entry started arriving */
    struct buf carry;      /* bytes read but not yet parsed: the stream's ring filled mid-chunk */
    size_t carry_off;      /* how much of carry the parser has taken */
    uint64_t read_turn;    /* the read_files turn that last read it */
};

struct daemon {
    const struct daemon_opts *opts;
    struct haf_config *cfg;
    struct http_client *http;
    struct creds_provider *creds;
    struct cwl_client *cwl;
    struct tail *tail;
    struct ckpt_state state;
    bool state_dirty;
    int64_t save_retry_at_ms;
    bool first_run; /* no state existed: start_position applies to the initial scan */
    bool initial_scan;
    char *region;
    char *endpoint;
    char hostname[256];
    char *instance_id;

    struct stream **streams;
    size_t n_streams;
    struct file_rt **files;
    size_t n_files;

    struct buf scratch; /* one formatted message */
    struct buf part;    /* one part of a split message */
    char *readbuf;
    struct haf_stats stats;
    int64_t now_ms;
    uint64_t rng;

    int sigfd;
    bool stopping;
    bool reload_requested;
    struct haf_config *reload_cfg;
    int64_t stop_deadline_ms;
    int64_t next_status_ms;
    int64_t watchdog_ms;
    int64_t next_watchdog_ms;
    bool failed; /* --once: something could not be delivered */
    bool warned_save;
    bool tearing_down;
    uint64_t open_counter;
    size_t warned_pending; /* files matched but not followed, as last logged */
    uint64_t read_turn;
};

/* ---------------------------------------------------------------- helpers */

static int64_t
clock_wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t
rng_next(struct daemon *d)
{
    /* xorshift64*: jitter only, not security. */
    d->rng ^= d->rng >> 12;
    d->rng ^= d->rng << 25;
    d->rng ^= d->rng >> 27;
    return d->rng * 2685821657736338717ULL;
}

/* Full jitter (AWS SDK standard mode): rand[0, min(cap, base * 2^attempt)). */
static int64_t
backoff_ms(struct daemon *d, int attempt, int64_t cap)
{
    int64_t ceiling = RETRY_BASE_MS;

    if (d->opts->once && cap > ONCE_RETRY_CAP_MS)
        cap = ONCE_RETRY_CAP_MS;
    for (int i = 0; i < attempt && ceiling < cap; i++)
        ceiling *= 2;
    if (ceiling > cap)
        ceiling = cap;
    return (int64_t)(rng_next(d) % (uint64_t)ceiling) + 1;
}

static char *
xstrdup(const char *s)
{
    char *p = strdup(s ? s : "");

    if (p == NULL) {
        log_err("out of memory");
        abort();
    }
    return p;
}

static void *
xcalloc(size_t n, size_t size)
{
    void *p = calloc(n, size);

    if (p == NULL) {
        log_err("out of memory");
        abort();
    }
    return p;
}

static bool
url_is_plain_http_off_loopback(const char *url)
{
    const char *host;

    if (url == NULL || strncmp(url, "http://", 7) != 0)
        return false;
    host = url + 7;
    return !(strncmp(host, "127.", 4) == 0 || strncmp(host, "localhost", 9) == 0 ||
             strncmp(host, "[::1]", 5) == 0);
}

/* ---------------------------------------------------------------- streams */

static struct batch *
stream_open_batch(struct stream *st)
{
    return &st->ring[(st->head + st->n - 1) % RING_BATCHES];
}

static struct batch *
stream_head(struct stream *st)
{
    return &st->ring[st->head];
}

/* A stream takes more entries while it fills its first batch behind the one being sent, until that
 * one is nearly full: at most two big batches per stream are held (the one in flight and the next),
 * which bounds memory at about 2 x max_bytes per stream (plus escaping) with any backlog. An entry
 * that does not fit the margin still goes into a new batch (the ring has room), so nothing stalls.
 */
#define ACCEPT_MARGIN_BYTES 4096

static bool
stream_accepting(const struct stream *st)
{
    const struct batch *open;

    if (st->n == 1)
        return true;
    if (st->n > 2)
        return false;
    open = &st->ring[(st->head + 1) % RING_BATCHES];
    return open->payload_bytes + ACCEPT_MARGIN_BYTES <= open->limits.max_bytes &&
           open->n_ev + 1 < open->limits.max_events;
}

static size_t
stream_pending_events(const struct stream *st)
{
    size_t n = 0;

    for (size_t i = 0; i < st->n; i++)
        n += batch_count(&st->ring[(st->head + i) % RING_BATCHES]);
    return n;
}

static struct stream *
stream_get(struct daemon *d, const char *group, const char *name, enum audit_format format)
{
    struct batch_limits lim = {.max_events = d->cfg->batch.max_events,
                               .max_bytes = d->cfg->batch.max_bytes};
    struct stream *st;
    struct ckpt_stream *cs;
    struct stream **grown;

    for (size_t i = 0; i < d->n_streams; i++)
        if (strcmp(d->streams[i]->group, group) == 0 && strcmp(d->streams[i]->name, name) == 0)
            return d->streams[i];
    st = xcalloc(1, sizeof(*st));
    st->d = d;
    st->group = xstrdup(group);
    st->name = xstrdup(name);
    st->format = format;
    st->n = 1;
    for (size_t i = 0; i < RING_BATCHES; i++)
        if (batch_init(&st->ring[i], &lim, group, name) != HAF_OK) {
            log_err("out of memory");
            abort();
        }
    seqtrack_init(&st->seq);
    cs = ckpt_find_stream(&d->state, group, name);
    if (cs != NULL) {
        if (cs->has_seq) {
            seqtrack_restore(&st->seq, cs->reboot_counter, cs->sequence_no);
            st->start_acked = true;
            st->start_reboot = cs->reboot_counter;
            st->start_seq = cs->sequence_no;
        }
        if (cs->inflight) {
            /* A request was in flight when the last state was written: its fate is unknown. */
            st->verify = true;
            st->verify_not_before_ms = d->now_ms + READBACK_DELAY_MS;
            log_info("stream %s/%s: a request was in flight at the last stop; the stream will "
                     "be read back before sending",
                     group, name);
        }
    }
    grown = realloc(d->streams, (d->n_streams + 1) * sizeof(*grown));
    if (grown == NULL) {
        log_err("out of memory");
        abort();
    }
    d->streams = grown;
    d->streams[d->n_streams++] = st;
    return st;
}

static void
stream_free(struct stream *st)
{
    if (st == NULL)
        return;
    for (size_t i = 0; i < RING_BATCHES; i++)
        batch_clean_up(&st->ring[i]);
    free(st->late);
    free(st->group);
    free(st->name);
    free(st);
}

/* Close the open batch and start a new one. False when the ring is full. */
static bool
stream_rotate(struct stream *st)
{
    if (batch_count(stream_open_batch(st)) == 0)
        return true;
    if (st->n == RING_BATCHES)
        return false;
    st->n++;
    batch_reset(stream_open_batch(st));
    st->ring_first_ms[(st->head + st->n - 1) % RING_BATCHES] = 0;
    return true;
}

/* ---------------------------------------------------------------- files */

/* The order a stream's files are read in: oldest content first. A file's modification time when
 * we open it stands for the age of its content (a rotated file is older than its successor, a
 * copytruncate copy older than what is written to the truncated file after it; files found in one
 * scan, as at a first start with rotated files, come in directory order), the opening order
 * breaks ties. Reading in sequence order matters beyond tidiness: an entry of a file without a
 * checkpoint at or before the stream's acknowledged pair is taken for a copy of a delivered one
 * (on_entry), which holds only while the stream's entries are delivered in sequence order. */
static uint64_t
file_age_key(struct daemon *d, const struct tail_file *tf)
{
    struct stat sb;
    uint64_t us = (uint64_t)d->now_ms * 1000;

    if (stat(tf->path, &sb) == 0 && sb.st_mtim.tv_sec > 0)
        us = (uint64_t)sb.st_mtim.tv_sec * 1000000 + (uint64_t)sb.st_mtim.tv_nsec / 1000;
    /* Microseconds fit 2^52 until the year 2112: 12 bits are left for the tie-breaker. */
    return (us << 12) | (++d->open_counter & 0xfff);
}

static struct file_rt *
file_new(struct daemon *d, struct tail_file *tf, const struct config_source *src, struct stream *st)
{
    struct audit_parser_opts popts = {0};
    struct file_rt *f = xcalloc(1, sizeof(*f));
    size_t slot = d->n_files;
    struct file_rt **grown;

    f->d = d;
    f->tf = tf;
    f->src = src;
    f->st = st;
    f->path = xstrdup(tf->path);
    f->dev = tf->dev;
    f->ino = tf->ino;
    f->fp = tf->fp;
    buf_init(&f->carry, READ_CHUNK_BYTES);
    f->parser = audit_parser_new(&popts);
    if (f->parser == NULL) {
        log_err("out of memory");
        abort();
    }
    for (size_t i = 0; i < d->n_files; i++)
        if (d->files[i] == NULL) {
            slot = i;
            break;
        }
    if (slot == d->n_files) {
        grown = realloc(d->files, (d->n_files + 1) * sizeof(*grown));
        if (grown == NULL) {
            log_err("out of memory");
            abort();
        }
        d->files = grown;
        d->n_files++;
    }
    f->id = (uint32_t)slot;
    f->open_seq = file_age_key(d, tf);
    d->files[slot] = f;
    return f;
}

static void
file_free(struct daemon *d, struct file_rt *f)
{
    if (f == NULL)
        return;
    if (f->id < d->n_files && d->files[f->id] == f)
        d->files[f->id] = NULL;
    if (f->st != NULL && f->st->last_fed == f)
        f->st->last_fed = NULL;
    audit_parser_free(f->parser);
    buf_clean_up(&f->carry);
    free(f->path);
    free(f);
}

/* The file's checkpoint changed: record it in the state (saved before the next send). */
static void
file_checkpoint(struct daemon *d, struct file_rt *f)
{
    struct ckpt_file cf = {.path = f->path,
                           .dev = f->dev,
                           .ino = f->ino,
                           .fp = f->fp,
                           .offset = f->acked,
                           .updated_ms = d->now_ms};

    if (f->superseded)
        return;
    if (f->tf != NULL && f->tf->fp.len > f->fp.len && f->acked >= f->fp.len)
        f->fp = cf.fp = f->tf->fp;
    if (ckpt_set_file(&d->state, &cf) != HAF_OK) {
        log_err("out of memory");
        abort();
    }
    d->state_dirty = true;
}

/* Released by the tail (or superseded by a truncation) with nothing of it left to parse. */
static bool
file_spent(const struct file_rt *f)
{
    return f->tf == NULL &&
           (f->superseded || (f->carry.len == 0 && !audit_parser_pending(f->parser)));
}

/* Account one acknowledged (or otherwise finished) event of file `id`. */
static void
file_ack(struct daemon *d, uint32_t id, uint64_t src_end)
{
    struct file_rt *f = id < d->n_files ? d->files[id] : NULL;

    if (f == NULL)
        return;
    if (src_end > f->acked)
        f->acked = src_end;
    if (f->pending > 0)
        f->pending--;
    if (f->pending == 0 && f->processed > f->acked)
        f->acked = f->processed; /* skipped entries after the last event */
    file_checkpoint(d, f);
    if (f->pending == 0 && file_spent(f))
        file_free(d, f);
}

/* An entry that needs no delivery (a replay, or dropped as out of range) still moves the
 * checkpoint, but only once nothing before it is pending. */
static void
file_skip(struct daemon *d, struct file_rt *f, uint64_t src_end)
{
    f->processed = src_end;
    if (f->pending == 0) {
        f->acked = src_end;
        file_checkpoint(d, f);
    }
}

/* ---------------------------------------------------------------- stream names */

static void
expand_stream_name(struct daemon *d, const struct config_source *src, const char *path,
                   struct buf *out)
{
    const char *t = src->log_stream;
    const char *base = strrchr(path, '/');

    base = base ? base + 1 : path;
    buf_reset(out);
    while (*t) {
        const char *val = NULL;
        size_t skip = 0;

        if (strncmp(t, "{hostname}", 10) == 0) {
            val = d->hostname;
            skip = 10;
        } else if (strncmp(t, "{instance_id}", 13) == 0) {
            val = d->instance_id ? d->instance_id : "unknown-instance";
            skip = 13;
        } else if (strncmp(t, "{file}", 6) == 0) {
            val = base;
            skip = 6;
        } else if (strncmp(t, "{hsm_id}", 8) == 0) {
            val = src->hsm_id ? src->hsm_id : "unknown-hsm";
            skip = 8;
        }
        if (val != NULL) {
            /* Stream names may not contain ':' or '*'. */
            for (const char *v = val; *v; v++)
                IGNORE_RESULT(buf_addc(out, (*v == ':' || *v == '*') ? '_' : *v));
            t += skip;
        } else {
            IGNORE_RESULT(buf_addc(out, *t));
            t++;
        }
    }
    if (out->len > 512)
        out->len = 512;
}

/* ---------------------------------------------------------------- entries to events */

static void
queue_event(struct daemon *d, struct file_rt *f, int64_t ts, struct span msg, uint64_t src_end,
            bool has_seq, uint64_t reboot, uint64_t seq)
{
    struct stream *st = f->st;
    struct batch *b = stream_open_batch(st);
    struct batch_event meta = {.source_id = f->id,
                               .src_end = src_end,
                               .has_seq = has_seq,
                               .reboot_counter = reboot,
                               .sequence_no = seq};
    size_t idx;

    switch (batch_check(b, ts, msg.len)) {
    case BATCH_FITS:
        break;
    case BATCH_FULL:
    case BATCH_TIME_SPAN:
    case BATCH_TIME_ORDER:
        if (!stream_rotate(st)) {
            /* Cannot happen: files are read only while the ring has room for what one read can
             * produce. Refuse loudly rather than lose the event silently. */
            log_err("internal: batch ring of %s/%s full; aborting to keep the entry", st->group,
                    st->name);
            abort();
        }
        b = stream_open_batch(st);
        break;
    case BATCH_TOO_BIG:
    case BATCH_EMPTY_MESSAGE:
    default:
        log_err("internal: event of %zu bytes refused by the batcher", msg.len);
        abort();
    }
    if (batch_add(b, ts, msg, &meta) != HAF_OK) {
        log_err("out of memory adding an event");
        abort();
    }
    idx = (st->head + st->n - 1) % RING_BATCHES;
    if (st->ring_first_ms[idx] == 0 || batch_count(b) == 1)
        st->ring_first_ms[idx] = f->first_held_ms ? f->first_held_ms : d->now_ms;
    f->pending++;
    d->stats.events_queued++;
}

/* Messages over the event size limit are shipped as numbered parts, never dropped. Only the last
 * part carries the entry's end offset, so a checkpoint never passes a half-delivered entry. */
static void
queue_message(struct daemon *d, struct file_rt *f, int64_t ts, struct span msg,
              const struct haf_entry *e, bool has_seq)
{
    size_t max = BATCH_MAX_MESSAGE_BYTES - PART_PREFIX_MAX;
    size_t nparts = 0, off = 0, i = 0;

    if (msg.len <= BATCH_MAX_MESSAGE_BYTES) {
        queue_event(d, f, ts, msg, e->src_end, has_seq, e->reboot_counter, e->sequence_no);
        return;
    }
    while (off < msg.len) {
        size_t n = batch_split_point(span_make(msg.p + off, msg.len - off), max);
        if (n == 0)
            n = msg.len - off < max ? msg.len - off : max;
        off += n;
        nparts++;
    }
    for (off = 0; off < msg.len; i++) {
        size_t n = batch_split_point(span_make(msg.p + off, msg.len - off), max);
        bool last;

        if (n == 0)
            n = msg.len - off < max ? msg.len - off : max;
        last = off + n >= msg.len;
        buf_reset(&d->part);
        IGNORE_RESULT(buf_addf(&d->part, "[part %zu/%zu] ", i + 1, nparts));
        IGNORE_RESULT(buf_add(&d->part, msg.p + off, n));
        queue_event(d, f, ts, buf_span(&d->part), last ? e->src_end : e->src_start, last && has_seq,
                    e->reboot_counter, e->sequence_no);
        off += n;
    }
    d->stats.split_parts += nparts - 1;
}

static void
queue_marker(struct daemon *d, struct file_rt *f, const struct haf_entry *e, int64_t ts,
             enum seq_verdict v, const struct seq_gap *gap)
{
    char iso[40] = "";
    time_t secs = (time_t)(ts / 1000);
    struct tm tm;

    if (gmtime_r(&secs, &tm) != NULL)
        (void)strftime(iso, sizeof(iso), "%Y-%m-%dT%H:%M:%SZ", &tm);
    buf_reset(&d->part);
    if (v == SEQ_GAP) {
        IGNORE_RESULT(buf_addf(
            &d->part,
            "{\"event\":\"sequence_gap\",\"time\":\"%s\",\"reboot_counter\":%" PRIu64
            ",\"expected_sequence_no\":%" PRIu64 ",\"received_sequence_no\":%" PRIu64
            ",\"missing\":%" PRIu64,
            iso, gap->reboot_counter, gap->expected, gap->received, gap->received - gap->expected));
        log_warnx("%s: sequence gap in reboot counter %" PRIu64 ": expected %" PRIu64
                  ", got %" PRIu64 " (%" PRIu64 " missing)",
                  f->path, gap->reboot_counter, gap->expected, gap->received,
                  gap->received - gap->expected);
        d->stats.sequence_gaps++;
        d->stats.sequence_missing += gap->received - gap->expected;
    } else {
        IGNORE_RESULT(buf_addf(&d->part,
                               "{\"event\":\"reboot_counter_change\",\"time\":\"%s\","
                               "\"previous_reboot_counter\":%" PRIu64 ",\"reboot_counter\":%" PRIu64
                               ",\"sequence_no\":%" PRIu64,
                               iso, gap->prev_reboot, e->reboot_counter, e->sequence_no));
        log_notice("%s: reboot counter changed from %" PRIu64 " to %" PRIu64, f->path,
                   gap->prev_reboot, e->reboot_counter);
        d->stats.reboots++;
    }
    IGNORE_RESULT(buf_adds(&d->part, ",\"host\":\""));
    IGNORE_RESULT(buf_adds(&d->part, d->hostname));
    IGNORE_RESULT(buf_adds(&d->part, "\",\"source\":"));
    /* The path came from the file system: escape it as JSON. */
    IGNORE_RESULT(buf_addc(&d->part, '"'));
    for (const char *p = f->path; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '"' || c == '\\')
            IGNORE_RESULT(buf_addf(&d->part, "\\%c", c));
        else if (c < 0x20 || c >= 0x80)
            IGNORE_RESULT(buf_addf(&d->part, "\\u%04x", c));
        else
            IGNORE_RESULT(buf_addc(&d->part, (char)c));
    }
    IGNORE_RESULT(buf_adds(&d->part, "\"}"));
    /* A marker completes nothing: it carries the offset where its entry starts. */
    queue_event(d, f, ts, buf_span(&d->part), e->src_start, false, 0, 0);
}

static int on_entry(void *ctx, const struct haf_entry *e);

/* A stream's entries must arrive in sequence order. When they start coming from a newer file,
 * the older file read before it is at its end (files are read oldest first, file_age_key):
 * complete its held last entry now rather than after the idle time, or it would follow the newer
 * file's entries: a false sequence gap, and once those are acknowledged, a replay verdict that
 * drops it (on_entry). Only an entry whose last line is complete, with no carried bytes behind. */
static void
stream_feed_from(struct daemon *d, struct stream *st, struct file_rt *f)
{
    struct file_rt *prev = st->last_fed;

    if (prev == f)
        return;
    st->last_fed = f;
    if (prev == NULL || prev->superseded || prev->open_seq > f->open_seq || !prev->last_byte_nl ||
        prev->carry.len > 0 || !audit_parser_pending(prev->parser))
        return;
    if (audit_parser_flush(prev->parser, on_entry, prev) == HAF_ENOMEM)
        log_err("%s: parser failure", prev->path);
    prev->first_held_ms = 0;
    st->last_fed = f;
}

static int
on_entry(void *ctx, const struct haf_entry *e)
{
    struct file_rt *f = ctx;
    struct daemon *d = f->d;
    struct stream *st = f->st;
    /* A flagged entry whose sequence fields parsed is still that entry: tracking it keeps a
     * false sequence_gap marker out of the stream. */
    bool has_seq = (e->present & HAF_F_SEQUENCE_NO) && (e->present & HAF_F_REBOOT_COUNTER);
    int64_t ts = audit_entry_time_ms(e);
    bool reclocked = false;
    struct audit_format_ctx fctx = {
        .host = d->hostname, .source = f->path, .hsm_id = f->src->hsm_id};

    stream_feed_from(d, st, f);
    d->stats.entries_read++;
    d->stats.invalid_utf8 += e->invalid_utf8;
    d->stats.nul_bytes += e->nul_bytes;
    d->stats.cut_lines += e->cut_lines;
    if (e->parse_error != NULL) {
        d->stats.entries_flagged++;
        log_warnx("%s: entry at byte %" PRIu64 " flagged: %s (shipped with its raw text)", f->path,
                  e->src_start, e->parse_error);
    }
    if (has_seq) {
        struct seq_gap gap = {0};
        bool read_before = f->fresh && seqtrack_seen(&st->seq, e->reboot_counter, e->sequence_no);
        enum seq_verdict v = seqtrack_check(&st->seq, e->reboot_counter, e->sequence_no, &gap);
        bool acked_before = st->start_acked && e->reboot_counter == st->start_reboot &&
                            e->sequence_no <= st->start_seq;

        /* Only a file we hold no checkpoint for (a copy made by copytruncate, a file that came
         * back under a new inode) can repeat entries: those read before in this process, or
         * acknowledged before it started. A known file is read from its checkpoint, and a crash's
         * uncertainty is settled by the read-back instead. An entry of such a file that is older
         * than what this process acknowledged but was never read (the copy alone holds what was
         * appended between our last read and the truncation) is shipped, late. */
        if (read_before || (v == SEQ_REPLAY && f->fresh && acked_before)) {
            d->stats.replays_skipped++;
            log_trace("%s: skipping repeated entry %" PRIu64 "/%" PRIu64, f->path,
                      e->reboot_counter, e->sequence_no);
            file_skip(d, f, e->src_end);
            return 0;
        }
        if (v == SEQ_GAP || v == SEQ_REBOOT)
            queue_marker(d, f, e, ts ? ts : d->now_ms, v, &gap);
    }
    if (ts == 0 || ts < d->now_ms - MAX_AGE_MS || ts > d->now_ms + MAX_FUTURE_MS) {
        if (ts != 0 && d->cfg->out_of_range == OUT_OF_RANGE_DROP) {
            d->stats.dropped_out_of_range++;
            log_warnx("%s: entry %" PRIu64 "/%" PRIu64 " dropped: its time is outside what "
                      "CloudWatch accepts (out_of_range: drop)",
                      f->path, e->reboot_counter, e->sequence_no);
            file_skip(d, f, e->src_end);
            return 0;
        }
        if (ts != 0) {
            d->stats.reclocked++;
            reclocked = true;
        }
        ts = d->now_ms;
    }
    fctx.reclocked = reclocked;
    buf_reset(&d->scratch);
    if (audit_format(e, f->src->format, &fctx, &d->scratch) != HAF_OK) {
        log_err("out of memory formatting an entry");
        abort();
    }
    if (log_verbosity() >= 2)
        log_trace("%s: entry %" PRIu64 "/%" PRIu64 " -> %s/%s (%zu bytes)", f->path,
                  e->reboot_counter, e->sequence_no, st->group, st->name, d->scratch.len);
    if (d->opts->dry_run) {
        /* The event as it would be sent, one JSON line. */
        printf("{\"logGroupName\":\"%s\",\"logStreamName\":\"%s\",\"timestamp\":%" PRId64
               ",\"message\":",
               st->group, st->name, ts);
        putchar('"');
        for (size_t i = 0; i < d->scratch.len; i++) {
            unsigned char c = (unsigned char)d->scratch.p[i];
            if (c == '"' || c == '\\')
                printf("\\%c", c);
            else if (c < 0x20)
                printf("\\u%04x", c);
            else
                putchar(c);
        }
        printf("\"}\n");
        fflush(stdout); /* one line per event as it comes, also into a pipe */
    }
    queue_message(d, f, ts, buf_span(&d->scratch), e, has_seq);
    f->processed = e->src_end;
    /* Stop the feed once the stream has no room for another entry's batches: one entry (a marker
     * and up to a few parts) always fits in what an accepting ring has left; the bytes not parsed
     * yet wait in the file's carry. */
    return stream_accepting(st) ? 0 : 1;
}

/* ---------------------------------------------------------------- tail callbacks */

static const struct config_source *
source_of(struct daemon *d, size_t idx)
{
    return idx < d->cfg->n_sources ? &d->cfg->sources[idx] : &d->cfg->sources[0];
}

/* The checkpoint belongs to this file when the file still starts with the bytes fingerprinted
 * then (a checkpoint taken when the file was shorter covers a shorter prefix). */
static bool
checkpoint_matches(struct tail_file *tf, const struct ckpt_file *cf)
{
    struct tail_fingerprint fp;

    if (cf->fp.len == 0)
        return true;
    if (cf->fp.len == tf->fp.len)
        return tail_fingerprint_eq(&cf->fp, &tf->fp);
    if (cf->fp.len > tf->fp.len)
        return false; /* the file is now shorter than what we fingerprinted */
    return tail_file_fingerprint(tf, cf->fp.len, &fp) == HAF_OK &&
           tail_fingerprint_eq(&fp, &cf->fp);
}

static uint64_t
on_tail_open(void *ctx, struct tail_file *tf)
{
    struct daemon *d = ctx;
    const struct config_source *src = source_of(d, tf->source_idx);
    struct ckpt_file *cf = ckpt_find_file(&d->state, tf->dev, tf->ino);
    struct buf name;
    struct stream *st;
    struct file_rt *f;
    uint64_t start = 0;
    struct stat sb;

    buf_init(&name, 1024);
    expand_stream_name(d, src, tf->path, &name);
    st = stream_get(d, src->log_group, buf_cstr(&name), src->format);
    buf_clean_up(&name);
    f = file_new(d, tf, src, st);
    tf->user = f;

    if (cf != NULL && checkpoint_matches(tf, cf) && stat(tf->path, &sb) == 0 &&
        cf->offset <= (uint64_t)sb.st_size) {
        start = cf->offset;
        log_info("%s: resuming at byte %" PRIu64 " (stream %s/%s)", tf->path, start, st->group,
                 st->name);
    } else {
        f->fresh = true;
        if (cf != NULL)
            log_info("%s: inode %" PRIu64 " was reused by a new file; reading it from the start",
                     tf->path, tf->ino);
        if (d->first_run && d->initial_scan && src->start_position == START_END &&
            stat(tf->path, &sb) == 0)
            start = (uint64_t)sb.st_size;
        log_info("%s: new file, reading from byte %" PRIu64 " (stream %s/%s)", tf->path, start,
                 st->group, st->name);
    }
    f->acked = f->processed = start;
    audit_parser_reset(f->parser, start);
    file_checkpoint(d, f);
    return start;
}

static void
on_tail_truncate(void *ctx, struct tail_file *tf)
{
    struct daemon *d = ctx;
    struct file_rt *old = tf->user;
    struct file_rt *f;

    log_notice("%s: truncated or replaced in place (copytruncate); reading again from the start",
               tf->path);
    /* The entry held for the old content was read whole when its last line was: ship it now,
     * before the new content passes it (the copy, if followed, then repeats it as seen). */
    if (!d->stopping && !d->reload_requested && old->carry.len == 0 && old->last_byte_nl &&
        stream_accepting(old->st) && audit_parser_pending(old->parser)) {
        enum haf_err e = audit_parser_flush(old->parser, on_entry, old);
        if (e != HAF_OK && e != HAF_EAGAIN)
            log_err("%s: parser failure", old->path);
    }
    /* Events of the old content still in flight keep their own bookkeeping; the checkpoint of
     * this (dev, inode) now belongs to the new generation. */
    f = file_new(d, tf, old->src, old->st);
    tf->user = f;
    f->fresh = true;
    f->acked = f->processed = 0;
    old->superseded = true;
    old->tf = NULL;
    /* Bytes of the old generation not parsed yet are void, as its partial entry is. */
    buf_reset(&old->carry);
    old->carry_off = 0;
    if (old->pending == 0)
        file_free(d, old);
    file_checkpoint(d, f);
}

static void
on_tail_close(void *ctx, struct tail_file *tf)
{
    struct daemon *d = ctx;
    struct file_rt *f = tf->user;

    if (f == NULL)
        return;
    f->tf = NULL;
    tf->user = NULL;
    if (d->tearing_down)
        return; /* daemon_teardown frees it */
    log_info("%s: released (rotated away or deleted, read to the end)", f->path);
    /* The file is gone or rotated away and drained: complete what it held, now or, when bytes of
     * it still wait for room in its stream, once read_files has parsed them. */
    if (!d->stopping && f->carry.len == 0 && stream_accepting(f->st) &&
        audit_parser_pending(f->parser)) {
        enum haf_err e = audit_parser_flush(f->parser, on_entry, f);
        if (e != HAF_OK && e != HAF_EAGAIN)
            log_err("%s: parser failure", f->path);
    }
    if (f->pending == 0 && file_spent(f))
        file_free(d, f);
}

/* ---------------------------------------------------------------- state */

static void
state_set_inflight(struct daemon *d, struct stream *st, bool inflight)
{
    struct ckpt_stream *cs = ckpt_find_stream(&d->state, st->group, st->name);
    struct ckpt_stream rec = {.group = st->group, .stream = st->name};

    if (cs != NULL && cs->inflight == inflight && cs->has_seq == st->seq.has_acked &&
        cs->reboot_counter == st->seq.acked_reboot && cs->sequence_no == st->seq.acked_seq)
        return;
    rec.has_seq = st->seq.has_acked;
    rec.reboot_counter = st->seq.acked_reboot;
    rec.sequence_no = st->seq.acked_seq;
    rec.inflight = inflight;
    if (ckpt_set_stream(&d->state, &rec) != HAF_OK) {
        log_err("out of memory");
        abort();
    }
    d->state_dirty = true;
}

/* Forget checkpoints of files that are gone and untouched for a week. */
static void
state_prune(struct daemon *d)
{
    for (size_t i = 0; i < d->state.n_files;) {
        struct ckpt_file *cf = &d->state.files[i];
        struct stat sb;
        bool gone = stat(cf->path, &sb) != 0 || (uint64_t)sb.st_ino != cf->ino;

        if (gone && d->now_ms - cf->updated_ms > CKPT_PRUNE_AGE_MS) {
            ckpt_remove_file(&d->state, cf->dev, cf->ino);
            d->state_dirty = true;
            continue;
        }
        i++;
    }
}

/* True when the state on disk is current. */
static bool
state_save(struct daemon *d)
{
    if (!d->state_dirty || d->opts->dry_run)
        return true;
    if (d->save_retry_at_ms > d->now_ms)
        return false;
    if (ckpt_save(d->cfg->state_dir, &d->state) != HAF_OK) {
        d->stats.state_save_failures++;
        d->save_retry_at_ms = d->now_ms + SAVE_RETRY_MS;
        if (!d->warned_save)
            log_warn("cannot write the state file in %s; holding deliveries until it can be "
                     "written (nothing is lost: the audit files keep the entries)",
                     d->cfg->state_dir);
        d->warned_save = true;
        return false;
    }
    if (d->warned_save)
        log_notice("state file in %s written again; deliveries resume", d->cfg->state_dir);
    d->warned_save = false;
    d->state_dirty = false;
    d->stats.state_saves++;
    return true;
}

/* ---------------------------------------------------------------- delivery */

static void
stream_apply_ack_event(struct daemon *d, struct stream *st, uint32_t source_id, uint64_t src_end,
                       bool has_seq, uint64_t reboot, uint64_t seq)
{
    if (has_seq)
        seqtrack_ack(&st->seq, reboot, seq);
    file_ack(d, source_id, src_end);
}

/* The head batch is delivered (or found delivered): account every event, move on. */
static void
stream_head_done(struct daemon *d, struct stream *st)
{
    struct batch *b = stream_head(st);

    for (size_t i = 0; i < b->n_ev; i++) {
        const struct batch_event *ev = &b->ev[i];
        stream_apply_ack_event(d, st, ev->source_id, ev->src_end, ev->has_seq, ev->reboot_counter,
                               ev->sequence_no);
        d->stats.bytes_shipped += ev->msg_bytes;
    }
    for (size_t i = 0; i < st->n_late; i++) {
        const struct late_ack *la = &st->late[i];
        stream_apply_ack_event(d, st, la->source_id, la->src_end, la->has_seq, la->reboot_counter,
                               la->sequence_no);
    }
    d->stats.events_shipped += b->n_ev;
    d->stats.batches_sent++;
    d->stats.last_ack_ms = d->now_ms;
    st->n_late = 0;
    st->attempts = 0;
    st->retry_at_ms = 0;
    batch_reset(b);
    if (st->n > 1) {
        size_t freed = st->head, next = (st->head + st->n) % RING_BATCHES;

        st->head = (st->head + 1) % RING_BATCHES;
        st->n--;
        /* The freed batch keeps its buffers: make it the next one opened, so only the batches in
         * use at the same time ever hold big buffers, not every slot of the ring in turn. */
        if (next != freed) {
            struct batch tmp = st->ring[next];
            st->ring[next] = st->ring[freed];
            st->ring[freed] = tmp;
        }
    }
    state_set_inflight(d, st, false);
}

static void
stream_schedule_retry(struct daemon *d, struct stream *st, int64_t delay_ms)
{
    st->attempts++;
    st->retry_at_ms = d->now_ms + delay_ms;
    d->stats.retries++;
    if (d->opts->once && st->attempts >= ONCE_MAX_ATTEMPTS) {
        log_err("stream %s/%s: giving up after %d attempts (--once); the entries stay in the "
                "files and the next run resumes",
                st->group, st->name, st->attempts);
        d->failed = true;
    }
}

static void
on_put_done(void *arg, const struct cwl_result *res)
{
    struct stream *st = arg;
    struct daemon *d = st->d;
    struct batch *b = stream_head(st);
    size_t n = batch_count(b);

    d->now_ms = clock_wall_ms();
    st->in_flight = false;
    if (res->cls < 16)
        d->stats.errors_by_class[res->cls]++;
    log_debug("PutLogEvents %s/%s: %zu events: HTTP %ld %s%s%s (request id %s)", st->group,
              st->name, n, res->status, cwl_class_str(res->cls), res->error_type[0] ? " " : "",
              res->error_type, res->request_id[0] ? res->request_id : "-");
    switch (res->cls) {
    case CWL_OK:
    case CWL_DATA_ALREADY_ACCEPTED:
        if (res->too_new_start >= 0 && (size_t)res->too_new_start < n) {
            d->stats.rejected_too_new += n - (size_t)res->too_new_start;
            log_warnx("%s/%s: CloudWatch rejected %zu events as too new (clock?)", st->group,
                      st->name, n - (size_t)res->too_new_start);
        }
        if (res->too_old_end > 0) {
            d->stats.rejected_too_old += (uint64_t)res->too_old_end;
            log_warnx("%s/%s: CloudWatch rejected %" PRId64 " events as too old", st->group,
                      st->name, res->too_old_end);
        }
        if (res->expired_end > 0) {
            d->stats.rejected_expired += (uint64_t)res->expired_end;
            log_warnx("%s/%s: CloudWatch rejected %" PRId64 " events as older than the group's "
                      "retention",
                      st->group, st->name, res->expired_end);
        }
        stream_head_done(d, st);
        return;
    case CWL_INVALID_SEQUENCE_TOKEN:
        IGNORE_RESULT(batch_set_sequence_token(b, res->expected_sequence_token));
        stream_schedule_retry(d, st, 0);
        return;
    case CWL_AMBIGUOUS:
        log_warnx("%s/%s: no answer to a request that was sent (%s); reading the stream back "
                  "before resending",
                  st->group, st->name, res->message[0] ? res->message : "timeout or reset");
        st->verify = true;
        st->verify_not_before_ms = d->now_ms + READBACK_DELAY_MS;
        stream_schedule_retry(d, st, READBACK_DELAY_MS);
        return;
    case CWL_REFRESH_CREDS:
        log_notice("%s/%s: credentials expired; refreshing", st->group, st->name);
        creds_invalidate(d->creds);
        stream_schedule_retry(d, st, backoff_ms(d, st->attempts, 2000));
        return;
    case CWL_CLOCK_SKEW:
        if (res->server_time_ms > 0) {
            int64_t offset = res->server_time_ms - d->now_ms;
            log_warnx("clock skew: the endpoint's clock differs from ours by %" PRId64
                      " ms; signing with its time",
                      offset);
            cwl_set_clock_offset_ms(d->cwl, offset);
        }
        stream_schedule_retry(d, st, backoff_ms(d, st->attempts, 2000));
        return;
    case CWL_NOT_FOUND:
        log_notice("%s/%s: log group or stream not found; creating it", st->group, st->name);
        st->ready = false;
        stream_schedule_retry(d, st, backoff_ms(d, st->attempts, 2000));
        return;
    case CWL_ACCESS_DENIED:
    case CWL_INVALID:
        log_err("%s/%s: PutLogEvents refused: %s: %s (HTTP %ld, request id %s); retrying every "
                "minute, nothing is dropped",
                st->group, st->name, res->error_type[0] ? res->error_type : cwl_class_str(res->cls),
                res->message, res->status, res->request_id[0] ? res->request_id : "-");
        if (res->cls == CWL_ACCESS_DENIED)
            creds_invalidate(d->creds);
        stream_schedule_retry(d, st, d->opts->once ? 1000 : RETRY_SLOW_MS);
        if (d->opts->once && st->attempts >= 3)
            d->failed = true;
        return;
    case CWL_RETRY:
    case CWL_ALREADY_EXISTS:
    default:
        log_notice("%s/%s: %s%s%s; retrying", st->group, st->name, cwl_class_str(res->cls),
                   res->error_type[0] ? ": " : "", res->error_type);
        stream_schedule_retry(d, st, backoff_ms(d, st->attempts, RETRY_CAP_MS));
        return;
    }
}

/* Group and stream exist before the first send (and again after ResourceNotFound). */
static bool
stream_setup(struct daemon *d, struct stream *st)
{
    struct cwl_result res;

    if (st->ready || d->opts->dry_run)
        return true;
    if (d->cfg->create_log_group) {
        if (cwl_create_log_group(d->cwl, st->group, d->cfg->kms_key_id, &res) != HAF_OK ||
            (res.cls != CWL_OK && res.cls != CWL_ALREADY_EXISTS))
            goto fail;
        if (res.cls == CWL_OK) {
            log_info("created log group %s", st->group);
            if (d->cfg->retention_days > 0 &&
                (cwl_put_retention_policy(d->cwl, st->group, d->cfg->retention_days, &res) !=
                     HAF_OK ||
                 res.cls != CWL_OK))
                log_warnx("log group %s: setting retention to %d days failed: %s %s", st->group,
                          d->cfg->retention_days, res.error_type, res.message);
        }
    }
    if (cwl_create_log_stream(d->cwl, st->group, st->name, &res) != HAF_OK ||
        (res.cls != CWL_OK && res.cls != CWL_ALREADY_EXISTS))
        goto fail;
    if (res.cls == CWL_OK)
        log_info("created log stream %s/%s", st->group, st->name);
    st->ready = true;
    return true;
fail:
    log_err("%s/%s: cannot create the log group or stream: %s %s (HTTP %ld); will retry", st->group,
            st->name, res.error_type[0] ? res.error_type : cwl_class_str(res.cls), res.message,
            res.status);
    if (res.cls < 16)
        d->stats.errors_by_class[res.cls]++;
    stream_schedule_retry(d, st,
                          res.cls == CWL_ACCESS_DENIED || res.cls == CWL_INVALID
                              ? (d->opts->once ? 1000 : RETRY_SLOW_MS)
                              : backoff_ms(d, st->attempts, RETRY_CAP_MS));
    if (d->opts->once && (res.cls == CWL_ACCESS_DENIED || res.cls == CWL_INVALID) &&
        st->attempts >= 3)
        d->failed = true;
    return false;
}

/* ---- read-back: which events of the head batch are in the stream already? */

struct seq_pair {
    uint64_t reboot;
    uint64_t seq;
};

struct readback {
    uint64_t *hashes;
    size_t n;
    size_t cap;
    struct seq_pair *pairs; /* (reboot_counter, sequence_no) of the audit entries read back */
    size_t n_pairs;
    size_t cap_pairs;
};

/* The (reboot_counter, sequence_no) of an event we formatted as JSON (format: json): an audit
 * entry, not a marker ("event") nor a flagged entry ("parse_error"). The message is untrusted. */
static bool
readback_pair(const char *msg, size_t len, struct seq_pair *out)
{
    json_t *root;
    json_t *r, *q;
    bool ok = false;

    if (len == 0 || msg[0] != '{')
        return false;
    root = json_loadb(msg, len, JSON_REJECT_DUPLICATES, NULL);
    if (root == NULL)
        return false;
    r = json_object_get(root, "reboot_counter");
    q = json_object_get(root, "sequence_no");
    if (json_is_integer(r) && json_is_integer(q) && json_integer_value(r) >= 0 &&
        json_integer_value(q) >= 0 && json_object_get(root, "event") == NULL &&
        json_object_get(root, "parse_error") == NULL) {
        out->reboot = (uint64_t)json_integer_value(r);
        out->seq = (uint64_t)json_integer_value(q);
        ok = true;
    }
    json_decref(root);
    return ok;
}

static int
cmp_pair(const void *a, const void *b)
{
    const struct seq_pair *x = a, *y = b;

    if (x->reboot != y->reboot)
        return x->reboot < y->reboot ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int
on_readback_event(void *ctx, const struct cwl_read_event *ev)
{
    struct readback *rb = ctx;

    if (rb->n == rb->cap) {
        size_t cap = rb->cap ? rb->cap * 2 : 1024;
        uint64_t *h = realloc(rb->hashes, cap * sizeof(*h));
        if (h == NULL)
            return 1;
        rb->hashes = h;
        rb->cap = cap;
    }
    rb->hashes[rb->n++] = batch_message_hash(ev->message, ev->message_len);
    if (rb->n_pairs == rb->cap_pairs) {
        size_t cap = rb->cap_pairs ? rb->cap_pairs * 2 : 1024;
        struct seq_pair *q = realloc(rb->pairs, cap * sizeof(*q));
        if (q == NULL)
            return 1;
        rb->pairs = q;
        rb->cap_pairs = cap;
    }
    if (readback_pair(ev->message, ev->message_len, &rb->pairs[rb->n_pairs]))
        rb->n_pairs++;
    return 0;
}

static int
cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

/* Returns false when the read-back could not be done and should be tried again later. */
static bool
stream_verify(struct daemon *d, struct stream *st)
{
    struct batch *b = stream_head(st);
    struct readback rb = {0};
    struct cwl_result res;
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    bool *keep = NULL;
    size_t delivered = 0;
    enum haf_err e;

    for (size_t i = 0; i < b->n_ev; i++) {
        lo = b->ev[i].timestamp_ms < lo ? b->ev[i].timestamp_ms : lo;
        hi = b->ev[i].timestamp_ms > hi ? b->ev[i].timestamp_ms : hi;
    }
    e = cwl_get_log_events(d->cwl, st->group, st->name, lo, hi + 1, 1000000, on_readback_event, &rb,
                           &res);
    if (e != HAF_OK || (res.cls != CWL_OK && res.cls != CWL_NOT_FOUND)) {
        free(rb.hashes);
        free(rb.pairs);
        if (e == HAF_OK && (res.cls == CWL_ACCESS_DENIED || res.cls == CWL_INVALID)) {
            if (!st->warned_no_readback)
                log_warnx("%s/%s: cannot read the stream back (%s: %s); logs:GetLogEvents is "
                          "needed for exactly-once delivery after a lost answer; falling back to "
                          "at-least-once (the batch is sent again)",
                          st->group, st->name, res.error_type, res.message);
            st->warned_no_readback = true;
            st->verify = false;
            return true;
        }
        log_warnx("%s/%s: read-back failed (%s); will try again", st->group, st->name,
                  cwl_class_str(res.cls));
        stream_schedule_retry(d, st, backoff_ms(d, st->attempts, RETRY_CAP_MS));
        return false;
    }
    st->verify = false;
    /* Nothing read back leaves the arrays NULL, which qsort may not be given. */
    if (rb.n > 0)
        qsort(rb.hashes, rb.n, sizeof(*rb.hashes), cmp_u64);
    if (rb.n_pairs > 0)
        qsort(rb.pairs, rb.n_pairs, sizeof(*rb.pairs), cmp_pair);
    keep = xcalloc(b->n_ev ? b->n_ev : 1, sizeof(*keep));
    for (size_t i = 0; i < b->n_ev; i++) {
        uint64_t *hit =
            rb.n ? bsearch(&b->ev[i].msg_hash, rb.hashes, rb.n, sizeof(uint64_t), cmp_u64) : NULL;
        keep[i] = true;
        if (hit != NULL) {
            /* Consume one occurrence, so identical messages count as many times as they arrived:
             * move to the first equal element and mark it used with a value we never produce. */
            while (hit > rb.hashes && hit[-1] == *hit)
                hit--;
            while (hit < rb.hashes + rb.n && *hit == b->ev[i].msg_hash && hit[0] == UINT64_MAX)
                hit++;
            if (hit < rb.hashes + rb.n && *hit == b->ev[i].msg_hash) {
                keep[i] = false;
                delivered++;
            }
        }
        if (!keep[i]) {
            /* Remove this occurrence from the multiset. */
            size_t at = (size_t)(hit - rb.hashes);
            memmove(rb.hashes + at, rb.hashes + at + 1, (rb.n - at - 1) * sizeof(uint64_t));
            rb.n--;
        } else if (b->ev[i].has_seq && rb.n_pairs > 0) {
            /* The same audit entry with another text: the message names the file's path, which
             * a rotation by rename changes between the send and a restart's read-back. An HSM
             * never repeats a (reboot_counter, sequence_no) in one stream. */
            struct seq_pair key = {b->ev[i].reboot_counter, b->ev[i].sequence_no};
            if (bsearch(&key, rb.pairs, rb.n_pairs, sizeof(key), cmp_pair) != NULL) {
                keep[i] = false;
                delivered++;
            }
        }
    }
    free(rb.hashes);
    free(rb.pairs);
    if (delivered > 0) {
        log_notice("%s/%s: read-back found %zu of %zu events delivered already; sending the "
                   "other %zu",
                   st->group, st->name, delivered, b->n_ev, b->n_ev - delivered);
        d->stats.replays_skipped += delivered;
        for (size_t i = 0; i < b->n_ev; i++) {
            if (keep[i])
                continue;
            if (st->n_late == st->cap_late) {
                size_t cap = st->cap_late ? st->cap_late * 2 : 64;
                struct late_ack *la = realloc(st->late, cap * sizeof(*la));
                if (la == NULL) {
                    log_err("out of memory");
                    abort();
                }
                st->late = la;
                st->cap_late = cap;
            }
            st->late[st->n_late++] = (struct late_ack){.source_id = b->ev[i].source_id,
                                                       .src_end = b->ev[i].src_end,
                                                       .has_seq = b->ev[i].has_seq,
                                                       .reboot_counter = b->ev[i].reboot_counter,
                                                       .sequence_no = b->ev[i].sequence_no};
        }
        if (delivered == b->n_ev) {
            /* All of it arrived: account the removed events through the late list. */
            batch_reset(b);
            stream_head_done(d, st);
        } else if (batch_retain(b, keep) != HAF_OK) {
            log_err("out of memory");
            abort();
        }
    } else {
        log_info("%s/%s: read-back: none of the %zu events had arrived; sending them", st->group,
                 st->name, b->n_ev);
    }
    free(keep);
    return true;
}

/* Is the head batch due to be sent now? */
static bool
stream_due(struct daemon *d, struct stream *st)
{
    struct batch *b = stream_head(st);

    if (st->in_flight || batch_count(b) == 0)
        return false;
    if (st->retry_at_ms > d->now_ms)
        return false;
    if (st->n > 1)
        return true; /* closed batches go at once */
    if (d->stopping || d->opts->once)
        return true;
    return st->ring_first_ms[st->head] + (int64_t)d->cfg->batch.flush_interval_ms <= d->now_ms;
}

static void
stream_send(struct daemon *d, struct stream *st)
{
    struct batch *b;
    struct span body;
    enum haf_err e;

    if (!stream_setup(d, st)) {
        /* Nothing went out: the in-flight marker send_due saved for this send would only cost
         * a read-back at the next start (unless an earlier answer is still unresolved). */
        if (!st->verify)
            state_set_inflight(d, st, false);
        return;
    }
    if (st->verify) {
        if (st->verify_not_before_ms > d->now_ms) {
            st->retry_at_ms = st->verify_not_before_ms;
            return;
        }
        size_t head = st->head, n = st->n;

        if (!stream_verify(d, st))
            return;
        /* Everything had arrived: that cleared the stream's in-flight marker, so the batch
         * behind goes out on a later turn, once send_due has saved the marker again (a crash
         * with it in flight and no marker would resend it without a read-back). */
        if (st->head != head || st->n != n || batch_count(stream_head(st)) == 0)
            return;
    }
    b = stream_head(st);
    if (st->n == 1 && !stream_rotate(st))
        return; /* the open batch is being sent: keep filling a new one */
    if (!b->finished && batch_finish(b, &body) != HAF_OK) {
        log_err("out of memory");
        abort();
    }
    body = buf_span(&b->body);
    d->stats.requests++;
    if (d->opts->dry_run) {
        struct cwl_result ok = {.cls = CWL_OK,
                                .status = 200,
                                .too_new_start = -1,
                                .too_old_end = -1,
                                .expired_end = -1};
        st->in_flight = true;
        on_put_done(st, &ok);
        return;
    }
    log_debug("sending %zu events (%zu bytes) to %s/%s", batch_count(b), body.len, st->group,
              st->name);
    e = cwl_put_log_events_submit(d->cwl, body, on_put_done, st);
    if (e != HAF_OK) {
        log_err("%s/%s: cannot send: %s", st->group, st->name, haf_err_str(e));
        stream_schedule_retry(d, st, backoff_ms(d, st->attempts, RETRY_CAP_MS));
        if (!st->verify)
            state_set_inflight(d, st, false);
        return;
    }
    st->in_flight = true;
}

/* Send every due batch. The state (acknowledgements so far, and the in-flight markers of the
 * streams about to send) is saved first; when it cannot be saved, nothing is sent. */
static void
send_due(struct daemon *d)
{
    bool any = false;

    for (size_t i = 0; i < d->n_streams; i++) {
        struct stream *st = d->streams[i];
        if (stream_due(d, st)) {
            state_set_inflight(d, st, true);
            any = true;
        }
    }
    if (!state_save(d) || !any)
        return;
    for (size_t i = 0; i < d->n_streams; i++)
        if (stream_due(d, d->streams[i]))
            stream_send(d, d->streams[i]);
}

/* ---------------------------------------------------------------- reading */

/* A file with bytes read but not parsed yet (carried), or released with its last entry held. */
static bool
file_unfinished(const struct file_rt *f)
{
    return f->carry.len > 0 || (f->tf == NULL && !f->superseded && audit_parser_pending(f->parser));
}

/* Feed the file's parser, carried bytes first, then new bytes from the file, while its stream
 * accepts entries. A chunk the stream could not take whole is carried to a later turn. True when
 * the file has nothing more to give now (EOF, or released and completed): the stream's next file
 * may be read in this turn. */
static bool
file_read(struct daemon *d, struct file_rt *f)
{
    size_t budget = READ_BUDGET_BYTES;

    while (budget > 0 && stream_accepting(f->st) && !d->stopping && !d->reload_requested) {
        const char *p;
        size_t n, used = 0;
        bool carried = f->carry.len > 0;
        uint64_t processed_before;
        enum haf_err e;

        if (carried) {
            p = f->carry.p + f->carry_off;
            n = f->carry.len - f->carry_off;
        } else if (f->tf == NULL) {
            /* Released by the tail and every byte parsed: complete the last entry. */
            e = audit_parser_flush(f->parser, on_entry, f);
            if (e != HAF_OK && e != HAF_EAGAIN)
                log_err("%s: parser failure", f->path);
            if (f->pending == 0 && file_spent(f))
                file_free(d, f);
            return e == HAF_OK;
        } else {
            struct tail_file *tf = f->tf;
            ssize_t got = tail_read(d->tail, tf, d->readbuf, READ_CHUNK_BYTES);

            if (got < 0) {
                log_warn("%s: read error", tf->path);
                break;
            }
            if (got == 0)
                return true;
            /* Truncated in place (on_truncate ran inside tail_read): the bytes are the new
             * generation's, from offset 0. */
            if (tf->user != f)
                f = tf->user;
            p = d->readbuf;
            n = (size_t)got;
            if (!audit_parser_pending(f->parser))
                f->first_held_ms = d->now_ms;
            f->last_data_ms = d->now_ms;
            f->last_byte_nl = p[n - 1] == '\n';
            budget -= n < budget ? n : budget;
        }
        processed_before = f->processed;
        e = audit_parser_feed(f->parser, p, n, &used, on_entry, f);
        if (e != HAF_OK && e != HAF_EAGAIN) {
            log_err("%s: parser failure", f->path);
            used = n;
        }
        /* The entry held now is a newer one when entries came out: its bytes arrived with this
         * read (or the read that filled the carry). Without this, a file written continuously
         * always holds an entry, and every batch looked as old as the first entry ever held:
         * each was sent at once instead of after the flush interval. */
        if (!audit_parser_pending(f->parser))
            f->first_held_ms = 0;
        else if (f->processed != processed_before)
            f->first_held_ms = f->last_data_ms;
        if (carried) {
            f->carry_off += used;
            if (f->carry_off >= f->carry.len) {
                buf_reset(&f->carry);
                f->carry_off = 0;
            }
        } else if (used < n && buf_add(&f->carry, p + used, n - used) != HAF_OK) {
            log_err("out of memory");
            abort();
        }
    }
    return false;
}

/* Within a stream, files are read oldest first (in the order they were opened): a file rotated
 * away by rename is drained before its successor, so the stream receives entries in the order the
 * HSM wrote them, without false sequence gaps and without tiny batches from interleaved times. A
 * file read to EOF hands over to the stream's next file in the same turn, so a file that keeps
 * growing (the live file after a copytruncate) does not starve an older one (the copy). */
static void
read_files(struct daemon *d)
{
    struct tail_file *tf;
    bool more = true;

    d->read_turn++;
    while (more) {
        more = false;
        for (size_t i = 0; i < d->n_streams; i++)
            d->streams[i]->reader = NULL;
        for (size_t i = 0; i < d->n_files; i++) {
            struct file_rt *f = d->files[i];
            if (f != NULL && f->read_turn != d->read_turn && file_unfinished(f) &&
                (f->st->reader == NULL || f->open_seq < f->st->reader->open_seq))
                f->st->reader = f;
        }
        for (tf = tail_next_readable(d->tail, NULL); tf != NULL;
             tf = tail_next_readable(d->tail, tf)) {
            struct file_rt *f = tf->user;
            if (f != NULL && f->read_turn != d->read_turn &&
                (f->st->reader == NULL || f->open_seq < f->st->reader->open_seq))
                f->st->reader = f;
        }
        /* A file renamed away (or deleted) with nothing left to read while a newer file of its
         * stream has bytes: the writer moved on, so the entry it holds is complete. Ship it
         * before the newer file's entries, which would otherwise pass it (a false gap, and the
         * entry taken for a replay once they are acknowledged). */
        for (size_t i = 0; i < d->n_files; i++) {
            struct file_rt *f = d->files[i];
            if (f != NULL && f->tf != NULL && f->tf->draining && f->carry.len == 0 &&
                audit_parser_pending(f->parser) && f->st->reader != NULL && f->st->reader != f &&
                f->open_seq < f->st->reader->open_seq && stream_accepting(f->st)) {
                enum haf_err e = audit_parser_flush(f->parser, on_entry, f);
                if (e != HAF_OK && e != HAF_EAGAIN)
                    log_err("%s: parser failure", f->path);
                if (!audit_parser_pending(f->parser))
                    f->first_held_ms = 0;
            }
        }
        for (size_t i = 0; i < d->n_streams; i++) {
            struct stream *st = d->streams[i];
            if (st->reader == NULL)
                continue;
            st->reader->read_turn = d->read_turn;
            if (file_read(d, st->reader) && stream_accepting(st))
                more = true;
        }
    }
}

/* A held entry is complete when no more bytes come: ship it after a short idle time (or at EOF
 * in --once), unless it ends mid-line, which gets a longer grace. */
static void
flush_idle_entries(struct daemon *d, bool at_eof)
{
    for (size_t i = 0; i < d->n_files; i++) {
        struct file_rt *f = d->files[i];
        int64_t idle;

        if (f == NULL || f->tf == NULL || f->carry.len > 0 || !audit_parser_pending(f->parser) ||
            !stream_accepting(f->st))
            continue;
        idle = d->now_ms - f->last_data_ms;
        if (at_eof || (f->last_byte_nl && idle >= ENTRY_IDLE_MS) || idle >= ENTRY_IDLE_MAX_MS) {
            enum haf_err e = audit_parser_flush(f->parser, on_entry, f);
            if (e != HAF_OK && e != HAF_EAGAIN)
                log_err("%s: parser failure", f->path);
            if (!audit_parser_pending(f->parser))
                f->first_held_ms = 0;
        }
    }
}

static int64_t
next_deadline(struct daemon *d)
{
    int64_t t = d->now_ms + 60000;
    int tt = tail_timeout_ms(d->tail, d->now_ms);

    if (tt >= 0 && d->now_ms + tt < t)
        t = d->now_ms + tt;
    for (size_t i = 0; i < d->n_streams; i++) {
        struct stream *st = d->streams[i];
        struct batch *b = stream_head(st);
        if (st->in_flight || batch_count(b) == 0)
            continue;
        if (st->retry_at_ms > d->now_ms) {
            t = st->retry_at_ms < t ? st->retry_at_ms : t;
            continue;
        }
        int64_t due =
            st->n > 1 ? d->now_ms : st->ring_first_ms[st->head] + d->cfg->batch.flush_interval_ms;
        t = due < t ? due : t;
    }
    for (size_t i = 0; i < d->n_files; i++) {
        struct file_rt *f = d->files[i];
        if (f != NULL && file_unfinished(f) && stream_accepting(f->st) && !d->stopping &&
            !d->reload_requested)
            t = d->now_ms; /* bytes read before wait for this turn */
        /* As flush_idle_entries: a stream without room takes no held entry, so its idle
         * deadline must not wake us (the acknowledgement that makes room does). */
        if (f == NULL || f->tf == NULL || f->carry.len > 0 || !audit_parser_pending(f->parser) ||
            !stream_accepting(f->st) || d->stopping || d->reload_requested)
            continue;
        int64_t due = f->last_data_ms + (f->last_byte_nl ? ENTRY_IDLE_MS : ENTRY_IDLE_MAX_MS);
        t = due < t ? due : t;
    }
    if (d->state_dirty && d->save_retry_at_ms > d->now_ms && d->save_retry_at_ms < t)
        t = d->save_retry_at_ms;
    if (d->watchdog_ms > 0 && d->next_watchdog_ms < t)
        t = d->next_watchdog_ms;
    if (d->next_status_ms < t)
        t = d->next_status_ms;
    if (d->stopping && d->stop_deadline_ms < t)
        t = d->stop_deadline_ms;
    return t;
}

/* ---------------------------------------------------------------- signals and status */

static void
status_update(struct daemon *d)
{
    size_t pending = 0;
    struct tail_stats ts;

    for (size_t i = 0; i < d->n_streams; i++)
        pending += stream_pending_events(d->streams[i]);
    IGNORE_RESULT(sdnotify_status(
        "shipped %" PRIu64 " events, %zu pending, %zu files, last ack %" PRId64 " s ago",
        d->stats.events_shipped, pending, tail_file_count(d->tail),
        d->stats.last_ack_ms ? (d->now_ms - d->stats.last_ack_ms) / 1000 : -1));
    tail_get_stats(d->tail, &ts);
    if (ts.files_pending != d->warned_pending && ts.files_pending > 0)
        log_warnx("%zu files match the sources but wait unread: %zu files are followed at once "
                  "(the open-file limit); the others are read as followed files are rotated away "
                  "or deleted",
                  ts.files_pending, ts.files_open);
    d->warned_pending = ts.files_pending;
}

/* Files followed at once: as many as the open-file limit allows (the soft limit raised towards
 * the hard one), less a reserve for sockets, the state file, inotify and logging. The tail's own
 * default, a fixed 1024, would leave the rest of a glob matching thousands of files unread, and
 * exceed a soft limit of 1024 with the sockets. */
static size_t
max_open_files(void)
{
    const rlim_t cap = 65536 + 256;
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 0; /* the tail's default */
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < cap &&
        (rl.rlim_max == RLIM_INFINITY || rl.rlim_max > rl.rlim_cur)) {
        struct rlimit want = {
            .rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > cap ? cap : rl.rlim_max,
            .rlim_max = rl.rlim_max};
        if (setrlimit(RLIMIT_NOFILE, &want) == 0)
            rl.rlim_cur = want.rlim_cur;
    }
    if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= cap)
        return (size_t)(cap - 256);
    return rl.rlim_cur > 512 ? (size_t)rl.rlim_cur - 256 : (size_t)rl.rlim_cur / 2;
}

static void
handle_signals(struct daemon *d)
{
    struct signalfd_siginfo si;

    while (read(d->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        switch (si.ssi_signo) {
        case SIGTERM:
        case SIGINT:
            if (!d->stopping) {
                log_notice("stopping: sending what is batched, then saving the state");
                IGNORE_RESULT(sdnotify_stopping());
                d->stopping = true;
                d->stop_deadline_ms = d->now_ms + STOP_DEADLINE_MS;
            }
            break;
        case SIGHUP: {
            struct haf_config *ncfg = NULL;
            struct buf err;

            buf_init(&err, 1 << 16);
            IGNORE_RESULT(sdnotify_reloading());
            if (config_load(d->opts->config_path, &ncfg, &err) != HAF_OK) {
                log_err("reload: configuration %s is invalid; keeping the running one:\n%s",
                        d->opts->config_path, buf_cstr(&err));
                IGNORE_RESULT(sdnotify_ready());
            } else {
                log_notice("reload: configuration %s is valid; switching over",
                           d->opts->config_path);
                config_free(d->reload_cfg);
                d->reload_cfg = ncfg;
                d->reload_requested = true;
            }
            buf_clean_up(&err);
            break;
        }
        case SIGUSR1:
            stats_log(&d->stats);
            break;
        default:
            break;
        }
    }
}

/* ---------------------------------------------------------------- setup and teardown */

static enum haf_err
daemon_setup(struct daemon *d)
{
    struct http_opts hopts = {.ca_file = d->cfg->tls.ca_file,
                              .verify = d->cfg->tls.verify,
                              .proxy = d->cfg->proxy,
                              .connect_timeout_ms = HTTP_DEFAULT_CONNECT_TIMEOUT_MS,
                              .timeout_ms = HTTP_DEFAULT_TIMEOUT_MS,
                              .max_response_bytes = HTTP_DEFAULT_MAX_RESPONSE_BYTES};
    struct creds_opts copts = {0};
    struct cwl_opts wopts = {0};
    struct tail_callbacks cb = {.on_open = on_tail_open,
                                .on_truncate = on_tail_truncate,
                                .on_close = on_tail_close,
                                .ctx = d};
    struct tail_opts topts = {.force_poll = getenv("HAF_FORCE_POLL") != NULL,
                              .max_open = max_open_files()};
    struct buf msg;
    enum haf_err e;
    const char *env;

    buf_init(&msg, 1 << 16);
    buf_init(&d->scratch, 0);
    buf_init(&d->part, 0);
    d->readbuf = malloc(READ_CHUNK_BYTES);
    if (d->readbuf == NULL)
        return HAF_ENOMEM;
    if (gethostname(d->hostname, sizeof(d->hostname) - 1) != 0)
        snprintf(d->hostname, sizeof(d->hostname), "localhost");

    /* State first: without a safe place for checkpoints we do not start. */
    e = ckpt_prepare_dir(d->cfg->state_dir, &msg);
    if (e == HAF_OK)
        e = ckpt_load(d->cfg->state_dir, &d->state, &msg);
    if (e != HAF_OK) {
        log_err("state directory %s: %s%s%s", d->cfg->state_dir, haf_err_str(e),
                msg.len ? ": " : "", buf_cstr(&msg));
        buf_clean_up(&msg);
        return e;
    }
    if (msg.len)
        log_warnx("%s", buf_cstr(&msg));
    buf_clean_up(&msg);
    d->first_run = d->state.n_files == 0 && d->state.n_streams == 0;

    if (!d->cfg->tls.verify)
        log_warnx("TLS certificate verification is OFF (tls.verify: false)");
    d->http = http_client_new(&hopts);
    if (d->http == NULL)
        return HAF_ENOMEM;

    if (d->cfg->region)
        d->region = xstrdup(d->cfg->region);
    else if (creds_resolve_region(d->http, &d->region) != HAF_OK) {
        log_err("no AWS region: set region in %s, or AWS_REGION", d->opts->config_path);
        return HAF_ECONFIG;
    }
    if (d->cfg->endpoint)
        d->endpoint = xstrdup(d->cfg->endpoint);
    else if ((env = getenv("AWS_ENDPOINT_URL_LOGS")) != NULL && *env)
        d->endpoint = xstrdup(env);
    else if ((env = getenv("AWS_ENDPOINT_URL")) != NULL && *env)
        d->endpoint = xstrdup(env);
    else
        d->endpoint = cwl_default_endpoint(d->region);
    if (d->endpoint == NULL)
        return HAF_ENOMEM;
    if (url_is_plain_http_off_loopback(d->endpoint)) {
        log_err("endpoint %s: plain http is allowed only for loopback addresses", d->endpoint);
        return HAF_ECONFIG;
    }

    copts.profile = d->cfg->credentials.profile;
    copts.role_arn = d->cfg->credentials.role_arn;
    copts.external_id = d->cfg->credentials.external_id;
    copts.session_name = d->cfg->credentials.session_name;
    copts.sts_endpoint = d->cfg->credentials.sts_endpoint;
    copts.region = d->region;
    d->creds = creds_provider_new(&copts, d->http);
    if (d->creds == NULL)
        return HAF_ENOMEM;
    wopts.endpoint = d->endpoint;
    wopts.region = d->region;
    d->cwl = cwl_client_new(&wopts, d->http, d->creds);
    if (d->cwl == NULL)
        return HAF_ENOMEM;

    for (size_t i = 0; i < d->cfg->n_sources; i++)
        if (strstr(d->cfg->sources[i].log_stream, "{instance_id}") != NULL &&
            d->instance_id == NULL && creds_imds_instance_id(d->http, &d->instance_id) != HAF_OK)
            log_warnx("{instance_id}: the EC2 instance id is not available from IMDS");

    if (!d->opts->dry_run) {
        const struct aws_creds *c;
        char why[256] = "";

        if (creds_get(d->creds, d->now_ms, &c, why, sizeof(why)) == HAF_OK)
            log_info("credentials from %s (access key %s); region %s; endpoint %s", c->source,
                     c->access_key_id, d->region, d->endpoint);
        else
            log_err("no AWS credentials yet (%s); will keep trying", why);
    }

    d->tail = tail_new(&topts, &cb);
    if (d->tail == NULL)
        return HAF_ENOMEM;
    d->initial_scan = true;
    for (size_t i = 0; i < d->cfg->n_sources; i++) {
        e = tail_add_glob(d->tail, d->cfg->sources[i].path, i);
        if (e != HAF_OK) {
            log_err("source %s: %s", d->cfg->sources[i].path, haf_err_str(e));
            return e;
        }
    }
    e = tail_process(d->tail, d->now_ms);
    d->initial_scan = false;
    if (e != HAF_OK)
        log_warnx("watching files: %s", haf_err_str(e));
    if (tail_fd(d->tail) < 0)
        log_notice("inotify unavailable; polling the sources every %d ms", TAIL_POLL_INTERVAL_MS);
    state_prune(d);
    log_info("watching %zu files for %zu sources", tail_file_count(d->tail), d->cfg->n_sources);
    return HAF_OK;
}

static void
daemon_teardown(struct daemon *d)
{
    d->tearing_down = true;
    tail_free(d->tail); /* calls on_close for each file */
    d->tearing_down = false;
    d->tail = NULL;
    for (size_t i = 0; i < d->n_files; i++)
        if (d->files[i] != NULL)
            file_free(d, d->files[i]);
    free(d->files);
    d->files = NULL;
    d->n_files = 0;
    for (size_t i = 0; i < d->n_streams; i++)
        stream_free(d->streams[i]);
    free(d->streams);
    d->streams = NULL;
    d->n_streams = 0;
    cwl_client_free(d->cwl);
    creds_provider_free(d->creds);
    http_client_free(d->http);
    d->cwl = NULL;
    d->creds = NULL;
    d->http = NULL;
    ckpt_state_clean_up(&d->state);
    buf_clean_up(&d->scratch);
    buf_clean_up(&d->part);
    free(d->readbuf);
    d->readbuf = NULL;
    free(d->region);
    free(d->endpoint);
    free(d->instance_id);
    d->region = d->endpoint = d->instance_id = NULL;
}

static bool
all_idle(struct daemon *d)
{
    for (size_t i = 0; i < d->n_streams; i++) {
        struct stream *st = d->streams[i];
        if (st->in_flight || stream_pending_events(st) > 0)
            return false;
    }
    return true;
}

static bool
any_pending_parser(struct daemon *d)
{
    for (size_t i = 0; i < d->n_files; i++)
        if (d->files[i] != NULL &&
            (file_unfinished(d->files[i]) ||
             (d->files[i]->tf != NULL && audit_parser_pending(d->files[i]->parser))))
            return true;
    return false;
}

static bool
any_in_flight(struct daemon *d)
{
    for (size_t i = 0; i < d->n_streams; i++)
        if (d->streams[i]->in_flight)
            return true;
    return false;
}

#define READ_COALESCE_MS 50 /* appends are read at most this often (see below) */

/* Returns 0 to exit, 1 to reload. */
static int
daemon_loop(struct daemon *d)
{
    struct http_waitfd fds[2];
    int64_t tail_quiet_until_ms = 0;

    d->next_status_ms = d->now_ms;
    d->watchdog_ms = sdnotify_watchdog_interval_ms() / 2;
    d->next_watchdog_ms = d->now_ms;
    IGNORE_RESULT(sdnotify_ready());

    for (;;) {
        size_t nfds = 0;
        int64_t deadline;
        int timeout;
        bool at_eof;

        d->now_ms = clock_wall_ms();
        if (tail_process(d->tail, d->now_ms) != HAF_OK)
            log_warnx("watching files failed; retrying");
        if (!d->stopping && !d->reload_requested) {
            uint64_t entries_before = d->stats.entries_read;

            read_files(d);
            if (d->stats.entries_read != entries_before && !d->opts->once)
                tail_quiet_until_ms = d->now_ms + READ_COALESCE_MS;
            at_eof = d->opts->once && tail_next_readable(d->tail, NULL) == NULL;
            flush_idle_entries(d, at_eof);
        }
        if (!d->reload_requested)
            send_due(d);
        else
            IGNORE_RESULT(state_save(d));

        if (d->watchdog_ms > 0 && d->now_ms >= d->next_watchdog_ms) {
            IGNORE_RESULT(sdnotify_watchdog());
            d->next_watchdog_ms = d->now_ms + d->watchdog_ms;
        }
        if (d->now_ms >= d->next_status_ms) {
            status_update(d);
            d->next_status_ms = d->now_ms + STATUS_INTERVAL_MS;
        }

        /* Ways out. */
        if (d->reload_requested && !any_in_flight(d)) {
            d->state_dirty = true;
            IGNORE_RESULT(state_save(d));
            return 1;
        }
        if (d->stopping && (all_idle(d) || d->now_ms >= d->stop_deadline_ms)) {
            if (!all_idle(d))
                log_warnx("stop deadline reached with events unsent; they stay in the files "
                          "and are sent after the restart");
            d->state_dirty = true;
            IGNORE_RESULT(state_save(d));
            return 0;
        }
        if (d->opts->once && (d->failed || (tail_next_readable(d->tail, NULL) == NULL &&
                                            all_idle(d) && !any_pending_parser(d)))) {
            d->state_dirty = true;
            if (!state_save(d))
                d->failed = true;
            return 0;
        }

        deadline = next_deadline(d);
        timeout = deadline <= d->now_ms            ? 0
                  : deadline - d->now_ms > INT_MAX ? INT_MAX
                                                   : (int)(deadline - d->now_ms);
        fds[nfds++] = (struct http_waitfd){.fd = d->sigfd, .events = POLLIN};
        /* After a turn that took entries, file events are not waited for during
         * READ_COALESCE_MS: a writer appending entry by entry then wakes us ~20 times a second
         * rather than at every write(2) (the bytes are read when the pause ends; entries wait
         * for the flush interval anyway). Signals, HTTP and timers still wake us at once. */
        if (tail_quiet_until_ms > d->now_ms) {
            if (timeout > tail_quiet_until_ms - d->now_ms)
                timeout = (int)(tail_quiet_until_ms - d->now_ms);
        } else if (tail_fd(d->tail) >= 0) {
            fds[nfds++] = (struct http_waitfd){.fd = tail_fd(d->tail), .events = POLLIN};
        }
        if (http_poll(d->http, fds, nfds, timeout) != HAF_OK)
            log_warnx("poll failed");
        d->now_ms = clock_wall_ms();
        if (fds[0].revents & POLLIN)
            handle_signals(d);
        if (http_run(d->http) != HAF_OK)
            log_warnx("HTTP transfer processing failed");
    }
}

/* ---------------------------------------------------------------- entry point */

static int
check_config(const struct daemon_opts *opts)
{
    struct haf_config *cfg = NULL;
    struct buf err, out;
    enum haf_err e;

    buf_init(&err, 1 << 16);
    buf_init(&out, 1 << 20);
    e = config_load(opts->config_path, &cfg, &err);
    if (e != HAF_OK) {
        fprintf(stderr, "%s", buf_cstr(&err));
        if (err.len == 0 || err.p[err.len - 1] != '\n')
            fputc('\n', stderr);
        fprintf(stderr, "%s: configuration is invalid (%s)\n", opts->config_path, haf_err_str(e));
        buf_clean_up(&err);
        buf_clean_up(&out);
        return EXIT_RUNTIME;
    }
    if (config_dump(cfg, &out) == HAF_OK)
        fwrite(out.p, 1, out.len, stdout);
    printf("# %s: configuration OK\n", opts->config_path);
    config_free(cfg);
    buf_clean_up(&err);
    buf_clean_up(&out);
    return 0;
}

int
daemon_main(const struct daemon_opts *opts)
{
    struct daemon d = {0};
    struct buf err;
    sigset_t mask;
    enum haf_err e;
    int rc = 0;

    if (opts->check_config)
        return check_config(opts);
    log_init(opts->foreground || opts->once || opts->dry_run ? true : false, opts->verbosity);
    if (!opts->foreground && getenv("JOURNAL_STREAM") == NULL && getenv("INVOCATION_ID") == NULL &&
        isatty(STDERR_FILENO))
        log_init(true, opts->verbosity);

    buf_init(&err, 1 << 16);
    e = config_load(opts->config_path, &d.cfg, &err);
    if (e != HAF_OK) {
        log_err("configuration %s: %s\n%s", opts->config_path, haf_err_str(e), buf_cstr(&err));
        buf_clean_up(&err);
        return EXIT_USAGE;
    }
    buf_clean_up(&err);

    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGHUP);
    sigaddset(&mask, SIGUSR1);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_IGN);
    d.sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (d.sigfd < 0) {
        log_warn("signalfd");
        config_free(d.cfg);
        return EXIT_RUNTIME;
    }
    d.opts = opts;
    d.rng = (uint64_t)clock_wall_ms() ^ ((uint64_t)getpid() << 32) ^ 0x9e3779b97f4a7c15ULL;
    IGNORE_RESULT(sdnotify_init());
    log_notice("hsm-audit-forwarder %s starting (config %s)", HAF_VERSION, opts->config_path);

    for (;;) {
        int again;

        d.now_ms = clock_wall_ms();
        e = daemon_setup(&d);
        if (e != HAF_OK) {
            rc = e == HAF_ECONFIG || e == HAF_EPERM ? EXIT_USAGE : EXIT_RUNTIME;
            break;
        }
        again = daemon_loop(&d);
        daemon_teardown(&d);
        if (!again)
            break;
        config_free(d.cfg);
        d.cfg = d.reload_cfg;
        d.reload_cfg = NULL;
        d.reload_requested = false;
        log_notice("reloaded configuration %s", opts->config_path);
    }
    if (rc == 0 && opts->once && d.failed)
        rc = EXIT_RUNTIME;
    stats_log(&d.stats);
    if (rc != 0 && d.tail != NULL)
        daemon_teardown(&d);
    config_free(d.cfg);
    config_free(d.reload_cfg);
    close(d.sigfd);
    log_notice("stopped");
    return rc;
}
