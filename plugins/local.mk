# Providers. null is built into libmsgsec (core/local.mk); AKMA and SEAL
# TLS-PSK are modules installed into $(providerdir).
EXTRA_DIST += plugins/null/README

# AKMA (TS 33.535): the UE and AF sides of TLS with K_AF.
provider_LTLIBRARIES += plugins/akma/akma.la
plugins_akma_akma_la_SOURCES = plugins/akma/akma.c plugins/akma/kafcache.c \
	plugins/akma/kafcache.h
plugins_akma_akma_la_CPPFLAGS = $(AM_CPPFLAGS) $(LIBCRYPTO_CFLAGS)
plugins_akma_akma_la_LDFLAGS = $(MODULE_LDFLAGS)
plugins_akma_akma_la_LIBADD = sdk/lib/libmsgsec-sdk.la $(LIBCRYPTO_LIBS) \
	$(PTHREAD_LIBS)
