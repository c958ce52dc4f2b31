/*
 * daemon_internal.h: the daemon's own structs and the prototypes shared by its files, grouped by
 * the file that defines them (after OpenBSD ntpd's ntpd.h). Nothing outside the daemon's files
 * includes this header, except the unit tests of its pure parts.
 *
 * The files and what each owns (docs/ARCHITECTURE.md draws the data flow):
 *   daemon.c    lifecycle (setup, reload, teardown), signals, status, the clock, the loop
 *   reader.c    followed files: tail callbacks, reading, parsing, entries in, checkpoints
 *   stream.c    per-stream batch ring, queueing events, the delivery state and its deadline
 *   deliver.c   sending, answers, retries, the in-flight markers and the state save
 *   readback.c  reading a stream back after an unknown outcome; matching is a pure function
 *   recover.c   at start: checkpointed files rotated out of the glob, found again or reported
 *
 * Time: one monotonic clock for every timer, one wall clock for what CloudWatch sees. Both are
 * read once per loop turn (daemon_clock_read) into struct daemon and passed down from there;
 * nothing below the loop reads a clock (curl's docs/internals/TIME-KEEPING.md).
 */
#ifndef HAF_DAEMON_INTERNAL_H
#define HAF_DAEMON_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "haf/audit.h"
#include "haf/batch.h"
#include "haf/buf.h"
#include "haf/checkpoint.h"
#include "haf/cmd.h"
#include "haf/config.h"
#include "haf/cwl.h"
#include "haf/ledger_search.h"
#include "haf/replay.h"
#include "haf/replay_ledger.h"
#include "haf/seqtrack.h"
#include "haf/span.h"
#include "haf/stats.h"
#include "haf/tail.h"

/* RING_BATCHES: the batches a stream's ring starts with: the one being sent, one waiting, the open
 * one, and room for one entry's marker and message parts. The ring grows when one callback queues
 * more (two entries of ~256 KiB of control characters escape to several MB, in parts of at most
 * the configured batch.max_bytes); it never refuses an event. Memory stays bounded: a stream
 * stops taking entries once it holds more than two batches (stream_accepting), so growth is
 * bounded by what one read can complete (two entries of at most max_entry_bytes, escaped). */
#define READ_CHUNK_BYTES      (64 * 1024)
#define READ_MIN_BYTES        (4 * 1024)        /* the least read for a stream with no room left */
#define READ_BUDGET_BYTES     (4 * 1024 * 1024) /* per file per loop turn, for fairness */
#define ENTRY_IDLE_MS         200  /* a held entry whose last line is complete ships after this */
#define ENTRY_IDLE_MAX_MS     5000 /* ... and one that ends mid-line after this */
#define RING_BATCHES          8
#define RETRY_BASE_MS         250
#define RETRY_CAP_MS          30000
#define RETRY_SHORT_CAP_MS    2000
#define RETRY_SLOW_MS         60000 /* access denied, invalid parameter: logged loudly, retried slowly */
#define READBACK_DELAY_MS     2000 /* CloudWatch makes accepted events readable within a moment */
#define READBACK_MAX_FAILURES 5    /* read-backs failed in a row before at-least-once for a batch */
/* Each asynchronous CloudWatch call has its own timeout, well under the watchdog's: a stalled
 * endpoint costs that stream a retry, never the loop (docs/ARCHITECTURE.md "The loop"). */
#define SETUP_TIMEOUT_MS     10000 /* CreateLogGroup, PutRetentionPolicy, CreateLogStream */
#define READBACK_TIMEOUT_MS  15000 /* one GetLogEvents page */
#define READBACK_MAX_PAGES   1000  /* a server that never repeats its token */
#define READBACK_PAGE_EVENTS 10000 /* GetLogEvents' largest page */
#define STOP_DEADLINE_MS     20000
#define STATUS_INTERVAL_MS   5000
#define SAVE_RETRY_MS        1000
#define ACK_SAVE_DELAY_MS    2000 /* acknowledgements alone are saved at most this late */
/* The CloudWatch time window (docs/cloudwatch-limits.md): events older than 14 days or more than
 * 2 hours ahead are refused; both are kept a margin inside. Wall-clock quantities. */
#define MAX_AGE_MS        ((14LL * 24 - 1) * 3600 * 1000)
#define MAX_FUTURE_MS     ((2LL * 60 - 5) * 60 * 1000)
#define ONCE_MAX_ATTEMPTS 8
#define ONCE_RETRY_CAP_MS 2000 /* --once gives up after ONCE_MAX_ATTEMPTS: within about 12 s */
#define ONCE_SLOW_MS      1000
#define PART_PREFIX_MAX   48
/* The smallest batch.max_bytes used: room for the 26 bytes CloudWatch counts per event, a part
 * prefix and a few characters (the validator accepts from 27; smaller values are raised). */
