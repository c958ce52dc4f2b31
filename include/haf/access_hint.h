/*
 * access_hint.h: the warning for an audit file or directory the service may not read, saying who
 * needs what. The most likely setup mistake is a service user without the group that can read
 * the audit files; the message names the path, the errno text, the owner, group and mode, and the
 * fix (the systemd drop-in with SupplementaryGroups=). Pure: the caller resolves the names and
 * logs.
 */
#ifndef HAF_ACCESS_HINT_H
#define HAF_ACCESS_HINT_H

#include "haf/buf.h"
#include "haf/err.h"
#include "haf/tail.h"

/* The group a Quick start setup gives the audit files, suggested when theirs reads nothing. */
#define ACCESS_HINT_GROUP "cloudhsm-audit"

/* Appends the message for p to out. user: the service's user name; owner, group: the names of
 * p->uid and p->gid (NULL when unknown or !p->have_owner). */
HAF_MUST_USE enum haf_err access_hint_format(const struct tail_access_problem *p, const char *user,
                                             const char *owner, const char *group, struct buf *out);

#endif
