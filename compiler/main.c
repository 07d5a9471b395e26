/*
 * editionc: the command line, a driver over the compiler phases of model.h.
 *
 *   check   load -> resolve -> (validate, check, policy, emit in memory) per edition
 *   build   the same for every edition, then emit_build into the output directory
 *   inspect one pack: header, sections, screens, routes, flows, products, signature
 *   diff    two packs, in the words a product owner reads
 *   keygen  an Ed25519 key pair for --sign-key / --trust-key
 *
 * Options are parsed once for every command (global ones may stand anywhere);
 * an option a command does not take is misuse. Exit status: 0 clean, 1 errors
 * (diagnostics, unreadable pack), 2 misuse. diff follows diff(1): 0 equal,
 * 1 different, 2 trouble. Diagnostics are collected by the phases and printed
 * once at the end with diag_print.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "canon.h"
#include "emit.h"
#include "model.h"
#include "pack.h"

typedef struct cli_opts {
	const char *command;
	const char **args;          /* positional arguments after the command */
	size_t n_args;
	const char *schemas, *sign_key, *trust_key, *output, *format_arg, *color_arg;
	int format;                 /* 0 text, 1 json */
	int color_mode;             /* 0 auto, 1 always, 2 never */
	int help, version, werror, quiet, json, timings;
} cli_opts;

/* --timings: wall time per phase, summed over editions, printed to stderr at the end. */
enum { T_LOAD, T_RESOLVE, T_VALIDATE, T_CHECK, T_POLICY, T_EMIT, T_COUNT };
static const char *const phase_names[T_COUNT] = { "load", "resolve", "validate", "check", "policy", "emit" };
static double phase_ms[T_COUNT];

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

#define TIMED(phase, stmt) do { double t0_ = now_ms(); stmt; phase_ms[phase] += now_ms() - t0_; } while (0)

static void print_timings(const cli_opts *o)
{
	if (!o->timings)
		return;
	double total = 0;
	fputs("timings:", stderr);
	for (int i = 0; i < T_COUNT; i++) {
		fprintf(stderr, " %s %.1f ms%s", phase_names[i], phase_ms[i], i + 1 < T_COUNT ? "," : "");
		total += phase_ms[i];
	}
	fprintf(stderr, " (total %.1f ms)\n", total);
}

static int cli_misuse(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int cli_inspect(const cli_opts *o);
static int cli_diff(const cli_opts *o);

#ifndef EDITIONC_VERSION
#define EDITIONC_VERSION "1.0.0"
#endif

static const struct command_help {
	const char *name, *usage, *text;
} commands[] = {
	{ "check", "editionc check [PATH...]",
	  "Checks editions: YAML, inheritance, structure (schemas), meaning and edition\n"
	  "policies. PATH is the editions directory (default 'editions') or edition\n"
	  "files inside one directory; then only those editions are checked, with\n"
	  "their bases and dependencies loaded as needed.\n" },
	{ "build", "editionc build DIR -o OUT [--sign-key KEY] [--quiet]",
	  "Checks every edition of DIR and, when there is no error, writes one pack per\n"
	  "concrete edition (<edition>-<version>.pack) and manifest.json into OUT.\n"
	  "Nothing is written when any edition has an error. --sign-key signs every\n"
	  "pack with the secret key written by 'editionc keygen'. One progress line per\n"
	  "edition goes to stderr unless --quiet.\n" },
	{ "inspect", "editionc inspect PACK [--json] [--trust-key KEY]",
	  "Verifies a pack and shows its header, sections, screens, routes, flows,\n"
	  "products and signature state. With --trust-key the signature is verified\n"
	  "and an unsigned pack is refused.\n" },
	{ "diff", "editionc diff A.pack B.pack [--trust-key KEY]",
	  "Shows what changed from A to B in screens, routes, flows, strings, theme,\n"
	  "products and metadata, one change per line.\n"
	  "Exit status: 0 equal, 1 different, 2 trouble (as diff(1)).\n" },
	{ "keygen", "editionc keygen -o NAME",
	  "Writes an Ed25519 key pair: NAME.key (secret, mode 0600) and NAME.pub, each\n"
	  "as lowercase hex on one line (128 and 64 digits). Existing files are never\n"
	  "overwritten. Key files of exactly 64 or 32 raw bytes are accepted as well.\n" },
};

static const char global_help[] =
	"Global options:\n"
	"  --format=text|json     diagnostics as text (stderr) or JSON (stdout)\n"
	"  -Werror                warnings count as errors\n"
	"  --color=auto|always|never\n"
	"  --schemas DIR          XML Schemas (default: ./schemas, else next to the program)\n"
	"  -q, --quiet            no progress lines\n"
	"  --timings              time spent per phase (check, build), on stderr\n"
	"  -h, --help             this help; 'editionc COMMAND --help' for one command\n"
	"  --version              the program's version\n"
	"\nExit status: 0 clean, 1 errors, 2 misuse.\n";

static void print_help(FILE *out, const char *cmd)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (cmd && strcmp(cmd, commands[i].name))
			continue;
		if (cmd) {
			fprintf(out, "usage: %s\n\n%s\n%s", commands[i].usage, commands[i].text, global_help);
			return;
		}
	}
	fputs("usage: editionc COMMAND [OPTIONS] [ARGS]\n\n"
	      "editionc checks the bank's edition definitions and compiles them into\n"
	      "signed, deterministic packs for editiond.\n\nCommands:\n", out);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %s\n", commands[i].usage);
	fprintf(out, "\n%s", global_help);
}

static int known_command(const char *cmd)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(cmd, commands[i].name))
			return 1;
	return 0;
}

