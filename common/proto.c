/*  proto.c: framing and shape checks of AXP/1 messages (see proto.h). */
#define _GNU_SOURCE
#include "proto.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ax_proto_send(void *socket, const void *identity, size_t identity_len, const char *command,
                  const void *body, size_t body_len)
{
    int flags = ZMQ_DONTWAIT;
    if (identity && zmq_send(socket, identity, identity_len, flags | ZMQ_SNDMORE) < 0)
        return -1;
    if (zmq_send(socket, AX_PROTO_SIGNATURE, 4, flags | ZMQ_SNDMORE) < 0)
        return -1;
    if (zmq_send(socket, command, strlen(command), flags | (body ? ZMQ_SNDMORE : 0)) < 0)
        return -1;
    if (body && zmq_send(socket, body, body_len, flags) < 0)
        return -1;
    return 0;
}

static void s_free_body(void *data, void *hint)
{
    (void) hint;
    free(data);
}

int ax_proto_send_owned(void *socket, const void *identity, size_t identity_len, const char *command,
                        char *body, size_t body_len)
{
    zmq_msg_t m;
    if (zmq_msg_init_data(&m, body, body_len, s_free_body, NULL) < 0) {
        free(body);
        return -1;
    }
    int flags = ZMQ_DONTWAIT;
    if ((identity && zmq_send(socket, identity, identity_len, flags | ZMQ_SNDMORE) < 0) ||
        zmq_send(socket, AX_PROTO_SIGNATURE, 4, flags | ZMQ_SNDMORE) < 0 ||
        zmq_send(socket, command, strlen(command), flags | ZMQ_SNDMORE) < 0 ||
        zmq_msg_send(&m, socket, flags) < 0) {
        zmq_msg_close(&m);              /* frees body */
        return -1;
    }
    return 0;
}

/*  Reads and discards the remaining frames of a message. */
static void s_drain(void *socket)
{
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
}

static int s_more(void *socket)
{
    int more = 0;
    size_t sz = sizeof more;
    return zmq_getsockopt(socket, ZMQ_RCVMORE, &more, &sz) == 0 && more;
}

static int s_bad(void *socket, char **err, const char *why)
{
    s_drain(socket);
    if (err)
        *err = strdup(why);
    return -1;
}

int ax_proto_recv(void *socket, int is_router, ax_msg_t *msg, char **err)
{
    zmq_msg_t f;
    memset(msg, 0, sizeof *msg);
    if (err)
        *err = NULL;
    zmq_msg_init(&f);
    if (zmq_msg_recv(&f, socket, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&f);
        return 0;
    }
    if (is_router) {
        size_t n = zmq_msg_size(&f);
        if (n > AX_PROTO_MAX_IDENTITY)
            n = AX_PROTO_MAX_IDENTITY;
        memcpy(msg->identity, zmq_msg_data(&f), n);
        msg->identity_len = n;
        zmq_msg_close(&f);
        if (!s_more(socket))
            return s_bad(socket, err, "message has no frames after the identity");
        zmq_msg_init(&f);
        if (zmq_msg_recv(&f, socket, 0) < 0) {
            zmq_msg_close(&f);
            return s_bad(socket, err, "receive failed");
        }
    }
    /* frame 0: signature */
    int sig_ok = zmq_msg_size(&f) == 4 && memcmp(zmq_msg_data(&f), AX_PROTO_SIGNATURE, 4) == 0;
    zmq_msg_close(&f);
    if (!sig_ok)
        return s_bad(socket, err, "bad signature frame (not AXP1)");
    if (!s_more(socket))
        return s_bad(socket, err, "no command frame");
    /* frame 1: command */
    zmq_msg_init(&f);
    if (zmq_msg_recv(&f, socket, 0) < 0) {
        zmq_msg_close(&f);
        return s_bad(socket, err, "receive failed");
    }
    size_t n = zmq_msg_size(&f);
    int cmd_ok = n > 0 && n <= AX_PROTO_MAX_COMMAND;
    for (size_t i = 0; cmd_ok && i < n; i++) {
        char c = ((const char *) zmq_msg_data(&f))[i];
        cmd_ok = c >= 'A' && c <= 'Z';
    }
    if (cmd_ok) {
        memcpy(msg->command, zmq_msg_data(&f), n);
        msg->command[n] = '\0';
    }
    zmq_msg_close(&f);
    if (!cmd_ok)
        return s_bad(socket, err, "bad command frame");
    /* frame 2: optional body, and nothing after it */
    if (s_more(socket)) {
        zmq_msg_init(&msg->body);
        if (zmq_msg_recv(&msg->body, socket, 0) < 0) {
            zmq_msg_close(&msg->body);
            return s_bad(socket, err, "receive failed");
        }
        msg->has_body = 1;
        if (s_more(socket)) {
            ax_msg_close(msg);
            return s_bad(socket, err, "too many frames");
        }
    }
    return 1;
}

void ax_msg_close(ax_msg_t *msg)
{
    if (msg && msg->has_body) {
        zmq_msg_close(&msg->body);
        msg->has_body = 0;
    }
}

const char *ax_msg_body(const ax_msg_t *msg, size_t *len)
{
    if (!msg->has_body) {
        *len = 0;
        return NULL;
    }
    *len = zmq_msg_size((zmq_msg_t *) &msg->body);
    return zmq_msg_data((zmq_msg_t *) &msg->body);
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
