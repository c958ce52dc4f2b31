/*
 * reader.c: the followed files: what the tail reports (opened, truncated, released), reading and
 * parsing their bytes, turning each entry into events of its stream, and each file's checkpoint.
 *
 * Data flow per file: tail_read -> audit_parser_feed -> on_entry (sequence tracking, out-of-range
 * handling, formatting) -> queue_message (stream.c) into the stream's open batch. A file's
 * checkpoint advances only when every entry before it was acknowledged (file_ack); every event
 * carries its file and the end offset of its entry for that. Entries at or before the last
 * acknowledged (reboot_counter, sequence_no) of a stream, in a file without a checkpoint, are
 * replays and are skipped when their text is the one acknowledged under that pair (replay.h,
 * replay_confirmed); jumps in the sequence are marked in the stream (queue_marker).
 *
 * Within a stream, files are read oldest first, so the stream receives entries in the order the
 * HSM wrote them. Reading stops while the stream has no room (stream_accepting): bytes read but
 * not parsed wait in the file's carry.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "daemon_internal.h"
#include "haf/json_write.h"
#include "haf/log.h"
#include "haf/streamname.h"

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
    uint64_t us = (uint64_t)d->wall_ms * 1000;

    if (stat(tf->path, &sb) == 0 && sb.st_mtim.tv_sec > 0)
        us = (uint64_t)sb.st_mtim.tv_sec * 1000000 + (uint64_t)sb.st_mtim.tv_nsec / 1000;
    /* Microseconds fit 2^52 until the year 2112: 12 bits are left for the tie-breaker. */
    return (us << 12) | (++d->open_counter & 0xfff);
}

struct file_rt *
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
    if (f->parser == NULL)
        fatal("out of memory");
    for (size_t i = 0; i < d->n_files; i++)
        if (d->files[i] == NULL) {
            slot = i;
            break;
        }
    if (slot == d->n_files) {
        grown = realloc(d->files, (d->n_files + 1) * sizeof(*grown));
        if (grown == NULL)
            fatal("out of memory");
        d->files = grown;
        d->n_files++;
    }
    f->id = (uint32_t)slot;
    f->open_seq = file_age_key(d, tf);
    d->files[slot] = f;
    return f;
}

void
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

/* Released by the tail (or superseded by a truncation) with nothing of it left to parse. */
static bool
file_spent(const struct file_rt *f)
{
    return f->tf == NULL &&
           (f->superseded || (f->carry.len == 0 && !audit_parser_pending(f->parser)));
}

/* The file's checkpoint changed: record it in the state (saved before the next send). A file
 * released by the tail whose every event is acknowledged is marked done: nothing of it is owed,
 * so a restart does not look for it (recover.c). */
void
file_checkpoint(struct daemon *d, struct file_rt *f)
{
    struct ckpt_file cf = {.path = f->path,
                           .dev = f->dev,
                           .ino = f->ino,
                           .fp = f->fp,
                           .offset = f->acked,
                           .updated_ms = d->wall_ms,
                           .done =
                               f->pending == 0 && file_spent(f) && !d->tearing_down && !f->let_go,
                           .sent_end = f->sent_end > f->acked ? f->sent_end : 0};

    if (f->superseded)
        return;
    if (f->tf != NULL && f->tf->fp.len > f->fp.len && f->acked >= f->fp.len)
        f->fp = cf.fp = f->tf->fp;
    if (ckpt_set_file(&d->state, &cf) != HAF_OK)
        fatal("out of memory");
    d->state_dirty = true;
}

/* The file an event names (batch_event.source_id), or NULL once it was released. */
struct file_rt *
file_by_id(struct daemon *d, uint32_t id)
{
    return id < d->n_files ? d->files[id] : NULL;
}

