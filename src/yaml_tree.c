/*
 * yaml_tree.c: libyaml's event stream into the struct ynode tree of yaml_tree.h.
 *
 * A recursive descent over events: each node's first event is handed to ytree_load_node, which
 * consumes it and, for a collection, every event up to the matching end. Depth and the total
 * node count are checked before anything is allocated, so a hostile file costs at most
 * YTREE_MAX_NODES small allocations and YTREE_MAX_DEPTH stack frames. Every error path frees
 * what it built and leaves one message in the caller's struct ytree_error: the first problem
 * found stops the load (later ones would only be consequences of it).
 */
#include "haf/yaml_tree.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

struct ytree_ctx {
    struct ytree_error *err;
    size_t n_nodes;
};

void
ytree_free(struct ynode *n)
{
    if (n == NULL)
        return;
    for (size_t i = 0; i < n->n; i++)
        ytree_free(n->kids[i]);
    free(n->kids);
    free(n->val);
    free(n);
}

static void ytree_error_at(struct ytree_ctx *c, yaml_mark_t m, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Records the first problem only: a load stops at its first error. */
static void
ytree_error_at(struct ytree_ctx *c, yaml_mark_t m, const char *fmt, ...)
{
    va_list ap;

    if (c->err->msg[0] != '\0')
        return;
    c->err->line = m.line + 1;
    c->err->col = m.column + 1;
    va_start(ap, fmt);
    vsnprintf(c->err->msg, sizeof(c->err->msg), fmt, ap);
    va_end(ap);
}

static enum haf_err
ytree_next(struct ytree_ctx *c, yaml_parser_t *p, yaml_event_t *ev)
{
    if (!yaml_parser_parse(p, ev)) {
        if (p->error == YAML_MEMORY_ERROR) {
            return HAF_ENOMEM;
        }
        if (p->context)
            ytree_error_at(c, p->problem_mark, "YAML syntax error: %s (%s at line %zu column %zu)",
                           p->problem ? p->problem : "invalid YAML", p->context,
                           (size_t)p->context_mark.line + 1, (size_t)p->context_mark.column + 1);
        else
            ytree_error_at(c, p->problem_mark, "YAML syntax error: %s",
                           p->problem ? p->problem : "invalid YAML");
        return HAF_ECONFIG;
    }
    return HAF_OK;
}

static bool
ytree_tag_is(const yaml_char_t *tag, const char *want)
{
    return tag && strcmp((const char *)tag, want) == 0;
}

static enum haf_err ytree_load_node(struct ytree_ctx *c, yaml_parser_t *p, yaml_event_t *ev,
                                    int depth, struct ynode **out);

static enum haf_err
ytree_add_kid(struct ynode *n, struct ynode *kid)
{
    if ((n->n & (n->n - 1)) == 0) { /* 0, 1, 2, 4, ...: grow to the next power of two */
        size_t cap = n->n ? n->n * 2 : 4;
        struct ynode **k = realloc(n->kids, cap * sizeof(*k));
        if (k == NULL) {
            ytree_free(kid);
            return HAF_ENOMEM;
        }
        n->kids = k;
    }
    n->kids[n->n++] = kid;
    return HAF_OK;
}

/* Builds the node whose first event is *ev (consumed). */
static enum haf_err
ytree_load_node(struct ytree_ctx *c, yaml_parser_t *p, yaml_event_t *ev, int depth,
                struct ynode **out)
{
    struct ynode *n = NULL;
    yaml_event_type_t end;
    const yaml_char_t *anchor = NULL, *tag = NULL;
    enum haf_err e = HAF_ECONFIG;

    if (++c->n_nodes > YTREE_MAX_NODES) {
        ytree_error_at(c, ev->start_mark, "too many YAML nodes (more than %d)", YTREE_MAX_NODES);
        goto out;
    }
    if (depth > YTREE_MAX_DEPTH) {
        ytree_error_at(c, ev->start_mark, "nesting deeper than %d levels", YTREE_MAX_DEPTH);
        goto out;
    }
    switch (ev->type) {
    case YAML_ALIAS_EVENT:
        ytree_error_at(c, ev->start_mark, "YAML aliases (*name) are not supported");
        goto out;
    case YAML_SCALAR_EVENT:
        anchor = ev->data.scalar.anchor;
        tag = ev->data.scalar.tag;
        break;
    case YAML_SEQUENCE_START_EVENT:
        anchor = ev->data.sequence_start.anchor;
        tag = ev->data.sequence_start.tag;
        break;
    case YAML_MAPPING_START_EVENT:
        anchor = ev->data.mapping_start.anchor;
        tag = ev->data.mapping_start.tag;
        break;
    default:
        ytree_error_at(c, ev->start_mark, "unexpected YAML event");
        goto out;
    }
    if (anchor) {
        ytree_error_at(c, ev->start_mark, "YAML anchors (&name) are not supported");
        goto out;
    }
    n = calloc(1, sizeof(*n));
    if (n == NULL) {
        e = HAF_ENOMEM;
        goto out;
    }
    n->line = ev->start_mark.line + 1;
    n->col = ev->start_mark.column + 1;
    if (ev->type == YAML_SCALAR_EVENT) {
        n->type = YN_SCALAR;
        if (tag && !ytree_tag_is(tag, YAML_STR_TAG) && !ytree_tag_is(tag, YAML_INT_TAG) &&
            !ytree_tag_is(tag, YAML_BOOL_TAG) && !ytree_tag_is(tag, YAML_NULL_TAG)) {
            ytree_error_at(c, ev->start_mark, "unsupported YAML tag");
            goto out;
        }
        n->plain =
            ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !ytree_tag_is(tag, YAML_STR_TAG);
        n->len = ev->data.scalar.length;
        n->val = malloc(n->len + 1);
        if (n->val == NULL) {
            e = HAF_ENOMEM;
            goto out;
        }
        if (n->len)
            memcpy(n->val, ev->data.scalar.value, n->len);
        n->val[n->len] = '\0';
        e = HAF_OK;
        goto out;
    }
    if (ev->type == YAML_SEQUENCE_START_EVENT) {
        n->type = YN_SEQ;
        end = YAML_SEQUENCE_END_EVENT;
        if (tag && !ytree_tag_is(tag, YAML_SEQ_TAG)) {
            ytree_error_at(c, ev->start_mark, "unsupported YAML tag");
            goto out;
        }
    } else {
        n->type = YN_MAP;
        end = YAML_MAPPING_END_EVENT;
        if (tag && !ytree_tag_is(tag, YAML_MAP_TAG)) {
            ytree_error_at(c, ev->start_mark, "unsupported YAML tag");
            goto out;
        }
    }
    yaml_event_delete(ev);
    for (;;) {
        struct ynode *kid = NULL;
        e = ytree_next(c, p, ev);
        if (e != HAF_OK) {
            memset(ev, 0, sizeof(*ev));
            goto out;
        }
        if (ev->type == end)
            break;
        e = ytree_load_node(c, p, ev, depth + 1, &kid);
        if (e != HAF_OK)
            goto out;
        e = ytree_add_kid(n, kid);
        if (e != HAF_OK)
            goto out;
    }
    e = HAF_OK;
out:
    yaml_event_delete(ev);
    if (e != HAF_OK) {
        ytree_free(n);
        n = NULL;
    }
    *out = n;
    return e;
}

enum haf_err
ytree_load(const char *data, size_t len, struct ynode **root, struct ytree_error *err)
{
    struct ytree_ctx ctx = {.err = err}, *c = &ctx;
    yaml_parser_t p;
    yaml_event_t ev;
    struct ynode *doc = NULL;
    enum haf_err e;

    memset(err, 0, sizeof(*err));
    if (!yaml_parser_initialize(&p))
        return HAF_ENOMEM;
    yaml_parser_set_input_string(&p, (const unsigned char *)data, len);
    memset(&ev, 0, sizeof(ev));
    for (;;) {
        e = ytree_next(c, &p, &ev);
        if (e != HAF_OK)
            goto out;
        if (ev.type == YAML_STREAM_END_EVENT)
            break;
        if (ev.type == YAML_DOCUMENT_START_EVENT) {
            if (doc) {
                ytree_error_at(c, ev.start_mark, "only one YAML document is allowed");
                e = HAF_ECONFIG;
                goto out;
            }
            yaml_event_delete(&ev);
            e = ytree_next(c, &p, &ev);
            if (e != HAF_OK)
                goto out;
            e = ytree_load_node(c, &p, &ev, 0, &doc);
            if (e != HAF_OK)
                goto out;
            continue; /* the node consumed its event */
        }
        yaml_event_delete(&ev);
    }
    *root = doc;
    doc = NULL;
    e = HAF_OK;
out:
    yaml_event_delete(&ev);
    yaml_parser_delete(&p);
    ytree_free(doc);
    return e;
}

/* ---- reading the tree ---- */

bool
ytree_scalar_is(const struct ynode *n, const char *s)
{
    size_t l = strlen(s);
    return n->len == l && memcmp(n->val, s, l) == 0;
}

bool
ytree_is_null(const struct ynode *n)
{
    return n->type == YN_SCALAR && n->plain &&
           (n->len == 0 || ytree_scalar_is(n, "~") || ytree_scalar_is(n, "null") ||
            ytree_scalar_is(n, "Null") || ytree_scalar_is(n, "NULL"));
}

const char *
ytree_kind(const struct ynode *n)
{
    if (n->type == YN_MAP)
        return "a mapping";
    if (n->type == YN_SEQ)
        return "a sequence";
    if (ytree_is_null(n))
        return "null";
    return n->plain ? "a scalar" : "a quoted string";
}

bool
ytree_lookup(const struct ynode *map, const char *key, const struct ynode **val)
{
    if (map == NULL || map->type != YN_MAP)
        return false;
    for (size_t i = 0; i + 1 < map->n; i += 2)
        if (map->kids[i]->type == YN_SCALAR && ytree_scalar_is(map->kids[i], key)) {
            *val = map->kids[i + 1];
            return true;
        }
    return false;
}

/* The value of `key`, or NULL when absent or null. */
const struct ynode *
ytree_get(const struct ynode *map, const char *key)
{
    const struct ynode *v = NULL;

    if (!ytree_lookup(map, key, &v) || ytree_is_null(v))
        return NULL;
    return v;
}