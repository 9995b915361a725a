/* Reading MCD networks: the plugin's cfg parse loop and the layout of a parsed network. */
#ifndef MCD_NETWORK_H
#define MCD_NETWORK_H

#include "darknet.h"

/* Parse any Darknet cfg, with or without the plugin's sections. Returns NULL on a bad cfg,
 * with a message naming the file, line, section and key in mcd_last_error().
 * Stock sections are built by Darknet's own parse_* functions. */
network *mcd_parse_network_cfg(const char *filename);

/* A function run on every network the parse builds, before it is returned; NULL for none
 * (the default). Programs install their CPU backend's layer code with it
 * (mcd_backend_install, backend/cpu_backend.h): the parser knows no backend. */
void mcd_network_set_parse_hook(void (*hook)(network *net));
/* Run that hook on net again: mcd_resize_network (network_resize.h) gives some layers
 * Darknet's functions back and has the program's backend installed anew. */
void mcd_network_run_parse_hook(network *net);

/* Where the parts of an MCD network sit in net->layers. */
typedef struct mcd_layout {
    int split;        /* [mcd_split] */
    int head2;        /* [mcd_head]: start of head 2 */
    int softmax1;     /* head 1's last layer */
    int softmax2;     /* head 2's last layer */
    int discrepancy;  /* [mcd_discrepancy] */
    int l1;           /* [mcd_l1], the output */
    int classes;
} mcd_layout;

/* 0 and the layout, or -1 (with an error) when net is not an MCD network. */
int mcd_find_layout(const network *net, mcd_layout *out);

/* Keep head 2's gradient out of the trunk (step A of MCD fine-tuning) or let it in. */
void mcd_block_head2(network *net, const mcd_layout *m, int blocked);

/* Head h's (1 or 2) probabilities for image b after a forward pass. */
const float *mcd_head_probs(const network *net, const mcd_layout *m, int head, int b);

#endif
