// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * hv_kvp_test.c - a test-only stand-in for the character device of the
 * Hyper-V KVP driver, for the QEMU system tests (tests/system/lib-qemu.sh).
 * Never built by the project's normal build; never load it on a real guest.
 *
 * What it maps to in the kernel (PROTOCOL.md section 2):
 *
 *   /dev/vmbus/hv_kvp   the misc device that hv_utils registers through
 *                       hv_utils_transport.c: same name ("vmbus/hv_kvp"),
 *                       dynamic minor, default node mode (0600 root), so
 *                       udev and systemd see exactly what they see on
 *                       Hyper-V (SUBSYSTEM=misc, KERNEL=vmbus/hv_kvp, the
 *                       device unit sys-devices-virtual-misc-vmbus\x21hv_kvp).
 *                       This file implements the transport's semantics:
 *                       one opener (a second open() gets EBUSY); read()
 *                       blocks until a message is queued and returns
 *                       exactly one whole message (EINVAL and the message
 *                       stays queued when the buffer is smaller); only one
 *                       kernel->daemon message can be pending (a second send
 *                       gets EFAULT, as hvutil_transport_send); poll() says
 *                       EPOLLIN while one is queued; close drops the unread
 *                       message and resets (the host learns of it, as
 *                       kvp_on_reset() does). Writes of any size other than
 *                       one struct hv_kvp_msg get EINVAL (the driver refuses
 *                       shorter ones; the daemons never write longer ones).
 *
 *   /dev/hvkvp_host     not in the kernel: the Hyper-V host and hv_kvp.c's
 *                       state machine live in user space, in hvkvp-emu
 *                       --kdev (daemon/emu/emu-kdev.c driving emu-host.c,
 *                       the code the FUSE emulator uses too). This device
 *                       relays the daemon's open, close, reads and writes
 *                       to it (struct hvkvp_host_frame, hvkvp_host.h) and
 *                       takes back the messages to queue for the daemon
 *                       and, for each write, the verdict write() returns:
 *                       the daemon's write() blocks until the host has
 *                       decided, as kvp_on_msg() decides synchronously in
 *                       the driver (the REGISTER1 handshake, EINVAL for an
 *                       incompatible daemon or a spurious reply). The
 *                       handshake reply, one transaction at a time and the
 *                       30 s deadline (HV_UTIL_TIMEOUT) are therefore the
 *                       host's, in emu-host.c.
 *
 * When no host has the relay open, a daemon's write() waits for one (up to
 * HVKVP_HOST_WAIT); a host that opens the relay first learns of the
 * daemon's current open and pending write. A host that closes the relay
 * fails a pending write with EIO.
 *
 * Written for this project from the behaviour PROTOCOL.md describes; no
 * code of the kernel's hv_utils_transport.c or hv_kvp.c is used.
 */
#include <linux/fs.h>
#include <linux/list.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/poll.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/wait.h>
#include <uapi/linux/hyperv.h>

#include "hvkvp_host.h"

#define HVKVP_HOST_WAIT (60 * HZ)
#define HVKVP_MAX_EVENTS 64

struct hvkvp_event {
	struct list_head node;
	struct hvkvp_host_frame f;
};

static DEFINE_MUTEX(lock);

/* the daemon's side */
static bool dev_open;
static u32 dev_gen;
static u8 outmsg[HVKVP_MSG_SIZE];
static size_t outmsg_len;
static DECLARE_WAIT_QUEUE_HEAD(dev_readq);

/* the one write() waiting for the host's verdict */
static DEFINE_MUTEX(write_lock);
static u8 write_msg[HVKVP_MSG_SIZE];
static bool write_pending, write_done;
static u32 write_seq;
static int write_result;
static DECLARE_WAIT_QUEUE_HEAD(write_q);

/* the host's side */
static bool host_open;
static LIST_HEAD(events);
static unsigned int nevents;
static DECLARE_WAIT_QUEUE_HEAD(host_readq);

/* Called with lock held. Drops the event when no host listens or the queue
 * is full (a host that does not read is broken; it resyncs by reopening). */
static void queue_event(u32 type, const void *msg, size_t len)
{
	struct hvkvp_event *ev;

	if (!host_open || nevents >= HVKVP_MAX_EVENTS)
		return;
	ev = kzalloc(sizeof(*ev), GFP_KERNEL);
	if (!ev)
		return;
	ev->f.type = type;
	ev->f.gen = dev_gen;
	ev->f.seq = write_seq;
	if (msg && len) {
		memcpy(ev->f.msg, msg, len);
		ev->f.len = len;
	}
	list_add_tail(&ev->node, &events);
	nevents++;
	wake_up_interruptible(&host_readq);
}

