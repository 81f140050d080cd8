/*  test_proto.c: common/proto.c, the protocol as data, over real ZeroMQ pairs (inproc)
 *  standing for the six ends of the three channels:
 *  - every command of the table reaches each socket that receives it, with its body
 *    decoded (and a command's required keys are on the wire also when they are 0);
 *  - a body without one of its command's required keys (or with it nil) is dropped, the
 *    key named; unknown commands, commands a socket never receives, a body where none
 *    belongs or none where one does, bad signatures and frames are dropped;
 *  - a flood of 1000 garbage frames logs one line, and the next line after the interval
 *    counts the 999 it did not log; drop lines escape what the peer sent;
 *  - the drop log's slots (fake clock);
 *  - the command tables of docs/protocol.md are the C table.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "log.h"
#include "metrics.h"
#include "proto.h"
#include "test_helpers.h"

/* ---------------------------------------------------------------- the six ends */

typedef struct {
    void *ctx;
    void *sock[AX_END_COUNT];       /* the socket of each end */
} s_net_t;

static s_net_t s_net;

static void *s_socket(int type, const char *endpoint, int bind, const char *id)
{
    void *s = zmq_socket(s_net.ctx, type);
    int linger = 0, mandatory = 1;
    assert_non_null(s);
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    if (type == ZMQ_ROUTER)
        zmq_setsockopt(s, ZMQ_ROUTER_MANDATORY, &mandatory, sizeof mandatory);
    if (id)
        zmq_setsockopt(s, ZMQ_ROUTING_ID, id, strlen(id));
    assert_int_equal(bind ? zmq_bind(s, endpoint) : zmq_connect(s, endpoint), 0);
    return s;
}

static int s_setup(void **state)
{
    (void) state;
    s_net.ctx = zmq_ctx_new();
    s_net.sock[AX_END_BROKER] = s_socket(ZMQ_ROUTER, "inproc://jobs", 1, NULL);
    s_net.sock[AX_END_WORKER] = s_socket(ZMQ_DEALER, "inproc://jobs", 0, "w1");
    s_net.sock[AX_END_COLLECTOR] = s_socket(ZMQ_ROUTER, "inproc://results", 1, NULL);
    s_net.sock[AX_END_WORKER_RESULTS] = s_socket(ZMQ_DEALER, "inproc://results", 0, "w1");
    s_net.sock[AX_END_CONTROL] = s_socket(ZMQ_REP, "inproc://control", 1, NULL);
    s_net.sock[AX_END_CLIENT] = s_socket(ZMQ_REQ, "inproc://control", 0, NULL);
    ax_log_init("test");
    return 0;
}

static int s_teardown(void **state)
{
    (void) state;
    for (int e = 0; e < AX_END_COUNT; e++)
        zmq_close(s_net.sock[e]);
    zmq_ctx_term(s_net.ctx);
    return 0;
}

typedef struct {
    const void *data;
    size_t len;
} s_frame_t;

/*  The end that sends to end, and whether it needs the peer's identity first (ROUTER). */
static void *s_sender(ax_end_t end, int *routed)
{
    static const ax_end_t peer[AX_END_COUNT] = {
        [AX_END_BROKER] = AX_END_WORKER,         [AX_END_WORKER] = AX_END_BROKER,
        [AX_END_COLLECTOR] = AX_END_WORKER_RESULTS, [AX_END_WORKER_RESULTS] = AX_END_COLLECTOR,
        [AX_END_CONTROL] = AX_END_CLIENT,        [AX_END_CLIENT] = AX_END_CONTROL};
    *routed = end == AX_END_WORKER || end == AX_END_WORKER_RESULTS;
    return s_net.sock[peer[end]];
}

/*  Sends frames to end (as its peer does) and receives them there with ax_proto_recv.
 *  REQ/REP keep their turns: a message for the client goes out as the answer to a STATUS,
 *  and one for the control socket gets an OK back. Returns what ax_proto_recv did. */
