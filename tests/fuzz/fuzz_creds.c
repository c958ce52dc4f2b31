/*
 * fuzz_creds.c: the credential document parsers of creds.c (src/creds_internal.h) on untrusted
 * bytes: shared INI files (credentials and config dialects), IMDS/ECS JSON, STS XML, ISO-8601
 * timestamps and container URLs. The first input byte picks the parser (mod 6), the rest is the
 * document. Every successful parse is checked for the invariants the signer relies on: a key id,
 * secret and token with no byte that could break an HTTP header.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "creds_internal.h"

static void
check_header_safe(const char *s)
{
    if (s == NULL)
        return;
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
            abort();
}

static void
check_doc(const struct creds_doc *d)
{
    if (d->access_key_id == NULL || d->secret_access_key == NULL || d->session_token == NULL)
        abort();
    check_header_safe(d->access_key_id);
    check_header_safe(d->secret_access_key);
    check_header_safe(d->session_token);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct span s;
    struct creds_doc d = {0};
    struct creds_ini ini = {0};
    char why[160], code[64];
    int64_t ms;

    if (size == 0)
        return 0;
    s = span_make((const char *)data + 1, size - 1);
    switch (data[0] % 6) {
    case 0:
        if (creds_parse_ini(s, "default", false, &ini) == HAF_OK && ini.access_key_id &&
            strlen(ini.access_key_id) > CREDS_INI_MAX_LINE)
            abort();
        creds_ini_clean_up(&ini);
        break;
    case 1:
        /* The config dialect, then the credentials dialect over the same result. */
        if (creds_parse_ini(s, "prod", true, &ini) == HAF_OK &&
            creds_parse_ini(s, "prod", false, &ini) == HAF_OK && !ini.found &&
            (ini.access_key_id || ini.region))
            abort(); /* values without a matching section */
        creds_ini_clean_up(&ini);
        break;
    case 2:
        if (creds_parse_json(s, &d, why, sizeof(why)) == HAF_OK)
            check_doc(&d);
        creds_doc_clean_up(&d);
        break;
    case 3:
        if (creds_parse_sts_xml(s, &d, code, sizeof(code)) == HAF_OK)
            check_doc(&d);
        check_header_safe(code);
        creds_doc_clean_up(&d);
        break;
    case 4:
        if (creds_parse_iso8601(s, &ms) &&
            (ms < -62167219200000LL - 86400000LL || ms > 253402387200000LL))
            abort(); /* outside years 0000..9999 plus a day of offset */
        break;
    default: {
        char *url = malloc(s.len + 1);
        if (url == NULL)
            return 0;
        memcpy(url, s.p, s.len);
        url[s.len] = '\0';
        (void)creds_container_url_allowed(url);
        free(url);
        break;
    }
    }
    return 0;
}
