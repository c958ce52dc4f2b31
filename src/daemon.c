/*
 * daemon.c: the service around the modules: lifecycle, signals, status, and the event loop.
 *
 * One process, one thread. The loop only reads the clocks, lets the tail, the readers and the
 * senders do their turn, builds the poll set and sleeps in curl_multi_poll() (http_poll) together
 * with the inotify fd of the tail and a signalfd, until the nearest deadline: the minimum of each
 * stream's deadline (stream_deadline), the readers' (reader_deadline), the tail's rescan, the state
 * save retry, the systemd watchdog and status. The files that do the work are listed in
 * daemon_internal.h; docs/ARCHITECTURE.md draws the data flow.
 *
 * Time: every timer runs on CLOCK_MONOTONIC (d->now_ms); the wall clock (d->wall_ms) is used only
 * for event timestamps, the 14-day / 2-hour CloudWatch window and the state file's dates. Both
 * are read once per turn, and again after the poll returns (before answers are processed).
 *
 * Reload (SIGHUP) validates the new configuration first; only then does it stop reading, wait for
 * the requests in flight, save the state and rebuild everything from the new configuration and
 * the saved state. Entries that were read but not yet sent lie after the checkpoints and are
 * simply read again. Stop (SIGTERM) sends what is batched, waits for the answers within a
 * deadline, saves the state and exits 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
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

#include "daemon_internal.h"
#include "haf/access_hint.h"
#include "haf/creds.h"
#include "haf/endpoint.h"
#include "haf/http.h"
#include "haf/footprint.h"
#include "haf/log.h"
#include "haf/reload.h"
#include "haf/sdnotify.h"

/* ---------------------------------------------------------------- helpers */

