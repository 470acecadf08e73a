# Documentation: the operator tool's man page and the provider author guide.
dist_man_MANS += doc/msgsec.1
EXTRA_DIST += doc/provider-guide.md
# The AAnF emulator.
dist_man_MANS += doc/msgsec-aanf.1
# The SEAL key-management emulator.
dist_man_MANS += doc/msgsec-seal-km.1
# The akma provider.
dist_man_MANS += doc/msgsec-akma.7
# The seal-tlspsk provider.
dist_man_MANS += doc/msgsec-seal-tlspsk.7
