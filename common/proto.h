/*  proto.h: the AXP/1 protocol as data (docs/protocol.md sections 1-7).
 *
 *  Every command is an ax_cmd_t. One table (ax_cmd_def) says, for each, its name on the
 *  wire, which sockets receive it, the schema of its body and the body keys it requires;
 *  nothing else in the program knows a command's text. A message is
 *  [identity] "AXP1" COMMAND [body]:
 *
 *  - ax_proto_send* take the enum and build the frames (the name exists only there and in
 *    logs, ax_cmd_name);
 *  - ax_proto_recv reads one whole message and returns the enum with the body already
 *    decoded and checked against the command's required keys. Whatever is wrong with a
 *    message (signature, frames, unknown command, a command that socket never receives,
 *    a body missing, extra, undecodable or without a required key) drops it here, in one
 *    place: counted in arxdigest_protocol_frames_dropped_total{socket,reason} and logged
 *    at most once per AX_PROTO_DROP_LOG_MS for each (socket, peer, reason), the line
 *    saying how many drops it did not log (ax_drop_log_t). Callers switch on the enum.
 */
#ifndef AX_PROTO_H
#define AX_PROTO_H

#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

#include "codec.h"

#define AX_PROTO_SIGNATURE "AXP1"
#define AX_PROTO_MAX_IDENTITY 255
#define AX_PROTO_MAX_COMMAND 16
#define AX_PROTO_MAX_KEYS 8           /* required keys of one command, with the NULL */

#define AX_BROKER_LEASE_MS 60000      /* lease assumed when a JOB carries none (section 3) */

/*  Every command of docs/protocol.md. */
typedef enum {
    AX_CMD_READY,                   /* jobs: worker -> broker */
    AX_CMD_JOB,                     /* jobs: broker -> worker */
    AX_CMD_WORKING,
    AX_CMD_DONE,
    AX_CMD_FAIL,
    AX_CMD_HEARTBEAT,               /* jobs and results, both ways */
    AX_CMD_RESET,                   /* jobs: broker -> worker */
    AX_CMD_BYE,
    AX_CMD_RESULT,                  /* results: worker -> collector */
    AX_CMD_ACK,                     /* results: collector -> worker */
    AX_CMD_SUBMIT,                  /* control: arxdigest -> broker */
    AX_CMD_STATUS,
    AX_CMD_OK,                      /* control: broker -> arxdigest */
    AX_CMD_ERROR,
    AX_CMD_COUNT                    /* not a command: "none" where one is optional */
} ax_cmd_t;

/*  The six ends of the three channels (section 1): the socket a message arrives on. */
typedef enum {
    AX_END_BROKER,                  /* the broker's jobs ROUTER */
    AX_END_WORKER,                  /* a worker's DEALER to the broker */
    AX_END_COLLECTOR,               /* the collector's results ROUTER */
    AX_END_WORKER_RESULTS,          /* a worker's DEALER to the collector */
    AX_END_CONTROL,                 /* the broker's control REP */
    AX_END_CLIENT,                  /* `arxdigest`'s REQ to the control socket */
    AX_END_COUNT
} ax_end_t;

#define AX_END_BIT(end) (1u << (end))

/*  One row of the command table. */
typedef struct {
    const char *name;               /* frame 1 on the wire */
    unsigned to;                    /* the ends that receive it: AX_END_BIT()s */
    ax_body_kind_t body;            /* its body's schema; AX_BODY_NONE: no body frame */
    const char *required[AX_PROTO_MAX_KEYS];   /* body keys that must be there (not nil), NULL-ended */
    const char *body_name;          /* in error texts: "bad run spec: ..."; NULL: "bad CMD body: ..." */
} ax_cmd_def_t;

/*  The row of cmd (cmd < AX_CMD_COUNT). */
const ax_cmd_def_t *ax_cmd_def(ax_cmd_t cmd);
/*  "READY" ...: for the wire and for logs; "-" for AX_CMD_COUNT. */
const char *ax_cmd_name(ax_cmd_t cmd);

/*  Why a message was dropped (the `reason` label and log key). */
typedef enum {
    AX_DROP_FRAMES,                 /* no frame after the identity, too many frames, receive failed */
    AX_DROP_SIGNATURE,              /* frame 0 is not AXP1 */
    AX_DROP_COMMAND,                /* frame 1 is not a command of the table */
    AX_DROP_DIRECTION,              /* a command this socket never receives */
    AX_DROP_BODY,                   /* a body missing, or one where the command has none */
    AX_DROP_DECODE,                 /* the body does not decode to the command's schema */
    AX_DROP_KEY,                    /* a required key is missing */
    AX_DROP_COUNT
} ax_drop_t;