static int64_t
clock_ms(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The one place the daemon reads the clocks. */
void
daemon_clock_read(struct daemon *d)
{
    d->now_ms = clock_ms(CLOCK_MONOTONIC);
    d->wall_ms = clock_ms(CLOCK_REALTIME);
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
int64_t
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

char *
xstrdup(const char *s)
{
    char *p = strdup(s ? s : "");

    if (p == NULL)
        fatal("out of memory");
    return p;
}

void *
xcalloc(size_t n, size_t size)
{
    void *p = calloc(n, size);

    if (p == NULL)
        fatal("out of memory");
    return p;
}

/* The nearest deadline (monotonic): a plain minimum over what carries one. */
static int64_t
next_deadline(struct daemon *d)
{
    int64_t t = d->now_ms + 60000;
    int tt = tail_timeout_ms(d->tail, d->now_ms);
    int64_t r = reader_deadline(d);

    if (tt >= 0 && d->now_ms + tt < t)
        t = d->now_ms + tt;
    for (size_t i = 0; i < d->n_streams; i++) {
        int64_t due = stream_deadline(d->streams[i], d->now_ms, d->stopping || d->opts->once);
        t = due < t ? due : t;
    }
    t = r < t ? r : t;
    r = digest_emit_deadline(d);
    t = r < t ? r : t;
    r = health_emit_deadline(d);
    t = r < t ? r : t;
    if (d->state_dirty && d->save_retry_at_ms > d->now_ms && d->save_retry_at_ms < t)
        t = d->save_retry_at_ms;
    if (d->state_dirty && d->dirty_since_ms > 0 && d->dirty_since_ms + ACK_SAVE_DELAY_MS < t)
        t = d->dirty_since_ms + ACK_SAVE_DELAY_MS;
    if (d->watchdog_ms > 0 && d->next_watchdog_ms < t)
        t = d->next_watchdog_ms;
    if (d->next_status_ms < t)
        t = d->next_status_ms;
    if (d->stopping && d->stop_deadline_ms < t)
        t = d->stop_deadline_ms;
    return t;
}

/* Said by --check-config and at start when no region can be found. */
#define NO_REGION_HINT                                                                             \
    "no AWS region: set `region:` in this file, or AWS_REGION in "                                 \
    "/etc/default/hsm-audit-forwarder (the service's environment file), or run on EC2, where "     \
    "the instance's region is read from the instance metadata (IMDS)"

/* ---------------------------------------------------------------- signals and status */

/* Each path a glob reaches but the service may not read, warned about once per (errno, path)
 * with the fix (access_hint.c); their number is in STATUS=. */
static void
report_unreadable(struct daemon *d)
{
    const struct tail_access_problem *probs;
    size_t n = tail_access_problems(d->tail, &probs);
    const struct passwd *pw = getpwuid(geteuid());
    char user[64];

    snprintf(user, sizeof(user), "%s", pw != NULL ? pw->pw_name : "hsm-audit-forwarder");
    for (size_t i = 0; i < n; i++) {
        char key[PATH_MAX + 16];
        char owner[64] = "", group[64] = "";
        const struct passwd *opw;
        const struct group *gr;
        bool seen = false;
        struct buf msg;

        snprintf(key, sizeof(key), "%d:%s", probs[i].err, probs[i].path);
        for (size_t j = 0; j < d->n_warned_access && !seen; j++)
            seen = strcmp(d->warned_access[j], key) == 0;
        if (seen || d->n_warned_access == sizeof(d->warned_access) / sizeof(d->warned_access[0]))
            continue;
        d->warned_access[d->n_warned_access] = xstrdup(key);
        d->n_warned_access++;
        if (probs[i].have_owner) {
            if ((opw = getpwuid((uid_t)probs[i].uid)) != NULL)
                snprintf(owner, sizeof(owner), "%s", opw->pw_name);
            if ((gr = getgrgid((gid_t)probs[i].gid)) != NULL)
                snprintf(group, sizeof(group), "%s", gr->gr_name);
        }
        buf_init(&msg, 1 << 14);
        if (access_hint_format(&probs[i], user, owner[0] ? owner : NULL, group[0] ? group : NULL,
                               &msg) == HAF_OK)
            log_warnx("%s", buf_cstr(&msg));
        buf_clean_up(&msg);
    }
}

static void
status_update(struct daemon *d)
{
    size_t pending = 0;
    struct tail_stats ts;
    char ack[64], unreadable[48] = "";

    for (size_t i = 0; i < d->n_streams; i++)
        pending += stream_pending_events(d->streams[i]);
    tail_get_stats(d->tail, &ts);
    report_unreadable(d);
    /* Before the first acknowledgement there is no age to give ("-1 s ago" read as a bug). */
    if (d->stats.last_ack_ms != 0)
        snprintf(ack, sizeof(ack), "last ack %" PRId64 " s ago",
                 (d->now_ms - d->stats.last_ack_ms) / 1000);
    else
        snprintf(ack, sizeof(ack), "no acknowledgement yet");
    if (ts.unreadable > 0)
        snprintf(unreadable, sizeof(unreadable), ", %zu unreadable", ts.unreadable);
    IGNORE_RESULT(sdnotify_status("shipped %" PRIu64 " events, %zu pending, %zu files%s, %s",
                                  d->stats.events_shipped, pending, tail_file_count(d->tail),
                                  unreadable, ack));
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
                char head[PATH_MAX + 64];

                snprintf(head, sizeof(head),
                         "reload: configuration %s is invalid; keeping the running one:",
                         d->opts->config_path);
                log_lines(LOG_LVL_ERR, head, buf_cstr(&err));
                IGNORE_RESULT(sdnotify_ready());
                reload_reply(reload_requester(&si), RELOAD_REPLY_REFUSED);
            } else {
                log_notice("reload: configuration %s is valid; switching over",
                           d->opts->config_path);
                config_free(d->reload_cfg);
                d->reload_cfg = ncfg;
                d->reload_requested = true;
                /* Answered by daemon_loop once the new configuration runs (a second request
                 * before then takes the place of the first, which then times out). */
                d->reload_requester = reload_requester(&si);
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

/* The region, and the CloudWatch endpoint: the configuration, else AWS_ENDPOINT_URL_LOGS, else
 * AWS_ENDPOINT_URL, else the region's default, each held to the one URL rule (endpoint.h). */
static enum haf_err
setup_endpoint(struct daemon *d)
{
    const char *source = NULL;
    struct buf why;
    enum haf_err e;

    if (d->cfg->region)
        d->region = xstrdup(d->cfg->region);
    else if (creds_resolve_region(d->http, &d->region) != HAF_OK) {
        log_err("%s: " NO_REGION_HINT, d->opts->config_path);
        return HAF_ECONFIG;
    }
    buf_init(&why, 4096);
    e = endpoint_resolve(d->cfg->endpoint, d->region, &d->endpoint, &source, &why);
    if (e != HAF_OK)
        log_err("%s", why.len ? buf_cstr(&why) : haf_err_str(e));
    else
        log_debug("endpoint %s (from %s)", d->endpoint, source);
    buf_clean_up(&why);
    return e == HAF_ENOMEM ? e : e != HAF_OK ? HAF_ECONFIG : HAF_OK;
}

/* The credential provider and the CloudWatch Logs client, once the region and endpoint are known;
 * says where the credentials come from (or why there are none yet) unless this is a dry run. */
static enum haf_err
setup_clients(struct daemon *d)
{
    struct creds_opts copts = {0};
    struct cwl_opts wopts = {0};
    enum haf_err e;

    copts.profile = d->cfg->credentials.profile;
    copts.role_arn = d->cfg->credentials.role_arn;
    copts.external_id = d->cfg->credentials.external_id;
    copts.session_name = d->cfg->credentials.session_name;
    copts.sts_endpoint = d->cfg->credentials.sts_endpoint;
    copts.region = d->region;
    d->creds = creds_provider_new(&copts, d->http);
    if (d->creds == NULL) {
        log_err("cannot set up the credential provider: out of memory");
        return HAF_ENOMEM;
    }
    /* The loop never blocks: credential fetches run on the multi handle (creds.h). */
    if (creds_set_async(d->creds, true) != HAF_OK) {
        log_err("cannot set up the credential provider: out of memory");
        return HAF_ENOMEM;
    }
    wopts.endpoint = d->endpoint;
    wopts.region = d->region;
    d->cwl = cwl_client_new(&wopts, d->http, d->creds);
    if (d->cwl == NULL) {
        log_err("cannot set up the CloudWatch Logs client for %s (region %s)", d->endpoint,
                d->region);
        return HAF_ECONFIG;
    }

    for (size_t i = 0; i < d->cfg->n_sources; i++)
        if (strstr(d->cfg->sources[i].log_stream, "{instance_id}") != NULL &&
            d->instance_id == NULL && creds_imds_instance_id(d->http, &d->instance_id) != HAF_OK)
            log_warnx("{instance_id}: the EC2 instance id is not available from IMDS");

    if (!d->opts->dry_run) {
        const struct aws_creds *c;
        char why[256] = "";

        e = creds_get(d->creds, d->wall_ms, &c, why, sizeof(why));
        if (e == HAF_OK)
            log_info("credentials from %s (access key %s); region %s; endpoint %s", c->source,
                     c->access_key_id, d->region, d->endpoint);
        else if (e == HAF_EAGAIN)
            log_info("fetching credentials; region %s; endpoint %s", d->region, d->endpoint);
        else
            log_err("no AWS credentials yet (%s); will keep trying", why);
    }
    return HAF_OK;
}

static enum haf_err
daemon_setup(struct daemon *d)
{
    struct http_opts hopts = {.ca_file = d->cfg->tls.ca_file,
                              .verify = d->cfg->tls.verify,
                              .proxy = d->cfg->proxy,
                              .connect_timeout_ms = HTTP_DEFAULT_CONNECT_TIMEOUT_MS,
                              .timeout_ms = HTTP_DEFAULT_TIMEOUT_MS,
                              .max_response_bytes = HTTP_DEFAULT_MAX_RESPONSE_BYTES};
    struct tail_callbacks cb = {.on_open = reader_on_tail_open,
                                .on_truncate = reader_on_tail_truncate,
                                .on_close = reader_on_tail_close,
                                .on_link_refused = reader_on_link_refused,
                                .ctx = d};
    struct tail_opts topts = {.force_poll = getenv("HAF_FORCE_POLL") != NULL,
                              .max_open = max_open_files()};
    struct buf msg;
    enum haf_err e;

    buf_init(&msg, 1 << 16);
    buf_init(&d->scratch, 0);
    buf_init(&d->part, 0);
    d->readbuf = malloc(READ_CHUNK_BYTES);
    if (d->readbuf == NULL) {
        log_err("cannot allocate the read buffer: out of memory");
        return HAF_ENOMEM;
    }
    if (gethostname(d->hostname, sizeof(d->hostname) - 1) != 0)
        snprintf(d->hostname, sizeof(d->hostname), "localhost");

    /* State first: without a safe place for checkpoints we do not start. */
    e = ckpt_prepare_dir(d->cfg->state_dir, &msg);
    if (e == HAF_OK)
        e = replay_ledger_prepare(d->cfg->state_dir, !d->opts->dry_run, &msg);
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
    if (d->http == NULL) {
        log_err("cannot set up the HTTP client (libcurl initialisation failed)");
        return HAF_ENOMEM;
    }

    e = setup_endpoint(d);
    if (e != HAF_OK)
        return e;

    e = setup_clients(d);
    if (e != HAF_OK)
        return e;

    d->tail = tail_new(&topts, &cb);
    if (d->tail == NULL) {
        log_err("cannot set up file watching: out of memory");
        return HAF_ENOMEM;
    }
    d->initial_scan = true;
    for (size_t i = 0; i < d->cfg->n_sources; i++) {
        e = tail_add_glob_flags(d->tail, d->cfg->sources[i].path, i,
                                d->cfg->sources[i].follow_symlinks ? TAIL_FOLLOW_SYMLINKS : 0);
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
    recover_checkpoints(d);
    state_prune(d);
    if (!digest_emit_setup(d) || !health_emit_setup(d))
        return HAF_ECONFIG;
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
    /* Requests still in flight get their answers (as cancelled) while the streams they name
     * and the credential fetch they feed still exist; only then do those go. The answers ask
     * for nothing more (tearing_down; and there is no client to ask with). */
    cwl_client_free(d->cwl);
    d->cwl = NULL;
    d->tearing_down = true;
    http_client_free(d->http);
    d->tearing_down = false;
    creds_provider_free(d->creds);
    d->creds = NULL;
    d->http = NULL;
    digest_emit_free(d);
    health_emit_free(d);
    for (size_t i = 0; i < d->n_streams; i++)
        stream_free(d->streams[i]);
    free(d->streams);
    d->streams = NULL;
    d->n_streams = 0;
    ckpt_state_clean_up(&d->state);
    buf_clean_up(&d->state_text);
    buf_clean_up(&d->scratch);
    buf_clean_up(&d->part);
    free(d->readbuf);
    d->readbuf = NULL;
    for (size_t i = 0; i < d->n_warned_links; i++)
        free(d->warned_links[i]);
    free(d->warned_links);
    d->warned_links = NULL;
    d->n_warned_links = 0;
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
        if (health_emit_owns(d, st)) /* health records never hold a stop */
            continue;
        if (stream_busy(st) || stream_pending_events(st) > 0)
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
        if (stream_busy(d->streams[i]) && !health_emit_owns(d, d->streams[i]))
            return true; /* a health request never holds a reload (its marker makes a read-back) */
    return false;
}

/* --once is done when every matched file was read and delivered (files beyond the open-file limit
 * are opened as delivered ones are closed). It fails rather than hang or claim success: state
 * saves failing count as attempts (ONCE_MAX_ATTEMPTS), and matched files it cannot open at all
 * make the run incomplete. */
static bool
once_done(struct daemon *d)
{
    struct tail_stats ts;

    if (d->stats.state_save_failures >= ONCE_MAX_ATTEMPTS) {
        log_err("the state file in %s could not be written %" PRIu64 " times (--once); giving "
                "up, the next run resumes",
                d->cfg->state_dir, d->stats.state_save_failures);
        d->failed = true;
        return true;
    }
    if (tail_next_readable(d->tail, NULL) != NULL || !all_idle(d) || any_pending_parser(d))
        return false;
    tail_get_stats(d->tail, &ts);
    /* Files read and delivered are closed to make room (reader_once_release): the pending ones
     * are opened at the next turn, unless not one file can be opened at all. */
    if (ts.files_pending > 0 && tail_file_count(d->tail) > 0)
        return false;
    if (ts.files_pending > 0) {
        log_err("%zu matched files were not read (--once could not open them: the open-file "
                "limit); run again, or raise LimitNOFILE",
                ts.files_pending);
        d->failed = true;
    }
    return true;
}

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
    /* After a reload: the new configuration runs from here on; `systemctl reload` may return. */
    reload_reply(d->reload_requester, RELOAD_REPLY_DONE);
    d->reload_requester = 0;

    for (;;) {
        size_t nfds = 0;
        int64_t deadline;
        int timeout;
        bool at_eof;

        daemon_clock_read(d);
        if (tail_process(d->tail, d->now_ms) != HAF_OK)
            log_warnx("watching files failed; retrying");
        if (!d->stopping && !d->reload_requested) {
            uint64_t entries_before = d->stats.entries_read;

            stream_budget_update(d); /* who shares the batch budget this turn */
            read_files(d);
            if (d->stats.entries_read != entries_before)
                d->shed = false;
            if (d->stats.entries_read != entries_before && !d->opts->once)
                tail_quiet_until_ms = d->now_ms + READ_COALESCE_MS;
            at_eof = d->opts->once && tail_next_readable(d->tail, NULL) == NULL;
            flush_idle_entries(d, at_eof);
            reader_once_release(d);
        }
        if (!d->reload_requested) {
            digest_emit_tick(d);
            health_emit_tick(d);
            send_due(d);
        } else
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
        /* A clean stop is recorded in each chain's last digest (digest_emit_stop), queued once
         * the data streams are idle and delivered like any batch before we leave. */
        if (d->stopping && (all_idle(d) || d->now_ms >= d->stop_deadline_ms)) {
            if (all_idle(d) && d->now_ms < d->stop_deadline_ms && digest_emit_stop(d))
                continue;
            if (!all_idle(d))
                log_warnx("stop deadline reached with events unsent; they stay in the files "
                          "and are sent after the restart");
            d->state_dirty = true;
            IGNORE_RESULT(state_save(d));
            return 0;
        }
        if (d->opts->once && (d->failed || once_done(d))) {
            if (!d->failed && digest_emit_stop(d))
                continue;
            d->state_dirty = true;
            if (!state_save(d))
                d->failed = true;
            return 0;
        }

        /* A burst is over (nothing to read, queue or await): its memory goes back, the batches'
         * blocks (each stream kept up to its share of the budget), the state file's text and the
         * heap's free pages
         * (footprint.h). Once per quiet spell; the next burst regrows what it needs. */
        if (!d->shed && !d->opts->once && tail_next_readable(d->tail, NULL) == NULL &&
            all_idle(d) && !any_pending_parser(d)) {
            for (size_t i = 0; i < d->n_streams; i++)
                stream_release_idle(d->streams[i]);
            buf_clean_up(&d->state_text); /* the state save's text, rebuilt at the next save */
            footprint_trim();
            d->shed = true;
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
        daemon_clock_read(d);
        if (fds[0].revents & POLLIN)
            handle_signals(d);
        if (http_run(d->http) != HAF_OK)
            log_warnx("HTTP transfer processing failed");
    }
}

/* ---------------------------------------------------------------- entry point */

/*
 * The endpoints that come from the environment, under the same rule as the file's: the
 * CloudWatch endpoint (when the file names none; the region's default needs no check) and
 * AWS_ENDPOINT_URL_STS. note gets the endpoint the environment chose; why the reasons for a
 * refusal, the URLs shown without userinfo.
 */
static enum haf_err
check_config_endpoints(const struct haf_config *cfg, struct buf *note, struct buf *why)
{
    const char *source = NULL, *sts = getenv("AWS_ENDPOINT_URL_STS");
    char *endpoint = NULL;
    enum haf_err e = HAF_OK;

    if (cfg->endpoint == NULL) {
        e = endpoint_resolve(NULL, NULL, &endpoint, &source, why);
        if (e == HAF_OK)
            e = buf_addf(note, "# endpoint %s (from %s)\n", endpoint, source);
        else if (e == HAF_ENOTFOUND)
            e = HAF_OK;
        free(endpoint);
    }
    if (e == HAF_OK && cfg->credentials.sts_endpoint == NULL && sts != NULL && sts[0] != '\0')
        e = endpoint_check("AWS_ENDPOINT_URL_STS", sts, why);
    return e;
}

static int
check_config(const struct daemon_opts *opts)
{
    struct haf_config *cfg = NULL;
    struct buf err, out, note;
    enum haf_err e;
    int rc = EXIT_RUNTIME;

    buf_init(&err, 1 << 16);
    buf_init(&out, 1 << 20);
    buf_init(&note, 4096);
    e = config_load(opts->config_path, &cfg, &err);
    if (e == HAF_OK)
        e = check_config_endpoints(cfg, &note, &err);
    if (e != HAF_OK) {
        fprintf(stderr, "%s", buf_cstr(&err));
        if (err.len == 0 || err.p[err.len - 1] != '\n')
            fputc('\n', stderr);
        fprintf(stderr, "%s: configuration is invalid (%s)\n", opts->config_path, haf_err_str(e));
        goto out;
    }
    /* The start fails without a region; say so now, with the ways to give one. */
    if (cfg->region == NULL) {
        struct http_client *http = http_client_new(NULL);
        char *region = NULL;

        if (http == NULL || creds_resolve_region(http, &region) != HAF_OK) {
            fprintf(stderr, "%s: " NO_REGION_HINT "\n", opts->config_path);
            fprintf(stderr, "%s: configuration is incomplete (no AWS region)\n", opts->config_path);
            http_client_free(http);
            config_free(cfg);
            buf_clean_up(&err);
            buf_clean_up(&out);
            return EXIT_RUNTIME;
        }
        printf("# region: %s (from the environment or the instance metadata)\n", region);
        free(region);
        http_client_free(http);
    }
    if (config_dump(cfg, &out) == HAF_OK)
        fwrite(out.p, 1, out.len, stdout);
    fputs(buf_cstr(&note), stdout);
    printf("# %s: configuration OK\n", opts->config_path);
    rc = 0;
out:
    config_free(cfg);
    buf_clean_up(&err);
    buf_clean_up(&out);
    buf_clean_up(&note);
    return rc;
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
        char head[PATH_MAX + 64];

        snprintf(head, sizeof(head), "configuration %s: %s", opts->config_path, haf_err_str(e));
        log_lines(LOG_LVL_ERR, head, buf_cstr(&err));
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
    d.rng = (uint64_t)clock_ms(CLOCK_REALTIME) ^ ((uint64_t)getpid() << 32) ^ 0x9e3779b97f4a7c15ULL;
    IGNORE_RESULT(sdnotify_init());
    log_notice("hsm-audit-forwarder %s starting (config %s)", HAF_VERSION, opts->config_path);

    for (;;) {
        int again;

        daemon_clock_read(&d);
        e = daemon_setup(&d);
        if (e != HAF_OK) {
            /* Each failure above logged its reason; this line says that it was fatal. */
            log_err("cannot start: %s", haf_err_str(e));
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
    if (rc == 0 && opts->once && (d.failed || d.incomplete))
        rc = EXIT_RUNTIME;
    stats_log(&d.stats);
    if (rc != 0)
        daemon_teardown(&d); /* a setup that failed half-way: everything it built is freed */
    config_free(d.cfg);
    config_free(d.reload_cfg);
    for (size_t i = 0; i < d.n_warned_access; i++)
        free(d.warned_access[i]);
    close(d.sigfd);
    log_notice("stopped");
    return rc;
}
