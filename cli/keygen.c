/*  keygen.c: `arxdigest keygen [--out DIR] [--force] NAME`, a CURVE key pair for one
 *  process or host of a cluster (see curve.h).
 *
 *  DIR/NAME.key holds both keys in the layout of a CZMQ certificate and is created with
 *  mode 0600; DIR/NAME.pub holds the public key alone (a comment, then the Z85 key), so
 *  .pub files can be concatenated into `curve.allowed_clients` (workers) or
 *  `curve.allowed_control_clients` (who may submit). The public key is
 *  printed on stdout; the secret key is never printed. Existing files are kept unless
 *  --force is given.
 */
#define _GNU_SOURCE
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "curve.h"
#include "text.h"

/*  Writes text to path, created with mode; without force an existing file is an error. */
static int s_write(const char *path, const char *text, mode_t mode, int force)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | (force ? 0 : O_EXCL), mode);
    if (fd < 0) {
        fprintf(stderr, "arxdigest keygen: cannot create %s: %s%s\n", path, strerror(errno),
                errno == EEXIST ? " (use --force to replace it)" : "");
        return -1;
    }
    size_t len = strlen(text), off = 0;
    while (off < len) {
        ssize_t n = write(fd, text + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            fprintf(stderr, "arxdigest keygen: cannot write %s: %s\n", path, strerror(errno));
            close(fd);
            return -1;
        }
        off += (size_t) n;
    }
    if (fchmod(fd, mode) < 0 || close(fd) < 0) {  /* --force on a file that had a looser mode */
        fprintf(stderr, "arxdigest keygen: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

int ax_cli_keygen(int argc, char **argv)
{
    const char *dir = ".", *name = NULL;
    int force = 0;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
            dir = argv[++i];
        else if (strcmp(argv[i], "--force") == 0)
            force = 1;
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: arxdigest keygen [--out DIR] [--force] NAME\n"
                   "writes DIR/NAME.key (secret and public key, mode 0600) and DIR/NAME.pub,\n"
                   "and prints the public key\n");
            return 0;
        } else if (argv[i][0] != '-' && !name)
            name = argv[i];
        else {
            fprintf(stderr, "arxdigest keygen: unexpected argument %s\n", argv[i]);
            return 2;
        }
    }
    if (!name || !*name || strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")
                                   != strlen(name) || name[0] == '.') {
        fprintf(stderr, "usage: arxdigest keygen [--out DIR] [--force] NAME   (NAME: letters, digits, _ . -)\n");
        return 2;
    }
    if (!zmq_has("curve")) {
        fprintf(stderr, "arxdigest keygen: this libzmq was built without CURVE\n");
        return 1;
    }
    char pub[AX_CURVE_KEYLEN + 1], sec[AX_CURVE_KEYLEN + 1], when[32];
    if (zmq_curve_keypair(pub, sec) < 0) {
        fprintf(stderr, "arxdigest keygen: %s\n", zmq_strerror(errno));
        return 1;
    }
    ax_time_format(ax_now_ms() / 1000, "%Y-%m-%dT%H:%M:%SZ", when, sizeof when);
    char *key_path = NULL, *pub_path = NULL, *key_text = NULL, *pub_text = NULL;
    int rc = 1;
    if (asprintf(&key_path, "%s/%s.key", dir, name) < 0 || asprintf(&pub_path, "%s/%s.pub", dir, name) < 0
        || asprintf(&key_text,
                    "#   arxdigest CURVE key pair \"%s\", generated %s\n"
                    "#   SECRET: keep this file to its owner (mode 0600); give out %s.pub instead.\n"
                    "\n"
                    "metadata\n"
                    "    name = \"%s\"\n"
                    "curve\n"
                    "    public-key = \"%s\"\n"
                    "    secret-key = \"%s\"\n",
                    name, when, name, name, pub, sec) < 0
        || asprintf(&pub_text, "# arxdigest CURVE public key \"%s\", generated %s\n%s\n", name, when, pub) < 0) {
        fprintf(stderr, "arxdigest keygen: out of memory\n");
        goto done;
    }
    if (s_write(key_path, key_text, 0600, force) < 0 || s_write(pub_path, pub_text, 0644, force) < 0)
        goto done;
    fprintf(stderr, "wrote %s (secret, mode 0600) and %s\n", key_path, pub_path);
    printf("%s\n", pub);
    rc = 0;
done:
    explicit_bzero(sec, sizeof sec);
    if (key_text)
        explicit_bzero(key_text, strlen(key_text));
    free(key_text);
    free(pub_text);
    free(key_path);
    free(pub_path);
    return rc;
}
