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

#endif
