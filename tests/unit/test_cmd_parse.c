/*
 * test_cmd_parse.c: the `parse` subcommand as a user runs it: the real binary ($HAF_BIN) with real
 * files, stdin, and bad usage. Checks the exit codes (0 input read, flagged entries included; 1 an
 * unreadable file, named on stderr, the other files still printed; 2 bad usage with the hint),
 * NDJSON output (one valid object per entry, host = hostname, source = path or "-"), and that
 * --format raw output parses back to the same entries.
 */
#define _XOPEN_SOURCE 700
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <fcntl.h>
#include <jansson.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testlib.h"

extern char **environ;

struct run {
    int status; /* exit code, or -1 when killed */
    char *out, *err;
    size_t out_len;
};

static char *
slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *p = NULL;
    size_t n = 0, cap = 0, r;

    assert_non_null(f);
    do {
        if (cap - n < 65536) {
            cap = cap * 2 + 65536;
            p = realloc(p, cap + 1);
            assert_non_null(p);
        }
        r = fread(p + n, 1, cap - n, f);
        n += r;
    } while (r > 0);
    fclose(f);
    p[n] = '\0';
    if (len)
        *len = n;
    return p;
}

/* Run $HAF_BIN with args; stdin from in_path (or /dev/null). */
static void
run_bin(struct run *r, const char *in_path, const char *const *args)
{
    const char *bin = getenv("HAF_BIN");
    char *dir = testlib_mkdtemp();
    char out_path[4200], err_path[4200];
    char *argv[16];
    posix_spawn_file_actions_t fa;
    pid_t pid;
    int st, n = 0;

    if (bin == NULL)
        skip();
    snprintf(out_path, sizeof(out_path), "%s/out", dir);
    snprintf(err_path, sizeof(err_path), "%s/err", dir);
    argv[n++] = (char *)bin;
    for (; args[n - 1] && n < 15; n++)
        argv[n] = (char *)args[n - 1];
    argv[n] = NULL;
    assert_int_equal(posix_spawn_file_actions_init(&fa), 0);
    assert_int_equal(
        posix_spawn_file_actions_addopen(&fa, 0, in_path ? in_path : "/dev/null", O_RDONLY, 0), 0);
    assert_int_equal(
        posix_spawn_file_actions_addopen(&fa, 1, out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600), 0);
    assert_int_equal(
        posix_spawn_file_actions_addopen(&fa, 2, err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600), 0);
    assert_int_equal(posix_spawn(&pid, bin, &fa, NULL, argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    assert_int_equal(waitpid(pid, &st, 0), pid);
    r->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    r->out = slurp(out_path, &r->out_len);
    r->err = slurp(err_path, NULL);
    testlib_rmtree(dir);
    free(dir);
}

static void
run_free(struct run *r)
{
    free(r->out);
    free(r->err);
}

static char *
data_path(const char *rel)
{
    const char *d = getenv("HAF_TEST_DATA");
    char *p = malloc(4096);

    assert_non_null(p);
    snprintf(p, 4096, "%s/%s", d ? d : "tests/data", rel);
    return p;
}

/* Every line is a JSON object; returns how many, checks "source". */
static size_t
check_ndjson(const char *out, const char *source)
{
    size_t n = 0;
    char host[256];

    assert_int_equal(gethostname(host, sizeof(host)), 0);
    host[sizeof(host) - 1] = '\0';
    while (*out) {
        const char *nl = strchr(out, '\n');
        json_error_t jerr;
        json_t *j;
        assert_non_null(nl);
        j = json_loadb(out, (size_t)(nl - out), 0, &jerr);
        if (j == NULL)
            fail_msg("line %zu: %s", n + 1, jerr.text);
        assert_string_equal(json_string_value(json_object_get(j, "source")), source);
        assert_string_equal(json_string_value(json_object_get(j, "host")), host);
        json_decref(j);
        n++;
        out = nl + 1;
    }
    return n;
}

static void
test_cmd_parse_json_one_line_per_entry(void **state)
{
    struct run r;
    char *path = data_path("audit/all_s1.log");
    const char *args[] = {"parse", path, NULL};

    (void)state;
    run_bin(&r, NULL, args);
    assert_int_equal(r.status, 0);
    assert_int_equal(check_ndjson(r.out, path), 25);
    assert_null(strstr(r.out, "parse_error"));
    assert_string_equal(r.err, "");
    run_free(&r);
    free(path);
}

static void
test_cmd_parse_reads_stdin(void **state)
{
    struct run r, r2;
    char *path = data_path("audit/design_example.log");
    const char *args[] = {"parse", "--format", "json", NULL};
    const char *args2[] = {"parse", "-", NULL};

    (void)state;
    run_bin(&r, path, args);
    assert_int_equal(r.status, 0);
    assert_int_equal(check_ndjson(r.out, "-"), 1);
    assert_non_null(strstr(r.out, "\"session_handle\":50364418,"));
    run_bin(&r2, path, args2);
    assert_string_equal(r.out, r2.out);
    run_free(&r);
    run_free(&r2);
    free(path);
}

static void
test_cmd_parse_missing_file_exits_1_and_names_it(void **state)
{
    struct run r;
    char *good = data_path("audit/s1_cn_login_0x5.log");
    const char *args[] = {"parse", "/nonexistent/audit.log", good, NULL};

    (void)state;
    run_bin(&r, NULL, args);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "'/nonexistent/audit.log'"));
    assert_non_null(strstr(r.err, "No such file or directory"));
    /* the readable file is still printed */
    assert_int_equal(check_ndjson(r.out, good), 1);
    run_free(&r);
    free(good);
}

