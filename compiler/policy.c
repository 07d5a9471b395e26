/*
 * policy: stage 5, the bank's rules for what an edition may show.
 *
 *   all editions      auxiliary colours of low HSL saturation (<= 0.35); products
 *                     only of the edition's segment, and exclusive products only
 *                     in the editions they are exclusive to
 *   care              font_scale >= 1.3, touch_target >= 56, WCAG 2.x contrast
 *                     >= 7:1 (AAA) of text and on_primary, at most 6 tiles (and at
 *                     most max_tiles) per screen, a phone and a call_button on home
 *   english           no CJK character in any text it can show: every string of
 *                     its locale and overrides, product names, fallbacks
 *   private-banking   a risk_disclosure on every investment screen
 *
 * An edition is "care" (etc.) when its id is care or it extends care somewhere
 * along its chain, so a future care variant keeps the rules. Malformed values
 * (a colour that is not #RRGGBB, a string font_scale) are the schema's errors and
 * are skipped here rather than reported twice.
 */
#include "check_common.h"

#include <math.h>
#include <string.h>

#include "strbuf.h"

#define MAX_AUX_SATURATION 0.35
#define CARE_FONT_SCALE 1.3
#define CARE_TOUCH_TARGET 56
#define CARE_CONTRAST 7.0
#define CARE_MAX_TILES 6

typedef struct policy_ctx {
	project *p;
	const edition *e;
	const node *root, *theme, *strings;
	int errors;
} policy_ctx;

/* ---- colours ---- */

static int hex_digit(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* "#RRGGBB" -> channels in 0..1; -1 when n is not such a colour. */
static int parse_colour(const node *n, double rgb[3])
{
	if (!n || n->kind != NODE_SCALAR || n->len != 7 || n->str[0] != '#')
		return -1;
	for (int i = 0; i < 3; i++) {
		int hi = hex_digit(n->str[1 + 2 * i]), lo = hex_digit(n->str[2 + 2 * i]);
		if (hi < 0 || lo < 0)
			return -1;
		rgb[i] = (hi * 16 + lo) / 255.0;
	}
	return 0;
}

static double hsl_saturation(const double rgb[3])
{
	double mx = fmax(rgb[0], fmax(rgb[1], rgb[2]));
	double mn = fmin(rgb[0], fmin(rgb[1], rgb[2]));
	double l = (mx + mn) / 2, d = mx - mn;
	if (d <= 0)
		return 0;
	return d / (1 - fabs(2 * l - 1));
}

/* WCAG 2.x relative luminance. */
static double luminance(const double rgb[3])
{
	double lin[3];
	for (int i = 0; i < 3; i++)
		lin[i] = rgb[i] <= 0.03928 ? rgb[i] / 12.92 : pow((rgb[i] + 0.055) / 1.055, 2.4);
	return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2];
}

static double contrast_ratio(const double a[3], const double b[3])
{
	double la = luminance(a), lb = luminance(b);
	return la > lb ? (la + 0.05) / (lb + 0.05) : (lb + 0.05) / (la + 0.05);
}

/* ---- all editions ---- */

static void policy_saturation(policy_ctx *c)
{
	const node *aux = node_get(c->theme, "auxiliary");
	for (size_t i = 0; aux && aux->kind == NODE_SEQ && i < aux->count; i++) {
		double rgb[3];
		if (parse_colour(aux->items[i], rgb) < 0)
			continue;
		double s = hsl_saturation(rgb);
		if (s > MAX_AUX_SATURATION + 1e-9)
			c->errors += check_report(c->p, DIAG_ERROR, aux->items[i], NULL, "policy-saturation",
						  "auxiliary colour '%s' has saturation %.2f; auxiliary "
						  "colours need at most %.2f", aux->items[i]->str, s,
						  MAX_AUX_SATURATION);
	}
}

static int seq_has(const node *seq, const char *s)
{
	for (size_t i = 0; seq && seq->kind == NODE_SEQ && i < seq->count; i++)
		if (node_is(seq->items[i], s))
			return 1;
	return node_is(seq, s);
}