static int cli_misuse(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	fputs("editionc: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	for (size_t i = 0; cmd && i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(cmd, commands[i].name))
			fprintf(stderr, "usage: %s\n", commands[i].usage);
	if (cmd && known_command(cmd))
		fprintf(stderr, "try 'editionc %s --help' for more information\n", cmd);
	else
		fprintf(stderr, "try 'editionc --help' for more information\n");
	return 2;
}

/* --- options ------------------------------------------------------------ */

/* Takes the value of an option given as "--opt=value", "--opt value" or "-ovalue". */
static int take_value(int argc, char **argv, int *i, const char *arg, size_t optlen, const char **out)
{
	if (arg[optlen] == '=') {
		*out = arg + optlen + 1;
		return 0;
	}
	if (arg[optlen] && optlen == 2) {          /* -oOUT */
		*out = arg + 2;
		return 0;
	}
	if (arg[optlen])
		return -1;
	if (*i + 1 >= argc)
		return -1;
	*out = argv[++*i];
	return 0;
}

static int opt_is(const char *arg, const char *name)
{
	size_t n = strlen(name);
	return !strncmp(arg, name, n) && (arg[n] == '\0' || arg[n] == '=' || (n == 2 && name[1] != '-'));
}

static int parse_enum(const char *cmd, const char *opt, const char *v, const char *const *vals, int *out)
{
	for (int k = 0; vals[k]; k++)
		if (!strcmp(v, vals[k])) {
			*out = k;
			return 0;
		}
	return cli_misuse(cmd, "bad value '%s' for %s", v, opt);
}

/* Options with a value; returns 1 when arg was one of them, 2 on misuse. */
static int parse_valued(cli_opts *o, int argc, char **argv, int *i)
{
	static const char *const formats[] = { "text", "json", NULL };
	static const char *const colors[] = { "auto", "always", "never", NULL };
	const char *a = argv[*i], *v = NULL;
	const struct { const char *name; const char **dst; } valued[] = {
		{ "--schemas", &o->schemas }, { "--sign-key", &o->sign_key },
		{ "--trust-key", &o->trust_key }, { "--output", &o->output }, { "-o", &o->output },
		{ "--format", &o->format_arg }, { "--color", &o->color_arg },
	};
	for (size_t k = 0; k < sizeof(valued) / sizeof(valued[0]); k++) {
		if (!opt_is(a, valued[k].name))
			continue;
		if (!strcmp(a, "--color")) {           /* --color alone means always */
			o->color_mode = 1;
			return 1;
		}
		if (take_value(argc, argv, i, a, strlen(valued[k].name), &v) < 0)
			return cli_misuse(o->command, "option '%s' needs a value", valued[k].name);
		*valued[k].dst = v;
		if (valued[k].dst == &o->format_arg && parse_enum(o->command, "--format", v, formats, &o->format))
			return 2;
		if (valued[k].dst == &o->color_arg && parse_enum(o->command, "--color", v, colors, &o->color_mode))
			return 2;
		return 1;
	}
	return 0;
}

static int parse_flag(cli_opts *o, const char *a)
{
	if (!strcmp(a, "-h") || !strcmp(a, "--help"))
		o->help = 1;
	else if (!strcmp(a, "--version"))
		o->version = 1;
	else if (!strcmp(a, "-Werror"))
		o->werror = 1;
	else if (!strcmp(a, "-q") || !strcmp(a, "--quiet"))
		o->quiet = 1;
	else if (!strcmp(a, "--json"))
		o->json = 1;
	else if (!strcmp(a, "--timings"))
		o->timings = 1;
	else
		return 0;
	return 1;
}

static int parse_args(cli_opts *o, int argc, char **argv)
{
	int dashdash = 0;
	o->args = xcalloc((size_t)argc + 1, sizeof(char *));
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!dashdash && a[0] == '-' && a[1]) {
			if (!strcmp(a, "--")) {
				dashdash = 1;
				continue;
			}
			if (parse_flag(o, a))
				continue;
			int r = parse_valued(o, argc, argv, &i);
			if (r == 1)
				continue;
			if (r == 2)
				return 2;
			return cli_misuse(o->command, "unknown option '%s'", a);
		}
		if (!o->command)
			o->command = a;
		else
			o->args[o->n_args++] = a;
	}
	return 0;
}

/* Options a command does not take are misuse. */
static int check_applicable(const cli_opts *o)
{
	const char *c = o->command;
	int is_build = !strcmp(c, "build"), is_keygen = !strcmp(c, "keygen");
	int reads_packs = !strcmp(c, "inspect") || !strcmp(c, "diff");
	if (o->output && !is_build && !is_keygen)
		return cli_misuse(c, "option '-o' does not apply to '%s'", c);
	if (o->sign_key && !is_build)
		return cli_misuse(c, "option '--sign-key' does not apply to '%s'", c);
	if (o->trust_key && !reads_packs)
		return cli_misuse(c, "option '--trust-key' does not apply to '%s'", c);
	if (o->json && strcmp(c, "inspect"))
		return cli_misuse(c, "option '--json' does not apply to '%s'", c);
	return 0;
}

/* --- schemas ------------------------------------------------------------ */

static int is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* --schemas, else ./schemas, else <dir of the executable>/../schemas. */
static const char *schema_dir(const cli_opts *o, char *buf, size_t size)
{
	if (o->schemas)
		return o->schemas;
	if (is_dir("schemas"))
		return "schemas";
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		char *slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			snprintf(buf, size, "%s/../schemas", exe);
			if (is_dir(buf))
				return buf;
		}
	}
	return "schemas";
}

/* --- check and build ---------------------------------------------------- */

static int use_color(const cli_opts *o, FILE *f)
{
	if (o->color_mode)
		return o->color_mode == 1;
	return isatty(fileno(f)) && getenv("NO_COLOR") == NULL;
}

static int finish_diag(const cli_opts *o, project *p)
{
	if (o->format == 1)
		diag_print(p->diag, stdout, DIAG_JSON, 0);
	else
		diag_print(p->diag, stderr, DIAG_TEXT, use_color(o, stderr));
	fflush(stdout);
	return diag_errors(p->diag) ? 1 : 0;
}

/* Validates, checks and polices one edition; abstract bases only get the schema. */
static void check_one(project *p, const edition *e, const char *schemas, double *ms)
{
	double t0 = now_ms(), t1, t2;
	validate_edition(p, e, schemas);
	t1 = now_ms();
	ms[T_VALIDATE] += t1 - t0;
	if (e->abstract || !e->resolved)
		return;
	check_edition(p, e);
	t2 = now_ms();
	ms[T_CHECK] += t2 - t1;
	policy_edition(p, e);
	ms[T_POLICY] += now_ms() - t2;
}

/*
 * The phases of independent editions on every idle core. Each thread works on its own
 * copy of the project with its own arena and diagnostics; the model is only
 * read, once the strings cache is warm. That is the whole story when no thread
 * reported anything (a clean project, the common case). When any did, its
 * results are thrown away and every edition runs again here, in order, into
 * p->diag, so diagnostics never depend on threads.
 */
#define CHECK_MAX_THREADS 8

typedef struct check_job {
	project *p;
	edition *const *list;
	size_t n;
	const char *schemas;
	atomic_size_t next;         /* the next edition to take */
	atomic_int reported;        /* some thread has a diagnostic: stop, run again in order */
} check_job;

typedef struct check_worker {
	check_job *job;
	double ms[T_COUNT];
} check_worker;

static void *check_thread(void *arg)
{
	check_worker *w = arg;
	check_job *j = w->job;
	project tp = *j->p;
	tp.arena = arena_new();
	tp.diag = diag_new();
	while (!atomic_load(&j->reported)) {
		size_t i = atomic_fetch_add(&j->next, 1);
		if (i >= j->n)
			break;
		check_one(&tp, j->list[i], j->schemas, w->ms);
		if (diag_errors(tp.diag) || diag_warnings(tp.diag))
			atomic_store(&j->reported, 1);
	}
	diag_free(tp.diag);
	arena_free(tp.arena);
	return NULL;
}

