/*
 * stubdata: the data a flow sees in editiond, written out for the nginx side
 * of the flow benchmark.
 *
 *   stubdata PACKDIR DATADIR EDITION USERNAME [--time N]
 *
 * Loads the packs and the sandbox bank exactly as editiond does, logs the
 * customer in (password demo1234) and prints one JSON object to stdout:
 * {"ctx": ..., "profile": ..., "accounts": ..., "products": ...}, the
 * results of bank.profile(), bank.accounts() and bank.products() for that
 * customer in personal service, and a ctx with the fields editiond gives a
 * flow (edition, locale, segment, limits, fees, features, today,
 * customer_id, tier). bench/flow_stub.lua decodes these on every request,
 * so both servers run the flow's Lua on the same tables.
 *
 * With --time N it also calls each of the three operations N times through
 * bank_call, as a flow's bank.* call reaches it, and prints the CPU time per
 * call to stderr: what the sandbox bank costs a flow apart from Lua and HTTP.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bank.h"
#include "registry.h"

static json_t *call(bank *b, const bank_identity *who, const char *op, json_t *args)
{
	json_t *res = NULL;
	strbuf err = STRBUF_INIT;

	if (bank_call(b, who, op, args, &res, &err) != 0) {
		fprintf(stderr, "stubdata: bank.%s failed: %s\n", op, err.buf ? err.buf : "?");
		exit(1);
	}
	strbuf_release(&err);
	json_decref(args);
	return res;
}

static double cpu_us(void)
{
	struct timespec t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static void time_ops(bank *b, const bank_identity *who, const rt_edition *ed, int n)
{
	static const char *const ops[] = { "profile", "accounts", "products" };

	for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
		double t0 = cpu_us();
		for (int k = 0; k < n; k++) {
			json_t *args = json_array();
			if (!strcmp(ops[i], "products") && ed->products)
				json_array_append(args, ed->products);
			json_decref(call(b, who, ops[i], args));
		}
		fprintf(stderr, "bank.%s: %.2f us CPU per call (%d calls)\n", ops[i], (cpu_us() - t0) / n, n);
	}
}

static json_t *make_ctx(const rt_edition *ed, const bank_customer *c)
{
	json_t *meta = ed->meta;
	json_t *ctx = json_pack("{s:s, s:O?, s:O?, s:O?, s:O?, s:O?, s:I, s:s}", "edition", ed->id,
				"locale", json_object_get(meta, "locale"), "segment", json_object_get(meta, "segment"),
				"limits", json_object_get(meta, "limits"), "fees", json_object_get(meta, "fees"),
				"features", json_object_get(meta, "features"), "customer_id", (json_int_t)c->id,
				"tier", c->tier);
	char day[16];
	time_t now = time(NULL);
	strftime(day, sizeof day, "%Y-%m-%d", localtime(&now));
	json_object_set_new(ctx, "today", json_string(day));
	return ctx;
}

int main(int argc, char **argv)
{
	registry *reg;
	bank *b;
	bank_customer c;
	strbuf err = STRBUF_INIT;

	int timed = argc == 7 && !strcmp(argv[5], "--time") ? atoi(argv[6]) : 0;
	if (argc != 5 && timed <= 0) {
		fprintf(stderr, "usage: stubdata PACKDIR DATADIR EDITION USERNAME [--time N]\n");
		return 2;
	}
	if (registry_load(argv[1], NULL, &reg, &err) < 0 || bank_open(argv[2], &b, &err) < 0) {
		fprintf(stderr, "stubdata: %s\n", err.buf ? err.buf : "cannot load");
		return 1;
	}
	const rt_edition *ed = registry_find(reg, argv[3]);
	if (!ed || bank_authenticate(b, argv[4], "demo1234", &c) < 0) {
		fprintf(stderr, "stubdata: no edition '%s' or no customer '%s'\n", argv[3], argv[4]);
		return 1;
	}
	bank_identity who = { .customer_id = c.id };
	json_t *products = json_array();
	if (ed->products)
		json_array_append(products, ed->products);
	json_t *out = json_pack("{s:o, s:o, s:o, s:o}", "ctx", make_ctx(ed, &c),
				"profile", call(b, &who, "profile", json_array()),
				"accounts", call(b, &who, "accounts", json_array()),
				"products", call(b, &who, "products", products));
	json_dumpf(out, stdout, JSON_COMPACT);
	putchar('\n');
	json_decref(out);
	if (timed)
		time_ops(b, &who, ed, timed);
	bank_close(b);
	registry_release(reg);
	return 0;
}
