/*
 * footprint.c: what keeps the resident set small beyond our own buffers (issue 14: RSS under a
 * backlog and idle).
 *
 * malloc. glibc raises its mmap threshold to the size of every mmapped block freed (up to 32 MiB)
 * and its trim threshold to twice that, so after the first large batch body or state file text is
 * freed, later large blocks come from the heap and the heap's top is kept, touched, for good:
 * measured with 28 streams, the heap stayed at its high-water mark. Fixed thresholds switch that
 * adjustment off: blocks of 128 KiB and more are mapped and unmapped (a batch body keeps its
 * block across batches, so this is a few mmap calls per stream, not per request), and a free top
 * of more than 128 KiB goes back to the kernel. One arena: the daemon's loop is one thread, and
 * libcurl's resolver threads would otherwise each get an arena of their own for a few small
 * blocks. footprint_trim() also returns the free pages inside the heap, once a backlog drained.
 *
 * GnuTLS. libcurl (OpenSSL flavour) needs librtmp, which needs GnuTLS, whose library constructor
 * initialises it (its algorithm tables, the ASN.1 trees of PKIX, p11-kit) in every process that
 * loads it: about 0.9 MiB of RSS here, for a protocol we never speak. GnuTLS documents the way
 * out (GNUTLS_SKIP_GLOBAL_INIT in gnutls.h): an application symbol _gnutls_global_init_skip
 * returning 1, which the constructor asks through the dynamic linker, so the executable exports it
 * (CMakeLists.txt). A library that does use GnuTLS (OpenLDAP's TLS) calls gnutls_global_init()
 * itself, which the skip does not affect; we use neither.
 */
#include "haf/footprint.h"

#include <malloc.h>

#define FOOTPRINT_MMAP_THRESHOLD_BYTES (128 * 1024)
#define FOOTPRINT_TRIM_THRESHOLD_BYTES (128 * 1024)

/* Exported from the executable (--export-dynamic-symbol): GnuTLS's constructor finds this one
 * instead of its own weak default, which returns 0. Not declared in a header: only the dynamic
 * linker calls it. */
int _gnutls_global_init_skip(void);
int
_gnutls_global_init_skip(void)
{
    return 1;
}

void
footprint_init(void)
{
    /* Each call returns 0 only on a bad parameter; these are constants, so the results are not
     * checked. */
    (void)mallopt(M_MMAP_THRESHOLD, FOOTPRINT_MMAP_THRESHOLD_BYTES);
    (void)mallopt(M_TRIM_THRESHOLD, FOOTPRINT_TRIM_THRESHOLD_BYTES);
    (void)mallopt(M_ARENA_MAX, 1);
}

void
footprint_trim(void)
{
    (void)malloc_trim(0);
}