/* Whether edition_strings can fill e's cache without reporting: no list among the texts. */
static int texts_flat(const node *map)
{
	for (size_t i = 0; map && map->kind == NODE_MAP && i < map->count; i++)
		if (map->items[i]->kind == NODE_SEQ ||
		    (map->items[i]->kind == NODE_MAP && !texts_flat(map->items[i])))
			return 0;
	return 1;
}

static int strings_quiet(const project *p, const edition *e)
{
	if (e->strings)
		return 1;
	const node *loc = node_get(e->resolved, "locale");
	if (loc && loc->kind == NODE_SCALAR) {
		size_t i = 0;
		while (i < p->n_i18n && !(p->i18n[i].name && !strcmp(p->i18n[i].name, loc->str)))
			i++;
		if (i == p->n_i18n)
			return 0;           /* unknown-locale */
		if (!p->i18n[i].strings && p->i18n[i].doc && !texts_flat(p->i18n[i].doc))
			return 0;
	}
	return texts_flat(node_get(e->resolved, "strings"));
}

/*
 * Fills the caches the phases would fill (edition strings), when that reports
 * nothing; 0 when the editions must run in order instead.
 */
static int warm_for_threads(project *p, edition *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!list[i]->abstract && list[i]->resolved && !strings_quiet(p, list[i]))
			return 0;
	for (size_t i = 0; i < n; i++)
		if (!list[i]->abstract && list[i]->resolved)
			edition_strings(p, list[i]);
	return 1;
}

/*
 * 1 when every edition went through the phases without a diagnostic, on threads
 * or, when no core is idle, on the caller (still bases first).
 */
static int check_parallel(project *p, edition *const *list, size_t n, const char *schemas)
{
	size_t want = emit_thread_count(n, CHECK_MAX_THREADS);
	if (!n || !warm_for_threads(p, list, n))
		return 0;
	int *checked = xcalloc(p->n_scripts + 1, sizeof *checked);
	for (size_t i = 0; i < p->n_scripts; i++)
		checked[i] = p->scripts[i].checked;
	/* bases first: what they share with the editions extending them is then validated once */
	edition **order = xcalloc(n + 1, sizeof *order);
	size_t placed = 0;
	for (size_t depth = 0; placed < n; depth++)
		for (size_t i = 0; i < n; i++)
			if (list[i]->chain_len == depth || (depth == 0 && list[i]->chain_len > n))
				order[placed++] = list[i];
	check_job job = { .p = p, .list = order, .n = n, .schemas = schemas };
	atomic_init(&job.next, 0);
	atomic_init(&job.reported, 0);
	check_worker w[CHECK_MAX_THREADS] = { 0 };
	pthread_t tid[CHECK_MAX_THREADS];
	size_t started = 0;
	for (size_t i = 0; i < want; i++)
		w[i].job = &job;
	for (size_t i = 1; i < want; i++)
		if (pthread_create(&tid[started], NULL, check_thread, &w[i]) == 0)
			started++;
	check_thread(&w[0]);
	for (size_t i = 0; i < started; i++)
		pthread_join(tid[i], NULL);
	int clean = !atomic_load(&job.reported);
	for (size_t i = 0; i < want; i++)
		for (int k = 0; clean && k < T_COUNT; k++)
			phase_ms[k] += w[i].ms[k];
	for (size_t i = 0; !clean && i < p->n_scripts; i++)
		p->scripts[i].checked = checked[i];     /* the run in order compiles them again */
	free(checked);
	free(order);
	return clean;
}

/*
 * The schemas are parsed on a helper thread while the editions are read, when a
 * core is idle: validating a one-value edition into a scratch project loads them
 * (what it reports is not the run's). The scratch project lives until the run
 * ends, so its diagnostics can never be taken for the run's.
 */
typedef struct schema_warm {
	pthread_t tid;
	int started;
	const char *dir;
	project *scratch;
} schema_warm;

static void *schema_warm_thread(void *arg)
{
	schema_warm *w = arg;
	node *value = node_new_scalar(w->scratch->arena, (src_pos){ NULL, 0, 0 }, "", 0, 0);
	edition e = { .id = "", .path = "", .resolved = value, .abstract = 1 };
	validate_edition(w->scratch, &e, w->dir);
	return NULL;
}

static void schema_warm_start(schema_warm *w, const char *dir)
{
	memset(w, 0, sizeof *w);
	if (emit_thread_count(2, 2) < 2)
		return;
	w->dir = dir;
	w->scratch = project_new();
	w->started = pthread_create(&w->tid, NULL, schema_warm_thread, w) == 0;
}

static void schema_warm_join(schema_warm *w)
{
	if (w->started)
		pthread_join(w->tid, NULL);
	w->started = 0;
}

static void schema_warm_end(schema_warm *w)
{
	schema_warm_join(w);
	if (w->scratch)
		project_free(w->scratch);
}

/* check_one for every edition of list: bases first, or in order when anything is reported. */
static void check_all(project *p, edition *const *list, size_t n, const char *schemas)
{
	if (check_parallel(p, list, n, schemas))
		return;
	for (size_t i = 0; i < n; i++)
		check_one(p, list[i], schemas, phase_ms);
}

/* The editions named by PATH arguments of `check`: ids into sel, their directory into *dir. */
static int select_paths(const cli_opts *o, char **dir, const char ***sel, size_t *n_sel)
{
	*sel = xcalloc(o->n_args + 1, sizeof(char *));
	*dir = NULL;
	for (size_t i = 0; i < o->n_args; i++) {
		const char *a = o->args[i];
		char *d;
		size_t n = strlen(a);
		if (is_dir(a) || n < 6 || strcmp(a + n - 5, ".yaml")) {
			d = xstrdup(a);         /* a directory; a missing one is reported by project_load */
		} else {
			const char *slash = strrchr(a, '/');
			const char *base = slash ? slash + 1 : a;
			(*sel)[(*n_sel)++] = xstrndup(base, strlen(base) - 5);
			d = slash ? xstrndup(a, (size_t)(slash - a)) : xstrdup(".");
			size_t dl = strlen(d);
			if (dl >= 4 && !strcmp(d + dl - 4, "base") && (dl == 4 || d[dl - 5] == '/')) {
				char *up = dl == 4 ? xstrdup(".") : xstrndup(d, dl - 5);
				free(d);
				d = up;
			}
		}
		if (*dir && strcmp(*dir, d)) {
			char r1[PATH_MAX], r2[PATH_MAX];
			if (!realpath(*dir, r1) || !realpath(d, r2) || strcmp(r1, r2)) {
				free(d);
				return cli_misuse("check", "every PATH must be in one editions directory ('%s' and '%s')", *dir, a);
			}
		}
		if (!*dir)
			*dir = d;
		else
			free(d);
	}
	if (!*dir)
		*dir = xstrdup("editions");
	return 0;
}

static void free_selection(char *dir, const char **sel, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free((char *)sel[i]);
	free(sel);
	free(dir);
}

static int is_selected(const edition *e, const char **sel, size_t n)
{
	if (!n)
		return 1;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(sel[i], e->id))
			return 1;
	return 0;
}

