/*
 * sec_idor: reading or moving another customer's data by changing ids. Every
 * seeded identity (six customers, the enterprise as its boss and as its
 * operator) calls every flow of its edition whose params hold an account,
 * once per account-typed param and per account it does not own (by id and by
 * number, the bank's own books included), through the API and, for history,
 * through the page. All must be refused, and afterwards every balance in the
 * bank is as before. Then the boss-only approval by the operator and by a
 * personal session, and enterprise routes without the enterprise identity.
 */
#include "sec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_ACCTS 48

typedef struct who {
	const char *user, *identity, *edition;
	sec_client *cl;
	char ids[8][24], numbers[8][32];
	long long balances[8];
	int n;
} who;

static who people[] = {
	{ .user = "zhangwei", .identity = NULL, .edition = "mass" },
	{ .user = "lina", .identity = NULL, .edition = "private-banking" },
	{ .user = "wangfang", .identity = NULL, .edition = "care" },
	{ .user = "john", .identity = NULL, .edition = "english" },
	{ .user = "liuqiang", .identity = NULL, .edition = "mass" },
	{ .user = "chenjing", .identity = NULL, .edition = "mass" },
	{ .user = "zhangwei", .identity = "enterprise:1", .edition = "enterprise-boss" },
	{ .user = "liuqiang", .identity = "enterprise:1", .edition = "enterprise-standard" },
};
#define N_PEOPLE (sizeof people / sizeof people[0])

/* Every account id and number known: the customers', the enterprise's and the bank's own books. */
static char all_ids[MAX_ACCTS][24];
static int n_all;

static void load_accounts(who *w)
{
	char path[128];
	sec_resp r;
	json_t *j, *a;
	size_t i;

	w->n = 0;
	snprintf(path, sizeof path, "/api/v1/%s/data/accounts", w->edition);
	r = sec_get(w->cl, path);
	j = json_loads(r.body, 0, NULL);
	json_array_foreach(json_object_get(j, "accounts"), i, a) {
		if (w->n == 8)
			break;
		snprintf(w->ids[w->n], sizeof w->ids[0], "%s", json_string_value(json_object_get(a, "id")) ?: "");
		snprintf(w->numbers[w->n], sizeof w->numbers[0], "%s",
			 json_string_value(json_object_get(a, "number")) ?: "");
		w->balances[w->n] = json_integer_value(json_object_get(a, "balance"));
		w->n++;
	}
	json_decref(j);
	sec_resp_free(&r);
}

static int owns(const who *w, const char *acct)
{
	for (int i = 0; i < w->n; i++)
		if (!strcmp(w->ids[i], acct) || !strcmp(w->numbers[i], acct))
			return 1;
	return 0;
}

/* Is payee id one of the caller's own payees? */
static int own_payee(who *w, const char *id)
{
	char path[128], pat[48];
	sec_resp r;
	int own;

	snprintf(path, sizeof path, "/api/v1/%s/data/payees", w->edition);
	snprintf(pat, sizeof pat, "\"id\":\"%s\"", id);
	r = sec_get(w->cl, path);
	own = strstr(r.body, pat) != NULL;
	sec_resp_free(&r);
	return own;
}

static void collect_all(void)
{
	static const char *const bank_books[] = { "9558000000000000001", "9558000000000000002",
		"9558000000000000003", "9558000000000000004", "9558000000000000009" };

	n_all = 0;
	for (int id = 1; id <= 24 && n_all < MAX_ACCTS; id++, n_all++)
		snprintf(all_ids[n_all], sizeof all_ids[0], "%d", id);
	for (size_t p = 0; p < N_PEOPLE; p++)
		for (int i = 0; i < people[p].n && n_all < MAX_ACCTS; i++)
			snprintf(all_ids[n_all++], sizeof all_ids[0], "%s", people[p].numbers[i]);
	for (size_t i = 0; i < 5 && n_all < MAX_ACCTS; i++)
		snprintf(all_ids[n_all++], sizeof all_ids[0], "%s", bank_books[i]);
}

/* The sum of every balance every identity sees, and a fingerprint of them in order. */
static long long bank_fingerprint(void)
{
	long long fp = 0;

	for (size_t p = 0; p < N_PEOPLE; p++) {
		if (!people[p].cl)
			continue;
		load_accounts(&people[p]);
		for (int i = 0; i < people[p].n; i++)
			fp = fp * 1000003 + people[p].balances[i] + (long long)(p * 8 + (size_t)i);
	}
	return fp;
}

char sec_own_payee[32] = "1";

