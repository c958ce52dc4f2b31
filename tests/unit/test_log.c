/*
 * test_log.c: the logger's lines, read back from stderr (a temp file). An untrusted string in a
 * message (a file name with newlines and sd-daemon priority prefixes, CR, other control bytes,
 * DEL, invalid UTF-8, a backslash) cannot start a line of its own or forge a priority: each such
 * byte is escaped and the message stays on its one line; valid UTF-8 is kept; the service mode
 * prefix and the foreground level are still written; a message longer than the line buffer is
 * cut, never split.
 */
#include <setjmp.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "haf/log.h"

static int capture_fd = -1;
static int saved_stderr = -1;

static int
capture_start(void **state)
{
    FILE *f;

    (void)state;
    fflush(stderr);
    f = tmpfile();
    assert_non_null(f);
    capture_fd = dup(fileno(f));
    fclose(f);
    assert_true(capture_fd >= 0);
    saved_stderr = dup(STDERR_FILENO);
    assert_true(saved_stderr >= 0);
    assert_true(dup2(capture_fd, STDERR_FILENO) >= 0);
    return 0;
}

static int
capture_stop(void **state)
{
    (void)state;
    fflush(stderr);
    dup2(saved_stderr, STDERR_FILENO);
    close(saved_stderr);
    close(capture_fd);
    return 0;
}

/* Everything written to stderr since the last call, NUL-terminated (caller frees). The test's
 * stderr is the capture file, so what was read is also printed on stdout for a failing run. */
static char *
captured(size_t *len)
{
    off_t end;
    char *s;

    fflush(stderr);
    end = lseek(capture_fd, 0, SEEK_END);
    assert_true(end >= 0);
    s = calloc((size_t)end + 1, 1);
    assert_non_null(s);
    assert_int_equal(pread(capture_fd, s, (size_t)end, 0), end);
    assert_int_equal(ftruncate(capture_fd, 0), 0);
    assert_int_equal(lseek(capture_fd, 0, SEEK_SET), 0);
    *len = (size_t)end;
    printf("captured: [%s]\n", s);
    return s;
}

static size_t
count_lines(const char *s, size_t n)
{
    size_t k = 0;

    for (size_t i = 0; i < n; i++)
        k += s[i] == '\n';
    return k;
}

static void
test_log_file_name_cannot_forge_journal_lines(void **state)
{
    const char *name = "/var/log/x\n<0>EMERGENCY forged\r\n<6>y.log";
    char *out;
    size_t len;

    (void)state;
    log_init(false, 0);
    log_warnx("%s: new file, reading from byte 0", name);
    out = captured(&len);
    assert_string_equal(out, "<4>/var/log/x\\n<0>EMERGENCY forged\\r\\n<6>y.log: new file, reading "
                             "from byte 0\n");
    assert_int_equal(count_lines(out, len), 1);
    free(out);
}

static void
test_log_escapes_control_bytes_invalid_utf8_and_backslash(void **state)
{
    char *out;
    size_t len;

    (void)state;
    log_init(false, 0);
    log_info("a\tb\x01"
             "c\x1b[31m\x7f d\\e \xc3\xa9 \xff\xc3 \xe2\x80\xa8 end");
    out = captured(&len);
    assert_string_equal(
        out, "<6>a\\tb\\x01c\\x1b[31m\\x7f d\\\\e \xc3\xa9 \\xff\\xc3 \\xe2\\x80\\xa8 end\n");
    free(out);
}

static void
test_log_foreground_and_errno_suffix_escaped_too(void **state)
{
    char *out, *nl;
    size_t len;

    (void)state;
    log_init(true, 0);
    errno = ENOENT;
    log_warn("open %s", "a\nb");
    out = captured(&len);
    assert_int_equal(count_lines(out, len), 1);
    nl = strstr(out, "warning open a\\nb: No such file or directory\n");
    assert_non_null(nl);
    assert_int_equal(errno, ENOENT);
    free(out);
}

static void
test_log_long_message_is_cut_on_one_line(void **state)
{
    char *big = malloc(20000), *out;
    size_t len;

    (void)state;
    assert_non_null(big);
    memset(big, '\n', 19999);
    big[19999] = '\0';
    log_init(false, 0);
    log_err("%s", big);
    out = captured(&len);
    assert_int_equal(count_lines(out, len), 1);
    assert_true(len > 4000);
    assert_memory_equal(out, "<3>\\n\\n", 7);
    assert_int_equal(out[len - 1], '\n');
    free(out);
    free(big);
}

static void
test_log_lines_logs_each_line_of_a_block(void **state)
{
    char *out;
    size_t len;

    (void)state;
    log_init(false, 0);
    log_lines(LOG_LVL_ERR, "configuration c.yaml: invalid",
              "line 3: bad key \"x\x1b\"\nline 4: <0>forged\n");
    out = captured(&len);
    assert_string_equal(out, "<3>configuration c.yaml: invalid\n"
                             "<3>  line 3: bad key \"x\\x1b\"\n"
                             "<3>  line 4: <0>forged\n");
    free(out);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_log_file_name_cannot_forge_journal_lines),
        cmocka_unit_test(test_log_escapes_control_bytes_invalid_utf8_and_backslash),
        cmocka_unit_test(test_log_foreground_and_errno_suffix_escaped_too),
        cmocka_unit_test(test_log_long_message_is_cut_on_one_line),
        cmocka_unit_test(test_log_lines_logs_each_line_of_a_block),
    };

    return cmocka_run_group_tests(tests, capture_start, capture_stop);
}
