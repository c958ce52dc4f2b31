/*
 * access_hint.c: see access_hint.h. Four cases, from the most to the least specific: the path's
 * group may read it but the service is not in that group (the drop-in names that group); the
 * group may not read it (make it readable by a group, then the drop-in); the path could not even
 * be stat'ed (a directory above it is closed to the service); any other error (ELOOP, EIO...),
 * where only the path and the errno text are given. Directories need read and search (r-x) for a
 * glob to list them, files only read.
 */
#include "haf/access_hint.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#define DROP_IN "systemctl edit hsm-audit-forwarder"

enum haf_err
access_hint_format(const struct tail_access_problem *p, const char *user, const char *owner,
                   const char *group, struct buf *out)
{
    const char *what = p->is_dir ? "list the directory" : "read";
    const uint32_t need = p->is_dir ? (S_IRGRP | S_IXGRP) : S_IRGRP;
    enum haf_err e;

    e = buf_addf(out, "cannot %s %s: %s", what, p->path, strerror(p->err));
    if (e != HAF_OK || (p->err != EACCES && p->err != EPERM))
        return e;
    if (!p->have_owner)
        return buf_addf(out,
                        "; a directory above it is closed to user %s: give that user a group "
                        "that may enter it (" DROP_IN ": [Service] SupplementaryGroups=GROUP)",
                        user);
    e = buf_addf(out, " (%s %s:%s, mode %04o)", p->is_dir ? "directory" : "file",
                 owner != NULL ? owner : "?", group != NULL ? group : "?",
                 (unsigned)(p->mode & 07777));
    if (e != HAF_OK)
        return e;
    if (group != NULL && (p->mode & need) == need)
        return buf_addf(out,
                        "; group %s may %s it but user %s is not in it: add it with " DROP_IN
                        " ([Service] SupplementaryGroups=%s), then restart the service",
                        group, p->is_dir ? "list" : "read", user, group);
    return buf_addf(out,
                    "; its group may not %s it: give it a group that may (chgrp " ACCESS_HINT_GROUP
                    " and chmod g+%s), then give user %s that group with " DROP_IN
                    " ([Service] SupplementaryGroups=" ACCESS_HINT_GROUP ")",
                    p->is_dir ? "list" : "read", p->is_dir ? "rx" : "r", user);
}