void sec_load_payee(sec_client *cl, const char *edition)
{
	char path[128];
	sec_resp r;
	json_t *j;

	snprintf(path, sizeof path, "/api/v1/%s/data/payees", edition);
	r = sec_get(cl, path);
	j = json_loads(r.body, 0, NULL);
	snprintf(sec_own_payee, sizeof sec_own_payee, "%s",
		 json_string_value(json_object_get(json_array_get(json_object_get(j, "payees"), 0), "id")) ?: "1");
	json_decref(j);
	sec_resp_free(&r);
}

/* The first product of that kind ("wealth", "loan", "deposit"), else the first. */
static json_t *product_for(json_t *products, const char *kind)
{
	json_t *p;
	size_t i;

	json_array_foreach(products, i, p)
		if (kind && !strcmp(json_string_value(json_object_get(p, "kind")) ?: "", kind))
			return p;
	return json_array_get(products, 0);
}

/* A valid-looking value for a param, so that the param under attack is what decides. */
static json_t *default_value(const char *own_account, json_t *param, json_t *products, const char *kind)
{
	const char *id = json_string_value(json_object_get(param, "id")) ?: "";
	const char *type = json_string_value(json_object_get(param, "type")) ?: "";
	json_t *min = json_object_get(param, "min");

	if (!strcmp(type, "account"))
		return json_string(own_account);
	if (!strcmp(id, "payee"))
		return json_string(sec_own_payee);
	if (!strcmp(type, "money")) {
		json_t *pr = product_for(products, kind);
		json_int_t min_amount = json_integer_value(json_object_get(pr, "min_amount"));
		char amount[32];
		snprintf(amount, sizeof amount, "%lld.00", min_amount > 100 ? (long long)min_amount / 100 : 1LL);
		return json_string(amount);
	}
	if (!strcmp(type, "int"))
		return json_integer(json_is_integer(min) ? json_integer_value(min) : 1);
	if (!strcmp(type, "bool"))
		return json_true();
	if (!strcmp(type, "enum"))
		return json_incref(json_array_get(json_object_get(param, "values"), 0));
	if (!strcmp(type, "date")) {
		char d[16];
		time_t t = time(NULL) + 30 * 86400;
		strftime(d, sizeof d, "%Y-%m-%d", gmtime(&t));
		return json_string(d);
	}
	if (!strcmp(type, "id"))
		return json_incref(json_object_get(product_for(products, kind), "id")) ?: json_string("x1");
	if (!strcmp(id, "to_account"))
		return json_string("6229092222111100018");
	if (!strcmp(id, "swift"))
		return json_string("DEUTDEFF");
	if (!strcmp(id, "items"))
		return json_string("Li Lei,6229092222111100018,1");
	return json_string("x");
}

json_t *sec_flow_params(const char *own_account, const char *flow, json_t *spec, json_t *products)
{
	json_t *o = json_object(), *p;
	const char *kind = strstr(flow, "loan") ? "loan" : strstr(flow, "deposit") ? "deposit" : "wealth";
	size_t i;

	json_array_foreach(json_object_get(spec, "params"), i, p)
		json_object_set_new(o, json_string_value(json_object_get(p, "id")), default_value(own_account, p, products, kind));
	json_object_set_new(o, "_confirm", json_true());
	return o;
}

/* Calls flow with param = value through the API; returns the status, *leak when the body shows the account. */
static long call_with(who *w, const char *flow, json_t *params, const char *param, const char *value,
		      int *leak)
{
	static int seq;
	char path[160], key[64];
	json_t *p = json_deep_copy(params);
	char *body;
	sec_resp r;
	long st;

	json_object_set_new(p, param, json_string(value));
	body = json_dumps(p, 0);
	snprintf(path, sizeof path, "/api/v1/%s/flows/%s", w->edition, flow);
	snprintf(key, sizeof key, "idor-%d-%d", (int)getpid(), ++seq);
	r = sec_post_json(w->cl, path, body, key);
	st = r.status;
	*leak = strlen(value) > 4 && st == 200 && strstr(r.body, value) != NULL;
	if (st == 422 || st == 400) {
		/* refused for another reason than the account: the attempt proved nothing */
		json_t *j = json_loads(r.body, 0, NULL);
		const char *code = json_string_value(json_object_get(j, "code"));
		const char *msg = json_string_value(json_object_get(j, "message"));
		if (!(st == 422 && code && (!strcmp(code, "forbidden") || !strcmp(code, "not_found") ||
					    !strcmp(code, "unknown_payee"))) &&
		    !(st == 400 && msg && strstr(msg, param)))
			st = -st;
		json_decref(j);
	}
	sec_resp_free(&r);
	free(body);
	json_decref(p);
	return st;
}

