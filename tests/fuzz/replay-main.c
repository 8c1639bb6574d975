/* SPDX-License-Identifier: GPL-2.0-or-later */
/* replay-main.c - main() for fuzz targets without libFuzzer: replays files and corpus dirs. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Optional in a target, as with libFuzzer; weak so targets need not define it. */
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static unsigned long replayed;

/* Exact-size heap copy, like libFuzzer's, so ASan/valgrind catch over-reads. */
static int replay_file(const char *path)
{
	struct stat st;
	uint8_t *data;
	size_t done = 0;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	data = malloc(st.st_size > 0 ? (size_t)st.st_size : 1);
	if (!data) {
		fprintf(stderr, "%s: out of memory\n", path);
		close(fd);
		return -1;
	}
	while (done < (size_t)st.st_size) {
		ssize_t n = read(fd, data + done, (size_t)st.st_size - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "%s: short read\n", path);
			free(data);
			close(fd);
			return -1;
		}
		done += (size_t)n;
	}
	close(fd);
	LLVMFuzzerTestOneInput(data, done);
	free(data);
	replayed++;
	return 0;
}

/* Hidden files (.gitkeep, editor droppings) are not inputs. */
static int visible(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

static int replay_path(const char *path)
{
	struct dirent **names;
	struct stat st;
	int n, r = 0;

	if (stat(path, &st) < 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return replay_file(path);

	/* Sorted, so a crash reproduces in the same order every time. */
	n = scandir(path, &names, visible, alphasort);
	if (n < 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	for (int i = 0; i < n; i++) {
		char *child;

		if (asprintf(&child, "%s/%s", path, names[i]->d_name) < 0) {
			r = -1;
		} else {
			if (replay_path(child) < 0)
				r = -1;
			free(child);
		}
		free(names[i]);
	}
	free(names);
	return r;
}

int main(int argc, char **argv)
{
	int failed = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
		return 2;
	}
	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++)
		if (replay_path(argv[i]) < 0)
			failed = 1;
	printf("replayed %lu inputs\n", replayed);
	/* Nothing replayed proves nothing; say so instead of passing. */
	if (replayed == 0) {
		fprintf(stderr, "%s: no inputs found\n", argv[0]);
		return 1;
	}
	return failed ? 1 : 0;
}
