# CUnit programs, one per core module.
check_PROGRAMS += tests/unit/test_errors
TESTS += tests/unit/test_errors
tests_unit_test_errors_SOURCES = tests/unit/test_errors.c
tests_unit_test_errors_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_errors_LDADD = $(UNIT_LDADD)

check_PROGRAMS += tests/unit/test_policy
TESTS += tests/unit/test_policy
tests_unit_test_policy_SOURCES = tests/unit/test_policy.c
tests_unit_test_policy_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_policy_LDADD = $(UNIT_LDADD)

check_PROGRAMS += tests/unit/test_loader
TESTS += tests/unit/test_loader
tests_unit_test_loader_SOURCES = tests/unit/test_loader.c
tests_unit_test_loader_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_loader_LDADD = $(UNIT_LDADD)

check_PROGRAMS += tests/unit/test_core
TESTS += tests/unit/test_core
tests_unit_test_core_SOURCES = tests/unit/test_core.c
tests_unit_test_core_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_core_LDADD = $(UNIT_LDADD)

check_PROGRAMS += tests/unit/test_session
TESTS += tests/unit/test_session
tests_unit_test_session_SOURCES = tests/unit/test_session.c
tests_unit_test_session_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_session_LDADD = $(UNIT_LDADD)

check_PROGRAMS += tests/unit/test_negotiate
TESTS += tests/unit/test_negotiate
tests_unit_test_negotiate_SOURCES = tests/unit/test_negotiate.c
tests_unit_test_negotiate_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_negotiate_LDADD = $(UNIT_LDADD)

check_PROGRAMS += tests/unit/test_msgpath
TESTS += tests/unit/test_msgpath
tests_unit_test_msgpath_SOURCES = tests/unit/test_msgpath.c
tests_unit_test_msgpath_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_msgpath_LDADD = $(UNIT_LDADD)

check_PROGRAMS += tests/unit/test_pending
TESTS += tests/unit/test_pending
tests_unit_test_pending_SOURCES = tests/unit/test_pending.c
tests_unit_test_pending_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_pending_LDADD = $(UNIT_LDADD)

check_PROGRAMS += tests/unit/test_threads
TESTS += tests/unit/test_threads
tests_unit_test_threads_SOURCES = tests/unit/test_threads.c
tests_unit_test_threads_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_threads_LDADD = $(UNIT_LDADD)

# Links a test provider in with -dlpreopen: the loader must find it there.
check_PROGRAMS += tests/unit/test_preload
TESTS += tests/unit/test_preload
tests_unit_test_preload_SOURCES = tests/unit/test_preload.c
tests_unit_test_preload_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_preload_LDADD = $(UNIT_LDADD) -dlpreopen tests/providers/testpsk.la
tests_unit_test_preload_DEPENDENCIES = tests/providers/testpsk.la core/libmsgsec-core.la tests/unit/libtestutil.la

# SDK: the 3GPP KDF and the AKMA derivations and identifiers.
check_PROGRAMS += tests/unit/test_kdf
TESTS += tests/unit/test_kdf
tests_unit_test_kdf_SOURCES = tests/unit/test_kdf.c
tests_unit_test_kdf_CPPFLAGS = $(SDK_UNIT_CPPFLAGS)
tests_unit_test_kdf_LDADD = $(SDK_UNIT_LDADD)

check_PROGRAMS += tests/unit/test_akma_keys
TESTS += tests/unit/test_akma_keys
tests_unit_test_akma_keys_SOURCES = tests/unit/test_akma_keys.c
tests_unit_test_akma_keys_CPPFLAGS = $(SDK_UNIT_CPPFLAGS)
tests_unit_test_akma_keys_LDADD = $(SDK_UNIT_LDADD)

# SDK: the AAnF JSON codec, and the HTTP client (against tools/msgsec-aanf,
# which `make check` builds first as part of `all`).
check_PROGRAMS += tests/unit/test_aanf
TESTS += tests/unit/test_aanf
tests_unit_test_aanf_SOURCES = tests/unit/test_aanf.c
tests_unit_test_aanf_CPPFLAGS = $(SDK_UNIT_CPPFLAGS)
tests_unit_test_aanf_LDADD = $(SDK_UNIT_LDADD)

