/*  proto.c: the command table, framing, and the one place bad messages are dropped (see
 *  proto.h).
 *
 *  ax_proto_recv reads frame by frame and checks, in this order: the identity (ROUTER
 *  ends), the signature, the command name (turned into the enum here, once), that this end
 *  receives the command, the body frame's presence, and last the body itself with the
 *  command's required keys (codec.h). The first failure drains the rest of the message
 *  and goes to s_drop, which counts it, rate-limits its log line (ax_drop_log_note) and
 *  fills the caller's ax_drop_info_t.
 */
#define _GNU_SOURCE
#include "proto.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "metrics.h"
#include "text.h"

#define B(end) AX_END_BIT(AX_END_##end)

/*  docs/protocol.md sections 3, 4 and 6 say the same (tests/unit/test_proto.c compares). */
static const ax_cmd_def_t s_cmds[AX_CMD_COUNT] = {
    [AX_CMD_READY] = {"READY", B(BROKER), AX_BODY_CTL, {"worker", "credit"}, NULL},
    [AX_CMD_JOB] = {"JOB", B(WORKER), AX_BODY_JOB,
                    {"run", "job", "attempt", "lease_ms", "lease", "profiles", "papers"}, NULL},
    [AX_CMD_WORKING] = {"WORKING", B(BROKER), AX_BODY_CTL, {"run", "job", "lease"}, NULL},
    [AX_CMD_DONE] = {"DONE", B(BROKER), AX_BODY_CTL, {"run", "job", "lease", "credit"}, NULL},
    [AX_CMD_FAIL] = {"FAIL", B(BROKER), AX_BODY_CTL, {"run", "job", "lease", "reason", "credit"}, NULL},
    [AX_CMD_HEARTBEAT] = {"HEARTBEAT", B(BROKER) | B(WORKER) | B(COLLECTOR) | B(WORKER_RESULTS), AX_BODY_NONE,
                          {NULL}, NULL},
    [AX_CMD_RESET] = {"RESET", B(WORKER), AX_BODY_NONE, {NULL}, NULL},
    [AX_CMD_BYE] = {"BYE", B(BROKER), AX_BODY_NONE, {NULL}, NULL},
    [AX_CMD_RESULT] = {"RESULT", B(COLLECTOR), AX_BODY_RESULT,
                       {"run", "job", "attempt", "worker", "profiles", "items"}, NULL},
    [AX_CMD_ACK] = {"ACK", B(WORKER_RESULTS), AX_BODY_CTL, {"run", "job"}, NULL},
    [AX_CMD_SUBMIT] = {"SUBMIT", B(CONTROL), AX_BODY_RUNSPEC,
                       {"source", "categories", "job_size", "profiles", "group_by"}, "run spec"},
    [AX_CMD_STATUS] = {"STATUS", B(CONTROL), AX_BODY_CTL, {NULL}, NULL},
    [AX_CMD_OK] = {"OK", B(CLIENT), AX_BODY_CTL, {NULL}, NULL},
    [AX_CMD_ERROR] = {"ERROR", B(CLIENT), AX_BODY_CTL, {"error"}, NULL},
};
#undef B

/*  The ends: their socket label (metrics, logs), whether a ROUTER envelope comes first,
 *  the peer to name in logs when there is no identity, and what they are (errors). */
static const struct {
    const char *socket, *peer, *what;
    int is_router;
} s_ends[AX_END_COUNT] = {
    [AX_END_BROKER] = {"jobs", NULL, "the broker's jobs socket", 1},
    [AX_END_WORKER] = {"jobs", "broker", "a worker's broker socket", 0},
    [AX_END_COLLECTOR] = {"results", NULL, "the collector's results socket", 1},
    [AX_END_WORKER_RESULTS] = {"results", "collector", "a worker's collector socket", 0},
    [AX_END_CONTROL] = {"control", "-", "the broker's control socket", 0},
    [AX_END_CLIENT] = {"control", "broker", "a control client", 0},
};

static const char *s_drop_names[AX_DROP_COUNT] = {"frames", "signature", "command", "direction",
                                                  "body",   "decode",    "key"};

const ax_cmd_def_t *ax_cmd_def(ax_cmd_t cmd)
{
    return cmd < AX_CMD_COUNT ? &s_cmds[cmd] : NULL;
}

const char *ax_cmd_name(ax_cmd_t cmd)
{
    return cmd < AX_CMD_COUNT ? s_cmds[cmd].name : "-";
}

const char *ax_drop_name(ax_drop_t reason)
{
    return reason < AX_DROP_COUNT ? s_drop_names[reason] : "-";
}

/* ---------------------------------------------------------------- sending */

