/*
 * http.c: the libcurl layer (see http.h). The only file that includes <curl/curl.h>.
 *
 * One client owns a curl multi handle, a small pool of idle easy handles for the asynchronous
 * requests of the event loop, and one easy handle kept for blocking calls. Connections live in the
 * multi handle's (and the blocking handle's) connection cache, so consecutive requests to the same
 * host reuse one keep-alive connection; pooled easy handles are curl_easy_reset() between uses.
 * All handles (pooled and blocking) share one DNS cache and one TLS session cache (a CURLSH; the
 * process is single-threaded, so it needs no locks): a new connection to an endpoint, e.g. one
 * per log stream sending at the same time, resumes the TLS session of the first.
 *
 * Invariants: every transfer reads its answer into a struct buf capped at max_response_bytes (and
 * curl aborts early on a larger Content-Length), redirects are never followed, only http and https
 * are allowed, TLS is verified unless the options say otherwise, and "Expect: 100-continue" is
 * never sent. Headers we care about (x-amzn-RequestId, X-Amzn-Errortype, Date) are matched without
 * regard to case and copied bounded, printable ASCII only.
 *
 * The outcome of a failed transfer decides whether the caller may simply resend, so it is
 * classified conservatively: HTTP_NOT_SENT only for errors that provably happen before the first
 * request byte can leave (name resolution, TCP connect, TLS handshake and certificate checks, proxy
 * CONNECT, a timeout before the transfer phase began); everything else is HTTP_AMBIGUOUS.
 *
 * Every submitted request gets exactly one done callback, also when the client is freed with
 * requests in flight (they end as HTTP_AMBIGUOUS).
 *
 * A request body is never sent twice by libcurl itself. When a reused keep-alive connection dies
 * before any answer byte, libcurl silently resends the request on a fresh connection; for a
 * PutLogEvents the server may have applied the first copy (the answer was lost), so that resend is
 * a duplicate the caller never hears of. Bodies therefore go through a read callback whose seek
 * callback refuses to rewind once any byte was handed over: libcurl then fails the transfer
 * (CURLE_SEND_FAIL_REWIND, HTTP_AMBIGUOUS) and the caller resolves it (read-back) before resending.
 *
 * Trade-off: curl_global_init() is reference-counted by the clients alive, so a process that
 * creates and frees clients repeatedly re-initialises libcurl each time; we create one client.
 */
#include "haf/http.h"
#include "haf/secmem.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

#include "haf/http_replay.h"
#include "haf/printable.h"
#include "haf/url.h"

#define HTTP_POOL_MAX       8
#define HTTP_USER_AGENT     "hsm-audit-forwarder/" HAF_VERSION
#define HTTP_POLL_FDS_STACK 8

struct http_xfer {
    struct http_client *client;
    CURL *easy;
    struct curl_slist *headers;
    struct http_response resp;
    http_done_fn done;
    void *arg;
    bool too_large;
    bool oom;
    const char *body; /* the request body (not copied), handed to curl by on_read */
    size_t body_len;
    size_t body_off;
    char errbuf[CURL_ERROR_SIZE];
    struct http_xfer *next;
};

struct http_client {
    char *ca_file;
    char *proxy;
    bool verify;
    long connect_timeout_ms;
    long timeout_ms;
    size_t max_response_bytes;
    CURLM *multi;
    CURLSH *share; /* DNS and TLS sessions, for every handle below */
    CURL *blocking;
    CURL *pool[HTTP_POOL_MAX];
    size_t n_pool;
    struct http_xfer *active;
    size_t n_active;
    bool closing;
    struct http_replay *replay; /* attached: http_perform does not block (http_replay.h) */
};

static unsigned http_global_refs;

void
http_response_init(struct http_response *r)
{
    memset(r, 0, sizeof(*r));
    r->outcome = HTTP_NOT_SENT;
    buf_init(&r->body, 0);
}

void
http_response_clean_up(struct http_response *r)
{
    if (r == NULL)
        return;
    buf_clean_up(&r->body);
    http_response_init(r);
}

static char *
dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

