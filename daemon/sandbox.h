/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sandbox.h - mends the one hole in the unit's file bind mounts: a file another program replaced by rename. */
#pragma once

/*
 * hvkvpd.service makes the whole file system read-only but for a few files
 * and directories (ReadWritePaths=). A single file, /etc/resolv.conf, is made
 * writable by a bind mount of that file onto itself in the daemon's mount
 * namespace. When another program then replaces the file by rename
 * (NetworkManager, dhclient-script, "mv"), the kernel drops the bind mount
 * with the old file, and the daemon sees the new file on the read-only /etc:
 * every write fails with EROFS until the daemon restarts.
 *
 * sandbox_rebind_file() asks the service manager to bind the file as it now
 * is into the daemon's namespace again (org.freedesktop.systemd1.Manager.
 * BindMountUnit, systemd >= 248: "systemctl bind"), which keeps /etc itself
 * read-only. It talks to PID 1 on its private socket, so it works before
 * dbus.service runs. Returns 0 when the file is writable again; -EROFS when
 * the daemon does not run in a systemd service (nothing to mend); or the
 * bus call's error (logged).
 */
int sandbox_rebind_file(const char *path);
