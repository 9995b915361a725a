#include "train/run_lock.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "util/mcd_error.h"

/* The record: "pid PID PHASE", spaces, '\n'; always this long, so a rewrite replaces it. */
#define RECORD_SIZE 64
/* A probe (mcd_run_lock_check, mcd_training_rewrites) holds the lock shared for
 * microseconds: a run taking it tries again for this long before calling it busy. */
#define TAKE_TRIES 20
#define TRY_PAUSE_US 10000

static void lock_path(char *buf, size_t n, const char *backup, const char *base)
{
    snprintf(buf, n, "%s/%s.lock", backup, base);
}

static int flock_retry(int fd, int op)
{
    int rc;
    while ((rc = flock(fd, op)) != 0 && errno == EINTR) {}
    return rc;
}

/* The holder's process id and phase from the record of a lock someone holds. The holder
 * writes it just after taking the lock, so a record that is missing, torn or names a
 * process that is gone is read again for up to a second; then *pid is -1. */
static void read_record(int fd, long *pid, char *phase, size_t n)
{
    *pid = -1;
    if (n) phase[0] = 0;
    for (int tries = 0; tries < 100; ++tries) {
        char rec[RECORD_SIZE + 1], word[32];
        long p;
        if (pread(fd, rec, RECORD_SIZE, 0) == RECORD_SIZE) {
            rec[RECORD_SIZE] = 0;
            if (sscanf(rec, "pid %ld %31s", &p, word) == 2 && p > 0 &&
                (kill((pid_t)p, 0) == 0 || errno == EPERM) &&
                (strcmp(word, MCD_PHASE_PRETRAIN) == 0 || strcmp(word, MCD_PHASE_FINETUNE) == 0)) {
                *pid = p;
                if (n) snprintf(phase, n, "%s", word);
                return;
            }
        }
        usleep(TRY_PAUSE_US);
    }
}

/* 1 when a process holds the lock file at path (its record in *pid and phase), 0 when none
 * does or there is no such file. */
static int held(const char *path, long *pid, char *phase, size_t n)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    int busy = 0;
    if (flock_retry(fd, LOCK_SH | LOCK_NB) == 0) flock_retry(fd, LOCK_UN);
    else if (errno == EWOULDBLOCK) busy = 1;
    if (busy) read_record(fd, pid, phase, n);
    close(fd);
    return busy;
}

static int busy_error(const char *backup, const char *path, long pid)
{
    char who[64] = "another process";
    if (pid > 0) snprintf(who, sizeof who, "process %ld", pid);
    mcd_set_error("backup directory '%s' is in use: %s is training there with the same cfg "
                  "name (it holds %s); wait for it to end, or train into another -backup",
                  backup, who, path);
    return -1;
}

int mcd_run_lock_check(const char *backup, const char *base)
{
    char path[1400], phase[32];
    long pid;
    lock_path(path, sizeof path, backup, base);
    return held(path, &pid, phase, sizeof phase) ? busy_error(backup, path, pid) : 0;
}

static void write_record(int fd, const char *phase)
{
    char rec[RECORD_SIZE + 1];
    int len = snprintf(rec, sizeof rec, "pid %ld %s", (long)getpid(), phase);
    if (len < 0 || len >= RECORD_SIZE) return;
    memset(rec + len, ' ', RECORD_SIZE - 1 - len);
    rec[RECORD_SIZE - 1] = '\n';
    if (pwrite(fd, rec, RECORD_SIZE, 0) != RECORD_SIZE) return; /* the record is for messages */
}

int mcd_run_lock_take(mcd_run_lock *l, const char *backup, const char *base, const char *phase)
{
    lock_path(l->path, sizeof l->path, backup, base);
    /* no O_TRUNC: a run refused here must not touch the holder's record */
    l->fd = open(l->path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (l->fd < 0) {
        mcd_set_error("cannot create lock file '%s': %s", l->path, strerror(errno));
        return -1;
    }
    for (int tries = 0; flock_retry(l->fd, LOCK_EX | LOCK_NB) != 0; ++tries) {
        int err = errno;
        if (err != EWOULDBLOCK || tries == TAKE_TRIES) {
            long pid = -1;
            char word[32];
            if (err == EWOULDBLOCK) read_record(l->fd, &pid, word, sizeof word);
            close(l->fd);
            l->fd = -1;
            if (err != EWOULDBLOCK) {
                mcd_set_error("cannot lock '%s': %s", l->path, strerror(err));
                return -1;
            }
            return busy_error(backup, l->path, pid);
        }
        usleep(TRY_PAUSE_US);
    }
    write_record(l->fd, phase);
    if (ftruncate(l->fd, RECORD_SIZE) != 0) {} /* a longer file from elsewhere: best effort */
    return 0;
}

void mcd_run_lock_set_phase(mcd_run_lock *l, const char *phase)
{
    if (l->fd >= 0) write_record(l->fd, phase);
}

void mcd_run_lock_release(mcd_run_lock *l)
{
    if (l->fd >= 0) close(l->fd); /* closing the only descriptor releases the flock */
    l->fd = -1;
}

int mcd_training_rewrites(const char *weights, long *pid, char *lock, size_t n)
{
    static const char *suffixes[] = {"", "_average", "_best", "_final", "_pretrain"};
    const char *slash = strrchr(weights, '/');
    const char *name = slash ? slash + 1 : weights;
    size_t len = strlen(name), ext = strlen(".weights");
    if (len <= ext || strcmp(name + len - ext, ".weights") != 0) return 0;
    len -= ext;
    char dir[1024];
    if (!slash) snprintf(dir, sizeof dir, ".");
    else if (slash == weights) snprintf(dir, sizeof dir, "/");
    else snprintf(dir, sizeof dir, "%.*s", (int)(slash - weights), weights);
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; ++i) {
        size_t sl = strlen(suffixes[i]);
        if (len <= sl || strncmp(name + len - sl, suffixes[i], sl) != 0) continue;
        char base[256], phase[32];
        snprintf(base, sizeof base, "%.*s", (int)(len - sl), name);
        lock_path(lock, n, dir, base);
        if (!held(lock, pid, phase, sizeof phase)) continue;
        /* BASE_pretrain.weights is final once pre-training has ended */
        if (strcmp(suffixes[i], "_pretrain") == 0 && strcmp(phase, MCD_PHASE_FINETUNE) == 0)
            continue;
        return 1;
    }
    return 0;
}