struct http_client *
http_client_new(const struct http_opts *opts)
{
    struct http_client *c;

    /* libcurl copies our header lines (the session token) into its own blocks: it gets the wiping
     * allocators of secmem.h, so those copies are overwritten when curl frees them. */
    if (http_global_refs == 0 &&
        curl_global_init_mem(CURL_GLOBAL_DEFAULT, secmem_malloc, secmem_free, secmem_realloc,
                             secmem_strdup, secmem_calloc) != CURLE_OK)
        return NULL;
    http_global_refs++;
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        goto fail;
    c->verify = true;
    c->connect_timeout_ms = HTTP_DEFAULT_CONNECT_TIMEOUT_MS;
    c->timeout_ms = HTTP_DEFAULT_TIMEOUT_MS;
    c->max_response_bytes = HTTP_DEFAULT_MAX_RESPONSE_BYTES;
    if (opts) {
        c->verify = opts->verify;
        if (opts->connect_timeout_ms > 0)
            c->connect_timeout_ms = opts->connect_timeout_ms;
        if (opts->timeout_ms > 0)
            c->timeout_ms = opts->timeout_ms;
        if (opts->max_response_bytes > 0)
            c->max_response_bytes = opts->max_response_bytes;
        c->ca_file = dup_or_null(opts->ca_file);
        c->proxy = dup_or_null(opts->proxy);
        if ((opts->ca_file && c->ca_file == NULL) || (opts->proxy && c->proxy == NULL))
            goto fail;
    }
    c->multi = curl_multi_init();
    c->blocking = curl_easy_init();
    c->share = curl_share_init();
    if (c->multi == NULL || c->blocking == NULL || c->share == NULL ||
        curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK ||
        curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) != CURLSHE_OK)
        goto fail;
    return c;
fail:
    http_client_free(c);
    if (c == NULL && --http_global_refs == 0)
        curl_global_cleanup();
    return NULL;
}

#define HTTP_SEND_BUFFER_BYTES 16384L

/* A header list holds the session token and the signature: wiped before curl frees it. */
static void
headers_free(struct curl_slist *list)
{
    for (struct curl_slist *l = list; l != NULL; l = l->next)
        if (l->data != NULL)
            OPENSSL_cleanse(l->data, strlen(l->data));
    curl_slist_free_all(list);
}

static void
xfer_free(struct http_xfer *x)
{
    if (x == NULL)
        return;
    headers_free(x->headers);
    http_response_clean_up(&x->resp);
    free(x);
}

void
http_client_free(struct http_client *c)
{
    if (c == NULL)
        return;
    /* Every submitted request gets exactly one done call: transfers still in flight end here as
     * HTTP_AMBIGUOUS (they may have reached the server). New submits are refused meanwhile. */
    c->closing = true;
    while (c->active) {
        struct http_xfer *x = c->active;
        c->active = x->next;
        c->n_active--;
        if (c->multi)
            (void)curl_multi_remove_handle(c->multi, x->easy);
        curl_easy_cleanup(x->easy);
        x->easy = NULL;
        x->resp.outcome = HTTP_AMBIGUOUS;
        x->resp.status = 0;
        buf_reset(&x->resp.body);
        printable_copy(x->resp.error, sizeof(x->resp.error),
                       SPAN_LIT("cancelled: the HTTP client was freed"));
        x->done(x->arg, &x->resp);
        xfer_free(x);
    }
    for (size_t i = 0; i < c->n_pool; i++)
        curl_easy_cleanup(c->pool[i]);
    if (c->blocking)
        curl_easy_cleanup(c->blocking);
    if (c->multi)
        (void)curl_multi_cleanup(c->multi);
    if (c->share) /* after every handle using it */
        (void)curl_share_cleanup(c->share);
    free(c->ca_file);
    free(c->proxy);
    free(c);
    if (http_global_refs > 0 && --http_global_refs == 0)
        curl_global_cleanup();
}

/* ---- response capture ---- */

static char
ascii_lower(char ch)
{
    return (ch >= 'A' && ch <= 'Z') ? (char)(ch - 'A' + 'a') : ch;
}

