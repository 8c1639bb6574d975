/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kvp-device.c - whole-message I/O on /dev/vmbus/hv_kvp. */
#include <fcntl.h>

#include "kvp-device.h"
#include "kvp-msg.h"
#include "util.h"

int kvp_device_open(const char *path, int *ret_fd)
{
	int fd = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY);

	if (fd < 0)
		return negative_errno();
	*ret_fd = fd;
	return 0;
}

int kvp_device_register(int fd)
{
	uint8_t msg[KVP_MSG_SIZE];
	int r = kvp_msg_build_register(msg, KVP_OP_REGISTER1, NULL);

	if (r < 0)
		return r;
	return kvp_device_write(fd, msg);
}

int kvp_device_read(int fd, uint8_t buf[KVP_MSG_SIZE])
{
	ssize_t n = read(fd, buf, KVP_MSG_SIZE);

	if (n < 0) {
		if (errno == EINTR || errno == EAGAIN)
			return -EAGAIN;
		return negative_errno();
	}
	/* the driver hands over exactly one message per read */
	if (n != KVP_MSG_SIZE)
		return -EIO;
	return 0;
}

int kvp_device_write(int fd, const uint8_t buf[KVP_MSG_SIZE])
{
	ssize_t n;

	do
		n = write(fd, buf, KVP_MSG_SIZE);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return negative_errno();
	/* a partial message is no message: the caller resets the device */
	if (n != KVP_MSG_SIZE)
		return -EIO;
	return 0;
}
