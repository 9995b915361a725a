/* The backend switch (cpu_backend.h) and the oneDNN plumbing shared by the layer
 * implementations (backend_onednn.h): engine, stream, scratch buffers, layout ports. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/avgpool_blocked.h"
#include "backend/onednn_runtime.h"
#include "backend/conv_onednn.h"
#include "backend/cpu_backend.h"
#include "util/mcd_error.h"
#include "backend/shortcut_fused.h"

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
    if (current_backend() != BACKEND_ONEDNN || !onednn_engine()) return;
    for (int i = 0; i < net->n; ++i)
        if (net->layers[i].type == CONVOLUTIONAL) conv_onednn_install(net, i);
        else if (net->layers[i].type == SHORTCUT) shortcut_fused_install(net, i);
        else if (net->layers[i].type == AVGPOOL) avgpool_blocked_install(net, i);
}

/* --- engine, stream, scratch -------------------------------------------------------------- */

static dnnl_engine_t engine;
static dnnl_stream_t stream;
static int engine_failed;

dnnl_engine_t onednn_engine(void)
{
    if (!engine && !engine_failed) {
        if (dnnl_engine_create(&engine, dnnl_cpu, 0) != dnnl_success ||
            dnnl_stream_create(&stream, engine, dnnl_stream_default_flags) != dnnl_success) {
            fprintf(stderr, "darknet: oneDNN has no CPU engine; using Darknet's layers\n");
            engine_failed = 1;
            engine = NULL;
        }
    }
    return engine;
}

dnnl_stream_t onednn_stream(void)
{
    onednn_engine();
    return stream;
}

static struct {
    void *p;
    size_t bytes;
} scratch[SLOT_COUNT];

void *onednn_scratch(enum onednn_slot slot, size_t bytes)
{
    if (scratch[slot].bytes < bytes) {
        free(scratch[slot].p);
        size_t rounded = (bytes + 63) / 64 * 64;
        scratch[slot].p = aligned_alloc(64, rounded);
        if (!scratch[slot].p) {
            fprintf(stderr, "darknet: out of memory (%zu bytes of oneDNN scratch)\n", bytes);
            exit(1);
        }
        scratch[slot].bytes = rounded;
    }
    return scratch[slot].p;
}

/* --- ports ------------------------------------------------------------------------------ */

void onednn_plain_md(dnnl_memory_desc_t *md, int ndims, const dnnl_dims_t dims)
{
    dnnl_format_tag_t tag = ndims == 4 ? dnnl_nchw : ndims == 2 ? dnnl_nc : dnnl_x;
    dnnl_memory_desc_init_by_tag(md, ndims, dims, dnnl_f32, tag);
}

dnnl_status_t onednn_port_init(onednn_port *p, const dnnl_memory_desc_t *user_md,
                               const dnnl_memory_desc_t *prim_md, enum onednn_port_kind kind,
                               enum onednn_slot slot)
{
    memset(p, 0, sizeof *p);
    p->slot = slot;
    dnnl_status_t st = dnnl_memory_create(&p->user, user_md, engine, DNNL_MEMORY_NONE);
    if (st != dnnl_success) return st;
    if (kind != PORT_OUT_ADD && dnnl_memory_desc_equal(user_md, prim_md)) {
        p->inner = p->user;
        return dnnl_success;
    }
    p->inner_bytes = dnnl_memory_desc_get_size(prim_md);
    st = dnnl_memory_create(&p->inner, prim_md, engine, DNNL_MEMORY_NONE);
    if (st != dnnl_success) return st;
    if (slot == SLOT_OWN) {
        p->own = aligned_alloc(64, (p->inner_bytes + 63) / 64 * 64);
        if (!p->own) return dnnl_out_of_memory;
        dnnl_memory_set_data_handle(p->inner, p->own);
    }

    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t ops = NULL;
    if (kind == PORT_OUT_ADD) {
        /* dst = reorder(src) + 1.0 * dst: Darknet's gradients accumulate */
        if ((st = dnnl_primitive_attr_create(&attr)) != dnnl_success) return st;
        if ((st = dnnl_post_ops_create(&ops)) == dnnl_success &&
            (st = dnnl_post_ops_append_sum(ops, 1.0f)) == dnnl_success)
            st = dnnl_primitive_attr_set_post_ops(attr, ops);
    }
    dnnl_primitive_desc_t pd = NULL;
    if (st == dnnl_success) {
        const dnnl_memory_desc_t *from = kind == PORT_IN ? user_md : prim_md;
        const dnnl_memory_desc_t *to = kind == PORT_IN ? prim_md : user_md;
        st = dnnl_reorder_primitive_desc_create(&pd, from, engine, to, engine, attr);
    }
    if (st == dnnl_success) st = dnnl_primitive_create(&p->reorder, pd);
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (ops) dnnl_post_ops_destroy(ops);
    if (attr) dnnl_primitive_attr_destroy(attr);
    return st;
}

