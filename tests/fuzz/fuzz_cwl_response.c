/*
 * fuzz_cwl_response.c: cwl_classify over arbitrary answers. The input is laid out as
 *
 *   byte 0-1  HTTP status, big-endian (any value, also 0 and > 599)
 *   byte 2    outcome selector (value % 4: answered, not sent, ambiguous, too large)
 *   then      X-Amzn-Errortype value up to the first '\n', Date value up to the next '\n',
 *             and the rest is the body (bytes, NULs allowed)
 *
 * The header fields are filled as http.c would (bounded, NUL-terminated); the body is a struct
 * buf of exactly the remaining bytes. Beyond "no crash, no leak, no UB", the target checks the
 * invariants callers rely on: every output string is NUL-terminated printable ASCII, the class is
 * in range, and transport failures never classify as CWL_OK.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "haf/cwl.h"
#include "haf/http.h"

static void
fill(char *dst, size_t dst_len, const uint8_t *p, size_t n)
{
    size_t k = n < dst_len - 1 ? n : dst_len - 1;

    memcpy(dst, p, k);
    dst[k] = '\0';
}

static void
check_printable(const char *s, size_t cap)
{
    size_t n = strnlen(s, cap);

    if (n == cap)
        abort();
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
            abort();
}

static const uint8_t *
take_line(const uint8_t **p, size_t *len, size_t *line_len)
{
    const uint8_t *start = *p;
    const uint8_t *nl = memchr(*p, '\n', *len);
    size_t n = nl ? (size_t)(nl - *p) : *len;

    *line_len = n;
    *p += nl ? n + 1 : n;
    *len -= nl ? n + 1 : n;
    return start;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct http_response resp;
    struct cwl_result res;
    const uint8_t *p, *line;
    size_t len, n;

    if (size < 3)
        return 0;
    http_response_init(&resp);
    resp.status = (long)((data[0] << 8) | data[1]);
    resp.outcome = (enum http_outcome)(data[2] % 4);
    p = data + 3;
    len = size - 3;
    line = take_line(&p, &len, &n);
    fill(resp.error_type, sizeof(resp.error_type), line, n);
    line = take_line(&p, &len, &n);
    fill(resp.date, sizeof(resp.date), line, n);
    fill(resp.error, sizeof(resp.error), (const uint8_t *)"fuzz transport error", 20);
    if (buf_add(&resp.body, p, len) != HAF_OK)
        abort();

    cwl_classify(&resp, &res);

    if ((unsigned)res.cls > (unsigned)CWL_CONNECTION)
        abort();
    if (resp.outcome != HTTP_ANSWERED && res.cls == CWL_OK)
        abort();
    check_printable(res.error_type, sizeof(res.error_type));
    check_printable(res.message, sizeof(res.message));
    check_printable(res.request_id, sizeof(res.request_id));
    check_printable(res.expected_sequence_token, sizeof(res.expected_sequence_token));
    if (res.too_new_start < -1 || res.too_old_end < -1 || res.expired_end < -1)
        abort();
    (void)cwl_class_str(res.cls);
    http_response_clean_up(&resp);
    return 0;
}
