/*
 * http_replay.h: running code written as a sequence of blocking HTTP calls (the credential
 * providers: IMDS token, role, credentials; the container endpoint; STS) from the event loop
 * without blocking it.
 *
 * While a replay is attached to a client (http_replay_begin .. http_replay_end), http_perform()
 * does not block: the k-th call of the run is answered from the k-th recorded answer when the
 * request is the same (method, URL and body); the first call without an answer is submitted on
 * the client's multi handle (its own timeout and proxy rule, as given) and answered, as every
 * later call of the run, with HTTP_NOT_SENT "deferred". The caller throws that run's result away
 * and runs the same code again once the answer is in (http_replay_busy turns false): each run gets
 * one call further. A run that completes without a deferred call forgets the answers, so the next
 * run starts afresh. The code replayed must be deterministic given its answers (it may read files
 * and the clock: a signed request is matched by method, URL and body, not by its date).
 *
 * Answers may hold secrets (credentials): they are wiped when forgotten.
 */
#ifndef HAF_HTTP_REPLAY_H
#define HAF_HTTP_REPLAY_H

#include <stdbool.h>

#include "haf/err.h"
#include "haf/http.h"

#define HTTP_REPLAY_MAX_CALLS 16 /* per run; more end as HTTP_NOT_SENT */

struct http_replay;

HAF_MUST_USE struct http_replay *http_replay_new(void);
/* A call in flight is let go: its answer is dropped when it comes. */
void http_replay_free(struct http_replay *r);

/* Start a run: until http_replay_end, http_perform on c answers from r. */
void http_replay_begin(struct http_replay *r, struct http_client *c);
/* End the run. True when it completed (no call was deferred); false when a call is in flight or
 * its answer waits for the next run. */
bool http_replay_end(struct http_replay *r, struct http_client *c);
/* A deferred call is in flight. */
bool http_replay_busy(const struct http_replay *r);

/* For http.c: attach r to c (NULL detaches); http_perform calls http_replay_perform while one is
 * attached. */
void http_client_set_replay(struct http_client *c, struct http_replay *r);
HAF_MUST_USE enum haf_err http_replay_perform(struct http_replay *r, struct http_client *c,
                                              const struct http_request *req,
                                              struct http_response *resp);

#endif
