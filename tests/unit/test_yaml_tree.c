/*
 * test_yaml_tree.c: libyaml events into the struct ynode tree (yaml_tree.h): positions, scalar
 * styles, the accessors, and every refusal with its exact message and position (anchors, aliases,
 * a second document, unknown tags, depth and node limits, syntax errors), NUL bytes in scalars.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "haf/yaml_tree.h"

static struct ynode *
load_ok(const char *text)
{
    struct ynode *root = NULL;
    struct ytree_error err;

    if (ytree_load(text, strlen(text), &root, &err) != HAF_OK)
        fail_msg("%s: %zu:%zu: %s", text, err.line, err.col, err.msg);
    return root;
}

static void
expect_error(const char *text, size_t line, size_t col, const char *msg)
{
    struct ynode *root = NULL;
    struct ytree_error err;

    assert_int_equal(ytree_load(text, strlen(text), &root, &err), HAF_ECONFIG);
    assert_null(root);
    if (strcmp(err.msg, msg) != 0 || err.line != line || err.col != col)
        fail_msg("got %zu:%zu: %s; want %zu:%zu: %s", err.line, err.col, err.msg, line, col, msg);
}

static void
test_ytree_load_positions_and_styles(void **state)
{
    struct ynode *root = load_ok("a: 1\nb:\n  - x\n  - 'y'\nc: ~\nd: !!str true\n");
    const struct ynode *v = NULL;

    (void)state;
    assert_int_equal(root->type, YN_MAP);
    assert_int_equal(root->n, 8);
    v = ytree_get(root, "a");
    assert_non_null(v);
    assert_true(ytree_scalar_is(v, "1"));
    assert_true(v->plain);
    assert_int_equal(v->line, 1);
    assert_int_equal(v->col, 4);
    v = ytree_get(root, "b");
    assert_int_equal(v->type, YN_SEQ);
    assert_int_equal(v->n, 2);
    assert_true(v->kids[0]->plain);
    assert_false(v->kids[1]->plain);
    assert_string_equal(ytree_kind(v), "a sequence");
    assert_string_equal(ytree_kind(v->kids[1]), "a quoted string");
    assert_int_equal(v->kids[1]->line, 4);
    /* c is null: present for ytree_lookup, absent for ytree_get */
    assert_null(ytree_get(root, "c"));
    assert_true(ytree_lookup(root, "c", &v));
    assert_true(ytree_is_null(v));
    assert_string_equal(ytree_kind(v), "null");
    v = ytree_get(root, "d");
    assert_false(v->plain); /* !!str forces a string */
    assert_false(ytree_lookup(root, "zz", &v));
    assert_false(ytree_lookup(v, "a", &v)); /* not a mapping */
    ytree_free(root);
}

static void
test_ytree_load_empty_and_nul(void **state)
{
    struct ynode *root = (struct ynode *)1;
    struct ytree_error err;
    static const char nul[] = "k: \"a\\0b\"\n";

    (void)state;
    assert_int_equal(ytree_load("", 0, &root, &err), HAF_OK);
    assert_null(root);
    assert_int_equal(ytree_load("# only a comment\n", 17, &root, &err), HAF_OK);
    assert_null(root);
    root = load_ok(nul);
    assert_int_equal(ytree_get(root, "k")->len, 3);
    assert_memory_equal(ytree_get(root, "k")->val, "a\0b", 3);
    assert_false(ytree_scalar_is(ytree_get(root, "k"), "a"));
    ytree_free(root);
    ytree_free(NULL);
}

static void
test_ytree_load_refusals(void **state)
{
    char *deep, *many;
    size_t n = 0;

    (void)state;
    expect_error("a: &x 1\nb: *x\n", 1, 4, "YAML anchors (&name) are not supported");
    expect_error("a: *x\n", 1, 4, "YAML aliases (*name) are not supported");
    expect_error("a: 1\n---\nb: 2\n", 2, 1, "only one YAML document is allowed");
    expect_error("a: !custom 1\n", 1, 4, "unsupported YAML tag");
    expect_error("a: !!map [1]\n", 1, 4, "unsupported YAML tag");
    expect_error("a: [1, 2\n", 2, 1,
                 "YAML syntax error: did not find expected ',' or ']' (while parsing a flow "
                 "sequence at line 1 column 4)");
    deep = malloc(200);
    assert_non_null(deep);
    for (int i = 0; i < 40; i++)
        deep[n++] = '[';
    deep[n] = '\0';
    expect_error(deep, 1, 34, "nesting deeper than 32 levels");
    free(deep);
    many = malloc(3 * (YTREE_MAX_NODES + 10) + 4);
    assert_non_null(many);
    n = 0;
    many[n++] = '[';
    for (int i = 0; i < YTREE_MAX_NODES + 5; i++) {
        many[n++] = '1';
        many[n++] = ',';
    }
    many[n++] = ']';
    many[n] = '\0';
    {
        struct ynode *root = NULL;
        struct ytree_error err;
        assert_int_equal(ytree_load(many, n, &root, &err), HAF_ECONFIG);
        assert_string_equal(err.msg, "too many YAML nodes (more than 20000)");
        assert_int_equal(err.line, 1);
    }
    free(many);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ytree_load_positions_and_styles),
        cmocka_unit_test(test_ytree_load_empty_and_nul),
        cmocka_unit_test(test_ytree_load_refusals),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