static const char *seq_join(arena *a, const node *seq)
{
	if (seq && seq->kind == NODE_SCALAR)
		return seq->str;
	strbuf sb = STRBUF_INIT;
	for (size_t i = 0; seq && seq->kind == NODE_SEQ && i < seq->count; i++)
		if (seq->items[i]->kind == NODE_SCALAR)
			strbuf_addf(&sb, "%s'%s'", sb.len ? ", " : "", seq->items[i]->str);
	const char *out = arena_strdup(a, sb.buf);
	strbuf_release(&sb);
	return out;
}

/* One listed product: of the edition's segment, and not exclusive to other editions. */
static void policy_product(policy_ctx *c, const node *ref, const node *prod)
{
	const char *seg = node_get_str(c->root, "segment");
	const char *pseg = node_get_str(prod, "segment");
	if (seg && pseg && strcmp(seg, pseg)) {
		c->errors += check_report(c->p, DIAG_ERROR, ref, NULL, "policy-segment",
					  "%s edition '%s' lists %s product '%s'", seg, c->e->id,
					  pseg, ref->str);
		diag_note(c->p->diag, node_get(prod, "segment")->pos, "product '%s' is declared %s here",
			  ref->str, pseg);
		return;
	}
	const node *only = node_get(prod, "exclusive_to");
	if (!only || (only->kind == NODE_SEQ && !only->count) || seq_has(only, c->e->id))
		return;
	c->errors += check_report(c->p, DIAG_ERROR, ref, NULL, "policy-segment",
				  "edition '%s' lists product '%s', which is exclusive to %s",
				  c->e->id, ref->str, seq_join(c->p->arena, only));
	diag_note(c->p->diag, only->pos, "product '%s' is made exclusive here", ref->str);
}

static void policy_products(policy_ctx *c)
{
	const node *list = node_get(c->root, "products");
	const node *cat = check_catalogue(c->p);
	for (size_t i = 0; list && list->kind == NODE_SEQ && i < list->count; i++) {
		const node *ref = check_product_ref(list->items[i]);
		const node *prod = ref ? check_find_by_id(cat, ref->str) : NULL;
		if (prod)
			policy_product(c, ref, prod);
	}
}

/* ---- care ---- */

static const node *theme_or_root(const policy_ctx *c)
{
	return c->theme ? c->theme : c->root;
}

static void care_sizes(policy_ctx *c)
{
	const node *fs = node_get(c->theme, "font_scale");
	double scale = 0;
	if (!fs)
		c->errors += check_report(c->p, DIAG_ERROR, NULL, theme_or_root(c), "policy-care-font",
					  "care edition '%s' sets no theme font_scale; care needs at "
					  "least %.1f", c->e->id, CARE_FONT_SCALE);
	else if (node_as_double(fs, &scale) == 0 && scale < CARE_FONT_SCALE - 1e-9)
		c->errors += check_report(c->p, DIAG_ERROR, fs, NULL, "policy-care-font",
					  "font_scale %g is too small for care edition '%s'; care "
					  "needs at least %.1f", scale, c->e->id, CARE_FONT_SCALE);
	const node *tt = node_get(c->theme, "touch_target");
	long long px = 0;
	if (!tt)
		c->errors += check_report(c->p, DIAG_ERROR, NULL, theme_or_root(c), "policy-care-touch",
					  "care edition '%s' sets no theme touch_target; care needs "
					  "at least %d", c->e->id, CARE_TOUCH_TARGET);
	else if (node_as_int(tt, &px) == 0 && px < CARE_TOUCH_TARGET)
		c->errors += check_report(c->p, DIAG_ERROR, tt, NULL, "policy-care-touch",
					  "touch_target %lld is too small for care edition '%s'; care "
					  "needs at least %d", px, c->e->id, CARE_TOUCH_TARGET);
}

static void care_contrast_pair(policy_ctx *c, const char *fg_key, const char *bg_key)
{
	const node *fg = node_get(c->theme, fg_key), *bg = node_get(c->theme, bg_key);
	double a[3], b[3];
	if (parse_colour(fg, a) < 0 || parse_colour(bg, b) < 0)
		return;
	double ratio = contrast_ratio(a, b);
	if (ratio >= CARE_CONTRAST)
		return;
	c->errors += check_report(c->p, DIAG_ERROR, fg, NULL, "policy-care-contrast",
				  "contrast of %s '%s' on %s '%s' is %.2f:1; care needs at least %.0f:1",
				  fg_key, fg->str, bg_key, bg->str, ratio, CARE_CONTRAST);
	diag_note(c->p->diag, bg->pos, "%s is set here", bg_key);
}

