/* SPDX-License-Identifier: GPL-2.0-or-later */
/* emu-ctl.h - hvkvp-emu's control socket: the server that plays the host, and the `ctl` client. */
#pragma once

#include <stdio.h>
#include <systemd/sd-event.h>

#include "emu-host.h"

/*
 * Wire protocol (AF_UNIX, SOCK_SEQPACKET), one command per connection:
 *   client -> server  one packet: the arguments, each terminated by a NUL
 *                     ("[--wait SEC] COMMAND [OPTIONS...]")
 *   server -> client  one packet holding the client's exit status in ASCII
 *                     ("0" the command ran, "1" it could not complete,
 *                     "2" usage error), then the JSON document in packets of
 *                     at most 32 KiB, then the server closes the connection.
 */

/* Largest request packet: a few thousand bytes of arguments is the most any
 * command needs; the limit only keeps a confused client from costing memory. */
#define EMU_CTL_MAX_REQUEST (256 * 1024)
/* Largest answer packet. */
#define EMU_CTL_CHUNK (32 * 1024)

/* Client exit statuses. */
#define EMU_CTL_OK 0
#define EMU_CTL_FAILED 1
#define EMU_CTL_USAGE 2
/* `ctl --expect CODE`: the daemon answered another code */
#define EMU_CTL_UNEXPECTED 3

/* Default for --wait: how long a request may wait for a daemon and its reply. */
#define EMU_CTL_DEFAULT_WAIT_SEC 60

struct emu_ctl_server;

int emu_ctl_server_new(sd_event *event, const char *path, struct emu_host *host,
		       struct emu_ctl_server **ret);
/* Sends what is still pending (best effort), closes every connection and
 * removes the socket file. Accepts NULL. */
struct emu_ctl_server *emu_ctl_server_free(struct emu_ctl_server *s);

/* `hvkvp-emu ctl --control SOCKET [--wait SEC] COMMAND ...`; argv[0] is
 * "ctl". Returns the process exit status. */
int emu_ctl_client_main(int argc, char **argv);

/* The command reference, for --help. */
void emu_ctl_print_commands(FILE *f);
