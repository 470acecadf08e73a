# libmsgsec-sdk: helpers for providers (3GPP KDF and AKMA keys, the
# TLS-PSK engine, the HTTP/JSON client and the AAnF codec). Built once as a
# convenience library for the unit tests; libmsgsec-sdk.la exports the API.
# Each part adds its sources and installed headers below.
SDK_CPPFLAGS = $(AM_CPPFLAGS) -DMSGSEC_SDK_BUILDING $(LIBCRYPTO_CFLAGS) \
	$(LIBSSL_CFLAGS) $(LIBCURL_CFLAGS) $(JANSSON_CFLAGS)
noinst_LTLIBRARIES += sdk/lib/libmsgsec-sdk-core.la
sdk_lib_libmsgsec_sdk_core_la_SOURCES = sdk/lib/kdf.c
sdk_lib_libmsgsec_sdk_core_la_CPPFLAGS = $(SDK_CPPFLAGS)
sdk_lib_libmsgsec_sdk_core_la_LIBADD = $(LIBSSL_LIBS) $(LIBCRYPTO_LIBS) \
	$(LIBCURL_LIBS) $(JANSSON_LIBS) $(PTHREAD_LIBS)
msgsecinclude_HEADERS += sdk/include/msgsec/sdk.h sdk/include/msgsec/kdf.h
sdk_lib_libmsgsec_sdk_core_la_SOURCES += sdk/lib/akma_keys.c
msgsecinclude_HEADERS += sdk/include/msgsec/akma_keys.h
sdk_lib_libmsgsec_sdk_core_la_SOURCES += sdk/lib/http.c sdk/lib/aanf.c
msgsecinclude_HEADERS += sdk/include/msgsec/http.h sdk/include/msgsec/aanf.h
sdk_lib_libmsgsec_sdk_core_la_SOURCES += sdk/lib/tlspsk.c sdk/lib/psk_ext.c
msgsecinclude_HEADERS += sdk/include/msgsec/tlspsk.h
sdk_lib_libmsgsec_sdk_core_la_SOURCES += sdk/lib/tlsprov.c
msgsecinclude_HEADERS += sdk/include/msgsec/tlsprov.h
sdk_lib_libmsgsec_sdk_core_la_SOURCES += sdk/lib/jsonutil.c \
	sdk/lib/jsonutil.h sdk/lib/seal.c
msgsecinclude_HEADERS += sdk/include/msgsec/seal.h
sdk_lib_libmsgsec_sdk_core_la_SOURCES += sdk/lib/keycache.c sdk/lib/provcfg.c
msgsecinclude_HEADERS += sdk/include/msgsec/keycache.h \
	sdk/include/msgsec/provcfg.h

lib_LTLIBRARIES += sdk/lib/libmsgsec-sdk.la
sdk_lib_libmsgsec_sdk_la_SOURCES =
nodist_EXTRA_sdk_lib_libmsgsec_sdk_la_SOURCES = dummy.c
sdk_lib_libmsgsec_sdk_la_LIBADD = sdk/lib/libmsgsec-sdk-core.la
sdk_lib_libmsgsec_sdk_la_LDFLAGS = -version-info $(MSGSEC_LT_VERSION) \
	-no-undefined -Wl,-z,now -Wl,-z,relro -Wl,-z,defs

# Unit tests of the SDK link the convenience library.
SDK_UNIT_CPPFLAGS = $(UNIT_CPPFLAGS) $(LIBSSL_CFLAGS) $(LIBCURL_CFLAGS) $(JANSSON_CFLAGS)
SDK_UNIT_LDADD = tests/unit/libtestutil.la sdk/lib/libmsgsec-sdk-core.la \
	core/libmsgsec-core.la $(CUNIT_LIBS) $(LIBSSL_LIBS) $(LIBCRYPTO_LIBS) \
	$(LIBCURL_LIBS) $(JANSSON_LIBS) $(PTHREAD_LIBS)
