/*  daemon.h: what every arxdigest process does at start: read the command line
 *  (--config FILE, --set key=value), load the config in its layers, install signal
 *  handlers. main.c files stay a screen long. */
#ifndef AX_DAEMON_H
#define AX_DAEMON_H

#include <signal.h>

#include "config.h"

/*  Set by SIGINT/SIGTERM; loops finish their work and return. */
extern volatile sig_atomic_t ax_stop_requested;

void ax_signals_install(void);

/*  Keeps large buffers (jobs and results are hundreds of KiB) in the heap instead of a
 *  fresh mmap and page faults for each one. Called by every daemon at start. */
void ax_malloc_tune(void);

/*  Parses argv (--config FILE, --set KEY=VALUE ..., --help), loads defaults, the file,
 *  the environment and the --set values, validates. Every problem is printed on stderr
 *  with its key; returns NULL then (and *exit_code = 2), or after --help (*exit_code = 0). */
ax_config_t *ax_daemon_config(int argc, char **argv, const char *name, const char *summary,
                              int *exit_code);

/*  A daemon's object, as seen by ax_daemon_main. */
typedef struct {
    const char *name;           /* binary name, for messages: "arxdigest-broker" */
    const char *component;      /* log component: "broker" */
    const char *summary;        /* one line for --help */
    void *(*create)(const ax_config_t *cfg, char **err);
    int (*run)(void *self);     /* until ax_stop_requested; 0 / -1 */
    void (*destroy)(void *self);
} ax_daemon_t;

/*  The whole main() of a daemon: logging, config (ax_daemon_config), signals, malloc
 *  tuning, create, run, destroy. Returns the process exit code. */
int ax_daemon_main(int argc, char **argv, const ax_daemon_t *daemon);

#endif
