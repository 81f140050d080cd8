/*  proto.h: AXP/1 frames over ZeroMQ (docs/protocol.md section 2).
 *
 *  A message is [identity] "AXP1" COMMAND [body]. ax_proto_send builds one; ax_proto_recv
 *  reads one whole multipart message and checks its shape, so the components only ever
 *  see well-formed commands. Bodies are decoded by codec.h.
 */
#ifndef AX_PROTO_H
#define AX_PROTO_H

#include <stddef.h>
#include <zmq.h>

#define AX_PROTO_SIGNATURE "AXP1"
#define AX_PROTO_MAX_IDENTITY 255
#define AX_PROTO_MAX_COMMAND 16

#define AX_BROKER_LEASE_MS 60000      /* lease assumed when a JOB carries none (section 3) */

typedef struct {
    unsigned char identity[AX_PROTO_MAX_IDENTITY];  /* ROUTER peer identity */
    size_t identity_len;
    char command[AX_PROTO_MAX_COMMAND + 1];
    zmq_msg_t body;             /* valid when has_body */
    int has_body;
} ax_msg_t;

/*  Sends one message. identity is used on ROUTER sockets (NULL otherwise); body may be
 *  NULL. Non-blocking: -1 (errno EAGAIN) when the peer's queue is full or it is gone. */
int ax_proto_send(void *socket, const void *identity, size_t identity_len, const char *command,
                  const void *body, size_t body_len);

/*  As ax_proto_send, but takes ownership of body (malloc'd): ZeroMQ sends it without a
 *  copy and frees it when done, also on failure. */
int ax_proto_send_owned(void *socket, const void *identity, size_t identity_len, const char *command,
                        char *body, size_t body_len);

/*  Receives one message without blocking. 1 = a well-formed message in *msg (release it
 *  with ax_msg_close), 0 = nothing to read, -1 = a malformed message was read and dropped:
 *  *err says why (caller frees; may be NULL on allocation failure). */
int ax_proto_recv(void *socket, int is_router, ax_msg_t *msg, char **err);

void ax_msg_close(ax_msg_t *msg);
const char *ax_msg_body(const ax_msg_t *msg, size_t *len);

/*  Printable form of a peer identity for logs (static buffer). */
const char *ax_proto_peer(const ax_msg_t *msg);

#endif
