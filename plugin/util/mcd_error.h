/* Error reporting for the plugin: functions that can fail on bad input return an error
 * value and leave a message naming the file, section and key here; the command that called
 * them prints it and exits non-zero. Nothing below a command calls exit(). The message is
 * per thread. */
#ifndef MCD_ERROR_H
#define MCD_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

void mcd_set_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *mcd_last_error(void);
/* Print "darknet: error: <last error>" to stderr and exit(1). */
void mcd_die(void) __attribute__((noreturn));

#ifdef __cplusplus
}
#endif

#endif