static int s_deliver_frames(ax_end_t end, const s_frame_t *frames, size_t n, ax_msg_t *msg, ax_drop_info_t *drop)
{
    int routed;
    void *out = s_sender(end, &routed), *in = s_net.sock[end];
    if (end == AX_END_CLIENT) {                 /* the request this is the answer to */
        ax_ctl_t status = {.run = "R1"};
        ax_msg_t req;
        assert_int_equal(ax_proto_send_ctl(in, NULL, 0, AX_CMD_STATUS, &status), 0);
        zmq_pollitem_t it = {out, 0, ZMQ_POLLIN, 0};
        assert_int_equal(zmq_poll(&it, 1, 2000), 1);
        assert_int_equal(ax_proto_recv(out, AX_END_CONTROL, &req, NULL), 1);
        ax_msg_close(&req);
    }
    if (routed)
        assert_int_equal(zmq_send(out, "w1", 2, ZMQ_SNDMORE), 2);
    for (size_t i = 0; i < n; i++)
        assert_true(zmq_send(out, frames[i].data, frames[i].len, i + 1 < n ? ZMQ_SNDMORE : 0) >= 0);
    zmq_pollitem_t it = {in, 0, ZMQ_POLLIN, 0};
    assert_int_equal(zmq_poll(&it, 1, 2000), 1);
    int rc = ax_proto_recv(in, end, msg, drop);
    if (end == AX_END_CONTROL) {                /* REP owes an answer */
        ax_ctl_t ok = {0};
        ax_msg_t reply;
        assert_int_equal(ax_proto_send_ctl(in, NULL, 0, AX_CMD_OK, &ok), 0);
        zmq_pollitem_t rt = {out, 0, ZMQ_POLLIN, 0};
        assert_int_equal(zmq_poll(&rt, 1, 2000), 1);
        assert_int_equal(ax_proto_recv(out, AX_END_CLIENT, &reply, NULL), 1);
        ax_msg_close(&reply);
    }
    return rc;
}

/*  cmd with body (NULL: none) to end. */
static int s_deliver(ax_end_t end, const char *name, const msgpack_sbuffer *body, ax_msg_t *msg, ax_drop_info_t *drop)
{
    s_frame_t f[] = {{"AXP1", 4}, {name, strlen(name)}, {body ? body->data : NULL, body ? body->size : 0}};
    return s_deliver_frames(end, f, body ? 3 : 2, msg, drop);
}

/* ---------------------------------------------------------------- sample bodies */

static char *s_cats[] = {"cs.IR"};
static char *s_authors[] = {"A B"};
static char *s_names[] = {"p"};

static ax_paper_t s_paper(void)
{
    ax_paper_t p = {.id = "2602.09386", .version = 1, .title = "T", .authors = s_authors, .n_authors = 1,
                    .abstract = "abs", .categories = s_cats, .n_categories = 1, .submitted = 1770724560};
    return p;
}

static ax_profile_t s_profile(void)
{
    static ax_keyword_t kw[] = {{.term = "recommendation"}};
    ax_profile_t p = {.name = "p", .title = "t", .language = "en", .interest = "", .keywords = kw, .n_keywords = 1,
                      .min_hits = 1, .top_n = 20};
    return p;
}

static ax_ctl_t s_ctl(void)
{
    ax_ctl_t c = {.run = "R1", .job = 7, .lease = UINT64_MAX - 1, .credit = 3, .heartbeat_ms = 250,
                  .reason = "why", .worker = "w1", .state = "fatal", .error = "e"};
    return c;
}

/*  A body of cmd with every key it may carry. */
static void s_sample(ax_cmd_t cmd, msgpack_sbuffer *sb)
{
    const ax_cmd_def_t *def = ax_cmd_def(cmd);
    ax_paper_t paper = s_paper();
    ax_profile_t profile = s_profile();
    msgpack_sbuffer_init(sb);
    if (def->body == AX_BODY_CTL) {
        ax_ctl_t c = s_ctl();
        ax_ctl_encode(sb, &c, def->required);
    } else if (def->body == AX_BODY_JOB) {
        msgpack_sbuffer pr, pa;
        msgpack_sbuffer_init(&pr);
        msgpack_sbuffer_init(&pa);
        ax_pack_profiles(&pr, &profile, 1);
        ax_pack_papers(&pa, &paper, 1);
        ax_job_encode(sb, "R1", 7, 2, 1500, UINT64_MAX - 1, &pr, &pa);
        msgpack_sbuffer_destroy(&pr);
        msgpack_sbuffer_destroy(&pa);
    } else if (def->body == AX_BODY_RESULT) {
        ax_verdict_t v = {.state = AX_STATE_BELOW_THRESHOLD, .reason = "0 hits"};
        ax_item_t item = {.paper = paper, .verdicts = &v};
        ax_result_t r = {.run = "R1", .job = 7, .attempt = 2, .worker = "w1", .profiles = s_names, .n_profiles = 1,
                         .items = &item, .n_items = 1};
        ax_result_encode(sb, &r);
    } else if (def->body == AX_BODY_RUNSPEC) {
        ax_runspec_t s = {.source = "snapshot:/x", .categories = s_cats, .n_categories = 1, .job_size = 10,
                          .group_by = "run", .profiles = &profile, .n_profiles = 1, .request = "r-1",
                          .deadline_ms = 1780000000000};
        ax_runspec_encode(sb, &s);
    }
}

