/*  curve.c: ZeroMQ CURVE keys, the ZAP allow-list handler and handshake monitors
 *  (see curve.h).
 *
 *  Servers: a ZAP handler (RFC 27) is a REP socket bound to inproc://zeromq.zap.01 in
 *  the server's context. libzmq sends it one request per CURVE handshake on any socket
 *  of that context: [version "1.0", request id, domain, address, routing id,
 *  mechanism "CURVE", client public key (32 bytes)], and expects [version, request
 *  id, status "200" | "400", status text, user id, metadata]. It must be bound before
 *  a server socket binds: libzmq lets every client in when no handler is there. It
 *  runs on its own thread so the server loops need not know about it. The domain
 *  (ZMQ_ZAP_DOMAIN, set per socket by ax_curve_apply) tells it which list to check:
 *  S_DOMAIN_WORKERS (jobs, results) takes `curve.allowed_clients`, S_DOMAIN_CONTROL (the
 *  broker's control socket: SUBMIT, STATUS) `curve.allowed_control_clients` and the
 *  server's own key, so that a worker host cannot start runs.
 *
 *  Clients: a failed handshake is invisible on the socket itself (messages just wait),
 *  so each client socket gets a monitor (zmq_socket_monitor) read by a small thread
 *  that logs refusals. The worker's own heartbeat logic does the retrying.
 */
#define _GNU_SOURCE
#include "curve.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zmq.h>

#include "log.h"
#include "text.h"

#define S_MAX_REFUSED 4096          /* refused keys remembered (logged once each) */
#define S_MAX_THREADS 256           /* monitor threads (one per client socket ever made) */
#define S_POLL_MS 200               /* how often threads look at the stop flag */
#define S_DOMAIN_WORKERS "arxdigest"            /* ZAP domain of the jobs and results sockets */
#define S_DOMAIN_CONTROL "arxdigest-control"    /* ... of the broker's control socket */

typedef char s_key_t[AX_CURVE_KEYLEN + 1];

/*  A list of keys read from a file. */
typedef struct {
    s_key_t *keys;
    size_t n;
} s_keys_t;

/*  A refused client already logged: its key and the socket kind it knocked at. */
typedef struct {
    s_key_t key;
    bool control;
} s_refusal_t;

struct ax_curve {
    bool enabled, server;
    void *zmq;                      /* the process's context (borrowed) */
    char public_key[AX_CURVE_KEYLEN + 1], secret_key[AX_CURVE_KEYLEN + 1];
    char server_key[AX_CURVE_KEYLEN + 1];       /* clients: the servers' public key */
    s_keys_t allowed;               /* servers: workers' keys (curve.allowed_clients) */
    s_keys_t control;               /* servers: curve.allowed_control_clients */
    s_refusal_t *refused;           /* ZAP thread only: refusals already logged */
    size_t n_refused;
    void *zap;                      /* REP on inproc://zeromq.zap.01 (ZAP thread) */
    pthread_t threads[S_MAX_THREADS];
    size_t n_threads;
    unsigned monitors;              /* monitors made: names their endpoints */
    atomic_bool stop;
};

/*  One client socket's monitor: what its thread needs. */
typedef struct {
    ax_curve_t *curve;
    void *pair;                     /* PAIR connected to the monitor endpoint */
    char peer[32];
} s_monitor_t;

/*  ------------------------------------------------------------------------------
 *  Keys and key files
 */

bool ax_curve_key_ok(const char *s)
{
    uint8_t bin[32];
    return s && strlen(s) == AX_CURVE_KEYLEN && zmq_z85_decode(bin, s) != NULL;
}

/*  s trimmed of ASCII whitespace at both ends, in place. */
static char *s_trim(char *s)
{
    while (ax_is_space((unsigned char) *s))
        s++;
    size_t n = strlen(s);
    while (n && ax_is_space((unsigned char) s[n - 1]))
        s[--n] = '\0';
    return s;
}

/*  The quoted (or bare) value of a `name = "value"` line into out, when line sets name. */
static bool s_setting(char *line, const char *name, char *out)
{
    size_t n = strlen(name);
    if (strncmp(line, name, n) != 0)
        return false;
    char *v = s_trim(line + n);
    if (*v != '=')
        return false;
    v = s_trim(v + 1);
    size_t len = strlen(v);
    if (len >= 2 && v[0] == '"' && v[len - 1] == '"')
        v[len - 1] = '\0', v++;
    snprintf(out, AX_CURVE_KEYLEN + 1, "%s", v);
    return true;
}

