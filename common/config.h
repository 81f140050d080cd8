/*  config.h: arxdigest's configuration (SPEC section 6).
 *
 *  Loaded in three layers: built-in defaults, then a YAML file, then ARXDIGEST_*
 *  environment variables, then command-line overrides (ax_config_set). Every key has
 *  a default, so a file with only `profiles:` is a complete config. Every bad key or
 *  value is reported with its full dotted name and the reason, all of them at once,
 *  before anything starts.
 */
#ifndef AX_CONFIG_H
#define AX_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "paper.h"

/*  arxiv.*: how the broker harvests the live sources (SPEC section 2). */
typedef struct {
    char *api_url, *oai_url, *rss_url;
    int min_interval_ms;        /* floor 3000 for arXiv hosts */
    char *user_agent;
    int page_size;              /* api: results per request (<= 2000) */
    int api_result_cap;         /* api: results one query can page through (30000) */
    char **rss_announce_types;  /* rss: announce types kept (new, cross, replace, replace-cross) */
    size_t n_rss_announce_types;
    int max_attempts;           /* tries of one request before the harvest gives up */
    int timeout_s;              /* a request that stalls this long is retried */
} ax_arxiv_cfg_t;

/*  redis.namespace: 1..AX_NAMESPACE_MAX of these characters (no '{' '}': hash tags). */
#define AX_NAMESPACE_MAX 100
#define AX_NAMESPACE_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:-"

typedef struct {
    struct {
        char *url;              /* redis.url, "redis://[:password@]host:port/db" */
        char *namespace;        /* redis.namespace: prefix of every key of runs (store.h) */
    } redis;
    struct {
        char *bind;             /* broker.bind: workers connect here (ROUTER) */
        char *control;          /* broker.control: submit/status (REP) */
        int job_size;           /* broker.job_size: papers per job */
        char *metrics;          /* broker.metrics: "host:port", "" = off */
        int lease_ms;           /* broker.lease_ms: a dispatched job's lease */
        int heartbeat_ms;       /* broker.heartbeat_ms: heartbeat interval to workers */
        int liveness;           /* broker.liveness: heartbeats missed before a worker is dead */
        int max_attempts;       /* broker.max_attempts: failed dispatches before papers fail */
        bool standby;           /* broker.standby: wait while another broker works the namespace */
        int namespace_lease_ms; /* broker.namespace_lease_ms: the namespace lease's time to live */
        int job_max_bytes;      /* broker.job_max_bytes: a job's papers, packed, at most */
        int paper_max_bytes;    /* broker.paper_max_bytes: a larger paper is recorded failed */
    } broker;
    struct {
        char *broker;           /* worker.broker: endpoint of the broker */
        char *collector;        /* worker.collector: endpoint of the collector */
        int concurrency;        /* worker.concurrency: LLM requests in flight */
        char *metrics;
        int capacity;           /* worker.capacity: jobs held at once (credit granted) */
        int heartbeat_ms;       /* worker.heartbeat_ms */
        int liveness;           /* worker.liveness: heartbeats missed before the broker is dead */
        int result_timeout_ms;  /* worker.result_timeout_ms: re-send a RESULT not ACKed by then */
        char *name;             /* worker.name: in the broker's logs and status; "": host:pid */
    } worker;
    struct {
        char *bind;             /* collector.bind (ROUTER) */
        char *output_dir;       /* collector.output_dir */
        char *group_by;         /* collector.group_by: day | week | month | run */
        char *metrics;
    } collector;
    ax_arxiv_cfg_t arxiv;
    struct {
        char *base_url;
        char *model;
        char *api_key_env;      /* name of the env var holding the key */
        int rpm, tpm, max_in_flight, timeout_s;
        double price_input_per_mtok, price_output_per_mtok;   /* llm.price_per_mtok.{input,output} */
        double budget_usd;
        char *response_format;  /* llm.response_format: json_schema | json_object */
        double temperature;     /* llm.temperature; < 0: not sent */
        int max_tokens;         /* llm.max_tokens: completion limit per request */
        int max_retry_after_s;  /* llm.max_retry_after_s: the longest wait a 429 / 503 may ask;
                                   a longer one fails the papers that would wait for it */
        int max_response_bytes; /* llm.max_response_bytes: a longer response body is cut off
                                   and its paper failed */
    } llm;
    struct {                    /* run: what `arxdigest run` harvests by default */
        char *source;           /* run.source: api | oai | rss | snapshot:PATH */
        char **categories;      /* run.categories (default: union of the profiles') */
        size_t n_categories;
        char *from, *to;        /* run.from / run.to: YYYY-MM-DD, inclusive; NULL = open */
    } run;
    struct {                    /* curve: ZeroMQ CURVE on every cluster socket (curve.h) */
        bool enabled;           /* curve.enabled */
        char *secret_key_file;  /* curve.secret_key_file: this process's NAME.key (keygen) */
        char *server_public_key;    /* curve.server_public_key: Z85, or a .pub file (clients) */
        char *allowed_clients;  /* curve.allowed_clients: file of the workers' public keys (servers) */
        char *allowed_control_clients;  /* curve.allowed_control_clients: file of the keys that may
                                           SUBMIT / STATUS on the broker's control socket */
    } curve;
    ax_profile_t *profiles;
    size_t n_profiles;
} ax_config_t;

