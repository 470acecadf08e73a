# libFuzzer targets, built with --enable-fuzz and clang (see tests/fuzz/README).
if ENABLE_FUZZ
noinst_PROGRAMS += tests/fuzz/fuzz_policy tests/fuzz/fuzz_negotiate
endif
FUZZ_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/core $(LIBCRYPTO_CFLAGS)
FUZZ_LINK = -fsanitize=fuzzer

tests_fuzz_fuzz_policy_SOURCES = tests/fuzz/fuzz_policy.c
tests_fuzz_fuzz_policy_CPPFLAGS = $(FUZZ_CPPFLAGS)
tests_fuzz_fuzz_policy_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_policy_LDADD = core/libmsgsec-core.la

tests_fuzz_fuzz_negotiate_SOURCES = tests/fuzz/fuzz_negotiate.c
tests_fuzz_fuzz_negotiate_CPPFLAGS = $(FUZZ_CPPFLAGS)
tests_fuzz_fuzz_negotiate_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_negotiate_LDADD = core/libmsgsec-core.la

EXTRA_DIST += tests/fuzz/README tests/fuzz/corpus/policy tests/fuzz/corpus/negotiate

# The A-KID parser of the SDK.
if ENABLE_FUZZ
noinst_PROGRAMS += tests/fuzz/fuzz_akid
endif
tests_fuzz_fuzz_akid_SOURCES = tests/fuzz/fuzz_akid.c
tests_fuzz_fuzz_akid_CPPFLAGS = $(FUZZ_CPPFLAGS)
tests_fuzz_fuzz_akid_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_akid_LDADD = sdk/lib/libmsgsec-sdk-core.la $(LIBCRYPTO_LIBS)
EXTRA_DIST += tests/fuzz/corpus/akid

# The TLS-PSK engine: its parsers, and a server connection fed any bytes.
if ENABLE_FUZZ
noinst_PROGRAMS += tests/fuzz/fuzz_psk_ext tests/fuzz/fuzz_tls_server
endif
tests_fuzz_fuzz_psk_ext_SOURCES = tests/fuzz/fuzz_psk_ext.c
tests_fuzz_fuzz_psk_ext_CPPFLAGS = $(FUZZ_CPPFLAGS)
tests_fuzz_fuzz_psk_ext_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_psk_ext_LDADD = sdk/lib/libmsgsec-sdk-core.la $(LIBSSL_LIBS) \
	$(LIBCRYPTO_LIBS)
tests_fuzz_fuzz_tls_server_SOURCES = tests/fuzz/fuzz_tls_server.c
tests_fuzz_fuzz_tls_server_CPPFLAGS = $(FUZZ_CPPFLAGS) $(LIBSSL_CFLAGS)
tests_fuzz_fuzz_tls_server_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_tls_server_LDADD = sdk/lib/libmsgsec-sdk-core.la \
	$(LIBSSL_LIBS) $(LIBCRYPTO_LIBS) $(PTHREAD_LIBS)
EXTRA_DIST += tests/fuzz/corpus/psk_ext tests/fuzz/corpus/tls_server

# The AAnF JSON codec (responses and requests, afId, date-times).
if ENABLE_FUZZ
noinst_PROGRAMS += tests/fuzz/fuzz_aanf_json
endif
tests_fuzz_fuzz_aanf_json_SOURCES = tests/fuzz/fuzz_aanf_json.c
tests_fuzz_fuzz_aanf_json_CPPFLAGS = $(FUZZ_CPPFLAGS)
tests_fuzz_fuzz_aanf_json_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_aanf_json_LDADD = sdk/lib/libmsgsec-sdk-core.la \
	$(JANSSON_LIBS) $(LIBCURL_LIBS) $(LIBCRYPTO_LIBS) $(PTHREAD_LIBS)
EXTRA_DIST += tests/fuzz/corpus/aanf_json

# The SEAL codec: keyInfo, and the key-management JSON, queries, token
# requests, answers and PSK identities.
if ENABLE_FUZZ
noinst_PROGRAMS += tests/fuzz/fuzz_keyinfo tests/fuzz/fuzz_seal_json
endif
tests_fuzz_fuzz_keyinfo_SOURCES = tests/fuzz/fuzz_keyinfo.c
tests_fuzz_fuzz_keyinfo_CPPFLAGS = $(FUZZ_CPPFLAGS)
tests_fuzz_fuzz_keyinfo_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_keyinfo_LDADD = sdk/lib/libmsgsec-sdk-core.la \
	$(JANSSON_LIBS) $(LIBCURL_LIBS) $(LIBCRYPTO_LIBS) $(PTHREAD_LIBS)
tests_fuzz_fuzz_seal_json_SOURCES = tests/fuzz/fuzz_seal_json.c
tests_fuzz_fuzz_seal_json_CPPFLAGS = $(FUZZ_CPPFLAGS)
tests_fuzz_fuzz_seal_json_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_seal_json_LDADD = sdk/lib/libmsgsec-sdk-core.la \
	$(JANSSON_LIBS) $(LIBCURL_LIBS) $(LIBCRYPTO_LIBS) $(PTHREAD_LIBS)
EXTRA_DIST += tests/fuzz/corpus/keyinfo tests/fuzz/corpus/seal_json

# The MSGin5G-1 codec and line splitter of examples/msgin5g.
if ENABLE_FUZZ
noinst_PROGRAMS += tests/fuzz/fuzz_msgin5g
endif
tests_fuzz_fuzz_msgin5g_SOURCES = tests/fuzz/fuzz_msgin5g.c \
	examples/msgin5g/msg.c examples/msgin5g/msg.h
tests_fuzz_fuzz_msgin5g_CPPFLAGS = $(FUZZ_CPPFLAGS) $(JANSSON_CFLAGS) \
	-I$(top_srcdir)/examples/msgin5g
tests_fuzz_fuzz_msgin5g_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_msgin5g_LDADD = $(JANSSON_LIBS)
EXTRA_DIST += tests/fuzz/corpus/msgin5g
