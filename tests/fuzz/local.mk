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