static bool
span_ieq(struct span s, const char *lit)
{
    size_t n = strlen(lit); /* trusted literal */

    if (s.len != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (ascii_lower(s.p[i]) != ascii_lower(lit[i]))
            return false;
    return true;
}

/* Copy printable ASCII from `v` into dst (always NUL-terminated, truncated to fit). */
static size_t
on_header(char *data, size_t size, size_t nitems, void *userdata)
{
    struct http_xfer *x = userdata;
    struct span line = span_make(data, nitems); /* size is always 1 */
    struct span name, value;
    size_t colon = 0;

    (void)size;
    if (span_starts_with(line, SPAN_LIT("HTTP/"))) {
        /* A new response head (after an interim 1xx): forget the previous one's headers. */
        x->resp.request_id[0] = '\0';
        x->resp.error_type[0] = '\0';
        x->resp.date[0] = '\0';
        return nitems;
    }
    while (colon < line.len && line.p[colon] != ':')
        colon++;
    if (colon == line.len)
        return nitems;
    name = span_make(line.p, colon);
    value = span_trim(span_make(line.p + colon + 1, line.len - colon - 1));
    if (span_ieq(name, "x-amzn-requestid"))
        printable_copy(x->resp.request_id, sizeof(x->resp.request_id), value);
    else if (span_ieq(name, "x-amzn-errortype"))
        printable_copy(x->resp.error_type, sizeof(x->resp.error_type), value);
    else if (span_ieq(name, "date"))
        printable_copy(x->resp.date, sizeof(x->resp.date), value);
    return nitems;
}

static size_t
on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
    struct http_xfer *x = userdata;
    enum haf_err e = buf_add(&x->resp.body, data, nmemb); /* size is always 1 */

    (void)size;
    if (e == HAF_ETOOLONG) {
        x->too_large = true;
        return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
    }
    if (e != HAF_OK) {
        x->oom = true;
        return 0;
    }
    return nmemb;
}

static size_t
on_read(char *dest, size_t size, size_t nitems, void *userdata)
{
    struct http_xfer *x = userdata;
    size_t n = x->body_len - x->body_off;
    size_t room = size * nitems; /* curl's buffer: no overflow, size is 1 */

    if (n > room)
        n = room;
    if (n > 0)
        memcpy(dest, x->body + x->body_off, n);
    x->body_off += n;
    return n;
}

/* libcurl asks to rewind the body to resend it (see the file comment): only allowed while none
 * of it was handed over. */
static int
on_seek(void *userdata, curl_off_t offset, int origin)
{
    struct http_xfer *x = userdata;

    if (origin == SEEK_SET && offset == 0 && x->body_off == 0)
        return CURL_SEEKFUNC_OK;
    return CURL_SEEKFUNC_FAIL;
}

/* ---- request setup ---- */

enum text_kind { TEXT_TOKEN, TEXT_URL, TEXT_VALUE };

/* Our own strings (headers, URLs built from config) are checked anyway: a CR or LF in a header
 * value (say, a session token read from a file) would otherwise inject headers. */
static bool
text_ok(const char *s, enum text_kind kind)
{
    if (s == NULL)
        return false;
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '\r' || ch == '\n')
            return false;
        if (kind == TEXT_VALUE)
            continue;
        if (ch <= 0x20 || ch >= 0x7f)
            return false;
        if (kind == TEXT_TOKEN && ch == ':')
            return false;
    }
    return true;
}

