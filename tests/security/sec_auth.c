/*
 * sec_auth: attacks on the session and on logging in. Session fixation (a
 * token chosen or obtained by the attacker before the victim logs in must not
 * carry the login; a token stops working at logout), CSRF on forms and on the
 * API (no money moves without the session's own token), the session cookie's
 * attributes, and password guessing (per user, not bypassed by spelling or by
 * switching between form and API; per address).
 */
#include "sec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char chenjing_account[] = "6229092222111100018";

/* Plants obe_session=token in the client's jar, as a script on a sibling site could. */
static void plant_cookie(sec_client *cl, const char *token)
{
	char line[256];

	snprintf(line, sizeof line, "127.0.0.1\tFALSE\t/\tFALSE\t0\tobe_session\t%s", token);
	curl_easy_setopt(cl->c, CURLOPT_COOKIELIST, line);
}

/* Status of path fetched with only the given session cookie (a fresh client, no jar). */
static long status_with_cookie(const char *path, const char *token)
{
	sec_client *cl = sec_client_new();
	char hdr[200];
	const char *extra[] = { hdr, NULL };
	sec_resp r;
	long st;

	snprintf(hdr, sizeof hdr, "Cookie: obe_session=%s", token);
	r = sec_request(cl, "GET", path, NULL, NULL, 0, extra);
	st = r.status;
	sec_resp_free(&r);
	sec_client_free(cl);
	return st;
}

static void fixation_chosen_token(void)
{
	const char *chosen = "a11ce0000000000000000000000000000000000000000000000000000000beef";
	sec_client *victim = sec_client_new();
	char after[96];
	long st;

	plant_cookie(victim, chosen);
	st = sec_login_form(victim, "chenjing", "demo1234");
	sec_cookie(victim, after, sizeof after);
	sec_check(st == 303 && strcmp(after, chosen) != 0, "fixation: attacker-chosen token replaced at login",
		  "login %ld, cookie after '%s'", st, after);
	st = status_with_cookie("/mass/accounts", chosen);
	sec_check(st == 303, "fixation: attacker-chosen token does not carry the login (page)", "status %ld", st);
	st = status_with_cookie("/api/v1/mass/data/accounts", chosen);
	sec_check(st == 401, "fixation: attacker-chosen token does not carry the login (api)", "status %ld", st);
	sec_client_free(victim);
}

static void fixation_issued_token(void)
{
	sec_client *attacker = sec_client_new(), *victim = sec_client_new();
	char planted[96], after[96], body[200];
	sec_resp r;
	long st;

	sec_fetch_csrf(attacker, "/login");      /* the attacker also knows this session's CSRF token */
	sec_cookie(attacker, planted, sizeof planted);
	plant_cookie(victim, planted);
	st = sec_login_form(victim, "chenjing", "demo1234");
	sec_cookie(victim, after, sizeof after);
	sec_check(*planted && st == 303 && strcmp(after, planted) != 0,
		  "fixation: server-issued pre-login token replaced at login", "login %ld, '%s' -> '%s'", st,
		  planted, after);
	r = sec_get(attacker, "/mass/accounts");
	sec_check(r.status == 303, "fixation: attacker's pre-login session is not logged in", "status %ld", r.status);
	sec_resp_free(&r);
	st = status_with_cookie("/api/v1/mass/data/accounts", planted);
	sec_check(st == 401, "fixation: planted token refused by the api", "status %ld", st);
	snprintf(body, sizeof body, "_csrf=%s", attacker->csrf);
	r = sec_post_form(victim, "/logout", body);
	sec_check(*attacker->csrf && r.status == 403, "fixation: the pre-login CSRF token is dead after login",
		  "status %ld", r.status);
	sec_resp_free(&r);
	sec_client_free(attacker);
	sec_client_free(victim);
}

static void logout_kills_token(void)
{
	sec_client *cl = sec_client_new();
	char token[96], body[160];
	sec_resp r;
	long st;

	sec_login_form(cl, "chenjing", "demo1234");
	sec_cookie(cl, token, sizeof token);
	sec_fetch_csrf(cl, "/mass/home");
	st = status_with_cookie("/mass/accounts", token);
	sec_check(st == 200, "logout: token works before logout (control)", "status %ld", st);
	snprintf(body, sizeof body, "_csrf=%s", cl->csrf);
	r = sec_post_form(cl, "/logout", body);
	sec_resp_free(&r);
	st = status_with_cookie("/mass/accounts", token);
	sec_check(st == 303, "logout: old token no longer opens pages", "status %ld", st);
	st = status_with_cookie("/api/v1/mass/data/accounts", token);
	sec_check(st == 401, "logout: old token no longer reads data", "status %ld", st);
	sec_client_free(cl);

	cl = sec_client_new();
	sec_login_api(cl, "chenjing", "demo1234");
	r = sec_post_json(cl, "/api/v1/logout", "{}", NULL);
	sec_resp_free(&r);
	r = sec_get(cl, "/api/v1/mass/data/accounts");
	sec_check(r.status == 401, "logout: bearer token dead after api logout", "status %ld", r.status);
	sec_resp_free(&r);
	sec_client_free(cl);
}