/* Loads and resolves dir; -1 when the directory cannot be read. */
static project *load_project(const cli_opts *o, const char *dir, int werror)
{
	project *p = project_new();
	diag_set_werror(p->diag, werror);
	int rc;
	TIMED(T_LOAD, rc = project_load(p, dir));
	if (rc < 0)
		return p;
	TIMED(T_RESOLVE, project_resolve(p));
	return p;
}

/*
 * `check FILE...` loads the whole directory (bases, strings, fragments and
 * flows are needed anyway), so a broken file of another edition would be
 * reported too. The ids whose files matter: the selected editions and every
 * edition or base they extend, directly or not.
 */
static int wanted_id(const project *p, const char *id, const char **sel, size_t n_sel)
{
	for (size_t i = 0; i < n_sel; i++) {
		const edition *e = project_find(p, sel[i]);
		const char *cur = sel[i];
		for (int depth = 0; cur && depth < 64; depth++) {
			if (!strcmp(cur, id))
				return 1;
			e = project_find(p, cur);
			cur = e && e->doc ? node_get_str(e->doc, "extends") : NULL;
		}
	}
	return 0;
}

/* A diagnostic's file matters unless it is another edition's or base's YAML file. */
static int relevant_file(const project *p, const char *file, const char **sel, size_t n_sel)
{
	size_t dl = strlen(p->dir);
	if (!file || strncmp(file, p->dir, dl) || file[dl] != '/')
		return 1;
	const char *rest = file + dl + 1;
	if (!strncmp(rest, "base/", 5))
		rest += 5;
	size_t n = strlen(rest);
	if (strchr(rest, '/') || n < 6 || strcmp(rest + n - 5, ".yaml") || !strcmp(rest, "products.yaml"))
		return 1;
	char *id = xstrndup(rest, n - 5);
	int r = wanted_id(p, id, sel, n_sel);
	free(id);
	return r;
}

static void add_source_once(diag_ctx *d, json_t *seen, const char *file)
{
	strbuf sb = STRBUF_INIT;
	if (!file || json_object_get(seen, file))
		return;
	json_object_set_new(seen, file, json_true());
	if (strbuf_read_file(&sb, file, READ_MAX_FILE_SIZE) == 0)
		diag_add_source(d, file, sb.buf, sb.len);
	strbuf_release(&sb);
}

static src_pos json_pos_of(json_t *o)
{
	return (src_pos){ json_string_value(json_object_get(o, "file")),
			  (int)json_integer_value(json_object_get(o, "line")),
			  (int)json_integer_value(json_object_get(o, "column")) };
}

/* Replays into a fresh diag_ctx only the diagnostics about the selected editions' files. */
static void keep_selected_diagnostics(const cli_opts *o, project *p, const char **sel, size_t n_sel)
{
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);
	if (!mem || !p->dir)
		return;
	diag_print(p->diag, mem, DIAG_JSON, 0);
	fclose(mem);
	json_t *root = json_loadb(text, len, 0, NULL), *seen = json_object(), *entry, *note;
	free(text);
	diag_ctx *d = diag_new();
	diag_set_werror(d, o->werror);
	size_t i, k;
	json_array_foreach(json_object_get(root, "diagnostics"), i, entry) {
		src_pos pos = json_pos_of(entry);
		if (!relevant_file(p, pos.file, sel, n_sel))
			continue;
		add_source_once(d, seen, pos.file);
		const char *sev = json_string_value(json_object_get(entry, "severity"));
		diag_report(d, sev && !strcmp(sev, "warning") ? DIAG_WARNING : DIAG_ERROR, pos,
			    json_string_value(json_object_get(entry, "code")), "%s",
			    json_string_value(json_object_get(entry, "message")));
		json_array_foreach(json_object_get(entry, "notes"), k, note) {
			src_pos np = json_pos_of(note);
			add_source_once(d, seen, np.file);
			diag_note(d, np, "%s", json_string_value(json_object_get(note, "message")));
		}
	}
	json_decref(root);
	json_decref(seen);
	diag_free(p->diag);
	p->diag = d;
}

static int cmd_check(const cli_opts *o)
{
	char *dir, sbuf[PATH_MAX + 16];
	const char **sel;
	size_t n_sel = 0;
	if (select_paths(o, &dir, &sel, &n_sel))
		return 2;
	const char *schemas = schema_dir(o, sbuf, sizeof(sbuf));
	schema_warm warm;
	schema_warm_start(&warm, schemas);
	/* with a selection, -Werror applies when the kept diagnostics are replayed */
	project *p = load_project(o, dir, n_sel ? 0 : o->werror);
	schema_warm_join(&warm);
	if (p->dir)
		TIMED(T_VALIDATE, validate_products(p, schemas));
	for (size_t i = 0; i < n_sel; i++)
		if (!project_find(p, sel[i]) && p->dir)
			diag_report(p->diag, DIAG_ERROR, (src_pos){ NULL, 0, 0 }, "io",
				    "no edition '%s' in '%s'", sel[i], dir);
	edition **list = xcalloc(p->n_editions + 1, sizeof *list);
	size_t n_list = 0;
	for (size_t i = 0; p->dir && i < p->n_editions; i++)
		if (is_selected(p->editions[i], sel, n_sel))
			list[n_list++] = p->editions[i];
	check_all(p, list, n_list, schemas);
	free(list);
	if (n_sel)
		keep_selected_diagnostics(o, p, sel, n_sel);
	/* Emit in memory too, so that check finds everything build would. */
	strbuf pk = STRBUF_INIT;
	for (size_t i = 0; !diag_errors(p->diag) && p->dir && i < p->n_editions; i++)
		if (!p->editions[i]->abstract && is_selected(p->editions[i], sel, n_sel))
			TIMED(T_EMIT, emit_pack(p, p->editions[i], NULL, &pk, NULL));
	strbuf_release(&pk);
	print_timings(o);
	int rc = finish_diag(o, p);
	project_free(p);
	schema_warm_end(&warm);
	free_selection(dir, sel, n_sel);
	return rc;
}

static int cmd_build(const cli_opts *o)
{
	if (o->n_args != 1)
		return cli_misuse("build", o->n_args ? "build takes one editions directory" : "missing the editions directory");
	if (!o->output)
		return cli_misuse("build", "missing the output directory (-o OUT)");
	unsigned char sk[crypto_sign_SECRETKEYBYTES];
	strbuf err = STRBUF_INIT;
	if (o->sign_key && pack_read_key(o->sign_key, sk, sizeof(sk), &err) < 0) {
		fprintf(stderr, "editionc: %s\n", err.buf);
		strbuf_release(&err);
		return 1;
	}
	strbuf_release(&err);
	char sbuf[PATH_MAX + 16];
	const char *schemas = schema_dir(o, sbuf, sizeof(sbuf));
	schema_warm warm;
	schema_warm_start(&warm, schemas);
	project *p = load_project(o, o->args[0], o->werror);
	schema_warm_join(&warm);
	if (p->dir) {
		TIMED(T_VALIDATE, validate_products(p, schemas));
		check_all(p, p->editions, p->n_editions, schemas);
	}
	if (p->dir && !diag_errors(p->diag))
		TIMED(T_EMIT, emit_build(p, o->output, o->sign_key ? sk : NULL, o->quiet ? NULL : stderr));
	sodium_memzero(sk, sizeof(sk));
	print_timings(o);
	int rc = finish_diag(o, p);
	project_free(p);
	schema_warm_end(&warm);
	return rc;
}