static void idor_flow(who *w, const char *flow, json_t *spec, json_t *products)
{
	json_t *params = sec_flow_params(w->n ? w->ids[0] : "1", flow, spec, products), *p;
	size_t i;

	json_array_foreach(json_object_get(spec, "params"), i, p) {
		const char *pid = json_string_value(json_object_get(p, "id"));
		char name[200], bad[600] = "";
		int n_bad = 0, tried = 0, leak;

		int payee = !strcmp(pid, "payee");
		if (strcmp(json_string_value(json_object_get(p, "type")) ?: "", "account") && !payee)
			continue;
		for (int a = 0; a < n_all; a++) {
			if (payee ? strlen(all_ids[a]) > 4 || !strcmp(all_ids[a], sec_own_payee) || own_payee(w, all_ids[a])
			    : owns(w, all_ids[a]))
				continue;
			long st = call_with(w, flow, params, pid, all_ids[a], &leak);
			tried++;
			if (st == 200 || st <= 0 || st >= 500 || leak) {
				n_bad++;
				size_t l = strlen(bad);
				snprintf(bad + l, sizeof bad - l, " %s=%s->%ld", pid, all_ids[a], st);
			}
		}
		snprintf(name, sizeof name, "idor: %s as %s, flow %s param '%s': others' %s refused", w->user,
			 w->identity ? w->identity : "personal", flow, pid, payee ? "payees" : "accounts");
		sec_check(tried > 0 && n_bad == 0, name, "%d of %d accepted:%s", n_bad, tried, bad);
	}
	json_decref(params);
}

/* Control: the caller's own account is not refused as forbidden (so the refusals were about ownership). */
static void form_control(who *w, const char *url, const char *flow, json_t *spec, json_t *products)
{
	char body[4096], idem[64], name[240];
	json_t *params = sec_flow_params(w->n ? w->ids[0] : "1", flow, spec, products);
	sec_resp r;

	snprintf(idem, sizeof idem, "idor-control-%d-%s", (int)getpid(), url);
	sec_form_body(params, w->cl->csrf, idem, 1, body, sizeof body);
	r = sec_post_form(w->cl, url, body);
	snprintf(name, sizeof name, "idor: control, %s as %s, form %s with an own account is not forbidden", w->user,
		 w->identity ? w->identity : "personal", url);
	sec_check(r.status != 403 && r.status != 0 && r.status < 500, name, "status %ld", r.status);
	sec_resp_free(&r);
	json_decref(params);
}

/* The same through the H5 forms: every POST route whose flow takes an account, confirmed, with a valid token. */
static void idor_forms(who *w, json_t *specs, json_t *routes, json_t *products, int control)
{
	json_t *rt;
	size_t i;

	json_array_foreach(routes, i, rt) {
		const char *flow = json_string_value(json_object_get(rt, "flow"));
		json_t *spec = flow ? json_object_get(specs, flow) : NULL, *p;
		size_t k;

		if (!spec || strcmp(json_string_value(json_object_get(rt, "method")) ?: "", "POST"))
			continue;
		json_array_foreach(json_object_get(spec, "params"), k, p) {
			const char *pid = json_string_value(json_object_get(p, "id"));
			char name[240], bad[600] = "", url[200];
			int n_bad = 0, tried = 0;

			if (strcmp(json_string_value(json_object_get(p, "type")) ?: "", "account"))
				continue;
			snprintf(url, sizeof url, "/%s%s", w->edition, json_string_value(json_object_get(rt, "path")));
			if (control) {
				form_control(w, url, flow, spec, products);
				continue;
			}
			for (int a = 0; a < n_all; a++) {
				static int seq;
				char body[4096], idem[64];
				json_t *params;

				if (owns(w, all_ids[a]))
					continue;
				params = sec_flow_params(w->n ? w->ids[0] : "1", flow, spec, products);
				json_object_set_new(params, pid, json_string(all_ids[a]));
				snprintf(idem, sizeof idem, "idor-form-%d-%d", (int)getpid(), ++seq);
				sec_form_body(params, w->cl->csrf, idem, 1, body, sizeof body);
				sec_resp r = sec_post_form(w->cl, url, body);
				tried++;
				if (r.status == 303 || r.status == 200 || r.status == 0 || r.status >= 500) {
					size_t l = strlen(bad);
					n_bad++;
					snprintf(bad + l, sizeof bad - l, " %s=%s->%ld", pid, all_ids[a], r.status);
				}
				sec_resp_free(&r);
				json_decref(params);
			}
			snprintf(name, sizeof name, "idor: %s as %s, form %s param '%s': others' accounts refused",
				 w->user, w->identity ? w->identity : "personal", url, pid);
			sec_check(tried > 0 && n_bad == 0, name, "%d of %d accepted:%s", n_bad, tried, bad);
		}
	}
}

