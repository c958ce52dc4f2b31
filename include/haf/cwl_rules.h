/*
 * cwl_rules.h: what to do about each class of CloudWatch answer, as one table.
 *
 * cwl_classify() (cwl.h) sorts every answer into an enum cwl_class; this table says, per class,
 * whether the events were delivered, whether and how soon to send again, and which repairs come
 * first: fresh credentials, a corrected clock, a read-back of the stream, creating the group and
 * stream. The client (cwl.c) applies the repairs that concern it (credentials, clock) from this
 * table for every operation, and the daemon's delivery (deliver.c) applies the rest; nobody else
 * decides. Pure data; the table is checked class by class in tests/unit/test_cwl_rules.c.
 */
#ifndef HAF_CWL_RULES_H
#define HAF_CWL_RULES_H

#include <stdbool.h>

#include "haf/cwl.h"

enum cwl_backoff {
    CWL_BACKOFF_NONE,     /* delivered: nothing to wait for */
    CWL_BACKOFF_SHORT,    /* full jitter, base 250 ms doubling, capped at 2 s */
    CWL_BACKOFF_LONG,     /* full jitter, base 250 ms doubling, capped at 30 s */
    CWL_BACKOFF_SLOW,     /* a flat minute (a second under --once): needs an operator */
    CWL_BACKOFF_READBACK, /* the 2 s CloudWatch needs before accepted events are readable */
};

struct cwl_rule {
    enum cwl_class cls;
    bool delivered; /* the events are in the stream: account them */
    bool retry;     /* send again after the backoff */
    enum cwl_backoff backoff;
    bool invalidate_creds; /* fetch fresh credentials before the next request (cwl.c) */
    bool fix_clock;        /* sign with the server's clock from the answer's Date (cwl.c) */
    bool read_back;        /* the outcome is unknown: read the stream back before resending */
    bool recreate;         /* create the log group and stream before resending */
    bool loud;             /* an operator must act: logged at error, --once gives up early */
};

/* The rule for a class; never NULL (an unknown class gets the rule of CWL_RETRY). */
const struct cwl_rule *cwl_rule_of(enum cwl_class cls);

#endif
