/*
 * load: a keep-alive load on editiond for the reload test.
 *
 *   load PORT SECONDS THREADS STABLE_TOKEN CANARY_TOKEN
 *
 * Each thread keeps one libcurl handle (its connection is reused) and cycles
 * through requests of every kind the packs answer: the index, a theme, an API
 * screen, API data of a customer on the stable version (whose answer must be
 * stable's) and of one on the canary (whose answer must be the canary's), an
 * H5 page. A failure is any status outside 200..399, a transport error, or an
 * answer from the wrong version. Prints "requests N failed N reused N".
 */
#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct probe {
	const char *path;
	int who;                    /* 0 anonymous, 1 stable customer, 2 canary customer */
	const char *must, *must_not;   /* substrings of the body, or NULL */
} probe;

static const probe probes[] = {
	{ "/", 0, NULL, NULL },
	{ "/mass/theme.css", 0, NULL, NULL },
	{ "/api/v1/mass/screens/home", 0, NULL, NULL },
	{ "/api/v1/mass/data/settings", 1, "\"tier\":\"mass\"", "gold-" },
	{ "/api/v1/mass/data/settings", 2, "\"tier\":\"gold-mass\"", NULL },
	{ "/api/v1/mass/data/security", 1, "\"devices\"", NULL },
	{ "/mass/settings", 1, NULL, NULL },
	{ "/api/v1/care/screens/home", 0, NULL, NULL },
};
#define N_PROBES (sizeof probes / sizeof probes[0])

static int port;
static double seconds;
static const char *tokens[3];
static atomic_long requests, failures, reused;

typedef struct body {
	char *buf;
	size_t len;
} body;

static size_t collect(char *p, size_t size, size_t n, void *ud)
{
	body *b = ud;
	char *grown = realloc(b->buf, b->len + size * n + 1);

	if (!grown)
		return 0;
	b->buf = grown;
	memcpy(b->buf + b->len, p, size * n);
	b->len += size * n;
	b->buf[b->len] = '\0';
	return size * n;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void fail(const probe *p, const char *what, long status, const char *text)
{
	long n = atomic_fetch_add(&failures, 1);

	if (n < 10)
		fprintf(stderr, "load: %s %s (status %ld): %.200s\n", p->path, what, status, text ? text : "");
}

static void one(CURL *c, const probe *p)
{
	char url[256], auth[160];
	struct curl_slist *h = NULL;
	body b = { NULL, 0 };
	long status = 0, conns = 0;
	CURLcode rc;

	snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, p->path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	if (p->who) {
		snprintf(auth, sizeof auth, "Authorization: Bearer %s", tokens[p->who]);
		h = curl_slist_append(h, auth);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	rc = curl_easy_perform(c);
	atomic_fetch_add(&requests, 1);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &conns);
	if (rc == CURLE_OK && conns == 0)
		atomic_fetch_add(&reused, 1);
	if (rc != CURLE_OK)
		fail(p, curl_easy_strerror(rc), status, NULL);
	else if (status < 200 || status > 399)
		fail(p, "bad status", status, b.buf);
	else if ((p->must && (!b.buf || !strstr(b.buf, p->must))) || (p->must_not && b.buf && strstr(b.buf, p->must_not)))
		fail(p, "answer from the wrong version", status, b.buf);
	curl_slist_free_all(h);
	free(b.buf);
}

static void *worker(void *arg)
{
	CURL *c = curl_easy_init();
	double end = now_s() + seconds;
	size_t i = (size_t)(long)arg;

	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	while (now_s() < end)
		one(c, &probes[i++ % N_PROBES]);
	curl_easy_cleanup(c);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t th[32];
	int n;

	if (argc != 6 || (port = atoi(argv[1])) <= 0 || (seconds = atof(argv[2])) <= 0 ||
	    (n = atoi(argv[3])) < 1 || n > 32) {
		fprintf(stderr, "usage: load PORT SECONDS THREADS STABLE_TOKEN CANARY_TOKEN\n");
		return 2;
	}
	tokens[1] = argv[4];
	tokens[2] = argv[5];
	curl_global_init(CURL_GLOBAL_DEFAULT);
	for (int i = 0; i < n; i++)
		pthread_create(&th[i], NULL, worker, (void *)(long)i);
	for (int i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	curl_global_cleanup();
	printf("requests %ld failed %ld reused %ld\n", atomic_load(&requests), atomic_load(&failures),
	       atomic_load(&reused));
	return atomic_load(&failures) ? 1 : 0;
}
