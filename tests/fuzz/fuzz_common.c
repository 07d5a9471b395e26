/*
 * fuzz_common: paths, temporary directories and quiet logs for the targets.
 */
#include "fuzz_common.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

const char *fuzz_path(const char *rel)
{
	static char buf[8][4096];
	static unsigned next;
	const char *root = getenv("FUZZ_ROOT");
	char *out = buf[next++ % 8];
	snprintf(out, sizeof buf[0], "%s/%s", root && *root ? root : ".", rel);
	return out;
}

const char *fuzz_packs_dir(void)
{
	const char *d = getenv("FUZZ_PACKS");
	return d && *d ? d : fuzz_path("build-fuzz/packs");
}

void fuzz_die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("fuzz setup: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	_exit(2);
}

static char temp_dirs[4][512];
static int n_temp_dirs;

static void remove_temp_dirs(void)
{
	for (int i = 0; i < n_temp_dirs; i++) {
		char cmd[600];
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", temp_dirs[i]);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove '%s'\n", temp_dirs[i]);
	}
}

const char *fuzz_tempdir(const char *tag)
{
	if (n_temp_dirs == 4)
		fuzz_die("too many temporary directories");
	const char *tmp = getenv("TMPDIR");
	if (!(tmp && *tmp) && access("/dev/shm", W_OK) == 0)
		tmp = "/dev/shm";               /* the sandbox banks' SQLite files: no disk syncs */
	char *d = temp_dirs[n_temp_dirs];
	snprintf(d, sizeof temp_dirs[0], "%s/fuzz-%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", tag);
	if (!mkdtemp(d))
		fuzz_die("cannot create '%s': %s", d, strerror(errno));
	if (n_temp_dirs++ == 0)
		atexit(remove_temp_dirs);
	return d;
}

void fuzz_quiet_logs(void)
{
	const char *v = getenv("FUZZ_VERBOSE");
	if (!(v && *v == '1') && log_open("/dev/null") < 0)
		fuzz_die("cannot open '/dev/null' for the log");
}
