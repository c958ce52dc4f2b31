/*
 * audit_position.c: reading back the HSM position of an entry we formatted as JSON (format:
 * json), from the message as CloudWatch stores it. The read-back after an unknown outcome
 * (readback.c) and verify (verify_feed.c) both match events by this (reboot_counter,
 * sequence_no), so they share this one reader. The message is untrusted (anyone with
 * PutLogEvents on the stream can write one): duplicate keys, negative or huge numbers and
 * non-integer values give no position.
 */
#include <jansson.h>

#include "haf/audit.h"

bool
audit_json_position(struct span msg, uint64_t *reboot, uint64_t *seq)
{
    json_t *root, *r, *q;
    bool ok;

    if (msg.len == 0 || msg.p[0] != '{')
        return false;
    root = json_loadb(msg.p, msg.len, JSON_REJECT_DUPLICATES, NULL);
    r = json_object_get(root, "reboot_counter");
    q = json_object_get(root, "sequence_no");
    ok = json_is_integer(r) && json_is_integer(q) && json_integer_value(r) >= 0 &&
         json_integer_value(q) >= 0 && json_object_get(root, "event") == NULL &&
         json_object_get(root, "parse_error") == NULL;
    if (ok) {
        *reboot = (uint64_t)json_integer_value(r);
        *seq = (uint64_t)json_integer_value(q);
    }
    json_decref(root);
    return ok;
}
