/*  writer.c: the error-latching output of the renderers (see writer.h). */
#include "writer.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "text.h"

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

int ax_w_close(FILE *out, int failed, const char *path, char **err)
{
    int e = failed ? (errno ? errno : EIO) : 0;
    errno = 0;
    if ((fflush(out) != 0 || ferror(out)) && !e)
        e = errno ? errno : EIO;
    errno = 0;
    if (fclose(out) != 0 && !e)
        e = errno ? errno : EIO;
    if (!e)
        return 0;
    ax_set_error(err, "cannot write %s: %s", path, strerror(e));
    return -1;
}
