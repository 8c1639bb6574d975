/* SPDX-License-Identifier: GPL-2.0-or-later */
/* backend-nm.c - placeholder: the NetworkManager backend module claims no link yet. */
#include "backend.h"

static int nm_probe(struct backend *b, const struct adapter *a)
{
	return 0;
}

const struct backend_ops backend_nm_ops = {
	.name = "networkmanager",
	.probe = nm_probe,
};
