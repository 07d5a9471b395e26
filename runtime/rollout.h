/*
 * rollout: which version of each edition a customer is served (gray release).
 *
 * The rollout file is JSON (docs/operations.md, "Gray release, dual run and
 * reload"):
 *
 *   {"editions": {"mass": {"stable": "7.0.0", "canary": "7.1.0",
 *                          "whitelist": ["zhangwei", 1001], "percent": 10,
 *                          "compare": true},
 *                 "care": {"stable": "7.0.0"}}}
 *
 * A customer gets the canary when named in the whitelist (user name or
 * customer id) or when their bucket, a hash of edition and customer id in
 * 0..9999, is below percent x 100: deterministic, so the same customer always
 * gets the same answer, and independent between editions. A rollout is
 * immutable once parsed and lives inside the pack set it was checked against.
 */
#ifndef ROLLOUT_H
#define ROLLOUT_H

#include <jansson.h>

#include "registry.h"
#include "strbuf.h"

typedef struct rollout rollout;

/* Parses and checks the file on its own. 0 and *out (free with rollout_free), or -1 with the reason. */
int rollout_load(const char *path, rollout **out, strbuf *err);
/* The same from text (tests); name is used in messages. */
int rollout_parse(const char *text, size_t len, const char *name, rollout **out, strbuf *err);
void rollout_free(rollout *ro);

/* The edition's entry: stable version (NULL when the edition is not listed), canary (NULL when none). */
const char *rollout_stable(const rollout *ro, const char *edition);
const char *rollout_canary(const rollout *ro, const char *edition);
int rollout_compare(const rollout *ro, const char *edition);   /* compare: true and a canary */
int rollout_has_edition(const rollout *ro, const char *edition);
size_t rollout_count(const rollout *ro);
const char *rollout_edition_at(const rollout *ro, size_t i);  /* sorted by id */

/* The customer's bucket for an edition, 0..9999. */
unsigned rollout_bucket(const char *edition, long long customer_id);
/* 1 when this customer is to get the edition's canary (whitelist or bucket), 0 otherwise. */
int rollout_wants_canary(const rollout *ro, const char *edition, long long customer_id,
			 const char *username);

/* The entry as JSON for GET /admin/rollout (new reference): stable, canary, percent, whitelist size, compare. */
json_t *rollout_entry_json(const rollout *ro, const char *edition);

#endif
