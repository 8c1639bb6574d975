/* SPDX-License-Identifier: GPL-2.0-or-later */
/* pid1.c - what the daemon asks the service manager: its private bus, units still starting. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>

#include "backend.h"
#include "log.h"
#include "pid1.h"
#include "util.h"

#define SYSTEMD_PRIVATE_BUS "unix:path=/run/systemd/private"
#define POLL_USEC (100 * 1000ULL)

const char *const pid1_network_units[] = {
	"NetworkManager.service",
	"systemd-networkd.service",
	"networking.service",
	/* networkd runs before the system bus does, and is driven (and found
	 * managing a link) only through it: a networkd without its bus name
	 * looks like no manager at all */
	"dbus.service",
	NULL,
};

int pid1_bus(sd_bus **ret)
{
	sd_bus *bus = NULL;
	int r;

	r = sd_bus_new(&bus);
	if (r < 0)
		return r;
	r = sd_bus_set_address(bus, SYSTEMD_PRIVATE_BUS);
	if (r >= 0)
		r = sd_bus_start(bus);
	if (r < 0) {
		sd_bus_unref(bus);
		bus = NULL;
		r = sd_bus_open_system(&bus);
		if (r < 0)
			return r;
	}
	(void)sd_bus_set_method_call_timeout(bus, BUS_CALL_TIMEOUT_USEC);
	*ret = bus;
	return 0;
}

/* 1 when the unit is activating or has a start job queued, 0 when not (or
 * not loaded), < 0 on bus errors. */
static int unit_starting(sd_bus *bus, const char *unit)
{
	sd_bus_error error = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL, *job = NULL;
	const char *path, *job_path;
	char *state = NULL;
	uint32_t job_id = 0;
	int r;

	r = sd_bus_call_method(bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
			       "org.freedesktop.systemd1.Manager", "GetUnit", &error, &reply, "s", unit);
	if (r < 0) {
		/* NoSuchUnit: not loaded, so nothing will start it */
		r = sd_bus_error_has_name(&error, "org.freedesktop.systemd1.NoSuchUnit") ? 0 : r;
		goto out;
	}
	r = sd_bus_message_read(reply, "o", &path);
	if (r < 0)
		goto out;
	r = sd_bus_get_property_string(bus, "org.freedesktop.systemd1", path,
				       "org.freedesktop.systemd1.Unit", "ActiveState", &error, &state);
	if (r < 0)
		goto out;
	if (streq(state, "activating") || streq(state, "reloading")) {
		r = 1;
		goto out;
	}
	/* `path` points into `reply`: kept until here */
	r = sd_bus_get_property(bus, "org.freedesktop.systemd1", path, "org.freedesktop.systemd1.Unit",
				"Job", &error, &job, "(uo)");
	if (r >= 0)
		r = sd_bus_message_read(job, "(uo)", &job_id, &job_path);
	/* a queued job on an inactive unit is a start (a stop job would be
	 * for an active one) */
	if (r >= 0)
		r = job_id != 0 && streq(state, "inactive");
out:
	sd_bus_error_free(&error);
	sd_bus_message_unref(reply);
	sd_bus_message_unref(job);
	free(state);
	return r;
}

int64_t pid1_wait_starting(const char *const *units, uint64_t deadline)
{
	uint64_t start = now_usec();
	const char *waiting = NULL;
	sd_bus *bus = NULL;
	int r;

	r = pid1_bus(&bus);
	if (r < 0)
		/* not booted with systemd: nothing to wait for, nothing to say */
		return log_full(sd_booted() > 0 ? LOG_NOTICE : LOG_DEBUG, r,
				NULL, "cannot reach systemd to ask whether a network manager is still starting; going on without waiting: %s",
				strerror(-r));
	for (const char *said = NULL;;) {
		waiting = NULL;
		for (const char *const *u = units; *u; u++) {
			r = unit_starting(bus, *u);
			if (r < 0) {
				/* going on unordered is what the wait is there to
				 * prevent: worth a line at the default level */
				log_notice_errno(r, "cannot ask systemd whether %s is still starting; going on without waiting: %s",
						 *u, strerror(-r));
				goto out;
			}
			if (r > 0) {
				waiting = *u;
				break;
			}
		}
		if (!waiting || now_usec() + POLL_USEC >= deadline)
			break;
		if (waiting != said)
			log_info("%s is still starting; waiting for it before changing the link", waiting);
		said = waiting;
		usleep((useconds_t)POLL_USEC);
	}
	r = 0;
out:
	sd_bus_flush_close_unref(bus);
	if (r < 0)
		return r;
	if (waiting)
		log_notice("%s is still starting; going on without waiting longer", waiting);
	return (int64_t)(now_usec() - start);
}
