/*
 * rollout: the parsed rollout file and the per-customer choice.
 *
 * The file is read with jansson (duplicate keys refused) and checked whole:
 * unknown keys, a missing stable version, a canary equal to stable, a
 * whitelist or percentage or compare without a canary, a percentage outside
 * 0..100 are all refused with the edition and the field named. Whether the
 * versions are loaded is the pack set's check (registry.c), made before the
 * set is swapped in.
 *
 * The bucket is the first 8 bytes of BLAKE2b("<edition>\n<customer id>") modulo
 * 10000; percent is kept in hundredths (basis points), so 2.5% is exact.
 */
#include "rollout.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_WHITELIST 100000
#define ROLLOUT_MAX_BYTES (4u << 20)

typedef struct entry {
	const char *id, *stable, *canary;   /* point into root */
	unsigned percent_bp;                /* 0..10000 */
	int compare;
	json_t *whitelist;                  /* object used as a set: "zhangwei", "1001" */
} entry;

struct rollout {
	json_t *root;
	entry *entries;
	size_t n;
};

static const char *const ENTRY_KEYS[] = { "stable", "canary", "whitelist", "percent", "compare" };

static int known_key(const char *key)
{
	for (size_t i = 0; i < sizeof ENTRY_KEYS / sizeof ENTRY_KEYS[0]; i++)
		if (!strcmp(key, ENTRY_KEYS[i]))
			return 1;
	return 0;
}

static int parse_whitelist(entry *e, json_t *wl, const char *name, strbuf *err)
{
	size_t i;
	json_t *v;
	char buf[32];

	e->whitelist = json_object();
	if (!wl)
		return 0;
	if (!json_is_array(wl) || json_array_size(wl) > MAX_WHITELIST) {
		strbuf_addf(err, "'%s': edition '%s': whitelist must be a list of at most %d user names or customer ids",
			    name, e->id, MAX_WHITELIST);
		return -1;
	}
	json_array_foreach(wl, i, v) {
		if (json_is_integer(v) && json_integer_value(v) > 0) {
			snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
			json_object_set_new(e->whitelist, buf, json_true());
		} else if (json_is_string(v) && json_string_length(v) > 0 && json_string_length(v) < 32) {
			json_object_set_new(e->whitelist, json_string_value(v), json_true());
		} else {
			strbuf_addf(err, "'%s': edition '%s': whitelist entry %zu is not a user name or customer id",
				    name, e->id, i);
			return -1;
		}
	}
	return 0;
}

static int parse_percent(entry *e, json_t *pc, const char *name, strbuf *err)
{
	double p;

	if (!pc)
		return 0;
	p = json_is_number(pc) ? json_number_value(pc) : -1;
	if (!(p >= 0 && p <= 100)) {
		strbuf_addf(err, "'%s': edition '%s': percent must be a number from 0 to 100", name, e->id);
		return -1;
	}
	e->percent_bp = (unsigned)(p * 100 + 0.5);
	return 0;
}

static int version_ok(json_t *v)
{
	return json_is_string(v) && json_string_length(v) > 0 && json_string_length(v) < 16;
}

static int parse_entry(entry *e, json_t *o, const char *name, strbuf *err)
{
	const char *key;
	json_t *v, *cmp;

	if (!json_is_object(o)) {
		strbuf_addf(err, "'%s': edition '%s' is not an object", name, e->id);
		return -1;
	}
	json_object_foreach(o, key, v)
		if (!known_key(key)) {
			strbuf_addf(err, "'%s': edition '%s': unknown field '%s'", name, e->id, key);
			return -1;
		}
	if (!version_ok(json_object_get(o, "stable"))) {
		strbuf_addf(err, "'%s': edition '%s': 'stable' must name a version", name, e->id);
		return -1;
	}
	e->stable = json_string_value(json_object_get(o, "stable"));
	v = json_object_get(o, "canary");
	if (v && !json_is_null(v) && !version_ok(v)) {
		strbuf_addf(err, "'%s': edition '%s': 'canary' must name a version or be null", name, e->id);
		return -1;
	}
	e->canary = json_string_value(v);
	if (e->canary && !strcmp(e->canary, e->stable)) {
		strbuf_addf(err, "'%s': edition '%s': canary and stable are both '%s'", name, e->id, e->stable);
		return -1;
	}
	cmp = json_object_get(o, "compare");
	if (cmp && !json_is_boolean(cmp)) {
		strbuf_addf(err, "'%s': edition '%s': 'compare' must be true or false", name, e->id);
		return -1;
	}
	e->compare = json_is_true(cmp);
	if (parse_whitelist(e, json_object_get(o, "whitelist"), name, err) < 0 ||
	    parse_percent(e, json_object_get(o, "percent"), name, err) < 0)
		return -1;
	if (!e->canary && (e->compare || e->percent_bp || json_object_size(e->whitelist))) {
		strbuf_addf(err, "'%s': edition '%s': whitelist, percent and compare need a canary", name, e->id);
		return -1;
	}
	return 0;
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const entry *)a)->id, ((const entry *)b)->id);
}

