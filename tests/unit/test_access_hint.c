/*
 * test_access_hint.c: the exact warning for each kind of unreadable audit path: a file whose group
 * may read it (the drop-in names that group), a file whose group may not, a directory that its
 * group may list, a path that could not be stat'ed (a closed directory above it), and an error
 * that is not about permissions (only the path and errno text).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "haf/access_hint.h"

static void
expect_hint(const struct tail_access_problem *p, const char *owner, const char *group,
            const char *want)
{
    struct buf b;

    buf_init(&b, 4096);
    assert_int_equal(access_hint_format(p, "hsm-audit-forwarder", owner, group, &b), HAF_OK);
    assert_string_equal(buf_cstr(&b), want);
    buf_clean_up(&b);
}

static void
test_access_hint_format_group_may_read(void **state)
{
    struct tail_access_problem p = {.path = "/var/log/cloudhsm/audit/b.log",
                                    .err = EACCES,
                                    .have_owner = true,
                                    .mode = S_IFREG | 0640};

    (void)state;
    expect_hint(&p, "root", "cloudhsm-audit",
                "cannot read /var/log/cloudhsm/audit/b.log: Permission denied (file "
                "root:cloudhsm-audit, mode 0640); group cloudhsm-audit may read it but user "
                "hsm-audit-forwarder is not in it: add it with systemctl edit hsm-audit-forwarder "
                "([Service] SupplementaryGroups=cloudhsm-audit), then restart the service");
}

static void
test_access_hint_format_group_may_not_read(void **state)
{
    struct tail_access_problem p = {.path = "/var/log/cloudhsm/audit/c.log",
                                    .err = EACCES,
                                    .have_owner = true,
                                    .mode = S_IFREG | 0600};

    (void)state;
    expect_hint(&p, "root", "root",
                "cannot read /var/log/cloudhsm/audit/c.log: Permission denied (file root:root, "
                "mode 0600); its group may not read it: give it a group that may (chgrp "
                "cloudhsm-audit and chmod g+r), then give user hsm-audit-forwarder that group "
                "with systemctl edit hsm-audit-forwarder ([Service] "
                "SupplementaryGroups=cloudhsm-audit)");
}

static void
test_access_hint_format_directory(void **state)
{
    struct tail_access_problem p = {.path = "/var/log/cloudhsm/audit",
                                    .err = EACCES,
                                    .is_dir = true,
                                    .have_owner = true,
                                    .mode = S_IFDIR | 0750};

    (void)state;
    expect_hint(&p, "root", "cloudhsm-audit",
                "cannot list the directory /var/log/cloudhsm/audit: Permission denied (directory "
                "root:cloudhsm-audit, mode 0750); group cloudhsm-audit may list it but user "
                "hsm-audit-forwarder is not in it: add it with systemctl edit hsm-audit-forwarder "
                "([Service] SupplementaryGroups=cloudhsm-audit), then restart the service");
    /* r-- without x: a glob cannot list it through the group. */
    p.mode = S_IFDIR | 0740;
    expect_hint(&p, NULL, NULL,
                "cannot list the directory /var/log/cloudhsm/audit: Permission denied (directory "
                "?:?, mode 0740); its group may not list it: give it a group that may (chgrp "
                "cloudhsm-audit and chmod g+rx), then give user hsm-audit-forwarder that group "
                "with systemctl edit hsm-audit-forwarder ([Service] "
                "SupplementaryGroups=cloudhsm-audit)");
}

static void
test_access_hint_format_no_owner(void **state)
{
    struct tail_access_problem p = {.path = "/srv/closed/a.log", .err = EACCES};

    (void)state;
    expect_hint(&p, NULL, NULL,
                "cannot read /srv/closed/a.log: Permission denied; a directory above it is closed "
                "to user hsm-audit-forwarder: give that user a group that may enter it (systemctl "
                "edit hsm-audit-forwarder: [Service] SupplementaryGroups=GROUP)");
}

static void
test_access_hint_format_other_error(void **state)
{
    struct tail_access_problem p = {
        .path = "/var/log/cloudhsm/audit/loop.log", .err = ELOOP, .have_owner = true};

    (void)state;
    expect_hint(&p, "root", "root",
                "cannot read /var/log/cloudhsm/audit/loop.log: Too many levels of symbolic links");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_access_hint_format_group_may_read),
        cmocka_unit_test(test_access_hint_format_group_may_not_read),
        cmocka_unit_test(test_access_hint_format_directory),
        cmocka_unit_test(test_access_hint_format_no_owner),
        cmocka_unit_test(test_access_hint_format_other_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