static void port_bind(onednn_port *p, const float *user)
{
    dnnl_memory_set_data_handle(p->user, (void *)user);
    if (p->inner != p->user && !p->own)
        dnnl_memory_set_data_handle(p->inner, onednn_scratch(p->slot, p->inner_bytes));
}

dnnl_memory_t onednn_port_in(onednn_port *p, const float *user)
{
    port_bind(p, user);
    if (p->reorder)
        onednn_run(p->reorder, 2, (dnnl_exec_arg_t[]){{DNNL_ARG_FROM, p->user},
                                                        {DNNL_ARG_TO, p->inner}});
    return p->inner;
}

dnnl_memory_t onednn_port_out(onednn_port *p, float *user)
{
    port_bind(p, user);
    return p->inner;
}

void onednn_port_flush(onednn_port *p)
{
    if (p->reorder)
        onednn_run(p->reorder, 2, (dnnl_exec_arg_t[]){{DNNL_ARG_FROM, p->inner},
                                                        {DNNL_ARG_TO, p->user}});
}

void onednn_port_destroy(onednn_port *p)
{
    if (p->reorder) dnnl_primitive_destroy(p->reorder);
    if (p->inner && p->inner != p->user) dnnl_memory_destroy(p->inner);
    if (p->user) dnnl_memory_destroy(p->user);
    free(p->own);
    memset(p, 0, sizeof *p);
}

void onednn_run(dnnl_primitive_t prim, int nargs, const dnnl_exec_arg_t *args)
{
    dnnl_status_t st = dnnl_primitive_execute(prim, stream, nargs, args);
    if (st == dnnl_success) st = dnnl_stream_wait(stream);
    if (st != dnnl_success) {
        fprintf(stderr, "darknet: error: a oneDNN primitive failed (status %d)\n", (int)st);
        exit(1);
    }
}

/* --- primitives with a shared scratchpad -------------------------------------------------- */

dnnl_status_t onednn_attr_create(dnnl_primitive_attr_t *attr)
{
    dnnl_status_t st = dnnl_primitive_attr_create(attr);
    if (st == dnnl_success)
        st = dnnl_primitive_attr_set_scratchpad_mode(*attr, dnnl_scratchpad_mode_user);
    return st;
}

dnnl_status_t onednn_primitive_init(onednn_primitive *p, const_dnnl_primitive_desc_t pd)
{
    memset(p, 0, sizeof *p);
    const dnnl_memory_desc_t *md = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    dnnl_status_t st;
    if (md && (p->scratchpad_bytes = dnnl_memory_desc_get_size(md)) > 0 &&
        (st = dnnl_memory_create(&p->scratchpad, md, engine, DNNL_MEMORY_NONE)) != dnnl_success)
        return st;
    return dnnl_primitive_create(&p->prim, pd);
}

void onednn_primitive_run(onednn_primitive *p, int nargs, const dnnl_exec_arg_t *args)
{
    dnnl_exec_arg_t all[8];
    memcpy(all, args, (size_t)nargs * sizeof *args);
    if (p->scratchpad) {
        void *buffer = onednn_scratch(SLOT_SCRATCHPAD, p->scratchpad_bytes);
        dnnl_memory_set_data_handle(p->scratchpad, buffer);
        all[nargs++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, p->scratchpad};
    }
    onednn_run(p->prim, nargs, all);
}

void onednn_primitive_destroy(onednn_primitive *p)
{
    if (p->prim) dnnl_primitive_destroy(p->prim);
    if (p->scratchpad) dnnl_memory_destroy(p->scratchpad);
    memset(p, 0, sizeof *p);
}