static enum haf_err
build_headers(const struct http_request *req, struct curl_slist **out)
{
    struct curl_slist *list = NULL, *tmp;
    struct buf line;
    enum haf_err e = HAF_OK;

    buf_init(&line, 0);
    for (size_t i = 0; i < req->n_headers; i++) {
        const struct http_header *h = &req->headers[i];
        if (!text_ok(h->name, TEXT_TOKEN) || h->name[0] == '\0' || !text_ok(h->value, TEXT_VALUE)) {
            e = HAF_EINVAL;
            goto out;
        }
        buf_reset(&line);
        /* "Name;" is curl's way to send a header with an empty value ("Name:" removes it). */
        if (h->value[0] == '\0')
            e = buf_addf(&line, "%s;", h->name);
        else
            e = buf_addf(&line, "%s: %s", h->name, h->value);
        if (e != HAF_OK)
            goto out;
        tmp = curl_slist_append(list, buf_cstr(&line));
        if (tmp == NULL) {
            e = HAF_ENOMEM;
            goto out;
        }
        list = tmp;
    }
    /* An empty "Expect:" stops curl from sending "Expect: 100-continue" on larger bodies. */
    tmp = curl_slist_append(list, "Expect:");
    if (tmp == NULL) {
        e = HAF_ENOMEM;
        goto out;
    }
    list = tmp;
out:
    buf_clean_up(&line);
    if (e != HAF_OK) {
        headers_free(list);
        return e;
    }
    *out = list;
    return HAF_OK;
}

static bool
method_is(const char *m, const char *lit)
{
    return strcmp(m, lit) == 0;
}

static bool
http_url_is_loopback(const char *text)
{
    struct url u;

    return url_parse(span_cstr(text), &u, NULL) == HAF_OK && url_host_is_loopback(&u);
}

static enum haf_err
xfer_setup(struct http_client *c, struct http_xfer *x, const struct http_request *req)
{
    CURL *h = x->easy;
    long timeout = req->timeout_ms > 0 ? req->timeout_ms : c->timeout_ms;
    long connect_timeout = c->connect_timeout_ms < timeout ? c->connect_timeout_ms : timeout;
    const char *method = req->method ? req->method : "GET";
    CURLcode rc = CURLE_OK;
    enum haf_err e;

    if (!text_ok(req->url, TEXT_URL) || !text_ok(method, TEXT_TOKEN) ||
        (req->body == NULL && req->body_len != 0))
        return HAF_EINVAL;
    e = build_headers(req, &x->headers);
    if (e != HAF_OK)
        return e;
    x->resp.body.max = c->max_response_bytes;
    x->errbuf[0] = '\0';

#define SET(opt, val)                                                                              \
    do {                                                                                           \
        if (rc == CURLE_OK)                                                                        \
            rc = curl_easy_setopt(h, opt, val);                                                    \
    } while (0)
    SET(CURLOPT_URL, req->url);
    SET(CURLOPT_SHARE, c->share);
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_FOLLOWLOCATION, 0L);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_USERAGENT, HTTP_USER_AGENT);
    SET(CURLOPT_SSL_VERIFYPEER, c->verify ? 1L : 0L);
    SET(CURLOPT_SSL_VERIFYHOST, c->verify ? 2L : 0L);
    if (c->ca_file)
        SET(CURLOPT_CAINFO, c->ca_file);
    /* A loopback endpoint never goes through a proxy, whoever asks (proxy: or http_proxy in the
     * environment would otherwise carry plain http, signed, to another host). "*" overrides
     * both CURLOPT_PROXY and the environment. */
    if (req->no_proxy || http_url_is_loopback(req->url))
        SET(CURLOPT_NOPROXY, "*");
    else if (c->proxy)
        SET(CURLOPT_PROXY, c->proxy);
    SET(CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
    SET(CURLOPT_CONNECTTIMEOUT_MS, connect_timeout);
    SET(CURLOPT_TIMEOUT_MS, timeout);
    SET(CURLOPT_TCP_KEEPALIVE, 1L);
    SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)c->max_response_bytes);
    /* Smaller transfer buffers than curl's defaults (16 KiB down, 64 KiB up), held per transfer:
     * with one request in flight per log stream they were most of the memory of many streams.
     * Answers are small; 16 KiB up is one TLS record per write. */
    SET(CURLOPT_UPLOAD_BUFFERSIZE, HTTP_SEND_BUFFER_BYTES);
    SET(CURLOPT_HTTPHEADER, x->headers);
    SET(CURLOPT_WRITEFUNCTION, on_body);
    SET(CURLOPT_WRITEDATA, x);
    SET(CURLOPT_HEADERFUNCTION, on_header);
    SET(CURLOPT_HEADERDATA, x);
    SET(CURLOPT_ERRORBUFFER, x->errbuf);
    SET(CURLOPT_PRIVATE, x);
    if (method_is(method, "GET")) {
        SET(CURLOPT_HTTPGET, 1L);
    } else if (method_is(method, "HEAD")) {
        SET(CURLOPT_NOBODY, 1L);
    } else {
        /* POST, PUT and anything else with a (possibly empty) body: not copied, read by on_read,
         * never rewound once read (on_seek). */
        x->body = req->body ? req->body : "";
        x->body_len = req->body_len;
        x->body_off = 0;
        SET(CURLOPT_POST, 1L);
        SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
        SET(CURLOPT_READFUNCTION, on_read);
        SET(CURLOPT_READDATA, x);
        SET(CURLOPT_SEEKFUNCTION, on_seek);
        SET(CURLOPT_SEEKDATA, x);
        if (!method_is(method, "POST"))
            SET(CURLOPT_CUSTOMREQUEST, method);
    }
