/* monitor_ctl.h - `vmm ctl PATH COMMAND [ARGS]`: one request to a vmm's
 * control socket from the shell (docs/monitor.md). */
#ifndef VMM_MONITOR_CTL_H
#define VMM_MONITOR_CTL_H

#include <jansson.h>
#include <stddef.h>

/* The tool's entry point (argv[0] is "ctl").  Prints the reply's return
 * value as one JSON line on stdout and exits 0, or the error on stderr
 * and exits 1; 2 on a usage error. */
int ctl_main(int argc, char **argv);

/* The arguments object of n command-line words: one JSON object, or
 * KEY=VALUE words (true/false are booleans, a decimal integer is a number,
 * anything else a string).  NULL with one line in err if malformed. */
json_t *ctl_build_args(int n, char **words, char *err, size_t errlen);

#endif