static void s_free_body(void *data, void *hint)
{
    (void) hint;
    free(data);
}

/*  The envelope, signature and command frames; more = a body frame follows. */
static int s_send_head(void *socket, const void *identity, size_t identity_len, ax_cmd_t cmd, int more)
{
    const char *name = ax_cmd_name(cmd);
    int flags = ZMQ_DONTWAIT;
    if (identity && zmq_send(socket, identity, identity_len, flags | ZMQ_SNDMORE) < 0)
        return -1;
    if (zmq_send(socket, AX_PROTO_SIGNATURE, 4, flags | ZMQ_SNDMORE) < 0)
        return -1;
    return zmq_send(socket, name, strlen(name), flags | (more ? ZMQ_SNDMORE : 0)) < 0 ? -1 : 0;
}

int ax_proto_send(void *socket, const void *identity, size_t identity_len, ax_cmd_t cmd, const void *body,
                  size_t body_len)
{
    if (s_send_head(socket, identity, identity_len, cmd, body != NULL) < 0)
        return -1;
    if (body && zmq_send(socket, body, body_len, ZMQ_DONTWAIT) < 0)
        return -1;
    return 0;
}

int ax_proto_send_owned(void *socket, const void *identity, size_t identity_len, ax_cmd_t cmd, char *body,
                        size_t body_len)
{
    zmq_msg_t m;
    if (zmq_msg_init_data(&m, body, body_len, s_free_body, NULL) < 0) {
        free(body);
        return -1;
    }
    if (s_send_head(socket, identity, identity_len, cmd, 1) < 0 || zmq_msg_send(&m, socket, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&m);              /* frees body */
        return -1;
    }
    return 0;
}

int ax_proto_send_ctl(void *socket, const void *identity, size_t identity_len, ax_cmd_t cmd, const ax_ctl_t *ctl)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    ax_ctl_encode(&sb, ctl, s_cmds[cmd].required);
    int rc = ax_proto_send(socket, identity, identity_len, cmd, sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
    return rc;
}

/* ---------------------------------------------------------------- dropping */

static int64_t (*s_clock)(void) = ax_mono_ms;
static ax_drop_log_t s_drop_log;

void ax_proto_test_clock(int64_t (*now_ms)(void))
{
    s_clock = now_ms ? now_ms : ax_mono_ms;
    memset(&s_drop_log, 0, sizeof s_drop_log);
}

static int s_same_key(const ax_drop_slot_t *s, ax_end_t end, const void *peer, size_t peer_len, ax_drop_t reason)
{
    return s->used && s->end == end && s->reason == reason && s->peer_len == peer_len &&
           memcmp(s->peer, peer, peer_len) == 0;
}

/*  The slot of (end, peer, reason): its own, else a new one (a free slot, or one whose
 *  interval is over: best one that owes no count, else one whose count is handed to
 *  "others"), else NULL (every slot is busy). */
static ax_drop_slot_t *s_drop_slot(ax_drop_log_t *log, ax_end_t end, const void *peer, size_t peer_len,
                                   ax_drop_t reason, int64_t now_ms)
{
    ax_drop_slot_t *clean = NULL, *owing = NULL;
    for (size_t i = 0; i < AX_DROP_LOG_SLOTS; i++) {
        ax_drop_slot_t *s = &log->slot[i];
        if (s_same_key(s, end, peer, peer_len, reason))
            return s;
        if (!s->used || (now_ms >= s->next_ms && s->suppressed == 0))
            clean = clean ? clean : s;
        else if (now_ms >= s->next_ms)
            owing = owing ? owing : s;
    }
    ax_drop_slot_t *s = clean ? clean : owing;
    if (!s)
        return NULL;
    if (s->used && s->suppressed)
        log->others[s->reason].suppressed += s->suppressed;
    memset(s, 0, sizeof *s);
    s->used = 1;
    s->end = end;
    s->reason = reason;
    memcpy(s->peer, peer, peer_len);
    s->peer_len = peer_len;
    return s;
}

int ax_drop_log_note(ax_drop_log_t *log, ax_end_t end, const void *peer, size_t peer_len, ax_drop_t reason,
                     int64_t now_ms, unsigned *suppressed, int *others)
{
    if (peer_len > AX_DROP_LOG_PEER)
        peer_len = AX_DROP_LOG_PEER;
    ax_drop_slot_t *s = s_drop_slot(log, end, peer, peer_len, reason, now_ms);
    *others = s == NULL;
    if (!s)
        s = &log->others[reason < AX_DROP_COUNT ? reason : 0];
    if (now_ms < s->next_ms) {
        s->suppressed++;
        return 0;
    }
    *suppressed = s->suppressed;
    s->suppressed = 0;
    s->next_ms = now_ms + AX_PROTO_DROP_LOG_MS;
    return 1;
}