int ax_curve_read_keyfile(const char *path, char *public_z85, char *secret_z85, char **err)
{
    char pub[AX_CURVE_KEYLEN + 1] = "", sec[AX_CURVE_KEYLEN + 1] = "", line[512];
    FILE *f = fopen(path, "r");
    if (!f) {
        ax_set_error(err, "cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (secret_z85 && fstat(fileno(f), &st) == 0 && (st.st_mode & (S_IRGRP | S_IROTH)))
        ax_log_warn("secret key file is readable by group or others: chmod 600 it|path=%s", path);
    while (fgets(line, sizeof line, f)) {
        char *l = s_trim(line);
        if (ax_curve_key_ok(l) && !*pub)    /* a bare key: a .pub file (Z85 may contain '#') */
            memcpy(pub, l, sizeof pub);
        else if (*l == '#' || !*l)
            continue;
        else if (!s_setting(l, "public-key", pub))
            s_setting(l, "secret-key", sec);
    }
    fclose(f);
    explicit_bzero(line, sizeof line);
    if (secret_z85 && !ax_curve_key_ok(sec)) {
        ax_set_error(err, "%s: no valid secret-key line (write key files with `arxdigest keygen NAME`)", path);
        goto fail;
    }
    if (*sec && !*pub && zmq_curve_public(pub, sec) < 0) {
        ax_set_error(err, "%s: cannot derive the public key: %s", path, zmq_strerror(errno));
        goto fail;
    }
    if (!ax_curve_key_ok(pub)) {
        ax_set_error(err, "%s: no valid public key (a 40-character Z85 line)", path);
        goto fail;
    }
    if (public_z85)
        memcpy(public_z85, pub, sizeof pub);
    if (secret_z85)
        memcpy(secret_z85, sec, sizeof sec);
    explicit_bzero(sec, sizeof sec);
    return 0;
fail:
    explicit_bzero(sec, sizeof sec);
    return -1;
}

/*  Reads an allow-list file (config key `name`) into list: one Z85 key per line (its
 *  first word), # comments. NULL or "" is the empty list. */
static int s_read_allowed(s_keys_t *list, const char *name, const char *path, char **err)
{
    char line[512];
    if (!path || !*path)
        return 0;
    FILE *f = fopen(path, "r");
    if (!f) {
        ax_set_error(err, "%s: cannot read %s: %s", name, path, strerror(errno));
        return -1;
    }
    for (int n = 1; fgets(line, sizeof line, f); n++) {
        char *l = s_trim(line);
        l[strcspn(l, " \t")] = '\0';
        if (!ax_curve_key_ok(l)) {
            if (*l == '#' || !*l)
                continue;
            ax_set_error(err, "%s: %s:%d: not a Z85 public key", name, path, n);
            fclose(f);
            return -1;
        }
        void *grown = realloc(list->keys, (list->n + 1) * sizeof *list->keys);
        if (!grown) {
            fclose(f);
            ax_set_error(err, "out of memory");
            return -1;
        }
        list->keys = grown;
        memcpy(list->keys[list->n++], l, AX_CURVE_KEYLEN + 1);
    }
    fclose(f);
    return 0;
}

/*  ------------------------------------------------------------------------------
 *  ZAP handler (servers)
 */

static bool s_listed(const s_keys_t *list, const char *key)
{
    for (size_t i = 0; i < list->n; i++)
        if (strcmp(list->keys[i], key) == 0)
            return true;
    return false;
}

/*  True when key may connect to a socket of this kind: the workers' list for the jobs
 *  and results sockets; the control list or the server's own key for the control socket. */
static bool s_admitted(const ax_curve_t *self, const char *key, bool control)
{
    if (control)
        return s_listed(&self->control, key) || strcmp(key, self->public_key) == 0;
    return s_listed(&self->allowed, key);
}

/*  Logs a refused key, once per key and socket kind. ZAP thread only. */
static void s_log_refused(ax_curve_t *self, const char *key, const char *address, bool control)
{
    for (size_t i = 0; i < self->n_refused; i++)
        if (self->refused[i].control == control && strcmp(self->refused[i].key, key) == 0)
            return;
    ax_log_warn("client refused|key=%s address=%s socket=%s reason=\"key not in curve.%s\"", key, address,
                control ? "control" : "workers", control ? "allowed_control_clients" : "allowed_clients");
    if (!self->refused)
        self->refused = calloc(S_MAX_REFUSED, sizeof *self->refused);
    if (self->refused && self->n_refused < S_MAX_REFUSED) {
        memcpy(self->refused[self->n_refused].key, key, sizeof(s_key_t));
        self->refused[self->n_refused++].control = control;
    }
}

/*  Answers one ZAP request: 200 for a listed CURVE key, 400 for anything else. */
static void s_zap_answer(ax_curve_t *self)
{
    zmq_msg_t part[8];
    size_t n = 0;
    int more = 1;
    while (more) {                  /* the whole request, even when malformed */
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, self->zap, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            break;
        }
        more = zmq_msg_more(&m);
        if (n < 8)
            part[n++] = m;
        else
            zmq_msg_close(&m);
    }
    bool ok = false, sane = n == 7 && zmq_msg_size(&part[0]) == 3 && !memcmp(zmq_msg_data(&part[0]), "1.0", 3);
    char key[AX_CURVE_KEYLEN + 1] = "", address[64] = "";
    size_t dlen = sane ? zmq_msg_size(&part[2]) : 0;
    bool control = dlen == strlen(S_DOMAIN_CONTROL) && !memcmp(zmq_msg_data(&part[2]), S_DOMAIN_CONTROL, dlen);
    bool workers = dlen == strlen(S_DOMAIN_WORKERS) && !memcmp(zmq_msg_data(&part[2]), S_DOMAIN_WORKERS, dlen);
    if (sane && (control || workers) && zmq_msg_size(&part[5]) == 5 && !memcmp(zmq_msg_data(&part[5]), "CURVE", 5)
        && zmq_msg_size(&part[6]) == 32 && zmq_z85_encode(key, zmq_msg_data(&part[6]), 32)) {
        snprintf(address, sizeof address, "%.*s", (int) zmq_msg_size(&part[3]), (char *) zmq_msg_data(&part[3]));
        ok = s_admitted(self, key, control);
    }
    if (!ok && *key)
        s_log_refused(self, key, address, control);
    else if (!ok && !*key)
        ax_log_warn("client refused|address=%s reason=\"not a CURVE handshake\"", address);
    if (n >= 2) {
        const char *status = ok ? "200" : "400", *text = ok ? "OK" : "client key not allowed";
        zmq_send(self->zap, "1.0", 3, ZMQ_SNDMORE);
        zmq_send(self->zap, zmq_msg_data(&part[1]), zmq_msg_size(&part[1]), ZMQ_SNDMORE);
        zmq_send(self->zap, status, 3, ZMQ_SNDMORE);
        zmq_send(self->zap, text, strlen(text), ZMQ_SNDMORE);
        zmq_send(self->zap, ok ? key : "", ok ? strlen(key) : 0, ZMQ_SNDMORE);
        zmq_send(self->zap, "", 0, 0);
    }
    for (size_t i = 0; i < n; i++)
        zmq_msg_close(&part[i]);
}

static void *s_zap_main(void *arg)
{
    ax_curve_t *self = arg;
    zmq_pollitem_t item = {self->zap, 0, ZMQ_POLLIN, 0};
    while (!atomic_load(&self->stop)) {
        int rc = zmq_poll(&item, 1, S_POLL_MS);
        if (rc < 0 && errno == ETERM)
            break;
        if (rc > 0)
            s_zap_answer(self);
    }
    zmq_close(self->zap);
    self->zap = NULL;
    return NULL;
}

/*  ------------------------------------------------------------------------------
 *  Handshake monitors (clients)
 */

static void *s_monitor_main(void *arg)
{
    s_monitor_t *m = arg;
    zmq_pollitem_t item = {m->pair, 0, ZMQ_POLLIN, 0};
    int64_t last_log_ms = 0;
    unsigned failures = 0;
    while (!atomic_load(&m->curve->stop)) {
        int rc = zmq_poll(&item, 1, S_POLL_MS);
        if (rc < 0 && errno == ETERM)
            break;
        if (rc <= 0)
            continue;
        zmq_msg_t ev, addr;
        zmq_msg_init(&ev);
        zmq_msg_init(&addr);
        if (zmq_msg_recv(&ev, m->pair, 0) < 0 || zmq_msg_recv(&addr, m->pair, 0) < 0) {
            zmq_msg_close(&ev);
            zmq_msg_close(&addr);
            break;
        }
        uint16_t event = 0;
        uint32_t value = 0;
        if (zmq_msg_size(&ev) >= 6) {
            memcpy(&event, zmq_msg_data(&ev), 2);
            memcpy(&value, (char *) zmq_msg_data(&ev) + 2, 4);
        }
        char endpoint[256];
        snprintf(endpoint, sizeof endpoint, "%.*s", (int) zmq_msg_size(&addr), (char *) zmq_msg_data(&addr));
        zmq_msg_close(&ev);
        zmq_msg_close(&addr);
        if (event == ZMQ_EVENT_MONITOR_STOPPED)
            break;
        if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
            if (failures)
                ax_log_info("CURVE handshake succeeded|peer=%s endpoint=%s", m->peer, endpoint);
            failures = 0;
            continue;
        }
        failures++;
        int64_t now = ax_mono_ms();
        if (failures > 1 && now - last_log_ms < 30000)
            continue;
        last_log_ms = now;
        bool control = strcmp(m->peer, AX_CURVE_CONTROL) == 0;
        if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
            ax_log_error("cannot connect: the %s refused our key (add it to the %s)|peer=%s endpoint=%s status=%u "
                         "key=%s failures=%u",
                         control ? "broker's control socket" : m->peer,
                         control ? "broker's curve.allowed_control_clients" : "servers' curve.allowed_clients", m->peer,
                         endpoint, value, m->curve->public_key, failures);
        else
            ax_log_error("cannot connect: CURVE handshake failed (wrong curve.server_public_key, or "
                         "the server does not use CURVE)|peer=%s endpoint=%s error=\"%s\" failures=%u",
                         m->peer, endpoint, event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL ? "protocol" : zmq_strerror((int) value),
                         failures);
    }
    zmq_close(m->pair);
    free(m);
    return NULL;
}

