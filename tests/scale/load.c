/*
 * load: logged-in customers' requests spread over several editiond addresses
 * (instances directly and through nginx) for a bounded time, every answer
 * checked. Used by tests/scale/run.sh while Redis is killed and restarted.
 *
 *   load SECONDS TOKENS_FILE BASE_URL...
 *
 * TOKENS_FILE has one "TOKEN EDITION" per line. Request i goes to base
 * i % n_bases for customer (i / n_bases) % n_tokens, so every customer is
 * seen by every address in turn: GET /api/v1/EDITION/data/home with the
 * bearer token, which answers 200 only to a logged-in customer. Prints
 * "requests N failed F" (and the first failures) and exits 1 when any request
 * failed, 2 on bad usage.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_TOKENS 64
#define MAX_BASES 8

typedef struct customer {
	char token[80];
	char edition[64];
} customer;

static size_t discard(char *p, size_t size, size_t n, void *cls)
{
	(void)p;
	(void)cls;
	return size * n;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int read_tokens(const char *path, customer *out, int max)
{
	FILE *fp = fopen(path, "r");
	int n = 0;

	if (!fp) {
		fprintf(stderr, "load: cannot open '%s'\n", path);
		return -1;
	}
	while (n < max && fscanf(fp, "%79s %63s", out[n].token, out[n].edition) == 2)
		n++;
	fclose(fp);
	if (n == 0)
		fprintf(stderr, "load: no tokens in '%s'\n", path);
	return n ? n : -1;
}

/* One request; the HTTP status, or 0 when there was no answer. */
static long request(CURL *h, const char *base, const customer *c)
{
	char url[512], auth[128];
	struct curl_slist *hdrs;
	long status = 0;

	snprintf(url, sizeof url, "%s/api/v1/%s/data/home", base, c->edition);
	snprintf(auth, sizeof auth, "Authorization: Bearer %s", c->token);
	hdrs = curl_slist_append(NULL, auth);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	if (curl_easy_perform(h) == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(hdrs);
	return status;
}

int main(int argc, char **argv)
{
	customer customers[MAX_TOKENS];
	CURL *handles[MAX_BASES];
	int n_tok, n_bases = argc - 3;
	long requests = 0, failed = 0;
	double seconds, start;

	if (argc < 4 || n_bases > MAX_BASES || (seconds = atof(argv[1])) <= 0 || seconds > 300) {
		fprintf(stderr, "usage: load SECONDS TOKENS_FILE BASE_URL... (at most %d)\n", MAX_BASES);
		return 2;
	}
	if ((n_tok = read_tokens(argv[2], customers, MAX_TOKENS)) < 0)
		return 2;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	for (int i = 0; i < n_bases; i++)
		handles[i] = curl_easy_init();   /* one per address: its connection stays open */
	start = now_s();
	for (long i = 0; now_s() - start < seconds; i++) {
		int b = (int)(i % n_bases);
		const customer *c = &customers[(i / n_bases) % n_tok];
		long status = request(handles[b], argv[3 + b], c);
		requests++;
		if (status != 200 && ++failed <= 10)
			fprintf(stderr, "load: %.2f s: %s for %.8s... (%s): %s\n", now_s() - start, argv[3 + b],
				c->token, c->edition, status ? (status == 401 ? "401, logged out" : "error status")
				: "no answer");
		if (status != 200 && failed <= 10)
			fprintf(stderr, "load:   status %ld\n", status);
	}
	for (int i = 0; i < n_bases; i++)
		curl_easy_cleanup(handles[i]);
	curl_global_cleanup();
	printf("requests %ld failed %ld\n", requests, failed);
	return failed ? 1 : 0;
}