static int parse_root(rollout *ro, const char *name, strbuf *err)
{
	json_t *eds = json_object_get(ro->root, "editions"), *v;
	const char *key;
	size_t i = 0;

	if (!json_is_object(ro->root) || json_object_size(ro->root) != 1 || !json_is_object(eds)) {
		strbuf_addf(err, "'%s': want one object {\"editions\": {...}}", name);
		return -1;
	}
	ro->n = json_object_size(eds);
	ro->entries = xcalloc(ro->n ? ro->n : 1, sizeof *ro->entries);
	json_object_foreach(eds, key, v) {
		entry *e = &ro->entries[i++];
		e->id = key;
		if (!*key || strlen(key) >= 32) {
			strbuf_addf(err, "'%s': bad edition id '%s'", name, key);
			return -1;
		}
		if (parse_entry(e, v, name, err) < 0)
			return -1;
	}
	qsort(ro->entries, ro->n, sizeof *ro->entries, cmp_entry);
	return 0;
}

int rollout_parse(const char *text, size_t len, const char *name, rollout **out, strbuf *err)
{
	rollout *ro = xcalloc(1, sizeof *ro);
	json_error_t je;

	*out = NULL;
	ro->root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!ro->root) {
		strbuf_addf(err, "'%s': line %d: %s", name, je.line, je.text);
		rollout_free(ro);
		return -1;
	}
	if (parse_root(ro, name, err) < 0) {
		rollout_free(ro);
		return -1;
	}
	*out = ro;
	return 0;
}

int rollout_load(const char *path, rollout **out, strbuf *err)
{
	strbuf text = STRBUF_INIT;
	int rc;

	*out = NULL;
	if (strbuf_read_file(&text, path, ROLLOUT_MAX_BYTES) < 0) {
		strbuf_addf(err, "cannot read rollout file '%s': %s", path, strerror(errno));
		strbuf_release(&text);
		return -1;
	}
	rc = rollout_parse(text.buf, text.len, path, out, err);
	strbuf_release(&text);
	return rc;
}

void rollout_free(rollout *ro)
{
	if (!ro)
		return;
	for (size_t i = 0; i < ro->n; i++)
		json_decref(ro->entries[i].whitelist);
	free(ro->entries);
	json_decref(ro->root);
	free(ro);
}

/* --- lookups -------------------------------------------------------------------- */

static const entry *find(const rollout *ro, const char *edition)
{
	entry key = { .id = edition };

	if (!ro || !edition)
		return NULL;
	return bsearch(&key, ro->entries, ro->n, sizeof *ro->entries, cmp_entry);
}

const char *rollout_stable(const rollout *ro, const char *edition)
{
	const entry *e = find(ro, edition);

	return e ? e->stable : NULL;
}

const char *rollout_canary(const rollout *ro, const char *edition)
{
	const entry *e = find(ro, edition);

	return e ? e->canary : NULL;
}

int rollout_compare(const rollout *ro, const char *edition)
{
	const entry *e = find(ro, edition);

	return e && e->canary && e->compare;
}

int rollout_has_edition(const rollout *ro, const char *edition)
{
	return find(ro, edition) != NULL;
}

size_t rollout_count(const rollout *ro)
{
	return ro ? ro->n : 0;
}

const char *rollout_edition_at(const rollout *ro, size_t i)
{
	return ro && i < ro->n ? ro->entries[i].id : NULL;
}

unsigned rollout_bucket(const char *edition, long long customer_id)
{
	unsigned char h[8];
	char text[96];
	int n = snprintf(text, sizeof text, "%s\n%lld", edition ? edition : "", customer_id);
	unsigned long long v = 0;

	crypto_generichash(h, sizeof h, (const unsigned char *)text, (size_t)n, NULL, 0);
	for (size_t i = 0; i < sizeof h; i++)
		v = v << 8 | h[i];
	return (unsigned)(v % 10000);
}

int rollout_wants_canary(const rollout *ro, const char *edition, long long customer_id,
			 const char *username)
{
	const entry *e = find(ro, edition);
	char id[32];

	if (!e || !e->canary || customer_id <= 0)
		return 0;
	snprintf(id, sizeof id, "%lld", customer_id);
	if (json_object_get(e->whitelist, id) || (username && *username && json_object_get(e->whitelist, username)))
		return 1;
	return rollout_bucket(edition, customer_id) < e->percent_bp;
}

json_t *rollout_entry_json(const rollout *ro, const char *edition)
{
	const entry *e = find(ro, edition);

	if (!e)
		return json_null();
	return json_pack("{s:s, s:s?, s:f, s:I, s:b}", "stable", e->stable, "canary", e->canary,
			 "percent", e->percent_bp / 100.0, "whitelist_size",
			 (json_int_t)json_object_size(e->whitelist), "compare", e->compare);
}
