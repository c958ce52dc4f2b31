/*
 * cwl_rules.c: the table of what to do about each class of CloudWatch answer (see cwl_rules.h).
 *
 * Decisions a reader may question:
 * - InvalidSequenceTokenException (legacy endpoints) backs off like every other retry: resent at
 *   once, an endpoint that keeps answering it drew 137 requests in 6 s (issue 10).
 * - Access denied invalidates the credentials: a key rotated under us (IMDS, a container, a
 *   rewritten credentials file) reads as UnrecognizedClient or AccessDenied, and a fetch costs
 *   one request per minute at the slow backoff.
 * - ResourceAlreadyExists answering a PutLogEvents makes no sense; it is retried as a fault.
 */
#include "haf/cwl_rules.h"

#include <stddef.h>

static const struct cwl_rule rules[] = {
    {.cls = CWL_OK, .delivered = true, .backoff = CWL_BACKOFF_NONE},
    {.cls = CWL_DATA_ALREADY_ACCEPTED, .delivered = true, .backoff = CWL_BACKOFF_NONE},
    {.cls = CWL_RETRY, .retry = true, .backoff = CWL_BACKOFF_LONG},
    {.cls = CWL_ALREADY_EXISTS, .retry = true, .backoff = CWL_BACKOFF_LONG},
    {.cls = CWL_AMBIGUOUS, .retry = true, .backoff = CWL_BACKOFF_READBACK, .read_back = true},
    {.cls = CWL_REFRESH_CREDS,
     .retry = true,
     .backoff = CWL_BACKOFF_SHORT,
     .invalidate_creds = true},
    {.cls = CWL_CLOCK_SKEW, .retry = true, .backoff = CWL_BACKOFF_SHORT, .fix_clock = true},
    {.cls = CWL_NOT_FOUND, .retry = true, .backoff = CWL_BACKOFF_SHORT, .recreate = true},
    {.cls = CWL_ACCESS_DENIED,
     .retry = true,
     .backoff = CWL_BACKOFF_SLOW,
     .invalidate_creds = true,
     .loud = true},
    {.cls = CWL_INVALID, .retry = true, .backoff = CWL_BACKOFF_SLOW, .loud = true},
    {.cls = CWL_INVALID_SEQUENCE_TOKEN, .retry = true, .backoff = CWL_BACKOFF_SHORT},
};

const struct cwl_rule *
cwl_rule_of(enum cwl_class cls)
{
    for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
        if (rules[i].cls == cls)
            return &rules[i];
    return &rules[2]; /* CWL_RETRY */
}