/* Account one acknowledged (or otherwise finished) event of file `id`. */
void
file_ack(struct daemon *d, uint32_t id, uint64_t src_end)
{
    struct file_rt *f = file_by_id(d, id);

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

/* --dry-run: the event as it would be sent, one JSON line per event as it comes (also into a
 * pipe). Names and message go through the one JSON writer: a stream name may hold '"' or '\\'. */
static void
print_dry_run_event(const struct stream *st, int64_t ts, struct span msg)
{
    struct buf line;
    enum haf_err e;

    buf_init(&line, 0);
    e = buf_adds(&line, "{\"logGroupName\":");
    if (e == HAF_OK)
        e = json_write_string(&line, span_cstr(st->group));
    if (e == HAF_OK)
        e = buf_adds(&line, ",\"logStreamName\":");
    if (e == HAF_OK)
        e = json_write_string(&line, span_cstr(st->name));
    if (e == HAF_OK)
        e = buf_addf(&line, ",\"timestamp\":%" PRId64 ",\"message\":", ts);
    if (e == HAF_OK)
        e = json_write_string(&line, msg);
    if (e == HAF_OK)
        e = buf_adds(&line, "}\n");
    if (e == HAF_OK) {
        (void)fwrite(line.p, 1, line.len, stdout);
        fflush(stdout);
    } else {
        log_err("dry-run: cannot print an event of %s/%s: %s", st->group, st->name, haf_err_str(e));
    }
    buf_clean_up(&line);
}

/* At most this many refused links are remembered (and warned about) by name. */
#define WARNED_LINKS_MAX 256

/* A symlink in a source's directory was not followed (tail.h says when): warn once per name. */
void
reader_on_link_refused(void *ctx, const char *path)
{
    struct daemon *d = ctx;
    char **nw;

    for (size_t i = 0; i < d->n_warned_links; i++)
        if (strcmp(d->warned_links[i], path) == 0)
            return;
    if (d->n_warned_links >= WARNED_LINKS_MAX)
        return;
    log_warnx("%s: symlink not followed: its target is outside the source's directory, or has "
              "neither the owner nor the group of that directory (follow_symlinks: true "
              "follows it)",
              path);
    nw = realloc(d->warned_links, (d->n_warned_links + 1) * sizeof(*nw));
    if (nw == NULL)
        return;
    d->warned_links = nw; /* the old pointer is dead */
    nw[d->n_warned_links] = strdup(path);
    if (nw[d->n_warned_links] != NULL)
        d->n_warned_links++;
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

/* An entry whose pair says "delivered before" is skipped only when its text is what was
 * acknowledged, or is on its way, under that pair: the pair alone would drop an entry never
 * delivered (a forged or corrupted line, a reused pair). The stream's window and its ledger hold
 * every acknowledged entry's mark, however old, and an entry read before in this process is
 * compared with the entries queued and in flight too (stream_replay_lookup), so the answer is
 * exact: the same pair and text is a replay (skipped); the pair with another text is shipped and
 * warned about, each one (they may be forged); a pair never acknowledged is shipped (an entry the
 * copy alone holds, delivered late). When the ledger cannot be read the entry is shipped
 * (at-least-once: never a loss), counted (replay_older) and warned about once per file. */
static bool
replay_confirmed(struct daemon *d, struct file_rt *f, const struct haf_entry *e, bool read_before)
{
    struct stream *st = f->st;
    struct replay_mark m = {
        .reboot = e->reboot_counter, .seq = e->sequence_no, .hash = replay_hash(e->raw)};
    bool unreadable;

    switch (stream_replay_lookup(st, &m, read_before, &unreadable)) {
    case REPLAY_SAME:
        return true;
    case REPLAY_DIFFERENT:
        d->stats.seq_reused++;
        log_warnx("%s: entry %" PRIu64 "/%" PRIu64 " shipped: same sequence number as an entry "
                  "delivered before, different content",
                  f->path, e->reboot_counter, e->sequence_no);
        return false;
    case REPLAY_UNKNOWN:
    default:
        if (!unreadable) {
            log_trace("%s: entry %" PRIu64 "/%" PRIu64 " shipped: never delivered before", f->path,
                      e->reboot_counter, e->sequence_no);
            return false;
        }
        d->stats.replay_older++;
        if (f->older++ == 0)
            log_warnx("%s: entry %" PRIu64 "/%" PRIu64 " shipped: the replay ledger cannot be "
                      "read, so it cannot be told from a copy (it may be a duplicate); later ones "
                      "in this file are counted (replay_older) and logged at -vv",
                      f->path, e->reboot_counter, e->sequence_no);
        else
            log_trace("%s: entry %" PRIu64 "/%" PRIu64 " shipped, may be a copy", f->path,
                      e->reboot_counter, e->sequence_no);
        return false;
    }
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
        bool read_before = seqtrack_seen(&st->seq, e->reboot_counter, e->sequence_no);
        enum seq_verdict v = seqtrack_check(&st->seq, e->reboot_counter, e->sequence_no, &gap);
        bool acked_before =
            st->start_acked &&
            (e->reboot_counter < st->start_reboot ||
             (e->reboot_counter == st->start_reboot && e->sequence_no <= st->start_seq));

        /* Entries that can repeat delivered ones: those read before in this process (from another
         * file: a copy made by copytruncate or cp, a file back under a new inode) and those at or
         * before the pair acknowledged when this process started; in any file, since a copy's
         * checkpoint can be saved before its replays were passed (a crash). They are checked by
         * content against every acknowledged, queued or in-flight entry (replay_confirmed): one
         * never delivered (the copy alone holds what was appended between our last read and the
         * truncation) is shipped, late. Other entries of a known file are settled by its
         * checkpoint and, after a crash, the read-back. */
        if ((read_before || (v == SEQ_REPLAY && acked_before)) &&
            replay_confirmed(d, f, e, read_before)) {
            d->stats.replays_skipped++;
            if (f->skipped++ == 0)
                log_warnx("%s: skipping entry %" PRIu64 "/%" PRIu64 ": %s; later skips in this "
                          "file are counted (replays_skipped) and logged at -vv",
                          f->path, e->reboot_counter, e->sequence_no,
                          read_before ? "read before from another file of the stream"
                                      : "at or before the stream's acknowledged entry");
            else
                log_trace("%s: skipping repeated entry %" PRIu64 "/%" PRIu64, f->path,
                          e->reboot_counter, e->sequence_no);
            file_skip(d, f, e->src_end);
            return 0;
        }
        if (v == SEQ_GAP || v == SEQ_REBOOT)
            queue_marker(d, f, e, ts ? ts : d->wall_ms, v, &gap);
    }
    if (ts == 0 || ts < d->wall_ms - MAX_AGE_MS || ts > d->wall_ms + MAX_FUTURE_MS) {
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
        ts = d->wall_ms;
    }
    fctx.reclocked = reclocked;
    buf_reset(&d->scratch);
    if (audit_format(e, f->src->format, &fctx, &d->scratch) != HAF_OK)
        fatal("out of memory formatting an entry");
    if (log_verbosity() >= 2)
        log_trace("%s: entry %" PRIu64 "/%" PRIu64 " -> %s/%s (%zu bytes)", f->path,
                  e->reboot_counter, e->sequence_no, st->group, st->name, d->scratch.len);
    if (d->opts->dry_run)
        print_dry_run_event(st, ts, buf_span(&d->scratch));
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
 * then (a checkpoint taken when the file was shorter covers a shorter prefix). An empty
 * fingerprint proves nothing: it is taken for this file only at offset 0 (reading it whole loses
 * nothing); at a later offset (as an older binary wrote it) the file is read from its start, and
 * entries delivered already are recognised as replays. */
static bool
checkpoint_matches(struct tail_file *tf, const struct ckpt_file *cf)
{
    struct tail_fingerprint fp;

    if (cf->fp.len == 0)
        return cf->offset == 0;
    if (cf->fp.len == tf->fp.len)
        return tail_fingerprint_eq(&cf->fp, &tf->fp);
    if (cf->fp.len > tf->fp.len)
        return false; /* the file is now shorter than what we fingerprinted */
    return tail_file_fingerprint(tf, cf->fp.len, &fp) == HAF_OK &&
           tail_fingerprint_eq(&fp, &cf->fp);
}

uint64_t
reader_on_tail_open(void *ctx, struct tail_file *tf)
{
    struct daemon *d = ctx;
    const struct config_source *src = source_of(d, tf->source_idx);
    struct ckpt_file *cf = ckpt_find_file(&d->state, tf->dev, tf->ino);
    struct stat sb;
    bool resumes = cf != NULL && checkpoint_matches(tf, cf) && stat(tf->path, &sb) == 0 &&
                   cf->offset <= (uint64_t)sb.st_size;
    /* A file keeps the name it was first read under, for its stream and checkpoint, as it does
     * when renamed while we run: found again after a rotation out of the glob while we were not
     * running (recover.c) or renamed within the glob (its checkpoint's path), its rest drains
     * into the same stream. */
    const char *name_path = d->adopt_origin               ? d->adopt_origin
                            : resumes && cf->path != NULL ? cf->path
                                                          : tf->path;
    struct streamname_values names = {.hostname = d->hostname,
                                      .instance_id = d->instance_id,
                                      .path = name_path,
                                      .hsm_id = src->hsm_id};
    struct buf name;
    struct stream *st;
    struct file_rt *f;
    uint64_t start = 0;

    buf_init(&name, 1024);
    if (streamname_expand(src->log_stream, &names, &name) != HAF_OK)
        fatal("out of memory");
    digest_emit_data_name(d, src->log_group, name_path, &name);
    st = stream_get(d, src->log_group, buf_cstr(&name), src->format);
    buf_clean_up(&name);
    f = file_new(d, tf, src, st);
    tf->user = f;
    if (name_path != tf->path) {
        free(f->path);
        f->path = xstrdup(name_path);
    }

    if (resumes) {
        start = cf->offset;
        if (cf->sent_end > cf->offset)
            f->sent_end = f->resume_sent_end = cf->sent_end;
        log_info("%s: resuming at byte %" PRIu64 " (stream %s/%s)", tf->path, start, st->group,
                 st->name);
    } else {
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

void
reader_on_tail_truncate(void *ctx, struct tail_file *tf)
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

void
reader_on_tail_close(void *ctx, struct tail_file *tf)
{
    struct daemon *d = ctx;
    struct file_rt *f = tf->user;

    if (f == NULL)
        return;
    /* The tail's fingerprint goes with it: keep it as file_checkpoint would (a file opened empty
     * and acknowledged only after its release would else be checkpointed at an offset with an
     * empty fingerprint, which any file that reuses its inode matches). */
    if (tf->fp.len > f->fp.len && f->acked >= f->fp.len)
        f->fp = tf->fp;
    f->tf = NULL;
    tf->user = NULL;
    if (d->tearing_down)
        return; /* daemon_teardown frees it */
    if (f->let_go)
        log_info("%s: read to the end and delivered; closed to make room (--once)", f->path);
    else
        log_info("%s: released (rotated away or deleted, read to the end)", f->path);
    /* The file is gone or rotated away and drained: complete what it held, now or, when bytes of
     * it still wait for room in its stream, once read_files has parsed them. */
    if (!d->stopping && f->carry.len == 0 && stream_accepting(f->st) &&
        audit_parser_pending(f->parser)) {
        enum haf_err e = audit_parser_flush(f->parser, on_entry, f);
        if (e != HAF_OK && e != HAF_EAGAIN)
            log_err("%s: parser failure", f->path);
    }
    if (f->pending == 0 && file_spent(f)) {
        file_checkpoint(d, f);
        file_free(d, f);
    }
}

/* ---------------------------------------------------------------- reading */

/* A file with bytes read but not parsed yet (carried), or released with its last entry held. */
bool
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
            if (f->pending == 0 && file_spent(f)) {
                file_checkpoint(d, f);
                file_free(d, f);
            }
            return e == HAF_OK;
        } else {
            struct tail_file *tf = f->tf;
            ssize_t got = tail_read(d->tail, tf, d->readbuf, stream_read_bytes(f->st));

            if (got < 0) {
                log_warn("%s: read error", tf->path);
                break;
            }
            f->at_eof = got == 0;
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
                buf_clean_up(&f->carry); /* held only while the stream is full: give it back */
                f->carry_off = 0;
            }
        } else if (used < n && buf_add(&f->carry, p + used, n - used) != HAF_OK) {
            fatal("out of memory");
        }
    }
    return false;
}

