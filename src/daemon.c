/* daemon.c: placeholder until the event loop lands. */
#include <stdio.h>

#include "haf/cmd.h"

int
daemon_main(const struct daemon_opts *opts)
{
    (void)opts;
    fprintf(stderr, "daemon: not built yet\n");
    return EXIT_RUNTIME;
}
