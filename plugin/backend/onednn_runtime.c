/* The oneDNN plumbing shared by the layer implementations (onednn_runtime.h): engine,
 * stream, scratch buffers, layout ports, primitives with a shared scratchpad, and the
 * record of a pass's first failure. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/onednn_runtime.h"

/* --- engine, stream ----------------------------------------------------------------------- */

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

/* --- failures ----------------------------------------------------------------------------- */

static int failed;
static char failure[512];
static void (*failure_hook)(const char *message);

void onednn_set_failure_hook(void (*hook)(const char *message))
{
    failure_hook = hook;
}

void onednn_fail(const char *fmt, ...)
{
    if (failed) return; /* the first failure caused the others */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(failure, sizeof failure, fmt, ap);
    va_end(ap);
    failed = 1;
    if (failure_hook) failure_hook(failure);
}

int onednn_failed(void)
{
    return failed;
}

const char *onednn_take_failure(void)
{
    if (!failed) return NULL;
    failed = 0;
    return failure;
}

/* --- scratch ------------------------------------------------------------------------------ */

static struct {
    void *p;
    size_t bytes;
} scratch[SLOT_COUNT];
static size_t scratch_limit;

void onednn_set_scratch_limit(size_t bytes)
{
    scratch_limit = bytes;
}

void *onednn_scratch(enum onednn_slot slot, size_t bytes)
{
    const int refused = (scratch_limit && bytes > scratch_limit) || bytes > SIZE_MAX - 63;
    if (!refused && scratch[slot].bytes < bytes) {
        free(scratch[slot].p);
        size_t rounded = (bytes + 63) / 64 * 64;
        scratch[slot].p = aligned_alloc(64, rounded);
        scratch[slot].bytes = scratch[slot].p ? rounded : 0;
    }
    if (refused || scratch[slot].bytes < bytes) {
        onednn_fail("the CPU backend is out of memory (%zu bytes of oneDNN scratch)", bytes);
        return NULL;
    }
    return scratch[slot].p;
}

/* --- ports -------------------------------------------------------------------------------- */

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

/* Point the port at `user` and its inner memory at the slot's scratch buffer. Without
 * that buffer the failure is recorded, which stops every run until it is taken. */
static void port_bind(onednn_port *p, const float *user)
{
    dnnl_memory_set_data_handle(p->user, (void *)user);
    if (p->inner != p->user && !p->own) {
        void *buffer = onednn_scratch(p->slot, p->inner_bytes);
        if (buffer) dnnl_memory_set_data_handle(p->inner, buffer);
    }
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
    if (failed) return; /* a buffer it would use may be missing */
    dnnl_status_t st = dnnl_primitive_execute(prim, stream, nargs, args);
    if (st == dnnl_success) st = dnnl_stream_wait(stream);
    if (st != dnnl_success) onednn_fail("a oneDNN primitive failed (status %d)", (int)st);
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
        if (!buffer) return; /* recorded */
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