/* --- keygen ------------------------------------------------------------- */

static int write_new_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0) {
		fprintf(stderr, "editionc: cannot create '%s': %s\n", path,
			errno == EEXIST ? "it exists; not overwriting a key" : strerror(errno));
		return -1;
	}
	size_t n = strlen(text);
	int ok = write(fd, text, n) == (ssize_t)n && fsync(fd) == 0;
	if (close(fd) < 0 || !ok) {
		fprintf(stderr, "editionc: cannot write '%s': %s\n", path, strerror(errno));
		unlink(path);
		return -1;
	}
	return 0;
}

static int cmd_keygen(const cli_opts *o)
{
	if (!o->output)
		return cli_misuse("keygen", "missing the key name (-o NAME)");
	if (o->n_args)
		return cli_misuse("keygen", "unexpected argument '%s'", o->args[0]);
	if (sodium_init() < 0) {
		fprintf(stderr, "editionc: libsodium cannot be initialised\n");
		return 1;
	}
	unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
	char pk_hex[2 * sizeof(pk) + 2], sk_hex[2 * sizeof(sk) + 2];
	crypto_sign_keypair(pk, sk);
	sodium_bin2hex(pk_hex, sizeof(pk_hex), pk, sizeof(pk));
	sodium_bin2hex(sk_hex, sizeof(sk_hex), sk, sizeof(sk));
	strcat(pk_hex, "\n");
	strcat(sk_hex, "\n");
	strbuf kp = STRBUF_INIT, pp = STRBUF_INIT;
	strbuf_addf(&kp, "%s.key", o->output);
	strbuf_addf(&pp, "%s.pub", o->output);
	int rc = 1;
	if (write_new_file(kp.buf, sk_hex, 0600) == 0) {
		if (write_new_file(pp.buf, pk_hex, 0644) == 0) {
			if (!o->quiet)
				fprintf(stderr, "wrote %s (secret, keep it private) and %s\n", kp.buf, pp.buf);
			rc = 0;
		} else {
			unlink(kp.buf);
		}
	}
	sodium_memzero(sk, sizeof(sk));
	sodium_memzero(sk_hex, sizeof(sk_hex));
	strbuf_release(&kp);
	strbuf_release(&pp);
	return rc;
}

static int key_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* --- inspect ------------------------------------------------------------ */

/* Opens a pack with the trust key of the options; prints the reason and returns NULL on failure. */
static pack *open_pack(const cli_opts *o, const char *path, int *verified)
{
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
	strbuf err = STRBUF_INIT;
	pack *pk_pack = NULL;
	if (o->trust_key && pack_read_key(o->trust_key, pk, sizeof(pk), &err) < 0) {
		fprintf(stderr, "editionc: %s\n", err.buf);
	} else if (pack_open_file(path, o->trust_key ? pk : NULL, &pk_pack, &err) < 0) {
		if (!strncmp(err.buf, "cannot read", 11))
			fprintf(stderr, "editionc: %s\n", err.buf);
		else
			fprintf(stderr, "editionc: refused pack '%s': %s\n", path, err.buf);
		pk_pack = NULL;
	}
	if (verified)
		*verified = o->trust_key != NULL;
	strbuf_release(&err);
	return pk_pack;
}

/* A string member for printing: "-" when absent or not a string (packs from elsewhere). */
static const char *jstr(const json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));
	return v ? v : "-";
}

/* A JSON entry of a pack, parsed (new reference), or NULL. */
static json_t *pack_json(const pack *p, int section, const char *name)
{
	size_t len;
	const void *d = pack_get(p, section, name, &len);
	return d ? json_loadb(d, len, 0, NULL) : NULL;
}

static const char *sig_state(const pack_info *in, int verified)
{
	if (!in->is_signed)
		return "none";
	return verified ? "verified" : "unverified";
}

static void human_size(char *buf, size_t size, size_t n)
{
	if (n < 1024)
		snprintf(buf, size, "%zu B", n);
	else if (n < 1024 * 1024)
		snprintf(buf, size, "%.1f KiB", n / 1024.0);
	else
		snprintf(buf, size, "%.1f MiB", n / (1024.0 * 1024.0));
}

/* SHA-256 of the whole file, as manifest.json and sha256sum give it. */
static void file_sha256(const char *path, char hex[65])
{
	strbuf sb = STRBUF_INIT;
	unsigned char h[crypto_hash_sha256_BYTES];
	if (strbuf_read_file(&sb, path, PACK_MAX_SIZE) < 0) {
		strcpy(hex, "?");
	} else {
		crypto_hash_sha256(h, (const unsigned char *)sb.buf, sb.len);
		sodium_bin2hex(hex, 65, h, sizeof(h));
	}
	strbuf_release(&sb);
}

static json_t *inspect_json(const pack *p, const char *path, int verified)
{
	const pack_info *in = pack_get_info(p);
	char hex[65], fhex[65];
	sodium_bin2hex(hex, sizeof(hex), in->sha256, sizeof(in->sha256));
	file_sha256(path, fhex);
	json_t *sections = json_array(), *screens = json_array(), *flows = json_array();
	for (int s = 1; s < PACK_SECTION_END; s++) {
		size_t stored, raw;
		if (pack_section_sizes(p, s, &stored, &raw) == 0)
			json_array_append_new(sections, json_pack("{s:s, s:I, s:I, s:I}", "name",
				pack_section_name(s), "entries", (json_int_t)pack_count(p, s),
				"stored", (json_int_t)stored, "raw", (json_int_t)raw));
	}
	for (size_t i = 0; i < pack_count(p, PACK_SCREENS); i++) {
		size_t len;
		const void *d;
		const char *id = pack_entry(p, PACK_SCREENS, i, &d, &len);
		json_t *sc = json_loadb(d, len, 0, NULL);
		json_t *title = json_object_get(sc, "title");
		json_array_append_new(screens, json_pack("{s:s, s:I, s:O}", "id", id, "size",
			(json_int_t)len, "title", title ? title : json_null()));
		json_decref(sc);
	}
	for (size_t i = 0; i < pack_count(p, PACK_FLOWS); i++) {
		size_t len;
		const char *id = pack_entry(p, PACK_FLOWS, i, NULL, &len);
		json_array_append_new(flows, json_pack("{s:s, s:I}", "id", id, "size", (json_int_t)len));
	}
	json_t *routes = pack_json(p, PACK_ROUTES, "json"), *products = pack_json(p, PACK_PRODUCTS, "json");
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:I, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o}",
		"file", path, "edition", in->edition, "version", in->version,
		"min_client", in->min_client, "lua_version", in->lua_version, "format", (int)in->format,
		"size", (json_int_t)in->file_size, "sha256", fhex, "content_sha256", hex,
		"signature", sig_state(in, verified),
		"sections", sections, "screens", screens, "routes", routes ? routes : json_array(),
		"flows", flows, "products", products ? products : json_array());
}

