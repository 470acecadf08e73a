# Integration tests: shell scripts that drive the built programs.
# Run through the shell so that they need no execute bit.
TEST_EXTENSIONS = .sh
SH_LOG_COMPILER = $(SHELL)
TESTS += tests/integration/test_cli.sh
EXTRA_DIST += tests/integration/test_cli.sh
