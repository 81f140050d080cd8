/*  log.h: one structured line per event on stderr:
 *      2026-11-24T01:02:03.456Z level=info comp=broker msg="run started" run=...
 *  The component name is set once per process; AX_LOG_LEVEL (debug, info, warn, error)
 *  or ax_log_set_level chooses what is printed.
 *
 *  Every value formatted into a line is escaped by ax_log itself (log.c: control bytes,
 *  newlines, ESC, quotes, bytes that are not UTF-8), so a value from a peer or a file can
 *  never start a line of its own or add a key: callers pass raw values. */
#ifndef AX_LOG_H
#define AX_LOG_H

#include <stdint.h>

typedef enum { AX_LOG_DEBUG, AX_LOG_INFO, AX_LOG_WARN, AX_LOG_ERROR } ax_log_level_t;

void ax_log_init(const char *component);
void ax_log_set_level(ax_log_level_t level);
/*  fmt is the message text; key=value pairs may follow it after the first "|" of fmt
 *  itself (a "|" in a value splits nothing), e.g. ax_log_info("job done|run=%s job=%llu",
 *  ...). Conversions: those of printf but %n. */
void ax_log(ax_log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define ax_log_debug(...) ax_log(AX_LOG_DEBUG, __VA_ARGS__)
#define ax_log_info(...)  ax_log(AX_LOG_INFO, __VA_ARGS__)
#define ax_log_warn(...)  ax_log(AX_LOG_WARN, __VA_ARGS__)
#define ax_log_error(...) ax_log(AX_LOG_ERROR, __VA_ARGS__)

/*  A budget of log lines for events a peer can cause at will (forged or stale messages):
 *  ax_log_quota returns 1 (log it) at most once per interval_ms, else 0; *skipped is set to
 *  the number of events refused since the last line, for that line to report. */
typedef struct {
    int64_t next_ms;                /* monotonic time of the next line allowed */
    unsigned skipped;
} ax_log_quota_t;

int ax_log_quota(ax_log_quota_t *quota, int64_t interval_ms, unsigned *skipped);

#endif