#define BATCH_MIN_USEFUL_BYTES (26 + PART_PREFIX_MAX + 16)
#define SEQ_MAX_JUMP           (1ULL << 32) /* see seq_plausible (deliver.c) */
#define REBOOT_MAX_JUMP        1000
#define CKPT_PRUNE_AGE_MS      (7LL * 24 * 3600 * 1000)
#define READ_COALESCE_MS       50 /* appends are read at most this often (daemon_loop) */
/* A stream takes more entries while it fills its first batch behind the one being sent, until
 * that one is nearly full (stream_accepting). */
#define ACCEPT_MARGIN_BYTES 4096
/* The least memory a stream's batches may hold, however many streams share the budget; and the
 * message size for which an open batch must still have room to take more entries. */
#define STREAM_SHARE_MIN_BYTES  (64 * 1024)
#define ACCEPT_ROOM_BYTES       512
#define STREAM_EVENT_COST_BYTES 128  /* JSON around a message and its record, reckoned */
#define STREAM_BODY_SLACK_BYTES 4096 /* a batch body's room past its target (buf_set_hint) */
#define STREAM_BUDGET_IDLE_MS   250  /* idle this long, a stream leaves its share to the others */
#define DEADLINE_NEVER          INT64_MAX

/* gcc's warn_unused_result is not silenced by a (void) cast. */
#define IGNORE_RESULT(x)                                                                           \
    do {                                                                                           \
        if (x) {                                                                                   \
        }                                                                                          \
    } while (0)

struct daemon;
struct file_rt;

/* Acknowledgement bookkeeping for events removed from a batch because a read-back showed they had
 * arrived already: applied when the rest of the batch is acknowledged. */
struct late_ack {
    uint32_t source_id;
    uint64_t src_end;
    bool has_seq;
    uint64_t reboot_counter;
    uint64_t sequence_no;
    bool has_leaf; /* the event's digest leaf, for the digest accumulator (digest_emit.c) */
    int64_t ts_ms;
    uint8_t leaf[32];
    uint64_t entry_hash;
};

/*
 * The delivery state of a stream's head batch. Changed only by stream_set_state(), which logs
 * every transition at -vv ("stream G/S: STATE a => b", debug level). Every request a stream makes
 * runs on the loop's curl multi handle; the *ING states are the ones with a request in flight,
 * and a stream in them has no deadline (its answer wakes the loop):
 *
 *   SETUP -> CREATING_GROUP -> CREATING_STREAM --created--> READY --send--> SENDING --ok--> READY
 *     ^         (create_log_group: false skips it)   \               |  |--ambiguous--> VERIFY
 *     |                                                \              |  |--not found--> SETUP
 *     |   a failed create: back to SETUP, retried       +-> VERIFY    +--other error--> READY
 *     |   after the answer's backoff (cwl_rules.c)  (verify_after_setup)  (retry deadline)
 *   VERIFY -> READING_BACK (one GetLogEvents page in flight, page after page) -> READY
 *             a failed page: back to VERIFY, retried after a backoff
 *   WAIT_CREDS: a request could not be signed because the credentials are being fetched; the
 *             stream goes back to `resume` (SETUP, VERIFY or READY) once the fetch is over.
 *
 * A stream starts in SETUP (its group and stream are not known to exist). A stream that had a
 * request in flight at the last stop goes through VERIFY once its setup is done.
 */
enum stream_state {
    STREAM_SETUP,           /* create the group and stream before sending */
    STREAM_CREATING_GROUP,  /* CreateLogGroup (then PutRetentionPolicy) in flight */
    STREAM_CREATING_STREAM, /* CreateLogStream in flight */
    STREAM_VERIFY,          /* the head batch's fate is unknown: read the stream back first */
    STREAM_READING_BACK,    /* a GetLogEvents page of the read-back is in flight */
    STREAM_READY,           /* the head batch goes out when due */
    STREAM_SENDING,         /* a PutLogEvents request is in flight */
    STREAM_WAIT_CREDS,      /* waiting for the credential refresh, then back to `resume` */
};

struct readback_set;

