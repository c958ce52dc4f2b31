/*
 * report_internal.h: pieces shared inside the report: the small appender of the text and HTML
 * renderings (src/report_escape.c: a struct buf and a sticky error, so each rendering reads as a
 * flat list of writes and returns the first failure at the end), and the scanner of our JSON
 * event messages (src/report_event.c).
 */
#ifndef HAF_REPORT_INTERNAL_H
#define HAF_REPORT_INTERNAL_H

#include "haf/report.h"

struct report_out {
    struct buf *b;
    enum haf_err err; /* the first failure; later writes do nothing */
};

void report_out_printf(struct report_out *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void report_out_lit(struct report_out *w, const char *s);
/* A value from the logs, through report_escape(); "" is written as `empty`. */
void report_out_name(struct report_out *w, const char *s, bool html, const char *empty);

/* What report_event_scan() found in one JSON message. Spans point into the scratch buffer. */
struct report_event {
    struct haf_entry entry; /* our event's fields; entry.present says which */
    struct span event;      /* "event" (our markers: sequence_gap, reboot_counter_change) */
    bool has_event;
    struct span op_code; /* certificate-storage event ("op_code" member present) */
    bool has_op_code;
    struct span response_str; /* a string "response" (certificate-storage events) */
    uint64_t timestamp_ms;    /* "timestamp" */
    bool has_timestamp;
    struct span hsm_id;
    struct span parse_error;
    bool has_parse_error;
};

/* Scan one JSON object (RFC 8259; see src/report_event.c for what is kept and how). false when
 * the message is not exactly one JSON object (or scratch cannot grow); *ev is then unspecified.
 * scratch is reset and reused: the spans live until its next use. */
bool report_event_scan(struct span msg, struct buf *scratch, struct report_event *ev);

#endif
