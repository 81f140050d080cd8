/*  writer.h: the error-latching output of the renderers. The first failed write (or an
 *  OOM a renderer reports with ax_w_fail) sets err, later writes are skipped, and the
 *  renderer returns -1 at the end instead of checking every line. */
#ifndef AX_WRITER_H
#define AX_WRITER_H

#include <stdio.h>

typedef struct {
    FILE *out;
    int err;
} ax_writer_t;

void ax_w_put(ax_writer_t *w, const char *s);
void ax_w_putf(ax_writer_t *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*  Ends a file written through stdio: flushes and closes out (always). failed says an
 *  earlier write already failed (errno, read at once, then holds its cause). When that
 *  write, the flush (where a full disk shows: data waits in the buffer until then) or the
 *  close failed, sets *err to "cannot write PATH: <strerror>" and returns -1; else 0. */
int ax_w_close(FILE *out, int failed, const char *path, char **err);

#endif