/*  Monitors socket's handshakes on a thread of its own; logs failures as `peer`. */
static int s_monitor(ax_curve_t *self, void *socket, const char *peer)
{
    if (self->n_threads == S_MAX_THREADS)
        return 0;                   /* a worker that reconnected 255 times: enough said */
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "inproc://ax-curve-monitor-%p-%u", (void *) self, self->monitors++);
    int events = ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL
                 | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_SUCCEEDED;
    if (zmq_socket_monitor(socket, endpoint, events) < 0)
        return -1;
    s_monitor_t *m = calloc(1, sizeof *m);
    if (!m)
        return -1;
    m->curve = self;
    snprintf(m->peer, sizeof m->peer, "%s", peer ? peer : "server");
    m->pair = zmq_socket(self->zmq, ZMQ_PAIR);
    int linger = 0;
    if (!m->pair || zmq_setsockopt(m->pair, ZMQ_LINGER, &linger, sizeof linger) < 0
        || zmq_connect(m->pair, endpoint) < 0
        || pthread_create(&self->threads[self->n_threads], NULL, s_monitor_main, m) != 0) {
        if (m->pair)
            zmq_close(m->pair);
        free(m);
        return -1;
    }
    self->n_threads++;
    return 0;
}

/*  ------------------------------------------------------------------------------
 *  Construction
 */