static void count_tile(const node *component, void *arg)
{
	if (node_is(node_get(component, "component"), "tile"))
		++*(size_t *)arg;
}

static void care_tiles(policy_ctx *c)
{
	const node *mt = node_get(c->theme, "max_tiles");
	long long limit = CARE_MAX_TILES;
	if (node_as_int(mt, &limit) == 0 && limit > CARE_MAX_TILES) {
		c->errors += check_report(c->p, DIAG_ERROR, mt, NULL, "policy-care-tiles",
					  "max_tiles %lld is too many for care edition '%s'; care "
					  "allows at most %d", limit, c->e->id, CARE_MAX_TILES);
		limit = CARE_MAX_TILES;
	}
	const node *screens = node_get(c->root, "screens");
	for (size_t i = 0; screens && screens->kind == NODE_SEQ && i < screens->count; i++) {
		size_t tiles = 0;
		check_each_component(screens->items[i], count_tile, &tiles);
		const node *id = node_get(screens->items[i], "id");
		if ((long long)tiles > limit)
			c->errors += check_report(c->p, DIAG_ERROR, id, screens->items[i],
						  "policy-care-tiles",
						  "screen '%s' shows %zu tiles; care edition '%s' allows at "
						  "most %lld", id ? id->str : "?", tiles, c->e->id, limit);
	}
}

static void find_call_button(const node *component, void *arg)
{
	if (node_is(node_get(component, "component"), "call_button"))
		*(int *)arg = 1;
}

static void care_call(policy_ctx *c)
{
	const node *contact = node_get(c->root, "contact");
	const node *phone = node_get(contact, "phone");
	if (!phone || phone->kind != NODE_SCALAR || !phone->len)
		c->errors += check_report(c->p, DIAG_ERROR, phone, contact ? contact : c->root,
					  "policy-care-call",
					  "care edition '%s' has no contact phone for the one-tap call; "
					  "set 'contact: { phone: ... }'", c->e->id);
	const node *home = node_get(c->root, "home");
	const node *screen = check_find_by_id(node_get(c->root, "screens"), node_get_str(c->root, "home"));
	int found = 0;
	if (!screen)
		return;              /* a missing home screen is check.c's error */
	check_each_component(screen, find_call_button, &found);
	if (!found)
		c->errors += check_report(c->p, DIAG_ERROR, node_get(screen, "id"), home,
					  "policy-care-call",
					  "home screen '%s' of care edition '%s' has no call_button",
					  home->str, c->e->id);
}

/* ---- english ---- */

/* The next code point of UTF-8 text, or -1 for a malformed byte (skipped). */
static long utf8_next(const unsigned char *s, size_t len, size_t *i)
{
	unsigned char b = s[(*i)++];
	size_t n;
	long cp;
	if (b < 0x80)
		return b;
	if ((b & 0xE0) == 0xC0)
		n = 1, cp = b & 0x1F;
	else if ((b & 0xF0) == 0xE0)
		n = 2, cp = b & 0x0F;
	else if ((b & 0xF8) == 0xF0)
		n = 3, cp = b & 0x07;
	else
		return -1;
	if (n > len - *i)
		return -1;
	for (size_t k = 0; k < n; k++) {
		if ((s[*i + k] & 0xC0) != 0x80)
			return -1;
		cp = (cp << 6) | (s[*i + k] & 0x3F);
	}
	*i += n;
	return cp;
}

static int is_cjk(long cp)
{
	return (cp >= 0x3000 && cp <= 0x9FFF) || (cp >= 0xF900 && cp <= 0xFAFF) ||
	       (cp >= 0xFF00 && cp <= 0xFFEF) || (cp >= 0x20000 && cp <= 0x2FFFF);
}

static int has_cjk(const char *s, size_t len)
{
	size_t i = 0;
	while (i < len)
		if (is_cjk(utf8_next((const unsigned char *)s, len, &i)))
			return 1;
	return 0;
}

