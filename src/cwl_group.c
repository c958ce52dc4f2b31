/*
 * cwl_group.c: CreateLogGroup with the settings an audit trail wants, and DescribeLogGroups to see
 * which of them the endpoint kept (contracts in cwl.h).
 *
 * CreateLogGroup takes logGroupName, kmsKeyId, tags (1..50), logGroupClass (STANDARD,
 * INFREQUENT_ACCESS, DELIVERY; immutable; metric filters and field indexes need STANDARD) and,
 * since late 2025, deletionProtectionEnabled. An endpoint that predates a member either refuses
 * the request (InvalidParameterException / ValidationException / SerializationException) or, like
 * moto, accepts and ignores it; the caller tells the two apart with cwl_describe_log_group and
 * decides what to say. This module builds requests and reads answers; it never logs.
 */
#include "haf/cwl.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cwl_internal.h"
#include "haf/json_write.h"

/* json_string() refuses invalid UTF-8 and NULL: a failed set is a refused value. */
static bool
set_str(json_t *o, const char *k, const char *v)
{
    return v != NULL && json_object_set_new(o, k, json_string(v)) == 0 &&
           json_is_string(json_object_get(o, k));
}

/* The CreateLogGroup request for `o`: NULL with *e set when a value is refused. */
static json_t *
create_request(const char *group, const struct cwl_group_opts *o, enum haf_err *e)
{
    json_t *req, *tags = NULL;
    bool ok;

    *e = HAF_EINVAL;
    if (o == NULL)
        return NULL;
    req = json_object();
    if (req == NULL) {
        *e = HAF_ENOMEM;
        return NULL;
    }
    ok = set_str(req, "logGroupName", group);
    if (ok && o->kms_key_id && o->kms_key_id[0] != '\0')
        ok = set_str(req, "kmsKeyId", o->kms_key_id);
    if (ok && o->n_tags > 0) {
        tags = json_object();
        ok = tags != NULL && json_object_set_new(req, "tags", tags) == 0; /* steals tags */
        for (size_t i = 0; ok && i < o->n_tags; i++)
            ok = o->tags[i].key != NULL && set_str(tags, o->tags[i].key, o->tags[i].value);
    }
    if (ok && o->log_group_class && o->log_group_class[0] != '\0')
        ok = set_str(req, "logGroupClass", o->log_group_class);
    if (ok && o->deletion_protection)
        ok = json_object_set_new(req, "deletionProtectionEnabled", json_true()) == 0;
    if (!ok) {
        json_decref(req);
        return NULL;
    }
    *e = HAF_OK;
    return req;
}

enum haf_err
cwl_create_log_group_with(struct cwl_client *c, const char *group, const struct cwl_group_opts *o,
                          struct cwl_result *res)
{
    enum haf_err e;
    json_t *req;

    if (c == NULL || res == NULL || o == NULL)
        return HAF_EINVAL;
    req = create_request(group, o, &e);
    return req == NULL ? e : cwl_call_json(c, "CreateLogGroup", req, NULL, res);
}

enum haf_err
cwl_body_create_group_with(const char *group, const struct cwl_group_opts *o, char **out,
                           size_t *len)
{
    struct buf b;
    enum haf_err e;
    json_t *req = create_request(group, o, &e);

    if (req == NULL)
        return e;
    buf_init(&b, 0);
    e = json_write_tree(&b, req, JSON_COMPACT);
    json_decref(req);
    if (e == HAF_OK) {
        *len = b.len;
        *out = malloc(b.len + 1);
        if (*out == NULL)
            e = HAF_ENOMEM;
        else
            memcpy(*out, buf_cstr(&b), b.len + 1);
    }
    buf_clean_up(&b);
    return e;
}

/* The fields of one logGroups[] entry. */
static void
group_info(json_t *g, struct cwl_group_info *out)
{
    json_t *dp = json_object_get(g, "deletionProtectionEnabled");
    json_t *cls = json_object_get(g, "logGroupClass");
    json_t *ret = json_object_get(g, "retentionInDays");

    out->found = true;
    out->has_deletion_protection = json_is_boolean(dp);
    out->deletion_protection = json_is_true(dp);
    if (json_is_string(cls) && json_string_length(cls) < sizeof(out->log_group_class))
        memcpy(out->log_group_class, json_string_value(cls), json_string_length(cls) + 1);
    if (json_is_integer(ret) && json_integer_value(ret) > 0 && json_integer_value(ret) < 100000)
        out->retention_days = (int)json_integer_value(ret);
    out->has_kms_key = json_is_string(json_object_get(g, "kmsKeyId"));
}

