# The operator tool. It uses libmsgsec through the public API only.
bin_PROGRAMS += tools/msgsec
tools_msgsec_SOURCES = tools/msgsec.c tools/cli.c tools/cli.h
tools_msgsec_LDADD = core/libmsgsec.la