/*  msg is the sample of its command, decoded. */
static void s_check_sample(const ax_msg_t *msg)
{
    const ax_body_t *b = &msg->body;
    switch (ax_cmd_def(msg->cmd)->body) {
    case AX_BODY_CTL:
        assert_string_equal(b->ctl.run, "R1");
        assert_int_equal(b->ctl.job, 7);
        assert_true(b->ctl.lease == UINT64_MAX - 1);
        assert_int_equal(b->ctl.credit, 3);
        assert_int_equal(b->ctl.heartbeat_ms, 250);
        assert_string_equal(b->ctl.reason, "why");
        assert_string_equal(b->ctl.worker, "w1");
        assert_string_equal(b->ctl.state, "fatal");
        assert_string_equal(b->ctl.error, "e");
        break;
    case AX_BODY_JOB:
        assert_string_equal(b->job.run, "R1");
        assert_int_equal(b->job.job, 7);
        assert_int_equal(b->job.attempt, 2);
        assert_int_equal(b->job.lease_ms, 1500);
        assert_true(b->job.lease == UINT64_MAX - 1);
        assert_int_equal(b->job.n_papers, 1);
        assert_string_equal(b->job.papers[0].id, "2602.09386");
        assert_string_equal(b->job.profiles[0].name, "p");
        break;
    case AX_BODY_RESULT:
        assert_string_equal(b->result.run, "R1");
        assert_int_equal(b->result.job, 7);
        assert_int_equal(b->result.attempt, 2);
        assert_string_equal(b->result.worker, "w1");
        assert_int_equal(b->result.n_items, 1);
        assert_int_equal(b->result.items[0].verdicts[0].state, AX_STATE_BELOW_THRESHOLD);
        break;
    case AX_BODY_RUNSPEC:
        assert_string_equal(b->spec.source, "snapshot:/x");
        assert_string_equal(b->spec.categories[0], "cs.IR");
        assert_int_equal(b->spec.job_size, 10);
        assert_string_equal(b->spec.group_by, "run");
        assert_string_equal(b->spec.request, "r-1");
        break;
    case AX_BODY_NONE:
        break;
    }
}

/*  in (a map) with key left out, or, with nil, set to nil. */
static void s_edit(const msgpack_sbuffer *in, const char *key, int nil, msgpack_sbuffer *out)
{
    msgpack_unpacked u;
    size_t off = 0;
    msgpack_unpacked_init(&u);
    assert_int_equal(msgpack_unpack_next(&u, in->data, in->size, &off), MSGPACK_UNPACK_SUCCESS);
    msgpack_object_map *m = &u.data.via.map;
    msgpack_packer pk;
    msgpack_sbuffer_init(out);
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, m->size - (nil ? 0 : 1));
    for (uint32_t i = 0; i < m->size; i++) {
        int hit = m->ptr[i].key.via.str.size == strlen(key) && memcmp(m->ptr[i].key.via.str.ptr, key, strlen(key)) == 0;
        if (hit && !nil)
            continue;
        msgpack_pack_object(&pk, m->ptr[i].key);
        if (hit)
            msgpack_pack_nil(&pk);
        else
            msgpack_pack_object(&pk, m->ptr[i].val);
    }
    msgpack_unpacked_destroy(&u);
}

/* ---------------------------------------------------------------- round trips */

/*  Every command reaches every end that receives it, whole. */
static void test_every_command_round_trips(void **state)
{
    (void) state;
    for (int c = 0; c < AX_CMD_COUNT; c++) {
        const ax_cmd_def_t *def = ax_cmd_def((ax_cmd_t) c);
        assert_string_equal(ax_cmd_name((ax_cmd_t) c), def->name);
        assert_true(def->to != 0);
        for (int e = 0; e < AX_END_COUNT; e++) {
            if (!(def->to & AX_END_BIT(e)))
                continue;
            msgpack_sbuffer sb;
            ax_msg_t msg;
            ax_drop_info_t drop;
            s_sample((ax_cmd_t) c, &sb);
            int rc = s_deliver((ax_end_t) e, def->name, def->body ? &sb : NULL, &msg, &drop);
            if (rc != 1)
                fail_msg("%s to end %d dropped: %s", def->name, e, drop.error);
            assert_int_equal(msg.cmd, c);
            assert_int_equal(msg.end, e);
            s_check_sample(&msg);
            if (e == AX_END_BROKER || e == AX_END_COLLECTOR)
                assert_memory_equal(msg.identity, "w1", 2);
            ax_msg_close(&msg);
            ax_msg_close(&msg);                 /* idempotent */
            msgpack_sbuffer_destroy(&sb);
        }
    }
}

/*  ax_proto_send_ctl writes the keys a command requires also when they are 0: a DONE that
 *  grants no credit (a stopping worker) and carries no lease is still a DONE. */
