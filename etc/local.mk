# The shipped default policy and its manual page.
sysconf_DATA += etc/msgsec.conf
EXTRA_DIST += etc/msgsec.conf
dist_man_MANS += doc/msgsec.conf.5
