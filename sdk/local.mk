# The provider SDK: the ABI header, the template and the conformance kit.
msgsecinclude_HEADERS += sdk/include/msgsec/provider.h
include $(srcdir)/sdk/template/local.mk
include $(srcdir)/sdk/check/local.mk
