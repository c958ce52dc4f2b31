/*
 * sdnotify.c: see sdnotify.h. The notify protocol of sd_notify(3), implemented directly so the
 * daemon does not link libsystemd.
 *
 * Invariants: the module is disabled (every send a no-op returning HAF_OK) until sdnotify_init()
 * found a usable $NOTIFY_SOCKET; the socket address is built once, at init, and each send opens a
 * fresh SOCK_DGRAM | SOCK_CLOEXEC socket, sends one datagram with MSG_DONTWAIT | MSG_NOSIGNAL and
 * closes it. The environment is read once at init and never modified. The values come from the
 * service manager, but we still read them with bounds: the path is length-checked against
 * sun_path, and the numbers go through span_to_u64_dec (no strtol).
 *
 * Trade-off: a fresh socket per message costs two syscalls more than a kept one; notifications are
 * rare (start, reload, stop, a watchdog ping every WatchdogSec/2, a status now and then), and a
 * kept descriptor would have to be guarded against leaking into children and re-opened on errors.
 */
#include "haf/sdnotify.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "haf/buf.h"
#include "haf/span.h"

static struct {
    bool enabled;
    struct sockaddr_un addr;
    socklen_t addr_len;
    uint64_t watchdog_usec; /* 0: off for this process */
} sdn;

/* A decimal environment value, or false when unset or malformed. */
static bool
env_u64(const char *name, uint64_t *out)
{
    const char *v = getenv(name);

    if (v == NULL)
        return false;
    /* 20 digits hold UINT64_MAX; anything longer is malformed, so look no further than 21. */
    return span_to_u64_dec(span_make(v, strnlen(v, 21)), out);
}

static void
watchdog_read(void)
{
    uint64_t usec, pid;

    sdn.watchdog_usec = 0;
    if (!env_u64("WATCHDOG_USEC", &usec) || usec == 0)
        return;
    /* sd_watchdog_enabled(3): when WATCHDOG_PID is set, the watchdog is for that process only. */
    if (getenv("WATCHDOG_PID") != NULL) {
        if (!env_u64("WATCHDOG_PID", &pid) || pid != (uint64_t)getpid())
            return;
    }
    sdn.watchdog_usec = usec;
}

enum haf_err
sdnotify_init(void)
{
    const char *path = getenv("NOTIFY_SOCKET");
    size_t len;

    memset(&sdn, 0, sizeof(sdn));
    watchdog_read();
    if (path == NULL)
        return HAF_OK;
    len = strnlen(path, sizeof(sdn.addr.sun_path) + 1);
    /*
     * sd_notify(3): an absolute path, or '@' for the abstract namespace (the '@' becomes the
     * leading NUL and the address length, not a terminator, ends the name). A path must leave
     * room for its NUL; an abstract name need not.
     */
    if (len < 2 || (path[0] != '/' && path[0] != '@'))
        return HAF_EINVAL;
    if (path[0] == '/' ? len >= sizeof(sdn.addr.sun_path) : len > sizeof(sdn.addr.sun_path))
        return HAF_EINVAL;
    sdn.addr.sun_family = AF_UNIX;
    memcpy(sdn.addr.sun_path, path, len);
    if (path[0] == '@') {
        sdn.addr.sun_path[0] = '\0';
        sdn.addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
    } else {
        sdn.addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1);
    }
    sdn.enabled = true;
    return HAF_OK;
}

bool
sdnotify_enabled(void)
{
    return sdn.enabled;
}

uint64_t
sdnotify_watchdog_interval_ms(void)
{
    uint64_t ms = sdn.watchdog_usec / 1000;

    return sdn.watchdog_usec != 0 && ms == 0 ? 1 : ms;
}

