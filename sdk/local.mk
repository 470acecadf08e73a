# The provider SDK: the ABI header, helper library, template and
# conformance kit.
msgsecinclude_HEADERS += sdk/include/msgsec/provider.h
include $(srcdir)/sdk/lib/local.mk
include $(srcdir)/sdk/template/local.mk
include $(srcdir)/sdk/check/local.mk
