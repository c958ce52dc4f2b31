/*
 * test_digest_name.c: which data stream names have the form of a digest stream name, and their
 * deterministic renaming (digest_name.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "haf/digest_name.h"
#include "haf/streamname.h"

static void
test_digest_name_match_forms(void **state)
{
    (void)state;
    assert_true(digest_name_match("{stream}.digest", "a.log.digest"));
    assert_false(digest_name_match("{stream}.digest", ".digest")); /* no stream name in it */
    assert_false(digest_name_match("{stream}.digest", "a.log"));
    assert_false(digest_name_match("{stream}.digest", "a.log.digest.data"));
    assert_true(digest_name_match("digests/{stream}", "digests/x"));
    assert_false(digest_name_match("digests/{stream}", "digests/"));
    assert_true(digest_name_match("d-{stream}-d", "d-x-d"));
    assert_false(digest_name_match("d-{stream}-d", "d--d"));
    assert_true(digest_name_match("{stream}", "anything"));
    assert_false(digest_name_match("no placeholder", "no placeholder"));
}

/* Renames name under tmpl and checks the result and that it no longer matches. */
static void
expect_rename(const char *tmpl, const char *name, const char *want, bool want_changed)
{
    struct buf b;
    bool changed = !want_changed;

    buf_init(&b, 0);
    assert_int_equal(buf_adds(&b, name), HAF_OK);
    assert_int_equal(digest_name_unreserve(tmpl, &b, &changed), HAF_OK);
    assert_int_equal(changed, want_changed);
    assert_string_equal(buf_cstr(&b), want);
    assert_false(digest_name_match(tmpl, buf_cstr(&b)));
    buf_clean_up(&b);
}

static void
test_digest_name_unreserve_renames(void **state)
{
    (void)state;
    expect_rename("{stream}.digest", "a.log", "a.log", false);
    expect_rename("{stream}.digest", "a.log.digest", "a.log.digest.data", true);
    /* ".data" appended would still match: the next candidate. */
    expect_rename("{stream}a", "xa", "xa.data_", true);
    expect_rename("{stream}.data_", "x.data_", "x.data_.data", true);
    expect_rename("digests/{stream}", "digests/a.log", "data.digests/a.log", true);
    expect_rename("d{stream}", "dx", "_data.dx", true);
    expect_rename("_data.d{stream}", "_data.dx", "data._data.dx", true);
}

static void
test_digest_name_unreserve_bounds(void **state)
{
    struct buf b;
    bool changed = false;
    char name[STREAMNAME_MAX_BYTES + 1];

    (void)state;
    /* A name at the limit is cut (at a character boundary: a 2-byte character straddles the
     * cut) so that the suffixed name fits. */
    memset(name, 'a', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    memcpy(name + STREAMNAME_MAX_BYTES - 6, "\xc3\xa9", 2);
    name[STREAMNAME_MAX_BYTES - 1] = 'd';
    buf_init(&b, 0);
    assert_int_equal(buf_adds(&b, name), HAF_OK);
    assert_int_equal(digest_name_unreserve("{stream}d", &b, &changed), HAF_OK);
    assert_true(changed);
    assert_int_equal(b.len, STREAMNAME_MAX_BYTES - 6 + 5);
    assert_memory_equal(b.p, name, STREAMNAME_MAX_BYTES - 6);
    assert_memory_equal(b.p + b.len - 5, ".data", 5);
    buf_clean_up(&b);
    /* Every name has the form of "{stream}": no rename can help. */
    buf_init(&b, 0);
    assert_int_equal(buf_adds(&b, "x"), HAF_OK);
    assert_int_equal(digest_name_unreserve("{stream}", &b, &changed), HAF_EINVAL);
    assert_string_equal(buf_cstr(&b), "x");
    buf_clean_up(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_digest_name_match_forms),
        cmocka_unit_test(test_digest_name_unreserve_renames),
        cmocka_unit_test(test_digest_name_unreserve_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