/* A session token in the URL (leaks through Referer and logs) is never taken. */
static void token_in_url(void)
{
	sec_client *cl = sec_client_new(), *other = sec_client_new();
	char token[96], path[200];
	sec_resp r;

	sec_login_form(cl, "chenjing", "demo1234");
	sec_cookie(cl, token, sizeof token);
	snprintf(path, sizeof path, "/mass/accounts?obe_session=%s&token=%s&session=%s", token, token, token);
	r = sec_get(other, path);
	sec_check(r.status == 303, "session: a token in the URL is not a login", "status %ld", r.status);
	sec_resp_free(&r);
	snprintf(path, sizeof path, "/api/v1/mass/data/accounts?access_token=%s&token=%s", token, token);
	r = sec_get(other, path);
	sec_check(r.status == 401, "session: a token in the api URL is not a login", "status %ld", r.status);
	sec_resp_free(&r);
	sec_client_free(cl);
	sec_client_free(other);
}

/* One session's one-shot result is not shown to another session. */
static void flash_isolation(void)
{
	sec_client *a = sec_identity("zhangwei", NULL), *b = sec_identity("chenjing", NULL);
	char body[600];
	sec_resp r;

	if (!a || !b) {
		sec_check(0, "session: flash isolation set-up", "cannot log in");
		sec_client_free(a);
		sec_client_free(b);
		return;
	}
	snprintf(body, sizeof body, "_csrf=%s&_idem=flash-%d&from=6&to_account=6229092222111100018&to_name=x"
		 "&to_bank=own&amount=3.21&memo=flash-marker&_confirm=1", a->csrf, (int)getpid());
	r = sec_post_form(a, "/mass/transfer/submit", body);
	sec_resp_free(&r);
	r = sec_get(b, "/mass/transfer/result");
	sec_check(!strstr(r.body, "3.21"), "session: another session's transfer result is not shown",
		  "status %ld", r.status);
	sec_resp_free(&r);
	r = sec_get(a, "/mass/transfer/result");
	sec_check(strstr(r.body, "3.21") != NULL, "session: control, the transfer result shows in its own session",
		  "status %ld", r.status);
	sec_resp_free(&r);
	sec_client_free(a);
	sec_client_free(b);
}

static void cookie_attributes(void)
{
	sec_client *cl = sec_client_new();
	char body[300], v[400] = "";
	sec_resp r;

	sec_fetch_csrf(cl, "/login");
	snprintf(body, sizeof body, "_csrf=%s&username=chenjing&password=demo1234", cl->csrf);
	r = sec_post_form(cl, "/login", body);
	int has = sec_header(&r, "Set-Cookie", v, sizeof v);
	sec_check(has && strstr(v, "HttpOnly"), "cookie: session cookie is HttpOnly", "'%s'", v);
	sec_check(has && (strstr(v, "SameSite=Lax") || strstr(v, "SameSite=Strict")),
		  "cookie: session cookie has SameSite Lax or Strict", "'%s'", v);
	sec_check(has && strstr(v, "Path=/") && !strcasestr(v, "Domain="), "cookie: host-only, path /", "'%s'", v);
	sec_resp_free(&r);
	r = sec_request(cl, "GET", "/api/v1/mass/data/accounts", NULL, NULL, 0,
			(const char *[]){ "Origin: https://evil.example", NULL });
	sec_check(!sec_header(&r, "Access-Control-Allow-Origin", v, sizeof v) &&
		  !sec_header(&r, "Access-Control-Allow-Credentials", v, sizeof v),
		  "cors: no cross-origin read of customer data", "'%s'", v);
	sec_resp_free(&r);
	sec_client_free(cl);
}

void sec_session_attacks(void)
{
	fixation_chosen_token();
	fixation_issued_token();
	logout_kills_token();
	token_in_url();
	flash_isolation();
	cookie_attributes();
}

/* --- CSRF ------------------------------------------------------------------------------------ */

/* Balance of account id (a string) as the client sees it, -1 when not found. */
static long long balance_of(sec_client *cl, const char *edition, const char *id)
{
	char path[128];
	sec_resp r;
	json_t *j, *a;
	size_t i;
	long long bal = -1;

	snprintf(path, sizeof path, "/api/v1/%s/data/accounts", edition);
	r = sec_get(cl, path);
	j = json_loads(r.body, 0, NULL);
	json_array_foreach(json_object_get(j, "accounts"), i, a)
		if (!strcmp(json_string_value(json_object_get(a, "id")) ?: "", id))
			bal = json_integer_value(json_object_get(a, "balance"));
	json_decref(j);
	sec_resp_free(&r);
	return bal;
}

