/*
 * render_svg: the chart component as inline SVG, built as nodes of the same
 * libxml2 tree as the page (so labels are escaped like every other text).
 *
 *   component: chart
 *   kind: line | area | bar        (line by default)
 *   series: ${cockpit.flow}        an array of objects, or an object with `items`
 *   x: date                        the field under the horizontal axis
 *   y: balance                     the plotted field; "inflow,outflow" plots several
 *   money: true                    y values are minor units (default true)
 *
 * The drawing is a fixed 360x200 viewBox scaled to the column width: a y axis
 * with the lowest and highest values, an x axis with the first and last label,
 * one polyline per series (line, area) or one rect per value (bar). A series
 * with no points draws the axes and a dash. Coordinates are printed with one
 * decimal, so the same data always gives the same bytes.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render_internal.h"

#define VIEW_W 360.0
#define VIEW_H 200.0    /* unless the component says `height` (80..480) */
#define PLOT_L 64.0     /* room for the y labels */
#define PLOT_R 8.0
#define PLOT_T 12.0
#define PLOT_B 28.0     /* room for the x labels */
#define MAX_SERIES 4
#define MAX_POINTS 400

typedef struct chart {
	int money, bar;
	double h;               /* viewBox height */
	size_t n, ns;
	const char *fields[MAX_SERIES];
	double v[MAX_SERIES][MAX_POINTS];
	double lo, hi;
} chart;

static double num_value(json_t *v)
{
	if (json_is_number(v))
		return json_number_value(v);
	if (json_is_string(v))
		return strtod(json_string_value(v), NULL);
	return 0;
}

/* Splits the y attribute into up to MAX_SERIES field names (pointers into buf). */
static void chart_fields(chart *c, const char *y, char *buf, size_t size)
{
	snprintf(buf, size, "%s", y && *y ? y : "balance");
	c->ns = 0;
	for (char *save = NULL, *tok = strtok_r(buf, ", ", &save); tok && c->ns < MAX_SERIES;
	     tok = strtok_r(NULL, ", ", &save))
		c->fields[c->ns++] = tok;
}

static void chart_load(chart *c, json_t *points)
{
	json_t *p;
	size_t i;
	c->n = 0;
	c->lo = INFINITY;
	c->hi = -INFINITY;
	json_array_foreach(points, i, p) {
		if (c->n >= MAX_POINTS)
			break;
		for (size_t s = 0; s < c->ns; s++) {
			double v = json_is_object(p) ? num_value(json_object_get(p, c->fields[s])) : num_value(p);
			if (!isfinite(v))
				v = 0;
			c->v[s][c->n] = v;
			c->lo = fmin(c->lo, v);
			c->hi = fmax(c->hi, v);
		}
		c->n++;
	}
	if (c->bar && c->lo > 0)
		c->lo = 0;
	if (!c->n) {
		c->lo = 0;
		c->hi = 1;
	}
	if (c->hi - c->lo < 1e-9)
		c->hi = c->lo + 1;
}

static double px_x(const chart *c, size_t i)
{
	double w = VIEW_W - PLOT_L - PLOT_R;
	if (c->bar)
		return PLOT_L + w * ((double)i + 0.5) / (double)c->n;
	return c->n > 1 ? PLOT_L + w * (double)i / (double)(c->n - 1) : PLOT_L + w / 2;
}

static double px_y(const chart *c, double v)
{
	double h = c->h - PLOT_T - PLOT_B;
	return PLOT_T + h * (1.0 - (v - c->lo) / (c->hi - c->lo));
}

static xmlNodePtr svg_el(xmlNodePtr parent, const char *tag, const char *cls)
{
	return rn_el(parent, tag, cls);
}

static void svg_num(xmlNodePtr n, const char *name, double v)
{
	char buf[32];
	snprintf(buf, sizeof buf, "%.1f", v);
	rn_attr(n, name, buf);
}

static void svg_label(xmlNodePtr svg, double x, double y, const char *anchor, const char *text)
{
	xmlNodePtr t = svg_el(svg, "text", "c-chart-label");
	svg_num(t, "x", x);
	svg_num(t, "y", y);
	rn_attr(t, "text-anchor", anchor);
	rn_add_text(t, text);
}

/*
 * Axis labels stay short enough for the left margin: money in whole yuan,
 * large amounts in 万/亿 (Chinese) or K/M/B (English): "¥492万", "CNY 4.9M".
 */
static char *value_text(rctx *rc, const chart *c, double v)
{
	static const struct { double at; const char *zh, *en; } units[] = {
		{ 1e9, NULL, "B" }, { 1e8, "亿", NULL }, { 1e6, NULL, "M" }, { 1e4, "万", NULL }, { 1e3, NULL, "K" },
	};
	int english = rc->locale && strncmp(rc->locale, "en", 2) == 0;
	double x = c->money ? v / 100.0 : v;
	const char *sign = x < 0 ? "-" : "", *prefix = !c->money ? "" : english ? "CNY " : "¥";
	x = fabs(x);
	char buf[64];
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
		const char *u = english ? units[i].en : units[i].zh;
		if (u && x >= units[i].at) {
			snprintf(buf, sizeof buf, "%s%s%.*f%s", sign, prefix, x / units[i].at >= 100 ? 0 : 1,
				 x / units[i].at, u);
			return xstrdup(buf);
		}
	}
	snprintf(buf, sizeof buf, "%s%s%.0f", sign, prefix, x);
	return xstrdup(buf);
}

static char *x_text(rctx *rc, json_t *point, const char *xf)
{
	json_t *v = json_object_get(point, xf);
	return rb_format(v, json_is_string(v) ? "date" : NULL, rc->locale, NULL);
}

