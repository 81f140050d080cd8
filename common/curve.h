/*  curve.h: ZeroMQ CURVE encryption and authentication of the cluster's sockets.
 *
 *  With `curve.enabled`, every TCP link of the cluster is encrypted and every client is
 *  authenticated:
 *
 *  - servers (the broker's jobs ROUTER and control REP, the collector's results ROUTER)
 *    share one server keypair (`curve.secret_key_file`). The jobs and results sockets
 *    admit only the workers' keys listed in `curve.allowed_clients`; the control socket
 *    (SUBMIT, STATUS: who may start runs) only the keys of `curve.allowed_control_clients`
 *    and the server's own key, so a worker host cannot start runs. The check is a ZAP
 *    handler (RFC 27) on inproc://zeromq.zap.01, a thread of the server process; a
 *    refused key is logged once per socket kind (`client refused` key=<public Z85>);
 *  - clients (workers' DEALERs, the `arxdigest` REQ) use their own keypair
 *    (`curve.secret_key_file`) and know the servers' public key
 *    (`curve.server_public_key`: the Z85 key or the path of its .pub file). A client
 *    whose handshake is refused logs it (rate-limited) from a socket monitor thread.
 *
 *  Key files are written by `arxdigest keygen`: NAME.key holds `public-key = "..."` and
 *  `secret-key = "..."` lines (the layout of a CZMQ certificate, so either tool reads the
 *  other's), NAME.pub the public key alone. The secret key is read only from its file,
 *  a file readable by group or others is warned about, and no key is ever logged except
 *  a refused client's public one.
 *
 *  Without `curve.enabled` every function here is a no-op that succeeds.
 */
#ifndef AX_CURVE_H
#define AX_CURVE_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

#define AX_CURVE_KEYLEN 40          /* characters of a Z85 key (32 bytes) */

typedef struct ax_curve ax_curve_t;

/*  The CURVE settings of a server process (broker, collector): loads the server keypair
 *  and the allow-list and starts the ZAP handler in zmq_ctx, which must happen before
 *  any server socket binds. Returns a disabled object when curve is off; NULL with
 *  *err (caller frees) when a key or the allow-list cannot be read. Destroy it before
 *  zmq_ctx_term (its handler holds a socket of that context). */
ax_curve_t *ax_curve_server_new(const ax_config_t *cfg, void *zmq_ctx, char **err);

/*  The CURVE settings of a client process (worker, the CLI): this process's keypair and
 *  the servers' public key. zmq_ctx is used for handshake monitors. NULL with *err. */
ax_curve_t *ax_curve_client_new(const ax_config_t *cfg, void *zmq_ctx, char **err);

void ax_curve_destroy(ax_curve_t **self_p);

#define AX_CURVE_CONTROL "control"  /* ax_curve_apply's peer for the broker's control socket */

/*  Makes socket a CURVE server (before zmq_bind) or client (before zmq_connect).
 *  `peer` is AX_CURVE_CONTROL for the broker's control socket, on either side (its
 *  server admits the control list); otherwise servers pass NULL (the workers' list) and
 *  clients the server's name for log lines ("broker", "collector"). 0 / -1 (errno). */
int ax_curve_apply(ax_curve_t *self, void *socket, const char *peer);

/*  True when curve is on. */
bool ax_curve_enabled(const ax_curve_t *self);

/*  Reads a key file: NAME.key (public-key / secret-key lines) or a .pub / allow-list
 *  style file (the first line that is not blank or a # comment). public_z85 and
 *  secret_z85 (either may be NULL) receive AX_CURVE_KEYLEN + 1 bytes; a missing public
 *  key is derived from the secret one. -1 with *err when the wanted key is absent or
 *  not a valid Z85 key. */
int ax_curve_read_keyfile(const char *path, char *public_z85, char *secret_z85, char **err);

/*  True when s is a 40-character Z85 string that decodes to a 32-byte key. */
bool ax_curve_key_ok(const char *s);

#endif