static void csrf_forms(sec_client *victim, sec_client *attacker)
{
	static const struct {
		const char *name, *token;   /* token "" : field absent; NULL: the attacker's own */
	} cases[] = {
		{ "csrf: form transfer without _csrf", "" },
		{ "csrf: form transfer with a wrong _csrf", "0000000000000000000000000000000000000000000000000000000000000000" },
		{ "csrf: form transfer with an empty _csrf", "&_csrf=" },
		{ "csrf: form transfer with the attacker's own valid _csrf", NULL },
	};
	char body[600], tok[200], idem[64];
	long long before = balance_of(victim, "mass", "6"), after;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		if (!cases[i].token)
			snprintf(tok, sizeof tok, "&_csrf=%s", attacker->csrf);
		else if (*cases[i].token && cases[i].token[0] != '&')
			snprintf(tok, sizeof tok, "&_csrf=%s", cases[i].token);
		else
			snprintf(tok, sizeof tok, "%s", cases[i].token);
		snprintf(idem, sizeof idem, "csrf-%d-%zu", (int)getpid(), i);
		snprintf(body, sizeof body, "_idem=%s&from=6&to_account=%s&to_name=x&to_bank=own&amount=7.00"
			 "&memo=csrf&_confirm=1%s", idem, chenjing_account, tok);
		sec_resp r = sec_post_form(victim, "/mass/transfer/submit", body);
		after = balance_of(victim, "mass", "6");
		sec_check(r.status == 403 && after == before, cases[i].name, "status %ld, balance %lld -> %lld",
			  r.status, before, after);
		sec_resp_free(&r);
	}
	/* control: the victim's own token does move the money, so the refusals above were the token's doing */
	sec_fetch_csrf(victim, "/mass/transfer");
	snprintf(body, sizeof body, "_idem=csrf-%d-ok&from=6&to_account=%s&to_name=x&to_bank=own&amount=7.00"
		 "&memo=csrf&_confirm=1&_csrf=%s", (int)getpid(), chenjing_account, victim->csrf);
	sec_resp r = sec_post_form(victim, "/mass/transfer/submit", body);
	after = balance_of(victim, "mass", "6");
	sec_check(r.status == 303 && after == before - 700, "csrf: control, the session's own token moves 7.00",
		  "status %ld, balance %lld -> %lld", r.status, before, after);
	sec_resp_free(&r);
}

static void csrf_api(sec_client *victim, sec_client *attacker)
{
	char body[400], hdr[160];
	long long before = balance_of(victim, "mass", "6"), after;
	const char *none[] = { "Idempotency-Key: csrf-api-1", NULL };
	const char *wrong[] = { "Idempotency-Key: csrf-api-2", "X-CSRF-Token: 00", NULL };
	const char *theirs[] = { "Idempotency-Key: csrf-api-3", hdr, NULL };
	const char **cases[] = { none, wrong, theirs };
	const char *names[] = { "csrf: api flow with the cookie and no X-CSRF-Token",
				"csrf: api flow with the cookie and a wrong X-CSRF-Token",
				"csrf: api flow with the cookie and the attacker's X-CSRF-Token" };

	snprintf(hdr, sizeof hdr, "X-CSRF-Token: %s", attacker->csrf);
	snprintf(body, sizeof body, "{\"from\":\"6\",\"to_account\":\"%s\",\"to_name\":\"x\",\"to_bank\":\"own\","
		 "\"amount\":\"7.00\",\"_confirm\":true}", chenjing_account);
	for (int i = 0; i < 3; i++) {
		sec_resp r = sec_request(victim, "POST", "/api/v1/mass/flows/transfer", "application/json", body,
					 strlen(body), cases[i]);
		after = balance_of(victim, "mass", "6");
		sec_check(r.status == 403 && after == before, names[i], "status %ld, balance %lld -> %lld", r.status,
			  before, after);
		sec_resp_free(&r);
	}
	/* a "simple" cross-site request (no preflight) must not reach the flow either */
	sec_resp r = sec_request(victim, "POST", "/api/v1/mass/flows/transfer", "text/plain", body, strlen(body),
				 none);
	after = balance_of(victim, "mass", "6");
	sec_check(r.status >= 400 && after == before, "csrf: api flow as text/plain from a form", "status %ld",
		  r.status);
	sec_resp_free(&r);
}