static void chart_axes(rctx *rc, const chart *c, xmlNodePtr svg, json_t *points, const char *xf)
{
	double bottom = c->h - PLOT_B;
	xmlNodePtr ax = svg_el(svg, "path", "c-chart-axis");
	char d[96];
	snprintf(d, sizeof d, "M%.1f %.1fV%.1fH%.1f", PLOT_L, PLOT_T, bottom, VIEW_W - PLOT_R);
	rn_attr(ax, "d", d);
	rn_attr(ax, "fill", "none");
	char *hi = value_text(rc, c, c->hi), *lo = value_text(rc, c, c->lo);
	svg_label(svg, PLOT_L - 4, PLOT_T + 4, "end", hi);
	svg_label(svg, PLOT_L - 4, bottom, "end", lo);
	free(hi);
	free(lo);
	if (!c->n)
		return;
	char *first = x_text(rc, json_array_get(points, 0), xf);
	char *last = x_text(rc, json_array_get(points, c->n - 1), xf);
	svg_label(svg, px_x(c, 0), c->h - 8, c->n > 1 ? "start" : "middle", first);
	if (c->n > 1)
		svg_label(svg, px_x(c, c->n - 1), c->h - 8, "end", last);
	free(first);
	free(last);
}

static void chart_line(const chart *c, xmlNodePtr svg, size_t s, int area)
{
	strbuf pts = STRBUF_INIT;
	for (size_t i = 0; i < c->n; i++)
		strbuf_addf(&pts, "%s%.1f,%.1f", i ? " " : "", px_x(c, i), px_y(c, c->v[s][i]));
	char cls[64];
	if (area && c->n > 1) {
		strbuf d = STRBUF_INIT;
		double base = c->h - PLOT_B;
		strbuf_addf(&d, "M%.1f,%.1f L%s L%.1f,%.1f Z", px_x(c, 0), base, pts.buf,
			    px_x(c, c->n - 1), base);
		snprintf(cls, sizeof cls, "c-chart-area c-chart-series-%zu", s + 1);
		rn_attr(svg_el(svg, "path", cls), "d", d.buf);
		strbuf_release(&d);
	}
	snprintf(cls, sizeof cls, "c-chart-line c-chart-series-%zu", s + 1);
	xmlNodePtr pl = svg_el(svg, "polyline", cls);
	rn_attr(pl, "points", pts.buf);
	rn_attr(pl, "fill", "none");
	strbuf_release(&pts);
}

static void chart_bars(const chart *c, xmlNodePtr svg)
{
	double slot = (VIEW_W - PLOT_L - PLOT_R) / (double)c->n;
	double bw = slot * 0.8 / (double)c->ns;
	double zero = px_y(c, c->lo < 0 && c->hi > 0 ? 0 : c->lo);
	for (size_t s = 0; s < c->ns; s++) {
		char cls[64];
		snprintf(cls, sizeof cls, "c-chart-bar c-chart-series-%zu", s + 1);
		xmlNodePtr g = svg_el(svg, "g", cls);
		for (size_t i = 0; i < c->n; i++) {
			double y = px_y(c, c->v[s][i]);
			xmlNodePtr r = svg_el(g, "rect", NULL);
			svg_num(r, "x", px_x(c, i) - slot * 0.4 + bw * (double)s);
			svg_num(r, "y", fmin(y, zero));
			svg_num(r, "width", bw);
			svg_num(r, "height", fmax(fabs(zero - y), 0.5));
		}
	}
}

static json_t *chart_points(rctx *rc, json_t *comp)
{
	static const char *const keys[] = { "series", "items", "bind", "value" };
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		json_t *v = rb_value(rc->data, rc_attr(comp, keys[i]));
		if (json_is_object(v))
			v = json_object_get(v, "items");
		if (json_is_array(v))
			return v;
	}
	return NULL;
}

void render_chart(rctx *rc, xmlNodePtr parent, json_t *comp)
{
	chart *c = xcalloc(1, sizeof *c);
	const char *kind = rc_attr(comp, "kind") ? rc_attr(comp, "kind") : "line";
	c->bar = strcmp(kind, "bar") == 0;
	c->money = !json_is_false(json_object_get(comp, "money"));
	json_int_t height = json_integer_value(json_object_get(comp, "height"));
	c->h = height >= 80 && height <= 480 ? (double)height : VIEW_H;
	char fbuf[128];
	chart_fields(c, rc_attr(comp, "y"), fbuf, sizeof fbuf);
	json_t *points = chart_points(rc, comp);
	chart_load(c, points);
	const char *xf = rc_attr(comp, "x") ? rc_attr(comp, "x") : "date";
	xmlNodePtr fig = rn_el(parent, "figure", "c-chart");
	char *title = rc_attr_text(rc, comp, "title");
	if (title && *title)
		rn_text(fig, "figcaption", "c-chart-title", title);
	xmlNodePtr svg = svg_el(fig, "svg", NULL);
	rn_attr(svg, "xmlns", "http://www.w3.org/2000/svg");
	char box[48];
	snprintf(box, sizeof box, "0 0 %d %d", (int)VIEW_W, (int)c->h);
	rn_attr(svg, "viewBox", box);
	rn_attr(svg, "role", "img");
	rn_attr(svg, "aria-label", title && *title ? title : kind);
	rn_attr(svg, "class", c->bar ? "c-chart-svg c-chart-bar-kind" : "c-chart-svg");
	free(title);
	chart_axes(rc, c, svg, points, xf);
	if (!c->n)
		svg_label(svg, VIEW_W / 2, c->h / 2, "middle", "—");
	else if (c->bar)
		chart_bars(c, svg);
	else
		for (size_t s = 0; s < c->ns; s++)
			chart_line(c, svg, s, strcmp(kind, "area") == 0);
	free(c);
}
