/* What the oneDNN layer implementations share: one engine and stream, reusable scratch
 * buffers, ports that move a tensor between Darknet's NCHW buffer and the layout a
 * primitive chose, and the record of a failed pass (plugin/backend/onednn_runtime.c). */
#ifndef MCD_ONEDNN_RUNTIME_H
#define MCD_ONEDNN_RUNTIME_H

#include <dnnl.h>

/* The CPU engine and its stream, created on first use; NULL when oneDNN has no CPU engine. */
dnnl_engine_t onednn_engine(void);
dnnl_stream_t onednn_stream(void);

/* Scratch buffers shared by every layer: layers run one at a time, and a tensor in a
 * primitive's own layout lives only during one call, so one buffer per role is enough.
 * The big ones (a whole activation tensor each) are shared across roles that are never
 * live together, since peak memory counts: SRC holds a forward input or, in backward,
 * the input again and then the input's gradient; DST a forward output or, in backward,
 * the output's gradient; AUX a third tensor (backward-weights' own layout of that
 * gradient, a shortcut's plain copy of the added layer). */
enum onednn_slot {
    SLOT_SRC, SLOT_DST, SLOT_AUX, SLOT_WEIGHTS, SLOT_DIFF_WEIGHTS, SLOT_BIAS, SLOT_SCRATCHPAD,
    SLOT_COUNT,
    SLOT_OWN /* not shared: the port keeps its own buffer (a tensor kept between calls) */
};
/* A 64-byte aligned buffer of at least `bytes` for the slot (contents not kept on growth);
 * NULL, with the failure recorded, when there is no memory for it. */
void *onednn_scratch(enum onednn_slot slot, size_t bytes);
/* For tests: scratch requests of more than `bytes` fail as if memory had run out (0: no
 * limit), so that a pass can be made to fail part-way. */
void onednn_set_scratch_limit(size_t bytes);

/* The first failure since it was last taken (cpu_backend.h, mcd_backend_check): Darknet's
 * layer functions return nothing, so a failure is recorded here, with its message, and
 * from then on every run below does nothing (no primitive is handed a missing buffer) and
 * the backend's layers return at once. The rest of the pass then only runs Darknet's own
 * layers on stale values, and its caller learns of the failure when it checks. */
/* Called with the message as soon as a failure is recorded (cpu_backend.h,
 * mcd_backend_set_failure_hook); NULL: none. */
void onednn_set_failure_hook(void (*hook)(const char *message));
void onednn_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int onednn_failed(void);
/* The message of the recorded failure, and the record cleared; NULL when there is none. */
const char *onednn_take_failure(void);

/* A primitive argument backed by a Darknet buffer. When the primitive wants another
 * layout (or the result must be added into the buffer, as Darknet's gradients are), a
 * reorder runs between the user buffer and a scratch buffer in the primitive's layout. */
typedef struct onednn_port {
    dnnl_memory_t user;     /* the Darknet buffer (plain layout) */
    dnnl_memory_t inner;    /* what the primitive reads or writes; == user without reorder */
    dnnl_primitive_t reorder;
    size_t inner_bytes;
    enum onednn_slot slot;
    void *own; /* the buffer of a SLOT_OWN port */
} onednn_port;

enum onednn_port_kind {
    PORT_IN,         /* user -> primitive */
    PORT_OUT,        /* primitive -> user, overwriting */
    PORT_OUT_ADD     /* primitive -> user, adding into it */
};
dnnl_status_t onednn_port_init(onednn_port *p, const dnnl_memory_desc_t *user_md,
                               const dnnl_memory_desc_t *prim_md, enum onednn_port_kind kind,
                               enum onednn_slot slot);
/* Input: point the port at `user` and reorder it in; returns the primitive's argument. */
dnnl_memory_t onednn_port_in(onednn_port *p, const float *user);
/* Output: point the port at `user`; returns the argument the primitive writes. After the
 * primitive ran, onednn_port_flush moves the result into `user`. */
dnnl_memory_t onednn_port_out(onednn_port *p, float *user);
void onednn_port_flush(onednn_port *p);
void onednn_port_destroy(onednn_port *p);

/* A primitive whose scratchpad (oneDNN's temporary memory; large for Winograd) is the
 * shared SLOT_SCRATCHPAD buffer: left to oneDNN, it is allocated and freed on every call,
 * and the fresh pages cost more than some convolutions. Create its descriptor with an
 * attribute from onednn_attr_create. */
typedef struct onednn_primitive {
    dnnl_primitive_t prim;
    dnnl_memory_t scratchpad;
    size_t scratchpad_bytes;
} onednn_primitive;
dnnl_status_t onednn_attr_create(dnnl_primitive_attr_t *attr);
dnnl_status_t onednn_primitive_init(onednn_primitive *p, const_dnnl_primitive_desc_t pd);
/* Run with args (at most 7) plus the scratchpad, and wait; nothing once a failure is
 * recorded. */
void onednn_primitive_run(onednn_primitive *p, int nargs, const dnnl_exec_arg_t *args);
void onednn_primitive_destroy(onednn_primitive *p);

/* Run a primitive on the stream and wait; a failure here (out of memory) is recorded
 * (onednn_fail), and nothing runs once one is. */
void onednn_run(dnnl_primitive_t prim, int nargs, const dnnl_exec_arg_t *args);

/* An NCHW (or OIHW, or 1-D) f32 descriptor of Darknet's plain buffers. */
void onednn_plain_md(dnnl_memory_desc_t *md, int ndims, const dnnl_dims_t dims);

#endif
