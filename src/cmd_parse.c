/* cmd_parse.c: placeholder until the parser lands. */
#include <stdio.h>

#include "haf/cmd.h"

int
cmd_parse(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "parse: not built yet\n");
    return EXIT_RUNTIME;
}
