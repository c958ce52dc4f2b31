/*
 * report_internal.h: the small appender the text and HTML renderings share (src/report_escape.c):
 * a struct buf and a sticky error, so each rendering reads as a flat list of writes and returns
 * the first failure at the end.
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

#endif
