# The provider template: installed for provider authors to copy, and built
# here as a test module so that `make check` runs the conformance kit on it.
templatedir = $(pkgdatadir)/template
dist_template_DATA = \
	sdk/template/README \
	sdk/template/Makefile \
	sdk/template/example.c

check_LTLIBRARIES += sdk/template/example.la
sdk_template_example_la_SOURCES = sdk/template/example.c
sdk_template_example_la_LDFLAGS = $(TEST_MODULE_LDFLAGS)

# Builds the installed template against a temporary installation (CI).
EXTRA_DIST += tests/integration/template.sh
