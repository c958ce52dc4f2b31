/*
 * http.h: the only module that includes <curl/curl.h>.
 *
 * One client holds a curl multi handle (for the event loop: requests run concurrently and the loop
 * sleeps in curl_multi_poll together with our own fds) and a reusable easy handle for the
 * blocking calls of the command-line tools and of setup (region, instance id). The daemon's loop
 * makes none: its credential fetches go through http_replay.h. Connections are kept alive and
 * reused. TLS verification is on unless the options turn it off. Response bodies are read into a
 * capped buffer: a hostile server cannot make us allocate without bound, and a slow drip ends at
 * the total timeout.
 */
#ifndef HAF_HTTP_H
#define HAF_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "haf/buf.h"
#include "haf/err.h"

#define HTTP_DEFAULT_CONNECT_TIMEOUT_MS 5000
#define HTTP_DEFAULT_TIMEOUT_MS         30000
#define HTTP_DEFAULT_MAX_RESPONSE_BYTES (4u << 20)

struct http_opts {
    const char *ca_file; /* NULL: system default */
    bool verify;         /* TLS peer and host verification */
    const char *proxy;   /* NULL: libcurl's HTTPS_PROXY / NO_PROXY handling */
    long connect_timeout_ms;
    long timeout_ms;
    size_t max_response_bytes;
};

struct http_header {
    const char *name;
    const char *value;
};

struct http_request {
    const char *method; /* "GET", "PUT", "POST" */
    const char *url;
    const struct http_header *headers;
    size_t n_headers;
    const char *body; /* not copied: must stay valid until the request completes */
    size_t body_len;
    long timeout_ms; /* 0: the client's default */
    bool no_proxy;   /* link-local metadata endpoints must never go through a proxy; loopback
                      * URLs (url_host_is_loopback) never do, whatever this says */
};

enum http_outcome {
    HTTP_ANSWERED,  /* a complete HTTP response; see status */
    HTTP_NOT_SENT,  /* failed before the request could have reached the server (DNS, connect, TLS
                       handshake): safe to resend */
    HTTP_AMBIGUOUS, /* the request may have been received but no complete answer came (timeout,
                       reset after sending, truncated body) */
    HTTP_TOO_LARGE, /* the answer exceeded max_response_bytes */
};

/* Why a request was not answered, named for the person reading the log: a TLS certificate the
 * trust store does not accept, a certificate for another host name, a refused connection, a
 * timeout... (curl's own text stays in http_response.error). */
enum http_conn_error {
    HTTP_CONN_NONE,            /* answered, or nothing more specific is known */
    HTTP_CONN_DNS,             /* the host (or proxy) name does not resolve */
    HTTP_CONN_REFUSED,         /* connection refused */
    HTTP_CONN_TIMEOUT,         /* no connection or answer in time */
    HTTP_CONN_TLS_CERTIFICATE, /* the server's certificate is not trusted (or the CA file bad) */
    HTTP_CONN_TLS_HOSTNAME,    /* the certificate is for another host name */
    HTTP_CONN_TLS,             /* the TLS handshake failed otherwise */
    HTTP_CONN_PROXY,           /* the proxy refused or failed */
    HTTP_CONN_OTHER,           /* reset, unreachable network, protocol refused... */
};

/* "TLS certificate not trusted", "connection refused", ...; never NULL. */
const char *http_conn_error_str(enum http_conn_error e);

struct http_response {
    enum http_outcome outcome;
    enum http_conn_error conn_error; /* HTTP_CONN_NONE when answered */
    long status;                     /* 0 unless HTTP_ANSWERED */
    struct buf body;
    char request_id[80];  /* x-amzn-RequestId */
    char error_type[160]; /* X-Amzn-Errortype, verbatim (not sanitized) */
    char date[64];        /* Date header, for clock-skew correction */
    char error[256];      /* transport error text when not answered */
    double total_time_s;
};

void http_response_init(struct http_response *r);
void http_response_clean_up(struct http_response *r);

struct http_client;

/* opts NULL: the defaults above with TLS verification on. Zero fields in opts take the defaults,
 * except `verify`, which is taken as given (set it true). */
HAF_MUST_USE struct http_client *http_client_new(const struct http_opts *opts);
/* Transfers still in flight get their done callback now, as HTTP_AMBIGUOUS ("cancelled"). */
void http_client_free(struct http_client *c);

/* Blocking. HAF_OK whenever an outcome was reached (check resp->outcome and status); whatever
 * *resp held before is freed and replaced. HAF_ENOMEM / HAF_EINVAL only for local failures (a
 * header name or value with CR/LF or other bytes that would change the request, a URL with
 * spaces, body_len without a body); *resp is then left as it was. GET and HEAD send no body;
 * every other method sends `body` (possibly empty) with Content-Length. No redirect is followed;
 * protocols other than http/https end as HTTP_NOT_SENT. */
HAF_MUST_USE enum haf_err http_perform(struct http_client *c, const struct http_request *req,
                                       struct http_response *resp);

/* ---- asynchronous, for the event loop ---- */

/* Called from http_run() when a submitted request completes; `resp` is owned by the client and
 * valid only during the call. */
typedef void (*http_done_fn)(void *arg, const struct http_response *resp);

/* Start a request; headers and url are copied, the body is not. Once HAF_OK is returned, done is
 * called exactly once (from http_run, or from http_client_free). */
HAF_MUST_USE enum haf_err http_submit(struct http_client *c, const struct http_request *req,
                                      http_done_fn done, void *arg);

struct http_waitfd {
    int fd;
    short events;  /* POLLIN ... */
    short revents; /* set on return */
};

/* Sleep until one of our transfers or one of `fds` has something to do, or timeout_ms passes,
 * or http_wakeup() is called. */
HAF_MUST_USE enum haf_err http_poll(struct http_client *c, struct http_waitfd *fds, size_t n,
                                    int timeout_ms);

/* Drive transfers and call the done callbacks of those that completed. */
HAF_MUST_USE enum haf_err http_run(struct http_client *c);

size_t http_in_flight(const struct http_client *c);
void http_wakeup(struct http_client *c);

/* Parse an RFC 7231 Date header into epoch ms; false when it is not one. */
bool http_parse_date(const char *date, int64_t *ms);

#endif