/* The account number behind an id or a number ("" when unknown): what a leaking page would show. */
static const char *number_of(const char *id)
{
	static const char *const bank_books[] = { "9558000000000000001", "9558000000000000002",
		"9558000000000000003", "9558000000000000004", "9558000000000000009" };

	if (strlen(id) > 4)
		return id;
	for (size_t p = 0; p < N_PEOPLE; p++)
		for (int i = 0; i < people[p].n; i++)
			if (!strcmp(people[p].ids[i], id))
				return people[p].numbers[i];
	int n = atoi(id);
	return n >= 1 && n <= 5 ? bank_books[n - 1] : "";
}

/* The history page and data with another's account: refused, and the account never shown. */
static void idor_history(who *w)
{
	char path[200], name[160], bad[600] = "";
	int n_bad = 0;

	for (int a = 0; a < n_all; a++) {
		if (owns(w, all_ids[a]))
			continue;
		for (int api = 0; api < 2; api++) {
			snprintf(path, sizeof path, api ? "/api/v1/%s/data/history?id=%s" : "/%s/accounts/history?id=%s",
				 w->edition, all_ids[a]);
			sec_resp r = sec_get(w->cl, path);
			const char *number = number_of(all_ids[a]);
			int leak = (*number && strstr(r.body, number)) || (api && r.status == 200);
			if (r.status == 0 || r.status >= 500 || (api && r.status == 200) || leak) {
				size_t l = strlen(bad);
				n_bad++;
				snprintf(bad + l, sizeof bad - l, " %s%s->%ld", api ? "api:" : "page:", all_ids[a],
					 r.status);
			}
			sec_resp_free(&r);
		}
	}
	snprintf(name, sizeof name, "idor: %s as %s, history of others' accounts (page and data) refused", w->user,
		 w->identity ? w->identity : "personal");
	sec_check(n_bad == 0, name, "%d shown:%s", n_bad, bad);
}

/* --- approvals and enterprise routes ------------------------------------------------------------- */

static const char *payment_status(sec_client *boss, const char *payment)
{
	static char st[32];
	sec_resp r = sec_get(boss, "/api/v1/enterprise-boss/data/approvals");
	json_t *j = json_loads(r.body, 0, NULL), *p;
	size_t i;

	snprintf(st, sizeof st, "absent");
	json_array_foreach(json_object_get(j, "payments"), i, p)
		if (!strcmp(json_string_value(json_object_get(p, "payment_id")) ?: "", payment))
			snprintf(st, sizeof st, "%s", json_string_value(json_object_get(p, "status")) ?: "?");
	json_decref(j);
	sec_resp_free(&r);
	return st;
}

static void approvals(who *boss, who *operator, who *personal)
{
	const char *body = "{\"payment_id\":\"PP000001\",\"decision\":\"approve\",\"_confirm\":true}";
	char form[300];
	sec_resp r;

	if (!boss->cl || !operator->cl || !personal->cl)
		return;
	sec_check(!strcmp(payment_status(boss->cl, "PP000001"), "pending"), "approval: PP000001 pending (control)",
		  "%s", payment_status(boss->cl, "PP000001"));
	r = sec_post_json(operator->cl, "/api/v1/enterprise-boss/flows/decide_payment", body, "idor-approve-1");
	sec_check(r.status == 403 || r.status == 404, "approval: operator calls the boss's flow through the api",
		  "status %ld %.120s", r.status, r.body);
	sec_resp_free(&r);
	r = sec_post_json(operator->cl, "/api/v1/enterprise-standard/flows/decide_payment", body, "idor-approve-2");
	sec_check(r.status == 403 || r.status == 404, "approval: operator's own edition has no approval flow",
		  "status %ld", r.status);
	sec_resp_free(&r);
	snprintf(form, sizeof form, "_csrf=%s&_idem=idor-approve-3&payment_id=PP000001&decision=approve&_confirm=1",
		 operator->cl->csrf);
	r = sec_post_form(operator->cl, "/enterprise-boss/approvals/decide", form);
	sec_check(r.status != 200 && !(r.status == 303 && strstr(r.headers, "/enterprise-boss/approvals/result")),
		  "approval: operator posts the boss's approval form", "status %ld", r.status);
	sec_resp_free(&r);
	r = sec_post_json(personal->cl, "/api/v1/enterprise-boss/flows/decide_payment", body, "idor-approve-4");
	sec_check(r.status == 403, "approval: the boss in personal service cannot approve", "status %ld", r.status);
	sec_resp_free(&r);
	sec_check(!strcmp(payment_status(boss->cl, "PP000001"), "pending"), "approval: PP000001 still pending",
		  "%s", payment_status(boss->cl, "PP000001"));
	r = sec_post_json(boss->cl, "/api/v1/enterprise-boss/flows/decide_payment",
			  "{\"payment_id\":\"P000129\",\"decision\":\"approve\",\"_confirm\":true}", "idor-approve-5");
	sec_check(r.status != 200, "approval: the boss cannot 'approve' a personal transaction id", "status %ld",
		  r.status);
	sec_resp_free(&r);
}

