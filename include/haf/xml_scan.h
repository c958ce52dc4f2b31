/*
 * xml_scan.h: the bounded scanner for the few XML documents we read (STS answers, the XML
 * error documents of query-protocol services and moto's IAM layer).
 *
 * Not an XML parser, by design: we read a handful of leaf elements of fixed, attribute-free
 * answers, which a scan for "<Tag>" ... "</Tag>" on a span does without a library, without
 * entity expansion, DTDs or namespaces. Pure; works on untrusted bytes (NULs included).
 */
#ifndef HAF_XML_SCAN_H
#define HAF_XML_SCAN_H

#include <stdbool.h>
#include <stddef.h>

#include "haf/err.h"
#include "haf/span.h"

/* The inner text of the first <tag>...</tag> in s (the tag written without attributes), in
 * *inner (borrowed from s). False when there is none, or tag is longer than 60 bytes. */
bool xml_scan_element(struct span s, const char *tag, struct span *inner);

/*
 * Text content, trimmed, with the five predefined entities decoded, into a new NUL-terminated
 * string (*out, caller frees; wipe it when it held a secret). HAF_EPARSE for other markup,
 * other entities or a NUL byte, HAF_ETOOLONG past max bytes, HAF_ENOMEM. The scratch buffer is
 * wiped. *out is written only on success.
 */
HAF_MUST_USE enum haf_err xml_scan_text(struct span s, size_t max, char **out);

#endif
