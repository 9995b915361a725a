/* Darknet's [avgpool] reading oneDNN's nChw16c at inference (plugin/backend/avgpool_blocked.c). */
#ifndef MCD_AVGPOOL_BLOCKED_H
#define MCD_AVGPOOL_BLOCKED_H

#include "darknet.h"

/* Give net->layers[i] (an AVGPOOL layer) the forward below; returns 1. */
int avgpool_blocked_install(network *net, int i);

#endif