static void csrf_other_posts(sec_client *victim)
{
	sec_resp r = sec_post_form(victim, "/switch", "identity=enterprise:1&_csrf=00");
	sec_check(r.status == 403, "csrf: /switch with a wrong token", "status %ld", r.status);
	sec_resp_free(&r);
	r = sec_post_form(victim, "/logout", "_csrf=00");
	sec_check(r.status == 403, "csrf: /logout with a wrong token", "status %ld", r.status);
	sec_resp_free(&r);
	r = sec_get(victim, "/mass/accounts");
	sec_check(r.status == 200, "csrf: victim still logged in after the forged posts", "status %ld", r.status);
	sec_resp_free(&r);
	/* a page on another site posting to the operator's own editiond: the peer is this host */
	r = sec_request(victim, "POST", "/admin/reload", "application/x-www-form-urlencoded", "x=1", 3,
			(const char *[]){ "Origin: https://evil.example", "Sec-Fetch-Site: cross-site", NULL });
	sec_check(r.status == 403 || r.status == 401, "csrf: cross-site form POST to /admin/reload refused",
		  "status %ld %.80s", r.status, r.body);
	sec_resp_free(&r);
	sec_client *fresh = sec_client_new();
	sec_resp g = sec_get(fresh, "/login");
	sec_resp_free(&g);
	r = sec_post_form(fresh, "/login", "username=chenjing&password=demo1234");
	sec_check(r.status == 403, "csrf: login without the form's token (login csrf)", "status %ld", r.status);
	sec_resp_free(&r);
	sec_client_free(fresh);
}

void sec_csrf_attacks(void)
{
	sec_client *victim = sec_client_new(), *attacker = sec_client_new();

	sec_login_form(victim, "zhangwei", "demo1234");
	sec_login_form(attacker, "chenjing", "demo1234");
	sec_fetch_csrf(attacker, "/mass/transfer");
	csrf_forms(victim, attacker);
	csrf_api(victim, attacker);
	csrf_other_posts(victim);
	sec_client_free(victim);
	sec_client_free(attacker);
}

/* --- password guessing (run last: it locks this address) ------------------------------------------ */

static long login_api_status(const char *user, const char *password)
{
	sec_client *cl = sec_client_new();
	long st = sec_login_api(cl, user, password);

	sec_client_free(cl);
	return st;
}

static long login_form_status(const char *user, const char *password)
{
	sec_client *cl = sec_client_new();
	long st = sec_login_form(cl, user, password);

	sec_client_free(cl);
	return st;
}

static void lockout_mixed_channels(void)
{
	long f, a;

	for (int i = 0; i < 3; i++)
		login_form_status("wangfang", "guess-form");
	for (int i = 0; i < 2; i++)
		login_api_status("wangfang", "guess-api");
	f = login_form_status("wangfang", "demo1234");
	a = login_api_status("wangfang", "demo1234");
	sec_check(f == 429 && a == 429, "lockout: 3 form + 2 api failures lock both channels",
		  "form %ld, api %ld", f, a);
}

static void lockout_spelling(void)
{
	static const char *const variants[] = { "LINA", "Lina", " lina", "lina ", "lina\t", "ｌｉｎａ" };
	long st;

	for (int i = 0; i < 5; i++)
		login_form_status("lina", "guess");
	st = login_form_status("lina", "demo1234");
	sec_check(st == 429, "lockout: locked after 5 failures", "status %ld", st);
	for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++) {
		char name[96];
		long f = login_form_status(variants[i], "demo1234"), a = login_api_status(variants[i], "demo1234");
		snprintf(name, sizeof name, "lockout: not bypassed by spelling the name '%s'", variants[i]);
		sec_check(f != 303 && f != 200 && a != 200, name, "form %ld, api %ld", f, a);
	}
}

void sec_lockout_ip_attacks(void)
{
	char user[32];
	long st;

	for (int i = 0; i < 25; i++) {
		snprintf(user, sizeof user, "nobody%d", i);
		login_api_status(user, "guess");
	}
	st = login_api_status("john", "demo1234");
	sec_check(st == 429, "lockout: 25 failures on many names lock the address", "status %ld", st);
	sec_client *cl = sec_client_new();
	sec_resp r = sec_request(cl, "POST", "/api/v1/login", "application/json",
				 "{\"username\":\"john\",\"password\":\"demo1234\"}", 41,
				 (const char *[]){ "X-Forwarded-For: 203.0.113.77", "X-Real-IP: 203.0.113.77", NULL });
	sec_check(r.status == 429, "lockout: address lock not bypassed by X-Forwarded-For", "status %ld", r.status);
	sec_resp_free(&r);
	sec_client_free(cl);
}

void sec_lockout_attacks(void)
{
	lockout_mixed_channels();
	lockout_spelling();
}