const char *ax_drop_name(ax_drop_t reason);

/*  What ax_proto_recv says of a message it dropped. */
typedef struct {
    ax_drop_t reason;
    ax_cmd_t cmd;                   /* the command when it was known, else AX_CMD_COUNT */
    char error[512];                /* what was wrong, e.g. "bad run spec: group_by: missing" */
} ax_drop_info_t;

/*  A received message: the command and its decoded body. */
typedef struct {
    ax_end_t end;                   /* the socket it came on */
    ax_cmd_t cmd;
    unsigned char identity[AX_PROTO_MAX_IDENTITY];  /* ROUTER peer identity */
    size_t identity_len;
    ax_body_t body;                 /* the member of ax_cmd_def(cmd)->body; all 0 when none */
} ax_msg_t;

/*  Sends cmd with body (packed msgpack, NULL for a command without one; copied). identity
 *  is used on ROUTER sockets (NULL otherwise). Non-blocking: -1 (errno EAGAIN) when the
 *  peer's queue is full or it is gone. */
int ax_proto_send(void *socket, const void *identity, size_t identity_len, ax_cmd_t cmd, const void *body,
                  size_t body_len);

/*  As ax_proto_send, but takes ownership of body (malloc'd): ZeroMQ sends it without a
 *  copy and frees it when done, also on failure. */
int ax_proto_send_owned(void *socket, const void *identity, size_t identity_len, ax_cmd_t cmd, char *body,
                        size_t body_len);

/*  Sends cmd (a command with a control body) with ctl encoded: the keys cmd requires are
 *  written also when they are 0. */
int ax_proto_send_ctl(void *socket, const void *identity, size_t identity_len, ax_cmd_t cmd, const ax_ctl_t *ctl);

/*  Receives one message arriving at end without blocking. 1 = a message of a command that
 *  end receives, with its body decoded and checked, in *msg (release it with
 *  ax_msg_close); 0 = nothing to read; -1 = a bad message was read and dropped (counted,
 *  logged rate-limited): *drop (may be NULL) says why, e.g. for the ERROR a REP socket
 *  owes. */
int ax_proto_recv(void *socket, ax_end_t end, ax_msg_t *msg, ax_drop_info_t *drop);

/*  Frees the body of msg (idempotent). */
void ax_msg_close(ax_msg_t *msg);

/*  Printable form of a peer identity for logs (static buffer). */
const char *ax_proto_peer(const ax_msg_t *msg);

/*  Rate limit of the drop log lines: at most one per AX_PROTO_DROP_LOG_MS for each
 *  (socket, peer, reason). AX_DROP_LOG_SLOTS peers are followed at once; a drop from a
 *  peer beyond them (or when every slot is in use within its interval) is counted under
 *  peer "others" for its reason, and a slot given to a new peer hands its unlogged count
 *  to "others" so that no drop goes unreported. A pure state machine fed the time. */
#define AX_PROTO_DROP_LOG_MS 10000
#define AX_DROP_LOG_SLOTS 32
#define AX_DROP_LOG_PEER 16             /* identity bytes that tell peers apart */

typedef struct {
    int used;
    ax_end_t end;
    ax_drop_t reason;
    unsigned char peer[AX_DROP_LOG_PEER];
    size_t peer_len;
    int64_t next_ms;                /* no line for this key before */
    unsigned suppressed;            /* drops not logged since its last line */
} ax_drop_slot_t;

typedef struct {
    ax_drop_slot_t slot[AX_DROP_LOG_SLOTS];
    ax_drop_slot_t others[AX_DROP_COUNT];   /* peers without a slot, by reason */
} ax_drop_log_t;

/*  A drop of reason from peer (peer_len 0 on a DEALER/REQ/REP socket) at end, at now_ms:
 *  1 = log it, *suppressed = the drops of its key not logged since the key's last line,
 *  *others = 1 when the key is peer "others"; 0 = counted, do not log. */
int ax_drop_log_note(ax_drop_log_t *log, ax_end_t end, const void *peer, size_t peer_len, ax_drop_t reason,
                     int64_t now_ms, unsigned *suppressed, int *others);

/*  Tests: the clock the drop log reads (NULL: ax_mono_ms), and a fresh drop log. */
void ax_proto_test_clock(int64_t (*now_ms)(void));

#endif
