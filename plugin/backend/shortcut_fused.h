/* Darknet's [shortcut] layer in one pass per image plane (plugin/backend/shortcut_fused.c). */
#ifndef MCD_SHORTCUT_FUSED_H
#define MCD_SHORTCUT_FUSED_H

#include "darknet.h"

/* Give net->layers[i] (a SHORTCUT layer) the fused forward and backward when the layer it
 * adds is as large as its input or larger (ResNet's identity and subsampled shortcuts);
 * returns 1 when installed. */
int shortcut_fused_install(network *net, int i);
/* Whether l runs the fused forward. */
int shortcut_fused_installed(const layer *l);

#endif
