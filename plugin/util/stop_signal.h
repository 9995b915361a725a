/* A polite stop for long loops (training, a video): SIGINT or SIGTERM only sets a flag,
 * which the loop reads between steps, so it can finish the step, save what it must and
 * return; the command turns the signal into the exit status (130/143, as a shell would).
 * A loop that may wait forever (a camera that delivers no frame) asks for the first
 * signal to give that signal its default action back, so that a second Ctrl-C ends the
 * process at once; the trainer does not, so that a second signal during the save that the
 * first asked for cannot cut the run short of it. */
#ifndef MCD_STOP_SIGNAL_H
#define MCD_STOP_SIGNAL_H

/* Clear the flag and catch SIGINT and SIGTERM (again, after an earlier stop); with
 * second_ends, only the first of them: the next has its default action. */
void mcd_stop_signal_install(int second_ends);

/* Give SIGINT and SIGTERM back the handlers they had before the install. */
void mcd_stop_signal_restore(void);

/* The signal caught since the last install (SIGINT or SIGTERM), or 0. */
int mcd_stop_signal(void);

#endif
