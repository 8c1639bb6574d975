/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz-util.h - what every fuzz target shares: CHECK(), a logic error that libFuzzer keeps as a finding. */
#pragma once

#include <stdio.h>
#include <stdlib.h>

#define CHECK(cond) do { if (!(cond)) { fprintf(stderr, "CHECK failed: %s at %s:%d\n", #cond, __FILE__, __LINE__); abort(); } } while (0)
