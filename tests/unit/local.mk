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
