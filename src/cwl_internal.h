/*
 * cwl_internal.h: what the CloudWatch Logs client modules share beyond include/haf/cwl.h. Not for
 * callers outside src/cwl*.c.
 */
#ifndef HAF_CWL_INTERNAL_H
#define HAF_CWL_INTERNAL_H

#include <jansson.h>

#include "haf/cwl.h"

/*
 * One blocking call of operation `op` with the JSON request `obj` (reference stolen, also on
 * failure): signed, sent and classified into *res as every cwl call is. When `answer` is not NULL
 * and the call succeeded (res->cls == CWL_OK), *answer receives the parsed JSON object of the
 * response (the caller owns it), or the call returns HAF_EPARSE when the body is not a JSON object.
 */
HAF_MUST_USE enum haf_err cwl_call_json(struct cwl_client *c, const char *op, json_t *obj,
                                        json_t **answer, struct cwl_result *res);

#endif