static void drop_events(void)
{
	struct hvkvp_event *ev, *tmp;

	list_for_each_entry_safe(ev, tmp, &events, node) {
		list_del(&ev->node);
		kfree(ev);
	}
	nevents = 0;
}

/* ---- /dev/vmbus/hv_kvp ------------------------------------------------- */

static int kvp_open(struct inode *inode, struct file *file)
{
	mutex_lock(&lock);
	if (dev_open) {
		mutex_unlock(&lock);
		return -EBUSY;
	}
	dev_open = true;
	dev_gen++;
	outmsg_len = 0;
	queue_event(HVKVP_EV_OPEN, NULL, 0);
	mutex_unlock(&lock);
	return 0;
}

static int kvp_release(struct inode *inode, struct file *file)
{
	mutex_lock(&lock);
	dev_open = false;
	outmsg_len = 0;
	queue_event(HVKVP_EV_RELEASE, NULL, 0);
	mutex_unlock(&lock);
	return 0;
}

static ssize_t kvp_read(struct file *file, char __user *buf, size_t count, loff_t *ppos)
{
	u8 *copy;
	size_t len;
	int ret;

	if (wait_event_interruptible(dev_readq, READ_ONCE(outmsg_len) > 0))
		return -EINTR;
	copy = kmalloc(HVKVP_MSG_SIZE, GFP_KERNEL);
	if (!copy)
		return -ENOMEM;
	mutex_lock(&lock);
	len = outmsg_len;
	if (len == 0) {
		ret = -EAGAIN;
	} else if (count < len) {
		ret = -EINVAL; /* the message stays queued */
	} else {
		memcpy(copy, outmsg, len);
		ret = 0;
	}
	mutex_unlock(&lock);
	if (ret)
		goto out;
	if (copy_to_user(buf, copy, len)) {
		ret = -EFAULT;
		goto out;
	}
	/* consumed only once the daemon has it */
	mutex_lock(&lock);
	outmsg_len = 0;
	queue_event(HVKVP_EV_READ, NULL, 0);
	mutex_unlock(&lock);
	ret = len;
out:
	kfree(copy);
	return ret;
}

static ssize_t kvp_write(struct file *file, const char __user *buf, size_t count, loff_t *ppos)
{
	long left;
	ssize_t ret;

	if (count != HVKVP_MSG_SIZE)
		return -EINVAL;
	if (mutex_lock_interruptible(&write_lock))
		return -EINTR;
	if (copy_from_user(write_msg, buf, count)) {
		ret = -EFAULT;
		goto out;
	}
	mutex_lock(&lock);
	write_seq++;
	write_pending = true;
	write_done = false;
	write_result = -EIO;
	queue_event(HVKVP_EV_WRITE, write_msg, count);
	mutex_unlock(&lock);

	left = wait_event_interruptible_timeout(write_q, READ_ONCE(write_done), HVKVP_HOST_WAIT);

	mutex_lock(&lock);
	if (write_done)
		ret = write_result < 0 ? write_result : (ssize_t)count;
	else if (left < 0)
		ret = -EINTR; /* not restarted: the host may have seen it */
	else
		ret = -EIO; /* no host answered */
	write_pending = false;
	mutex_unlock(&lock);
out:
	mutex_unlock(&write_lock);
	return ret;
}

static __poll_t kvp_poll(struct file *file, poll_table *wait)
{
	poll_wait(file, &dev_readq, wait);
	return READ_ONCE(outmsg_len) > 0 ? EPOLLIN | EPOLLRDNORM : 0;
}

static const struct file_operations kvp_fops = {
	.owner = THIS_MODULE,
	.open = kvp_open,
	.release = kvp_release,
	.read = kvp_read,
	.write = kvp_write,
	.poll = kvp_poll,
	.llseek = noop_llseek,
};

static struct miscdevice kvp_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "vmbus/hv_kvp",
	.fops = &kvp_fops,
};

/* ---- /dev/hvkvp_host ---------------------------------------------------- */

