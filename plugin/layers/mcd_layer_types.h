/* The layer type ids of the plugin's layers, in one place.
 *
 * A layer's type is Darknet's LAYER_TYPE (include/darknet.h), an enum of its own layer
 * kinds that ends with BLANK (29 in the pinned version). The plugin's layers take ids from
 * 1000 up, outside that enum, so that they can never be mistaken for a Darknet type, now
 * or when Darknet adds one: Darknet's code that switches on the type (save_weights_upto,
 * load_weights_upto, free_layer) then sees them as types it does not know and leaves them
 * alone, which is what a weight-free plugin layer needs. Code that must handle them (the
 * parse loop, mcd_resize_network, the backend's layout scan) compares against these ids. */
#ifndef MCD_LAYER_TYPES_H
#define MCD_LAYER_TYPES_H

#include "darknet.h"

#define MCD_SPLIT       ((LAYER_TYPE)1000) /* [mcd_split]: end of the trunk, start of head 1 */
#define MCD_HEAD        ((LAYER_TYPE)1001) /* [mcd_head]: start of head 2 */
#define MCD_DISCREPANCY ((LAYER_TYPE)1002) /* [mcd_discrepancy]: the heads' probabilities */
#define MCD_L1          ((LAYER_TYPE)1003) /* [mcd_l1]: the OOD score */

#endif