/*  A disabled object, or the keys of this process loaded; NULL with *err. */
static ax_curve_t *s_new(const ax_config_t *cfg, void *zmq_ctx, bool server, char **err)
{
    ax_curve_t *self = calloc(1, sizeof *self);
    if (!self) {
        ax_set_error(err, "out of memory");
        return NULL;
    }
    self->server = server;
    self->zmq = zmq_ctx;
    atomic_init(&self->stop, false);
    if (!cfg->curve.enabled)
        return self;
    self->enabled = true;
    if (!zmq_has("curve")) {
        ax_set_error(err, "curve.enabled: this libzmq was built without CURVE (zmq_has(\"curve\") is false)");
        goto fail;
    }
    char *why = NULL;
    if (!cfg->curve.secret_key_file) {
        ax_set_error(err, "curve.secret_key_file: required when curve.enabled is true");
        goto fail;
    }
    if (ax_curve_read_keyfile(cfg->curve.secret_key_file, self->public_key, self->secret_key, &why) < 0) {
        ax_set_error(err, "curve.secret_key_file: %s", why ? why : "out of memory");
        free(why);
        goto fail;
    }
    return self;
fail:
    ax_curve_destroy(&self);
    return NULL;
}

ax_curve_t *ax_curve_server_new(const ax_config_t *cfg, void *zmq_ctx, char **err)
{
    ax_curve_t *self = s_new(cfg, zmq_ctx, true, err);
    if (!self || !self->enabled)
        return self;
    if (s_read_allowed(&self->allowed, "curve.allowed_clients", cfg->curve.allowed_clients, err) < 0
        || s_read_allowed(&self->control, "curve.allowed_control_clients", cfg->curve.allowed_control_clients, err) < 0)
        goto fail;
    if (self->allowed.n == 0)
        ax_log_warn("curve.allowed_clients lists no key: every worker will be refused");
    for (size_t i = 0; i < self->control.n; i++)
        if (s_listed(&self->allowed, self->control.keys[i]))
            ax_log_warn("a key is in both curve.allowed_clients and curve.allowed_control_clients: it may work "
                        "as a worker and start runs (keep the lists apart)|key=%s", self->control.keys[i]);
    self->zap = zmq_socket(zmq_ctx, ZMQ_REP);
    int linger = 0;
    if (!self->zap || zmq_setsockopt(self->zap, ZMQ_LINGER, &linger, sizeof linger) < 0
        || zmq_bind(self->zap, "inproc://zeromq.zap.01") < 0) {
        ax_set_error(err, "curve: cannot start the ZAP handler: %s", zmq_strerror(errno));
        goto fail;
    }
    if (pthread_create(&self->threads[0], NULL, s_zap_main, self) != 0) {
        ax_set_error(err, "curve: cannot start the ZAP thread");
        goto fail;
    }
    self->n_threads = 1;
    ax_log_info("CURVE on: clients authenticated by public key|allowed_clients=%zu allowed_control_clients=%zu",
                self->allowed.n, self->control.n);
    return self;
fail:
    ax_curve_destroy(&self);
    return NULL;
}

