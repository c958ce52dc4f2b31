/*
 * health.c: one Embedded Metric Format record of the daemon's health (health.h).
 *
 * The record is written by hand through the one JSON writer (json_write.c) rather than built as a
 * jansson tree: it is small, its member order is fixed (health_is_record relies on "_aws" coming
 * first), and its only strings (host, namespace) go through json_write_string. The metric table
 * below is the single list of names and units: the record, the docs and the alarm use these
 * names. Pure: no I/O, no logging.
 */
#include "haf/health.h"

#include <inttypes.h>
#include <string.h>

#include "haf/json_write.h"

#define EMF_DIMENSION_VALUE_MAX 1024 /* CloudWatch Dimension.Value: 1..1024 */
#define EMF_NAMESPACE_MAX       255  /* CloudWatch namespaces: 1..255 */

static const struct {
    const char *name;
    const char *unit; /* one of CloudWatch's StandardUnit values */
} metrics[HEALTH_N_METRICS] = {
    [HEALTH_ENTRIES_SHIPPED] = {"EntriesShipped", "Count"},
    [HEALTH_PENDING_BYTES] = {"PendingBytes", "Bytes"},
    [HEALTH_OLDEST_UNACKED_AGE] = {"OldestUnackedAgeSeconds", "Seconds"},
    [HEALTH_RETRIES] = {"Retries", "Count"},
    [HEALTH_SEQUENCE_GAPS] = {"SequenceGaps", "Count"},
    [HEALTH_PARSE_ERRORS] = {"ParseErrors", "Count"},
    [HEALTH_FILES_LOST] = {"FilesLost", "Count"},
    [HEALTH_DIGESTS_SHIPPED] = {"DigestsShipped", "Count"},
    [HEALTH_RECORDS_DROPPED] = {"HealthRecordsDropped", "Count"},
};

const char *
health_metric_name(enum health_metric m)
{
    return (unsigned)m < HEALTH_N_METRICS ? metrics[m].name : "?";
}

const char *
health_metric_unit(enum health_metric m)
{
    return (unsigned)m < HEALTH_N_METRICS ? metrics[m].unit : "?";
}

enum haf_err
health_record_json(const struct health_sample *s, struct buf *out)
{
    size_t old = out->len;
    size_t host_len = s->host_dimension ? strlen(s->host_dimension) : 0;
    size_t ns_len = s->metric_namespace ? strlen(s->metric_namespace) : 0;
    enum haf_err e;

    if (host_len == 0 || host_len > EMF_DIMENSION_VALUE_MAX || ns_len == 0 ||
        ns_len > EMF_NAMESPACE_MAX)
        return HAF_EINVAL;
    e = buf_addf(out, HEALTH_RECORD_PREFIX "\"Timestamp\":%" PRId64 ",\"CloudWatchMetrics\":[{",
                 s->time_ms);
    if (e == HAF_OK)
        e = buf_adds(out, "\"Namespace\":");
    if (e == HAF_OK)
        e = json_write_string(out, span_make(s->metric_namespace, ns_len));
    if (e == HAF_OK)
        e = buf_adds(out, ",\"Dimensions\":[[\"Host\"]],\"Metrics\":[");
    for (size_t i = 0; i < HEALTH_N_METRICS && e == HAF_OK; i++)
        e = buf_addf(out, "%s{\"Name\":\"%s\",\"Unit\":\"%s\"}", i ? "," : "", metrics[i].name,
                     metrics[i].unit);
    if (e == HAF_OK)
        e = buf_adds(out, "]}]},\"Host\":");
    if (e == HAF_OK)
        e = json_write_string(out, span_make(s->host_dimension, host_len));
    for (size_t i = 0; i < HEALTH_N_METRICS && e == HAF_OK; i++)
        e = buf_addf(out, ",\"%s\":%" PRIu64, metrics[i].name, s->values[i]);
    if (e == HAF_OK)
        e = buf_addf(out, ",\"IntervalSeconds\":%" PRIu32 "}", s->interval_s);
    if (e != HAF_OK) {
        out->len = old;
        if (out->p)
            out->p[old] = '\0';
    }
    return e;
}

bool
health_is_record(struct span msg)
{
    return span_starts_with(msg, span_cstr(HEALTH_RECORD_PREFIX));
}