static void test_required_zeros_are_sent(void **state)
{
    (void) state;
    ax_ctl_t done = {.run = "R1"};
    ax_msg_t msg;
    assert_int_equal(ax_proto_send_ctl(s_net.sock[AX_END_WORKER], NULL, 0, AX_CMD_DONE, &done), 0);
    zmq_pollitem_t it = {s_net.sock[AX_END_BROKER], 0, ZMQ_POLLIN, 0};
    assert_int_equal(zmq_poll(&it, 1, 2000), 1);
    assert_int_equal(ax_proto_recv(s_net.sock[AX_END_BROKER], AX_END_BROKER, &msg, NULL), 1);
    assert_int_equal(msg.cmd, AX_CMD_DONE);
    assert_int_equal(msg.body.ctl.credit, 0);
    assert_null(msg.body.ctl.reason);           /* not required: not sent */
    ax_msg_close(&msg);
}

/* ---------------------------------------------------------------- drops */

/*  Each required key of each command, left out (and the first one set to nil): dropped,
 *  the key named. */
static void test_missing_required_key_dropped(void **state)
{
    (void) state;
    for (int c = 0; c < AX_CMD_COUNT; c++) {
        const ax_cmd_def_t *def = ax_cmd_def((ax_cmd_t) c);
        ax_end_t end = (ax_end_t) __builtin_ctz(def->to);
        msgpack_sbuffer sb;
        s_sample((ax_cmd_t) c, &sb);
        for (size_t k = 0; def->required[k]; k++)
            for (int nil = 0; nil <= (k == 0); nil++) {
                msgpack_sbuffer edited;
                ax_msg_t msg;
                ax_drop_info_t drop;
                char want[64];
                s_edit(&sb, def->required[k], nil, &edited);
                assert_int_equal(s_deliver(end, def->name, &edited, &msg, &drop), -1);
                assert_int_equal(drop.reason, AX_DROP_KEY);
                assert_int_equal(drop.cmd, c);
                snprintf(want, sizeof want, "%s: missing", def->required[k]);
                assert_contains(drop.error, want);
                msgpack_sbuffer_destroy(&edited);
            }
        msgpack_sbuffer_destroy(&sb);
    }
    /* The SUBMIT error is the one its ERROR reply has always carried. */
    msgpack_sbuffer sb, edited;
    ax_msg_t msg;
    ax_drop_info_t drop;
    s_sample(AX_CMD_SUBMIT, &sb);
    s_edit(&sb, "group_by", 0, &edited);
    assert_int_equal(s_deliver(AX_END_CONTROL, "SUBMIT", &edited, &msg, &drop), -1);
    assert_string_equal(drop.error, "bad run spec: group_by: missing");
    msgpack_sbuffer_destroy(&sb);
    msgpack_sbuffer_destroy(&edited);
}

/*  Every command at every end that does not receive it: dropped as a wrong direction. */
static void test_wrong_direction_dropped(void **state)
{
    (void) state;
    int n = 0;
    for (int c = 0; c < AX_CMD_COUNT; c++) {
        const ax_cmd_def_t *def = ax_cmd_def((ax_cmd_t) c);
        for (int e = 0; e < AX_END_COUNT; e++) {
            if (def->to & AX_END_BIT(e))
                continue;
            msgpack_sbuffer sb;
            ax_msg_t msg;
            ax_drop_info_t drop;
            s_sample((ax_cmd_t) c, &sb);
            assert_int_equal(s_deliver((ax_end_t) e, def->name, def->body ? &sb : NULL, &msg, &drop), -1);
            assert_int_equal(drop.reason, AX_DROP_DIRECTION);
            assert_int_equal(drop.cmd, c);
            assert_contains(drop.error, def->name);
            msgpack_sbuffer_destroy(&sb);
            n++;
        }
    }
    assert_true(n >= 60);
}

/*  Unknown commands, bodies where none belongs and none where one does, bad signatures,
 *  bad command frames, extra frames; the stream stays in step after each. */