struct stream {
    struct daemon *d;
    char *group;
    char *name;
    enum audit_format format;
    struct batch_limits lim;
    struct batch *ring;
    int64_t *ring_first_ms; /* monotonic: when the oldest event of each batch was read */
    size_t cap;             /* batches in the ring, RING_BATCHES or more */
    size_t head;            /* oldest batch */
    size_t n;               /* batches in use, >= 1; ring[(head + n - 1) % cap] is the open one */
    enum stream_state state;
    enum stream_state resume; /* WAIT_CREDS: the state to go back to */
    bool verify_after_setup;  /* a request was in flight at the last stop */
    /*
     * The request in flight at the last stop, from the state file, until read-backs settle it.
     * Entries read again after a restart can be batched otherwise (other limits, another share
     * of the memory budget, another file of the stream read first) and stamped otherwise
     * (reclocked), so while it is set every batch holding one of its entries (file_rt's
     * resume_sent_end) is read back before it is sent, over its own time range and the one
     * recorded (readback.c).
     */
    struct {
        bool set;
        bool head_checked; /* the head batch was read back since it became the head */
        int64_t from_ms;   /* the recorded events' time range */
        int64_t to_ms;
        uint64_t events; /* how many there may be (an upper bound) */
        uint64_t found;  /* found delivered so far */
    } unsure;
    struct readback_set *rb; /* READING_BACK: the events read so far */
    size_t rb_pages;         /* READING_BACK: pages asked for so far */
    size_t rb_limit;         /* READING_BACK: events per page (0: the service's 10,000) */
    char *rb_token;          /* READING_BACK: the token of the page being read, or NULL */
    /* Monotonic: nothing is tried for the head batch before this (a retry's backoff, the delay
     * before a read-back). The loop's timeout is the minimum of stream_deadline() over streams. */
    int64_t next_ms;
    int attempts;
    struct seqtrack seq;
    struct replay_window replay;  /* acknowledged entries by content (replay.h), persisted */
    struct replay_ledger *ledger; /* what left the window (stream_ledger.c) */
    bool ledger_failing;          /* the ledger cannot be written: state saves are held */
    bool ledger_unreadable;       /* the last ledger lookup failed */
    bool start_acked; /* the acknowledged pair restored from the state when this process started */
    uint64_t start_reboot;
    uint64_t start_seq;
    struct late_ack *late;
    size_t n_late;
    size_t cap_late;
    bool warned_no_readback;
    int readback_failures;    /* in a row; READBACK_MAX_FAILURES falls back to at-least-once */
    struct file_rt *reader;   /* the file read this turn */
    struct file_rt *last_fed; /* the file the stream's last entry came from */
    /* A digest stream (digest_emit.c): records of a few KiB, kept out of the budget's count. */
    bool records_only;
    bool budget_counted;          /* counted in daemon.n_budget_streams (stream_budget_update) */
    int64_t budget_idle_since_ms; /* monotonic; -1 while it holds events or a request */
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
    uint64_t sent_end;  /* its bytes handed to the stream's request in flight (checkpoint.h) */
    /* From the state at start: entries ending at or before it were in the request in flight at
     * the last stop; a batch holding one is read back before it is sent (readback.c). */
    uint64_t resume_sent_end;
    uint64_t pending;     /* its events in unacknowledged batches */
    bool superseded;      /* truncated: a newer generation owns the checkpoint */
    uint64_t open_seq;    /* age order (file_age_key), for reading a stream's files oldest first */
    int64_t last_data_ms; /* monotonic */
    bool last_byte_nl;
    int64_t first_held_ms; /* monotonic: when the bytes of the held partial entry started */
    struct buf carry;      /* bytes read but not yet parsed: the stream's ring filled mid-chunk */
    size_t carry_off;      /* how much of carry the parser has taken */
    uint64_t read_turn;    /* the read_files turn that last read it */
    uint64_t skipped;      /* entries skipped as replays */
    uint64_t older;        /* entries shipped although they may be copies (replay_confirmed) */
    bool at_eof;           /* the last read found no new bytes */
    bool let_go;           /* released by us (--once), not by the tail: still at its path */
};

struct daemon {
    const struct daemon_opts *opts;
    struct haf_config *cfg;
    struct http_client *http;
    struct creds_provider *creds;
    struct cwl_client *cwl;
    struct tail *tail;
    struct ckpt_state state;
    struct buf state_text; /* state_save's scratch, kept between saves */
    bool state_dirty;
    int64_t save_retry_at_ms;
    int64_t dirty_since_ms; /* monotonic: when the state became dirty without a send to save it */
    bool first_run;         /* no state existed: start_position applies to the initial scan */
    bool initial_scan;
    char *region;
    char *endpoint;
    char hostname[256];
    char *instance_id;