static void print_header(const pack *p, const char *path, int verified)
{
	const pack_info *in = pack_get_info(p);
	char hex[65], fhex[65], hs[32];
	sodium_bin2hex(hex, sizeof(hex), in->sha256, sizeof(in->sha256));
	file_sha256(path, fhex);
	human_size(hs, sizeof(hs), in->file_size);
	printf("pack       %s (%s, %zu bytes)\n", path, hs, in->file_size);
	printf("edition    %s %s (min client %s)\n", in->edition, in->version, in->min_client);
	printf("format     %u, lua %s\n", in->format, in->lua_version);
	printf("sha-256    %s (file, as in manifest.json)\n", fhex);
	printf("content    %s (sha-256 before the trailer, the signed hash)\n", hex);
	if (!in->is_signed)
		printf("signature  none (unsigned pack)\n");
	else
		printf("signature  ed25519, %s\n", verified ? "verified with the trust key"
		       : "present, not verified (give --trust-key to verify)");
	printf("\n%-12s %8s %10s %10s\n", "section", "entries", "stored", "raw");
	for (int s = 1; s < PACK_SECTION_END; s++) {
		size_t stored, raw;
		if (pack_section_sizes(p, s, &stored, &raw) == 0)
			printf("%-12s %8zu %10zu %10zu\n", pack_section_name(s), pack_count(p, s), stored, raw);
	}
}

static void print_screens_flows(const pack *p)
{
	printf("\nscreens (%zu)\n", pack_count(p, PACK_SCREENS));
	for (size_t i = 0; i < pack_count(p, PACK_SCREENS); i++) {
		size_t len;
		const void *d;
		const char *id = pack_entry(p, PACK_SCREENS, i, &d, &len);
		json_t *sc = json_loadb(d, len, 0, NULL);
		const char *title = json_string_value(json_object_get(sc, "title"));
		printf("  %-28s %7zu B  %s\n", id, len, title ? title : "");
		json_decref(sc);
	}
	json_t *specs = pack_json(p, PACK_FLOW_SPECS, "json");
	printf("\nflows (%zu)\n", pack_count(p, PACK_FLOWS));
	for (size_t i = 0; i < pack_count(p, PACK_FLOWS); i++) {
		size_t len;
		const char *id = pack_entry(p, PACK_FLOWS, i, NULL, &len);
		json_t *effects = json_object_get(json_object_get(specs, id), "effects");
		char *e = effects ? json_dumps(effects, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
		printf("  %-28s %7zu B  %s\n", id, len, e ? e : "");
		free(e);
	}
	json_decref(specs);
}

static void print_routes_products(const pack *p)
{
	json_t *routes = pack_json(p, PACK_ROUTES, "json"), *products = pack_json(p, PACK_PRODUCTS, "json");
	size_t i;
	json_t *r;
	printf("\nroutes (%zu)\n", json_array_size(routes));
	json_array_foreach(routes, i, r) {
		const char *screen = json_string_value(json_object_get(r, "screen"));
		const char *flow = json_string_value(json_object_get(r, "flow"));
		printf("  %-5s %-32s %s %-24s auth %s\n", jstr(r, "method"), jstr(r, "path"),
		       screen ? "screen" : "flow  ", screen ? screen : flow ? flow : "-", jstr(r, "auth"));
	}
	printf("\nproducts (%zu)\n", json_array_size(products));
	json_array_foreach(products, i, r) {
		const char *name = json_string_value(json_object_get(r, "name"));
		printf("  %-28s %s\n", jstr(r, "id"), name ? name : "");
	}
	json_decref(routes);
	json_decref(products);
}

static int cli_inspect(const cli_opts *o)
{
	if (o->n_args != 1)
		return cli_misuse("inspect", o->n_args ? "inspect takes one pack" : "missing the pack to inspect");
	int verified;
	pack *p = open_pack(o, o->args[0], &verified);
	if (!p)
		return 1;
	if (o->json || o->format == 1) {
		json_t *j = inspect_json(p, o->args[0], verified);
		char *s = json_dumps(j, JSON_SORT_KEYS | JSON_INDENT(2));
		printf("%s\n", s ? s : "{}");
		free(s);
		json_decref(j);
	} else {
		print_header(p, o->args[0], verified);
		print_screens_flows(p);
		print_routes_products(p);
	}
	pack_free(p);
	return 0;
}

/* --- diff --------------------------------------------------------------- */

typedef struct diff_ctx {
	size_t changes;
} diff_ctx;

static void say(diff_ctx *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(diff_ctx *d, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	d->changes++;
}

/* A value for a sentence: strings in quotes, the rest as compact JSON, long ones cut. */
static char *show(const json_t *v)
{
	strbuf sb = STRBUF_INIT;
	if (json_is_string(v)) {
		strbuf_addf(&sb, "'%s'", json_string_value(v));
	} else {
		canon_dump(v, &sb);
	}
	if (sb.len > 80) {
		size_t cut = 76;
		while (cut > 0 && ((unsigned char)sb.buf[cut] & 0xC0) == 0x80)
			cut--;
		sb.len = cut;
		sb.buf[cut] = '\0';
		strbuf_adds(&sb, "...");
	}
	return strbuf_detach(&sb, NULL);
}

/* The keys of a and b together, sorted; caller frees the array (not the keys). */
static const char **union_keys(const json_t *a, const json_t *b, size_t *n)
{
	size_t cap = json_object_size(a) + json_object_size(b) + 1, k = 0;
	const char **keys = xmalloc(cap * sizeof(*keys));
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)a, key, v)
		keys[k++] = key;
	json_object_foreach((json_t *)b, key, v)
		if (!json_object_get(a, key))
			keys[k++] = key;
	qsort(keys, k, sizeof(*keys), key_cmp);
	*n = k;
	return keys;
}

