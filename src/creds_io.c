/*
 * creds_io.c: the plumbing every credential provider shares: the environment, small files, one
 * blocking HTTP call with its failure worded for `why`, the STS form encoding, and moving a parsed
 * document into struct aws_creds.
 *
 * `why` collects fixed texts, file names, HTTP statuses and sanitized transport errors, never a
 * value read from a document. Small files are read without following the daemon into a block:
 * see creds_read_file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "creds_internal.h"
#include "haf/printable.h"

char *
creds_dup_opt(const char *s)
{
    return s ? strdup(s) : NULL;
}

const char *
creds_env(const char *name)
{
    const char *v = getenv(name);

    return (v && v[0] != '\0') ? v : NULL;
}

void
aws_creds_clean_up(struct aws_creds *c)
{
    creds_secret_free(c->access_key_id);
    creds_secret_free(c->secret_access_key);
    creds_secret_free(c->session_token);
    memset(c, 0, sizeof(*c));
}

/* Move a document into aws_creds (the doc is left empty). */
void
creds_doc_take(struct creds_doc *d, struct aws_creds *out, const char *source)
{
    out->access_key_id = d->access_key_id;
    out->secret_access_key = d->secret_access_key;
    out->session_token = d->session_token;
    out->expiration_ms = d->expiration_ms;
    out->source = source;
    memset(d, 0, sizeof(*d));
}

void
creds_why(struct buf *why, const char *fmt, ...)
{
    va_list ap;

    if (why->len > 0 && buf_adds(why, "; ") != HAF_OK)
        return;
    va_start(ap, fmt);
    if (buf_vaddf(why, fmt, ap) != HAF_OK) {
        /* Past the cap the explanation is cut short; it is advisory text only. */
    }
    va_end(ap);
}

/* ---- files ---- */

/* What a non-regular file is, for the refusal. */
static const char *
file_kind(mode_t mode)
{
    if (S_ISFIFO(mode))
        return "a FIFO, not a regular file";
    if (S_ISDIR(mode))
        return "a directory, not a regular file";
    if (S_ISSOCK(mode))
        return "a socket, not a regular file";
    if (S_ISCHR(mode) || S_ISBLK(mode))
        return "a device, not a regular file";
    return "not a regular file";
}

/*
 * Read a whole small file (regular file, at most max bytes). HAF_ENOTFOUND when absent. The null
 * device reads as an empty file: AWS_CONFIG_FILE=/dev/null is the usual way to say "no shared
 * files" (the AWS CLI and SDKs accept it), and must let the chain go on to IMDS.
 *
 * Never blocks on what is not a regular file (issue 11 §5): open(2) of a FIFO without a writer
 * blocks for ever (and the daemon, whose signals wait in a signalfd, could not even be stopped),
 * so the file is opened O_NONBLOCK and what was opened is checked with fstat before any read; a
 * FIFO, directory, socket or device other than /dev/null is refused. Symbolic links are followed
 * on purpose (Kubernetes projects token files through links), and the check is on the opened
 * descriptor, so there is no window between check and use. *reason (may be NULL) gets a static
 * sentence for the caller's message when the error has a more precise cause than its code.
 */
enum haf_err
creds_read_file(const char *path, size_t max, struct buf *out, const char **reason)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    struct stat st;
    enum haf_err e = HAF_OK;
    const char *dummy;
    char chunk[4096];

    if (reason == NULL)
        reason = &dummy;
    *reason = NULL;
    buf_init(out, max);
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return HAF_ENOTFOUND;
        *reason = strerror(errno);
        return HAF_EIO;
    }
    if (fstat(fd, &st) != 0) {
        *reason = strerror(errno);
        e = HAF_EIO;
        goto out;
    }
    if (S_ISCHR(st.st_mode) && major(st.st_rdev) == 1 && minor(st.st_rdev) == 3)
        goto out; /* /dev/null */
    if (!S_ISREG(st.st_mode)) {
        *reason = file_kind(st.st_mode);
        e = HAF_EIO;
        goto out;
    }
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            *reason = strerror(errno);
            e = HAF_EIO;
            break;
        }
        if (n == 0)
            break;
        if ((e = buf_add(out, chunk, (size_t)n)) != HAF_OK)
            break;
    }
    OPENSSL_cleanse(chunk, sizeof(chunk));
    if (e != HAF_OK)
        buf_wipe(out);
out:
    close(fd);
    return e;
}

char *
creds_home_path(const char *rel)
{
    const char *home = getenv("HOME");
    struct buf b;

    if (home == NULL || home[0] == '\0')
        return NULL;
    buf_init(&b, 4096);
    if (buf_addf(&b, "%s/%s", home, rel) != HAF_OK) {
        buf_clean_up(&b);
        return NULL;
    }
    return b.p;
}

/* ---- HTTP ---- */

/* One blocking call; describes a transport failure in why. resp must be initialised. */
enum haf_err
creds_http_call(struct http_client *http, const struct creds_call *c, struct http_response *resp,
                struct buf *why, const char *what)
{
    struct http_request req = {.method = c->method,
                               .url = c->url,
                               .headers = c->headers,
                               .n_headers = c->n_headers,
                               .body = c->body,
                               .body_len = c->body_len,
                               .timeout_ms = c->timeout_ms,
                               .no_proxy = c->no_proxy};
    enum haf_err e;

    if (http == NULL) {
        creds_why(why, "%s: no HTTP client", what);
        return HAF_EHTTP;
    }
    e = http_perform(http, &req, resp);
    if (e != HAF_OK) {
        creds_why(why, "%s: %s", what, haf_err_str(e));
        return e;
    }
    if (resp->outcome != HTTP_ANSWERED) {
        char err[128];
        printable_copy(err, sizeof(err),
                       span_make(resp->error, strnlen(resp->error, sizeof(resp->error))));
        creds_why(why, "%s: %s%s%s", what,
                  resp->outcome == HTTP_TOO_LARGE  ? "answer too large"
                  : resp->outcome == HTTP_NOT_SENT ? "not reachable"
                                                   : "timeout or connection lost",
                  err[0] ? ": " : "", err);
        return HAF_EHTTP;
    }
    return HAF_OK;
}

void
creds_response_wipe(struct http_response *r)
{
    buf_wipe(&r->body);
    http_response_clean_up(r);
}

enum haf_err
creds_form_add(struct buf *b, const char *name, const char *value)
{
    static const char hex[] = "0123456789ABCDEF";
    enum haf_err e = HAF_OK;

    if (b->len > 0)
        e = buf_addc(b, '&');
    if (e == HAF_OK)
        e = buf_adds(b, name);
    if (e == HAF_OK)
        e = buf_addc(b, '=');
    for (const unsigned char *p = (const unsigned char *)value; *p && e == HAF_OK; p++) {
        if (creds_is_alnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~') {
            e = buf_addc(b, (char)*p);
        } else {
            char esc[3] = {'%', hex[*p >> 4], hex[*p & 0xf]};
            e = buf_add(b, esc, 3);
        }
    }
    return e;
}
