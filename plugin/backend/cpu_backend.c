/* The backend switch (cpu_backend.h): which code runs Darknet's heavy layers, chosen by name
 * once per program, installed into each parsed network through the parse hook, and the
 * check that reports a pass the backend could not complete. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/avgpool_blocked.h"
#include "backend/conv_onednn.h"
#include "backend/cpu_backend.h"
#include "backend/onednn_runtime.h"
#include "backend/shortcut_fused.h"
#include "network/network_gpu.h"
#include "util/mcd_error.h"

enum backend { BACKEND_UNSET, BACKEND_ONEDNN, BACKEND_DARKNET };
static enum backend selected = BACKEND_UNSET;

static enum backend backend_by_name(const char *name)
{
    if (strcmp(name, "onednn") == 0) return BACKEND_ONEDNN;
    if (strcmp(name, "darknet") == 0) return BACKEND_DARKNET;
    return BACKEND_UNSET;
}

int mcd_backend_select(const char *name)
{
    enum backend b = backend_by_name(name);
    if (b == BACKEND_UNSET) {
        mcd_set_error("unknown backend '%s' (onednn or darknet)", name);
        return -1;
    }
    selected = b;
    return 0;
}

static enum backend current_backend(void)
{
    if (selected != BACKEND_UNSET) return selected;
    const char *env = getenv("MCD_BACKEND");
    selected = BACKEND_ONEDNN;
    if (env && *env) {
        if (backend_by_name(env) == BACKEND_UNSET)
            fprintf(stderr, "darknet: MCD_BACKEND=%s is not onednn or darknet; using onednn\n",
                    env);
        else
            selected = backend_by_name(env);
    }
    return selected;
}

const char *mcd_backend_name(void)
{
    return current_backend() == BACKEND_DARKNET ? "darknet" : "onednn";
}

int mcd_backend_take_arg(int argc, char **argv)
{
    for (int i = 1; i < argc; ++i) {
        if (strcmp(argv[i], "-backend") != 0) continue;
        if (i + 1 >= argc) {
            mcd_set_error("-backend needs a name: onednn or darknet");
            return -1;
        }
        if (mcd_backend_select(argv[i + 1])) return -1;
        memmove(&argv[i], &argv[i + 2], (size_t)(argc - i - 2 + 1) * sizeof *argv);
        argc -= 2;
        --i;
    }
    return argc;
}

void mcd_backend_install(network *net)
{
    /* a network on a GPU runs Darknet's *_gpu layer functions, which the backend leaves
     * alone: its CPU functions and oneDNN plans would only take memory */
    if (mcd_network_on_gpu(net)) return;
    if (current_backend() != BACKEND_ONEDNN || !onednn_engine()) return;
    for (int i = 0; i < net->n; ++i)
        if (net->layers[i].type == CONVOLUTIONAL) conv_onednn_install(net, i);
        else if (net->layers[i].type == SHORTCUT) shortcut_fused_install(net, i);
        else if (net->layers[i].type == AVGPOOL) avgpool_blocked_install(net, i);
}

void mcd_backend_set_failure_hook(void (*hook)(const char *message))
{
    onednn_set_failure_hook(hook);
}

int mcd_backend_check(void)
{
    const char *failure = onednn_take_failure();
    if (!failure) return 0;
    mcd_set_error("%s", failure);
    return -1;
}
