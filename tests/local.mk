# Tests: CUnit units (one program per module), test provider modules,
# fuzz targets. Environment every test gets:
AM_TESTS_ENVIRONMENT = \
	MSGSEC_TEST_PROVIDER_DIR='$(abs_top_builddir)/tests/providers'; \
	export MSGSEC_TEST_PROVIDER_DIR; \
	MSGSEC_TEST_DATA='$(abs_top_srcdir)/tests/data'; \
	export MSGSEC_TEST_DATA; \
	MSGSEC_TEST_BUILDDIR='$(abs_top_builddir)'; \
	export MSGSEC_TEST_BUILDDIR;
# Test modules are built for `make check` only and never installed.
TEST_MODULE_LDFLAGS = $(MODULE_LDFLAGS) -rpath /nowhere
UNIT_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/core -I$(top_srcdir)/tests/unit \
	$(CUNIT_CFLAGS) $(LIBCRYPTO_CFLAGS) $(LTDLINCL) $(INIPARSER_CFLAGS)
UNIT_LDADD = tests/unit/libtestutil.la core/libmsgsec-core.la $(CUNIT_LIBS) \
	$(LIBCRYPTO_LIBS) $(PTHREAD_LIBS)
EXTRA_DIST += tests/data

check_LTLIBRARIES += tests/unit/libtestutil.la
tests_unit_libtestutil_la_SOURCES = tests/unit/testutil.c tests/unit/testutil.h
tests_unit_libtestutil_la_CPPFLAGS = $(UNIT_CPPFLAGS)

include $(srcdir)/tests/providers/local.mk
include $(srcdir)/tests/unit/local.mk
include $(srcdir)/tests/fuzz/local.mk
include $(srcdir)/tests/integration/local.mk
