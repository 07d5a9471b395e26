/*
 * fuzz_common: what the fuzz targets share.
 *
 * Every target is a libFuzzer target (LLVMFuzzerInitialize once, then
 * LLVMFuzzerTestOneInput per input). The same files link either with clang's
 * -fsanitize=fuzzer (tests/fuzz/run.sh) or with gcc and regress_main.c, a tiny
 * main that feeds files (tests/fuzz/regress.sh, run by `make check`).
 *
 * Targets find their inputs through the environment, set by the scripts:
 *   FUZZ_ROOT   the repository (default: the working directory)
 *   FUZZ_PACKS  a directory of real packs (default: build-fuzz/packs)
 */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* FUZZ_ROOT + "/" + rel, in a static buffer of the caller's (one per call site is enough). */
const char *fuzz_path(const char *rel);
const char *fuzz_packs_dir(void);
/* Stops with a message: a setup failure is not a finding, but must not pass silently. */
void fuzz_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* A fresh private directory under TMPDIR, removed at exit. */
const char *fuzz_tempdir(const char *tag);
/* Sends the server's own log lines to /dev/null (FUZZ_VERBOSE=1 keeps them). */
void fuzz_quiet_logs(void);

#endif
