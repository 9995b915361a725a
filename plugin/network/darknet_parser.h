/* Prototypes of Darknet's parser functions that no Darknet header declares.
 *
 * parser.c (pinned: Debian darknet 0.0.0+git20180914.61c9d02e-2) defines these without
 * `static`, but declares them nowhere; size_params is typedef'd inside parser.c itself
 * (lines 121-130). The declarations below must match that file exactly: the plugin's parse
 * loop calls the stock parse_* functions for every stock section. darknet_parser.c checks
 * them against the Darknet tree being compiled: a difference fails the build. Every parse_* there
 * returns a typedef of `layer` (convolutional_layer, route_layer, ...).
 */
#ifndef MCD_DARKNET_PARSER_H
#define MCD_DARKNET_PARSER_H

#include "darknet.h"
#include "list.h"
#include "option_list.h"

typedef struct size_params {
    int batch;
    int inputs;
    int h;
    int w;
    int c;
    int index;
    int time_steps;
    network *net;
} size_params;

LAYER_TYPE string_to_layer_type(char *type);
void parse_net_options(list *options, network *net);
network *make_network(int n);

layer parse_local(list *options, size_params params);
layer parse_deconvolutional(list *options, size_params params);
layer parse_convolutional(list *options, size_params params);
layer parse_crnn(list *options, size_params params);
layer parse_rnn(list *options, size_params params);
layer parse_gru(list *options, size_params params);
layer parse_lstm(list *options, size_params params);
layer parse_connected(list *options, size_params params);
layer parse_softmax(list *options, size_params params);
layer parse_yolo(list *options, size_params params);
layer parse_iseg(list *options, size_params params);
layer parse_region(list *options, size_params params);
layer parse_detection(list *options, size_params params);
layer parse_cost(list *options, size_params params);
layer parse_crop(list *options, size_params params);
layer parse_reorg(list *options, size_params params);
layer parse_maxpool(list *options, size_params params);
layer parse_avgpool(list *options, size_params params);
layer parse_dropout(list *options, size_params params);
layer parse_normalization(list *options, size_params params);
layer parse_batchnorm(list *options, size_params params);
layer parse_shortcut(list *options, size_params params, network *net);
layer parse_l2norm(list *options, size_params params);
layer parse_logistic(list *options, size_params params);
layer parse_activation(list *options, size_params params);
layer parse_upsample(list *options, size_params params, network *net);
layer parse_route(list *options, size_params params, network *net);

/* The real parse_network_cfg, reachable because we link with --wrap=parse_network_cfg. */
network *__real_parse_network_cfg(char *filename);

#endif