#undef SET
    if (rc == CURLE_OUT_OF_MEMORY)
        return HAF_ENOMEM;
    if (rc != CURLE_OK)
        return HAF_EINVAL;
    return HAF_OK;
}

const char *
http_conn_error_str(enum http_conn_error e)
{
    switch (e) {
    case HTTP_CONN_NONE:
        return "no error";
    case HTTP_CONN_DNS:
        return "host name not found (DNS)";
    case HTTP_CONN_REFUSED:
        return "connection refused";
    case HTTP_CONN_TIMEOUT:
        return "timeout";
    case HTTP_CONN_TLS_CERTIFICATE:
        return "TLS certificate not trusted";
    case HTTP_CONN_TLS_HOSTNAME:
        return "TLS certificate for another host name";
    case HTTP_CONN_TLS:
        return "TLS handshake failed";
    case HTTP_CONN_PROXY:
        return "proxy failed";
    case HTTP_CONN_OTHER:
        return "connection failed";
    }
    return "connection failed";
}

/* curl folds a host name mismatch into CURLE_PEER_FAILED_VERIFICATION; only its text tells. */
static enum http_conn_error
conn_error_of(CURL *h, CURLcode rc, const char *text)
{
    long oserr = 0;

    switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        return HTTP_CONN_DNS;
    case CURLE_COULDNT_CONNECT:
        /* curl's text ("Couldn't connect to server") does not say why; the socket's errno does. */
        (void)curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &oserr);
        if (oserr == ECONNREFUSED || strstr(text, "refused") != NULL)
            return HTTP_CONN_REFUSED;
        if (oserr == ETIMEDOUT || strstr(text, "timed out") != NULL)
            return HTTP_CONN_TIMEOUT;
        return HTTP_CONN_OTHER;
    case CURLE_OPERATION_TIMEDOUT:
        return HTTP_CONN_TIMEOUT;
    case CURLE_PEER_FAILED_VERIFICATION:
        if (strstr(text, "host name") != NULL || strstr(text, "hostname") != NULL ||
            strstr(text, "subject name") != NULL)
            return HTTP_CONN_TLS_HOSTNAME;
        return HTTP_CONN_TLS_CERTIFICATE;
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
        return HTTP_CONN_TLS_CERTIFICATE;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_CLIENTCERT:
        /* OpenSSL's "certificate verify failed" can also arrive here. */
        if (strstr(text, "certificate verify failed") != NULL ||
            strstr(text, "certificate problem") != NULL)
            return HTTP_CONN_TLS_CERTIFICATE;
        return HTTP_CONN_TLS;
    case CURLE_PROXY:
        return HTTP_CONN_PROXY;
    default:
        return HTTP_CONN_OTHER;
    }
}

/* True for failures that happen before any request byte can have been written. */
static bool
error_before_send(CURL *h, CURLcode rc)
{
    curl_off_t pretransfer = 0;
    long request_size = 0;

    switch (rc) {
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CLIENTCERT:
    case CURLE_PROXY:
        return true;
    case CURLE_OPERATION_TIMEDOUT:
        /* A timeout during connect or the TLS handshake: the transfer phase, in which the request
         * is written, had not begun. */
        if (curl_easy_getinfo(h, CURLINFO_PRETRANSFER_TIME_T, &pretransfer) != CURLE_OK ||
            curl_easy_getinfo(h, CURLINFO_REQUEST_SIZE, &request_size) != CURLE_OK)
            return false;
        return pretransfer == 0 && request_size == 0;
    default:
        return false;
    }
}

