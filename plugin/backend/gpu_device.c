/* Device queries and selection (gpu_device.h). Darknet's gpu_index is the one switch: a
 * network is built for the device it names (or the CPU when it is negative). */
#include "backend/gpu_device.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "darknet.h"
#include "util/mcd_error.h"

#define MAX_DEVICE 63

static int device_count;
static const char *no_device_reason = "";

#ifdef GPU
static pthread_once_t counted = PTHREAD_ONCE_INIT;

/* cudaGetDeviceCount fails without a driver (cudaErrorInsufficientDriver) or a device
 * (cudaErrorNoDevice): both mean no GPU here. */
static void count_devices(void)
{
    int n = 0;
    cudaError_t st = cudaGetDeviceCount(&n);
    if (st != cudaSuccess) {
        static char why[300];
        snprintf(why, sizeof why, "no usable CUDA device (cudaGetDeviceCount: %s)",
                 cudaGetErrorString(st));
        n = 0;
        no_device_reason = why;
        cudaGetLastError(); /* not sticky: later CUDA calls must not see it */
    } else if (n == 0) {
        no_device_reason = "no CUDA device";
    }
    device_count = n;
}
#endif

int mcd_gpu_built(void)
{
#ifdef GPU
    return 1;
#else
    return 0;
#endif
}

int mcd_gpu_count(const char **why)
{
#ifdef GPU
    pthread_once(&counted, count_devices);
#else
    no_device_reason = "this darknet was built without CUDA (make GPU=1)";
#endif
    if (why) *why = device_count ? "" : no_device_reason;
    return device_count;
}

/* 0 when `device` exists here, else -1 with the error set. */
static int check_device(int device)
{
    const char *why;
    int n = mcd_gpu_count(&why);
    if (device < 0 || device > MAX_DEVICE) {
        mcd_set_error("GPU %d: a device number is 0-%d", device, MAX_DEVICE);
        return -1;
    }
    if (!mcd_gpu_built()) {
        mcd_set_error("GPU %d was asked for, but %s", device, why);
        return -1;
    }
    if (n == 0) {
        mcd_set_error("GPU %d was asked for, but there is %s", device, why);
        return -1;
    }
    if (device >= n) {
        mcd_set_error("GPU %d was asked for, but this machine has %d CUDA device%s (0-%d)",
                      device, n, n == 1 ? "" : "s", n - 1);
        return -1;
    }
    return 0;
}

int mcd_gpu_select(int device)
{
    if (device < 0) {
        gpu_index = -1;
        return 0;
    }
    if (check_device(device)) return -1;
#ifdef GPU
    cudaError_t st = cudaSetDevice(device);
    if (st != cudaSuccess) {
        mcd_set_error("GPU %d: cannot use it: %s", device, cudaGetErrorString(st));
        return -1;
    }
#endif
    gpu_index = device;
    return 0;
}

int mcd_gpu_parse_list(const char *option, const char *text, int *devices, int max)
{
    int n = 0;
    const char *p = text;
    while (1) { /* the whole list read first: a typo is named as one */
        char *end;
        long d = strtol(p, &end, 10);
        if (end == p || (*end && *end != ',') || d < 0 || d > MAX_DEVICE) {
            mcd_set_error("%s %s: expected device numbers 0-%d separated by commas (0,1,...)",
                          option, text, MAX_DEVICE);
            return -1;
        }
        if (n == max) {
            mcd_set_error("%s %s: at most %d devices", option, text, max);
            return -1;
        }
        devices[n++] = (int)d;
        if (!*end) break;
        p = end + 1;
    }
    for (int i = 0; i < n; ++i)
        if (check_device(devices[i])) {
            mcd_set_error("%s %s: %s", option, text, mcd_last_error());
            return -1;
        }
    return n;
}

const char *mcd_gpu_describe(int device)
{
    static char text[300];
    if (device < 0) return "the CPU";
    snprintf(text, sizeof text, "GPU %d", device);
#ifdef GPU
    struct cudaDeviceProp prop;
    if (cudaGetDeviceProperties(&prop, device) == cudaSuccess)
        snprintf(text, sizeof text, "GPU %d (%s)", device, prop.name);
#endif
    return text;
}
