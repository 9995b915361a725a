/* A cfg for another data set: what `mcd import` needs from a shipped cfg (its input shape
 * and schedule) and the copy it writes for the user's classes (data= and both heads' class
 * count changed, every other line kept as written, comments included). */
#ifndef MCD_CFG_REWRITE_H
#define MCD_CFG_REWRITE_H

typedef struct mcd_cfg_shape {
    int width, height, channels;   /* the [net] section's input */
    int batch, max_batches;        /* pre-training: images per batch, batches */
} mcd_cfg_shape;

/* The [net] (or [network]) section's input and schedule; Darknet's defaults for keys not
 * given (channels 3, batch 1, max_batches 0). 0, or -1 with an error naming the cfg. */
int mcd_cfg_read_shape(const char *cfg, mcd_cfg_shape *out);

/* Write to `out` the text of `cfg` with `header` (comment lines, each starting with '#';
 * may be NULL) first, [net]'s data= set to `data` (added after the section header when
 * absent), and the class count of each head set to `classes`: after [mcd_split], the
 * `output=` of the [connected] or `filters=` of the [convolutional] section nearest before
 * each [softmax]. 0, or -1 with an error naming the cfg (no [net] first, no [mcd_split], a
 * head with no [softmax] or no such layer before it) or the output file. */
int mcd_cfg_write_for_classes(const char *cfg, const char *out, const char *header,
                              const char *data, int classes);

#endif
