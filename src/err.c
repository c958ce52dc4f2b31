/*
 * err.c: strings for the error table in err.h. Kept beside the table so the two cannot drift.
 */
#include "haf/err.h"

static const char *const err_strings[] = {
#define HAF_ERR_STR_(name, str) [name] = str,
    HAF_ERR_TABLE(HAF_ERR_STR_)
#undef HAF_ERR_STR_
};

const char *
haf_err_str(enum haf_err e)
{
    if ((unsigned)e >= (unsigned)HAF_ERR_MAX_)
        return "unknown error";
    return err_strings[e];
}