/* Says how a value changed; objects are walked down, naming the dotted path. */
static void diff_values(diff_ctx *d, const char *prefix, const char *path, const json_t *a, const json_t *b)
{
	if ((!a && !b) || (a && b && json_equal((json_t *)a, (json_t *)b)))
		return;
	if (json_is_object(a) && json_is_object(b)) {
		size_t n;
		const char **keys = union_keys(a, b, &n);
		for (size_t i = 0; i < n; i++) {
			strbuf sub = STRBUF_INIT;
			strbuf_addf(&sub, "%s%s%s", path, *path ? "." : "", keys[i]);
			diff_values(d, prefix, sub.buf, json_object_get(a, keys[i]), json_object_get(b, keys[i]));
			strbuf_release(&sub);
		}
		free(keys);
		return;
	}
	char *sa = a ? show(a) : NULL, *sb = b ? show(b) : NULL;
	/* a whole value (no path): "screen 'x': added: ..." rather than a double space */
	int n = (int)strlen(prefix) - (!*path && *prefix && prefix[strlen(prefix) - 1] == ' ');
	if (!a)
		say(d, "%.*s%s added: %s", n, prefix, path, sb);
	else if (!b)
		say(d, "%.*s%s removed (was %s)", n, prefix, path, sa);
	else
		say(d, "%.*s%s %s -> %s", n, prefix, path, sa, sb);
	free(sa);
	free(sb);
}

static void diff_json_entry(diff_ctx *d, const pack *a, const pack *b, int section, const char *prefix)
{
	json_t *ja = pack_json(a, section, "json"), *jb = pack_json(b, section, "json");
	diff_values(d, prefix, "", ja, jb);
	json_decref(ja);
	json_decref(jb);
}

static void diff_strings(diff_ctx *d, const pack *a, const pack *b)
{
	json_t *ja = pack_json(a, PACK_STRINGS, "json"), *jb = pack_json(b, PACK_STRINGS, "json");
	size_t n;
	const char **keys = union_keys(ja, jb, &n);
	for (size_t i = 0; i < n; i++) {
		json_t *x = json_object_get(ja, keys[i]), *y = json_object_get(jb, keys[i]);
		if (x && y && json_equal(x, y))
			continue;
		char *sx = x ? show(x) : NULL, *sy = y ? show(y) : NULL;
		if (!x)
			say(d, "string '%s' added: %s", keys[i], sy);
		else if (!y)
			say(d, "string '%s' removed (was %s)", keys[i], sx);
		else
			say(d, "string '%s' changed: %s -> %s", keys[i], sx, sy);
		free(sx);
		free(sy);
	}
	free(keys);
	json_decref(ja);
	json_decref(jb);
}

/* A layout flattened: every component with a stable key and its attributes without children. */
typedef struct comp {
	char *key, *label;
	json_t *attrs;
} comp;

typedef struct comps {
	comp *v;
	size_t n, cap;
} comps;

static int is_component_list(const json_t *v)
{
	return json_is_array(v) && json_array_size(v) && json_is_object(json_array_get(v, 0)) &&
	       json_object_get(json_array_get(v, 0), "component");
}

static void flatten(const json_t *list, const char *parent, comps *out)
{
	size_t i;
	json_t *item;
	json_array_foreach((json_t *)list, i, item) {
		if (!json_is_object(item))
			continue;
		const char *type = json_string_value(json_object_get(item, "component"));
		const char *id = json_string_value(json_object_get(item, "id"));
		size_t same = 1;
		for (size_t k = 0; !id && k < i; k++) {
			json_t *prev = json_array_get(list, k);
			const char *pt = json_string_value(json_object_get(prev, "component"));
			same += !json_object_get(prev, "id") && pt && type && !strcmp(pt, type);
		}
		strbuf label = STRBUF_INIT, key = STRBUF_INIT;
		strbuf_addf(&label, "component '%s'", type ? type : "?");
		if (id)
			strbuf_addf(&label, " '%s'", id);
		else if (same > 1)
			strbuf_addf(&label, " #%zu", same);
		strbuf_addf(&key, "%s/%s", parent, label.buf);
		json_t *attrs = json_copy(item);
		const char *k;
		json_t *v, *tmp;
		json_object_foreach_safe(attrs, tmp, k, v)
			if (is_component_list(v))
				json_object_del(attrs, k);
		if (out->n == out->cap) {
			out->cap = out->cap ? out->cap * 2 : 16;
			out->v = xrealloc(out->v, out->cap * sizeof(*out->v));
		}
		out->v[out->n++] = (comp){ strbuf_detach(&key, NULL), strbuf_detach(&label, NULL), attrs };
		json_object_foreach(item, k, v)
			if (is_component_list(v))
				flatten(v, out->v[out->n - 1].key, out);
	}
}

static void comps_free(comps *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->v[i].key);
		free(c->v[i].label);
		json_decref(c->v[i].attrs);
	}
	free(c->v);
}

static const comp *comps_find(const comps *c, const char *key)
{
	for (size_t i = 0; i < c->n; i++)
		if (!strcmp(c->v[i].key, key))
			return &c->v[i];
	return NULL;
}

static void diff_layout(diff_ctx *d, const char *screen, const json_t *la, const json_t *lb)
{
	comps a = { 0 }, b = { 0 };
	flatten(la, "", &a);
	flatten(lb, "", &b);
	size_t ia = 0, order_changed = 0;
	for (size_t i = 0; i < b.n; i++) {
		const comp *x = comps_find(&a, b.v[i].key);
		if (!x) {
			say(d, "screen '%s': %s added", screen, b.v[i].label);
			continue;
		}
		strbuf prefix = STRBUF_INIT;
		strbuf_addf(&prefix, "screen '%s': %s: ", screen, b.v[i].label);
		diff_values(d, prefix.buf, "", x->attrs, b.v[i].attrs);
		strbuf_release(&prefix);
		while (ia < a.n && !comps_find(&b, a.v[ia].key))
			ia++;
		if (ia < a.n && strcmp(a.v[ia].key, b.v[i].key))
			order_changed = 1;
		ia++;
	}
	for (size_t i = 0; i < a.n; i++)
		if (!comps_find(&b, a.v[i].key))
			say(d, "screen '%s': %s removed", screen, a.v[i].label);
	if (order_changed)
		say(d, "screen '%s': components reordered", screen);
	comps_free(&a);
	comps_free(&b);
}

static void diff_screen(diff_ctx *d, const char *id, const json_t *a, const json_t *b)
{
	json_t *ta = json_copy((json_t *)a), *tb = json_copy((json_t *)b);
	json_object_del(ta, "layout");
	json_object_del(tb, "layout");
	strbuf prefix = STRBUF_INIT;
	strbuf_addf(&prefix, "screen '%s': ", id);
	diff_values(d, prefix.buf, "", ta, tb);
	strbuf_release(&prefix);
	diff_layout(d, id, json_object_get(a, "layout"), json_object_get(b, "layout"));
	json_decref(ta);
	json_decref(tb);
}

