/*
 * health.h: the daemon's health as one CloudWatch Embedded Metric Format (EMF) record.
 *
 * A record is a JSON object whose "_aws" member tells CloudWatch Logs to turn the named root
 * members into metrics (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/
 * CloudWatch_Embedded_Metric_Format_Specification.html; docs/health.md lists the rules relied
 * on): "_aws" holds Timestamp (epoch ms) and CloudWatchMetrics, one directive with the
 * namespace, one dimension set [["Host"]] and the metric definitions of enum health_metric (9 of
 * the spec's 100 at most); the root holds "Host" and one number per metric, plus
 * "IntervalSeconds" (not a metric). Counts are for the interval the record closes; gauges are
 * the values at its end.
 *
 * health_record_json writes "_aws" first, so health_is_record can recognise this daemon's
 * records by their first bytes (verify and report skip them). Pure: no I/O, no logging.
 */
#ifndef HAF_HEALTH_H
#define HAF_HEALTH_H

#include <stdbool.h>
#include <stdint.h>

#include "haf/buf.h"
#include "haf/err.h"
#include "haf/span.h"

/* The metrics, in the order they are written. */
enum health_metric {
    HEALTH_ENTRIES_SHIPPED,    /* Count: events acknowledged on audit streams in the interval */
    HEALTH_PENDING_BYTES,      /* Bytes: file bytes not yet acknowledged (unread included) */
    HEALTH_OLDEST_UNACKED_AGE, /* Seconds: age of the oldest event read and not acknowledged */
    HEALTH_RETRIES,            /* Count: PutLogEvents attempts after a failure */
    HEALTH_SEQUENCE_GAPS,      /* Count: HSM sequence gaps found */
    HEALTH_PARSE_ERRORS,       /* Count: entries shipped flagged with parse_error */
    HEALTH_FILES_LOST,         /* Count: checkpointed files with unread bytes not found */
    HEALTH_DIGESTS_SHIPPED,    /* Count: digest records acknowledged */
    HEALTH_RECORDS_DROPPED,    /* Count: health records not queued (health stream backlog) */
    HEALTH_N_METRICS
};

/* The first bytes of every record health_record_json writes. */
#define HEALTH_RECORD_PREFIX "{\"_aws\":{"

struct health_sample {
    int64_t time_ms;              /* the record's Timestamp (wall clock, epoch ms) */
    uint32_t interval_s;          /* health.interval_s */
    const char *host_dimension;   /* the Host dimension's value: 1..1024 bytes */
    const char *metric_namespace; /* 1..255 bytes (config.c checked the characters) */
    uint64_t values[HEALTH_N_METRICS];
};

/* The metric's Name and Unit as written in the record. */
const char *health_metric_name(enum health_metric m);
const char *health_metric_unit(enum health_metric m);

/* Appends the record for s to out (out is left as it was on failure). HAF_EINVAL when the host
 * or the namespace is empty or too long (EMF: dimension values 1..1024, namespaces 1..255);
 * HAF_ENOMEM / HAF_ETOOLONG from the buffer. */
HAF_MUST_USE enum haf_err health_record_json(const struct health_sample *s, struct buf *out);

/* Whether a log event's message is a record written by health_record_json (by its first bytes:
 * a cheap test for verify and report, which must not take health records for audit data). */
bool health_is_record(struct span msg);

#endif
