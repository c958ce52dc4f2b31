/*
 * digest_name.c: the names of digest streams and the data stream names that have their form
 * (digest_name.h).
 *
 * digest.log_stream is "P{stream}S": the digest stream of data stream N is P N S. A data stream
 * named like that, in the digest streams' group, would be one stream with two roles (its digest
 * records never recognised as acknowledged, so sent again at every start). Renaming is
 * deterministic, so a file maps to the same stream at every start and in every state file: one
 * of two fixed suffixes (or prefixes when S is empty) whose last (first) characters differ, so
 * at least one breaks the form whatever S (P) ends (starts) with.
 */
#include "haf/digest_name.h"

#include <string.h>

#include "haf/streamname.h"
#include "haf/utf8.h"

#define DIGEST_NAME_PLACEHOLDER "{stream}"

bool
digest_name_match(const char *tmpl, const char *name)
{
    const char *at = strstr(tmpl, DIGEST_NAME_PLACEHOLDER);
    size_t plen, slen, nlen = strlen(name);
    const char *suffix;

    if (at == NULL)
        return false;
    plen = (size_t)(at - tmpl);
    suffix = at + strlen(DIGEST_NAME_PLACEHOLDER);
    slen = strlen(suffix);
    return nlen > plen + slen && strncmp(name, tmpl, plen) == 0 &&
           memcmp(name + nlen - slen, suffix, slen) == 0;
}

enum haf_err
digest_name_unreserve(const char *tmpl, struct buf *name, bool *changed)
{
    static const char *const suffixes[] = {".data", ".data_"};
    static const char *const prefixes[] = {"data.", "_data."};
    const char *at = strstr(tmpl, DIGEST_NAME_PLACEHOLDER);
    bool append;
    struct buf out;
    enum haf_err e = HAF_EINVAL;

    *changed = false;
    if (!digest_name_match(tmpl, buf_cstr(name)))
        return HAF_OK;
    append = at[strlen(DIGEST_NAME_PLACEHOLDER)] != '\0';
    if (!append && at == tmpl)
        return HAF_EINVAL; /* "{stream}": every name has its form */
    buf_init(&out, 0);
    for (size_t i = 0; i < 2 && e != HAF_OK; i++) {
        const char *fix = append ? suffixes[i] : prefixes[i];
        size_t keep = utf8_cut(name->p, name->len, STREAMNAME_MAX_BYTES - strlen(fix));

        buf_reset(&out);
        if ((!append && buf_adds(&out, fix) != HAF_OK) || buf_add(&out, name->p, keep) != HAF_OK ||
            (append && buf_adds(&out, fix) != HAF_OK)) {
            e = HAF_ENOMEM;
            break;
        }
        if (!digest_name_match(tmpl, buf_cstr(&out)))
            e = HAF_OK;
    }
    if (e == HAF_OK) {
        buf_reset(name);
        e = buf_add(name, out.p, out.len);
        *changed = e == HAF_OK;
    }
    buf_clean_up(&out);
    return e;
}
