/*
 * regress_main: the libFuzzer calling convention without libFuzzer, so a
 * target built with gcc (ASan + UBSan) replays committed inputs in `make check`.
 *
 *   fuzz_x-regress FILE...     every file once through LLVMFuzzerTestOneInput
 *
 * A sanitizer report aborts the process; a clean run prints one line per file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"

static unsigned char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 4096, n = 0;
	unsigned char *buf = malloc(cap);
	size_t got;
	while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
		n += got;
		if (n == cap) {
			unsigned char *bigger = realloc(buf, cap *= 2);
			if (!bigger)
				free(buf);
			buf = bigger;
		}
	}
	fclose(f);
	*len = n;
	return buf;
}

int main(int argc, char **argv)
{
	LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++) {
		size_t len = 0;
		unsigned char *data = read_all(argv[i], &len);
		if (!data) {
			fprintf(stderr, "cannot read '%s'\n", argv[i]);
			return 2;
		}
		/* an exact-size copy, so ASan sees reads past the input's end */
		unsigned char *exact = malloc(len ? len : 1);
		memcpy(exact, data, len);
		free(data);
		LLVMFuzzerTestOneInput(exact, len);
		free(exact);
		printf("ok %s\n", argv[i]);
		fflush(stdout);             /* the script counts these lines, also after a crash */
	}
	return 0;
}