ax_curve_t *ax_curve_client_new(const ax_config_t *cfg, void *zmq_ctx, char **err)
{
    ax_curve_t *self = s_new(cfg, zmq_ctx, false, err);
    if (!self || !self->enabled)
        return self;
    const char *sk = cfg->curve.server_public_key;
    char *why = NULL;
    if (!sk || !*sk) {
        ax_set_error(err, "curve.server_public_key: required when curve.enabled is true (the Z85 key "
                          "or the .pub file of the broker's and collector's key pair)");
        goto fail;
    }
    if (ax_curve_key_ok(sk))
        memcpy(self->server_key, sk, sizeof self->server_key);
    else if (ax_curve_read_keyfile(sk, self->server_key, NULL, &why) < 0) {
        ax_set_error(err, "curve.server_public_key: neither a Z85 key nor a readable .pub file: %s",
                     why ? why : "out of memory");
        free(why);
        goto fail;
    }
    ax_log_info("CURVE on: connecting as our public key|key=%s", self->public_key);
    return self;
fail:
    ax_curve_destroy(&self);
    return NULL;
}

void ax_curve_destroy(ax_curve_t **self_p)
{
    ax_curve_t *self = self_p ? *self_p : NULL;
    if (!self)
        return;
    atomic_store(&self->stop, true);
    for (size_t i = 0; i < self->n_threads; i++)
        pthread_join(self->threads[i], NULL);
    if (self->zap)                  /* bound, but its thread never started */
        zmq_close(self->zap);
    explicit_bzero(self->secret_key, sizeof self->secret_key);
    free(self->allowed.keys);
    free(self->control.keys);
    free(self->refused);
    free(self);
    *self_p = NULL;
}

bool ax_curve_enabled(const ax_curve_t *self)
{
    return self && self->enabled;
}

int ax_curve_apply(ax_curve_t *self, void *socket, const char *peer)
{
    if (!ax_curve_enabled(self))
        return 0;
    bool control = peer && strcmp(peer, AX_CURVE_CONTROL) == 0;
    if (self->server) {
        int on = 1;
        const char *domain = control ? S_DOMAIN_CONTROL : S_DOMAIN_WORKERS;
        if (control && self->control.n == 0)
            ax_log_warn("curve.allowed_control_clients lists no key: only this server's own key (curve.secret_key_file) "
                        "may SUBMIT or ask STATUS on the control socket");
        return zmq_setsockopt(socket, ZMQ_CURVE_SERVER, &on, sizeof on) < 0
                       || zmq_setsockopt(socket, ZMQ_CURVE_SECRETKEY, self->secret_key, AX_CURVE_KEYLEN) < 0
                       || zmq_setsockopt(socket, ZMQ_ZAP_DOMAIN, domain, strlen(domain)) < 0
                   ? -1
                   : 0;
    }
    if (zmq_setsockopt(socket, ZMQ_CURVE_SERVERKEY, self->server_key, AX_CURVE_KEYLEN) < 0
        || zmq_setsockopt(socket, ZMQ_CURVE_PUBLICKEY, self->public_key, AX_CURVE_KEYLEN) < 0
        || zmq_setsockopt(socket, ZMQ_CURVE_SECRETKEY, self->secret_key, AX_CURVE_KEYLEN) < 0)
        return -1;
    if (s_monitor(self, socket, peer) < 0)
        ax_log_warn("cannot monitor CURVE handshakes|peer=%s error=\"%s\"", peer ? peer : "?", zmq_strerror(errno));
    return 0;
}