static void enterprise_without_identity(void)
{
	static const char *const pages[] = { "/enterprise-boss/cockpit", "/enterprise-boss/approvals",
		"/enterprise-standard/payroll", "/enterprise-boss/accounts" };
	static const char *const data[] = { "/api/v1/enterprise-boss/data/cockpit",
		"/api/v1/enterprise-boss/data/approvals", "/api/v1/enterprise-standard/data/accounts" };
	const char *users[] = { "zhangwei", "chenjing", "lina" };

	for (size_t u = 0; u < 3; u++) {
		sec_client *cl = sec_identity(users[u], NULL);
		char name[160], bad[400] = "";
		int n_bad = 0;

		if (!cl)
			continue;
		for (size_t i = 0; i < 4; i++) {
			sec_resp r = sec_get(cl, pages[i]);
			if (r.status == 200) {
				n_bad++;
				strcat(bad, " ");
				strcat(bad, pages[i]);
			}
			sec_resp_free(&r);
		}
		for (size_t i = 0; i < 3; i++) {
			sec_resp r = sec_get(cl, data[i]);
			if (r.status != 403) {
				n_bad++;
				strcat(bad, " ");
				strcat(bad, data[i]);
			}
			sec_resp_free(&r);
		}
		snprintf(name, sizeof name, "enterprise: %s in personal service reaches no enterprise page or data",
			 users[u]);
		sec_check(n_bad == 0, name, "%d reached:%s", n_bad, bad);
		char body[200];
		snprintf(body, sizeof body, "_csrf=%s&identity=enterprise:2", cl->csrf);
		sec_resp r = sec_post_form(cl, "/switch", body);
		snprintf(name, sizeof name, "enterprise: %s cannot switch to an enterprise not bound", users[u]);
		sec_check(r.status == 400 || r.status == 403, name, "status %ld", r.status);
		sec_resp_free(&r);
		sec_client_free(cl);
	}
	sec_client *chen = sec_identity("chenjing", "enterprise:1");
	sec_check(chen == NULL, "enterprise: a customer without a binding cannot switch to enterprise:1", "switched");
	sec_client_free(chen);
}

void sec_idor_attacks(const char *pack_dir)
{
	long long before, after;

	for (size_t p = 0; p < N_PEOPLE; p++)
		if ((people[p].cl = sec_identity(people[p].user, people[p].identity)))
			load_accounts(&people[p]);
	collect_all();
	before = bank_fingerprint();
	for (size_t p = 0; p < N_PEOPLE; p++) {
		json_t *specs, *routes, *products, *spec;
		const char *flow;

		if (!people[p].cl || sec_pack_json(pack_dir, people[p].edition, &specs, &routes, &products))
			continue;
		sec_load_payee(people[p].cl, people[p].edition);
		json_object_foreach(specs, flow, spec)
			idor_flow(&people[p], flow, spec, products);
		idor_forms(&people[p], specs, routes, products, 0);
		idor_history(&people[p]);
		json_decref(specs);
		json_decref(routes);
		json_decref(products);
	}
	after = bank_fingerprint();
	sec_check(before == after && before != 0, "idor: every balance in the bank unchanged after the attempts",
		  "fingerprint %lld -> %lld", before, after);
	for (size_t p = 0; p < N_PEOPLE; p++) {
		json_t *specs, *routes, *products;

		if (!people[p].cl || sec_pack_json(pack_dir, people[p].edition, &specs, &routes, &products))
			continue;
		idor_forms(&people[p], specs, routes, products, 1);
		json_decref(specs);
		json_decref(routes);
		json_decref(products);
	}
	approvals(&people[6], &people[7], &people[0]);
	enterprise_without_identity();
	for (size_t p = 0; p < N_PEOPLE; p++) {
		sec_client_free(people[p].cl);
		people[p].cl = NULL;
	}
}
