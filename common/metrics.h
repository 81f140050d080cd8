/*  metrics.h: Prometheus metrics and a health check for every daemon.
 *
 *  A process-wide registry of counters, gauges and histograms (fixed buckets), each a
 *  family (name, type, help) with series told apart by a preformatted label string such
 *  as `state="matched"` (ax_metrics_label escapes values). The daemons update it with
 *  one call where an event happens; the loops are single-threaded, but the HTTP server
 *  answers on its own thread, so every access takes one mutex.
 *
 *  ax_metrics_start serves, on "host:port" (config `broker.metrics`, `worker.metrics`,
 *  `collector.metrics`), GET /metrics (text exposition format 0.0.4) and GET /healthz
 *  (200 "ok" while the daemon's loop calls ax_metrics_heartbeat, 503 when it has not for
 *  10 s). An address already in use (several workers on one host) is an error the
 *  caller logs and then runs without /metrics: never fatal. Names and meanings of the
 *  metrics: docs/metrics.md; the catalogue of each component is in metrics.c.
 */
#ifndef AX_METRICS_H
#define AX_METRICS_H

#include <stddef.h>

typedef enum { AX_METRIC_COUNTER, AX_METRIC_GAUGE, AX_METRIC_HISTOGRAM } ax_metric_type_t;

#define AX_METRICS_STALE_MS 10000       /* /healthz answers 503 after this long without a heartbeat */
#define AX_METRICS_MAX_SERIES 256       /* label sets of one family; more are counted as "_other" */

/*  Declares a family (idempotent: a second call with the same name changes nothing).
 *  bounds (upper bounds, increasing; copied) only for histograms: NULL = the default
 *  latency buckets in seconds. 0 / -1 (OOM or bad arguments). */
int ax_metrics_define(const char *name, ax_metric_type_t type, const char *help, const double *bounds,
                      size_t n_bounds);

/*  Declares the families of a component ("broker", "worker", "collector") from the
 *  catalogue, with a zero series for those without labels, so they are scraped from
 *  the start. Unknown components declare nothing. */
void ax_metrics_define_component(const char *component);

/*  Updates one series (created at first use; labels NULL or "" = none). A family that
 *  holds AX_METRICS_MAX_SERIES label sets counts a new one in its series whose label
 *  values are all "_other" (logged once per family; arxdigest_metrics_labels_folded_total
 *  counts the updates so folded). A family not
 *  declared is declared on the fly without help text (a counter for add, a gauge for
 *  set, a histogram with the default buckets for observe). Never fails visibly: out of
 *  memory loses the update. */
void ax_metrics_add(const char *name, const char *labels, double delta);     /* counter or gauge */
void ax_metrics_set(const char *name, const char *labels, double value);     /* gauge */
void ax_metrics_observe(const char *name, const char *labels, double value); /* histogram */

/*  The current value of a counter or gauge series (a histogram's count), 0 when absent.
 *  For tests and for code that reports what it exposes. */
double ax_metrics_get(const char *name, const char *labels);

/*  Writes key="value" into buf (size bytes), escaping \, " and newlines as the format
 *  wants; appends ",key=..." when buf already holds labels. Returns buf (truncated
 *  labels are cut at the last whole one). */
char *ax_metrics_label(char *buf, size_t size, const char *key, const char *value);

/*  The whole registry in the text exposition format 0.0.4. Caller frees; NULL on OOM. */
char *ax_metrics_render(void);

/*  Forgets every family (tests). Not while the server runs. */
void ax_metrics_reset(void);

/*  The daemon's loop is alive: called once per turn. */
void ax_metrics_heartbeat(void);

/*  Declares component's catalogue and serves /metrics and /healthz on addr ("host:port",
 *  "[v6]:port"; port 0 picks a free one, see ax_metrics_port). 1 when addr is NULL or ""
 *  (metrics off, nothing started), 0 when serving, -1 with *err (caller frees) when the
 *  address is bad or in use: the caller logs it and goes on without /metrics. */
int ax_metrics_start(const char *addr, const char *component, char **err);

/*  The port the server listens on, 0 when it is not running. */
int ax_metrics_port(void);

/*  Stops the server (no-op when not running). */
void ax_metrics_stop(void);

#endif
