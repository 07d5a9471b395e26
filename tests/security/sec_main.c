/*
 * sectest: the security suite's attacks against a running editiond.
 *
 *   sectest PORT PACK_DIR REQUEST_TIMEOUT [GROUP...]
 *
 * GROUP is one of session csrf idor xss path smuggling size slow lockout
 * lockout-ip (default: all but lockout-ip, lockout last since it locks this
 * address for some names; lockout-ip locks the whole address and wants a
 * server of its own). Prints one line per attack and "N passed, N failed".
 */
#include "sec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sec_lockout_ip_attacks(void);

static int wanted(int argc, char **argv, const char *group)
{
	if (argc <= 4)
		return strcmp(group, "lockout-ip") != 0;
	for (int i = 4; i < argc; i++)
		if (!strcmp(argv[i], group))
			return 1;
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: sectest PORT PACK_DIR REQUEST_TIMEOUT [GROUP...]\n");
		return 2;
	}
	sec_port = atoi(argv[1]);
	snprintf(sec_base, sizeof sec_base, "http://127.0.0.1:%d", sec_port);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (wanted(argc, argv, "session"))
		sec_session_attacks();
	if (wanted(argc, argv, "csrf"))
		sec_csrf_attacks();
	if (wanted(argc, argv, "idor"))
		sec_idor_attacks(argv[2]);
	if (wanted(argc, argv, "xss"))
		sec_xss_attacks(argv[2]);
	if (wanted(argc, argv, "path"))
		sec_path_attacks();
	if (wanted(argc, argv, "smuggling"))
		sec_smuggling_attacks();
	if (wanted(argc, argv, "size"))
		sec_size_attacks();
	if (wanted(argc, argv, "slow"))
		sec_slow_attacks(atof(argv[3]));
	if (wanted(argc, argv, "lockout"))
		sec_lockout_attacks();
	if (wanted(argc, argv, "lockout-ip"))
		sec_lockout_ip_attacks();
	curl_global_cleanup();
	sec_summary();
	return sec_failed() != 0;
}
