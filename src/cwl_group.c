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

#include <string.h>

#include <jansson.h>

#include "cwl_internal.h"

/* json_string() refuses invalid UTF-8 and NULL: a failed set is a refused value. */
static bool
set_str(json_t *o, const char *k, const char *v)
{
    return v != NULL && json_object_set_new(o, k, json_string(v)) == 0 &&
           json_is_string(json_object_get(o, k));
}

enum haf_err
cwl_create_log_group_with(struct cwl_client *c, const char *group, const struct cwl_group_opts *o,
                          struct cwl_result *res)
{
    json_t *req, *tags = NULL;
    bool ok;

    if (c == NULL || res == NULL || o == NULL)
        return HAF_EINVAL;
    req = json_object();
    if (req == NULL)
        return HAF_ENOMEM;
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
        return HAF_EINVAL;
    }
    return cwl_call_json(c, "CreateLogGroup", req, NULL, res);
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

enum haf_err
cwl_describe_log_group(struct cwl_client *c, const char *group, struct cwl_group_info *out,
                       struct cwl_result *res)
{
    json_t *req, *answer = NULL, *groups, *g;
    enum haf_err e;
    size_t i;

    if (c == NULL || res == NULL || out == NULL)
        return HAF_EINVAL;
    memset(out, 0, sizeof(*out));
    req = json_object();
    if (req == NULL)
        return HAF_ENOMEM;
    if (!set_str(req, "logGroupNamePrefix", group) ||
        json_object_set_new(req, "limit", json_integer(50)) != 0) {
        json_decref(req);
        return HAF_EINVAL;
    }
    e = cwl_call_json(c, "DescribeLogGroups", req, &answer, res);
    if (e != HAF_OK || res->cls != CWL_OK)
        return e;
    groups = json_object_get(answer, "logGroups");
    if (!json_is_array(groups)) {
        json_decref(answer);
        return HAF_EPARSE;
    }
    json_array_foreach(groups, i, g)
    {
        json_t *name = json_object_get(g, "logGroupName");
        if (json_is_string(name) && strcmp(json_string_value(name), group) == 0) {
            group_info(g, out);
            break;
        }
    }
    json_decref(answer);
    return HAF_OK;
}
