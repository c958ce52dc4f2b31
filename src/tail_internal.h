/*
 * tail_internal.h: the structures tail.c, tail_glob.c and tail_ident.c share,
 * and the prototypes each of them offers the others, grouped by the file that
 * defines them. Nothing outside the tail module includes this; the interface
 * is haf/tail.h.
 */
#ifndef HAF_TAIL_INTERNAL_H
#define HAF_TAIL_INTERNAL_H

#include "haf/tail.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/inotify.h>
#include <sys/stat.h>

#define DIR_MASK                                                                                   \
    (IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_ATTRIB | IN_DELETE_SELF |            \
     IN_MOVE_SELF | IN_ONLYDIR)
#define FILE_MASK       (IN_MODIFY | IN_ATTRIB | IN_MOVE_SELF | IN_DELETE_SELF)
#define EVENT_BUF_SIZE  4096
#define EVENT_READS_MAX 64 /* per tail_process; the rest waits, the fd stays readable */

struct tfile {
    struct tail_file pub; /* first member: the struct tail_file * we hand out is this struct */
    int fd;
    int wd;                /* inotify watch on the file; -1 when polled */
    size_t idx;            /* position in t->files */
    uint64_t size;         /* st_size at the last fstat */
    uint64_t checked_size; /* size at which the head was last verified */
    int64_t eof_since_ms;  /* draining: first seen at EOF with eof_size; -1 when not */
    uint64_t eof_size;
    bool seen;  /* matched by the current rescan */
    bool dirty; /* an event says: check it */
};

struct tglob {
    char *pattern;
    char *dir; /* the directory to watch; NULL when the directory part has
                  wildcards */
    size_t source_idx;
    int wd; /* -1 when polled */
    bool watch_failure_counted;
    bool follow_links; /* TAIL_FOLLOW_SYMLINKS */
};

/* Open addressing with linear probing; v == NULL marks an empty slot. */
struct idmap_slot {
    uint64_t a;
    uint64_t b;
    void *v;
};

struct idmap {
    struct idmap_slot *slots;
    size_t cap; /* a power of two, or 0 */
    size_t n;
};

struct tail {
    struct tail_opts opts;
    struct tail_callbacks cb;
    int ifd;
    struct tglob *globs;
    size_t n_globs;
    struct tfile **files;
    size_t n_files;
    size_t cap_files;
    struct idmap by_id;  /* (dev, ino) -> tfile */
    struct idmap by_wd;  /* (wd, 0) -> tfile; directory watches live in the globs */
    struct idmap let_go; /* (dev, ino) -> t: released by the owner (tail_let_go), not reopened */
    size_t n_file_watches;
    bool rescan_due;
    int64_t next_poll_ms;   /* INT64_MIN: due now */
    int64_t next_rescan_ms; /* INT64_MIN: due now */
    size_t rr;              /* where the next walk of tail_next_readable starts */
    size_t it_start;        /* where the current walk started */
    struct tail_stats st;
    char *last_open_path;
    char *last_refused_link;
    struct tail_access_problem probs[TAIL_MAX_ACCESS_PROBLEMS]; /* paths owned (char *) */
    size_t n_probs;
};

/* tail_ident.c */
void *idmap_get(const struct idmap *m, uint64_t a, uint64_t b);
HAF_MUST_USE enum haf_err idmap_put(struct idmap *m, uint64_t a, uint64_t b, void *v);
void idmap_del(struct idmap *m, uint64_t a, uint64_t b);
void idmap_clean_up(struct idmap *m);

/* tail_glob.c */
void problems_clear(struct tail *t);
void note_open_failure(struct tail *t, const char *path, int err);
void note_link_refused(struct tail *t, const char *path);
void glob_watch(struct tail *t, struct tglob *g);
HAF_MUST_USE enum haf_err tail_rescan(struct tail *t);

/* tail.c */
void file_lost(struct tail *t, struct tfile *f);
HAF_MUST_USE enum haf_err file_seen_at(struct tfile *f, const char *path);
HAF_MUST_USE enum haf_err file_open(struct tail *t, const struct tglob *g, const char *path,
                                    const struct stat *approved);

#endif
