#include "haf/report.h"
enum haf_err
report_render_html(const struct report *r, struct buf *out)
{
    (void)r;
    return buf_adds(out, "<!doctype html>\n");
}
