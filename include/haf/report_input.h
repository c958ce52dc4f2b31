/*
 * report_input.h: what `report` reads, turned into audit entries for the aggregation: the raw
 * text CloudHSM delivers (one entry per CloudWatch event, or audit files), our own JSON events
 * (`parse` output, or read back from our log groups), our sequence_gap / reboot_counter_change
 * markers, and CloudHSM's certificate-storage JSON events.
 *
 * A JSON event is turned back into a struct haf_entry from its fields (the schema audit_format.c
 * writes), so that the raw text and the JSON of the same entries give the same report. Strings
 * may hold U+0000 (JSON_ALLOW_NUL); the aggregation stores them sanitized.
 */
#ifndef HAF_REPORT_INPUT_H
#define HAF_REPORT_INPUT_H

#include <stdint.h>

#include "haf/err.h"
#include "haf/report.h"
#include "haf/span.h"

/* One CloudWatch event message from stream `hsm` with CloudWatch timestamp event_ms: a JSON
 * object (our event, a marker, a certificate-storage event) when it starts with '{' and parses,
 * else audit text (zero or more entries; text that is no entry is counted flagged). HAF_ENOMEM. */
HAF_MUST_USE enum haf_err report_feed_message(struct report *r, struct span hsm, int64_t event_ms,
                                              struct span msg);

/*
 * The bytes of one file, in any chunking: NDJSON of our events when the first non-blank byte is
 * '{' (one event per line; a line over 4 MiB counts as unreadable), else audit text through the
 * incremental parser (which also takes the "<ISO time> " prefix of an S3 export). `hsm` (copied)
 * names the HSM for entries that carry no hsm_id. report_feeder_end flushes and frees.
 */
struct report_feeder;
HAF_MUST_USE struct report_feeder *report_feeder_new(struct report *r, struct span hsm);
HAF_MUST_USE enum haf_err report_feeder_add(struct report_feeder *f, const char *p, size_t len);
HAF_MUST_USE enum haf_err report_feeder_end(struct report_feeder *f);

/*
 * A whole file (fd, read to EOF in 1 MiB chunks) through a feeder: NDJSON of our events when its
 * first non-blank byte is '{' (one event per line; a line over 4 MiB counts as unreadable), else
 * audit text through the incremental parser. `hsm` names the HSM for entries that carry no hsm_id.
 * HAF_EIO (errno kept) on a read error, HAF_ENOMEM.
 */
HAF_MUST_USE enum haf_err report_feed_fd(struct report *r, int fd, struct span hsm);

#endif
