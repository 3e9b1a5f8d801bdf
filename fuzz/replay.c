/* replay.c - a main() for a fuzz harness without libFuzzer: every file named
 * (or in every directory named) goes once through LLVMFuzzerTestOneInput(),
 * in name order. `make coverage` links it with each harness, built with gcc
 * --coverage, to replay the committed corpora (fuzz/corpus/NAME/). */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { INPUT_MAX = 1 << 20 }; /* libFuzzer's default -max_len is far less */

/* One file through the harness; 0, or -1 if it cannot be read. */
static int replay_file(const char *path)
{
	static uint8_t buf[INPUT_MAX];
	FILE *f = fopen(path, "rb");
	size_t n;

	if (!f) {
		fprintf(stderr, "replay: cannot read %s\n", path);
		return -1;
	}
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	/* An exact heap copy, as libFuzzer gives, so that a read past the
	 * end is a read past the allocation. */
	uint8_t *copy = malloc(n ? n : 1);
	if (!copy)
		return -1;
	memcpy(copy, buf, n);
	LLVMFuzzerTestOneInput(copy, n);
	free(copy);
	return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* Every regular file of @dir; how many failed to be read. */
static int replay_dir(const char *dir, unsigned *count)
{
	struct dirent **names;
	char path[4096];
	int n = scandir(dir, &names, NULL, by_name), errors = 0;
	struct stat st;

	if (n < 0)
		return 1;
	for (int i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			errors += replay_file(path) != 0;
			(*count)++;
		}
		free(names[i]);
	}
	free(names);
	return errors;
}

int main(int argc, char **argv)
{
	unsigned count = 0;
	int errors = 0;
	struct stat st;

	for (int i = 1; i < argc; i++) {
		if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
			errors += replay_dir(argv[i], &count);
		} else {
			errors += replay_file(argv[i]) != 0;
			count++;
		}
	}
	printf("%s: %u inputs replayed\n", argv[0], count);
	return errors ? 1 : 0;
}
