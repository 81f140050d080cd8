/*  writer.c: the error-latching output of the renderers (see writer.h). */
#include "writer.h"

#include <stdarg.h>

void ax_w_put(ax_writer_t *w, const char *s)
{
    if (!w->err && fputs(s, w->out) == EOF)
        w->err = 1;
}

void ax_w_putf(ax_writer_t *w, const char *fmt, ...)
{
    if (w->err)
        return;
    va_list ap;
    va_start(ap, fmt);
    if (vfprintf(w->out, fmt, ap) < 0)
        w->err = 1;
    va_end(ap);
}
