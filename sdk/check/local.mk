# The conformance kit for provider authors (installed).
bin_PROGRAMS += sdk/check/msgsec-provider-check
sdk_check_msgsec_provider_check_SOURCES = sdk/check/msgsec-provider-check.c
sdk_check_msgsec_provider_check_CPPFLAGS = $(AM_CPPFLAGS) $(LIBCRYPTO_CFLAGS)
sdk_check_msgsec_provider_check_LDADD = core/libmsgsec.la $(LIBCRYPTO_LIBS)

# The kit itself under test: testpsk and the template pass, broken
# modules fail, and a bad command line is a usage error.
TESTS += sdk/check/check-kit.sh
EXTRA_DIST += sdk/check/check-kit.sh