    struct stream **streams;
    size_t n_streams;
    /* Streams sharing the batch memory budget: those holding events or a request at the start
     * of this loop turn, plus those that got their first event since (stream_budget_update). */
    size_t n_budget_streams;
    struct file_rt **files;
    size_t n_files;

    struct buf scratch; /* one formatted message */
    struct buf part;    /* one part of a split message */
    char *readbuf;
    struct haf_stats stats; /* last_ack_ms is monotonic */
    int64_t now_ms;         /* CLOCK_MONOTONIC, read once per loop turn: every timer */
    int64_t wall_ms; /* CLOCK_REALTIME, read with it: event times and the 14 d / 2 h window */
    uint64_t rng;

    int sigfd;
    bool stopping;
    bool reload_requested;
    struct haf_config *reload_cfg;
    pid_t reload_requester; /* the --reload client to answer once the new configuration runs */
    int64_t stop_deadline_ms;
    int64_t next_status_ms;
    int64_t watchdog_ms;
    int64_t next_watchdog_ms;
    bool failed; /* --once: something could not be delivered */
    bool shed;   /* the memory of the last burst was given back (daemon_loop); reset by reads */
    bool warned_save;
    bool tearing_down;
    bool group_opts_refused; /* the endpoint refused logGroupClass/deletionProtectionEnabled */
    uint64_t open_counter;
    size_t warned_pending; /* files matched but not followed, as last logged */
    char **warned_links;   /* symlinks not followed that were logged (once each) */
    size_t n_warned_links;
    /* Unreadable paths already warned about, as "errno:path" (once per cause; the rest of a
     * glob with thousands of unreadable files is only counted in STATUS=). */
    char *warned_access[256];
    size_t n_warned_access;
    const char *adopt_origin; /* during tail_adopt: the checkpoint's path (recover.c) */
    bool incomplete;          /* --once: a file was lost; exit non-zero after delivering */
    uint64_t read_turn;
    struct digest_emit *digest; /* NULL unless digest.enabled (digest_emit.c) */
    struct health_emit *health; /* NULL unless health.enabled (health_emit.c) */
};

/* ---- daemon.c */
void daemon_clock_read(struct daemon *d);
int64_t backoff_ms(struct daemon *d, int attempt, int64_t cap);
char *xstrdup(const char *s);
void *xcalloc(size_t n, size_t size);

/* ---- stream.c */
const char *stream_state_str(enum stream_state s);
void stream_set_state(struct stream *st, enum stream_state to);
enum stream_state stream_state_after_answer(enum cwl_class cls);
struct batch *stream_open_batch(struct stream *st);
struct batch *stream_head(struct stream *st);
bool stream_accepting(const struct stream *st);
size_t stream_batch_target_bytes(const struct stream *st);
void stream_budget_update(struct daemon *d);
size_t stream_read_bytes(const struct stream *st);
void stream_trim(struct stream *st, struct batch *emptied);
/* Give back the blocks of every empty batch (the stream went idle). */
void stream_release_idle(struct stream *st);
size_t stream_pending_events(const struct stream *st);
struct stream *stream_get(struct daemon *d, const char *group, const char *name,
                          enum audit_format format);
void stream_free(struct stream *st);
void stream_rotate(struct stream *st);
bool stream_add_event(struct daemon *d, struct stream *st, int64_t ts, struct span msg,
                      const struct batch_event *meta, int64_t held_ms);
size_t stream_event_max(const struct stream *st);
bool stream_verify_pending(const struct stream *st);
bool stream_busy(const struct stream *st);
void stream_wait_creds(struct stream *st);
int64_t stream_deadline(const struct stream *st, int64_t now_ms, bool send_now);
void queue_message(struct daemon *d, struct file_rt *f, int64_t ts, struct span msg,
                   const struct haf_entry *e, bool has_seq);
void queue_marker(struct daemon *d, struct file_rt *f, const struct haf_entry *e, int64_t ts,
                  enum seq_verdict v, const struct seq_gap *gap);
void queue_file_lost(struct daemon *d, struct file_rt *f, const struct ckpt_file *cf);

/* ---- reader.c */
uint64_t reader_on_tail_open(void *ctx, struct tail_file *tf);
void reader_on_tail_truncate(void *ctx, struct tail_file *tf);
void reader_on_tail_close(void *ctx, struct tail_file *tf);
void reader_on_link_refused(void *ctx, const char *path);
struct file_rt *file_new(struct daemon *d, struct tail_file *tf, const struct config_source *src,
                         struct stream *st);