/*  A new config holding every default. NULL on OOM. */
ax_config_t *ax_config_new(void);
void ax_config_destroy(ax_config_t **self_p);

/*  Merge a YAML file into cfg. Relative paths inside (snapshot:PATH) are resolved
 *  against the file's folder. On error returns -1 and appends one line per problem
 *  ("<file>:<line>: <key>: <reason>") to *errors (caller frees). */
int ax_config_load_file(ax_config_t *cfg, const char *path, char **errors);

/*  Merge ARXDIGEST_* variables from envp (NULL = environ): ARXDIGEST_REDIS_URL,
 *  ARXDIGEST_LLM_BASE_URL, ... i.e. ARXDIGEST_ + dotted key upper-cased with '.' -> '_'.
 *  Unknown ARXDIGEST_ variables are errors (typos must not pass silently), except
 *  the one named by llm.api_key_env. */
int ax_config_load_env(ax_config_t *cfg, char *const *envp, char **errors);

/*  Set one scalar key from a string, as a flag does: ax_config_set(cfg, "broker.job_size", "32").
 *  List keys (run.categories) take comma-separated values. -1 with a message in *errors. */
int ax_config_set(ax_config_t *cfg, const char *key, const char *value, char **errors);

/*  The whole config as environment: "ARXDIGEST_<KEY>=VALUE" for every key but the
 *  profiles, each read back by ax_config_load_env to exactly cfg's value. This is how
 *  `arxdigest run` hands its effective config (file, environment, flags) to the daemons
 *  it starts: the environment overrides their file, and unlike a command line it is
 *  readable only by the user (values may hold secrets: redis.url, llm.base_url).
 *  Returns the strings (caller frees with ax_strv_free(&env, *n)) or NULL with *errors. */
char **ax_config_env(const ax_config_t *cfg, size_t *n, char **errors);

/*  Checks the merged config as a whole (ranges, URLs, profiles: unique names, non-empty
 *  keywords, min_hits >= 0, top_n >= 1, group_by value, ...). -1 with messages. */
int ax_config_validate(const ax_config_t *cfg, char **errors);

/*  Checks profiles that did not come from a config file (a SUBMIT from any client)
 *  exactly as ax_config_validate checks the file's: names, keywords, ranges, rules; the
 *  messages name the key ("profiles[0].keywords[2].term: has no letter or digit").
 *  -1 with messages in *errors (caller frees). */
int ax_config_check_profiles(const ax_profile_t *profiles, size_t n, char **errors);

/*  The categories a run harvests: run.categories if set, else the union of the
 *  profiles' categories (in first-seen order). Caller frees with ax_strv_free. */
char **ax_config_run_categories(const ax_config_t *cfg, size_t *n);

#endif
