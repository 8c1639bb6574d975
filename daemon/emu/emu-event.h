/* SPDX-License-Identifier: GPL-2.0-or-later */
/* emu-event.h - event sources the emulator creates disabled and arms when there is work. */
#pragma once

#include <stdint.h>
#include <systemd/sd-event.h>

/* A defer source that runs only once enabled (SD_EVENT_ONESHOT). */
static inline int emu_add_defer_off(sd_event *e, sd_event_source **ret, sd_event_handler_t cb,
				    void *userdata)
{
	int r = sd_event_add_defer(e, ret, cb, userdata);

	return r < 0 ? r : sd_event_source_set_enabled(*ret, SD_EVENT_OFF);
}

/* A CLOCK_MONOTONIC timer with no time yet; sd_event_source_set_time() and
 * enabling it arm it. */
static inline int emu_add_timer_off(sd_event *e, sd_event_source **ret,
				    sd_event_time_handler_t cb, void *userdata)
{
	int r = sd_event_add_time(e, ret, CLOCK_MONOTONIC, UINT64_MAX, 1000, cb, userdata);

	return r < 0 ? r : sd_event_source_set_enabled(*ret, SD_EVENT_OFF);
}

/* Arms a timer to fire once, usec from now (the loop's idea of now). */
static inline int emu_timer_arm_in(sd_event_source *s, uint64_t usec)
{
	uint64_t now;
	int r;

	r = sd_event_now(sd_event_source_get_event(s), CLOCK_MONOTONIC, &now);
	if (r < 0)
		return r;
	r = sd_event_source_set_time(s, now + usec);
	if (r < 0)
		return r;
	return sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
}
