/*  log.c: structured log lines on stderr (see log.h). */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "text.h"

static const char *s_component = "arxdigest";
static ax_log_level_t s_level = AX_LOG_INFO;
static const char *s_names[] = {"debug", "info", "warn", "error"};

void ax_log_init(const char *component)
{
    s_component = component;
    const char *env = getenv("AX_LOG_LEVEL");
    for (int i = 0; env && i < 4; i++)
        if (strcasecmp(env, s_names[i]) == 0)
            s_level = (ax_log_level_t) i;
}

void ax_log_set_level(ax_log_level_t level)
{
    s_level = level;
}

void ax_log(ax_log_level_t level, const char *fmt, ...)
{
    if (level < s_level)
        return;
    char text[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    char *kv = strchr(text, '|');
    if (kv)
        *kv++ = '\0';
    int64_t now = ax_now_ms();
    char ts[32];
    ax_time_format(now / 1000, "%Y-%m-%dT%H:%M:%S", ts, sizeof ts);
    /* One fprintf: lines of concurrent processes do not interleave. */
    fprintf(stderr, "%s.%03dZ level=%s comp=%s msg=\"%s\"%s%s\n", ts, (int) (now % 1000),
            s_names[level], s_component, text, kv ? " " : "", kv ? kv : "");
}

int ax_log_quota(ax_log_quota_t *q, int64_t interval_ms, unsigned *skipped)
{
    int64_t now = ax_mono_ms();
    if (now < q->next_ms) {
        q->skipped++;
        return 0;
    }
    *skipped = q->skipped;
    q->skipped = 0;
    q->next_ms = now + interval_ms;
    return 1;
}