/*  Drops the message being read on end (msg holds its identity): drains its frames,
 *  counts it, logs it within the rate limit and says why in *drop. Returns -1. */
static int s_drop(void *socket, const ax_msg_t *msg, ax_drop_info_t *drop, ax_drop_t reason, ax_cmd_t cmd,
                  const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static int s_drop(void *socket, const ax_msg_t *msg, ax_drop_info_t *drop, ax_drop_t reason, ax_cmd_t cmd,
                  const char *fmt, ...)
{
    ax_drop_info_t local;
    drop = drop ? drop : &local;
    int more = 1;
    size_t sz = sizeof more;
    while (zmq_getsockopt(socket, ZMQ_RCVMORE, &more, &sz) == 0 && more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        int rc = zmq_msg_recv(&m, socket, 0);
        zmq_msg_close(&m);
        if (rc < 0)
            break;
    }
    drop->reason = reason;
    drop->cmd = cmd;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(drop->error, sizeof drop->error, fmt, ap);
    va_end(ap);
    char labels[64];
    snprintf(labels, sizeof labels, "socket=\"%s\",reason=\"%s\"", s_ends[msg->end].socket, s_drop_names[reason]);
    ax_metrics_add("arxdigest_protocol_frames_dropped_total", labels, 1);
    unsigned skipped = 0;
    int others = 0;
    if (!ax_drop_log_note(&s_drop_log, msg->end, msg->identity, msg->identity_len, reason, s_clock(), &skipped,
                          &others))
        return -1;
    const char *peer = others ? "others" : msg->identity_len ? ax_proto_peer(msg) : s_ends[msg->end].peer;
    if (cmd < AX_CMD_COUNT)
        ax_log_warn("bad %s dropped|socket=%s peer=%s reason=%s error=\"%s\" not_logged=%u", ax_cmd_name(cmd),
                    s_ends[msg->end].socket, peer, s_drop_names[reason], drop->error, skipped);
    else
        ax_log_warn("garbage dropped|socket=%s peer=%s reason=%s error=\"%s\" not_logged=%u",
                    s_ends[msg->end].socket, peer, s_drop_names[reason], drop->error, skipped);
    return -1;
}

/* ---------------------------------------------------------------- receiving */

static int s_more(void *socket)
{
    int more = 0;
    size_t sz = sizeof more;
    return zmq_getsockopt(socket, ZMQ_RCVMORE, &more, &sz) == 0 && more;
}

/*  The command named by frame f (A-Z, 1..16 bytes), or AX_CMD_COUNT: the name becomes the
 *  enum here and nowhere else. *bad = the name is not even well-formed. */
static ax_cmd_t s_cmd_lookup(zmq_msg_t *f, int *bad)
{
    const char *p = zmq_msg_data(f);
    size_t n = zmq_msg_size(f);
    *bad = n == 0 || n > AX_PROTO_MAX_COMMAND;
    for (size_t i = 0; !*bad && i < n; i++)
        *bad = p[i] < 'A' || p[i] > 'Z';
    for (int c = 0; !*bad && c < AX_CMD_COUNT; c++)
        if (strlen(s_cmds[c].name) == n && memcmp(s_cmds[c].name, p, n) == 0)
            return (ax_cmd_t) c;
    return AX_CMD_COUNT;
}

/*  Frames 0 and 1 (after the envelope, in f): the signature and a command this end
 *  receives, into msg->cmd. 0, or -1 (dropped). */
static int s_recv_head(void *socket, zmq_msg_t *f, ax_msg_t *msg, ax_drop_info_t *drop)
{
    int sig_ok = zmq_msg_size(f) == 4 && memcmp(zmq_msg_data(f), AX_PROTO_SIGNATURE, 4) == 0;
    zmq_msg_close(f);
    if (!sig_ok)
        return s_drop(socket, msg, drop, AX_DROP_SIGNATURE, AX_CMD_COUNT, "bad signature frame (not AXP1)");
    if (!s_more(socket))
        return s_drop(socket, msg, drop, AX_DROP_FRAMES, AX_CMD_COUNT, "no command frame");
    zmq_msg_init(f);
    if (zmq_msg_recv(f, socket, 0) < 0) {
        zmq_msg_close(f);
        return s_drop(socket, msg, drop, AX_DROP_FRAMES, AX_CMD_COUNT, "receive failed");
    }
    int bad;
    char name[AX_PROTO_MAX_COMMAND + 1] = "";
    msg->cmd = s_cmd_lookup(f, &bad);
    if (!bad)
        memcpy(name, zmq_msg_data(f), zmq_msg_size(f));
    zmq_msg_close(f);
    if (bad)
        return s_drop(socket, msg, drop, AX_DROP_COMMAND, AX_CMD_COUNT, "bad command frame");
    if (msg->cmd == AX_CMD_COUNT)
        return s_drop(socket, msg, drop, AX_DROP_COMMAND, AX_CMD_COUNT, "unknown command %s", name);
    if (!(s_cmds[msg->cmd].to & AX_END_BIT(msg->end)))
        return s_drop(socket, msg, drop, AX_DROP_DIRECTION, msg->cmd, "%s is not for %s", name,
                      s_ends[msg->end].what);
    return 0;
}

/*  Frame 2: the body the command's row asks for (or none), decoded and checked into
 *  msg->body, and nothing after it. 0, or -1 (dropped). */
static int s_recv_body(void *socket, ax_msg_t *msg, ax_drop_info_t *drop)
{
    const ax_cmd_def_t *def = &s_cmds[msg->cmd];
    if (!s_more(socket))
        return def->body == AX_BODY_NONE ? 0
                                         : s_drop(socket, msg, drop, AX_DROP_BODY, msg->cmd, "%s without a body",
                                                  def->name);
    if (def->body == AX_BODY_NONE)
        return s_drop(socket, msg, drop, AX_DROP_BODY, msg->cmd, "%s takes no body", def->name);
    zmq_msg_t f;
    zmq_msg_init(&f);
    if (zmq_msg_recv(&f, socket, 0) < 0) {
        zmq_msg_close(&f);
        return s_drop(socket, msg, drop, AX_DROP_FRAMES, msg->cmd, "receive failed");
    }
    if (s_more(socket)) {
        zmq_msg_close(&f);
        return s_drop(socket, msg, drop, AX_DROP_FRAMES, msg->cmd, "too many frames");
    }
    char *err = NULL;
    int rc = ax_body_decode(def->body, zmq_msg_data(&f), zmq_msg_size(&f), def->required, &msg->body, &err);
    zmq_msg_close(&f);
    if (rc == 0)
        return 0;
    char what[32];
    snprintf(what, sizeof what, "%s body", def->name);
    s_drop(socket, msg, drop, rc == -2 ? AX_DROP_KEY : AX_DROP_DECODE, msg->cmd, "bad %s: %s",
           def->body_name ? def->body_name : what, err ? err : "out of memory");
    free(err);
    return -1;
}

int ax_proto_recv(void *socket, ax_end_t end, ax_msg_t *msg, ax_drop_info_t *drop)
{
    zmq_msg_t f;
    memset(msg, 0, sizeof *msg);
    msg->end = end;
    msg->cmd = AX_CMD_COUNT;
    if (drop) {
        drop->cmd = AX_CMD_COUNT;
        drop->error[0] = '\0';
    }
    zmq_msg_init(&f);
    if (zmq_msg_recv(&f, socket, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&f);
        return 0;
    }
    if (s_ends[end].is_router) {
        size_t n = zmq_msg_size(&f);
        n = n > AX_PROTO_MAX_IDENTITY ? AX_PROTO_MAX_IDENTITY : n;
        memcpy(msg->identity, zmq_msg_data(&f), n);
        msg->identity_len = n;
        zmq_msg_close(&f);
        if (!s_more(socket))
            return s_drop(socket, msg, drop, AX_DROP_FRAMES, AX_CMD_COUNT, "message has no frames after the identity");
        zmq_msg_init(&f);
        if (zmq_msg_recv(&f, socket, 0) < 0) {
            zmq_msg_close(&f);
            return s_drop(socket, msg, drop, AX_DROP_FRAMES, AX_CMD_COUNT, "receive failed");
        }
    }
    if (s_recv_head(socket, &f, msg, drop) < 0 || s_recv_body(socket, msg, drop) < 0) {
        msg->cmd = AX_CMD_COUNT;
        return -1;
    }
    return 1;
}

void ax_msg_close(ax_msg_t *msg)
{
    if (msg && msg->cmd < AX_CMD_COUNT) {
        ax_body_clear(s_cmds[msg->cmd].body, &msg->body);
        memset(&msg->body, 0, sizeof msg->body);
    }
}

const char *ax_proto_peer(const ax_msg_t *msg)
{
    static char buf[2 * AX_PROTO_MAX_IDENTITY + 1];
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (size_t i = 0; i < msg->identity_len && i < 16; i++) {
        buf[o++] = hex[msg->identity[i] >> 4];
        buf[o++] = hex[msg->identity[i] & 15];
    }
    buf[o] = '\0';
    return buf;
}