check_PROGRAMS += tests/unit/test_http
TESTS += tests/unit/test_http
tests_unit_test_http_SOURCES = tests/unit/test_http.c
tests_unit_test_http_CPPFLAGS = $(SDK_UNIT_CPPFLAGS)
tests_unit_test_http_LDADD = $(SDK_UNIT_LDADD)

# The TLS-PSK engine, directly and in the core through tests/providers/tlstest.
check_PROGRAMS += tests/unit/test_tlspsk
TESTS += tests/unit/test_tlspsk
tests_unit_test_tlspsk_SOURCES = tests/unit/test_tlspsk.c
tests_unit_test_tlspsk_CPPFLAGS = $(SDK_UNIT_CPPFLAGS)
tests_unit_test_tlspsk_LDADD = $(SDK_UNIT_LDADD)

check_PROGRAMS += tests/unit/test_tlsprov
TESTS += tests/unit/test_tlsprov
tests_unit_test_tlsprov_SOURCES = tests/unit/test_tlsprov.c
tests_unit_test_tlsprov_CPPFLAGS = $(SDK_UNIT_CPPFLAGS)
tests_unit_test_tlsprov_LDADD = $(SDK_UNIT_LDADD)

# The akma provider through the core, against tools/msgsec-aanf; its K_AF
# cache (the SDK key cache) is also tested directly.
check_PROGRAMS += tests/unit/test_akma
TESTS += tests/unit/test_akma
tests_unit_test_akma_SOURCES = tests/unit/test_akma.c
tests_unit_test_akma_CPPFLAGS = $(SDK_UNIT_CPPFLAGS)
tests_unit_test_akma_LDADD = $(SDK_UNIT_LDADD)

# PSK identity look-ups for integrators' own TLS stacks: test providers
# (testpsk0 built against provider ABI 1.0), and akma against
# tools/msgsec-aanf with the UE registered by tools/msgsec.
check_PROGRAMS += tests/unit/test_pskapi
TESTS += tests/unit/test_pskapi
tests_unit_test_pskapi_SOURCES = tests/unit/test_pskapi.c
tests_unit_test_pskapi_CPPFLAGS = $(SDK_UNIT_CPPFLAGS)
tests_unit_test_pskapi_LDADD = $(SDK_UNIT_LDADD)

# SEAL authorization (msgsec_authz_*) through testpsk's authorize.
check_PROGRAMS += tests/unit/test_authz
TESTS += tests/unit/test_authz
tests_unit_test_authz_SOURCES = tests/unit/test_authz.c
tests_unit_test_authz_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_authz_LDADD = $(UNIT_LDADD)

# SDK: the SEAL codecs (keyInfo, ValKeyInfo, tokens, associations, URLs,
# queries, PSK identities).
check_PROGRAMS += tests/unit/test_seal_codec
TESTS += tests/unit/test_seal_codec
tests_unit_test_seal_codec_SOURCES = tests/unit/test_seal_codec.c
tests_unit_test_seal_codec_CPPFLAGS = $(SDK_UNIT_CPPFLAGS)
tests_unit_test_seal_codec_LDADD = $(SDK_UNIT_LDADD)

# The seal-tlspsk provider through the core, against tools/msgsec-seal-km.
check_PROGRAMS += tests/unit/test_seal
TESTS += tests/unit/test_seal
tests_unit_test_seal_SOURCES = tests/unit/test_seal.c
tests_unit_test_seal_CPPFLAGS = $(SDK_UNIT_CPPFLAGS)
tests_unit_test_seal_LDADD = $(SDK_UNIT_LDADD)

# The MSGin5G-1 codec and line splitter of examples/msgin5g.
check_PROGRAMS += tests/unit/test_msgin5g_msg
TESTS += tests/unit/test_msgin5g_msg
tests_unit_test_msgin5g_msg_SOURCES = tests/unit/test_msgin5g_msg.c \
	examples/msgin5g/msg.c examples/msgin5g/msg.h
tests_unit_test_msgin5g_msg_CPPFLAGS = $(UNIT_CPPFLAGS) $(JANSSON_CFLAGS) \
	-I$(top_srcdir)/examples/msgin5g
tests_unit_test_msgin5g_msg_LDADD = $(UNIT_LDADD) $(JANSSON_LIBS)