void file_checkpoint(struct daemon *d, struct file_rt *f);
struct file_rt *file_by_id(struct daemon *d, uint32_t id);
void file_free(struct daemon *d, struct file_rt *f);
void file_ack(struct daemon *d, uint32_t id, uint64_t src_end);
bool file_unfinished(const struct file_rt *f);
void read_files(struct daemon *d);
void flush_idle_entries(struct daemon *d, bool at_eof);
int64_t reader_deadline(struct daemon *d);
void reader_once_release(struct daemon *d);

/* ---- deliver.c */
void state_set_inflight(struct daemon *d, struct stream *st, bool inflight);
void state_prune(struct daemon *d);
bool state_save(struct daemon *d);
void stream_head_done(struct daemon *d, struct stream *st);
void stream_schedule_retry(struct daemon *d, struct stream *st, int64_t delay_ms);
int64_t deliver_retry_delay_ms(struct daemon *d, struct stream *st, enum cwl_class cls);
void deliver_retry(struct daemon *d, struct stream *st, enum cwl_class cls);
void send_due(struct daemon *d);

/* ---- stream_ledger.c: the replay window and its ledger */
void stream_ledger_open(struct daemon *d, struct stream *st);
void stream_replay_note(struct daemon *d, struct stream *st, uint64_t reboot, uint64_t seq,
                        uint64_t hash);
bool stream_ledgers_sync(struct daemon *d);
enum replay_verdict stream_replay_lookup(struct stream *st, const struct replay_mark *m,
                                         bool queued_too, bool *unreadable);

/* ---- recover.c */
void recover_checkpoints(struct daemon *d);

/* ---- readback.c */
struct readback_event {
    uint64_t hash; /* batch_message_hash() of the message */
    bool has_pair; /* an audit entry we formatted as JSON: (reboot_counter, sequence_no) known */
    uint64_t reboot;
    uint64_t seq;
    bool has_leaf; /* digests on: the digest leaf of the event as stored (digest_emit_leaf) */
    int64_t ts_ms;
    uint8_t leaf[32];
};
/* Which events of batch b are in the stream already, given the events read back from it (pure:
 * no I/O, no logging). keep[i] is set false for each event of b found: by its message (one read
 * back occurrence counts once, so identical messages count as many times as they arrived), or,
 * for an audit entry whose text differs, by its (reboot_counter, sequence_no). `read` is
 * reordered. Returns how many were found; SIZE_MAX when out of memory (keep untouched). */
size_t readback_match(const struct batch *b, struct readback_event *read, size_t n_read,
                      bool *keep);
/* Reads the message of a read-back event into *out (pure; the message is untrusted). */
void readback_event_of(const char *msg, size_t len, struct readback_event *out);
void stream_verify(struct daemon *d, struct stream *st);
bool stream_unsure_check(struct daemon *d, struct stream *st);
uint64_t stream_outcome_range(struct stream *st, int64_t *lo, int64_t *hi);
void readback_set_free(struct readback_set *rs);

/* ---- digest_emit.c (docs/digests.md): no-ops when digests are off */
bool digest_emit_setup(struct daemon *d);
void digest_emit_free(struct daemon *d);
void digest_emit_leaf(struct daemon *d, int64_t ts, struct span msg, bool *has_leaf,
                      uint8_t leaf[32]);
void digest_emit_leaf_as_stored(struct late_ack *la, const struct batch_event *ev,
                                const struct readback_event *read, size_t n_read);
void digest_emit_acked(struct daemon *d, struct stream *st, const struct batch *b);
void digest_emit_tick(struct daemon *d);
bool digest_emit_stop(struct daemon *d);
int64_t digest_emit_deadline(struct daemon *d);
/* A data stream name from a file (expanded into *name) that has the form of a digest stream
 * name in the digest streams' group is renamed deterministically (digest_name.h), with an error
 * logged naming the file: its entries are still delivered, under the new name. */
void digest_emit_data_name(struct daemon *d, const char *group, const char *path, struct buf *name);

/* ---- health_emit.c (docs/health.md): no-ops when health records are off */
bool health_emit_setup(struct daemon *d);
void health_emit_free(struct daemon *d);
bool health_emit_owns(const struct daemon *d, const struct stream *st);
void health_emit_acked(struct daemon *d, const struct stream *st, const struct batch *b);
void health_emit_tick(struct daemon *d);
int64_t health_emit_deadline(const struct daemon *d);

#endif
