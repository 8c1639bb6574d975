/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sandbox.c - mends the one hole in the unit's file bind mounts: a file another program replaced by rename. */
#include <errno.h>
#include <stdlib.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-login.h>

#include "log.h"
#include "pid1.h"
#include "sandbox.h"
#include "util.h"

int sandbox_rebind_file(const char *path)
{
	sd_bus_error error = SD_BUS_ERROR_NULL;
	sd_bus *bus = NULL;
	char *unit = NULL;
	int r;

	if (sd_pid_get_unit(0, &unit) < 0 || !unit)
		return -EROFS;
	log_notice("%s was replaced after %s started (the file bind mount that made it writable is "
		   "gone); asking systemd to bind the new file into the sandbox",
		   path, unit);
	r = pid1_bus(&bus);
	if (r < 0) {
		log_warning_errno(r, "cannot reach systemd to bind %s again", path);
		goto out;
	}
	r = sd_bus_call_method(bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
			       "org.freedesktop.systemd1.Manager", "BindMountUnit", &error, NULL,
			       "sssbb", unit, path, path, 0, 0);
	if (r < 0)
		log_warning_errno(r, "systemd could not bind %s into %s again: %s", path, unit,
				  error.message ? error.message : "no reason given");
	else
		log_info("%s is writable again in %s's sandbox", path, unit);
out:
	sd_bus_error_free(&error);
	sd_bus_flush_close_unref(bus);
	free(unit);
	return r < 0 ? r : 0;
}