static void test_bad_frames_dropped(void **state)
{
    (void) state;
    msgpack_sbuffer sb;
    ax_msg_t msg;
    ax_drop_info_t drop;
    s_sample(AX_CMD_READY, &sb);
    const struct {
        s_frame_t f[4];
        size_t n;
        ax_drop_t reason;
        const char *error;
    } cases[] = {
        {{{"AXP1", 4}, {"FOO", 3}}, 2, AX_DROP_COMMAND, "unknown command FOO"},
        {{{"AXP1", 4}, {"ready", 5}}, 2, AX_DROP_COMMAND, "bad command frame"},
        {{{"AXP1", 4}, {"READYREADYREADYRE", 17}}, 2, AX_DROP_COMMAND, "bad command frame"},
        {{{"HTTP", 4}, {"GET", 3}}, 2, AX_DROP_SIGNATURE, "signature"},
        {{{"AXP1", 4}}, 1, AX_DROP_FRAMES, "no command frame"},
        {{{"AXP1", 4}, {"HEARTBEAT", 9}, {sb.data, sb.size}}, 3, AX_DROP_BODY, "HEARTBEAT takes no body"},
        {{{"AXP1", 4}, {"READY", 5}}, 2, AX_DROP_BODY, "READY without a body"},
        {{{"AXP1", 4}, {"READY", 5}, {"\x81\xa1v", 3}}, 3, AX_DROP_DECODE, "bad READY body: "},
        {{{"AXP1", 4}, {"DONE", 4}, {"a", 1}, {"b", 1}}, 4, AX_DROP_FRAMES, "too many frames"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        assert_int_equal(s_deliver_frames(AX_END_BROKER, cases[i].f, cases[i].n, &msg, &drop), -1);
        assert_int_equal(drop.reason, cases[i].reason);
        assert_contains(drop.error, cases[i].error);
    }
    /* One empty frame. */
    assert_int_equal(zmq_send(s_net.sock[AX_END_WORKER], "", 0, 0), 0);
    zmq_pollitem_t it = {s_net.sock[AX_END_BROKER], 0, ZMQ_POLLIN, 0};
    assert_int_equal(zmq_poll(&it, 1, 2000), 1);
    assert_int_equal(ax_proto_recv(s_net.sock[AX_END_BROKER], AX_END_BROKER, &msg, &drop), -1);
    assert_int_equal(drop.reason, AX_DROP_SIGNATURE);
    /* In step: the next good message arrives whole. */
    assert_int_equal(s_deliver(AX_END_BROKER, "READY", &sb, &msg, &drop), 1);
    assert_int_equal(msg.cmd, AX_CMD_READY);
    ax_msg_close(&msg);
    /* Nothing to read is not a drop. */
    assert_int_equal(ax_proto_recv(s_net.sock[AX_END_BROKER], AX_END_BROKER, &msg, &drop), 0);
    msgpack_sbuffer_destroy(&sb);
}

/* ---------------------------------------------------------------- the drop log */

static int64_t s_fake_ms;

static int64_t s_fake_now(void)
{
    return s_fake_ms;
}

/*  A flood of 1000 garbage frames from one peer: 1000 drops counted, one line logged; the
 *  first line after the interval says 999 were not logged. Another peer, and another
 *  reason of the same peer, get lines of their own meanwhile. */
static void test_flood_logs_one_line(void **state)
{
    (void) state;
    ax_test_stderr_t cap;
    ax_msg_t msg;
    const s_frame_t foo[] = {{"AXP1", 4}, {"FOO", 3}};
    assert_int_equal(ax_test_stderr_begin(&cap), 0);
    ax_metrics_reset();
    s_fake_ms = 1000000;
    ax_proto_test_clock(s_fake_now);
    void *w1 = s_net.sock[AX_END_WORKER], *broker = s_net.sock[AX_END_BROKER];
    int dropped = 0;
    for (int round = 0; round < 10; round++) {
        for (int i = 0; i < 100; i++)
            assert_int_equal(zmq_send(w1, "AXP1", 4, ZMQ_SNDMORE) + zmq_send(w1, "FOO", 3, 0), 7);
        while (dropped < (round + 1) * 100) {
            zmq_pollitem_t it = {broker, 0, ZMQ_POLLIN, 0};
            assert_int_equal(zmq_poll(&it, 1, 2000), 1);
            assert_int_equal(ax_proto_recv(broker, AX_END_BROKER, &msg, NULL), -1);
            dropped++;
        }
    }
    char *log = ax_test_stderr_take(&cap);
    assert_int_equal(ax_test_count_substr(log, "\n"), 1);
    assert_contains(log, "msg=\"garbage dropped\" socket=jobs peer=7731 reason=command "
                         "error=\"unknown command FOO\" not_logged=0");
    free(log);
    assert_true(ax_metrics_get("arxdigest_protocol_frames_dropped_total", "socket=\"jobs\",reason=\"command\"") ==
                1000);
    /* Another peer and another reason are keys of their own. */
    void *w2 = s_socket(ZMQ_DEALER, "inproc://jobs", 0, "w2");
    ax_drop_info_t drop;
    assert_int_equal(zmq_send(w2, "AXP1", 4, ZMQ_SNDMORE) + zmq_send(w2, "FOO", 3, 0), 7);
    zmq_pollitem_t it = {broker, 0, ZMQ_POLLIN, 0};
    assert_int_equal(zmq_poll(&it, 1, 2000), 1);
    assert_int_equal(ax_proto_recv(broker, AX_END_BROKER, &msg, &drop), -1);
    zmq_close(w2);
    assert_int_equal(s_deliver_frames(AX_END_BROKER, (s_frame_t[]){{"AXP1", 4}, {"READY", 5}}, 2, &msg, &drop), -1);
    log = ax_test_stderr_take(&cap);
    assert_int_equal(ax_test_count_substr(log, "\n"), 2);
    assert_contains(log, "msg=\"garbage dropped\" socket=jobs peer=7732 reason=command");
    assert_contains(log, "msg=\"bad READY dropped\" socket=jobs peer=7731 reason=body");
    free(log);
    /* After the interval: one line, counting what was not logged. */
    s_fake_ms += AX_PROTO_DROP_LOG_MS;
    assert_int_equal(s_deliver_frames(AX_END_BROKER, foo, 2, &msg, &drop), -1);
    log = ax_test_stderr_take(&cap);
    assert_int_equal(ax_test_count_substr(log, "\n"), 1);
    assert_contains(log, "peer=7731 reason=command error=\"unknown command FOO\" not_logged=999");
    free(log);
    ax_proto_test_clock(NULL);
    assert_int_equal(ax_test_stderr_end(&cap), 0);
}

/*  What a peer sent and the error quotes stays inside its value: one line, escaped. */
static void test_drop_line_escaped(void **state)
{
    (void) state;
    ax_test_stderr_t cap;
    msgpack_sbuffer sb;
    msgpack_packer pk;
    ax_msg_t msg;
    ax_drop_info_t drop;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    const char *st = "evil\nlevel=error msg=\"forged\"";
    msgpack_pack_map(&pk, 7);
    msgpack_pack_str_with_body(&pk, "v", 1);
    msgpack_pack_uint32(&pk, 1);
    msgpack_pack_str_with_body(&pk, "run", 3);
    msgpack_pack_str_with_body(&pk, "R1", 2);
    msgpack_pack_str_with_body(&pk, "job", 3);
    msgpack_pack_uint32(&pk, 1);
    msgpack_pack_str_with_body(&pk, "attempt", 7);
    msgpack_pack_uint32(&pk, 1);
    msgpack_pack_str_with_body(&pk, "worker", 6);
    msgpack_pack_str_with_body(&pk, "w", 1);
    msgpack_pack_str_with_body(&pk, "profiles", 8);
    msgpack_pack_array(&pk, 1);
    msgpack_pack_str_with_body(&pk, "p", 1);
    msgpack_pack_str_with_body(&pk, "items", 5);
    msgpack_pack_array(&pk, 1);
    msgpack_pack_map(&pk, 2);
    msgpack_pack_str_with_body(&pk, "paper", 5);
    msgpack_pack_map(&pk, 1);
    msgpack_pack_str_with_body(&pk, "id", 2);
    msgpack_pack_str_with_body(&pk, "x", 1);
    msgpack_pack_str_with_body(&pk, "verdicts", 8);
    msgpack_pack_array(&pk, 1);
    msgpack_pack_map(&pk, 1);
    msgpack_pack_str_with_body(&pk, "st", 2);
    msgpack_pack_str_with_body(&pk, st, strlen(st));
    assert_int_equal(ax_test_stderr_begin(&cap), 0);
    assert_int_equal(s_deliver(AX_END_COLLECTOR, "RESULT", &sb, &msg, &drop), -1);
    assert_int_equal(drop.reason, AX_DROP_DECODE);
    char *log = ax_test_stderr_take(&cap);
    assert_int_equal(ax_test_count_substr(log, "\n"), 1);
    assert_contains(log, "msg=\"bad RESULT dropped\" socket=results peer=7731 reason=decode");
    assert_contains(log, "evil\\nlevel=error msg=\\\"forged\\\"");
    free(log);
    assert_int_equal(ax_test_stderr_end(&cap), 0);
    msgpack_sbuffer_destroy(&sb);
}

/*  The slots of the drop log, with a fake clock. */
static void test_drop_log_slots(void **state)
{
    (void) state;
    ax_drop_log_t *log = calloc(1, sizeof *log);
    unsigned sup = 99;
    int others = 9;
    assert_non_null(log);
    /* One key: a line, then silence for the interval, then a line with the count. */
    assert_int_equal(ax_drop_log_note(log, AX_END_BROKER, "a", 1, AX_DROP_DECODE, 0, &sup, &others), 1);
    assert_int_equal(sup, 0);
    assert_int_equal(others, 0);
    for (int i = 0; i < 5; i++)
        assert_int_equal(ax_drop_log_note(log, AX_END_BROKER, "a", 1, AX_DROP_DECODE, i, &sup, &others), 0);
    assert_int_equal(ax_drop_log_note(log, AX_END_BROKER, "a", 1, AX_DROP_DECODE, AX_PROTO_DROP_LOG_MS - 1, &sup,
                                      &others), 0);
    assert_int_equal(ax_drop_log_note(log, AX_END_BROKER, "a", 1, AX_DROP_DECODE, AX_PROTO_DROP_LOG_MS, &sup,
                                      &others), 1);
    assert_int_equal(sup, 6);
    /* Another reason, another peer, another socket: keys of their own. */
    assert_int_equal(ax_drop_log_note(log, AX_END_BROKER, "a", 1, AX_DROP_KEY, 0, &sup, &others), 1);
    assert_int_equal(ax_drop_log_note(log, AX_END_BROKER, "b", 1, AX_DROP_DECODE, 0, &sup, &others), 1);
    assert_int_equal(ax_drop_log_note(log, AX_END_COLLECTOR, "a", 1, AX_DROP_DECODE, 0, &sup, &others), 1);
    /* 32 keys busy within their interval: a 33rd peer is counted under "others". */
    for (int i = 4; i < AX_DROP_LOG_SLOTS; i++)
        assert_int_equal(ax_drop_log_note(log, AX_END_BROKER, &i, sizeof i, AX_DROP_DECODE, 1, &sup, &others), 1);
    int x = 1000, y = 1001;
    assert_int_equal(ax_drop_log_note(log, AX_END_BROKER, &x, sizeof x, AX_DROP_DECODE, 2, &sup, &others), 1);
    assert_int_equal(others, 1);
    assert_int_equal(ax_drop_log_note(log, AX_END_BROKER, &y, sizeof y, AX_DROP_DECODE, 3, &sup, &others), 0);
    assert_int_equal(others, 1);
    /* Past the interval, a slot that owes nothing goes to a new peer... */
    assert_int_equal(ax_drop_log_note(log, AX_END_BROKER, &y, sizeof y, AX_DROP_DECODE, 3 * AX_PROTO_DROP_LOG_MS,
                                      &sup, &others), 1);
    assert_int_equal(others, 0);
    /* ... and when every slot owes a count, the one taken hands it to "others". */
    memset(log, 0, sizeof *log);
    for (int i = 0; i < AX_DROP_LOG_SLOTS; i++) {
        assert_int_equal(ax_drop_log_note(log, AX_END_BROKER, &i, sizeof i, AX_DROP_DECODE, 0, &sup, &others), 1);
        assert_int_equal(ax_drop_log_note(log, AX_END_BROKER, &i, sizeof i, AX_DROP_DECODE, 1, &sup, &others), 0);
    }
    assert_int_equal(ax_drop_log_note(log, AX_END_BROKER, &x, sizeof x, AX_DROP_DECODE, AX_PROTO_DROP_LOG_MS, &sup,
                                      &others), 1);
    assert_int_equal(others, 0);
    assert_int_equal(log->others[AX_DROP_DECODE].suppressed, 1);
    free(log);
}

/* ---------------------------------------------------------------- the document */

/*  The ends a direction of docs/protocol.md names (W worker, B broker, C collector, A the
 *  arxdigest command); 0 for an unknown one. */
static unsigned s_doc_ends(const char *dir)
{
    static const struct {
        const char *dir;
        unsigned to;
    } map[] = {
        {"W→B", AX_END_BIT(AX_END_BROKER)},
        {"B→W", AX_END_BIT(AX_END_WORKER)},
        {"W↔B", AX_END_BIT(AX_END_BROKER) | AX_END_BIT(AX_END_WORKER)},
        {"W→C", AX_END_BIT(AX_END_COLLECTOR)},
        {"C→W", AX_END_BIT(AX_END_WORKER_RESULTS)},
        {"W↔C", AX_END_BIT(AX_END_COLLECTOR) | AX_END_BIT(AX_END_WORKER_RESULTS)},
        {"A→B", AX_END_BIT(AX_END_CONTROL)},
        {"B→A", AX_END_BIT(AX_END_CLIENT)},
    };
    for (size_t i = 0; i < sizeof map / sizeof *map; i++)
        if (strcmp(map[i].dir, dir) == 0)
            return map[i].to;
    return 0;
}

/*  The required keys of a body cell (`{v, run, job: uint, from: str?, state?: "x"}`):
 *  every top-level key but v without a '?'; *none = the cell says "none". Into keys
 *  (NUL-separated, sorted by appearance). Returns how many. */
static int s_doc_required(const char *cell, char keys[][32], int max, int *none)
{
    *none = strcmp(cell, "none") == 0;
    if (*none)
        return 0;
    const char *p = strchr(cell, '{');
    assert_non_null(p);
    int n = 0, depth = 0, optional = 0;
    char key[32] = "";
    size_t klen = 0;
    int in_key = 1;
    for (p++; *p; p++) {
        char c = *p;
        if ((c == ',' || c == '}') && depth == 0) {
            if (klen && !optional && strcmp(key, "v") != 0) {
                assert_true(n < max);
                snprintf(keys[n++], 32, "%s", key);
            }
            if (c == '}')
                break;
            klen = 0, key[0] = '\0', optional = 0, in_key = 1;
            continue;
        }
        depth += (c == '[' || c == '{') - (c == ']' || c == '}');
        if (c == '?' && depth == 0)
            optional = 1;
        if (in_key && ((c >= 'a' && c <= 'z') || c == '_') && klen + 1 < sizeof key) {
            key[klen++] = c;
            key[klen] = '\0';
        } else if (in_key && klen)
            in_key = 0;
    }
    return n;
}

/*  Cell i (0-based) of a table row "| a | b | c |", trimmed, into out. */
static int s_cell(const char *row, int i, char *out, size_t size)
{
    const char *p = row;
    for (int k = 0; k <= i; k++) {
        p = strchr(p, '|');
        if (!p)
            return -1;
        p++;
    }
    const char *end = strchr(p, '|');
    if (!end)
        return -1;
    while (*p == ' ')
        p++;
    while (end > p && end[-1] == ' ')
        end--;
    snprintf(out, size, "%.*s", (int) (end - p), p);
    if (out[0] == '`' && strlen(out) > 1 && out[strlen(out) - 1] == '`') {
        memmove(out, out + 1, strlen(out));
        out[strlen(out) - 1] = '\0';
    }
    return 0;
}

/*  Every command row of docs/protocol.md (| COMMAND | direction | body | meaning |) is a
 *  row of the C table with the same ends, body presence and required keys, and every
 *  command of the C table has rows. */
static void test_doc_table_is_the_code(void **state)
{
    (void) state;
    char *doc = ax_test_read_file(AX_SOURCE_DIR "/docs/protocol.md", NULL);
    unsigned seen[AX_CMD_COUNT] = {0};
    int rows = 0;
    assert_non_null(doc);
    for (char *line = strtok(doc, "\n"); line; line = strtok(NULL, "\n")) {
        char name[64], dir[64], body[512];
        if (strncmp(line, "| ", 2) != 0 || s_cell(line, 0, name, sizeof name) < 0 || !name[0] ||
            strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != strlen(name))
            continue;
        int c = 0;
        while (c < AX_CMD_COUNT && strcmp(ax_cmd_name((ax_cmd_t) c), name) != 0)
            c++;
        if (c == AX_CMD_COUNT)
            fail_msg("docs/protocol.md has a command the code does not know: %s", name);
        const ax_cmd_def_t *def = ax_cmd_def((ax_cmd_t) c);
        assert_int_equal(s_cell(line, 1, dir, sizeof dir), 0);
        assert_int_equal(s_cell(line, 2, body, sizeof body), 0);
        unsigned to = s_doc_ends(dir);
        if (!to)
            fail_msg("%s: unknown direction \"%s\"", name, dir);
        seen[c] |= to;
        char keys[AX_PROTO_MAX_KEYS + 4][32];
        int none, n = s_doc_required(body, keys, AX_PROTO_MAX_KEYS + 4, &none);
        if (none != (def->body == AX_BODY_NONE))
            fail_msg("%s: the document says body \"%s\", the code %s", name, body, none ? "has one" : "none");
        int n_code = 0;
        while (def->required[n_code])
            n_code++;
        for (int k = 0; k < n; k++) {
            int found = 0;
            for (int j = 0; j < n_code; j++)
                found |= strcmp(keys[k], def->required[j]) == 0;
            if (!found)
                fail_msg("%s: key %s is required by the document, not by the code", name, keys[k]);
        }
        if (n != n_code)
            fail_msg("%s: the document requires %d keys, the code %d", name, n, n_code);
        rows++;
    }
    for (int c = 0; c < AX_CMD_COUNT; c++)
        if (seen[c] != ax_cmd_def((ax_cmd_t) c)->to)
            fail_msg("%s: the document's directions (ends 0x%x) are not the code's (0x%x)", ax_cmd_name((ax_cmd_t) c),
                     seen[c], ax_cmd_def((ax_cmd_t) c)->to);
    assert_true(rows >= AX_CMD_COUNT);
    free(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_command_round_trips),
        cmocka_unit_test(test_required_zeros_are_sent),
        cmocka_unit_test(test_missing_required_key_dropped),
        cmocka_unit_test(test_wrong_direction_dropped),
        cmocka_unit_test(test_bad_frames_dropped),
        cmocka_unit_test(test_flood_logs_one_line),
        cmocka_unit_test(test_drop_line_escaped),
        cmocka_unit_test(test_drop_log_slots),
        cmocka_unit_test(test_doc_table_is_the_code),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