/* The text for a message: at most about 60 bytes, cut at a character boundary. */
static const char *quote_text(arena *a, const node *n)
{
	if (n->len <= 60)
		return n->str;
	size_t cut = 60;
	while (cut > 0 && ((unsigned char)n->str[cut] & 0xC0) == 0x80)
		cut--;
	return arena_printf(a, "%.*s...", (int)cut, n->str);
}

static void english_text(policy_ctx *c, const node *text, const char *what)
{
	if (!text || text->kind != NODE_SCALAR || !has_cjk(text->str, text->len))
		return;
	c->errors += check_report(c->p, DIAG_ERROR, text, NULL, "policy-english-cjk",
				  "%s of english edition '%s' holds CJK text '%s'", what, c->e->id,
				  quote_text(c->p->arena, text));
}

/* A text attribute that is not a key of the strings shows as written. */
static void english_literal(policy_ctx *c, const node *text, const char *what)
{
	if (text && text->kind == NODE_SCALAR && !node_get(c->strings, text->str))
		english_text(c, text, what);
}

static void policy_english(policy_ctx *c)
{
	const node *s = c->strings;
	for (size_t i = 0; s && s->kind == NODE_MAP && i < s->count; i++)
		english_text(c, s->items[i], arena_printf(c->p->arena, "string '%s'", s->keys[i]->str));
	const node *list = node_get(c->root, "products");
	const node *cat = check_catalogue(c->p);
	for (size_t i = 0; list && list->kind == NODE_SEQ && i < list->count; i++) {
		const node *ref = check_product_ref(list->items[i]);
		const node *prod = ref ? check_find_by_id(cat, ref->str) : NULL;
		if (prod)
			english_literal(c, node_get(prod, "name"),
					arena_printf(c->p->arena, "name of product '%s'", ref->str));
	}
	const node *flows = node_get(c->root, "flows");
	for (size_t i = 0; flows && flows->kind == NODE_SEQ && i < flows->count; i++)
		english_literal(c, node_get(flows->items[i], "fallback"),
				arena_printf(c->p->arena, "fallback of flow '%s'",
					     check_id_of(flows->items[i])));
	english_literal(c, node_get(c->root, "title"), "title");
}

/* ---- private-banking ---- */

static void find_risk_disclosure(const node *component, void *arg)
{
	if (node_is(node_get(component, "component"), "risk_disclosure"))
		*(int *)arg = 1;
}

static void policy_risk(policy_ctx *c)
{
	const node *screens = node_get(c->root, "screens");
	for (size_t i = 0; screens && screens->kind == NODE_SEQ && i < screens->count; i++) {
		const node *s = screens->items[i];
		if (!node_is(node_get(s, "kind"), "investment"))
			continue;
		int found = 0;
		check_each_component(node_get(s, "layout"), find_risk_disclosure, &found);
		if (!found)
			c->errors += check_report(c->p, DIAG_ERROR, node_get(s, "id"), s,
						  "policy-risk-disclosure",
						  "investment screen '%s' of edition '%s' has no "
						  "risk_disclosure component", check_id_of(s), c->e->id);
	}
}

/* ---- the phase ---- */

int policy_edition(project *p, const edition *e)
{
	if (!p || !e || !e->resolved || e->resolved->kind != NODE_MAP)
		return 0;
	policy_ctx c = { p, e, e->resolved, NULL, NULL, 0 };
	c.theme = node_get(c.root, "theme");
	policy_saturation(&c);
	policy_products(&c);
	if (check_edition_is(p, e, "care")) {
		care_sizes(&c);
		care_contrast_pair(&c, "text", "background");
		care_contrast_pair(&c, "text", "surface");
		care_contrast_pair(&c, "on_primary", "primary");
		care_tiles(&c);
		care_call(&c);
	}
	if (node_is(node_get(c.root, "locale"), "en-US") || check_edition_is(p, e, "english")) {
		c.strings = edition_strings(p, e);
		policy_english(&c);
	}
	if (check_edition_is(p, e, "private-banking"))
		policy_risk(&c);
	return c.errors;
}