static enum haf_err
send_bytes(const char *msg, size_t len)
{
    enum haf_err rc = HAF_OK;
    ssize_t n;
    int fd;

    if (!sdn.enabled)
        return HAF_OK;
    if (len == 0 || len > SDNOTIFY_MAX_BYTES)
        return HAF_EINVAL;
    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return HAF_EIO;
    do {
        n = sendto(fd, msg, len, MSG_DONTWAIT | MSG_NOSIGNAL, (const struct sockaddr *)&sdn.addr,
                   sdn.addr_len);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        rc = errno == EAGAIN || errno == EWOULDBLOCK ? HAF_EAGAIN : HAF_EIO;
    else if ((size_t)n != len)
        rc = HAF_EIO;
    (void)close(fd);
    return rc;
}

enum haf_err
sdnotify_send(const char *state)
{
    if (state == NULL)
        return HAF_EINVAL;
    if (!sdn.enabled)
        return HAF_OK;
    return send_bytes(state, strnlen(state, SDNOTIFY_MAX_BYTES + 1));
}

enum haf_err
sdnotify_ready(void)
{
    return sdnotify_send("READY=1");
}

enum haf_err
sdnotify_stopping(void)
{
    return sdnotify_send("STOPPING=1");
}

enum haf_err
sdnotify_watchdog(void)
{
    if (sdn.watchdog_usec == 0)
        return HAF_OK;
    return sdnotify_send("WATCHDOG=1");
}

/* Formats into a capped buffer and sends it; the buffer never outlives the call. */
static enum haf_err send_formatted(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static enum haf_err
send_formatted(const char *fmt, ...)
{
    struct buf b;
    enum haf_err rc;
    va_list ap;

    buf_init(&b, SDNOTIFY_MAX_BYTES);
    va_start(ap, fmt);
    rc = buf_vaddf(&b, fmt, ap);
    va_end(ap);
    if (rc != HAF_OK)
        goto out;
    rc = send_bytes(b.p, b.len);
out:
    buf_clean_up(&b);
    return rc;
}

enum haf_err
sdnotify_reloading(void)
{
    struct timespec ts;
    uint64_t usec;

    if (!sdn.enabled)
        return HAF_OK;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        return HAF_EIO;
    usec = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
    return send_formatted("RELOADING=1\nMONOTONIC_USEC=%llu", (unsigned long long)usec);
}

enum haf_err
sdnotify_extend_timeout_ms(uint64_t ms)
{
    if (ms > UINT64_MAX / 1000u)
        return HAF_EINVAL;
    return send_formatted("EXTEND_TIMEOUT_USEC=%llu", (unsigned long long)(ms * 1000u));
}

enum haf_err
sdnotify_status(const char *fmt, ...)
{
    static const char prefix[] = "STATUS=";
    struct buf b;
    enum haf_err rc = HAF_OK;
    va_list ap;
    int n;

    if (fmt == NULL)
        return HAF_EINVAL;
    if (!sdn.enabled)
        return HAF_OK;
    buf_init(&b, SDNOTIFY_MAX_BYTES + 1);
    rc = buf_reserve(&b, SDNOTIFY_MAX_BYTES + 1);
    if (rc != HAF_OK)
        goto out;
    memcpy(b.p, prefix, sizeof(prefix) - 1);
    /* vsnprintf cuts an over-long text at the cap instead of failing: a cut status is fine. */
    va_start(ap, fmt);
    n = vsnprintf(b.p + sizeof(prefix) - 1, SDNOTIFY_MAX_BYTES + 1 - (sizeof(prefix) - 1), fmt, ap);
    va_end(ap);
    if (n < 0) {
        rc = HAF_EINVAL;
        goto out;
    }
    b.len = sizeof(prefix) - 1 + (size_t)n;
    if (b.len > SDNOTIFY_MAX_BYTES)
        b.len = SDNOTIFY_MAX_BYTES;
    for (size_t i = sizeof(prefix) - 1; i < b.len; i++) {
        if (b.p[i] == '\n' || b.p[i] == '\0')
            b.p[i] = ' ';
    }
    rc = send_bytes(b.p, b.len);
out:
    buf_clean_up(&b);
    return rc;
}