static int host_dev_open(struct inode *inode, struct file *file)
{
	mutex_lock(&lock);
	if (host_open) {
		mutex_unlock(&lock);
		return -EBUSY;
	}
	host_open = true;
	drop_events();
	/* what the new host must know: the daemon's open and pending write */
	if (dev_open)
		queue_event(HVKVP_EV_OPEN, NULL, 0);
	if (write_pending && !write_done)
		queue_event(HVKVP_EV_WRITE, write_msg, HVKVP_MSG_SIZE);
	mutex_unlock(&lock);
	return 0;
}

static int host_dev_release(struct inode *inode, struct file *file)
{
	mutex_lock(&lock);
	host_open = false;
	drop_events();
	if (write_pending && !write_done) {
		write_result = -EIO;
		write_done = true;
		wake_up_interruptible(&write_q);
	}
	mutex_unlock(&lock);
	return 0;
}

static ssize_t host_dev_read(struct file *file, char __user *buf, size_t count, loff_t *ppos)
{
	struct hvkvp_event *ev;
	int ret;

	if (count < sizeof(ev->f))
		return -EINVAL;
	for (;;) {
		mutex_lock(&lock);
		ev = list_first_entry_or_null(&events, struct hvkvp_event, node);
		if (ev) {
			list_del(&ev->node);
			nevents--;
		}
		mutex_unlock(&lock);
		if (ev)
			break;
		if (file->f_flags & O_NONBLOCK)
			return -EAGAIN;
		if (wait_event_interruptible(host_readq, !list_empty_careful(&events)))
			return -EINTR;
	}
	ret = copy_to_user(buf, &ev->f, sizeof(ev->f)) ? -EFAULT : (int)sizeof(ev->f);
	kfree(ev);
	return ret;
}

static ssize_t host_dev_write(struct file *file, const char __user *buf, size_t count,
			      loff_t *ppos)
{
	struct hvkvp_host_frame *f;
	ssize_t ret = count;

	if (count != sizeof(*f))
		return -EINVAL;
	f = memdup_user(buf, count);
	if (IS_ERR(f))
		return PTR_ERR(f);
	mutex_lock(&lock);
	switch (f->type) {
	case HVKVP_CMD_SEND:
		if (f->len == 0 || f->len > HVKVP_MSG_SIZE)
			ret = -EMSGSIZE;
		else if (!dev_open || f->gen != dev_gen)
			ret = -ENOTCONN;
		else if (outmsg_len > 0)
			ret = -EFAULT; /* as hvutil_transport_send with an unread message */
		else {
			memcpy(outmsg, f->msg, f->len);
			outmsg_len = f->len;
			wake_up_interruptible(&dev_readq);
		}
		break;
	case HVKVP_CMD_VERDICT:
		if (!write_pending || write_done || f->seq != write_seq) {
			ret = -ENOENT;
		} else {
			write_result = clamp_t(int, f->arg, -MAX_ERRNO, 0);
			write_done = true;
			wake_up_interruptible(&write_q);
		}
		break;
	default:
		ret = -EINVAL;
	}
	mutex_unlock(&lock);
	kfree(f);
	return ret;
}

static __poll_t host_dev_poll(struct file *file, poll_table *wait)
{
	poll_wait(file, &host_readq, wait);
	return list_empty_careful(&events) ? 0 : EPOLLIN | EPOLLRDNORM;
}

static const struct file_operations host_fops = {
	.owner = THIS_MODULE,
	.open = host_dev_open,
	.release = host_dev_release,
	.read = host_dev_read,
	.write = host_dev_write,
	.poll = host_dev_poll,
	.llseek = noop_llseek,
};

static struct miscdevice host_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "hvkvp_host",
	.fops = &host_fops,
};

static int __init hvkvp_test_init(void)
{
	int ret;

	BUILD_BUG_ON(sizeof(struct hv_kvp_msg) != HVKVP_MSG_SIZE);
	/* the host end first: a daemon started by udev for the KVP device
	 * finds it there */
	ret = misc_register(&host_dev);
	if (ret)
		return ret;
	ret = misc_register(&kvp_dev);
	if (ret)
		misc_deregister(&host_dev);
	return ret;
}

static void __exit hvkvp_test_exit(void)
{
	misc_deregister(&kvp_dev);
	misc_deregister(&host_dev);
	drop_events();
}

module_init(hvkvp_test_init);
module_exit(hvkvp_test_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("TEST ONLY: /dev/vmbus/hv_kvp relayed to a user-space Hyper-V host (hvkvp-emu)");