static void
test_cmd_parse_directory_exits_1(void **state)
{
    struct run r;
    char *dir = data_path("audit");
    const char *args[] = {"parse", dir, NULL};

    (void)state;
    run_bin(&r, NULL, args);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, dir));
    assert_int_equal(r.out_len, 0);
    run_free(&r);
    free(dir);
}

static void
test_cmd_parse_bad_usage_exits_2_with_hint(void **state)
{
    static const char *const bad[][4] = {
        {"parse", "--bogus", NULL},
        {"parse", "-x", NULL},
        {"parse", "--format", "xml", NULL},
        {"parse", "--format", NULL},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct run r;
        run_bin(&r, NULL, (const char *const *)bad[i]);
        assert_int_equal(r.status, 2);
        assert_non_null(strstr(r.err, "Try 'hsm-audit-forwarder parse --help'"));
        assert_int_equal(r.out_len, 0);
        run_free(&r);
    }
}

static void
test_cmd_parse_help_exits_0(void **state)
{
    struct run r;
    const char *args[] = {"parse", "--help", NULL};

    (void)state;
    run_bin(&r, NULL, args);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "usage: hsm-audit-forwarder parse [--format json|raw]"));
    assert_non_null(strstr(r.out, "blank line"));
    run_free(&r);
}

static void
test_cmd_parse_flagged_entries_exit_0(void **state)
{
    struct run r;
    char *dir = testlib_mkdtemp();
    char path[4200];
    FILE *f;
    const char *args[] = {"parse", path, NULL};

    (void)state;
    snprintf(path, sizeof(path), "%s/bad.log", dir);
    f = fopen(path, "wb");
    assert_non_null(f);
    fputs("junk \xff\x01\nTime: 01/24/18 17:44:25.013218, usecs:1\nSequence No : 0xzz\n", f);
    fclose(f);
    run_bin(&r, NULL, args);
    assert_int_equal(r.status, 0);
    assert_int_equal(check_ndjson(r.out, path), 2);
    assert_non_null(strstr(r.out, "\"parse_error\":\"text before first entry\""));
    assert_non_null(strstr(r.out, "\"raw\":\"junk \xef\xbf\xbd\\u0001\""));
    run_free(&r);
    testlib_rmtree(dir);
    free(dir);
}

static void
test_cmd_parse_raw_output_parses_back_to_same_entries(void **state)
{
    struct run raw1, raw2, json1, json2;
    char *dir = testlib_mkdtemp();
    char p1[4200];
    char *all = data_path("audit/all_s1.log");
    const char *a1[] = {"parse", "--format", "raw", all, NULL};
    const char *a2[] = {"parse", "--format", "raw", NULL};
    const char *j1[] = {"parse", all, NULL};
    const char *j2[] = {"parse", "--format=json", NULL};
    FILE *f;

    (void)state;
    run_bin(&raw1, NULL, a1);
    assert_int_equal(raw1.status, 0);
    /* entries separated by blank lines */
    assert_non_null(strstr(raw1.out, "Log type : MINIMAL_LOG_ENTRY (0)\n\nTime: "));
    snprintf(p1, sizeof(p1), "%s/raw1", dir);
    f = fopen(p1, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(raw1.out, 1, raw1.out_len, f), raw1.out_len);
    fclose(f);
    run_bin(&raw2, p1, a2);
    assert_string_equal(raw1.out, raw2.out);
    /* the JSON of the re-parsed entries equals the original's (apart from "source") */
    run_bin(&json1, NULL, j1);
    run_bin(&json2, p1, j2);
    assert_int_equal(check_ndjson(json1.out, all), 25);
    assert_int_equal(check_ndjson(json2.out, "-"), 25);
    {
        char *a = json1.out, *b = json2.out;
        for (int i = 0; i < 25; i++) {
            char *sa = strstr(a, ",\"source\":"), *sb = strstr(b, ",\"source\":");
            assert_int_equal(sa - a, sb - b);
            assert_memory_equal(a, b, (size_t)(sa - a));
            a = strchr(sa, '\n') + 1;
            b = strchr(sb, '\n') + 1;
        }
    }
    run_free(&raw1);
    run_free(&raw2);
    run_free(&json1);
    run_free(&json2);
    testlib_rmtree(dir);
    free(dir);
    free(all);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cmd_parse_json_one_line_per_entry),
        cmocka_unit_test(test_cmd_parse_reads_stdin),
        cmocka_unit_test(test_cmd_parse_missing_file_exits_1_and_names_it),
        cmocka_unit_test(test_cmd_parse_directory_exits_1),
        cmocka_unit_test(test_cmd_parse_bad_usage_exits_2_with_hint),
        cmocka_unit_test(test_cmd_parse_help_exits_0),
        cmocka_unit_test(test_cmd_parse_flagged_entries_exit_0),
        cmocka_unit_test(test_cmd_parse_raw_output_parses_back_to_same_entries),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
