/* Error reporting for the plugin: functions that can fail on bad input return an error
 * value and leave a message naming the file, section and key here; the command that called
 * them prints it and exits non-zero (commands/command_line.h: mcd_command_failed). Nothing
 * below plugin/commands/ calls exit(). The message is per thread. */
#ifndef MCD_ERROR_H
#define MCD_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

/* Set the message. The arguments may include mcd_last_error() itself, to add context to
 * a lower function's message ("list.txt:3: %s"). */
void mcd_set_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *mcd_last_error(void);

#ifdef __cplusplus
}
#endif

#endif
