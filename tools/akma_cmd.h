/*
 * akma_cmd.h - the "msgsec akma" command group. Its sub-commands are listed
 * in the table in akma_cmd.c; a sub-command written in another file
 * declares its usage text and run function here.
 */
#ifndef MSGSEC_AKMA_CMD_H
#define MSGSEC_AKMA_CMD_H

#include "cli.h"

/* The group's entry in the top-level table. */
extern const char msgsec_akma_usage[];
int msgsec_cmd_akma(const msgsec_cli_command *cmd, int argc, char **argv);

/* akma derive */
extern const char msgsec_akma_derive_usage[];
int msgsec_cmd_akma_derive(const msgsec_cli_command *cmd, int argc,
                           char **argv);

/* akma register */
extern const char msgsec_akma_register_usage[];
int msgsec_cmd_akma_register(const msgsec_cli_command *cmd, int argc,
                             char **argv);

#endif /* MSGSEC_AKMA_CMD_H */