/* The DescribeLogGroups request for the groups whose names start with `group`. */
static json_t *
describe_request(const char *group)
{
    json_t *req = json_object();

    if (req != NULL && (!set_str(req, "logGroupNamePrefix", group) ||
                        json_object_set_new(req, "limit", json_integer(50)) != 0)) {
        json_decref(req);
        req = NULL;
    }
    return req;
}

/* The entry named exactly `group` of a DescribeLogGroups answer into *out (found stays false when
 * there is none); HAF_EPARSE when the answer is not such a document. */
static enum haf_err
describe_answer(json_t *answer, const char *group, struct cwl_group_info *out)
{
    json_t *groups = json_object_get(answer, "logGroups"), *g;
    size_t i;

    if (!json_is_array(groups))
        return HAF_EPARSE;
    json_array_foreach(groups, i, g)
    {
        json_t *name = json_object_get(g, "logGroupName");
        if (json_is_string(name) && strcmp(json_string_value(name), group) == 0) {
            group_info(g, out);
            break;
        }
    }
    return HAF_OK;
}

enum haf_err
cwl_describe_log_group(struct cwl_client *c, const char *group, struct cwl_group_info *out,
                       struct cwl_result *res)
{
    json_t *req, *answer = NULL;
    enum haf_err e;

    if (c == NULL || res == NULL || out == NULL)
        return HAF_EINVAL;
    memset(out, 0, sizeof(*out));
    req = describe_request(group);
    if (req == NULL)
        return HAF_EINVAL;
    e = cwl_call_json(c, "DescribeLogGroups", req, &answer, res);
    if (e != HAF_OK || res->cls != CWL_OK)
        return e;
    e = describe_answer(answer, group, out);
    json_decref(answer);
    return e;
}

struct describe_ctx {
    cwl_group_info_fn fn;
    void *arg;
    char *group;
};

static void
on_describe_answer(void *arg, const struct cwl_result *res, const struct http_response *resp)
{
    struct describe_ctx *x = arg;
    struct cwl_group_info info;
    struct cwl_result r = *res;
    json_t *answer = NULL;

    memset(&info, 0, sizeof(info));
    if (r.cls == CWL_OK) {
        answer = json_loadb(resp->body.p ? resp->body.p : "", resp->body.len, 0, NULL);
        if (!json_is_object(answer) || describe_answer(answer, x->group, &info) != HAF_OK)
            r.cls = CWL_AMBIGUOUS; /* a 200 that is no DescribeLogGroups document */
        json_decref(answer);
    }
    x->fn(x->arg, &r, &info);
    free(x->group);
    free(x);
}

enum haf_err
cwl_describe_log_group_submit(struct cwl_client *c, const char *group, long timeout_ms,
                              cwl_group_info_fn fn, void *arg, char *why, size_t why_len)
{
    struct describe_ctx *x;
    struct buf body;
    json_t *req;
    enum haf_err e;

    if (c == NULL || group == NULL || fn == NULL)
        return HAF_EINVAL;
    req = describe_request(group);
    if (req == NULL)
        return HAF_EINVAL;
    buf_init(&body, 0);
    e = json_write_tree(&body, req, JSON_COMPACT);
    json_decref(req);
    x = e == HAF_OK ? calloc(1, sizeof(*x)) : NULL;
    if (e == HAF_OK && (x == NULL || (x->group = strdup(group)) == NULL))
        e = HAF_ENOMEM;
    if (e == HAF_OK) {
        x->fn = fn;
        x->arg = arg;
        e = cwl_call_submit(c, "DescribeLogGroups", buf_span(&body), true, timeout_ms,
                            on_describe_answer, x, why, why_len);
    }
    if (e != HAF_OK && x != NULL) {
        free(x->group);
        free(x);
    }
    buf_clean_up(&body);
    return e;
}
