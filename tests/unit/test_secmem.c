/*
 * test_secmem.c: the wiping allocators behave as the ones they replace (realloc keeps the
 * contents up to the smaller size and leaves the old block valid when it fails, calloc zeroes
 * and refuses an overflowing product, strdup copies, free takes NULL), jansson works through them
 * (a document parsed and dumped after secmem_init), and the process is no longer dumpable. That
 * freed blocks hold no secret is checked on the running daemon (daemon_secrets_memory).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>

#include <cmocka.h>
#include <jansson.h>

#include "haf/buf.h"
#include "haf/json_write.h"
#include "haf/secmem.h"

static void
test_secmem_realloc_calloc_strdup(void **state)
{
    char *p, *q;
    unsigned char *z;

    (void)state;
    p = secmem_malloc(5);
    assert_non_null(p);
    memcpy(p, "abcde", 5);
    q = secmem_realloc(p, 3000);
    assert_non_null(q);
    assert_memory_equal(q, "abcde", 5);
    p = secmem_realloc(q, 2);
    assert_non_null(p);
    assert_memory_equal(p, "ab", 2);
    secmem_free(p);
    z = secmem_calloc(100, 7);
    assert_non_null(z);
    for (size_t i = 0; i < 700; i++)
        assert_int_equal(z[i], 0);
    secmem_free(z);
    assert_null(secmem_calloc(SIZE_MAX / 2, 3));
    assert_null(secmem_malloc(SIZE_MAX - 4));
    q = secmem_strdup("token");
    assert_string_equal(q, "token");
    secmem_free(q);
    secmem_free(NULL);
    p = secmem_realloc(NULL, 4);
    assert_non_null(p);
    secmem_free(p);
}

static void
test_secmem_init_jansson_and_not_dumpable(void **state)
{
    json_error_t jerr;
    json_t *v;
    struct buf out;

    (void)state;
    assert_int_equal(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 1);
    assert_int_equal(secmem_init(), 0);
    assert_int_equal(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 0);
    v = json_loads("{\"Token\":\"abc\",\"List\":[1,2,3]}", 0, &jerr);
    assert_non_null(v);
    buf_init(&out, 0);
    assert_int_equal(json_write_tree(&out, v, JSON_COMPACT | JSON_SORT_KEYS), HAF_OK);
    assert_string_equal(buf_cstr(&out), "{\"List\":[1,2,3],\"Token\":\"abc\"}");
    json_decref(v);
    buf_clean_up(&out);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_secmem_realloc_calloc_strdup),
        cmocka_unit_test(test_secmem_init_jansson_and_not_dumpable),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
