# libmsgsec: the core. Its code is built once as a convenience library so
# that unit tests can link the internals; libmsgsec.la exports only the API.
noinst_LTLIBRARIES += core/libmsgsec-core.la
core_libmsgsec_core_la_SOURCES = \
	core/internal.h \
	core/util.c \
	core/errors.c \
	core/policy.c \
	core/loader.c \
	core/core.c \
	core/session.c \
	core/pskapi.c \
	core/pcall.c \
	core/pcall.h \
	core/authz.c \
	core/negotiate.c \
	core/negotiate.h \
	plugins/null/null.c
core_libmsgsec_core_la_CPPFLAGS = $(AM_CPPFLAGS) -DMSGSEC_BUILDING \
	-DMSGSEC_PROVIDER_BUILTIN $(LTDLINCL) $(INIPARSER_CFLAGS) $(LIBCRYPTO_CFLAGS)
core_libmsgsec_core_la_LIBADD = $(LIBLTDL) $(INIPARSER_LIBS) $(LIBCRYPTO_LIBS) $(PTHREAD_LIBS)

lib_LTLIBRARIES += core/libmsgsec.la
msgsecinclude_HEADERS += core/include/msgsec/msgsec.h
core_libmsgsec_la_SOURCES =
nodist_EXTRA_core_libmsgsec_la_SOURCES = dummy.c
core_libmsgsec_la_LIBADD = core/libmsgsec-core.la
core_libmsgsec_la_LDFLAGS = -version-info $(MSGSEC_LT_VERSION) -no-undefined \
	-Wl,-z,now -Wl,-z,relro -Wl,-z,defs
