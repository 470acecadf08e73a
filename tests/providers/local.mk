# Provider modules used by the tests only (never installed).
check_LTLIBRARIES += tests/providers/testpsk.la
tests_providers_testpsk_la_SOURCES = tests/providers/testpsk.c
tests_providers_testpsk_la_LDFLAGS = $(TEST_MODULE_LDFLAGS)
tests_providers_testpsk_la_CPPFLAGS = $(AM_CPPFLAGS) $(LIBCRYPTO_CFLAGS) -DTESTPSK_MODULE=testpsk -DTESTPSK_NAME='"testpsk"'
tests_providers_testpsk_la_LIBADD = $(LIBCRYPTO_LIBS) $(PTHREAD_LIBS)

check_LTLIBRARIES += tests/providers/testpsk2.la
tests_providers_testpsk2_la_SOURCES = tests/providers/testpsk.c
tests_providers_testpsk2_la_LDFLAGS = $(TEST_MODULE_LDFLAGS)
tests_providers_testpsk2_la_CPPFLAGS = $(AM_CPPFLAGS) $(LIBCRYPTO_CFLAGS) -DTESTPSK_MODULE=testpsk2 -DTESTPSK_NAME='"testpsk2"'
tests_providers_testpsk2_la_LIBADD = $(LIBCRYPTO_LIBS) $(PTHREAD_LIBS)

check_LTLIBRARIES += tests/providers/badmagic.la
tests_providers_badmagic_la_SOURCES = tests/providers/defective.c
tests_providers_badmagic_la_LDFLAGS = $(TEST_MODULE_LDFLAGS)
tests_providers_badmagic_la_CPPFLAGS = $(AM_CPPFLAGS) -DDEFECT_MAGIC -DDEFECT_MODULE=badmagic -DDEFECT_NAME='"badmagic"'
tests_providers_badmagic_la_LIBADD = $(LIBCRYPTO_LIBS) $(PTHREAD_LIBS)

check_LTLIBRARIES += tests/providers/badabi.la
tests_providers_badabi_la_SOURCES = tests/providers/defective.c
tests_providers_badabi_la_LDFLAGS = $(TEST_MODULE_LDFLAGS)
tests_providers_badabi_la_CPPFLAGS = $(AM_CPPFLAGS) -DDEFECT_ABI -DDEFECT_MODULE=badabi -DDEFECT_NAME='"badabi"'
tests_providers_badabi_la_LIBADD = $(LIBCRYPTO_LIBS) $(PTHREAD_LIBS)

check_LTLIBRARIES += tests/providers/badcrit.la
tests_providers_badcrit_la_SOURCES = tests/providers/defective.c
tests_providers_badcrit_la_LDFLAGS = $(TEST_MODULE_LDFLAGS)
tests_providers_badcrit_la_CPPFLAGS = $(AM_CPPFLAGS) -DDEFECT_CRITICAL -DDEFECT_MODULE=badcrit -DDEFECT_NAME='"badcrit"'
tests_providers_badcrit_la_LIBADD = $(LIBCRYPTO_LIBS) $(PTHREAD_LIBS)

check_LTLIBRARIES += tests/providers/failinit.la
tests_providers_failinit_la_SOURCES = tests/providers/defective.c
tests_providers_failinit_la_LDFLAGS = $(TEST_MODULE_LDFLAGS)
tests_providers_failinit_la_CPPFLAGS = $(AM_CPPFLAGS) -DDEFECT_INIT -DDEFECT_MODULE=failinit -DDEFECT_NAME='"failinit"'
tests_providers_failinit_la_LIBADD = $(LIBCRYPTO_LIBS) $(PTHREAD_LIBS)

check_LTLIBRARIES += tests/providers/failselftest.la
tests_providers_failselftest_la_SOURCES = tests/providers/defective.c
tests_providers_failselftest_la_LDFLAGS = $(TEST_MODULE_LDFLAGS)
tests_providers_failselftest_la_CPPFLAGS = $(AM_CPPFLAGS) -DDEFECT_SELFTEST -DDEFECT_MODULE=failselftest -DDEFECT_NAME='"failselftest"'
tests_providers_failselftest_la_LIBADD = $(LIBCRYPTO_LIBS) $(PTHREAD_LIBS)


# A provider on the SDK's TLS-PSK engine (test_tlspsk runs it in the core).
check_LTLIBRARIES += tests/providers/tlstest.la
tests_providers_tlstest_la_SOURCES = tests/providers/tlstest.c
tests_providers_tlstest_la_LDFLAGS = $(TEST_MODULE_LDFLAGS)
tests_providers_tlstest_la_CPPFLAGS = $(AM_CPPFLAGS) $(LIBSSL_CFLAGS) $(LIBCRYPTO_CFLAGS)
tests_providers_tlstest_la_LIBADD = sdk/lib/libmsgsec-sdk.la $(LIBCRYPTO_LIBS) $(PTHREAD_LIBS)

# testpsk as built against provider ABI 1.0 (no psk_resolve): still loads.
check_LTLIBRARIES += tests/providers/testpsk0.la
tests_providers_testpsk0_la_SOURCES = tests/providers/testpsk.c
tests_providers_testpsk0_la_LDFLAGS = $(TEST_MODULE_LDFLAGS)
tests_providers_testpsk0_la_CPPFLAGS = $(AM_CPPFLAGS) $(LIBCRYPTO_CFLAGS) -DTESTPSK_MODULE=testpsk0 -DTESTPSK_NAME='"testpsk0"' -DTESTPSK_MINOR0
tests_providers_testpsk0_la_LIBADD = $(LIBCRYPTO_LIBS) $(PTHREAD_LIBS)
