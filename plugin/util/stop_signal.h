/* A polite stop for long loops (training, a video): SIGINT or SIGTERM only sets a flag,
 * which the loop reads between steps, so it can finish the step, save what it must and
 * return; the command turns the signal into the exit status (130/143, as a shell would).
 * The first signal also gives that signal its default action back, so a second Ctrl-C ends
 * the process at once when the loop is stuck (a camera that delivers no frame). */
#ifndef MCD_STOP_SIGNAL_H
#define MCD_STOP_SIGNAL_H

/* Clear the flag and catch SIGINT and SIGTERM (again, after an earlier stop). */
void mcd_stop_signal_install(void);

/* Give SIGINT and SIGTERM back the handlers they had before the install. */
void mcd_stop_signal_restore(void);

/* The signal caught since the last install (SIGINT or SIGTERM), or 0. */
int mcd_stop_signal(void);

#endif
