/*
 * fuzz_params: request bodies into flow params (flow_check_params).
 *
 * The real packs of build-fuzz/packs are loaded once and every distinct
 * "params" list of every flow spec of every edition is kept. Per input: the
 * bytes parsed with json_loadb, as the JSON API does, are checked against each
 * list; then the same object with every scalar turned into text, as a form
 * sends it ("123.45", "true"), is checked again. Beyond "no crash" the result
 * is held to its contract: a refusal carries a reason naming the problem and no
 * object; an accepted object holds only declared fields, every required one,
 * numbers as integers inside their declared min and max, booleans as booleans
 * and everything else as text.
 */
#include <stdlib.h>
#include <string.h>

#include "flow.h"
#include "fuzz_common.h"
#include "registry.h"

static json_t *spec_lists;      /* array of distinct "params" arrays */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	registry *r;
	strbuf err = STRBUF_INIT;
	fuzz_quiet_logs();
	if (registry_load(fuzz_packs_dir(), NULL, &r, &err) < 0)
		fuzz_die("cannot load the packs in '%s': %s", fuzz_packs_dir(), err.buf);
	json_t *seen = json_object();
	spec_lists = json_array();
	for (size_t i = 0; i < registry_count(r); i++) {
		const char *id;
		json_t *spec;
		json_object_foreach(registry_at(r, i)->flow_specs, id, spec) {
			json_t *params = json_object_get(spec, "params");
			char *text = json_dumps(params, JSON_SORT_KEYS | JSON_ENCODE_ANY);
			if (text && !json_object_get(seen, text)) {
				json_object_set_new(seen, text, json_true());
				json_array_append(spec_lists, params);
			}
			free(text);
		}
	}
	json_decref(seen);
	registry_release(r);
	if (!json_array_size(spec_lists))
		fuzz_die("the packs in '%s' declare no flow params", fuzz_packs_dir());
	strbuf_release(&err);
	return 0;
}

static void check_field(json_t *decl, json_t *typed)
{
	const char *id = json_string_value(json_object_get(decl, "id"));
	const char *type = json_string_value(json_object_get(decl, "type"));
	json_t *v = id ? json_object_get(typed, id) : NULL;
	if (!v) {
		if (json_is_true(json_object_get(decl, "required")))
			abort();                /* a required field went missing */
		return;
	}
	if (!type)
		return;
	if (!strcmp(type, "int") || !strcmp(type, "money")) {
		if (!json_is_integer(v))
			abort();
		json_int_t n = json_integer_value(v);
		json_t *min = json_object_get(decl, "min"), *max = json_object_get(decl, "max");
		if ((json_is_integer(min) && n < json_integer_value(min)) ||
		    (json_is_integer(max) && n > json_integer_value(max)))
			abort();                /* accepted outside its declared range */
	} else if (!strcmp(type, "bool")) {
		if (!json_is_boolean(v))
			abort();
	} else if (!json_is_string(v)) {
		abort();
	}
}

static void check_against(json_t *params, json_t *raw)
{
	json_t *typed = (json_t *)1;
	strbuf err = STRBUF_INIT;
	int rc = flow_check_params(params, raw, &typed, &err);
	if (rc) {
		if (typed || !err.len)
			abort();                /* a refusal without a reason, or with a half result */
	} else {
		if (!json_is_object(typed))
			abort();
		size_t i;
		json_t *decl;
		json_array_foreach(params, i, decl)
			check_field(decl, typed);
		const char *key;
		json_t *v;
		json_object_foreach(typed, key, v) {
			int known = 0;
			json_array_foreach(params, i, decl) {
				const char *id = json_string_value(json_object_get(decl, "id"));
				known |= id && !strcmp(key, id);
			}
			if (!known)
				abort();            /* an undeclared field reached the flow */
		}
	}
	json_decref(typed);
	strbuf_release(&err);
}

/* The object as a form would send it: every scalar as text. */
static json_t *as_form(json_t *raw)
{
	json_t *form = json_object();
	const char *key;
	json_t *v;
	json_object_foreach(raw, key, v) {
		if (json_is_string(v)) {
			json_object_set(form, key, v);
		} else if (json_is_integer(v)) {
			json_object_set_new(form, key, json_sprintf("%lld", (long long)json_integer_value(v)));
		} else if (json_is_real(v)) {
			json_object_set_new(form, key, json_sprintf("%.17g", json_real_value(v)));
		} else if (json_is_boolean(v)) {
			json_object_set_new(form, key, json_string(json_is_true(v) ? "true" : "false"));
		}
	}
	return form;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t jerr;
	json_t *raw = json_loadb((const char *)data, size, JSON_DECODE_ANY, &jerr);
	if (!raw)
		return 0;
	size_t i;
	json_t *params;
	json_array_foreach(spec_lists, i, params)
		check_against(params, raw);
	if (json_is_object(raw)) {
		json_t *form = as_form(raw);
		json_array_foreach(spec_lists, i, params)
			check_against(params, form);
		json_decref(form);
	}
	json_decref(raw);
	return 0;
}
