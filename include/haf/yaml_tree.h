/*
 * yaml_tree.h: one YAML document (libyaml events) into a small tree of our own.
 *
 * The tree keeps what a schema walk needs to report precise errors: every node's line and column
 * (1-based), a scalar's bytes and whether it was plain (unquoted and not tagged !!str, so YAML 1.1
 * typing applies). What a flat configuration file has no use for is refused at load time with
 * one message: anchors and aliases ("billion laughs"), more than one document, tags other than
 * the core str/int/bool/null/seq/map ones, nesting deeper than YTREE_MAX_DEPTH and more than
 * YTREE_MAX_NODES nodes. The module does no I/O and never logs: errors come back in a
 * struct ytree_error for the caller to word.
 */
#ifndef HAF_YAML_TREE_H
#define HAF_YAML_TREE_H

#include <stdbool.h>
#include <stddef.h>

#include "haf/err.h"

#define YTREE_MAX_DEPTH 32
#define YTREE_MAX_NODES 20000

enum ynode_type { YN_SCALAR, YN_SEQ, YN_MAP };

struct ynode {
    enum ynode_type type;
    size_t line, col; /* 1-based */
    char *val;        /* scalar bytes, NUL-terminated (may hold NULs of its own) */
    size_t len;
    bool plain;          /* plain style and no tag forcing a string */
    struct ynode **kids; /* sequence items; mapping: key, value, key, value... */
    size_t n;
};

/* The first problem met while loading: where (1-based) and what, already worded. */
struct ytree_error {
    size_t line, col;
    char msg[384];
};

/*
 * Loads the whole stream: zero or one document. *root is NULL for an empty stream. Returns
 * HAF_OK, HAF_ECONFIG (err filled in) or HAF_ENOMEM. *root is written only on success.
 */
__attribute__((warn_unused_result)) enum haf_err
ytree_load(const char *data, size_t len, struct ynode **root, struct ytree_error *err);

/* Frees a tree; accepts NULL. */
void ytree_free(struct ynode *n);

/* Whether the node is a scalar whose bytes are exactly the C string s. */
bool ytree_scalar_is(const struct ynode *n, const char *s);

/* Whether the node is a YAML null: a plain ~, null, Null, NULL or nothing. */
bool ytree_is_null(const struct ynode *n);

/* "a mapping", "a sequence", "null", "a scalar" or "a quoted string": for messages. */
const char *ytree_kind(const struct ynode *n);

/* The value of a scalar key in a mapping, null or not; false when absent or map is no mapping. */
bool ytree_lookup(const struct ynode *map, const char *key, const struct ynode **val);

/* The value of `key`, or NULL when absent or null. */
const struct ynode *ytree_get(const struct ynode *map, const char *key);

#endif
