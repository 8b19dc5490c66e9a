# Build and install the C library: header, shared library with a versioned soname, static
# library and pkg-config file. `make install PREFIX=/opt/a0backup` (DESTDIR is honoured).
PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
CARGO ?= cargo
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
MAJOR := $(word 1,$(subst ., ,$(VERSION)))
MINOR := $(word 2,$(subst ., ,$(VERSION)))
SOVERSION := $(if $(filter 0,$(MAJOR)),0.$(MINOR),$(MAJOR))
TARGET_DIR ?= target

.PHONY: all lib install uninstall test sample
all: lib

# Every test: the Rust suite (interop with Node and OpenSSL, C tests under valgrind, replayed
# fuzz corpora), the C library installed into a temporary prefix and linked with pkg-config,
# and the Node and Python callers.
test: tests/producers/node/node_modules/.package-lock.json
	$(CARGO) test --all-features
	$(MAKE) sample
	examples/c/install-test.sh
	examples/run-tests.sh

# node-tar, one of the archive producers of tests/producers.rs, as locked.
tests/producers/node/node_modules/.package-lock.json: tests/producers/node/package-lock.json
	cd tests/producers/node && npm ci --no-audit --no-fund

# The README's main job, exactly as written there, then checked against the sample's manifest.
sample:
	$(CARGO) run --release --features cli -- restore --password Passw0rd --force \
	    --status tests/data/sample-backup/backup-status.txt \
	    tests/data/sample-backup/backup-retrieve.tar.gz.enc -C /tmp/sample-restore
	cd /tmp/sample-restore && sha256sum --quiet -c $(CURDIR)/tests/data/sample-backup/manifest.sha256

lib:
	$(CARGO) build --release --lib

install: lib
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCLUDEDIR)
	install -m 644 include/a0backup.h $(DESTDIR)$(INCLUDEDIR)/a0backup.h
	install -m 755 $(TARGET_DIR)/release/liba0backup.so $(DESTDIR)$(LIBDIR)/liba0backup.so.$(VERSION)
	ln -sf liba0backup.so.$(VERSION) $(DESTDIR)$(LIBDIR)/liba0backup.so.$(SOVERSION)
	ln -sf liba0backup.so.$(SOVERSION) $(DESTDIR)$(LIBDIR)/liba0backup.so
	install -m 644 $(TARGET_DIR)/release/liba0backup.a $(DESTDIR)$(LIBDIR)/liba0backup.a
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' \
	    -e 's|@VERSION@|$(VERSION)|' a0backup.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/a0backup.pc

uninstall:
	rm -f $(DESTDIR)$(INCLUDEDIR)/a0backup.h $(DESTDIR)$(LIBDIR)/liba0backup.so* \
	      $(DESTDIR)$(LIBDIR)/liba0backup.a $(DESTDIR)$(LIBDIR)/pkgconfig/a0backup.pc