static void
xfer_finish(struct http_xfer *x, CURLcode rc)
{
    struct http_response *r = &x->resp;
    double total = 0;

    if (curl_easy_getinfo(x->easy, CURLINFO_TOTAL_TIME, &total) == CURLE_OK)
        r->total_time_s = total;
    if (rc == CURLE_OK) {
        long status = 0;
        (void)curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
        r->outcome = HTTP_ANSWERED;
        r->conn_error = HTTP_CONN_NONE;
        r->status = status;
        r->error[0] = '\0';
        return;
    }
    r->status = 0;
    if (x->too_large || rc == CURLE_FILESIZE_EXCEEDED) {
        r->outcome = HTTP_TOO_LARGE;
        buf_reset(&r->body); /* never hand a partial body to a parser */
    } else if (error_before_send(x->easy, rc)) {
        r->outcome = HTTP_NOT_SENT;
    } else {
        r->outcome = HTTP_AMBIGUOUS;
    }
    printable_copy(r->error, sizeof(r->error),
                   span_cstr(x->oom         ? "out of memory reading the response"
                             : x->errbuf[0] ? x->errbuf
                                            : curl_easy_strerror(rc)));
    r->conn_error = x->oom || r->outcome == HTTP_TOO_LARGE ? HTTP_CONN_NONE
                                                           : conn_error_of(x->easy, rc, r->error);
}

/* ---- blocking ---- */

enum haf_err
http_perform(struct http_client *c, const struct http_request *req, struct http_response *resp)
{
    struct http_xfer x;
    CURLcode rc;
    enum haf_err e;

    if (c == NULL || req == NULL || resp == NULL)
        return HAF_EINVAL;
    if (c->replay != NULL)
        return http_replay_perform(c->replay, c, req, resp);
    memset(&x, 0, sizeof(x));
    x.client = c;
    x.easy = c->blocking;
    http_response_init(&x.resp);
    curl_easy_reset(c->blocking);
    e = xfer_setup(c, &x, req);
    if (e != HAF_OK)
        goto out;
    rc = curl_easy_perform(c->blocking);
    if (x.oom) {
        e = HAF_ENOMEM;
        goto out;
    }
    xfer_finish(&x, rc);
    http_response_clean_up(resp);
    *resp = x.resp;
    http_response_init(&x.resp); /* ownership of the body moved to *resp */
out:
    /* The handle keeps pointers to x's header list and buffers: drop them before x goes. */
    curl_easy_reset(c->blocking);
    headers_free(x.headers);
    http_response_clean_up(&x.resp);
    return e;
}

void
http_client_set_replay(struct http_client *c, struct http_replay *r)
{
    if (c)
        c->replay = r;
}

/* ---- asynchronous ---- */

enum haf_err
http_submit(struct http_client *c, const struct http_request *req, http_done_fn done, void *arg)
{
    struct http_xfer *x;
    enum haf_err e;

    if (c == NULL || req == NULL || done == NULL || c->closing)
        return HAF_EINVAL;
    x = calloc(1, sizeof(*x));
    if (x == NULL)
        return HAF_ENOMEM;
    x->client = c;
    x->done = done;
    x->arg = arg;
    http_response_init(&x->resp);
    if (c->n_pool > 0) {
        x->easy = c->pool[--c->n_pool];
        curl_easy_reset(x->easy);
    } else {
        x->easy = curl_easy_init();
    }
    if (x->easy == NULL) {
        e = HAF_ENOMEM;
        goto fail;
    }
    e = xfer_setup(c, x, req);
    if (e != HAF_OK)
        goto fail;
    if (curl_multi_add_handle(c->multi, x->easy) != CURLM_OK) {
        e = HAF_EHTTP;
        goto fail;
    }
    x->next = c->active;
    c->active = x;
    c->n_active++;
    return HAF_OK;
fail:
    if (x->easy)
        curl_easy_cleanup(x->easy);
    xfer_free(x);
    return e;
}