/* Within a stream, files are read oldest first (in the order they were opened): a file rotated
 * away by rename is drained before its successor, so the stream receives entries in the order the
 * HSM wrote them, without false sequence gaps and without tiny batches from interleaved times. A
 * file read to EOF hands over to the stream's next file in the same turn, so a file that keeps
 * growing (the live file after a copytruncate) does not starve an older one (the copy). */
void
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
void
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

/* The nearest deadline of the followed files (monotonic): now when bytes read before wait for
 * this turn, else the idle deadline of each held entry (as flush_idle_entries: a stream without
 * room takes no held entry, so its idle deadline must not wake us; the acknowledgement that makes
 * room does). DEADLINE_NEVER when none. */
int64_t
reader_deadline(struct daemon *d)
{
    int64_t t = DEADLINE_NEVER;
    bool reading = !d->stopping && !d->reload_requested;

    for (size_t i = 0; i < d->n_files; i++) {
        struct file_rt *f = d->files[i];
        int64_t due;

        if (f == NULL || !reading)
            continue;
        if (file_unfinished(f) && stream_accepting(f->st))
            t = d->now_ms;
        if (f->tf == NULL || f->carry.len > 0 || !audit_parser_pending(f->parser) ||
            !stream_accepting(f->st))
            continue;
        due = f->last_data_ms + (f->last_byte_nl ? ENTRY_IDLE_MS : ENTRY_IDLE_MAX_MS);
        t = due < t ? due : t;
    }
    return t;
}

/* --once with more matched files than it may open at once: close the files read to their end
 * and delivered, so the tail opens the pending ones (their checkpoints are not marked done: the
 * files are still at their paths). */
void
reader_once_release(struct daemon *d)
{
    struct tail_stats ts;

    tail_get_stats(d->tail, &ts);
    if (!d->opts->once || ts.files_pending == 0)
        return;
    for (size_t i = 0; i < d->n_files; i++) {
        struct file_rt *f = d->files[i];

        if (f == NULL || f->tf == NULL || !f->at_eof || f->pending > 0 || f->carry.len > 0 ||
            audit_parser_pending(f->parser))
            continue;
        f->let_go = true;
        if (tail_let_go(d->tail, f->tf) != HAF_OK)
            f->let_go = false;
    }
}
