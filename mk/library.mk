# The OOD gate as a C library (include/mcd.h), included by the Makefile:
#   build/lib/libdarknet-mcd.a    the plugin (all but plugin/commands/) with Darknet in it
#   build/lib/libdarknet-mcd.so   the same, exporting only the API of include/mcd.h
#   make install PREFIX=DIR       DIR/lib/libdarknet-mcd.{a,so}, DIR/include/mcd.h,
#                                 DIR/lib/pkgconfig/darknet-mcd.pc (default PREFIX /usr/local)
# A program: cc prog.c $(pkg-config --cflags --libs darknet-mcd); with the static library,
# pkg-config --static adds OpenCV, oneDNN and the rest. docs/library.md is the manual.
MCD_VERSION := 0.2.0
PREFIX      ?= /usr/local
LIB_DIR     := $(BUILD)/lib
LIB_A       := $(LIB_DIR)/libdarknet-mcd.a
LIB_SO      := $(LIB_DIR)/libdarknet-mcd.so
# Darknet's gemm.o is replaced by the gemm backend (as in the binary, where the archive
# never pulls it in).
LIB_OBJS     = $(filter-out $(BUILD)/plugin/commands/%,$(PLUGIN_OBJS)) $(GEMM_OBJ) \
               $(filter-out $(BUILD)/darknet/gemm.o,$(DN_LIB_OBJS))
LIB_MAP     := mk/libdarknet-mcd.map

$(BUILD)/plugin/api/mcd.c.o: MCD_CFLAGS += -DMCD_VERSION='"$(MCD_VERSION)"'

library: $(LIB_A) $(LIB_SO)

$(LIB_A): $(LIB_OBJS)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

# Darknet's and the plugin's other functions stay inside (the version script): a program
# sees the API alone, and its own names cannot clash with Darknet's (make_image, ...).
$(LIB_SO): $(LIB_OBJS) $(LIB_MAP)
	@mkdir -p $(@D)
	$(CC) -shared -Wl,-soname,libdarknet-mcd.so -Wl,--version-script=$(LIB_MAP) -Wl,--no-undefined \
	    $(LIB_OBJS) -o $@ $(LDLIBS)

install: $(LIB_A) $(LIB_SO) include/mcd.h
	@case "$(PREFIX)" in /*) ;; *) echo "make install: PREFIX must be an absolute path"; exit 1;; esac
	install -d $(PREFIX)/lib/pkgconfig $(PREFIX)/include
	install -m 644 $(LIB_A) $(PREFIX)/lib/
	install -m 755 $(LIB_SO) $(PREFIX)/lib/
	install -m 644 include/mcd.h $(PREFIX)/include/
	printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$${prefix}/lib' 'includedir=$${prefix}/include' '' \
	    'Name: darknet-mcd' \
	    'Description: out-of-distribution detection for Darknet classifiers (Maximum Classifier Discrepancy)' \
	    'Version: $(MCD_VERSION)' 'Requires.private: opencv4' \
	    'Libs: -L$${libdir} -Wl,-rpath,$${libdir} -ldarknet-mcd' \
	    'Libs.private: $(GEMM_LIBS_$(GEMM)) $(BACKEND_LIBS) -lstdc++ -lm -pthread' \
	    'Cflags: -I$${includedir}' > $(PREFIX)/lib/pkgconfig/darknet-mcd.pc
	@echo "installed in $(PREFIX): cc prog.c \$$(PKG_CONFIG_PATH=$(PREFIX)/lib/pkgconfig pkg-config --cflags --libs darknet-mcd)"