static void
easy_release(struct http_client *c, CURL *easy)
{
    if (c->n_pool < HTTP_POOL_MAX) {
        curl_easy_reset(easy);
        c->pool[c->n_pool++] = easy;
    } else {
        curl_easy_cleanup(easy);
    }
}

static void
active_unlink(struct http_client *c, struct http_xfer *x)
{
    for (struct http_xfer **pp = &c->active; *pp; pp = &(*pp)->next) {
        if (*pp == x) {
            *pp = x->next;
            c->n_active--;
            return;
        }
    }
}

enum haf_err
http_poll(struct http_client *c, struct http_waitfd *fds, size_t n, int timeout_ms)
{
    struct curl_waitfd stack[HTTP_POLL_FDS_STACK];
    struct curl_waitfd *w = stack;
    enum haf_err e = HAF_OK;
    CURLMcode mc;
    int numfds = 0;

    if (c == NULL || (n > 0 && fds == NULL) || n > (size_t)1 << 16)
        return HAF_EINVAL;
    if (n > HTTP_POLL_FDS_STACK) {
        w = calloc(n, sizeof(*w));
        if (w == NULL)
            return HAF_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        w[i].fd = fds[i].fd;
        w[i].events = (short)(((fds[i].events & POLLIN) ? CURL_WAIT_POLLIN : 0) |
                              ((fds[i].events & POLLPRI) ? CURL_WAIT_POLLPRI : 0) |
                              ((fds[i].events & POLLOUT) ? CURL_WAIT_POLLOUT : 0));
        w[i].revents = 0;
    }
    mc = curl_multi_poll(c->multi, w, (unsigned)n, timeout_ms, &numfds);
    if (mc != CURLM_OK) {
        /* A signal interrupting the wait is not a failure: the loop just goes round. */
        e = (mc == CURLM_UNRECOVERABLE_POLL && errno == EINTR) ? HAF_OK : HAF_EHTTP;
        for (size_t i = 0; i < n; i++)
            fds[i].revents = 0;
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        fds[i].revents = (short)(((w[i].revents & CURL_WAIT_POLLIN) ? POLLIN : 0) |
                                 ((w[i].revents & CURL_WAIT_POLLPRI) ? POLLPRI : 0) |
                                 ((w[i].revents & CURL_WAIT_POLLOUT) ? POLLOUT : 0));
out:
    if (w != stack)
        free(w);
    return e;
}

enum haf_err
http_run(struct http_client *c)
{
    int running = 0, left = 0;
    CURLMsg *msg;

    if (c == NULL)
        return HAF_EINVAL;
    if (curl_multi_perform(c->multi, &running) != CURLM_OK)
        return HAF_EHTTP;
    while ((msg = curl_multi_info_read(c->multi, &left)) != NULL) {
        struct http_xfer *x = NULL;
        if (msg->msg != CURLMSG_DONE)
            continue;
        if (curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x) != CURLE_OK ||
            x == NULL)
            continue;
        xfer_finish(x, msg->data.result);
        /* Finish with curl before the callback runs: it may submit new requests. */
        (void)curl_multi_remove_handle(c->multi, x->easy);
        active_unlink(c, x);
        easy_release(c, x->easy);
        x->easy = NULL;
        x->done(x->arg, &x->resp);
        xfer_free(x);
    }
    return HAF_OK;
}

size_t
http_in_flight(const struct http_client *c)
{
    return c ? c->n_active : 0;
}

void
http_wakeup(struct http_client *c)
{
    if (c)
        (void)curl_multi_wakeup(c->multi);
}

bool
http_parse_date(const char *date, int64_t *ms)
{
    time_t t;

    if (date == NULL || date[0] == '\0')
        return false;
    t = curl_getdate(date, NULL);
    if (t == (time_t)-1 || t < 0 || (int64_t)t > INT64_MAX / 1000)
        return false;
    *ms = (int64_t)t * 1000;
    return true;
}