/* Walks the entries of one section of both packs in name order. */
static void diff_entries(diff_ctx *d, const pack *a, const pack *b, int section, const char *what)
{
	size_t i = 0, j = 0, na = pack_count(a, section), nb = pack_count(b, section);
	while (i < na || j < nb) {
		const void *da = NULL, *db = NULL;
		size_t la = 0, lb = 0;
		const char *ka = i < na ? pack_entry(a, section, i, &da, &la) : NULL;
		const char *kb = j < nb ? pack_entry(b, section, j, &db, &lb) : NULL;
		int c = !ka ? 1 : !kb ? -1 : strcmp(ka, kb);
		if (c < 0) {
			say(d, "%s '%s' removed", what, ka);
			i++;
		} else if (c > 0) {
			say(d, "%s '%s' added", what, kb);
			j++;
		} else {
			if (la != lb || memcmp(da, db, la)) {
				if (section == PACK_FLOWS) {
					say(d, "flow '%s' code changed", ka);
				} else {
					json_t *ja = json_loadb(da, la, 0, NULL), *jb = json_loadb(db, lb, 0, NULL);
					diff_screen(d, ka, ja, jb);
					json_decref(ja);
					json_decref(jb);
				}
			}
			i++, j++;
		}
	}
}

/* An array of objects with "id" as an object id -> item (new reference). */
static json_t *by_id(const json_t *arr)
{
	json_t *o = json_object(), *item;
	size_t i;
	json_array_foreach((json_t *)arr, i, item)
		if (json_is_string(json_object_get(item, "id")))
			json_object_set(o, json_string_value(json_object_get(item, "id")), item);
	return o;
}

static const char *route_name(const json_t *r, const char *id)
{
	const char *path = json_string_value(json_object_get(r, "path"));
	return path ? path : id;
}

static void diff_route(diff_ctx *d, const char *id, const json_t *x, const json_t *y)
{
	const char *name = route_name(y ? y : x, id);
	if (!x || !y) {
		const json_t *r = x ? x : y;
		const char *target = json_string_value(json_object_get(r, "screen"));
		const char *flow = json_string_value(json_object_get(r, "flow"));
		say(d, "route '%s' %s (%s '%s', auth %s)", name, x ? "removed" : "added",
		    target ? "screen" : "flow", target ? target : flow ? flow : "?", jstr(r, "auth"));
		return;
	}
	json_t *ax = json_object_get(x, "auth"), *ay = json_object_get(y, "auth");
	if (!json_equal(ax, ay))
		say(d, "route '%s' now needs %s (was %s)", name, jstr(y, "auth"), jstr(x, "auth"));
	json_t *cx = json_copy((json_t *)x), *cy = json_copy((json_t *)y);
	json_object_del(cx, "auth");
	json_object_del(cy, "auth");
	strbuf prefix = STRBUF_INIT;
	strbuf_addf(&prefix, "route '%s': ", name);
	diff_values(d, prefix.buf, "", cx, cy);
	strbuf_release(&prefix);
	json_decref(cx);
	json_decref(cy);
}

/* Routes and products: lists of objects keyed by id. */
static void diff_id_list(diff_ctx *d, const pack *a, const pack *b, int section)
{
	json_t *ja = pack_json(a, section, "json"), *jb = pack_json(b, section, "json");
	json_t *ma = by_id(ja), *mb = by_id(jb);
	size_t n;
	const char **keys = union_keys(ma, mb, &n);
	for (size_t i = 0; i < n; i++) {
		json_t *x = json_object_get(ma, keys[i]), *y = json_object_get(mb, keys[i]);
		if (section == PACK_ROUTES) {
			diff_route(d, keys[i], x, y);
		} else if (!x || !y) {
			const char *name = json_string_value(json_object_get(x ? x : y, "name"));
			say(d, "product '%s'%s%s%s %s", keys[i], name ? " (" : "", name ? name : "",
			    name ? ")" : "", x ? "removed" : "added");
		} else {
			strbuf prefix = STRBUF_INIT;
			strbuf_addf(&prefix, "product '%s': ", keys[i]);
			diff_values(d, prefix.buf, "", x, y);
			strbuf_release(&prefix);
		}
	}
	free(keys);
	json_decref(ma);
	json_decref(mb);
	json_decref(ja);
	json_decref(jb);
}

static void diff_flow_specs(diff_ctx *d, const pack *a, const pack *b)
{
	json_t *ja = pack_json(a, PACK_FLOW_SPECS, "json"), *jb = pack_json(b, PACK_FLOW_SPECS, "json");
	size_t n;
	const char **keys = union_keys(ja, jb, &n);
	for (size_t i = 0; i < n; i++) {
		json_t *x = json_object_get(ja, keys[i]), *y = json_object_get(jb, keys[i]);
		if (!x || !y)
			continue;               /* added or removed: said by the code diff */
		strbuf prefix = STRBUF_INIT;
		strbuf_addf(&prefix, "flow '%s': ", keys[i]);
		diff_values(d, prefix.buf, "", x, y);
		strbuf_release(&prefix);
	}
	free(keys);
	json_decref(ja);
	json_decref(jb);
}

static int cli_diff(const cli_opts *o)
{
	if (o->n_args != 2)
		return cli_misuse("diff", "diff takes two packs");
	pack *a = open_pack(o, o->args[0], NULL);
	pack *b = a ? open_pack(o, o->args[1], NULL) : NULL;
	if (!a || !b) {
		pack_free(a);
		return 2;
	}
	diff_ctx d = { 0 };
	diff_json_entry(&d, a, b, PACK_META, "");
	diff_json_entry(&d, a, b, PACK_THEME, "theme ");
	diff_strings(&d, a, b);
	diff_entries(&d, a, b, PACK_SCREENS, "screen");
	diff_id_list(&d, a, b, PACK_ROUTES);
	diff_entries(&d, a, b, PACK_FLOWS, "flow");
	diff_flow_specs(&d, a, b);
	diff_id_list(&d, a, b, PACK_PRODUCTS);
	fflush(stdout);
	pack_free(a);
	pack_free(b);
	return d.changes ? 1 : 0;
}

/* --- main --------------------------------------------------------------- */

static int run(cli_opts *o)
{
	const char *c = o->command;
	if (!strcmp(c, "check"))
		return cmd_check(o);
	if (!strcmp(c, "build"))
		return cmd_build(o);
	if (!strcmp(c, "inspect"))
		return cli_inspect(o);
	if (!strcmp(c, "diff"))
		return cli_diff(o);
	return cmd_keygen(o);
}

int main(int argc, char **argv)
{
	cli_opts o = { 0 };
	int rc = parse_args(&o, argc, argv);
	if (rc) {
		free(o.args);
		return rc;
	}
	if (o.version) {
		printf("editionc %s (pack format %d, lua 5.4)\n", EDITIONC_VERSION, PACK_FORMAT_VERSION);
		rc = 0;
	} else if (o.help) {
		print_help(stdout, o.command && known_command(o.command) ? o.command : NULL);
		rc = o.command && !known_command(o.command) ? cli_misuse(NULL, "unknown command '%s'", o.command) : 0;
	} else if (!o.command) {
		rc = cli_misuse(NULL, "missing command (check, build, inspect, diff, keygen)");
	} else if (!known_command(o.command)) {
		rc = cli_misuse(NULL, "unknown command '%s'", o.command);
	} else {
		rc = check_applicable(&o);
		if (!rc)
			rc = run(&o);
	}
	free(o.args);
	return rc;
}
